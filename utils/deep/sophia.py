r"""Sophia, a clipped diagonal-Hessian-preconditioned optimizer (Liu, Li, Hall, Liang & Ma 2023, "Sophia: A
Scalable Stochastic Second-order Optimizer for Language Model Pre-training", ICLR 2024, Alg. 3), and the two
diagonal-curvature estimators it uses: Hutchinson's (Alg. 1) and Gauss–Newton–Bartlett's (Alg. 2).

.. math::  m_{k+1} = \beta_1 m_k + (1-\beta_1) g_k,\qquad
           h_{k+1} = \beta_2 h_k + (1-\beta_2)\,\hat h_k \ \text{ if } k \bmod T = 0 \text{ else } h_k,\\
           x_{k+1} = x_k - \eta_k\lambda x_k - \eta_k\,\mathrm{clip}\big(m_{k+1} / \max(\gamma h_{k+1}, \varepsilon),\ c\big)

(elementwise; clip(z, c) = max(−c, min(z, c)), so |x_{k+1} − x_k + η_kλx_k| ≤ η_k c per coordinate). Where the
curvature h is large the step is a Newton-like m/(γh); where h is small, zero or negative (Hutchinson can
be) the denominator is ε and the clip makes the step η·sign(m): sign-momentum, as in Lion.

Estimators ĥ of diag(∇²L) at x_k, drawn with a fresh PRNG key each refresh (``state.key`` is split):

- :func:`hutchinson` — ĥ = u ⊙ (∇²L u), u Rademacher (optax) or standard normal (the paper's Alg. 1), via one
  Hessian-vector product ``jax.jvp(jax.grad(L))``. Unbiased; per coordinate Var = Σ_{j≠i} H_ij² (Rademacher)
  or 2H_ii² + Σ_{j≠i} H_ij² (normal). The caller's ``fn`` is the scalar mini-batch loss, ``fn(params) -> L``.
- :func:`gauss_newton_bartlett` — ĥ = B·ĝ ⊙ ĝ, ĝ = ∇ (1/B) Σ_b ℓ_ce(z_b(x), ŷ_b) with ŷ_b ~ softmax(z_b)
  sampled from the model itself. E[ĥ] = diag of the Gauss–Newton matrix (1/B) Σ_b J_bᵀ(diag p_b − p_b p_bᵀ)J_b
  of the mean cross-entropy (= the Fisher), which is positive semidefinite. The caller's ``fn`` returns the
  logits, ``fn(params) -> z`` of shape (..., C): classes on the last axis, every leading entry one example
  (tokens of a language model count as examples: B = z.size / C).

An estimator is any callable ``estimator(fn, params, key) -> ĥ`` (a pytree like params); pass your own.

Conventions, explicit arguments (the tests align them with ``optax.contrib.sophia`` and separate them):

- The paper refreshes h first and steps with h_{k+1} (``lag_h=False``); optax steps with h_k and refreshes
  after (``lag_h=True``), so its first step (h₀ = 0) is η·sign(m).
- The paper's m has no bias correction (``bias_correction=False``); optax divides by 1 − β₁^{k+1} (True).
- γ: the published form clip(m/max(γh, ε), 1) (optax ``gamma``; the authors' code calls it ``rho``,
  multiplies h by the batch size B there and *adds* ε: clip(m/(ρBh + 1e-15), 1)). The first arXiv version
  wrote clip(m/max(h, ε), ρ) with ρ the clip level: the same step with γ = ρ, η → ηρ, ε → ρε. Here
  c = ``clip`` (optax ``clip_threshold``, 1).
- Weight decay is decoupled and multiplied by η_k in the paper, in optax (``add_decayed_weights`` before
  ``scale_by_learning_rate``) and in the authors' code: one convention, no switch.

Bad hyperparameters raise ``ValueError`` naming the argument when the optimizer is built.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..stochastic.adaptive import _at, _beta, _check_tree, _eta, _nonneg, _pos, _zeros
from ..core.problems import xp

__all__ = ["SophiaState", "Sophia", "sophia", "hutchinson", "hutchinson_diagonal", "gauss_newton_bartlett",
           "to_optax"]

_map = jax.tree.map


def _count(name, value):
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if isinstance(value, (bool, np.bool_)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return v


def _dist(dist):
    if dist not in ("rademacher", "normal"):
        raise ValueError(f"dist must be 'rademacher' (optax) or 'normal' (the paper's Alg. 1), got {dist!r}")
    return dist


# ------------------------------------------------------------------------------------------------ estimators
def _probe(key, params, dist):
    """u with the structure of params; one key per leaf split from ``key`` as optax.tree.random_like does."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    draw = jax.random.rademacher if dist == "rademacher" else jax.random.normal
    return jax.tree.unflatten(tree, [draw(k, jnp.shape(x), jnp.result_type(x)) for k, x in zip(keys, leaves)])


