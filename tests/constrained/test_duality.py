"""utils.duality: strong duality on random LPs/QPs against HiGHS and CVXPY (Clarabel) with their multipliers'
signs, weak duality at random feasible points, the lasso gap along FISTA iterates, the SVM dual by SMO against
scikit-learn's SVC on real data, conjugates against a numerical sup, KKT residuals, bad input."""
import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import linprog, minimize
from scipy.special import logsumexp, softmax
from sklearn.linear_model import Lasso
from sklearn.svm import SVC

import utils
from utils import duality as du
from utils.datasets import load_bundled

CLARABEL = dict(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)


def rel(a, b):
    return abs(a - b) / max(1.0, abs(b))


# ------------------------------------------------------------------------------------------------------- LP
def random_lp(seed, m, n):
    """Standard-form LP with a strictly feasible primal point x0 and dual point (y0, s0): bounded, p* = d*."""
    g = np.random.default_rng(seed)
    A = g.standard_normal((m, n))
    x0, y0, s0 = g.uniform(0.1, 1.0, n), g.standard_normal(m), g.uniform(0.1, 1.0, n)
    return A, A @ x0, A.T @ y0 + s0, x0, y0


@pytest.mark.parametrize("seed,m,n", [(0, 3, 8), (1, 5, 12), (2, 8, 20)])
def test_lp_strong_duality_highs_and_clarabel(seed, m, n):
    A, b, c, *_ = random_lp(seed, m, n)
    res = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    assert res.status == 0
    y = res.eqlin.marginals                     # HiGHS: ∂p*/∂b, which is the dual variable y of max bᵀy
    assert rel(du.lp_dual(c, A, b, y), res.fun) < 1e-9
    cert = du.lp_duality_gap(c, A, b, res.x, y)
    assert abs(cert.gap) < 1e-9 * (1 + abs(res.fun)) and cert.primal_residual < 1e-9 and cert.dual_residual < 1e-9
    # the dual LP, max bᵀy s.t. Aᵀy ≤ c, solved on its own has the same optimum
    dual = linprog(-b, A_ub=A.T, b_ub=c, bounds=(None, None), method="highs")
    assert rel(-dual.fun, res.fun) < 1e-9

    x = cp.Variable(n)
    eq, nonneg = A @ x == b, x >= 0
    prob = cp.Problem(cp.Minimize(c @ x), [eq, nonneg])
    prob.solve(**CLARABEL)
    nu = eq.dual_value                         # CVXPY, B&V sign: L = cᵀx + νᵀ(Ax − b) − sᵀx, so y = −ν
    assert rel(prob.value, res.fun) < 1e-8
    assert rel(du.lp_dual(c, A, b, -nu, tol=1e-7), res.fun) < 1e-8
    assert np.allclose(-nu, y, atol=1e-6 * (1 + np.abs(y).max()))          # random data: the dual is unique
    assert np.allclose(nonneg.dual_value, c - A.T @ y, atol=1e-6 * (1 + np.abs(c).max()))   # s = c − Aᵀy


def test_lp_weak_duality_at_random_feasible_points():
    A, b, c, x0, y0 = random_lp(3, 6, 15)
    g = np.random.default_rng(0)
    N = np.linalg.svd(A)[2][A.shape[0]:].T                                # null space of A
    n_dual = 0
    for _ in range(200):
        d = N @ g.standard_normal(N.shape[1])
        neg = d < 0
        t = g.uniform(0, 1) * np.min(-x0[neg] / d[neg])                  # stays x ≥ 0
        x = x0 + t * d
        y = y0 + g.standard_normal(A.shape[0]) * g.choice([0.01, 0.1, 1.0])
        q, p = du.lp_dual(c, A, b, y), c @ x
        assert q <= p + 1e-12 * (1 + abs(p))
        if np.isfinite(q):
            n_dual += 1
            cert = du.lp_duality_gap(c, A, b, x, y)
            assert cert.gap >= -1e-12 * (1 + abs(p))
            assert abs(cert.gap - x @ (c - A.T @ y)) < 1e-10 * (1 + abs(p))   # gap = xᵀs on feasible pairs
        else:
            assert np.max(A.T @ y - c) > 0
    assert n_dual > 20                                                     # both branches were exercised


