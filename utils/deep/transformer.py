r"""A byte-level decoder-only transformer in plain JAX for the week-6 lab (no flax, no haiku), its data, and the
optimizer plumbing the lab needs (matrix leaves vs the rest, momentum on a preconditioned update).

The model reads bytes x_1 … x_T (vocabulary V = 256) and predicts each next byte. With d the width, H heads of
size d_h = d/H and L layers, it computes (pre-LN, GPT-2 style)

.. math::  h^{(0)}_t = E[x_t] + P_t, \qquad
           h' = h + \mathrm{Attn}(\mathrm{LN}_1(h)), \qquad h^{(l+1)} = h' + W_2\,\mathrm{gelu}(W_1\mathrm{LN}_2(h') + b_1) + b_2,

.. math::  \mathrm{Attn}(u)_t = W_O \big[\textstyle\sum_{s \le t} \mathrm{softmax}_s(q_t\cdot k_s/\sqrt{d_h})\, v_s\big]_{\text{heads}},
           \quad q = uW_Q,\ k = uW_K,\ v = uW_V,

and logits z_t = LN_f(h^{(L)}_t) Eᵀ (weights tied, ``tie=True``) or LN_f(h)W_head. The sum over s ≤ t is the
causal mask: the prediction at t never reads a later byte. Positions are learned (P, ``positions="learned"``) or
rotary (``"rotary"``: q and k rotated by angles t·θ_i, θ_i = 10000^{−2i/d_h}, so q_t·k_s depends on t − s only;
Su et al. 2021). The loss is the mean cross-entropy ℓ = −(1/BT) Σ log softmax(z_t)[x_{t+1}]; a model that
predicts uniformly has ℓ = log 256 ≈ 5.545, which is where a small initialization starts.

    cfg = Config(d=64, n_layers=2, n_heads=4, context=64)
    params = init(jax.random.key(0), cfg)
    x, y = sample_batch(jax.random.key(1), data, batch=32, context=cfg.context)   # y = x shifted by one byte
    value, grads = jax.value_and_grad(loss)(params, x, y, cfg)

Matrix leaves for Muon and Shampoo are the hidden 2-D weights (W_Q, W_K, W_V, W_O, W_1, W_2: :func:`is_matrix`);
the embedding E, the positions P, the head, the gains and biases go to AdamW, as in Jordan et al.'s Muon
(:func:`partitioned` builds such a split optimizer for any pair). Data: :func:`load_shakespeare` (seven tragedies
committed in ``utils/data/shakespeare``, sha256-checked; or the full TinyShakespeare through ``utils.datasets``).
References: Vaswani et al. 2017; Radford et al. 2019 (GPT-2: pre-LN, tied embeddings); Karpathy's nanoGPT.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..stochastic.adaptive import Optimizer, _beta, _check_tree

__all__ = ["Config", "init", "forward", "loss", "count_params", "sample_batch", "eval_windows", "evaluate",
           "generate", "is_matrix", "partition", "partitioned", "PartitionedState", "update_momentum",
           "MomentumState", "make_train_step", "load_shakespeare", "SLICE_PLAYS", "VAL_PLAY"]

_POSITIONS = ("learned", "rotary")


class Config(NamedTuple):
    """Static sizes: vocabulary V, width d, layers L, heads H, context T_max, MLP width ``mlp_ratio``·d."""
    vocab: int = 256
    d: int = 64
    n_layers: int = 2
    n_heads: int = 4
    context: int = 64
    mlp_ratio: int = 4
    positions: str = "learned"
    tie: bool = True


def _check(cfg):
    if not isinstance(cfg, Config):
        raise ValueError(f"cfg must be a transformer.Config, got {type(cfg).__name__}")
    for name in ("vocab", "d", "n_layers", "n_heads", "context", "mlp_ratio"):
        v = getattr(cfg, name)
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"cfg.{name} must be a positive integer, got {v!r}")
    if cfg.d % cfg.n_heads:
        raise ValueError(f"cfg.d = {cfg.d} must be divisible by cfg.n_heads = {cfg.n_heads}")
    if cfg.positions not in _POSITIONS:
        raise ValueError(f"cfg.positions must be one of {_POSITIONS}, got {cfg.positions!r}")
    if cfg.positions == "rotary" and (cfg.d // cfg.n_heads) % 2:
        raise ValueError(f"rotary positions need an even head size, got d/n_heads = {cfg.d // cfg.n_heads}")


def init(key, cfg: Config, dtype=jnp.float32):
    """Parameters as a dict pytree. E, P ~ N(0, 0.02²) (GPT-2); W_Q, W_K, W_V, W_1 ~ N(0, 1/fan_in); W_O, W_2
    ~ N(0, 1/(2L·fan_in)) (residual branches scaled down with depth); gains 1, biases 0; an untied head N(0, 0.02²).
    Layout y = xW: a weight is (fan_in, fan_out)."""
    _check(cfg)
    d, f, L = cfg.d, cfg.mlp_ratio * cfg.d, cfg.n_layers
    keys = iter(jax.random.split(key, 3 + 6 * L))
    normal = lambda shape, std: (std * jax.random.normal(next(keys), shape)).astype(dtype)   # noqa: E731
    ln = lambda: {"g": jnp.ones(d, dtype), "b": jnp.zeros(d, dtype)}                      # noqa: E731
    params = {"embed": normal((cfg.vocab, d), 0.02)}
    if cfg.positions == "learned":
        params["pos"] = normal((cfg.context, d), 0.02)
    else:
        next(keys)
    params["blocks"] = [{
        "ln1": ln(),
        "attn": {"wq": normal((d, d), d ** -0.5), "wk": normal((d, d), d ** -0.5), "wv": normal((d, d), d ** -0.5),
                 "wo": normal((d, d), (2 * L * d) ** -0.5)},
        "ln2": ln(),
        "mlp": {"w1": normal((d, f), d ** -0.5), "b1": jnp.zeros(f, dtype),
                "w2": normal((f, d), (2 * L * f) ** -0.5), "b2": jnp.zeros(d, dtype)},
    } for _ in range(L)]
    params["ln_f"] = ln()
    if not cfg.tie:
        params["head"] = normal((d, cfg.vocab), 0.02)
    else:
        next(keys)
    return params


def count_params(params):
    """Number of scalars in the pytree (Ψ)."""
    return sum(int(np.prod(np.shape(a))) for a in jax.tree.leaves(params))


def _layer_norm(x, p, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + eps) * p["g"] + p["b"]


def _rotary(x):
    """Rotate the two halves of each head's coordinates by angle t·θ_i (x: (B, T, H, d_h))."""
    T, dh = x.shape[1], x.shape[-1]
    theta = 10000.0 ** (-jnp.arange(0, dh // 2, dtype=x.dtype) * 2 / dh)
    ang = jnp.arange(T, dtype=x.dtype)[:, None] * theta[None, :]             # (T, d_h/2)
    cos, sin = jnp.cos(ang)[None, :, None, :], jnp.sin(ang)[None, :, None, :]
    x1, x2 = x[..., :dh // 2], x[..., dh // 2:]
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def _attention(u, p, cfg):
    B, T, d = u.shape
    H, dh = cfg.n_heads, d // cfg.n_heads
    q, k, v = ((u @ p[w]).reshape(B, T, H, dh) for w in ("wq", "wk", "wv"))
    if cfg.positions == "rotary":
        q, k = _rotary(q), _rotary(k)
    s = jnp.einsum("bthd,bshd->bhts", q, k) / math.sqrt(dh)
    causal = jnp.tril(jnp.ones((T, T), dtype=bool))
    s = jnp.where(causal, s, jnp.finfo(s.dtype).min)                       # s > t: weight exp(min − max) = 0
    a = jax.nn.softmax(s, axis=-1)
    return jnp.einsum("bhts,bshd->bthd", a, v).reshape(B, T, d) @ p["wo"]


def _tokens(tokens, cfg):
    if np.ndim(tokens) != 2:
        raise ValueError(f"tokens must be a (batch, time) integer array, got shape {np.shape(tokens)}")
    if not jnp.issubdtype(jnp.result_type(tokens), jnp.integer):
        raise ValueError(f"tokens must be integers (byte values 0…{cfg.vocab - 1}), got dtype {jnp.result_type(tokens)}")
    if not 1 <= np.shape(tokens)[1] <= cfg.context:
        raise ValueError(f"tokens has {np.shape(tokens)[1]} positions; the model's context is 1…{cfg.context}")


def forward(params, tokens, cfg: Config):
    """Logits z of shape (B, T, V) for integer ``tokens`` of shape (B, T), T ≤ cfg.context (see the module
    docstring for the equations). Byte values outside [0, V) are not checked under ``jit`` (JAX clamps them)."""
    _check(cfg)
    _tokens(tokens, cfg)
    if not isinstance(tokens, jax.core.Tracer):
        t = np.asarray(tokens)
        if t.min() < 0 or t.max() >= cfg.vocab:
            raise ValueError(f"tokens must lie in [0, {cfg.vocab}), got range [{t.min()}, {t.max()}]")
    T = tokens.shape[1]
    h = params["embed"][tokens]
    if cfg.positions == "learned":
        h = h + params["pos"][:T]
    for blk in params["blocks"]:
        h = h + _attention(_layer_norm(h, blk["ln1"]), blk["attn"], cfg)
        m = blk["mlp"]
        h = h + jax.nn.gelu(_layer_norm(h, blk["ln2"]) @ m["w1"] + m["b1"]) @ m["w2"] + m["b2"]
    h = _layer_norm(h, params["ln_f"])
    return h @ (params["embed"].T if cfg.tie else params["head"])


def loss(params, x, y, cfg: Config):
    """Mean cross-entropy ℓ = −(1/BT) Σ_{b,t} log softmax(z_{b,t})[y_{b,t}] (nats per byte)."""
    if np.shape(x) != np.shape(y):
        raise ValueError(f"x and y must have the same shape, got {np.shape(x)} and {np.shape(y)}")
    logp = jax.nn.log_softmax(forward(params, x, cfg), axis=-1)
    return -jnp.take_along_axis(logp, y[..., None], axis=-1).mean()


def _data(data, context):
    if np.ndim(data) != 1:
        raise ValueError(f"data must be a 1-D array of byte values, got shape {np.shape(data)}")
    if not isinstance(context, (int, np.integer)) or context < 1:
        raise ValueError(f"context must be a positive integer, got {context!r}")
    if np.shape(data)[0] < context + 2:
        raise ValueError(f"data has {np.shape(data)[0]} bytes; a window of context + 1 = {context + 1} needs more")


def sample_batch(key, data, batch, context):
    """A mini-batch of ``batch`` windows at uniform random offsets s ∈ [0, n − context − 1) drawn with ``key``:
    x = data[s : s + context], y = data[s + 1 : s + context + 1], both int32 of shape (batch, context)."""
    _data(data, context)
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    data = jnp.asarray(data)
    starts = jax.random.randint(key, (batch,), 0, data.shape[0] - context - 1)
    w = jax.vmap(lambda s: jax.lax.dynamic_slice(data, (s,), (context + 1,)))(starts).astype(jnp.int32)
    return w[:, :-1], w[:, 1:]


def eval_windows(data, n, context):
    """``n`` evenly spaced, fixed windows (x, y) covering ``data`` (a deterministic validation set)."""
    _data(data, context)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    starts = np.linspace(0, np.shape(data)[0] - context - 1, n).astype(np.int64)
    w = np.stack([np.asarray(data)[s:s + context + 1] for s in starts]).astype(np.int32)
    return w[:, :-1], w[:, 1:]


@functools.partial(jax.jit, static_argnames=("cfg", "chunk"))
def evaluate(params, x, y, cfg: Config, chunk=64):
    """Mean cross-entropy over the windows (x, y), computed ``chunk`` windows at a time."""
    n = x.shape[0]
    if n % chunk:
        chunk = n
    xs, ys = x.reshape(-1, chunk, x.shape[1]), y.reshape(-1, chunk, y.shape[1])
    return jax.lax.map(lambda a: loss(params, a[0], a[1], cfg), (xs, ys)).mean()


def generate(params, prompt, n_new, cfg: Config, *, temperature=0.0, key=None):
    """Continue ``prompt`` (bytes or str) by ``n_new`` bytes: greedy (argmax) at ``temperature`` 0, else sampled
    from softmax(z/temperature) with ``key``. The model sees the last ``cfg.context`` bytes (one compiled shape:
    a shorter prefix is right-padded, which the causal mask makes invisible). Returns bytes."""
    _check(cfg)
    prompt = prompt.encode() if isinstance(prompt, str) else bytes(prompt)
    if not prompt:
        raise ValueError("prompt must hold at least one byte")
    if not isinstance(n_new, (int, np.integer)) or n_new < 0:
        raise ValueError(f"n_new must be a non-negative integer, got {n_new!r}")
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number ≥ 0, got {temperature!r}")
    if temperature > 0 and key is None:
        raise ValueError("temperature > 0 samples: pass a jax.random key")
    T = cfg.context
    step = jax.jit(lambda p, w, i: forward(p, w[None], cfg)[0, i])
    out = list(prompt)
    for j in range(n_new):
        w = out[-T:]
        i = len(w) - 1
        z = step(params, jnp.asarray(w + [0] * (T - len(w)), jnp.int32), i)
        if temperature == 0:
            out.append(int(jnp.argmax(z)))
        else:
            out.append(int(jax.random.categorical(jax.random.fold_in(key, j), z / temperature)))
    return bytes(out)


# ------------------------------------------------------------------------------- optimizer plumbing
def is_matrix(path, x):
    """True for the hidden 2-D weights W_Q, W_K, W_V, W_O, W_1, W_2 (``path`` = ``jax.tree_util.keystr`` of the
    leaf); False for the embedding, positions, head, gains and biases. Usable as ``muon(predicate=is_matrix)``."""
    return np.ndim(x) == 2 and path.startswith("['blocks']")


def partition(params):
    """The pytree of booleans :func:`is_matrix` gives each leaf (True: Muon/Shampoo, False: AdamW)."""
    return jax.tree_util.tree_map_with_path(lambda p, x: is_matrix(jax.tree_util.keystr(p), x), params)


class PartitionedState(NamedTuple):
    matrix: Any   # the matrix optimizer's state on the selected leaves (a list, in leaf order)
    other: Any    # the other optimizer's state on the rest
    k: Any        # steps taken


def partitioned(matrix_opt: Optimizer, other_opt: Optimizer, predicate=is_matrix) -> Optimizer:
    """One optimizer that runs ``matrix_opt`` on the leaves where ``predicate(path, x)`` holds and ``other_opt``
    on the others (optax ``multi_transform`` with two labels). Each sees a list of its leaves."""
    for name, o in (("matrix_opt", matrix_opt), ("other_opt", other_opt)):
        if not isinstance(o, Optimizer):
            raise ValueError(f"{name} must be an Optimizer (from utils.adaptive), got {o!r}")

    def split(params):
        flat = jax.tree_util.tree_flatten_with_path(params)[0]
        sel = [bool(predicate(jax.tree_util.keystr(p), x)) for p, x in flat]
        return [i for i, s in enumerate(sel) if s], [i for i, s in enumerate(sel) if not s]

    def init(params):
        xs = jax.tree.leaves(params)
        a, b = split(params)
        return PartitionedState(matrix_opt.init([xs[i] for i in a]), other_opt.init([xs[i] for i in b]), 0)

    def step(params, grads, state):
        _check_tree(params, grads)
        xs, treedef = jax.tree.flatten(params)
        gs = jax.tree.leaves(grads)
        a, b = split(params)
        new = list(xs)
        pa, sa = matrix_opt.step([xs[i] for i in a], [gs[i] for i in a], state.matrix)
        pb, sb = other_opt.step([xs[i] for i in b], [gs[i] for i in b], state.other)
        for i, x in zip(a + b, list(pa) + list(pb)):
            new[i] = x
        return treedef.unflatten(new), PartitionedState(sa, sb, state.k + 1)

    return Optimizer(init, step)


class MomentumState(NamedTuple):
    inner: Any   # the wrapped optimizer's state
    u: Any       # u_k, the running average of its updates
    k: Any       # steps taken


def update_momentum(inner: Optimizer, beta=0.9) -> Optimizer:
    r"""Momentum on another optimizer's *update*: with Δ_k = step(x_k, g_k) − x_k the inner update,

    .. math::  u_{k+1} = \beta u_k + (1 - \beta)\Delta_k, \qquad x_{k+1} = x_k + u_{k+1}, \quad u_0 = 0.

    Shampoo as deployed (Anil et al. 2020; the ``distributed_shampoo`` β₁) averages its preconditioned, grafted
    step this way, while :func:`utils.shampoo.shampoo` has no momentum of its own. The (1 − β) keeps the step's
    scale (the reference code omits it and uses a 1/(1 − β) smaller η)."""
    beta = _beta("beta", beta)

    def init(params):
        return MomentumState(inner.init(params), jax.tree.map(jnp.zeros_like, params), 0)

    def step(params, grads, state):
        new, s = inner.step(params, grads, state.inner)
        u = jax.tree.map(lambda u_, n, x: beta * u_ + (1 - beta) * (n - x), state.u, new, params)
        return jax.tree.map(lambda x, u_: x + u_, params, u), MomentumState(s, u, state.k + 1)

    return Optimizer(init, step)


def make_train_step(make_opt, shape, cfg: Config, *, decay=is_matrix, compiler_options=None):
    """One jitted training step, compiled once for every (η, λ) of a tuning run:
    ``step(params, opt_state, x, y, eta, lam) -> (params, opt_state, loss)``.

    ``make_opt(schedule)`` builds an optimizer without weight decay; the step size is η_k = ``eta``·``shape(k)``
    and decoupled decay x ← x − η_k λ x is applied to the leaves where ``decay(path, x)`` holds (default: the
    hidden matrices, not embeddings, gains or biases, as nanoGPT does), so (η, λ) are traced and a new trial
    does not recompile. The optimizer state must count steps in ``k``. As ``utils.resnet.make_train_step``."""
    _check(cfg)

    def step(params, opt_state, x, y, eta, lam):
        sched = lambda k: eta * shape(k)                                    # noqa: E731
        value, g = jax.value_and_grad(loss)(params, x, y, cfg)
        new, new_state = make_opt(sched).step(params, g, opt_state)
        lr = sched(opt_state.k)
        new = jax.tree_util.tree_map_with_path(
            lambda p, n, x_: n - (lr * lam) * x_ if decay(jax.tree_util.keystr(p), x_) else n, new, params)
        return new, new_state, value

    return jax.jit(step, compiler_options=compiler_options)


# ------------------------------------------------------------------------------------------- data
SLICE_PLAYS = {  # file: sha256 (utils/data/shakespeare/README.md gives the source and licence)
    "coriolanus": "c4f748c8d386f98db9d39e6cbac69913c940653a222eb847b608be64e4d66aeb",
    "hamlet": "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a",
    "julius_caesar": "ee8ca8e9edb603625af98acb395fdd8c1a1697b064444a989dc21817b73ca7b5",
    "lear": "7ac00e23da6e4874b715b3c3c0c1cdc442bc790eb6ac3f39c0610052e5e636fa",
    "othello": "12c32a0e148c3a2f4d9bb5710198f18cd04a5f8197f8cbeb25ca482174382d3d",
    "romeo_and_juliet": "6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4",
    "macbeth": "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7",
}
VAL_PLAY = "macbeth"


def load_shakespeare(source="slice", *, val_fraction=0.1, cache_dir=None, progress=True):
    """Byte arrays ``{"train": uint8, "val": uint8, "source": str}``.

    * ``source="slice"`` (offline, committed): seven tragedies from the ``shakespeare`` 0.6 package (Project
      Gutenberg texts, public domain), each checked against its sha256; training text = the six plays before
      Macbeth joined by blank lines, validation text = Macbeth (a held-out play). ``val_fraction`` is unused.
    * ``source="tiny_shakespeare"``: char-rnn's 1,115,394-byte ``input.txt`` through
      :func:`utils.datasets.load_tiny_shakespeare` (downloaded once, sha256-checked; offline and uncached it
      raises :class:`utils.datasets.DatasetUnavailableError` saying where to put the file); the last
      ``val_fraction`` of the bytes is validation, as in nanoGPT.
    """
    from .. import datasets

    if source == "slice":
        folder = Path(__file__).resolve().parents[1] / "data" / "shakespeare"   # utils/data/shakespeare
        texts = {}
        for name, digest in SLICE_PLAYS.items():
            path = folder / f"{name}.txt"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: the committed Shakespeare slice ships with the "
                                        "repository (install it with its package data or use a checkout)")
            if datasets.file_digest(path) != digest:
                raise datasets.ChecksumError(f"{path} has changed: sha256 {datasets.file_digest(path)}, "
                                             f"expected {digest}")
            texts[name] = path.read_bytes()
        train = b"\n\n".join(t for n, t in texts.items() if n != VAL_PLAY)
        return {"train": np.frombuffer(train, np.uint8).copy(),
                "val": np.frombuffer(texts[VAL_PLAY], np.uint8).copy(),
                "source": f"seven Shakespeare tragedies (utils/data/shakespeare), validation = {VAL_PLAY}"}
    if source == "tiny_shakespeare":
        if not (isinstance(val_fraction, float) and 0.0 < val_fraction < 1.0):
            raise ValueError(f"val_fraction must be a float in (0, 1), got {val_fraction!r}")
        raw = np.frombuffer(datasets.load_tiny_shakespeare(cache_dir=cache_dir, progress=progress).encode("utf-8"),
                            np.uint8).copy()
        cut = int(round(len(raw) * (1 - val_fraction)))
        return {"train": raw[:cut], "val": raw[cut:], "source": "TinyShakespeare (char-rnn input.txt)"}
    raise ValueError(f"source must be 'slice' or 'tiny_shakespeare', got {source!r}")
