"""Trust region: the three subproblem solvers against their defining properties, Alg. 4.1 by hand, the same
iterates as scipy's dogleg and trust-ncg, indefinite Hessians, edge cases."""
import numpy as np
import pytest

from utils import trust_region as tr
from utils.drivers import scipy_minimize
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock, xp

A_HAND = np.diag([1.0, 10.0])
HAND = Problem(name="½(x₁² + 10x₂²)", f=lambda x: 0.5 * x @ (A_HAND @ x), grad=lambda x: A_HAND @ x,
               hess=lambda x: A_HAND, hvp=lambda x, v: A_HAND @ v, x0=np.array([1.0, 1.0]), x_star=np.zeros(2),
               f_star=0.0)


def model(g, B, p):
    return g @ p + 0.5 * p @ (B @ p)                       # m(p) − m(0)


def _models(seed, n=6, indefinite=False):
    r = np.random.default_rng(seed)
    Q = np.linalg.qr(r.standard_normal((n, n)))[0]
    lam = r.uniform(0.1, 10.0, n) * (np.where(np.arange(n) < 2, -1.0, 1.0) if indefinite else 1.0)
    return r.standard_normal(n), (Q * lam) @ Q.T, float(r.uniform(0.05, 3.0))


# ------------------------------------------------------------------------------------------- subproblems
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("indefinite", [False, True])
def test_cauchy_point_is_the_best_point_along_minus_g_and_meets_the_decrease_bound(seed, indefinite):
    g, B, delta = _models(seed, indefinite=indefinite)
    p = tr.cauchy_point(g, B, delta)
    gn = np.linalg.norm(g)
    assert np.linalg.norm(p) <= delta * (1 + 1e-12)
    t = np.linspace(0.0, delta / gn, 200001)                # brute force along −g inside the ball
    best = np.min(-t * (g @ g) + 0.5 * t ** 2 * (g @ B @ g))
    assert model(g, B, p) <= best + 1e-10 * abs(best)
    # N&W Lemma 4.3 (eq. 4.20): m(0) − m(p^C) ≥ ½‖g‖ min(Δ, ‖g‖/‖B‖).
    assert -model(g, B, p) >= 0.5 * gn * min(delta, gn / np.linalg.norm(B, 2)) * (1 - 1e-12)
    np.testing.assert_allclose(tr.cauchy_point(g, lambda v: B @ v, delta), p, rtol=1e-14)   # matrix or hvp


@pytest.mark.parametrize("seed", range(6))
def test_dogleg_and_steihaug_stay_in_the_region_and_beat_the_cauchy_point(seed):
    g, B, delta = _models(seed)
    pc = tr.cauchy_point(g, B, delta)
    for p in (tr.dogleg(g, B, delta), tr.steihaug_cg(g, B, delta), tr.steihaug_cg(g, lambda v: B @ v, delta)):
        assert np.linalg.norm(p) <= delta * (1 + 1e-12)
        assert model(g, B, p) <= model(g, B, pc) + 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_steihaug_on_indefinite_models_stays_in_the_region_and_beats_cauchy(seed):
    g, B, delta = _models(seed, indefinite=True)
    p = tr.steihaug_cg(g, B, delta)
    assert np.linalg.norm(p) <= delta * (1 + 1e-12)
    assert model(g, B, p) <= model(g, B, tr.cauchy_point(g, B, delta)) + 1e-12


def test_negative_curvature_sends_steihaug_to_the_boundary():
    B = np.diag([-1.0, 2.0])
    g = np.array([0.5, 0.0])                                 # g along the negative-curvature direction
    p = tr.steihaug_cg(g, B, 2.0)
    assert np.linalg.norm(p) == pytest.approx(2.0, rel=1e-14)
    np.testing.assert_allclose(p, [-2.0, 0.0], atol=1e-14)    # downhill end of the boundary segment


def test_large_radius_on_a_pd_model_gives_the_newton_step():
    g, B, _ = _models(3, n=8)
    newton = -np.linalg.solve(B, g)
    np.testing.assert_allclose(tr.steihaug_cg(g, B, 1e6, tol=1e-12), newton, rtol=1e-9)
    np.testing.assert_allclose(tr.dogleg(g, B, 1e6), newton, rtol=1e-12)


