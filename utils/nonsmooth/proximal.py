r"""Proximal gradient methods for composite problems F = f + h: ISTA, FISTA (with restart), the gradient mapping.

States, pure steps, and thin front-ends over the shared drivers (:func:`utils.drivers.run`,
:func:`utils.drivers.run_jax`), as in :mod:`utils.first_order`. ``problem`` is a composite record
(:mod:`utils.composite`): ``f``/``grad`` the smooth part f, ``prox(v, eta)`` = prox_{ηh}(v), ``info["g"]``
(the record's key for h; optionally ``info["F"]``) the nonsmooth term h. The drivers monitor F = f + h
(``history.fun`` = F(x_k), compared
with ``problem.f_star`` = F*). The stationarity measure is the gradient mapping

.. math::  G_\eta(x) = \big(x - \mathrm{prox}_{\eta h}(x - \eta\nabla f(x))\big)/\eta ,

which is 0 exactly at minimizers of F and equals ∇f(x) when h = 0 (Beck 2017, ch. 10, "gradient mapping"):
``history.grad_norm`` = ‖G_η(x_k)‖ for ISTA and ‖G_η(y_{k−1})‖ for FISTA (the mapping at the extrapolated point that
produced x_k; the step computes it there for free); runs stop when it falls to ``gtol``. The subgradient method,
which needs no prox, is in the sibling module :mod:`utils.subgradient`.
"""
from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import run, run_jax, validate_callback, validate_positive, validate_problem, validate_x0, while_loop
from ..core.problems import xp

__all__ = ["ISTAState", "ista_step", "ista", "ista_jax", "FISTAState", "fista_step", "fista", "fista_jax",
           "gradient_restart", "gradient_mapping"]



# --------------------------------------------------------------------------------- ISTA (proximal gradient)
_MONITORED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _composite_view(problem):
    """The record the drivers see: ``f`` = F = f + h (what they monitor; h is stored under ``info["g"]``),
    the smooth f kept in ``info["f_smooth"]``. Cached per problem, so the compiled JAX loop is reused across
    calls."""
    if getattr(problem, "prox", None) is None or "g" not in getattr(problem, "info", {}):
        raise ValueError(f"problem {problem.name!r} is not composite: it needs prox and info['g'] "
                         "(see utils.composite)")
    if problem not in _MONITORED:
        f, g = problem.f, problem.info["g"]
        F = problem.info.get("F", lambda x: f(x) + g(x))
        _MONITORED[problem] = replace(problem, f=F, info={**problem.info, "f_smooth": f})
    return _MONITORED[problem]


def gradient_mapping(problem, x, eta):
    """G_η(x) = (x − prox_{ηh}(x − η∇f(x)))/η (Beck 2017, Def. 10.5): 0 exactly at the minimizers of f + h."""
    return (x - problem.prox(x - eta * problem.grad(x), eta)) / eta


def _prox_grad(problem, x, gf, eta, rho, maxls):
    """x⁺ = prox_{ηh}(x − η∇f(x)); with the shrink factor β = ``rho`` < 1, η ← βη until the majorization
    (Beck & Teboulle 2009, §3) f(x⁺) ≤ f(x) + ∇f(x)ᵀ(x⁺ − x) + ‖x⁺ − x‖²/(2η) holds. Returns (x⁺, η, f evaluations)."""
    x_plus = problem.prox(x - eta * gf, eta)
    if rho is None:
        return x_plus, eta, 0
    f = problem.info.get("f_smooth", problem.f)
    fx = f(x)
    slack = 1e-12 * xp(x).abs(fx)                        # rounding must not shrink η for ever near x*

    def cond(c):
        e, xp_, fxp, j = c
        d = xp_ - x
        return (fxp > fx + gf @ d + (d @ d) / (2 * e) + slack) & (j < maxls)

    def body(c):
        e, _, _, j = c
        e = rho * e
        xp_ = problem.prox(x - e * gf, e)
        return e, xp_, f(xp_), j + 1

    eta, x_plus, _, j = while_loop(cond, body, (eta + 0.0 * fx, x_plus, f(x_plus), 0))
    return x_plus, eta, 2 + j


class ISTAState(NamedTuple):
    x: Any        # x_k
    x_plus: Any   # prox_{ηh}(x_k − η∇f(x_k)) = x_{k+1}, computed with x_k so that g is G_η(x_k)
    g: Any        # G_η(x_k) = (x_k − x_plus)/η, the gradient mapping
    eta: Any      # η_k (fixed, or the last accepted backtracking step)
    k: Any
    nfev: Any
    njev: Any


def _ista_init(x0, problem, eta, rho, maxls):
    x_plus, eta, nf = _prox_grad(problem, x0, problem.grad(x0), eta, rho, maxls)
    return ISTAState(x0, x_plus, (x0 - x_plus) / eta, eta, 0, nf, 1)