def test_inequality_lp_strong_duality_and_signs():
    g = np.random.default_rng(4)
    m, n = 14, 5
    G = g.standard_normal((m, n))
    x0 = g.standard_normal(n)
    h = G @ x0 + g.uniform(0.1, 1.0, m)
    lam0 = g.uniform(0.1, 1.0, m)
    c = -G.T @ lam0                                                        # λ0 dual feasible: bounded
    res = linprog(c, A_ub=G, b_ub=h, bounds=(None, None), method="highs")
    lam = -res.ineqlin.marginals                                           # HiGHS: ∂p*/∂h = −λ ≤ 0
    assert np.all(lam >= -1e-12)
    assert rel(du.lp_ineq_dual(c, G, h, lam), res.fun) < 1e-9
    cert = du.lp_ineq_duality_gap(c, G, h, res.x, lam)
    assert abs(cert.gap) < 1e-9 * (1 + abs(res.fun)) and cert.dual_residual < 1e-9
    x = cp.Variable(n)
    ineq = G @ x <= h
    cp.Problem(cp.Minimize(c @ x), [ineq]).solve(**CLARABEL)
    assert np.allclose(ineq.dual_value, lam, atol=1e-6)                    # CVXPY: λ ≥ 0 as it is
    assert du.lp_ineq_dual(c, G, h, lam0) <= res.fun + 1e-12 and du.lp_ineq_dual(c, G, h, lam0 + 0.1) == -np.inf
    # an LP is a QP with Q = 0: the two dual functions agree
    assert rel(du.qp_dual(np.zeros((n, n)), c, G, h, None, None, lam, None, tol=1e-7), res.fun) < 1e-9


# ------------------------------------------------------------------------------------------------------- QP
def random_qp(seed, n=8, mi=10, me=3, rank=None):
    g = np.random.default_rng(seed)
    M = g.standard_normal((n, rank or n))
    Q = M @ M.T + (0.1 * np.eye(n) if rank is None else 0.0)
    G, A = g.standard_normal((mi, n)), g.standard_normal((me, n))
    x0 = g.standard_normal(n)
    h, b = G @ x0 + g.uniform(0.1, 1.0, mi), A @ x0
    return Q, g.standard_normal(n), G, h, A, b, x0


def solve_qp_cvxpy(Q, c, G, h, A, b):
    x = cp.Variable(c.size)
    ineq, eq = G @ x <= h, A @ x == b
    prob = cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, cp.psd_wrap(Q)) + c @ x), [ineq, eq])
    prob.solve(**CLARABEL)
    assert prob.status == "optimal"
    return x.value, prob.value, ineq.dual_value, eq.dual_value


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qp_strong_duality_against_clarabel(seed):
    Q, c, G, h, A, b, _ = random_qp(seed)
    x, p, lam, nu = solve_qp_cvxpy(Q, c, G, h, A, b)      # CVXPY duals in B&V signs: λ ≥ 0, L = f + λᵀ(Gx−h) + νᵀ(Ax−b)
    assert rel(du.qp_dual(Q, c, G, h, A, b, lam, nu, tol=1e-7), p) < 1e-8
    assert np.allclose(du.qp_lagrangian_minimizer(Q, c, G, h, A, b, lam, nu), x, atol=1e-6)
    kkt = du.kkt_residual(Q @ x + c, G @ x - h, G, A @ x - b, A, x, lam, nu)
    assert kkt.max < 1e-7, kkt
    assert du.kkt_residual(Q @ x + c, G @ x - h, G, A @ x - b, A, x, -lam - 1e-3, nu).dual_feasibility > 1e-3
    # the dual problem on its own: maximize q(λ, ν) = −½rᵀQ⁻¹r − hᵀλ − bᵀν over λ ≥ 0 (Clarabel)
    L_ = np.linalg.cholesky(np.linalg.inv(Q))
    lv, nv = cp.Variable(G.shape[0]), cp.Variable(A.shape[0])
    r = c + G.T @ lv + A.T @ nv
    dual = cp.Problem(cp.Maximize(-0.5 * cp.sum_squares(L_.T @ r) - h @ lv - b @ nv), [lv >= 0])
    dual.solve(**CLARABEL)
    assert rel(dual.value, p) < 1e-8


