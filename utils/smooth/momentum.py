"""Momentum methods: Polyak's heavy ball and Nesterov's accelerated gradient in three forms.

Each follows :mod:`utils.first_order`: a ``NamedTuple`` state, a pure step (NumPy eagerly, JAX under ``jit``),
a NumPy front-end over :func:`utils.drivers.run` and a JAX one over :func:`utils.drivers.run_jax`.

For Nesterov's methods the gradient is evaluated at the extrapolated point y_k, so ``state.g = ∇f(y_k)``:
the drivers stop on ‖∇f(y_k)‖ ≤ gtol (y_k → x* as x_k does) and ``history.fun`` is f(x_k).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..core.drivers import REQUIRED, run, run_jax, validate_positive, validate_required, validate_x0

__all__ = ["HBState", "hb_init", "hb_step", "heavy_ball", "heavy_ball_jax",
           "NesterovState", "nesterov_init", "nesterov_step", "nesterov_sc_step", "nesterov", "nesterov_jax",
           "nesterov_strongly_convex", "nesterov_strongly_convex_jax",
           "NMState", "nm_init", "nm_step", "nesterov_momentum", "nesterov_momentum_jax"]


def _beta(beta):
    try:
        b = float(beta)
    except (TypeError, ValueError):
        raise ValueError(f"beta must be a number in [0, 1), got {beta!r}") from None
    if not 0.0 <= b < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    return b


def _go(step, init, problem, x0, hparams, jax, maxiter, gtol, callback, record_x):
    """Validate x0, build the initial state, run the NumPy loop or the compiled JAX loop."""
    x0 = validate_x0(problem, x0)
    if jax:
        import jax.numpy as jnp

        return run_jax(step, init(jnp.asarray(x0), problem), problem, hparams, maxiter=maxiter, gtol=gtol,
                       record_x=record_x)
    return run(step, init(x0, problem), problem, hparams, maxiter=maxiter, gtol=gtol, callback=callback,
               record_x=record_x)


# ------------------------------------------------------------------------------------------- heavy ball
class HBState(NamedTuple):
    x: Any        # x_k
    x_prev: Any   # x_{k−1} (= x₀ at k = 0)
    g: Any        # ∇f(x_k)
    k: Any
    njev: Any


def hb_init(x0, problem) -> HBState:
    return HBState(x=x0, x_prev=x0, g=problem.grad(x0), k=0, njev=1)


def hb_step(s: HBState, problem, eta, beta) -> HBState:
    """x_{k+1} = x_k − η∇f(x_k) + β(x_k − x_{k−1})."""
    x = s.x - eta * s.g + beta * (s.x - s.x_prev)
    return HBState(x=x, x_prev=s.x, g=problem.grad(x), k=s.k + 1, njev=s.njev + 1)


def heavy_ball(problem, x0=None, *, eta=REQUIRED, beta=REQUIRED, maxiter=1000, gtol=1e-8, callback=None,
               record_x=None):
    r"""Polyak's heavy-ball method (Polyak 1964, USSR Comput. Math. Math. Phys. 4(5)).

    .. math::  x_{k+1} = x_k - \eta\nabla f(x_k) + \beta(x_k - x_{k-1}), \qquad x_{-1} = x_0

    Symbols ↔ arguments: η = ``eta`` (torch ``lr``), β = ``beta`` ∈ [0, 1) (torch ``momentum``:
    ``torch.optim.SGD(momentum=β, nesterov=False)`` is this method with buffer b_k = −(x_k − x_{k−1})/η).
    On a quadratic with spectrum in [μ, L], η = 4/(√L + √μ)² and β = ((√κ−1)/(√κ+1))² give
    ‖x_k − x*‖ = O(k ρᵏ) with ρ = (√κ−1)/(√κ+1) (the iteration matrix has a double eigenvalue);
    for non-quadratic strongly convex f this tuning can fail to converge (Lessard, Recht & Packard 2016, §4.6).

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = heavy_ball(p, eta=4 / (np.sqrt(p.L) + 1) ** 2, beta=((np.sqrt(10) - 1) / (np.sqrt(10) + 1)) ** 2)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    validate_required(problem, x0, eta=eta, beta=beta)
    hp = (validate_positive("eta", eta), _beta(beta))
    return _go(hb_step, hb_init, problem, x0, hp, False, maxiter, gtol, callback, record_x)


def heavy_ball_jax(problem, x0=None, *, eta=REQUIRED, beta=REQUIRED, maxiter=1000, gtol=1e-8, record_x=None):
    """:func:`heavy_ball` compiled with JAX (same step, ``lax.while_loop``)."""
    validate_required(problem, x0, eta=eta, beta=beta)
    hp = (validate_positive("eta", eta), _beta(beta))
    return _go(hb_step, hb_init, problem, x0, hp, True, maxiter, gtol, None, record_x)


