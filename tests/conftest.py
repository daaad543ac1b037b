"""Unit tests run in float64 everywhere, JAX included (DESIGN §3).

The tests mirror the package: ``tests/<family>/test_<module>.py`` tests ``utils/<family>/<module>.py``. Helpers
shared across families (``noisy_pytree``) live here in ``tests/`` and are importable from every subfolder."""
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(Path(__file__).resolve().parent))