def test_qp_weak_duality_and_gap_identity():
    Q, c, G, h, A, b, x0 = random_qp(5)
    g = np.random.default_rng(1)
    N = np.linalg.svd(A)[2][A.shape[0]:].T
    for _ in range(100):
        d = N @ g.standard_normal(N.shape[1])
        slack, Gd = h - G @ x0, G @ d
        t = g.uniform(0, 1) * np.min(slack[Gd > 0] / Gd[Gd > 0])          # stays feasible: Gx ≤ h, Ax = b
        x = x0 + t * d
        lam, nu = g.exponential(size=G.shape[0]), g.standard_normal(A.shape[0])
        cert = du.qp_duality_gap(Q, c, G, h, A, b, x, lam, nu)
        assert cert.dual <= cert.primal + 1e-12 * (1 + abs(cert.primal))
        assert rel(cert.dual, du.qp_dual(Q, c, G, h, A, b, lam, nu)) < 1e-14
        xh = du.qp_lagrangian_minimizer(Q, c, G, h, A, b, lam, nu)
        expected = 0.5 * (x - xh) @ Q @ (x - xh) + lam @ (h - G @ x)        # the docstring's identity
        assert abs(cert.gap - expected) < 1e-9 * (1 + abs(cert.primal))
        assert cert.primal_residual < 1e-12 and cert.dual_residual == 0.0


def test_qp_psd_domain_condition():
    n = 6
    Q, c, G, h, A, b, _ = random_qp(7, n=n, rank=3)
    G, h = np.vstack([G, np.eye(n), -np.eye(n)]), np.concatenate([h, 5 * np.ones(2 * n)])   # a box: bounded
    x, p, lam, nu = solve_qp_cvxpy(Q, c, G, h, A, b)
    assert rel(du.qp_dual(Q, c, G, h, A, b, lam, nu, tol=1e-6), p) < 1e-7       # r* ∈ range(Q) at the optimum
    g = np.random.default_rng(2)
    lam_r, nu_r = g.exponential(size=G.shape[0]), g.standard_normal(A.shape[0])
    assert du.qp_dual(Q, c, G, h, A, b, lam_r, nu_r) == -np.inf                  # generic r ∉ range(Q)
    # choose c so that r ∈ range(Q): q is then the infimum of L, found independently by least squares
    u = g.standard_normal(n)
    c2 = Q @ u - G.T @ lam_r - A.T @ nu_r
    q = du.qp_dual(Q, c2, G, h, A, b, lam_r, nu_r)

    def L(z):
        return 0.5 * z @ Q @ z + c2 @ z + lam_r @ (G @ z - h) + nu_r @ (A @ z - b)

    z = np.linalg.lstsq(Q, -(c2 + G.T @ lam_r + A.T @ nu_r), rcond=None)[0]
    null = np.linalg.eigh(Q)[1][:, :3]
    assert rel(q, L(z)) < 1e-10 and rel(q, L(z + null @ g.standard_normal(3))) < 1e-10
    assert all(L(g.standard_normal(n) * 3) >= q - 1e-10 for _ in range(50))


