r"""Lagrangian duality made computable: dual functions of LP, QP, lasso and SVM, duality gaps, KKT residuals,
the conjugates of the lecture, and an SMO solver for the SVM dual that stops on the duality gap.

Conventions (Boyd & Vandenberghe 2004, ch. 5; the week-5 lecture uses the same): minimize f(x) subject to
g(x) ≤ 0 (multipliers λ = ``lam`` ≥ 0) and h(x) = 0 (multipliers ν = ``nu``, free), with Lagrangian
L(x, λ, ν) = f(x) + λᵀg(x) + νᵀh(x) and dual function q(λ, ν) = inf_x L(x, λ, ν). Weak duality: q(λ, ν) ≤ p*
for every λ ≥ 0, so primal value − dual value (the *duality gap*) bounds the suboptimality of both points.

* A dual function returns ``-inf`` outside its domain. Solver output is feasible only to rounding, so a point
  within relative distance ``tol`` (default 1e-9, scaled as each docstring says) of the domain counts as inside.
* Gap helpers return :class:`DualityGap` (primal value, dual value, gap, relative primal and dual residuals):
  the gap certifies suboptimality only when both residuals are at rounding level.
* Outside names. CVXPY: ``(G @ x <= h).dual_value`` = λ ≥ 0 and ``(A @ x == b).dual_value`` = ν (B&V signs,
  L = f + νᵀ(Ax − b)). HiGHS (``scipy.optimize.linprog``): ``res.ineqlin.marginals`` = ∂p*/∂h = −λ ≤ 0 and
  ``res.eqlin.marginals`` = ∂p*/∂b = −ν, which is the standard-form LP's y below. scipy's SLSQP and
  trust-constr write inequalities as c(x) ≥ 0: g = −c.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import validate_callback, validate_maxiter, validate_nonnegative, validate_positive
from ..core.result import CALLBACK, MAXITER, NO_PROGRESS, SUCCESS, OptimizeResult

__all__ = ["DualityGap", "KKTResidual", "kkt_residual",
           "lp_dual", "lp_duality_gap", "lp_ineq_dual", "lp_ineq_duality_gap",
           "qp_dual", "qp_lagrangian_minimizer", "qp_duality_gap",
           "lasso_primal", "lasso_dual", "lasso_dual_point", "lasso_duality_gap",
           "svm_primal", "svm_dual", "svm_primal_from_dual", "svm_duality_gap", "SMOState", "SMOHistory",
           "smo_step", "svm_smo",
           "dual_norm", "conj_quadratic", "conj_norm", "conj_norm_ball", "neg_entropy", "conj_neg_entropy",
           "conj_logsumexp", "conj_simplex_indicator", "hinge", "conj_hinge", "fenchel_young_gap"]

_TOL = 1e-9


# ------------------------------------------------------------------------------------------------ validation
def _vec(name, v, n=None):
    a = np.asarray(v, dtype=float)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise ValueError(f"{name} must be a vector of length {n if n is not None else 'n'}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _mat(name, M, cols=None):
    a = np.asarray(M, dtype=float)
    if a.ndim != 2 or (cols is not None and a.shape[1] != cols):
        raise ValueError(f"{name} must be a matrix with {cols if cols is not None else 'n'} columns, "
                         f"got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _block(M, rhs, mname, rname, n):
    """An optional constraint block (M, rhs) with n columns; ``None, None`` means none (0 rows)."""
    if (M is None) != (rhs is None):
        raise ValueError(f"{mname} and {rname} must be given together (or both None)")
    if M is None:
        return np.zeros((0, n)), np.zeros(0)
    M = _mat(mname, M, n)
    return M, _vec(rname, rhs, M.shape[0])


def _mult(name, v, m):
    return np.zeros(0) if v is None and m == 0 else _vec(name, v, m)


def _labels(y, n):
    y = _vec("y", y, n)
    if not np.all((y == 1.0) | (y == -1.0)):
        raise ValueError(f"labels y must be in {{-1, +1}}, got values {np.unique(y)[:5].tolist()}")
    return y


def _psd(Q, n, tol):
    """Symmetric PSD Q (n × n) → (eigenvalues, eigenvectors); the rank cut is 1e-12·max(1, λ_max)."""
    Q = _mat("Q", Q, n)
    if Q.shape != (n, n):
        raise ValueError(f"Q must be {n} x {n}, got shape {Q.shape}")
    scale = max(1.0, float(np.max(np.abs(Q), initial=0.0)))
    if np.max(np.abs(Q - Q.T), initial=0.0) > 1e-10 * scale:
        raise ValueError("Q must be symmetric")
    ev, V = np.linalg.eigh(0.5 * (Q + Q.T))
    if ev.size and ev[0] < -tol * scale:
        raise ValueError(f"Q must be positive semidefinite, its smallest eigenvalue is {ev[0]:.3g}")
    ev = np.where(ev > 1e-12 * max(1.0, float(ev[-1]) if ev.size else 1.0), ev, 0.0)
    return ev, V


class DualityGap(NamedTuple):
    """A primal–dual pair's certificate: ``gap`` = ``primal`` − ``dual`` ≥ p* − ``dual`` and ≥ ``primal`` − p*
    once both relative residuals (primal infeasibility, dual infeasibility) are at rounding level."""
    gap: float
    primal: float
    dual: float
    primal_residual: float
    dual_residual: float


# ------------------------------------------------------------------------------------------------------- LP
def lp_dual(c, A, b, y, *, tol=_TOL):
    r"""Dual function of the standard-form LP  minimize cᵀx s.t. Ax = b, x ≥ 0:  q(y) = bᵀy if Aᵀy ≤ c, else −∞.

    Derivation: L(x, ν, s) = cᵀx + νᵀ(Ax − b) − sᵀx (s ≥ 0 prices x ≥ 0) is affine in x, so
    inf_x L = −bᵀν when c + Aᵀν − s = 0 and −∞ otherwise. With y = −ν and the dual slack s = c − Aᵀy ≥ 0:
    maximize bᵀy s.t. Aᵀy ≤ c (B&V 2004, §5.2.1). Link to the primal: complementary slackness xᵢsᵢ = 0,
    and y = ∂p*/∂b (multipliers as prices, B&V §5.6). Inside means max(Aᵀy − c) ≤ tol·(1 + ‖c‖∞ + ‖Aᵀy‖∞).

    Symbols ↔ arguments: c, A, b, y as written; HiGHS ``linprog(c, A_eq=A, b_eq=b).eqlin.marginals`` = y,
    CVXPY ``(A @ x == b).dual_value`` = ν = −y.

    >>> A, b, c = np.array([[1.0, 1.0]]), np.array([1.0]), np.array([1.0, 2.0])   # p* = 1 at x = (1, 0)
    >>> lp_dual(c, A, b, np.array([1.0])), lp_dual(c, A, b, np.array([1.5]))
    (1.0, -inf)
    """
    A = _mat("A", A, np.size(c))
    c, b, y = _vec("c", c, A.shape[1]), _vec("b", b, A.shape[0]), _vec("y", y, A.shape[0])
    Aty = A.T @ y
    bound = tol * (1.0 + np.max(np.abs(c), initial=0.0) + np.max(np.abs(Aty), initial=0.0))
    return float(b @ y) if np.max(Aty - c, initial=-np.inf) <= bound else -np.inf


def lp_duality_gap(c, A, b, x, y) -> DualityGap:
    r"""Gap cᵀx − bᵀy of the standard-form LP (= xᵀs + yᵀ(b − Ax), s = c − Aᵀy; = xᵀs ≥ 0 at feasible pairs).

    primal_residual = (‖Ax − b‖₂ + ‖min(x, 0)‖₂)/(1 + ‖b‖₂), dual_residual = ‖max(Aᵀy − c, 0)‖₂/(1 + ‖c‖₂).

    >>> lp_duality_gap([1.0, 2.0], [[1.0, 1.0]], [1.0], [0.5, 0.5], [1.0]).gap       # xᵀs = 0.5·1
    0.5
    """
    A = _mat("A", A, np.size(c))
    c, b = _vec("c", c, A.shape[1]), _vec("b", b, A.shape[0])
    x, y = _vec("x", x, A.shape[1]), _vec("y", y, A.shape[0])
    p, d = float(c @ x), float(b @ y)
    rp = (np.linalg.norm(A @ x - b) + np.linalg.norm(np.minimum(x, 0.0))) / (1.0 + np.linalg.norm(b))
    rd = np.linalg.norm(np.maximum(A.T @ y - c, 0.0)) / (1.0 + np.linalg.norm(c))
    return DualityGap(p - d, p, d, float(rp), float(rd))


def lp_ineq_dual(c, G, h, lam, *, tol=_TOL):
    r"""Dual function of the inequality-form LP  minimize cᵀx s.t. Gx ≤ h:  q(λ) = −hᵀλ if Gᵀλ + c = 0, else −∞.

    Derivation: L(x, λ) = cᵀx + λᵀ(Gx − h) = (c + Gᵀλ)ᵀx − hᵀλ is bounded below in x only when c + Gᵀλ = 0
    (B&V 2004, §5.2.1): maximize −hᵀλ s.t. Gᵀλ + c = 0, λ ≥ 0. Link: λᵢ(hᵢ − gᵢᵀx*) = 0 and λ = −∂p*/∂h.
    Inside means ‖Gᵀλ + c‖∞ ≤ tol·(1 + ‖c‖∞ + ‖Gᵀλ‖∞) and min λ ≥ −tol·(1 + ‖λ‖∞).

    Symbols ↔ arguments: c, G, h, λ = ``lam``; CVXPY ``(G @ x <= h).dual_value`` = λ; HiGHS
    ``linprog(c, A_ub=G, b_ub=h, bounds=(None, None)).ineqlin.marginals`` = −λ.

    >>> G, h = np.array([[-1.0], [1.0]]), np.array([-1.0, 2.0])       # 1 ≤ x ≤ 2, minimize x: p* = 1
    >>> lp_ineq_dual([1.0], G, h, [1.0, 0.0]), lp_ineq_dual([1.0], G, h, [1.0, 1.0])
    (1.0, -inf)
    """
    G = _mat("G", G, np.size(c))
    c, h, lam = _vec("c", c, G.shape[1]), _vec("h", h, G.shape[0]), _vec("lam", lam, G.shape[0])
    Gtl = G.T @ lam
    ok = np.max(np.abs(Gtl + c), initial=0.0) <= tol * (1.0 + np.max(np.abs(c), initial=0.0)
                                                         + np.max(np.abs(Gtl), initial=0.0))
    ok &= np.min(lam, initial=0.0) >= -tol * (1.0 + np.max(np.abs(lam), initial=0.0))
    return float(-h @ lam) if ok else -np.inf


def lp_ineq_duality_gap(c, G, h, x, lam) -> DualityGap:
    r"""Gap cᵀx + hᵀλ of the inequality-form LP (= λᵀ(h − Gx) ≥ 0 at feasible pairs).

    primal_residual = ‖max(Gx − h, 0)‖₂/(1 + ‖h‖₂), dual_residual = (‖Gᵀλ + c‖₂ + ‖min(λ, 0)‖₂)/(1 + ‖c‖₂).

    >>> lp_ineq_duality_gap([1.0], [[-1.0], [1.0]], [-1.0, 2.0], [1.5], [1.0, 0.0]).gap      # λᵀ(h − Gx)
    0.5
    """
    G = _mat("G", G, np.size(c))
    c, h = _vec("c", c, G.shape[1]), _vec("h", h, G.shape[0])
    x, lam = _vec("x", x, G.shape[1]), _vec("lam", lam, G.shape[0])
    p, d = float(c @ x), float(-h @ lam)
    rp = np.linalg.norm(np.maximum(G @ x - h, 0.0)) / (1.0 + np.linalg.norm(h))
    rd = (np.linalg.norm(G.T @ lam + c) + np.linalg.norm(np.minimum(lam, 0.0))) / (1.0 + np.linalg.norm(c))
    return DualityGap(p - d, p, d, float(rp), float(rd))


# ------------------------------------------------------------------------------------------------------- QP
def _qp_parts(Q, c, G, h, A, b, lam, nu, tol):
    c = _vec("c", c)
    n = c.shape[0]
    ev, V = _psd(Q, n, tol)
    G, h = _block(G, h, "G", "h", n)
    A, b = _block(A, b, "A", "b", n)
    lam, nu = _mult("lam", lam, G.shape[0]), _mult("nu", nu, A.shape[0])
    r = c + G.T @ lam + A.T @ nu                     # ∇ₓL(x) = Qx + r
    z = V.T @ r
    pos = ev > 0
    x_hat = -V[:, pos] @ (z[pos] / ev[pos])          # −Q⁺r, the minimum-norm minimizer of L(·, λ, ν)
    q = float(-0.5 * z[pos] @ (z[pos] / ev[pos]) - h @ lam - b @ nu)
    off_range = float(np.linalg.norm(z[~pos]))       # ‖(I − QQ⁺)r‖: L is unbounded below unless it is 0
    return c, G, h, A, b, lam, nu, r, x_hat, q, off_range, ev


def qp_dual(Q, c, G, h, A, b, lam, nu, *, tol=_TOL):
    r"""Dual function of the convex QP  minimize ½xᵀQx + cᵀx s.t. Gx ≤ h, Ax = b  (Q symmetric PSD).

    .. math::  q(λ, ν) = -\tfrac12 r^T Q^{+} r - h^Tλ - b^Tν,\qquad r = c + G^Tλ + A^Tν,

    when λ ≥ 0 and r ∈ range(Q), else −∞. Derivation (as B&V 2004 §5.1.3 does for least norm, with the
domain made explicit as in §5.2.1):
    L(x, λ, ν) = ½xᵀQx + rᵀx − hᵀλ − bᵀν is a convex quadratic in x with ∇ₓL = Qx + r. If Q ≻ 0 its unique
    minimizer is x(λ, ν) = −Q⁻¹r and q = −½rᵀQ⁻¹r − hᵀλ − bᵀν (the closed form). If Q is only PSD, L is
    bounded below iff Qx = −r is solvable, i.e. r ⊥ null(Q) (the *domain condition*); then every
    x = −Q⁺r + (null-space vector) minimizes L and the value is the same. Q = 0 gives the LP dual
    (r = 0: Gᵀλ + Aᵀν + c = 0). Link to the primal: at dual optimal (λ*, ν*) with Q ≻ 0, x* = x(λ*, ν*)
    (:func:`qp_lagrangian_minimizer`). Inside means ‖(I − QQ⁺)r‖ ≤ tol·(1 + ‖r‖) and min λ ≥ −tol(1 + ‖λ‖∞).

    Symbols ↔ arguments: Q, c, G, h, A, b as written (``None`` for an absent block, with its multiplier
    ``None``), λ = ``lam`` (CVXPY ``(G @ x <= h).dual_value``), ν = ``nu`` (CVXPY ``(A @ x == b).dual_value``).
    ``ValueError`` when Q is not symmetric PSD (smallest eigenvalue < −tol·max(1, max|Qᵢⱼ|)).

    >>> Q, c = np.eye(2), np.zeros(2)           # min ½‖x‖² s.t. x₁ + x₂ = 2: x* = (1, 1), p* = 1, ν* = −1
    >>> qp_dual(Q, c, None, None, [[1.0, 1.0]], [2.0], None, [-1.0])
    1.0
    """
    *_, lam, nu, r, _, q, off, _ = _qp_parts(Q, c, G, h, A, b, lam, nu, tol)
    if off > tol * (1.0 + np.linalg.norm(r)) or np.min(lam, initial=0.0) < -tol * (1.0 + np.max(np.abs(lam),
                                                                                                  initial=0.0)):
        return -np.inf
    return q


def qp_lagrangian_minimizer(Q, c, G, h, A, b, lam, nu):
    r"""x(λ, ν) = −Q⁺(c + Gᵀλ + Aᵀν), the minimum-norm minimizer of L(·, λ, ν) (:func:`qp_dual`).

    With Q ≻ 0 it is *the* minimizer, and at the dual optimum it is the primal solution x*. With Q singular
    the primal solution is some x(λ*, ν*) + (null-space vector), not recoverable from the dual alone.

    >>> qp_lagrangian_minimizer(np.eye(2), np.zeros(2), None, None, [[1.0, 1.0]], [2.0], None, [-1.0])
    array([1., 1.])
    """
    return _qp_parts(Q, c, G, h, A, b, lam, nu, _TOL)[8]


def qp_duality_gap(Q, c, G, h, A, b, x, lam, nu) -> DualityGap:
    r"""Gap (½xᵀQx + cᵀx) − q(λ, ν) of the convex QP, q evaluated by the formula of :func:`qp_dual`.

    primal_residual = (‖max(Gx − h, 0)‖₂ + ‖Ax − b‖₂)/(1 + ‖h‖₂ + ‖b‖₂); dual_residual =
    (‖(I − QQ⁺)r‖₂ + ‖min(λ, 0)‖₂)/(1 + ‖c‖₂), the distance from q's domain. When x and (λ, ν) are feasible,
    the gap equals ½(x − x̂)ᵀQ(x − x̂) + λᵀ(h − Gx) ≥ 0 with x̂ = x(λ, ν).

    >>> qp_duality_gap(np.eye(2), np.zeros(2), None, None, [[1.0, 1.0]], [2.0], [2.0, 0.0], None, [-1.0]).gap
    1.0
    """
    c, G, h, A, b, lam, nu, r, _, q, off, ev = _qp_parts(Q, c, G, h, A, b, lam, nu, _TOL)
    Q = np.asarray(Q, dtype=float)
    x = _vec("x", x, c.shape[0])
    p = float(0.5 * x @ (Q @ x) + c @ x)
    rp = (np.linalg.norm(np.maximum(G @ x - h, 0.0)) + np.linalg.norm(A @ x - b)) / (
        1.0 + np.linalg.norm(h) + np.linalg.norm(b))
    rd = (off + np.linalg.norm(np.minimum(lam, 0.0))) / (1.0 + np.linalg.norm(c))
    return DualityGap(p - q, p, q, float(rp), float(rd))


# ---------------------------------------------------------------------------------------------------- lasso
def _lasso_data(A, b, lam):
    A = _mat("A", A)
    b = _vec("b", b, A.shape[0])
    return A, b, validate_positive("lam", lam)


def lasso_primal(A, b, lam, x):
    """P(x) = ½‖Ax − b‖² + λ‖x‖₁ (no 1/m: see :func:`lasso_duality_gap` for the week-3 scaling).

    >>> round(lasso_primal(np.eye(2), [1.0, 0.1], 0.2, [0.8, 0.0]), 12)       # ½(0.2² + 0.1²) + 0.2·0.8
    0.185
    """
    A, b, lam = _lasso_data(A, b, lam)
    x = _vec("x", x, A.shape[1])
    r = A @ x - b
    return float(0.5 * r @ r + lam * np.sum(np.abs(x)))


def lasso_dual(A, b, lam, nu, *, tol=_TOL):
    r"""Dual function of the lasso  minimize ½‖Ax − b‖² + λ‖x‖₁:  D(ν) = bᵀν − ½‖ν‖² if ‖Aᵀν‖∞ ≤ λ, else −∞.

    Derivation (B&V 2004, §5.7.1: name the residual): minimize ½‖z‖² + λ‖x‖₁ s.t. z = b − Ax, with
    L = ½‖z‖² + λ‖x‖₁ + νᵀ(b − Ax − z). inf_z gives z = ν and −½‖ν‖²; inf_x (λ‖x‖₁ − (Aᵀν)ᵀx) is 0 if
    ‖Aᵀν‖∞ ≤ λ and −∞ otherwise ((λ‖·‖₁)* = ι_{‖·‖∞ ≤ λ}, :func:`conj_norm`). Since D(ν) = ½‖b‖² − ½‖b − ν‖²,
    the dual optimum ν* = Π_{‖Aᵀν‖∞ ≤ λ}(b) is unique even when x* is not, and the link to the primal is
    ν* = b − Ax* (the residual) with Aᵀν* ∈ λ∂‖x*‖₁. The brief's θ = −ν form reads max −½‖θ‖² − bᵀθ s.t.
    ‖Aᵀθ‖∞ ≤ λ; celer's θ = ν/λ (Massias, Gramfort & Salmon 2018). Inside: ‖Aᵀν‖∞ ≤ λ(1 + tol).

    >>> round(lasso_dual(np.eye(2), [1.0, 0.1], 0.2, [0.2, 0.1]), 12)   # ν* = b − Ax*, x* = (0.8, 0): D = P*
    0.185
    """
    A, b, lam = _lasso_data(A, b, lam)
    nu = _vec("nu", nu, A.shape[0])
    if np.max(np.abs(A.T @ nu), initial=0.0) > lam * (1.0 + tol):
        return -np.inf
    return float(b @ nu - 0.5 * nu @ nu)


def lasso_dual_point(A, b, lam, x):
    r"""The dual-feasible point of the standard gap certificate: the residual scaled into the dual set,

    .. math::  ν(x) = r \min\big(1, λ/‖A^T r‖_∞\big),\qquad r = b - Ax,

    so ‖Aᵀν(x)‖∞ ≤ λ for every x and ν(x*) = ν* (at x*, ‖Aᵀr*‖∞ ≤ λ already). The certificate scikit-learn's
    coordinate descent (``Lasso``, ``enet_coordinate_descent``) and celer stop on; glmnet stops on coefficient
    changes instead (Friedman, Hastie & Tibshirani 2010). El Ghaoui et al. (2012) use it for safe screening.

    >>> lasso_dual_point(np.eye(2), [1.0, 0.1], 0.2, [0.0, 0.0])      # r = b, ‖Aᵀr‖∞ = 1 > λ: scaled by 0.2
    array([0.2 , 0.02])
    """
    A, b, lam = _lasso_data(A, b, lam)
    x = _vec("x", x, A.shape[1])
    r = b - A @ x
    s = np.max(np.abs(A.T @ r), initial=0.0)
    return r * (lam / s if s > lam else 1.0)


def lasso_duality_gap(A, b, lam, x):
    r"""gap(x) = P(x) − D(ν(x)) ≥ P(x) − P* ≥ 0 for *any* x, and 0 at x* (:func:`lasso_dual_point`).

    Scaling: the week-3 record ``utils.lasso(A, b, λ')`` minimizes (1/2m)‖Ax − b‖² + λ'‖x‖₁ = P(x)/m with
    λ = mλ', so its ``info["gap"](x)`` equals ``lasso_duality_gap(A, b, m*λ', x) / m``; scikit-learn's
    ``Lasso(alpha=λ/m, fit_intercept=False)`` solves this problem.

    >>> round(lasso_duality_gap(np.eye(2), [1.0, 0.1], 0.2, [0.8, 0.0]), 12)
    0.0
    """
    nu = lasso_dual_point(A, b, lam, x)         # feasible by construction: D(ν) without the domain test
    return lasso_primal(A, b, lam, x) - float(np.asarray(b, dtype=float) @ nu - 0.5 * nu @ nu)


# ------------------------------------------------------------------------------------------------------ SVM
def _svm_data(X, y, C):
    X = _mat("X", X)
    y = _labels(y, X.shape[0])
    if not (np.any(y > 0) and np.any(y < 0)):
        raise ValueError("labels y must contain both classes, -1 and +1")
    return X, y, validate_positive("C", C)


def _best_intercept(f, y):
    """argmin_b Σᵢ max(0, 1 − yᵢ(fᵢ + b)): a convex piecewise-linear function of b, minimal at a breakpoint
    b = yᵢ − fᵢ; all n breakpoints are evaluated in O(n log n) by sorting and prefix sums."""
    t = np.sort((1.0 - f)[y > 0])            # yᵢ = +1: max(0, tᵢ − b)
    s = np.sort((-1.0 - f)[y < 0])           # yᵢ = −1: max(0, b − sᵢ)
    cand = np.concatenate([t, s])
    ct, cs = np.concatenate([[0.0], np.cumsum(t)]), np.concatenate([[0.0], np.cumsum(s)])
    it, is_ = np.searchsorted(t, cand, side="right"), np.searchsorted(s, cand, side="left")
    val = (ct[-1] - ct[it]) - (t.size - it) * cand + is_ * cand - cs[is_]
    k = int(np.argmin(val))
    return float(cand[k]), float(val[k])


def svm_primal(X, y, C, w, b):
    """P(w, b) = ½‖w‖² + C Σᵢ max(0, 1 − yᵢ(wᵀxᵢ + b)), the soft-margin linear SVM (Cortes & Vapnik 1995).

    >>> svm_primal([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.0], 1.0, [1.0, 0.0], 0.0)
    0.5
    """
    X, y, C = _svm_data(X, y, C)
    w = _vec("w", w, X.shape[1])
    return float(0.5 * w @ w + C * np.sum(hinge(y * (X @ w + float(b)))))


def svm_dual(X, y, C, alpha, *, tol=_TOL):
    r"""Dual function of the soft-margin linear SVM:  D(α) = 1ᵀα − ½αᵀ(YKY)α  on 0 ≤ α ≤ C, yᵀα = 0, else −∞.

    Derivation (B&V 2004, §5.2; Cortes & Vapnik 1995): write the primal with slacks, minimize ½‖w‖² + C1ᵀξ
    s.t. yᵢ(wᵀxᵢ + b) ≥ 1 − ξᵢ, ξ ≥ 0, with multipliers αᵢ ≥ 0 and μᵢ ≥ 0. Stationarity of the Lagrangian in
    w gives w = Σαᵢyᵢxᵢ = Xᵀ(y∘α), in b gives yᵀα = 0, in ξ gives αᵢ + μᵢ = C, i.e. 0 ≤ α ≤ C; substituting,
    D(α) = 1ᵀα − ½‖Xᵀ(y∘α)‖², K = XXᵀ, Y = diag(y). KKT: αᵢ = 0 ⇒ yᵢfᵢ ≥ 1, 0 < αᵢ < C ⇒ yᵢfᵢ = 1,
    αᵢ = C ⇒ yᵢfᵢ ≤ 1 with fᵢ = wᵀxᵢ + b (:func:`svm_primal_from_dual`). Inside: α ∈ [−tol·C, C(1 + tol)]
    and |yᵀα| ≤ tol·(1 + ‖α‖₁).

    Symbols ↔ scikit-learn ``SVC(kernel="linear", C=C)``: ``dual_coef_`` = yᵢαᵢ on ``support_`` (α = 0
    elsewhere), ``coef_`` = w, ``intercept_`` = b; LIBSVM minimizes f(α) = ½αᵀQα − 1ᵀα = −D(α), Q = YKY.
    ``LinearSVC`` is not this problem (squared hinge by default; with ``loss="hinge"`` it regularizes b).

    >>> svm_dual([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.0], 1.0, [0.5, 0.5])
    0.5
    """
    X, y, C = _svm_data(X, y, C)
    alpha = _vec("alpha", alpha, X.shape[0])
    if np.min(alpha) < -tol * C or np.max(alpha) > C * (1.0 + tol) or \
            abs(y @ alpha) > tol * (1.0 + np.sum(np.abs(alpha))):
        return -np.inf
    w = X.T @ (y * alpha)
    return float(np.sum(alpha) - 0.5 * w @ w)


def _intercept_libsvm(grad, alpha, y, C, rtol):
    """b = −ρ (Chang & Lin 2011, LIBSVM §4.1.5): the mean of −yᵢ∇ᵢf over free αᵢ (0 < αᵢ < C: there
    yᵢ(wᵀxᵢ + b) = 1), else the midpoint of the interval of b that the KKT conditions allow."""
    yg = y * grad
    upper, lower = alpha >= C * (1.0 - rtol), alpha <= C * rtol
    free = ~(upper | lower)
    if np.any(free):
        return float(0.0 - np.mean(yg[free]))          # 0.0 − (…): no −0.0
    ub_set = (upper & (y < 0)) | (lower & (y > 0))
    lb_set = (upper & (y > 0)) | (lower & (y < 0))
    # both sets are non-empty when both classes are present (yᵀα = 0 rules out the other cases)
    return float(0.0 - 0.5 * (np.min(yg[ub_set]) + np.max(yg[lb_set])))


def svm_primal_from_dual(X, y, C, alpha, *, rtol=1e-8):
    r"""(w, b) from α: w = Σᵢ αᵢyᵢxᵢ = Xᵀ(y∘α) (stationarity in w), and b as LIBSVM computes it: the mean of
    yᵢ − wᵀxᵢ over the free support vectors 0 < αᵢ < C (tested with relative slack ``rtol``·C), which the KKT
    conditions put on the margin yᵢ(wᵀxᵢ + b) = 1; without free ones, the midpoint of the interval of b the
    bounded ones allow (Chang & Lin 2011, §4.1.5). scikit-learn's ``coef_`` and ``intercept_``.

    >>> w, b = svm_primal_from_dual([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.0], 1.0, [0.5, 0.5])
    >>> w.tolist(), b
    ([1.0, 0.0], 0.0)
    """
    X, y, C = _svm_data(X, y, C)
    alpha = _vec("alpha", alpha, X.shape[0])
    w = X.T @ (y * alpha)
    return w, _intercept_libsvm(y * (X @ w) - 1.0, alpha, y, C, rtol)


def svm_duality_gap(X, y, C, alpha) -> DualityGap:
    r"""gap(α) = min_b P(w(α), b) − D(α) with w(α) = Xᵀ(y∘α), for a dual-feasible α.

    By weak duality gap ≥ max(P(w(α), b̂) − P*, D* − D(α)) ≥ 0, so it certifies both the recovered primal
    point and α; it is 0 at the optimum (strong duality: Slater holds, the constraints being affine). The
    intercept b̂ minimizes the hinge sum for the given w exactly (a 1-D piecewise-linear problem), so the
    gap does not depend on how b is estimated. primal_residual = 0; dual_residual = box and yᵀα violation
    relative to 1 + ‖α‖₁. The gap is ``inf`` if α is outside the dual domain.

    >>> svm_duality_gap([[1.0, 0.0], [-1.0, 0.0]], [1.0, -1.0], 1.0, [0.5, 0.5]).gap
    0.0
    """
    X, y, C = _svm_data(X, y, C)
    alpha = _vec("alpha", alpha, X.shape[0])
    d = svm_dual(X, y, C, alpha)
    w = X.T @ (y * alpha)
    _, hinge_sum = _best_intercept(X @ w, y)
    p = float(0.5 * w @ w + C * hinge_sum)
    rd = (np.sum(np.maximum(-alpha, 0.0) + np.maximum(alpha - C, 0.0)) + abs(y @ alpha)) / (
        1.0 + np.sum(np.abs(alpha)))
    return DualityGap(p - d, p, d, 0.0, float(rd))


class SMOState(NamedTuple):
    alpha: Any    # α_k, dual-feasible: 0 ≤ α ≤ C, yᵀα = 0
    grad: Any     # ∇f(α_k) = Yk(YK Y α_k) − 1 = y∘(Xw_k) − 1, f = −D the function SMO minimizes
    w: Any        # w_k = Xᵀ(y∘α_k)
    k: Any        # iterations (pair updates) done


def smo_step(state: SMOState, X, y, C, kdiag=None, tau=1e-12):
    r"""One SMO update on the pair (i, j) chosen by second-order working-set selection (Fan, Chen & Lin 2005,
    WSS 2, the LIBSVM rule). Pure: returns a new state, or the same state when no violating pair is left.

    With f(α) = ½αᵀQα − 1ᵀα (Q = YKY, K = XXᵀ) and the index sets I_up = {t: αₜ < C, yₜ = 1 or αₜ > 0, yₜ = −1},
    I_low = {t: αₜ < C, yₜ = −1 or αₜ > 0, yₜ = 1}:  i = argmax_{t ∈ I_up} −yₜ∇ₜf;  for t ∈ I_low with
    b_it = −yᵢ∇ᵢf + yₜ∇ₜf > 0 and a_it = Kᵢᵢ + Kₜₜ − 2Kᵢₜ (τ if ≤ 0), j = argmin −b²_it/a_it (the largest
    decrease of f along the pair direction d = yᵢeᵢ − yⱼeⱼ, which keeps yᵀα = 0). Then α ← α + t d with
    t = min(b_ij/a_ij, the largest step keeping αᵢ, αⱼ in [0, C]) (Platt 1998 in the form of Fan et al.),
    ∇f ← ∇f + t y∘X(xᵢ − xⱼ) and w ← w + t(xᵢ − xⱼ): O(nd) per step, K is never formed.
    ``kdiag`` = the diagonal Kₜₜ = ‖xₜ‖² (computed when ``None``); τ = ``tau`` as LIBSVM's TAU.
    """
    a, g, w = state.alpha, state.grad, state.w
    kdiag = np.einsum("ij,ij->i", X, X) if kdiag is None else kdiag
    up = ((y > 0) & (a < C)) | ((y < 0) & (a > 0))
    low = ((y < 0) & (a < C)) | ((y > 0) & (a > 0))
    myg = -y * g
    if not np.any(up) or not np.any(low):
        return state
    i = int(np.argmax(np.where(up, myg, -np.inf)))
    Kxi = X @ X[i]
    bt = myg[i] - myg
    cand = low & (bt > 0)
    if not np.any(cand):
        return state
    at = kdiag[i] + kdiag - 2.0 * Kxi
    at = np.where(at > 0, at, tau)
    j = int(np.argmin(np.where(cand, -bt * bt / at, np.inf)))
    t = bt[j] / at[j]
    room_i = C - a[i] if y[i] > 0 else a[i]
    room_j = a[j] if y[j] > 0 else C - a[j]
    t = min(t, room_i, room_j)
    a = a.copy()
    a[i] = a[i] + y[i] * t
    a[j] = a[j] - y[j] * t
    for idx, room in ((i, room_i), (j, room_j)):   # land exactly on a bound that the step reached
        if t >= room:
            a[idx] = C if a[idx] > 0.5 * C else 0.0
    dx = X[i] - X[j]
    return SMOState(a, g + t * y * (X @ dx), w + t * dx, state.k + 1)


@dataclass(frozen=True)
class SMOHistory:
    """One row per check (every ``check_every`` pair updates, and the last): k (updates done), fun = D(α_k)
    (the dual objective), primal = min_b P(w_k, b), gap = primal − fun, violation = m(α) − M(α) (LIBSVM's
    maximal violating pair, its stopping test), time (seconds)."""
    k: np.ndarray
    fun: np.ndarray
    primal: np.ndarray
    gap: np.ndarray
    violation: np.ndarray
    time: np.ndarray

    def __len__(self):
        return len(self.k)


def _violation(a, g, y, C):
    myg = -y * g
    up = ((y > 0) & (a < C)) | ((y < 0) & (a > 0))
    low = ((y < 0) & (a < C)) | ((y > 0) & (a > 0))
    return float(np.max(myg[up], initial=-np.inf) - np.min(myg[low], initial=np.inf))


def svm_smo(X, y, C, *, tol=1e-10, maxiter=100_000, check_every=10, callback=None):
    r"""Maximize the linear SVM dual D(α) = 1ᵀα − ½‖Xᵀ(y∘α)‖² over 0 ≤ α ≤ C, yᵀα = 0 by SMO (Platt 1998)
    with second-order working-set selection (Fan, Chen & Lin 2005), stopping on the duality gap.

    Each step (:func:`smo_step`) solves the dual exactly along a direction that changes two coordinates and
    keeps yᵀα = 0, so every iterate is dual feasible and D increases monotonically. Every ``check_every``
    steps the exact primal point w = Xᵀ(y∘α) is recomputed and the run stops when the certificate of
    :func:`svm_duality_gap` satisfies gap ≤ ``tol``·max(1, |D(α)|) (status 0): then both D* − D(α) and
    P(w, b̂) − P* are below that bound. Status 2 if no violating pair is left before that (rounding), 1 at
    ``maxiter`` updates, 99 when ``callback(OptimizeResult(x=α, fun=D, nit=k))`` returns True.

    Returns an ``OptimizeResult``: ``x`` = α, ``fun`` = D(α) (the dual objective, maximized; LIBSVM's
    printed ``obj`` is −fun), ``w``, ``b`` (LIBSVM's intercept rule, :func:`svm_primal_from_dual`; this is
    what scikit-learn reports as ``intercept_``), ``primal`` = P(w, b), ``gap`` (certified, with the best
    intercept), ``violation``, ``nit``, ``success``, ``status``, ``message``, ``history`` (:class:`SMOHistory`).
    Symbols ↔ scikit-learn ``SVC(kernel="linear", C=C, tol=…)`` (whose ``tol`` bounds the violation, not the
    gap): α ↔ ``dual_coef_``·y on ``support_``, w ↔ ``coef_``, b ↔ ``intercept_``.

    >>> res = svm_smo([[1.0, 0.0], [-1.0, 0.0], [2.0, 1.0]], [1.0, -1.0, 1.0], 10.0)
    >>> res.success, np.round(res.x, 12).tolist(), round(res.fun, 12), round(res.b, 12)
    (True, [0.5, 0.5, 0.0], 0.5, 0.0)
    """
    X, y, C = _svm_data(X, y, C)
    tol = validate_nonnegative("tol", tol)
    maxiter = validate_maxiter(maxiter)
    if isinstance(check_every, bool) or not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every!r}")
    validate_callback(callback)
    n = X.shape[0]
    kdiag = np.einsum("ij,ij->i", X, X)
    state = SMOState(np.zeros(n), -np.ones(n), np.zeros(X.shape[1]), 0)
    t0, rows = time.perf_counter(), []
    status = MAXITER

    def check(s):
        w = X.T @ (y * s.alpha)                            # exact, against drift of the incremental w
        s = SMOState(s.alpha, y * (X @ w) - 1.0, w, s.k)
        cert = svm_duality_gap(X, y, C, s.alpha)
        rows.append((s.k, cert.dual, cert.primal, cert.gap, _violation(s.alpha, s.grad, y, C),
                     time.perf_counter() - t0))
        return s, cert

    state, cert = check(state)
    while True:
        if cert.gap <= tol * max(1.0, abs(cert.dual)):
            status = SUCCESS
            break
        if state.k >= maxiter:
            break
        stalled = False
        for _ in range(min(check_every, maxiter - state.k)):
            new = smo_step(state, X, y, C, kdiag)
            if new is state:
                stalled = True
                break
            state = new
        state, cert = check(state)
        if stalled and cert.gap > tol * max(1.0, abs(cert.dual)):
            status = NO_PROGRESS
            break
        if callback is not None and callback(OptimizeResult(x=state.alpha.copy(), fun=cert.dual, nit=state.k)):
            status = CALLBACK
            break
    w, b = state.w, _intercept_libsvm(state.grad, state.alpha, y, C, 1e-8)
    hist = SMOHistory(*(np.array(col, dtype=float) for col in zip(*rows)))
    messages = {SUCCESS: f"duality gap {cert.gap:.3g} <= tol*max(1, |D|)",
                MAXITER: "Maximum number of iterations has been exceeded.",
                NO_PROGRESS: f"no violating pair left but the duality gap is {cert.gap:.3g} (rounding)",
                CALLBACK: "The callback asked to stop."}
    return OptimizeResult(x=state.alpha, fun=cert.dual, w=w, b=b, primal=svm_primal(X, y, C, w, b), gap=cert.gap,
                          violation=hist.violation[-1], nit=state.k, success=status == SUCCESS, status=status,
                          message=messages[status], history=hist)


# ---------------------------------------------------------------------------------------------- KKT residual
class KKTResidual(NamedTuple):
    """The four KKT conditions' residuals (∞-norms; see :func:`kkt_residual` for the scaling)."""
    stationarity: float
    primal_feasibility: float
    dual_feasibility: float
    complementarity: float

    @property
    def max(self) -> float:
        return float(max(self))


