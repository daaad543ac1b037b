"""Projected gradient (prox-grad on the indicator) against CVXPY + Clarabel and against its rate theorems."""
import numpy as np
import pytest

from utils import constrained as C

SIMPLEX = C.simplex_least_squares()
L1 = C.l1_ball_least_squares()
BOX = C.box_qp()


@pytest.mark.parametrize("p", [SIMPLEX, L1, BOX], ids=["simplex", "l1", "box"])
@pytest.mark.parametrize("kw", [{}, {"backtracking": True, "eta": 1.0}, {"accelerated": True}],
                         ids=["fixed", "backtracking", "fista"])
def test_reaches_the_reference_solution(p, kw):
    res = C.projected_gradient(p, gtol=1e-12, maxiter=20000, **kw)
    assert res.success, res.message
    assert np.max(np.abs(res.x - p.x_star)) <= 1e-8
    assert abs(res.fun - p.f_star) <= 1e-10 * (1 + abs(p.f_star))


def test_box_reference_agrees_with_clarabel():
    import cvxpy as cp

    Q, b = BOX.info["Q"], BOX.info["b"]
    x = cp.Variable(BOX.n)
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, cp.psd_wrap(Q)) - b @ x), [x >= BOX.info["lo"], x <= BOX.info["hi"]]
               ).solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert np.max(np.abs(x.value - BOX.x_star)) <= 1e-7


def test_multipliers_satisfy_kkt():
    m = SIMPLEX.info["multipliers"]             # ∇f + J_gᵀλ + J_hᵀν = 0 with g = −x, h = 1ᵀx − s
    gx = SIMPLEX.grad(SIMPLEX.x_star)
    assert np.max(np.abs(gx - m["lam"] + m["nu"])) <= 1e-8 and np.all(m["lam"] >= -1e-10)
    assert np.max(np.abs(m["lam"] * SIMPLEX.x_star)) <= 1e-8
    lam = L1.info["multipliers"]["lam"]         # ∇f + λ ∂‖x‖₁ ∋ 0, ‖x*‖₁ = r (active)
    gx, xs = L1.grad(L1.x_star), L1.x_star
    on = np.abs(xs) > 1e-8
    assert lam > 0 and np.max(np.abs(gx[on] + lam * np.sign(xs[on]))) <= 1e-7
    assert np.all(np.abs(gx[~on]) <= lam + 1e-7) and abs(np.abs(xs).sum() - L1.info["r"]) <= 1e-8
    mb = BOX.info["multipliers"]
    assert np.max(np.abs(BOX.grad(BOX.x_star) - mb["lam_lo"] + mb["lam_hi"])) <= 1e-9


@pytest.mark.parametrize("p", [SIMPLEX, L1, BOX], ids=["simplex", "l1", "box"])
def test_fixed_step_rates_inside_the_theory(p):
    res = C.projected_gradient(p, maxiter=300, gtol=0.0)
    h = res.history
    k = np.arange(1, len(h.fun))
    R2 = h.dist[0] ** 2
    assert np.all(h.f_gap[1:] <= p.L * R2 / (2 * k) + 1e-12)              # Beck 2017, Thm. 10.21
    q = 1 - p.mu / p.L                                                     # strongly convex: linear
    assert np.all(h.dist[1:] <= q ** k * h.dist[0] * (1 + 1e-9) + 1e-13)
    # the measured rate, within the bound, over the first 100 steps that stay above the rounding floor (gtol = 0
    # stops a run early, at an exact fixed point G_η = 0, where the CPU's rounding puts it: not at a fixed k)
    above = np.flatnonzero(h.dist[1:] > 1e-10 * h.dist[0])[:100]
    assert above.size >= 20
    slope = np.polyfit(k[above], np.log(h.dist[1:][above]), 1)[0]
    assert np.exp(slope) <= q
    fista = C.projected_gradient(p, accelerated=True, maxiter=300, gtol=0.0).history
    kf = np.arange(1, len(fista.fun))                                      # its own length: it may stop elsewhere
    assert np.all(fista.f_gap[1:] <= 2 * p.L * R2 / (kf + 1) ** 2 + 1e-12)  # Beck 2017, Thm. 10.34


