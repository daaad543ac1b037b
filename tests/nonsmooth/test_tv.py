"""Total variation: adjointness, the ‖∇‖² ≤ 8 bound, TV by hand, and the three ROF solvers against CVXPY."""
import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from utils import tv
from utils.primal_dual import chambolle_pock, chambolle_pock_jax, operator_norm

SOLVERS = [tv.rof_chambolle_pock, tv.rof_admm, tv.rof_fista_dual]


def image(shape=(16, 16), seed=0):
    """A piecewise-constant square plus noise: the kind of image TV is made for."""
    g = np.random.default_rng(seed)
    u = np.zeros(shape)
    u[shape[0] // 4: 3 * shape[0] // 4, shape[1] // 3: shape[1] - 2] = 1.0
    return u + 0.2 * g.standard_normal(shape)


def cvxpy_rof(f, lam, iso):
    """ROF with the same Neumann-boundary TV as utils.tv. (cp.tv(U) sums only the (M−1)×(N−1) interior pixels,
    whose both forward differences exist: it drops the last row's and column's one-sided terms.)"""
    U = cp.Variable(f.shape)
    D0, D1 = U[1:, :] - U[:-1, :], U[:, 1:] - U[:, :-1]
    if iso:
        inner = cp.vstack([cp.vec(D0[:, :-1], order="C"), cp.vec(D1[:-1, :], order="C")])
        T = cp.sum(cp.norm(inner, 2, axis=0)) + cp.sum(cp.abs(D1[-1, :])) + cp.sum(cp.abs(D0[:, -1]))
    else:
        T = cp.sum(cp.abs(D0)) + cp.sum(cp.abs(D1))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(U - f) + lam * T))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return U.value, prob.value


@pytest.fixture(scope="module")
def refs():
    f = np.random.default_rng(0).random((16, 16))
    return f, {iso: cvxpy_rof(f, 0.1, iso) for iso in (True, False)}


@pytest.mark.parametrize("shape", [(5, 7), (16, 16), (2, 9)])
def test_divergence_is_minus_the_adjoint_of_the_gradient(shape):
    g = np.random.default_rng(1)
    u, p = g.standard_normal(shape), g.standard_normal((2, *shape))
    lhs, rhs = np.sum(tv.gradient(u) * p), -np.sum(u * tv.divergence(p))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


def test_gradient_by_hand_and_tv_values():
    u = np.array([[0.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(tv.gradient(u), [[[2.0, -1.0], [0.0, 0.0]], [[1.0, 0.0], [-2.0, 0.0]]])
    assert tv.tv(u, iso=True) == pytest.approx(np.sqrt(5.0) + 3.0, rel=1e-15)     # √(2²+1²) + 1 + 2
    assert tv.tv(u, iso=False) == 6.0
    assert tv.tv(np.full((4, 3), 2.5)) == 0.0                                     # constants have no variation


def test_gradient_norm_bound():
    grad_norm = operator_norm(tv.gradient, lambda p: -tv.divergence(p), (32, 32), iters=2000)
    assert grad_norm ** 2 <= tv.GRAD_NORM_SQ_BOUND
    assert grad_norm ** 2 > 7.9            # the bound is nearly tight: 8 − O(1/M²)


@pytest.mark.parametrize("iso", [True, False], ids=["isotropic", "anisotropic"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_solvers_reach_the_cvxpy_optimum_with_a_certified_gap(solver, iso, refs):
    f, ref = refs
    u_ref, p_ref = ref[iso]
    res = solver(f, 0.1, iso=iso, gap_tol=1e-7, maxiter=3000)
    assert res.success and res.gap[-1] <= 1e-7
    assert res.fun - p_ref <= res.gap[-1] + 1e-9                        # the gap bounds the suboptimality
    assert tv.rof_dual(res.p, f) <= p_ref + 1e-9                        # weak duality: D(p) ≤ P⋆
    np.testing.assert_allclose(tv.project_dual_ball(res.p, 0.1, iso), res.p, rtol=0, atol=1e-12)   # p ∈ 𝒫_λ
    np.testing.assert_allclose(res.x, u_ref, atol=np.sqrt(2 * 1e-7))    # ½‖u − u⋆‖² ≤ P(u) − P⋆ ≤ gap
    assert res.gap[1] > 1e3 * res.gap[-1]                               # the gap does go to 0


def test_accelerated_cp_converges_in_the_primal(refs):
    f, ref = refs
    err = [np.abs(tv.rof_chambolle_pock(f, 0.1, accelerate=True, gap_tol=0.0, maxiter=k).x - ref[True][0]).max()
           for k in (300, 1200)]
    assert err[0] < 5e-3 and err[1] < err[0] / 2                      # Alg. 2: ‖u_k − u⋆‖ = O(1/k)


def test_lambda_zero_and_constant_images():
    f = image((6, 6))
    for solver in SOLVERS:
        np.testing.assert_allclose(solver(f, 0.0, gap_tol=1e-12).x, f, atol=1e-9)
        np.testing.assert_allclose(solver(np.full((5, 4), 0.3), 1.0, gap_tol=1e-12).x, 0.3, atol=1e-9)


def test_cp_numpy_equals_jax_on_tv():
    f = image((8, 8))
    lam, tau = 0.15, 0.99 / np.sqrt(8)
    args = (lambda v, t: (v + t * f) / (1 + t), lambda q, s: tv.project_dual_ball(q, lam), tv.gradient,
            lambda q: -tv.divergence(q), f, np.zeros((2, 8, 8)))
    kw = dict(tau=tau, sigma=tau, K_norm=np.sqrt(8), eps_abs=0.0, maxiter=40, record_x=True,
              objective=lambda u: tv.rof_objective(u, f, lam))
    a, b = chambolle_pock(*args, **kw), chambolle_pock_jax(*args, **kw)
    assert a.nit == b.nit == 40
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.y, a.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.history.fun, a.history.fun, rtol=1e-12)
    np.testing.assert_allclose(b.residuals["s"][1:], a.residuals["s"][1:], rtol=1e-10)


def test_operators_run_under_jit():
    u = image((6, 5))
    np.testing.assert_allclose(jax.jit(tv.divergence)(jnp.asarray(tv.gradient(u))), tv.divergence(tv.gradient(u)),
                               atol=1e-14)
    assert float(jax.jit(tv.tv)(jnp.asarray(u))) == pytest.approx(tv.tv(u), rel=1e-14)


def test_psnr():
    ref = np.zeros((4, 4))
    assert tv.psnr(ref + 0.1, ref) == pytest.approx(20.0)             # MSE 0.01 → 10 log₁₀(100)
    assert tv.psnr(ref, ref) == np.inf


@pytest.mark.parametrize("solver", SOLVERS)
def test_bad_arguments_raise(solver):
    with pytest.raises(ValueError, match="f must"):
        solver(np.ones(5), 0.1)
    with pytest.raises(ValueError, match="lam"):
        solver(np.ones((3, 3)), -0.1)
    with pytest.raises(ValueError, match="f must"):
        solver(np.full((3, 3), np.nan), 0.1)
