"""Gauss–Newton and Levenberg–Marquardt: hand-computed iterates, NumPy == JAX, MINPACK on NIST problems."""
import numpy as np
import pytest
from scipy.optimize import least_squares

from utils import nist
from utils.least_squares import NLSProblem, gauss_newton, gauss_newton_jax, nls_from_jax
from utils.levenberg_marquardt import levenberg_marquardt, levenberg_marquardt_jax
from utils.problems import xp

A = np.diag([1.0, 3.0])
B = np.array([1.0, 2.0])
LINEAR = NLSProblem("linear", lambda x: A @ x - B, lambda x: A, x0=np.zeros(2), x_star=np.array([1.0, 2 / 3]),
                    f_star=0.0)


def rosen_residual(x):
    return xp(x).stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


ROSEN = NLSProblem("rosenbrock", rosen_residual,
                   lambda x: xp(x).stack([xp(x).stack([-20.0 * x[0], 10.0 + 0 * x[0]]),
                                          xp(x).stack([-1.0 + 0 * x[0], 0 * x[0]])]),
                   x0=np.array([-1.2, 1.0]), x_star=np.ones(2), f_star=0.0)
LM_VARIANTS = [{}, {"scaling": True}, {"geodesic": True}, {"scaling": True, "geodesic": True}]


def test_gauss_newton_solves_a_linear_residual_in_one_step():
    # r(x) = Ax − b, x₀ = 0: p₀ = −(AᵀA)⁻¹Aᵀr₀ = A⁻¹b = (1, 2/3) exactly; then g = 0.
    res = gauss_newton(LINEAR, gtol=1e-12)
    np.testing.assert_allclose(res.history.x, [[0.0, 0.0], [1.0, 2 / 3]], atol=1e-15)
    np.testing.assert_allclose(res.history.fun, [2.5, 0.0], atol=1e-30)
    assert res.nit == 1 and res.success and res.status == 0
    assert (res.nfev, res.njev) == (2, 2) and list(res.history.nfev) == [1, 2]


@pytest.mark.parametrize("scaling", [False, True])
def test_levenberg_marquardt_first_iterate_by_hand(scaling):
    # p₀ = (AᵀA + λ₀D²)⁻¹Aᵀb. Unscaled: D = I, λ₀ = 1e-3·max diag(AᵀA) = 9e-3 → p = (1/(1+λ), 6/(9+λ)).
    # Scaled: D = diag(1, 3), λ₀ = 1e-3 → p = x*/(1 + λ₀). A linear residual makes ρ₀ = 1 exactly, so
    # Nielsen's rule gives λ₁ = λ₀·max(1/3, 1 − 1) = λ₀/3.
    res = levenberg_marquardt(LINEAR, lam0=1e-3, scaling=scaling, maxiter=1, gtol=0.0)
    lam = 1e-3 if scaling else 9e-3
    expected = np.array([1.0, 2 / 3]) / (1 + lam) if scaling else np.array([1 / (1 + lam), 6 / (9 + lam)])
    np.testing.assert_allclose(res.x, expected, rtol=1e-14)
    np.testing.assert_allclose(res.lam_history, [lam, lam / 3], rtol=1e-14)
    assert (res.nfev, res.njev, res.nit) == (2, 2, 1)


def test_geodesic_acceleration_first_iterate_by_hand():
    # r(x) = (x₁², x₂²) − c: J = diag(2x), r_vv = 2v² exactly (the finite difference is exact for a
    # quadratic), a = −(JᵀJ + λI)⁻¹Jᵀ r_vv, p = v + a/2 when 2‖a‖ ≤ α‖v‖.
    c = np.array([2.0, 3.0])
    nls = NLSProblem("squares", lambda x: x**2 - c, lambda x: np.diag(2 * x), x0=np.array([1.3, 1.6]))
    x, r, J = nls.x0, nls.x0**2 - c, np.diag(2 * nls.x0)
    lam = 1e-3 * np.max(np.diag(J.T @ J))
    M = J.T @ J + lam * np.eye(2)
    v = -np.linalg.solve(M, J.T @ r)
    a = -np.linalg.solve(M, J.T @ (2 * v**2))
    assert 2 * np.linalg.norm(a) <= 0.75 * np.linalg.norm(v)
    res = levenberg_marquardt(nls, geodesic=True, maxiter=1, gtol=0.0)
    np.testing.assert_allclose(res.x, x + v + 0.5 * a, rtol=1e-9)
    assert res.nfev == 3                                  # r(x₀), r(x₀ + h v), r(x₁)
    plain = levenberg_marquardt(nls, maxiter=1, gtol=0.0)
    np.testing.assert_allclose(plain.x, x + v, rtol=1e-12)


