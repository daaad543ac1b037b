r"""Pytree optimizers of weeks 4 and 6: SGD (momentum, Nesterov), AdaGrad, RMSProp, Adam / AMSGrad, AdamW, Lion,
and two wrappers, Lookahead and an exponential moving average (EMA) of the weights.

``opt = adam(eta=1e-3)`` returns an :class:`Optimizer`, a pair of pure functions::

    state = opt.init(params)
    params, state = opt.step(params, grads, state)

``params`` and ``grads`` are any pytree (dicts, tuples, lists of arrays; NumPy leaves run eagerly, JAX leaves
also under ``jit``); the state is a ``NamedTuple`` whose fields are the lecture's symbols (``m``, ``v``, ``k``…)
and whose unused fields are ``None``. Nothing is mutated. ``k`` counts the steps taken; a step size η may be a
float or a schedule η(k) from :mod:`utils.schedules`, evaluated at the count of the step being taken (η(0) for
the first, as optax does). :func:`to_optax` turns an optimizer into an ``optax.GradientTransformation``.

Conventions that differ between the paper, optax and torch.optim are explicit arguments (the tests align and
separate them): ε inside or outside the square root (``eps_in_sqrt``), AdaGrad's initial accumulator (``v0``),
L2 regularization in the gradient (``weight_decay`` of :func:`sgd`, :func:`adam`, like torch's) versus decoupled
decay (:func:`adamw`) that is multiplied by η_k (torch, optax) or by a schedule multiplier only (the paper:
``lr_coupled=False``), and where AMSGrad takes its maximum (``max_after_correction``).

Bad hyperparameters (η ≤ 0, β ∉ [0, 1), ε ≤ 0, …) raise ``ValueError`` naming the argument when the optimizer
is built; ``grads`` whose pytree structure or leaf shapes differ from ``params`` raise at the step (under ``jit``
when it traces).
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from ..core.problems import xp

__all__ = ["Optimizer", "to_optax", "SGDState", "sgd", "AdagradState", "adagrad", "RMSPropState", "rmsprop",
           "AdamState", "adam", "adamw", "LionState", "lion", "LookaheadState", "lookahead", "EMAState",
           "weight_ema"]

_map = jax.tree.map


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``step(params, grads, state) -> (params, state)``, both pure."""
    init: Callable[[Any], Any]
    step: Callable[[Any, Any, Any], tuple]


def to_optax(opt: Optimizer):
    """``opt`` as an ``optax.GradientTransformation``: ``update(grads, state, params)`` returns the updates
    x_{k+1} − x_k (``optax.apply_updates`` adds them back, exact up to one rounding per entry).

    >>> import jax.numpy as jnp, optax
    >>> tx = to_optax(sgd(eta=0.1))
    >>> x = jnp.array([1.0, 2.0]); s = tx.init(x)
    >>> u, s = tx.update(2 * x, s, x)
    >>> [round(float(v), 6) for v in optax.apply_updates(x, u)]
    [0.8, 1.6]
    """
    import optax

    if not isinstance(opt, Optimizer):
        raise ValueError(f"opt must be an Optimizer (from utils.adaptive), got {type(opt).__name__}")

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("params must be passed to update(): the utils optimizers step on the parameters")
        new, state = opt.step(params, updates, state)
        return _map(lambda a, b: a - b, new, params), state

    return optax.GradientTransformation(opt.init, update)


# ------------------------------------------------------------------------------------------------ validation
def _float(name, value, ok, what):
    if isinstance(value, (str, bytes, bool, np.bool_)) or callable(value):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what}, got {value!r}") from None
    if not (math.isfinite(v) and ok(v)):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return v


def _eta(eta, name="eta"):
    """A positive float, or a schedule (any callable of the step count)."""
    return eta if callable(eta) else _float(name, eta, lambda v: v > 0, "positive and finite or a schedule")


