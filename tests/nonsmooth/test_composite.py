"""Composite problems: reference solutions vs scikit-learn and CVXPY, duality gaps, data generator."""
import cvxpy as cp
import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso

from utils.composite import elastic_net, group_lasso, lasso, lasso_lam_max, sparse_regression

CLARABEL = dict(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)


@pytest.fixture(scope="module")
def data():
    return sparse_regression(m=50, n=80, k=5, noise=0.1, seed=3)


@pytest.mark.parametrize("frac", [0.5, 0.1, 0.02])
def test_lasso_matches_sklearn_and_cvxpy(data, frac):
    A, b, _ = data
    lam = frac * lasso_lam_max(A, b)
    p = lasso(A, b, lam)
    sk = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=200_000).fit(A, b)
    np.testing.assert_allclose(p.x_star, sk.coef_, atol=1e-7)
    assert abs(p.info["F"](sk.coef_) - p.f_star) <= 1e-10
    x = cp.Variable(A.shape[1])
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b) / (2 * len(b)) + lam * cp.norm1(x)))
    prob.solve(**CLARABEL)
    assert abs(prob.value - p.f_star) <= 1e-8 * max(1, abs(p.f_star))
    assert p.info["F"](x.value) >= p.f_star - 1e-12                     # nobody beats the certified value
    assert 0 <= p.info["gap_ref"] <= 1e-12 * max(1, p.f_star)


def test_elastic_net_matches_sklearn(data):
    A, b, _ = data
    alpha, l1_ratio = 0.05, 0.7
    p = elastic_net(A, b, alpha * l1_ratio, alpha * (1 - l1_ratio))
    sk = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-14, max_iter=200_000).fit(A, b)
    np.testing.assert_allclose(p.x_star, sk.coef_, atol=1e-8)
    assert p.mu >= alpha * (1 - l1_ratio) and p.L >= p.mu


def test_group_lasso_matches_cvxpy(data):
    A, b, _ = data
    groups = np.repeat(np.arange(16), 5)
    p = group_lasso(A, b, 0.05, groups)
    x = cp.Variable(A.shape[1])
    pen = sum(np.sqrt(5) * cp.norm2(x[groups == i]) for i in range(16))
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b) / (2 * len(b)) + 0.05 * pen))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    np.testing.assert_allclose(p.x_star, x.value, atol=1e-5)
    assert abs(prob.value - p.f_star) <= 1e-8 * max(1, p.f_star)
    zero = [np.all(p.x_star[groups == i] == 0) for i in range(16)]
    assert any(zero) and not all(zero)                                  # whole groups are switched off


@pytest.mark.parametrize("make", [lambda A, b: lasso(A, b, 0.05), lambda A, b: elastic_net(A, b, 0.05, 0.1),
                                  lambda A, b: group_lasso(A, b, 0.05, np.repeat(np.arange(16), 5))])
def test_duality_gap_bounds_the_suboptimality(data, make):
    A, b, _ = data
    p = make(A, b)
    g = np.random.default_rng(0)
    for scale in (1e-3, 1e-1, 1.0):
        x = p.x_star + scale * g.standard_normal(A.shape[1])
        sub = p.info["F"](x) - p.f_star
        assert 0 <= sub <= p.info["gap"](x) + 1e-12
    assert p.info["gap"](p.x_star) <= 1e-11
    np.testing.assert_allclose(p.info["F"](p.x0), p.f(p.x0) + p.info["g"](p.x0))


def test_lam_max_is_where_the_solution_leaves_zero(data):
    A, b, _ = data
    lm = lasso_lam_max(A, b)
    assert np.all(lasso(A, b, lm).x_star == 0)
    assert np.count_nonzero(lasso(A, b, 0.95 * lm).x_star) >= 1


def test_composite_functions_run_under_jax(data):
    import jax
    import jax.numpy as jnp

    A, b, _ = data
    for p in (lasso(A, b, 0.05), group_lasso(A, b, 0.05, np.repeat(np.arange(16), 5))):
        x = np.random.default_rng(1).standard_normal(A.shape[1])
        for fn in (p.f, p.grad, p.info["g"], p.info["F"], lambda v: p.prox(v, 0.3)):
            np.testing.assert_allclose(np.asarray(jax.jit(fn)(jnp.asarray(x))), fn(x), rtol=1e-12, atol=1e-14)


def test_sparse_regression_is_seeded_and_sparse():
    A1, b1, x1 = sparse_regression(30, 40, 4, seed=7)
    A2, b2, x2 = sparse_regression(30, 40, 4, seed=7)
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_array_equal(b1, b2)
    assert np.count_nonzero(x1) == 4 and np.all(np.abs(x1[x1 != 0]) >= 1)
    np.testing.assert_allclose(np.sum(A1 ** 2, axis=0), 30)
    A3, _, _ = sparse_regression(2000, 3, 1, correlation=0.8, seed=0)
    assert abs(np.corrcoef(A3[:, 0], A3[:, 1])[0, 1] - 0.8) < 0.05
    assert not np.array_equal(sparse_regression(30, 40, 4, seed=8)[0], A1)


@pytest.mark.parametrize("call, name", [
    (lambda A, b: lasso(A, b, -1.0), "lam"), (lambda A, b: lasso(A, b, 0.0), "lam"),
    (lambda A, b: lasso(A, b[:-1], 1.0), "A"), (lambda A, b: elastic_net(A, b, 0.0, 1.0), "lam1"),
    (lambda A, b: elastic_net(A, b, 0.1, np.nan), "lam2"),
    (lambda A, b: group_lasso(A, b, 0.1, np.zeros(3, int)), "groups"),
    (lambda A, b: group_lasso(A, b, 0.1, np.repeat(np.arange(16), 5), weights=np.ones(3)), "weights"),
    (lambda A, b: sparse_regression(10, 5, 6), "k"), (lambda A, b: sparse_regression(10, 5, 2, correlation=1.0), "correlation"),
])
def test_bad_arguments_raise(data, call, name):
    A, b, _ = data
    with pytest.raises(ValueError, match=name):
        call(A, b)