def test_kkt_residual_hand_example_and_scaling():
    # minimize x₁ + x₂ s.t. x₁² + x₂² ≤ 2 and x₁ − x₂ = 0: x* = (−1, −1), λ* = ½, ν* = 0
    args = (lambda x: np.ones(2), lambda x: np.array([x @ x - 2]), lambda x: 2 * x[None, :],
            lambda x: np.array([x[0] - x[1]]), lambda x: np.array([[1.0, -1.0]]))
    assert du.kkt_residual(*args, np.array([-1.0, -1.0]), [0.5], [0.0]).max < 1e-15
    r = du.kkt_residual(*args, np.array([0.0, 0.0]), [1.0], [0.0], scaled=False)
    assert r == (1.0, 0.0, 0.0, 2.0)                                    # ∇f = (1, 1), g = −2, λg = −2
    assert du.kkt_residual(*args, np.array([0.0, 0.0]), [1.0], [0.0]) == (0.5, 0.0, 0.0, 1.0)
    r = du.kkt_residual(*args, np.array([2.0, 0.0]), [-1.0], [0.0], scaled=False)
    assert r.primal_feasibility == 2.0 and r.dual_feasibility == 1.0 and r.complementarity == 2.0
    # unconstrained: the gradient alone
    assert du.kkt_residual(np.array([3.0, -4.0]), None, None, None, None, np.zeros(2), None, None,
                           scaled=False) == (4.0, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------------- lasso
def test_lasso_gap_along_fista_and_week3_certificate():
    A, b, _ = utils.sparse_regression(m=50, n=100, k=5, seed=0)
    m, lam_w3 = A.shape[0], 0.1 * utils.lasso_lam_max(A, b)
    p = utils.lasso(A, b, lam_w3)
    lam = m * lam_w3                                    # P(x) = m·F_week3(x)
    res = utils.fista(p, restart=utils.proximal.gradient_restart, gtol=1e-10, maxiter=3000, record_x=True)
    gaps = np.array([du.lasso_duality_gap(A, b, lam, x) for x in res.history.x])
    subopt = np.array([du.lasso_primal(A, b, lam, x) for x in res.history.x]) - m * p.f_star
    scale = max(1.0, m * p.f_star)
    assert np.all(gaps >= subopt - 1e-10 * scale)       # an upper bound on P(x_k) − P* (f_star certified 1e-12)
    assert np.all(gaps >= -1e-12 * scale)
    assert gaps[0] > 1.0 and gaps[-1] < 1e-9 * scale    # → 0 along the iterates
    assert np.min(gaps[len(gaps) // 2:]) < 1e-6 * gaps[0]
    for x in res.history.x[::25]:                       # the week-3 certificate is this one divided by m
        assert abs(du.lasso_duality_gap(A, b, lam, x) / m - p.info["gap"](x)) < 1e-11 * (1 + gaps[0])
    nu = b - A @ p.x_star                               # ν* = residual; Aᵀν* ∈ λ∂‖x*‖₁
    support = np.abs(p.x_star) > 1e-8
    assert np.max(np.abs(A.T @ nu)) <= lam * (1 + 1e-7)
    assert np.allclose(A.T[support] @ nu, lam * np.sign(p.x_star[support]), rtol=1e-6)
    assert rel(du.lasso_dual(A, b, lam, nu, tol=1e-7), m * p.f_star) < 1e-10
    # scikit-learn's Lasso stops on the same certificate, scaled by 1/m
    sk = Lasso(alpha=lam_w3, fit_intercept=False, tol=1e-6, max_iter=10_000).fit(A, b)
    assert rel(du.lasso_duality_gap(A, b, lam, sk.coef_) / m, sk.dual_gap_) < 1e-4 or sk.dual_gap_ < 1e-14


def test_lasso_gap_nonnegative_for_arbitrary_x():
    g = np.random.default_rng(3)
    A, b = g.standard_normal((30, 60)), g.standard_normal(30)
    x_fit = np.linalg.lstsq(A, b, rcond=None)[0]                 # r = 0: ν(x) = 0, gap = λ‖x‖₁
    for lam in (0.01, 1.0, 100.0):
        for scale in (0.0, 1e-3, 1.0, 1e3):
            for _ in range(10):
                x = scale * g.standard_normal(60) * (g.uniform(size=60) < 0.3)
                gap = du.lasso_duality_gap(A, b, lam, x)
                assert gap >= -1e-12 * max(1.0, du.lasso_primal(A, b, lam, x))
                nu = du.lasso_dual_point(A, b, lam, x)
                assert np.max(np.abs(A.T @ nu)) <= lam * (1 + 1e-12)
        assert rel(du.lasso_duality_gap(A, b, lam, x_fit), lam * np.abs(x_fit).sum()) < 1e-8


# ------------------------------------------------------------------------------------------------------ SVM
def sklearn_alpha(svc, y):
    a = np.zeros(y.size)
    a[svc.support_] = svc.dual_coef_[0] * y[svc.support_]        # dual_coef_ = yᵢαᵢ on the support vectors
    return a


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_svm_smo_matches_sklearn_on_breast_cancer(C):
    X, y = load_bundled("breast_cancer")                        # standardized, y ∈ {−1, +1}
    res = du.svm_smo(X, y, C, tol=1e-12)
    assert res.success, res.message
    assert res.gap <= 1e-12 * abs(res.fun) and rel(res.primal, res.fun) < 1e-11     # strong duality
    svc = SVC(kernel="linear", C=C, tol=1e-8).fit(X, y)
    assert list(svc.classes_) == [-1.0, 1.0]
    a_sk = sklearn_alpha(svc, y)
    assert np.all(a_sk >= 0) and np.max(a_sk) <= C * (1 + 1e-12)
    assert np.max(np.abs(res.x - a_sk)) < 2e-5 * C
    assert set(np.flatnonzero(res.x > 1e-7 * C)) == set(svc.support_)
    assert np.allclose(res.w, svc.coef_[0], rtol=0, atol=1e-5 * np.abs(res.w).max())
    assert abs(res.b - svc.intercept_[0]) < 1e-5
    assert rel(du.svm_dual(X, y, C, a_sk), res.fun) < 1e-10     # the dual is flat at the top: values agree best
    p_sk = du.svm_primal(X, y, C, svc.coef_[0], svc.intercept_[0])
    assert -1e-10 * res.fun < p_sk - res.fun < 1e-5 * res.fun   # sklearn's primal point, certified by our dual
    assert du.svm_duality_gap(X, y, C, a_sk).gap >= res.gap - 1e-10 * res.fun
    # KKT: αᵢ = 0 ⇒ yᵢfᵢ ≥ 1, 0 < αᵢ < C ⇒ yᵢfᵢ = 1, αᵢ = C ⇒ yᵢfᵢ ≤ 1
    yf = y * (X @ res.w + res.b)
    zero, at_c = res.x <= 1e-9 * C, res.x >= C * (1 - 1e-9)
    free = ~(zero | at_c)
    assert np.all(yf[zero] >= 1 - 1e-6) and np.all(yf[at_c] <= 1 + 1e-6) and np.allclose(yf[free], 1, atol=1e-6)
    h = res.history                                             # monotone ascent, feasible, certified gap
    assert np.all(np.diff(h.fun) >= -1e-12 * abs(res.fun)) and np.all(h.gap >= -1e-10 * abs(res.fun))
    assert abs(y @ res.x) < 1e-10 * C * y.size and h.gap[0] > 1.0


def test_svm_primal_optimum_against_clarabel_and_wine_subset():
    X, y = load_bundled("breast_cancer")
    C = 0.1
    w, b, xi = cp.Variable(X.shape[1]), cp.Variable(), cp.Variable(X.shape[0])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C * cp.sum(xi)),
                      [cp.multiply(y, X @ w + b) >= 1 - xi, xi >= 0])
    prob.solve(**CLARABEL)
    res = du.svm_smo(X, y, C, tol=1e-12)
    assert rel(res.fun, prob.value) < 1e-8 and np.allclose(res.w, w.value, atol=1e-5)

    Xw, cls = load_bundled("wine")                              # cultivars 0 and 1: 130 wines × 13 features
    keep = cls < 2
    Xw, yw = Xw[keep], np.where(cls[keep] == 1, 1.0, -1.0)
    res = du.svm_smo(Xw, yw, 1.0, tol=1e-12)
    svc = SVC(kernel="linear", C=1.0, tol=1e-8).fit(Xw, yw)
    assert res.success and np.max(np.abs(res.x - sklearn_alpha(svc, yw))) < 1e-4
    assert rel(du.svm_dual(Xw, yw, 1.0, sklearn_alpha(svc, yw)), res.fun) < 1e-9


def test_svm_hand_examples():
    X, y = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 1.0]]), np.array([1.0, -1.0, 1.0])
    res = du.svm_smo(X, y, 10.0)                               # hard margin: w = (1, 0), b = 0, α = (½, ½, 0)
    assert np.allclose(res.x, [0.5, 0.5, 0.0], atol=1e-10) and np.allclose(res.w, [1, 0], atol=1e-10)
    # C small: both α at the bound C, w = C(x₁ − x₂), b from the KKT interval's midpoint (no free vector)
    res = du.svm_smo(X[:2], y[:2], 0.1)
    assert np.allclose(res.x, [0.1, 0.1]) and np.allclose(res.w, [0.2, 0.0]) and abs(res.b) < 1e-12
    assert rel(res.fun, 0.2 - 0.5 * 0.04) < 1e-12 and res.gap < 1e-12
    assert du.svm_dual(X, y, 1.0, [0.5, 0.2, 0.0]) == -np.inf and du.svm_dual(X, y, 1.0, [2.0, 2.0, 0.0]) == -np.inf
    stop = du.svm_smo(X, y, 10.0, callback=lambda r: True, check_every=1)
    assert stop.status == 99 and not stop.success
    short = du.svm_smo(*load_bundled("breast_cancer"), 1.0, maxiter=20)
    assert short.status == 1 and not short.success and short.nit == 20 and short.gap > 0


