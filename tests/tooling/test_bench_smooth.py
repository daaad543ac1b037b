"""The week-2 benchmark command runs end to end at its quick sizes and reports every problem."""
import numpy as np

from tools import bench_smooth


def test_quick_benchmark_runs_and_prints_the_table(capsys):
    records = bench_smooth.main(["--quick", "--maxiter", "60"])
    out = capsys.readouterr().out
    problems = {r.problem for r in records}
    assert len(problems) == 5 and all(p in out for p in problems)
    assert "scipy L-BFGS-B" in out and "L-BFGS (m=10)" in out
    by = {(r.problem, r.solver): r for r in records}
    quad = next(p for p in problems if "κ=100," in p)
    # On a well-conditioned quadratic the second-order and quasi-Newton methods reach the target.
    for s in ("L-BFGS (m=10)", "trust region (Steihaug-CG)", "scipy L-BFGS-B", "scipy trust-ncg"):
        assert np.isfinite(by[quad, s].iters_to_target), s
    assert all((p, "BFGS") in by for p in problems)                  # every quick problem is small


def test_dense_matrix_methods_are_skipped_for_large_n():
    n = bench_smooth.DENSE_MAX + 1
    big = bench_smooth.Problem(name="big", f=lambda x: 0.5 * x @ x, grad=lambda x: x, hess=lambda x: np.eye(n),
                               hvp=lambda x, v: v, x0=np.ones(n), L=1.0, mu=1.0)
    names = set(bench_smooth.make_solvers(big, 10))
    assert {"BFGS", "Newton (Armijo)", "scipy BFGS"}.isdisjoint(names)
    assert {"L-BFGS (m=10)", "scipy L-BFGS-B", "scipy trust-ncg", "trust region (Steihaug-CG)"} <= names


def test_synthetic_logistic_reference_is_stationary():
    p = bench_smooth.synthetic_logistic(40, 60)
    assert np.linalg.norm(p.grad(p.x_star)) < 1e-9
    v = np.random.default_rng(1).standard_normal(60)
    h = 1e-6
    fd = (p.grad(p.x_star + h * v) - p.grad(p.x_star - h * v)) / (2 * h)
    np.testing.assert_allclose(p.hvp(p.x_star, v), fd, rtol=1e-6, atol=1e-9)
