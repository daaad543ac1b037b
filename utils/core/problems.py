"""Reference problems: one immutable record, written once against the array namespace.

Each problem's ``f``, ``grad``, ``hess`` and ``hvp`` use array operators and the namespace of their argument
(:func:`xp`), so the *same* function runs eagerly on NumPy arrays, under ``jax.jit`` on JAX arrays, and beside
scipy/CVXPY in the cross-checks. Known constants (``x_star``, ``f_star``, ``L``, ``mu``) are exact where the
problem allows (quadratics) and come from a named reference solver otherwise.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

import numpy as np

__all__ = ["Problem", "xp", "quadratic", "least_squares", "logistic_regression", "breast_cancer_logistic",
           "rosenbrock", "from_jax"]


def xp(x):
    """The array namespace of ``x``: ``jax.numpy`` for JAX arrays and tracers, else ``numpy``."""
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.Array):
        return jax.numpy
    return np


@dataclass(frozen=True, eq=False)
class Problem:
    """minimize f(x) over x ∈ ℝⁿ (plus a prox or projection for composite / constrained problems).

    Equality and hashing are by identity, so a problem can be a static argument of ``jax.jit``: the same
    problem object reuses the compiled driver. ``x0``, ``x_star`` and the arrays in ``info`` (which the
    functions close over) are made read-only, so the record cannot be changed behind its functions' back.
    """

    name: str
    f: Callable
    grad: Callable
    x0: np.ndarray
    hess: Optional[Callable] = None
    hvp: Optional[Callable] = None          # hvp(x, v) = ∇²f(x) v
    prox: Optional[Callable] = None         # prox(x, t) = argmin_u h(u) + ‖u − x‖²/(2t)
    project: Optional[Callable] = None      # Euclidean projection onto the feasible set
    x_star: Optional[np.ndarray] = None
    f_star: Optional[float] = None
    L: Optional[float] = None               # Lipschitz constant of ∇f
    mu: Optional[float] = None              # strong-convexity modulus
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if not callable(self.f):
            raise TypeError(f"Problem {self.name!r}: f must be a function x -> f(x) (a scalar), got {self.f!r}")
        for name in ("grad", "hess", "hvp", "prox", "project"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"Problem {self.name!r}: {name} must be None or a function, got {value!r}")
        for name in ("x0", "x_star"):
            value = getattr(self, name)
            if value is not None:
                arr = np.array(value, dtype=float)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)
        for value in self.info.values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def n(self) -> int:
        return int(np.size(self.x0))

    @property
    def kappa(self) -> Optional[float]:
        """Condition number κ = L/μ when both are known."""
        return None if self.L is None or not self.mu else self.L / self.mu

    def with_x0(self, x0) -> "Problem":
        """The same problem from another starting point."""
        return replace(self, x0=np.asarray(x0, dtype=float))


# --------------------------------------------------------------------------------------------- quadratics
def _spectrum(n: int, mu: float, L: float, shape: str) -> np.ndarray:
    if shape == "linear":
        return np.linspace(mu, L, n)
    if shape == "geometric":
        return np.geomspace(mu, L, n)
    if shape == "two_clusters":        # half the eigenvalues near μ, half near L: where CG shines
        lo, hi = n // 2, n - n // 2    # each cluster starts at its end point, so μ and L are attained
        return np.concatenate([np.linspace(mu, 1.1 * mu, lo), np.linspace(L, 0.9 * L, hi)[::-1]]).clip(mu, L)
    raise ValueError(f"spectrum={shape!r} is not one of 'linear', 'geometric', 'two_clusters'")


def quadratic(n: int = 20, mu: float = 1.0, L: float = 100.0, *, spectrum: str = "linear", rotate: bool = True,
              seed: int = 0) -> Problem:
    """f(x) = ½ xᵀAx − bᵀx with eigenvalues of A chosen in [μ, L] (both attained), so κ = L/μ exactly.

    A = Q diag(λ) Qᵀ with Q a random orthogonal matrix (``rotate=True``) or the identity. x* = A⁻¹b and
    f* = −½ bᵀx* are computed from the eigendecomposition, hence exact to rounding.
    """
    if not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not (np.isfinite(mu) and np.isfinite(L) and 0 < mu <= L):
        raise ValueError(f"need 0 < mu <= L, got mu={mu!r}, L={L!r}")
    g = np.random.default_rng(seed)
    lam = _spectrum(int(n), float(mu), float(L), spectrum)
    Q = np.linalg.qr(g.standard_normal((n, n)))[0] if rotate else np.eye(n)
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    b = g.standard_normal(n)
    x_star = Q @ ((Q.T @ b) / lam)
    return Problem(
        name=f"quadratic(n={n}, κ={L / mu:g}, {spectrum})",
        f=lambda x: 0.5 * x @ (A @ x) - b @ x,
        grad=lambda x: A @ x - b,
        hess=lambda x: A,
        hvp=lambda x, v: A @ v,
        x0=np.zeros(n), x_star=x_star, f_star=float(-0.5 * b @ x_star), L=float(L), mu=float(mu),
        info={"A": A, "b": b, "eigenvalues": lam, "Q": Q},
    )


def least_squares(A, b, *, name: str = "least squares") -> Problem:
    """f(x) = (1/2m)‖Ax − b‖² for A of shape (m, n); L = σ_max²/m, μ = σ_min²/m (0 when rank-deficient)."""
    A = np.array(A, dtype=float)                         # private copies: the record makes them read-only
    b = np.array(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"need A of shape (m, n) and b of shape (m,), got A {A.shape} and b {b.shape}")
    m, n = A.shape
    s = np.linalg.svd(A, compute_uv=False)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    r = A @ x_star - b
    mu = s[-1] ** 2 / m if m >= n and s[-1] > s[0] * 1e-12 else 0.0
    return Problem(
        name=name,
        f=lambda x: 0.5 * ((A @ x - b) @ (A @ x - b)) / m,
        grad=lambda x: A.T @ (A @ x - b) / m,
        hess=lambda x: A.T @ A / m,
        hvp=lambda x, v: A.T @ (A @ v) / m,
        x0=np.zeros(n), x_star=x_star, f_star=float(0.5 * r @ r / m), L=float(s[0] ** 2 / m), mu=float(mu),
        info={"A": A, "b": b},
    )


# ------------------------------------------------------------------------------------- logistic regression
def logistic_regression(X, y, lam: float, *, name: str = "logistic regression") -> Problem:
    """f(x) = (1/m) Σᵢ log(1 + exp(−yᵢ aᵢᵀx)) + (λ/2)‖x‖², labels yᵢ ∈ {−1, +1}, aᵢ the rows of X.

    L = ‖X‖₂²/(4m) + λ and μ = λ. The minimizer is found by a reference solver (scipy's ``trust-exact``
    Newton method on the exact Hessian, driven to ‖∇f‖ ≤ 1e-12), so ``x_star``/``f_star`` are accurate to
    about machine precision; tests cross-check them with scikit-learn and CVXPY (Clarabel).
    """
    X = np.array(X, dtype=float)                         # private copies: the record makes them read-only
    y = np.array(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"need X of shape (m, n) and y of shape (m,), got X {X.shape} and y {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("labels y must be in {-1, +1}")
    if not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be positive (it is the strong-convexity modulus μ), got {lam!r}")
    m, n = X.shape
    Z = y[:, None] * X                                   # rows yᵢ aᵢ

    def f(x):
        return xp(x).mean(xp(x).logaddexp(0.0, -(Z @ x))) + 0.5 * lam * (x @ x)

    def _sigma(x):                                       # σ(−yᵢ aᵢᵀx) = 1/(1 + exp(yᵢ aᵢᵀx))
        return 0.5 * (1.0 - xp(x).tanh(0.5 * (Z @ x)))

    def grad(x):
        return -(Z.T @ _sigma(x)) / m + lam * x

    def hess(x):
        s = _sigma(x)
        return (X.T * (s * (1.0 - s))) @ X / m + lam * xp(x).eye(n)

    def hvp(x, v):
        s = _sigma(x)
        return X.T @ (s * (1.0 - s) * (X @ v)) / m + lam * v

    from scipy.optimize import minimize

    ref = minimize(f, np.zeros(n), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-12})
    residual = np.linalg.norm(grad(ref.x))
    if residual > 1e-8:
        raise RuntimeError(f"reference solve for {name!r} did not converge: ‖∇f‖ = {residual:.2e} ({ref.message})")
    return Problem(name=name, f=f, grad=grad, hess=hess, hvp=hvp, x0=np.zeros(n), x_star=ref.x,
                   f_star=float(ref.fun), L=float(np.linalg.norm(X, 2) ** 2 / (4 * m) + lam), mu=float(lam),
                   info={"X": X, "y": y, "lam": lam, "reference": "scipy trust-exact, gtol=1e-12"})


def breast_cancer_logistic(lam: float = 1e-2, *, intercept: bool = True) -> Problem:
    """ℓ2-regularized logistic regression on scikit-learn's bundled Wisconsin breast-cancer data
    (569 samples, 30 features, standardized; a column of ones appended for the intercept, regularized like
    every other coefficient so that μ = λ holds)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    if intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    y = np.where(data.target == 1, 1.0, -1.0)
    return logistic_regression(X, y, lam, name=f"logistic regression, breast cancer (λ={lam:g})")