def _at(v, x):
    return v(x) if callable(v) else v


def _constraint_values(name, c, J, x, n):
    """(c(x), J(x)) for one constraint family, checked for shape; empty arrays when the family is None."""
    if c is None:
        return np.zeros(0), np.zeros((0, n))
    cv = _vec(f"{name}(x)", np.atleast_1d(_at(c, x)))
    Jv = _mat(f"J{name}(x)", np.atleast_2d(_at(J, x)), n)
    if Jv.shape[0] != cv.shape[0]:
        raise ValueError(f"J{name}(x) must have {cv.shape[0]} rows (one per {name}_i), got {Jv.shape[0]}")
    return cv, Jv


def kkt_residual(grad_f, g, Jg, h, Jh, x, lam, nu, *, scaled=True) -> KKTResidual:
    r"""Residuals of the KKT conditions of  minimize f(x) s.t. g(x) ≤ 0, h(x) = 0  at (x, λ, ν):

    .. math::  ∇f(x) + J_g(x)^Tλ + J_h(x)^Tν = 0,\quad g(x) ≤ 0,\ h(x) = 0,\quad λ ≥ 0,\quad λ_i g_i(x) = 0

    (B&V 2004, §5.5.3; Nocedal & Wright 2006, Thm. 12.1). Returned separately, as ∞-norms:
    stationarity ‖∇f + J_gᵀλ + J_hᵀν‖∞ (divided by 1 + ‖∇f(x)‖∞ when ``scaled``), primal feasibility
    max(‖max(g, 0)‖∞, ‖h‖∞), dual feasibility ‖max(−λ, 0)‖∞, complementarity maxᵢ |λᵢgᵢ(x)| (divided by
    1 + ‖λ‖∞ when ``scaled``). Feasibility is absolute: g and h carry the user's units.

    Symbols ↔ arguments: each of ``grad_f`` (n), ``g`` (m), ``Jg`` (m × n), ``h`` (p), ``Jh`` (p × n) is a
    function of x or its value at x; pass ``None`` for g, Jg, λ (h, Jh, ν) when there are no inequality
    (equality) constraints. scipy's SLSQP/trust-constr inequalities c(x) ≥ 0 are g = −c (same λ);
    CVXPY: λ = ``(g(x) <= 0).dual_value``, ν = ``(A @ x == b).dual_value``.

    >>> # minimize x₁ + x₂ s.t. x₁² + x₂² − 2 ≤ 0: x* = (−1, −1), λ* = ½
    >>> r = kkt_residual(lambda x: np.ones(2), lambda x: np.array([x @ x - 2]), lambda x: 2 * x[None, :],
    ...                  None, None, np.array([-1.0, -1.0]), np.array([0.5]), None)
    >>> r.max
    0.0
    """
    x = _vec("x", x)
    n = x.shape[0]
    gf = _vec("grad_f", _at(grad_f, x), n)
    if (g is None) != (Jg is None) or (h is None) != (Jh is None):
        raise ValueError("g and Jg (h and Jh) must be given together, or both None")
    gv, J1 = _constraint_values("g", g, Jg, x, n)
    hv, J2 = _constraint_values("h", h, Jh, x, n)
    lam, nu = _mult("lam", lam, gv.shape[0]), _mult("nu", nu, hv.shape[0])
    st = np.max(np.abs(gf + J1.T @ lam + J2.T @ nu), initial=0.0)
    pf = max(np.max(np.maximum(gv, 0.0), initial=0.0), np.max(np.abs(hv), initial=0.0))
    df = np.max(np.maximum(-lam, 0.0), initial=0.0)
    cs = np.max(np.abs(lam * gv), initial=0.0)
    if scaled:
        st /= 1.0 + np.max(np.abs(gf), initial=0.0)
        cs /= 1.0 + np.max(np.abs(lam), initial=0.0)
    return KKTResidual(float(st), float(pf), float(df), float(cs))


