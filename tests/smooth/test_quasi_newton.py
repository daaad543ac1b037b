"""Newton, BFGS and L-BFGS: hand-computed iterates, the two-loop recursion against the dense matrix it stands
for, NumPy == JAX, agreement with scipy, measured rates, quadratic termination, edge cases."""
import numpy as np
import pytest

from utils import lbfgs as lb
from utils import quasi_newton as qn
from utils.drivers import run, scipy_minimize
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock, xp

A_HAND = np.diag([1.0, 10.0])
HAND = Problem(name="½(x₁² + 10x₂²)", f=lambda x: 0.5 * x @ (A_HAND @ x), grad=lambda x: A_HAND @ x,
               hess=lambda x: A_HAND, x0=np.array([1.0, 1.0]), x_star=np.zeros(2), f_star=0.0, L=10.0, mu=1.0)


@pytest.fixture(scope="module")
def logistic():
    return breast_cancer_logistic(lam=1e-2)


def exact_line_search(A):
    """Exact minimization along d of a quadratic with Hessian A: α = −gᵀd / dᵀAd."""
    def line_search(f, grad, x, d, fx, gx):
        a = -(gx @ d) / (d @ (A @ d))
        return a, f(x + a * d), grad(x + a * d), 1, 1, True
    return line_search


# ------------------------------------------------------------------------------------ hand-computed iterates
def test_newton_first_iterate_by_hand():
    res = qn.newton(HAND, maxiter=1, gtol=0.0, record_x=True)
    # d₀ = −A⁻¹(A x₀) = −x₀ and α = 1 passes Armijo: x₁ = 0, no shift needed.
    np.testing.assert_allclose(res.history.x, [[1.0, 1.0], [0.0, 0.0]], atol=1e-15)
    assert res.tau.tolist() == [0.0] and res.nhev == 1 and res.nfev == 2 and res.njev == 2


def test_newton_shifts_an_indefinite_hessian_by_hand():
    # f = ½(x₁² − x₂²): ∇²f = diag(1, −1). N&W Alg. 3.3 with β = 1e-3: τ₀ = β − (−1) = 1.001, and
    # diag(2.001, 0.001) is positive definite, so τ = 1.001 and d₀ = −(2.001⁻¹ g₁, 0.001⁻¹ g₂).
    A = np.diag([1.0, -1.0])
    p = Problem(name="saddle", f=lambda x: 0.5 * x @ (A @ x), grad=lambda x: A @ x, hess=lambda x: A,
                x0=np.array([1.0, 0.1]))
    res = qn.newton(p, maxiter=1, gtol=0.0, record_x=True)
    d0 = -np.array([1.0 / 2.001, -0.1 / 0.001])
    assert res.tau[0] == pytest.approx(1.001, rel=1e-15)
    np.testing.assert_allclose(res.history.x[1], p.x0 + d0, rtol=1e-10)        # α = 1 decreases f here
    assert res.history.fun[1] < res.history.fun[0]


def test_newton_builds_the_hessian_from_hvp_when_there_is_no_hess():
    p = Problem(name="hvp only", f=HAND.f, grad=HAND.grad, hvp=lambda x, v: A_HAND @ v, x0=HAND.x0)
    res = qn.newton(p, maxiter=1, gtol=0.0)
    np.testing.assert_allclose(res.x, [0.0, 0.0], atol=1e-15)
    assert res.nhev == 2                                                     # n Hessian-vector products


def test_bfgs_first_iterate_and_first_update_by_hand():
    ls = exact_line_search(A_HAND)
    res = qn.bfgs(HAND, line_search=ls, maxiter=1, gtol=0.0, record_x=True)
    g0 = A_HAND @ HAND.x0                                   # (1, 10)
    a0 = (g0 @ g0) / (g0 @ A_HAND @ g0)                     # 101/1001
    x1 = HAND.x0 - a0 * g0
    np.testing.assert_allclose(res.history.x[1], x1, rtol=1e-15)
    s, y = x1 - HAND.x0, A_HAND @ (x1 - HAND.x0)
    gamma = (s @ y) / (y @ y)                               # N&W eq. 6.20
    r = 1.0 / (y @ s)
    I = np.eye(2)
    H1 = (I - r * np.outer(s, y)) @ (gamma * I) @ (I - r * np.outer(y, s)) + r * np.outer(s, s)
    np.testing.assert_allclose(res.hess_inv, H1, rtol=1e-13)
    np.testing.assert_allclose(res.hess_inv @ y, s, rtol=1e-13)                # the secant equation