@pytest.mark.parametrize("name, start, maxiter, kwargs", [
    ("MGH09", 1, 25, LM_VARIANTS[0]), ("MGH09", 1, 25, LM_VARIANTS[1]), ("MGH09", 1, 25, LM_VARIANTS[2]),
    ("MGH09", 1, 25, LM_VARIANTS[3]),
    ("BoxBOD", 1, 8, {}),                                 # trial points overflow: rejected in both drivers
])
def test_numpy_and_jax_lm_iterates_agree(name, start, maxiter, kwargs):
    # (Short runs: once f stalls at its rounding level, accept/reject is decided by noise in the last bit.)
    p = nist.nist_problem(name, start)
    a = levenberg_marquardt(p, maxiter=maxiter, gtol=0.0, xtol=0.0, record_x=True, **kwargs)
    b = levenberg_marquardt_jax(p, maxiter=maxiter, gtol=0.0, record_x=True, **kwargs)
    assert a.nit == b.nit == maxiter
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(b.history.nfev, a.history.nfev)
    np.testing.assert_array_equal(b.history.njev, a.history.njev)
    if name == "BoxBOD":
        assert np.any(np.diff(a.history.njev) == 0)      # some trial steps were rejected


def test_numpy_and_jax_gauss_newton_agree():
    a = gauss_newton(ROSEN, maxiter=2, gtol=0.0, xtol=0.0)
    b = gauss_newton_jax(ROSEN, maxiter=2, gtol=0.0)
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-13)
    np.testing.assert_allclose(a.x, [1.0, 1.0], atol=1e-14)   # zero residual, 2 equations: GN = Newton on r


@pytest.mark.parametrize("name, start", [("Misra1a", 1), ("Chwirut2", 1), ("DanWood", 1), ("Kirby2", 2),
                                         ("MGH09", 2), ("Thurber", 2), ("BoxBOD", 2), ("Roszman1", 1)])
@pytest.mark.parametrize("kwargs", LM_VARIANTS[:3])
def test_lm_matches_minpack_and_the_certified_values(name, start, kwargs):
    p = nist.nist_problem(name, start)
    ours = levenberg_marquardt(p, maxiter=2000, gtol=0.0, xtol=1e-14, **kwargs)
    ref = least_squares(p.residual, p.x0, jac=p.jac, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    # gtol = 0: only vanishing steps end the run, status 2 ("no further progress"); the checks below show
    # that it stalled at the certified minimizer, i.e. at rounding level
    assert ours.status == 2 and not ours.success and "xtol" in ours.message and ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)
    assert nist.lre(ours.x, p.x_star).min() >= 6 and nist.lre(2 * ours.fun, 2 * p.f_star) >= 9


def test_gauss_newton_is_quadratic_on_a_zero_residual_problem():
    t = np.linspace(0, 2, 20)
    y = 2.0 * np.exp(-1.3 * t)                            # exact data: r(x*) = 0, so GN ≈ Newton
    nls = NLSProblem("exp fit", lambda x: x[0] * np.exp(-x[1] * t) - y,
                     lambda x: np.stack([np.exp(-x[1] * t), -x[0] * t * np.exp(-x[1] * t)], 1),
                     x0=np.array([1.5, 1.0]))
    res = gauss_newton(nls, maxiter=8, gtol=0.0, xtol=0.0)
    e = np.linalg.norm(res.history.x - [2.0, 1.3], axis=1)
    assert e[-1] < 1e-12
    e = e[e > 1e-13]
    assert len(e) >= 4 and np.all(e[1:] <= 5.0 * e[:-1] ** 2)        # e_{k+1} ≤ C e_k²


def test_gauss_newton_with_armijo_backtracking_decreases_f_monotonically():
    ls = pytest.importorskip("utils.linesearch")
    p = nist.nist_problem("Thurber", 1)                  # full GN steps fail here (see the lab)
    full = gauss_newton(p, maxiter=30, gtol=0.0)
    damped = gauss_newton(p, line_search=ls.backtracking, maxiter=30, gtol=0.0)
    assert np.all(np.diff(damped.history.fun) <= 0)
    assert damped.fun == pytest.approx(p.f_star, rel=1e-6)             # reaches the certified minimum
    assert np.any(np.diff(full.history.fun) > 0) and not full.fun == pytest.approx(p.f_star, rel=1e-2)
    assert damped.nfev > damped.nit + 1                   # line-search calls are counted


def test_nls_from_jax_and_to_problem():
    import jax.numpy as jnp

    nls = nls_from_jax(lambda x: jnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]]), np.array([-1.2, 1.0]))
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(np.asarray(nls.jac(x)), ROSEN.jac(x), rtol=1e-14)
    prob = ROSEN.to_problem()
    np.testing.assert_allclose(prob.grad(x), ROSEN.jac(x).T @ ROSEN.residual(x))
    assert prob.f(x) == pytest.approx(0.5 * np.sum(ROSEN.residual(x) ** 2))
    res = levenberg_marquardt(nls)
    assert res.success and np.allclose(res.x, 1.0)


