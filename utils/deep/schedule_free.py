r"""Schedule-free SGD and AdamW (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky 2024, "The Road Less
Scheduled", Alg. 1): no decaying step-size schedule, an online average instead.

Three sequences. z is the base iterate (the one SGD or Adam moves), x a weighted average of the z's (the point
to *evaluate*: validation loss, the final model), and y the point where the gradient is *taken*, an
interpolation between them:

.. math::  y_k = (1-\beta) z_k + \beta x_k,\quad z_{k+1} = z_k - \gamma_k (d_k + \lambda y_k),\quad
           x_{k+1} = (1 - c_{k+1}) x_k + c_{k+1} z_{k+1},\quad
           c_{k+1} = \frac{w_k}{\sum_{j \le k} w_j},\ \ w_k = (k+1)^r\,\gamma_{\max,k}^{\,p}

with x₀ = z₀ = y₀ the initial parameters, d_k = g_k = ∇f(y_k) for SGD and d_k = g_k/(√v̂_k + ε) for AdamW.
Unrolled, x_{k+1} = Σ_{j≤k} w_j z_{j+1} / Σ_{j≤k} w_j: with a constant step and r = 0 this is the uniform
Polyak–Ruppert average of z₁…z_{k+1}; the weights γ_max^p (p = 2: the paper's c_{t+1} = γ_t²/Σγ_i²)
keep the small warmup steps from dominating it. β = 0 makes y = z (plain SGD on z, averaged on the side);
β = 1 makes y = x (primal averaging). β = 0.9 is the default of the paper, optax and the reference code.

``params`` are y (the gradient is taken there, as in optax and the ``schedulefree`` package); x lives in the
state: evaluate at :func:`eval_params` (optax ``schedule_free_eval_params(state, params)``, which recomputes
x = (y − (1 − β)z)/β; here x is kept). Warmup: γ_k = η_k·min(1, (k+1)/T_w) (the reference code's
``sched = (k+1)/warmup_steps``). Conventions that differ are explicit arguments: optax's base optimizer reads
its warmup schedule at the count k (so its first step is η·0 = 0) while its weight reads it at k + 1; align
with ``eta=lambda k: s(k)``, ``weight_eta=lambda k: s(k + 1)`` (tests show the difference is real).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from ..stochastic.adaptive import Optimizer, _at, _beta, _check_tree, _eta, _float, _nonneg, _pos, _zeros
from ..core.problems import xp

__all__ = ["ScheduleFreeState", "schedule_free_sgd", "schedule_free_adamw", "eval_params"]

_map = jax.tree.map


class ScheduleFreeState(NamedTuple):
    z: Any           # z_k, the base iterate
    x: Any           # x_k, the weighted average of the z's: evaluate here
    v: Any           # v_k, AdamW's second moment (EMA of g²); None for SGD
    gamma_max: Any   # γ_max,k = max_{j<k} of the weight step size
    W: Any           # Σ_{j<k} w_j, the total averaging weight
    k: Any           # steps taken


def eval_params(state: ScheduleFreeState):
    """x_k, the averaged point to evaluate (optax ``schedule_free_eval_params``; the PyTorch ``schedulefree``
    package: ``optimizer.eval()``).

    >>> import numpy as np
    >>> opt = schedule_free_sgd(eta=0.5, beta=0.5)
    >>> y = np.array([2.0]); y, s = opt.step(y, y, opt.init(y))   # f = ½y²: z₁ = 1, x₁ = z₁, y₁ = 1
    >>> eval_params(s).tolist(), s.z.tolist(), y.tolist()
    ([1.0], [1.0], [1.0])
    """
    if not isinstance(state, ScheduleFreeState):
        raise ValueError(f"state must be a ScheduleFreeState, got {type(state).__name__}")
    return state.x


def _ns(*a):
    return jax.numpy if any(isinstance(v, jax.Array) for v in a) else np


def _schedule_free(eta, beta, beta_name, warmup_steps, weight_decay, weight_lr_power, r, weight_eta, direction, adam):
    eta, beta = _eta(eta), _float(beta_name, beta, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")
    lam, p, r = _nonneg("weight_decay", weight_decay), _nonneg("weight_lr_power", weight_lr_power), _nonneg("r", r)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an integer ≥ 0, got {warmup_steps!r}")
    if weight_eta is not None:
        weight_eta = _eta(weight_eta, "weight_eta")

    def gamma(k):
        lr = _at(eta, k)
        return lr if warmup_steps == 0 else lr * _ns(k).minimum(1.0, (k + 1) / warmup_steps)

    def init(params):
        return ScheduleFreeState(z=params, x=params, v=_zeros(params) if adam else None, gamma_max=0.0, W=0.0, k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        k = state.k
        lr = gamma(k)
        wl = lr if weight_eta is None else _at(weight_eta, k)
        ns = _ns(lr, wl, state.gamma_max, state.W, k)
        g_max = ns.maximum(state.gamma_max, wl)
        w = (k + 1) ** r * g_max ** p if r else g_max ** p
        W = state.W + w
        c = ns.where(W > 0, w / ns.where(W > 0, W, 1.0), 0.0)       # no weight yet (γ = 0): keep x
        d, v = direction(grads, state)
        if lam:
            z = _map(lambda z_, d_, y_: z_ - lr * (d_ + lam * y_), state.z, d, params)
        else:                                                      # no 0·y pass (XLA keeps 0·y: NaN semantics)
            z = _map(lambda z_, d_: z_ - lr * d_, state.z, d)
        x = _map(lambda x_, z_: (1 - c) * x_ + c * z_, state.x, z)
        y = _map(lambda z_, x_: (1 - beta) * z_ + beta * x_, z, x)
        return y, ScheduleFreeState(z=z, x=x, v=v, gamma_max=g_max, W=W, k=k + 1)

    return Optimizer(init, step)


def schedule_free_sgd(eta=1.0, beta=0.9, *, warmup_steps=0, weight_decay=0.0, weight_lr_power=2.0, r=0.0,
                      weight_eta=None) -> Optimizer:
    r"""Schedule-free SGD (Defazio et al. 2024), with the warmup and the weights of their Alg. 1:

    .. math::  z_{k+1} = z_k - \gamma_k (\nabla f(y_k) + \lambda y_k),\quad
               x_{k+1} = (1-c_{k+1}) x_k + c_{k+1} z_{k+1},\quad y_{k+1} = (1-\beta) z_{k+1} + \beta x_{k+1}

    (module docstring for c_{k+1}). γ_k = η_k·min(1, (k+1)/T_w): η = ``eta`` (a float or a schedule η(k);
    optax ``learning_rate``, PyTorch ``schedulefree.SGDScheduleFree`` ``lr``), T_w = ``warmup_steps`` (0: none;
    both ``warmup_steps``), β = ``beta`` ∈ [0, 1] (optax ``b1``, schedulefree ``momentum``), λ = ``weight_decay``
    (taken at y and multiplied by γ_k, as optax's ``add_decayed_weights`` and schedulefree's ``weight_decay``),
    p = ``weight_lr_power`` (both ``weight_lr_power``, 2), r = ``r`` (schedulefree ``r``, 0; optax has none,
    i.e. r = 0), ``weight_eta``: the step size whose running maximum γ_max enters w_k (default γ_k; see the
    module docstring for optax's).

    >>> import numpy as np
    >>> opt = schedule_free_sgd(eta=0.5, beta=0.9)
    >>> y = np.array([2.0, -4.0]); s = opt.init(y)
    >>> for _ in range(2):
    ...     y, s = opt.step(y, y, s)          # f = ½‖y‖²: z₁ = y₀/2, x₁ = z₁; then z₂ = z₁/2, x₂ = (z₁ + z₂)/2
    >>> s.z.tolist(), eval_params(s).tolist(), y.round(12).tolist()
    ([0.5, -1.0], [0.75, -1.5], [0.725, -1.45])
    """
    return _schedule_free(eta, beta, "beta", warmup_steps, weight_decay, weight_lr_power, r, weight_eta,
                          lambda g, state: (g, None), adam=False)


def schedule_free_adamw(eta=0.0025, beta1=0.9, beta2=0.999, eps=1e-8, *, warmup_steps=0, weight_decay=0.0,
                        weight_lr_power=2.0, r=0.0, weight_eta=None) -> Optimizer:
    r"""Schedule-free AdamW (Defazio et al. 2024, Alg. 1): the schedule-free sequences around Adam *without*
    its first moment (the interpolation y and the average x replace momentum), with decoupled weight decay:

    .. math::  v_{k+1} = \beta_2 v_k + (1-\beta_2) g_k^2,\quad
               z_{k+1} = z_k - \gamma_k\Big(\frac{g_k}{\sqrt{v_{k+1}/(1-\beta_2^{k+1})} + \varepsilon}
               + \lambda y_k\Big),\quad g_k = \nabla f(y_k)

    and x, y as in :func:`schedule_free_sgd`. η, T_w, p, r, ``weight_eta`` as there; β₁ = ``beta1`` is the
    interpolation β (optax ``b1``, schedulefree ``AdamWScheduleFree`` ``betas[0]``), β₂ = ``beta2`` (optax
    ``b2``, schedulefree ``betas[1]``), ε = ``eps`` (both ``eps``, outside the root), λ = ``weight_decay``
    (decoupled, at y, multiplied by γ_k as in optax and schedulefree; the paper's Alg. 1 writes −γ_tλy_t too).

    >>> import numpy as np
    >>> opt = schedule_free_adamw(eta=0.1)
    >>> y = np.array([2.0, -4.0]); y, s = opt.step(y, y, opt.init(y))
    >>> s.z.round(9).tolist()                 # first step: g/√v̂ = sign(g), so z₁ = z₀ − η·sign(g)
    [1.9, -3.9]
    """
    b2, eps = _beta("beta2", beta2), _pos("eps", eps)

    def direction(g, state):
        k1 = state.k + 1
        v = _map(lambda g_, v_: (1 - b2) * (g_ * g_) + b2 * v_, g, state.v)
        c2 = 1 - b2 ** k1
        return _map(lambda g_, v_: g_ / (xp(v_).sqrt(v_ / c2) + eps), g, v), v

    return _schedule_free(eta, beta1, "beta1", warmup_steps, weight_decay, weight_lr_power, r, weight_eta, direction,
                          adam=True)
