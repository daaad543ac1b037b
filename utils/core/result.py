"""Results of deterministic solvers: scipy's ``OptimizeResult`` plus a per-iteration ``History``.

Every deterministic solver in ``utils`` returns a :class:`scipy.optimize.OptimizeResult` with scipy's field
names (``x, fun, jac, nit, nfev, njev, success, status, message``) and one more field, ``history``, so that
students move between ``utils`` and ``scipy.optimize`` without relearning anything.

Status codes follow scipy where scipy has one:

====== =============================================================
status meaning
====== =============================================================
0      converged: the stationarity measure ‖g_k‖ fell to ``gtol``
1      the iteration budget ``maxiter`` was used up
2      no further progress before ``gtol`` (scipy's "precision loss"): a line search found no acceptable
       step (Newton, BFGS, L-BFGS), or the step fell below xtol·(‖x_k‖ + xtol) while ‖g_k‖ > ``gtol``
       (Gauss–Newton, Levenberg–Marquardt); linear CG uses 2 for non-positive curvature pᵀAp ≤ 0
3      a non-finite objective or gradient appeared (run stopped there)
99     the callback asked to stop (returned ``True`` or raised ``StopIteration``)
====== =============================================================
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

import numpy as np
from scipy.optimize import OptimizeResult

__all__ = ["OptimizeResult", "History", "STATUS_MESSAGES", "SUCCESS", "MAXITER", "NO_PROGRESS", "NONFINITE",
           "CALLBACK"]

SUCCESS, MAXITER, NO_PROGRESS, NONFINITE, CALLBACK = 0, 1, 2, 3, 99

STATUS_MESSAGES = {
    SUCCESS: "Optimization terminated successfully: gradient norm below gtol.",
    MAXITER: "Maximum number of iterations has been exceeded.",
    NO_PROGRESS: "No further progress: the run stalled before the gradient norm fell below gtol.",
    NONFINITE: "Non-finite objective or gradient encountered.",
    CALLBACK: "The callback asked to stop.",
}


@dataclass(frozen=True)
class History:
    """Per-iteration record of a run; entry ``k`` describes the iterate ``x_k`` (entry 0 is ``x_0``).

    Attributes
    ----------
    fun : objective values f(x_k). Evaluated by the driver for monitoring; not counted in ``nfev``.
    grad_norm : ‖g_k‖₂, the stationarity measure the solver stops on (the gradient for smooth methods).
    step : ‖x_k − x_{k−1}‖₂, the length of the step that produced x_k (NaN for k = 0).
    nfev, njev : cumulative objective / gradient evaluations made *by the algorithm* up to x_k.
    time : seconds since the start of the run when x_k was ready. The NumPy driver measures each iteration;
        the JAX driver runs the whole loop in one compiled call and reports its wall time (compilation
        excluded) spread evenly over the iterations.
    x : the iterates, shape (nit + 1, n), when recorded (small problems), else ``None``.
    """

    fun: np.ndarray
    grad_norm: np.ndarray
    step: np.ndarray
    nfev: np.ndarray
    njev: np.ndarray
    time: np.ndarray
    x: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.fun)

    def as_dict(self) -> dict:
        """The history as a dict of NumPy arrays (``x`` omitted when not recorded)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