# ------------------------------------------------------------------------------------------------ conjugates
def numerical_sup(fun, y, x0):
    """sup_x yᵀx − f(x) by BFGS from x0 (concave objective)."""
    r = minimize(lambda x: fun(x) - y @ x, x0, method="BFGS", options={"gtol": 1e-10})
    return -r.fun


def test_conjugates_of_smooth_functions_by_numerical_sup():
    g = np.random.default_rng(0)
    M = g.standard_normal((3, 3))
    Q = M @ M.T + np.eye(3)
    for _ in range(3):
        y = g.standard_normal(3)
        assert rel(numerical_sup(lambda x: 0.5 * x @ Q @ x, y, np.zeros(3)), du.conj_quadratic(y, Q)) < 1e-8
        r = minimize(lambda x: du.neg_entropy(x) - y @ x, np.ones(3), method="L-BFGS-B",
                     bounds=[(1e-300, None)] * 3, options={"ftol": 1e-15, "gtol": 1e-12})
        assert rel(-r.fun, du.conj_neg_entropy(y)) < 1e-8
        p = g.dirichlet(np.ones(3))                                    # y in the simplex interior
        assert rel(numerical_sup(logsumexp, p, np.zeros(3)), du.conj_logsumexp(p)) < 1e-8
    t = np.array([1.0, 10.0, 100.0])                                   # off the simplex: the sup is +∞
    off = np.array([0.5, 0.6, 0.2])                                    # sum ≠ 1: along x = t1, t(1ᵀy − 1) → ∞
    assert np.all(np.diff([off @ (s * np.ones(3)) - logsumexp(s * np.ones(3)) for s in t]) > 0)
    neg = np.array([-0.2, 0.6, 0.6])                                   # yᵢ < 0: along x = −t eᵢ
    assert np.all(np.diff([neg @ (-s * np.eye(3)[0]) - logsumexp(-s * np.eye(3)[0]) for s in t]) > 0)
    assert du.conj_logsumexp(off) == np.inf and du.conj_logsumexp(neg) == np.inf


