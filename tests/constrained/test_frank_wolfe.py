"""Frank–Wolfe: LMOs against brute force / linprog, the gap certificate, Jaggi's O(1/k) bound, linear convergence of
the away-step and pairwise variants against vanilla FW's sublinear rate, sparse iterates, matrix completion."""
import numpy as np
import pytest
from scipy.optimize import linprog

from utils import constrained as C
from utils import frank_wolfe as F

SIMPLEX = C.simplex_least_squares()
L1 = C.l1_ball_least_squares()
BOX = C.box_qp()
RULES = [F.open_loop(), F.short_step(), F.exact_line_search(), F.backtracking_step()]


# --------------------------------------------------------------------------------------------------- LMOs
@pytest.mark.parametrize("seed", range(5))
def test_lmos_against_brute_force_and_linprog(seed):
    g = np.random.default_rng(seed).standard_normal(6)
    V = F.simplex_vertices(6, 2.0)
    assert np.allclose(F.lmo_simplex(g, 2.0), V[:, np.argmin(V.T @ g)])
    V = F.l1_ball_vertices(6, 1.5)
    assert np.allclose(F.lmo_l1_ball(g, 1.5), V[:, np.argmin(V.T @ g)])
    lo, hi = -np.arange(1.0, 7.0), np.arange(6.0)
    ref = linprog(g, bounds=list(zip(lo, hi)), method="highs")
    assert abs(g @ F.lmo_box(g, lo, hi) - ref.fun) <= 1e-10 * (1 + abs(ref.fun))
    G = np.random.default_rng(seed).standard_normal((8, 5))
    S = F.lmo_nuclear_ball(G, 3.0)
    sig = np.linalg.svd(G, compute_uv=False)
    assert abs(np.vdot(G, S) + 3.0 * sig[0]) <= 1e-10 * sig[0]        # min over the ball = −δσ₁ (dual norm)
    assert abs(np.linalg.svd(S, compute_uv=False).sum() - 3.0) <= 1e-10


def test_lmo_nuclear_on_random_feasible_points():
    """⟨G, S⟩ ≤ ⟨G, X⟩ for X sampled from the ball (a brute-force lower-bound check)."""
    rng = np.random.default_rng(0)
    G = rng.standard_normal((6, 4))
    S = F.lmo_nuclear_ball(G, 1.0)
    for _ in range(200):
        X = rng.standard_normal((6, 4))
        X /= np.linalg.svd(X, compute_uv=False).sum()
        assert np.vdot(G, S) <= np.vdot(G, X) + 1e-12


# ----------------------------------------------------------------------------------------------- the gap
@pytest.mark.parametrize("p", [SIMPLEX, L1, BOX], ids=["simplex", "l1", "box"])
@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_gap_upper_bounds_suboptimality(p, rule):
    h = F.frank_wolfe(p, step=rule, maxiter=300, gtol=0.0).history
    tol = 1e-12 * (1 + np.abs(h.fun))
    assert np.all(h.gap >= h.f_gap - tol) and np.all(h.f_gap >= -tol)


@pytest.mark.parametrize("p", [SIMPLEX, L1], ids=["simplex", "l1"])
def test_open_loop_meets_jaggi_bound(p):
    Cf = F.curvature_constant(p, vertices=p.info["vertices"])
    assert Cf <= F.curvature_constant(p) * (1 + 1e-12)                  # exact C_f ≤ L·diam²
    h = F.frank_wolfe(p, maxiter=1000, gtol=0.0).history
    k = np.arange(1, len(h.fun))
    ratio = h.f_gap[1:] / F.fw_rate_bound(Cf, k)
    assert np.all(ratio <= 1.0)
    assert ratio.max() >= 0.01            # the bound is not vacuous by orders of magnitude on this problem


def test_curvature_constant_is_a_supremum():
    """Sampled (2/γ²)(f(y) − f(x) − γ⟨∇f(x), s − x⟩) never exceeds C_f, and gets close to it at vertices."""
    p, V = SIMPLEX, SIMPLEX.info["vertices"]
    Cf = F.curvature_constant(p, vertices=V)
    rng = np.random.default_rng(0)
    best = 0.0
    for _ in range(300):
        x, s = rng.dirichlet(np.ones(p.n) * 0.1), V[:, rng.integers(p.n)]
        gam = rng.uniform(0.01, 1)
        y = x + gam * (s - x)
        val = 2 / gam ** 2 * (p.f(y) - p.f(x) - gam * p.grad(x) @ (s - x))
        best = max(best, val)
        assert val <= Cf * (1 + 1e-9)
    assert best >= 0.3 * Cf


# ------------------------------------------------------------------------------------- linear vs sublinear
def _rate(f_gap, floor=1e-12):
    """Geometric rate from a log-linear fit of f − f* above ``floor``, and the fit's R²."""
    k = np.flatnonzero(f_gap > floor)
    y = np.log(f_gap[k])
    coef = np.polyfit(k, y, 1)
    r2 = 1 - np.sum((y - np.polyval(coef, k)) ** 2) / np.sum((y - y.mean()) ** 2)
    return np.exp(coef[0]), r2, k[-1]