def test_bfgs_with_wolfe_takes_a_step_along_minus_gradient_satisfying_strong_wolfe():
    res = qn.bfgs(HAND, maxiter=1, gtol=0.0, record_x=True)
    g0 = HAND.grad(HAND.x0)
    step = res.history.x[1] - HAND.x0
    alpha = -step[0] / g0[0]
    np.testing.assert_allclose(step, -alpha * g0, rtol=1e-14)                   # d₀ = −H₀g₀ = −g₀
    assert HAND.f(res.history.x[1]) <= HAND.f(HAND.x0) + 1e-4 * alpha * (g0 @ -g0)
    assert abs(HAND.grad(res.history.x[1]) @ -g0) <= 0.9 * abs(g0 @ -g0)


def test_lbfgs_equals_bfgs_on_a_quadratic_with_exact_line_search():
    p = quadratic(n=6, mu=1.0, L=50.0, seed=1)
    ls = exact_line_search(p.info["A"])
    a = qn.bfgs(p, line_search=ls, maxiter=6, gtol=0.0, record_x=True)
    b = lb.lbfgs(p, memory=10, line_search=ls, maxiter=6, gtol=0.0, record_x=True)
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------------- two-loop recursion
def _pairs(n, k, seed):
    g = np.random.default_rng(seed)
    M = g.standard_normal((n, n))
    M = M @ M.T + n * np.eye(n)
    S = [g.standard_normal(n) for _ in range(k)]
    return S, [M @ s for s in S], g.standard_normal(n)


@pytest.mark.parametrize("m, k", [(5, 3), (5, 5), (5, 8), (1, 4)])
def test_two_loop_ring_equals_the_dense_matrix_and_the_list_reference(m, k):
    n = 7
    S, Y, g = _pairs(n, k, seed=m + k)
    S_m, Y_m = S[-m:], Y[-m:]                                   # the memory keeps the last m pairs
    gamma = (S_m[-1] @ Y_m[-1]) / (Y_m[-1] @ Y_m[-1])
    H = gamma * np.eye(n)                                       # N&W eq. 7.19: m updates of γI, oldest first
    for s, y in zip(S_m, Y_m):
        H = qn.bfgs_update(H, s, y)
    ref = lb.two_loop(g, S_m, Y_m, gamma)
    np.testing.assert_allclose(ref, H @ g, rtol=1e-10)
    state = lb.lbfgs_ring_init(np.zeros(n), HAND_N(n), m)       # fill the ring as a run would (wrapping around)
    Sr, Yr, rho, head, count = state.S, state.Y, state.rho, 0, 0
    for s, y in zip(S, Y):
        Sr, Yr, rho = lb._set(Sr, head, s), lb._set(Yr, head, y), lb._set(rho, head, 1.0 / (y @ s))
        head, count = (head + 1) % m, min(count + 1, m)
    ring = lb.two_loop_ring(g, Sr, Yr, rho, head, count, gamma)
    np.testing.assert_allclose(ring, H @ g, rtol=1e-10)
    import jax
    import jax.numpy as jnp
    jitted = jax.jit(lb.two_loop_ring)(*map(jnp.asarray, (g, Sr, Yr, rho, head, count, gamma)))
    np.testing.assert_allclose(np.asarray(jitted), ring, rtol=1e-12)


def HAND_N(n):
    return Problem(name="‖x‖²/2", f=lambda x: 0.5 * x @ x, grad=lambda x: x, x0=np.zeros(n))


def test_two_loop_with_no_pairs_is_gamma_times_g():
    g = np.array([1.0, -2.0, 3.0])
    s = lb.lbfgs_ring_init(np.zeros(3), HAND_N(3), 4)
    np.testing.assert_array_equal(lb.two_loop_ring(g, s.S, s.Y, s.rho, 0, 0, 0.5), 0.5 * g)
    np.testing.assert_array_equal(lb.two_loop(g, [], [], 0.5), 0.5 * g)


# ------------------------------------------------------------------------------------- NumPy == JAX, lists
def test_ring_lbfgs_numpy_and_jax_iterates_agree_and_match_the_list_reference():
    p = rosenbrock(4)
    a = run(lb.lbfgs_ring_step, lb.lbfgs_ring_init(p.x0, p, 5), p, (1e-4, 0.9, 30), maxiter=40, gtol=0.0,
            record_x=True)
    b = lb.lbfgs_jax(p, memory=5, maxiter=40, gtol=0.0, record_x=True)
    c = lb.lbfgs(p, memory=5, line_search=lb.weak_wolfe, maxiter=40, gtol=0.0, record_x=True)
    assert a.nit == b.nit == c.nit == 40
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-8, atol=1e-10)   # XLA may reorder sums
    np.testing.assert_array_equal(b.history.nfev, a.history.nfev)
    np.testing.assert_allclose(c.history.x, a.history.x, rtol=1e-7, atol=1e-9)   # summation order differs
    np.testing.assert_array_equal(c.history.njev, a.history.njev)