def _beta(name, beta):
    return _float(name, beta, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def _pos(name, value):
    return _float(name, value, lambda v: v > 0, "positive and finite")


def _nonneg(name, value):
    return _float(name, value, lambda v: v >= 0, "non-negative and finite")


def _at(eta, k):
    return eta(k) if callable(eta) else eta


def _check_tree(params, grads):
    tp, tg = jax.tree.structure(params), jax.tree.structure(grads)
    if tp != tg:
        raise ValueError(f"grads must have the pytree structure of params: got {tg}, params have {tp}")
    for i, (x, g) in enumerate(zip(jax.tree.leaves(params), jax.tree.leaves(grads))):
        if np.shape(x) != np.shape(g):
            raise ValueError(f"grads leaf {i} has shape {np.shape(g)}, the params leaf has {np.shape(x)}")


def _zeros(tree):
    return _map(lambda x: xp(x).zeros_like(x), tree)


def _full(tree, value):
    return _map(lambda x: xp(x).full_like(x, value), tree)


def _l2(grads, params, lam):
    """g + λx: L2 regularization (λ/2)‖x‖² folded into the gradient (torch ``weight_decay`` of SGD/Adam…)."""
    return grads if lam == 0.0 else _map(lambda g, x: g + lam * x, grads, params)


# ------------------------------------------------------------------------------------------------ SGD
class SGDState(NamedTuple):
    b: Any   # momentum buffer b_k (None when β = 0)
    k: Any   # steps taken


def sgd(eta, beta=0.0, *, nesterov=False, weight_decay=0.0) -> Optimizer:
    r"""SGD with heavy-ball or Nesterov momentum (Polyak 1964; Sutskever et al. 2013), in the buffer form of torch
    and optax:

    .. math::  g_k \leftarrow g_k + \lambda x_k,\quad b_{k+1} = \beta b_k + g_k,\quad
               d_k = g_k + \beta b_{k+1}\ \text{(Nesterov) or } b_{k+1},\quad x_{k+1} = x_k - \eta_k d_k

    with b₀ = 0 (so b₁ = g₀, torch's first-step copy). η = ``eta`` (optax ``learning_rate``, torch ``lr``),
    β = ``beta`` (optax ``momentum``, default None; torch ``momentum``, default 0), ``nesterov`` (both
    ``nesterov``), λ = ``weight_decay``: L2 in the gradient as in torch ``SGD(weight_decay)`` (optax: chain
    ``add_decayed_weights`` before ``sgd``). Torch's ``dampening`` is fixed at 0. The Nesterov form is
    :func:`utils.momentum.nesterov_momentum` (the course's y-form reads the same iterates, shifted).

    >>> import numpy as np
    >>> opt = sgd(eta=0.1, beta=0.5)
    >>> x = {"w": np.array([1.0, 1.0])}; s = opt.init(x)
    >>> for _ in range(2):
    ...     x, s = opt.step(x, {"w": np.array([1.0, 10.0]) * x["w"]}, s)
    >>> x["w"].round(12).tolist()     # heavy ball on ½(x₁² + 10x₂²): (0.9, 0) then (0.76, −0.5)
    [0.76, -0.5]
    """
    eta, beta, lam = _eta(eta), _beta("beta", beta), _nonneg("weight_decay", weight_decay)
    if nesterov and beta == 0.0:
        raise ValueError("nesterov=True needs a momentum beta > 0, got beta=0")

    def init(params):
        return SGDState(b=_zeros(params) if beta > 0 else None, k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        g = _l2(grads, params, lam)
        lr = _at(eta, state.k)
        if beta == 0.0:
            b, d = None, g
        else:
            b = _map(lambda g_, b_: g_ + beta * b_, g, state.b)
            d = _map(lambda g_, b_: g_ + beta * b_, g, b) if nesterov else b
        return _map(lambda x, d_: x - lr * d_, params, d), SGDState(b=b, k=state.k + 1)

    return Optimizer(init, step)


# ------------------------------------------------------------------------------------------------ AdaGrad
class AdagradState(NamedTuple):
    v: Any   # v_k = v₀ + Σ_{j<k} g_j², elementwise
    k: Any


def adagrad(eta=1e-2, eps=1e-10, *, v0=0.0, eps_in_sqrt=False, weight_decay=0.0) -> Optimizer:
    r"""Diagonal AdaGrad (Duchi, Hazan & Singer 2011, §1 and Fig. 1 (diagonal)):

    .. math::  v_{k+1} = v_k + g_k^2,\qquad x_{k+1} = x_k - \eta_k\, g_k / (\sqrt{v_{k+1}} + \varepsilon)
               \quad\text{or, with eps\_in\_sqrt,}\quad x_k - \eta_k\, g_k/\sqrt{v_{k+1} + \varepsilon}

    η = ``eta`` (optax ``learning_rate``; torch ``lr``, default 1e-2), ε = ``eps`` (optax ``eps`` = 1e-7 *inside*
    the root; torch ``eps`` = 1e-10 *outside*), v₀ = ``v0`` (optax ``initial_accumulator_value`` = 0.1; torch
    ``initial_accumulator_value`` = 0), λ = ``weight_decay`` (L2, torch ``weight_decay``). Defaults here are
    torch's (and the paper's δ outside the root). torch's ``lr_decay`` is not offered (use a schedule η_k).

    >>> import numpy as np
    >>> opt = adagrad(eta=0.5)
    >>> x = np.array([1.0, -2.0]); x, s = opt.step(x, np.array([1.0, 10.0]) * x, opt.init(x))
    >>> x.round(6).tolist()            # first step: η·g/|g| = η·sign(g)
    [0.5, -1.5]
    """
    eta, eps, v0, lam = _eta(eta), _pos("eps", eps), _nonneg("v0", v0), _nonneg("weight_decay", weight_decay)

    def init(params):
        return AdagradState(v=_full(params, v0), k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        g = _l2(grads, params, lam)
        lr = _at(eta, state.k)
        v = _map(lambda g_, v_: g_ * g_ + v_, g, state.v)
        if eps_in_sqrt:
            x = _map(lambda x_, g_, v_: x_ - lr * (g_ / xp(v_).sqrt(v_ + eps)), params, g, v)
        else:
            x = _map(lambda x_, g_, v_: x_ - lr * (g_ / (xp(v_).sqrt(v_) + eps)), params, g, v)
        return x, AdagradState(v=v, k=state.k + 1)

    return Optimizer(init, step)


# ------------------------------------------------------------------------------------------------ RMSProp
class RMSPropState(NamedTuple):
    m: Any   # m_k, running mean of g (centered RMSProp only; else None)
    v: Any   # v_k, running mean of g²
    k: Any


def rmsprop(eta=1e-2, beta=0.9, eps=1e-8, *, centered=False, eps_in_sqrt=False, v0=0.0,
            weight_decay=0.0) -> Optimizer:
    r"""RMSProp (Tieleman & Hinton 2012, lecture 6e), optionally centered (Graves 2013, eq. (38)–(40)):

    .. math::  v_{k+1} = \beta v_k + (1-\beta) g_k^2,\quad m_{k+1} = \beta m_k + (1-\beta) g_k,\quad
               s = v_{k+1}\ \text{or (centered) } v_{k+1} - m_{k+1}^2,\quad
               x_{k+1} = x_k - \eta_k\, g_k/(\sqrt{s} + \varepsilon)\ \ [\text{or } g_k/\sqrt{s + \varepsilon}]

    η = ``eta`` (optax ``learning_rate``; torch ``lr``, default 1e-2), β = ``beta`` (optax ``decay`` = 0.9; torch
    ``alpha`` = 0.99), ε = ``eps`` (1e-8 in both; optax ``eps_in_sqrt=True`` by default, torch outside the root:
    here ``eps_in_sqrt=False``), ``centered`` (both ``centered``), v₀ = ``v0`` (optax ``initial_scale``),
    λ = ``weight_decay`` (L2, torch ``weight_decay``). Momentum on top of RMSProp (torch/optax ``momentum``) is
    not offered: chain a Lookahead or use Adam.

    >>> import numpy as np
    >>> opt = rmsprop(eta=0.01, beta=0.9)
    >>> x = np.array([1.0, -2.0]); x, s = opt.step(x, np.array([1.0, 10.0]) * x, opt.init(x))
    >>> x.round(6).tolist()            # first step: η·g/(√(1−β)|g|) = η·sign(g)/√0.1
    [0.968377, -1.968377]
    """
    eta, beta, eps = _eta(eta), _beta("beta", beta), _pos("eps", eps)
    v0, lam = _nonneg("v0", v0), _nonneg("weight_decay", weight_decay)

    def init(params):
        return RMSPropState(m=_zeros(params) if centered else None, v=_full(params, v0), k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        g = _l2(grads, params, lam)
        lr = _at(eta, state.k)
        v = _map(lambda g_, v_: (1 - beta) * (g_ * g_) + beta * v_, g, state.v)
        m, s = None, v
        if centered:
            m = _map(lambda g_, m_: (1 - beta) * g_ + beta * m_, g, state.m)
            s = _map(lambda v_, m_: v_ - m_ * m_, v, m)
        if eps_in_sqrt:
            x = _map(lambda x_, g_, s_: x_ - lr * (g_ / xp(s_).sqrt(s_ + eps)), params, g, s)
        else:
            x = _map(lambda x_, g_, s_: x_ - lr * (g_ / (xp(s_).sqrt(s_) + eps)), params, g, s)
        return x, RMSPropState(m=m, v=v, k=state.k + 1)

    return Optimizer(init, step)


# ------------------------------------------------------------------------------------------------ Adam family
class AdamState(NamedTuple):
    m: Any       # m_k, first moment (EMA of g)
    v: Any       # v_k, second moment (EMA of g²)
    v_hat: Any   # v̂_k, AMSGrad's running maximum (Reddi et al. 2018 notation); None without amsgrad
    k: Any


def _adam(eta, beta1, beta2, eps, amsgrad, bias_correction, max_after_correction, l2, decay):
    """The shared Adam/AMSGrad step; ``decay(x, lr, k)`` is AdamW's decoupled term (None for Adam)."""
    eta, b1, b2, eps = _eta(eta), _beta("beta1", beta1), _beta("beta2", beta2), _pos("eps", eps)

    def init(params):
        return AdamState(m=_zeros(params), v=_zeros(params), v_hat=_zeros(params) if amsgrad else None, k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        g = _l2(grads, params, l2)
        lr, k1 = _at(eta, state.k), state.k + 1
        m = _map(lambda g_, m_: (1 - b1) * g_ + b1 * m_, g, state.m)
        v = _map(lambda g_, v_: (1 - b2) * (g_ * g_) + b2 * v_, g, state.v)
        c1, c2 = (1 - b1 ** k1, 1 - b2 ** k1) if bias_correction else (1.0, 1.0)
        m_hat = _map(lambda m_: m_ / c1, m)
        v_hat = None
        if not amsgrad:
            s = _map(lambda v_: v_ / c2, v)
        elif max_after_correction:                              # optax: v̂ = max(v̂, v/(1 − β₂ᵏ))
            v_hat = s = _map(lambda h, v_: xp(v_).maximum(h, v_ / c2), state.v_hat, v)
        else:                                                   # torch: v̂ = max(v̂, v), then / (1 − β₂ᵏ)
            v_hat = _map(lambda h, v_: xp(v_).maximum(h, v_), state.v_hat, v)
            s = _map(lambda h: h / c2, v_hat)
        u = _map(lambda m_, s_: m_ / (xp(s_).sqrt(s_) + eps), m_hat, s)
        if decay is None:
            x = _map(lambda x_, u_: x_ - lr * u_, params, u)
        else:
            x = decay(params, u, lr, state.k)
        return x, AdamState(m=m, v=v, v_hat=v_hat, k=k1)

    return Optimizer(init, step)


def adam(eta=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, *, amsgrad=False, bias_correction=True,
         max_after_correction=True, weight_decay=0.0) -> Optimizer:
    r"""Adam (Kingma & Ba 2015, Alg. 1) and AMSGrad (Reddi, Kale & Kumar 2018, Alg. 2):

    .. math::  m_{k+1} = \beta_1 m_k + (1-\beta_1) g_k,\quad v_{k+1} = \beta_2 v_k + (1-\beta_2) g_k^2,\quad
               x_{k+1} = x_k - \eta_k\,\frac{m_{k+1}/(1-\beta_1^{k+1})}{\sqrt{v_{k+1}/(1-\beta_2^{k+1})}
               + \varepsilon}

    AMSGrad replaces v_{k+1}/(1−β₂^{k+1}) by v̂_{k+1} = max(v̂_k, v_{k+1}/(1−β₂^{k+1})) (optax
    ``amsgrad``, ``max_after_correction=True``) or by max(v̂_k, v_{k+1})/(1−β₂^{k+1}) (torch
    ``Adam(amsgrad=True)``, ``max_after_correction=False``); Reddi et al. use no bias correction at all
    (``bias_correction=False``, optax ``bias_correction_mu=bias_correction_nu=False``).

    η = ``eta`` (optax ``learning_rate``; torch ``lr``, default 1e-3), β₁, β₂ = ``beta1``, ``beta2`` (optax
    ``b1``, ``b2``; torch ``betas``; 0.9, 0.999), ε = ``eps`` (1e-8 in both, outside the root; optax
    ``eps_root`` = 0), λ = ``weight_decay``: L2 in the gradient, g ← g + λx, exactly torch ``Adam(weight_decay)``
    — *not* AdamW's decay (see :func:`adamw`).

    >>> import numpy as np
    >>> opt = adam(eta=0.1)
    >>> x = {"w": np.array([1.0, -2.0])}; x, s = opt.step(x, {"w": np.array([1.0, 10.0]) * x["w"]}, opt.init(x))
    >>> x["w"].round(6).tolist()       # first step: m̂/√v̂ = g/|g|, so x − η·sign(g)
    [0.9, -1.9]
    """
    return _adam(eta, beta1, beta2, eps, amsgrad, bias_correction, max_after_correction,
                 _nonneg("weight_decay", weight_decay), None)


def adamw(eta=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, *, lr_coupled=True, multiplier=1.0,
          amsgrad=False, max_after_correction=True) -> Optimizer:
    r"""AdamW, Adam with decoupled weight decay (Loshchilov & Hutter 2019, Alg. 2, line 12):

    .. math::  x_{k+1} = x_k - \eta_k\, \hat u_k - \eta_k\lambda x_k \quad\text{(lr\_coupled, torch/optax)},
               \qquad x_{k+1} = x_k - \eta_k\, \hat u_k - s_k\lambda x_k \quad\text{(the paper)}

    with û_k = m̂/(√v̂ + ε) the Adam direction of :func:`adam` computed from the raw gradient (no λx inside).
    In the paper η_k = α·s_k: a base rate α times a schedule multiplier s_k, and the decay is multiplied by s_k
    only. Torch ``AdamW`` and optax ``adamw`` multiply it by the whole η_k, so the paper's λ equals their
    ``weight_decay``·α. ``lr_coupled=False`` gives the paper's form with s_k = ``multiplier`` (a float or a
    schedule).

    η = ``eta`` (optax ``learning_rate``, torch ``lr``), β₁, β₂, ε as in :func:`adam`, λ = ``weight_decay``
    (torch ``AdamW`` default 1e-2; optax ``adamw`` default 1e-4), ``amsgrad`` and ``max_after_correction`` as in
    :func:`adam`.

    >>> import numpy as np
    >>> opt = adamw(eta=0.1, weight_decay=0.5)
    >>> x = np.array([1.0, -2.0]); x, s = opt.step(x, np.array([1.0, 10.0]) * x, opt.init(x))
    >>> x.round(6).tolist()            # x − η·sign(g) − ηλx
    [0.85, -1.8]
    """
    lam = _nonneg("weight_decay", weight_decay)
    if lr_coupled:
        def decay(params, u, lr, k):
            return _map(lambda x_, u_: x_ - lr * (u_ + lam * x_), params, u)
    else:
        mult = multiplier if callable(multiplier) else _nonneg("multiplier", multiplier)

        def decay(params, u, lr, k):
            s = _at(mult, k)
            return _map(lambda x_, u_: x_ - lr * u_ - (s * lam) * x_, params, u)
    return _adam(eta, beta1, beta2, eps, amsgrad, True, max_after_correction, 0.0, decay)


# ------------------------------------------------------------------------------------------------ Lion
class LionState(NamedTuple):
    m: Any   # m_k, momentum (EMA of g with β₂)
    k: Any


def lion(eta=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0) -> Optimizer:
    r"""Lion, EvoLved Sign Momentum (Chen et al. 2023, Alg. 2):

    .. math::  c_k = \operatorname{sign}(\beta_1 m_k + (1-\beta_1) g_k),\quad
               x_{k+1} = x_k - \eta_k (c_k + \lambda x_k),\quad m_{k+1} = \beta_2 m_k + (1-\beta_2) g_k

    η = ``eta`` (optax ``learning_rate``; the paper uses an η 3–10× smaller than AdamW's), β₁, β₂ = ``beta1``,
    ``beta2`` (optax ``b1``, ``b2``: 0.9, 0.99), λ = ``weight_decay`` (optax ``weight_decay``, default 1e-3,
    lr-coupled as in the paper; λ 3–10× larger than AdamW's keeps ηλ fixed). torch.optim has no Lion.

    >>> import numpy as np
    >>> opt = lion(eta=0.1)
    >>> x = np.array([1.0, -2.0]); x, s = opt.step(x, np.array([1.0, 10.0]) * x, opt.init(x))
    >>> x.round(12).tolist()           # every entry moves by exactly η
    [0.9, -1.9]
    """
    eta, b1, b2 = _eta(eta), _beta("beta1", beta1), _beta("beta2", beta2)
    lam = _nonneg("weight_decay", weight_decay)

    def init(params):
        return LionState(m=_zeros(params), k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        lr = _at(eta, state.k)
        c = _map(lambda g_, m_: xp(g_).sign((1.0 - b1) * g_ + b1 * m_), grads, state.m)
        x = _map(lambda x_, c_: x_ - lr * (c_ + lam * x_), params, c)
        m = _map(lambda g_, m_: (1 - b2) * g_ + b2 * m_, grads, state.m)
        return x, LionState(m=m, k=state.k + 1)

    return Optimizer(init, step)


# ------------------------------------------------------------------------------------------------ wrappers
def _inner(inner):
    if not isinstance(inner, Optimizer):
        raise ValueError(f"inner must be an Optimizer (from utils.adaptive), got {type(inner).__name__}")
    return inner


class LookaheadState(NamedTuple):
    inner: Any   # the inner optimizer's state
    phi: Any     # φ, the slow weights
    k: Any       # fast steps taken


def lookahead(inner: Optimizer, sync_period=5, alpha=0.5) -> Optimizer:
    r"""Lookahead (Zhang, Lucas, Hinton & Ba 2019, Alg. 1) around any optimizer of this module:

    .. math::  \theta_{k+1} = \text{inner step from } \theta_k;\quad
               \text{every } K \text{ steps: } \varphi \leftarrow \varphi + \alpha(\theta_{k+1} - \varphi),\
               \theta_{k+1} \leftarrow \varphi

    ``params`` are the fast weights θ (the gradient is taken there); the slow weights φ live in the state
    (``state.phi``; evaluate them at the end of training). The inner state is carried across syncs (optax
    ``reset_state=False``; the paper also keeps it). K = ``sync_period`` (optax ``sync_period``, paper k = 5),
    α = ``alpha`` ∈ (0, 1] (optax ``slow_step_size``, paper α = 0.5). optax keeps both copies in the params
    (``LookaheadParams(fast, slow)``); torch.optim has no Lookahead.

    >>> import numpy as np
    >>> opt = lookahead(sgd(eta=0.5), sync_period=2, alpha=0.5)
    >>> x = np.array([4.0]); s = opt.init(x)
    >>> for _ in range(2):
    ...     x, s = opt.step(x, x, s)       # f = ½x²: θ = 4 → 2 → 1, then φ = 4 + ½(1 − 4)
    >>> x.tolist(), s.phi.tolist()
    ([2.5], [2.5])
    """
    inner = _inner(inner)
    try:
        K = operator.index(sync_period)
    except TypeError:
        raise ValueError(f"sync_period must be an integer ≥ 1, got {sync_period!r}") from None
    if isinstance(sync_period, bool) or K < 1:
        raise ValueError(f"sync_period must be an integer ≥ 1, got {sync_period!r}")
    alpha = _float("alpha", alpha, lambda v: 0.0 < v <= 1.0, "a number in (0, 1]")

    def init(params):
        return LookaheadState(inner=inner.init(params), phi=params, k=0)

    def step(params, grads, state):
        theta, s_in = inner.step(params, grads, state.inner)
        k1 = state.k + 1
        sync = k1 % K == 0
        phi_new = _map(lambda p, t: p + alpha * (t - p), state.phi, theta)
        theta = _map(lambda pn, t: xp(t).where(sync, pn, t), phi_new, theta)
        phi = _map(lambda pn, p: xp(p).where(sync, pn, p), phi_new, state.phi)
        return theta, LookaheadState(inner=s_in, phi=phi, k=k1)

    return Optimizer(init, step)


class EMAState(NamedTuple):
    inner: Any   # the inner optimizer's state
    x_bar: Any   # x̄_k, the averaged weights
    k: Any


def weight_ema(inner: Optimizer, beta=0.999, *, debias=False) -> Optimizer:
    r"""An exponential moving average of the weights along any optimizer's run (Polyak averaging with forgetting):

    .. math::  \bar x_{k+1} = \bar x_k + c_{k+1}(x_{k+1} - \bar x_k),\qquad
               c_k = 1-\beta \ \ (\bar x_0 = x_0),\quad\text{or, debiased,}\quad c_k = \frac{1-\beta}{1-\beta^k}

    Without ``debias``, x̄_k = β^k x₀ + (1−β)Σ_{j=1}^k β^{k−j} x_j, torch
    ``AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(β))`` started at x₀ (torch's first ``update_parameters``
    call copies the model instead of averaging, so call it once at x₀ before training). With ``debias``, x̄_k is the
    normalized average of x₁…x_k with weights ∝ β^{k−j}: optax ``ema(decay=β, debias=True)`` fed the iterates
    (optax keeps the zero-started sum and divides by 1 − β^k; this running form is the same number). The steps
    return the inner optimizer's iterates; the average is ``state.x_bar``. β = ``beta`` (optax ``decay``,
    torch ``decay``, default 0.999).

    >>> import numpy as np
    >>> opt = weight_ema(sgd(eta=0.5), beta=0.5)
    >>> x = np.array([4.0]); s = opt.init(x)
    >>> x, s = opt.step(x, x, s)           # x₁ = 2, x̄₁ = 4 + ½(2 − 4)
    >>> x.tolist(), s.x_bar.tolist()
    ([2.0], [3.0])
    """
    inner, beta = _inner(inner), _beta("beta", beta)

    def init(params):
        return EMAState(inner=inner.init(params), x_bar=params, k=0)

    def step(params, grads, state):
        x, s_in = inner.step(params, grads, state.inner)
        k1 = state.k + 1
        c = (1 - beta) / (1 - beta ** k1) if debias else 1 - beta
        x_bar = _map(lambda a, x_: a + c * (x_ - a), state.x_bar, x)
        return x, EMAState(inner=s_in, x_bar=x_bar, k=k1)

    return Optimizer(init, step)