@pytest.mark.parametrize("ord", [1, 2, np.inf])
def test_norm_conjugates_by_grid(ord):
    g = np.random.default_rng(1)
    lam, r = 1.5, 2.0

    def grid(R):
        u = np.linspace(-R, R, 201)
        return np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)          # contains 0 and the box's corners

    P10, P20 = grid(10.0), grid(20.0)
    norms10 = np.linalg.norm(P10, ord=ord, axis=1)
    for _ in range(5):
        d = g.standard_normal(2)
        d /= du.dual_norm(d, ord)                                     # ‖d‖_* = 1
        inside, outside = 0.9 * lam * d, 1.1 * lam * d
        assert du.conj_norm(inside, ord, lam) == 0.0 and du.conj_norm(outside, ord, lam) == np.inf
        s10 = np.max(P10 @ inside - lam * norms10)
        assert abs(s10) < 1e-12                                      # the sup is 0, at x = 0
        o10 = np.max(P10 @ outside - lam * norms10)
        o20 = np.max(P20 @ outside - lam * np.linalg.norm(P20, ord=ord, axis=1))
        assert o10 > 0 and o20 > 1.9 * o10                           # grows linearly with the radius: +∞
        y = g.standard_normal(2)                                     # indicator of the ball ↔ r‖y‖_*
        theta = np.linspace(0, 2 * np.pi, 20001)              # the ℓ2 sphere by angle; ℓ1/ℓ∞ balls: grid points
        ball = r * np.stack([np.cos(theta), np.sin(theta)], -1) if ord == 2 else P10[norms10 <= r]
        assert abs(np.max(ball @ y) - du.conj_norm_ball(y, ord, r)) < 1e-6 * (1 + du.conj_norm_ball(y, ord, r))


