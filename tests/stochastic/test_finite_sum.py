"""Finite-sum methods against references and known optima: the problems' x*, f*, per-sample gradients and
constants; the mini-batch variance formula by enumeration; the samplers; SVRG's and SAGA's linear rates against
their theorems; SGD's noise floor, its O(1/k) decay and averaging; the cost axis; bad input.

Every run has an explicit seed, so each number below is reproducible; the bands in the stochastic tests are
derived in the comments (sampling error, or a theorem's bound, or a rounding floor), not tuned."""
import itertools
import math

import numpy as np
import pytest

import utils
from utils.first_order import gradient_descent
from utils.stochastic import (FiniteSum, constant, finite_sum_least_squares, finite_sum_logistic, finite_sum_mean,
                              gradient_variance, inverse_k, inverse_sqrt_k, minibatch_sampler, minibatch_variance,
                              saga, saga_init, saga_rate_bound, saga_step, sgd_expected_gap, sgd_init, sgd_noise_floor,
                              sgd_step,
                              step_decay, stochastic_gradient_descent, svrg, svrg_rate_bound)

U = np.finfo(float).eps / 2          # unit roundoff
_CACHE = {}


def cached(name, make):
    if name not in _CACHE:
        _CACHE[name] = make()
    return _CACHE[name]


@pytest.fixture(scope="module")
def logistic():
    return cached("logistic", finite_sum_logistic)


def rate_per_epoch(epochs, values):
    """exp of the least-squares slope of log(values) against epochs: the measured contraction per epoch."""
    return float(np.exp(np.polyfit(epochs, np.log(values), 1)[0]))


# --------------------------------------------------------------------------------------- the logistic problem
def test_logistic_optimum_agrees_with_lbfgsb(logistic):
    from scipy.optimize import minimize

    p = logistic
    assert p.n == 569 and p.d == 31 and p.mu == 1e-2
    g_star = np.linalg.norm(p.grad(p.x_star))
    assert g_star <= 1e-10
    ref = minimize(p.f, np.zeros(p.d), jac=p.grad, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 10000, "maxcor": 30})
    g_ref = np.linalg.norm(p.grad(ref.x))
    # μ-strong convexity: ‖x − x*‖ ≤ ‖∇f(x)‖/μ and 0 ≤ f(x) − f* ≤ ‖∇f(x)‖²/(2μ), for each of the two points;
    # the f values carry a rounding error of a few n·u·|f| (an n-term mean).
    assert np.linalg.norm(ref.x - p.x_star) <= (g_ref + g_star) / p.mu
    tol_f = 4 * p.n * U * abs(p.f_star)
    assert -tol_f <= ref.fun - p.f_star <= g_ref ** 2 / (2 * p.mu) + tol_f
    assert abs(p.f_star - 0.100446) < 1e-6          # the value the week-4 notebooks quote


def test_logistic_optimum_agrees_with_sklearn(logistic):
    from sklearn.linear_model import LogisticRegression

    p = logistic
    X, y = p.info["X"], p.info["y"]
    # scikit-learn minimizes C Σᵢ log(1 + exp(−yᵢaᵢᵀw)) + ½‖w‖² = Cn·f(w) with λ = 1/(Cn)
    clf = LogisticRegression(C=1 / (p.n * p.mu), fit_intercept=False, tol=1e-12, max_iter=10000).fit(X, y)
    w = clf.coef_.ravel()
    g = np.linalg.norm(p.grad(w))
    assert np.linalg.norm(w - p.x_star) <= g / p.mu + 1e-9
    assert -4 * p.n * U * p.f_star <= p.f(w) - p.f_star <= g ** 2 / (2 * p.mu) + 4 * p.n * U * p.f_star


