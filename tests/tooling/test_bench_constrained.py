"""The week-5 constrained benchmark runs end to end at its quick sizes and prints its three tables."""
import math

from tools import bench_constrained


def test_quick_benchmark_prints_iterations_times_and_small_objective_errors(capsys):
    out = bench_constrained.main(["--quick"])
    text = capsys.readouterr().out
    assert "standard-form LP" in text and "convex QP" in text
    assert {r[1] for r in out["lp"]} == {"utils.lp_ipm", "CVXPY+Clarabel", "HiGHS ipm"}
    assert {r[1] for r in out["qp"]} == {"utils.qp_ipm", "CVXPY+Clarabel"}
    for n, name, k, seconds, err in out["lp"] + out["qp"]:
        assert name in text and k > 0 and math.isfinite(seconds) and seconds > 0
        assert err <= 1e-6, (n, name, err)            # every solver at its default tolerance reaches f*
    methods = {"SQP (damped BFGS)", "SQP (exact Hessian)", "augmented Lagrangian", "SLSQP", "trust-constr"}
    assert "Hock-Schittkowski" in text and {r[1] for r in out["hs"]} == methods
    for prob, name, k, nfev, x_err, f_err, ok in out["hs"]:
        assert prob in text and k > 0 and nfev > 0
        if name.startswith("SQP"):                        # our SQP solves every quick HS problem to the published x*
            assert ok and x_err <= 1e-6 and f_err <= 1e-6, (prob, name, x_err, f_err)