@pytest.mark.parametrize("p", [SIMPLEX, L1], ids=["simplex", "l1"])
def test_away_and_pairwise_linear_while_vanilla_sublinear(p):
    assert np.sum(np.abs(p.x_star) <= 1e-9) >= 3                         # the solution lies on a face
    vanilla = F.frank_wolfe(p, step=F.exact_line_search(), maxiter=1000, gtol=0.0).history.f_gap
    for solver in (F.away_frank_wolfe, F.pairwise_frank_wolfe):
        res = solver(p, maxiter=1000, gtol=1e-13)
        q, r2, last = _rate(res.history.f_gap)
        assert res.success and q < 0.95 and r2 > 0.8 and last < 400
        assert np.max(np.abs(res.x - p.x_star)) <= 1e-8
    # vanilla: still above 1e-9 after 1000 steps, and its log-log slope is that of a power law (no geometric tail)
    assert vanilla[-1] > 1e-9
    k = np.arange(100, 1001)
    slope = np.polyfit(np.log(k), np.log(vanilla[k]), 1)[0]
    assert -3.0 < slope < -0.5
    assert vanilla[1000] / vanilla[500] > 0.05          # geometric at q = 0.95 would give 0.95^500 ≈ 7e-12


def test_away_rate_inside_lacoste_julien_jaggi_bound():
    """h_k ≤ h₀(1 − ρ)^{k/2}, ρ = μδ²/(4LD²), simplex pyramidal width δ = 2/√n, D = √2 (L-J & J 2015, Thm. 1)."""
    p = SIMPLEX
    h = F.away_frank_wolfe(p, step=F.short_step(), maxiter=500, gtol=0.0).history.f_gap
    rho = p.mu * (4 / p.n) / (4 * p.L * 2)
    k = np.arange(len(h))
    assert np.all(h <= h[0] * (1 - rho) ** (k / 2) + 1e-13)


def test_active_set_weights_represent_the_iterate():
    res = F.away_frank_wolfe(L1, maxiter=30, gtol=0.0)
    V = L1.info["vertices"]
    x = res.history.x[-1]
    assert np.allclose(res.x, x) and np.abs(x).sum() <= L1.info["r"] * (1 + 1e-12)


# ----------------------------------------------------------------------------------------------- sparsity
@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_iterates_are_sparse(rule):
    X = F.frank_wolfe(SIMPLEX, step=rule, maxiter=15, gtol=0.0).history.x
    nnz = np.sum(np.abs(X) > 0, axis=1)
    assert np.all(nnz <= np.arange(len(X)) + 1)
    X = F.frank_wolfe(L1, L1.info["vertices"][:, 0], step=rule, maxiter=15, gtol=0.0).history.x
    assert np.all(np.sum(np.abs(X) > 0, axis=1) <= np.arange(len(X)) + 1)


# ----------------------------------------------------------------------------------------- matrix completion
def test_matrix_completion_recovers_the_low_rank_matrix():
    p = C.matrix_completion()
    res = F.frank_wolfe(p, step=F.exact_line_search(), maxiter=500, gtol=0.0, record_x=True)
    h = res.history
    assert np.linalg.norm(res.x - p.x_star) / np.linalg.norm(p.x_star) <= 0.1
    assert np.all(h.gap >= h.f_gap - 1e-10 * (1 + h.fun))
    assert np.linalg.svd(res.x, compute_uv=False).sum() <= p.info["delta"] * (1 + 1e-10)
    assert np.linalg.matrix_rank(h.x[5], tol=1e-8 * p.info["delta"]) <= 5          # rank ≤ k after k steps
    Cf = F.curvature_constant(p)
    assert np.all(h.f_gap[1:] <= F.fw_rate_bound(Cf, np.arange(1, len(h.fun))))


# ------------------------------------------------------------------------------------------------ bad input
def test_bad_input():
    with pytest.raises(ValueError, match="x0 must lie in the feasible set"):
        F.frank_wolfe(SIMPLEX, np.ones(SIMPLEX.n))
    with pytest.raises(ValueError, match="x0 must lie in conv"):
        F.away_frank_wolfe(SIMPLEX, np.ones(SIMPLEX.n))
    with pytest.raises(ValueError, match="x0 must be finite"):
        F.frank_wolfe(SIMPLEX, np.full(SIMPLEX.n, np.inf))
    with pytest.raises(ValueError, match="x0 has shape"):
        F.frank_wolfe(SIMPLEX, np.ones(2))
    with pytest.raises(ValueError, match="not open_loop"):
        F.away_frank_wolfe(SIMPLEX, step=F.open_loop())
    with pytest.raises(ValueError, match="vertices must be an array of shape"):
        F.pairwise_frank_wolfe(SIMPLEX, vertices=np.eye(3))
    with pytest.raises(ValueError, match="step must be a step rule"):
        F.frank_wolfe(SIMPLEX, step=0.1)
    with pytest.raises(ValueError, match="r must be positive"):
        F.lmo_l1_ball(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="s must be positive"):
        F.lmo_simplex(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.lmo_nuclear_ball(np.ones((3, 3)), 0.0)
    with pytest.raises(ValueError, match="G must be a matrix"):
        F.lmo_nuclear_ball(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="lo <= hi"):
        F.lmo_box(np.ones(2), 1.0, 0.0)
    with pytest.raises(ValueError, match="tau > 1"):
        F.backtracking_step(tau=0.5)


def test_callback_stops_and_gtol_stops():
    res = F.frank_wolfe(SIMPLEX, maxiter=100, callback=lambda r: r.nit >= 3)
    assert res.status == 99 and res.nit == 3
    res = F.away_frank_wolfe(SIMPLEX, gtol=1e-6)
    assert res.success and res.history.gap[-1] <= 1e-6 and "Frank–Wolfe gap" in res.message
