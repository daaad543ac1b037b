"""Newton and BFGS (Nocedal & Wright 2006, ch. 3.3–3.4 and 6), with the line-search glue they share with L-BFGS.

* :func:`newton` — damped Newton with Armijo backtracking; an indefinite Hessian is shifted by τI (N&W Alg. 3.3).
* :func:`bfgs` — BFGS on the inverse-Hessian approximation H_k with a strong Wolfe line search (N&W Alg. 6.1).
* :func:`wolfe_line_search` — :func:`utils.linesearch.strong_wolfe` in the ``line_search`` form :func:`bfgs` takes.

The limited-memory variant, L-BFGS (the two-loop recursion, a list reference and a jit-able ring buffer), is in
the sibling module :mod:`utils.lbfgs`, which reuses this module's driver glue and :func:`wolfe_line_search`.

Throughout, s_k = x_{k+1} − x_k, y_k = ∇f_{k+1} − ∇f_k, ρ_k = 1/(y_kᵀs_k). A pair is used only when
y_kᵀs_k > ε·y_kᵀy_k (ε = machine epsilon, the rule of L-BFGS-B), else the update is skipped and counted.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy.linalg import cho_solve

from ..core.drivers import _nls_hint, run_until_stall, validate_maxiter, validate_positive, validate_unit, validate_x0
from .linesearch import backtracking, is_descent, strong_wolfe

__all__ = ["shifted_cholesky", "newton", "bfgs_update", "BFGSState", "bfgs_init", "bfgs_step", "bfgs", "wolfe_line_search"]
_EPS = np.finfo(float).eps


def _drive(step, state, problem, hparams, maxiter, gtol, callback, record_x):
    """:func:`utils.drivers.run_until_stall`, stopping with status 2 when the step's line search failed."""
    return run_until_stall(step, state, problem, hparams, stalled=lambda old, new: not new.ls_ok, maxiter=maxiter,
                           gtol=gtol, callback=callback, record_x=record_x)


def wolfe_line_search(c1=1e-4, c2=0.9):
    """:func:`utils.linesearch.strong_wolfe` as a ``line_search(f, grad, x, d, fx, gx)`` for :func:`bfgs_step`."""
    def line_search(f, grad, x, d, fx, gx):
        return strong_wolfe(f, grad, x, d, fx=fx, gx=gx, c1=c1, c2=c2)
    return line_search


# ------------------------------------------------------------------------------------------------- Newton
def shifted_cholesky(A, beta=1e-3, max_tries=60):
    """Cholesky factor of A + τI with the smallest τ in {0, τ₀, 2τ₀, …} that makes it positive definite
    (N&W Alg. 3.3, "Cholesky with added multiple of the identity"); returns ``(L, tau)``."""
    dmin = float(np.min(np.diag(A)))
    tau = 0.0 if dmin > 0 else beta - dmin
    for _ in range(max_tries):
        try:
            return np.linalg.cholesky(A + tau * np.eye(len(A))), tau
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)
    raise np.linalg.LinAlgError(f"no shift τ ≤ {tau:g} makes the Hessian positive definite")


class NewtonState(NamedTuple):
    x: Any; g: Any; f: Any; k: Any; nfev: Any; njev: Any; nhev: Any  # noqa: E702
    tau: Any       # the shift τ added to ∇²f(x_{k−1}) in the last step (0: pure Newton)
    ls_ok: Any     # did the last Armijo search satisfy its condition?


def _newton_step(s, problem, c1, rho, ls_maxiter, beta):
    if problem.hess is not None:
        H, nh = np.asarray(problem.hess(s.x), dtype=float), 1
    else:                                                  # n Hessian-vector products, symmetrized
        H = np.column_stack([np.asarray(problem.hvp(s.x, e)) for e in np.eye(s.x.size)])
        H, nh = 0.5 * (H + H.T), s.x.size
    if not np.all(np.isfinite(H)):                          # reported by the driver as non-finite (status 3)
        return s._replace(x=s.x * np.nan, g=s.g * np.nan, k=s.k + 1, nhev=s.nhev + nh)
    L, tau = shifted_cholesky(H, beta)
    d = -cho_solve((L, True), s.g)
    alpha, f_new, nf = backtracking(problem.f, s.x, s.f, s.g, d, alpha0=1.0, c1=c1, rho=rho, maxiter=ls_maxiter)
    x = s.x + alpha * d
    return NewtonState(x, np.asarray(problem.grad(x)), f_new, s.k + 1, s.nfev + nf, s.njev + 1, s.nhev + nh, tau,
                       bool(f_new <= s.f + c1 * alpha * (s.g @ d)))


