"""Finite differences against hand computation, jax.grad and scipy; the V-shaped error curve against theory."""
import jax
import numpy as np
import pytest
from scipy.optimize import approx_fprime

from utils.problems import xp
from utils.derivatives import (directional_fd, fd_error_curve, fd_error_model, fd_optimal_h,
                               finite_difference_gradient, gradient_check)

A_HAND = np.diag([1.0, 10.0])


def quad(x):
    return 0.5 * x @ (A_HAND @ x)


# Written against the argument's namespace: NumPy arrays evaluate eagerly (fast), JAX tracers differentiate.
FUNCS = {
    "exp-sin": lambda x: xp(x).sum(xp(x).exp(xp(x).sin(x))),
    "softplus": lambda x: xp(x).sum(xp(x).logaddexp(0.0, x * xp(x).arange(1, x.size + 1) / x.size)),
    "quartic": lambda x: xp(x).sum(x**4) + xp(x).sum(x) ** 2,
    "rosenbrock": lambda x: xp(x).sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2),
    "tanh-net": lambda x: xp(x).mean((xp(x).tanh(x[0] * xp(x).linspace(-2, 2, 7) + x[1]) * x[2] - 0.3) ** 2)
                          + 0.1 * xp(x).sum(x[3:] ** 2),
}


def test_hand_computed_quotients_on_a_quadratic():
    x = np.array([1.0, 1.0])
    # Forward: (f(x + h e₂) − f(x))/h = ∂₂f + f''·h/2 = 10 + 10·0.5/2 = 12.5 exactly (h = 0.5).
    assert directional_fd(quad, x, [0.0, 1.0], 0.5, "forward") == 12.5
    np.testing.assert_array_equal(finite_difference_gradient(quad, x, h=0.5, scheme="forward"), [1.25, 12.5])
    # Central differences are exact on quadratics (the h² term has f''' = 0).
    np.testing.assert_array_equal(finite_difference_gradient(quad, x, h=0.5, scheme="central"), [1.0, 10.0])
    np.testing.assert_allclose(fd_error_curve(quad, lambda x: A_HAND @ x, x, [0.5, 0.25], v=np.array([0.0, 1.0])),
                               [2.5, 1.25], rtol=1e-15)


@pytest.mark.parametrize("name", list(FUNCS))
def test_against_jax_grad(name):
    f = FUNCS[name]
    grad = jax.jit(jax.grad(f))
    for seed in range(3):
        x = np.random.default_rng(seed).uniform(-1.0, 1.0, 6)
        g = np.asarray(grad(x))
        scale = np.linalg.norm(g)
        central = finite_difference_gradient(f, x, h=1e-5, scheme="central")
        forward = finite_difference_gradient(f, x, h=1e-8, scheme="forward")
        assert np.linalg.norm(central - g) <= 1e-7 * scale
        assert np.linalg.norm(forward - g) <= 1e-5 * scale
        assert gradient_check(f, grad, x, seed=seed, num_directions=3) < 1e-7


def test_forward_difference_matches_scipy_approx_fprime():
    f = lambda x: float(np.sum(np.exp(np.sin(x))))
    x = np.linspace(-1.0, 1.0, 7)
    for h in (1e-3, 1e-6):
        np.testing.assert_allclose(finite_difference_gradient(f, x, h=h, scheme="forward"),
                                   approx_fprime(x, f, h), rtol=0, atol=1e-8)


def test_oracle_call_counts():
    calls = []
    f = lambda x: calls.append(1) or quad(x)
    finite_difference_gradient(f, np.ones(2), scheme="forward")
    assert len(calls) == 3                                # n + 1
    calls.clear()
    finite_difference_gradient(f, np.ones(2), scheme="central")
    assert len(calls) == 4                                # 2n
    calls.clear()
    gradient_check(f, lambda x: A_HAND @ x, np.ones(2), num_directions=5)
    assert len(calls) == 10                               # two per direction, whatever n is


def test_gradient_check_catches_a_wrong_gradient():
    f = FUNCS["tanh-net"]
    x = np.random.default_rng(4).uniform(-1.0, 1.0, 5)
    good = jax.grad(f)
    bad = lambda x: np.asarray(good(x)) * np.array([1.0, 1.0, 1.0, 1.0, 0.5])   # one component halved
    assert gradient_check(f, good, x, num_directions=5) < 1e-7
    assert gradient_check(f, bad, x, num_directions=5) > 1e-2
    assert np.isnan(gradient_check(lambda x: np.nan * x[0], lambda x: x, np.ones(2)))
    assert gradient_check(lambda x: 0.0 * x[0], lambda x: 0.0 * x, np.ones(2)) == 0.0


