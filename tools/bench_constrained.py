"""Week 5 benchmark: our interior-point method against Clarabel (through CVXPY) and HiGHS' interior point.

    python -m tools.bench_constrained            LP and QP families up to n = 800 and the HS set (a minute or so)
    python -m tools.bench_constrained --quick    small sizes and HS 6, 14, 35, seconds (what the test suite runs)

(a) Random feasible standard-form LPs (utils.interior_point.random_lp, m = 0.4n): iterations, seconds and the
relative objective error |f − f*|/max(1, |f*|) against the constructed optimum f*, for utils.lp_ipm,
CVXPY + Clarabel and scipy.optimize.linprog(method="highs-ipm"), all at their default tolerances. (b) Random
convex QPs (random_qp, m = 1.5n inequalities, p = 0.2n equalities): utils.qp_ipm against Clarabel. Seconds
include CVXPY's compilation for Clarabel; our IPM uses dense NumPy linear algebra, so its time grows as n³
while the sparse solvers' does not: read the timings as orders of magnitude. (c) The Hock–Schittkowski set
(utils.hock_schittkowski.hs_benchmark_rows): utils.sqp.sqp with damped BFGS and with the exact Hessian, and
utils.augmented_lagrangian.augmented_lagrangian, against scipy's SLSQP (ftol = 1e-12) and trust-constr: iterations,
function evaluations (line searches and inner solves included), ‖x − x*‖ and |f − f*| against the published
solution, and whether the solver reported success. Each section is one function returning rows.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _err(f, f_star):
    return abs(f - f_star) / max(1.0, abs(f_star))


def lp_section(sizes):
    """Rows (n, solver, iterations, seconds, objective error) on random_lp(0.4n, n)."""
    import cvxpy as cp
    from scipy.optimize import linprog

    from utils import interior_point as ip

    rows = []
    for n in sizes:
        P = ip.random_lp(int(0.4 * n), n, seed=n)
        t0 = time.perf_counter()
        r = ip.lp_ipm(P["c"], P["A"], P["b"])
        rows.append((n, "utils.lp_ipm", r.nit, time.perf_counter() - t0, _err(r.fun, P["f_star"])))
        x = cp.Variable(n)
        prob = cp.Problem(cp.Minimize(P["c"] @ x), [P["A"] @ x == P["b"], x >= 0])
        t0 = time.perf_counter()
        prob.solve(solver="CLARABEL")
        rows.append((n, "CVXPY+Clarabel", prob.solver_stats.num_iters, time.perf_counter() - t0,
                     _err(prob.value, P["f_star"])))
        t0 = time.perf_counter()
        h = linprog(P["c"], A_eq=P["A"], b_eq=P["b"], bounds=(0, None), method="highs-ipm")
        rows.append((n, "HiGHS ipm", h.nit, time.perf_counter() - t0, _err(h.fun, P["f_star"])))
    return rows


def qp_section(sizes):
    """Rows (n, solver, iterations, seconds, objective error) on random_qp(n, 1.5n, 0.2n)."""
    import cvxpy as cp

    from utils import interior_point as ip

    rows = []
    for n in sizes:
        P = ip.random_qp(n, int(1.5 * n), int(0.2 * n), seed=n)
        t0 = time.perf_counter()
        r = ip.qp_ipm(P["Q"], P["c"], P["G"], P["h"], P["A"], P["b"])
        rows.append((n, "utils.qp_ipm", r.nit, time.perf_counter() - t0, _err(r.fun, P["f_star"])))
        x = cp.Variable(n)
        prob = cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, cp.psd_wrap(P["Q"])) + P["c"] @ x),
                          [P["G"] @ x <= P["h"], P["A"] @ x == P["b"]])
        t0 = time.perf_counter()
        prob.solve(solver="CLARABEL")
        rows.append((n, "CVXPY+Clarabel", prob.solver_stats.num_iters, time.perf_counter() - t0,
                     _err(prob.value, P["f_star"])))
    return rows


def hs_section(quick):
    """Rows (problem, method, iterations, function evaluations, ‖x − x*‖, |f − f*|, success) on the HS set."""
    from utils.hock_schittkowski import hs_benchmark_rows

    return [(r["problem"], r["method"], r["nit"], r["nfev"], r["x_err"], r["f_err"], r["success"])
            for r in hs_benchmark_rows(quick=quick)]


def _print_hs(title, rows):
    print(title)
    print(f"{'problem':<8}{'method':<24}{'iters':>6}{'f evals':>9}{'|x - x*|':>11}{'|f - f*|':>11}  success")
    for prob, name, k, nf, ex, ef, ok in rows:
        print(f"{prob:<8}{name:<24}{k:>6}{nf:>9}{ex:>11.1e}{ef:>11.1e}  {ok}")


def _print(title, rows):
    print(title)
    print(f"{'n':>6}  {'solver':<16}{'iters':>6}{'seconds':>10}{'obj. error':>12}")
    for n, name, k, t, e in rows:
        print(f"{n:>6}  {name:<16}{k:>6}{t:>10.3f}{e:>12.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench_constrained", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args(argv)
    lp_sizes, qp_sizes = ([20, 50], [10, 30]) if args.quick else ([50, 100, 200, 400, 800], [25, 50, 100, 200, 400])
    out = {"lp": lp_section(lp_sizes), "qp": qp_section(qp_sizes), "hs": hs_section(args.quick)}
    _print("(a) standard-form LP, m = 0.4n", out["lp"])
    _print("\n(b) convex QP, 1.5n inequalities, 0.2n equalities", out["qp"])
    _print_hs("\n(c) Hock-Schittkowski problems: SQP and the augmented Lagrangian vs SLSQP and trust-constr", out["hs"])
    print("\ntimings: wall time on this machine under its current load (Clarabel's includes CVXPY compilation)")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
