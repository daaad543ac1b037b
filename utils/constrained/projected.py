r"""Constrained problems min f(x) s.t. x ∈ C, and projected gradient = proximal gradient with h = ι_C.

A constrained problem is a :class:`utils.problems.Problem` whose ``project`` is the Euclidean projection Π_C;
``info`` holds the data, ``"multipliers"`` (week-5 signs: g(x) ≤ 0 with λ ≥ 0, h(x) = 0 with ν free,
∇f + J_gᵀλ + J_hᵀν = 0), ``"lmo"`` (the linear minimization oracle of :mod:`utils.frank_wolfe`),
``"vertices"`` (columns spanning C, for the polytopes), ``"diameter"`` and ``"reference"`` (how x* was found).

Projected gradient IS proximal gradient with h = ι_C, because prox_{ηι_C} = Π_C for every η:

.. math::  x_{k+1} = \Pi_C\big(x_k - \eta\nabla f(x_k)\big),\qquad G_\eta(x) = \big(x - \Pi_C(x - \eta\nabla f(x))\big)/\eta,

so :func:`projected_gradient` runs :func:`utils.proximal.ista` (fixed step, or backtracking on the sufficient
decrease f(x⁺) ≤ f(x) + ∇f(x)ᵀ(x⁺−x) + ‖x⁺−x‖²/(2η)) or :func:`utils.proximal.fista` on the record
:func:`as_composite` builds. Rates (Beck 2017, Thm. 10.21, 10.29, 10.34): f(x_k) − f* ≤ L‖x₀−x*‖²/(2k) with
η = 1/L; ‖x_k − x*‖ ≤ (1 − μ/L)ᵏ‖x₀ − x*‖ when f is μ-strongly convex; FISTA 2L‖x₀−x*‖²/(k+1)².
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, fields, replace
from typing import Optional

import numpy as np

from ..core.problems import Problem
from ..nonsmooth.prox import project_box, project_l1_ball, project_simplex
from ..core.result import History

__all__ = ["ConstrainedHistory", "as_composite", "projected_gradient", "simplex_least_squares",
           "l1_ball_least_squares", "box_qp", "matrix_completion", "project_nuclear_ball"]


@dataclass(frozen=True)
class ConstrainedHistory(History):
    """:class:`utils.result.History` plus f_gap = f(x_k) − f*, dist = ‖x_k − x*‖ (None when f* / x* unknown or the
    iterates were too many to keep) and, for Frank–Wolfe, gap = g_k = ⟨∇f(x_k), x_k − s_k⟩ ≥ f(x_k) − f*.
    ``grad_norm`` is the stationarity measure the run stops on: ‖G_η‖ (projected gradient) or g_k (Frank–Wolfe)."""

    f_gap: Optional[np.ndarray] = None
    dist: Optional[np.ndarray] = None
    gap: Optional[np.ndarray] = None


def _record(problem, maxiter, record_x):
    """(record internally, keep for the user): iterates are recorded to measure ‖x_k − x*‖ when affordable."""
    keep = problem.n <= 100 if record_x is None else bool(record_x)
    return keep or (problem.x_star is not None and problem.n * (maxiter + 1) <= 4_000_000), keep


def _finish(res, problem, keep, **extra):
    h = res.history
    base = {f.name: getattr(h, f.name) for f in fields(History)}
    f_gap = None if problem.f_star is None else h.fun - problem.f_star
    dist = None
    if problem.x_star is not None and h.x is not None:
        dist = np.linalg.norm((h.x - problem.x_star).reshape(len(h.x), -1), axis=1)
    if not keep:
        base["x"] = None
    res.history = ConstrainedHistory(**base, f_gap=f_gap, dist=dist, **extra)
    return res


_VIEWS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def as_composite(problem) -> Problem:
    """The composite record (:mod:`utils.composite` layout) of min f + ι_C: ``prox(v, η) = Π_C(v)``,
    ``info["g"]`` = ι_C evaluated as 0 (every iterate after x₀ is a projection, hence in C). Cached per problem."""
    if getattr(problem, "project", None) is None:
        raise ValueError(f"problem {getattr(problem, 'name', problem)!r} has no project: a constrained problem "
                         "needs project=Π_C")
    if problem not in _VIEWS:
        project = problem.project
        _VIEWS[problem] = replace(problem, prox=lambda v, eta: project(v),
                                  info={**problem.info, "g": lambda x: 0.0, "F": problem.f})
    return _VIEWS[problem]


def projected_gradient(problem, x0=None, *, eta=None, backtracking=False, rho=0.5, accelerated=False,
                       restart=None, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""Projected gradient x_{k+1} = Π_C(x_k − η∇f(x_k)) (fixed step, backtracking) or accelerated (FISTA on ι_C).

    Symbols ↔ arguments: η = ``eta`` (default 1/L), ρ = ``rho`` (backtracking shrink), ``accelerated=True``
    runs FISTA (y_k extrapolation, t_k sequence; ``restart`` as in :func:`utils.proximal.fista`). scipy:
    ``minimize(method="L-BFGS-B")`` for boxes; CVXPY for any convex C. Stops when ‖G_η‖ ≤ ``gtol``
    (for FISTA at y_{k−1}). x₀ may be infeasible (the first step projects). Returns an ``OptimizeResult``
    whose history is a :class:`ConstrainedHistory` (f − f*, ‖x_k − x*‖). Reference: Beck 2017, ch. 10;
    Nocedal & Wright 2006, §16.7 (gradient projection).

    >>> p = simplex_least_squares(m=8, n=3, seed=0)
    >>> res = projected_gradient(p, gtol=1e-12, maxiter=5000)
    >>> bool(np.allclose(res.x, p.x_star, atol=1e-8))
    True
    """
    from ..nonsmooth.proximal import fista, ista

    view = as_composite(problem)
    if accelerated and backtracking:
        raise ValueError("accelerated=True uses a fixed step: pass eta (or nothing for 1/L), not backtracking=True")
    rec, keep = _record(problem, maxiter, record_x)
    if accelerated:
        res = fista(view, x0, eta=eta, restart=restart, maxiter=maxiter, gtol=gtol, callback=callback, record_x=rec)
    else:
        res = ista(view, x0, eta=eta, backtracking=backtracking, rho=rho, maxiter=maxiter, gtol=gtol,
                   callback=callback, record_x=rec)
    res.message = res.message.replace("gradient norm", "gradient-mapping norm ‖G_η‖")
    return _finish(res, problem, keep)


