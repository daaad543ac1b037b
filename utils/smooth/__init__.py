"""Week 2, smooth unconstrained optimization: gradient descent (``first_order``), Armijo and strong-Wolfe line
searches (``linesearch``), heavy ball and Nesterov (``momentum``), linear and nonlinear CG (``cg``), Newton and
BFGS (``quasi_newton``), ``lbfgs``, Cauchy, dogleg and Steihaug-CG (``trust_region``), Gauss-Newton
(``least_squares``), ``levenberg_marquardt`` and the NIST StRD problems (``nist``).
"""
from . import (cg, first_order, lbfgs, least_squares, levenberg_marquardt, linesearch, momentum, nist, quasi_newton,
               trust_region)

__all__ = [
    "cg", "first_order", "lbfgs", "least_squares", "levenberg_marquardt", "linesearch", "momentum", "nist",
    "quasi_newton", "trust_region",
]
