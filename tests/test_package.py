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