def ista_step(state: ISTAState, problem, rho=None, maxls=50) -> ISTAState:
    """x_{k+1} = prox_{ηh}(x_k − η∇f(x_k)); then the next prox-gradient point, so ``g`` = G_η(x_{k+1}). Pure."""
    x = state.x_plus
    x_plus, eta, nf = _prox_grad(problem, x, problem.grad(x), state.eta, rho, maxls)
    return ISTAState(x, x_plus, (x - x_plus) / eta, eta, state.k + 1, state.nfev + nf, state.njev + 1)


def _ista_bt(state, problem, rho):
    return ista_step(state, problem, rho)


def _eta(problem, eta, hint):
    """The step η: ``eta`` if given, else 1/L; ``ValueError`` when neither is available or η ≤ 0."""
    if eta is None:
        if problem.L is None:
            raise ValueError(f"eta=None means η = 1/L, but the problem has no L: {hint}")
        eta = 1.0 / problem.L
    return validate_positive("eta", eta)


def _ista_setup(problem, x0, eta, backtracking, rho, callback=None):
    validate_problem(problem)
    validate_callback(callback)
    view = _composite_view(problem)
    x0 = validate_x0(problem, x0)
    eta = _eta(problem, eta, "pass eta or backtracking=True")
    if backtracking and not 0 < rho < 1:
        raise ValueError(f"rho must be in (0, 1), got {rho!r}")
    return view, x0, eta, (rho if backtracking else None)


