"""Power iteration and Lanczos against dense eigvalsh, scipy's eigsh and jax.hessian."""
import numpy as np
import pytest
import scipy.sparse.linalg as sla

from utils.problems import Problem, breast_cancer_logistic, from_jax, quadratic, rosenbrock
from utils.spectrum import extreme_eigenvalues, hvp_matvec, lanczos, power_iteration


def _sym(n, seed=0):
    g = np.random.default_rng(seed)
    B = g.standard_normal((n, n))
    return 0.5 * (B + B.T)


def test_power_iteration_hand_computed_first_iterate():
    # A = diag(1, 3), v₀ the seeded unit start vector: one product gives λ = v₀ᵀAv₀ and v₁ = Av₀/‖Av₀‖.
    A = np.diag([1.0, 3.0])
    v0 = np.random.default_rng(7).standard_normal(2)
    v0 /= np.linalg.norm(v0)
    lam, v = power_iteration(lambda v: A @ v, 2, num_iters=1, tol=0.0, seed=7)
    assert lam == pytest.approx(v0 @ A @ v0, rel=1e-15)
    np.testing.assert_allclose(v, A @ v0 / np.linalg.norm(A @ v0), rtol=1e-15)
    # Converged: λ = 3, v = ±e₂.
    lam, v = power_iteration(lambda v: A @ v, 2, num_iters=200)
    assert lam == pytest.approx(3.0, rel=1e-12)
    np.testing.assert_allclose(abs(v), [0.0, 1.0], atol=1e-6)


