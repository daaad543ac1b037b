"""Bad arguments fail at entry with one error that names the argument and says what was expected.

One table drives every public solver through the mistakes students make: something other than a problem record
as the first argument, a missing or mis-shaped oracle, a vector-valued objective, a step passed positionally
(it lands in ``x0``), a required step left out, a step given as a string, and a callback that is not a function.
"""
import dataclasses
import inspect

import jax
import numpy as np
import pytest

import utils
from utils.drivers import REQUIRED, scipy_minimize
from utils.least_squares import NLSProblem
from utils.problems import xp
from utils.levenberg_marquardt import levenberg_marquardt, levenberg_marquardt_jax
from utils.subgradient import constant, polyak

jax.config.update("jax_enable_x64", True)

A = np.diag([1.0, 2.0, 3.0])


# one well-formed problem per family; keywords replace fields, to break one thing at a time
def smooth(**kw):
    args = dict(name="q", f=lambda x: 0.5 * x @ (A @ x), grad=lambda x: A @ x, x0=np.ones(3), L=3.0, mu=1.0,
                hess=lambda x: A, hvp=lambda x, v: A @ v)
    return utils.Problem(**{**args, **kw})


def good(**kw):          # the name the first tests used
    return smooth(**kw)


LASSO = utils.lasso(A, np.ones(3), 0.1)


def composite(**kw):
    return dataclasses.replace(LASSO, **kw)


def nonsmooth(**kw):
    args = dict(name="l1", f=lambda x: xp(x).abs(x).sum(), grad=lambda x: xp(x).sign(x), x0=np.ones(3), f_star=0.0)
    return utils.Problem(**{**args, **kw})


def nls(**kw):
    args = dict(name="r", residual=lambda x: A @ x - 1.0, jac=lambda x: A, x0=np.zeros(3))
    return NLSProblem(**{**args, **kw})


# how each family breaks: (grad missing, grad of shape (2,) for x of shape (3,), objective not a scalar)
BREAK = {
    smooth: ({"grad": None}, {"grad": lambda x: (A @ x)[:2]}, {"f": lambda x: 0.5 * x * (A @ x)}),
    composite: ({"grad": None}, {"grad": lambda x: (A @ x)[:2]}, {"f": lambda x: 0.5 * x * (A @ x)}),
    nonsmooth: ({"grad": None}, {"grad": lambda x: np.sign(x)[:2]}, {"f": np.abs}),
    nls: ({"jac": None}, {"jac": lambda x: A[:2, :2]}, {"residual": lambda x: float(x @ x)}),
}
MESSAGES = {   # what each break is reported as, per family
    "grad": {nls: r"needs problem\.jac.*jac=None"},
    "shape": {nls: r"jac\(x0\) of shape \(2, 2\), expected shape \(m, 3\)"},
    "scalar": {nls: r"residual\(x0\) of shape \(\), expected a vector of shape \(m,\)"},
}
DEFAULT_MESSAGES = {"grad": r"needs problem\.grad.*grad=None",
                    "shape": r"grad\(x0\) of shape \(2,\), expected the shape of x0, \(3,\)",
                    "scalar": r"f\(x0\) of shape \(3,\), expected a scalar"}