# ------------------------------------------------------------------------------------------------ conjugates
# f*(y) = sup_x yᵀx − f(x) (B&V 2004, §3.3; the closed forms below are its §3.3.1 examples). +inf outside
# dom f*; a point within relative ``tol`` of a set's boundary counts as inside.
_DUAL_ORD = {1: np.inf, 2: 2, np.inf: 1}


def dual_norm(y, ord=2):
    """‖y‖_* for ‖·‖ = ℓ1, ℓ2, ℓ∞ (``ord`` = 1, 2, ``np.inf``): the ℓ∞, ℓ2, ℓ1 norm, sup_{‖x‖≤1} yᵀx.

    >>> dual_norm(np.array([3.0, -4.0]), 1), dual_norm(np.array([3.0, -4.0]), np.inf)
    (4.0, 7.0)
    """
    if ord not in _DUAL_ORD:
        raise ValueError(f"ord must be 1, 2 or np.inf, got {ord!r}")
    return float(np.linalg.norm(_vec("y", y), _DUAL_ORD[ord]))


def conj_quadratic(y, Q):
    r"""f(x) = ½xᵀQx with Q ≻ 0:  f*(y) = ½yᵀQ⁻¹y (the sup is attained at x = Q⁻¹y, where ∇f(x) = y).

    >>> conj_quadratic(np.array([2.0, 2.0]), np.diag([2.0, 4.0]))
    1.5
    """
    y = _vec("y", y)
    ev, V = _psd(Q, y.shape[0], _TOL)
    if ev[0] <= 0:
        raise ValueError("Q must be positive definite for ½xᵀQx to have a finite conjugate everywhere")
    z = V.T @ y
    return float(0.5 * z @ (z / ev))


