"""Line searches (Armijo backtracking, strong Wolfe) and gradient descent driven by them."""
import warnings

import numpy as np
import pytest
from scipy.optimize import line_search, rosen, rosen_der

import utils.linesearch as ls
from utils.first_order import gradient_descent_armijo, gradient_descent_armijo_jax, gradient_descent_wolfe
from utils.linesearch import backtracking, strong_wolfe
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock, xp

A_HAND = np.diag([1.0, 10.0])
HAND = Problem(name="½(x₁² + 10x₂²)", f=lambda x: 0.5 * x @ (A_HAND @ x), grad=lambda x: A_HAND @ x,
               x0=np.array([1.0, 1.0]), x_star=np.zeros(2), f_star=0.0, L=10.0, mu=1.0)


def wolfe_holds(f, grad, x, d, alpha, c1, c2):
    phi0, dphi0 = f(x), grad(x) @ d
    return (f(x + alpha * d) <= phi0 + c1 * alpha * dphi0
            and abs(grad(x + alpha * d) @ d) <= c2 * abs(dphi0) * (1 + 1e-12))


def random_rosenbrock_cases(n_cases, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        x = rng.uniform(-2, 2, rng.integers(2, 6))
        yield x, -rosen_der(x) * rng.choice([1e-4, 1e-3, 1e-2, 1.0])


# ------------------------------------------------------------------------------------------- backtracking
def test_backtracking_hand_computed():
    # f = ½(x₁² + 10x₂²), x = (1, 1): f = 5.5, g = (1, 10), d = −g, gᵀd = −101.
    # α = 1 → f = 0.5(0 + 810) = 405 ✗; α = ½ → 0.5(0.25 + 160) ✗; α = ¼ → 0.5(0.5625 + 22.5) = 11.53 ✗;
    # α = ⅛ → x = (0.875, −0.25), f = 0.5(0.765625 + 0.625) = 0.6953125 ≤ 5.5 − 1e-4·⅛·101 ✓.
    x = np.array([1.0, 1.0])
    alpha, f_new, nfev = backtracking(HAND.f, x, 5.5, HAND.grad(x), -HAND.grad(x))
    assert (alpha, nfev) == (0.125, 4)
    assert f_new == pytest.approx(0.6953125, rel=1e-15)
    # ρ = 0.1: α = 1, 0.1 fail (f(0.9, 0) = 0.405 passes!) — α = 0.1 gives x = (0.9, 0.0): accepted
    alpha, f_new, nfev = backtracking(HAND.f, x, 5.5, HAND.grad(x), -HAND.grad(x), rho=0.1)
    assert (alpha, nfev) == (pytest.approx(0.1), 2) and f_new == pytest.approx(0.405)


def test_backtracking_returns_largest_armijo_step_on_the_grid():
    x, d = np.array([-1.2, 1.0]), -rosen_der(np.array([-1.2, 1.0]))
    alpha, _, nfev = backtracking(rosen, x, rosen(x), rosen_der(x), d, alpha0=1.0, rho=0.5)
    grid = 0.5 ** np.arange(nfev)
    ok = [rosen(x + a * d) <= rosen(x) + 1e-4 * a * (rosen_der(x) @ d) for a in grid]
    assert ok[-1] and not any(ok[:-1]) and alpha == grid[-1]


def test_backtracking_shrinks_past_nan():
    f = lambda x: np.nan if x[0] > 0.5 else 0.5 * x @ x        # NaN for long steps
    x = np.array([-1.0, 0.0])
    alpha, f_new, nfev = backtracking(f, x, 0.5, x, -x)        # α = 1 → x = 0 fine
    assert alpha == 1.0 and nfev == 1
    alpha, f_new, _ = backtracking(f, x, 0.5, x, -4 * x)       # α = 1 → x = (3, 0): NaN → shrink
    assert np.isfinite(f_new) and alpha < 1


@pytest.mark.parametrize("kwargs, name", [
    ({"alpha0": 0.0}, "alpha0"), ({"c1": 1.0}, "c1"), ({"c1": 0.0}, "c1"), ({"rho": 1.0}, "rho"),
    ({"rho": np.nan}, "rho"), ({"maxiter": 0}, "maxiter"),
])
def test_backtracking_bad_parameters(kwargs, name):
    x = np.ones(2)
    with pytest.raises(ValueError, match=name):
        backtracking(HAND.f, x, HAND.f(x), HAND.grad(x), -HAND.grad(x), **kwargs)


def test_backtracking_and_wolfe_reject_ascent_and_orthogonal_directions():
    x = np.ones(2)
    with pytest.raises(ValueError, match="descent"):
        backtracking(HAND.f, x, HAND.f(x), HAND.grad(x), HAND.grad(x))         # true ascent
    ortho = np.array([1.0, -0.1])      # gᵀd = 0 in exact reals; −5.55e-17 for the stored −0.1 (FMA returns it), 0.0 without FMA
    for search in (lambda d: backtracking(HAND.f, x, HAND.f(x), HAND.grad(x), d),
                   lambda d: strong_wolfe(HAND.f, HAND.grad, x, d)):
        for d in (ortho, -ortho, ortho * 1e8, ortho * 1e-8):
            with pytest.raises(ValueError, match="descent"):
                search(d)
    with pytest.raises(ValueError, match="c1"):
        strong_wolfe(HAND.f, HAND.grad, x, -HAND.grad(x), c1=0.5, c2=0.4)


def test_is_descent_is_an_angle_test_independent_of_rounding():
    g = np.array([1.0, 10.0])
    d_perp = np.array([10.0, -1.0]) / np.sqrt(101.0)                   # exactly orthogonal, unit length
    u_g = g / np.linalg.norm(g)
    # The two values a dot product of an orthogonal pair can round to on different kernels: both rejected.
    assert not ls.is_descent(g, np.array([1.0, -0.1]))
    for slope in (0.0, -5.55e-17, 5.55e-17):
        assert not ls.is_descent(np.array([slope, 1.0]), np.array([1.0, 0.0]))
    # Boundary on purpose: cos∠(g, d) = −c for c well above and well below the default ε = 2γ_2 ≈ 4u = 4.4e-16.
    for c, expected in [(1e-3, True), (1e-10, True), (1e-14, True), (1e-17, False), (0.0, False)]:
        d = -c * u_g + np.sqrt(1.0 - c * c) * d_perp
        assert bool(ls.is_descent(g, d)) is expected, c
        assert bool(ls.is_descent(g, -d)) is False
    # The default is 2γ_n. With g = e₁, d = (−c, 1) every product and sum is exact (‖d‖ rounds to 1), so the
    # computed cosine is exactly −c on every kernel: just above 2γ_n accepted, at γ_n (what rounding alone can
    # produce in a dot product) rejected.
    n, u = 2, np.finfo(float).eps / 2
    gam = n * u / (1 - n * u)
    for c, expected in [(2.5 * gam, True), (1.5 * gam, False), (1.0 * gam, False)]:
        assert bool(ls.is_descent(np.array([1.0, 0.0]), np.array([-c, 1.0]))) is expected, c
    # ε is an argument: a wider cone rejects a shallow descent direction the default accepts.
    d = -1e-3 * u_g + np.sqrt(1 - 1e-6) * d_perp
    assert ls.is_descent(g, d) and not ls.is_descent(g, d, eps=1e-2)
    # Scale invariance: the test depends on the angle only.
    assert ls.is_descent(1e-50 * g, 1e50 * d) and ls.is_descent(1e50 * g, 1e-50 * d)
    with pytest.raises(ValueError, match="descent_eps"):
        backtracking(HAND.f, np.ones(2), HAND.f(np.ones(2)), g, -g, descent_eps=-1.0)


def test_is_descent_runs_under_jit():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    f = jax.jit(ls.is_descent)
    assert bool(f(jnp.array([1.0, 10.0]), jnp.array([-1.0, 0.0])))
    assert not bool(f(jnp.array([1.0, 10.0]), jnp.array([1.0, -0.1])))


# ------------------------------------------------------------------------------------------- strong Wolfe
@pytest.mark.parametrize("c2", [0.9, 0.1])
def test_strong_wolfe_conditions_hold_and_scipy_agrees_on_its_own_conditions(c2):
    n_ok = 0
    for x, d in random_rosenbrock_cases(60):
        r = strong_wolfe(rosen, rosen_der, x, d, c2=c2)
        assert r.success and wolfe_holds(rosen, rosen_der, x, d, r.alpha, 1e-4, c2)
        assert r.f_new == rosen(x + r.alpha * d) and np.array_equal(r.g_new, rosen_der(x + r.alpha * d))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                   # scipy warns when it gives up
            a_sp = line_search(rosen, rosen_der, x, d, c1=1e-4, c2=c2)[0]
        if a_sp is not None:                                    # scipy may give up after 10 trials
            assert wolfe_holds(rosen, rosen_der, x, d, a_sp, 1e-4, c2)
            n_ok += 1
    assert n_ok >= 50


def test_strong_wolfe_equals_scipy_step_for_step_with_scipys_signed_safeguard(monkeypatch):
    """scipy's zoom measures its safeguard with the signed width a_hi − a_lo (scipy issue #13695). With that
    one rule swapped in, our search returns scipy's step in every case: the rest is the same algorithm."""
    def signed(a, a_lo, a_hi, frac):
        if a is None:
            return False
        span = a_hi - a_lo
        return not (a > max(a_lo, a_hi) - frac * span or a < min(a_lo, a_hi) + frac * span)

    cases = list(random_rosenbrock_cases(100, seed=1))
    ours = [strong_wolfe(rosen, rosen_der, x, d, c2=0.1).alpha for x, d in cases]
    monkeypatch.setattr(ls, "_inside", signed)
    compat = [strong_wolfe(rosen, rosen_der, x, d, c2=0.1).alpha for x, d in cases]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                       # scipy warns when it gives up
        sp = [line_search(rosen, rosen_der, x, d, c1=1e-4, c2=0.1)[0] for x, d in cases]
    both = [(a, b) for a, b in zip(compat, sp) if b is not None]
    assert len(both) >= 90
    np.testing.assert_allclose(*zip(*both), rtol=1e-12)
    assert sum(a != b for a, b in zip(ours, compat)) > 0       # the safeguard does matter on some cases


def test_strong_wolfe_on_a_quadratic_equals_exact_minimizer_when_c2_small():
    # Along d on a quadratic, φ is a parabola: the first zoom trial (quadratic interpolation) is exact.
    p = quadratic(n=6, mu=1.0, L=30.0, seed=2)
    x = np.ones(6)
    d = -p.grad(x)
    exact = (d @ d) / (d @ p.info["A"] @ d)
    # ᾱ = 4α* puts α* at 25% of the bracket [0, ᾱ], well inside the 10% safeguard. (ᾱ = 10α* would put
    # it exactly on the safeguard's edge, where the last bit of rounding decides between the quadratic
    # step and bisection: a test that passes or fails with the machine's BLAS.)
    r = strong_wolfe(p.f, p.grad, x, d, alpha0=4 * exact, c2=1e-3)
    assert r.success and r.alpha == pytest.approx(exact, rel=1e-10)
    assert (r.nfev, r.njev) == (3, 2)           # f: x, x + ᾱd, x + α*d; ∇f: x, x + α*d


def test_strong_wolfe_extrapolates_a_step_that_is_only_too_short():
    # φ(α) = ½(10 − 0.1α)²: α = 1 satisfies Armijo with φ'(1) = −0.99, |φ'(1)| > 0.9|φ'(0)| = 0.9.
    tried = []

    def f(x):
        tried.append(float((10.0 - x[0]) / 0.1))
        return 0.5 * x @ x

    x, d = np.array([10.0]), np.array([-0.1])
    r = strong_wolfe(f, lambda x: x, x, d, fx=50.0, gx=x, c2=0.9)
    assert r.success and r.alpha > 1.0
    assert tried[:4] == pytest.approx([1.0, 2.0, 4.0, 8.0])     # doubled, never shrunk, while φ' < 0
    assert all(b > a for a, b in zip(tried, tried[1:]))
    assert wolfe_holds(lambda x: 0.5 * x @ x, lambda x: x, x, d, r.alpha, 1e-4, 0.9)


def test_strong_wolfe_reports_unbounded_direction_as_failure():
    f, grad = (lambda x: -x[0]), (lambda x: np.array([-1.0]))
    r = strong_wolfe(f, grad, np.zeros(1), np.ones(1), alpha_max=64.0)
    assert not r.success and r.alpha == 64.0


def test_strong_wolfe_counts_calls():
    calls = {"f": 0, "g": 0}

    def f(x):
        calls["f"] += 1
        return rosen(x)

    def g(x):
        calls["g"] += 1
        return rosen_der(x)

    x = np.array([-1.2, 1.0])
    r = strong_wolfe(f, g, x, -rosen_der(x) * 1e-3)
    assert (r.nfev, r.njev) == (calls["f"], calls["g"])


# --------------------------------------------------------------------------------------------- GD drivers
@pytest.mark.parametrize("solver", [gradient_descent_armijo, gradient_descent_armijo_jax])
def test_gd_armijo_first_iterates_by_hand(solver):
    # k = 0: α = ⅛ (above), x₁ = (1, 1) − ⅛(1, 10) = (0.875, −0.25); nfev = 1 + 4.
    res = solver(HAND, maxiter=1, gtol=0.0, record_x=True)
    np.testing.assert_allclose(res.history.x, [[1.0, 1.0], [0.875, -0.25]], rtol=0, atol=1e-15)
    assert list(res.history.nfev) == [1, 5] and list(res.history.njev) == [1, 2]


@pytest.mark.parametrize("make", [lambda: quadratic(n=10, mu=1.0, L=50.0, seed=3), lambda: rosenbrock(4),
                                  breast_cancer_logistic])
def test_gd_armijo_numpy_and_jax_agree(make):
    p = make()
    a = gradient_descent_armijo(p, maxiter=80, gtol=0.0, record_x=True)
    b = gradient_descent_armijo_jax(p, maxiter=80, gtol=0.0, record_x=True)
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-11, atol=1e-13)
    np.testing.assert_array_equal(b.history.nfev, a.history.nfev)
    np.testing.assert_array_equal(b.history.njev, a.history.njev)