# every public solver that takes a problem record: (function, family, its step keyword or None, keywords a valid
# call needs). The step keyword is the one a string is tried for.
SOLVERS = {
    "gradient_descent": (utils.gradient_descent, smooth, "eta", {"eta": 0.1}),
    "gradient_descent_jax": (utils.gradient_descent_jax, smooth, "eta", {"eta": 0.1}),
    "gradient_descent_armijo": (utils.gradient_descent_armijo, smooth, "alpha0", {}),
    "gradient_descent_armijo_jax": (utils.gradient_descent_armijo_jax, smooth, "alpha0", {}),
    "gradient_descent_wolfe": (utils.gradient_descent_wolfe, smooth, "alpha0", {}),
    "nonlinear_cg": (utils.nonlinear_cg, smooth, "alpha0", {}),
    "heavy_ball": (utils.heavy_ball, smooth, "eta", {"eta": 0.1, "beta": 0.5}),
    "heavy_ball_jax": (utils.heavy_ball_jax, smooth, "eta", {"eta": 0.1, "beta": 0.5}),
    "nesterov": (utils.nesterov, smooth, "eta", {"eta": 0.1}),
    "nesterov_jax": (utils.nesterov_jax, smooth, "eta", {"eta": 0.1}),
    "nesterov_momentum": (utils.nesterov_momentum, smooth, "eta", {"eta": 0.1, "beta": 0.5}),
    "nesterov_momentum_jax": (utils.nesterov_momentum_jax, smooth, "eta", {"eta": 0.1, "beta": 0.5}),
    "nesterov_strongly_convex": (utils.nesterov_strongly_convex, smooth, "eta", {"eta": 0.1, "mu": 1.0}),
    "nesterov_strongly_convex_jax": (utils.nesterov_strongly_convex_jax, smooth, "eta", {"eta": 0.1, "mu": 1.0}),
    "newton": (utils.newton, smooth, "beta", {}),
    "bfgs": (utils.bfgs, smooth, "c1", {}),
    "lbfgs": (utils.lbfgs.lbfgs, smooth, "c1", {}),
    "lbfgs_jax": (utils.lbfgs.lbfgs_jax, smooth, "c1", {}),
    "trust_region": (utils.trust_region.trust_region, smooth, "delta0", {}),
    "scipy_minimize": (scipy_minimize, smooth, None, {"method": "BFGS"}),
    "ista": (utils.ista, composite, "eta", {}),
    "ista_jax": (utils.ista_jax, composite, "eta", {}),
    "fista": (utils.fista, composite, "eta", {}),
    "fista_jax": (utils.fista_jax, composite, "eta", {}),
    "subgradient_method": (utils.subgradient_method, nonsmooth, None, {"step": constant(0.1)}),
    "subgradient_method_jax": (utils.subgradient_method_jax, nonsmooth, None, {"step": constant(0.1)}),
    "gauss_newton": (utils.gauss_newton, nls, "alpha0", {"line_search": utils.backtracking}),
    "gauss_newton_jax": (utils.gauss_newton_jax, nls, None, {}),
    "levenberg_marquardt": (levenberg_marquardt, nls, "lam0", {}),
    "levenberg_marquardt_jax": (levenberg_marquardt_jax, nls, "lam0", {}),
}
WITH_CALLBACK = [n for n, (f, *_) in SOLVERS.items() if "callback" in inspect.signature(f).parameters]
WITH_STEP = [n for n, (_, _, step, _) in SOLVERS.items() if step is not None]


def required(solver):
    """The keyword-only hyperparameters of ``solver`` that have no default (``=REQUIRED``)."""
    return [k for k, p in inspect.signature(solver).parameters.items() if p.default is REQUIRED]


REQUIRED_STEP = [n for n, (f, *_) in SOLVERS.items() if required(f)]
DEFAULT_STEP = [n for n in SOLVERS if n not in REQUIRED_STEP and n != "scipy_minimize"]   # its 2nd arg is `method`

# solvers on arrays and functions rather than a problem record, each with a valid set of arguments
SPLITTING = {
    "linear_cg": lambda **kw: utils.linear_cg(lambda v: A @ v, np.ones(3), **kw),
    "admm": lambda **kw: utils.admm(lambda z, u, rho: z, lambda x, u, rho: x, np.ones(2), np.zeros(2), **kw),
    "admm_lasso": lambda **kw: utils.admm_lasso(A, np.ones(3), 0.1, **kw),
    "chambolle_pock": lambda **kw: utils.chambolle_pock(lambda v, t: v, lambda v, s: v, np.eye(2), None, np.ones(2),
                                                        np.zeros(2), tau=0.5, sigma=0.5, **kw),
    "rof_admm": lambda **kw: utils.rof_admm(np.eye(4), 0.1, **kw),
    "rof_chambolle_pock": lambda **kw: utils.rof_chambolle_pock(np.eye(4), 0.1, **kw),
    "rof_fista_dual": lambda **kw: utils.rof_fista_dual(np.eye(4), 0.1, **kw),
}
LOOPS = {"run", "run_until_stall", "run_splitting"}     # the loops the solvers share, not solvers themselves
# the modules of weeks 1-3 and the core; a later week's solvers join the table when they use the shared checks
WEEKS_1_TO_3 = ["benchmarks", "cg", "checks", "composite", "datasets", "derivatives", "drivers", "first_order",
                "landscape", "lbfgs", "least_squares", "levenberg_marquardt", "linesearch", "momentum", "nist",
                "plotting", "primal_dual", "problems", "prox", "proximal", "quasi_newton", "result", "runtime",
                "spectrum", "splitting", "subgradient", "trust_region", "tv"]