# ------------------------------------------------------------------------------------------ reference problems
def _cvxpy_solve(cp_problem):
    """CVXPY with Clarabel at tight tolerances (x accurate to ~1e-13 on these instances)."""
    cp_problem.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-14, tol_feas=1e-14, tol_ktratio=1e-12,
                     max_iter=300)
    if cp_problem.status != "optimal":
        raise RuntimeError(f"reference solve failed: {cp_problem.status}")


def _ls_data(m, n, seed, k_true):
    if not (isinstance(m, (int, np.integer)) and isinstance(n, (int, np.integer)) and m >= 1 and n >= 2):
        raise ValueError(f"need integers m >= 1, n >= 2, got m={m!r}, n={n!r}")
    g = np.random.default_rng(seed)
    A = g.standard_normal((m, n))
    xt = np.zeros(n)
    k = min(k_true, n)
    xt[:k] = g.dirichlet(np.ones(k))
    return A, A @ xt + 0.1 * g.standard_normal(m)


def _ls(A, b):
    m = A.shape[0]
    s = np.linalg.svd(A, compute_uv=False)
    H = A.T @ A / m
    return dict(f=lambda x: 0.5 * ((A @ x - b) @ (A @ x - b)) / m, grad=lambda x: A.T @ (A @ x - b) / m,
                hess=lambda x: H, hvp=lambda x, v: A.T @ (A @ v) / m, L=float(s[0] ** 2 / m),
                mu=float(s[-1] ** 2 / m) if m >= A.shape[1] else 0.0)


def _radius(name, r):
    if isinstance(r, (bool, str)) or not np.isfinite(r) or r <= 0:
        raise ValueError(f"{name} must be positive and finite, got {r!r}")
    return float(r)


