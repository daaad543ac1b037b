"""Scale flag, seeds, device report, headline numbers, and the notebook checks."""
import json

import numpy as np
import pytest

from utils import checks, runtime


def test_scale_defaults_to_laptop_and_reads_env(monkeypatch):
    monkeypatch.delenv("OPTM_SCALE", raising=False)
    assert runtime.get_scale() == "laptop"
    for s in runtime.SCALES:
        monkeypatch.setenv("OPTM_SCALE", s.upper())
        assert runtime.get_scale() == s


def test_bad_scale_raises_naming_the_variable(monkeypatch):
    monkeypatch.setenv("OPTM_SCALE", "huge")
    with pytest.raises(ValueError, match="OPTM_SCALE"):
        runtime.get_scale()


def test_by_scale_picks_the_value_for_the_current_scale(monkeypatch):
    expected = {"smoke": 1, "laptop": 2, "full": 3}
    for s, v in expected.items():
        monkeypatch.setenv("OPTM_SCALE", s)
        assert runtime.by_scale(smoke=1, laptop=2, full=3) == v
    assert runtime.by_scale(smoke=1, laptop=2) == 2          # full falls back to laptop
    assert runtime.by_scale(smoke=1, laptop=2, full=3, scale="smoke") == 1
    with pytest.raises(ValueError, match="scale"):
        runtime.by_scale(smoke=1, laptop=2, scale="tiny")


def test_rng_is_reproducible_and_validates_seed():
    assert np.array_equal(runtime.rng(3).standard_normal(4), runtime.rng(3).standard_normal(4))
    assert not np.array_equal(runtime.rng(3).standard_normal(4), runtime.rng(4).standard_normal(4))
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match="seed"):
            runtime.rng(bad)


def test_device_info_and_environment_summary(monkeypatch):
    monkeypatch.setenv("OPTM_SCALE", "smoke")
    info = runtime.device_info()
    assert info["jax_backend"] in {"cpu", "gpu", "tpu"} and isinstance(info["gpu"], bool)
    text = runtime.environment_summary()
    assert "numpy" in text and "scale: smoke" in text
    assert ("A GPU is available" in text) == info["gpu"]


def test_an_nvidia_driver_counts_as_a_gpu_and_gives_the_hint(monkeypatch):
    monkeypatch.setenv("OPTM_SCALE", "laptop")
    monkeypatch.setattr(runtime.shutil, "which", lambda name: "/usr/bin/nvidia-smi" if name == "nvidia-smi" else None)
    assert runtime.device_info()["gpu"] is True
    assert "A GPU is available: set OPTM_SCALE=full" in runtime.environment_summary()
    monkeypatch.setenv("OPTM_SCALE", "full")
    assert "A GPU is available" not in runtime.environment_summary()


def test_device_info_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, utils; utils.environment_summary(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_headline_prints_and_appends_json_lines(tmp_path, monkeypatch, capsys):
    sink = tmp_path / "h.jsonl"
    monkeypatch.setenv("OPTM_HEADLINES", str(sink))
    runtime.headline("test accuracy", np.float64(0.975), "")
    runtime.headline("wall time", 12, "s")
    import jax.numpy as jnp
    runtime.headline("jax scalar", jnp.float32(0.5))
    out = capsys.readouterr().out
    assert "[HEADLINE] test accuracy = 0.975" in out and "[HEADLINE] wall time = 12 s" in out
    rows = [json.loads(s) for s in sink.read_text().splitlines()]
    assert rows == [{"name": "test accuracy", "value": 0.975, "unit": ""}, {"name": "wall time", "value": 12, "unit": "s"},
                    {"name": "jax scalar", "value": 0.5, "unit": ""}]


def test_check_close_passes_with_a_pass_line(capsys):
    checks.check_close("pi", np.pi, 3.14159265, rtol=1e-8)
    checks.check_close("vector", [1.0, 2.0], np.array([1.0, 2.0 + 1e-12]))
    assert capsys.readouterr().out == "[PASS] pi\n[PASS] vector\n"


def test_check_close_failure_carries_the_values():
    with pytest.raises(checks.CheckFailed, match=r"\[FAIL\] rate.*0\.5.*0\.9"):
        checks.check_close("rate", 0.5, 0.9, rtol=0.05)
    with pytest.raises(checks.CheckFailed, match="nan"):
        checks.check_close("nan is never close", np.nan, np.nan)
    with pytest.raises(checks.CheckFailed, match="shapes"):
        checks.check_close("shapes", [1.0, 2.0], [1.0, 2.0, 3.0])


def test_check_true(capsys):
    checks.check_true("monotone", True)
    assert capsys.readouterr().out == "[PASS] monotone\n"
    with pytest.raises(checks.CheckFailed, match="monotone: went up at k=3"):
        checks.check_true("monotone", False, "went up at k=3")
    assert issubclass(checks.CheckFailed, AssertionError)
