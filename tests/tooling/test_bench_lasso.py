"""The lasso benchmark command runs end to end at its quick sizes and certifies every solver by the duality gap."""
import numpy as np

from tools import bench_lasso


def test_bench_lasso_quick_runs_and_certifies(capsys):
    assert bench_lasso.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "certified by its duality gap" in out
    for name in ("FISTA + restart (utils)", "ADMM ρ=1 (utils)", "scikit-learn Lasso (CD)", "CVXPY + Clarabel"):
        assert name in out
    records, f_star, gap, lam, best = bench_lasso.benchmark(40, 80, 5, 0.2, 3000)
    assert gap <= 1e-6 * max(1.0, abs(f_star))
    assert all(r.success and 0.0 <= r.gap <= 1e-6 * max(1.0, abs(f_star)) for r in records)
    assert all(np.isfinite(r.time_to_target) for r in records)
