"""ISTA and FISTA: hand iterates, NumPy == JAX, references, measured rates, edge cases."""
import numpy as np
import pytest
from sklearn.linear_model import Lasso

from utils import proximal as PM
from utils.composite import elastic_net, lasso, lasso_lam_max, sparse_regression
from utils.problems import Problem, xp
from utils.prox import prox_l1

A_HAND = np.diag([1.0, 10.0])


def _hand(lam=1.0):
    """F(x) = ½(x₁² + 10x₂²) + λ‖x‖₁ from x₀ = (1, 1); x* = 0."""
    g = lambda x: lam * xp(x).sum(xp(x).abs(x))
    return Problem(name="½xᵀAx + λ‖x‖₁", f=lambda x: 0.5 * x @ (A_HAND @ x), grad=lambda x: A_HAND @ x,
                   prox=lambda v, t: prox_l1(v, t, lam), x0=np.array([1.0, 1.0]), x_star=np.zeros(2), f_star=0.0,
                   L=10.0, mu=1.0, info={"g": g})


HAND = _hand()
SHARP = Problem(name="|x₁| + 2|x₂|", f=lambda x: xp(x).abs(x[0]) + 2 * xp(x).abs(x[1]),
                grad=lambda x: xp(x).sign(x) * xp(x).asarray([1.0, 2.0]), x0=np.array([1.0, 1.0]),
                x_star=np.zeros(2), f_star=0.0)


@pytest.fixture(scope="module")
def las():
    A, b, _ = sparse_regression(m=60, n=100, k=5, noise=0.1, seed=1)
    return lasso(A, b, 0.05 * lasso_lam_max(A, b))


# ------------------------------------------------------------------------------------ hand-computed iterates
@pytest.mark.parametrize("solver", [PM.ista, PM.ista_jax])
def test_ista_hand_computed(solver):
    # η = 0.1, λ = 1: x₀ − η∇f = (0.9, 0) → S_0.1 → (0.8, 0); then (0.72, 0) → (0.62, 0).
    res = solver(HAND, eta=0.1, maxiter=2, gtol=0.0, record_x=True)
    np.testing.assert_allclose(res.history.x, [[1, 1], [0.8, 0], [0.62, 0]], atol=1e-15)
    np.testing.assert_allclose(res.history.fun, [7.5, 1.12, 0.5 * 0.62 ** 2 + 0.62], rtol=1e-14)
    np.testing.assert_allclose(res.history.grad_norm[0], np.hypot(2.0, 10.0), rtol=1e-14)   # G_η(x₀) = (2, 10)
    assert list(res.history.njev) == [1, 2, 3] and res.status == 1


@pytest.mark.parametrize("solver", [PM.fista, PM.fista_jax])
def test_fista_hand_computed(solver):
    t1 = (1 + np.sqrt(5)) / 2
    t2 = (1 + np.sqrt(1 + 4 * t1 ** 2)) / 2
    y2 = 0.62 + (t1 - 1) / t2 * (0.62 - 0.8)                 # y₁ = x₁ since (t₀ − 1)/t₁ = 0
    x3 = max(0.9 * y2 - 0.1, 0.0)
    res = solver(HAND, eta=0.1, maxiter=3, gtol=0.0, record_x=True)
    np.testing.assert_allclose(res.history.x, [[1, 1], [0.8, 0], [0.62, 0], [x3, 0]], atol=1e-15)
    np.testing.assert_allclose(res.history.grad_norm[3], abs(y2 - x3) / 0.1, rtol=1e-12)     # ‖G_η(y₂)‖


# --------------------------------------------------------------------------------------------- NumPy == JAX
@pytest.mark.parametrize("name", ["ista", "ista_bt", "fista", "fista_restart"])
def test_numpy_and_jax_agree_on_the_lasso(las, name):
    kw = {"ista": ({}, PM.ista, PM.ista_jax), "ista_bt": ({"eta": 20 / las.L, "backtracking": True}, PM.ista, PM.ista_jax),
          "fista": ({}, PM.fista, PM.fista_jax), "fista_restart": ({"restart": PM.gradient_restart}, PM.fista, PM.fista_jax)}
    opts, np_solver, jax_solver = kw[name]
    a = np_solver(las, maxiter=150, gtol=0.0, record_x=True, **opts)
    b = jax_solver(las, maxiter=150, gtol=0.0, record_x=True, **opts)
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.history.fun, a.history.fun, rtol=1e-12)
    np.testing.assert_array_equal(b.history.nfev, a.history.nfev)
    np.testing.assert_array_equal(b.history.njev, a.history.njev)