def newton(problem, x0=None, *, c1=1e-4, rho=0.5, ls_maxiter=50, beta=1e-3, maxiter=200, gtol=1e-8,
           callback=None, record_x=None):
    r"""Damped Newton's method with Armijo backtracking and a Hessian shift (NumPy driver).

    .. math::  (\nabla^2 f(x_k) + \tau_k I)\, d_k = -g_k, \qquad x_{k+1} = x_k + \alpha_k d_k,

    τ_k = 0 when ∇²f(x_k) is positive definite (pure Newton direction), else the first τ ∈ {τ₀, 2τ₀, …} for which
    the Cholesky factorization succeeds, τ₀ = β − min_i (∇²f)_ii (N&W Alg. 3.3, §3.4); α_k: Armijo backtracking
    from ᾱ = 1 (N&W Alg. 3.1), so near a minimizer with ∇²f ≻ 0 the full step α = 1 is taken and convergence is
    quadratic (N&W Thm. 3.5). The shifts are returned in ``res.tau`` (one per iteration).

    Symbols ↔ arguments: c₁ = ``c1``, ρ = ``rho`` (backtracking factor), β = ``beta``; ∇²f = ``problem.hess``,
    or n calls of ``problem.hvp`` when there is no ``hess``; scipy's nearest method is ``Newton-CG``.
    Returns an ``OptimizeResult`` with ``nhev`` (Hessian evaluations, or Hessian-vector products) and ``tau``.
    ``status=2`` when backtracking exhausts ``ls_maxiter`` trials (typically rounding near x*).

    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0)
    >>> res = newton(p, gtol=1e-10)           # one full Newton step solves a quadratic
    >>> res.nit, bool(np.allclose(res.x, p.x_star))
    (1, True)
    """
    x0 = validate_x0(problem, x0)
    c1, rho = validate_unit("c1", c1), validate_unit("rho", rho)
    beta = validate_positive("beta", beta)
    validate_maxiter(ls_maxiter)
    if getattr(problem, "hess", None) is None and getattr(problem, "hvp", None) is None:   # NLSProblem: neither
        raise ValueError(f"problem {problem.name!r} has neither hess nor hvp: Newton needs second derivatives"
                         f"{_nls_hint(problem)}")
    taus = []

    def step(s, *h):
        new = _newton_step(s, *h)
        taus.append(new.tau)
        return new

    s0 = NewtonState(x0, np.asarray(problem.grad(x0)), float(problem.f(x0)), 0, 1, 1, 0, 0.0, True)
    res, last = _drive(step, s0, problem, (c1, rho, int(ls_maxiter), beta), maxiter, gtol, callback, record_x)
    res.nhev, res.tau = int(last.nhev), np.array(taus)
    return res


# --------------------------------------------------------------------------------------------------- BFGS
def bfgs_update(H, s, y):
    r"""H_{k+1} = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1/(yᵀs) (N&W eq. 6.17), in O(n²) operations.

    >>> H = bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    >>> bool(np.allclose(H @ np.array([2.0, 0.0]), [1.0, 0.0]))          # the secant equation H y = s
    True
    """
    r = 1.0 / (y @ s)
    Hy = H @ y
    return H - r * (np.outer(s, Hy) + np.outer(Hy, s)) + (r * r * (y @ Hy) + r) * np.outer(s, s)


class BFGSState(NamedTuple):
    x: Any; g: Any; f: Any; H: Any; k: Any; nfev: Any; njev: Any  # noqa: E702
    nupdate: Any   # updates made so far (0: H is still H₀)
    nskip: Any     # updates skipped because y_kᵀs_k ≤ ε y_kᵀy_k
    ls_ok: Any