# ------------------------------------------------------------------------------------------------ Rosenbrock
def rosenbrock(n: int = 2) -> Problem:
    """f(x) = Σᵢ₌₁ⁿ⁻¹ [100 (x_{i+1} − x_i²)² + (1 − x_i)²], the chained form of scipy's ``rosen``;
    x* = (1, …, 1), f* = 0, started from the classic (−1.2, 1, −1.2, 1, …)."""
    if not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"n must be an integer >= 2, got {n!r}")

    def f(x):
        return xp(x).sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def grad(x):
        ns = xp(x)
        t = x[1:] - x[:-1] ** 2
        z = ns.zeros_like(x[:1])
        return ns.concatenate([-400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1]), z]) + ns.concatenate([z, 200.0 * t])

    def hess(x):
        ns = xp(x)
        z = ns.zeros_like(x[:1])
        d = ns.concatenate([1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0, z]) + ns.concatenate([z, ns.full_like(x[1:], 200.0)])
        o = -400.0 * x[:-1]
        return ns.diag(d) + ns.diag(o, 1) + ns.diag(o, -1)

    def hvp(x, v):
        return hess(x) @ v

    x0 = np.tile([-1.2, 1.0], (n + 1) // 2)[:n]
    return Problem(name=f"rosenbrock(n={n})", f=f, grad=grad, hess=hess, hvp=hvp, x0=x0, x_star=np.ones(n),
                   f_star=0.0, info={})


# ------------------------------------------------------------------------------------------ autodiff builder
def from_jax(f: Callable, x0, *, name: str = "jax problem", **known: Any) -> Problem:
    """Turn any JAX-traceable scalar function into a problem: gradient by reverse mode, Hessian-vector
    product by forward-over-reverse (``jvp`` of ``grad``), dense Hessian by ``jax.hessian``; all jitted.

    ``known`` passes ``x_star``, ``f_star``, ``L``, ``mu``, ``prox``, ``project``, ``info`` through.
    The functions return JAX arrays; call ``np.asarray`` on results where NumPy is needed.
    """
    import jax

    g = jax.grad(f)
    return Problem(name=name, f=jax.jit(f), grad=jax.jit(g), hess=jax.jit(jax.hessian(f)),
                   hvp=jax.jit(lambda x, v: jax.jvp(g, (x,), (v,))[1]), x0=np.asarray(x0, dtype=float),
                   **known)
