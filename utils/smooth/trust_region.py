"""Trust-region methods (Nocedal & Wright 2006, ch. 4 and §7.1): three subproblem solvers and Alg. 4.1.

At x_k the model m_k(p) = f_k + g_kᵀp + ½ pᵀB_k p is trusted in the ball ‖p‖ ≤ Δ_k. A *subproblem* solver
returns an approximate minimizer p_k of m_k in the ball; :func:`trust_region` accepts x_k + p_k when the ratio
ρ_k = (f(x_k) − f(x_k + p_k)) / (m_k(0) − m_k(p_k)) exceeds η_acc, and grows or shrinks Δ_k from ρ_k.

Every subproblem solver has the signature ``subproblem(g, B, delta) -> p``, where ``B`` is the model Hessian
as a matrix or as a function v ↦ B v. :func:`cauchy_point` and :func:`steihaug_cg` take either;
:func:`dogleg` needs the matrix (it solves B p = −g).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import _nls_hint, run, validate_maxiter, validate_positive, validate_x0

__all__ = ["cauchy_point", "dogleg", "steihaug_cg", "TRState", "tr_init", "tr_step", "trust_region"]


def _op(B):
    return B if callable(B) else (lambda v: B @ v)


def _to_boundary(z, d, delta):
    """τ ≥ 0 with ‖z + τd‖ = Δ (the positive root of a quadratic in τ; ‖z‖ ≤ Δ)."""
    a, b, c = d @ d, 2.0 * (z @ d), z @ z - delta ** 2
    return (-b + np.sqrt(max(b * b - 4.0 * a * c, 0.0))) / (2.0 * a)


def cauchy_point(g, B, delta):
    r"""The Cauchy point: the minimizer of m(p) along −g inside ‖p‖ ≤ Δ (Nocedal & Wright 2006, eq. 4.11–4.12).

    .. math::  p^C = -\tau \frac{\Delta}{\|g\|} g, \qquad
               \tau = 1 \text{ if } g^\top B g \le 0, \text{ else } \min(\|g\|^3 / (\Delta\, g^\top B g), 1).

    Symbols ↔ arguments: g = ``g``, B = ``B`` (matrix or v ↦ Bv), Δ = ``delta``. It decreases the model by at
    least ½‖g‖ min(Δ, ‖g‖/‖B‖) (N&W Lemma 4.3, eq. 4.20), enough for global convergence of Alg. 4.1.

    >>> cauchy_point(np.array([2.0, 0.0]), np.diag([2.0, 1.0]), 10.0)     # the minimizer −g/2 along −g
    array([-1., -0.])
    >>> cauchy_point(np.array([2.0, 0.0]), np.diag([2.0, 1.0]), 0.5)      # cut at the boundary ‖p‖ = Δ
    array([-0.5, -0. ])
    """
    gn = np.linalg.norm(g)
    if gn == 0.0:
        return np.zeros_like(g)
    gBg = g @ _op(B)(g)
    tau = 1.0 if gBg <= 0 else min(gn ** 3 / (delta * gBg), 1.0)
    return -tau * delta / gn * g


def dogleg(g, B, delta):
    r"""The dogleg step for a positive definite matrix B (Nocedal & Wright 2006, §4.1, eq. 4.15–4.16).

    With p^U = −(gᵀg / gᵀBg) g (the model's minimizer along −g) and p^B = −B⁻¹g (the full Newton step), the path
    p(τ) = τ p^U for τ ∈ [0, 1] and p^U + (τ − 1)(p^B − p^U) for τ ∈ [1, 2] is cut at the boundary ‖p‖ = Δ:
    p = p^B if ‖p^B‖ ≤ Δ; p = −Δ g/‖g‖ if ‖p^U‖ ≥ Δ; else the point of the second leg on the boundary.

    Symbols ↔ arguments: g = ``g``, B = ``B`` (a matrix; scipy ``minimize(method="dogleg")`` needs ``hess``),
    Δ = ``delta``. Raises ``ValueError`` when B is not positive definite (its Cholesky factorization fails):
    the dogleg path is only defined then; use :func:`steihaug_cg` for indefinite models.

    >>> dogleg(np.array([1.0, 1.0]), np.diag([1.0, 4.0]), 10.0)           # inside: the Newton step −B⁻¹g
    array([-1.  , -0.25])
    """
    if callable(B):
        raise ValueError("dogleg needs B as a matrix (it solves B p = -g); got a function")
    try:
        c = np.linalg.cholesky(B)
    except np.linalg.LinAlgError:
        raise ValueError("dogleg needs a positive definite B (Cholesky factorization failed)") from None
    pB = -np.linalg.solve(c.T, np.linalg.solve(c, g))
    if np.linalg.norm(pB) <= delta:
        return pB
    pU = -(g @ g) / (g @ (B @ g)) * g
    if np.linalg.norm(pU) >= delta:
        return -delta / np.linalg.norm(g) * g
    return pU + _to_boundary(pU, pB - pU, delta) * (pB - pU)


def steihaug_cg(g, B, delta, *, tol=None, maxiter=None):
    r"""Steihaug's truncated conjugate gradient for the trust-region subproblem (Nocedal & Wright 2006, Alg. 7.2).

    CG on B p = −g from z₀ = 0 (r₀ = g, d₀ = −r₀): α_j = r_jᵀr_j / d_jᵀBd_j, z_{j+1} = z_j + α_j d_j,
    r_{j+1} = r_j + α_j B d_j, β_{j+1} = r_{j+1}ᵀr_{j+1} / r_jᵀr_j, d_{j+1} = −r_{j+1} + β_{j+1} d_j; it stops
    (i) at negative curvature d_jᵀBd_j ≤ 0: return the boundary point z_j + τd_j, ‖·‖ = Δ, of lower model value;
    (ii) when z_{j+1} leaves the ball: return z_j + τd_j, τ ≥ 0, on the boundary;
    (iii) when ‖r_{j+1}‖ < ε: return z_{j+1}.

    Symbols ↔ arguments: g = ``g``, B = ``B`` (matrix or hvp function v ↦ Bv; scipy ``trust-ncg`` ``hessp``),
    Δ = ``delta``, ε = ``tol`` (default min(½, √‖g‖)‖g‖, N&W eq. 7.3 and scipy's ``trust-ncg`` rule),
    ``maxiter`` (default 2n + 10, a guard against rounding). The first iterate z₁ is the Cauchy point, and the
    model decreases monotonically along the CG path, so the result decreases m at least as much as p^C.

    >>> steihaug_cg(np.array([1.0, 1.0]), np.diag([1.0, 4.0]), 10.0, tol=1e-12)   # CG reaches −B⁻¹g
    array([-1.  , -0.25])
    """
    Bv = _op(B)
    gn = np.linalg.norm(g)
    tol = min(0.5, np.sqrt(gn)) * gn if tol is None else tol
    maxiter = 2 * np.size(g) + 10 if maxiter is None else maxiter
    z, r = np.zeros_like(g), g
    d = -r
    if gn <= tol:
        return z
    for _ in range(maxiter):
        Bd = Bv(d)
        dBd = d @ Bd
        if dBd <= 0:                                   # negative curvature: go to the boundary
            a, b, c = d @ d, 2.0 * (z @ d), z @ z - delta ** 2
            disc = np.sqrt(max(b * b - 4.0 * a * c, 0.0))
            ends = [z + t * d for t in ((-b - disc) / (2 * a), (-b + disc) / (2 * a))]
            return min(ends, key=lambda p: g @ p + 0.5 * p @ Bv(p))
        alpha = (r @ r) / dBd
        z_new = z + alpha * d
        if np.linalg.norm(z_new) >= delta:
            return z + _to_boundary(z, d, delta) * d
        r_new = r + alpha * Bd
        if np.linalg.norm(r_new) < tol:
            return z_new
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        z, r = z_new, r_new
    return z


class TRState(NamedTuple):
    """Trust-region state at iteration k."""

    x: Any       # x_k
    g: Any       # g_k = ∇f(x_k)
    f: Any       # f_k = f(x_k)
    B: Any       # B_k = ∇²f(x_k) (matrix), or None in matrix-free mode
    delta: Any   # Δ_k, the trust radius for the next step
    rho: Any     # ρ of the last trial step (NaN at k = 0)
    k: Any
    nfev: Any
    njev: Any
    nhev: Any    # Hessian evaluations (matrix mode) or Hessian-vector products (matrix-free mode)


def tr_init(x0, problem, delta0, matrix_free) -> TRState:
    B = None if matrix_free else np.asarray(problem.hess(x0))
    return TRState(x0, np.asarray(problem.grad(x0)), float(problem.f(x0)), B, delta0, np.nan, 0, 1, 1,
                   0 if matrix_free else 1)


def tr_step(s: TRState, problem, subproblem, delta_max, eta_accept) -> TRState:
    """One iteration of N&W Alg. 4.1: solve the subproblem, compute ρ_k, update Δ, accept if ρ_k > η_acc."""
    nprod = [0]

    def hvp(v):
        nprod[0] += 1
        return np.asarray(problem.hvp(s.x, v))

    B = hvp if s.B is None else s.B
    p = np.asarray(subproblem(s.g, B, s.delta))
    predicted = -(s.g @ p + 0.5 * p @ (s.B @ p if s.B is not None else hvp(p)))
    f_new = float(problem.f(s.x + p))
    # A non-finite trial value counts as no decrease (ρ = −∞): the step is rejected and Δ shrinks.
    rho = (s.f - f_new) / predicted if np.isfinite(f_new) and predicted > 0 else -np.inf
    pn = np.linalg.norm(p)
    if rho < 0.25:
        delta = 0.25 * s.delta
    elif rho > 0.75 and pn >= s.delta * (1 - 1e-12):
        delta = min(2.0 * s.delta, delta_max)
    else:
        delta = s.delta
    common = dict(delta=delta, rho=rho, k=s.k + 1, nfev=s.nfev + 1)
    if rho > eta_accept:
        x = s.x + p
        B = None if s.B is None else np.asarray(problem.hess(x))
        return TRState(x=x, g=np.asarray(problem.grad(x)), f=f_new, B=B, njev=s.njev + 1,
                       nhev=s.nhev + nprod[0] + (s.B is not None), **common)
    return s._replace(nhev=s.nhev + nprod[0], **common)


def trust_region(problem, x0=None, *, subproblem=steihaug_cg, delta0=1.0, delta_max=1000.0, eta_accept=0.15,
                 matrix_free=None, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""Trust-region method, Nocedal & Wright 2006, Alg. 4.1 (NumPy driver).

    .. math::  p_k \approx \arg\min_{\|p\| \le \Delta_k} m_k(p) = f_k + g_k^\top p + \tfrac12 p^\top B_k p,\qquad
               \rho_k = \frac{f(x_k) - f(x_k + p_k)}{m_k(0) - m_k(p_k)}

    Δ_{k+1} = ¼Δ_k if ρ_k < ¼; min(2Δ_k, Δ_max) if ρ_k > ¾ and ‖p_k‖ = Δ_k; else Δ_k.
    x_{k+1} = x_k + p_k if ρ_k > η_acc, else x_k (a rejected step still counts as an iteration, as in scipy).

    Symbols ↔ arguments: B_k = ∇²f(x_k) (``problem.hess``, or ``problem.hvp`` when ``matrix_free``; default:
    matrix-free when the problem has no ``hess``); the subproblem solver = ``subproblem`` (a function
    ``(g, B, delta) -> p``: :func:`steihaug_cg` ~ scipy ``trust-ncg``, :func:`dogleg` ~ scipy ``dogleg``,
    :func:`cauchy_point`); Δ₀ = ``delta0`` (scipy ``initial_trust_radius``), Δ_max = ``delta_max`` (scipy
    ``max_trust_radius``), η_acc = ``eta_accept`` ∈ [0, ¼) (scipy ``eta``); stop when ‖g_k‖ ≤ ``gtol``.
    The defaults are scipy's, so with :func:`dogleg` the iterates follow ``minimize(method="dogleg")``.

    Returns an ``OptimizeResult`` with ``history`` plus ``nhev`` (Hessian evaluations, or Hessian-vector
    products in matrix-free mode), and per-iterate arrays ``trust_radius`` (Δ_k), ``ratio`` (ρ of the step that
    led to x_k; NaN at k = 0) and ``nhev_history``. A non-finite f at a trial point rejects the step; a
    non-finite gradient at an accepted point stops the run with ``status=3``.

    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = trust_region(p, subproblem=dogleg, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    x0 = validate_x0(problem, x0)
    delta0 = validate_positive("delta0", delta0)
    delta_max = validate_positive("delta_max", delta_max)
    if delta0 > delta_max:
        raise ValueError(f"delta0 must be <= delta_max, got delta0={delta0!r}, delta_max={delta_max!r}")
    if not (0.0 <= float(eta_accept) < 0.25):
        raise ValueError(f"eta_accept must lie in [0, 1/4), got {eta_accept!r}")
    if not callable(subproblem):
        raise ValueError(f"subproblem must be a function (g, B, delta) -> p, got {subproblem!r}")
    hess, hvp = getattr(problem, "hess", None), getattr(problem, "hvp", None)      # an NLSProblem has neither
    matrix_free = hess is None if matrix_free is None else bool(matrix_free)
    if (hvp if matrix_free else hess) is None:
        raise ValueError(f"problem {problem.name!r} has no {'hvp' if matrix_free else 'hess'} (matrix_free={matrix_free})"
                         f"{_nls_hint(problem)}")
    validate_maxiter(maxiter)
    trace = []

    def step(s, *h):
        new = tr_step(s, *h)
        trace.append((new.delta, new.rho, new.nhev))
        return new

    s0 = tr_init(x0, problem, delta0, matrix_free)
    res = run(step, s0, problem, (subproblem, delta_max, float(eta_accept)), maxiter=maxiter, gtol=gtol,
              callback=callback, record_x=record_x)
    delta, rho, nhev = (np.array(c, dtype=float) for c in zip(*([(s0.delta, np.nan, s0.nhev)] + trace)))
    res.trust_radius, res.ratio, res.nhev_history = delta, rho, nhev.astype(int)
    res.nhev = int(nhev[-1])
    return res
