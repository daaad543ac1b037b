"""ADMM and Chambolle–Pock: hand iterates, NumPy == JAX, agreement with scikit-learn and CVXPY, edge cases."""
import cvxpy as cp
import numpy as np
import pytest
from sklearn.linear_model import Lasso

from utils.primal_dual import chambolle_pock, chambolle_pock_jax, operator_norm
from utils.problems import xp
from utils.prox import prox_l1
from utils.splitting import admm, admm_jax, admm_lasso, admm_lasso_jax

# The 2-D quadratic of the docstrings: f(x) = ½(x₁² + 10x₂²), g(z) = ½‖z − a‖², a = (1, 1); x − z = 0.
D, A1 = np.array([1.0, 10.0]), np.ones(2)
X_STAR = np.array([0.5, 1.0 / 11.0])


def x_upd(z, u, rho):        # argmin ½xᵀDx + ρ/2‖x − z + u‖²
    return rho * (z - u) / (D + rho)


def z_upd(x, u, rho):        # argmin ½‖z − a‖² + ρ/2‖x − z + u‖²
    return (A1 + rho * (x + u)) / (1.0 + rho)


def lasso_data(m, n, seed=0):
    g = np.random.default_rng(seed)
    A = g.standard_normal((m, n))
    x_true = np.zeros(n)
    x_true[:3] = [1.0, -2.0, 1.5]
    return A, A @ x_true + 0.1 * g.standard_normal(m)


@pytest.mark.parametrize("solver", [admm, admm_jax])
def test_admm_hand_computed_first_iterates(solver):
    res = solver(x_upd, z_upd, np.zeros(2), np.zeros(2), rho=1.0, eps_abs=1e-3, eps_rel=1e-2, maxiter=2, record_x=True)
    # k=1: x₁ = 0, z₁ = a/2, u₁ = −a/2, r₁ = x₁ − z₁ = −a/2, s₁ = ρAᵀB(z₁ − z₀) = −a/2: both of norm √½
    # k=2: x₂ = (z₁ − u₁)/(d + 1) = (½, 1/11), z₂ = (a + x₂ + u₁)/2, u₂ = u₁ + x₂ − z₂
    x2 = np.array([0.5, 1 / 11])
    z2 = (A1 + x2 - 0.5) / 2
    np.testing.assert_allclose(res.history.x, [[0, 0], [0, 0], x2], atol=1e-15)
    np.testing.assert_allclose(res.z, z2, atol=1e-15)
    np.testing.assert_allclose(res.u, -0.5 + x2 - z2, atol=1e-15)
    r, s = res.residuals["r"], res.residuals["s"]
    assert np.isnan(r[0]) and np.isnan(s[0])
    np.testing.assert_allclose([r[1], s[1]], [np.sqrt(0.5), np.sqrt(0.5)], rtol=1e-14)
    np.testing.assert_allclose([r[2], s[2]], [np.linalg.norm(x2 - z2), np.linalg.norm(z2 - 0.5)], rtol=1e-14)
    # ε_pri = √2 ε_abs + ε_rel max(‖x₁‖, ‖z₁‖, ‖c‖);  ε_dual = √2 ε_abs + ε_rel ‖ρ u₁‖
    np.testing.assert_allclose(res.residuals["eps_pri"][1], np.sqrt(2) * 1e-3 + 1e-2 * np.sqrt(0.5), rtol=1e-14)
    np.testing.assert_allclose(res.residuals["eps_dual"][1], np.sqrt(2) * 1e-3 + 1e-2 * np.sqrt(0.5), rtol=1e-14)
    assert res.nit == 2 and res.status == 1 and not res.success