def test_gd_armijo_decreases_f_sufficiently_and_rate_on_quadratic():
    p = quadratic(n=20, mu=1.0, L=20.0, seed=1)
    res = gradient_descent_armijo(p, maxiter=150, gtol=0.0, record_x=True)
    keep = int(np.argmax(res.history.fun - p.f_star < 1e-10))          # before rounding takes over
    assert keep > 20
    f = res.history.fun[:keep]
    g2 = res.history.grad_norm[:keep] ** 2
    steps = res.history.step[1:keep] / res.history.grad_norm[:keep - 1]          # α_k = ‖x_{k+1} − x_k‖ / ‖g_k‖
    assert np.all(f[1:] <= f[:-1] - 1e-4 * steps * g2[:-1] + 1e-12)
    assert np.all(steps >= min(1.0, 2 * 0.5 * (1 - 1e-4) / p.L) * (1 - 1e-12))   # α ≥ min(ᾱ, 2ρ(1−c₁)/L)
    # linear rate: f − f* ≤ (1 − 2μc₁α_min)^k (f₀ − f*) with α_min = min(ᾱ, 2ρ(1−c₁)/L)
    q = 1 - 2 * p.mu * 1e-4 * min(1.0, (1 - 1e-4) / p.L)
    k = np.arange(len(f))
    assert np.all(f - p.f_star <= q ** k * (f[0] - p.f_star) * (1 + 1e-9) + 1e-13)


