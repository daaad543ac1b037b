r"""Smooth nonlinear programs and seven Hock–Schittkowski test problems (Hock & Schittkowski 1981).

A :class:`NonlinearProgram` is the record the week-5 solvers (:mod:`utils.sqp`, :mod:`utils.augmented_lagrangian`)
take, in the course's sign convention (Boyd & Vandenberghe ch. 5):

.. math::  \min_x f(x) \quad\text{s.t.}\quad g(x) \le 0 \;(g:\mathbb R^n\to\mathbb R^m,\ \lambda \ge 0),
           \qquad h(x) = 0 \;(h:\mathbb R^n\to\mathbb R^p,\ \nu \text{ free}),

L(x, λ, ν) = f + λᵀg + νᵀh; KKT: ∇f + J_gᵀλ + J_hᵀν = 0, g ≤ 0, h = 0, λ ≥ 0, λᵢgᵢ = 0.

**Hock & Schittkowski write inequalities as c(x) ≥ 0; we store g = −c** (and so does the conversion to scipy,
whose SLSQP and trust-constr also use c(x) ≥ 0: :func:`scipy_constraints`). Simple bounds lᵢ ≤ xᵢ ≤ uᵢ become
inequality rows lᵢ − xᵢ ≤ 0 and xᵢ − uᵢ ≤ 0, after the problem's own constraints. Each problem's statement, its
standard starting point and its published solution are in its docstring, to be checked against the book.
The published x* of HS 71 is given to 8 digits; :func:`refine_kkt_point` (Newton on the active-set KKT system)
sharpens it to machine precision, and the record keeps the published value in ``info["x_star_published"]``.
Multipliers are derived, not copied: :func:`kkt_multipliers` solves the stationarity equations at x* in least
squares over the active constraints and the record checks λ ≥ 0 and a small residual.

Symbols ↔ fields: f, ∇f, ∇²f = ``f, grad, hess``; g, J_g, ∇²gᵢ = ``g, g_jac, g_hess`` (``g_hess(x)`` has shape
(m, n, n)); h, J_h, ∇²hⱼ = ``h, h_jac, h_hess``; x*, f*, λ*, ν* = ``x_star, f_star, lam_star, nu_star``.
scipy: ``{"type": "ineq", "fun": −g}``, ``{"type": "eq", "fun": h}``; trust-constr reports ``res.v``.

Reference: W. Hock, K. Schittkowski (1981), *Test Examples for Nonlinear Programming Codes*, Lecture Notes in
Economics and Mathematical Systems 187, Springer; Nocedal & Wright (2006), ch. 12 (KKT), Example 15.4.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

__all__ = ["NonlinearProgram", "kkt_multipliers", "kkt_residual", "refine_kkt_point", "validate_nlp",
           "scipy_constraints", "hs6", "hs7", "hs14", "hs21", "hs35", "hs40", "hs71", "hs_problems", "maratos",
           "hs_benchmark_rows"]


def _empty(n):
    return (lambda x: np.zeros(0)), (lambda x: np.zeros((0, n))), (lambda x: np.zeros((0, n, n)))


@dataclass(frozen=True, eq=False)
class NonlinearProgram:
    """minimize f(x) s.t. g(x) ≤ 0, h(x) = 0 (see the module docstring for the fields and conventions).

    Missing constraint families become empty ones (shape (0,), Jacobian (0, n)); ``hess``/``g_hess``/``h_hess``
    are optional (needed only for exact-Hessian SQP and :func:`refine_kkt_point`).

    >>> p = NonlinearProgram("disk", f=lambda x: x @ x, grad=lambda x: 2 * x, x0=np.ones(2),
    ...                      h=lambda x: np.array([x[0] + x[1] - 1.0]), h_jac=lambda x: np.array([[1.0, 1.0]]))
    >>> p.n, p.m, p.p
    (2, 0, 1)
    """

    name: str
    f: Callable
    grad: Callable
    x0: np.ndarray
    g: Optional[Callable] = None
    g_jac: Optional[Callable] = None
    h: Optional[Callable] = None
    h_jac: Optional[Callable] = None
    hess: Optional[Callable] = None
    g_hess: Optional[Callable] = None
    h_hess: Optional[Callable] = None
    x_star: Optional[np.ndarray] = None
    f_star: Optional[float] = None
    lam_star: Optional[np.ndarray] = None
    nu_star: Optional[np.ndarray] = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        x0 = np.array(self.x0, dtype=float)
        if x0.ndim != 1:
            raise ValueError(f"NonlinearProgram {self.name!r}: x0 must be a vector, got shape {x0.shape}")
        for fam in ("g", "h"):
            fun, jac, hes = getattr(self, fam), getattr(self, fam + "_jac"), getattr(self, fam + "_hess")
            if (fun is None) != (jac is None):
                raise ValueError(f"NonlinearProgram {self.name!r}: give both {fam} and {fam}_jac, or neither")
            if fun is None:
                e = _empty(x0.size)
                object.__setattr__(self, fam, e[0])
                object.__setattr__(self, fam + "_jac", e[1])
                if hes is None:
                    object.__setattr__(self, fam + "_hess", e[2])
        for name in ("f", "grad", "g", "g_jac", "h", "h_jac", "hess", "g_hess", "h_hess"):
            v = getattr(self, name)
            if v is not None and not callable(v):
                raise TypeError(f"NonlinearProgram {self.name!r}: {name} must be a function of x, got {v!r}")
        for name in ("x0", "x_star", "lam_star", "nu_star"):
            v = x0 if name == "x0" else getattr(self, name)
            if v is not None:
                arr = np.array(v, dtype=float)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)

    @property
    def n(self) -> int:
        return int(self.x0.size)

    @property
    def m(self) -> int:
        return int(np.size(self.g(self.x0)))

    @property
    def p(self) -> int:
        return int(np.size(self.h(self.x0)))

    def lagrangian_grad(self, x, lam, nu):
        """∇ₓL = ∇f + J_gᵀλ + J_hᵀν."""
        return np.asarray(self.grad(x)) + self.g_jac(x).T @ lam + self.h_jac(x).T @ nu

    def lagrangian_hess(self, x, lam, nu):
        """∇²ₓₓL = ∇²f + Σ λᵢ∇²gᵢ + Σ νⱼ∇²hⱼ (needs ``hess``, ``g_hess``, ``h_hess``)."""
        if self.hess is None or self.g_hess is None or self.h_hess is None:
            raise ValueError(f"NonlinearProgram {self.name!r} has no second derivatives (hess, g_hess, h_hess)")
        return (np.asarray(self.hess(x)) + np.tensordot(lam, self.g_hess(x), axes=1)
                + np.tensordot(nu, self.h_hess(x), axes=1))


def validate_nlp(nlp, x0=None, who="this solver") -> np.ndarray:
    """``x0`` (default ``nlp.x0``) as a float vector; ``ValueError`` on non-finite x0 or oracles of the wrong
    shape (f scalar, grad (n,), g (m,), g_jac (m, n), h (p,), h_jac (p, n)); ``TypeError`` for a non-record."""
    if not isinstance(nlp, NonlinearProgram):
        raise TypeError(f"{who} expects a utils.hock_schittkowski.NonlinearProgram, got {type(nlp).__name__}")
    x = np.array(nlp.x0 if x0 is None else x0, dtype=float)
    if x.shape != nlp.x0.shape:
        raise ValueError(f"{who}: x0 has shape {x.shape}, but problem {nlp.name!r} expects {nlp.x0.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{who}: x0 must be finite, got {x}")
    n = x.size
    m, p = np.size(nlp.g(x)), np.size(nlp.h(x))
    for what, val, shape in (("f(x0)", nlp.f(x), ()), ("grad(x0)", nlp.grad(x), (n,)), ("g(x0)", nlp.g(x), (m,)),
                             ("g_jac(x0)", nlp.g_jac(x), (m, n)), ("h(x0)", nlp.h(x), (p,)),
                             ("h_jac(x0)", nlp.h_jac(x), (p, n))):
        if np.shape(val) != shape:
            raise ValueError(f"{who}: problem {nlp.name!r} has {what} of shape {np.shape(val)}, expected {shape}")
    return x


def kkt_multipliers(nlp, x, active_tol=1e-7):
    r"""Least-squares multipliers at x: min ‖∇f + J_Aᵀλ_A + J_hᵀν‖ over the active set A = {i: gᵢ(x) ≥ −tol}.

    Returns ``(lam, nu, residual)`` with λᵢ = 0 off A. At a KKT point with linearly independent active gradients
    (LICQ) these are the unique multipliers, and ``residual`` ≈ 0.

    >>> lam, nu, r = kkt_multipliers(hs35(), hs35().x_star)
    >>> round(float(lam[0]) * 9, 12), r < 1e-14            # λ₁* = 2/9
    (2.0, True)
    """
    x = np.asarray(x, dtype=float)
    gx = nlp.g(x)
    A = np.flatnonzero(gx >= -active_tol * (1.0 + np.abs(gx)))
    J = np.vstack([nlp.g_jac(x)[A], nlp.h_jac(x)])
    gf = np.asarray(nlp.grad(x))
    mult = np.linalg.lstsq(J.T, -gf, rcond=None)[0] if J.size else np.zeros(0)
    lam = np.zeros(gx.size)
    lam[A] = mult[:A.size]
    nu = mult[A.size:]
    return lam, nu, float(np.linalg.norm(gf + J.T @ mult))


def kkt_residual(nlp, x, lam, nu):
    """Dict of the KKT residuals at (x, λ, ν), each an ∞-norm: ``stationarity`` ‖∇ₓL‖, ``violation``
    max(‖h‖, ‖max(g, 0)‖), ``complementarity`` ‖λ ∘ g‖, ``dual`` ‖min(λ, 0)‖ and their maximum ``kkt``."""
    gx, hx = nlp.g(x), nlp.h(x)
    inf = lambda v: float(np.max(np.abs(v))) if np.size(v) else 0.0      # noqa: E731
    r = {"stationarity": inf(nlp.lagrangian_grad(x, lam, nu)),
         "violation": max(inf(hx), inf(np.maximum(gx, 0.0))),
         "complementarity": inf(lam * gx), "dual": inf(np.minimum(lam, 0.0))}
    r["kkt"] = max(r.values())
    return r


def refine_kkt_point(nlp, x, tol=1e-15, maxiter=20, active_tol=1e-6):
    """Newton's method on the active-set KKT equations ∇ₓL = 0, g_A = 0, h = 0 from x (e.g. a published x*
    rounded to 8 digits); returns ``(x, lam, nu)``. Needs the second derivatives."""
    x = np.array(x, dtype=float)
    lam, nu, _ = kkt_multipliers(nlp, x, active_tol)
    gx = nlp.g(x)
    A = np.flatnonzero(gx >= -active_tol * (1.0 + np.abs(gx)))
    n, a, p = x.size, A.size, nu.size
    for _ in range(maxiter):
        Jg, Jh = nlp.g_jac(x)[A], nlp.h_jac(x)
        F = np.concatenate([nlp.lagrangian_grad(x, lam, nu), nlp.g(x)[A], nlp.h(x)])
        if np.max(np.abs(F)) <= tol:
            break
        J = np.vstack([Jg, Jh])
        K = np.block([[nlp.lagrangian_hess(x, lam, nu), J.T], [J, np.zeros((a + p, a + p))]])
        d = np.linalg.solve(K, -F)
        x = x + d[:n]
        lam[A] += d[n:n + a]
        nu = nu + d[n + a:]
    return x, lam, nu


def scipy_constraints(nlp):
    """The constraints in ``scipy.optimize.minimize``'s dict form (SLSQP, COBYLA): ``{"type": "eq", "fun": h}``
    and ``{"type": "ineq", "fun": −g}`` (scipy's inequalities are c(x) ≥ 0, so c = −g); empty families omitted.
    SLSQP's ``res.multipliers`` then lists ν (eq) then λ (ineq) in our signs."""
    cons = []
    if nlp.p:
        cons.append({"type": "eq", "fun": nlp.h, "jac": nlp.h_jac})
    if nlp.m:
        cons.append({"type": "ineq", "fun": lambda x: -nlp.g(x), "jac": lambda x: -nlp.g_jac(x)})
    return cons


def trust_constr(nlp, x0=None):
    """``scipy.optimize.minimize(method="trust-constr")`` on ``nlp`` at tight tolerances (gtol 1e-10, xtol 1e-14,
    barrier_tol 1e-10), with h(x) = 0 and −g(x) ≥ 0 as ``NonlinearConstraint``s (empty families omitted) and its
    warnings silenced. The result's ``v`` lists the multipliers in constraint order: ν = v for h, λ = −v for g."""
    import warnings

    from scipy.optimize import NonlinearConstraint, minimize

    cons = []
    if nlp.p:
        cons.append(NonlinearConstraint(nlp.h, 0.0, 0.0, jac=nlp.h_jac))
    if nlp.m:
        cons.append(NonlinearConstraint(lambda x: -nlp.g(x), 0.0, np.inf, jac=lambda x: -nlp.g_jac(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return minimize(nlp.f, nlp.x0 if x0 is None else x0, jac=nlp.grad, method="trust-constr", constraints=cons,
                        options={"gtol": 1e-10, "xtol": 1e-14, "barrier_tol": 1e-10, "maxiter": 3000})


# ------------------------------------------------------------------------------------------- the HS set
def _bounds(lo, hi):
    """(J, b) with rows J x + b ≤ 0: lᵢ − xᵢ for the finite lower bounds, then xᵢ − uᵢ for the upper ones."""
    n = len(lo)
    rows = [(-np.eye(n)[i], l) for i, l in enumerate(lo) if l is not None] + \
           [(np.eye(n)[i], -u) for i, u in enumerate(hi) if u is not None]
    return np.array([r for r, _ in rows]).reshape(-1, n), np.array([b for _, b in rows], dtype=float)


def _make(name, f, grad, hess, x0, x_star, f_star, *, g=None, g_jac=None, g_hess=None, h=None, h_jac=None,
          h_hess=None, refine=False, **info):
    nlp = NonlinearProgram(name, f, grad, np.asarray(x0, float), g=g, g_jac=g_jac, h=h, h_jac=h_jac, hess=hess,
                           g_hess=g_hess, h_hess=h_hess)
    xs = np.asarray(x_star, float)
    if refine:
        info["x_star_published"] = xs
        xs, _, _ = refine_kkt_point(nlp, xs)
    lam, nu, res = kkt_multipliers(nlp, xs)
    if res > 1e-9 or np.any(lam < -1e-12):
        raise RuntimeError(f"{name}: the published x* is not a KKT point (residual {res:.2e}, λ = {lam})")
    info["kkt_lstsq_residual"] = res
    return NonlinearProgram(name, f, grad, nlp.x0, g=g, g_jac=g_jac, h=h, h_jac=h_jac, hess=hess, g_hess=g_hess,
                            h_hess=h_hess, x_star=xs, f_star=float(f_star), lam_star=np.maximum(lam, 0.0),
                            nu_star=nu, info=info)


def _with_bounds(g, g_jac, g_hess, lo, hi, n):
    """Append bound rows to (g, g_jac, g_hess) (any of which may be None for 'no nonlinear inequalities')."""
    JB, b = _bounds(lo, hi)
    g0 = g or (lambda x: np.zeros(0))
    J0 = g_jac or (lambda x: np.zeros((0, n)))
    H0 = g_hess or (lambda x: np.zeros((0, n, n)))
    return ((lambda x: np.concatenate([g0(x), JB @ x + b])), (lambda x: np.vstack([J0(x), JB])),
            (lambda x: np.concatenate([H0(x), np.zeros((len(b), n, n))])))


def hs6():
    r"""HS 6: min (1 − x₁)²  s.t.  10(x₂ − x₁²) = 0.  x⁰ = (−1.2, 1), x* = (1, 1), f* = 0, ν* = 0."""
    return _make("HS6", lambda x: (1 - x[0]) ** 2, lambda x: np.array([-2 * (1 - x[0]), 0.0]),
                 lambda x: np.diag([2.0, 0.0]), [-1.2, 1.0], [1.0, 1.0], 0.0,
                 h=lambda x: np.array([10 * (x[1] - x[0] ** 2)]), h_jac=lambda x: np.array([[-20 * x[0], 10.0]]),
                 h_hess=lambda x: np.array([[[-20.0, 0.0], [0.0, 0.0]]]))


def hs7():
    r"""HS 7: min ln(1 + x₁²) − x₂  s.t.  (1 + x₁²)² + x₂² − 4 = 0.  x⁰ = (2, 2), x* = (0, √3), f* = −√3,
    ν* = 1/(2√3)."""
    return _make("HS7", lambda x: np.log1p(x[0] ** 2) - x[1], lambda x: np.array([2 * x[0] / (1 + x[0] ** 2), -1.0]),
                 lambda x: np.array([[2 * (1 - x[0] ** 2) / (1 + x[0] ** 2) ** 2, 0.0], [0.0, 0.0]]),
                 [2.0, 2.0], [0.0, np.sqrt(3.0)], -np.sqrt(3.0),
                 h=lambda x: np.array([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4]),
                 h_jac=lambda x: np.array([[4 * x[0] * (1 + x[0] ** 2), 2 * x[1]]]),
                 h_hess=lambda x: np.array([[[4 + 12 * x[0] ** 2, 0.0], [0.0, 2.0]]]))


def hs14():
    r"""HS 14: min (x₁ − 2)² + (x₂ − 1)²  s.t.  x₁ − 2x₂ + 1 = 0,  −x₁²/4 − x₂² + 1 ≥ 0 (stored as
    g = x₁²/4 + x₂² − 1 ≤ 0).  x⁰ = (2, 2), x* = ((√7 − 1)/2, (√7 + 1)/4), f* = 9 − 23√7/8 ≈ 1.3934650."""
    s7 = np.sqrt(7.0)
    return _make("HS14", lambda x: (x[0] - 2) ** 2 + (x[1] - 1) ** 2,
                 lambda x: np.array([2 * (x[0] - 2), 2 * (x[1] - 1)]), lambda x: 2 * np.eye(2),
                 [2.0, 2.0], [(s7 - 1) / 2, (s7 + 1) / 4], 9 - 23 * s7 / 8,
                 g=lambda x: np.array([x[0] ** 2 / 4 + x[1] ** 2 - 1]), g_jac=lambda x: np.array([[x[0] / 2, 2 * x[1]]]),
                 g_hess=lambda x: np.array([np.diag([0.5, 2.0])]),
                 h=lambda x: np.array([x[0] - 2 * x[1] + 1]), h_jac=lambda x: np.array([[1.0, -2.0]]),
                 h_hess=lambda x: np.zeros((1, 2, 2)))


def hs21():
    r"""HS 21: min 0.01x₁² + x₂² − 100  s.t.  10x₁ − x₂ − 10 ≥ 0 (g₁ = −10x₁ + x₂ + 10 ≤ 0), 2 ≤ x₁ ≤ 50,
    −50 ≤ x₂ ≤ 50 (rows 2–5).  x⁰ = (−1, −1) (infeasible), x* = (2, 0), f* = −99.96; only x₁ ≥ 2 is active,
    λ* = 0.04 on it."""
    g, J, H = _with_bounds(lambda x: np.array([-10 * x[0] + x[1] + 10]), lambda x: np.array([[-10.0, 1.0]]),
                           lambda x: np.zeros((1, 2, 2)), [2.0, -50.0], [50.0, 50.0], 2)
    return _make("HS21", lambda x: 0.01 * x[0] ** 2 + x[1] ** 2 - 100, lambda x: np.array([0.02 * x[0], 2 * x[1]]),
                 lambda x: np.diag([0.02, 2.0]), [-1.0, -1.0], [2.0, 0.0], -99.96, g=g, g_jac=J, g_hess=H)


def hs35():
    r"""HS 35: min 9 − 8x₁ − 6x₂ − 4x₃ + 2x₁² + 2x₂² + x₃² + 2x₁x₂ + 2x₁x₃  s.t.  3 − x₁ − x₂ − 2x₃ ≥ 0
    (g₁ = x₁ + x₂ + 2x₃ − 3 ≤ 0), x ≥ 0 (rows 2–4).  x⁰ = (0.5, 0.5, 0.5), x* = (4/3, 7/9, 4/9), f* = 1/9,
    λ₁* = 2/9."""
    Q = np.array([[4.0, 2, 2], [2, 4, 0], [2, 0, 2]])
    c = np.array([-8.0, -6, -4])
    g, J, H = _with_bounds(lambda x: np.array([x[0] + x[1] + 2 * x[2] - 3]), lambda x: np.array([[1.0, 1, 2]]),
                           lambda x: np.zeros((1, 3, 3)), [0.0] * 3, [None] * 3, 3)
    return _make("HS35", lambda x: 9 + c @ x + 0.5 * x @ Q @ x, lambda x: c + Q @ x, lambda x: Q,
                 [0.5] * 3, [4 / 3, 7 / 9, 4 / 9], 1 / 9, g=g, g_jac=J, g_hess=H)


def _prod_hess(x):
    """∇²(x₁x₂x₃x₄): entry (i, j), i ≠ j, is the product of the other two coordinates."""
    H = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if i != j:
                H[i, j] = np.prod([x[k] for k in range(4) if k not in (i, j)])
    return H


def _prod_grad(x):
    return np.array([np.prod(np.delete(x, i)) for i in range(4)])


def hs40():
    r"""HS 40: min −x₁x₂x₃x₄  s.t.  x₁³ + x₂² − 1 = 0,  x₁²x₄ − x₃ = 0,  x₄² − x₂ = 0.  x⁰ = (0.8, 0.8, 0.8, 0.8),
    x* = (2^(−1/3), 2^(−1/2), 2^(−11/12), 2^(−1/4)), f* = −0.25."""
    def h_hess(x):
        H = np.zeros((3, 4, 4))
        H[0, 0, 0], H[0, 1, 1] = 6 * x[0], 2.0
        H[1, 0, 0], H[1, 0, 3], H[1, 3, 0] = 2 * x[3], 2 * x[0], 2 * x[0]
        H[2, 3, 3] = 2.0
        return H
    return _make("HS40", lambda x: -np.prod(x), lambda x: -_prod_grad(x), lambda x: -_prod_hess(x), [0.8] * 4,
                 2.0 ** -np.array([1 / 3, 1 / 2, 11 / 12, 1 / 4]), -0.25,
                 h=lambda x: np.array([x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2], x[3] ** 2 - x[1]]),
                 h_jac=lambda x: np.array([[3 * x[0] ** 2, 2 * x[1], 0, 0], [2 * x[0] * x[3], 0, -1, x[0] ** 2],
                                           [0, -1, 0, 2 * x[3]]]), h_hess=h_hess)


def hs71():
    r"""HS 71: min x₁x₄(x₁ + x₂ + x₃) + x₃  s.t.  x₁x₂x₃x₄ − 25 ≥ 0 (g₁ = 25 − x₁x₂x₃x₄ ≤ 0),
    x₁² + x₂² + x₃² + x₄² − 40 = 0,  1 ≤ xᵢ ≤ 5 (rows 2–9).  x⁰ = (1, 5, 5, 1),
    x* = (1, 4.7429994, 3.8211503, 1.3794082), f* = 17.0140173 (published; x* refined by Newton on the KKT
    system, the published digits in ``info["x_star_published"]``)."""
    def f(x):
        return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]

    def grad(x):
        s = x[0] + x[1] + x[2]
        return np.array([x[3] * (s + x[0]), x[0] * x[3], x[0] * x[3] + 1, x[0] * s])

    def hess(x):
        s = x[0] + x[1] + x[2]
        return np.array([[2 * x[3], x[3], x[3], s + x[0]], [x[3], 0, 0, x[0]], [x[3], 0, 0, x[0]],
                         [s + x[0], x[0], x[0], 0]])

    g, J, H = _with_bounds(lambda x: np.array([25 - np.prod(x)]), lambda x: -_prod_grad(x)[None, :],
                           lambda x: -_prod_hess(x)[None], [1.0] * 4, [5.0] * 4, 4)
    return _make("HS71", f, grad, hess, [1.0, 5.0, 5.0, 1.0], [1.0, 4.7429994, 3.8211503, 1.3794082], 17.0140173,
                 g=g, g_jac=J, g_hess=H, h=lambda x: np.array([x @ x - 40]), h_jac=lambda x: 2 * x[None, :],
                 h_hess=lambda x: 2 * np.eye(4)[None], refine=True)


def hs_problems():
    """The seven problems, in book order: HS 6, 7, 14, 21, 35, 40, 71."""
    return [hs6(), hs7(), hs14(), hs21(), hs35(), hs40(), hs71()]


def maratos(theta=0.1):
    r"""Nocedal & Wright (2006) Example 15.4, the Maratos effect: min 2(x₁² + x₂² − 1) − x₁ s.t.
    x₁² + x₂² − 1 = 0, from x⁰ = (cos θ, sin θ) on the circle. x* = (1, 0), f* = −1, ν* = −3/2 (our sign:
    ∇f + ν∇h = 0), ∇²ₓₓL(x*, ν*) = I. The SQP (Newton) step from x⁰ increases both f and |h|, so any ℓ₁ merit
    function rejects the unit step, though the step is superlinearly convergent."""
    return _make("Maratos (N&W Ex. 15.4)", lambda x: 2 * (x @ x - 1) - x[0], lambda x: 4 * x - np.array([1.0, 0]),
                 lambda x: 4 * np.eye(2), [np.cos(theta), np.sin(theta)], [1.0, 0.0], -1.0,
                 h=lambda x: np.array([x @ x - 1]), h_jac=lambda x: 2 * x[None, :], h_hess=lambda x: 2 * np.eye(2)[None])


# ---------------------------------------------------------------------------------------------- benchmark
def _scipy_runs(nlp):
    from scipy.optimize import minimize

    out = {}
    r = minimize(nlp.f, nlp.x0, jac=nlp.grad, method="SLSQP", constraints=scipy_constraints(nlp),
                 options={"ftol": 1e-12, "maxiter": 500})
    out["SLSQP"] = r
    out["trust-constr"] = trust_constr(nlp)
    return out


def hs_benchmark_rows(quick=False):
    """Rows (dicts) ``problem, method, nit, nfev, x_err, f_err, success`` for SQP (damped BFGS and exact
    Hessian), the augmented Lagrangian, SLSQP (``ftol=1e-12``) and trust-constr on the HS set; ``x_err`` =
    ‖x − x*‖₂, ``f_err`` = |f − f*|. ``nfev`` counts objective evaluations (ours: by the algorithm, line
    searches and inner solves included). ``quick``: HS 6, 14, 35 only."""
    from .augmented_lagrangian import augmented_lagrangian
    from .sqp import sqp

    probs = hs_problems()
    if quick:
        probs = [p for p in probs if p.name in ("HS6", "HS14", "HS35")]
    rows = []
    for p in probs:
        runs = {"SQP (damped BFGS)": sqp(p), "SQP (exact Hessian)": sqp(p, hessian="exact"),
                "augmented Lagrangian": augmented_lagrangian(p)}
        runs.update(_scipy_runs(p))
        for method, r in runs.items():
            rows.append({"problem": p.name, "method": method, "nit": int(r.nit), "nfev": int(r.nfev),
                         "x_err": float(np.linalg.norm(r.x - p.x_star)), "f_err": float(abs(p.f(r.x) - p.f_star)),
                         "success": bool(r.success)})
    return rows
