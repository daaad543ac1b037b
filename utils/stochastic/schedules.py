r"""Step-size schedules η_k: callables of the step count k = 0, 1, 2, … (the number of steps already taken).

Every optimizer in :mod:`utils.adaptive` accepts either a float η or one of these callables wherever a step size
goes, and evaluates it at the count of the step being taken (the first step uses η₀), as optax does
(``scale_by_learning_rate`` reads ``schedule(count)`` before incrementing) and as ``torch.optim.lr_scheduler``
does (the lr after k calls of ``scheduler.step()``). A schedule is written with array operators, so it runs on a
Python/NumPy integer eagerly and on a traced JAX integer under ``jit``.

=========================  ===================================================  ==================================
schedule                   η_k                                                  optax / torch.optim.lr_scheduler
=========================  ===================================================  ==================================
``constant_schedule``      η                                                    ``constant_schedule`` / —
``step_schedule``          η γ^⌊k/s⌋                                            ``exponential_decay(staircase=True)``
                                                                                / ``StepLR``
``cosine_schedule``        η_min + (η − η_min)(1 + cos(π min(k,T)/T))/2         ``cosine_decay_schedule`` /
                                                                                ``CosineAnnealingLR`` (k ≤ T)
``linear_warmup_schedule`` η₀ + (η − η₀) min(k, w)/w                            ``linear_schedule`` / ``LinearLR``
``warmup_cosine_schedule`` linear warmup over w steps, then cosine to η_end      ``warmup_cosine_decay_schedule``
                           at k = T (T counts the warmup)
``one_cycle_schedule``     cosine from η_max/d up to η_max at ⌊pT⌋, then down    ``cosine_onecycle_schedule`` /
                           to η_max/(d·d_f) at T                                ``OneCycleLR`` (indexed differently)
``inverse_sqrt_schedule``  η min(s/w, √(w/s)), s = k + 1                        — (Vaswani et al. 2017, eq. (3))
=========================  ===================================================  ==================================

References: Loshchilov & Hutter 2017 (SGDR: cosine annealing), Goyal et al. 2017 (linear warmup), Smith &
Topin 2019 / Smith 2018 (one-cycle), Vaswani et al. 2017 §5.3 (inverse square root with warmup).
"""
from __future__ import annotations

import math

from ..core.drivers import validate_int
from ..core.problems import xp

__all__ = ["constant_schedule", "step_schedule", "cosine_schedule", "linear_warmup_schedule",
           "warmup_cosine_schedule", "one_cycle_schedule", "inverse_sqrt_schedule"]