@pytest.mark.parametrize("solver", [chambolle_pock, chambolle_pock_jax])
def test_cp_hand_computed_first_iterates(solver):
    # prox_{τf}(v) = v/(1 + τd); g*(y) = ½‖y‖² + aᵀy so prox_{σg*}(v) = (v − σa)/(1 + σ). τ = σ = ½, x̄₀ = x₀ = 0.
    # y₁ = −a/3, x₁ = (τ/3)/(1 + τd) = (1/9, 1/36), x̄₁ = 2x₁; r₁ = −2x₁, s₁ = (2/3)a − x₁.
    res = solver(lambda v, t: v / (1 + t * D), lambda v, s: (v - s * A1) / (1 + s), np.eye(2), None, np.zeros(2),
                 np.zeros(2), tau=0.5, sigma=0.5, K_norm=1.0, maxiter=1, record_x=True)
    x1 = np.array([1 / 9, 1 / 36])
    np.testing.assert_allclose(res.x, x1, atol=1e-15)
    np.testing.assert_allclose(res.y, -A1 / 3, atol=1e-15)
    np.testing.assert_allclose(res.residuals["r"][1], 2 * np.linalg.norm(x1), rtol=1e-14)
    np.testing.assert_allclose(res.residuals["s"][1], np.linalg.norm(2 / 3 * A1 - x1), rtol=1e-14)


@pytest.mark.parametrize("solver", [admm, chambolle_pock])
def test_converges_on_the_quadratic(solver):
    if solver is admm:
        res = admm(x_upd, z_upd, np.zeros(2), np.zeros(2), eps_abs=1e-10, eps_rel=0.0)
        np.testing.assert_allclose(res.z, X_STAR, atol=1e-9)
    else:
        res = chambolle_pock(lambda v, t: v / (1 + t * D), lambda v, s: (v - s * A1) / (1 + s), np.eye(2), None,
                             np.zeros(2), np.zeros(2), tau=0.9, sigma=0.9, eps_abs=1e-10)
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, X_STAR, atol=1e-9)
    i = res.nit
    r = res.residuals
    assert r["r"][i] <= r["eps_pri"][i] and r["s"][i] <= r["eps_dual"][i]


@pytest.mark.parametrize("shape, balance", [((40, 15), False), ((15, 40), True)])   # Cholesky; m < n lemma
def test_admm_lasso_matches_sklearn_and_numpy_equals_jax(shape, balance):
    A, b = lasso_data(*shape)
    lam = 0.1
    ref = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(A, b).coef_
    res = admm_lasso(A, b, lam, rho=1.0, eps_abs=1e-11, eps_rel=1e-11, maxiter=1000, balance=balance)
    assert res.success
    np.testing.assert_allclose(res.z, ref, atol=1e-8)
    jx = admm_lasso_jax(A, b, lam, rho=1.0, eps_abs=1e-11, eps_rel=1e-11, maxiter=1000, balance=balance)
    assert jx.nit == res.nit and jx.status == res.status
    np.testing.assert_allclose(jx.z, res.z, atol=1e-12)
    np.testing.assert_allclose(jx.history.fun, res.history.fun, rtol=1e-12)
    for key in ("r", "s", "eps_pri", "eps_dual", "rho"):
        np.testing.assert_allclose(jx.residuals[key], res.residuals[key], rtol=1e-9, atol=1e-13)


def test_admm_lasso_matches_cvxpy():
    A, b = lasso_data(30, 60, seed=1)
    m, lam = A.shape[0], 0.05
    x = cp.Variable(A.shape[1])
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b) / (2 * m) + lam * cp.norm1(x)))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    res = admm_lasso(A, b, lam, eps_abs=1e-11, eps_rel=1e-11, maxiter=20_000)
    assert res.success
    np.testing.assert_allclose(res.fun, prob.value, rtol=1e-9)
    np.testing.assert_allclose(res.z, x.value, atol=1e-6)


