"""The subgradient method: hand iterates, NumPy == JAX, CVXPY reference, measured bounds, edge cases."""
import cvxpy as cp
import numpy as np
import pytest

from utils import subgradient as SG
from utils.problems import Problem, xp

SHARP = Problem(name="|x₁| + 2|x₂|", f=lambda x: xp(x).abs(x[0]) + 2 * xp(x).abs(x[1]),
                grad=lambda x: xp(x).sign(x) * xp(x).asarray([1.0, 2.0]), x0=np.array([1.0, 1.0]),
                x_star=np.zeros(2), f_star=0.0)


@pytest.fixture(scope="module")
def l1reg():
    """Robust regression f(x) = (1/m)‖Ax − b‖₁ with x*, f* from CVXPY (Clarabel)."""
    g = np.random.default_rng(2)
    m, n = 80, 10
    A = g.standard_normal((m, n))
    b = A @ g.standard_normal(n) + g.standard_normal(m) * np.where(g.uniform(size=m) < 0.1, 10.0, 0.1)
    x = cp.Variable(n)
    prob = cp.Problem(cp.Minimize(cp.norm1(A @ x - b) / m))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return Problem(name="ℓ1 regression", f=lambda x: xp(x).sum(xp(x).abs(A @ x - b)) / m,
                   grad=lambda x: A.T @ xp(x).sign(A @ x - b) / m, x0=np.zeros(n), x_star=x.value,
                   f_star=float(prob.value), L=None, info={"G": np.linalg.norm(A, 2) / np.sqrt(m)})


# ------------------------------------------------------------------------------------ hand-computed iterates
@pytest.mark.parametrize("solver", [SG.subgradient_method, SG.subgradient_method_jax])
def test_subgradient_hand_computed(solver):
    res = solver(SHARP, step=SG.constant(0.1), maxiter=2)        # s = (1, 2): (1, 1) → (0.9, 0.8) → (0.8, 0.6)
    np.testing.assert_allclose(res.history.x, [[1, 1], [0.9, 0.8], [0.8, 0.6]], atol=1e-15)
    np.testing.assert_allclose(res.history.fun, [3.0, 2.5, 2.0], rtol=1e-14)
    np.testing.assert_allclose(res.x_avg, [0.9, 0.8], atol=1e-15)    # equal weights over x₀, x₁, x₂
    res = solver(SHARP, step=SG.polyak(), maxiter=1)             # α₀ = 3/5: (1, 1) → (0.4, −0.2)
    np.testing.assert_allclose(res.history.x[1], [0.4, -0.2], atol=1e-15)


# --------------------------------------------------------------------------------------------- NumPy == JAX
@pytest.mark.parametrize("rule", [SG.constant(0.05), SG.diminishing(0.5), SG.polyak()])
def test_subgradient_numpy_and_jax_agree(l1reg, rule):
    a = SG.subgradient_method(l1reg, step=rule, maxiter=200)
    b = SG.subgradient_method_jax(l1reg, step=rule, maxiter=200)
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.x_avg, a.x_avg, rtol=1e-10, atol=1e-12)
    assert a.fun == pytest.approx(b.fun, rel=1e-12)


# ------------------------------------------------------------------------------------------------ references
def test_subgradient_approaches_cvxpy(l1reg):
    res = SG.subgradient_method(l1reg, step=SG.polyak(), maxiter=3000)
    assert 0 <= res.fun - l1reg.f_star <= 1e-5 * l1reg.f_star           # slow (O(1/√k)) but it gets there
    np.testing.assert_allclose(res.x, l1reg.x_star, atol=1e-2)


# ---------------------------------------------------------------------------------------------- measured rates
@pytest.mark.parametrize("rule", [SG.constant(0.02), SG.diminishing(0.2)])
def test_subgradient_best_and_average_bound(l1reg, rule):
    res = SG.subgradient_method(l1reg, step=rule, maxiter=2000)
    R2 = np.sum((l1reg.x0 - l1reg.x_star) ** 2)
    G = l1reg.info["G"]
    assert np.all(res.history.grad_norm <= G * (1 + 1e-12))
    a = res.alpha
    bound = (R2 + G ** 2 * np.cumsum(a ** 2)) / (2 * np.cumsum(a))
    assert np.all(res.f_best - l1reg.f_star <= bound)
    assert res.f_avg - l1reg.f_star <= bound[-1]
    # the bound is not vacuous: the method ends well below f(x₀) − f⋆ and the last bound is informative
    assert bound[-1] < 0.2 * (res.history.fun[0] - l1reg.f_star)


def test_subgradient_polyak_rate(l1reg):
    res = SG.subgradient_method(l1reg, step=SG.polyak(), maxiter=2000)
    k = np.arange(len(res.f_best))
    R, G = np.linalg.norm(l1reg.x0 - l1reg.x_star), l1reg.info["G"]
    assert np.all(res.f_best - l1reg.f_star <= G * R / np.sqrt(k + 1))


# ------------------------------------------------------------------------------------------------ edge cases
def test_custom_step_rule_is_a_plain_function(l1reg):
    rule = lambda k, fx, s_norm, f_star: 0.05 / (k + 1.0)
    res = SG.subgradient_method(l1reg, step=rule, maxiter=3)
    np.testing.assert_allclose(res.alpha, [0.05, 0.025, 0.05 / 3, 0.0125])
    s0 = l1reg.grad(l1reg.x0)
    np.testing.assert_allclose(res.history.x[1], l1reg.x0 - 0.05 * s0, rtol=1e-14)
    with pytest.raises(ValueError, match="step"):
        SG.subgradient_method(l1reg, step=0.1)


@pytest.mark.parametrize("call, name", [
    (lambda: SG.constant(-1.0), "alpha"), (lambda: SG.diminishing(0.0), "alpha0"),
    (lambda: SG.subgradient_method(SHARP.__class__(name="no f*", f=SHARP.f, grad=SHARP.grad, x0=SHARP.x0),
                                   step=SG.polyak()), "f_star"),
    (lambda: SG.subgradient_method(SHARP, step=SG.constant(0.1), maxiter=-1), "maxiter"),
])
def test_bad_arguments_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()
