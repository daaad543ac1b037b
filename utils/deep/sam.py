r"""Sharpness-aware minimization: SAM (Foret, Kleiner, Mobahi & Neyshabur 2021, Alg. 1) and adaptive
SAM, ASAM (Kwon, Kim, Park & Choi 2021, Alg. 1), around any optimizer of :mod:`utils.adaptive`.

SAM minimizes the worst loss in a ball, max_{‖ε‖ ≤ ρ} f(w + ε). One step linearizes the inner maximum and
takes the base optimizer's step with the gradient at the perturbed point:

.. math::  \hat\varepsilon(w) = \rho\,\frac{T_w^2\, g}{\|T_w g\| + \epsilon_n},\qquad g = \nabla f(w),\qquad
           g_{\mathrm{SAM}} = \nabla f(w + \hat\varepsilon(w)),\qquad w \leftarrow \text{base step}(w, g_{\mathrm{SAM}})

with T_w = I for SAM and T_w = diag(|w| + η_A) for ASAM (elementwise). ASAM's ball ‖T_w⁻¹ε‖ ≤ ρ stretches
with the weights, so its sharpness does not change when a layer's weights are rescaled in a way the loss
ignores (ReLU networks: w₁ → αw₁, w₂ → w₂/α); SAM's does. The gradient at w + ε̂ is taken by the caller's
``grad_fn``: two gradient evaluations per step, so SAM costs about twice the base optimizer.

Two forms. :func:`sam` gives ``opt.step(params, state, grad_fn)`` (one call = one SAM step, optax
``contrib.sam(opaque_mode=True)``). :func:`sam_alternating` gives an :class:`~utils.adaptive.Optimizer` whose
1st, 3rd, … calls ascend (params ← w + ε̂) and 2nd, 4th, … calls take the base step from w with the gradient
they are given
(optax ``contrib.sam`` with ``sync_period=2``, its default transparent mode), so it drops into any loop that
feeds gradients at ``params``, and into :func:`utils.adaptive.to_optax`.

m-sharpness (Foret et al. 2021, §4.1). With a batch split into micro-batches of m examples, computing ε̂
and g_SAM separately on each micro-batch and averaging the g_SAM's is a different (per-micro-batch) sharpness:
smaller m generalized better in their experiments, and it is what data-parallel SAM computes for free (each
device perturbs with its own gradient). Here: average ``opt.gradient(params, grad_fn_i)`` over micro-batches i
(``jax.vmap`` over stacked micro-batches), then call the base optimizer's ``step`` with the mean.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from ..stochastic.adaptive import Optimizer, _check_tree, _nonneg, _pos
from ..core.problems import xp

__all__ = ["SAMState", "SAM", "sam", "asam", "sam_alternating", "sam_perturbation"]

_map = jax.tree.map


class SAMState(NamedTuple):
    base: Any   # the base optimizer's state
    w: Any      # w, the weights saved by an ascent call (sam_alternating); None for sam
    k: Any      # calls taken (sam_alternating: ascent and descent calls; sam: SAM steps)


class SAM(NamedTuple):
    """``init(params)``, ``step(params, state, grad_fn) -> (params, state)``, ``gradient(params, grad_fn)`` (g_SAM)
    and ``perturbation(params, grads)`` (ε̂), all pure."""
    init: Callable
    step: Callable
    gradient: Callable
    perturbation: Callable


def _base(base):
    if not isinstance(base, Optimizer):
        raise ValueError(f"base must be an Optimizer (from utils.adaptive), got {type(base).__name__}")
    return base


def _options(rho, adaptive, eta_asam, norm, eps):
    rho = _pos("rho", rho)
    if isinstance(adaptive, (bool, np.bool_)):
        adaptive = bool(adaptive)
    elif not (jax.tree.leaves(adaptive) and all(isinstance(m, (bool, np.bool_)) for m in jax.tree.leaves(adaptive))):
        raise ValueError(f"adaptive must be True, False or a pytree of bools (a mask of the leaves to rescale), "
                         f"got {adaptive!r}")
    eta_asam = _nonneg("eta_asam", eta_asam)
    if norm not in ("global", "leaf"):
        raise ValueError(f"norm must be 'global' (one norm over the whole pytree) or 'leaf', got {norm!r}")
    return rho, adaptive, eta_asam, norm, _nonneg("eps", eps)


def sam_perturbation(params, grads, rho=0.05, *, adaptive=False, eta_asam=0.01, norm="global", eps=1e-12):
    r"""ε̂ = ρ T² g/(‖T g‖ + ε_n), T = I (SAM) or diag(|w| + η_A) (ASAM, ``adaptive=True``), as a pytree.
    ``adaptive`` may also be a pytree of bools with the structure of ``params``: T = |w| + η_A on the leaves
    marked True and T = 1 on the others (Kwon et al.'s code rescales the weights only, not the biases).

    ρ = ``rho`` (optax: the learning rate of the adversarial ``sgd(rho)`` after ``contrib.normalize()``; Foret
    et al. ρ = 0.05; davda54/sam and torch ports ``rho``), η_A = ``eta_asam`` (Kwon et al. η = 0.01; their ρ is
    larger, 0.5–2), ``norm``: ``"global"`` ‖·‖ over the whole pytree (the paper, optax ``tree.norm``) or
    ``"leaf"`` (each leaf perturbed to radius ρ in its own norm), ε_n = ``eps`` added to the norm (1e-12 as
    in davda54/sam; optax's ``normalize`` has none: ``eps=0``, which divides 0 by 0 where g = 0; ASAM's code
    1e-16).

    >>> import numpy as np
    >>> sam_perturbation(np.array([1.0, 1.0]), np.array([3.0, 4.0]), rho=0.5, eps=0.0).round(12).tolist()  # ρg/‖g‖
    [0.3, 0.4]
    """
    rho, adaptive, eta_asam, norm, eps = _options(rho, adaptive, eta_asam, norm, eps)
    return _perturb(params, grads, rho, adaptive, eta_asam, norm, eps)


def _perturb(params, grads, rho, adaptive, eta_asam, norm, eps):
    _check_tree(params, grads)
    T = None
    if adaptive is not False:
        mask = _map(lambda w: True, params) if adaptive is True else adaptive
        if jax.tree.structure(mask) != jax.tree.structure(params):
            raise ValueError("adaptive, as a mask, must have the pytree structure of params: got "
                             f"{jax.tree.structure(mask)}, params have {jax.tree.structure(params)}")
        T = _map(lambda m, w: xp(w).abs(w) + eta_asam if m else xp(w).ones_like(w), mask, params)
    tg = grads if T is None else _map(lambda t, g: t * g, T, grads)
    sq = [xp(a).sum(a * a) for a in jax.tree.leaves(tg)]
    if norm == "global":
        n = xp(sq[0]).sqrt(sum(sq)) if sq else 0.0
        scale = jax.tree.unflatten(jax.tree.structure(tg), [rho / (n + eps)] * len(sq))
    else:
        scale = jax.tree.unflatten(jax.tree.structure(tg), [rho / (xp(s).sqrt(s) + eps) for s in sq])
    if T is None:
        return _map(lambda s, a: s * a, scale, tg)
    return _map(lambda s, t, a: s * (t * a), scale, T, tg)


def sam(base: Optimizer, rho=0.05, *, adaptive=False, eta_asam=0.01, norm="global", eps=1e-12) -> SAM:
    r"""SAM / ASAM around ``base`` (any :class:`~utils.adaptive.Optimizer`), one SAM step per call:

    .. math::  g = \nabla f(w_k),\quad \hat\varepsilon = \rho\,\frac{T^2 g}{\|Tg\| + \epsilon_n},\quad
               w_{k+1} = \text{base.step}(w_k,\ \nabla f(w_k + \hat\varepsilon))

    ``opt.step(params, state, grad_fn)`` with ``grad_fn(params) -> grads`` (evaluated twice, the same
    mini-batch both times, as in Foret et al. Alg. 1). The base optimizer sees w_k (its L2 / decoupled decay
    act on w_k, not on the perturbed point; so do torch ports, which restore w before ``base.step()``).
    Arguments as in :func:`sam_perturbation`; optax: ``contrib.sam(base, chain(contrib.normalize(),
    sgd(rho)), sync_period=2, opaque_mode=True)`` with ``eps=0``.

    >>> import numpy as np
    >>> from utils.adaptive import sgd
    >>> opt = sam(sgd(eta=0.1), rho=0.5, eps=0.0)
    >>> w = np.array([3.0, 4.0]); w, s = opt.step(w, opt.init(w), lambda v: v)   # f = ½‖w‖²
    >>> w.round(12).tolist()    # ε̂ = 0.5·(0.6, 0.8), g_SAM = w + ε̂ = (3.3, 4.4), w − 0.1·g_SAM
    [2.67, 3.56]
    """
    base = _base(base)
    rho, adaptive, eta_asam, norm, eps = _options(rho, adaptive, eta_asam, norm, eps)

    def perturbation(params, grads):
        return _perturb(params, grads, rho, adaptive, eta_asam, norm, eps)

    def gradient(params, grad_fn):
        e = perturbation(params, grad_fn(params))
        return grad_fn(_map(lambda w, e_: w + e_, params, e))

    def init(params):
        return SAMState(base=base.init(params), w=None, k=0)

    def step(params, state, grad_fn):
        new, s = base.step(params, gradient(params, grad_fn), state.base)
        return new, SAMState(base=s, w=None, k=state.k + 1)

    return SAM(init, step, gradient, perturbation)


def asam(base: Optimizer, rho=0.5, eta_asam=0.01, *, norm="global", eps=1e-12) -> SAM:
    """ASAM (Kwon et al. 2021): :func:`sam` with ``adaptive=True`` and their defaults ρ = 0.5, η = 0.01.

    >>> import numpy as np
    >>> from utils.adaptive import sgd
    >>> opt = asam(sgd(eta=0.1), rho=0.5, eta_asam=0.0, eps=0.0)
    >>> opt.perturbation(np.array([1.0, 2.0]), np.array([1.0, 1.0])).round(12).tolist()  # ρ T²g/‖Tg‖, T = |w|
    [0.22360679775, 0.894427191]
    """
    return sam(base, rho, adaptive=True, eta_asam=eta_asam, norm=norm, eps=eps)


def sam_alternating(base: Optimizer, rho=0.05, *, adaptive=False, eta_asam=0.01, norm="global",
                    eps=1e-12) -> Optimizer:
    r"""SAM / ASAM as an :class:`~utils.adaptive.Optimizer` that alternates two kinds of call (optax
    ``contrib.sam(base, chain(contrib.normalize(), sgd(rho)), sync_period=2)``, transparent mode, ``eps=0``):

    .. math::  \text{call } 2j:\ \ w \leftarrow \text{params},\ \ \text{params} \leftarrow w + \hat\varepsilon(w, g);
               \qquad \text{call } 2j+1:\ \ \text{params} \leftarrow \text{base.step}(w,\ g)

    where g are the grads passed to that call (at params: first at w, then at w + ε̂). Every two calls are one
    step of :func:`sam`; ``state.w`` holds w between them. Arguments as in :func:`sam_perturbation`.

    >>> import numpy as np
    >>> from utils.adaptive import sgd
    >>> opt = sam_alternating(sgd(eta=0.1), rho=0.5, eps=0.0)
    >>> w = np.array([3.0, 4.0]); s = opt.init(w)
    >>> for _ in range(2):
    ...     w, s = opt.step(w, w, s)        # f = ½‖w‖²: (3.3, 4.4), then (3, 4) − 0.1·(3.3, 4.4)
    >>> w.round(12).tolist()
    [2.67, 3.56]
    """
    base = _base(base)
    rho, adaptive, eta_asam, norm, eps = _options(rho, adaptive, eta_asam, norm, eps)

    def init(params):
        return SAMState(base=base.init(params), w=params, k=0)

    def ascent(params, grads, state):
        e = _perturb(params, grads, rho, adaptive, eta_asam, norm, eps)
        return _map(lambda w, e_: w + e_, params, e), SAMState(base=state.base, w=params, k=state.k + 1)

    def descent(params, grads, state):
        new, s = base.step(state.w, grads, state.base)
        return new, SAMState(base=s, w=state.w, k=state.k + 1)

    def step(params, grads, state):
        if isinstance(state.k, (int, np.integer)):                 # eager: take one branch
            return (ascent if state.k % 2 == 0 else descent)(params, grads, state)
        a, d = ascent(params, grads, state), descent(params, grads, state)   # traced: both, then select
        up = state.k % 2 == 0
        return _map(lambda u, v: xp(u).where(up, u, v), a, d)

    return Optimizer(init, step)
