"""Landscape tools: filter normalization, slices and interpolation against closed forms, HVP against the
dense Hessian."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from utils.landscape import (hessian_matvec, interpolate, interpolation_barrier, random_direction, slice_1d,
                             slice_2d)
from utils.problems import logistic_regression


def _params(seed=0):
    g = np.random.default_rng(seed)
    return {"dense": {"W": g.standard_normal((5, 3)), "b": g.standard_normal(3)},
            "conv": g.standard_normal((3, 3, 2, 4)),          # flax layout (h, w, in, out)
            "scale": np.array(1.7)}


def _mlp_loss(params):
    x = jnp.linspace(-1.0, 1.0, 12).reshape(6, 2)
    y = jnp.sin(3.0 * x[:, 0]) * x[:, 1]
    h = jnp.tanh(x @ params["W1"] + params["b1"])
    return jnp.mean((h @ params["w2"] - y) ** 2)


def _mlp_params(seed):
    g = np.random.default_rng(seed)
    return {"W1": g.standard_normal((2, 4)), "b1": g.standard_normal(4), "w2": g.standard_normal(4)}


# ------------------------------------------------------------------------------------ filter normalization
def test_filter_normalized_direction_has_the_parameters_filter_norms():
    p = _params()
    d = random_direction(p, 3)
    W, dW = p["dense"]["W"], np.asarray(d["dense"]["W"])
    np.testing.assert_allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(W, axis=0), rtol=1e-12)  # per unit
    np.testing.assert_allclose(np.sqrt((np.asarray(d["conv"]) ** 2).sum((0, 1, 2))),
                               np.sqrt((p["conv"] ** 2).sum((0, 1, 2))), rtol=1e-12)             # per filter
    assert np.all(np.asarray(d["dense"]["b"]) == 0) and float(d["scale"]) == 0.0                  # Li et al.
    assert not np.allclose(dW / np.linalg.norm(dW, axis=0), W / np.linalg.norm(W, axis=0))        # random


def test_filter_axis_zero_is_the_pytorch_layout_and_one_d_normalize_scales_whole_arrays():
    p = _params()
    d = random_direction(p, 3, filter_axis=0, one_d="normalize")
    np.testing.assert_allclose(np.linalg.norm(np.asarray(d["dense"]["W"]), axis=1),
                               np.linalg.norm(p["dense"]["W"], axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(d["dense"]["b"])), np.linalg.norm(p["dense"]["b"]),
                               rtol=1e-12)
    np.testing.assert_allclose(abs(float(d["scale"])), 1.7, rtol=1e-12)


def test_flat_vector_zero_filters_seeds_and_raw_directions():
    x = np.array([3.0, -4.0, 0.0])
    d = random_direction(x, 1, one_d="normalize")
    np.testing.assert_allclose(np.linalg.norm(np.asarray(d)), 5.0, rtol=1e-12)
    W = np.array([[1.0, 0.0], [2.0, 0.0]])                     # second unit is zero → zero direction
    assert np.all(np.asarray(random_direction(W, 0))[:, 1] == 0)
    raw = random_direction(x, 7, filter_normalize=False)      # an int seeds NumPy's generator
    np.testing.assert_array_equal(np.asarray(raw), np.random.default_rng(7).standard_normal(3))
    key = jax.random.key(7)                                    # a key: jax.random, one split per leaf
    np.testing.assert_array_equal(np.asarray(random_direction(x, key, filter_normalize=False)),
                                  np.asarray(jax.random.normal(jax.random.split(key, 1)[0], (3,), jnp.float64)))
    assert not np.allclose(np.asarray(raw), np.asarray(random_direction(x, 8, filter_normalize=False)))


@pytest.mark.parametrize("kwargs, match", [
    ({"key_or_seed": -1}, "key_or_seed"), ({"key_or_seed": 1.5}, "key_or_seed"),
    ({"key_or_seed": 0, "one_d": "drop"}, "one_d"),
])
def test_random_direction_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_direction(_params(), **kwargs)


def test_all_one_d_params_with_zeroed_biases_raise():
    with pytest.raises(ValueError, match="one_d"):
        random_direction(np.ones(4), 0)
    with pytest.raises(ValueError, match="floating"):
        random_direction(np.arange(4), 0, one_d="normalize")


# ------------------------------------------------------------------------------------------------- slices
@pytest.fixture(scope="module")
def quad():
    """f(θ) = ½ θᵀAθ − bᵀθ on the flattened pytree θ, and its closed-form slices."""
    p = _params(1)
    flat, unravel = ravel_pytree(p)
    g = np.random.default_rng(2)
    M = g.standard_normal((flat.size, flat.size))
    A, b = M @ M.T / flat.size + np.eye(flat.size), g.standard_normal(flat.size)

    def loss(theta):
        x = ravel_pytree(theta)[0]
        return 0.5 * x @ (A @ x) - b @ x

    return p, loss, A, b


def test_slice_1d_matches_the_closed_form_on_a_quadratic(quad):
    p, loss, A, b = quad
    x = np.asarray(ravel_pytree(p)[0])
    d = random_direction(p, 4, one_d="normalize")
    v = np.asarray(ravel_pytree(d)[0])
    a = np.linspace(-2.0, 3.0, 11)
    f0, gd, dAd = 0.5 * x @ A @ x - b @ x, (A @ x - b) @ v, v @ A @ v
    batched = slice_1d(loss, p, d, a, batch_size=4)          # 11 points in batches of 4: a ragged last batch
    np.testing.assert_allclose(batched, f0 + a * gd + 0.5 * a ** 2 * dAd, rtol=1e-12)
    np.testing.assert_allclose(slice_1d(loss, p, d, a, batch_size=None), batched, rtol=1e-14)


def test_slice_2d_matches_the_closed_form_on_a_quadratic(quad):
    p, loss, A, b = quad
    x = np.asarray(ravel_pytree(p)[0])
    d1, d2 = random_direction(p, 5), random_direction(p, 6)
    u, w = (np.asarray(ravel_pytree(d)[0]) for d in (d1, d2))
    a, bb = np.linspace(-1.0, 1.0, 7), np.linspace(-0.5, 2.0, 4)
    Z = slice_2d(loss, p, d1, d2, a, bb, batch_size=5)
    assert Z.shape == (4, 7)
    r = A @ x - b
    B, Aa = np.meshgrid(bb, a, indexing="ij")
    expected = (0.5 * x @ A @ x - b @ x + Aa * (r @ u) + B * (r @ w)
                + 0.5 * (Aa ** 2 * (u @ A @ u) + 2 * Aa * B * (u @ A @ w) + B ** 2 * (w @ A @ w)))
    np.testing.assert_allclose(Z, expected, rtol=1e-12)


def test_2d_slice_of_a_convex_loss_is_convex_along_lines():
    g = np.random.default_rng(0)
    X = g.standard_normal((80, 6))
    y = np.where(X @ g.standard_normal(6) + 0.5 * g.standard_normal(80) > 0, 1.0, -1.0)
    prob = logistic_regression(X, y, lam=1e-2)
    x_star = jnp.asarray(prob.x_star)
    d1 = random_direction(x_star, 1, one_d="normalize")
    d2 = random_direction(x_star, 2, one_d="normalize")
    t = np.linspace(-3.0, 3.0, 31)
    Z = slice_2d(prob.f, x_star, d1, d2, t, t)
    tol = 1e-12 * np.abs(Z).max()
    for lines in (Z, Z.T, np.array([np.diagonal(Z, k) for k in range(-5, 6)], dtype=object)):
        for z in lines:                                       # rows, columns, diagonals: equally spaced points
            z = np.asarray(z, dtype=float)
            assert np.all(z[:-2] - 2 * z[1:-1] + z[2:] >= -tol)
    assert Z[15, 15] == pytest.approx(prob.f_star, rel=1e-12)  # the centre of the grid is θ itself
    assert Z.min() >= prob.f_star - 1e-12                      # …and the minimum


def test_slices_reject_bad_grids_and_directions(quad):
    p, loss, *_ = quad
    d = random_direction(p, 0)
    with pytest.raises(ValueError, match="alphas"):
        slice_1d(loss, p, d, [0.0, np.nan])
    with pytest.raises(ValueError, match="betas"):
        slice_2d(loss, p, d, d, [0.0], [])
    with pytest.raises(ValueError, match="direction"):
        slice_1d(loss, p, {"dense": d["dense"]}, [0.0])
    with pytest.raises(ValueError, match="d2"):
        slice_2d(loss, p, d, np.zeros(3), [0.0], [0.0])
    with pytest.raises(ValueError, match="batch_size"):
        slice_1d(loss, p, d, [0.0], batch_size=0)


# ----------------------------------------------------------------------------------------- interpolation
def test_interpolation_endpoints_are_the_losses_at_the_endpoints():
    t0, t1 = _mlp_params(0), _mlp_params(1)
    vals = interpolate(_mlp_loss, t0, t1, np.linspace(0.0, 1.0, 9))
    loss = jax.jit(_mlp_loss)
    np.testing.assert_allclose(vals[[0, -1]], [float(loss(t0)), float(loss(t1))], rtol=1e-14)
    mid = jax.tree.map(lambda a, b: 0.5 * a + 0.5 * b, t0, t1)
    assert vals[4] == pytest.approx(float(loss(mid)), rel=1e-14)


def test_interpolation_of_a_quadratic_and_its_barrier():
    f = lambda x: (x[0] ** 2 - 1.0) ** 2 + x[1] ** 2           # two minima at (±1, 0), a bump of height 1
    a = np.linspace(0.0, 1.0, 101)
    vals = interpolate(f, np.array([-1.0, 0.0]), np.array([1.0, 0.0]), a)
    np.testing.assert_allclose(vals, ((2 * a - 1) ** 2 - 1) ** 2, atol=1e-14)
    assert interpolation_barrier(a, vals) == pytest.approx(1.0, abs=1e-14)
    convex = interpolate(lambda x: x @ x, np.array([-1.0, 2.0]), np.array([3.0, 0.5]), a)
    assert abs(interpolation_barrier(a, convex)) <= 1e-12     # convex along the segment: under the chord
    ext = np.linspace(-0.5, 1.5, 9)                           # points outside [0, 1] do not count
    assert interpolation_barrier(ext, -(ext - 0.5) ** 2) == pytest.approx(0.25)


def test_interpolation_barrier_bad_arguments():
    with pytest.raises(ValueError, match="endpoints"):
        interpolation_barrier([0.0, 0.5], [1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        interpolation_barrier([0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="theta1"):
        interpolate(_mlp_loss, _mlp_params(0), np.zeros(3), [0.0, 1.0])


# ---------------------------------------------------------------------------------------------------- HVP
def test_hessian_matvec_equals_the_dense_hessian_on_a_pytree():
    p = _mlp_params(3)
    matvec, n = hessian_matvec(_mlp_loss, p)
    flat, unravel = ravel_pytree(p)
    H = np.asarray(jax.jit(jax.hessian(lambda x: _mlp_loss(unravel(x))))(flat))
    assert n == 16 == H.shape[0]
    V = np.random.default_rng(0).standard_normal((n, 3))
    np.testing.assert_allclose(np.stack([np.asarray(matvec(v)) for v in V.T], 1), H @ V, rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(H)[0] < 0                       # the small MLP is nonconvex here
    with pytest.raises(ValueError, match="shape"):
        matvec(np.ones(n + 1))
