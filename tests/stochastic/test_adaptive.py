"""Pytree optimizers (utils.adaptive): step for step equal to optax and torch.optim with every convention aligned
through our arguments, each convention difference shown to be real, NumPy leaves ≡ JAX leaves under jit,
schedules, the optax adapter, the two wrappers, bad input, and one behavioural check per family.

Setup. A pytree with dict, tuple and list nodes and leaves of shapes (4, 3), (3,), (2, 2, 2), (5,), () is
driven for K = 100 steps by the gradient of a noisy separable quadratic, g_k(x) = c ⊙ x + s_k ξ_k, with
c ∈ [0.5, 5] per entry, ξ_k standard normal and a per-step scale s_k = exp(0.7 z_k) (so the gradient magnitude
rises and falls, which AMSGrad's maximum and the second-moment EMAs must follow); all drawn once from seed 0.
The gradient depends on the iterate, so a step taken at the wrong point shows.

Tolerance. Two implementations of one update differ only by rounding: each step evaluates the direction d_k in
≲ 20 flops (relative error ≲ 20u, u = 2⁻⁵³ ≈ 1.1e-16) and rounds x_k − η_k d_k once. With |η_k d_k| ≤ |x| and a
contraction (1 − η c) < 1 in the quadratic, the difference after K steps is ≲ K·(20u + u)·max|x| ≈ 2.3e-13·max|x|
in the worst case (linear accumulation; typically √K of that). We assert RTOL = 1e-12 with ATOL = 1e-12·max|x|
over the trajectory (≈4× the worst case; measured against optax and torch: ≤ 1e-15·max|x|). A convention
difference must exceed 1000× ATOL to count as "real". Lion's sign could flip where its argument is within
rounding of 0; with this continuous random data no argument comes closer than 1e-4 to 0 (a test checks a 1e-8
margin, ~10⁸ ulps).
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from noisy_pytree import RTOL, close, flat, gap, gradient, noisy_quadratic

from utils import adaptive as ad
from utils import schedules as sch

K = 100


X0, CURV, NOISE = noisy_quadratic(K)
grad = gradient(CURV, NOISE)


# ------------------------------------------------------------------------------------------------ runners
def run(opt, steps=K, x0=X0, grad_fn=grad, extra=None):
    """Our optimizer with NumPy leaves, eagerly: the iterates (steps × n) and, with ``extra``, extra(state)."""
    x, s = x0, opt.init(x0)
    xs, es = [], []
    for k in range(steps):
        x, s = opt.step(x, grad_fn(x, k), s)
        xs.append(flat(x))
        if extra is not None:
            es.append(flat(extra(s)))
    return (np.array(xs), np.array(es)) if extra is not None else np.array(xs)


def run_jit(opt, steps=K):
    """Ours with JAX leaves, each step under jax.jit."""
    x = jax.tree.map(jnp.asarray, X0)
    s = opt.init(x)
    step = jax.jit(lambda x, s, n: opt.step(x, jax.tree.map(lambda c, x_, n_: c * x_ + n_, CURV, x, n), s))
    xs = []
    for k in range(steps):
        x, s = step(x, s, NOISE[k])
        xs.append(flat(x))
    return np.array(xs)


def run_optax(tx, steps=K):
    """An optax GradientTransformation: update + apply_updates, jitted, JAX leaves."""
    x = jax.tree.map(jnp.asarray, X0)
    s = tx.init(x)

    @jax.jit
    def step(x, s, n):
        g = jax.tree.map(lambda c, x_, n_: c * x_ + n_, CURV, x, n)
        u, s = tx.update(g, s, x)
        return optax.apply_updates(x, u), s

    xs = []
    for k in range(steps):
        x, s = step(x, s, NOISE[k])
        xs.append(flat(x))
    return np.array(xs)


def run_optax_lookahead(tx, steps=K):
    """optax.lookahead keeps (fast, slow) in the params; the gradient is taken at the fast weights."""
    x = optax.LookaheadParams.init_synced(jax.tree.map(jnp.asarray, X0))
    s = tx.init(x)

    @jax.jit
    def step(x, s, n):
        g = jax.tree.map(lambda c, x_, n_: c * x_ + n_, CURV, x.fast, n)
        u, s = tx.update(g, s, x)
        return optax.apply_updates(x, u), s

    fast, slow = [], []
    for k in range(steps):
        x, s = step(x, s, NOISE[k])
        fast.append(flat(x.fast))
        slow.append(flat(x.slow))
    return np.array(fast), np.array(slow)


def run_torch(torch, make, steps=K):
    """A torch.optim optimizer on float64 tensors, one per leaf; p.grad is set from the same g_k(x)."""
    leaves, treedef = jax.tree.flatten(X0)
    ps = [torch.tensor(np.array(a), dtype=torch.float64, requires_grad=True) for a in leaves]
    opt = make(ps)
    xs = []
    for k in range(steps):
        x = treedef.unflatten([p.detach().numpy().copy() for p in ps])
        for p, g in zip(ps, jax.tree.leaves(grad(x, k))):
            p.grad = torch.tensor(np.asarray(g), dtype=torch.float64)
        opt.step()
        xs.append(np.concatenate([p.detach().numpy().ravel() for p in ps]))
    return np.array(xs)


# ------------------------------------------------------------------------------------------------ 1. optax
# name: (ours, optax's). Conventions aligned through our arguments, as the comments say.
OPTAX_CASES = {
    "sgd_momentum": (lambda: ad.sgd(0.05, 0.9), lambda: optax.sgd(0.05, momentum=0.9)),
    "sgd_nesterov": (lambda: ad.sgd(0.05, 0.9, nesterov=True), lambda: optax.sgd(0.05, 0.9, nesterov=True)),
    # torch-style L2 weight decay = optax's add_decayed_weights chained before the optimizer.
    "sgd_nesterov_l2": (lambda: ad.sgd(0.05, 0.9, nesterov=True, weight_decay=0.1),
                        lambda: optax.chain(optax.add_decayed_weights(0.1), optax.sgd(0.05, 0.9, nesterov=True))),
    # optax adagrad: ε = 1e-7 inside the root, accumulator starts at 0.1.
    "adagrad": (lambda: ad.adagrad(0.1, eps=1e-7, v0=0.1, eps_in_sqrt=True), lambda: optax.adagrad(0.1)),
    # optax rmsprop: decay 0.9, ε = 1e-8 inside the root by default.
    "rmsprop": (lambda: ad.rmsprop(0.01, beta=0.9, eps=1e-8, eps_in_sqrt=True), lambda: optax.rmsprop(0.01)),
    "rmsprop_centered": (lambda: ad.rmsprop(0.01, beta=0.9, eps_in_sqrt=True, centered=True),
                         lambda: optax.rmsprop(0.01, centered=True)),
    "rmsprop_eps_outside_v0": (lambda: ad.rmsprop(0.01, beta=0.95, eps=1e-6, v0=0.5),
                               lambda: optax.rmsprop(0.01, decay=0.95, eps=1e-6, initial_scale=0.5,
                                                     eps_in_sqrt=False)),
    "adam": (lambda: ad.adam(0.01), lambda: optax.adam(0.01)),
    "adam_l2": (lambda: ad.adam(0.01, 0.8, 0.99, weight_decay=0.05),
                lambda: optax.chain(optax.add_decayed_weights(0.05), optax.adam(0.01, 0.8, 0.99))),
    # optax adamw: decay multiplied by the learning rate (lr_coupled=True).
    "adamw": (lambda: ad.adamw(0.01, weight_decay=0.1), lambda: optax.adamw(0.01, weight_decay=0.1)),
    # optax amsgrad: v̂ = max(v̂, v/(1 − β₂ᵏ)), the maximum after the bias correction.
    "amsgrad": (lambda: ad.adam(0.01, amsgrad=True, max_after_correction=True), lambda: optax.amsgrad(0.01)),
    "adamw_amsgrad": (lambda: ad.adamw(0.01, weight_decay=0.1, amsgrad=True),
                      lambda: optax.chain(optax.scale_by_amsgrad(), optax.add_decayed_weights(0.1),
                                          optax.scale_by_learning_rate(0.01))),
    "lion": (lambda: ad.lion(1e-3, weight_decay=0.1), lambda: optax.lion(1e-3, weight_decay=0.1)),
    "lion_b": (lambda: ad.lion(3e-3, beta1=0.95, beta2=0.98), lambda: optax.lion(3e-3, 0.95, 0.98, weight_decay=0.0)),
}


@functools.lru_cache(maxsize=None)
def optax_reference(name):
    """optax's iterates for OPTAX_CASES[name], computed once (each costs a jit compilation)."""
    return run_optax(OPTAX_CASES[name][1]())


