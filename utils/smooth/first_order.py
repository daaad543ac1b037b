"""First-order methods. Gradient descent with a fixed step is the template every later algorithm copies:
a state ``NamedTuple`` named with the lecture's symbols, a pure ``step``, and two thin front-ends over the
shared drivers (:func:`utils.drivers.run` for NumPy, :func:`utils.drivers.run_jax` for JAX).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import (REQUIRED, run, run_jax, run_until_stall, validate_positive, validate_required,
                            validate_unit, validate_x0)
from .linesearch import _armijo_core, backtracking, strong_wolfe

__all__ = ["GDState", "gd_init", "gd_step", "gradient_descent", "gradient_descent_jax", "LSState", "ls_init",
           "armijo_step", "wolfe_step", "wolfe_search", "gradient_descent_armijo", "gradient_descent_armijo_jax",
           "gradient_descent_wolfe"]


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
    validate_required(problem, x0, eta=eta)
    return validate_x0(problem, x0), validate_positive("eta", eta)


def gradient_descent(problem, x0=None, *, eta=REQUIRED, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
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


def gradient_descent_jax(problem, x0=None, *, eta=REQUIRED, maxiter=1000, gtol=1e-8, record_x=None):
    """:func:`gradient_descent` compiled with JAX (``jit`` + ``lax.while_loop``); same step, same result fields.

    Enable float64 (``utils.runtime.enable_x64()``) to compare iterates with the NumPy driver digit by digit.
    A second call with the same problem, shapes and ``maxiter`` reuses the compiled loop, whatever ``eta``.
    """
    import jax.numpy as jnp

    x0, eta = _check(problem, x0, eta)
    x0 = jnp.asarray(x0)
    return run_jax(gd_step, gd_init(x0, problem), problem, (eta,), maxiter=maxiter, gtol=gtol,
                   record_x=record_x)


# --------------------------------------------------------------------------------- with a line search
class LSState(NamedTuple):
    """Gradient descent with a line search, at iteration k."""

    x: Any        # x_k
    f: Any        # f(x_k)
    f_prev: Any   # f(x_{k−1}) (for the Wolfe initial step; f(x₀) + ‖g₀‖/2 at k = 0, scipy's convention)
    g: Any        # g_k = ∇f(x_k)
    alpha: Any    # α_{k−1}, the step accepted last (0 at k = 0)
    k: Any
    nfev: Any     # objective evaluations so far
    njev: Any     # gradient evaluations so far
    fails: Any    # line searches that ended without meeting their conditions


def ls_init(x0, problem) -> LSState:
    """State at k = 0: one f and one ∇f evaluation at x₀."""
    f, g = problem.f(x0), problem.grad(x0)
    return LSState(x=x0, f=f, f_prev=f + 0.5 * (g @ g) ** 0.5, g=g, alpha=0.0 * f, k=0, nfev=1, njev=1, fails=0)


def armijo_step(state: LSState, problem, alpha0, c1, rho, maxls) -> LSState:
    """x_{k+1} = x_k − α_k g_k, α_k from Armijo backtracking (Alg. 3.1) started at ᾱ. Pure; runs under jit."""
    d = -state.g
    slope = -(state.g @ state.g)
    alpha, f, nf = _armijo_core(problem.f, state.x, state.f, slope, d, alpha0, c1, rho, maxls)
    x = state.x + alpha * d
    fail = (f > state.f + c1 * alpha * slope) | (f != f)
    return LSState(x=x, f=f, f_prev=state.f, g=problem.grad(x), alpha=alpha, k=state.k + 1,
                   nfev=state.nfev + nf, njev=state.njev + 1, fails=state.fails + 1 * fail)


def wolfe_step(state: LSState, problem, alpha0, c1, c2, maxls) -> LSState:
    """x_{k+1} = x_k − α_k g_k, α_k from the strong-Wolfe search (Alg. 3.5) started at
    α_init = min(ᾱ, 1.01·2(f_k − f_{k−1})/g_kᵀd_k) (N&W eq. 3.60, as scipy does). NumPy only."""
    d = -state.g
    alpha, f, g, nf, ng, ok = wolfe_search(problem, state.x, state.f, state.f_prev, state.g, d, alpha0, c1, c2, maxls)
    return LSState(x=state.x + alpha * d, f=f, f_prev=state.f, g=g, alpha=alpha, k=state.k + 1,
                   nfev=state.nfev + nf, njev=state.njev + ng, fails=state.fails + (not ok))


def wolfe_search(problem, x, f, f_prev, g, d, alpha0, c1, c2, maxls):
    """One strong-Wolfe search along d from α_init = min(ᾱ, 1.01·2(f − f_prev)/gᵀd) (ᾱ when that is not
    positive). If it fails, its lowest Armijo point is taken, else an Armijo backtracking step from α_init.
    Returns ``(alpha, f_new, g_new, nfev, njev, ok)``."""
    guess = 2.02 * (f - f_prev) / float(g @ d)
    a0 = min(alpha0, guess) if np.isfinite(guess) and guess > 0 else alpha0
    r = strong_wolfe(problem.f, problem.grad, x, d, fx=f, gx=g, alpha0=a0, c1=c1, c2=c2, maxiter=maxls)
    if r.alpha > 0:
        return r.alpha, r.f_new, r.g_new, r.nfev, r.njev, r.success
    alpha, f_new, nf = backtracking(problem.f, x, f, g, d, alpha0=a0, c1=c1, maxiter=maxls)
    return alpha, f_new, problem.grad(x + alpha * d), r.nfev + nf, r.njev + 1, False


def _stalled(old: LSState, new: LSState) -> bool:
    """A step that decreased neither f nor ‖∇f‖: the run is stuck at rounding level near x* (status 2). Armijo's
    test cannot see this: once c₁α‖g‖² is below f's rounding, f(x + αd) ≤ f(x) + c₁αgᵀd holds with equality.
    While ‖∇f‖ still decreases, x still approaches x* and the run goes on, even if f looks flat."""
    return bool(not new.f < old.f and not np.linalg.norm(new.g) < np.linalg.norm(old.g))


def _check_ls(problem, x0, alpha0, maxls, **unit):
    for name, v in unit.items():
        validate_unit(name, v)
    if isinstance(maxls, bool) or not isinstance(maxls, (int, np.integer)) or maxls < 1:
        raise ValueError(f"maxls must be a positive integer, got {maxls!r}")
    return validate_x0(problem, x0), validate_positive("alpha0", alpha0)


def gradient_descent_armijo(problem, x0=None, *, alpha0=1.0, c1=1e-4, rho=0.5, maxls=50, maxiter=1000, gtol=1e-8,
                            callback=None, record_x=None):
    r"""Gradient descent with Armijo backtracking (Nocedal & Wright 2006, Alg. 3.1), NumPy driver.

    .. math::  x_{k+1} = x_k - \alpha_k g_k,\quad \alpha_k = \bar\alpha\rho^{j_k},\ j_k \text{ the first } j
               \text{ with } f(x_k - \alpha g_k) \le f(x_k) - c_1\alpha\|g_k\|^2

    Symbols ↔ arguments: ᾱ = ``alpha0`` (every search starts there), c₁ = ``c1``, ρ = ``rho``, at most
    ``maxls`` trial steps per search. On an L-smooth f every accepted α ≥ min(ᾱ, 2ρ(1−c₁)/L) (a step
    that fails Armijo is longer than 2(1−c₁)/L), so each iteration decreases f by at least
    c₁ min(ᾱ, 2ρ(1−c₁)/L)‖g_k‖²: the O(1/k) and linear rates of fixed-step GD follow with worse constants
    (Beck 2017, Thm. 10.21, which covers backtracking). ``nfev`` counts the objective evaluations of the searches, ``njev`` one gradient per iteration;
    ``history.step`` is ‖x_k − x_{k−1}‖ = α_{k−1}‖g_{k−1}‖. State fields ``alpha`` (last α) and ``fails``.
    A step that decreases neither f nor ‖∇f‖ (stuck at rounding near x*) ends the run with status 2, as in scipy.

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = gradient_descent_armijo(p, gtol=1e-7)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    x0, alpha0 = _check_ls(problem, x0, alpha0, maxls, c1=c1, rho=rho)
    return run_until_stall(armijo_step, ls_init(x0, problem), problem, (alpha0, c1, rho, int(maxls)), stalled=_stalled,
                           maxiter=maxiter, gtol=gtol, callback=callback, record_x=record_x)[0]


