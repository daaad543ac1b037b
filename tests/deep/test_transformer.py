"""The week-6 lab's byte-level transformer: causality, the loss at initialization, gradients against finite
differences, memorization of a tiny sequence, the optimizer plumbing, the committed data and bad input."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from utils import adaptive, datasets, muon, schedules
from utils import transformer as tf

jax.config.update("jax_enable_x64", True)

TINY = tf.Config(vocab=256, d=16, n_layers=2, n_heads=2, context=12)


def _params(cfg, seed=0):
    return tf.init(jax.random.key(seed), cfg, dtype=jnp.float64)


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("tie", [True, False])
def test_changing_future_bytes_leaves_earlier_logits_unchanged(positions, tie):
    cfg = TINY._replace(positions=positions, tie=tie)
    p = _params(cfg)
    g = np.random.default_rng(0)
    x = g.integers(0, 256, (3, cfg.context))
    z = tf.forward(p, jnp.asarray(x), cfg)
    for t in (0, 5, cfg.context - 2):
        x2 = x.copy()
        x2[:, t + 1:] = g.integers(0, 256, x2[:, t + 1:].shape)
        z2 = tf.forward(p, jnp.asarray(x2), cfg)
        scale = float(jnp.max(jnp.abs(z)))
        assert float(jnp.max(jnp.abs(z2[:, :t + 1] - z[:, :t + 1]))) <= 1e-12 * scale
        assert float(jnp.max(jnp.abs(z2[:, t + 1:] - z[:, t + 1:]))) > 1e-6 * scale   # the future does change


def test_rotary_scores_depend_on_the_offset_only():
    q = jax.random.normal(jax.random.key(1), (1, 1, 1, 8), jnp.float64)
    k = jax.random.normal(jax.random.key(2), (1, 1, 1, 8), jnp.float64)
    T = 10
    Q, K = tf._rotary(jnp.broadcast_to(q, (1, T, 1, 8))), tf._rotary(jnp.broadcast_to(k, (1, T, 1, 8)))
    S = np.asarray(jnp.einsum("bthd,bshd->ts", Q, K))
    for off in (0, 1, 3):
        diag = np.diagonal(S, -off)
        assert np.ptp(diag) <= 1e-12 * np.max(np.abs(S))
    assert np.ptp([S[t, t - 1] for t in range(1, T)] + [S[0, 0]]) > 1e-6   # different offsets differ


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_loss_at_initialization_is_close_to_log_256(positions):
    cfg = tf.Config(d=64, n_layers=2, n_heads=4, context=32, positions=positions)
    p = _params(cfg)
    x = jax.random.randint(jax.random.key(3), (8, 32), 0, 256)
    y = jax.random.randint(jax.random.key(4), (8, 32), 0, 256)
    # logits ≈ N(0, s²) with s = 0.02·√d = 0.16 give E ℓ ≈ log V + s²/2 = log V + 0.013
    assert abs(float(tf.loss(p, x, y, cfg)) - math.log(256)) < 0.05


def test_gradient_matches_central_differences():
    cfg = tf.Config(vocab=256, d=8, n_layers=1, n_heads=2, context=5, tie=False)
    p = _params(cfg)
    x = jax.random.randint(jax.random.key(5), (2, 5), 0, 256)
    y = jax.random.randint(jax.random.key(6), (2, 5), 0, 256)
    f = lambda q: tf.loss(q, x, y, cfg)                                         # noqa: E731
    g = jax.grad(f)(p)
    leaves, treedef = jax.tree.flatten(p)
    rng = np.random.default_rng(7)
    for _ in range(3):
        v = [rng.standard_normal(np.shape(a)) for a in leaves]
        nv = math.sqrt(sum(float(np.sum(a * a)) for a in v))
        v = treedef.unflatten([jnp.asarray(a / nv) for a in v])             # a unit direction
        h = 1e-4
        plus = jax.tree.map(lambda a, b: a + h * b, p, v)
        minus = jax.tree.map(lambda a, b: a - h * b, p, v)
        fd = (float(f(plus)) - float(f(minus))) / (2 * h)
        an = sum(float(jnp.vdot(a, b)) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(v)))
        gnorm = math.sqrt(sum(float(jnp.vdot(a, a)) for a in jax.tree.leaves(g)))
        # truncation h²|f'''|/6 ~ 1e-9 and rounding ε|f|/h ~ 1e-11 for a unit direction; a wrong gradient
        # component would be off by O(‖∇f‖)
        assert abs(fd - an) <= 1e-6 * gnorm, (fd, an, gnorm)


def test_overfits_one_short_sequence():
    cfg = tf.Config(d=32, n_layers=1, n_heads=2, context=16)
    text = np.frombuffer(b"To be, or not to be: that is it.", np.uint8)
    x, y = jnp.asarray(text[None, :16], jnp.int32), jnp.asarray(text[None, 1:17], jnp.int32)
    p = tf.init(jax.random.key(0), cfg)
    opt = adaptive.adam(1e-2)
    s = opt.init(p)

    @jax.jit
    def step(p, s):
        v, g = jax.value_and_grad(tf.loss)(p, x, y, cfg)
        p, s = opt.step(p, g, s)
        return p, s, v
    for _ in range(150):
        p, s, v = step(p, s)
    assert float(tf.loss(p, x, y, cfg)) < 0.05 < math.log(256) / 10 < float(tf.loss(tf.init(jax.random.key(0), cfg), x, y, cfg))
    assert tf.generate(p, text[:1].tobytes(), 15, cfg) == text[:16].tobytes()  # greedy decoding replays it


def test_sample_batch_windows_are_shifted_copies_of_the_data():
    data = np.arange(200, dtype=np.uint8)
    x, y = tf.sample_batch(jax.random.key(0), data, 7, 10)
    assert x.shape == y.shape == (7, 10) and x.dtype == jnp.int32
    assert np.array_equal(np.asarray(y[:, :-1]), np.asarray(x[:, 1:]))
    for row in np.asarray(x):
        assert np.array_equal(row, data[row[0]:row[0] + 10])
    x2, _ = tf.sample_batch(jax.random.key(0), data, 7, 10)
    assert np.array_equal(np.asarray(x), np.asarray(x2))                        # the key decides the batch
    xv, yv = tf.eval_windows(data, 5, 10)
    assert xv.shape == (5, 10) and xv[0, 0] == 0 and yv[-1, -1] == 199


def test_partition_selects_the_hidden_matrices():
    cfg = TINY._replace(tie=False)
    p = _params(cfg)
    flat = jax.tree_util.tree_flatten_with_path(tf.partition(p))[0]
    chosen = sorted(jax.tree_util.keystr(k) for k, v in flat if v)
    assert len(chosen) == 6 * cfg.n_layers
    assert all(any(w in c for w in ("'wq'", "'wk'", "'wv'", "'wo'", "'w1'", "'w2'")) for c in chosen)
    assert not any(v for k, v in flat if "embed" in jax.tree_util.keystr(k) or "head" in jax.tree_util.keystr(k))


def test_partitioned_equals_each_optimizer_on_its_leaves():
    p = _params(TINY)
    g = jax.tree.map(lambda a: jnp.cos(3.0 * a) + 0.1, p)
    opt = tf.partitioned(muon.muon(0.02, adam=None, predicate=lambda path, x: True), adaptive.adamw(0.01))
    new, _ = opt.step(p, g, opt.init(p))
    mu_ref = muon.muon(0.02, predicate=tf.is_matrix, adam=adaptive.adamw(0.01))   # Muon's own split
    ref, _ = mu_ref.step(p, g, mu_ref.init(p))
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_update_momentum_averages_the_inner_steps():
    x = jnp.array([1.0, -2.0])
    opt = tf.update_momentum(adaptive.sgd(0.1), beta=0.5)
    s = opt.init(x)
    x1, s = opt.step(x, jnp.array([1.0, 1.0]), s)         # Δ = −0.1·g: u = 0.5·Δ
    np.testing.assert_allclose(x1, x - 0.05, rtol=1e-15)
    x2, s = opt.step(x1, jnp.array([1.0, 1.0]), s)        # u = 0.5·(−0.05) + 0.5·(−0.1)
    np.testing.assert_allclose(x2, x1 - 0.075, rtol=1e-15)


def test_train_step_decays_the_matrices_only_and_matches_muon_weight_decay():
    cfg = TINY
    p = _params(cfg)
    data = np.frombuffer(b"Is this a dagger which I see before me, the handle toward my hand?" * 3, np.uint8)
    x, y = tf.sample_batch(jax.random.key(0), data, 4, cfg.context)
    shape = schedules.warmup_cosine_schedule(1.0, 2, 10)
    make = lambda s: muon.muon(s, predicate=tf.is_matrix, adam=adaptive.adamw(s, weight_decay=0.0))  # noqa: E731
    step = tf.make_train_step(make, shape, cfg)
    ref = muon.muon(schedules.warmup_cosine_schedule(0.02, 2, 10), predicate=tf.is_matrix, weight_decay=0.3,
                    adam=adaptive.adamw(schedules.warmup_cosine_schedule(0.02, 2, 10), weight_decay=0.0))
    p1, s1, p2, s2 = p, make(shape).init(p), p, ref.init(p)
    for _ in range(3):
        p1, s1, _ = step(p1, s1, x, y, 0.02, 0.3)
        p2, s2 = ref.step(p2, jax.grad(tf.loss)(p2, x, y, cfg), s2)
    for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p2)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_committed_slice_loads_with_its_checksums():
    d = tf.load_shakespeare()
    assert d["train"].dtype == np.uint8 and len(d["train"]) == 903321 + 5 * 2 and len(d["val"]) == 103427
    assert d["val"][:7].tobytes() == b"MACBETH" and b"Coriolanus" in d["train"][:2000].tobytes()
    assert int(d["train"].max()) < 128                                          # plain ASCII
    assert datasets.file_digest(tf.Path(tf.__file__).resolve().parents[1] / "data" / "shakespeare" / "macbeth.txt") == \
        tf.SLICE_PLAYS["macbeth"]


def test_tiny_shakespeare_goes_through_the_checksummed_loader(monkeypatch):
    def offline(**kw):
        raise datasets.DatasetUnavailableError("offline")
    monkeypatch.setattr(datasets, "load_tiny_shakespeare", offline)
    with pytest.raises(datasets.DatasetUnavailableError):
        tf.load_shakespeare("tiny_shakespeare")
    monkeypatch.setattr(datasets, "load_tiny_shakespeare", lambda **kw: "abcdefghij")
    d = tf.load_shakespeare("tiny_shakespeare", val_fraction=0.2)
    assert d["train"].tobytes() == b"abcdefgh" and d["val"].tobytes() == b"ij"


def test_bad_input_raises_value_error():
    p = _params(TINY)
    good = jnp.zeros((1, 4), jnp.int32)
    with pytest.raises(ValueError, match="divisible"):
        tf.init(jax.random.key(0), tf.Config(d=10, n_heads=3))
    with pytest.raises(ValueError, match="positions"):
        tf.init(jax.random.key(0), tf.Config(positions="sinusoidal"))
    with pytest.raises(ValueError, match="n_layers"):
        tf.init(jax.random.key(0), tf.Config(n_layers=0))
    with pytest.raises(ValueError, match="context"):
        tf.forward(p, jnp.zeros((1, TINY.context + 1), jnp.int32), TINY)
    with pytest.raises(ValueError, match="integers"):
        tf.forward(p, jnp.zeros((1, 4)), TINY)
    with pytest.raises(ValueError, match="batch, time"):
        tf.forward(p, jnp.zeros(4, jnp.int32), TINY)
    with pytest.raises(ValueError, match=r"\[0, 256\)"):
        tf.forward(p, good.at[0, 0].set(300), TINY)
    with pytest.raises(ValueError, match="same shape"):
        tf.loss(p, good, jnp.zeros((1, 3), jnp.int32), TINY)
    with pytest.raises(ValueError, match="bytes"):
        tf.sample_batch(jax.random.key(0), np.zeros(10, np.uint8), 2, 9)
    with pytest.raises(ValueError, match="1-D"):
        tf.sample_batch(jax.random.key(0), np.zeros((10, 10), np.uint8), 2, 4)
    with pytest.raises(ValueError, match="batch"):
        tf.sample_batch(jax.random.key(0), np.zeros(100, np.uint8), 0, 4)
    with pytest.raises(ValueError, match="temperature"):
        tf.generate(p, "a", 3, TINY, temperature=-1.0)
    with pytest.raises(ValueError, match="key"):
        tf.generate(p, "a", 3, TINY, temperature=0.5)
    with pytest.raises(ValueError, match="source"):
        tf.load_shakespeare("gutenberg")
    with pytest.raises(ValueError, match="Optimizer"):
        tf.partitioned("adamw", adaptive.adamw())
    with pytest.raises(ValueError, match="beta"):
        tf.update_momentum(adaptive.sgd(0.1), beta=1.0)