MODULES = [getattr(utils, m) for m in WEEKS_1_TO_3]


def test_every_public_solver_is_in_the_table():
    """A solver: a public function of a ``utils`` module whose first two parameters are (problem or nls, x0),
    or that takes a callback."""
    found = set()
    for m in MODULES:
        for name, f in vars(m).items():
            if not inspect.isfunction(f) or name.startswith(("_", "validate_")) or f.__module__ != m.__name__:
                continue
            params = list(inspect.signature(f).parameters)
            if params[:2] in (["problem", "x0"], ["nls", "x0"]) or "callback" in params:
                found.add(name)
    assert found - LOOPS - set(SOLVERS) - set(SPLITTING) == set()


def test_every_required_step_is_in_the_table():
    """Every public solver whose step has no default is listed, with that step among its valid keywords."""
    with_required = {name for m in MODULES for name, f in vars(m).items()
                     if inspect.isfunction(f) and not name.startswith("_") and required(f)}
    assert with_required == set(REQUIRED_STEP)
    for name in REQUIRED_STEP:
        solver, _, _, kw = SOLVERS[name]
        assert set(required(solver)) <= set(kw)


# ----------------------------------------------------------------------------------------- the first argument
@pytest.mark.parametrize("name", SOLVERS)
@pytest.mark.parametrize("bad, got", [(lambda x: x @ x, "a function"), (np.eye(3), "a numpy.ndarray")])
def test_first_argument_must_be_a_problem(name, bad, got):
    solver, family, _, kw = SOLVERS[name]
    if family is nls:
        expected = rf"utils\.{name} expects a utils\.NLSProblem .*got {got}.*utils\.nls_from_jax\(residual, x0\)"
    else:
        expected = rf"utils\.{name} expects a utils\.Problem as its first argument, got {got}.*utils\.from_jax\(f, x0\)"
    with pytest.raises(TypeError, match=expected):
        solver(bad, **kw)


@pytest.mark.parametrize("name", [n for n, s in SOLVERS.items() if s[1] is nls])
def test_least_squares_solvers_need_an_nls_problem(name):
    solver, _, _, kw = SOLVERS[name]
    with pytest.raises(TypeError, match=rf"utils\.{name} expects a utils\.NLSProblem .*got a utils\.problems\.Problem"):
        solver(smooth(), **kw)


@pytest.mark.parametrize("name, message", [
    ("newton", r"neither hess nor hvp.*NLSProblem has no second derivatives.*gauss_newton"),
    ("trust_region", r"has no hvp.*NLSProblem has no second derivatives.*to_problem\(\)"),
    ("ista", r"not composite: it needs prox"), ("fista", r"not composite: it needs prox"),
])
def test_an_nls_problem_where_more_is_needed(name, message):
    solver, _, _, kw = SOLVERS[name]
    with pytest.raises(ValueError, match=message):
        solver(nls(), **kw)


def test_non_callable_f_is_refused_by_problem():
    with pytest.raises(TypeError, match=r"Problem 'bad': f must be a function"):
        good(name="bad", f=3.0)
    with pytest.raises(TypeError, match=r"Problem 'bad': hess must be None or a function"):
        good(name="bad", hess=np.eye(3))


# ------------------------------------------------------------------------------- oracles, on the first evaluation
@pytest.mark.parametrize("name", SOLVERS)
def test_missing_gradient(name):
    solver, family, _, kw = SOLVERS[name]
    with pytest.raises(TypeError, match=rf"utils\.{name} " + MESSAGES["grad"].get(family, DEFAULT_MESSAGES["grad"])):
        solver(family(**BREAK[family][0]), **kw)


@pytest.mark.parametrize("name", SOLVERS)
def test_gradient_of_wrong_shape(name):
    solver, family, _, kw = SOLVERS[name]
    with pytest.raises(ValueError, match=rf"utils\.{name}: .*" + MESSAGES["shape"].get(family, DEFAULT_MESSAGES["shape"])):
        solver(family(**BREAK[family][1]), **kw)


