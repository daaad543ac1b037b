"""Reference problems: derivatives against finite differences and jax.hessian; constants against references."""
import dataclasses

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import approx_fprime, rosen, rosen_der, rosen_hess
from sklearn.linear_model import LogisticRegression

from utils.problems import (Problem, breast_cancer_logistic, from_jax, least_squares, logistic_regression,
                            quadratic, rosenbrock)

RNG = np.random.default_rng(42)
_X, _Y = RNG.standard_normal((40, 5)), np.where(RNG.standard_normal(40) > 0, 1.0, -1.0)
MAKERS = {
    "quadratic": lambda: quadratic(n=6, mu=0.5, L=20.0, seed=1),
    "least_squares": lambda: least_squares(RNG.standard_normal((30, 6)), RNG.standard_normal(30)),
    "logistic": lambda: logistic_regression(_X, _Y, lam=0.1),
    "rosenbrock": lambda: rosenbrock(5),
}


@pytest.fixture(scope="module", params=list(MAKERS))
def problem(request):
    return MAKERS[request.param]()


def _point(p):
    return np.random.default_rng(7).standard_normal(p.n) * 0.5 + 0.5


def test_gradient_matches_central_differences(problem):
    x = _point(problem)
    fd = approx_fprime(x, problem.f, 1e-6)                        # forward differences, error O(h)
    np.testing.assert_allclose(problem.grad(x), fd, rtol=1e-4, atol=1e-4)
    h = 1e-5                                                      # central differences, error O(h²)
    central = np.array([(problem.f(x + h * e) - problem.f(x - h * e)) / (2 * h) for e in np.eye(problem.n)])
    np.testing.assert_allclose(problem.grad(x), central, rtol=1e-6, atol=1e-6)


def test_hessian_and_hvp_match_jax_hessian(problem):
    """The problem's own f, traced by JAX, gives the reference Hessian: this also proves f runs on JAX arrays."""
    x = _point(problem)
    H_ref = np.asarray(jax.hessian(problem.f)(jnp.asarray(x)))
    np.testing.assert_allclose(problem.hess(x), H_ref, rtol=1e-10, atol=1e-10)
    v = np.random.default_rng(8).standard_normal(problem.n)
    np.testing.assert_allclose(problem.hvp(x, v), H_ref @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.asarray(jax.grad(problem.f)(jnp.asarray(x))), problem.grad(x), rtol=1e-12,
                               atol=1e-12)


def test_hvp_matches_finite_differences_of_gradient(problem):
    x, v = _point(problem), np.random.default_rng(9).standard_normal(problem.n)
    h = 1e-6
    fd = (problem.grad(x + h * v) - problem.grad(x - h * v)) / (2 * h)
    np.testing.assert_allclose(problem.hvp(x, v), fd, rtol=1e-6, atol=1e-6)