def simplex_least_squares(m=50, n=20, *, s=1.0, seed=0) -> Problem:
    """f(x) = (1/2m)‖Ax − b‖² on Δ_s = {x ≥ 0, Σx = s}; b = A x_true + noise with x_true on a 5-sparse face, so
    x* has zeros (a solution on a face). x*, f* and the multipliers (λ for −x ≤ 0, ν for 1ᵀx − s = 0) from
    CVXPY + Clarabel. x₀ = s e₁ (a vertex)."""
    import cvxpy as cp

    from .frank_wolfe import lmo_simplex, simplex_vertices

    s = _radius("s", s)
    A, b = _ls_data(m, n, seed, 5)
    b = s * b
    x = cp.Variable(n)
    cons = [x >= 0, cp.sum(x) == s]
    _cvxpy_solve(cp.Problem(cp.Minimize(0.5 / m * cp.sum_squares(A @ x - b)), cons))
    d = _ls(A, b)
    x_star = np.asarray(x.value)
    return Problem(name=f"least squares on the simplex (m={m}, n={n})", **d, project=lambda v: project_simplex(v, s),
                   x0=s * np.eye(n)[0], x_star=x_star, f_star=float(d["f"](x_star)),
                   info={"A": A, "b": b, "s": s, "lmo": lambda g: lmo_simplex(g, s), "vertices": simplex_vertices(n, s),
                         "diameter": s * np.sqrt(2.0), "reference": "CVXPY + Clarabel (tol 1e-14)",
                         "multipliers": {"lam": np.asarray(cons[0].dual_value), "nu": float(cons[1].dual_value)}})


def l1_ball_least_squares(m=50, n=20, *, r=None, seed=0) -> Problem:
    """f(x) = (1/2m)‖Ax − b‖² on {‖x‖₁ ≤ r}; x*, f*, λ from CVXPY + Clarabel. x₀ = 0.

    r defaults to half of ρ = min{‖x‖₁ : x minimizes ‖Ax − b‖}, so the constraint is active (λ > 0 for
    ‖x‖₁ − r ≤ 0): every point of the ball misses the least-squares minimizers. For m ≥ n (A of full column
    rank) ρ = ‖x_ls‖₁; for m < n the minimizers are all exact fits and ρ is the basis-pursuit value
    min{‖x‖₁ : Ax = b} — half of the minimum-ℓ2 fit's ℓ1 norm may exceed ρ and leave the constraint inactive."""
    import cvxpy as cp

    from .frank_wolfe import l1_ball_vertices, lmo_l1_ball

    A, b = _ls_data(m, n, seed, 5)
    x = cp.Variable(n)
    if r is None and m >= n:
        r = 0.5 * float(np.abs(np.linalg.lstsq(A, b, rcond=None)[0]).sum())
    elif r is None:                                                   # basis pursuit: the smallest-ℓ1 exact fit
        _cvxpy_solve(cp.Problem(cp.Minimize(cp.norm1(x)), [A @ x == b]))
        r = 0.5 * float(np.abs(x.value).sum())
    else:
        r = _radius("r", r)
    cons = [cp.norm1(x) <= r]
    _cvxpy_solve(cp.Problem(cp.Minimize(0.5 / m * cp.sum_squares(A @ x - b)), cons))
    d = _ls(A, b)
    x_star = np.asarray(x.value)
    return Problem(name=f"least squares on the l1 ball (m={m}, n={n}, r={r:.3g})", **d,
                   project=lambda v: project_l1_ball(v, r), x0=np.zeros(n), x_star=x_star,
                   f_star=float(d["f"](x_star)),
                   info={"A": A, "b": b, "r": r, "lmo": lambda g: lmo_l1_ball(g, r), "vertices": l1_ball_vertices(n, r),
                         "diameter": 2 * r, "reference": "CVXPY + Clarabel (tol 1e-14)",
                         "multipliers": {"lam": float(cons[0].dual_value)}})


