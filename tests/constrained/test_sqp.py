"""SQP on the Hock–Schittkowski set against the published solutions and scipy's SLSQP / trust-constr; the
local rate with the exact Hessian; the Maratos effect and the second-order correction; bad input."""

import numpy as np
import pytest
from scipy.optimize import minimize

from utils import hock_schittkowski as hs
from utils import sqp as sq

PROBLEMS = hs.hs_problems()


def _slsqp(p):
    return minimize(p.f, p.x0, jac=p.grad, method="SLSQP", constraints=hs.scipy_constraints(p),
                    options={"ftol": 1e-12, "maxiter": 500})


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize("hessian", ["bfgs", "exact"])
def test_sqp_matches_published_solution_and_slsqp(p, hessian):
    r = sq.sqp(p, hessian=hessian)
    assert r.success, r.message
    assert np.linalg.norm(r.x - p.x_star) <= 1e-8 * (1 + np.linalg.norm(p.x_star))
    assert abs(r.fun - p.f_star) <= 1e-7 * (1 + abs(p.f_star))          # published f* has 8 digits
    np.testing.assert_allclose(r.lam, p.lam_star, atol=1e-7)
    np.testing.assert_allclose(r.nu, p.nu_star, atol=1e-7)
    s = _slsqp(p)
    assert np.linalg.norm(r.x - s.x) <= 1e-6
    # SLSQP's res.multipliers: equalities first (its Lagrangian is f − μᵀc, so ν = −μ), then the inequalities
    # c = −g ≥ 0 (λ = μ ≥ 0)
    np.testing.assert_allclose(np.concatenate([-r.nu, r.lam]), s.multipliers, atol=1e-5)
    print(f"{p.name} {hessian}: nit={r.nit} nfev={r.nfev} | SLSQP nit={s.nit} nfev={s.nfev}")


@pytest.mark.parametrize("p", [hs.hs14(), hs.hs40(), hs.hs71()], ids=lambda p: p.name)
def test_multipliers_against_trust_constr(p):
    t = hs.trust_constr(p)
    r = sq.sqp(p, hessian="exact")
    # trust-constr's barrier method stops at ~1e-4 on HS 14 (7e-5 measured) and ~1e-8 on HS 40 / 71: its
    # accuracy, not ours (ours matches the published x* to 1e-8 above)
    assert np.linalg.norm(r.x - t.x) <= 2e-4
    # trust-constr's Lagrangian is f + vᵀc: for c = h, ν = v; for c = −g, λ = −v
    v = list(t.v)
    if p.p:
        np.testing.assert_allclose(r.nu, np.asarray(v.pop(0)), atol=1e-3)
    if p.m:
        np.testing.assert_allclose(r.lam, -np.asarray(v.pop(0)), atol=1e-3)


def test_exact_hessian_rate_is_quadratic_and_bfgs_superlinear():
    p = hs.hs40()
    e = sq.sqp(p, hessian="exact", tol=1e-13).residuals["kkt"]
    e = e[e > 1e-13]
    # quadratic: r_{k+1} ≤ C r_k² on the last steps (measured C < 1 here)
    assert np.all(e[2:] <= 1.0 * e[1:-1] ** 2), e
    b = sq.sqp(p, hessian="bfgs", tol=1e-13).residuals["kkt"]
    # the rate is read above the rounding floor: with baseline (no-FMA) kernels the run stalls at 3.3e-11 after
    # reaching it (status 2, ratios 0.99), natively it ends at 2e-16; both share the steps down to 3.4e-11
    floor = next((i for i in range(1, b.size) if b[i] < 1e-9 and b[i] > 0.5 * b[i - 1]), b.size)
    b = b[:floor]
    ratios = b[1:] / b[:-1]
    assert ratios[-1] < 1e-2 and ratios[-1] < ratios[len(ratios) // 2], ratios


def test_maratos_effect_and_second_order_correction():
    m = hs.maratos(0.1)
    plain = sq.sqp(m, nu0=[-1.5], hessian="exact")
    corr = sq.sqp(m, nu0=[-1.5], hessian="exact", soc=True)
    assert plain.success and corr.success
    assert plain.residuals["alpha"][1] < 1                 # the ℓ₁ merit rejects the unit step near x*
    assert np.all(corr.residuals["alpha"][1:] == 1) and np.nansum(corr.residuals["soc"]) >= 1
    assert corr.nit < plain.nit
    # the Newton step from (cos θ, sin θ) is (sin²θ, −sinθcosθ) (N&W Example 15.4)
    th = 0.1
    qp = sq.qp_solve(m.lagrangian_hess(m.x0, np.zeros(0), np.array([-1.5])), m.grad(m.x0), m.h_jac(m.x0), -m.h(m.x0))
    np.testing.assert_allclose(qp.p, [np.sin(th) ** 2, -np.sin(th) * np.cos(th)], atol=1e-12)


def test_qp_solver_against_kkt():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    B, g = M @ M.T + np.eye(5), rng.standard_normal(5)
    A, b = rng.standard_normal((1, 5)), rng.standard_normal(1)
    C, d = rng.standard_normal((4, 5)), rng.random(4) * 0.1
    r = sq.qp_solve(B, g, A, b, C, d)
    assert r.success
    assert np.allclose(A @ r.p, b) and np.all(C @ r.p <= d + 1e-10) and np.all(r.lam >= 0)
    np.testing.assert_allclose(B @ r.p + g + A.T @ r.nu + C.T @ r.lam, 0, atol=1e-10)
    assert np.max(np.abs(r.lam * (C @ r.p - d))) < 1e-10


def test_damped_bfgs_stays_positive_definite():
    rng = np.random.default_rng(1)
    B = np.eye(3)
    for _ in range(20):
        s, y = rng.standard_normal(3), rng.standard_normal(3)
        B, _ = sq.damped_bfgs_update(B, s, y)
        assert np.min(np.linalg.eigvalsh(B)) > 0


def test_bad_input():
    p = hs.hs14()
    with pytest.raises(ValueError, match="finite"):
        sq.sqp(p, x0=[np.nan, 1.0])
    with pytest.raises(ValueError, match="shape"):
        sq.sqp(p, x0=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="hessian"):
        sq.sqp(p, hessian="newton")
    with pytest.raises(ValueError, match="lam0"):
        sq.sqp(p, lam0=[-1.0])
    with pytest.raises(ValueError, match="shapes"):
        sq.qp_solve(np.eye(2), np.ones(2), C=np.ones((2, 2)), d=np.ones(3))
    with pytest.raises(TypeError):
        sq.sqp("HS14")
    bad = hs.NonlinearProgram("bad", f=lambda x: x @ x, grad=lambda x: 2 * x, x0=np.ones(2),
                              h=lambda x: np.ones(2), h_jac=lambda x: np.ones((1, 2)))
    with pytest.raises(ValueError, match="h_jac"):
        sq.sqp(bad)
