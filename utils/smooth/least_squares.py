r"""Nonlinear least squares: minimize f(x) = ½‖r(x)‖² with residual r: ℝⁿ → ℝ^m and Jacobian J(x) ∈ ℝ^{m×n}.

The gradient is g = Jᵀr and JᵀJ is the Gauss–Newton model Hessian. This module holds the problem record,
Gauss–Newton and the stopping loop both methods share; Levenberg–Marquardt (with geodesic acceleration) is in
the sibling module :mod:`utils.levenberg_marquardt`. API:

* :class:`NLSProblem` ``(name, residual, jac, x0, x_star=None, f_star=None, info={})`` — an immutable record;
  ``f(x) = ½‖r(x)‖²`` and ``grad(x) = J(x)ᵀr(x)`` are methods, so it can stand where a ``Problem`` is expected
  (``to_problem()`` gives a plain :class:`utils.problems.Problem`); ``with_x0(x0)`` restarts it elsewhere.
  :func:`nls_from_jax` builds one from any JAX-traceable residual (J by ``jax.jacfwd``, both jitted).
* :func:`gauss_newton` ``(nls, x0=None, *, line_search=None, alpha0=1, c1=1e-4, rho=0.5, ls_maxiter=30,
  maxiter, gtol, xtol, callback, record_x)`` and :func:`gauss_newton_jax` (full steps only).

Both methods return ``OptimizeResult`` (``x, fun, jac (= g), nit, nfev, njev, success, status, message,
history``) plus ``lam_history`` (LM's λ_k; zeros for Gauss–Newton). ``nfev`` counts residual evaluations,
``njev`` Jacobian evaluations; ``history.fun`` holds f(x_k) = ½‖r(x_k)‖² (computed in the step, not an extra
call). Stops (Madsen, Nielsen & Tingleff 2004, Alg. 3.16): ‖g_k‖₂ ≤ gtol is success (status 0); a step
‖p_k‖ ≤ xtol(‖x_k‖ + xtol) while ‖g_k‖₂ > gtol is status 2, ``success=False``: no further progress (scipy's
meaning), which need not be a minimizer (full Gauss–Newton stalls where J_k is nearly rank-deficient) and may
be one (steps shrink to rounding level before ‖g_k‖ reaches a tight gtol): read f and ‖g_k‖.
A non-finite value at an iterate stops the run (status 3, last finite iterate returned); LM treats a
non-finite *trial* point as a failed step (ρ_k = −∞, as MINPACK does) and stops with status 3 only if J or λ_k
become non-finite. The JAX drivers reuse :func:`utils.drivers.run_jax` and so stop on gtol and maxiter only.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from ..core.drivers import (_history, run_jax, validate_callback, validate_maxiter, validate_nonnegative,
                            validate_positive, validate_unit, validate_x0)
from ..core.problems import Problem, xp
from ..core.result import CALLBACK, MAXITER, NO_PROGRESS, NONFINITE, STATUS_MESSAGES, SUCCESS, OptimizeResult

__all__ = ["NLSProblem", "nls_from_jax", "GNState", "gn_init", "gn_step", "gauss_newton", "gauss_newton_jax"]


@dataclass(frozen=True, eq=False)
class NLSProblem:
    """f(x) = ½‖r(x)‖²; ``residual(x)`` → (m,), ``jac(x)`` → (m, n). ``f_star`` = ½‖r(x*)‖² when known."""

    name: str
    residual: Callable
    jac: Callable
    x0: np.ndarray
    x_star: Optional[np.ndarray] = None
    f_star: Optional[float] = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("x0", "x_star"):
            if getattr(self, name) is not None:
                arr = np.array(getattr(self, name), dtype=float)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)

    def f(self, x):
        r = self.residual(x)
        return 0.5 * (r @ r)

    def grad(self, x):
        return self.jac(x).T @ self.residual(x)

    def with_x0(self, x0) -> "NLSProblem":
        return replace(self, x0=np.asarray(x0, dtype=float))

    def to_problem(self) -> Problem:
        """The same objective as a plain :class:`Problem` (``hess`` is the Gauss–Newton matrix JᵀJ)."""
        return Problem(name=self.name, f=self.f, grad=self.grad, hess=lambda x: self.jac(x).T @ self.jac(x),
                       x0=self.x0, x_star=self.x_star, f_star=self.f_star, info={"nls": self, **self.info})


def nls_from_jax(residual: Callable, x0, *, name: str = "nls", **known: Any) -> NLSProblem:
    """An :class:`NLSProblem` from a JAX-traceable residual: J = ``jax.jacfwd(residual)``, both jitted."""
    import jax

    return NLSProblem(name=name, residual=jax.jit(residual), jac=jax.jit(jax.jacfwd(residual)), x0=x0, **known)


def _oracles(nls, x):
    ns = xp(x)
    r = ns.asarray(nls.residual(x), dtype=x.dtype)
    return r, 0.5 * (r @ r)


# ------------------------------------------------------------------------------------------------ Gauss–Newton
class GNState(NamedTuple):
    x: Any      # x_k
    r: Any      # r(x_k)
    J: Any      # J(x_k)
    g: Any      # g_k = J_kᵀ r_k
    f: Any      # f(x_k) = ½‖r_k‖²
    k: Any
    nfev: Any
    njev: Any
    step: Any   # ‖p_{k−1}‖, the last step's length (for the xtol test)
    lam: Any = 0.0


def gn_init(x0, nls):
    r, f = _oracles(nls, x0)
    J = xp(x0).asarray(nls.jac(x0), dtype=x0.dtype)
    return GNState(x0, r, J, J.T @ r, f, 0, 1, 1, math.inf * f, 0.0 * f)


def gn_step(state, nls, alpha=1.0, nfev_ls=0):
    """x_{k+1} = x_k + α p_k with p_k = argmin_p ‖J_k p + r_k‖ (``lstsq``, never the normal equations)."""
    ns = xp(state.x)
    p = ns.linalg.lstsq(state.J, -state.r, rcond=None)[0]
    return _gn_move(state, nls, p, alpha, nfev_ls)


def _gn_move(state, nls, p, alpha, nfev_ls):
    ns = xp(state.x)
    x = state.x + alpha * p
    r, f = _oracles(nls, x)
    J = ns.asarray(nls.jac(x), dtype=x.dtype)
    return GNState(x, r, J, J.T @ r, f, state.k + 1, state.nfev + 1 + nfev_ls, state.njev + 1,
                   ns.linalg.norm(alpha * p), state.lam)


def _gn_ls_step(state, nls, line_search, alpha0, c1, rho, ls_maxiter):
    p = np.linalg.lstsq(state.J, -state.r, rcond=None)[0]
    alpha, _, nfev = line_search(nls.f, state.x, state.f, state.g, p, alpha0=alpha0, c1=c1, rho=rho,
                                 maxiter=ls_maxiter)
    return _gn_move(state, nls, p, alpha, nfev)


def gauss_newton(nls, x0=None, *, line_search=None, alpha0=1.0, c1=1e-4, rho=0.5, ls_maxiter=30, maxiter=100,
                 gtol=1e-10, xtol=1e-10, callback=None, record_x=None):
    r"""Gauss–Newton (NumPy driver): linearize r and solve the linear least-squares problem exactly.

    .. math::  p_k = \arg\min_p \|J_k p + r_k\|_2 = -(J_k^\top J_k)^{-1} J_k^\top r_k, \qquad
               x_{k+1} = x_k + \alpha_k p_k

    α_k = 1 (``line_search=None``: the classic method, which can diverge on large-residual problems) or from
    ``line_search(f, x, fx, g, d, *, alpha0, c1, rho, maxiter) -> (alpha, f_new, nfev)``, e.g.
    ``utils.linesearch.backtracking`` (Armijo, c₁ = ``c1``, ρ = ``rho``, ᾱ = ``alpha0``). p_k is computed
    by ``lstsq`` (SVD; the minimum-norm step when J_k is rank-deficient). scipy has no Gauss–Newton;
    ``scipy.optimize.least_squares(method="lm")`` is its damped version. Nocedal & Wright 2006, §10.3,
    eq. (10.23). Counters: ``nfev`` residual and ``njev`` Jacobian evaluations (line-search calls included).
    ``status=2`` (``success=False``) when a step falls below xtol·(‖x_k‖ + xtol) before ‖g_k‖ ≤ gtol: the
    iterates stalled, e.g. at a point where J_k lost rank, which need not be a minimizer.

    >>> import numpy as np
    >>> A, b = np.diag([1.0, 3.0]), np.array([1.0, 2.0])
    >>> nls = NLSProblem("linear", lambda x: A @ x - b, lambda x: A, x0=np.zeros(2))
    >>> res = gauss_newton(nls)          # a linear residual: one step solves it
    >>> res.nit, bool(np.allclose(res.x, [1.0, 2 / 3]))
    (1, True)
    """
    x0 = validate_x0(nls, x0)
    validate_callback(callback)
    if line_search is None:
        step, hp = gn_step, ()
    elif callable(line_search):
        hp = (line_search, validate_positive("alpha0", alpha0), validate_unit("c1", c1), validate_unit("rho", rho),
              validate_maxiter(ls_maxiter))
        step = _gn_ls_step
    else:
        raise ValueError(f"line_search must be None or a callable, got {line_search!r}")
    return _solve(step, gn_init(x0, nls), nls, hp, maxiter, gtol, xtol, callback, record_x)


def gauss_newton_jax(nls, x0=None, *, maxiter=100, gtol=1e-10, record_x=None):
    """:func:`gauss_newton` with full steps, compiled (``utils.drivers.run_jax``; stops on gtol/maxiter)."""
    import jax.numpy as jnp

    x0 = jnp.asarray(validate_x0(nls, x0))
    return _jax(run_jax(gn_step, gn_init(x0, nls), nls, (), maxiter=maxiter, gtol=gtol, record_x=record_x))



# ----------------------------------------------------------------------------------------------- shared loop
def _solve(step, state, nls, hparams, maxiter, gtol, xtol, callback, record_x):
    maxiter, gtol, xtol = validate_maxiter(maxiter), validate_nonnegative("gtol", gtol), \
        validate_nonnegative("xtol", xtol)
    validate_callback(callback)
    record_x = np.size(state.x) <= 100 if record_x is None else record_x
    t0, rows, xs, lams = time.perf_counter(), [], [], []

    def record(s, step_len):
        rows.append((float(s.f), float(np.linalg.norm(s.g)), step_len, s.nfev, s.njev, time.perf_counter() - t0))
        xs.append(np.array(s.x, dtype=float))
        lams.append(float(s.lam))

    def finite(s):
        return bool(np.isfinite(s.f) and np.all(np.isfinite(s.g)) and np.isfinite(s.lam))

    record(state, math.nan)
    good, status, k_bad, why = state, None, None, ""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if not finite(state):
            status, k_bad = NONFINITE, 0
        elif rows[-1][1] <= gtol:
            status = SUCCESS
        while status is None:
            if state.k >= maxiter:
                status = MAXITER
                break
            new = step(state, nls, *hparams)
            record(new, float(np.linalg.norm(new.x - state.x)))
            state = new
            if not finite(state):
                status, k_bad = NONFINITE, int(state.k)
                break
            good = state
            if rows[-1][1] <= gtol:
                status = SUCCESS
            elif state.step <= xtol * (np.linalg.norm(state.x) + xtol):    # ‖g‖ > gtol here: tested first
                status, why = NO_PROGRESS, (f"No further progress: the step fell below xtol·(‖x‖ + xtol) = "
                                            f"{xtol * (np.linalg.norm(state.x) + xtol):.3g} at iteration {state.k} "
                                            f"before ‖∇f‖ ≤ gtol (‖∇f‖ = {rows[-1][1]:.3g}).")
            elif callback is not None:
                try:
                    stop = callback(OptimizeResult(x=state.x, fun=float(state.f), jac=state.g, nit=int(state.k)))
                except StopIteration:
                    stop = True
                if stop:
                    status = CALLBACK
    msg = (why or STATUS_MESSAGES[status]) + (f" Stopped at iteration {k_bad}." if k_bad is not None else "")
    return OptimizeResult(x=np.asarray(good.x), fun=float(good.f), jac=np.asarray(good.g), nit=int(state.k),
                          nfev=int(state.nfev), njev=int(state.njev), success=status == SUCCESS, status=status,
                          message=msg, history=_history(rows, xs if record_x else None), lam_history=np.array(lams))


def _jax(res):
    res.lam_history = None
    return res
