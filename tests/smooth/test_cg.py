"""Linear CG (vs scipy.sparse.linalg.cg, finite termination, the κ bound) and nonlinear CG (vs scipy's CG)."""
import numpy as np
import pytest
from scipy.sparse.linalg import cg as scipy_cg

from utils.cg import fletcher_reeves, linear_cg, ncg_init, ncg_step, nonlinear_cg, polak_ribiere_plus
from utils.drivers import scipy_minimize
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock

A_HAND = np.diag([1.0, 10.0])


def spd(eigs, seed=0):
    q = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigs), len(eigs))))[0]
    return (q * eigs) @ q.T


# ------------------------------------------------------------------------------------------------ linear
def test_linear_cg_by_hand():
    # r₀ = −b = (−1, −1), p₀ = (1, 1), α₀ = 2/11, x₁ = (2/11, 2/11), r₁ = (−9/11, 9/11), β₁ = 81/121,
    # p₁ = (180, −18)/121, α₁ = 0.55, x₂ = (1, 0.1) = A⁻¹b.
    res = linear_cg(lambda v: A_HAND @ v, np.ones(2), tol=0.0, atol=1e-14, record_x=True)
    np.testing.assert_allclose(res.history.x, [[0, 0], [2 / 11, 2 / 11], [1.0, 0.1]], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(res.residuals[:2], [np.sqrt(2), np.sqrt(162) / 11], rtol=1e-14)
    assert res.nit == 2 and res.success and res.njev == 3 and res.nfev == 0
    np.testing.assert_allclose(res.history.fun, [0.5 * x @ A_HAND @ x - x.sum() for x in res.history.x], rtol=1e-13)


def test_linear_cg_matches_scipy_iterate_by_iterate():
    p = quadratic(n=80, mu=1.0, L=500.0, seed=4)
    A, b = p.info["A"], p.info["b"]
    seen = []
    x_sp, info = scipy_cg(A, b, rtol=1e-10, callback=lambda xk: seen.append(xk.copy()))
    res = linear_cg(lambda v: A @ v, b, tol=1e-10, record_x=True)
    assert info == 0 and res.success and res.nit == len(seen)
    np.testing.assert_allclose(res.history.x[1:], seen, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.x, p.x_star, rtol=1e-7)


@pytest.mark.parametrize("n_distinct", [1, 3, 7])
def test_linear_cg_ends_after_as_many_steps_as_distinct_eigenvalues(n_distinct):
    eigs = np.repeat(np.linspace(1.0, 50.0, n_distinct), 200 // n_distinct + 1)[:200]
    A = spd(eigs, seed=n_distinct)
    b = np.random.default_rng(1).standard_normal(200)
    res = linear_cg(lambda v: A @ v, b, tol=1e-10)
    assert res.success and res.nit <= n_distinct + 1          # float64: one extra step at most to reach 1e-10


def test_linear_cg_finite_termination_in_n_steps_when_well_conditioned():
    p = quadratic(n=30, mu=1.0, L=10.0, seed=2)
    res = linear_cg(lambda v: p.info["A"] @ v, p.info["b"], tol=1e-12)
    assert res.success and res.nit <= 30


@pytest.mark.parametrize("spectrum", ["linear", "geometric"])
def test_linear_cg_kappa_bound_holds_at_every_step(spectrum):
    p = quadratic(n=300, mu=1.0, L=1000.0, spectrum=spectrum, seed=0)
    A = p.info["A"]
    res = linear_cg(lambda v: A @ v, p.info["b"], tol=1e-12, maxiter=150, record_x=True)
    e = res.history.x - p.x_star
    err_A = np.sqrt(np.einsum("ki,ij,kj->k", e, A, e))
    rho = (np.sqrt(1000.0) - 1) / (np.sqrt(1000.0) + 1)
    k = np.arange(len(err_A))
    assert np.all(err_A <= 2 * rho ** k * err_A[0] * (1 + 1e-8) + 1e-12)


def test_linear_cg_edge_cases():
    res = linear_cg(lambda v: np.diag([1.0, -1.0]) @ v, np.array([1.0, 2.0]))
    assert res.status == 2 and not res.success and "positive definite" in res.message
    res = linear_cg(lambda v: np.full(2, np.nan), np.ones(2))
    assert res.status == 3 and not res.success
    res = linear_cg(lambda v: A_HAND @ v, np.ones(2), x0=np.array([1.0, 0.1]))
    assert res.nit == 0 and res.success                         # x0 = x*: nothing to do
    res = linear_cg(lambda v: spd(np.arange(1.0, 21.0)) @ v, np.ones(20), callback=lambda r: r.nit == 3)
    assert res.status == 99 and res.nit == 3
    for kwargs, name in [({"tol": -1.0}, "tol"), ({"maxiter": -2}, "maxiter"), ({"x0": np.ones(3)}, "x0")]:
        with pytest.raises(ValueError, match=name):
            linear_cg(lambda v: A_HAND @ v, np.ones(2), **kwargs)
    with pytest.raises(ValueError, match="b"):
        linear_cg(lambda v: v, np.array([np.nan, 1.0]))


# ------------------------------------------------------------------------------------------------ nonlinear
def test_beta_rules_by_hand():
    g, g_new, d = np.array([1.0, 2.0]), np.array([2.0, 0.0]), np.array([-1.0, -2.0])
    assert fletcher_reeves(g_new, g, d) == pytest.approx(4 / 5)
    assert polak_ribiere_plus(g_new, g, d) == pytest.approx(2 / 5)            # g_newᵀ(g_new − g) = 2·1 = 2
    assert polak_ribiere_plus(np.array([0.5, 0.0]), g, d) == 0.0               # 0.5·(−0.5) < 0 → 0


@pytest.mark.parametrize("rule", [fletcher_reeves, polak_ribiere_plus])
def test_nonlinear_cg_with_accurate_searches_is_linear_cg_on_a_quadratic(rule):
    p = quadratic(n=12, mu=1.0, L=100.0, seed=5)
    lin = linear_cg(lambda v: p.info["A"] @ v, p.info["b"], tol=0.0, atol=1e-12, record_x=True)
    res = nonlinear_cg(p, beta_rule=rule, c1=1e-10, c2=1e-8, gtol=1e-9, maxiter=100, record_x=True)
    assert res.success and res.nit <= 12 + 3                    # n steps (+ rounding), against ~10³ for GD
    np.testing.assert_allclose(res.history.x[:6], lin.history.x[:6], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make", [lambda: rosenbrock(2), lambda: rosenbrock(6), breast_cancer_logistic])
def test_nonlinear_cg_reaches_scipys_minimizer(make):
    p = make()
    sp = scipy_minimize(p, "CG", gtol=1e-7, maxiter=5000)
    ours = nonlinear_cg(p, beta_rule=polak_ribiere_plus, c2=0.4, gtol=1e-7, maxiter=5000)
    fr = nonlinear_cg(p, beta_rule=fletcher_reeves, c2=0.1, gtol=1e-7, maxiter=5000)
    print(f"\n{p.name}: iterations PR+ {ours.nit} / FR {fr.nit} / scipy CG {sp.nit}; "
          f"f+g evaluations {ours.nfev + ours.njev} / {fr.nfev + fr.njev} / {sp.nfev + sp.njev}")
    assert ours.success and sp.success
    tol = 1e-10 * max(1.0, abs(p.f_star))
    assert ours.fun - p.f_star <= tol and sp.fun - p.f_star <= tol
    np.testing.assert_allclose(ours.x, sp.x, atol=1e-4 if "logistic" in p.name else 1e-6)
    assert fr.fun - p.f_star <= 1e-4 * max(1.0, abs(p.f_star))   # FR gets there too, if more slowly


def test_nonlinear_cg_restarts_on_non_descent_direction():
    p = quadratic(n=4, mu=1.0, L=10.0, seed=0).with_x0(np.ones(4))
    s = ncg_init(p.x0, p)
    huge = lambda g_new, g, d: 2 * (g_new @ g_new) / (g_new @ d)    # then g_{k+1}ᵀd_{k+1} = ‖g_{k+1}‖² > 0
    new = ncg_step(s, p, huge, 1.0, 1e-4, 0.1, 30)
    np.testing.assert_allclose(new.d, -new.g)
    assert new.restarts == 1
    ok = ncg_step(s, p, polak_ribiere_plus, 1.0, 1e-4, 0.1, 30)
    assert ok.restarts == 0 and ok.g @ ok.d < 0


def test_nonlinear_cg_validates_and_stops():
    p = quadratic(n=4, seed=0)
    with pytest.raises(ValueError, match="beta_rule"):
        nonlinear_cg(p, beta_rule="fletcher_reeves")
    with pytest.raises(ValueError, match="c2"):
        nonlinear_cg(p, c1=0.5, c2=0.1)
    res = nonlinear_cg(rosenbrock(2), maxiter=100, callback=lambda r: r.nit == 2)
    assert res.status == 99 and res.nit == 2
    grad = lambda x: 2 * x if x[0] > 0.3 else np.full(2, np.nan)     # f finite, ∇f NaN near the minimizer
    bad = Problem(name="nan gradient", f=lambda x: x @ x, grad=grad, x0=np.array([1.0, 1.0]))
    res = nonlinear_cg(bad, maxiter=20)
    assert res.status == 3 and not res.success and np.all(np.isfinite(res.x))