def test_logistic_per_sample_gradients_match_jax(logistic):
    import jax
    import jax.numpy as jnp

    p = logistic
    X, y, lam = (jnp.asarray(p.info["X"]), jnp.asarray(p.info["y"]), p.mu)

    def f_i(x, a, yi):
        return jnp.logaddexp(0.0, -yi * (a @ x)) + 0.5 * lam * (x @ x)

    per_sample = jax.jit(jax.vmap(jax.grad(f_i), in_axes=(None, 0, 0)))
    rng = np.random.default_rng(0)
    idx = rng.integers(0, p.n, size=17)
    for x in (np.zeros(p.d), p.x_star, rng.standard_normal(p.d)):
        G = np.asarray(per_sample(jnp.asarray(x), X, y))
        scale = np.max(np.linalg.norm(G, axis=1))
        np.testing.assert_allclose(p.grad_samples(x, np.arange(p.n)), G, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(p.grad_batch(x, idx), G[idx].mean(0), rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(p.grad_batch(x, idx[:1]), G[idx[0]], rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(p.grad_i(x, int(idx[3])), G[idx[3]], rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(p.grad(x), G.mean(0), rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(p.f(x), np.mean(jax.vmap(f_i, in_axes=(None, 0, 0))(jnp.asarray(x), X, y)),
                                   rtol=1e-13)


def test_logistic_constants_match_their_definitions(logistic):
    import jax
    import jax.numpy as jnp

    p = logistic
    X, y, lam = jnp.asarray(p.info["X"]), jnp.asarray(p.info["y"]), p.mu

    def f_i(x, a, yi):
        return jnp.logaddexp(0.0, -yi * (a @ x)) + 0.5 * lam * (x @ x)

    hess_i = jax.jit(jax.vmap(jax.hessian(f_i), in_axes=(None, 0, 0)))
    rng = np.random.default_rng(1)
    # L_max = maxᵢ supₓ λ_max(∇²fᵢ(x)); σ' ≤ 1/4 with equality at aᵢᵀx = 0, so the sup is attained at x = 0
    top0 = np.linalg.eigvalsh(np.asarray(hess_i(jnp.zeros(p.d), X, y)))[:, -1]
    np.testing.assert_allclose(top0.max(), p.L_max, rtol=1e-12)
    for x in (p.x_star, rng.standard_normal(p.d)):
        assert np.linalg.eigvalsh(np.asarray(hess_i(jnp.asarray(x), X, y)))[:, -1].max() <= p.L_max * (1 + 1e-12)
    # L = supₓ λ_max(∇²f(x)) (attained at 0); μ = infₓ λ_min(∇²f(x)) = λ, nearly attained already at x*
    H = jax.jit(jax.hessian(lambda x: jnp.mean(jax.vmap(f_i, in_axes=(None, 0, 0))(x, X, y))))
    np.testing.assert_allclose(np.linalg.eigvalsh(np.asarray(H(jnp.zeros(p.d))))[-1], p.L, rtol=1e-12)
    for x in (p.x_star, rng.standard_normal(p.d)):
        ev = np.linalg.eigvalsh(np.asarray(H(jnp.asarray(x))))
        assert ev[-1] <= p.L * (1 + 1e-12) and ev[0] >= p.mu * (1 - 1e-10)
    assert np.linalg.eigvalsh(np.asarray(H(jnp.asarray(p.x_star))))[0] <= 1.001 * p.mu


def test_least_squares_constants_and_optimum():
    p = finite_sum_least_squares(n=80, d=6, mu=0.2, L=2.0, noise=0.3, seed=4)
    A, b = p.info["A"], p.info["b"]
    ev = np.linalg.eigvalsh(A.T @ A / p.n)
    np.testing.assert_allclose([ev[0], ev[-1]], [p.mu, p.L], rtol=1e-12)
    np.testing.assert_allclose(p.L_max, np.max(np.sum(A * A, 1)), rtol=1e-14)
    np.testing.assert_allclose(p.x_star, np.linalg.lstsq(A, b, rcond=None)[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(p.f(p.x_star), p.f_star, rtol=1e-12)
    idx = np.array([3, 3, 50])                        # a repeated index counts twice
    G = np.stack([A[i] * (A[i] @ p.x0 - b[i]) for i in idx])
    np.testing.assert_allclose(p.grad_batch(p.x0, idx), G.mean(0), rtol=1e-13)
    np.testing.assert_allclose(p.grad_samples(p.x0, idx), G, rtol=1e-13)


def test_full_problem_runs_with_the_deterministic_solvers():
    p = finite_sum_least_squares(n=60, d=4, mu=0.5, L=1.0, seed=2)
    res = gradient_descent(p.problem, eta=2 / (p.L + p.mu), gtol=1e-10, maxiter=500)
    assert res.success and np.linalg.norm(res.x - p.x_star) <= 1e-9


# ---------------------------------------------------------------------------------- mini-batch variance
def test_minibatch_variance_by_enumeration():
    """E‖g_B − ∇f‖² over every B-subset (without replacement) and every ordered B-tuple (with replacement)."""
    p = finite_sum_least_squares(n=7, d=3, mu=0.3, L=1.0, noise=0.4, seed=1)
    x = np.random.default_rng(5).standard_normal(3)
    G, g = p.grad_samples(x, np.arange(7)), p.grad(x)
    sigma2 = gradient_variance(p, x)
    np.testing.assert_allclose(sigma2, np.mean([np.sum((p.grad_i(x, i) - g) ** 2) for i in range(7)]), rtol=1e-12)
    for B in range(1, 8):
        subsets = [np.sum((G[list(c)].mean(0) - g) ** 2) for c in itertools.combinations(range(7), B)]
        np.testing.assert_allclose(np.mean(subsets), minibatch_variance(sigma2, B, 7, replace=False),
                                   rtol=1e-12, atol=1e-14 * sigma2)
        if B <= 3:
            tuples = [np.sum((G[list(c)].mean(0) - g) ** 2) for c in itertools.product(range(7), repeat=B)]
            np.testing.assert_allclose(np.mean(tuples), minibatch_variance(sigma2, B, 7), rtol=1e-12)
            np.testing.assert_allclose(minibatch_variance(sigma2, B), sigma2 / B, rtol=1e-15)
    assert minibatch_variance(sigma2, 7, 7, replace=False) == 0.0       # the whole population: no noise


def test_sampled_batches_have_the_predicted_variance():
    """The samplers draw what the formula assumes: the mean of ‖g_B − ∇f‖² over 20000 batches is within 4
    standard errors (estimated from the same draws) of (n−B)/(n−1)·σ²/B and σ²/B."""
    p = finite_sum_least_squares(n=40, d=3, mu=0.3, L=1.0, noise=0.4, seed=1)
    x = np.ones(3)
    G, g, sigma2 = p.grad_samples(x, np.arange(40)), p.grad(x), gradient_variance(p, x)
    for replace in (False, True):
        s = minibatch_sampler(40, 8, replace=replace, seed=3)
        err = np.array([np.sum((G[next(s)].mean(0) - g) ** 2) for _ in range(20000)])
        expected = minibatch_variance(sigma2, 8, 40, replace=replace)
        assert abs(err.mean() - expected) <= 4 * err.std() / math.sqrt(len(err))
    assert minibatch_variance(sigma2, 8, 40, replace=False) < minibatch_variance(sigma2, 8, 40)


def test_samplers_are_seeded_and_cover_each_epoch():
    def take(seed, replace, B=5, k=24):
        s = minibatch_sampler(20, B, replace=replace, seed=seed)
        return np.array([next(s) for _ in range(k)])

    for replace in (True, False):
        np.testing.assert_array_equal(take(7, replace), take(7, replace))
        assert not np.array_equal(take(7, replace), take(8, replace))
    epochs = take(7, False).reshape(6, 20)                        # 4 batches of 5 per epoch
    assert all(sorted(e) == list(range(20)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 6                   # a fresh permutation each epoch
    # B ∤ n: ⌊20/6⌋ = 3 batches per epoch, no index twice in an epoch, 2 left out
    rem = take(1, False, B=6, k=9).reshape(3, 18)
    assert all(len(set(e)) == 18 for e in rem)
    # with replacement: uniform counts (each ~ Binomial(60000, 1/20); 5 standard deviations)
    counts = np.bincount(take(2, True, B=6, k=10000).ravel(), minlength=20)
    assert np.all(np.abs(counts - 3000) <= 5 * math.sqrt(60000 * 0.05 * 0.95))


# ------------------------------------------------------------------------------------------- SVRG and SAGA
def test_svrg_meets_johnson_zhang_bound():
    """J&Z Thm. 1 (option II): with η = 0.1/L_max and m the smallest epoch length giving α ≤ 1/2, the measured
    contraction of f(x̃_s) − f* per epoch is at most α, and after S epochs the gap is below α^S(f(x₀) − f*)."""
    p = finite_sum_least_squares(n=50, d=3, mu=0.1, L=1.0, noise=0.5, seed=0)
    eta = 0.1 / p.L_max
    m = next(m for m in itertools.count(100, 50) if svrg_rate_bound(eta, p.L_max, p.mu, m) <= 0.5)
    alpha = svrg_rate_bound(eta, p.L_max, p.mu, m)
    res = svrg(p, eta=eta, m=m, random_snapshot=True, maxiter=4, seed=0)
    gap = res.history.fun - p.f_star
    assert np.all(gap > 1e4 * p.n * U * p.f_star)        # all four epochs well above the rounding floor
    measured = rate_per_epoch(res.history.k, gap)
    assert measured <= alpha
    assert gap[-1] <= alpha ** 4 * gap[0]
    print(f"SVRG option II, m = {m}: measured {measured:.3g}/epoch vs bound α = {alpha:.3g}")


def test_svrg_converges_linearly_on_logistic(logistic):
    """The practical setting (option I, m = 2n, η = 1/L_max), outside Thm. 1 (on this problem κ_max = L_max/μ ≈
    1.06e4 and Thm. 1 needs m ≳ 2.6e5 for α < 1): a factor per epoch below 0.9 in both halves of the run (linear:
    it does not creep up to 1), so after epoch 5 the gap must fall by at least 0.9²⁵."""
    p = logistic
    res = svrg(p, eta=1.0 / p.L_max, maxiter=30, seed=0)
    gap = res.history.fun - p.f_star
    first, second = rate_per_epoch(res.history.k[5:18], gap[5:18]), rate_per_epoch(res.history.k[18:], gap[18:])
    assert first < 0.9 and second < 0.9
    assert gap[-1] <= 0.9 ** 25 * gap[5]
    print(f"SVRG logistic: {first:.3f}, {second:.3f} per epoch; gap {gap[-1]:.2e} after 30 epochs")


def test_saga_meets_theorem_5_2_on_least_squares():
    """The lecture's Theorem 5.2 (each fᵢ convex and L_max-smooth, f μ-strongly convex — least squares meets
    exactly these hypotheses; its fᵢ are not strongly convex, so Defazio et al.'s Thm. 1 does not apply) with
    η = 1/(5L_max): E‖x_k − x*‖² ≤ (1 − ρ)ᵏ(‖x₀ − x*‖² + 3nη²D₀), ρ = min(μη, 1/(3n)), D₀ ≤ 2L_max(f(x₀) − f*).
    The measured factor per epoch must be at most the bound's, and the final error below the bound."""
    p = finite_sum_least_squares(n=50, d=3, mu=0.1, L=1.0, noise=0.5, seed=0)
    eta = 1.0 / (5 * p.L_max)
    rho_epoch = saga_rate_bound(p.n, p.L_max, p.mu, eta) ** p.n
    res = saga(p, eta=eta, maxiter=100 * p.n, seed=0)
    e2 = np.sum((res.history.x - p.x_star) ** 2, 1)
    C = e2[0] + 3 * p.n * eta ** 2 * 2 * p.L_max * (res.history.fun[0] - p.f_star)
    live = e2 > 1e6 * U ** 2 * np.sum(p.x_star ** 2)     # above the rounding floor of ‖x − x*‖²
    measured = rate_per_epoch(res.history.epochs[live], e2[live])
    assert measured <= rho_epoch
    assert e2[-1] <= rho_epoch ** 100 * C + 1e6 * U ** 2 * np.sum(p.x_star ** 2)
    print(f"SAGA least squares: measured {measured:.3g}/epoch vs Thm. 5.2 bound {rho_epoch:.3g}")


def test_saga_meets_theorem_5_2_on_logistic(logistic):
    """Theorem 5.2 with η = 1/(5L_max) on the real data: ρ = μ/(5L_max) (κ_max ≫ n), a slow bound; the measured
    factor per epoch must be at least as good, and the gap below (L/2)(1 − ρ)ᵏC from f − f* ≤ (L/2)‖x − x*‖²."""
    p = logistic
    eta = 1.0 / (5 * p.L_max)
    rho_epoch = saga_rate_bound(p.n, p.L_max, p.mu) ** p.n                 # default η = 1/(5L_max)
    np.testing.assert_allclose(rho_epoch, (1 - p.mu * eta) ** p.n, rtol=1e-14)
    res = saga(p, eta=eta, maxiter=60 * p.n, seed=0)
    e2 = np.sum((res.history.x - p.x_star) ** 2, 1)
    C = e2[0] + 3 * p.n * eta ** 2 * 2 * p.L_max * (res.history.fun[0] - p.f_star)
    measured = rate_per_epoch(res.history.epochs[20:], e2[20:])
    assert measured <= rho_epoch
    assert res.fun - p.f_star <= p.L / 2 * rho_epoch ** 60 * C
    print(f"SAGA logistic: measured {measured:.4f}/epoch vs bound {rho_epoch:.4f}; gap {res.fun - p.f_star:.2e}")


def test_saga_rate_bound_rejects_steps_outside_theorem_5_2():
    with pytest.raises(ValueError, match="eta"):
        saga_rate_bound(10, 1.0, 0.1, 1.0 / 3)
    assert saga_rate_bound(10, 1.0, 0.1, 0.2) == pytest.approx(1 - min(0.02, 1 / 30), rel=1e-15)


def test_saga_agrees_with_sklearn(logistic):
    """Same algorithm, same step (scikit-learn's 1/(2L_max + min(2nμ, L_max))), same number of epochs:
    both objectives within 1e-6 of each other (and of f*)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    p = logistic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=1 / (p.n * p.mu), fit_intercept=False, solver="saga", tol=1e-4, max_iter=1000,
                                 random_state=0).fit(p.info["X"], p.info["y"])
    epochs = int(clf.n_iter_[0])
    eta = 1 / (2 * p.L_max + min(2 * p.n * p.mu, p.L_max))
    np.testing.assert_allclose(eta, 1 / (2 * (p.mu * p.n + p.L_max)), rtol=1e-15)    # here 2nμ < L_max
    res = saga(p, eta=eta, maxiter=epochs * p.n, seed=0)
    f_sk = p.f(clf.coef_.ravel())
    assert abs(res.fun - f_sk) <= 1e-6 and res.fun - p.f_star <= 1e-6
    # this η is Thm. 1's 1/(2(μn + L_max)): E‖x_k − x*‖² ≤ (1 − μη)ᵏ(‖x₀ − x*‖² + 2nη(1 − μη)(f(x₀) − f*))
    factor = (1 - p.mu * eta) ** p.n
    e2 = np.sum((res.history.x - p.x_star) ** 2, 1)
    C = e2[0] + 2 * p.n * eta * (1 - p.mu * eta) * (res.history.fun[0] - p.f_star)
    measured = rate_per_epoch(res.history.epochs[20:], e2[20:])
    assert measured <= factor and e2[-1] <= factor ** epochs * C
    print(f"after {epochs} epochs: ours {res.fun - p.f_star:.2e}, scikit-learn {f_sk - p.f_star:.2e}; "
          f"measured {measured:.4f}/epoch vs Thm. 1 {factor:.4f}")


def test_gradient_counts():
    p = finite_sum_least_squares(n=30, d=3, seed=0)
    res = svrg(p, eta=0.1 / p.L_max, m=45, batch_size=2, maxiter=5)
    assert list(res.history.grads) == [s * (30 + 2 * 45 * 2) for s in range(6)]      # n + 2mB per epoch
    assert res.grads == res.njev == 5 * 210 and res.nit == 5
    res = saga(p, maxiter=100, record_every=25)
    assert list(res.history.grads) == [30 + k for k in (0, 25, 50, 75, 100)]          # n, then 1 per step
    assert list(res.history.k) == [0, 25, 50, 75, 100]
    res = stochastic_gradient_descent(p, eta=0.01, batch_size=4, maxiter=20, record_every=7)
    assert list(res.history.k) == [0, 7, 14, 20] and list(res.history.grads) == [0, 28, 56, 80]
    np.testing.assert_allclose(res.history.epochs, res.history.grads / 30, rtol=1e-15)


def test_saga_step_by_hand():
    p = finite_sum_least_squares(n=5, d=2, seed=3)
    x0 = np.array([0.3, -0.2])
    s = saga_init(x0, p)
    G0 = np.stack([p.grad_i(x0, i) for i in range(5)])
    s1 = saga_step(s, p, 2, 0.1)
    g2 = p.grad_i(x0, 2)
    np.testing.assert_allclose(s1.x, x0 - 0.1 * (g2 - G0[2] + G0.mean(0)), rtol=1e-14)   # = x0 − 0.1∇f(x0)
    s2 = saga_step(s1, p, 4, 0.1)
    v = p.grad_i(s1.x, 4) - G0[4] + G0.mean(0)
    np.testing.assert_allclose(s2.x, s1.x - 0.1 * v, rtol=1e-14)
    np.testing.assert_allclose(s2.g_bar, s2.G.mean(0), rtol=1e-13)
    assert s2.grads == 7


# ------------------------------------------------------------------------------------------------------ SGD
def test_sgd_step_by_hand():
    p = finite_sum_least_squares(n=5, d=2, seed=3)
    x0 = np.array([0.3, -0.2])
    s1 = sgd_step(sgd_init(x0), p, np.array([1, 3]), 0.1)
    np.testing.assert_allclose(s1.x, x0 - 0.1 * (p.grad_i(x0, 1) + p.grad_i(x0, 3)) / 2, rtol=1e-14)
    s2 = sgd_step(s1, p, np.array([0, 0]), 0.1, k_avg=1)
    np.testing.assert_allclose(s2.x_bar, (s1.x + s2.x) / 2, rtol=1e-14)
    assert s2.grads == 4 and s2.k == 2


def test_constant_step_sgd_plateaus_at_the_noise_floor():
    """Least squares, B = 1 with replacement. The stationary E f − f* lies in [ησ*²/4, ησ*²/(2(2 − ηL_max))]
    (sgd_noise_floor's docstring): with ηL_max = 0.2 the ratio measured / helper must be in [0.9, 1] up to
    sampling error. The exact value solves HP + PH = η(E[aaᵀPaaᵀ] + S) (tr S = σ*²): compare with it too.
    Sampling error: the standard error of the plateau mean from 40 batch means (each 1000 steps, far longer
    than the 1/(2ημ) ≈ 30-step correlation time); bands are 4 standard errors."""
    p = finite_sum_least_squares(n=100, d=5, mu=0.5, L=1.0, noise=1.0, seed=0)
    A, H = p.info["A"], p.info["A"].T @ p.info["A"] / p.n
    eta = 0.2 / p.L_max
    sigma2 = gradient_variance(p, p.x_star)
    res = stochastic_gradient_descent(p, eta=eta, maxiter=42000, record_every=1, record_x=False, seed=0)
    gap = (res.history.fun - p.f_star)[2001:]                   # 2000 burn-in steps ≫ 1/(2ημ)
    means = gap.reshape(40, 1000).mean(1)
    plateau, se = means.mean(), means.std(ddof=1) / math.sqrt(40)
    helper = sgd_noise_floor(eta, sigma2, p.L_max)
    d = p.d
    M4 = sum(np.kron(np.outer(a, a), np.outer(a, a)) for a in A) / p.n
    r = A @ p.x_star - p.info["b"]
    S = (A * r[:, None] ** 2).T @ A / p.n
    P = np.linalg.solve(np.kron(np.eye(d), H) + np.kron(H, np.eye(d)) - eta * M4, eta * S.ravel()).reshape(d, d)
    exact = 0.5 * np.trace(H @ P)
    ratio = plateau / helper
    print(f"noise floor: measured {plateau:.4g} ± {se:.2g}, helper {helper:.4g} (ratio {ratio:.3f}), "
          f"exact {exact:.4g}, BCN bound ηLσ²/(2μ) = {eta * p.L * sigma2 / (2 * p.mu):.3g}")
    assert (1 - eta * p.L_max / 2) - 4 * se / helper <= ratio <= 1 + 4 * se / helper
    assert abs(plateau - exact) <= 4 * se


def test_expected_gap_recursion_matches_monte_carlo_and_the_lyapunov_equation():
    """sgd_expected_gap is E f(x_k) − f* exactly: the mean over 600 seeds lies within 4.5 standard errors (estimated
    from the runs) of it at every k ≤ 40, for B = 1 and B = 4 (with replacement); its constant-step limit solves
    HP + PH = η(E[aaᵀPaaᵀ] + S) to rounding and lies in sgd_noise_floor's bracket [ησ*²/4, ησ*²/(2(2 − ηL_max))]."""
    p = finite_sum_least_squares(n=40, d=3, mu=0.3, L=1.0, noise=0.5, seed=1)
    for B, eta in ((1, 0.3 / p.L_max), (4, 0.6 / p.L_max)):
        exact = sgd_expected_gap(p, eta, B, 40)
        runs = np.array([stochastic_gradient_descent(p, eta=eta, batch_size=B, maxiter=40, record_every=1,
                                                     record_x=False, seed=s).history.fun - p.f_star
                         for s in range(600)])
        se = runs.std(0, ddof=1) / math.sqrt(len(runs))
        np.testing.assert_allclose(exact[0], runs[0, 0], rtol=1e-12)          # k = 0 is deterministic
        assert np.all(np.abs(runs.mean(0) - exact)[1:] <= 4.5 * se[1:])
        assert exact[40] < 0.5 * exact[0]
    q = finite_sum_least_squares(n=100, d=5, mu=0.5, L=1.0, noise=1.0, seed=0)
    A, H, d = q.info["A"], q.info["A"].T @ q.info["A"] / q.n, q.d
    eta = 0.2 / q.L_max
    M4 = sum(np.kron(np.outer(a, a), np.outer(a, a)) for a in A) / q.n
    r = A @ q.x_star - q.info["b"]
    S = (A * r[:, None] ** 2).T @ A / q.n
    P = np.linalg.solve(np.kron(np.eye(d), H) + np.kron(H, np.eye(d)) - eta * M4, eta * S.ravel()).reshape(d, d)
    limit = sgd_expected_gap(q, eta, 1, 4000)[-1]         # (1 − ημ)^{2·4000} ≈ 1e-19: stationary
    np.testing.assert_allclose(limit, 0.5 * np.trace(H @ P), rtol=1e-9)
    sigma2 = gradient_variance(q, q.x_star)
    assert eta * sigma2 / 4 <= limit <= sgd_noise_floor(eta, sigma2, q.L_max)
    with pytest.raises(ValueError, match="least-squares problem"):
        sgd_expected_gap(finite_sum_mean(np.arange(5.0)), 0.1)


def test_expected_gap_has_the_same_value_without_the_moment_tensor(monkeypatch):
    """The O(nd²)-per-step path (used for d > 32) and the precomputed-tensor path compute the same recursion."""
    import utils.stochastic.finite_sum as st

    p = finite_sum_least_squares(n=60, d=4, mu=0.3, L=1.0, noise=0.5, seed=2)
    rule = step_decay(0.5 / p.L_max, 0.5, 20)
    dense = sgd_expected_gap(p, rule, 3, 80)
    monkeypatch.setattr(st, "_MOMENT_TENSOR_MAX_D", 0)
    np.testing.assert_allclose(sgd_expected_gap(p, rule, 3, 80), dense, rtol=1e-11)


def test_mean_estimation_reaches_the_stationary_variance():
    """x_{k+1} = x_k − η(x_k − ξ_k): Var(x_k) → ησ²/(2 − η), i.e. E f − f* = sgd_noise_floor(η, σ², 1). Over 400
    seeds × 4 independent coordinates, the mean of ½‖x_K − x*‖² has a standard error estimated from the runs."""
    xi = np.random.default_rng(0).standard_normal((50, 4)) * [1.0, 2.0, 0.5, 1.5]
    p = finite_sum_mean(xi)
    sigma2 = gradient_variance(p, p.x_star)
    np.testing.assert_allclose(2 * p.f_star, sigma2, rtol=1e-12)
    eta = 0.5
    gaps = np.array([stochastic_gradient_descent(p, eta=eta, maxiter=60, seed=s, record_every=60).fun - p.f_star
                     for s in range(400)])                       # (1 − η)^{2·60} ≈ 1e-36: stationary
    predicted = sgd_noise_floor(eta, sigma2, 1.0)
    se = gaps.std(ddof=1) / math.sqrt(len(gaps))
    print(f"mean estimation: E f − f* measured {gaps.mean():.4g} ± {se:.2g}, predicted {predicted:.4g}")
    assert abs(gaps.mean() - predicted) <= 4 * se


def test_inverse_k_steps_decay_like_one_over_k():
    """η_k = 2/(μ(k + k₀)) on a strongly convex least squares problem: E f(x_k) − f* ≈ c/(k + k₀). The slope of
    log(mean gap over 6 seeds) against log(k + k₀) on k ∈ [1000, 8000] must be −1 within ±0.25 (an error of ~10%
    in each window mean moves the slope by ≲ 0.1 over a factor 8 in k); a 1/√k rule gives −1/2 and is rejected."""
    p = finite_sum_least_squares(n=200, d=10, mu=0.5, L=1.0, noise=1.0, seed=1)
    k0 = 8 * p.L_max / p.mu                                    # η₀ = 1/(4L_max)
    slopes = {}
    for name, rule in {"1/k": inverse_k(2 / (p.mu * k0), k0),
                       "1/sqrt(k)": inverse_sqrt_k(1 / (4 * p.L_max), k0)}.items():
        runs = [stochastic_gradient_descent(p, eta=rule, maxiter=8000, record_every=20, record_x=False, seed=s)
                for s in range(6)]
        k = runs[0].history.k
        gap = np.mean([r.history.fun - p.f_star for r in runs], axis=0)
        sel = k >= 1000
        slopes[name] = np.polyfit(np.log(k[sel] + k0), np.log(gap[sel]), 1)[0]
    print(f"log-log slopes: {slopes}")
    assert -1.25 <= slopes["1/k"] <= -0.75
    assert slopes["1/sqrt(k)"] > -0.75


def test_polyak_ruppert_averaging_beats_the_last_iterate():
    p = finite_sum_least_squares(n=100, d=5, mu=0.5, L=1.0, noise=1.0, seed=0)
    for average_from in (1, 2501):                            # Polyak–Ruppert from the start, and the tail half
        res = stochastic_gradient_descent(p, eta=0.2 / p.L_max, maxiter=5000, average_from=average_from, seed=3)
        last = stochastic_gradient_descent(p, eta=0.2 / p.L_max, maxiter=5000, seed=3)
        np.testing.assert_allclose(res.x_last, last.x, rtol=1e-14)    # the same trajectory, same seed
        assert res.fun - p.f_star < 0.25 * (res.fun_last - p.f_star)
        print(f"average_from={average_from}: averaged {res.fun - p.f_star:.2e}, last {res.fun_last - p.f_star:.2e}")


def test_step_rules():
    assert constant(0.3)(10 ** 6) == 0.3
    np.testing.assert_allclose([inverse_k(1.0, 10.0)(k) for k in (0, 10, 90)], [1.0, 0.5, 0.1], rtol=1e-15)
    np.testing.assert_allclose(inverse_sqrt_k(1.0, 1.0)(3), 0.5, rtol=1e-15)
    assert [step_decay(1.0, 0.5, 10)(k) for k in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    res = stochastic_gradient_descent(finite_sum_least_squares(n=20, d=2), eta=step_decay(0.01, 0.5, 5), maxiter=12,
                                      record_every=1)
    np.testing.assert_allclose(res.history.eta[1:], [0.01] * 5 + [0.005] * 5 + [0.0025] * 2, rtol=1e-15)


# ----------------------------------------------------------------------------------------- runs and bad input
def test_runs_are_deterministic():
    p = finite_sum_least_squares(n=30, d=3, seed=0)
    for run in (lambda s: stochastic_gradient_descent(p, eta=0.05, maxiter=300, seed=s),
                lambda s: svrg(p, eta=0.05, maxiter=3, seed=s), lambda s: saga(p, maxiter=300, seed=s)):
        np.testing.assert_allclose(run(4).history.x, run(4).history.x, rtol=1e-15, atol=0)
        assert np.linalg.norm(run(4).x - run(5).x) > 0


def test_non_finite_gradient_ends_the_run():
    p = finite_sum_least_squares(n=30, d=3, seed=0)
    res = stochastic_gradient_descent(p, eta=50.0 / p.L_max, maxiter=100000, seed=0)    # diverges to inf/NaN
    assert not res.success and res.status == 3 and "Stopped at iteration" in res.message
    assert np.all(np.isfinite(res.x)) and res.nit < 100000
    bad = FiniteSum(name="nan", f=p.f, grad=p.grad, grad_samples=lambda x, idx: np.full((len(idx), 3), np.nan),
                    n=30, x0=np.zeros(3), L_max=p.L_max, L=p.L, mu=p.mu)
    for res in (saga(bad, maxiter=10), svrg(bad, eta=0.1, maxiter=2), stochastic_gradient_descent(bad, eta=0.1)):
        assert not res.success and res.status == 3 and np.all(np.isfinite(res.x))


def test_non_finite_objective_ends_the_run():
    """f turns NaN past x = 0.5 while every gradient stays finite: the run stops at the first recorded NaN and
    returns the iterate before it."""
    m = finite_sum_mean(np.linspace(0.0, 2.0, 11))
    p = FiniteSum(name="nan past 0.5", f=lambda x: np.nan if x[0] > 0.5 else m.f(x), grad=m.grad,
                  grad_samples=m.grad_samples, n=m.n, x0=m.x0, L_max=1.0, L=1.0, mu=1.0)
    res = stochastic_gradient_descent(p, eta=0.1, maxiter=1000, record_every=1, seed=0)
    assert res.status == 3 and not res.success and f"iteration {res.nit}" in res.message
    assert 0 < res.x[0] <= 0.5 and np.isfinite(res.fun) and np.isnan(res.history.fun[-1])
    assert len(res.history) == res.nit + 1


def test_callback_can_stop_and_gtol_stops():
    p = finite_sum_least_squares(n=30, d=3, noise=0.0, seed=0)
    seen = []
    res = saga(p, maxiter=3000, callback=lambda r: seen.append(r.nit) or r.nit >= 60)
    assert res.status == 99 and not res.success and res.nit == 60 and seen == [30, 60]
    res = svrg(p, eta=0.5 / p.L_max, maxiter=100, gtol=1e-8)
    assert res.status == 0 and res.success and np.linalg.norm(p.grad(res.x)) <= 1e-8 and res.nit < 100


@pytest.mark.parametrize("call, match", [
    (lambda p: stochastic_gradient_descent(p, eta=0.1, batch_size=0), r"batch_size must be an integer in \[1, n\]"),
    (lambda p: stochastic_gradient_descent(p, eta=0.1, batch_size=31), r"batch_size .*\[1, 30\], got 31"),
    (lambda p: stochastic_gradient_descent(p, eta=0.1, batch_size=2.0), r"batch_size"),
    (lambda p: svrg(p, eta=0.1, batch_size=-1), r"batch_size"),
    (lambda p: svrg(p, eta=0.1, m=0), r"m \(inner steps per epoch\) must be a positive integer, got 0"),
    (lambda p: svrg(p, eta=0.1, m=2.5), r"m \(inner steps"),
    (lambda p: stochastic_gradient_descent(p, eta=0.0), r"eta must be positive"),
    (lambda p: stochastic_gradient_descent(p, eta=-1.0), r"eta must be positive"),
    (lambda p: stochastic_gradient_descent(p, eta=float("nan")), r"eta must be positive and finite"),
    (lambda p: stochastic_gradient_descent(p, eta="0.1"), r"eta must be a positive number"),
    (lambda p: stochastic_gradient_descent(p, eta=lambda k: 0.0), r"eta\(0\) > 0"),
    (lambda p: svrg(p, eta=0.0), r"eta must be positive"),
    (lambda p: saga(p, eta=-0.1), r"eta must be positive"),
    (lambda p: stochastic_gradient_descent(p, eta=0.1, average_from=0), r"average_from must be None or an integer"),
    (lambda p: stochastic_gradient_descent(p, eta=0.1, seed=-1), r"seed must be a non-negative integer"),
    (lambda p: saga(p, record_every=0), r"record_every must be a positive integer"),
    (lambda p: saga(p, maxiter=-5), r"maxiter must be a non-negative integer"),
    (lambda p: saga(p, x0=np.zeros(4)), r"x0 has shape \(4,\)"),
    (lambda p: step_decay(0.1, gamma=1.5), r"gamma must lie in \(0, 1\]"),
    (lambda p: step_decay(0.1, every=0), r"every must be a positive integer"),
    (lambda p: inverse_k(0.1, k0=0.0), r"k0 must be positive"),
    (lambda p: minibatch_sampler(30, 31), r"batch_size"),
    (lambda p: minibatch_variance(1.0, 5, replace=False), r"n is required when replace=False"),
    (lambda p: minibatch_variance(1.0, 0, 10), r"batch_size"),
    (lambda p: svrg_rate_bound(0.5 / p.L_max, p.L_max, p.mu, 100), r"eta must be < 1/\(4 L_max\)"),
    (lambda p: sgd_noise_floor(2.0, 1.0, 1.0), r"eta·L < 2"),
])
def test_bad_input_is_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(finite_sum_least_squares(n=30, d=3, seed=0))


def test_a_plain_problem_is_refused():
    with pytest.raises(TypeError, match=r"utils\.saga expects a utils\.stochastic\.FiniteSum .*got a utils\.Problem"):
        saga(utils.quadratic(n=3))
    with pytest.raises(TypeError, match=r"stochastic_gradient_descent expects a utils\.stochastic\.FiniteSum"):
        stochastic_gradient_descent(np.eye(3), eta=0.1)