def box_qp(n=20, *, mu=1.0, L=100.0, lo=-1.0, hi=1.0, seed=0) -> Problem:
    """f(x) = ½xᵀQx − bᵀx on the box lo ≤ x ≤ hi, Q with spectrum in [μ, L] (:func:`utils.quadratic`), b = Qz with
    z ~ 2N(0, I) so many bounds are active. Reference: scipy L-BFGS-B, then an active-set polish (the free
    coordinates solve Q_FF x_F = b_F − Q_FA x_A exactly; KKT verified). λ_lo, λ_hi ≥ 0 for lo − x ≤ 0, x − hi ≤ 0."""
    from scipy.optimize import minimize

    from .frank_wolfe import lmo_box
    from ..core.problems import quadratic

    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi, got lo={lo!r}, hi={hi!r}")
    q = quadratic(n, mu, L, seed=seed)
    Q = q.info["A"]
    b = Q @ (2 * np.random.default_rng(seed + 1).standard_normal(n))
    f, grad = (lambda x: 0.5 * x @ (Q @ x) - b @ x), (lambda x: Q @ x - b)
    ref = minimize(f, np.clip(np.zeros(n), lo, hi), jac=grad, method="L-BFGS-B", bounds=[(lo, hi)] * n,
                   options={"ftol": 0.0, "gtol": 1e-14, "maxiter": 10_000})
    x = ref.x.copy()
    at_lo, at_hi = x <= lo + 1e-8, x >= hi - 1e-8
    x[at_lo], x[at_hi] = lo, hi
    F = ~(at_lo | at_hi)
    x[F] = np.linalg.solve(Q[np.ix_(F, F)], b[F] - Q[np.ix_(F, ~F)] @ x[~F])
    gx = grad(x)
    if not (np.all(x >= lo) and np.all(x <= hi) and np.all(gx[at_lo] >= -1e-10) and np.all(gx[at_hi] <= 1e-10)):
        raise RuntimeError("box_qp: the active-set polish did not verify the KKT conditions")
    return Problem(name=f"box QP (n={n}, κ={L / mu:g})", f=f, grad=grad, hess=lambda x: Q, hvp=lambda x, v: Q @ v,
                   project=lambda v: project_box(v, lo, hi), x0=np.clip(np.zeros(n), lo, hi), x_star=x,
                   f_star=float(f(x)), L=float(L), mu=float(mu),
                   info={"Q": Q, "b": b, "lo": lo, "hi": hi, "lmo": lambda g: lmo_box(g, lo, hi),
                         "diameter": (hi - lo) * np.sqrt(n), "reference": "scipy L-BFGS-B + active-set polish",
                         "multipliers": {"lam_lo": np.where(at_lo, gx, 0.0), "lam_hi": np.where(at_hi, -gx, 0.0)}})


def project_nuclear_ball(V, delta):
    """Π onto {‖X‖_* ≤ δ}: U diag(Π_{ℓ1, δ}(σ)) Wᵀ from the SVD V = U diag(σ) Wᵀ (Beck 2017, Ex. 7.31)."""
    U, sig, Wt = np.linalg.svd(V, full_matrices=False)
    return (U * project_l1_ball(sig, delta)) @ Wt


def matrix_completion(n1=40, n2=30, *, rank=2, fraction=0.5, seed=0) -> Problem:
    """f(X) = ½ Σ_{(i,j)∈Ω} (X_ij − M_ij)² on {‖X‖_* ≤ δ}, M = UVᵀ of rank ``rank`` (ground truth), Ω a random
    ``fraction`` of the entries, δ = ‖M‖_*. M is feasible with f(M) = 0, so f* = 0 exactly and x_star = M
    (unique when Ω determines M, which holds with high probability at these sizes). L = 1, x₀ = 0."""
    from .frank_wolfe import lmo_nuclear_ball

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    g = np.random.default_rng(seed)
    M = g.standard_normal((n1, rank)) @ g.standard_normal((rank, n2)) / np.sqrt(rank)
    mask = (g.random((n1, n2)) < fraction).astype(float)
    delta = float(np.linalg.svd(M, compute_uv=False).sum())
    return Problem(name=f"matrix completion ({n1}x{n2}, rank {rank})", f=lambda X: 0.5 * np.sum((mask * (X - M)) ** 2),
                   grad=lambda X: mask * (X - M), hvp=lambda X, V: mask * V,
                   project=lambda V: project_nuclear_ball(V, delta), x0=np.zeros((n1, n2)), x_star=M, f_star=0.0,
                   L=1.0, mu=0.0, info={"M": M, "mask": mask, "delta": delta, "diameter": 2 * delta,
                                        "lmo": lambda G: lmo_nuclear_ball(G, delta), "reference": "ground truth"})