def bfgs_init(x0, problem, H0=None) -> BFGSState:
    """State at k = 0 (H₀ = I when ``H0`` is None)."""
    H = np.eye(np.size(x0)) if H0 is None else H0
    return BFGSState(x0, np.asarray(problem.grad(x0)), float(problem.f(x0)), H, 0, 1, 1, 0, 0, True)


def bfgs_step(s: BFGSState, problem, line_search, scale_H0) -> BFGSState:
    """One BFGS iteration (pure; NumPy): d = −Hg, line search, then the update (or a counted skip).
    ``line_search(f, grad, x, d, fx, gx)``; ``scale_H0``: apply N&W eq. 6.20 before the first update."""
    d = -s.H @ s.g
    if not is_descent(s.g, d):                               # rounding made H indefinite: restart from I
        d, s = -s.g, s._replace(H=np.eye(s.x.size), nupdate=0)
    alpha, f_new, g_new, nf, nj, ok = line_search(problem.f, problem.grad, s.x, d, s.f, s.g)
    x, g = s.x + alpha * d, np.asarray(g_new)     # on failure: the best Armijo point found (α = 0: no move)
    sk, yk = x - s.x, g - s.g
    sy, yy = sk @ yk, yk @ yk
    H, nup, nskip = s.H, s.nupdate, s.nskip
    if np.isfinite(sy) and sy > _EPS * yy and yy > 0:
        if nup == 0 and scale_H0:
            H = (sy / yy) * np.eye(x.size)                 # N&W eq. 6.20, before the first update
        H, nup = bfgs_update(H, sk, yk), nup + 1
    else:
        nskip += 1
    return BFGSState(x, g, f_new, H, s.k + 1, s.nfev + nf, s.njev + nj, nup, nskip, bool(ok))


def bfgs(problem, x0=None, *, H0=None, c1=1e-4, c2=0.9, line_search=None, maxiter=1000, gtol=1e-8,
         callback=None, record_x=None):
    r"""BFGS with a strong Wolfe line search (Nocedal & Wright 2006, Alg. 6.1; NumPy driver).

    .. math::  d_k = -H_k g_k,\quad x_{k+1} = x_k + \alpha_k d_k,\quad
               H_{k+1} = (I - \rho_k s_k y_k^\top) H_k (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top

    Symbols ↔ arguments: H₀ = ``H0`` (default I, replaced by (y₀ᵀs₀ / y₀ᵀy₀) I before the first update, N&W eq.
    6.20; a given ``H0`` is used as is; scipy ``hess_inv0``); c₁, c₂ = ``c1``, ``c2`` of the strong Wolfe
    conditions (:func:`utils.linesearch.strong_wolfe`; scipy's BFGS uses the same defaults 1e-4, 0.9).
    ``line_search(f, grad, x, d, fx, gx) -> (alpha, f_new, g_new, nfev, njev, success)`` replaces the Wolfe search
    (e.g. an exact one on a quadratic). The update is skipped when y_kᵀs_k ≤ ε y_kᵀy_k (``res.nskip``).

    Returns an ``OptimizeResult`` with ``hess_inv`` (the final H_k, as scipy) and ``nskip``; ``status=2`` when
    the line search fails (typically rounding near x*: the run stops there, as scipy's status 2).

    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0)
    >>> res = bfgs(p, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    x0 = validate_x0(problem, x0)
    c1, c2 = validate_unit("c1", c1), validate_unit("c2", c2)
    if not c1 < c2:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    n = x0.size
    if H0 is not None:
        H0 = np.array(H0, dtype=float)
        if H0.shape != (n, n) or not np.all(np.isfinite(H0)) or not np.allclose(H0, H0.T):
            raise ValueError(f"H0 must be a finite symmetric ({n}, {n}) matrix, got shape {H0.shape}")
        try:
            np.linalg.cholesky(H0)
        except np.linalg.LinAlgError:
            raise ValueError("H0 must be positive definite") from None
    if line_search is not None and not callable(line_search):
        raise ValueError(f"line_search must be a function, got {line_search!r}")
    ls = wolfe_line_search(c1, c2) if line_search is None else line_search
    res, last = _drive(bfgs_step, bfgs_init(x0, problem, H0), problem, (ls, H0 is None), maxiter, gtol, callback, record_x)
    res.hess_inv, res.nskip = last.H, int(last.nskip)
    return res
