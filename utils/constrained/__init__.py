"""Week 5, constrained optimization and duality: constrained problem records and projected gradient
(``projected``; its names are re-exported here, so ``utils.constrained.projected_gradient`` works as before),
Frank-Wolfe and its oracles (``frank_wolfe``), primal-dual interior-point methods and the log barrier
(``interior_point``), the nonlinear-program record and the Hock-Schittkowski set (``hock_schittkowski``), ``sqp``,
the method of multipliers (``augmented_lagrangian``), dual functions and certificates (``duality``) and the lab's
portfolio problems (``portfolio``).
"""
from . import augmented_lagrangian, duality, frank_wolfe, hock_schittkowski, interior_point, portfolio, projected, sqp
from .projected import (ConstrainedHistory, as_composite, projected_gradient, simplex_least_squares,
                        l1_ball_least_squares, box_qp, matrix_completion, project_nuclear_ball)

__all__ = [
    "augmented_lagrangian", "duality", "frank_wolfe", "hock_schittkowski", "interior_point", "portfolio",
    "projected", "sqp", "ConstrainedHistory", "as_composite", "projected_gradient", "simplex_least_squares",
    "l1_ball_least_squares", "box_qp", "matrix_completion", "project_nuclear_ball",
]