def _number(name, value, *, positive=True, low=None, high=None):
    if isinstance(value, (str, bytes, bool)) or callable(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or (positive and v <= 0) or (not positive and v < 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'} and finite, got {value!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return v


_steps = validate_int                 # integer step counts (name, value, least)


def constant_schedule(eta):
    """η_k = η (optax ``constant_schedule(value)``).

    >>> constant_schedule(0.1)(7)
    0.1
    """
    eta = _number("eta", eta)
    return lambda k: eta


def step_schedule(eta, step_size, gamma=0.1):
    """η_k = η γ^⌊k/s⌋: multiply by γ every s steps.

    η = ``eta`` (torch ``lr``, optax ``init_value``), s = ``step_size`` (torch ``StepLR(step_size)``, optax
    ``exponential_decay(transition_steps=s, staircase=True)``), γ = ``gamma`` ∈ (0, 1] (torch ``gamma``,
    optax ``decay_rate``).

    >>> s = step_schedule(1.0, step_size=10, gamma=0.5)
    >>> [float(s(k)) for k in (0, 9, 10, 25)]
    [1.0, 1.0, 0.5, 0.25]
    """
    eta, s, gamma = _number("eta", eta), _steps("step_size", step_size), _number("gamma", gamma, high=1.0)

    def schedule(k):
        return eta * gamma ** (k // s)
    return schedule


def cosine_schedule(eta, decay_steps, eta_min=0.0):
    """η_k = η_min + (η − η_min)·(1 + cos(π min(k, T)/T))/2, constant η_min after T (Loshchilov & Hutter 2017,
    eq. (5), one cycle without restart).

    η = ``eta`` (optax ``init_value``, torch ``lr``), T = ``decay_steps`` (torch ``CosineAnnealingLR(T_max)``),
    η_min = ``eta_min`` (torch ``eta_min``; optax ``alpha = η_min/η``).

    >>> s = cosine_schedule(1.0, decay_steps=100, eta_min=0.1)
    >>> [round(float(s(k)), 12) for k in (0, 50, 100, 200)]
    [1.0, 0.55, 0.1, 0.1]
    """
    eta, T = _number("eta", eta), _steps("decay_steps", decay_steps)
    eta_min = _number("eta_min", eta_min, positive=False)

    def schedule(k):
        np_ = xp(k)
        c = 0.5 * (1.0 + np_.cos(math.pi * np_.minimum(k, T) / T))
        return eta_min + (eta - eta_min) * c
    return schedule


def linear_warmup_schedule(eta, warmup_steps, eta_init=0.0):
    """η_k = η₀ + (η − η₀)·min(k, w)/w: linear from η₀ to η over w steps, then constant (Goyal et al. 2017).

    η = ``eta`` (optax ``linear_schedule(end_value)``), w = ``warmup_steps`` (optax ``transition_steps``,
    torch ``LinearLR(total_iters)``), η₀ = ``eta_init`` (optax ``init_value``; torch ``start_factor = η₀/η``).

    >>> s = linear_warmup_schedule(1.0, warmup_steps=4)
    >>> [float(s(k)) for k in (0, 1, 4, 9)]
    [0.0, 0.25, 1.0, 1.0]
    """
    eta, w = _number("eta", eta), _steps("warmup_steps", warmup_steps)
    eta_init = _number("eta_init", eta_init, positive=False)

    def schedule(k):
        return eta_init + (eta - eta_init) * (xp(k).minimum(k, w) / w)
    return schedule


def warmup_cosine_schedule(eta, warmup_steps, total_steps, eta_init=0.0, eta_end=0.0):
    """Linear warmup from η₀ to η over w steps, then cosine from η (at k = w) to η_end (at k = T, T counting the
    warmup), constant after.

    η = ``eta`` (optax ``warmup_cosine_decay_schedule(peak_value)``), w = ``warmup_steps`` (optax
    ``warmup_steps``), T = ``total_steps`` (optax ``decay_steps``, which includes the warmup), η₀ = ``eta_init``
    (optax ``init_value``), η_end = ``eta_end`` (optax ``end_value``).

    >>> s = warmup_cosine_schedule(1.0, warmup_steps=10, total_steps=110)
    >>> [round(float(s(k)), 12) for k in (0, 5, 10, 60, 110)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    eta, w = _number("eta", eta), _steps("warmup_steps", warmup_steps)
    T = _steps("total_steps", total_steps)
    if T <= w:
        raise ValueError(f"total_steps must exceed warmup_steps = {w}, got {total_steps!r}")
    warm = linear_warmup_schedule(eta, w, eta_init)
    cos = cosine_schedule(eta, T - w, _number("eta_end", eta_end, positive=False))

    def schedule(k):
        return xp(k).where(k < w, warm(k), cos(k - w))
    return schedule


def one_cycle_schedule(eta_max, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """One-cycle (Smith 2018; Smith & Topin 2019), cosine form: from η_max/d up to η_max at k₁ = ⌊p·T⌋, then down
    to η_max/(d·d_f) at k = T, constant after. Each half is η_b + (η_a − η_b)(1 + cos(π·t))/2 with t ∈ [0, 1]
    the fraction of the phase done.

    η_max = ``eta_max`` (optax ``cosine_onecycle_schedule(peak_value)``, torch ``OneCycleLR(max_lr)``),
    T = ``total_steps`` (optax ``transition_steps``, torch ``total_steps``), p = ``pct_start``, d = ``div_factor``,
    d_f = ``final_div_factor`` (same names and defaults 0.3, 25, 1e4 in both). This is optax's indexing; torch's
    ``OneCycleLR`` puts the peak at p·T − 1 (one step earlier) and the minimum at T − 1, so its values differ from
    these.

    >>> s = one_cycle_schedule(1.0, total_steps=100)
    >>> [round(float(s(k)), 12) for k in (0, 30, 100)]
    [0.04, 1.0, 4e-06]
    """
    eta_max, T = _number("eta_max", eta_max), _steps("total_steps", total_steps, least=2)
    p = _number("pct_start", pct_start, high=1.0)
    d, d_f = _number("div_factor", div_factor), _number("final_div_factor", final_div_factor)
    k1 = int(p * T)
    if not 0 < k1 < T:
        raise ValueError(f"pct_start * total_steps must fall strictly inside (0, total_steps), got pct_start={p}")
    eta0, eta_min = eta_max / d, eta_max / (d * d_f)

    def schedule(k):
        np_ = xp(k)
        up = np_.minimum(k, k1) / k1
        down = np_.clip(k - k1, 0, T - k1) / (T - k1)
        rise = eta_max + (eta0 - eta_max) * 0.5 * (np_.cos(math.pi * up) + 1.0)
        fall = eta_min + (eta_max - eta_min) * 0.5 * (np_.cos(math.pi * down) + 1.0)
        return np_.where(k < k1, rise, fall)
    return schedule


def inverse_sqrt_schedule(eta, warmup_steps):
    """η_k = η·min(s/w, √(w/s)) with s = k + 1: linear warmup to η at s = w, then ∝ 1/√s.

    Vaswani et al. 2017, eq. (3), lrate = d^{-1/2} min(s^{-1/2}, s·w^{-3/2}) with their 1-based step s, is this
    schedule with η = (d·w)^{-1/2}. η = ``eta`` (the peak), w = ``warmup_steps`` (Vaswani ``warmup_steps``).

    >>> s = inverse_sqrt_schedule(1.0, warmup_steps=4)
    >>> [float(s(k)) for k in (0, 3, 15)]
    [0.25, 1.0, 0.5]
    """
    eta, w = _number("eta", eta), _steps("warmup_steps", warmup_steps)

    def schedule(k):
        np_ = xp(k)
        s = k + 1.0
        return eta * np_.minimum(s / w, np_.sqrt(w / s))
    return schedule
