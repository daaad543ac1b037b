"""The week-4 optimizer benchmark command runs end to end at its quick sizes and prints both tables."""
import math

from tools import bench_optimizers


def test_quick_benchmark_prints_finite_positive_timings(capsys):
    out = bench_optimizers.main(["--quick"])
    text = capsys.readouterr().out
    assert set(out["steps"]) == {"adam", "adamw", "lion", "lookahead(adam)"}
    for name, (ours, ref) in out["steps"].items():
        assert name in text and math.isfinite(ours) and math.isfinite(ref) and ours > 0 and ref > 0
    assert "ours/optax" in text and "seconds to f(x) − f*" in text
    assert len(out["time_to_target"]) == 3
    for name, (seconds, gap) in out["time_to_target"].items():
        assert name in text
        assert math.isfinite(seconds) and seconds > 0, name             # every solver reached the 1e-3 target
        assert 0 <= gap <= 1e-3 * abs(_f_star()), name


def _f_star():
    from utils.stochastic import finite_sum_logistic

    return finite_sum_logistic().f_star