def test_known_minimizer_is_stationary(problem):
    assert np.linalg.norm(problem.grad(problem.x_star)) < 1e-10
    assert problem.f(problem.x_star) == pytest.approx(problem.f_star, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("spectrum", ["linear", "geometric", "two_clusters"])
@pytest.mark.parametrize("rotate", [True, False])
def test_quadratic_has_requested_mu_and_L(spectrum, rotate):
    p = quadratic(n=12, mu=0.01, L=50.0, spectrum=spectrum, rotate=rotate, seed=4)
    eig = np.linalg.eigvalsh(p.info["A"])
    assert eig[0] == pytest.approx(0.01, rel=1e-10) and eig[-1] == pytest.approx(50.0, rel=1e-10)
    assert p.kappa == pytest.approx(5000.0)
    np.testing.assert_allclose(p.x_star, np.linalg.solve(p.info["A"], p.info["b"]), rtol=1e-8)
    if not rotate:
        np.testing.assert_allclose(p.info["A"], np.diag(np.diag(p.info["A"])), atol=0)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("spectrum", ["linear", "geometric", "two_clusters"])
def test_quadratic_attains_mu_and_L_in_small_dimensions(n, spectrum):
    eig = np.linalg.eigvalsh(quadratic(n=n, mu=1.0, L=100.0, spectrum=spectrum).info["A"])
    assert eig[0] == pytest.approx(1.0, rel=1e-10) and eig[-1] == pytest.approx(100.0, rel=1e-10)


def test_quadratic_rejects_bad_constants():
    with pytest.raises(ValueError, match="mu"):
        quadratic(mu=2.0, L=1.0)
    with pytest.raises(ValueError, match="spectrum"):
        quadratic(spectrum="cubic")
    with pytest.raises(ValueError, match="n"):
        quadratic(n=1)


def test_least_squares_constants():
    A, b = RNG.standard_normal((50, 8)), RNG.standard_normal(50)
    p = least_squares(A, b)
    eig = np.linalg.eigvalsh(A.T @ A / 50)
    assert p.L == pytest.approx(eig[-1], rel=1e-10) and p.mu == pytest.approx(eig[0], rel=1e-10)
    np.testing.assert_allclose(p.x_star, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)
    with pytest.raises(ValueError, match="shape"):
        least_squares(A, b[:-1])


def test_rosenbrock_matches_scipy():
    p, x = rosenbrock(6), np.linspace(-1, 1.5, 6)
    assert p.f(x) == pytest.approx(rosen(x), rel=1e-14)
    np.testing.assert_allclose(p.grad(x), rosen_der(x), rtol=1e-14)
    np.testing.assert_allclose(p.hess(x), rosen_hess(x), rtol=1e-14)
    np.testing.assert_array_equal(rosenbrock(3).x0, [-1.2, 1.0, -1.2])


@pytest.fixture(scope="module")
def cancer():
    return breast_cancer_logistic(lam=1e-2)


def test_logistic_constants(cancer):
    X, lam = cancer.info["X"], cancer.info["lam"]
    m = X.shape[0]
    assert X.shape == (569, 31) and cancer.mu == lam
    eig = np.linalg.eigvalsh(cancer.hess(cancer.x_star))
    assert lam - 1e-12 <= eig[0] and eig[-1] <= cancer.L          # μ ≤ λ_min(∇²f) ≤ λ_max(∇²f) ≤ L
    assert cancer.L == pytest.approx(np.linalg.eigvalsh(X.T @ X)[-1] / (4 * m) + lam, rel=1e-10)


def test_logistic_f_star_agrees_with_scikit_learn(cancer):
    X, y, lam = cancer.info["X"], cancer.info["y"], cancer.info["lam"]
    m = X.shape[0]
    # sklearn minimizes C Σ log(1 + exp(−yᵢ aᵢᵀw)) + ½‖w‖², i.e. our f times 1/λ when C = 1/(mλ).
    clf = LogisticRegression(C=1.0 / (m * lam), fit_intercept=False, tol=1e-12, max_iter=10_000)
    clf.fit(X, y)
    w = clf.coef_.ravel()
    np.testing.assert_allclose(w, cancer.x_star, rtol=1e-5, atol=1e-6)
    assert 0 <= cancer.f(w) - cancer.f_star < 1e-10


def test_logistic_f_star_agrees_with_cvxpy_clarabel(cancer):
    X, y, lam = cancer.info["X"], cancer.info["y"], cancer.info["lam"]
    w = cp.Variable(X.shape[1])
    obj = cp.sum(cp.logistic(-cp.multiply(y, X @ w))) / X.shape[0] + lam / 2 * cp.sum_squares(w)
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status == "optimal"
    assert prob.value == pytest.approx(cancer.f_star, rel=1e-7)
    np.testing.assert_allclose(w.value, cancer.x_star, atol=1e-4)


def test_logistic_rejects_bad_labels_and_lambda():
    with pytest.raises(ValueError, match="labels"):
        logistic_regression(_X, (_Y + 1) / 2, lam=0.1)
    with pytest.raises(ValueError, match="lam"):
        logistic_regression(_X, _Y, lam=0.0)


def test_from_jax_builds_autodiff_problem():
    def f(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    p = from_jax(f, np.zeros(4), name="rosenbrock via jax", x_star=np.ones(4), f_star=0.0)
    ref, x, v = rosenbrock(4), np.array([0.3, -0.2, 1.1, 0.7]), np.array([1.0, -2.0, 0.5, 3.0])
    assert float(p.f(x)) == pytest.approx(ref.f(x), rel=1e-14)
    np.testing.assert_allclose(p.grad(x), ref.grad(x), rtol=1e-13)
    np.testing.assert_allclose(p.hess(x), ref.hess(x), rtol=1e-13)
    np.testing.assert_allclose(p.hvp(x, v), ref.hess(x) @ v, rtol=1e-13)
    assert p.f_star == 0.0 and p.name == "rosenbrock via jax"


def test_problem_is_immutable_and_hashable_by_identity():
    p = quadratic(n=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.L = 2.0
    for arr in (p.x0, p.x_star, p.info["A"], p.info["b"]):      # the data the functions close over
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 7.0
    A = np.eye(3)
    least_squares(A, np.ones(3))
    A[0, 0] = 2.0                                              # the caller's own array stays writable
    q = p.with_x0(np.ones(3))
    assert q is not p and q != p and hash(p) == hash(p)
    np.testing.assert_array_equal(q.x0, np.ones(3))
    np.testing.assert_array_equal(p.x0, np.zeros(3))
    assert isinstance(p, Problem)