def hutchinson_diagonal(f, x, key, n_samples=1, *, dist="rademacher"):
    r"""Hutchinson's estimate of diag(∇²f(x)): the mean of u ⊙ (∇²f(x) u) over ``n_samples`` probes u.

    u has i.i.d. Rademacher (±1) entries (optax) or standard normal ones (``dist="normal"``, Liu et al. Alg. 1);
    ∇²f u is one forward-over-reverse product ``jax.jvp(jax.grad(f), (x,), (u,))``. x may be any pytree.
    Unbiased; with Rademacher u, u_i(Hu)_i = H_ii + Σ_{j≠i} H_ij u_i u_j, so Var = Σ_{j≠i} H_ij² per coordinate
    (0 for a diagonal Hessian: exact with one probe); normal u adds 2H_ii². With n_samples = 1 the probe is
    the one ``optax.contrib.hutchinson_estimator_diag_hessian`` draws from the same key.

    >>> import jax, jax.numpy as jnp
    >>> f = lambda x: x[0] ** 2 + 3.0 * x[1] ** 2 + x[0] * x[1]    # H = [[2, 1], [1, 6]]
    >>> d = hutchinson_diagonal(f, jnp.array([1.0, 2.0]), jax.random.PRNGKey(0), n_samples=4)
    >>> e = d - jnp.array([2.0, 6.0])    # both errors are H₁₂·mean(u₁u₂), a multiple of 1/4 in [−1, 1]
    >>> bool(e[0] == e[1]) and float(4 * e[0]) in (-4.0, -2.0, 0.0, 2.0, 4.0)
    True
    """
    n_samples, dist = _count("n_samples", n_samples), _dist(dist)
    if not callable(f):
        raise ValueError(f"f must be a callable f(x) -> scalar, got {type(f).__name__}")
    grad = jax.grad(f)

    def one(k):
        u = _probe(k, x, dist)
        hu = jax.jvp(grad, (x,), (u,))[1]
        return _map(lambda a, b: a * b, u, hu)

    if n_samples == 1:
        return one(key)
    return _map(lambda a: a.mean(axis=0), jax.vmap(one)(jax.random.split(key, n_samples)))


def hutchinson(n_samples=1, *, dist="rademacher"):
    """The Hutchinson estimator for :func:`sophia` (Sophia-H): ``estimator(fn, params, key)`` with ``fn(params)``
    the scalar loss; see :func:`hutchinson_diagonal`.

    >>> import jax, jax.numpy as jnp
    >>> est = hutchinson()
    >>> est(lambda x: (x ** 4).sum(), jnp.array([1.0, 2.0]), jax.random.PRNGKey(1)).tolist()  # exact: 12x²
    [12.0, 48.0]
    """
    n_samples, dist = _count("n_samples", n_samples), _dist(dist)

    def estimator(fn, params, key):
        return hutchinson_diagonal(fn, params, key, n_samples, dist=dist)

    return estimator


def gauss_newton_bartlett():
    r"""The Gauss–Newton–Bartlett estimator for :func:`sophia` (Sophia-G; Liu et al. Alg. 2):

    .. math::  \hat y_b \sim \mathrm{softmax}(z_b(x)),\qquad
               \hat g = \nabla_x \tfrac1B \textstyle\sum_b \ell_{ce}(z_b(x), \hat y_b),\qquad \hat h = B\,\hat g\odot\hat g

    ``estimator(fn, params, key)`` with ``fn(params) -> z``, the logits, shape (..., C): every leading entry
    is one example, B = z.size / C. One forward and one backward pass (``jax.vjp``): ĝ = Jᵀ(p − e_ŷ)/B.
    Because ŷ is drawn from the model, E[(p − e_ŷ)(p − e_ŷ)ᵀ] = diag p − ppᵀ and E[ĥ] = diag((1/B) Σ_b
    J_bᵀ(diag p_b − p_b p_bᵀ)J_b), the Gauss–Newton diagonal of the mean cross-entropy (Bartlett's identity:
    the Fisher). The authors' code keeps ĝ⊙ĝ and multiplies by B in the step instead.

    >>> import jax, jax.numpy as jnp
    >>> est = gauss_newton_bartlett()      # one example, two classes, z = (x, 0): ĥ = (p − e_ŷ)₁² ∈ {p², (1−p)²}
    >>> h = est(lambda x: jnp.stack([x, 0.0 * x]), jnp.array(0.0), jax.random.PRNGKey(0))
    >>> float(h)
    0.25
    """
    def estimator(fn, params, key):
        z, vjp = jax.vjp(fn, params)
        if jnp.ndim(z) < 1:
            raise ValueError(f"fn must return logits of shape (..., C), got shape {jnp.shape(z)}")
        C = z.shape[-1]
        B = z.size // C
        flat = jax.lax.stop_gradient(z).reshape(B, C)
        y = jax.random.categorical(key, flat, axis=-1)
        ct = (jax.nn.softmax(flat, axis=-1) - jax.nn.one_hot(y, C, dtype=flat.dtype)) / B
        (g,) = vjp(ct.reshape(z.shape).astype(z.dtype))
        return _map(lambda a: B * a * a, g)

    return estimator


