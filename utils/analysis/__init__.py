"""Week 1, looking at a problem before solving it: finite differences and gradient checks (``derivatives``),
extreme eigenvalues by power iteration and Lanczos on Hessian-vector products (``spectrum``), and loss-landscape
slices and interpolation (``landscape``).
"""
from . import derivatives, landscape, spectrum

__all__ = [
    "derivatives", "landscape", "spectrum",
]
