"""The decision map (figures/make_decision_figure.py): the script writes a PNG where it is told to, and every
function a leaf recommends exists in ``utils`` -- so the figure fails this test, rather than going stale, when the
library renames or drops a function."""
import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import utils

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "figures" / "make_decision_figure.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_script():
    spec = importlib.util.spec_from_file_location("make_decision_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_the_png_to_the_requested_path(tmp_path):
    out = tmp_path / "sub" / "decision_map.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert not (tmp_path / "figures").exists()              # nothing written beside the requested file


def test_the_committed_png_exists():
    png = ROOT / "figures" / "decision_map.png"
    assert png.is_file() and png.read_bytes()[:8] == PNG_SIGNATURE


def test_every_leaf_recommends_at_least_one_function():
    module = load_script()
    all_leaves = module.leaves()
    assert len(all_leaves) >= 20
    assert all(lf["functions"] for lf in all_leaves)


@pytest.mark.parametrize("name", load_script().leaf_functions())
def test_every_leaf_function_exists_in_utils(name):
    try:
        obj = functools.reduce(getattr, name.split("."), utils)
    except AttributeError:
        pytest.fail(f"the decision map names utils.{name}, which utils does not have")
    assert callable(obj), f"utils.{name} is not callable"