def _directional_derivatives(f):
    """Jitted (x, v) ↦ vᵀ∇²f(x)v and (x, v) ↦ D³f(x)[v, v, v], by nested forward mode."""
    d1 = lambda x, v: jax.jvp(f, (x,), (v,))[1]
    d2 = lambda x, v: jax.jvp(lambda y: d1(y, v), (x,), (v,))[1]
    d3 = lambda x, v: jax.jvp(lambda y: d2(y, v), (x,), (v,))[1]
    return jax.jit(d2), jax.jit(d3)


@pytest.mark.parametrize("scheme", ["forward", "central"])
@pytest.mark.parametrize("name", ["exp-sin", "softplus", "quartic"])
def test_measured_optimal_h_within_factor_10_of_theory(name, scheme):
    f = FUNCS[name]
    hs = np.logspace(-13, -1, 97)
    grad, (d2, d3) = jax.jit(jax.grad(f)), _directional_derivatives(f)
    rng = np.random.default_rng(0)
    curves, h_theory, best_model = [], [], []
    for _ in range(12):
        x = rng.uniform(-1.0, 1.0, 5)
        v = rng.standard_normal(5)
        v /= np.linalg.norm(v)
        curves.append(fd_error_curve(f, grad, x, hs, v=v, scheme=scheme))
        consts = dict(fx=float(f(x)), d2=float(d2(x, v)), d3=float(d3(x, v)))
        h_theory.append(fd_optimal_h(scheme, **consts))
        best_model.append(fd_error_model(h_theory[-1], scheme, **consts))
    median = np.median(curves, axis=0)                    # median over points: round-off is noisy
    h_measured = hs[np.argmin(median)]
    ratio = h_measured / np.median(h_theory)
    assert 0.1 <= ratio <= 10, (h_measured, np.median(h_theory))
    # Slopes of the two arms on log–log axes: truncation +1 / +2 on the right, round-off −1 on the left.
    right = (hs > 30 * h_measured) & (hs < 1e-2 if scheme == "forward" else hs < 1e-1)
    left = (hs < h_measured / 30) & (hs > 1e-12)
    slope_r = np.polyfit(np.log(hs[right]), np.log(median[right]), 1)[0]
    slope_l = np.polyfit(np.log(hs[left]), np.log(median[left]), 1)[0]
    assert slope_r == pytest.approx(1.0 if scheme == "forward" else 2.0, abs=0.15)
    assert slope_l == pytest.approx(-1.0, abs=0.25)
    # The model's smallest error (at its h*) bounds the measured one, and is not pessimistic by > 100×.
    assert np.median(best_model) / 100 <= median.min() <= np.median(best_model), (median.min(), best_model)


def test_model_and_optimum_formulas():
    eps = np.finfo(float).eps
    h = fd_optimal_h("forward", fx=3.0, d2=5.0)
    assert h == pytest.approx(2 * np.sqrt(eps * 3.0 / 5.0), rel=1e-15)
    hs = h * np.array([0.99, 1.0, 1.01])
    assert np.argmin(fd_error_model(hs, "forward", fx=3.0, d2=5.0)) == 1
    h = fd_optimal_h("central", fx=3.0, d3=5.0)
    assert h == pytest.approx(np.cbrt(3 * eps * 3.0 / 5.0), rel=1e-15)
    hs = h * np.array([0.99, 1.0, 1.01])
    assert np.argmin(fd_error_model(hs, "central", fx=3.0, d3=5.0)) == 1


@pytest.mark.parametrize("call, match", [
    (lambda: directional_fd(quad, [1.0, 1.0], [1.0, 0.0], 0.0), "h"),
    (lambda: directional_fd(quad, [1.0, 1.0], [1.0, 0.0, 0.0]), "v has shape"),
    (lambda: finite_difference_gradient(quad, [1.0, 1.0], scheme="backward"), "scheme"),
    (lambda: finite_difference_gradient(quad, [1.0, np.nan]), "x must be"),
    (lambda: finite_difference_gradient(quad, [1.0, 1.0], h=-1e-3), "h"),
    (lambda: gradient_check(quad, lambda x: x, [1.0, 1.0], num_directions=0), "num_directions"),
    (lambda: gradient_check(quad, lambda x: x[:1], [1.0, 1.0]), "grad"),
    (lambda: fd_error_curve(quad, lambda x: x, [1.0, 1.0], [1e-3, 0.0]), "hs"),
    (lambda: fd_optimal_h("forward", fx=1.0, d2=0.0), "d2"),
    (lambda: fd_error_model([1e-3], "centered", fx=1.0), "scheme"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