# ------------------------------------------------------------------------------------------------ references
@pytest.mark.parametrize("solver", [PM.ista, PM.fista])
def test_ista_fista_reach_sklearn_lasso(las, solver):
    A, b, lam = las.info["A"], las.info["b"], las.info["lam"]
    sk = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=200_000).fit(A, b)
    res = solver(las, maxiter=20_000, gtol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.x, sk.coef_, atol=1e-8)
    assert las.info["gap"](res.x) <= 1e-9


# ---------------------------------------------------------------------------------------------- measured rates
def test_ista_and_fista_bounds(las):
    r0 = np.sum((las.x0 - las.x_star) ** 2)
    ista = PM.ista(las, maxiter=500, gtol=0.0)
    k = np.arange(1, ista.nit + 1)
    assert np.all(ista.history.fun[1:] - las.f_star <= las.L * r0 / (2 * k))
    assert np.all(np.diff(ista.history.fun) <= 1e-15)                       # ISTA with η = 1/L is monotone
    fista = PM.fista(las, maxiter=500, gtol=0.0)
    k = np.arange(1, fista.nit + 1)
    assert np.all(fista.history.fun[1:] - las.f_star <= 2 * las.L * r0 / (k + 1) ** 2)
    bt = PM.ista(las, eta=50 / las.L, backtracking=True, rho=0.5, maxiter=500, gtol=0.0)
    eta_lo = min(50 / las.L, 0.5 / las.L)
    k = np.arange(1, bt.nit + 1)
    assert np.all(bt.history.fun[1:] - las.f_star <= r0 / (2 * eta_lo * k))
    assert bt.nfev > 2 * bt.nit                                              # it did evaluate f to backtrack
    assert fista.history.fun[60] - las.f_star < ista.history.fun[60] - las.f_star


def test_restart_helps_on_a_strongly_convex_lasso():
    A, b, _ = sparse_regression(m=200, n=50, k=5, seed=4, correlation=0.6)
    p = lasso(A, b, 0.01 * lasso_lam_max(A, b))
    plain = PM.fista(p, maxiter=3000, gtol=1e-10)
    rest = PM.fista(p, restart=PM.gradient_restart, maxiter=3000, gtol=1e-10)
    assert rest.success and rest.nit < plain.nit


def test_ista_linear_rate_on_elastic_net():
    A, b, _ = sparse_regression(m=40, n=60, k=5, seed=5)
    p = elastic_net(A, b, 0.05, 0.5)
    res = PM.ista(p, maxiter=200, gtol=0.0, record_x=True)
    err = np.linalg.norm(res.history.x - p.x_star, axis=1)
    q = 1 - p.mu / p.L                                  # ‖x_k − x*‖ ≤ (1 − 1/κ)ᵏ ‖x₀ − x*‖
    k = np.arange(len(err))
    assert np.all(err <= q ** k * err[0] * (1 + 1e-9) + 1e-14)
    half = k[10:120]
    measured = np.exp(np.polyfit(half, np.log(err[half]), 1)[0])
    assert measured <= q


# ------------------------------------------------------------------------------------------------ edge cases
def test_nan_stops_with_status_3():
    p = _hand()
    bad = Problem(name="nan", f=lambda x: xp(x).where(x[0] < 0.7, xp(x).nan, 0.5 * x @ (A_HAND @ x)),
                  grad=p.grad, prox=p.prox, x0=p.x0, info=p.info)
    for solver in (PM.ista, PM.fista, PM.ista_jax):
        res = solver(bad, eta=0.1, maxiter=50, gtol=0.0)
        assert res.status == 3 and not res.success and res.nit == 2
        np.testing.assert_allclose(res.x, [0.8, 0.0])


def test_gtol_stops_with_success_and_callback_stops():
    res = PM.ista(HAND, eta=0.1, maxiter=1000, gtol=1e-9)
    assert res.success and res.status == 0 and res.history.grad_norm[-1] <= 1e-9
    seen = []
    res = PM.fista(HAND, eta=0.1, maxiter=1000, gtol=0.0, callback=lambda r: seen.append(r.nit) or r.nit == 4)
    assert res.status == 99 and res.nit == 4 and seen == [1, 2, 3, 4]


def test_gradient_mapping_is_zero_exactly_at_the_minimizer(las):
    assert np.linalg.norm(PM.gradient_mapping(las, las.x_star, 1 / las.L)) < 1e-7
    assert np.linalg.norm(PM.gradient_mapping(las, las.x0, 1 / las.L)) > 1e-2


@pytest.mark.parametrize("call, name", [
    (lambda: PM.ista(HAND, eta=-1.0), "eta"), (lambda: PM.fista(HAND, eta=0.0), "eta"),
    (lambda: PM.ista(HAND, eta=0.1, backtracking=True, rho=1.5), "rho"),
    (lambda: PM.fista(HAND, restart="yes"), "restart"), (lambda: PM.ista(HAND, x0=np.zeros(3)), "x0"),
    (lambda: PM.ista(SHARP), "composite"),
])
def test_bad_arguments_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()