# ------------------------------------------------------------------------------------- outside reference
@pytest.mark.parametrize("which", ["rosenbrock", "logistic"])
def test_same_minimizer_as_scipy_with_comparable_iteration_counts(which, logistic):
    p = rosenbrock(2) if which == "rosenbrock" else logistic
    ours = {"BFGS": qn.bfgs(p, gtol=1e-8), "L-BFGS": lb.lbfgs(p, memory=10, gtol=1e-8),
            "Newton": qn.newton(p, gtol=1e-8)}
    ref = {"BFGS": scipy_minimize(p, "BFGS", gtol=1e-8),
           "L-BFGS": scipy_minimize(p, "L-BFGS-B", gtol=1e-8, ftol=1e-15, maxcor=10),
           "Newton": scipy_minimize(p, "trust-exact", gtol=1e-8)}
    for name, r in ours.items():
        assert r.success, (name, r.message)
        np.testing.assert_allclose(r.x, p.x_star, atol=1e-6)
        s = ref[name.split()[0]]
        np.testing.assert_allclose(r.x, s.x, atol=1e-5)
        assert r.nit <= 2 * s.nit + 5, (name, r.nit, s.nit)     # same order of work as scipy


# --------------------------------------------------------------------------------------------------- rates
def test_newton_converges_quadratically_on_logistic_regression(logistic):
    p = logistic
    res = qn.newton(p, gtol=1e-14, maxiter=50, record_x=True)
    e = np.linalg.norm(res.history.x - p.x_star, axis=1)
    k = np.flatnonzero(e[1:] > 1e-11)                           # steps that end above the rounding floor
    assert np.all(res.history.step[1:][k] > 0) and np.all(res.tau == 0)
    ratios = e[k + 1] / e[k] ** 2
    assert np.all(ratios < 2.0), ratios                          # ‖e_{k+1}‖ ≤ C‖e_k‖² with a moderate C
    tail = k[-2:]                                               # the last two steps: digits (at least) double
    assert np.all(-np.log10(e[tail + 1]) >= 1.8 * -np.log10(e[tail])), e


