"""The cheap parts of the Colab compatibility check (tools/compat.py): no virtual environment is created."""
import doctest
import json
from pathlib import Path

import pytest

from tools import compat
from tools.notebooks import SETUP_CELL


def test_requirements_colab_parses_with_date_python_and_pins():
    spec = compat.parse_requirements(compat.COLAB_REQUIREMENTS.read_text(encoding="utf-8"))
    assert spec.date.startswith("20") and spec.python.startswith("3.")
    for name in ("numpy", "jax", "jaxlib", "optax", "cvxpy", "torch"):
        assert name in spec.pins, name
    assert spec.pins["jax"] == spec.pins["jaxlib"]
    assert "scipy" in spec.unpinned and len(spec.requirements) == len(spec.pins) + len(spec.unpinned)


@pytest.mark.parametrize("text, what", [
    ("# no date here\n# python: 3.13\nnumpy==2.1.3\n", "date"),
    ("# Colab as of 2026-08\nnumpy==2.1.3\n", "python"),
    ("# Colab as of 2026-08\n# python: 3.13\nnumpy>=2.1\n", "name==version"),
])
def test_requirements_colab_rejects_what_it_cannot_use(text, what):
    with pytest.raises(ValueError, match=what):
        compat.parse_requirements(text)


def test_doctests_of_the_module():
    assert doctest.testmod(compat).failed == 0


def test_pinned_versions_and_names_are_normalized():
    pins = compat.pinned_versions("numpy==2.4.6\nscikit_learn==1.9.1  # c\n-e .\npytest>=9\n")
    assert pins == {"numpy": "2.4.6", "scikit-learn": "1.9.1"}
    harness = compat.pinned_versions(compat.PINNED_REQUIREMENTS.read_text(encoding="utf-8"))
    assert all(n in harness for n in compat.HARNESS)


def test_setup_cell_packages_are_read_from_the_setup_cell():
    assert compat.setup_cell_packages() == ["optax", "cvxpy", "clarabel", "tqdm"]
    assert compat.setup_cell_packages('for m in ("a", \'b\')') == ["a", "b"]
    with pytest.raises(ValueError, match="missing"):
        compat.setup_cell_packages("import utils")


def _notebook(path: Path, sources):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": [], "execution_count": None}
             for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_discovery_of_weeks_smoke_choice_and_colab_only_installs(tmp_path):
    colab_cell = ('if "google.colab" in sys.modules:\n'
                  '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "skfolio==1.12.2"])')
    a = _notebook(tmp_path / "week1_x" / "01_a.ipynb", [SETUP_CELL])
    lab = _notebook(tmp_path / "week1_x" / "lab_b.ipynb", [SETUP_CELL, colab_cell])
    c = _notebook(tmp_path / "week6_new" / "01_c.ipynb", [SETUP_CELL])
    d = _notebook(tmp_path / "week6_new" / "02_d.ipynb", [SETUP_CELL, "print(1)  # google.colab, no install"])
    sol = _notebook(tmp_path / "solutions" / "week6_01_c.ipynb", [SETUP_CELL])
    _notebook(tmp_path / "week6_new" / ".ipynb_checkpoints" / "01_c-checkpoint.ipynb", [SETUP_CELL])
    found = compat.weeks(tmp_path)
    assert found == {1: [a, lab], 6: [c, d]}                      # solutions and checkpoints excluded
    assert [compat.smoke_choice(v) for v in found.values()] == [lab, d]   # the lab, else the last notebook
    assert compat.week_number(sol, tmp_path) == 6
    assert compat.week_number(tmp_path / "figures" / "f.ipynb", tmp_path) is None
    assert compat.colab_only_installs([a, lab, c, d]) == ["skfolio==1.12.2"]   # the setup cell is not counted


def test_discovery_on_the_repository_has_one_smoke_notebook_per_week_folder():
    found = compat.weeks()
    folders = {p.name for p in compat.ROOT.glob("week*_*") if p.is_dir() and any(p.glob("*.ipynb"))}
    assert len(found) == len(folders) >= 5
    for week, nbs in found.items():
        assert compat.smoke_choice(nbs) in nbs and all(f"week{week}_" in str(p) for p in nbs)