# ------------------------------------------------------------------------------------------------ Sophia
class SophiaState(NamedTuple):
    m: Any     # m_k, EMA of the gradients
    h: Any     # h_k, EMA of the diagonal-curvature estimates ĥ (refreshed every T steps)
    k: Any     # steps taken
    key: Any   # PRNG key of the estimator (split at each refresh)


class Sophia(NamedTuple):
    """``init(params, key=None)``; ``step(params, grads, state, fn) -> (params, state)`` (estimates ĥ with
    ``fn`` on refresh steps); ``update(params, grads, state, h_hat)`` (the same step given ĥ: NumPy or JAX
    leaves; ``h_hat`` is read on refresh steps only and may be None on the others); ``estimator``; ``refresh(k)``
    (whether step k refreshes h)."""
    init: Callable
    step: Callable
    update: Callable
    estimator: Callable
    refresh: Callable


def sophia(eta, beta1=0.965, beta2=0.99, gamma=0.01, eps=1e-12, *, interval=10, weight_decay=0.0, clip=1.0,
           estimator=None, bias_correction=False, lag_h=False) -> Sophia:
    r"""Sophia (Liu et al. 2023, Alg. 3; the module docstring has the update and the conventions).

    η = ``eta`` (float or schedule η(k); optax ``learning_rate``), β₁ = ``beta1`` (optax ``b1``, 0.965),
    β₂ = ``beta2`` (optax ``b2``, 0.99; per refresh, so effectively 1 − (1 − β₂)/T per step), γ = ``gamma``
    (optax ``gamma``, 0.01; authors' code ``rho``), ε = ``eps`` (optax ``eps``, 1e-8), T = ``interval``
    (optax ``update_interval``, 10; the paper's k), λ = ``weight_decay`` (optax ``weight_decay``, 1e-4;
    decoupled, times η_k), c = ``clip`` (optax ``clip_threshold``), ``estimator`` (default
    :func:`hutchinson`; optax ``hessian_diagonal_fn``), ``bias_correction`` and ``lag_h`` (False: the paper;
    True, True: optax). ``optax.contrib.sophia`` equals ``sophia(..., bias_correction=True, lag_h=True)``
    with the same key given to ``init`` and to optax's ``hutchinson_estimator_diag_hessian``.

    >>> import numpy as np
    >>> opt = sophia(eta=0.1, beta1=0.5, beta2=0.5, gamma=1.0)
    >>> x = np.array([1.0, 0.01]); s = opt.init(x)      # f = ½(4x₁² + x₂²), ĥ = (4, 1) exact
    >>> x, s = opt.update(x, np.array([4.0, 1.0]) * x, s, np.array([4.0, 1.0]))
    >>> x.round(12).tolist()    # m = (2, .005), h = (2, .5): m/(γh) = (1, .01), clipped at 1: x − 0.1·(1, .01)
    [0.9, 0.009]
    """
    eta, beta1, beta2 = _eta(eta), _beta("beta1", beta1), _beta("beta2", beta2)
    gamma, eps, clip = _pos("gamma", gamma), _pos("eps", eps), _pos("clip", clip)
    interval, lam = _count("interval", interval), _nonneg("weight_decay", weight_decay)
    estimator = hutchinson() if estimator is None else estimator
    if not callable(estimator):
        raise ValueError(f"estimator must be a callable estimator(fn, params, key) -> h_hat (e.g. hutchinson()), "
                         f"got {type(estimator).__name__}")

    def refresh(k):
        return k % interval == 0

    def init(params, key=None):
        return SophiaState(m=_zeros(params), h=_zeros(params), k=0,
                           key=jax.random.PRNGKey(0) if key is None else key)

    def _apply(params, grads, state, h_hat, on, key):
        """One step; ``on`` is a Python bool (eager) or a traced bool (select with where)."""
        _check_tree(params, grads)
        k = state.k
        m = _map(lambda m_, g: beta1 * m_ + (1 - beta1) * g, state.m, grads)
        if on is False:
            h = state.h
        else:
            if jax.tree.structure(h_hat) != jax.tree.structure(params) or any(
                    np.shape(a) != np.shape(b) for a, b in zip(jax.tree.leaves(h_hat), jax.tree.leaves(params))):
                raise ValueError("h_hat must have the pytree structure and leaf shapes of params")
            h = _map(lambda h_, e: beta2 * h_ + (1 - beta2) * e, state.h, h_hat)
            if on is not True:
                h = _map(lambda new, old: xp(new).where(on, new, old), h, state.h)
        hu = state.h if lag_h else h
        mu = _map(lambda m_: m_ / (1 - beta1 ** (k + 1)), m) if bias_correction else m
        r = _map(lambda m_, h_: xp(m_).clip(m_ / xp(h_).maximum(gamma * h_, eps), -clip, clip), mu, hu)
        lr = _at(eta, k)
        x = _map(lambda x_, r_: x_ - lr * (r_ + lam * x_), params, r)
        return x, SophiaState(m=m, h=h, k=k + 1, key=key)

    def _on(k):
        return bool(refresh(k)) if isinstance(k, (int, np.integer)) else refresh(k)

    def update(params, grads, state, h_hat):
        on = _on(state.k)
        if on is True and h_hat is None:
            raise ValueError(f"h_hat is None at step k = {state.k}, a refresh step (k mod {interval} = 0)")
        if on is not False and on is not True and h_hat is None:
            raise ValueError("h_hat must be given at every call when k is traced (under jit); it is read only "
                             "on refresh steps")
        return _apply(params, grads, state, h_hat, on, state.key)

    def step(params, grads, state, fn):
        if not callable(fn):
            raise ValueError(f"fn must be a callable of params (the loss for hutchinson, the logits for "
                             f"gauss_newton_bartlett), got {type(fn).__name__}")
        on = _on(state.k)
        if on is False:
            return _apply(params, grads, state, None, False, state.key)
        key, sub = jax.random.split(state.key)
        if on is True:
            return _apply(params, grads, state, estimator(fn, params, sub), True, key)
        h_hat, key = jax.lax.cond(on, lambda: (estimator(fn, params, sub), key),
                                  lambda: (_map(lambda x_: xp(x_).zeros_like(x_), params), state.key))
        return _apply(params, grads, state, h_hat, on, key)

    return Sophia(init, step, update, estimator, refresh)


