"""utils.portfolio: QP data and dual prices vs CVXPY + Clarabel, K-sparse projection, MIQP vs enumeration, metrics."""
import itertools

import cvxpy as cp
import numpy as np
import pytest

from utils import portfolio as pf
from utils.constrained import projected_gradient


def _cov(n, seed=0):
    g = np.random.default_rng(seed)
    B = g.standard_normal((n, 2))
    d = g.uniform(0.5, 2.0, n)
    return B, d, B @ B.T + np.diag(d), g.uniform(0.0, 1.0, n)


def test_frontier_point_and_prices_match_cvxpy():
    _, _, S, mu = _cov(8)
    w_prev = np.full(8, 1 / 8)
    r = 0.5 * (mu.mean() + mu.max())
    res = pf.mean_variance(S, mu, r, w_max=0.4, w_prev=w_prev, tau=0.6, tol=1e-10)
    w = cp.Variable(8)
    cons = [mu @ w >= r, cp.sum(w) == 1, w >= 0, w <= 0.4, cp.norm1(w - w_prev) <= 0.6]
    p = cp.Problem(cp.Minimize(0.5 * cp.quad_form(w, S)), cons)
    p.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert res.outcome == "optimal"
    assert abs(res.fun - p.value) <= 1e-8 * (1 + abs(p.value))
    np.testing.assert_allclose(res.w, w.value, atol=1e-6)
    np.testing.assert_allclose(res.prices["return"], cons[0].dual_value, atol=1e-6)
    # CVXPY's equality dual is for the constraint written sum(w) - 1 == 0: the same sign as our ν
    np.testing.assert_allclose(res.prices["budget"], cons[1].dual_value, atol=1e-6)
    np.testing.assert_allclose(res.prices["upper"], cons[3].dual_value, atol=1e-6)
    np.testing.assert_allclose(res.prices["turnover"], cons[4].dual_value, atol=1e-6)


def test_return_price_is_the_derivative_of_the_optimal_value():
    _, _, S, mu = _cov(6, seed=1)
    r, h = float(0.6 * mu.max() + 0.4 * mu.mean()), 1e-5
    lam = pf.mean_variance(S, mu, r, tol=1e-11).prices["return"][0]
    fd = (pf.mean_variance(S, mu, r + h, tol=1e-11).fun - pf.mean_variance(S, mu, r - h, tol=1e-11).fun) / (2 * h)
    assert lam > 0 and abs(fd - lam) <= 1e-4 * lam


def test_k_sparse_projection_is_the_best_among_all_supports():
    g = np.random.default_rng(2)
    for _ in range(20):
        v, K = g.standard_normal(6), int(g.integers(1, 5))
        w = pf.project_k_sparse_simplex(v, K)
        assert np.count_nonzero(w) <= K and abs(w.sum() - 1) < 1e-12 and w.min() >= 0
        from utils.prox import project_simplex
        best = min(np.sum((v - _embed(project_simplex(v[list(s)]), s, 6)) ** 2)
                   for s in itertools.combinations(range(6), K))
        assert np.sum((v - w) ** 2) <= best + 1e-12


def _embed(x, s, n):
    w = np.zeros(n)
    w[list(s)] = x
    return w


def test_miqp_formulations_agree_with_enumeration_and_iht_is_feasible():
    B, d, S, _ = _cov(8, seed=3)
    K = 3
    ref = pf.enumerate_supports(S, K)
    assert ref["count"] == 56
    for make in (lambda: pf.cardinality_bigm(S, K), lambda: pf.cardinality_perspective(B, d, K)):
        p, w, z = make()
        p.solve(solver="SCIP")
        assert abs(p.value - ref["fun"]) <= 1e-5 * ref["fun"]
        assert set(np.flatnonzero(w.value > 1e-6)) <= set(ref["support"])
    lb_bigm = pf.cardinality_bigm(S, K, relax=True)[0].solve(solver="CLARABEL")
    lb_persp = pf.cardinality_perspective(B, d, K, relax=True)[0].solve(solver="CLARABEL")
    assert lb_bigm <= lb_persp + 1e-7 and lb_persp <= ref["fun"] + 1e-7
    iht = projected_gradient(pf.k_sparse_problem(S, K), maxiter=2000, gtol=1e-10)
    assert np.count_nonzero(iht.x) <= K and iht.fun >= ref["fun"] - 1e-9


def test_metrics_and_walk_forward():
    assert pf.max_drawdown(np.array([0.1, 0.1])) == 0.0
    assert abs(pf.max_drawdown(np.array([-0.2, 0.1, -0.5])) - (1 - 0.8 * 1.1 * 0.5 / 1.0)) < 1e-12
    R = np.array([[0.1, 0.0], [0.0, 0.0], [0.0, 0.0]])
    out = pf.walk_forward(R, lambda X, w: np.array([0.5, 0.5]), window=1, step=1, start=0 + 1)
    assert out["turnover"][0] == 1.0 and out["turnover"][1] == 0.0
    out = pf.walk_forward(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]), lambda X, w: np.array([0.5, 0.5]),
                          window=1, step=1)
    # after +100% on asset 0 the drifted weights are (2/3, 1/3): rebalancing to (½, ½) trades 1/3
    assert abs(out["turnover"][1] - 1 / 3) < 1e-12


@pytest.mark.parametrize("call", [
    lambda: pf.frontier_qp(np.ones((2, 3))),
    lambda: pf.frontier_qp(np.eye(2), r=1.0),
    lambda: pf.frontier_qp(np.eye(2), tau=0.1),
    lambda: pf.frontier_qp(np.eye(2), w_max=0.0),
    lambda: pf.project_k_sparse_simplex(np.ones(3), 0),
    lambda: pf.enumerate_supports(np.eye(3), 1, w_max=0.5),
    lambda: pf.cardinality_perspective(np.zeros((2, 1)), np.array([1.0, 0.0]), 1),
    lambda: pf.sharpe_ratio(np.array([1.0])),
    lambda: pf.walk_forward(np.zeros((3, 2)), lambda X, w: w, window=5, step=1),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
