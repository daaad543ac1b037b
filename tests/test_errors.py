"""Bad arguments fail at entry with one error that names the argument and says what was expected."""
import jax
import numpy as np
import pytest

import utils
from utils.least_squares import NLSProblem

jax.config.update("jax_enable_x64", True)

A = np.diag([1.0, 2.0, 3.0])


def good(**kw):
    args = dict(name="q", f=lambda x: 0.5 * x @ (A @ x), grad=lambda x: A @ x, x0=np.ones(3), L=3.0, mu=1.0,
                hess=lambda x: A, hvp=lambda x, v: A @ v)
    return utils.Problem(**{**args, **kw})


# solvers taking a smooth Problem, with the step-size keyword each needs
SMOOTH = {
    "gradient_descent": ("eta", {"eta": 0.1}), "gradient_descent_jax": ("eta", {"eta": 0.1}),
    "gradient_descent_armijo": ("alpha0", {}), "gradient_descent_armijo_jax": ("alpha0", {}),
    "gradient_descent_wolfe": ("alpha0", {}), "nonlinear_cg": ("alpha0", {}),
    "heavy_ball": ("eta", {"eta": 0.1, "beta": 0.5}), "heavy_ball_jax": ("eta", {"eta": 0.1, "beta": 0.5}),
    "nesterov": ("eta", {"eta": 0.1}), "nesterov_jax": ("eta", {"eta": 0.1}),
    "nesterov_momentum": ("eta", {"eta": 0.1, "beta": 0.5}),
    "nesterov_momentum_jax": ("eta", {"eta": 0.1, "beta": 0.5}),
    "nesterov_strongly_convex": ("eta", {"eta": 0.1, "mu": 1.0}),
    "nesterov_strongly_convex_jax": ("eta", {"eta": 0.1, "mu": 1.0}),
    "newton": ("beta", {}), "bfgs": ("c1", {}),
}
SOLVERS = {name: (getattr(utils, name), step, kw) for name, (step, kw) in SMOOTH.items()}
SOLVERS["lbfgs"] = (utils.lbfgs.lbfgs, "c1", {})
SOLVERS["lbfgs_jax"] = (utils.lbfgs.lbfgs_jax, "c1", {})
SOLVERS["trust_region"] = (utils.trust_region.trust_region, "delta0", {})
WITH_CALLBACK = [n for n in SOLVERS if not n.endswith("_jax")]


@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("bad, got", [(lambda x: x @ x, "a function"), (np.eye(3), "a numpy.ndarray")])
def test_first_argument_must_be_a_problem(name, bad, got):
    solver, _, kw = SOLVERS[name]
    with pytest.raises(TypeError, match=rf"utils\.{name} expects a utils\.Problem as its first argument, "
                                        rf"got {got}.*utils\.from_jax\(f, x0\)"):
        solver(bad, **kw)


def test_non_callable_f_is_refused_by_problem():
    with pytest.raises(TypeError, match=r"Problem 'bad': f must be a function"):
        good(name="bad", f=3.0)
    with pytest.raises(TypeError, match=r"Problem 'bad': hess must be None or a function"):
        good(name="bad", hess=np.eye(3))


@pytest.mark.parametrize("name", SOLVERS)
def test_missing_gradient(name):
    solver, _, kw = SOLVERS[name]
    with pytest.raises(TypeError, match=rf"utils\.{name} needs problem\.grad.*grad=None"):
        solver(good(grad=None), **kw)


@pytest.mark.parametrize("name", SOLVERS)
def test_gradient_of_wrong_shape(name):
    solver, _, kw = SOLVERS[name]
    p = good(grad=lambda x: (A @ x)[:2])
    with pytest.raises(ValueError, match=r"grad\(x0\) of shape \(2,\), expected the shape of x0, \(3,\)"):
        solver(p, **kw)


@pytest.mark.parametrize("name", SOLVERS)
def test_vector_valued_objective(name):
    solver, _, kw = SOLVERS[name]
    p = good(f=lambda x: 0.5 * x * (A @ x))
    with pytest.raises(ValueError, match=r"f\(x0\) of shape \(3,\), expected a scalar"):
        solver(p, **kw)


@pytest.mark.parametrize("name", SOLVERS)
def test_step_passed_positionally(name):
    solver, _, kw = SOLVERS[name]
    with pytest.raises(ValueError, match=r"x0 has shape \(\).*keyword-only.*second positional argument"):
        solver(good(), 0.1, **kw)


def test_required_step_passed_positionally_names_it():
    # a required keyword-only step: Python itself refuses the call, naming the keyword
    with pytest.raises(TypeError, match=r"missing 1 required keyword-only argument: 'eta'"):
        utils.gradient_descent(good(), 0.1)


@pytest.mark.parametrize("name", SOLVERS)
def test_step_given_as_string(name):
    solver, step, kw = SOLVERS[name]
    with pytest.raises(ValueError, match=rf"{step} must be a positive number, got str '0\.1'"):
        solver(good(), **{**kw, step: "0.1"})


@pytest.mark.parametrize("name", WITH_CALLBACK)
def test_callback_not_callable(name):
    solver, _, kw = SOLVERS[name]
    with pytest.raises(TypeError, match=rf"utils\.{name}: callback must be None or a function"):
        solver(good(), callback=5, **kw)


def test_nls_oracles_checked():
    bad = NLSProblem(name="r", residual=lambda x: x - 1.0, jac=lambda x: np.eye(2), x0=np.zeros(3))
    with pytest.raises(ValueError, match=r"jac\(x0\) of shape \(2, 2\), expected shape \(m, 3\)"):
        utils.gauss_newton(bad)


def test_good_problem_still_runs():
    res = utils.gradient_descent(good(), eta=0.5, gtol=1e-10)
    assert res.success and np.allclose(res.x, 0.0, atol=1e-9)
