"""The primal–dual method of Chambolle & Pock (2011, Alg. 1 and 2) for  minimize_x f(x) + g(Kx),  and ‖K‖.

* :func:`chambolle_pock` / :func:`chambolle_pock_jax` — state :class:`CPState`, pure step :func:`cp_step`.
* :func:`operator_norm` — ‖K‖ by power iteration, for the step condition τσ‖K‖² < 1.

Like ADMM it stops on primal/dual residuals against ε_pri, ε_dual; the residual-based loops
(:func:`utils.splitting.run_splitting`, :func:`utils.splitting.run_splitting_jax`), the result format and
:func:`utils.splitting.linear_operator` are shared with ADMM in the sibling module :mod:`utils.splitting`.
Status codes: 0 converged, 1 ``maxiter``, 3 non-finite values, 99 callback.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import validate_nonnegative, validate_positive
from ..core.problems import xp
from .splitting import _norm, linear_operator, run_splitting, run_splitting_jax

__all__ = ["CPState", "cp_step", "chambolle_pock", "chambolle_pock_jax", "operator_norm", "linear_operator"]


# -------------------------------------------------------------------------------------- Chambolle–Pock
class CPState(NamedTuple):
    """Chambolle–Pock state after iteration k."""

    x: Any; xbar: Any; y: Any        # noqa: E702  x_k, the extrapolation x̄_k, the dual y_k
    tau: Any; sigma: Any             # noqa: E702  τ_k, σ_k (constant unless accelerated)
    k: Any
    r_norm: Any; s_norm: Any         # noqa: E702  primal and dual residual norms
    eps_pri: Any; eps_dual: Any      # noqa: E702


def cp_step(s: CPState, prox_tau_f, prox_sigma_gconj, K, KT, theta, gamma, eps_abs, eps_rel):
    """One Chambolle–Pock iteration (pure; NumPy or JAX arrays); see :func:`chambolle_pock`."""
    tau, sigma = s.tau, s.sigma
    Kxbar = K(s.xbar)
    y = prox_sigma_gconj(s.y + sigma * Kxbar, sigma)
    KTy = KT(y)
    x = prox_tau_f(s.x - tau * KTy, tau)
    Kx = K(x)
    r = (s.x - x) / tau                            # ∈ ∂f(x_{k+1}) + Kᵀy_{k+1}
    d = (s.y - y) / sigma - (Kx - Kxbar)           # ∈ ∂g*(y_{k+1}) − Kx_{k+1}
    eps_pri = math.sqrt(np.size(x)) * eps_abs + eps_rel * _norm(KTy)
    eps_dual = math.sqrt(np.size(y)) * eps_abs + eps_rel * _norm(Kx)
    if gamma is not None:                          # Alg. 2: θ_k = 1/√(1 + 2γτ_k), τ_{k+1} = θ_kτ_k, σ_{k+1} = σ_k/θ_k
        theta = 1.0 / xp(x).sqrt(1.0 + 2.0 * gamma * tau)
        tau, sigma = theta * tau, sigma / theta
    return CPState(x, x + theta * (x - s.x), y, tau, sigma, s.k + 1, _norm(r), _norm(d), eps_pri, eps_dual)


def operator_norm(K, KT, shape, *, iters=200, seed=0):
    """Estimate ‖K‖ = √λ_max(KᵀK) by power iteration on v ↦ KᵀKv from a seeded random start (an estimate
    from below; it converges at the rate of the two largest singular values' ratio squared)."""
    v = np.random.default_rng(seed).standard_normal(shape)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(int(iters)):
        w = np.asarray(KT(K(v)))
        lam = float(np.linalg.norm(w))
        if lam == 0.0:
            return 0.0
        v = w / lam
    return math.sqrt(lam)


def _cp_setup(prox_tau_f, prox_sigma_gconj, K, KT, x0, y0, tau, sigma, theta, gamma, K_norm, eps_abs, eps_rel):
    for name, f in (("prox_tau_f", prox_tau_f), ("prox_sigma_gconj", prox_sigma_gconj)):
        if not callable(f):
            raise ValueError(f"{name} must be a function, got {f!r}")
    if not callable(K):
        K, KT = linear_operator(np.asarray(K, dtype=float))
    elif not callable(KT):
        raise ValueError("KT must be a function (the adjoint of K) when K is a function")
    tau, sigma = validate_positive("tau", tau), validate_positive("sigma", sigma)
    theta = float(theta)
    if not 0.0 <= theta <= 1.0:
        raise ValueError(f"theta must be in [0, 1], got {theta!r}")
    if K_norm is not None and tau * sigma * validate_nonnegative("K_norm", K_norm) ** 2 >= 1.0:
        raise ValueError(f"step condition violated: tau*sigma*K_norm**2 = {tau * sigma * K_norm ** 2:.4g} >= 1 "
                         f"(tau={tau:g}, sigma={sigma:g}, K_norm={K_norm:g})")
    eps_abs, eps_rel = validate_nonnegative("eps_abs", eps_abs), validate_nonnegative("eps_rel", eps_rel)
    gamma = None if gamma is None else validate_positive("gamma", gamma)
    x0, y0 = np.asarray(x0, dtype=float), np.asarray(y0, dtype=float)
    for name, v in (("x0", x0), ("y0", y0)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite")
    if np.shape(K(x0)) != y0.shape:
        raise ValueError(f"y0 has shape {y0.shape}, but K x0 has shape {np.shape(K(x0))}")
    nan = float("nan")
    step = partial(cp_step, prox_tau_f=prox_tau_f, prox_sigma_gconj=prox_sigma_gconj, K=K, KT=KT, theta=theta,
                   gamma=gamma, eps_abs=eps_abs, eps_rel=eps_rel)
    return CPState(x0, x0, y0, tau, sigma, 0, nan, nan, nan, nan), step


def chambolle_pock(prox_tau_f, prox_sigma_gconj, K, KT, x0, y0, *, tau, sigma, theta=1.0, gamma=None,
                   K_norm=None, objective=None, eps_abs=1e-6, eps_rel=0.0, maxiter=1000, callback=None, record_x=None,
                   monitor=None, monitor_tol=None):
    r"""Chambolle–Pock primal–dual method for  minimize_x f(x) + g(Kx)  (NumPy driver).

    .. math::
        y_{k+1} = \mathrm{prox}_{\sigma g^*}(y_k + \sigma K\bar x_k), \quad
        x_{k+1} = \mathrm{prox}_{\tau f}(x_k - \tau K^\top y_{k+1}), \quad
        \bar x_{k+1} = x_{k+1} + \theta(x_{k+1} - x_k),

    with x̄₀ = x₀; for θ = 1 it converges when τσ‖K‖² < 1, when a saddle point exists (Chambolle & Pock 2011,
    Alg. 1, Thm. 1). Residuals (from the optimality conditions −Kᵀy ∈ ∂f(x), Kx ∈ ∂g*(y)): r_{k+1} = (x_k − x_{k+1})/τ and
    s_{k+1} = (y_k − y_{k+1})/σ − K(x_{k+1} − x̄_k); stop when ‖r‖ ≤ ε_pri = √n ε_abs + ε_rel‖Kᵀy‖ and
    ‖s‖ ≤ ε_dual = √m ε_abs + ε_rel‖Kx‖ (the tolerances follow Boyd et al. 2011, §3.3).

    Symbols ↔ arguments: prox_{τf} = ``prox_tau_f(v, tau)``; prox_{σg*} = ``prox_sigma_gconj(v, sigma)``
    (from prox_{g/σ} by Moreau: prox_{σg*}(v) = v − σ prox_{g/σ}(v/σ)); K, Kᵀ = ``K``, ``KT`` (functions, or
    ``K`` a matrix and ``KT=None``); τ, σ, θ = ``tau``, ``sigma``, ``theta``; x₀, y₀ = ``x0``, ``y0``.
    ``K_norm`` (‖K‖, or an estimate from :func:`operator_norm`): when given, τσ‖K‖² ≥ 1 raises ValueError.
    ``gamma`` = γ > 0 when f is γ-strongly convex: Alg. 2 (accelerated), θ_k = 1/√(1 + 2γτ_k),
    τ_{k+1} = θ_kτ_k, σ_{k+1} = σ_k/θ_k, x̄_{k+1} = x_{k+1} + θ_k(x_{k+1} − x_k), with ‖x_k − x⋆‖ = O(1/k)
    (Chambolle & Pock 2011, Alg. 2, Thm. 2); ``theta`` is then ignored.
    ``objective(x)`` fills ``history.fun``; ``monitor(state)``/``monitor_tol`` as in
    :func:`utils.splitting.admm`. Reference: Chambolle & Pock, *A first-order primal-dual algorithm for convex
    problems with applications to imaging*, J. Math. Imaging Vis. 40, 2011, Algorithms 1 and 2. Result fields:
    ``x, y, fun, nit, success, status, message, history, residuals`` (``residuals["rho"]`` is NaN: there is no
    penalty).

    >>> import numpy as np          # min ½(x₁² + 10x₂²) + ½‖x − (1, 1)‖²: f the first, g the second, K = I
    >>> d, a = np.array([1.0, 10.0]), np.ones(2)
    >>> res = chambolle_pock(lambda v, t: v / (1 + t * d), lambda v, s: (v - s * a) / (1 + s), np.eye(2), None,
    ...                      np.zeros(2), np.zeros(2), tau=0.9, sigma=0.9, K_norm=1.0, eps_abs=1e-10)
    >>> res.success, bool(np.allclose(res.x, [0.5, 1 / 11]))
    (True, True)
    """
    state, step = _cp_setup(prox_tau_f, prox_sigma_gconj, K, KT, x0, y0, tau, sigma, theta, gamma, K_norm,
                            eps_abs, eps_rel)
    obj = None if objective is None else (lambda s: objective(s.x))
    res = run_splitting(step, state, objective=obj, monitor=monitor, monitor_tol=monitor_tol, maxiter=maxiter,
                        callback=callback, record_x=record_x)
    res["y"] = np.asarray(res.pop("state").y)
    return res


def chambolle_pock_jax(prox_tau_f, prox_sigma_gconj, K, KT, x0, y0, *, tau, sigma, theta=1.0, gamma=None,
                       K_norm=None, objective=None, eps_abs=1e-6, eps_rel=0.0, maxiter=1000, record_x=None,
                       monitor=None, monitor_tol=None):
    """:func:`chambolle_pock` compiled with JAX; the proxes and K, Kᵀ must be JAX-traceable."""
    state, step = _cp_setup(prox_tau_f, prox_sigma_gconj, K, KT, x0, y0, tau, sigma, theta, gamma, K_norm,
                            eps_abs, eps_rel)
    obj = None if objective is None else (lambda s: objective(s.x))
    res = run_splitting_jax(step, state, objective=obj, monitor=monitor, monitor_tol=monitor_tol,
                            maxiter=maxiter, record_x=record_x)
    res["y"] = np.asarray(res.pop("state").y)
    return res
