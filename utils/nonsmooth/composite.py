r"""Composite problems F(x) = f(x) + h(x): f smooth (L-Lipschitz gradient), h closed convex with a cheap prox.

Each is a :class:`utils.problems.Problem` record in which ``f``/``grad`` are the *smooth part* f and ∇f,
``prox(v, eta)`` = prox_{ηh}(v), and ``info`` holds ``g`` (the nonsmooth part h; the course writes h so that g
stays a gradient, week 1 lecture, §0), ``F`` (the whole objective),
``gap(x)`` (a duality gap, an upper bound on F(x) − F*), the data and the weights. ``f_star`` is F* (not the
minimum of f alone), ``x_star`` the reference minimizer, ``L`` the Lipschitz constant of ∇f and ``mu`` its
strong-convexity modulus (0 when f is only convex).

The reference solution is computed here by accelerated proximal gradient with adaptive restart, run until the
duality gap certifies F(x_ref) − F* ≤ ``tol``·max(1, |F(x_ref)|) (default 1e-12); the certified gap is kept in
``info["gap_ref"]``. The tests cross-check x* and F* with scikit-learn (``Lasso``, ``ElasticNet``) and CVXPY
(Clarabel).

Duality gap (all three problems share it). With r = b − Ax and h a norm-like penalty with dual norm h°,
the dual of min (1/2m)‖Ax − b‖² + h(x) is max_ν D(ν) = (bᵀν − ½‖ν‖²)/m subject to h°(Aᵀν) ≤ m, and
ν = r·min(1, m/h°(Aᵀr)) is dual feasible, so gap(x) = F(x) − D(ν) ≥ F(x) − F* ≥ 0, zero at the minimizer
(Boyd & Vandenberghe 2004, §5.2; the same certificate scikit-learn's coordinate descent stops on).
"""
from __future__ import annotations

import numpy as np

from ..core.problems import Problem, xp
from .prox import prox_group_l2, prox_l1

__all__ = ["lasso", "elastic_net", "group_lasso", "sparse_regression", "lasso_lam_max"]


def _data(A, b):
    A = np.array(A, dtype=float)                        # private copies: the record makes them read-only
    b = np.array(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"need A of shape (m, n) and b of shape (m,), got A {A.shape} and b {b.shape}")
    return A, b


