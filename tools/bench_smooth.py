"""Week 2 benchmark: our smooth solvers against scipy's on the course's reference problems.

    python -m tools.bench_smooth            laptop sizes (quadratic n=200, Rosenbrock n=100, logistic n=10⁴)
    python -m tools.bench_smooth --quick    tiny sizes, a few seconds (what the test suite runs)

Prints one table (utils.benchmarks.print_table): per problem and solver, success, final gap f(x) − f*,
iterations, oracle calls, iterations and oracle calls to reach f(x_k) − f* ≤ 1e-6·max(1, |f*|), and wall
time. Problems: quadratics with κ = 100 and 1000, chained Rosenbrock, ℓ2-regularized logistic regression on
the breast-cancer data, and a synthetic logistic regression with many features. Timings depend on the
machine and its load: read them as orders of magnitude. Solvers that need a dense n×n matrix (BFGS's H_k,
Newton's Hessian) are left out where n > 2000, and first-order methods get at most 2000 iterations there.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from utils.benchmarks import print_table, run_benchmark
from utils.cg import nonlinear_cg
from utils.drivers import scipy_minimize
from utils.first_order import gradient_descent, gradient_descent_armijo
from utils.lbfgs import lbfgs
from utils.momentum import nesterov
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock, xp
from utils.quasi_newton import bfgs, newton
from utils.trust_region import trust_region

DENSE_MAX = 2000          # n above which dense-matrix methods are skipped
METRICS = ("success", "gap", "nit", "nfev", "njev", "iters_to_target", "oracle_to_target", "seconds")


def synthetic_logistic(m: int, n: int, lam: float = 1e-2, seed: int = 0) -> Problem:
    """f(x) = (1/m) Σ log(1 + exp(−yᵢ aᵢᵀx)) + (λ/2)‖x‖² with standard Gaussian features aᵢ ∈ ℝⁿ (n may exceed m)
    and labels from a random linear rule with 10% noise. L = ‖X‖₂²/(4m) + λ ≈ (√m + √n)²/(4m) + λ, μ = λ:
    κ ≈ 430 at m = 1000, n = 10⁴, λ = 10⁻².

    Built here rather than with ``utils.problems.logistic_regression``, whose reference solve factors the
    dense n×n Hessian. f* comes from scipy's ``trust-ncg`` (Hessian-vector products) driven to
    ‖∇f‖ ≤ 1e-9: then f(x_ref) − f* ≤ ‖∇f‖²/(2μ) ≈ 1e-16, far below the benchmark's target.
    """
    from scipy.optimize import minimize

    g = np.random.default_rng(seed)
    X = g.standard_normal((m, n))
    score = X @ g.standard_normal(n)
    y = np.where(score + 0.1 * np.std(score) * g.standard_normal(m) > 0, 1.0, -1.0)
    Z = y[:, None] * X

    def f(x):
        return xp(x).mean(xp(x).logaddexp(0.0, -(Z @ x))) + 0.5 * lam * (x @ x)

    def sig(x):
        return 0.5 * (1.0 - xp(x).tanh(0.5 * (Z @ x)))

    def grad(x):
        return -(Z.T @ sig(x)) / m + lam * x

    def hvp(x, v):
        s = sig(x)
        return X.T @ (s * (1.0 - s) * (X @ v)) / m + lam * v

    ref = minimize(f, np.zeros(n), jac=grad, hessp=hvp, method="trust-ncg", options={"gtol": 1e-9})
    L = float(np.linalg.norm(X, 2) ** 2 / (4 * m) + lam)
    return Problem(name=f"logistic synthetic (m={m}, n={n})", f=f, grad=grad, hvp=hvp, x0=np.zeros(n),
                   x_star=ref.x, f_star=float(ref.fun), L=L, mu=lam, info={"reference": "scipy trust-ncg"})


def make_problems(quick: bool) -> list[Problem]:
    nq, nr, (m, n) = (20, 10, (100, 200)) if quick else (200, 100, (1000, 10_000))
    return [quadratic(n=nq, mu=1.0, L=100.0, seed=0), quadratic(n=nq, mu=1.0, L=1000.0, seed=0),
            rosenbrock(nr), breast_cancer_logistic(1e-2), synthetic_logistic(m, n)]


def make_solvers(p: Problem, maxiter: int, first_order_factor: int = 20) -> dict:
    """Ours and scipy's, as ``name -> solver(problem)``; those that do not apply to ``p`` are left out."""
    it, big = maxiter, p.n > DENSE_MAX
    fo = min(first_order_factor * maxiter, 2000) if big else first_order_factor * maxiter
    s = {"GD + Armijo": lambda q: gradient_descent_armijo(q, maxiter=fo)}
    if p.L is not None:
        s["GD η=1/L"] = lambda q: gradient_descent(q, eta=1.0 / q.L, maxiter=fo)
        s["Nesterov η=1/L"] = lambda q: nesterov(q, eta=1.0 / q.L, maxiter=fo)
    s["nonlinear CG (PR+)"] = lambda q: nonlinear_cg(q, maxiter=5 * it)
    if not big:
        s["BFGS"] = lambda q: bfgs(q, maxiter=it)
    s["L-BFGS (m=10)"] = lambda q: lbfgs(q, memory=10, maxiter=it)
    if not big and p.hess is not None:
        s["Newton (Armijo)"] = lambda q: newton(q, maxiter=it)
    if p.hvp is not None:
        s["trust region (Steihaug-CG)"] = lambda q: trust_region(q, matrix_free=True, maxiter=it)
    if not big:
        s["scipy BFGS"] = lambda q: scipy_minimize(q, "BFGS", maxiter=it)
    s["scipy L-BFGS-B"] = lambda q: scipy_minimize(q, "L-BFGS-B", maxiter=it)
    if p.hvp is not None:
        s["scipy Newton-CG"] = lambda q: scipy_minimize(q, "Newton-CG", maxiter=it)
        s["scipy trust-ncg"] = lambda q: scipy_minimize(q, "trust-ncg", maxiter=it)
    return s


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_smooth", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--maxiter", type=int, default=None, help="iteration budget of the second-order and "
                        "quasi-Newton methods (first-order methods get 20×, 5× with --quick; default 500, --quick 100)")
    args = parser.parse_args(argv)
    maxiter = args.maxiter or (100 if args.quick else 500)
    records = []
    for p in make_problems(args.quick):
        records += run_benchmark(make_solvers(p, maxiter, 5 if args.quick else 20), [p], rtol=1e-6,
                                 progress=not args.quick)
    print_table(records, METRICS)
    print("\ntarget: f(x_k) − f* ≤ 1e-6·max(1, |f*|); oracle = nfev + njev; seconds: wall time of the whole run "
          "(this machine, this load)")
    return records


if __name__ == "__main__":
    main(sys.argv[1:])