def test_power_iteration_rate_matches_ratio_of_eigenvalues():
    # Eigenvalue error of the Rayleigh quotient shrinks like (λ₂/λ₁)^{2k} on a diagonal matrix.
    lam_true = np.array([1.0, 2.0, 5.0, 8.0, 10.0])
    A = np.diag(lam_true)
    errs = [10.0 - power_iteration(lambda v: A @ v, 5, num_iters=k, tol=0.0)[0] for k in range(10, 31)]
    slope = np.polyfit(np.arange(10, 31), np.log(errs), 1)[0]
    assert np.exp(slope) == pytest.approx((8.0 / 10.0) ** 2, rel=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_iteration_largest_magnitude_vs_eigvalsh_and_eigsh(seed):
    A = _sym(40, seed) + np.diag(np.linspace(0, 12.0, 40))      # a clear top eigenvalue
    lam, v = power_iteration(lambda v: A @ v, 40, num_iters=2000, tol=1e-12)
    ev = np.linalg.eigvalsh(A)
    top = ev[np.argmax(np.abs(ev))]
    ref = sla.eigsh(sla.LinearOperator((40, 40), matvec=lambda v: A @ v, dtype=float), k=1, which="LM",
                    return_eigenvectors=False)[0]
    assert lam == pytest.approx(top, rel=1e-10)
    assert lam == pytest.approx(ref, rel=1e-10)
    assert np.linalg.norm(A @ v - lam * v) <= 1e-9 * abs(lam)


@pytest.mark.parametrize("seed", [0, 3])
def test_lanczos_full_dimension_is_exact(seed):
    A = _sym(25, seed)
    theta, V = lanczos(lambda v: A @ v, 25, num_iters=25, seed=seed)
    np.testing.assert_allclose(theta, np.linalg.eigvalsh(A), atol=1e-10)
    np.testing.assert_allclose(V.T @ V, np.eye(25), atol=1e-10)
    np.testing.assert_allclose(A @ V, V * theta, atol=1e-8)
    assert np.all(np.diff(theta) >= 0)


def test_lanczos_extremes_vs_eigsh_on_linear_operator():
    p = quadratic(n=300, mu=0.5, L=80.0, spectrum="linear", seed=4)
    A = p.info["A"]
    op = sla.LinearOperator((300, 300), matvec=lambda v: A @ v, dtype=float)
    lo_ref = sla.eigsh(op, k=1, which="SA", return_eigenvectors=False, tol=1e-12)[0]
    hi_ref = sla.eigsh(op, k=1, which="LA", return_eigenvectors=False, tol=1e-12)[0]
    lo, hi = extreme_eigenvalues(op.matvec, 300, num_iters=80)
    assert hi == pytest.approx(hi_ref, rel=1e-8) and hi == pytest.approx(80.0, rel=1e-8)
    assert lo == pytest.approx(lo_ref, rel=1e-6) and lo == pytest.approx(0.5, rel=1e-6)
    # Ritz values are inner estimates (interlacing): never outside [λ_min, λ_max].
    theta, _ = lanczos(op.matvec, 300, num_iters=10)
    assert 0.5 - 1e-12 <= theta[0] and theta[-1] <= 80.0 + 1e-12
    # Nested Krylov spaces: θ_max grows and θ_min shrinks monotonically with m.
    ext = np.array([extreme_eigenvalues(op.matvec, 300, num_iters=m) for m in (5, 10, 20, 40)])
    assert np.all(np.diff(ext[:, 1]) >= -1e-10) and np.all(np.diff(ext[:, 0]) <= 1e-10)


def test_lanczos_breakdown_on_few_distinct_eigenvalues():
    # Three distinct eigenvalues ⇒ the Krylov space is invariant after 3 steps: θ has 3 exact entries.
    A = np.diag(np.repeat([1.0, 4.0, 9.0], 10))
    theta, V = lanczos(lambda v: A @ v, 30, num_iters=20)
    np.testing.assert_allclose(theta, [1.0, 4.0, 9.0], atol=1e-10)
    assert V.shape == (30, 3)
    theta0, V0 = lanczos(lambda v: 0.0 * v, 5, num_iters=4)
    np.testing.assert_array_equal(theta0, [0.0])
    assert V0.shape == (5, 1)


def test_against_jax_hessian_with_jax_matvec():
    import jax
    import jax.numpy as jnp

    def f(x):
        return jnp.sum(jnp.log1p(jnp.exp(jnp.sin(3 * x)))) + 0.25 * jnp.sum(x**2) * jnp.sum(jnp.cos(x))

    x = np.linspace(-1.0, 1.2, 12)
    H = np.asarray(jax.hessian(f)(x))
    ev = np.linalg.eigvalsh(H)
    p = from_jax(f, x)                                      # hvp returns JAX arrays
    mv = hvp_matvec(p, x)
    lo, hi = extreme_eigenvalues(mv, 12, num_iters=12)
    np.testing.assert_allclose([lo, hi], ev[[0, -1]], rtol=1e-10, atol=1e-12)
    lam, _ = power_iteration(lambda v: jnp.asarray(H) @ jnp.asarray(v), 12, num_iters=3000, tol=1e-13)
    assert lam == pytest.approx(ev[np.argmax(np.abs(ev))], rel=1e-8)


def test_logistic_regression_constants():
    p = breast_cancer_logistic(lam=1e-2)
    # At x = 0, σ(0)(1 − σ(0)) = 1/4 for every sample, so λ_max(∇²f(0)) = ‖X‖₂²/(4m) + λ = p.L exactly.
    assert extreme_eigenvalues(hvp_matvec(p, np.zeros(p.n)), p.n, num_iters=31)[1] == pytest.approx(p.L, rel=1e-10)
    ev = np.linalg.eigvalsh(p.hess(p.x_star))
    lo, hi = extreme_eigenvalues(hvp_matvec(p, p.x_star), p.n, num_iters=31)
    np.testing.assert_allclose([lo, hi], ev[[0, -1]], rtol=1e-9)
    assert lo >= p.mu * (1 - 1e-12) and hi <= p.L


def test_hvp_matvec_falls_back_to_hess_and_needs_one():
    p = rosenbrock(3)
    x = np.array([0.3, -0.2, 1.1])
    nohvp = Problem(name="r", f=p.f, grad=p.grad, hess=p.hess, x0=p.x0)
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(hvp_matvec(nohvp, x)(v), p.hess(x) @ v, rtol=1e-15)
    np.testing.assert_allclose(hvp_matvec(p, x)(v), p.hess(x) @ v, rtol=1e-15)
    with pytest.raises(ValueError, match="neither hvp nor hess"):
        hvp_matvec(Problem(name="bare", f=p.f, grad=p.grad, x0=p.x0), x)


@pytest.mark.parametrize("call, match", [
    (lambda mv: power_iteration(mv, 0), "dim"),
    (lambda mv: power_iteration(mv, 3, num_iters=0), "num_iters"),
    (lambda mv: power_iteration(mv, 3, tol=-1.0), "tol"),
    (lambda mv: lanczos(mv, -2, 3), "dim"),
    (lambda mv: lanczos(mv, 3, 0), "num_iters"),
    (lambda mv: lanczos(mv, 3, 2.5), "num_iters"),
    (lambda mv: extreme_eigenvalues(mv, 3, num_iters=-1), "num_iters"),
    (lambda mv: lanczos(lambda v: v[:2], 3, 2), "matvec must map"),
    (lambda mv: power_iteration(lambda v: v * np.nan, 3), "non-finite"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(lambda v: 2.0 * v)