def gradient_descent_armijo_jax(problem, x0=None, *, alpha0=1.0, c1=1e-4, rho=0.5, maxls=50, maxiter=1000, gtol=1e-8,
                                record_x=None):
    """:func:`gradient_descent_armijo` compiled with JAX: the same step, its backtracking in ``lax.while_loop``."""
    import jax.numpy as jnp

    x0, alpha0 = _check_ls(problem, x0, alpha0, maxls, c1=c1, rho=rho)
    return run_jax(armijo_step, ls_init(jnp.asarray(x0), problem), problem, (alpha0, c1, rho, int(maxls)),
                   maxiter=maxiter, gtol=gtol, record_x=record_x)


def gradient_descent_wolfe(problem, x0=None, *, alpha0=1.0, c1=1e-4, c2=0.9, maxls=30, maxiter=1000, gtol=1e-8,
                           callback=None, record_x=None):
    r"""Gradient descent with a strong-Wolfe line search (Nocedal & Wright 2006, Alg. 3.5/3.6), NumPy driver.

    .. math::  x_{k+1} = x_k - \alpha_k g_k,\quad f(x_{k+1}) \le f(x_k) - c_1\alpha_k\|g_k\|^2,\quad
               |g_{k+1}^\top g_k| \le c_2\|g_k\|^2

    Symbols ↔ arguments: ᾱ = ``alpha0`` caps the initial trial α_init = min(ᾱ, 1.01·2(f_k − f_{k−1})/g_kᵀd_k)
    (N&W eq. 3.60; scipy's choice), c₁ = ``c1``, c₂ = ``c2`` (scipy ``line_search``), ``maxls`` trials per
    search (see :func:`utils.linesearch.strong_wolfe`). NumPy only: the zoom's nested data-dependent loops are
    kept as plain Python (see :mod:`utils.linesearch`). State field ``fails`` counts failed searches; a step
    that decreases neither f nor ‖∇f‖ ends the run with status 2, as in scipy.

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = gradient_descent_wolfe(p, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    x0, alpha0 = _check_ls(problem, x0, alpha0, maxls, c1=c1, c2=c2)
    if not c1 < c2:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    return run_until_stall(wolfe_step, ls_init(x0, problem), problem, (alpha0, c1, c2, int(maxls)), stalled=_stalled,
                           maxiter=maxiter, gtol=gtol, callback=callback, record_x=record_x)[0]
