"""Shared test data and checks for the pytree optimizers (tests/stochastic/test_adaptive.py,
tests/deep/test_schedule_free.py, tests/deep/test_shampoo.py, tests/deep/test_soap.py, tests/deep/test_muon.py).

A pytree driven by the gradient of a noisy separable quadratic, g_k(x) = c ⊙ x + s_k ξ_k, with c ∈ [0.5, 5] per
entry, ξ_k standard normal and s_k = exp(spread · z_k); everything drawn once from the seed, in this order: x₀, c,
s, ξ_0 … ξ_{K−1}. The default tree has dict, tuple and list nodes and leaves of shapes (4, 3), (3,), (2, 2, 2),
(5,), (); ``shapes`` (a dict name -> shape) gives a flat dict instead.
"""
import jax
import numpy as np

RTOL = 1e-12       # both test files: the derivation is in their docstrings


def _tree(rng, draw):
    return {"w": draw(rng, (4, 3)), "b": draw(rng, (3,)),
            "blocks": (draw(rng, (2, 2, 2)), [draw(rng, (5,)), draw(rng, ())])}


def noisy_quadratic(K, seed=0, *, shapes=None, spread=0.7):
    """(x₀, c, [s_k ξ_k for k < K]) as pytrees of NumPy arrays. ``seed``: an int, or a ``Generator`` that is drawn
    from (its state advances, so a test module can keep drawing its own data after this)."""
    rng = np.random.default_rng(seed)
    tree = _tree if shapes is None else (lambda r, draw: {k: draw(r, s) for k, s in shapes.items()})
    x0 = tree(rng, lambda r, s: np.asarray(r.standard_normal(s)))
    curv = tree(rng, lambda r, s: np.asarray(r.uniform(0.5, 5.0, s)))
    scale = np.exp(spread * rng.standard_normal(K))
    noise = [jax.tree.map(lambda a, s=s: s * a, tree(rng, lambda r, sh: np.asarray(r.standard_normal(sh))))
             for s in scale]
    return x0, curv, noise


def run(opt, x, gradient, steps):
    """The iterates x_1 … x_steps of ``opt`` from x with gradients ``gradient(x, k)``, as NumPy copies."""
    s, out = opt.init(x), []
    for k in range(steps):
        x, s = opt.step(x, gradient(x, k), s)
        out.append(jax.tree.map(np.array, x))
    return out


def gradient(curv, noise):
    """g_k(x) = c ⊙ x + s_k ξ_k (NumPy or JAX leaves, whichever x has)."""
    return lambda x, k: jax.tree.map(lambda c, x_, n: c * x_ + n, curv, x, noise[k])


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in jax.tree.leaves(tree)])


def close(got, want, rtol=RTOL):
    """assert_allclose with ATOL = rtol · max(1, max|want|): the tests' tolerance scaled to the data."""
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.max(np.abs(want))))


def gap(a, b, rtol=RTOL):
    """max |a − b| in units of ATOL = rtol · max(1, max|b|): > 1000 means far beyond rounding."""
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / (rtol * max(1.0, np.max(np.abs(b))))


def rejects_mismatched_trees(opt, x0):
    """The three bad-pytree errors every matrix optimizer raises (tests/deep/test_muon.py,
    tests/deep/test_shampoo.py, tests/deep/test_soap.py), on ``x0`` with matrix leaves ``w1``, ``w2`` and a
    vector ``b``: grads with a leaf missing, grads with a leaf of the wrong shape, and a state built for another tree."""
    import pytest

    x = {"w1": x0["w1"], "b": x0["b"]}
    s = opt.init(x)
    with pytest.raises(ValueError, match="grads"):
        opt.step(x, {"w1": x0["w1"]}, s)
    with pytest.raises(ValueError, match="grads"):
        opt.step(x, {"w1": x0["w1"].T, "b": x0["b"]}, s)
    y = {"w1": x0["w1"], "w2": x0["w2"], "b": x0["b"]}
    with pytest.raises(ValueError, match="state"):
        opt.step(y, y, s)
    return x, s
