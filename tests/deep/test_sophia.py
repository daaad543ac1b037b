"""Sophia (utils.sophia): the first steps by hand, Hutchinson's estimator against the exact Hessian diagonal
(unbiasedness within a derived sampling band, the variance formula, exactness for a diagonal Hessian, the same
probe as optax), Gauss–Newton–Bartlett's mean against the exact Gauss–Newton diagonal, step for step equal to
optax.contrib.sophia with its conventions, each convention difference shown to be real, the clipping bound,
NumPy ≡ JAX under jit, the optax adapter, and bad input.

Sampling bands. For Rademacher u, u_i(Hu)_i = H_ii + Σ_{j≠i} H_ij u_i u_j and the products u_i u_j (j ≠ i) are
pairwise uncorrelated with mean 0 and variance 1, so Var = σ_i² = Σ_{j≠i} H_ij² exactly (normal u: + 2H_ii²).
The mean of N probes is then within z·σ_i/√N of H_ii except with probability ≲ 2Φ(−z) per coordinate (CLT); we
take z = 5 (≈ 6e-7 per coordinate, a fixed seed anyway). For GNB the per-coordinate variance is not in closed
form, so the band uses the sample standard deviation s_i: |mean − GN_ii| ≤ 5 s_i/√N. Each band is checked to be
narrow enough to fail a wrong answer (a fraction of the quantity, and narrower than the gap between the
Gauss–Newton and the Hessian diagonals where the model is nonlinear).

Step-for-step tolerance, as in tests/stochastic/test_adaptive.py: two implementations of one update differ by rounding only
(≲ 20 flops per entry per step; the Hessian-vector products are the same JAX computation), over K = 25 steps
≲ K·21u·max|x| ≈ 6e-14·max|x|. We assert RTOL = 1e-12 with ATOL = 1e-12·max|x| (measured: ≤ 2.9e-16 on
entries of size ≈ 2, i.e. 1.4e-16·max|x|). A convention difference must exceed 1000× ATOL to count as real
(measured: 0.06 to 0.84).
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from utils import sophia as so

K = 25
RTOL = 1e-12
Z = 5.0


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in jax.tree.leaves(tree)])


def close(got, want, rtol=RTOL):
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.max(np.abs(want))))


# ------------------------------------------------------------------------------------------------ a small model
_RNG = np.random.default_rng(0)
A = _RNG.standard_normal((8, 5))
Y = _RNG.standard_normal((8, 3))
P0 = {"w": jnp.asarray(_RNG.standard_normal((5, 3))), "b": jnp.asarray(_RNG.standard_normal(3))}
NOISE = [0.3 * _RNG.standard_normal((8, 3)) for _ in range(K)]


def loss(p, n=0.0):
    """A tanh layer fitted by least squares, plus a quartic: a dense, indefinite-in-places Hessian."""
    r = jnp.tanh(A @ p["w"] + p["b"]) - Y - n
    return 0.5 * jnp.sum(r ** 2) + 0.1 * jnp.sum(p["w"] ** 4)


def dense_hessian(f, params):
    v, unravel = ravel_pytree(params)
    return np.asarray(jax.jit(jax.hessian(lambda w: f(unravel(w))))(v))


# ------------------------------------------------------------------------------------------------ 1. by hand
def test_first_steps_by_hand_paper_and_optax_conventions():
    # f = ½(4x₁² + x₂²), ĥ = (4, 1) exact, β₁ = β₂ = 0.5, γ = 1, η = 0.1, x₀ = (1, 0.01): g = (4, 0.01).
    g = lambda x: np.array([4.0, 1.0]) * x                                      # noqa: E731
    x0 = np.array([1.0, 0.01])
    # paper: m = (2, .005), h = ½ĥ = (2, .5), m/(γh) = (1, .01): x₁ = x₀ − 0.1·(1, .01) = (0.9, 0.009)
    opt = so.sophia(0.1, 0.5, 0.5, 1.0, interval=2, estimator=lambda fn, x, key: np.array([4.0, 1.0]))
    x1, s = opt.step(x0, g(x0), opt.init(x0), lambda x: None)                 # the estimator ignores fn
    np.testing.assert_allclose(x1, [0.9, 0.009], rtol=1e-14)
    np.testing.assert_allclose(s.h, [2.0, 0.5], rtol=1e-14)
    # step 2 (no refresh, T = 2): g = (3.6, .009), m = (2.8, .007), h kept: m/h = (1.4, .014) → clip (1, .014)
    x2, s = opt.update(x1, g(x1), s, None)
    np.testing.assert_allclose(x2, [0.8, 0.009 - 0.0014], rtol=1e-14)
    # optax's: the first step uses h₀ = 0 → η·sign(m̂); m̂ = m/(1 − β₁) = g
    opt = so.sophia(0.1, 0.5, 0.5, 1.0, interval=2, bias_correction=True, lag_h=True)
    x1, s = opt.update(x0, g(x0), opt.init(x0), np.array([4.0, 1.0]))
    np.testing.assert_allclose(x1, [0.9, 0.01 - 0.1], rtol=1e-14)
    # decoupled weight decay, times η: x₁ = x₀ − η(clip + λx₀)
    opt = so.sophia(0.1, 0.5, 0.5, 1.0, weight_decay=0.5)
    x1, _ = opt.update(x0, g(x0), opt.init(x0), np.array([4.0, 1.0]))
    np.testing.assert_allclose(x1, np.array([0.9, 0.009]) - 0.1 * 0.5 * x0, rtol=1e-14)


def test_refresh_every_interval_steps_key_split_only_then_and_eager_equals_jit():
    # a cheap coupled quartic on a pytree, so that the eager run (Python-int k, branches taken eagerly) can be
    # compared with the jitted one (traced k, lax.cond around the estimator) over two refreshes
    f = lambda p, n: jnp.sum((p["w"] - n) ** 4) + jnp.sum(p["w"]) * jnp.sum(p["b"] ** 2)    # noqa: E731
    q0 = {"w": jnp.asarray(_RNG.standard_normal(4)), "b": jnp.asarray(_RNG.standard_normal(2))}
    ns = _RNG.standard_normal((4, 4))
    opt = so.sophia(0.05, gamma=0.5, interval=3, estimator=so.hutchinson())

    def call(p, s, n):
        return opt.step(p, jax.grad(f)(p, n), s, lambda q: f(q, n))

    runs = []
    for c in (call, jax.jit(call)):
        p, s, out = q0, opt.init(q0, jax.random.PRNGKey(5)), []
        for j in range(4):
            h_old, key_old = flat(s.h), np.asarray(s.key)
            p, s = c(p, s, ns[j])
            assert (not np.array_equal(flat(s.h), h_old)) == (j % 3 == 0) == opt.refresh(j)
            assert (not np.array_equal(np.asarray(s.key), key_old)) == (j % 3 == 0)
            out.append(flat(p))
        assert int(s.k) == 4
        runs.append(np.array(out))
    close(runs[0], runs[1])


# ------------------------------------------------------------------------------------------------ 2. Hutchinson
def test_hutchinson_unbiased_within_derived_band_and_its_variance():
    H = dense_hessian(loss, P0)
    d = np.diag(H)
    sigma2 = (H ** 2).sum(axis=1) - d ** 2                                       # Σ_{j≠i} H_ij²
    N = 4000
    key = jax.random.PRNGKey(1)
    draws = np.asarray(jax.jit(jax.vmap(lambda k: ravel_pytree(so.hutchinson_diagonal(loss, P0, k))[0]))(
        jax.random.split(key, N)))
    mean = draws.mean(axis=0)
    band = Z * np.sqrt(sigma2 / N)
    assert np.all(np.abs(mean - d) <= band)
    assert band.max() < 0.1 * np.abs(d).max()                                   # the band can fail a wrong answer
    # the variance formula: sample variance within 15% of Σ_{j≠i} H_ij² (its relative sd here is ≤ 2%)
    np.testing.assert_allclose(draws.var(axis=0), sigma2, rtol=0.15)


def test_hutchinson_normal_probes_variance_and_n_samples_averaging():
    # a cheap dense f on ℝ⁶: f = ½xᵀMx + ¼Σx⁴, H = M + 3 diag(x²)
    M = _RNG.standard_normal((6, 6))
    M = M + M.T
    f = lambda x: 0.5 * x @ (jnp.asarray(M) @ x) + 0.25 * jnp.sum(x ** 4)   # noqa: E731
    x = jnp.asarray(_RNG.standard_normal(6))
    H = M + 3 * np.diag(np.asarray(x) ** 2)
    d, sigma2 = np.diag(H), (H ** 2).sum(axis=1) - np.diag(H) ** 2
    N = 4000
    keys = jax.random.split(jax.random.PRNGKey(4), N)
    both = jax.jit(lambda ks: (jax.vmap(lambda k: so.hutchinson_diagonal(f, x, k, dist="normal"))(ks),
                               so.hutchinson_diagonal(f, x, jax.random.PRNGKey(4), n_samples=N, dist="normal")))
    nd, mN = both(keys)
    nd = np.asarray(nd)
    # normal probes (the paper's Alg. 1): variance 2H_ii² + Σ_{j≠i} H_ij², still unbiased
    np.testing.assert_allclose(nd.var(axis=0), sigma2 + 2 * d ** 2, rtol=0.15)
    assert np.all(np.abs(nd.mean(axis=0) - d) <= Z * np.sqrt((sigma2 + 2 * d ** 2) / N))
    # n_samples = n in one call is the mean of the n probes drawn from jax.random.split(key, n)
    close(mN, nd.mean(axis=0))


def test_hutchinson_exact_for_a_diagonal_hessian_and_the_optax_probe():
    c = jnp.array([0.5, 1.0, 2.0, 3.0])
    f = lambda x: jnp.sum(c * x ** 4 + jnp.exp(x))                             # noqa: E731  separable
    x = jnp.array([0.3, -1.2, 0.7, 2.0])
    want = 12 * c * x ** 2 + jnp.exp(x)
    est = jax.jit(lambda k: [so.hutchinson_diagonal(f, x, k, dist=dist) for dist in ("rademacher", "normal")])
    rad, got = est(jax.random.PRNGKey(0))
    close(rad, want, rtol=1e-14)
    # normal probes are not exact (u_i² ≠ 1): the Rademacher choice matters
    assert np.max(np.abs(np.asarray(got) - np.asarray(want))) > 1e-2 * np.max(np.asarray(want))
    # the same probe as optax's estimator from the same key, on a pytree
    key = jax.random.PRNGKey(7)
    ref = optax.contrib.hutchinson_estimator_diag_hessian(key)
    sub = jax.random.split(key)[1]
    ours, want = jax.jit(lambda p: (so.hutchinson_diagonal(loss, p, sub),
                                    ref.update(None, ref.init(p), p, obj_fn=loss)[0]))(P0)
    close(flat(ours), flat(want), rtol=1e-14)


# ------------------------------------------------------------------------------------------------ 3. GNB
XB = jnp.asarray(_RNG.standard_normal((6, 3)))
Q0 = {"W1": jnp.asarray(_RNG.standard_normal((3, 4))), "W2": jnp.asarray(_RNG.standard_normal((4, 3)))}
YB = jnp.asarray(_RNG.integers(0, 3, 6))


def logits(q):
    return jnp.tanh(XB @ q["W1"]) @ q["W2"]                                     # (B = 6, C = 3)


def test_gnb_mean_is_the_gauss_newton_diagonal():
    v, unravel = ravel_pytree(Q0)
    J = np.asarray(jax.jit(jax.jacobian(lambda w: logits(unravel(w))))(v))     # (B, C, n)
    p = np.asarray(jax.nn.softmax(logits(Q0), axis=-1))
    B = p.shape[0]
    S = np.einsum("bc,cd->bcd", p, np.eye(3)) - np.einsum("bc,bd->bcd", p, p)  # diag p − ppᵀ
    gn = np.einsum("bci,bcd,bdi->i", J, S, J) / B                              # diag((1/B) Σ JᵀSJ)
    N = 4000
    est = so.gauss_newton_bartlett()
    draws = np.asarray(jax.jit(jax.vmap(lambda k: ravel_pytree(est(logits, Q0, k))[0]))(
        jax.random.split(jax.random.PRNGKey(0), N)))
    assert np.all(draws >= 0)
    band = Z * draws.std(axis=0, ddof=1) / np.sqrt(N)
    assert np.all(np.abs(draws.mean(axis=0) - gn) <= band)
    assert band.max() < 0.2 * gn.max()
    # Bartlett's identity: with labels drawn from the model, the expected Hessian of the cross-entropy is the
    # Gauss–Newton matrix, E_ŷ ∇²ℓ = ∇² Σ_c p̄_c ℓ(z, c) at p̄ = p (held fixed): = GN to rounding. On the true
    # labels YB the Hessian keeps the residual term Σ_b (p_b − e_y_b)ᵀ∇²z_b/B and differs by more than the band.
    ce = lambda w, t: -jnp.sum(t * jax.nn.log_softmax(logits(unravel(w)), axis=-1)) / B    # noqa: E731
    hd = jax.jit(lambda t: jnp.diag(jax.hessian(ce)(v, t)))
    close(hd(jnp.asarray(p)), gn, rtol=1e-12)
    Htrue = np.asarray(hd(jax.nn.one_hot(YB, 3)))
    assert np.max(np.abs(Htrue - gn) - band) > 0


def test_gnb_rejects_scalar_logits():
    with pytest.raises(ValueError, match="fn"):
        so.gauss_newton_bartlett()(lambda q: jnp.sum(q), jnp.ones(3), jax.random.PRNGKey(0))


def test_sophia_g_trains_the_tiny_classifier():
    # Sophia with GNB lowers the cross-entropy on the true labels YB (a behavioural check, not a rate)
    ce = lambda q: -jnp.mean(jax.nn.log_softmax(logits(q))[jnp.arange(6), YB])  # noqa: E731
    opt = so.sophia(0.05, gamma=0.05, interval=2, estimator=so.gauss_newton_bartlett())
    step = jax.jit(lambda q, s: opt.step(q, jax.grad(ce)(q), s, logits))
    q, s = Q0, opt.init(Q0)
    for _ in range(60):
        q, s = step(q, s)
    assert float(ce(q)) < 0.5 * float(ce(Q0))


# ------------------------------------------------------------------------------------------------ 4. optax
KEY = jax.random.PRNGKey(3)
HP = dict(eta=0.05, beta1=0.9, beta2=0.95, gamma=1.0, eps=1e-8, interval=3, weight_decay=0.01)


def run_optax():
    tx = optax.contrib.sophia(HP["eta"], b1=HP["beta1"], b2=HP["beta2"], eps=HP["eps"],
                              weight_decay=HP["weight_decay"], gamma=HP["gamma"], clip_threshold=1.0,
                              update_interval=HP["interval"],
                              hessian_diagonal_fn=optax.contrib.hutchinson_estimator_diag_hessian(KEY))

    @jax.jit
    def call(p, s, n):
        obj = lambda q: loss(q, n)                                              # noqa: E731
        u, s = tx.update(jax.grad(obj)(p), s, p, obj_fn=obj)
        return optax.apply_updates(p, u), s

    p, s, out = P0, tx.init(P0), []
    for j in range(K):
        p, s = call(p, s, NOISE[j])
        out.append(flat(p))
    return np.array(out)


def run_ours(**conv):
    opt = so.sophia(**HP, **conv)

    def call(p, s, n):
        obj = lambda q: loss(q, n)                                              # noqa: E731
        return opt.step(p, jax.grad(obj)(p), s, obj)

    call = jax.jit(call)
    p, s, out = P0, opt.init(P0, KEY), []
    for j in range(K):
        p, s = call(p, s, NOISE[j])
        out.append(flat(p))
    return np.array(out)


@pytest.fixture(scope="module")
def optax_traj():
    return run_optax()


def test_equals_optax_contrib_sophia_step_for_step(optax_traj):
    ours = run_ours(bias_correction=True, lag_h=True)
    close(ours, optax_traj)
    # the run exercises both branches of the clip: some coordinates clipped, some not
    x = np.vstack([flat(P0), optax_traj])
    dx = np.diff(x, axis=0) + HP["eta"] * HP["weight_decay"] * x[:-1]
    clipped = np.isclose(np.abs(dx), HP["eta"], rtol=1e-9)
    assert 0.1 < clipped.mean() < 0.9


def test_optax_adapter_drops_into_the_optax_loop(optax_traj):
    tx = so.to_optax(so.sophia(**HP, bias_correction=True, lag_h=True), key=KEY)

    @jax.jit
    def call(p, s, n):
        obj = lambda q: loss(q, n)                                              # noqa: E731
        u, s = tx.update(jax.grad(obj)(p), s, p, obj_fn=obj)                    # the optax calling convention
        return optax.apply_updates(p, u), s

    p, s, out = P0, tx.init(P0), []
    for j in range(K):
        p, s = call(p, s, NOISE[j])
        out.append(flat(p))
    close(np.array(out), optax_traj)
    with pytest.raises(ValueError, match="opt"):
        so.to_optax(optax.sgd(0.1))
    with pytest.raises(ValueError, match="params"):
        tx.update(P0, tx.init(P0))


@pytest.mark.parametrize("conv", [{}, {"bias_correction": True}, {"lag_h": True}])
def test_each_convention_difference_is_real(optax_traj, conv):
    gap = np.max(np.abs(run_ours(**conv) - optax_traj))
    assert gap > 1000 * RTOL * max(1.0, np.max(np.abs(optax_traj)))


# ------------------------------------------------------------------------------------------------ 5. clipping
def test_update_is_clipped_at_eta_per_coordinate():
    rng = np.random.default_rng(1)
    eta = 0.03
    opt = so.sophia(eta, gamma=1e-3, interval=2, clip=1.0)
    x = {"a": rng.standard_normal((4, 4)), "b": rng.standard_normal(5)}
    s = opt.init(x)
    saw_clip = saw_free = False
    for k in range(30):
        g = jax.tree.map(lambda a: 100 * rng.standard_normal(a.shape), x)
        h_hat = jax.tree.map(lambda a: rng.standard_normal(a.shape) * 1e5, x)    # some negative curvature
        new, s = opt.update(x, g, s, h_hat if opt.refresh(k) else None)
        d = np.abs(flat(new) - flat(x))
        assert np.all(d <= eta * (1 + 1e-12))
        saw_clip |= bool(np.any(np.isclose(d, eta, rtol=1e-12)))
        saw_free |= bool(np.any(d < 0.9 * eta))
        x = new
    assert saw_clip and saw_free
    # negative curvature ĥ < 0: max(γh, ε) = ε and the step is η·sign(m)
    opt = so.sophia(eta, beta1=0.0, beta2=0.0)
    x1, _ = opt.update(np.zeros(3), np.array([1e-6, -2.0, 3.0]), opt.init(np.zeros(3)), -np.ones(3))
    np.testing.assert_allclose(x1, -eta * np.array([1.0, -1.0, 1.0]), rtol=1e-14)
    # clip = c bounds the step by ηc
    opt = so.sophia(eta, clip=0.5)
    x1, _ = opt.update(np.zeros(2), np.array([1.0, -1.0]), opt.init(np.zeros(2)), np.zeros(2))
    np.testing.assert_allclose(x1, -0.5 * eta * np.array([1.0, -1.0]), rtol=1e-14)


# ------------------------------------------------------------------------------------------------ 6. NumPy ≡ JAX
def test_numpy_leaves_equal_jax_leaves_under_jit():
    rng = np.random.default_rng(2)
    x0 = {"w": rng.standard_normal((3, 2)), "b": (rng.standard_normal(4), rng.standard_normal(()))}
    gs = [jax.tree.map(lambda a: rng.standard_normal(np.shape(a)), x0) for _ in range(K)]
    hs = [jax.tree.map(lambda a: np.abs(rng.standard_normal(np.shape(a))) * 50, x0) for _ in range(K)]
    for conv in ({}, {"bias_correction": True, "lag_h": True}):
        opt = so.sophia(0.02, interval=3, weight_decay=0.1, **conv)
        x, s, eager = x0, opt.init(x0), []
        for k in range(K):
            x, s = opt.update(x, gs[k], s, hs[k] if opt.refresh(k) else None)
            eager.append(flat(x))
            assert isinstance(jax.tree.leaves(x)[0], np.ndarray)
        step = jax.jit(opt.update)
        to = lambda t: jax.tree.map(jnp.asarray, t)                             # noqa: E731
        x, s, jitted = to(x0), opt.init(to(x0)), []
        for k in range(K):
            x, s = step(x, to(gs[k]), s, to(hs[k]))
            jitted.append(flat(x))
        close(np.array(jitted), np.array(eager))


# ------------------------------------------------------------------------------------------------ 7. bad input
@pytest.mark.parametrize("kw,name", [
    ({"eta": 0.0}, "eta"), ({"eta": -1.0}, "eta"), ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
    ({"gamma": 0.0}, "gamma"), ({"eps": 0.0}, "eps"), ({"clip": -1.0}, "clip"), ({"interval": 0}, "interval"),
    ({"interval": 2.5}, "interval"), ({"weight_decay": -1e-3}, "weight_decay"), ({"estimator": 3}, "estimator"),
])
def test_bad_hyperparameters_raise_naming_the_argument(kw, name):
    args = {"eta": 0.1, **kw}
    with pytest.raises(ValueError, match=name):
        so.sophia(**args)


def test_bad_calls_raise_naming_the_argument():
    with pytest.raises(ValueError, match="n_samples"):
        so.hutchinson(n_samples=0)
    with pytest.raises(ValueError, match="dist"):
        so.hutchinson_diagonal(loss, P0, jax.random.PRNGKey(0), dist="uniform")
    with pytest.raises(ValueError, match="f must"):
        so.hutchinson_diagonal(3.0, P0, jax.random.PRNGKey(0))
    opt = so.sophia(0.1)
    x = np.ones(2)
    with pytest.raises(ValueError, match="h_hat"):
        opt.update(x, x, opt.init(x), None)                                      # k = 0 refreshes
    with pytest.raises(ValueError, match="fn"):
        opt.step(x, x, opt.init(x), None)
    with pytest.raises(ValueError, match="grads"):
        opt.update(x, np.ones(3), opt.init(x), x)
    with pytest.raises(ValueError, match="h_hat"):
        opt.update(x, x, opt.init(x), np.ones(3))
    with pytest.raises(ValueError, match="h_hat"):
        jax.jit(lambda p, s: opt.update(p, p, s, None))(jnp.ones(2), opt.init(jnp.ones(2)))