@pytest.mark.parametrize("solver", [gauss_newton, levenberg_marquardt])
def test_nan_at_an_iterate_stops_with_status_3(solver):
    nan_at_start = NLSProblem("nan", lambda x: np.full(2, np.nan), lambda x: np.eye(2), x0=np.zeros(2))
    res = solver(nan_at_start)
    assert res.status == 3 and not res.success and res.nit == 0
    # GN steps straight to x = (1, 2/3); a residual that is NaN for x₁ > 0.9 ends the run there.
    fenced = NLSProblem("fence", lambda x: (A @ x - B) if x[0] <= 0.9 else np.full(2, np.nan), lambda x: A,
                        x0=np.zeros(2))
    res = gauss_newton(fenced)
    assert res.status == 3 and res.nit == 1 and "iteration 1" in res.message
    np.testing.assert_array_equal(res.x, [0.0, 0.0])


def test_a_step_below_xtol_before_gtol_is_status_2_not_success():
    # Full Gauss–Newton from a far start on an exponential fit: the first step lands where b₁e^{−b₂t} has
    # vanished, J is wildly scaled and the steps collapse while ‖∇f‖ stays large. That is a stall, not a solution.
    t = np.linspace(0.0, 4.0, 100)
    y = 2.0 * np.exp(-1.3 * t) + 0.5 + 0.03 * np.random.default_rng(0).standard_normal(100)
    nls = NLSProblem("exp decay", lambda b: b[0] * np.exp(-b[1] * t) + b[2] - y,
                     lambda b: np.column_stack([np.exp(-b[1] * t), -b[0] * t * np.exp(-b[1] * t), np.ones_like(t)]),
                     x0=np.array([1.0, 5.0, 0.0]))
    gn = gauss_newton(nls, maxiter=100, xtol=1e-10)
    assert gn.status == 2 and not gn.success and "xtol" in gn.message and "gtol" in gn.message
    assert gn.nit < 100 and np.linalg.norm(gn.jac) > 1.0
    assert gn.history.step[-1] <= 1e-10 * (np.linalg.norm(gn.x) + 1e-10)
    lm = levenberg_marquardt(nls, maxiter=500, gtol=1e-8)  # the damped method reaches the fit from the same start
    assert lm.success and lm.fun < 0.01 * gn.fun
    assert gauss_newton(LINEAR).status == 0               # gtol is tested before xtol: a converged run is status 0


def test_lm_rejects_a_non_finite_trial_point_and_goes_on():
    fenced = NLSProblem("fence", lambda x: (A @ x - B) if x[0] <= 0.9 else np.full(2, np.nan), lambda x: A,
                        x0=np.zeros(2))
    res = levenberg_marquardt(fenced, maxiter=200)
    assert res.history.fun[1] == res.history.fun[0] and res.lam_history[1] == 2 * res.lam_history[0]
    assert res.x[0] <= 0.9 and res.fun < res.history.fun[0]
    bad_jac = NLSProblem("bad J", lambda x: A @ x - B, lambda x: A if x[0] == 0 else np.full((2, 2), np.nan),
                         x0=np.zeros(2))
    res = levenberg_marquardt(bad_jac)
    assert res.status == 3 and res.nit == 1


@pytest.mark.parametrize("kwargs, name", [
    ({"lam0": 0.0}, "lam0"), ({"lam0": -1.0}, "lam0"), ({"eta_accept": 1.0}, "eta_accept"),
    ({"eta_accept": -0.1}, "eta_accept"), ({"alpha_geo": 0.0}, "alpha_geo"), ({"h_geo": np.nan}, "h_geo"),
    ({"scaling": "yes"}, "scaling"), ({"geodesic": 1}, "geodesic"), ({"maxiter": -1}, "maxiter"),
    ({"gtol": np.nan}, "gtol"), ({"xtol": -1.0}, "xtol"), ({"x0": np.zeros(3)}, "x0"),
])
def test_bad_lm_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        levenberg_marquardt(LINEAR, **kwargs)
    if name not in ("gtol", "xtol", "maxiter"):
        with pytest.raises(ValueError, match=name):
            levenberg_marquardt_jax(LINEAR, **kwargs)


@pytest.mark.parametrize("kwargs, name", [({"line_search": "armijo"}, "line_search"),
                                          ({"line_search": lambda *a, **k: None, "c1": 1.5}, "c1"),
                                          ({"x0": [np.inf, 0.0]}, "x0"), ({"xtol": "tiny"}, "xtol")])
def test_bad_gauss_newton_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gauss_newton(LINEAR, **kwargs)


def test_callback_stops_the_run_and_inputs_are_not_mutated():
    seen = []
    x0 = ROSEN.x0.copy()
    res = levenberg_marquardt(ROSEN, x0, callback=lambda r: seen.append(r.nit) or r.nit == 3)
    assert res.status == 99 and res.nit == 3 and seen == [1, 2, 3]
    np.testing.assert_array_equal(x0, [-1.2, 1.0])
    assert len(res.history) == 4 and res.history.x.shape == (4, 2)
