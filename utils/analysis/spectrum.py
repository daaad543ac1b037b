"""Curvature from matrix-vector products: power iteration and Lanczos on v ↦ ∇²f(x)v.

The smoothness constant L and the strong-convexity modulus μ of a twice-differentiable f are the extreme
eigenvalues of its Hessian (over the region of interest). Forming ∇²f costs n² memory; a Hessian-vector
product (HVP) costs a small multiple of a gradient (Pearlmutter 1994). Both methods here need only
``matvec(v) = A v`` for a symmetric A given as a function on 1-D float arrays of length ``dim``; results
are NumPy (a JAX ``matvec`` is converted with ``np.asarray``).

* :func:`power_iteration` — largest-magnitude eigenpair (for a convex f that is L = λ_max(∇²f)).
* :func:`lanczos` — Ritz values θ_j and Ritz vectors from a Krylov space, full reorthogonalization.
* :func:`extreme_eigenvalues` — (λ_min, λ_max) from Lanczos: estimates of μ and L.
* :func:`hvp_matvec` — the operator v ↦ ∇²f(x)v of a :class:`utils.problems.Problem`.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["power_iteration", "lanczos", "extreme_eigenvalues", "hvp_matvec"]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _apply(matvec, v: np.ndarray, k: int) -> np.ndarray:
    """A v as a float64 NumPy vector; ``ValueError`` on a wrong shape or a non-finite product."""
    w = np.asarray(matvec(v), dtype=float)
    if w.shape != v.shape:
        raise ValueError(f"matvec must map shape {v.shape} to {v.shape}, got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"matvec returned non-finite values at iteration {k}")
    return w


def _start(dim: int, seed) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim)
    return v / np.linalg.norm(v)


def power_iteration(matvec, dim, *, num_iters=100, tol=1e-10, seed=0):
    r"""Largest-magnitude eigenpair (λ, v) of a symmetric operator A by power iteration.

    .. math::  w_k = A v_k, \quad \lambda_k = v_k^\top w_k \ (\text{Rayleigh quotient}), \quad
               v_{k+1} = w_k / \|w_k\|_2

    stopping when the residual ‖A v_k − λ_k v_k‖₂ ≤ ``tol``·|λ_k| or after ``num_iters`` products.
    The error in v shrinks like |λ₂/λ₁|ᵏ and the Rayleigh quotient's like |λ₂/λ₁|²ᵏ; when λ_max = −λ_min
    in magnitude the iteration does not settle (use :func:`lanczos`).

    Symbols ↔ arguments: A = ``matvec`` (v ↦ Av; ``scipy.sparse.linalg.LinearOperator(matvec=...)``);
    n = ``dim``; k_max = ``num_iters`` (scipy ``eigsh`` ``maxiter``); v₀ ~ N(0, I) from ``seed``.
    Returns (λ, v) with ‖v‖₂ = 1; λ is the signed eigenvalue (scipy ``eigsh(A, k=1, which="LM")``).

    Reference: Trefethen & Bau, *Numerical Linear Algebra*, 1997, Alg. 27.1; Golub & Van Loan,
    *Matrix Computations*, 4th ed. 2013, §8.2.1.

    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])             # eigenvalues 1 and 3
    >>> lam, v = power_iteration(lambda v: A @ v, 2)
    >>> round(lam, 8), bool(np.allclose(abs(v), np.sqrt(0.5)))
    (3.0, True)
    """
    dim = _positive_int("dim", dim)
    num_iters = _positive_int("num_iters", num_iters)
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be non-negative and finite, got {tol!r}")
    v = _start(dim, seed)
    lam = 0.0
    for k in range(num_iters):
        w = _apply(matvec, v, k)
        lam = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0.0:                                    # A v = 0: v is an eigenvector with λ = 0
            return 0.0, v
        if np.linalg.norm(w - lam * v) <= tol * abs(lam):
            break
        v = w / norm
    return lam, v


def lanczos(matvec, dim, num_iters, *, seed=0):
    r"""Ritz values θ₁ ≤ … ≤ θ_m and Ritz vectors of a symmetric A from the Lanczos iteration.

    .. math::  \beta_j q_{j+1} = A q_j - \alpha_j q_j - \beta_{j-1} q_{j-1}, \quad \alpha_j = q_j^\top A q_j,
               \quad T_m = Q_m^\top A Q_m = \mathrm{tridiag}(\beta, \alpha, \beta)

    θ_j, s_j are the eigenpairs of the m×m tridiagonal T_m and the Ritz vectors are y_j = Q_m s_j. The
    extreme θ_j converge to the extreme eigenvalues of A first, after far fewer than n products. Each new
    q is reorthogonalized against all previous ones (twice, "twice is enough"), which removes the ghost
    copies of converged eigenvalues that plain three-term Lanczos produces in floating point. If β_j falls
    below 1e-10·‖T‖ the Krylov space is invariant (breakdown) and the iteration stops early: θ is then
    exact and may have fewer than ``num_iters`` entries (at most ``dim``).

    Symbols ↔ arguments: A = ``matvec``; n = ``dim``; m = ``num_iters`` (scipy ``eigsh`` ``ncv``, the
    Krylov dimension); q₁ ~ N(0, I) normalized, from ``seed`` (scipy ``v0``).
    Returns (θ ascending, shape (m,); V = [y₁ … y_m], shape (n, m), orthonormal columns).

    Reference: Trefethen & Bau, *Numerical Linear Algebra*, 1997, Alg. 36.1; Golub & Van Loan,
    *Matrix Computations*, 4th ed. 2013, §10.1 and §10.3 (reorthogonalization); Lanczos (1950).

    >>> import numpy as np
    >>> A = np.diag([1.0, 10.0])
    >>> theta, V = lanczos(lambda v: A @ v, 2, num_iters=2)
    >>> np.round(theta, 10).tolist(), V.shape
    ([1.0, 10.0], (2, 2))
    """
    dim = _positive_int("dim", dim)
    m = min(_positive_int("num_iters", num_iters), dim)
    Q = np.zeros((m, dim))
    alpha, beta = [], []
    q = _start(dim, seed)
    tnorm = 0.0
    for j in range(m):
        Q[j] = q
        w = _apply(matvec, q, j)
        a = float(q @ w)
        w = w - a * q - (beta[-1] * Q[j - 1] if j > 0 else 0.0)
        for _ in range(2):                                  # full reorthogonalization, twice
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(np.linalg.norm(w))
        alpha.append(a)
        tnorm = max(tnorm, math.hypot(a, b), abs(a))
        if j == m - 1 or b <= 1e-10 * tnorm:               # budget spent, or an invariant subspace
            break
        beta.append(b)
        q = w / b
    k = len(alpha)
    T = np.diag(alpha) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    theta, S = np.linalg.eigh(T)
    return theta, Q[:k].T @ S


def extreme_eigenvalues(matvec, dim, *, num_iters=30, seed=0):
    """(λ_min, λ_max) estimates of a symmetric A: the smallest and largest Ritz values of :func:`lanczos`.

    Ritz values lie inside [λ_min, λ_max] (Cauchy interlacing), so these are inner estimates that improve
    with ``num_iters``; with ∇²f as A they estimate μ and L (over the point x where the HVP is taken).

    Symbols ↔ arguments: as :func:`lanczos`; scipy ``eigsh(A, k=1, which="SA")`` / ``which="LA"``.
    Reference: Trefethen & Bau 1997, Lecture 36; Golub & Van Loan 2013, §10.1.

    >>> import numpy as np
    >>> A = np.diag([1.0, 10.0])
    >>> [round(t, 10) for t in extreme_eigenvalues(lambda v: A @ v, 2)]
    [1.0, 10.0]
    """
    theta, _ = lanczos(matvec, dim, num_iters, seed=seed)
    return float(theta[0]), float(theta[-1])


def hvp_matvec(problem, x):
    """The operator v ↦ ∇²f(x)v of ``problem`` at ``x``, as a NumPy function for the solvers above.

    Uses ``problem.hvp(x, v)`` when present (no n×n matrix is formed), else ``problem.hess(x) @ v`` with the
    Hessian evaluated once. ``ValueError`` when the problem has neither.

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> hvp_matvec(p, p.x0)(np.array([1.0, 1.0])).tolist()
    [1.0, 10.0]
    """
    if getattr(problem, "hvp", None) is not None:
        return lambda v: np.asarray(problem.hvp(x, v), dtype=float)
    if getattr(problem, "hess", None) is not None:
        H = np.asarray(problem.hess(x), dtype=float)
        return lambda v: H @ v
    raise ValueError(f"problem {getattr(problem, 'name', problem)!r} has neither hvp nor hess")