@pytest.mark.parametrize("name", OPTAX_CASES)
def test_equals_optax_step_for_step(name):
    close(run(OPTAX_CASES[name][0]()), optax_reference(name))


def test_lion_sign_arguments_are_far_from_zero():
    # Lion's iterates equal optax's only if no sign argument β₁m + (1 − β₁)g lies within rounding of 0.
    opt = ad.lion(1e-3, weight_decay=0.1)
    x, s = X0, opt.init(X0)
    margin = np.inf
    for k in range(K):
        g = grad(x, k)
        c = flat(jax.tree.map(lambda g_, m_: 0.1 * g_ + 0.9 * m_, g, s.m))
        margin = min(margin, np.min(np.abs(c)))
        x, s = opt.step(x, g, s)
    assert margin > 1e-8


@pytest.mark.parametrize("inner", ["sgd_nesterov", "adam", "lion"])
def test_lookahead_equals_optax_lookahead(inner):
    # Alignment: our params are optax's LookaheadParams.fast (the gradient is taken there) and our state.phi is
    # its .slow; optax syncs when steps_since_sync == K − 1, i.e. after fast steps K, 2K, …, as ours
    # (k % K == 0 after the step); both keep the inner state across syncs (optax reset_state=False).
    ours, ref = OPTAX_CASES[inner]
    fast, slow = run(ad.lookahead(ours(), sync_period=5, alpha=0.5), extra=lambda s: s.phi)
    want_fast, want_slow = run_optax_lookahead(optax.lookahead(ref(), sync_period=5, slow_step_size=0.5))
    close(fast, want_fast)
    close(slow, want_slow)
    assert gap(fast[4], fast[3]) > 1e3 and np.array_equal(slow[3], flat(X0)) and gap(slow[4], slow[3]) > 1e3


