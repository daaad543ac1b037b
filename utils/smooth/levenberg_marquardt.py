r"""Levenberg–Marquardt for nonlinear least squares f(x) = ½‖r(x)‖², with optional geodesic acceleration.

* :func:`levenberg_marquardt` ``(nls, x0=None, *, lam0=1e-3, scaling=False, geodesic=False, alpha_geo=0.75,
  h_geo=0.1, eta_accept=1e-4, maxiter, gtol, xtol, callback, record_x)`` and :func:`levenberg_marquardt_jax`.

The problem record (:class:`utils.least_squares.NLSProblem`), Gauss–Newton and the stopping loop shared by both
methods are in the sibling module :mod:`utils.least_squares`, which documents the result fields and the stops
(gtol: status 0; a step below xtol·(‖x_k‖ + xtol) before gtol: status 2; non-finite values: status 3).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import run_jax, validate_nonnegative, validate_positive, validate_x0
from .least_squares import _jax, _oracles, _solve
from ..core.problems import xp

__all__ = ["LMState", "lm_init", "lm_step", "lm_geo_step", "levenberg_marquardt", "levenberg_marquardt_jax"]


def _if(pred, then, other):
    """``then()`` if pred else ``other()``: a Python branch on NumPy, ``lax.cond`` under JAX tracing."""
    if isinstance(pred, (bool, np.bool_)):
        return then() if pred else other()
    import jax
    return jax.lax.cond(pred, then, other)


# ---------------------------------------------------------------------------------------- Levenberg–Marquardt
class LMState(NamedTuple):
    x: Any      # x_k
    r: Any      # r(x_k)
    J: Any      # J(x_k)
    g: Any      # g_k = J_kᵀ r_k
    f: Any      # f(x_k)
    lam: Any    # damping λ_k
    nu: Any     # Nielsen's growth factor ν
    d: Any      # diagonal of the scaling matrix D_k (ones without scaling)
    k: Any
    nfev: Any
    njev: Any
    step: Any   # ‖p_k‖ of the last trial step (accepted or not)
    rho: Any    # gain ratio ρ_k of the last trial step


def lm_init(x0, nls, lam0, scaling):
    """k = 0: r and J at x₀; D₀ = diag(J₀ᵀJ₀)^{1/2} (zero columns → 1) or I; λ₀ D₀ᵀD₀ peaks at lam0·max diag(J₀ᵀJ₀)."""
    ns = xp(x0)
    r, f = _oracles(nls, x0)
    J = ns.asarray(nls.jac(x0), dtype=x0.dtype)
    cn = ns.linalg.norm(J, axis=0)
    d = ns.where(cn > 0, cn, 1.0) if scaling else ns.ones_like(x0)
    lam = lam0 if scaling else lam0 * ns.max(cn ** 2)
    return LMState(x0, r, J, J.T @ r, f, lam * ns.ones_like(f), 2.0 * ns.ones_like(f), d, 0, 1, 1,
                   math.inf * ns.ones_like(f), 0.0 * f)


def lm_step(state, nls, eta_accept, scaling, alpha_geo=0.75, h_geo=0.1, geodesic=False):
    """One Levenberg–Marquardt iteration (pure; NumPy eagerly or under ``jax.jit``). See :func:`levenberg_marquardt`."""
    ns = xp(state.x)
    x, r, J, f = state.x, state.r, state.J, state.f
    m = r.shape[0]
    Q, R = ns.linalg.qr(ns.concatenate([J, ns.diag(ns.sqrt(state.lam) * state.d)]))
    solve = lambda rhs: ns.linalg.solve(R, Q[:m].T @ rhs)            # argmin ‖J p − rhs‖² + λ‖D p‖²  # noqa: E731
    v = solve(-r)
    nfev = state.nfev + 1
    if geodesic:                                                      # Transtrum & Sethna 2012
        rt, _ = _oracles(nls, x + h_geo * v)
        a = solve(-(2.0 / h_geo) * ((rt - r) / h_geo - J @ v))       # r_vv by finite differences
        p = ns.where(2.0 * ns.linalg.norm(a) <= alpha_geo * ns.linalg.norm(v), v + 0.5 * a, v)
        nfev = nfev + 1
    else:
        p = v
    x_new = x + p
    r_new, f_new = _oracles(nls, x_new)
    Jp = J @ p                                                        # both decreases without cancellation:
    rho = 0.5 * ((r - r_new) @ (r + r_new)) / (-(Jp @ r) - 0.5 * (Jp @ Jp))   # ½(‖r‖² − ‖r⁺‖²) / model's
    rho = ns.where(ns.isfinite(f_new), rho, -ns.inf)                 # a non-finite trial is a failed step
    accept = rho > eta_accept
    x, r, J, g, f = _if(accept, lambda: _lm_eval(nls, x_new, r_new, f_new),
                        lambda: (x, r, J, state.g, f))
    lam = ns.where(accept, state.lam * ns.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), state.lam * state.nu)
    nu = ns.where(accept, 2.0, 2.0 * state.nu)
    d = ns.where(accept & scaling, ns.maximum(state.d, ns.linalg.norm(J, axis=0)), state.d)
    return LMState(x, r, J, g, f, lam, nu, d, state.k + 1, nfev, state.njev + ns.where(accept, 1, 0),
                   ns.linalg.norm(p), rho)


def lm_geo_step(state, nls, eta_accept, scaling, alpha_geo=0.75, h_geo=0.1):
    """:func:`lm_step` with geodesic acceleration."""
    return lm_step(state, nls, eta_accept, scaling, alpha_geo, h_geo, geodesic=True)


def _lm_eval(nls, x, r, f):
    J = xp(x).asarray(nls.jac(x), dtype=x.dtype)
    return x, r, J, J.T @ r, f


def _lm_args(nls, x0, lam0, scaling, geodesic, alpha_geo, h_geo, eta_accept):
    x0 = validate_x0(nls, x0)
    lam0, alpha_geo, h_geo = (validate_positive(k, v) for k, v in
                              (("lam0", lam0), ("alpha_geo", alpha_geo), ("h_geo", h_geo)))
    eta_accept = validate_nonnegative("eta_accept", eta_accept)
    if eta_accept >= 1:
        raise ValueError(f"eta_accept must lie in [0, 1), got {eta_accept!r}")
    for k, v in (("scaling", scaling), ("geodesic", geodesic)):
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{k} must be True or False, got {v!r}")
    return x0, (lm_geo_step if geodesic else lm_step), (eta_accept, bool(scaling), alpha_geo, h_geo)


def levenberg_marquardt(nls, x0=None, *, lam0=1e-3, scaling=False, geodesic=False, alpha_geo=0.75, h_geo=0.1,
                        eta_accept=1e-4, maxiter=1000, gtol=1e-10, xtol=1e-10, callback=None, record_x=None):
    r"""Levenberg–Marquardt (NumPy driver): Gauss–Newton inside an implicit trust region set by λ_k.

    .. math::  p_k = \arg\min_p \|J_k p + r_k\|^2 + \lambda_k \|D_k p\|^2
               = -(J_k^\top J_k + \lambda_k D_k^\top D_k)^{-1} J_k^\top r_k,\qquad
               \rho_k = \frac{f(x_k) - f(x_k + p_k)}{\tfrac12\|r_k\|^2 - \tfrac12\|r_k + J_k p_k\|^2}

    The damped problem is solved as the augmented least-squares problem [J_k; √λ_k D_k] p ≈ [−r_k; 0] by QR
    (never forming JᵀJ). Accept x_{k+1} = x_k + p_k when ρ_k > η_acc, and update λ by Nielsen's rule
    (Nielsen 1999, IMM-REP-1999-05; Madsen, Nielsen & Tingleff 2004, Alg. 3.16): accepted →
    λ ← λ·max(1/3, 1 − (2ρ_k − 1)³), ν ← 2; rejected → λ ← λ·ν, ν ← 2ν. ``scaling=True`` is Marquardt's
    scale invariance with Moré's running maximum D_k = diag(max_{j≤k} ‖J_j e_i‖) (Moré 1978, §6; MINPACK's
    ``mode=1``); else D_k = I.
    ``geodesic=True`` adds Transtrum & Sethna's (2012, arXiv:1201.5885) geodesic-acceleration correction:
    with the velocity v = p above, r_vv ≈ (2/h)[(r(x + h v) − r)/h − J v] (one extra residual call),
    a = −(JᵀJ + λDᵀD)⁻¹Jᵀr_vv and p = v + a/2 when 2‖a‖/‖v‖ ≤ α, else p = v.

    Symbols ↔ arguments: λ₀ = ``lam0``·max_i (J₀ᵀJ₀)_ii without scaling, ``lam0`` with it (then
    λ₀D₀ᵀD₀ = ``lam0``·diag(J₀ᵀJ₀)) — Madsen–Nielsen–Tingleff's τ; η_acc = ``eta_accept``; α = ``alpha_geo``,
    h = ``h_geo``; scipy's ``least_squares(method="lm")`` is MINPACK's lmder (Moré's Δ-based update; its
    ``x_scale="jac"``, the default since scipy 1.16, is this scaling); its ``max_nfev`` ↔ ``maxiter`` here
    (one residual call per iteration).
    Each iteration costs one residual evaluation (two with ``geodesic``), and one Jacobian on acceptance.
    A trial point where r is not finite is rejected (ρ_k = −∞); the actual and predicted decreases are
    computed as ½(r − r⁺)ᵀ(r + r⁺) and −(Jp)ᵀr − ½‖Jp‖², free of cancellation.
    Stops: ‖g_k‖ ≤ ``gtol`` (status 0), or a trial step ‖p_k‖ ≤ xtol·(‖x_k‖ + xtol) before that (status 2,
    ``success=False``: λ_k grew until the steps vanished, e.g. rounding near x* or a stalled run). On a
    problem with nonzero residual at the fit, ‖J^T r‖ cannot fall far below ε‖J‖‖r‖, so a converged run often
    ends this way: judge it by ``fun`` and the gradient norm in ``history``, not by ``success`` alone.

    >>> import numpy as np
    >>> from utils.least_squares import NLSProblem
    >>> nls = NLSProblem("quadratic", lambda x: np.array([x[0] - 1.0, 3.0 * x[1]]),
    ...                  lambda x: np.diag([1.0, 3.0]), x0=np.array([2.0, 1.0]))
    >>> res = levenberg_marquardt(nls, lam0=1e-3)
    >>> res.success, bool(np.allclose(res.x, [1.0, 0.0]))
    (True, True)
    """
    x0, step, hp = _lm_args(nls, x0, lam0, scaling, geodesic, alpha_geo, h_geo, eta_accept)
    return _solve(step, lm_init(x0, nls, validate_positive("lam0", lam0), hp[1]), nls, hp, maxiter, gtol, xtol,
                  callback, record_x)


def levenberg_marquardt_jax(nls, x0=None, *, lam0=1e-3, scaling=False, geodesic=False, alpha_geo=0.75,
                            h_geo=0.1, eta_accept=1e-4, maxiter=1000, gtol=1e-10, record_x=None):
    """:func:`levenberg_marquardt` compiled (``utils.drivers.run_jax``: ``lax.while_loop``, ``lax.cond`` for
    the Jacobian on acceptance); same steps, stops on gtol and maxiter only (no xtol test)."""
    import jax.numpy as jnp

    x0, step, hp = _lm_args(nls, x0, lam0, scaling, geodesic, alpha_geo, h_geo, eta_accept)
    x0 = jnp.asarray(x0)
    return _jax(run_jax(step, lm_init(x0, nls, lam0, hp[1]), nls, hp, maxiter=maxiter, gtol=gtol,
                        record_x=record_x))