def conj_norm(y, ord=1, lam=1.0, *, tol=1e-12):
    r"""f(x) = λ‖x‖ (``ord`` = 1, 2, ``np.inf``):  f*(y) = ι_{‖y‖_* ≤ λ}(y), 0 on the dual-norm ball, +∞ off it.

    Hölder gives yᵀx − λ‖x‖ ≤ (‖y‖_* − λ)‖x‖ ≤ 0 inside, with 0 at x = 0; outside, x = t·x̂ with yᵀx̂ > λ‖x̂‖
    sends the sup to +∞. For ℓ1 (the lasso's penalty) the dual ball is the ℓ∞ ball.

    >>> conj_norm(np.array([0.5, -1.0]), 1), conj_norm(np.array([0.5, -1.0]), np.inf)
    (0.0, inf)
    """
    lam = validate_positive("lam", lam)
    return 0.0 if dual_norm(y, ord) <= lam * (1.0 + tol) else np.inf


def conj_norm_ball(y, ord=2, r=1.0):
    r"""f = ι_{‖x‖ ≤ r} (indicator of the norm ball):  f*(y) = sup_{‖x‖ ≤ r} yᵀx = r‖y‖_* (the support function).

    >>> conj_norm_ball(np.array([3.0, -4.0]), np.inf, 2.0)      # ℓ∞ ball ↔ 2‖y‖₁
    14.0
    """
    return validate_positive("r", r) * dual_norm(y, ord)


