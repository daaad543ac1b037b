"""Schedule-free SGD and AdamW (utils.schedule_free): step for step equal to optax.contrib with the conventions
aligned (and each difference shown to be real), NumPy leaves ≡ JAX leaves under jit, the average x as a weighted
Polyak–Ruppert average of z, and the measured claim that x converges with a constant step where SGD plateaus.

Setup as in tests/stochastic/test_adaptive.py: a pytree with leaves of shapes (4, 3), (3,), (2, 2, 2), (5,), () driven for
K = 50 steps by g_k(y) = c ⊙ y + s_k ξ_k (c ∈ [0.5, 5], ξ_k standard normal, s_k = exp(0.7 z_k)), seed 0.
Tolerance: each step is ≲ 30 flops per entry plus the recomputation of x from (y, z) in optax, which divides by
β (error ≲ 10u|z|/β); over K steps with contracting dynamics the difference is ≲ K·40u·max|y| ≈ 2e-13·max|y|.
We assert RTOL = 1e-12 with ATOL = 1e-12·max|y| (measured against optax: ≤ 2e-15·max|y|). A convention
difference must exceed 1000× ATOL to count as real.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from noisy_pytree import RTOL, close, flat, gap, gradient, noisy_quadratic

from utils import schedule_free as sf

K = 50


X0, CURV, NOISE = noisy_quadratic(K)
grad = gradient(CURV, NOISE)


def run(opt, steps=K):
    """Ours, NumPy leaves, eagerly: the gradient points y_k and the averages x_k (steps × n each)."""
    y, s = X0, opt.init(X0)
    ys, xs = [], []
    for k in range(steps):
        y, s = opt.step(y, grad(y, k), s)
        ys.append(flat(y))
        xs.append(flat(sf.eval_params(s)))
    return np.array(ys), np.array(xs)


def run_jit(opt, steps=K):
    y = jax.tree.map(jnp.asarray, X0)
    s = opt.init(y)
    step = jax.jit(lambda y, s, n: opt.step(y, jax.tree.map(lambda c, y_, n_: c * y_ + n_, CURV, y, n), s))
    ys, xs = [], []
    for k in range(steps):
        y, s = step(y, s, NOISE[k])
        ys.append(flat(y))
        xs.append(flat(sf.eval_params(s)))
    return np.array(ys), np.array(xs)


def run_optax(tx, steps=K):
    """optax: its params are y; x = schedule_free_eval_params(state, params)."""
    y = jax.tree.map(jnp.asarray, X0)
    s = tx.init(y)

    @jax.jit
    def step(y, s, n):
        g = jax.tree.map(lambda c, y_, n_: c * y_ + n_, CURV, y, n)
        u, s = tx.update(g, s, y)
        y = optax.apply_updates(y, u)
        return y, s, optax.contrib.schedule_free_eval_params(s, y)

    ys, xs = [], []
    for k in range(steps):
        y, s, x = step(y, s, NOISE[k])
        ys.append(flat(y))
        xs.append(flat(x))
    return np.array(ys), np.array(xs)


def _warmup(peak, w):
    """optax's warmup_constant_schedule(0, peak, w) evaluated in float64 (optax's int32 count gives float32)."""
    s = optax.warmup_constant_schedule(0.0, peak, w)
    return lambda count: s(jnp.asarray(count, jnp.int64))


def _np_warmup(peak, w):
    return lambda k: peak * np.minimum(1.0, k / w)


# ------------------------------------------------------------------------------------------------ optax
CONSTANT_CASES = {   # no warmup: a float learning rate, one convention everywhere
    "sgd_decay_b95_p1": (lambda: sf.schedule_free_sgd(0.05, 0.95, weight_decay=0.1, weight_lr_power=1.0),
                         lambda: optax.contrib.schedule_free_sgd(0.05, b1=0.95, weight_decay=0.1,
                                                                 weight_lr_power=1.0)),
    "adamw_decay": (lambda: sf.schedule_free_adamw(0.02, 0.8, 0.99, 1e-6, weight_decay=0.2),
                    lambda: optax.contrib.schedule_free_adamw(0.02, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.2)),
}


@pytest.mark.parametrize("name", CONSTANT_CASES)
def test_equals_optax_step_for_step_constant_step(name):
    ours, ref = CONSTANT_CASES[name]
    y, x = run(ours())
    y_ref, x_ref = run_optax(ref())
    close(y, y_ref)
    close(x, x_ref)


@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adamw"])
def test_equals_optax_with_warmup_and_the_offset_is_real(adam):
    # optax's base optimizer reads the warmup schedule s at its count k (first step: s(0) = 0), its averaging
    # weight at step_count = k + 1. Ours takes both as arguments: eta = s(k), weight_eta = s(k + 1).
    peak, w = (0.05, 10) if not adam else (0.02, 10)
    s64 = _warmup(peak, w)
    if adam:
        base = optax.chain(optax.scale_by_rms(0.999, 1e-8, eps_in_sqrt=False, bias_correction=True),
                           optax.add_decayed_weights(0.1), optax.scale_by_learning_rate(s64))
        make = lambda **kw: sf.schedule_free_adamw(weight_decay=0.1, **kw)      # noqa: E731
    else:
        base = optax.chain(optax.add_decayed_weights(0.1), optax.sgd(s64))
        make = lambda **kw: sf.schedule_free_sgd(weight_decay=0.1, **kw)        # noqa: E731
    want = run_optax(optax.contrib.schedule_free(base, s64, b1=0.9))
    s_np = _np_warmup(peak, w)
    got = run(make(eta=s_np, weight_eta=lambda k: s_np(k + 1)))
    close(got[0], want[0])
    close(got[1], want[1])
    # optax's own shortcut is the same method, with its float32 schedule values (relative error ≤ 6e-8)
    short = (optax.contrib.schedule_free_adamw(peak, warmup_steps=w, weight_decay=0.1) if adam else
             optax.contrib.schedule_free_sgd(peak, warmup_steps=w, weight_decay=0.1))
    close(run_optax(short)[0], want[0], rtol=1e-6)
    # the reference-code warmup γ_k = η·min(1, (k+1)/T_w) for both is a different sequence
    ref_code = run(make(eta=peak, warmup_steps=w))
    assert gap(ref_code[0], want[0]) > 1e3
    # and at the first step optax's z does not move (γ₀ = s(0) = 0) while ours moves by γ₀ = η/T_w
    assert np.allclose(want[1][0], flat(X0), rtol=0, atol=1e-14) and gap(ref_code[1][0], flat(X0)) > 1e3


JIT_CASES = {
    "sgd_decay_b95_p1": CONSTANT_CASES["sgd_decay_b95_p1"][0],
    "adamw_warmup_r": lambda: sf.schedule_free_adamw(0.02, warmup_steps=7, r=1.0, weight_decay=0.1),  # traced k
}


@pytest.mark.parametrize("name", JIT_CASES)
def test_numpy_leaves_equal_jax_leaves_under_jit(name):
    a, b = run(JIT_CASES[name]()), run_jit(JIT_CASES[name]())
    close(b[0], a[0])
    close(b[1], a[1])


# ------------------------------------------------------------------------------------------------ structure
def test_x_is_the_weighted_average_of_z_and_y_interpolates():
    # x_{k+1} = Σ_{j≤k} w_j z_{j+1} / Σ_{j≤k} w_j with w_j = (j+1)^r γ_max,j^p, and y = (1 − β)z + βx.
    eta, w_steps, p, r, beta = 0.05, 15, 2.0, 0.5, 0.9
    opt = sf.schedule_free_sgd(eta, beta, warmup_steps=w_steps, weight_lr_power=p, r=r)
    y, s = X0, opt.init(X0)
    zs, ws = [], []
    for k in range(K):
        y, s = opt.step(y, grad(y, k), s)
        zs.append(flat(s.z))
        gamma = eta * min(1.0, (k + 1) / w_steps)        # nondecreasing, so γ_max,k = γ_k
        ws.append((k + 1) ** r * gamma ** p)
        wv = np.array(ws)
        close(flat(sf.eval_params(s)), wv @ np.array(zs) / wv.sum())
        close(flat(y), (1 - beta) * zs[-1] + beta * flat(s.x))
    assert ws[-1] / ws[0] > 100           # the weights are far from uniform: the check sees them
    # Constant step, r = 0: the uniform Polyak–Ruppert average of z₁…z_k.
    opt = sf.schedule_free_sgd(eta, beta)
    y, s, zs = X0, opt.init(X0), []
    for k in range(K):
        y, s = opt.step(y, grad(y, k), s)
        zs.append(flat(s.z))
    close(flat(sf.eval_params(s)), np.mean(zs, axis=0))


def test_beta_zero_is_sgd_on_z_with_the_average_on_the_side():
    # β = 0: y = z, so z follows plain SGD exactly.
    y, s = X0, sf.schedule_free_sgd(0.05, 0.0).init(X0)
    opt = sf.schedule_free_sgd(0.05, 0.0)
    x_sgd = X0
    for k in range(K):
        y, s = opt.step(y, grad(y, k), s)
        x_sgd = jax.tree.map(lambda a, g: a - 0.05 * g, x_sgd, grad(x_sgd, k))
    close(flat(y), flat(x_sgd))
    close(flat(s.z), flat(x_sgd))


def test_constant_step_x_converges_where_sgd_plateaus():
    # Noisy quadratic f = ½Σ dᵢwᵢ², d = (1, 4), g = ∇f + σξ, σ = 1, R = 400 independent runs as one batch.
    # SGD with a constant η has a stationary spread E‖w‖² = Σ ησ²/(dᵢ(2 − ηdᵢ)) that more steps do not reduce;
    # schedule-free SGD with the same η evaluates x, an average of the z's, whose error keeps falling.
    rng = np.random.default_rng(1)
    d, eta, sigma, R = np.array([1.0, 4.0]), 0.1, 1.0, 400
    T1, T2 = 250, 2500
    w0 = np.ones((R, 2)) * 2.0
    opt = sf.schedule_free_sgd(eta, 0.9)
    y, s, w = w0, opt.init(w0), w0
    err = {}
    for k in range(T2):
        xi1, xi2 = sigma * rng.standard_normal((R, 2)), sigma * rng.standard_normal((R, 2))
        y, s = opt.step(y, d * y + xi1, s)
        w = w - eta * (d * w + xi2)
        if k + 1 in (T1, T2):
            err[k + 1] = (np.mean(np.sum(s.x ** 2, 1)), np.mean(np.sum(w ** 2, 1)))
    plateau = np.sum(eta * sigma ** 2 / (d * (2 - eta * d)))     # ≈ 0.076
    sf1, sgd1 = err[T1]
    sf2, sgd2 = err[T2]
    # SGD: at its plateau at both horizons (within sampling error of R = 400 runs, ~±15%)
    assert abs(sgd1 / plateau - 1) < 0.2 and abs(sgd2 / plateau - 1) < 0.2, (sgd1, sgd2, plateau)
    # schedule-free x: below SGD's plateau, and 10× more steps cut its error by more than 5×
    assert sf2 < 0.1 * sgd2 and sf1 / sf2 > 5, (sf1, sf2, sgd2)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make, name", [
    (lambda: sf.schedule_free_sgd(0.0), "eta"),
    (lambda: sf.schedule_free_sgd(0.1, beta=1.5), "beta"),
    (lambda: sf.schedule_free_sgd(0.1, warmup_steps=-1), "warmup_steps"),
    (lambda: sf.schedule_free_sgd(0.1, warmup_steps=2.5), "warmup_steps"),
    (lambda: sf.schedule_free_sgd(0.1, weight_decay=-1.0), "weight_decay"),
    (lambda: sf.schedule_free_sgd(0.1, weight_lr_power=-2.0), "weight_lr_power"),
    (lambda: sf.schedule_free_sgd(0.1, r=-1.0), "r"),
    (lambda: sf.schedule_free_sgd(0.1, weight_eta=0.0), "weight_eta"),
    (lambda: sf.schedule_free_adamw(beta1=-0.1), "beta1"),
    (lambda: sf.schedule_free_adamw(beta2=1.0), "beta2"),
    (lambda: sf.schedule_free_adamw(eps=0.0), "eps"),
    (lambda: sf.eval_params(optax.contrib.schedule_free_sgd().init(jnp.zeros(2))), "state"),
])
def test_bad_input_raises_naming_it(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_mismatched_grads_raise():
    opt = sf.schedule_free_adamw()
    with pytest.raises(ValueError, match="grads"):
        opt.step(X0, {"w": X0["w"]}, opt.init(X0))