@pytest.mark.parametrize("name", SOLVERS)
def test_vector_valued_objective(name):
    solver, family, _, kw = SOLVERS[name]
    with pytest.raises(ValueError, match=MESSAGES["scalar"].get(family, DEFAULT_MESSAGES["scalar"])):
        solver(family(**BREAK[family][2]), **kw)


# ------------------------------------------------------------------------------------------------- the step
@pytest.mark.parametrize("name", DEFAULT_STEP)
def test_step_passed_positionally(name):
    solver, family, step, kw = SOLVERS[name]
    hint = rf" \(e\.g\. utils\.{name}\((problem|nls), {step}=0\.1\)\)" if step in ("eta", "alpha0", "lam0", "delta0") \
        else ""
    with pytest.raises(ValueError, match=rf"utils\.{name}: x0 has shape \(\).*keyword-only.*second positional "
                                         rf"argument, which is x0{hint}"):
        solver(family(), 0.1, **kw)


@pytest.mark.parametrize("name", REQUIRED_STEP)
def test_required_step_passed_positionally_names_it(name):
    """``gradient_descent(p, 0.1)``: 0.1 lands in x0 and the step is missing; the error says both and shows the
    call to write."""
    solver, family, _, kw = SOLVERS[name]
    first, *rest = required(solver)
    value, shown = (polyak(), r"polyak\(\)") if first == "step" else (0.1, r"0\.1")
    others = "".join(rf", {k}=\.\.\." for k in rest)
    with pytest.raises(TypeError, match=rf"utils\.{name}: {first} is keyword-only and has no default, and {shown} "
                                        rf"was passed as the second positional argument, which is x0.*pass it by "
                                        rf"name: utils\.{name}\(problem, {first}={shown}{others}\)$"):
        solver(family(), value)
    # the other required keywords given: only the misplaced one is named
    with pytest.raises(TypeError, match=rf"{first} is keyword-only.*\(problem, {first}={shown}\)$"):
        solver(family(), value, **{k: v for k, v in kw.items() if k != first})


@pytest.mark.parametrize("name", REQUIRED_STEP)
def test_required_step_left_out(name):
    solver, family, _, _ = SOLVERS[name]
    names = required(solver)
    listed = " and ".join(f"'{k}'" for k in names)
    with pytest.raises(TypeError, match=rf"utils\.{name}: missing the required keyword arguments? {listed} "
                                        rf"\(no default\); pass (it|them) by name: utils\.{name}\(problem, {names[0]}="):
        solver(family())


def test_required_step_checks_the_problem_first():
    with pytest.raises(TypeError, match=r"utils\.gradient_descent expects a utils\.Problem"):
        utils.gradient_descent(lambda x: x @ x, 0.1)


@pytest.mark.parametrize("name", WITH_STEP)
def test_step_given_as_string(name):
    solver, family, step, kw = SOLVERS[name]
    with pytest.raises(ValueError, match=rf"{step} must be a positive number, got str '0\.1'"):
        solver(family(), **{**kw, step: "0.1"})


@pytest.mark.parametrize("solver", [utils.subgradient_method, utils.subgradient_method_jax])
def test_subgradient_step_must_be_a_rule(solver):
    with pytest.raises(ValueError, match=r"step must be a step rule.*got '0\.1'$"):
        solver(nonsmooth(), step="0.1")
    with pytest.raises(ValueError, match=r"got 0\.1; for a constant step .* write step=utils\.subgradient\.constant\(0\.1\)"):
        solver(nonsmooth(), step=0.1)


# ------------------------------------------------------------------------------------------------ the callback
@pytest.mark.parametrize("name", WITH_CALLBACK)
def test_callback_not_callable(name):
    solver, family, _, kw = SOLVERS[name]
    with pytest.raises(TypeError, match=rf"utils\.{name}: callback must be None or a function"):
        solver(family(), callback=5, **kw)


@pytest.mark.parametrize("name", SPLITTING)
def test_callback_not_callable_splitting(name):
    """Also where the run would end before the callback is first called (it used to be accepted silently)."""
    with pytest.raises(TypeError, match=rf"utils\.{name}: callback must be None or a function"):
        SPLITTING[name](callback=5)


# ------------------------------------------------------------------------------------------------ linear CG
def test_linear_cg_wants_a_function_not_a_matrix():
    with pytest.raises(TypeError, match=r"utils\.linear_cg expects matvec, a function v -> A v, as its first "
                                        r"argument, got a numpy\.ndarray; for a matrix A pass lambda v: A @ v"):
        utils.linear_cg(A, np.ones(3))


