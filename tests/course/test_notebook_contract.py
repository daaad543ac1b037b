"""The contract every course notebook keeps (DESIGN §4), and the harness that executes them."""
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import notebooks as nbt

ROOT = nbt.ROOT
NOTEBOOKS = nbt.all_notebooks()
WEEKS = ["week1_foundations", "week2_unconstrained_smooth", "week3_proximal_nonsmooth", "week4_stochastic_optim",
         "week5_constrained_duality", "week6_modern_deep_learning_optim"]
ids = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]


def _read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert (ROOT / "week1_foundations" / "00_course_tour.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_first_cell_has_the_colab_badge_for_this_path(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "cell 1 is the markdown title"
    urls = re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"']+", first.source)
    assert urls == [nbt.badge_url(path.relative_to(ROOT))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_second_cell_is_the_setup_cell(path):
    second = _read(path).cells[1]
    assert second.cell_type == "code" and second.source == nbt.SETUP_CELL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_sizes_are_chosen_in_one_visible_cell(path):
    cells = [c for c in _read(path).cells if c.cell_type == "code" and "by_scale(" in c.source]
    assert len(cells) == 1, f"{len(cells)} code cells call utils.by_scale; want exactly one"
    assert not cells[0].metadata.get("jupyter", {}).get("source_hidden"), "the sizes cell must be visible"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_stored_outputs_come_from_the_current_code(path):
    nb = _read(path)
    meta = nb.metadata.get(nbt.META_KEY, {})
    assert meta.get("code_sha256") == nbt.fingerprint(nb), (
        "code changed since the outputs were produced: run `python -m tools.notebooks execute " f"{path.relative_to(ROOT)}`")
    assert meta.get("executed_scale") == "laptop"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_executed_in_order_without_errors(path):
    code = [c for c in _read(path).cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"execution counts {counts}: not run top to bottom"
    errors = [o.get("ename") for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error outputs: {errors}"
    bad = [o.get("name") for c in code for o in c.outputs if o.output_type == "stream" and "Traceback" in o.get("text", "")]
    assert not bad


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_names(path):
    rel = path.relative_to(ROOT)
    if rel.parts[0] == "solutions":
        assert re.fullmatch(r"week[1-6]_[a-z0-9_]+\.ipynb", path.name), path.name
    else:
        assert rel.parts[0] in WEEKS and len(rel.parts) == 2, "notebooks sit directly in a week folder"
        assert re.fullmatch(r"(\d\d_[a-z0-9_]+|lab_[a-z0-9_]+)\.ipynb", path.name), path.name


@pytest.mark.parametrize("week", WEEKS)
def test_week_folder_holds_a_chapter(week):
    folder = ROOT / week
    if not (folder / "lecture.md").exists():
        pytest.skip(f"{week}: chapter not written yet (no lecture.md)")
    numbered = sorted(p.name for p in folder.glob("[0-9][0-9]_*.ipynb"))
    assert len([n for n in numbered if not n.startswith("00_")]) >= 3, numbered
    assert len(list(folder.glob("lab_*.ipynb"))) == 1


def test_fingerprint_changes_with_code_but_not_outputs():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("print(x)")])
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    before = nbt.fingerprint(nb)
    nb.cells[-1].outputs = []
    assert nbt.fingerprint(nb) == before
    code = next(c for c in reversed(nb.cells) if c.cell_type == "code")
    code.source += "\n# edited"
    assert nbt.fingerprint(nb) != before


def test_new_notebook_scaffold_satisfies_the_static_contract(tmp_path, monkeypatch):
    monkeypatch.setattr(nbt, "ROOT", tmp_path)
    (tmp_path / "week2_unconstrained_smooth").mkdir()
    path = tmp_path / "week2_unconstrained_smooth" / "01_demo.ipynb"
    nbt.new_notebook(path, "Demo")
    nb = _read(path)
    assert nbt.badge_url(Path("week2_unconstrained_smooth/01_demo.ipynb")) in nb.cells[0].source
    assert nb.cells[1].source == nbt.SETUP_CELL
    assert sum("by_scale(" in c.source for c in nb.cells) == 1


# ------------------------------------------------------------------------------------------------ harness
def _write_nb(path, sources, gpu=False):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if gpu:
        nb.metadata[nbt.META_KEY] = {"gpu_at_full_scale": True}
    nbformat.write(nb, path)


def test_harness_stops_a_notebook_at_its_first_failing_cell_and_sets_the_scale(pytester):
    shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    _write_nb(pytester.path / "demo.ipynb", [
        "import os\nassert os.environ['OPTM_SCALE'] == 'smoke'\nx = 1",
        "raise RuntimeError('boom')",
        "y = undefined_name",
    ])
    result = pytester.runpytest_subprocess("--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*an earlier cell of this notebook failed*"])
    assert "NameError" not in result.stdout.str()


def test_gpu_notebooks_are_skipped_at_full_scale_unless_asked(pytester):
    shutil.copy(ROOT / "conftest.py", pytester.path / "conftest.py")
    _write_nb(pytester.path / "big.ipynb", ["import os\nprint(os.environ['OPTM_SCALE'])"], gpu=True)
    args = ("--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(*args, "--scale", "full").assert_outcomes(skipped=1)
    pytester.runpytest_subprocess(*args, "--scale", "full", "--gpu").assert_outcomes(passed=1)
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)              # smoke: runs on CPU


def test_labs_report_collects_headlines(tmp_path):
    lab = tmp_path / "lab_demo.ipynb"
    _write_nb(lab, ["import utils\nutils.headline('answer', 42, 'units')\nutils.headline('scale', utils.get_scale())"])
    report = tmp_path / "report.md"
    text = nbt.run_labs([lab], "smoke", report)
    row = next(line for line in text.splitlines() if "lab_demo" in line)
    assert "| ok |" in row and "answer = 42 units" in row and "scale = smoke" in row
    assert report.read_text() == text and "scale `smoke`" in text