def test_command_construction():
    vpy = Path("/venv/bin/python")
    spec = compat.parse_requirements("# Colab 2026-08 (source)\n# python: 3.13\nnumpy==2.1.3\ntorch==2.11.0\nscipy\n")
    stack, package = compat.install_commands(vpy, spec, {"pytest": "9.0.3"}, requirements=Path("r.txt"))
    assert stack[:4] == [str(vpy), "-m", "pip", "install"] and ["-r", "r.txt"] == stack[-8:-6]
    assert "pytest==9.0.3" in stack and "nbval" in stack
    assert package[-2:] == ["--no-deps", str(compat.ROOT)]
    stack, _ = compat.install_commands(vpy, spec, {}, no_torch=True)
    assert "-r" not in stack and "numpy==2.1.3" in stack and "scipy" in stack
    assert not any(s.startswith("torch") for s in stack)
    cmd = compat.pytest_command(vpy, 2)
    assert cmd[1:5] == ["-m", "pytest", "tests", "utils"] and cmd[-4:] == ["-n", "2", "--dist", "loadfile"]
    assert "-n" not in compat.pytest_command(vpy, 1)
    cells = compat.cells_command(vpy, 3, [Path("w/a.ipynb")], Path("o.json"))
    assert cells == [str(vpy), "-m", "tools.compat", "run-cells", "--first", "3", "--out", "o.json", "w/a.ipynb"]
    assert "--first" not in compat.cells_command(vpy, None, [], Path("o.json"))


def test_venv_environment_and_kernelspec(tmp_path):
    env = compat.venv_env(tmp_path / "venv", tmp_path / "jup")
    assert "PYTHONPATH" not in env and env["PATH"].startswith(str(tmp_path / "venv" / "bin"))
    assert env["OPTM_SCALE"] == "smoke" and env["JUPYTER_PATH"] == str(tmp_path / "jup")
    compat.write_kernelspec(tmp_path / "jup", tmp_path / "venv" / "bin" / "python")
    spec = json.loads((tmp_path / "jup" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == str(tmp_path / "venv" / "bin" / "python")


def test_pyenv_python_lookup(tmp_path, monkeypatch):
    for v in ("3.13.0", "3.13.10", "3.12.1", "3.130.1"):
        (tmp_path / "versions" / v / "bin").mkdir(parents=True)
        (tmp_path / "versions" / v / "bin" / "python").touch()
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    assert compat.pyenv_python("3.13") == tmp_path / "versions" / "3.13.10" / "bin" / "python"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="pyenv install 3.9"):
        compat.pyenv_python("3.9")


def test_pytest_counts_and_deviations():
    log = "....\n= 3 failed, 120 passed, 4 skipped in 80.1s =\nother\n"
    assert compat.pytest_counts(log) == "3 failed, 120 passed, 4 skipped in 80.1s"
    assert compat.pytest_counts("nothing ran") == ""
    spec = compat.parse_requirements("# Colab 2026-08 (s)\n# python: 3.13\nnumpy==2.1.3\ntorch==2.11.0\n")
    assert compat.deviations(spec, {"numpy": "2.1.3", "torch": "2.11.0"}, "3.13.0", False) == []
    devs = compat.deviations(spec, {"numpy": "2.4.6"}, "3.12.1", True)
    assert len(devs) == 3 and "Python 3.12.1" in devs[0] and "numpy 2.4.6" in devs[1] and "--no-torch" in devs[2]


def test_x64_context_switches_jax_precision_inside_the_block_only():
    import jax
    import jax.numpy as jnp

    from utils import runtime

    before = jax.config.jax_enable_x64
    with runtime.x64(False):
        assert jnp.zeros(1).dtype == jnp.float32
    with runtime.x64(True):
        assert jnp.zeros(1).dtype == jnp.float64
    assert jax.config.jax_enable_x64 == before