def test_simplex_indicator_and_hinge_conjugates():
    g = np.random.default_rng(2)
    pts = np.vstack([np.eye(4), g.dirichlet(np.ones(4), size=2000)])
    for _ in range(5):
        y = g.standard_normal(4)
        assert abs(np.max(pts @ y) - du.conj_simplex_indicator(y)) < 1e-15 * (1 + np.abs(y).max()) * 10
    z10, z20 = np.linspace(-10, 10, 2001), np.linspace(-20, 20, 4001)  # both contain z = 1
    for s in (-1.0, -0.7, -0.25, 0.0):
        assert abs(np.max(s * z10 - du.hinge(z10)) - du.conj_hinge(s)) < 1e-12
    for s in (-1.3, 0.2):
        sup10, sup20 = np.max(s * z10 - du.hinge(z10)), np.max(s * z20 - du.hinge(z20))
        assert sup20 > sup10 + 1.0 and du.conj_hinge(s) == np.inf
    assert du.conj_hinge(np.array([-0.5, -0.25])) == -0.75


def test_fenchel_young():
    g = np.random.default_rng(4)
    M = g.standard_normal((3, 3))
    Q = M @ M.T + np.eye(3)
    pairs = [  # f, f*, y ∈ ∂f(x)
        (lambda x: 0.5 * x @ Q @ x, lambda y: du.conj_quadratic(y, Q), lambda x: Q @ x),
        (du.neg_entropy, du.conj_neg_entropy, lambda x: 1 + np.log(x)),
        (logsumexp, du.conj_logsumexp, softmax),
        (lambda x: np.abs(x).sum(), lambda y: du.conj_norm(y, 1), np.sign),
        (np.linalg.norm, lambda y: du.conj_norm(y, 2), lambda x: x / np.linalg.norm(x)),
        (lambda z: du.hinge(z).sum(), du.conj_hinge, lambda z: np.where(z < 1, -1.0, 0.0)),
    ]
    for f, fc, sub in pairs:
        for _ in range(20):
            x = g.uniform(0.1, 3.0, 3) if f is du.neg_entropy else g.standard_normal(3) * 2
            y = sub(x)
            assert abs(du.fenchel_young_gap(f, fc, x, y)) < 1e-12 * (1 + abs(f(x)))   # equality on ∂f
            y2 = y + 0.1 * g.standard_normal(3)
            fy = du.fenchel_young_gap(f, fc, x, y2)
            assert fy >= -1e-12                                                        # the inequality
    x = np.array([0.0, 1.0, 0.0])                                 # ι_Δ at a vertex, y maximal there
    y = np.array([0.2, 0.9, -1.0])
    assert du.fenchel_young_gap(lambda v: 0.0, du.conj_simplex_indicator, x, y) == 0.0


