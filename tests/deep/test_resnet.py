"""The plain-JAX ResNet of the week-4 lab: shapes and parameter counts, batch norm in training and evaluation,
gradients against central finite differences, the traced-hyperparameter training step against the optimizers of
utils.adaptive, the data loader, the augmentation, and one forward/backward pass against PyTorch from the same
weights. Float64 throughout (tests/conftest.py), so agreements are to ~1e-10, not to float32 noise.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import utils.resnet as rn
from utils import adaptive, schedules

KEY = jax.random.key(0)


def tiny(depth=8, widths=(2, 3, 4), c=1, seed=0):
    return rn.init(jax.random.key(seed), depth=depth, widths=widths, in_channels=c)


def batch(n=6, side=8, c=1, seed=1):
    g = np.random.default_rng(seed)
    return jnp.asarray(g.standard_normal((n, side, side, c))), jnp.asarray(g.integers(0, 10, n))


def expected_count(depth, w, c, k=10):
    """Parameters of the option-B CIFAR ResNet, counted by hand: 3×3 kernels, BN (γ, β), projections, head."""
    n = (depth - 2) // 6
    total = 9 * c * w[0] + 2 * w[0]
    c_in = w[0]
    for width in w:
        for _ in range(n):
            total += 9 * c_in * width + 9 * width * width + 4 * width
            if width != c_in:
                total += c_in * width + 2 * width
            c_in = width
    return total + c_in * k + k


# ------------------------------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("depth,widths,side,c", [(8, (4, 8, 16), 14, 1), (8, (8, 16, 32), 28, 1),
                                                 (20, (16, 32, 64), 32, 3)])
def test_shapes_and_parameter_count(depth, widths, side, c):
    params, stats = rn.init(KEY, depth=depth, widths=widths, in_channels=c)
    assert len(params["blocks"]) == len(stats["blocks"]) == 3 * (depth - 2) // 6
    assert rn.count_params(params) == expected_count(depth, widths, c)
    x = jnp.zeros((2, side, side, c))
    for train in (True, False):
        logits, new = rn.apply(params, stats, x, train=train)
        assert logits.shape == (2, 10)
        assert jax.tree.structure(new) == jax.tree.structure(stats)


def test_float32_init_stays_float32_under_x64():
    """With jax_enable_x64 on, a NumPy float64 scale would promote the He-initialized kernels to float64 (and a
    global norm over mixed leaves, as SAM takes, then fails to trace in a lax.scan)."""
    from utils import x64

    with x64(True):
        params, stats = rn.init(jax.random.PRNGKey(0), depth=8, dtype=jnp.float32)
    assert {str(l.dtype) for l in jax.tree.leaves((params, stats))} == {"float32"}


def test_resnet20_has_the_published_size():
    # He et al. (2016), Table 6: ResNet-20 has 0.27M parameters (with identity "option A" shortcuts; the two 1×1
    # projections used here add 16·32 + 32·64 weights and their BN).
    params, _ = rn.init(KEY, depth=20, widths=(16, 32, 64), in_channels=3)
    assert 0.27e6 < rn.count_params(params) < 0.28e6


@pytest.mark.parametrize("bad", [7, 10, 0, True, 8.0])
def test_bad_depth_raises(bad):
    with pytest.raises(ValueError, match="depth"):
        rn.init(KEY, depth=bad)


def test_bad_widths_and_side_raise():
    with pytest.raises(ValueError, match="widths"):
        rn.init(KEY, widths=(4, 8))
    with pytest.raises(ValueError, match="side"):
        rn.load_mnist_subset(side=10)
    with pytest.raises(ValueError, match="decay"):
        rn.make_train_step(adaptive.sgd, schedules.constant_schedule(1.0), "weight")


# ------------------------------------------------------------------------------------------------ batch norm
def test_bn_train_normalizes_with_batch_statistics_and_updates_running_ones():
    g = np.random.default_rng(0)
    x = jnp.asarray(3.0 + 2.0 * g.standard_normal((5, 4, 4, 3)))
    p = {"gamma": jnp.ones(3), "beta": jnp.zeros(3)}
    s = {"mean": jnp.zeros(3), "var": jnp.ones(3)}
    out, s1 = rn.batch_norm(x, p, s, True, 0.9, 1e-5)
    m = 5 * 4 * 4
    mu, var = np.asarray(x).mean((0, 1, 2)), np.asarray(x).var((0, 1, 2))
    np.testing.assert_allclose(np.asarray(out).mean((0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(out).var((0, 1, 2)), var / (var + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(s1["mean"], 0.1 * mu, rtol=1e-12)
    np.testing.assert_allclose(s1["var"], 0.9 + 0.1 * var * m / (m - 1), rtol=1e-12)
    out_eval, s2 = rn.batch_norm(x, p, s1, False, 0.9, 1e-5)
    assert s2 is s1
    np.testing.assert_allclose(out_eval, (x - s1["mean"]) / np.sqrt(s1["var"] + 1e-5), rtol=1e-12)


def test_train_mode_couples_the_batch_and_eval_mode_does_not():
    params, stats = tiny()
    x, _ = batch(n=6)
    # eval: each image's logits are the same alone or in a batch (running statistics, no coupling)
    full, same = rn.apply(params, stats, x, train=False)
    one, _ = rn.apply(params, stats, x[:1], train=False)
    np.testing.assert_allclose(one[0], full[0], rtol=1e-12, atol=1e-12)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), same, stats))
    # train: batch statistics, so image 0's logits change when the other images change
    t_full, new = rn.apply(params, stats, x, train=True)
    t_half, _ = rn.apply(params, stats, x[:3], train=True)
    assert np.abs(np.asarray(t_full[0] - t_half[0])).max() > 1e-6
    assert not np.allclose(new["stem"]["mean"], stats["stem"]["mean"])


def test_running_statistics_converge_to_the_batch_statistics():
    # After K train-mode passes over one batch every running estimate is within ρ^K of its fixed point: the batch
    # mean and the *unbiased* variance m/(m−1)·σ²_B of that layer's input (checked exactly for the stem, whose
    # input we can compute). So eval-mode logits on that batch equal the train-mode ones up to the variance ratio:
    # each BN layer rescales by √((m−1)/m) ≈ 1 − 1/(2(m−1)). With 32 images of 8×8 the smallest m is the last
    # stage's, 32·2·2 = 128, and there are 10 BN layers: at most ~10/(2·127) ≈ 4% of the logits' size; we allow
    # 5%. Before the passes (running statistics at their init) eval and train differ by much more.
    params, stats = tiny()
    x, _ = batch(n=32)
    t_logits, _ = rn.apply(params, stats, x, train=True)
    s = stats
    for _ in range(300):                          # ρ^300 = 0.9^300 ≈ 2e-14
        _, s = rn.apply(params, s, x, train=True)
    h = np.asarray(rn.conv(x, params["stem"]["w"], 1))
    m = h.shape[0] * h.shape[1] * h.shape[2]
    np.testing.assert_allclose(s["stem"]["mean"], h.mean((0, 1, 2)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s["stem"]["var"], h.var((0, 1, 2)) * m / (m - 1), rtol=1e-10)
    e_logits, _ = rn.apply(params, s, x, train=False)
    e0, _ = rn.apply(params, stats, x, train=False)
    size = float(jnp.abs(t_logits).max())
    assert float(jnp.abs(e_logits - t_logits).max()) < 0.05 * size
    assert float(jnp.abs(e0 - t_logits).max()) > 0.05 * size


# ------------------------------------------------------------------------------------------------ gradient
def test_gradient_matches_central_finite_differences():
    # Central differences along random directions: truncation h²|L'''|/6 ≈ 1e-12 and rounding u|L|/h ≈ 1e-11 at
    # h = 1e-5, against directional derivatives of size ~1e-1: relative 1e-6 has a wide margin. A ReLU kink
    # crossed within ±h would break this; with random directions that has probability ~h per unit.
    from jax.flatten_util import ravel_pytree

    params, stats = tiny()
    x, y = batch(n=6)
    for train in (True, False):
        f = lambda p: rn.loss(p, stats, x, y, train=train)[0]          # noqa: E731
        g = jax.grad(f)(params)
        flat, unravel = ravel_pytree(params)
        gflat, _ = ravel_pytree(g)
        rng = np.random.default_rng(3)
        for _ in range(3):
            v = rng.standard_normal(flat.size)
            v /= np.linalg.norm(v)
            h = 1e-5
            fd = (f(unravel(flat + h * v)) - f(unravel(flat - h * v))) / (2 * h)
            np.testing.assert_allclose(float(fd), float(gflat @ v), rtol=1e-6, atol=1e-9)


def test_cross_entropy_and_accuracy():
    logits = jnp.zeros((4, 10))
    y = jnp.array([0, 3, 5, 9])
    np.testing.assert_allclose(rn.cross_entropy(logits, y), np.log(10.0), rtol=1e-14)
    logits = logits.at[jnp.arange(4), jnp.array([0, 3, 1, 2])].set(5.0)
    assert float(rn.accuracy(logits, y)) == 0.5
    p = np.exp(5.0) / (np.exp(5.0) + 9)
    np.testing.assert_allclose(rn.cross_entropy(logits, y), 0.5 * (-np.log(p)) + 0.5 * (-np.log(1 / (np.exp(5) + 9))),
                               rtol=1e-13)


# ------------------------------------------------------------------------------------------------ train step
CASES = {  # name: (optimizer with concrete λ, factory without decay, decay kind)
    "sgd_nesterov": (lambda s, lam: adaptive.sgd(s, 0.9, nesterov=True, weight_decay=lam),
                     lambda s: adaptive.sgd(s, 0.9, nesterov=True), "l2"),
    "adam_l2": (lambda s, lam: adaptive.adam(s, weight_decay=lam), lambda s: adaptive.adam(s), "l2"),
    "adamw": (lambda s, lam: adaptive.adamw(s, weight_decay=lam), lambda s: adaptive.adam(s), "decoupled"),
    "lion": (lambda s, lam: adaptive.lion(s, weight_decay=lam), lambda s: adaptive.lion(s), "decoupled"),
    "lookahead_sgd": (lambda s, lam: adaptive.lookahead(adaptive.sgd(s, 0.9, nesterov=True, weight_decay=lam), 2),
                      lambda s: adaptive.lookahead(adaptive.sgd(s, 0.9, nesterov=True), 2), "l2"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_train_step_equals_the_optimizer_with_its_own_weight_decay(name):
    # Same arithmetic up to association ((x − ηu) − ηλx vs x − η(u + λx)): a few ulps per step in float64.
    reference, factory, decay = CASES[name]
    eta, lam, w, T = 0.05, 0.1, 2, 8
    shape = schedules.warmup_cosine_schedule(1.0, w, T)
    step = rn.make_train_step(factory, shape, decay)
    ref = reference(schedules.warmup_cosine_schedule(eta, w, T), lam)
    params, stats = tiny()
    p1, s1, o1 = params, stats, factory(shape).init(params)
    p2, s2, o2 = params, stats, ref.init(params)
    for k in range(5):
        x, y = batch(n=6, seed=10 + k)
        p1, s1, o1, l1 = step(p1, s1, o1, x, y, eta, lam)
        (l2, (s2, _)), g = jax.value_and_grad(rn.loss, has_aux=True)(p2, s2, x, y)
        p2, o2 = ref.step(p2, g, o2)
        np.testing.assert_allclose(l1, l2, rtol=1e-12)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12), p1, p2)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12), s1, s2)
    assert not np.allclose(p1["head"]["w"], params["head"]["w"])


# ------------------------------------------------------------------------------------------------ data
def test_mnist_subset_splits():
    d = rn.load_mnist_subset(side=14, n_test=1000, n_val=500, seed=0)
    assert d["X_train"].shape == (3500, 14, 14, 1) and d["X_test"].shape == (1000, 14, 14, 1)
    assert d["X_val"].shape == (500, 14, 14, 1) and d["X_train"].dtype == np.float32
    assert np.bincount(d["y_test"]).tolist() == [100] * 10 and np.bincount(d["y_val"]).tolist() == [50] * 10
    np.testing.assert_allclose(d["X_train"].astype(float).mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(d["X_train"].astype(float).std(), 1.0, rtol=1e-5)
    # disjoint: no test image appears in the training set
    train = {r.tobytes() for r in d["X_train"]}
    assert sum(r.tobytes() in train for r in d["X_test"]) <= 5        # (a few exact duplicates exist in MNIST)
    # 14×14 is the 2×2 block average of 28×28: the same split, and the same images up to the standardization
    # (both have mean 0 over the training pixels, so they differ by a positive factor only)
    full = rn.load_mnist_subset(side=28, n_test=1000, n_val=500, seed=0)
    avg = full["X_train"].astype(float).reshape(-1, 14, 2, 14, 2, 1).mean((2, 4))
    z14 = d["X_train"].astype(float)
    np.testing.assert_allclose(avg / avg.std(), z14 / z14.std(), atol=1e-5)
    assert np.array_equal(full["y_test"], d["y_test"])


def test_augment_returns_flipped_or_plain_windows_of_the_padded_image():
    g = np.random.default_rng(0)
    x = jnp.asarray(g.standard_normal((6, 5, 5, 2)))
    out = rn.augment(jax.random.key(1), x, pad=2)
    assert out.shape == x.shape
    xp = np.pad(np.asarray(x), ((0, 0), (2, 2), (2, 2), (0, 0)))
    for n in range(6):
        windows = [xp[n, i:i + 5, j:j + 5] for i in range(5) for j in range(5)]
        windows += [w[:, ::-1] for w in windows]
        assert min(np.abs(np.asarray(out[n]) - w).max() for w in windows) == 0.0


# ------------------------------------------------------------------------------------------------ PyTorch
def test_forward_and_backward_agree_with_pytorch_from_the_same_weights():
    torch = pytest.importorskip("torch")
    params, stats = rn.init(KEY, depth=8, widths=(4, 6, 8), in_channels=3)
    x, y = batch(n=5, side=12, c=3)
    net = rn.to_torch(params, stats)
    assert net.head.weight.dtype == torch.float64
    xt = torch.tensor(np.asarray(x).transpose(0, 3, 1, 2).copy())
    yt = torch.tensor(np.asarray(y))
    for train in (False, True):                   # eval first: the train pass moves torch's running stats
        net.train(train)
        net.zero_grad()
        out = net(xt)
        lt = torch.nn.functional.cross_entropy(out, yt)
        lt.backward()
        (lj, (new, logits)), g = jax.value_and_grad(rn.loss, has_aux=True)(params, stats, x, y, train=train)
        np.testing.assert_allclose(logits, out.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(float(lj), lt.item(), rtol=1e-12)
        np.testing.assert_allclose(g["stem"]["w"], net.stem[0].weight.grad.numpy().transpose(2, 3, 1, 0),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(g["blocks"][1]["wp"], net.blocks[1].proj[0].weight.grad.numpy().transpose(2, 3, 1, 0),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(g["head"]["w"], net.head.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
        if train:                                   # the running statistics torch updated equal ours
            np.testing.assert_allclose(new["stem"]["mean"], net.stem[1].running_mean.numpy(), rtol=1e-12)
            np.testing.assert_allclose(new["blocks"][2]["bn2"]["var"], net.blocks[2].bn2.running_var.numpy(),
                                       rtol=1e-12)
