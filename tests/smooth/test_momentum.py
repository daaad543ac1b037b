"""Heavy ball and Nesterov: hand-computed iterates, NumPy == JAX, torch/optax step by step, measured rates."""
import numpy as np
import pytest

from utils.momentum import (heavy_ball, heavy_ball_jax, nesterov, nesterov_jax, nesterov_momentum,
                            nesterov_momentum_jax, nesterov_strongly_convex, nesterov_strongly_convex_jax)
from utils.problems import Problem, breast_cancer_logistic, quadratic, rosenbrock, xp

A_HAND = np.diag([1.0, 10.0])
HAND = Problem(name="½(x₁² + 10x₂²)", f=lambda x: 0.5 * x @ (A_HAND @ x), grad=lambda x: A_HAND @ x,
               x0=np.array([1.0, 1.0]), x_star=np.zeros(2), f_star=0.0, L=10.0, mu=1.0)

PAIRS = {  # name: (numpy, jax, hyperparameters given a problem)
    "heavy_ball": (heavy_ball, heavy_ball_jax, lambda p: {"eta": 0.5 / p.L, "beta": 0.7}),
    "nesterov": (nesterov, nesterov_jax, lambda p: {"eta": 1.0 / p.L}),
    "nesterov_sc": (nesterov_strongly_convex, nesterov_strongly_convex_jax,
                    lambda p: {"eta": 1.0 / p.L, "mu": p.mu}),
    "nesterov_momentum": (nesterov_momentum, nesterov_momentum_jax, lambda p: {"eta": 0.3 / p.L, "beta": 0.9}),
}


_LOGISTIC = []


def cached_logistic():
    if not _LOGISTIC:                                 # one reference solve for the whole module
        _LOGISTIC.append(breast_cancer_logistic(lam=1e-2))
    return _LOGISTIC[0]


@pytest.fixture(scope="module")
def logistic():
    return cached_logistic()


def with_L(p, L, mu):
    from dataclasses import replace
    return replace(p, L=L, mu=mu)


# ------------------------------------------------------------------------------------------ by hand
@pytest.mark.parametrize("jax", [False, True])
def test_heavy_ball_by_hand(jax):
    # η = 0.1, β = 0.5: x₁ = (1, 1) − 0.1(1, 10) = (0.9, 0); x₂ = x₁ − 0.1(0.9, 0) + 0.5(x₁ − x₀) = (0.76, −0.5).
    res = (heavy_ball_jax if jax else heavy_ball)(HAND, eta=0.1, beta=0.5, maxiter=2, gtol=0.0, record_x=True)
    np.testing.assert_allclose(res.history.x, [[1, 1], [0.9, 0], [0.76, -0.5]], rtol=0, atol=1e-15)
    assert list(res.history.njev) == [1, 2, 3]