def to_optax(opt: Sophia, key=None):
    """``opt`` as an ``optax.GradientTransformationExtraArgs``: ``update(grads, state, params, fn=...)``
    returns x_{k+1} − x_k; ``fn`` may also be passed as ``obj_fn``, the name ``optax.contrib.sophia``'s
    Hutchinson estimator reads, so a loop written for optax runs unchanged. ``key`` seeds the estimator
    (default ``jax.random.PRNGKey(0)``, as optax's).

    >>> import jax.numpy as jnp, optax
    >>> tx = to_optax(sophia(eta=0.1, gamma=1.0))
    >>> x = jnp.array([1.0, -2.0]); f = lambda v: jnp.sum(v ** 4)    # ĥ = 12x² exactly (diagonal)
    >>> u, s = tx.update(jax.grad(f)(x), tx.init(x), x, obj_fn=f)
    >>> [round(float(v), 6) for v in optax.apply_updates(x, u)]   # m/(γh) = 0.035·4x³/(0.01·12x²) ≈ 1.17x: clipped
    [0.9, -1.9]
    """
    import optax

    if not isinstance(opt, Sophia):
        raise ValueError(f"opt must be a Sophia (from utils.sophia.sophia), got {type(opt).__name__}")

    def init(params):
        return opt.init(params, key)

    def update(updates, state, params=None, fn=None, obj_fn=None, **extra_args):
        if params is None:
            raise ValueError("params must be passed to update(): Sophia evaluates its estimator at params")
        new, state = opt.step(params, updates, state, obj_fn if fn is None else fn)
        return _map(lambda a, b: a - b, new, params), state

    return optax.GradientTransformationExtraArgs(init, update)
