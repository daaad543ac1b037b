"""The package's public surface: every module is reachable as ``utils.<module>`` and every name in ``__all__``
exists. A function re-exported under its module's name would shadow the module (``import utils.lbfgs as lb``
would then return the function), so this guards the re-exports in ``utils/__init__.py``."""
import types
from pathlib import Path

import utils

MODULES = sorted(p.stem for p in Path(utils.__file__).parent.glob("*.py") if p.stem != "__init__")


def test_every_module_is_reachable_as_a_module():
    shadowed = [m for m in MODULES if not isinstance(getattr(utils, m, None), types.ModuleType)]
    assert shadowed == [], f"utils.<name> is not the module for: {shadowed}"


def test_all_names_exist_and_modules_are_listed():
    missing = [n for n in utils.__all__ if not hasattr(utils, n)]
    assert missing == []
    assert set(MODULES) <= set(utils.__all__)


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
