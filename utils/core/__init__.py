"""The shared core: reference problems (``problems``), ``OptimizeResult`` and ``History`` (``result``), the NumPy
and JAX loops every algorithm shares (``drivers``), the scale flag, seeds and device (``runtime``), and the
notebook claims and exercise self-checks (``checks``).
"""
from . import checks, drivers, problems, result, runtime

__all__ = [
    "checks", "drivers", "problems", "result", "runtime",
]
