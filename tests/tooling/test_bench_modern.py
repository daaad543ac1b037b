"""The week-6 benchmark command runs end to end at its quick sizes and prints both tables (no timed assertion)."""
import math

from tools import bench_modern

ROWS = {"adamw", "muon", "shampoo (T=10)", "soap (T=10)", "sophia (T=10)", "sam(adamw)", "schedule_free_adamw"}
WITH_OPTAX = {"adamw", "muon", "sophia (T=10)", "sam(adamw)", "schedule_free_adamw"}


def finite_positive(v):
    return isinstance(v, float) and math.isfinite(v) and v > 0


def test_quick_benchmark_prints_finite_positive_timings(capsys):
    out = bench_modern.main(["--quick"])
    text = capsys.readouterr().out
    assert set(out["steps"]) == ROWS
    for name, (ours, ref, torch) in out["steps"].items():
        assert name in text and finite_positive(ours), name
        assert (ref is not None) == (name in WITH_OPTAX), name            # an optax column where optax has one
        for other in (ref, torch):
            if other is not None:
                assert finite_positive(other) and finite_positive(ours / other), name
    assert out["steps"]["shampoo (T=10)"][1:] == (None, None)          # neither optax nor torch has Shampoo
    assert out["steps"]["muon"][2] is not None                          # torch.optim.Muon exists (torch 2.13)
    assert set(out["overhead"]) == {"muon", "shampoo (T=10)", "soap (T=10)", "kfac (T=10, dense layers)"}
    for name, (t, base) in out["overhead"].items():
        assert name in text and finite_positive(t) and finite_positive(base) and finite_positive(t / base), name
    for line in ("ours/optax", "ours/torch", "× AdamW", "goal: ours/optax ≤ 1.1"):
        assert line in text
    # every printed ratio parses as a positive finite number, or is '—' where there is no reference
    table = text.split("(b)")[0].splitlines()[2:2 + len(ROWS)]
    for row in table:
        cells = row.split()[-5:]
        for cell in (cells[2], cells[4]):
            assert cell == "—" or finite_positive(float(cell)), row