def test_bfgs_converges_superlinearly_on_rosenbrock():
    res = qn.bfgs(rosenbrock(2), gtol=1e-12, record_x=True)
    e = np.linalg.norm(res.history.x - 1.0, axis=1)
    r = e[1:] / e[:-1]
    ok = e[1:] > 1e-13
    r = r[ok]
    gm = lambda v: float(np.exp(np.mean(np.log(v))))                        # noqa: E731
    # Superlinear: ‖e_{k+1}‖/‖e_k‖ → 0. The ratio is not monotone, so compare geometric means: over the last
    # four steps it is below 0.05, and 10× smaller than over the first half of the run (the global phase).
    assert gm(r[-4:]) < 0.05 and gm(r[-4:]) < 0.1 * gm(r[: len(r) // 2]), r


@pytest.mark.parametrize("solver", [qn.bfgs, lambda p, **kw: lb.lbfgs(p, memory=20, **kw)])
def test_quadratic_termination_with_exact_line_search(solver):
    # BFGS with exact line searches on a strictly convex quadratic generates A-conjugate directions and reaches
    # x* in at most n steps; after n updates H_n = A⁻¹ (Fletcher 1987, Practical Methods of Optimization,
    # §3.4). What is checked, in floating point: ‖g_k‖ ≤ 1e-10‖g₀‖ after at most n = 8 steps (GD would need
    # hundreds at κ = 100), and for BFGS ‖H_n − A⁻¹‖_F ≤ 1e-10‖A⁻¹‖_F after exactly n steps. (With κ = 1000 and a
    # geometric spectrum the dense update loses conjugacy to rounding and needs a 9th step; L-BFGS does not.)
    n = 8
    p = quadratic(n=n, mu=1.0, L=100.0, spectrum="linear", seed=0)
    ls = exact_line_search(p.info["A"])
    g0 = np.linalg.norm(p.grad(p.x0))
    res = solver(p, line_search=ls, gtol=1e-10 * g0, maxiter=3 * n)
    assert res.success and res.nit <= n, res.nit
    if solver is qn.bfgs:
        H = qn.bfgs(p, line_search=ls, gtol=0.0, maxiter=n).hess_inv
        Ainv = np.linalg.inv(p.info["A"])
        assert np.linalg.norm(H - Ainv) <= 1e-10 * np.linalg.norm(Ainv)


def _bfgs_states(p, gtol):
    states = []

    def step(s, *h):
        states.append(qn.bfgs_step(s, *h))
        return states[-1]

    run(step, qn.bfgs_init(p.x0, p), p, (qn.wolfe_line_search(), True), maxiter=300, gtol=gtol)
    return states


def test_bfgs_matrix_approaches_the_inverse_hessian_along_the_steps(logistic):
    # Dennis–Moré (N&W Thm. 3.6): superlinear convergence needs H_k ≈ ∇²f(x*)⁻¹ along the steps only.
    # Rosenbrock (2-D, superlinear phase reached): the relative error of H_k g_k falls below 5%.
    p = rosenbrock(2)
    Hstar = np.linalg.inv(p.hess(p.x_star))
    states = _bfgs_states(p, 1e-9)
    along = [np.linalg.norm((s.H - Hstar) @ s.g) / np.linalg.norm(Hstar @ s.g) for s in states]
    assert along[0] > 0.3 and along[-1] < 0.05, along
    # Logistic regression (n = 31): a characterization, not a theorem — within the run to ‖g‖ ≤ 1e-8 the full
    # matrix stays far from ∇²f(x*)⁻¹ (relative Frobenius error > 0.5): most directions are never explored.
    Hstar = np.linalg.inv(logistic.hess(logistic.x_star))
    H = _bfgs_states(logistic, 1e-8)[-1].H
    assert np.linalg.norm(H - Hstar) / np.linalg.norm(Hstar) > 0.5


# ---------------------------------------------------------------------------------------------- edge cases
def _nan_grad_problem():
    def grad(x):   # finite f, but a NaN gradient once x₁ < 0.5
        return xp(x).where(x[0] < 0.5, xp(x).nan, 1.0) * (A_HAND @ x)
    return Problem(name="nan gradient", f=HAND.f, grad=grad, hess=lambda x: A_HAND, x0=HAND.x0)


@pytest.mark.parametrize("solver", [qn.newton, qn.bfgs, lb.lbfgs, lb.lbfgs_jax])
def test_nan_gradient_stops_with_status_3_and_a_finite_iterate(solver):
    res = solver(_nan_grad_problem(), maxiter=100)
    assert res.status == 3 and not res.success and "iteration" in res.message
    assert np.all(np.isfinite(res.x)) and res.x[0] >= 0.5


def test_nan_objective_region_is_never_returned():
    def f(x):
        return xp(x).where(x[0] < 0.5, xp(x).nan, 0.5 * x @ (A_HAND @ x))
    p = Problem(name="nan f", f=f, grad=HAND.grad, hess=lambda x: A_HAND, x0=HAND.x0)
    for solver in (qn.newton, qn.bfgs, lb.lbfgs):
        res = solver(p, maxiter=100)
        assert not res.success and res.status in (2, 3), (solver, res.status)
        assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)


@pytest.mark.parametrize("solver, kwargs, name", [
    (qn.newton, {"c1": 0.0}, "c1"), (qn.newton, {"rho": 1.5}, "rho"), (qn.newton, {"beta": -1.0}, "beta"),
    (qn.bfgs, {"c1": 0.95, "c2": 0.9}, "c1"), (qn.bfgs, {"H0": -np.eye(2)}, "H0"),
    (qn.bfgs, {"H0": np.eye(3)}, "H0"), (qn.bfgs, {"line_search": "wolfe"}, "line_search"),
    (lb.lbfgs, {"memory": 0}, "memory"), (lb.lbfgs, {"memory": 2.5}, "memory"),
    (lb.lbfgs_jax, {"memory": -1}, "memory"), (lb.lbfgs_jax, {"c2": 1.0}, "c2"),
    (qn.bfgs, {"x0": np.array([np.nan, 1.0])}, "x0"), (lb.lbfgs, {"maxiter": -1}, "maxiter"),
    (qn.bfgs, {"gtol": -1.0}, "gtol"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(solver, kwargs, name):
    with pytest.raises(ValueError, match=name):
        solver(HAND, **kwargs)


def test_newton_needs_second_derivatives():
    p = Problem(name="first order only", f=HAND.f, grad=HAND.grad, x0=HAND.x0)
    with pytest.raises(ValueError, match="hess"):
        qn.newton(p)


@pytest.mark.parametrize("solver", [qn.newton, qn.bfgs, lb.lbfgs])
def test_callback_can_stop_the_run(solver):
    res = solver(rosenbrock(2), callback=lambda r: r.nit == 3)
    assert res.status == 99 and res.nit == 3 and not res.success


def test_inputs_are_not_mutated():
    x0 = np.array([1.0, 1.0])
    H0 = np.eye(2)
    qn.bfgs(HAND, x0, H0=H0, maxiter=3)
    lb.lbfgs(HAND, x0, maxiter=3)
    qn.newton(HAND, x0, maxiter=3)
    np.testing.assert_array_equal(x0, [1.0, 1.0])
    np.testing.assert_array_equal(H0, np.eye(2))