def test_history_fields_and_gradient_mapping():
    res = C.projected_gradient(SIMPLEX, maxiter=50, gtol=0.0)
    h = res.history
    assert isinstance(h, C.ConstrainedHistory) and len(h.f_gap) == len(h.dist) == 51
    x = h.x[10]
    eta = 1 / SIMPLEX.L
    G = (x - SIMPLEX.project(x - eta * SIMPLEX.grad(x))) / eta
    assert abs(h.grad_norm[10] - np.linalg.norm(G)) <= 1e-12 * (1 + np.linalg.norm(G))
    assert np.all(np.abs(h.x[1:].sum(1) - 1) <= 1e-12) and np.all(h.x[1:] >= 0)      # feasible iterates


def test_matrix_completion_projection_recovers_ground_truth():
    p = C.matrix_completion()
    res = C.projected_gradient(p, maxiter=500, gtol=1e-10)
    assert np.linalg.norm(res.x - p.x_star) / np.linalg.norm(p.x_star) <= 0.05
    assert np.linalg.svd(res.x, compute_uv=False).sum() <= p.info["delta"] * (1 + 1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="has no project"):
        C.projected_gradient(C.box_qp().__class__(name="q", f=lambda x: x @ x, grad=lambda x: 2 * x, x0=np.ones(2)))
    with pytest.raises(ValueError, match="accelerated=True uses a fixed step"):
        C.projected_gradient(SIMPLEX, accelerated=True, backtracking=True)
    with pytest.raises(ValueError, match="x0 must be finite"):
        C.projected_gradient(SIMPLEX, np.full(SIMPLEX.n, np.nan))
    with pytest.raises(ValueError, match="x0 has shape"):
        C.projected_gradient(SIMPLEX, np.ones(3))
    with pytest.raises(ValueError, match="eta must be positive"):
        C.projected_gradient(SIMPLEX, eta=-1.0)
    with pytest.raises(ValueError, match="s must be positive"):
        C.simplex_least_squares(s=0.0)
    with pytest.raises(ValueError, match="r must be positive"):
        C.l1_ball_least_squares(r=-1.0)
    with pytest.raises(ValueError, match="lo < hi"):
        C.box_qp(lo=1.0, hi=0.0)
    with pytest.raises(ValueError, match="fraction"):
        C.matrix_completion(fraction=0.0)


def test_infeasible_start_is_projected():
    res = C.projected_gradient(SIMPLEX, 5 * np.ones(SIMPLEX.n), gtol=1e-12, maxiter=20000)
    assert res.success and np.max(np.abs(res.x - SIMPLEX.x_star)) <= 1e-8


@pytest.mark.parametrize("m, n", [(50, 20), (30, 60)])
def test_l1_ball_default_radius_makes_the_constraint_active(m, n):
    # for m < n the least-squares minimizers are exact fits (f = 0); half the basis-pursuit radius excludes them
    P = C.l1_ball_least_squares(m, n)
    lam, f_floor = P.info["multipliers"]["lam"], 0.5 / m * np.linalg.norm(
        P.info["A"] @ np.linalg.lstsq(P.info["A"], P.info["b"], rcond=None)[0] - P.info["b"]) ** 2
    assert lam > 1e-3 * np.linalg.norm(P.grad(np.zeros(n)))                        # active, by a margin
    assert abs(np.abs(P.x_star).sum() - P.info["r"]) <= 1e-8 * P.info["r"]          # on the sphere
    assert P.f_star > f_floor + 1e-3 * (P.f(np.zeros(n)) - f_floor)                 # strictly above the free minimum