# ------------------------------------------------------------------------------------------- Nesterov
class NesterovState(NamedTuple):
    x: Any        # x_k
    y: Any        # y_k = x_k + β_{k−1}(x_k − x_{k−1}), the point where the gradient is taken
    g: Any        # ∇f(y_k)
    t: Any        # t_k (t₀ = 1); unused by the strongly convex form
    k: Any
    njev: Any


def nesterov_init(x0, problem) -> NesterovState:
    return NesterovState(x=x0, y=x0, g=problem.grad(x0), t=1.0, k=0, njev=1)


def nesterov_step(s: NesterovState, problem, eta) -> NesterovState:
    """x_{k+1} = y_k − η∇f(y_k); t_{k+1} = (1 + √(1 + 4t_k²))/2; y_{k+1} = x_{k+1} + ((t_k − 1)/t_{k+1})(x_{k+1} − x_k)."""
    x = s.y - eta * s.g
    t = 0.5 * (1.0 + (1.0 + 4.0 * s.t * s.t) ** 0.5)
    y = x + ((s.t - 1.0) / t) * (x - s.x)
    return NesterovState(x=x, y=y, g=problem.grad(y), t=t, k=s.k + 1, njev=s.njev + 1)


def nesterov_sc_step(s: NesterovState, problem, eta, beta) -> NesterovState:
    """x_{k+1} = y_k − η∇f(y_k); y_{k+1} = x_{k+1} + β(x_{k+1} − x_k) with a constant β."""
    x = s.y - eta * s.g
    y = x + beta * (x - s.x)
    return NesterovState(x=x, y=y, g=problem.grad(y), t=s.t, k=s.k + 1, njev=s.njev + 1)


