"""SAM and ASAM (utils.sam): the first step by hand, step for step equal to optax.contrib.sam (transparent and
opaque modes) around several base optimizers, the two forms equal to each other, NumPy ≡ JAX under jit, the
behaviour on a quadratic (same minimizer; with a constant step the 2-cycle across the top eigenvector that theory
predicts), ASAM's scale invariance on a ReLU network, and bad input.

Tolerance as in tests/stochastic/test_adaptive.py: two implementations of one update differ by rounding only (≲ 40 flops
per entry per step, over K = 30 SAM steps of a contracting noisy quadratic: ≲ K·40u·max|w| ≈ 1.3e-13·max|w|).
We assert RTOL = 1e-12 with ATOL = 1e-12·max|w| (measured against optax: ≤ 3e-16·max|w|).
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from utils import adaptive as ad
from utils import sam
from utils import schedules as sch

K = 30
RTOL = 1e-12


def _tree(rng, draw):
    return {"w": draw(rng, (4, 3)), "b": draw(rng, (3,)), "blocks": (draw(rng, (2, 2, 2)), [draw(rng, ())])}


_RNG = np.random.default_rng(0)
X0 = _tree(_RNG, lambda r, s: np.asarray(r.standard_normal(s)))
CURV = _tree(_RNG, lambda r, s: np.asarray(r.uniform(0.5, 5.0, s)))
NOISE = [_tree(_RNG, lambda r, s: np.asarray(0.3 * r.standard_normal(s))) for _ in range(K)]


def grad(w, j):
    """The mini-batch gradient of SAM step j (the same batch for both evaluations of that step)."""
    return jax.tree.map(lambda c, w_, n: c * w_ + n, CURV, w, NOISE[j])


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in jax.tree.leaves(tree)])


def close(got, want, rtol=RTOL):
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.max(np.abs(want))))


def run_sam(opt, steps=K, x0=X0):
    w, s, out = x0, opt.init(x0), []
    for j in range(steps):
        w, s = opt.step(w, s, lambda p, j=j: grad(p, j))
        out.append(flat(w))
    return np.array(out)


def run_alternating(opt, steps=K):
    """Every call, grads at the current params; calls 2j and 2j+1 use batch j. Returns the params after each
    descent call (the outer iterates) and after each ascent call (w + ε̂)."""
    w, s, outer, perturbed = X0, opt.init(X0), [], []
    for c in range(2 * steps):
        w, s = opt.step(w, grad(w, c // 2), s)
        (perturbed if c % 2 == 0 else outer).append(flat(w))
    return np.array(outer), np.array(perturbed)


def run_optax_sam(base, rho, steps=K, opaque=False):
    tx = optax.contrib.sam(base, optax.chain(optax.contrib.normalize(), optax.sgd(rho)), sync_period=2,
                           opaque_mode=opaque)
    w = jax.tree.map(jnp.asarray, X0)
    s = tx.init(w)

    @jax.jit
    def call(w, s, n):
        g = lambda p: jax.tree.map(lambda c, p_, n_: c * p_ + n_, CURV, p, n)        # noqa: E731
        u, s = tx.update(g(w), s, w, grad_fn=lambda p, i: g(p)) if opaque else tx.update(g(w), s, w)
        return optax.apply_updates(w, u), s

    outer, perturbed = [], []
    for c in range(steps if opaque else 2 * steps):
        w, s = call(w, s, NOISE[c if opaque else c // 2])
        (outer if opaque or c % 2 == 1 else perturbed).append(flat(w))
    return np.array(outer), np.array(perturbed)


# ------------------------------------------------------------------------------------------------ 1. by hand
A = np.array([[3.0, 1.0], [1.0, 2.0]])
W0 = np.array([2.0, -1.0])


def test_first_step_by_hand_sam_and_asam():
    # f(w) = ½wᵀAw, w₀ = (2, −1): g = Aw₀ = (5, 0), ‖g‖ = 5, ε̂ = ρ(1, 0); with ρ = 0.1, w₀ + ε̂ = (2.1, −1),
    # g_SAM = A(2.1, −1) = (5.3, 0.1); SGD η = 0.1: w₁ = (2 − 0.53, −1 − 0.01) = (1.47, −1.01).
    opt = sam.sam(ad.sgd(0.1), rho=0.1, eps=0.0)
    np.testing.assert_allclose(opt.perturbation(W0, A @ W0), [0.1, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.gradient(W0, lambda w: A @ w), [5.3, 0.1], rtol=1e-15)
    w1, s = opt.step(W0, opt.init(W0), lambda w: A @ w)
    np.testing.assert_allclose(w1, [1.47, -1.01], rtol=1e-15)
    assert s.k == 1
    # ASAM, η_A = 0.5: T = |w₀| + 0.5 = (2.5, 1.5), Tg = (12.5, 0), ε̂ = ρT²g/‖Tg‖ = 0.1·(31.25, 0)/12.5 = (0.25, 0):
    # w₀ + ε̂ = (2.25, −1), g = (5.75, 0.25), w₁ = (2 − 0.575, −1 − 0.025).
    opt = sam.asam(ad.sgd(0.1), rho=0.1, eta_asam=0.5, eps=0.0)
    w1, _ = opt.step(W0, opt.init(W0), lambda w: A @ w)
    np.testing.assert_allclose(w1, [1.425, -1.025], rtol=1e-15)
    # the normalization epsilon: ε̂ = ρg/(‖g‖ + ε_n)
    np.testing.assert_allclose(sam.sam_perturbation(W0, A @ W0, rho=0.1, eps=1.0), [0.1 * 5 / 6, 0.0], rtol=1e-15)


def test_global_and_per_leaf_norms():
    w = {"a": np.array([1.0, 2.0]), "b": np.array([-1.0])}
    g = {"a": np.array([3.0, 4.0]), "b": np.array([12.0])}
    glob = sam.sam_perturbation(w, g, rho=1.0, eps=0.0)                   # ‖g‖ = 13 over the tree
    close(flat(glob), np.array([3.0, 4.0, 12.0]) / 13)
    leaf = sam.sam_perturbation(w, g, rho=1.0, norm="leaf", eps=0.0)      # each leaf to radius ρ
    close(flat(leaf), np.array([0.6, 0.8, 1.0]))
    # ASAM per leaf, η_A = 0: T = |w|: leaf a: Tg = (3, 8), T²g = (3, 16), /√73; leaf b: T²g/|Tg| = 12/12
    aleaf = sam.sam_perturbation(w, g, rho=1.0, adaptive=True, eta_asam=0.0, norm="leaf", eps=0.0)
    close(flat(aleaf), np.array([3 / np.sqrt(73), 16 / np.sqrt(73), 1.0]))
    # a mask: T = |w| on leaf a only, T = 1 on b (biases left unscaled): Tg = (3, 8, 12), T²g = (3, 16, 12)
    masked = sam.sam_perturbation(w, g, rho=1.0, adaptive={"a": True, "b": False}, eta_asam=0.0, eps=0.0)
    close(flat(masked), np.array([3.0, 16.0, 12.0]) / np.sqrt(217))
    with pytest.raises(ValueError, match="adaptive"):
        sam.sam_perturbation(w, g, adaptive={"a": True})
    # the adaptive perturbation has T-norm ρ: ‖T⁻¹ε̂‖ = ρ (the ball ASAM maximizes over)
    e = sam.sam_perturbation(w, g, rho=0.7, adaptive=True, eta_asam=0.1, eps=0.0)
    close(np.linalg.norm(flat(e) / (np.abs(flat(w)) + 0.1)), 0.7)


# ------------------------------------------------------------------------------------------------ 2. optax
BASES = {   # ours, optax's (aligned as in tests/stochastic/test_adaptive.py)
    "sgd_momentum": (lambda: ad.sgd(0.05, 0.9), lambda: optax.sgd(0.05, momentum=0.9)),
    "adamw": (lambda: ad.adamw(0.01, weight_decay=0.1), lambda: optax.adamw(0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", BASES)
def test_equals_optax_contrib_sam_step_for_step(name):
    # optax.contrib.sam(base, chain(normalize(), sgd(ρ)), sync_period=2): call 2j moves to w + ρg/‖g‖ (cache w),
    # call 2j+1 steps the base optimizer from the cache. Its normalize has no ε: ours with eps = 0.
    ours, ref = BASES[name]
    rho = 0.1
    want_outer, want_pert = run_optax_sam(ref(), rho)
    outer, pert = run_alternating(sam.sam_alternating(ours(), rho, eps=0.0))
    close(outer, want_outer)
    close(pert, want_pert)
    close(run_sam(sam.sam(ours(), rho, eps=0.0)), want_outer)          # one call per SAM step: the same
    if name == "adamw":                                                # optax's opaque mode too
        close(run_optax_sam(ref(), rho, opaque=True)[0], want_outer)
    # the perturbation is real: plain base steps are far away
    w, s, plain = X0, ours().init(X0), []
    for j in range(K):
        w, s = ours().step(w, grad(w, j), s)
        plain.append(flat(w))
    assert np.max(np.abs(np.array(plain) - want_outer)) > 1e3 * RTOL * np.max(np.abs(want_outer))


def test_to_optax_adapter_of_the_alternating_form_equals_optax_sam():
    tx = ad.to_optax(sam.sam_alternating(ad.adam(0.01), 0.1, eps=0.0))
    w = jax.tree.map(jnp.asarray, X0)
    s, got = tx.init(w), []

    @jax.jit
    def call(w, s, n):
        u, s = tx.update(jax.tree.map(lambda c, w_, n_: c * w_ + n_, CURV, w, n), s, w)
        return optax.apply_updates(w, u), s

    for c in range(2 * K):
        w, s = call(w, s, NOISE[c // 2])
        if c % 2 == 1:
            got.append(flat(w))
    close(np.array(got), run_optax_sam(optax.adam(0.01), 0.1)[0])


@pytest.mark.parametrize("adaptive", [False, True], ids=["sam", "asam"])
def test_numpy_leaves_equal_jax_leaves_under_jit(adaptive):
    make = lambda: sam.sam_alternating(ad.adam(0.01), 0.2, adaptive=adaptive, norm="leaf")   # noqa: E731
    outer, _ = run_alternating(make())
    opt = make()
    w = jax.tree.map(jnp.asarray, X0)
    s = opt.init(w)
    step = jax.jit(lambda w, s, n: opt.step(w, jax.tree.map(lambda c, w_, n_: c * w_ + n_, CURV, w, n), s))
    got = []
    for c in range(2 * K):
        w, s = step(w, s, NOISE[c // 2])
        if c % 2 == 1:
            got.append(flat(w))
    close(np.array(got), outer)
    one = sam.sam(ad.adam(0.01), 0.2, adaptive=adaptive, norm="leaf")
    w = jax.tree.map(jnp.asarray, X0)
    s = one.init(w)
    step = jax.jit(lambda w, s, n: one.step(w, s, lambda p: jax.tree.map(lambda c, p_, n_: c * p_ + n_, CURV, p, n)))
    got = []
    for j in range(K):
        w, s = step(w, s, NOISE[j])
        got.append(flat(w))
    close(np.array(got), outer)


# ------------------------------------------------------------------------------------------------ 3. behaviour
def test_sam_on_a_quadratic_same_minimizer_and_the_constant_step_cycle():
    # SAM's objective h(w) = max_{‖ε‖≤ρ} ½(w+ε)ᵀA(w+ε) (≤ ½wᵀAw + ρ‖Aw‖ + ½ρ²λ_max, with equality at w = 0) is
    # convex (a max of convex functions) and even (ε → −ε), so it is minimized at w* = 0, the minimizer of f. With a step that decays to 0 (cosine), SAM-SGD reaches it:
    gf = lambda w: A @ w                                                # noqa: E731
    opt = sam.sam(ad.sgd(sch.cosine_schedule(0.1, 2000)), rho=0.05)
    w, s = W0, opt.init(W0)
    for _ in range(2000):
        w, s = opt.step(w, s, gf)
    assert np.linalg.norm(w) < 1e-10 * np.linalg.norm(W0)
    # With a constant step it does not converge: g_SAM = Aw + ρA²w/‖Aw‖ does not vanish as w → 0. It ends in the
    # 2-cycle w ↔ −w along the top eigenvector v (λ = λ_max): (1 − ηλ)r − ηρλ = −r, r = ηρλ/(2 − ηλ).
    lam, V = np.linalg.eigh(A)
    for rho in (0.05, 0.005):
        eta = 0.1
        opt = sam.sam(ad.sgd(eta), rho=rho)
        w, s = W0, opt.init(W0)
        for _ in range(1000):
            w_prev = w
            w, s = opt.step(w, s, gf)
        r = eta * rho * lam[-1] / (2 - eta * lam[-1])                 # 0.0110 for ρ = 0.05
        np.testing.assert_allclose(np.linalg.norm(w), r, rtol=1e-8)
        np.testing.assert_allclose(w, -w_prev, rtol=0, atol=1e-8 * r)
        np.testing.assert_allclose(abs(V[:, -1] @ w), r, rtol=1e-8)


def _mlp_loss(p, X, t):
    h = jax.nn.relu(X @ p["W1"].T + p["b1"])
    return jnp.mean((h @ p["W2"].T + p["b2"] - t) ** 2)


def test_asam_sharpness_is_invariant_to_relu_rescaling_and_sam_is_not():
    # A 2-layer ReLU net is unchanged by w → Aw: hidden unit j's incoming weights and bias times α_j > 0, its
    # outgoing weights divided by α_j. ASAM with η_A = 0 (T_w = |w|, so T_{Aw} = A T_w) perturbs Aw by exactly
    # Aε̂(w) (Kwon et al. 2021), so the perturbed loss, their adaptive sharpness, is the same number;
    # SAM's ball ‖ε‖ ≤ ρ is not rescaled with w and its perturbed loss changes.
    rng = np.random.default_rng(3)
    X, t = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    p = {"W1": rng.standard_normal((5, 3)), "b1": rng.standard_normal(5), "W2": rng.standard_normal((1, 5)),
         "b2": rng.standard_normal(1)}
    alpha = np.exp(rng.uniform(-1.5, 1.5, 5))
    q = {"W1": alpha[:, None] * p["W1"], "b1": alpha * p["b1"], "W2": p["W2"] / alpha, "b2": p["b2"]}
    scale = {"W1": np.broadcast_to(alpha[:, None], (5, 3)), "b1": alpha, "W2": 1 / alpha[None, :],
             "b2": np.ones(1)}
    jloss = jax.jit(lambda w: _mlp_loss(w, X, t))
    loss = lambda w: float(jloss(w))                                                # noqa: E731
    gfn = jax.jit(jax.grad(lambda w: _mlp_loss(w, X, t)))
    np.testing.assert_allclose(loss(q), loss(p), rtol=1e-13)                        # the same function
    add = lambda a, b: jax.tree.map(lambda x, y: x + y, a, b)                      # noqa: E731
    res = {}
    for name, opt in [("asam", sam.asam(ad.sgd(0.1), rho=0.5, eta_asam=0.0, eps=0.0)),
                      ("sam", sam.sam(ad.sgd(0.1), rho=0.5, eps=0.0))]:
        ep, eq = opt.perturbation(p, gfn(p)), opt.perturbation(q, gfn(q))
        res[name] = (loss(add(p, ep)), loss(add(q, eq)))
        if name == "asam":
            close(flat(eq), flat(jax.tree.map(lambda a, e: a * e, scale, ep)))      # ε̂(Aw) = Aε̂(w)
            close(flat(opt.gradient(q, gfn)), flat(jax.tree.map(lambda a, g: g / a, scale, opt.gradient(p, gfn))))
    (ap, aq), (sp, sq) = res["asam"], res["sam"]
    np.testing.assert_allclose(aq, ap, rtol=1e-12)
    assert ap > loss(p) * (1 + 1e-3)                    # the perturbation does raise the loss: not a no-op
    assert abs(sq - sp) > 1e-3 * sp, (sp, sq)         # measured: 10.536 vs 10.463 (ASAM: 8.5096 both)


def test_m_sharpness_recipe_per_micro_batch_perturbations():
    # m-sharpness: ε̂ and g_SAM per micro-batch of m examples, then the mean. jax.vmap over stacked micro-batches
    # gives the loop's numbers; with m < n it is not full-batch SAM (each micro-batch has its own ε̂).
    rng = np.random.default_rng(5)
    n, m = 16, 4
    X, t, w = rng.standard_normal((n, 3)), rng.standard_normal(n), rng.standard_normal(3)
    gfn = jax.jit(jax.grad(lambda w, X, t: 0.5 * jnp.mean((X @ w - t) ** 2)))
    opt = sam.sam(ad.sgd(0.1), rho=0.3)
    Xb, tb = X.reshape(n // m, m, 3), t.reshape(n // m, m)
    loop = np.mean([opt.gradient(w, lambda v, i=i: gfn(v, Xb[i], tb[i])) for i in range(n // m)], axis=0)
    vm = jax.vmap(lambda Xi, ti: opt.gradient(jnp.asarray(w), lambda v: gfn(v, Xi, ti)))(Xb, tb).mean(0)
    close(vm, loop)
    full = opt.gradient(w, lambda v: gfn(v, X, t))
    assert np.linalg.norm(loop - full) > 1e-3 * np.linalg.norm(full), np.linalg.norm(loop - full)


# ------------------------------------------------------------------------------------------------ 4. bad input
@pytest.mark.parametrize("make, name", [
    (lambda: sam.sam(ad.sgd(0.1), rho=0.0), "rho"),
    (lambda: sam.sam(ad.sgd(0.1), rho=-0.05), "rho"),
    (lambda: sam.sam(ad.sgd(0.1), rho=float("nan")), "rho"),
    (lambda: sam.sam(ad.sgd(0.1), eps=-1e-12), "eps"),
    (lambda: sam.sam(ad.sgd(0.1), norm="l1"), "norm"),
    (lambda: sam.sam(ad.sgd(0.1), adaptive="yes"), "adaptive"),
    (lambda: sam.asam(ad.sgd(0.1), eta_asam=-0.01), "eta_asam"),
    (lambda: sam.asam(ad.sgd(0.1), rho=0.0), "rho"),
    (lambda: sam.sam(optax.sgd(0.1)), "base"),
    (lambda: sam.sam_alternating(ad.sgd(0.1), rho=0.0), "rho"),
    (lambda: sam.sam_perturbation(W0, A @ W0, rho=-1.0), "rho"),
    (lambda: sam.sam_perturbation(W0, np.ones(3)), "grads"),
])
def test_bad_input_raises_naming_it(make, name):
    with pytest.raises(ValueError, match=name):
        make()