def test_admm_least_absolute_deviations_matches_cvxpy():
    # minimize (1/m)‖Ax − b‖₁ as f(x) = 0, g(z) = (1/m)‖z‖₁, Ax − z = b (Boyd et al. 2011, §6.1)
    g = np.random.default_rng(3)
    A = g.standard_normal((60, 5))
    b = A @ np.arange(1.0, 6.0) + g.standard_normal(60)
    b[::10] += 20.0                                                   # outliers
    m = A.shape[0]
    AtA_inv_At = np.linalg.solve(A.T @ A, A.T)
    res = admm(lambda z, u, rho: AtA_inv_At @ (z + b - u), lambda x, u, rho: prox_l1(A @ x - b + u, 1.0 / rho, 1.0 / m),
               np.zeros(5), np.zeros(m), A=A, B=-1.0, c=b, rho=1.0, eps_abs=1e-10, eps_rel=1e-10, maxiter=20_000,
               objective=lambda x, z: np.abs(A @ x - b).sum() / m)
    x = cp.Variable(5)
    prob = cp.Problem(cp.Minimize(cp.norm1(A @ x - b) / m))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert res.success
    np.testing.assert_allclose(res.fun, prob.value, rtol=1e-8)
    np.testing.assert_allclose(res.x, x.value, atol=1e-6)


def test_residual_balancing_rescues_a_bad_rho():
    A, b = lasso_data(40, 15)
    kw = dict(eps_abs=1e-8, eps_rel=1e-8, maxiter=500)
    fixed = admm_lasso(A, b, 0.1, rho=1e-4, **kw)
    balanced = admm_lasso(A, b, 0.1, rho=1e-4, balance=True, **kw)
    assert balanced.success and balanced.nit < 100 and fixed.status == 1      # fixed ρ = 1e-4: not in 500
    rho = balanced.residuals["rho"]
    assert rho[-1] > 1e-3 and np.all(np.isin(rho[2:] / rho[1:-1], [0.5, 1.0, 2.0]))   # ρ only ×2, ÷2 or kept


def test_balancing_can_stop_after_k_iterations():
    A, b = lasso_data(40, 15)
    res = admm_lasso(A, b, 0.1, rho=1e-4, balance=5, eps_abs=0.0, eps_rel=0.0, maxiter=20)
    rho = res.residuals["rho"]
    np.testing.assert_allclose(rho[1:6], 1e-4 * 2.0 ** np.arange(1, 6))      # r ≫ s at first: ρ doubles
    assert np.all(rho[6:] == rho[5])
    with pytest.raises(ValueError, match="balance"):
        admm_lasso(A, b, 0.1, balance=-1)


def test_balancing_keeps_the_unscaled_dual():
    # one step with ρ doubled: the returned y = ρ_new u_new equals the y of the same step without balancing
    A, b = lasso_data(40, 15)
    a = admm_lasso(A, b, 0.1, rho=1e-3, maxiter=1)
    c = admm_lasso(A, b, 0.1, rho=1e-3, maxiter=1, balance=True)
    assert c.rho == 2e-3 and a.rho == 1e-3
    np.testing.assert_allclose(c.y, a.y, rtol=1e-14)


def test_cp_on_lasso_matches_admm():
    # F(x) = (1/2m)‖Ax − b‖² + λ‖x‖₁ with f = λ‖·‖₁, K = A, g(w) = (1/2m)‖w − b‖²: prox_{σg*}(v) = (v − σb)/(1 + σm)
    A, b = lasso_data(40, 15)
    m, lam = A.shape[0], 0.1
    L = np.linalg.norm(A, 2)
    res = chambolle_pock(lambda v, t: prox_l1(v, t, lam), lambda v, s: (v - s * b) / (1 + s * m), A, None,
                         np.zeros(15), np.zeros(40), tau=0.99 / L, sigma=0.99 / L, K_norm=L, eps_abs=1e-10,
                         maxiter=50_000)
    ref = admm_lasso(A, b, lam, eps_abs=1e-11, eps_rel=1e-11)
    assert res.success
    np.testing.assert_allclose(res.x, ref.z, atol=1e-7)


def test_operator_norm_power_iteration():
    M = np.random.default_rng(0).standard_normal((30, 20))
    est = operator_norm(lambda v: M @ v, lambda w: M.T @ w, (20,), iters=500)
    np.testing.assert_allclose(est, np.linalg.norm(M, 2), rtol=1e-8)