def nesterov(problem, x0=None, *, eta=REQUIRED, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""Nesterov's accelerated gradient for convex L-smooth f, with the t_k sequence (Nesterov 1983;
    in the form of Beck 2017, §10.7: FISTA with h = 0).

    .. math::  x_{k+1} = y_k - \eta\nabla f(y_k),\quad t_{k+1} = \tfrac{1+\sqrt{1+4t_k^2}}{2},\quad
               y_{k+1} = x_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(x_{k+1} - x_k),\qquad y_0 = x_0,\ t_0 = 1

    i.e. β_k = (t_k − 1)/t_{k+1} (β₀ = 0, so y₁ = x₁): the course-wide convention of the week 1 lecture, §0.
    Symbols ↔ arguments: η = ``eta`` (take η = 1/L). With η = 1/L,
    f(x_k) − f* ≤ 2L‖x₀ − x*‖²/(k + 1)² for k ≥ 1 (Beck 2017, Thm. 10.34). If f is also μ-strongly convex,
    the iterates still converge linearly for η < 1/L, without knowing μ but also without the √κ speed-up (Li,
    Shi & Yuan, SIAM J. Optim. 2024, whose theorem needs η < 1/L); on a quadratic with η = 1/L the tail rate is √(1 − μ/L)
    (tests/nonsmooth/test_fista_linear_rate.py measures it).

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = nesterov(p, eta=1 / p.L, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    validate_required(problem, x0, eta=eta)
    hp = (validate_positive("eta", eta),)
    return _go(nesterov_step, nesterov_init, problem, x0, hp, False, maxiter, gtol, callback, record_x)


def nesterov_jax(problem, x0=None, *, eta=REQUIRED, maxiter=1000, gtol=1e-8, record_x=None):
    """:func:`nesterov` compiled with JAX (same step, ``lax.while_loop``)."""
    validate_required(problem, x0, eta=eta)
    hp = (validate_positive("eta", eta),)
    return _go(nesterov_step, nesterov_init, problem, x0, hp, True, maxiter, gtol, None, record_x)


def nesterov_strongly_convex(problem, x0=None, *, eta=REQUIRED, mu=REQUIRED, maxiter=1000, gtol=1e-8, callback=None,
                             record_x=None):
    r"""Nesterov's method for μ-strongly convex, L-smooth f with constant momentum (Nesterov 2018, §2.2.1, the
    constant-step scheme for strongly convex functions).

    .. math::  x_{k+1} = y_k - \eta\nabla f(y_k),\qquad y_{k+1} = x_{k+1} + \beta(x_{k+1} - x_k),\qquad
               \beta = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1},\ \kappa = \frac{1}{\eta\mu}

    Symbols ↔ arguments: η = ``eta`` (= 1/L, so κ = L/μ), μ = ``mu``. With η = 1/L,
    f(x_k) − f* ≤ (1 − 1/√κ)ᵏ (f(x₀) − f* + μ‖x₀ − x*‖²/2) (Nesterov 2018, §2.2.1, estimating sequences
    with γ₀ = μ; tests/smooth/test_momentum.py measures it).

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = nesterov_strongly_convex(p, eta=1 / p.L, mu=p.mu, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    validate_required(problem, x0, eta=eta, mu=mu)
    return _go(nesterov_sc_step, nesterov_init, problem, x0, _sc_hp(eta, mu), False, maxiter, gtol, callback,
               record_x)


def nesterov_strongly_convex_jax(problem, x0=None, *, eta=REQUIRED, mu=REQUIRED, maxiter=1000, gtol=1e-8,
                                 record_x=None):
    """:func:`nesterov_strongly_convex` compiled with JAX (same step, ``lax.while_loop``)."""
    validate_required(problem, x0, eta=eta, mu=mu)
    return _go(nesterov_sc_step, nesterov_init, problem, x0, _sc_hp(eta, mu), True, maxiter, gtol, None, record_x)


def _sc_hp(eta, mu):
    """(η, β) with β = (√κ − 1)/(√κ + 1), κ = 1/(ημ)."""
    eta, mu = validate_positive("eta", eta), validate_positive("mu", mu)
    if eta * mu > 1:
        raise ValueError(f"mu must satisfy eta·mu ≤ 1 (κ = 1/(η μ) ≥ 1), got eta={eta!r}, mu={mu!r}")
    q = math.sqrt(1.0 / (eta * mu))
    return eta, (q - 1) / (q + 1)


# ------------------------------------------------------------------------- deep-learning (torch/optax) form
class NMState(NamedTuple):
    x: Any      # p_k, the parameters torch/optax hold (= y_k of the classical form)
    b: Any      # momentum buffer b_k (torch ``momentum_buffer``, optax ``TraceState.trace``)
    g: Any      # ∇f(p_k)
    k: Any
    njev: Any


def nm_init(x0, problem) -> NMState:
    return NMState(x=x0, b=0.0 * x0, g=problem.grad(x0), k=0, njev=1)


def nm_step(s: NMState, problem, eta, beta) -> NMState:
    """b_{k+1} = βb_k + ∇f(p_k); p_{k+1} = p_k − η(∇f(p_k) + βb_{k+1})."""
    b = beta * s.b + s.g
    x = s.x - eta * (s.g + beta * b)
    return NMState(x=x, b=b, g=problem.grad(x), k=s.k + 1, njev=s.njev + 1)


def nesterov_momentum(problem, x0=None, *, eta=REQUIRED, beta=REQUIRED, maxiter=1000, gtol=1e-8, callback=None,
                      record_x=None):
    r"""Nesterov momentum as deep-learning libraries write it (Sutskever et al. 2013, eq. (3)–(4) rearranged).

    .. math::  b_{k+1} = \beta b_k + \nabla f(p_k),\qquad p_{k+1} = p_k - \eta\,(\nabla f(p_k) + \beta b_{k+1}),
               \qquad b_0 = 0

    Symbols ↔ arguments: η = ``eta`` (torch ``lr``, optax ``learning_rate``), β = ``beta`` (torch/optax
    ``momentum``); equals ``torch.optim.SGD(lr=η, momentum=β, nesterov=True)`` (dampening 0) and
    ``optax.sgd(η, momentum=β, nesterov=True)`` step by step.

    Map to the classical form (x_{k+1} = y_k − η∇f(y_k), y_{k+1} = x_{k+1} + β(x_{k+1} − x_k), x₋₁ = x₀):
    p_k = y_k (the parameters are the look-ahead point) and b_k = −(x_k − x_{k−1})/η. Indeed
    x_{k+1} − x_k = β(x_k − x_{k−1}) − η∇f(y_k) gives b_{k+1} = βb_k + ∇f(y_k), and
    y_{k+1} = y_k − η∇f(y_k) + β(x_{k+1} − x_k) = p_k − η(∇f(p_k) + βb_{k+1}).

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = nesterov_momentum(p, eta=0.1, beta=0.5, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    validate_required(problem, x0, eta=eta, beta=beta)
    hp = (validate_positive("eta", eta), _beta(beta))
    return _go(nm_step, nm_init, problem, x0, hp, False, maxiter, gtol, callback, record_x)


def nesterov_momentum_jax(problem, x0=None, *, eta=REQUIRED, beta=REQUIRED, maxiter=1000, gtol=1e-8,
                          record_x=None):
    """:func:`nesterov_momentum` compiled with JAX (same step, ``lax.while_loop``)."""
    validate_required(problem, x0, eta=eta, beta=beta)
    hp = (validate_positive("eta", eta), _beta(beta))
    return _go(nm_step, nm_init, problem, x0, hp, True, maxiter, gtol, None, record_x)