def test_dogleg_by_hand_on_the_second_leg():
    # g = (1, 1), B = diag(1, 4): p^U = −(2/5)(1, 1) (‖p^U‖ ≈ 0.566), p^B = (−1, −0.25) (‖p^B‖ ≈ 1.03).
    # With Δ = 0.8 the step solves ‖p^U + τ(p^B − p^U)‖ = 0.8 with τ ∈ (0, 1).
    g, B, delta = np.array([1.0, 1.0]), np.diag([1.0, 4.0]), 0.8
    pU, pB = -0.4 * g, np.array([-1.0, -0.25])
    d = pB - pU
    a, b, c = d @ d, 2 * pU @ d, pU @ pU - delta ** 2
    tau = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    np.testing.assert_allclose(tr.dogleg(g, B, delta), pU + tau * d, rtol=1e-14)
    np.testing.assert_allclose(tr.dogleg(g, B, 0.3), -0.3 * g / np.linalg.norm(g), rtol=1e-14)   # first leg


def test_dogleg_refuses_indefinite_or_matrix_free_models():
    with pytest.raises(ValueError, match="positive definite"):
        tr.dogleg(np.ones(2), np.diag([1.0, -1.0]), 1.0)
    with pytest.raises(ValueError, match="matrix"):
        tr.dogleg(np.ones(2), lambda v: v, 1.0)


# ------------------------------------------------------------------------------------------ Algorithm 4.1
def test_first_iterations_by_hand():
    # Δ₀ = 1, dogleg: g₀ = (1, 10), ‖p^U‖ = (101/1001)√101 ≈ 1.014 ≥ Δ₀, so p₀ = −g₀/‖g₀‖ (the boundary).
    res = tr.trust_region(HAND, subproblem=tr.dogleg, delta0=1.0, maxiter=1, gtol=0.0, record_x=True)
    g0 = np.array([1.0, 10.0])
    p0 = -g0 / np.linalg.norm(g0)
    x1 = HAND.x0 + p0
    rho = (HAND.f(HAND.x0) - HAND.f(x1)) / -(g0 @ p0 + 0.5 * p0 @ A_HAND @ p0)
    assert rho == pytest.approx(1.0, rel=1e-12)              # f is its own model: ρ = 1
    np.testing.assert_allclose(res.history.x[1], x1, rtol=1e-15)
    assert res.ratio[1] == pytest.approx(rho, rel=1e-12)
    assert res.trust_radius.tolist() == [1.0, 2.0]           # ρ > ¾ on the boundary: Δ doubles
    assert (res.nfev, res.njev, res.nhev) == (2, 2, 2)


def test_rejected_step_keeps_x_and_quarters_the_radius():
    def f(x):                                  # the quadratic, but +10 wherever x₂ < 0.5: the model lies there
        return 0.5 * x @ (A_HAND @ x) + xp(x).where(x[1] < 0.5, 10.0, 0.0)
    p = Problem(name="jump", f=f, grad=HAND.grad, hess=HAND.hess, x0=np.array([1.0, 1.0]))
    res = tr.trust_region(p, subproblem=tr.dogleg, delta0=1.0, maxiter=1, gtol=0.0, record_x=True)
    np.testing.assert_array_equal(res.history.x[1], p.x0)
    assert res.ratio[1] < 0 and res.trust_radius[1] == 0.25
    assert res.njev == 1 and res.nfev == 2                     # no gradient at a rejected point


@pytest.mark.parametrize("which", ["rosenbrock", "logistic"])
def test_same_iterates_as_scipy_dogleg_and_trust_ncg(which):
    p = rosenbrock(2) if which == "rosenbrock" else breast_cancer_logistic()
    for sub, method, mf in [(tr.dogleg, "dogleg", False), (tr.steihaug_cg, "trust-ncg", True)]:
        ours = tr.trust_region(p, subproblem=sub, matrix_free=mf, gtol=1e-8, record_x=True)
        ref = scipy_minimize(p, method, gtol=1e-8, record_x=True)
        assert ours.success and ref.success
        assert ours.nit == ref.nit                              # same Alg. 4.1 constants as scipy
        np.testing.assert_allclose(ours.history.x, ref.history.x, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.x, p.x_star, atol=1e-6)