def test_linear_cg_checks_the_shape_of_the_first_product():
    with pytest.raises(ValueError, match=r"utils\.linear_cg: matvec\(x0\) has shape \(3, 1\), expected the shape "
                                         r"of b, \(3,\)"):
        utils.linear_cg(lambda v: (A @ v)[:, None], np.ones(3))


# ------------------------------------------------------------------------------------------- valid calls still run
def test_nls_oracles_checked():
    bad = NLSProblem(name="r", residual=lambda x: x - 1.0, jac=lambda x: np.eye(2), x0=np.zeros(3))
    with pytest.raises(ValueError, match=r"jac\(x0\) of shape \(2, 2\), expected shape \(m, 3\)"):
        utils.gauss_newton(bad)


@pytest.mark.parametrize("name", SOLVERS)
def test_good_problem_still_runs(name):
    solver, family, _, kw = SOLVERS[name]
    res = solver(family(), **kw, maxiter=3)
    assert np.all(np.isfinite(res.x)) and res.nit <= 3


@pytest.mark.parametrize("name", SPLITTING)
def test_good_splitting_call_still_runs(name):
    res = SPLITTING[name](maxiter=3)
    assert np.all(np.isfinite(res.x)) and res.nit <= 3


def test_the_signature_shows_a_required_step():
    assert "eta=<required>" in str(inspect.signature(utils.gradient_descent))


# ------------------------------------------------------------------------------- week 4: finite-sum solvers
from utils.stochastic import finite_sum as stochastic  # noqa: E402  (the module the family re-exports)

FS = stochastic.finite_sum_least_squares(n=20, d=3, seed=0)
FINITE_SUM = {   # name: (solver, keywords a valid call needs)
    "stochastic_gradient_descent": (stochastic.stochastic_gradient_descent, {"eta": 0.01}),
    "svrg": (stochastic.svrg, {"eta": 0.01}),
    "saga": (stochastic.saga, {}),
}


def test_every_finite_sum_solver_is_in_the_table():
    found = {name for name, f in vars(stochastic).items() if inspect.isfunction(f) and not name.startswith("_")
             and f.__module__ == stochastic.__name__ and list(inspect.signature(f).parameters)[:2] == ["problem", "x0"]}
    assert found == set(FINITE_SUM)


@pytest.mark.parametrize("name", FINITE_SUM)
@pytest.mark.parametrize("bad, got", [(lambda x: x @ x, "a function"), (np.eye(3), r"a numpy\.ndarray"),
                                      (smooth(), r"a utils\.Problem")])
def test_finite_sum_solvers_want_a_finite_sum(name, bad, got):
    solver, kw = FINITE_SUM[name]
    with pytest.raises(TypeError, match=rf"utils\.{name} expects a utils\.stochastic\.FiniteSum .*got {got}.*"
                                        rf"finite_sum_logistic\(\)"):
        solver(bad, **kw)


@pytest.mark.parametrize("name", [n for n, (f, _) in FINITE_SUM.items() if required(f)])
def test_finite_sum_step_positional_or_missing(name):
    solver, _ = FINITE_SUM[name]
    assert required(solver) == ["eta"]
    with pytest.raises(TypeError, match=rf"utils\.{name}: eta is keyword-only and has no default, and 0\.1 was passed "
                                        rf"as the second positional argument, which is x0.*utils\.{name}\(problem, "
                                        rf"eta=0\.1\)$"):
        solver(FS, 0.1)
    with pytest.raises(TypeError, match=rf"utils\.{name}: missing the required keyword argument 'eta' \(no default\)"):
        solver(FS)


@pytest.mark.parametrize("name", FINITE_SUM)
def test_finite_sum_step_string_and_callback(name):
    solver, kw = FINITE_SUM[name]
    with pytest.raises(ValueError, match=r"eta must be a positive number, got str '0\.1'"):
        solver(FS, **{**kw, "eta": "0.1"})
    with pytest.raises(TypeError, match=rf"utils\.{name}: callback must be None or a function"):
        solver(FS, callback=5, **kw)
    res = solver(FS, maxiter=3, **kw)
    assert np.all(np.isfinite(res.x)) and res.nit <= 3
