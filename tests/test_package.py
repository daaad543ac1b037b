"""The package's public surface. ``utils`` is laid out by method family (``utils/<family>/<module>.py``), and every
module stays reachable under its short name: as the attribute ``utils.<module>`` and through ``import
utils.<module>``. Every name in ``__all__`` exists. A function re-exported under its module's name would shadow
the module (``import utils.lbfgs as lb`` would then return the function), so this guards the re-exports in
``utils/__init__.py``; and a subpackage missing from ``pyproject.toml`` would be left out of a non-editable install
(Colab's), so this guards that list too."""
import importlib
import sys
import types
from pathlib import Path

import utils

ROOT = Path(utils.__file__).resolve().parent
FAMILIES = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
MODULES = {f: sorted(p.stem for p in (ROOT / f).glob("*.py") if p.stem != "__init__") for f in FAMILIES}
TOP = sorted(p.stem for p in ROOT.glob("*.py") if p.stem != "__init__")
# the two families named like a module they hold: the subpackage re-exports that module's names
RENAMED = {"stochastic": "finite_sum", "constrained": "projected"}
SHORT = sorted(m for f in FAMILIES for m in MODULES[f] if RENAMED.get(f) != m)


def test_layout_is_the_families():
    assert FAMILIES == ["analysis", "constrained", "core", "deep", "nonsmooth", "smooth", "stochastic"]
    assert TOP == ["benchmarks", "datasets", "plotting"], f"a module outside its family: {TOP}"
    assert len(SHORT) == len(set(SHORT)), "two families hold modules of the same name"
    for family, module in RENAMED.items():
        assert module in MODULES[family]


def test_every_module_is_reachable_under_its_short_name():
    for family in FAMILIES:
        package = importlib.import_module(f"utils.{family}")
        assert getattr(utils, family) is package
        for m in MODULES[family]:
            module = sys.modules[f"utils.{family}.{m}"]
            assert getattr(package, m) is module
            if RENAMED.get(family) == m:
                continue
            assert getattr(utils, m, None) is module, f"utils.{m} is not the module utils.{family}.{m}"
            assert importlib.import_module(f"utils.{m}") is module
    for m in TOP:
        assert isinstance(getattr(utils, m), types.ModuleType)
        assert importlib.import_module(f"utils.{m}") is getattr(utils, m)


def test_short_name_imports_in_a_fresh_interpreter():
    """``from utils.<module> import …`` as the first import of a process (a notebook's first cell), and pickling
    a record defined in a moved module."""
    import subprocess

    code = ("from utils.lbfgs import lbfgs\nimport utils.kfac as k\nimport pickle, utils\n"
            "from utils.stochastic import inverse_k\nfrom utils.constrained import projected_gradient\n"
            "assert k is utils.deep.kfac and lbfgs is utils.smooth.lbfgs.lbfgs\n"
            "s = utils.GDState(x=1.0, g=0.0, k=0, njev=1)\nr = pickle.loads(pickle.dumps(s))\n"
            "assert r == s\nprint('ok', type(r).__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "utils.smooth.first_order"]


def test_renamed_modules_are_reexported_by_their_family():
    """``utils.stochastic.saga`` and ``from utils.constrained import simplex_least_squares`` as before the
    layout: each family named like a module re-exports every public name of that module, the same objects."""
    for family, m in RENAMED.items():
        package, module = getattr(utils, family), getattr(getattr(utils, family), m)
        missing = [n for n in module.__all__ if getattr(package, n, None) is not getattr(module, n)]
        assert missing == [], f"utils.{family} lacks {missing} of utils.{family}.{m}"
        assert set(module.__all__) <= set(package.__all__)


def test_all_names_exist_and_modules_are_listed():
    missing = [n for n in utils.__all__ if not hasattr(utils, n)]
    assert missing == []
    assert len(utils.__all__) == len(set(utils.__all__))
    assert set(FAMILIES) | set(SHORT) | set(TOP) <= set(utils.__all__)
    for family in FAMILIES:
        package = getattr(utils, family)
        assert [n for n in package.__all__ if not hasattr(package, n)] == []
        assert set(MODULES[family]) <= set(package.__all__)


def test_every_subpackage_is_declared_for_installation():
    import tomllib

    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    declared = config["tool"]["setuptools"]["packages"]
    assert sorted(declared) == sorted(["utils", *(f"utils.{f}" for f in FAMILIES)])


def test_weeks_1_to_3_import_and_run_without_torch():
    """torch is needed by weeks 4 and 6 only: with it blocked, ``utils`` and every module it lists import and a
    solver runs. An import hook makes ``import torch`` raise ModuleNotFoundError, as when it is not installed
    (``sys.modules['torch'] = None`` would not do: scipy's array-API helpers then read ``torch.Tensor`` from the
    None they find there)."""
    import os
    import subprocess
    import sys

    root = Path(utils.__file__).resolve().parent.parent
    code = "\n".join([
        "import importlib, sys, types",
        "class NoTorch:",
        "    def find_spec(self, name, path=None, target=None):",
        "        if name == 'torch' or name.startswith('torch.'):",
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)",
        "sys.meta_path.insert(0, NoTorch())",
        "try:",
        "    import torch",
        "    raise SystemExit('torch was not blocked')",
        "except ModuleNotFoundError:",
        "    pass",
        "import numpy as np",
        "import utils",
        "names = [n for n in utils.__all__ if isinstance(getattr(utils, n), types.ModuleType)]",
        "mods = [importlib.import_module('utils.' + n) for n in names]",
        "p = utils.quadratic(n=3, mu=1.0, L=4.0, rotate=False)",
        "res = utils.gradient_descent(p, eta=2 / (p.L + p.mu), gtol=1e-10)",
        "assert res.success and np.allclose(res.x, p.x_star), res.message",
        "print('ok', len(mods), 'torch' in sys.modules)",
    ])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "ok" and out.stdout.split()[-1] == "False", out.stdout