# ------------------------------------------------------------------------------------------------ bad input
def test_bad_input():
    A, b, c = np.ones((2, 3)), np.ones(2), np.ones(3)
    X, y = np.eye(3), np.array([1.0, -1.0, 1.0])
    cases = [
        (lambda: du.lp_dual(c, A, np.ones(3), np.ones(2)), "b must be a vector of length 2"),
        (lambda: du.lp_dual(np.ones(4), A, b, np.ones(2)), "A must be a matrix with 4 columns"),
        (lambda: du.lp_ineq_duality_gap(c, A, b, np.ones(2), np.ones(2)), "x must be a vector of length 3"),
        (lambda: du.qp_dual(np.eye(3), c, A, None, None, None, None, None), "G and h must be given together"),
        (lambda: du.qp_dual(np.eye(2), c, None, None, None, None, None, None), "Q must be"),
        (lambda: du.qp_dual(-np.eye(3), c, None, None, None, None, None, None), "positive semidefinite"),
        (lambda: du.qp_dual(np.triu(np.ones((3, 3))), c, None, None, None, None, None, None), "symmetric"),
        (lambda: du.qp_dual(np.eye(3), c, A, b, None, None, np.ones(3), None), "lam must be a vector of length 2"),
        (lambda: du.lasso_duality_gap(A, b, 0.0, c), "lam must be positive"),
        (lambda: du.lasso_dual(A, b, -1.0, b), "lam must be positive"),
        (lambda: du.lasso_primal(A, np.ones(3), 1.0, c), "b must be a vector of length 2"),
        (lambda: du.svm_smo(X, y, 0.0), "C must be positive"),
        (lambda: du.svm_dual(X, y, -1.0, y), "C must be positive"),
        (lambda: du.svm_smo(X, np.array([1.0, 0.0, 1.0]), 1.0), r"labels y must be in \{-1, \+1\}"),
        (lambda: du.svm_smo(X, np.ones(3), 1.0), "both classes"),
        (lambda: du.svm_primal(X, y[:2], 1.0, np.ones(3), 0.0), "y must be a vector of length 3"),
        (lambda: du.svm_smo(X, y, 1.0, check_every=0), "check_every"),
        (lambda: du.svm_smo(X, y, 1.0, tol=-1.0), "tol must be"),
        (lambda: du.conj_quadratic(np.ones(2), np.diag([1.0, 0.0])), "positive definite"),
        (lambda: du.dual_norm(np.ones(2), 3), "ord must be 1, 2 or np.inf"),
        (lambda: du.kkt_residual(np.ones(2), np.ones(1), None, None, None, np.ones(2), [1.0], None), "together"),
        (lambda: du.kkt_residual(np.ones(2), np.ones(2), np.ones((1, 2)), None, None, np.ones(2), [1, 1], None),
         "Jg\\(x\\) must have 2 rows"),
        (lambda: du.kkt_residual(np.ones(3), None, None, None, None, np.ones(2), None, None),
         "grad_f must be a vector of length 2"),
        (lambda: du.lp_dual(c, A, b, np.array([np.nan, 1.0])), "y must be finite"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match=msg):
            call()