def neg_entropy(x):
    """f(x) = Σᵢ xᵢ log xᵢ on x ≥ 0 (0 log 0 = 0), +∞ if some xᵢ < 0.

    >>> neg_entropy(np.array([1.0, 0.0]))
    0.0
    """
    x = _vec("x", x)
    if np.any(x < 0):
        return np.inf
    pos = x > 0
    return float(np.sum(x[pos] * np.log(x[pos])))


def conj_neg_entropy(y):
    r"""f(x) = Σ xᵢ log xᵢ:  f*(y) = Σᵢ e^{yᵢ − 1} (coordinate-wise, yᵢ − log xᵢ − 1 = 0 at xᵢ = e^{yᵢ − 1}).

    >>> conj_neg_entropy(np.array([1.0, 1.0]))
    2.0
    """
    return float(np.sum(np.exp(_vec("y", y) - 1.0)))


def conj_logsumexp(y, *, tol=1e-12):
    r"""f(x) = log Σᵢ e^{xᵢ}:  f*(y) = Σᵢ yᵢ log yᵢ if y ∈ Δ (y ≥ 0, 1ᵀy = 1), else +∞ — the negative entropy on
    the simplex (B&V 2004, §3.3.1, log-sum-exp). For y ∈ Δ the sup is at any x with softmax(x) = y.

    >>> bool(abs(conj_logsumexp(np.array([0.5, 0.5])) - np.log(0.5)) < 1e-15)
    True
    """
    y = _vec("y", y)
    if np.min(y) < -tol or abs(np.sum(y) - 1.0) > tol * y.shape[0]:
        return np.inf
    return neg_entropy(np.maximum(y, 0.0))


