"""First-order methods. Gradient descent with a fixed step is the template every later algorithm copies:
a state ``NamedTuple`` named with the lecture's symbols, a pure ``step``, and two thin front-ends over the
shared drivers (:func:`utils.drivers.run` for NumPy, :func:`utils.drivers.run_jax` for JAX).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .drivers import run, run_jax, validate_positive, validate_x0

__all__ = ["GDState", "gd_init", "gd_step", "gradient_descent", "gradient_descent_jax"]


class GDState(NamedTuple):
    """Gradient-descent state at iteration k."""

    x: Any      # x_k, the iterate
    g: Any      # g_k = ∇f(x_k)
    k: Any      # iteration counter
    njev: Any   # gradient evaluations so far


def gd_init(x0, problem) -> GDState:
    """State at k = 0: one gradient evaluation at x_0."""
    return GDState(x=x0, g=problem.grad(x0), k=0, njev=1)


def gd_step(state: GDState, problem, eta) -> GDState:
    """x_{k+1} = x_k − η ∇f(x_k). Pure: returns a new state, runs on NumPy arrays and under ``jax.jit``."""
    x = state.x - eta * state.g
    return GDState(x=x, g=problem.grad(x), k=state.k + 1, njev=state.njev + 1)


def _check(problem, x0, eta):
    """The algorithm's own arguments; the drivers validate ``maxiter`` and ``gtol``."""
    return validate_x0(problem, x0), validate_positive("eta", eta)


def gradient_descent(problem, x0=None, *, eta, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""Gradient descent with a fixed step size η (NumPy driver).

    .. math::  x_{k+1} = x_k - \eta \nabla f(x_k)

    Symbols ↔ arguments: x₀ = ``x0`` (default ``problem.x0``); η = ``eta`` (optax ``learning_rate``,
    torch ``lr``); stop when ‖∇f(x_k)‖₂ ≤ ``gtol`` (scipy ``gtol``) or after ``maxiter`` iterations.
    With η = 1/L, f(x_k) − f* ≤ L‖x₀ − x*‖²/(2k) for convex L-smooth f (Beck, *First-Order Methods in
    Optimization*, 2017, Thm. 10.21, the proximal-gradient rate with a zero nonsmooth part); with
    η = 2/(L+μ) on a μ-strongly convex f, ‖x_k − x*‖ ≤ ((κ−1)/(κ+1))ᵏ ‖x₀ − x*‖ (Nesterov, *Lectures on
    Convex Optimization*, 2018, Thm. 2.1.15).

    Returns a ``scipy.optimize.OptimizeResult`` (``x, fun, jac, nit, nfev, njev, success, status, message,
    history``); ``njev`` counts the algorithm's gradient evaluations (one per iteration, plus one at x₀).

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = gradient_descent(p, eta=2 / (p.L + p.mu), gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    x0, eta = _check(problem, x0, eta)
    return run(gd_step, gd_init(x0, problem), problem, (eta,), maxiter=maxiter, gtol=gtol, callback=callback,
               record_x=record_x)


def gradient_descent_jax(problem, x0=None, *, eta, maxiter=1000, gtol=1e-8, record_x=None):
    """:func:`gradient_descent` compiled with JAX (``jit`` + ``lax.while_loop``); same step, same result fields.

    Enable float64 (``utils.runtime.enable_x64()``) to compare iterates with the NumPy driver digit by digit.
    A second call with the same problem, shapes and ``maxiter`` reuses the compiled loop, whatever ``eta``.
    """
    import jax.numpy as jnp

    x0, eta = _check(problem, x0, eta)
    x0 = jnp.asarray(x0)
    return run_jax(gd_step, gd_init(x0, problem), problem, (eta,), maxiter=maxiter, gtol=gtol,
                   record_x=record_x)