def test_gd_wolfe_steps_satisfy_strong_wolfe_and_it_converges():
    p = rosenbrock(2)
    res = gradient_descent_wolfe(p, c2=0.9, maxiter=30, gtol=0.0, record_x=True)
    xs = res.history.x
    for k in range(30):                                 # each accepted step meets the strong Wolfe conditions
        d = -p.grad(xs[k])
        alpha = np.linalg.norm(xs[k + 1] - xs[k]) / np.linalg.norm(d)
        assert wolfe_holds(p.f, p.grad, xs[k], d, alpha, 1e-4, 0.9)
    q = quadratic(n=10, mu=1.0, L=50.0, seed=2)
    res = gradient_descent_wolfe(q, maxiter=2000, gtol=1e-6)     # (‖g‖ ≲ 1e-9 is below what f-values can resolve)
    assert res.success
    np.testing.assert_allclose(res.x, q.x_star, atol=1e-6)


def test_gd_line_search_drivers_stop_on_nan_and_validate():
    def grad(x):   # finite f, NaN gradient once x₁ < 0.9: the first Armijo step lands at (0.875, −0.25)
        return xp(x).where(x[0] < 0.9, xp(x).nan, 1.0) * (A_HAND @ x)

    p = Problem(name="nan gradient", f=HAND.f, grad=grad, x0=HAND.x0)
    for solver in (gradient_descent_armijo, gradient_descent_armijo_jax, gradient_descent_wolfe):
        res = solver(p, maxiter=50, gtol=0.0, **({"c2": 0.9, "alpha0": 0.125} if solver is gradient_descent_wolfe else {}))
        assert res.status == 3 and not res.success and res.nit == 1 and "iteration 1" in res.message
        np.testing.assert_allclose(res.x, HAND.x0)
    for kwargs, name in [({"c1": 2.0}, "c1"), ({"rho": 0.0}, "rho"), ({"alpha0": -1.0}, "alpha0"),
                         ({"maxls": 0}, "maxls")]:
        with pytest.raises(ValueError, match=name):
            gradient_descent_armijo(HAND, **kwargs)
    with pytest.raises(ValueError, match="c2"):
        gradient_descent_wolfe(HAND, c1=0.5, c2=0.1)


def test_gd_wolfe_callback_stops():
    res = gradient_descent_wolfe(rosenbrock(2), maxiter=100, gtol=0.0, callback=lambda r: r.nit == 3)
    assert res.status == 99 and res.nit == 3


@pytest.mark.parametrize("solver", ["armijo", "wolfe"])
def test_gd_line_search_stops_with_status_2_when_f_stops_changing(solver):
    """With gtol = 0 the gradient test can never pass; once f no longer changes above rounding, the searches
    fail and the run stops with scipy's status 2 instead of burning evaluations until maxiter."""
    from utils.first_order import gradient_descent_armijo, gradient_descent_wolfe
    from utils.problems import quadratic

    p = quadratic(n=20, mu=1.0, L=50.0, seed=0)
    gd = gradient_descent_armijo if solver == "armijo" else gradient_descent_wolfe
    res = gd(p, gtol=0.0, maxiter=20_000)
    assert res.status == 2 and not res.success and res.nit < 20_000
    assert res.fun - p.f_star < 1e-12 * max(1.0, abs(p.f_star))
