"""Gradient descent, fully validated: the template every later algorithm's tests copy."""
import numpy as np
import pytest

from utils import drivers
from utils.first_order import gradient_descent, gradient_descent_jax
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock, xp

A_HAND = np.diag([1.0, 10.0])
HAND = Problem(name="½(x₁² + 10x₂²)", f=lambda x: 0.5 * x @ (A_HAND @ x), grad=lambda x: A_HAND @ x,
               x0=np.array([1.0, 1.0]), x_star=np.zeros(2), f_star=0.0, L=10.0, mu=1.0)
DRIVERS = [gradient_descent, gradient_descent_jax]


@pytest.fixture(scope="module")
def logistic():
    return breast_cancer_logistic(lam=1e-2)


@pytest.mark.parametrize("solver", DRIVERS)
def test_hand_computed_first_iterates(solver):
    # η = 0.1: g₀ = (1, 10) → x₁ = (0.9, 0); g₁ = (0.9, 0) → x₂ = (0.81, 0).
    res = solver(HAND, eta=0.1, maxiter=2, gtol=0.0)
    np.testing.assert_allclose(res.history.x, [[1.0, 1.0], [0.9, 0.0], [0.81, 0.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.history.fun, [5.5, 0.405, 0.32805], rtol=1e-14)
    np.testing.assert_allclose(res.history.grad_norm, [np.sqrt(101.0), 0.9, 0.81], rtol=1e-14)
    np.testing.assert_allclose(res.history.step[1:], [np.hypot(0.1, 1.0), 0.09], rtol=1e-14)
    assert np.isnan(res.history.step[0])
    assert list(res.history.njev) == [1, 2, 3] and res.njev == 3 and res.nit == 2
    assert res.status == 1 and not res.success


@pytest.mark.parametrize("make, eta", [
    (lambda: quadratic(n=10, mu=1.0, L=50.0, seed=3), 0.03),
    (lambda: rosenbrock(4), 1e-3),
    (breast_cancer_logistic, 1.0),
])
def test_numpy_and_jax_iterates_agree(make, eta):
    p = make()
    a = gradient_descent(p, eta=eta, maxiter=60, gtol=0.0, record_x=True)
    b = gradient_descent_jax(p, eta=eta, maxiter=60, gtol=0.0, record_x=True)
    assert a.nit == b.nit == 60
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.history.fun, a.history.fun, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.history.grad_norm, a.history.grad_norm, rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(b.history.njev, a.history.njev)


@pytest.mark.parametrize("kappa, iters", [(10.0, 100), (100.0, 400)])
@pytest.mark.parametrize("solver", DRIVERS)
def test_contraction_matches_theory_with_step_2_over_L_plus_mu(solver, kappa, iters):
    p = quadratic(n=30, mu=1.0, L=kappa, seed=0)
    res = solver(p, eta=2.0 / (p.L + p.mu), maxiter=iters, gtol=0.0, record_x=True)
    err = np.linalg.norm(res.history.x - p.x_star, axis=1)
    # Least-squares slope of log‖x_k − x*‖ over the second half of the run (the asymptotic rate).
    k = np.arange(iters // 2, iters + 1)
    measured = np.exp(np.polyfit(k, np.log(err[k]), 1)[0])
    theory = (kappa - 1) / (kappa + 1)
    assert abs(measured - theory) <= 0.05 * theory, (measured, theory)
    # The bound itself holds at every iteration.
    assert np.all(err <= theory ** np.arange(iters + 1) * err[0] * (1 + 1e-10))


@pytest.mark.parametrize("which", ["quadratic", "logistic"])
def test_sublinear_bound_with_step_1_over_L(which, logistic):
    p = quadratic(n=20, mu=1e-3, L=10.0, spectrum="geometric", seed=1) if which == "quadratic" else logistic
    res = gradient_descent(p, eta=1.0 / p.L, maxiter=500, gtol=0.0)
    k = np.arange(1, res.nit + 1)
    gap = res.history.fun[1:] - p.f_star
    bound = p.L * np.sum((p.x0 - p.x_star) ** 2) / (2 * k)
    assert np.all(gap <= bound), np.max(gap / bound)
    # Descent lemma with η = 1/L: f(x_{k+1}) ≤ f(x_k) − ‖∇f(x_k)‖²/(2L). Up to the rounding of two f evaluations,
    # each a sum of at most a few hundred terms of the size of |f| (γ_n|f| ≤ 10³·u·|f|), never an exact zero.
    fun, g = res.history.fun, res.history.grad_norm
    slack = 1e3 * np.finfo(float).eps * np.maximum(np.abs(fun[:-1]), np.abs(fun[1:]))
    assert np.all(np.diff(fun) <= -g[:-1] ** 2 / (2 * p.L) + slack)


@pytest.mark.parametrize("solver", DRIVERS)
def test_converges_and_reports_success(solver):
    p = quadratic(n=5, mu=1.0, L=5.0, seed=2)
    res = solver(p, eta=2.0 / (p.L + p.mu), maxiter=500, gtol=1e-10)
    assert res.success and res.status == 0 and res.nit < 500
    assert res.history.grad_norm[-1] <= 1e-10 < res.history.grad_norm[-2]
    np.testing.assert_allclose(res.x, p.x_star, atol=1e-9)
    assert "gtol" in res.message


@pytest.mark.parametrize("solver", DRIVERS)
def test_nan_objective_stops_with_failure(solver):
    def f(x):  # NaN once x₁ drops below 0.5: x₁ = 0.9ᵏ gives 0.531441 at k = 6, 0.4782969 at k = 7
        return xp(x).where(x[0] < 0.5, xp(x).nan, 0.5 * x @ (A_HAND @ x))

    p = Problem(name="nan below 0.5", f=f, grad=HAND.grad, x0=HAND.x0)
    res = solver(p, eta=0.1, maxiter=100, gtol=0.0)
    assert not res.success and res.status == 3
    assert res.nit == 7 and "iteration 7" in res.message
    assert res.njev == 8 == res.history.njev[-1]                # the calls made, the failed step's included
    assert np.isnan(res.history.fun[-1]) and np.all(np.isfinite(res.history.fun[:-1]))
    np.testing.assert_allclose(res.x, [0.9 ** 6, 0.0], atol=1e-15)   # the last finite iterate
    assert np.isfinite(res.fun)


@pytest.mark.parametrize("solver", DRIVERS)
def test_divergence_to_inf_is_reported(solver):
    res = solver(rosenbrock(2), eta=1.0, maxiter=100)
    assert res.status == 3 and not res.success and res.nit < 100


@pytest.mark.parametrize("solver", DRIVERS)
@pytest.mark.parametrize("kwargs, name", [
    ({"eta": 0.0}, "eta"), ({"eta": -1.0}, "eta"), ({"eta": np.nan}, "eta"), ({"eta": np.inf}, "eta"),
    ({"eta": "big"}, "eta"), ({"eta": 0.1, "maxiter": -1}, "maxiter"), ({"eta": 0.1, "maxiter": 2.5}, "maxiter"),
    ({"eta": 0.1, "x0": np.zeros(3)}, "x0"), ({"eta": 0.1, "x0": np.array([np.nan, 1.0])}, "x0"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(solver, kwargs, name):
    with pytest.raises(ValueError, match=name):
        solver(HAND, **kwargs)


@pytest.mark.parametrize("how", ["return", "raise"])
def test_callback_can_stop_the_run(how):
    seen = []

    def callback(intermediate_result):
        seen.append((intermediate_result.nit, intermediate_result.fun, intermediate_result.x.copy()))
        if intermediate_result.nit == 5:
            if how == "raise":
                raise StopIteration
            return True
        return False

    res = gradient_descent(HAND, eta=0.1, maxiter=100, gtol=0.0, callback=callback)
    assert res.status == 99 and not res.success and res.nit == 5
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([s[1] for s in seen], res.history.fun[1:], rtol=0)
    np.testing.assert_allclose(seen[-1][2], res.x, rtol=0)


def test_inputs_are_not_mutated():
    x0 = np.array([1.0, 1.0])
    gradient_descent(HAND, x0, eta=0.1, maxiter=3)
    gradient_descent_jax(HAND, x0, eta=0.1, maxiter=3)
    np.testing.assert_array_equal(x0, [1.0, 1.0])
    np.testing.assert_array_equal(HAND.x0, [1.0, 1.0])


def test_jax_driver_does_not_recompile_for_same_shapes():
    p = quadratic(n=8, mu=1.0, L=10.0, seed=5)
    before = drivers.jax_trace_count()
    r1 = gradient_descent_jax(p, eta=0.1, maxiter=50, gtol=0.0)
    after_first = drivers.jax_trace_count()
    r2 = gradient_descent_jax(p, np.ones(8), eta=0.05, maxiter=50, gtol=1e-3)   # new x0, η and gtol
    assert after_first == before + 1
    assert drivers.jax_trace_count() == after_first
    assert r1.history.fun[-1] != r2.history.fun[-1]                              # it did use the new values
    gradient_descent_jax(p, eta=0.1, maxiter=51, gtol=0.0)                      # a new maxiter is a new loop
    assert drivers.jax_trace_count() == after_first + 1


def test_history_time_and_counters_are_consistent():
    res = gradient_descent(quadratic(n=5, seed=0), eta=0.01, maxiter=20, gtol=0.0)
    h = res.history
    assert len(h) == res.nit + 1 == 21
    assert np.all(np.diff(h.time) >= 0) and np.all(np.diff(h.njev) == 1)
    assert set(h.as_dict()) == {"fun", "grad_norm", "step", "nfev", "njev", "time", "x"}
    big = gradient_descent(quadratic(n=120, seed=0), eta=0.01, maxiter=3)
    assert big.history.x is None                                              # iterates kept only when small


@pytest.mark.parametrize("make, eta, gtol", [
    (lambda: quadratic(n=6, mu=1.0, L=10.0, seed=4), 2.0 / 11.0, 1e-9),    # converges: status 0
    (lambda: rosenbrock(2), 1.0, 1e-8),                                      # overflows: status 3
    (lambda: rosenbrock(3), 1e-3, 1e-8),                                     # budget: status 1
])
def test_drivers_agree_on_the_whole_result(make, eta, gtol):
    p = make()
    a = gradient_descent(p, eta=eta, maxiter=300, gtol=gtol)
    b = gradient_descent_jax(p, eta=eta, maxiter=300, gtol=gtol)
    assert (a.status, a.nit, a.njev, a.nfev, a.success, a.message) == (b.status, b.nit, b.njev, b.nfev, b.success, b.message)
    np.testing.assert_allclose(b.x, a.x, rtol=1e-12)
    np.testing.assert_allclose(b.jac, a.jac, rtol=1e-10, atol=1e-14)
    assert b.fun == pytest.approx(a.fun, rel=1e-12)
    assert len(a.history) == len(b.history) == a.nit + 1


@pytest.mark.parametrize("solver", DRIVERS)
@pytest.mark.parametrize("gtol", [-1.0, np.nan, np.inf, "small"])
def test_bad_gtol_raises(solver, gtol):
    with pytest.raises(ValueError, match="gtol"):
        solver(HAND, eta=0.1, gtol=gtol)


def test_jax_gtol_type_does_not_force_a_recompile():
    p = quadratic(n=4, seed=9)
    gradient_descent_jax(p, eta=0.01, maxiter=7, gtol=0.0)
    before = drivers.jax_trace_count()
    gradient_descent_jax(p, eta=0.01, maxiter=7, gtol=0)
    gradient_descent_jax(p, eta=0.01, maxiter=7, gtol=np.float64(1e-3))
    assert drivers.jax_trace_count() == before


def test_jax_compile_cache_is_bounded_and_can_be_cleared(monkeypatch):
    import gc
    import weakref

    monkeypatch.setattr(drivers, "_CACHE_SIZE", 2)
    drivers.clear_jax_cache()
    first = quadratic(n=3, seed=11)
    ref = weakref.ref(first)
    for p in (first, quadratic(n=3, seed=12), quadratic(n=3, seed=13)):
        gradient_descent_jax(p, eta=0.01, maxiter=5)
    assert len(drivers._COMPILED) == 2
    del first, p
    drivers.clear_jax_cache()
    gc.collect()
    assert len(drivers._COMPILED) == 0 and ref() is None     # the problem and its data are freed