def ista(problem, x0=None, *, eta=None, backtracking=False, rho=0.5, maxiter=1000, gtol=1e-8, callback=None,
         record_x=None):
    r"""ISTA, the proximal gradient method (NumPy driver).

    .. math::  x_{k+1} = \mathrm{prox}_{\eta h}\big(x_k - \eta\nabla f(x_k)\big)

    Symbols ↔ arguments: η = ``eta`` (default 1/L; optax ``learning_rate``); with ``backtracking=True``
    η starts at ``eta`` and shrinks by the factor β = ``rho`` (the lecture's β, week 3 §5) until
    f(x⁺) ≤ f(x) + ∇f(x)ᵀ(x⁺−x) + ‖x⁺−x‖²/(2η)
    (ISTA with backtracking, Beck & Teboulle 2009, §3: η never grows, so η_k ≥ min(η₀, β/L)). Stops when the
    gradient mapping ‖G_η(x_k)‖ ≤ ``gtol``. Rates: F(x_k) − F* ≤ ‖x₀ − x*‖²/(2η̲k) with η̲ = η = 1/L (or
    min(η₀, β/L) with backtracking) (Beck & Teboulle 2009, Thm. 3.1; Beck 2017, Thm. 10.21); if f is
    μ-strongly convex and η = 1/L, ‖x_k − x*‖ ≤ (1 − μ/L)ᵏ ‖x₀ − x*‖ (the gradient step contracts by
    1 − μ/L and the prox is nonexpansive; Beck 2017, ch. 10). Daubechies et al.
    (2004) introduced it for the lasso as iterative soft thresholding; scipy has no counterpart.

    >>> import numpy as np
    >>> from utils.composite import lasso
    >>> p = lasso(np.diag([1.0, 2.0]), np.array([1.0, 1.0]), 0.1)
    >>> res = ista(p, gtol=1e-12)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    view, x0, eta, rho = _ista_setup(problem, x0, eta, backtracking, rho, callback)
    step, hp = (ista_step, ()) if rho is None else (_ista_bt, (rho,))
    return run(step, _ista_init(x0, view, eta, rho, 50), view, hp, maxiter=maxiter, gtol=gtol,
               callback=callback, record_x=record_x)


def ista_jax(problem, x0=None, *, eta=None, backtracking=False, rho=0.5, maxiter=1000, gtol=1e-8,
             record_x=None):
    """:func:`ista` compiled with JAX (``jit`` + ``lax.while_loop``; backtracking in an inner while loop)."""
    import jax.numpy as jnp

    view, x0, eta, rho = _ista_setup(problem, x0, eta, backtracking, rho)
    step, hp = (ista_step, ()) if rho is None else (_ista_bt, (rho,))
    state = _ista_init(jnp.asarray(x0), view, jnp.asarray(eta), None if rho is None else jnp.asarray(rho), 50)
    return run_jax(step, state, view, hp, maxiter=maxiter, gtol=gtol, record_x=record_x)


# ---------------------------------------------------------------------------------------------------- FISTA
def gradient_restart(x, x_new, y):
    """O'Donoghue & Candès (2015) gradient restart test: restart when (y_k − x_{k+1})ᵀ(x_{k+1} − x_k) > 0,
    i.e. when the momentum points uphill along the gradient mapping G_η(y_k)."""
    return (y - x_new) @ (x_new - x) > 0


class FISTAState(NamedTuple):
    x: Any      # x_k
    y: Any      # y_k, the extrapolated point
    gy: Any     # ∇f(y_k)
    t: Any      # t_k
    g: Any      # G_η(y_{k−1}) = (y_{k−1} − x_k)/η (G_η(x₀) at k = 0)
    k: Any
    nfev: Any
    njev: Any


def fista_step(state: FISTAState, problem, eta, restart=None) -> FISTAState:
    r"""One FISTA step (Beck & Teboulle 2009, §4; the course convention of the week 1 lecture, §0):
    x_{k+1} = prox_{ηh}(y_k − η∇f(y_k)), t_{k+1} = (1 + √(1 + 4t_k²))/2,
    y_{k+1} = x_{k+1} + ((t_k − 1)/t_{k+1})(x_{k+1} − x_k); if ``restart(x_k, x_{k+1}, y_k)`` is true,
    t_{k+1} = 1 and y_{k+1} = x_{k+1}. Pure; one gradient evaluation."""
    ns = xp(state.x)
    x = problem.prox(state.y - eta * state.gy, eta)
    t = 0.5 * (1.0 + ns.sqrt(1.0 + 4.0 * state.t ** 2))
    y = x + ((state.t - 1.0) / t) * (x - state.x)
    if restart is not None:
        r = restart(state.x, x, state.y)
        t, y = ns.where(r, 1.0, t), ns.where(r, x, y)
    return FISTAState(x, y, problem.grad(y), t, (state.y - x) / eta, state.k + 1, state.nfev, state.njev + 1)


_FISTA_STEPS: dict = {None: fista_step}


def _fista(problem, x0, eta, restart, callback=None):
    validate_problem(problem)
    validate_callback(callback)
    view = _composite_view(problem)
    x0 = validate_x0(problem, x0)
    eta = _eta(problem, eta, "pass eta")
    if restart is not None and not callable(restart):
        raise ValueError(f"restart must be None or a function (x, x_new, y) -> bool, got {restart!r}")
    if restart not in _FISTA_STEPS:
        _FISTA_STEPS[restart] = lambda s, p, e: fista_step(s, p, e, restart)
    return view, x0, eta, _FISTA_STEPS[restart]


def _fista_init(x0, problem, eta):
    gy = problem.grad(x0)
    return FISTAState(x0, x0, gy, 1.0 + 0.0 * eta, (x0 - problem.prox(x0 - eta * gy, eta)) / eta, 0, 0, 1)


def fista(problem, x0=None, *, eta=None, restart=None, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""FISTA, accelerated proximal gradient (NumPy driver; Beck & Teboulle 2009, FISTA with constant step).

    .. math::  x_{k+1} = \mathrm{prox}_{\eta h}(y_k - \eta\nabla f(y_k)),\quad
               t_{k+1} = \tfrac{1 + \sqrt{1 + 4t_k^2}}{2},\quad
               y_{k+1} = x_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(x_{k+1} - x_k),\qquad y_0 = x_0,\ t_0 = 1.

    Symbols ↔ arguments: η = ``eta`` (default 1/L; optax ``learning_rate``); ``restart`` = None or a function
    ``(x_k, x_{k+1}, y_k) -> bool`` such as :func:`gradient_restart` (O'Donoghue & Candès 2015, §3.2: restart
    when (y_k − x_{k+1})ᵀ(x_{k+1} − x_k) > 0), which then sets t_{k+1} = 1 and y_{k+1} = x_{k+1}. So β_k =
    (t_k − 1)/t_{k+1}, β₀ = 0: the course-wide convention of the week 1 lecture, §0. Rate with η = 1/L:
    F(x_k) − F* ≤ 2L‖x₀ − x*‖²/(k+1)² for k ≥ 1 (Beck 2017, Thm. 10.34; Beck & Teboulle 2009, Thm. 4.4, in
    their indexing). Without restart FISTA still converges linearly when f is μ-strongly convex and η < 1/L, but
    without the √κ speed-up (Li, Shi & Yuan, SIAM J. Optim. 2024, whose theorem needs η < 1/L); at η = 1/L the
    quadratic computation of the week 3 lecture, §6, covers quadratics: the tail rate is √(1 − μ/L), measured
    in tests/nonsmooth/test_fista_linear_rate.py. F(x_k) is not monotone. Stops when ‖G_η(y_{k−1})‖ ≤ ``gtol``.

    >>> import numpy as np
    >>> from utils.composite import lasso
    >>> p = lasso(np.diag([1.0, 2.0]), np.array([1.0, 1.0]), 0.1)
    >>> res = fista(p, restart=gradient_restart, gtol=1e-12)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    view, x0, eta, step = _fista(problem, x0, eta, restart, callback)
    return run(step, _fista_init(x0, view, eta), view, (eta,), maxiter=maxiter, gtol=gtol, callback=callback,
               record_x=record_x)


def fista_jax(problem, x0=None, *, eta=None, restart=None, maxiter=1000, gtol=1e-8, record_x=None):
    """:func:`fista` compiled with JAX (``jit`` + ``lax.while_loop``); same step, same result fields."""
    import jax.numpy as jnp

    view, x0, eta, step = _fista(problem, x0, eta, restart)
    x0 = jnp.asarray(x0)
    return run_jax(step, _fista_init(x0, view, jnp.asarray(eta)), view, (eta,), maxiter=maxiter, gtol=gtol,
                   record_x=record_x)