def _positive(name, value):
    """The ℓ1 weight must be > 0: with λ = 0 the dual certificate below degenerates (ν = 0)."""
    if isinstance(value, (bool, str)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def _nonneg(name, value):
    if isinstance(value, (bool, str)) or not np.all(np.isfinite(value)) or np.any(np.asarray(value) < 0):
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return value


def _reference(F, grad, prox, gap, L, n, tol, maxiter=200_000):
    """Accelerated proximal gradient (η = 1/L) with gradient restart, until gap ≤ tol·max(1, |F|)."""
    x = y = np.zeros(n)
    t, eta = 1.0, 1.0 / L
    for k in range(maxiter):
        x_new = prox(y - eta * grad(y), eta)
        if (y - x_new) @ (x_new - x) > 0:               # O'Donoghue & Candès (2015) gradient restart
            t, y = 1.0, x_new
        else:
            t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            y, t = x_new + (t - 1) / t_new * (x_new - x), t_new
        x = x_new
        if k % 10 == 0 and gap(x) <= tol * max(1.0, abs(F(x))):
            break
    g = gap(x)
    if g > tol * max(1.0, abs(F(x))):
        raise RuntimeError(f"reference solve did not reach the duality gap {tol:g}: gap {g:.3g}")
    return x, float(F(x)), float(g)


def _composite(name, A, b, smooth_l2, gfun, prox, dual_ratio, tol, info):
    """Build the record for F(x) = (1/2m)‖Ax − b‖² + (λ₂/2)‖x‖² + h(x), h = ``gfun``; ``dual_ratio(w)`` = h°(w)/m."""
    m, n = A.shape
    s = np.linalg.svd(A, compute_uv=False)

    def f(x):
        r = A @ x - b
        return 0.5 * (r @ r) / m + 0.5 * smooth_l2 * (x @ x)

    def grad(x):
        return A.T @ (A @ x - b) / m + smooth_l2 * x

    def F(x):
        return f(x) + gfun(x)

    # gap: augment A with √(mλ₂) I so the ridge term joins the least-squares part (same 1/m scaling)
    A_aug = np.vstack([A, np.sqrt(m * smooth_l2) * np.eye(n)]) if smooth_l2 > 0 else A
    b_aug = np.concatenate([b, np.zeros(n)]) if smooth_l2 > 0 else b

    def gap(x):
        x = np.asarray(x, dtype=float)
        r = b_aug - A_aug @ x
        nu = r * min(1.0, 1.0 / max(float(dual_ratio(A_aug.T @ r)), 1e-300))
        return float(F(x) - (b_aug @ nu - 0.5 * nu @ nu) / m)

    L = float(s[0] ** 2 / m + smooth_l2)
    mu = float((s[-1] ** 2 / m if m >= n else 0.0) + smooth_l2)
    x_ref, F_ref, gap_ref = _reference(F, grad, prox, gap, L, n, tol)
    return Problem(name=name, f=f, grad=grad, prox=prox, x0=np.zeros(n), x_star=x_ref, f_star=F_ref, L=L, mu=mu,
                   info={"A": A, "b": b, "g": gfun, "F": F, "gap": gap, "gap_ref": gap_ref,
                         "reference": "restarted FISTA certified by the duality gap", **info})


def lasso(A, b, lam, *, tol=1e-12, name=None) -> Problem:
    r"""The lasso, F(x) = (1/2m)‖Ax − b‖² + λ‖x‖₁ (Tibshirani 1996), scaled as scikit-learn's
    ``Lasso(alpha=λ, fit_intercept=False)``. f = (1/2m)‖Ax − b‖², h = λ‖·‖₁, prox = soft thresholding;
    L = σ_max(A)²/m, μ = σ_min(A)²/m when m ≥ n (else 0).

    >>> p = lasso(np.eye(2), np.array([1.0, 0.1]), 0.2)       # m = 2: x* = S_{mλ}(b) = (0.6, 0)
    >>> np.round(p.x_star, 10).tolist(), round(p.f_star, 10)
    ([0.6, 0.0], 0.1625)
    """
    A, b = _data(A, b)
    lam = float(_positive("lam", lam))
    m = A.shape[0]
    return _composite(name or f"lasso(m={m}, n={A.shape[1]}, λ={lam:g})", A, b, 0.0,
                      lambda x: lam * xp(x).sum(xp(x).abs(x)), lambda v, eta: prox_l1(v, eta, lam),
                      lambda w: np.max(np.abs(w)) / (m * lam), tol, {"lam": lam})


def elastic_net(A, b, lam1, lam2, *, tol=1e-12, name=None) -> Problem:
    r"""The elastic net, F(x) = (1/2m)‖Ax − b‖² + λ₁‖x‖₁ + (λ₂/2)‖x‖² (Zou & Hastie 2005).

    The ridge term belongs to the smooth part f, so f is μ-strongly convex with μ ≥ λ₂ (ISTA converges
    linearly), L = σ_max²/m + λ₂ and h = λ₁‖·‖₁. scikit-learn's ``ElasticNet(alpha=α, l1_ratio=ρ)`` is
    λ₁ = αρ, λ₂ = α(1 − ρ).

    >>> p = elastic_net(np.eye(2), np.array([1.0, 0.1]), 0.2, 0.5)  # x* = S_{mλ₁}(b)/(1 + mλ₂) = (0.3, 0)
    >>> np.round(p.x_star, 10).tolist()
    [0.3, 0.0]
    """
    A, b = _data(A, b)
    lam1, lam2 = float(_positive("lam1", lam1)), float(_nonneg("lam2", lam2))
    m = A.shape[0]
    return _composite(name or f"elastic net(m={m}, n={A.shape[1]}, λ₁={lam1:g}, λ₂={lam2:g})", A, b, lam2,
                      lambda x: lam1 * xp(x).sum(xp(x).abs(x)), lambda v, eta: prox_l1(v, eta, lam1),
                      lambda w: np.max(np.abs(w)) / (m * lam1), tol,
                      {"lam1": lam1, "lam2": lam2})


def group_lasso(A, b, lam, groups, *, weights=None, tol=1e-12, name=None) -> Problem:
    r"""The group lasso, F(x) = (1/2m)‖Ax − b‖² + λ Σ_G w_G ‖x_G‖₂ (Yuan & Lin 2006), with ``groups`` an integer
    label per coordinate (0, …, G−1; see :func:`utils.prox.prox_group_l2`) and w_G = √|G| by default.

    >>> p = group_lasso(np.eye(3), np.array([3.0, 4.0, 0.1]), 1 / 3, np.array([0, 0, 1]), weights=np.ones(2))
    >>> np.round(p.x_star, 10).tolist()                      # group 0 shrunk by 1/‖(3, 4)‖, group 1 zeroed
    [2.4, 3.2, 0.0]
    """
    A, b = _data(A, b)
    lam = float(_positive("lam", lam))
    labels = np.array(groups)
    if labels.shape != (A.shape[1],):
        raise ValueError(f"groups must hold one label per column of A ({A.shape[1]}), got shape {labels.shape}")
    prox_group_l2(np.zeros(A.shape[1]), 1.0, 0.0, labels)          # validates the labels
    sizes = np.bincount(labels)
    w = np.sqrt(sizes) if weights is None else np.asarray(weights, dtype=float)
    if not (np.all(np.isfinite(w)) and np.all(w > 0)):
        raise ValueError(f"weights must be positive and finite, got {weights!r}")
    if w.shape != sizes.shape:
        raise ValueError(f"weights must hold one weight per group ({sizes.size}), got shape {w.shape}")
    onehot = (labels[None, :] == np.arange(sizes.size)[:, None]).astype(float)
    m = A.shape[0]

    def gfun(x):
        return lam * (w @ xp(x).sqrt(onehot @ (x * x)))

    def dual_ratio(v):
        return np.max(np.sqrt(onehot @ (v * v)) / (lam * w)) / m

    return _composite(name or f"group lasso(m={m}, n={A.shape[1]}, λ={lam:g})", A, b, 0.0, gfun,
                      lambda v, eta: prox_group_l2(v, eta, lam * w, labels), dual_ratio, tol,
                      {"lam": lam, "groups": labels, "weights": w})


def lasso_lam_max(A, b) -> float:
    """λ_max = ‖Aᵀb‖∞/m: for λ ≥ λ_max the lasso's minimizer is x* = 0 (the start of the lasso path)."""
    A, b = _data(A, b)
    return float(np.max(np.abs(A.T @ b)) / A.shape[0])


def sparse_regression(m=100, n=200, k=10, *, noise=0.1, correlation=0.0, seed=0):
    """Synthetic sparse regression b = A x_true + noise·ε: rows of A i.i.d. N(0, Σ) with Σ_ij = ρ^|i−j|
    (ρ = ``correlation``), columns scaled to ‖a_j‖² = m; x_true has ``k`` non-zeros (±1 to ±2) at random places.

    Returns ``(A, b, x_true)``; the same ``seed`` gives the same data.
    """
    if not (0 <= k <= n and m >= 1):
        raise ValueError(f"need m >= 1 and 0 <= k <= n, got m={m}, n={n}, k={k}")
    if not 0 <= correlation < 1:
        raise ValueError(f"correlation must be in [0, 1), got {correlation!r}")
    g = np.random.default_rng(seed)
    Z = g.standard_normal((m, n))
    if correlation > 0:                                  # AR(1) columns: z_j = ρ z_{j−1} + √(1−ρ²) e_j
        for j in range(1, n):
            Z[:, j] = correlation * Z[:, j - 1] + np.sqrt(1 - correlation ** 2) * Z[:, j]
    A = Z / np.linalg.norm(Z, axis=0) * np.sqrt(m)
    x_true = np.zeros(n)
    support = g.choice(n, size=k, replace=False)
    x_true[support] = g.choice([-1.0, 1.0], size=k) * g.uniform(1.0, 2.0, size=k)
    b = A @ x_true + noise * g.standard_normal(m)
    return A, b, x_true