@pytest.mark.parametrize("jax", [False, True])
def test_nesterov_by_hand(jax):
    # t₀ = 1: β₀ = 0 so y₁ = x₁ = (0.9, 0); x₂ = 0.9·y₁ = (0.81, 0); t₁ = (1+√5)/2, t₂ = (1+√(1+4t₁²))/2,
    # y₂ = x₂ + ((t₁ − 1)/t₂)(x₂ − x₁); x₃ = y₂ − 0.1∇f(y₂) = 0.9·y₂ (second coordinate stays 0).
    t1 = (1 + np.sqrt(5)) / 2
    t2 = (1 + np.sqrt(1 + 4 * t1 ** 2)) / 2
    y2 = 0.81 + (t1 - 1) / t2 * (0.81 - 0.9)
    res = (nesterov_jax if jax else nesterov)(HAND, eta=0.1, maxiter=3, gtol=0.0, record_x=True)
    np.testing.assert_allclose(res.history.x, [[1, 1], [0.9, 0], [0.81, 0], [0.9 * y2, 0]], rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("jax", [False, True])
def test_nesterov_momentum_by_hand(jax):
    # η = 0.1, β = 0.5: b₁ = g₀ = (1, 10); p₁ = p₀ − 0.1(g₀ + 0.5b₁) = (0.85, −0.5);
    # g₁ = (0.85, −5), b₂ = 0.5(1, 10) + g₁ = (1.35, 0); p₂ = p₁ − 0.1(g₁ + 0.5b₂) = (0.6975, 0).
    res = (nesterov_momentum_jax if jax else nesterov_momentum)(HAND, eta=0.1, beta=0.5, maxiter=2, gtol=0.0,
                                                                  record_x=True)
    np.testing.assert_allclose(res.history.x, [[1, 1], [0.85, -0.5], [0.6975, 0.0]], rtol=0, atol=1e-15)


def test_nesterov_strongly_convex_uses_beta_from_kappa():
    # η = 1/L = 0.1, μ = 1: κ = 10, β = (√10 − 1)/(√10 + 1). x₁ = y₁ − ... : y₀ = x₀, x₁ = (0.9, 0),
    # y₁ = x₁ + β(x₁ − x₀), x₂ = y₁ − 0.1 A y₁.
    beta = (np.sqrt(10) - 1) / (np.sqrt(10) + 1)
    x1 = np.array([0.9, 0.0])
    y1 = x1 + beta * (x1 - np.ones(2))
    res = nesterov_strongly_convex(HAND, eta=0.1, mu=1.0, maxiter=2, gtol=0.0, record_x=True)
    np.testing.assert_allclose(res.history.x[2], y1 - 0.1 * A_HAND @ y1, rtol=1e-15)


# ------------------------------------------------------------------------------------------ NumPy == JAX
@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("make", [lambda: quadratic(n=10, mu=1.0, L=50.0, seed=3),
                                  lambda: with_L(rosenbrock(4), 2000.0, 1.0), cached_logistic],
                         ids=["quadratic", "rosenbrock", "logistic"])
def test_numpy_and_jax_iterates_agree(name, make):
    np_solver, jax_solver, hp = PAIRS[name]
    p = make()
    a = np_solver(p, maxiter=60, gtol=0.0, record_x=True, **hp(p))
    b = jax_solver(p, maxiter=60, gtol=0.0, record_x=True, **hp(p))
    assert a.nit == b.nit == 60
    np.testing.assert_allclose(b.history.x, a.history.x, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(b.history.fun, a.history.fun, rtol=1e-11, atol=1e-13)


# ------------------------------------------------------------------------------------------ torch / optax
def test_nesterov_momentum_matches_torch_and_optax_step_by_step():
    import jax.numpy as jnp
    import optax
    torch = pytest.importorskip("torch")

    eta, beta, K = 0.05, 0.8, 25
    ours = nesterov_momentum(HAND, eta=eta, beta=beta, maxiter=K, gtol=0.0, record_x=True).history.x

    p = torch.tensor(HAND.x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=eta, momentum=beta, nesterov=True)
    A = torch.tensor(A_HAND)
    t_iter = [p.detach().numpy().copy()]
    for _ in range(K):
        opt.zero_grad()
        (0.5 * p @ (A @ p)).backward()
        opt.step()
        t_iter.append(p.detach().numpy().copy())
    np.testing.assert_allclose(ours, t_iter, rtol=1e-13, atol=1e-15)

    tx = optax.sgd(eta, momentum=beta, nesterov=True)
    params = jnp.asarray(HAND.x0)
    state = tx.init(params)
    o_iter = [np.asarray(params)]
    for _ in range(K):
        updates, state = tx.update(jnp.asarray(A_HAND) @ params, state, params)
        params = optax.apply_updates(params, updates)
        o_iter.append(np.asarray(params))
    np.testing.assert_allclose(ours, o_iter, rtol=1e-13, atol=1e-15)


def test_nesterov_momentum_is_classical_nesterov_at_the_lookahead_point():
    # p_k = y_k with x_{k+1} = y_k − η∇f(y_k): so x_{k+1} = p_k − η∇f(p_k) recovers the classical iterates.
    p = quadratic(n=6, mu=1.0, L=40.0, seed=1)
    eta, mu = 1.0 / p.L, p.mu
    beta = (np.sqrt(p.kappa) - 1) / (np.sqrt(p.kappa) + 1)
    torch_form = nesterov_momentum(p, eta=eta, beta=beta, maxiter=40, gtol=0.0, record_x=True).history.x
    classical = nesterov_strongly_convex(p, eta=eta, mu=mu, maxiter=41, gtol=0.0, record_x=True).history.x
    x_from_p = torch_form - eta * np.array([p.grad(y) for y in torch_form])
    np.testing.assert_allclose(x_from_p, classical[1:], rtol=1e-12, atol=1e-13)


def test_heavy_ball_matches_torch_sgd_momentum():
    torch = pytest.importorskip("torch")

    eta, beta, K = 0.05, 0.8, 25
    ours = heavy_ball(HAND, eta=eta, beta=beta, maxiter=K, gtol=0.0, record_x=True).history.x
    p = torch.tensor(HAND.x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=eta, momentum=beta)
    A = torch.tensor(A_HAND)
    it = [p.detach().numpy().copy()]
    for _ in range(K):
        opt.zero_grad()
        (0.5 * p @ (A @ p)).backward()
        opt.step()
        it.append(p.detach().numpy().copy())
    np.testing.assert_allclose(ours, it, rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------------------------------ rates
@pytest.mark.parametrize("kappa", [25.0, 100.0])
def test_heavy_ball_rate_on_quadratics(kappa):
    p = quadratic(n=40, mu=1.0, L=kappa, seed=0)
    sq = np.sqrt(kappa)
    rho = (sq - 1) / (sq + 1)
    # (a) tuned for [μ, L]: the extreme modes have a double eigenvalue ρ, so the error is ~ k ρᵏ; measure late,
    # where the per-step ratio ρ(1 + 1/k) is within 1% of ρ, and stay above rounding.
    K = int(np.log(1e-11) / np.log(rho))
    res = heavy_ball(p, eta=4 / (sq + 1) ** 2, beta=rho ** 2, maxiter=K, gtol=0.0, record_x=True)
    err = np.linalg.norm(res.history.x - p.x_star, axis=1)
    k = np.arange(K // 2, K + 1)
    measured = np.exp(np.polyfit(k, np.log(err[k]), 1)[0])
    assert rho <= measured <= rho * (1 + 2.0 / k[0]), (measured, rho)
    # (b) tuned for a wider interval [0.8μ, 1.2L]: every eigenvalue of the iteration matrix is complex with
    # modulus √β exactly, so the measured rate is √β to fit precision.
    lo, hi = 0.8, 1.2 * kappa
    beta = ((np.sqrt(hi) - np.sqrt(lo)) / (np.sqrt(hi) + np.sqrt(lo))) ** 2
    res = heavy_ball(p, eta=4 / (np.sqrt(hi) + np.sqrt(lo)) ** 2, beta=beta, maxiter=K, gtol=0.0, record_x=True)
    err = np.linalg.norm(res.history.x - p.x_star, axis=1)
    # the norm of a rotating 2-D mode oscillates: compare amplitudes over whole windows
    env = np.maximum.accumulate(err[::-1])[::-1]
    measured = np.exp(np.polyfit(k, np.log(env[k]), 1)[0])
    assert measured == pytest.approx(np.sqrt(beta), rel=0.01)
    assert np.sqrt(beta) < (kappa - 1) / (kappa + 1)               # faster than GD's best rate


@pytest.mark.parametrize("which", ["quadratic", "logistic"])
def test_nesterov_convex_bound(which, logistic):
    p = quadratic(n=30, mu=1e-4, L=10.0, spectrum="geometric", seed=1) if which == "quadratic" else logistic
    p = p.with_x0(np.ones(p.n))
    res = nesterov(p, eta=1.0 / p.L, maxiter=400, gtol=0.0)
    k = np.arange(1, res.nit + 1)
    gap = res.history.fun[1:] - p.f_star
    bound = 2 * p.L * np.sum((p.x0 - p.x_star) ** 2) / (k + 1) ** 2
    assert np.all(gap <= bound * (1 + 1e-9) + 1e-14), np.max(gap / bound)
    # and it beats GD's O(1/k) bound by a growing factor: the gap at k = 400 is below L‖x0 − x*‖²/(2k)·(8/k)
    assert gap[-1] <= p.L * np.sum((p.x0 - p.x_star) ** 2) / (2 * 400) * 8 / 400 * 1.01


@pytest.mark.parametrize("which", ["quadratic", "logistic"])
def test_nesterov_strongly_convex_bound(which, logistic):
    p = quadratic(n=30, mu=1.0, L=400.0, seed=2) if which == "quadratic" else logistic
    p = p.with_x0(np.ones(p.n))
    res = nesterov_strongly_convex(p, eta=1.0 / p.L, mu=p.mu, maxiter=600, gtol=0.0)
    k = np.arange(res.nit + 1)
    gap = res.history.fun - p.f_star
    c = gap[0] + 0.5 * p.mu * np.sum((p.x0 - p.x_star) ** 2)
    bound = (1 - 1 / np.sqrt(p.kappa)) ** k * c
    ok = gap > 1e-13 * max(1, abs(p.f_star))                 # above rounding
    assert ok.sum() > 50
    assert np.all(gap[ok] <= bound[ok] * (1 + 1e-9))
    # measured rate much faster than GD's (κ−1)/(κ+1) on the quadratic, where κ = 400
    if which == "quadratic":
        kk = np.flatnonzero(ok)[-100:]
        rate = np.exp(np.polyfit(kk, np.log(gap[kk]), 1)[0])
        assert rate <= 1 - 1 / np.sqrt(p.kappa)


# ------------------------------------------------------------------------------------------ edge cases
@pytest.mark.parametrize("name, jax", [(name, False) for name in PAIRS] + [("heavy_ball", True),
                                                                        ("nesterov_momentum", True)])
def test_nan_stops_with_status_3(name, jax):
    def f(x):
        return xp(x).where(x[0] < 0.5, xp(x).nan, 0.5 * x @ (A_HAND @ x))

    p = Problem(name="nan below 0.5", f=f, grad=HAND.grad, x0=HAND.x0, L=10.0, mu=1.0)
    solver = PAIRS[name][1 if jax else 0]
    res = solver(p, maxiter=200, gtol=0.0, **PAIRS[name][2](p))
    assert res.status == 3 and not res.success and np.isfinite(res.fun)
    assert f"iteration {res.nit}" in res.message


@pytest.mark.parametrize("solver, kwargs, name", [
    (heavy_ball, {"eta": 0.1, "beta": 1.0}, "beta"), (heavy_ball, {"eta": 0.1, "beta": -0.1}, "beta"),
    (heavy_ball_jax, {"eta": 0.0, "beta": 0.5}, "eta"), (nesterov, {"eta": np.nan}, "eta"),
    (nesterov_strongly_convex, {"eta": 0.1, "mu": 0.0}, "mu"), (nesterov_strongly_convex, {"eta": 0.1, "mu": 20.0}, "mu"),
    (nesterov_momentum, {"eta": 0.1, "beta": "high"}, "beta"), (nesterov_momentum_jax, {"eta": 0.1, "beta": 0.5,
                                                                                     "x0": np.zeros(3)}, "x0"),
])
def test_bad_arguments_raise(solver, kwargs, name):
    with pytest.raises(ValueError, match=name):
        solver(HAND, **kwargs)


@pytest.mark.parametrize("name", list(PAIRS))
def test_callback_stops(name):
    res = PAIRS[name][0](HAND, maxiter=100, gtol=0.0, callback=lambda r: r.nit == 4, **PAIRS[name][2](HAND))
    assert res.status == 99 and res.nit == 4