@pytest.mark.parametrize("kwargs, name", [
    ({"rho": 0.0}, "rho"), ({"rho": -1.0}, "rho"), ({"eps_abs": -1.0}, "eps_abs"), ({"eps_rel": np.nan}, "eps_rel"),
    ({"tau_incr": 1.0}, "tau_incr"), ({"tau_decr": 0.5}, "tau_decr"), ({"mu": 0.0}, "mu"), ({"maxiter": -1}, "maxiter"),
    ({"u0": np.zeros(3)}, "u0"), ({"x0": np.array([np.nan, 0.0])}, "x0"),
])
def test_admm_bad_arguments_raise(kwargs, name):
    args = dict(x0=np.zeros(2), z0=np.zeros(2))
    args.update({k: kwargs.pop(k) for k in ("x0",) if k in kwargs})
    with pytest.raises(ValueError, match=name):
        admm(x_upd, z_upd, args["x0"], args["z0"], **kwargs)


def test_admm_needs_functions_and_lasso_checks_its_data():
    with pytest.raises(ValueError, match="x_update"):
        admm("solve", z_upd, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="lam"):
        admm_lasso(np.eye(2), np.ones(2), -1.0)
    with pytest.raises(ValueError, match="shape"):
        admm_lasso(np.eye(2), np.ones(3), 0.1)


@pytest.mark.parametrize("kwargs, name", [
    ({"tau": 1.0, "sigma": 1.0, "K_norm": 1.0}, "step condition"),     # τσ‖K‖² = 1 is not < 1
    ({"tau": 2.0, "sigma": 0.6, "K_norm": 1.0}, "step condition"),
    ({"tau": 0.0, "sigma": 0.5}, "tau"), ({"tau": 0.5, "sigma": -1.0}, "sigma"),
    ({"tau": 0.5, "sigma": 0.5, "theta": 1.5}, "theta"), ({"tau": 0.5, "sigma": 0.5, "K_norm": -1.0}, "K_norm"),
])
def test_cp_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        chambolle_pock(lambda v, t: v, lambda v, s: v, np.eye(2), None, np.zeros(2), np.zeros(2), **kwargs)
    with pytest.raises(ValueError, match="y0"):
        chambolle_pock(lambda v, t: v, lambda v, s: v, np.eye(2), None, np.zeros(2), np.zeros(3), tau=0.5, sigma=0.5)


@pytest.mark.parametrize("solver", [admm, admm_jax])
def test_nan_stops_with_status_3(solver):
    def bad_x(z, u, rho):        # NaN once z₁ > 0.45: z₁ = ½ after the first iteration, so x₂ is NaN
        return x_upd(z, u, rho) + xp(z).where(z[0] > 0.45, np.nan, 0.0)

    res = solver(bad_x, z_upd, np.zeros(2), np.zeros(2), eps_abs=0.0, eps_rel=0.0, maxiter=50)
    assert res.status == 3 and not res.success and res.nit == 2 and "iteration 2" in res.message
    np.testing.assert_allclose(res.x, [0.0, 0.0])                     # the last finite iterate x₁
    np.testing.assert_allclose(res.z, [0.5, 0.5])


def test_cp_diverges_when_the_step_condition_fails_badly():
    # K = 3I, τσ‖K‖² = 9 · 1 = 9: the iteration blows up (no K_norm given, so no check).
    res = chambolle_pock(lambda v, t: v / (1 + t * D), lambda v, s: (v - s * A1) / (1 + s), 3 * np.eye(2), None,
                         np.zeros(2), np.zeros(2), tau=1.0, sigma=1.0, maxiter=5000, eps_abs=1e-10)
    assert res.status == 3 and not res.success


@pytest.mark.parametrize("how", ["return", "raise"])
def test_callback_can_stop(how):
    seen = []

    def cb(r):
        seen.append(r.nit)
        if r.nit == 3:
            if how == "raise":
                raise StopIteration
            return True

    res = admm(x_upd, z_upd, np.zeros(2), np.zeros(2), eps_abs=0.0, eps_rel=0.0, callback=cb)
    assert res.status == 99 and res.nit == 3 and seen == [1, 2, 3] and len(res.history) == 4
