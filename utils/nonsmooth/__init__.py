"""Week 3, nonsmooth and composite optimization: proximal operators and projections (``prox``), lasso, elastic
net and group lasso (``composite``), the subgradient method (``subgradient``), ISTA and FISTA (``proximal``),
ADMM (``splitting``), Chambolle-Pock (``primal_dual``) and total-variation denoising (``tv``).
"""
from . import composite, primal_dual, prox, proximal, splitting, subgradient, tv

__all__ = [
    "composite", "primal_dual", "prox", "proximal", "splitting", "subgradient", "tv",
]
