r"""The subgradient method for a nonsmooth convex f, with its step rules (constant, diminishing, Polyak).

State, pure step, and thin front-ends over the shared drivers (:func:`utils.drivers.run`,
:func:`utils.drivers.run_jax`), as in :mod:`utils.first_order`. ``problem.f`` is the (nonsmooth) objective and
``problem.grad`` returns *a* subgradient s ∈ ∂f(x). ``history.fun`` is f(x_k) and ``history.grad_norm`` is ‖s_k‖
(not a stationarity measure: it need not go to 0, so ``gtol`` defaults to 0). Its sibling :mod:`utils.proximal`
holds the methods for composite problems f + h that use the prox of h (ISTA, FISTA; lecture week 3 writes
F = f + h).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import REQUIRED, run, run_jax, validate_positive, validate_required, validate_x0
from ..core.problems import xp

__all__ = ["constant", "diminishing", "polyak", "SubgradState", "subgradient_step", "subgradient_method",
           "subgradient_method_jax"]


# ------------------------------------------------------------------------------------------ step rules
# Each rule is a small callable (k, f(x_k), ‖s_k‖, f⋆) -> α_k. They are NamedTuples, so two rules with the same
# parameters compare equal and a compiled JAX loop is reused.
class _Constant(NamedTuple):
    alpha: float

    def __call__(self, k, fx, s_norm, f_star):
        return self.alpha + 0.0 * fx

    def __repr__(self):                  # as it is written: constant(0.1), diminishing(1.0), polyak()
        return f"constant({self.alpha!r})"


class _Diminishing(NamedTuple):
    alpha0: float

    def __call__(self, k, fx, s_norm, f_star):
        return self.alpha0 / (k + 1.0) ** 0.5 + 0.0 * fx

    def __repr__(self):
        return f"diminishing({self.alpha0!r})"


class _Polyak(NamedTuple):
    f_star: float          # NaN: use the problem's f⋆

    def __call__(self, k, fx, s_norm, f_star):
        return (fx - (self.f_star if self.f_star == self.f_star else f_star)) / s_norm ** 2

    def __repr__(self):
        return "polyak()" if self.f_star != self.f_star else f"polyak({self.f_star!r})"


def constant(alpha):
    """Constant step α_k = α (Polyak 1987, ch. 5; Beck 2017, ch. 8)."""
    return _Constant(validate_positive("alpha", alpha))


def diminishing(alpha0):
    """Diminishing step α_k = α₀/√(k+1), nonsummable: f_best,k → f⋆ at rate O(log k/√k) (Beck 2017, ch. 8)."""
    return _Diminishing(validate_positive("alpha0", alpha0))


def polyak(f_star=None):
    """Polyak's step α_k = (f(x_k) − f⋆)/‖s_k‖² (Polyak 1987, ch. 5; Beck 2017, ch. 8); f⋆ from the problem
    when ``f_star`` is None."""
    return _Polyak(float("nan") if f_star is None else float(f_star))


# ------------------------------------------------------------------------------------ subgradient method
class SubgradState(NamedTuple):
    x: Any      # x_k
    fx: Any     # f(x_k)
    g: Any      # s_k ∈ ∂f(x_k), the subgradient
    k: Any
    nfev: Any
    njev: Any


def subgradient_step(state: SubgradState, problem, rule) -> SubgradState:
    """x_{k+1} = x_k − α_k s_k, α_k = rule(k, f(x_k), ‖s_k‖, f⋆). Pure; runs on NumPy and under ``jit``."""
    alpha = rule(state.k, state.fx, xp(state.x).linalg.norm(state.g), problem.f_star)
    x = state.x - alpha * state.g
    return SubgradState(x, problem.f(x), problem.grad(x), state.k + 1, state.nfev + 1, state.njev + 1)


_SG_STEPS: dict = {}


def _sg(rule, problem):
    if not callable(rule):
        hint = ""
        if isinstance(rule, (int, float, np.integer, np.floating)) and not isinstance(rule, bool):
            hint = f"; for a constant step α = {rule!r} write step=utils.subgradient.constant({rule!r})"
        raise ValueError(f"step must be a step rule, a function (k, f(x_k), ‖s_k‖, f⋆) -> α_k; got {rule!r}{hint}")
    if isinstance(rule, _Polyak) and rule.f_star != rule.f_star and problem.f_star is None:
        raise ValueError("step=polyak() needs f_star: pass polyak(f_star) or a problem with f_star")
    if rule not in _SG_STEPS:                       # one step function per rule value: compiled loops reused
        _SG_STEPS[rule] = lambda state, problem: subgradient_step(state, problem, rule)
    return _SG_STEPS[rule]


def _best_and_average(res, rule, problem):
    """x_best = argmin_k f(x_k) and the ergodic average x̄ = Σα_k x_k/Σα_k, read from the recorded iterates."""
    h = res.history
    k = np.arange(len(h.fun))
    with np.errstate(divide="ignore", invalid="ignore"):     # Polyak at a zero subgradient (the run's end)
        alpha = np.array([rule(i, fv, sn, problem.f_star) for i, fv, sn in zip(k, h.fun, h.grad_norm)], dtype=float)
    finite = np.isfinite(h.fun)
    best = int(np.argmin(np.where(finite, h.fun, np.inf)))
    w = np.where(finite & np.isfinite(alpha), alpha, 0.0)
    res.x_last, res.f_last = res.x, res.fun
    res.x, res.fun = h.x[best], float(h.fun[best])
    res.f_best = np.minimum.accumulate(np.where(finite, h.fun, np.inf))
    res.alpha = alpha
    res.x_avg = (w[:, None] * h.x).sum(0) / w.sum()
    res.f_avg = float(problem.f(res.x_avg))
    return res


def subgradient_method(problem, x0=None, *, step=REQUIRED, maxiter=1000, gtol=0.0, callback=None):
    r"""The subgradient method (NumPy driver).

    .. math::  x_{k+1} = x_k - \alpha_k s_k,\qquad s_k \in \partial f(x_k)

    Symbols ↔ arguments: x₀ = ``x0``; s_k = ``problem.grad(x_k)``; the step rule α_k = ``step``, one of
    :func:`constant` (α), :func:`diminishing` (α₀/√(k+1)) or :func:`polyak` ((f(x_k) − f⋆)/‖s_k‖²), or any
    function ``step(k, fx, s_norm, f_star) -> α_k`` written with array operators (e.g. ``lambda k, fx, sn, fs:
    1 / (mu * (k + 1))``; pass the same function object again to reuse a compiled JAX loop)
    (torch/optax have no subgradient-specific names: ``SGD(lr=α)`` with a subgradient is the same update).
    It is not a descent method, so the answer is the best iterate: ``x``/``fun`` are x_best = argmin_{i≤k} f(x_i);
    the result also holds ``x_last``, the ergodic average ``x_avg`` = Σα_i x_i/Σα_i with ``f_avg``, ``f_best``
    (f_best,k per iteration) and ``alpha``. Bound: with ‖s‖ ≤ G and R = ‖x₀ − x*‖,
    f_best,k − f⋆ ≤ (R² + G²Σ_{i≤k}α_i²)/(2Σ_{i≤k}α_i), also for f(x̄_k) (Shor 1985; Beck 2017, ch. 8;
    Nesterov 2004, §3.2.3); Polyak's step gives f_best,k − f⋆ ≤ GR/√(k+1) (Polyak 1987, ch. 5; Beck 2017, ch. 8).
    The iterates are always recorded (``history.x``): the best and averaged iterates are read from them.

    >>> import numpy as np
    >>> from utils.problems import Problem
    >>> p = Problem("|x₁| + 2|x₂|", f=lambda x: abs(x[0]) + 2 * abs(x[1]),
    ...             grad=lambda x: np.sign(x) * [1.0, 2.0], x0=np.array([1.0, 1.0]), f_star=0.0)
    >>> res = subgradient_method(p, step=polyak(), maxiter=50)
    >>> bool(res.fun < 1e-6), bool(res.fun <= res.f_last)
    (True, True)
    """
    validate_required(problem, x0, step=step)
    x0 = validate_x0(problem, x0)
    res = run(_sg(step, problem), _sg_init(x0, problem), problem, (), maxiter=maxiter, gtol=gtol,
              callback=callback, record_x=True)
    return _best_and_average(res, step, problem)


def _sg_init(x0, problem):
    return SubgradState(x0, problem.f(x0), problem.grad(x0), 0, 1, 1)


def subgradient_method_jax(problem, x0=None, *, step=REQUIRED, maxiter=1000, gtol=0.0):
    """:func:`subgradient_method` compiled with JAX (``jit`` + ``lax.while_loop``); same step, same fields."""
    import jax.numpy as jnp

    validate_required(problem, x0, step=step)
    x0 = jnp.asarray(validate_x0(problem, x0))
    res = run_jax(_sg(step, problem), _sg_init(x0, problem), problem, (), maxiter=maxiter, gtol=gtol,
                  record_x=True)
    return _best_and_average(res, step, problem)
