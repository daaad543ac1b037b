"""Loss-landscape tools: filter-normalized random directions, 1-D and 2-D slices, linear interpolation, and
the Hessian-vector product of a loss on a parameter pytree, flattened for the eigensolvers of the course.

Every function takes the network parameters θ as a pytree (a dict of weight arrays, a list, or one flat
vector) and a JAX-traceable ``loss(θ) -> scalar``. Slices are evaluated with ``jax.vmap`` in batches
(``jax.lax.map(..., batch_size=...)``); the compiled evaluators and the HVP are cached per ``loss`` function
and argument shapes, so new directions, centres or grids of the same sizes do not recompile (pass the same
function object, not a new ``lambda`` each time).
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["random_direction", "slice_1d", "slice_2d", "interpolate", "interpolation_barrier", "hessian_matvec"]


def _gaussian(key_or_seed, leaves):
    """One standard Gaussian draw per leaf, as float64 NumPy arrays: from ``numpy.random.default_rng(seed)``
    for an integer seed (no compilation), from ``jax.random.normal`` on ``split(key, len(leaves))`` for a key."""
    import jax
    import jax.numpy as jnp

    if isinstance(key_or_seed, (int, np.integer)) and not isinstance(key_or_seed, bool):
        if key_or_seed < 0:
            raise ValueError(f"key_or_seed must be a non-negative seed or a JAX key, got {key_or_seed!r}")
        g = np.random.default_rng(int(key_or_seed))
        return [g.standard_normal(p.shape) for p in leaves]
    if isinstance(key_or_seed, jax.Array) and (jnp.issubdtype(key_or_seed.dtype, jax.dtypes.prng_key) or (
            key_or_seed.dtype == jnp.uint32 and key_or_seed.shape == (2,))):
        keys = jax.random.split(key_or_seed, len(leaves))
        return [np.asarray(jax.random.normal(k, p.shape, p.dtype), dtype=float) for k, p in zip(keys, leaves)]
    raise ValueError(f"key_or_seed must be a non-negative int or a JAX PRNG key, got {key_or_seed!r}")


def _leaves(params, name="params"):
    import jax
    import jax.numpy as jnp

    leaves, tree = jax.tree.flatten(params)
    if not leaves:
        raise ValueError(f"{name} holds no arrays")
    leaves = [jnp.asarray(p) for p in leaves]
    if not all(jnp.issubdtype(p.dtype, jnp.floating) for p in leaves):
        raise ValueError(f"{name} must hold floating-point arrays, got {[str(p.dtype) for p in leaves]}")
    return leaves, tree


def random_direction(params, key_or_seed, *, filter_normalize=True, one_d="zero", filter_axis=-1):
    r"""A Gaussian random direction δ in parameter space, filter-normalized as in Li et al. (2018).

    .. math::  \delta_{i,j} \leftarrow \frac{\delta_{i,j}}{\|\delta_{i,j}\|}\,\|\theta_{i,j}\|

    for every filter (output unit) j of every layer i: a Gaussian direction is drawn with the shape of θ
    (``numpy.random.default_rng(seed)`` for an integer seed, ``jax.random.normal`` for a JAX key), and
    the slice of each weight array that feeds output unit j is rescaled to the Frobenius norm of the same
    slice of θ. A slice of f(θ + aδ) then moves every unit by the same *relative* amount, so slices of
    networks whose weights have different scales (or of a network and its rescaled twin) can be compared.

    Symbols ↔ arguments: θ = ``params`` (a pytree of arrays, or one flat vector); δ = the returned pytree
    (same structure, shapes and dtypes); ``filter_axis`` is the axis of a weight array (ndim ≥ 2) that indexes
    output units: −1 for JAX/flax's ``x @ W`` with W of shape (in, out) and conv kernels (h, w, in, out); 0
    for PyTorch's ``nn.Linear`` (out, in) and ``nn.Conv2d`` (out, in, h, w). Arrays with ndim ≤ 1 (biases,
    normalization scales) have no filters: ``one_d="zero"`` sets their direction to zero, as Li et al.'s
    reference code does with ``ignore="biasbn"`` (its other option copies the parameter itself into the
    direction); ``one_d="normalize"`` draws a random direction rescaled to the array's norm ‖θ‖ (a flat
    parameter vector is then one filter). ``filter_normalize=False`` returns the raw
    Gaussian draw. A filter of θ that is zero gets a zero direction.

    Reference: H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein, *Visualizing the loss landscape of neural
    nets*, NeurIPS 2018, Sec. 4 (filter normalization).

    >>> import numpy as np
    >>> theta = {"W": np.array([[3.0, 0.0], [4.0, 1.0]]), "b": np.array([1.0, 2.0])}
    >>> d = random_direction(theta, 0)
    >>> np.round(np.linalg.norm(np.asarray(d["W"]), axis=0), 4).tolist(), np.asarray(d["b"]).tolist()
    ([5.0, 1.0], [0.0, 0.0])
    """
    import jax
    import jax.numpy as jnp

    if one_d not in ("zero", "normalize"):
        raise ValueError(f"one_d must be 'zero' or 'normalize', got {one_d!r}")
    leaves, tree = _leaves(params)
    if filter_normalize and one_d == "zero" and all(p.ndim <= 1 for p in leaves):
        raise ValueError("one_d='zero' would zero every array of params (all are 1-D): use one_d='normalize' "
                         "to normalize a flat parameter vector as one filter")
    out = []
    for d, p in zip(_gaussian(key_or_seed, leaves), leaves):
        p64 = np.asarray(p, dtype=float)
        if filter_normalize:
            if p.ndim <= 1:
                d = np.zeros_like(d) if one_d == "zero" else d * (np.linalg.norm(p64) / np.linalg.norm(d))
            else:
                other = tuple(i for i in range(p.ndim) if i != filter_axis % p.ndim)
                pn = np.sqrt(np.sum(p64 ** 2, axis=other, keepdims=True))
                dn = np.sqrt(np.sum(d ** 2, axis=other, keepdims=True))
                d = d * (pn / np.where(dn > 0, dn, 1.0))
        out.append(jnp.asarray(d, dtype=p.dtype))
    return jax.tree.unflatten(tree, out)


def _grid(name, values):
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers, got shape {v.shape}")
    return v


def _same_structure(params, other, name):
    import jax

    a, b = jax.tree.structure(params), jax.tree.structure(other)
    if a != b or any(np.shape(x) != np.shape(y) for x, y in zip(jax.tree.leaves(params), jax.tree.leaves(other))):
        raise ValueError(f"{name} must have the structure and shapes of params")


def _check_batch(batch_size):
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    return None if batch_size is None else int(batch_size)


def _point_1d(loss, params, direction, a):
    import jax

    return loss(jax.tree.map(lambda p, d: p + a * d, params, direction))


def _point_2d(loss, params, dirs, ab):
    import jax

    return loss(jax.tree.map(lambda p, u, w: p + ab[0] * u + ab[1] * w, params, *dirs))


def _point_segment(loss, theta0, theta1, a):
    import jax

    return loss(jax.tree.map(lambda p, q: (1.0 - a) * p + a * q, theta0, theta1))


def _evaluate(point, loss, batch_size, base, extra, xs):
    import jax

    return jax.lax.map(lambda x: point(loss, base, extra, x), xs, batch_size=batch_size)


@functools.lru_cache(maxsize=None)
def _evaluate_jit():
    """[point(loss, base, extra, x) for x in xs], compiled once per (point, loss, batch_size) and shapes, so
    repeated slices of one loss (other directions, other centres) do not recompile."""
    import jax

    return jax.jit(_evaluate, static_argnums=(0, 1, 2))


def _map(point, loss, batch_size, base, extra, xs):
    import jax.numpy as jnp

    return np.asarray(_evaluate_jit()(point, loss, _check_batch(batch_size), base, extra, jnp.asarray(xs)),
                      dtype=float)


def slice_1d(loss, params, direction, alphas, *, batch_size=256):
    r"""The 1-D slice a ↦ f(θ + aδ) of a loss along a direction, at every a in ``alphas``.

    Symbols ↔ arguments: f = ``loss`` (JAX-traceable, pytree → scalar); θ = ``params``; δ = ``direction``
    (e.g. from :func:`random_direction`); a = ``alphas``. ``batch_size`` points are evaluated at once
    (``jax.vmap``); ``None`` evaluates all at once. Returns a NumPy array, one value per a.
    Reference: Li et al., NeurIPS 2018, Sec. 3 (1-D linear plots), Eq. (1).

    >>> import numpy as np
    >>> f = lambda x: 0.5 * (x[0] ** 2 + 10 * x[1] ** 2)
    >>> slice_1d(f, np.array([1.0, 0.0]), np.array([0.0, 1.0]), [-1.0, 0.0, 1.0]).tolist()   # ½ + 5a²
    [5.5, 0.5, 5.5]
    """
    alphas = _grid("alphas", alphas)
    _same_structure(params, direction, "direction")
    return _map(_point_1d, loss, batch_size, params, direction, alphas)


def slice_2d(loss, params, d1, d2, alphas, betas, *, batch_size=256):
    r"""The 2-D slice (a, b) ↦ f(θ + aδ + bγ) on the grid ``alphas`` × ``betas``.

    Returns Z of shape (len(betas), len(alphas)) with Z[i, j] = f(θ + a_j δ + b_i γ), the layout of
    ``np.meshgrid(alphas, betas)``, so ``plt.contour(alphas, betas, Z)`` draws it. Symbols ↔ arguments:
    f = ``loss``; θ = ``params``; δ = ``d1``; γ = ``d2`` (the lecture's η_dir; renamed here to keep η for
    the step size); a = ``alphas``; b = ``betas``. Reference: Li et al., NeurIPS 2018, Sec. 3, Eq. (2).

    >>> import numpy as np
    >>> f = lambda x: 0.5 * (x[0] ** 2 + 10 * x[1] ** 2)
    >>> slice_2d(f, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), [0.0, 1.0], [0.0, 1.0]).tolist()
    [[0.0, 0.5], [5.0, 5.5]]
    """
    alphas, betas = _grid("alphas", alphas), _grid("betas", betas)
    _same_structure(params, d1, "d1")
    _same_structure(params, d2, "d2")
    A, B = np.meshgrid(alphas, betas)
    return _map(_point_2d, loss, batch_size, params, (d1, d2), np.stack([A.ravel(), B.ravel()], 1)).reshape(A.shape)


def interpolate(loss, theta0, theta1, alphas, *, batch_size=256):
    r"""The loss on the segment from θ₀ to θ₁: α ↦ f((1 − α)θ₀ + αθ₁) (Goodfellow, Vinyals & Saxe 2015).

    Written as (1 − α)θ₀ + αθ₁ (not θ₀ + α(θ₁ − θ₀)), so α = 0 and α = 1 give θ₀ and θ₁ exactly.
    Symbols ↔ arguments: f = ``loss``; θ₀ = ``theta0`` (e.g. the initialization); θ₁ = ``theta1`` (a
    solution); α = ``alphas`` (values outside [0, 1] extrapolate). Reference: I. Goodfellow, O. Vinyals,
    A. Saxe, *Qualitatively characterizing neural network optimization problems*, ICLR 2015, Sec. 3.

    >>> import numpy as np
    >>> f = lambda x: 0.5 * (x[0] ** 2 + 10 * x[1] ** 2)
    >>> interpolate(f, np.array([1.0, 0.0]), np.array([0.0, 1.0]), [0.0, 0.5, 1.0]).tolist()
    [0.5, 1.375, 5.0]
    """
    alphas = _grid("alphas", alphas)
    _same_structure(theta0, theta1, "theta1")
    return _map(_point_segment, loss, batch_size, theta0, theta1, alphas)


def interpolation_barrier(alphas, values):
    r"""Height of the loss barrier on a linear path: B = max_α [ f(α) − ((1 − α) f(0) + α f(1)) ].

    ``values`` are f(α) at ``alphas`` (from :func:`interpolate`), which must contain 0 and 1. B ≥ 0 (it is 0
    at the endpoints); a loss that is convex along the segment has B = 0, since it lies under its chord.
    This is the barrier of Frankle et al., *Linear mode connectivity and the lottery ticket hypothesis*
    (ICML 2020), measured against the chord as in Entezari et al. (ICLR 2022).

    >>> interpolation_barrier([0.0, 0.5, 1.0], [1.0, 3.0, 2.0])      # 3 − (1 + 2)/2
    1.5
    """
    a, v = _grid("alphas", alphas), _grid("values", values)
    if a.shape != v.shape:
        raise ValueError(f"values must have the shape of alphas {a.shape}, got {v.shape}")
    i0, i1 = np.flatnonzero(a == 0.0), np.flatnonzero(a == 1.0)
    if not (i0.size and i1.size):
        raise ValueError("alphas must contain the endpoints 0 and 1")
    chord = (1.0 - a) * v[i0[0]] + a * v[i1[0]]
    inside = (a >= 0.0) & (a <= 1.0)
    return float(np.max((v - chord)[inside]))


def hessian_matvec(loss, params):
    r"""The Hessian-vector product v ↦ ∇²f(θ) v of a loss on a pytree, as a map on flat vectors.

    θ is flattened with ``jax.flatten_util.ravel_pytree``; the product is forward-over-reverse
    (``jax.jvp`` of ``jax.grad``, Pearlmutter 1994), jitted: about the cost of two gradients, and the
    Hessian is never formed. Returns ``(matvec, n)``: ``matvec`` takes and returns a 1-D array of length n
    (the number of parameters), ready for the power iteration and Lanczos of :mod:`utils.spectrum`.
    Symbols ↔ arguments: f = ``loss``; θ = ``params``; v = the argument of ``matvec``.

    >>> import numpy as np
    >>> mv, n = hessian_matvec(lambda x: 0.5 * (x[0] ** 2 + 10 * x[1] ** 2), np.zeros(2))
    >>> n, np.asarray(mv(np.array([1.0, 1.0]))).tolist()
    (2, [1.0, 10.0])
    """
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    _leaves(params)
    flat = ravel_pytree(params)[0]

    def matvec(v):
        v = jnp.asarray(v, dtype=flat.dtype)
        if v.shape != flat.shape:
            raise ValueError(f"v must have shape {flat.shape}, got {v.shape}")
        return _hvp_jit()(loss, params, v)

    return matvec, int(flat.size)


def _hvp(loss, params, v):
    import jax
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(params)
    return jax.jvp(jax.grad(lambda x: loss(unravel(x))), (flat,), (v,))[1]


@functools.lru_cache(maxsize=None)
def _hvp_jit():
    """The HVP compiled once per loss and parameter shapes (θ is an argument, not a baked-in constant)."""
    import jax

    return jax.jit(_hvp, static_argnums=0)