def test_radius_rules_hold_along_a_rosenbrock_run():
    res = tr.trust_region(rosenbrock(2), subproblem=tr.steihaug_cg, delta0=1.0, gtol=1e-10, record_x=True)
    d, rho, x = res.trust_radius, res.ratio, res.history.x
    for k in range(1, len(d)):
        if rho[k] < 0.25:
            assert d[k] == 0.25 * d[k - 1]
        else:
            assert d[k] in (d[k - 1], min(2 * d[k - 1], 1000.0))
        assert np.array_equal(x[k], x[k - 1]) == (not rho[k] > 0.15)
    assert (rho[1:] < 0.25).any() and (np.diff(d) > 0).any()   # both rules were exercised


def test_negative_curvature_escapes_a_saddle():
    # f = ½x₁² + ¼x₂⁴ − ½x₂²: a saddle at 0, minima at (0, ±1). From next to the saddle, TR with Steihaug
    # follows negative curvature and reaches a minimizer.
    def f(x):
        return 0.5 * x[0] ** 2 + 0.25 * x[1] ** 4 - 0.5 * x[1] ** 2

    p = Problem(name="saddle", f=f, grad=lambda x: np.array([x[0], x[1] ** 3 - x[1]]),
                hess=lambda x: np.diag([1.0, 3 * x[1] ** 2 - 1.0]), x0=np.array([1.0, 1e-3]))
    res = tr.trust_region(p, subproblem=tr.steihaug_cg, gtol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.x, [0.0, 1.0], atol=1e-8)


# ------------------------------------------------------------------------------------------------ edge cases
def test_nan_at_x0_stops_with_status_3():
    p = Problem(name="nan", f=lambda x: np.nan, grad=HAND.grad, hess=HAND.hess, x0=HAND.x0)
    res = tr.trust_region(p)
    assert res.status == 3 and not res.success and res.nit == 0


def test_nan_gradient_at_an_accepted_point_stops_with_status_3():
    def grad(x):
        return xp(x).where(x[0] < 0.5, xp(x).nan, 1.0) * (A_HAND @ x)
    p = Problem(name="nan gradient", f=HAND.f, grad=grad, hess=HAND.hess, x0=HAND.x0)
    res = tr.trust_region(p, subproblem=tr.dogleg)
    assert res.status == 3 and not res.success and "iteration" in res.message
    assert np.all(np.isfinite(res.x)) and res.x[0] >= 0.5


def test_nan_trial_values_are_rejected_not_accepted():
    def f(x):
        return xp(x).where(x[1] < 0.5, xp(x).nan, 0.5 * x @ (A_HAND @ x))
    p = Problem(name="nan below", f=f, grad=HAND.grad, hess=HAND.hess, x0=np.array([1.0, 1.0]))
    res = tr.trust_region(p, subproblem=tr.dogleg, delta0=5.0, maxiter=50, record_x=True)
    assert np.all(np.isfinite(res.history.fun)) and np.all(res.history.x[:, 1] >= 0.5)
    assert np.any(res.ratio == -np.inf)                       # the NaN trial counted as ρ = −∞


@pytest.mark.parametrize("kwargs, name", [
    ({"delta0": 0.0}, "delta0"), ({"delta0": -1.0}, "delta0"), ({"delta_max": np.nan}, "delta_max"),
    ({"delta0": 10.0, "delta_max": 1.0}, "delta0"), ({"eta_accept": 0.3}, "eta_accept"),
    ({"eta_accept": -0.1}, "eta_accept"), ({"subproblem": "dogleg"}, "subproblem"),
    ({"x0": np.zeros(3)}, "x0"), ({"maxiter": -2}, "maxiter"), ({"gtol": -1.0}, "gtol"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        tr.trust_region(HAND, **kwargs)


def test_missing_second_derivatives_raise():
    p = Problem(name="first order", f=HAND.f, grad=HAND.grad, x0=HAND.x0)
    with pytest.raises(ValueError, match="hvp"):
        tr.trust_region(p)


def test_callback_stops_and_matrix_free_counts_products():
    res = tr.trust_region(rosenbrock(2), callback=lambda r: r.nit == 4)
    assert res.status == 99 and res.nit == 4
    q = quadratic(n=10, mu=1.0, L=100.0, seed=0)
    a = tr.trust_region(q, matrix_free=True, delta0=100.0, delta_max=1e4, gtol=1e-8)
    b = tr.trust_region(q, matrix_free=False, delta0=100.0, delta_max=1e4, gtol=1e-8)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
    assert b.nhev == b.njev and a.nhev > a.nit               # Hessians vs Hessian-vector products