# ------------------------------------------------------------------------------------------------ 2. torch
def _torch_cases(torch):
    o = torch.optim
    return {
        "SGD_momentum": (ad.sgd(0.05, 0.9), lambda p: o.SGD(p, lr=0.05, momentum=0.9)),
        "SGD_nesterov_wd": (ad.sgd(0.05, 0.9, nesterov=True, weight_decay=0.1),
                            lambda p: o.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
        "SGD_plain_wd": (ad.sgd(0.05, weight_decay=0.1), lambda p: o.SGD(p, lr=0.05, weight_decay=0.1)),
        # torch Adagrad: ε = 1e-10 outside the root, accumulator from 0 (our defaults).
        "Adagrad": (ad.adagrad(0.1), lambda p: o.Adagrad(p, lr=0.1)),
        "Adagrad_v0_wd": (ad.adagrad(0.1, eps=1e-6, v0=0.1, weight_decay=0.05),
                          lambda p: o.Adagrad(p, lr=0.1, eps=1e-6, initial_accumulator_value=0.1, weight_decay=0.05)),
        # torch RMSprop: alpha = β = 0.99, ε outside the root.
        "RMSprop": (ad.rmsprop(0.01, beta=0.99), lambda p: o.RMSprop(p, lr=0.01, alpha=0.99)),
        "RMSprop_centered_wd": (ad.rmsprop(0.01, beta=0.9, centered=True, weight_decay=0.05),
                                lambda p: o.RMSprop(p, lr=0.01, alpha=0.9, centered=True, weight_decay=0.05)),
        "Adam": (ad.adam(0.01), lambda p: o.Adam(p, lr=0.01)),
        # torch Adam(weight_decay) is L2 in the gradient: our adam(weight_decay).
        "Adam_l2": (ad.adam(0.01, weight_decay=0.05), lambda p: o.Adam(p, lr=0.01, weight_decay=0.05)),
        # torch amsgrad: max(v̂, v) first, then the bias correction.
        "Adam_amsgrad": (ad.adam(0.01, amsgrad=True, max_after_correction=False),
                         lambda p: o.Adam(p, lr=0.01, amsgrad=True)),
        "AdamW": (ad.adamw(0.01, weight_decay=0.1), lambda p: o.AdamW(p, lr=0.01, weight_decay=0.1)),
        "AdamW_amsgrad": (ad.adamw(0.01, 0.8, 0.99, weight_decay=0.1, amsgrad=True, max_after_correction=False),
                          lambda p: o.AdamW(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    }


TORCH_NAMES = ["SGD_momentum", "SGD_nesterov_wd", "SGD_plain_wd", "Adagrad", "Adagrad_v0_wd", "RMSprop",
               "RMSprop_centered_wd", "Adam", "Adam_l2", "Adam_amsgrad", "AdamW", "AdamW_amsgrad"]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_equals_torch_optim_step_for_step(name):
    torch = pytest.importorskip("torch", reason="torch is not installed: the torch.optim comparison needs it")
    ours, make = _torch_cases(torch)[name]
    close(run(ours), run_torch(torch, make))


# ------------------------------------------------------------------------------------------------ 3. conventions
def test_eps_inside_vs_outside_the_root_is_real():
    # Same ε = 1e-7 (optax adagrad's), only its place differs: √(v + ε) vs √v + ε changes the iterates by
    # ~ε/√v relative, ~1e-8 here, which is 10⁴× the tolerance.
    inside = run(ad.adagrad(0.1, eps=1e-7, v0=0.1, eps_in_sqrt=True))
    outside = run(ad.adagrad(0.1, eps=1e-7, v0=0.1, eps_in_sqrt=False))
    close(inside, optax_reference("adagrad"))          # optax.adagrad(0.1)
    assert gap(inside, outside) > 1e3
    r_in = run(ad.rmsprop(0.01, eps=1e-8, eps_in_sqrt=True))
    r_out = run(ad.rmsprop(0.01, eps=1e-8, eps_in_sqrt=False))
    assert gap(r_in, r_out) > 1e3


def test_adagrad_and_rmsprop_defaults_differ_between_optax_and_torch():
    # The default conventions are not interchangeable: torch-aligned Adagrad (v₀ = 0, ε outside) is not optax's.
    assert gap(run(ad.adagrad(0.1)), optax_reference("adagrad")) > 1e3            # optax.adagrad(0.1)
    assert gap(run(ad.rmsprop(0.01, beta=0.9)), optax_reference("rmsprop")) > 1e3  # optax.rmsprop(0.01)


def _paper_adamw(alpha, lam, mult, steps=K, b1=0.9, b2=0.999, eps=1e-8):
    """Loshchilov & Hutter 2019, Alg. 2 by hand: x ← x − η_t(α m̂/(√v̂ + ε) + λx), η_t the schedule multiplier."""
    x = flat(X0)
    _, treedef = jax.tree.flatten(X0)
    sizes = [np.size(a) for a in jax.tree.leaves(X0)]
    shapes = [np.shape(a) for a in jax.tree.leaves(X0)]
    m, v, out = np.zeros_like(x), np.zeros_like(x), []
    for k in range(steps):
        parts = np.split(x, np.cumsum(sizes)[:-1])
        g = flat(grad(treedef.unflatten([p.reshape(s) for p, s in zip(parts, shapes)]), k))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** (k + 1)), v / (1 - b2 ** (k + 1))
        x = x - mult(k) * (alpha * mh / (np.sqrt(vh) + eps) + lam * x)
        out.append(x)
    return np.array(out)


def test_adamw_paper_decay_vs_lr_coupled_decay():
    alpha, lam = 0.01, 0.1
    cos = sch.cosine_schedule(1.0, decay_steps=K, eta_min=0.1)          # the multiplier s_k
    eta = lambda k: alpha * cos(k)                                       # noqa: E731  η_k = α s_k
    paper = run(ad.adamw(eta, weight_decay=lam, lr_coupled=False, multiplier=cos))
    close(paper, _paper_adamw(alpha, lam, cos))
    # torch/optax's λ is the paper's λ/α: then the two forms are the same iterates, schedule or not ...
    close(run(ad.adamw(eta, weight_decay=lam / alpha)), paper)
    # ... but the same number λ in both is a different method (decay ηλ = αλ·s_k vs λ·s_k) ...
    assert gap(run(ad.adamw(eta, weight_decay=lam)), paper) > 1e3
    # ... and a decay that follows the schedule is not one that ignores it: with a constant η they coincide
    # (paper λ = ηλ_torch, multiplier 1), under the cosine schedule they do not.
    const_c = run(ad.adamw(alpha, weight_decay=lam))
    const_p = run(ad.adamw(alpha, weight_decay=alpha * lam, lr_coupled=False, multiplier=1.0))
    close(const_c, const_p)
    sched_c = run(ad.adamw(eta, weight_decay=lam))
    sched_p = run(ad.adamw(eta, weight_decay=alpha * lam, lr_coupled=False, multiplier=1.0))
    assert gap(sched_c, sched_p) > 1e3


def test_l2_weight_decay_is_not_decoupled_decay():
    # adam(weight_decay) adds λx to g before the moments (torch Adam, L2); adamw subtracts ηλx after them.
    l2, dec = run(ad.adam(0.01, weight_decay=0.1)), run(ad.adamw(0.01, weight_decay=0.1))
    assert gap(l2, dec) > 1e3
    assert gap(l2, run(ad.adam(0.01))) > 1e3 and gap(dec, run(ad.adam(0.01))) > 1e3


def test_amsgrad_max_before_or_after_correction():
    # optax: max(v̂, v_k/(1 − β₂ᵏ)); torch: max(v̂, v_k)/(1 − β₂ᵏ). Since 1 − β₂ʲ grows with j, the first is ≥ the
    # second, strictly once an earlier corrected moment dominates: when |g| falls (our s_k rise and fall).
    after = run(ad.adam(0.01, amsgrad=True, max_after_correction=True))
    before = run(ad.adam(0.01, amsgrad=True, max_after_correction=False))
    assert gap(after, before) > 1e3
    # Where |g| never decreases, v_k/(1 − β₂ᵏ) (a weighted mean of the g_j²) and v_k are both nondecreasing, so
    # both maxima are the current value and both variants are plain Adam, identical to rounding.
    rising = lambda x, k: jax.tree.map(lambda a: (1.0 + 0.05 * k) * np.sign(a), X0)   # noqa: E731
    adam_r = run(ad.adam(0.01), grad_fn=rising)
    close(run(ad.adam(0.01, amsgrad=True, max_after_correction=True), grad_fn=rising), adam_r)
    close(run(ad.adam(0.01, amsgrad=True, max_after_correction=False), grad_fn=rising), adam_r)


def test_amsgrad_without_bias_correction_is_reddi_algorithm_2():
    # Reddi, Kale & Kumar 2018, Alg. 2: no bias correction, α_t = α/√t (t = k + 1), v̂ = max(v̂, v).
    alpha, b1, b2 = 0.05, 0.9, 0.99
    eta = lambda k: alpha / math.sqrt(k + 1)                             # noqa: E731
    got = run(ad.adam(eta, b1, b2, 1e-8, amsgrad=True, bias_correction=False))
    x = X0
    m, v, vh = (jax.tree.map(np.zeros_like, X0) for _ in range(3))
    want = []
    for k in range(K):
        g = grad(x, k)
        m = jax.tree.map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
        v = jax.tree.map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
        vh = jax.tree.map(np.maximum, vh, v)
        x = jax.tree.map(lambda x_, m_, h: x_ - eta(k) * m_ / (np.sqrt(h) + 1e-8), x, m, vh)
        want.append(flat(x))
    close(got, np.array(want))


# ------------------------------------------------------------------------------------------------ 4. JAX, schedules
JIT_CASES = {
    "sgd_nesterov_l2": lambda: ad.sgd(0.05, 0.9, nesterov=True, weight_decay=0.1),
    "adagrad": lambda: ad.adagrad(0.1, eps_in_sqrt=True, v0=0.1),
    "rmsprop_centered": lambda: ad.rmsprop(0.01, centered=True),
    "amsgrad_torch": lambda: ad.adam(0.01, amsgrad=True, max_after_correction=False),
    "adamw_paper_sched": lambda: ad.adamw(sch.warmup_cosine_schedule(0.01, 10, K), lr_coupled=False,
                                          multiplier=sch.cosine_schedule(1.0, K)),
    "lion": lambda: ad.lion(1e-3, weight_decay=0.1),
    "lookahead_adam": lambda: ad.lookahead(ad.adam(0.01), sync_period=3, alpha=0.7),
    "ema_debias_sgd": lambda: ad.weight_ema(ad.sgd(0.05, 0.9), beta=0.9, debias=True),
}


@pytest.mark.parametrize("name", JIT_CASES)
def test_numpy_leaves_equal_jax_leaves_under_jit(name):
    close(run_jit(JIT_CASES[name]()), run(JIT_CASES[name]()))


def test_jit_traces_the_step_count_and_returns_jax_leaves():
    opt = ad.lookahead(ad.adam(sch.cosine_schedule(0.01, K)), sync_period=4)
    x = jax.tree.map(jnp.asarray, X0)
    x1, s1 = jax.jit(opt.step)(x, grad(x, 0), opt.init(x))
    assert all(isinstance(a, jax.Array) and a.dtype == jnp.float64 for a in jax.tree.leaves(x1))
    assert int(s1.k) == 1 and int(s1.inner.k) == 1


SCHED_CASES = {  # ours(eta), optax(schedule); the schedule pair is (ours, optax's equivalent)
    "sgd_momentum": (lambda e: ad.sgd(e, 0.9), lambda e: optax.sgd(e, momentum=0.9)),
    "adam": (lambda e: ad.adam(e), lambda e: optax.adam(e)),
    "adamw": (lambda e: ad.adamw(e, weight_decay=0.1), lambda e: optax.adamw(e, weight_decay=0.1)),
    "lion": (lambda e: ad.lion(e, weight_decay=0.1), lambda e: optax.lion(e, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", SCHED_CASES)
def test_schedule_as_step_size_equals_optax(name):
    # η_k is read at the count of the step being taken (η₀ first), as optax's scale_by_learning_rate does.
    # optax's count is int32, and an optax schedule evaluated at an int32 returns float32 even under x64, so
    # plain optax steps with the float32 rounding of η_k (relative error ≤ 2⁻²⁴ ≈ 6e-8; eager and jitted
    # float32 evaluations may differ by an ulp). Fed its count as int64, the same optax schedule evaluates in
    # float64, and then ours (with our schedule, or with optax's schedule itself) takes the same steps.
    ours, ref = SCHED_CASES[name]
    peak = 1e-2 if name != "lion" else 1e-3
    our_s = sch.warmup_cosine_schedule(peak, warmup_steps=20, total_steps=K, eta_init=0.1 * peak)
    optax_s = optax.warmup_cosine_decay_schedule(0.1 * peak, peak, warmup_steps=20, decay_steps=K)
    want = run_optax(ref(lambda count: optax_s(jnp.asarray(count, jnp.int64))))
    close(run(ours(our_s)), want)
    close(run(ours(optax_s)), want)                    # an optax schedule works as our step size too
    # and the schedule matters: the same method at constant η_peak is far away.
    assert gap(run(ours(peak)), want) > 1e3


def test_plain_optax_schedules_step_with_float32_learning_rates():
    # The float32 η_k of plain optax under x64: each η_k off by ≤ 6e-8 relative moves the iterates by
    # ≤ 6e-8·Σ_k η_k|d_k|, below 6e-8·max|x| here (the total movement is below max|x|), so they agree with the
    # float64-schedule run to 1e-6 relative, and differ from it by more than rounding.
    our_s = sch.warmup_cosine_schedule(1e-2, warmup_steps=20, total_steps=K, eta_init=1e-3)
    optax_s = optax.warmup_cosine_decay_schedule(1e-3, 1e-2, warmup_steps=20, decay_steps=K)
    assert optax_s(jnp.int32(1)).dtype == jnp.float32
    f32, ours64 = run_optax(optax.adam(optax_s)), run(ad.adam(our_s))
    close(f32, ours64, rtol=1e-6)
    assert gap(f32, ours64) > 10


@pytest.mark.parametrize("name", ["sgd_nesterov", "adagrad", "rmsprop_centered", "adamw", "lion"])
def test_to_optax_adapter_gives_the_same_iterates(name):
    ours, ref = OPTAX_CASES[name]
    via_optax = run_optax(ad.to_optax(ours()))
    close(via_optax, run(ours()))
    close(via_optax, optax_reference(name))


def test_to_optax_chains_with_optax_transforms():
    # Gradient clipping from optax in front of our Adam = optax's clipping in front of optax's Adam.
    tx = optax.chain(optax.clip_by_global_norm(1.0), ad.to_optax(ad.adam(0.01)))
    close(run_optax(tx), run_optax(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.01))))


INNERS = {
    "sgd_nesterov_l2": lambda: ad.sgd(0.05, 0.9, nesterov=True, weight_decay=0.1),
    "adagrad": lambda: ad.adagrad(0.1),
    "rmsprop": lambda: ad.rmsprop(0.01, centered=True),
    "adam": lambda: ad.adam(0.01, amsgrad=True),
    "adamw": lambda: ad.adamw(0.01),
    "lion": lambda: ad.lion(1e-3, weight_decay=0.1),
}


@pytest.mark.parametrize("name", INNERS)
def test_wrappers_around_any_inner_optimizer(name):
    inner_xs = run(INNERS[name]())
    # Lookahead by hand from the inner optimizer's own steps: K₀ fast steps, then φ ← φ + α(θ − φ), θ ← φ.
    K0, alpha = 4, 0.6
    inner = INNERS[name]()
    theta, s_in, phi = X0, inner.init(X0), X0
    want = []
    for k in range(K):
        theta, s_in = inner.step(theta, grad(theta, k), s_in)
        if (k + 1) % K0 == 0:
            phi = jax.tree.map(lambda p, t: p + alpha * (t - p), phi, theta)
            theta = phi
        want.append(flat(theta))
    close(run(ad.lookahead(INNERS[name](), sync_period=K0, alpha=alpha)), np.array(want))
    # The EMA wrapper returns the inner iterates unchanged and averages them: x̄_k = βx̄_{k−1} + (1 − β)x_k, x̄₀ = x₀.
    beta = 0.8
    xs, bars = run(ad.weight_ema(INNERS[name](), beta=beta), extra=lambda s: s.x_bar)
    close(xs, inner_xs)
    bar, want_bar = flat(X0), []
    for x in inner_xs:
        bar = beta * bar + (1 - beta) * x
        want_bar.append(bar)
    close(bars, np.array(want_bar))


def test_weight_ema_debiased_equals_optax_ema_and_plain_equals_torch():
    beta = 0.9
    inner_xs = run(ad.sgd(0.05, 0.9))
    _, bars = run(ad.weight_ema(ad.sgd(0.05, 0.9), beta=beta, debias=True), extra=lambda s: s.x_bar)
    ema = optax.ema(beta, debias=True)
    s = ema.init(jnp.zeros_like(inner_xs[0]))
    want = []
    for x in inner_xs:
        e, s = ema.update(jnp.asarray(x), s)
        want.append(np.asarray(e))
    close(bars, np.array(want))
    # Without debias, optax's EMA starts from 0, ours from x₀: they differ by exactly βᵏx₀.
    _, plain = run(ad.weight_ema(ad.sgd(0.05, 0.9), beta=beta), extra=lambda s: s.x_bar)
    ema, s, zero_started = optax.ema(beta, debias=False), None, []
    s = ema.init(jnp.zeros_like(inner_xs[0]))
    for x in inner_xs:
        e, s = ema.update(jnp.asarray(x), s)
        zero_started.append(np.asarray(e))
    powers = beta ** np.arange(1, K + 1)[:, None]
    close(plain, np.array(zero_started) + powers * flat(X0)[None, :])
    torch = pytest.importorskip("torch", reason="torch is not installed: the AveragedModel comparison needs it")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    model = torch.nn.Linear(1, inner_xs.shape[1], bias=False).double()
    avg = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(beta))
    got = []
    with torch.no_grad():
        for x in [flat(X0), *inner_xs]:                  # started at x₀, then after every step
            model.weight.copy_(torch.tensor(x).reshape(-1, 1))
            avg.update_parameters(model)
            got.append(avg.module.weight.detach().numpy().ravel().copy())
    close(plain, np.array(got[1:]))


# ------------------------------------------------------------------------------------------------ 5. bad input
@pytest.mark.parametrize("make, name", [
    (lambda: ad.sgd(0.0), "eta"),
    (lambda: ad.sgd(-0.1), "eta"),
    (lambda: ad.sgd("0.1"), "eta"),
    (lambda: ad.sgd(float("nan")), "eta"),
    (lambda: ad.sgd(True), "eta"),
    (lambda: ad.sgd(0.1, beta=1.0), "beta"),
    (lambda: ad.sgd(0.1, beta=-0.1), "beta"),
    (lambda: ad.sgd(0.1, nesterov=True), "beta"),
    (lambda: ad.sgd(0.1, 0.9, weight_decay=-1.0), "weight_decay"),
    (lambda: ad.adagrad(0.1, eps=0.0), "eps"),
    (lambda: ad.adagrad(0.1, v0=-0.1), "v0"),
    (lambda: ad.rmsprop(0.1, beta=1.0), "beta"),
    (lambda: ad.rmsprop(0.1, eps=-1e-8), "eps"),
    (lambda: ad.adam(eta=-1e-3), "eta"),
    (lambda: ad.adam(beta1=1.0), "beta1"),
    (lambda: ad.adam(beta2=1.5), "beta2"),
    (lambda: ad.adam(eps=0.0), "eps"),
    (lambda: ad.adam(eta="1e-3"), "eta"),
    (lambda: ad.adamw(weight_decay=-0.1), "weight_decay"),
    (lambda: ad.adamw(beta2=-0.5), "beta2"),
    (lambda: ad.adamw(lr_coupled=False, multiplier=-1.0), "multiplier"),
    (lambda: ad.lion(eta=0.0), "eta"),
    (lambda: ad.lion(beta1=1.0), "beta1"),
    (lambda: ad.lookahead(ad.sgd(0.1), sync_period=0), "sync_period"),
    (lambda: ad.lookahead(ad.sgd(0.1), sync_period=2.5), "sync_period"),
    (lambda: ad.lookahead(ad.sgd(0.1), alpha=0.0), "alpha"),
    (lambda: ad.lookahead(optax.sgd(0.1)), "inner"),
    (lambda: ad.weight_ema(ad.sgd(0.1), beta=1.0), "beta"),
    (lambda: ad.to_optax(optax.adam(0.1)), "opt"),
])
def test_bad_hyperparameters_raise_naming_them(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("opt", [ad.sgd(0.1, 0.9), ad.adam(), ad.lion(), ad.lookahead(ad.adamw()),
                                 ad.weight_ema(ad.rmsprop())], ids=["sgd", "adam", "lion", "lookahead", "ema"])
def test_mismatched_grads_raise(opt):
    s = opt.init(X0)
    wrong_structure = {"w": X0["w"], "b": X0["b"]}
    with pytest.raises(ValueError, match="grads must have the pytree structure"):
        opt.step(X0, wrong_structure, s)
    wrong_shape = {**X0, "b": np.ones(4)}
    with pytest.raises(ValueError, match=r"grads leaf \d+ has shape \(4,\)"):
        opt.step(X0, wrong_shape, s)
    x = jax.tree.map(jnp.asarray, X0)
    with pytest.raises(ValueError, match="grads leaf"):
        jax.jit(opt.step)(x, jax.tree.map(jnp.asarray, wrong_shape), opt.init(x))


def test_to_optax_needs_params():
    tx = ad.to_optax(ad.adam())
    with pytest.raises(ValueError, match="params"):
        tx.update(X0, tx.init(X0))


# ------------------------------------------------------------------------------------------------ 6. behaviour
def _diag_quadratic(d):
    return lambda x, k: d * x


def test_heavy_ball_contracts_at_the_optimal_rate():
    # sgd(η, β) is heavy ball x_{k+1} = x_k − ηg_k + β(x_k − x_{k−1}); on a quadratic with spectrum {μ, L} and
    # η = 4/(√L + √μ)², β = ((√κ − 1)/(√κ + 1))², every mode is ~(a + bk)ρᵏ with ρ = √β (Polyak 1964), so the
    # measured rate (‖x₂₀₀‖/‖x₁₀₀‖)^(1/100) lies in [ρ, 2^(1/100)ρ·(1 + 1e-3)]; plain GD would give (κ−1)/(κ+1).
    mu, L = 1.0, 100.0
    d = np.array([mu, L, mu, L])
    eta, rho = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
    xs = run(ad.sgd(eta, rho ** 2), steps=200, x0=np.array([1.0, 1.0, -2.0, 0.5]), grad_fn=_diag_quadratic(d))
    rate = (np.linalg.norm(xs[199]) / np.linalg.norm(xs[99])) ** (1 / 100)
    assert rho * (1 - 1e-3) <= rate <= 2 ** 0.01 * rho * (1 + 1e-3), (rate, rho)
    assert rate < 0.9 * (L / mu - 1) / (L / mu + 1)


def test_adam_reaches_the_minimizer_of_a_quadratic():
    # Deterministic ill-conditioned quadratic f = ½Σ dᵢxᵢ², d from 1 to 1e3, x* = 0: Adam with η = 0.01 ...
    d = np.logspace(0, 3, 6)
    xs = run(ad.adam(0.01), steps=3000, x0=np.ones(6), grad_fn=_diag_quadratic(d))
    assert np.max(np.abs(xs[-1])) < 1e-6
    # ... and is invariant to rescaling f (up to ε's share): f and 1000·f give the same iterates to ~ε/|g|.
    xs1000 = run(ad.adam(0.01), steps=300, x0=np.ones(6), grad_fn=_diag_quadratic(1000 * d))
    np.testing.assert_allclose(xs1000, xs[:300], rtol=0, atol=1e-6)


def test_adagrad_and_rmsprop_closed_forms_for_a_constant_gradient():
    # g ≡ c: AdaGrad v_k = kc², step η c/(√k|c| + ε); RMSProp v_k = (1 − βᵏ)c², centered s_k = (1 − βᵏ)βᵏc².
    c, eta, beta, eps = np.array([2.0, -0.5, 3.0]), 0.1, 0.9, 1e-8
    const = lambda x, k: c                                              # noqa: E731
    k = np.arange(1, 51)[:, None]
    x0 = np.zeros(3)
    close(run(ad.adagrad(eta, eps=eps), 50, x0, const), -np.cumsum(eta * c / (np.sqrt(k) * np.abs(c) + eps), 0))
    close(run(ad.rmsprop(eta, beta, eps), 50, x0, const),
          -np.cumsum(eta * c / (np.sqrt(1 - beta ** k) * np.abs(c) + eps), 0))
    s = (1 - beta ** k) * beta ** k * c ** 2
    close(run(ad.rmsprop(eta, beta, eps, centered=True), 50, x0, const), -np.cumsum(eta * c / (np.sqrt(s) + eps), 0),
          rtol=1e-10)    # 1 − βᵏ and βᵏ of the closed form round differently from the recursions: ~k·u relative


def test_lion_moves_every_entry_by_plus_minus_eta_plus_decay():
    eta, lam = 1e-3, 0.1
    opt = ad.lion(eta, weight_decay=lam)
    x, s = X0, opt.init(X0)
    for k in range(30):
        x1, s = opt.step(x, grad(x, k), s)
        c = (flat(x) - flat(x1)) / eta - lam * flat(x)               # = sign(β₁m + (1 − β₁)g) exactly
        np.testing.assert_allclose(np.abs(c), 1.0, rtol=0, atol=1e-9)  # x/η ~ 1e3: a few ulps of x over η
        x = x1


def test_lookahead_on_a_quadratic_contracts_as_its_closed_form():
    # f = ½ax², inner GD: K steps multiply θ by q = (1 − ηa)^K, so each sync φ ← (1 − α + αq)φ.
    a, eta, K0, alpha = 2.0, 0.1, 5, 0.5
    q = (1 - eta * a) ** K0
    xs, phis = run(ad.lookahead(ad.sgd(eta), sync_period=K0, alpha=alpha), steps=40, x0=np.array([3.0]),
                   grad_fn=lambda x, k: a * x, extra=lambda s: s.phi)
    syncs = np.arange(1, 9)
    close(phis[K0 * syncs - 1, 0], 3.0 * (1 - alpha + alpha * q) ** syncs)
    close(xs[K0 * syncs - 1, 0], phis[K0 * syncs - 1, 0])           # θ = φ right after a sync