def conj_simplex_indicator(y):
    r"""f = ι_Δ, Δ = {x ≥ 0, 1ᵀx = 1}:  f*(y) = maxᵢ yᵢ (a linear function is maximized at a vertex eᵢ).
    It is the conjugate pair of the one above in reverse: log-sum-exp is a smoothed max.

    >>> conj_simplex_indicator(np.array([0.3, -1.0, 2.0]))
    2.0
    """
    return float(np.max(_vec("y", y)))


def hinge(z):
    """The hinge loss max(0, 1 − z), elementwise (z = yᵢ(wᵀxᵢ + b) in the SVM).

    >>> hinge(np.array([-1.0, 0.5, 2.0]))
    array([2. , 0.5, 0. ])
    """
    return np.maximum(0.0, 1.0 - np.asarray(z, dtype=float))


def conj_hinge(s, *, tol=1e-12):
    r"""f(z) = Σᵢ max(0, 1 − zᵢ):  f*(s) = Σᵢ sᵢ if every sᵢ ∈ [−1, 0], else +∞.

    For one coordinate, sz − max(0, 1 − z) is ≤ s on both pieces (z ≥ 1: sz ≤ s as s ≤ 0; z ≤ 1:
    (s + 1)z − 1 ≤ s as s + 1 ≥ 0), with equality at z = 1; it grows without bound as z → +∞ if s > 0 and as
    z → −∞ if s < −1. In the SVM dual, sᵢ = −αᵢ/C: the box 0 ≤ α ≤ C is this domain.

    >>> conj_hinge(np.array([-0.5, 0.0])), conj_hinge(np.array([0.1]))
    (-0.5, inf)
    """
    s = _vec("s", np.atleast_1d(s))
    if np.min(s) < -1.0 - tol or np.max(s) > tol:
        return np.inf
    return float(np.sum(s))


def fenchel_young_gap(f, f_conj, x, y):
    r"""f(x) + f*(y) − yᵀx ≥ 0 (Fenchel–Young inequality), with equality iff y ∈ ∂f(x) (B&V 2004, §3.3.2;
    Rockafellar 1970, Thm. 23.5). ``f`` and ``f_conj`` are callables of one vector.

    >>> fenchel_young_gap(lambda x: 0.5 * x @ x, lambda y: 0.5 * y @ y, np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    """
    x, y = _vec("x", x), _vec("y", y, np.size(x))
    return float(f(x) + f_conj(y) - y @ x)
