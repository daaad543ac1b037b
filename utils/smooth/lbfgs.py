"""L-BFGS (Nocedal & Wright 2006, ch. 7.2): the two-loop recursion, a plain reference and a jit-able ring buffer.

* :func:`lbfgs` — L-BFGS, the plain reference: the last m pairs in Python lists, strong Wolfe (N&W Alg. 7.5).
* :func:`lbfgs_jax` — L-BFGS with the pairs in a fixed-size ring buffer, so the step has static shapes and
  compiles under ``jax.jit``; a weak Wolfe bisection search in ``lax.while_loop`` (:func:`weak_wolfe`). The same
  step also runs on NumPy arrays and is tested against the list reference.

Newton and full-memory BFGS, and the driver glue and strong Wolfe ``line_search`` used here, are in the sibling
module :mod:`utils.quasi_newton`. Throughout, s_k = x_{k+1} − x_k, y_k = ∇f_{k+1} − ∇f_k, ρ_k = 1/(y_kᵀs_k);
a pair is used only when y_kᵀs_k > ε·y_kᵀy_k (ε = machine epsilon), else the update is skipped and counted.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .linesearch import is_descent
from ..core.drivers import run_jax, validate_maxiter, validate_unit, validate_x0, while_loop
from ..core.problems import xp
from .quasi_newton import _drive, wolfe_line_search

__all__ = ["two_loop", "lbfgs", "two_loop_ring", "LBFGSRing", "lbfgs_ring_init", "lbfgs_ring_step", "weak_wolfe",
           "lbfgs_jax"]
_EPS = np.finfo(float).eps


# ------------------------------------------------------------------------------------ L-BFGS, reference
def two_loop(g, S, Y, gamma):
    r"""H_k g by the L-BFGS two-loop recursion (N&W Alg. 7.4) with H_k⁰ = γI; ``S``, ``Y`` oldest → newest.

    >>> s, y = np.array([1.0, 0.0]), np.array([2.0, 0.0])
    >>> two_loop(y, [s], [y], gamma=0.5)          # the secant equation H_k y = s
    array([1., 0.])
    """
    q, alphas = g, []
    for s, y in zip(reversed(S), reversed(Y)):
        a = (s @ q) / (y @ s)
        alphas.append(a)
        q = q - a * y
    r = gamma * q
    for s, y, a in zip(S, Y, reversed(alphas)):
        r = r + s * (a - (y @ r) / (y @ s))
    return r


class LBFGSState(NamedTuple):
    x: Any; g: Any; f: Any; k: Any; nfev: Any; njev: Any  # noqa: E702
    S: Any; Y: Any   # tuples of the last m pairs s_i, y_i, oldest first
    nskip: Any
    ls_ok: Any


def _lbfgs_step(s, problem, line_search, m):
    gamma = (s.S[-1] @ s.Y[-1]) / (s.Y[-1] @ s.Y[-1]) if s.S else 1.0       # N&W eq. 7.20
    d = -two_loop(s.g, s.S, s.Y, gamma)
    if not is_descent(s.g, d):
        d = -s.g
    alpha, f_new, g_new, nf, nj, ok = line_search(problem.f, problem.grad, s.x, d, s.f, s.g)
    x, g = s.x + alpha * d, np.asarray(g_new)
    sk, yk = x - s.x, g - s.g
    good = bool(sk @ yk > _EPS * (yk @ yk))
    S, Y = ((s.S + (sk,))[-m:], (s.Y + (yk,))[-m:]) if good else (s.S, s.Y)
    return LBFGSState(x, g, f_new, s.k + 1, s.nfev + nf, s.njev + nj, S, Y, s.nskip + (not good), bool(ok))


def _check_memory(memory):
    if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)) or memory < 1:
        raise ValueError(f"memory must be a positive integer, got {memory!r}")
    return int(memory)


def lbfgs(problem, x0=None, *, memory=10, c1=1e-4, c2=0.9, line_search=None, maxiter=1000, gtol=1e-8,
          callback=None, record_x=None):
    r"""L-BFGS (N&W Alg. 7.5), the plain NumPy reference: the last m pairs (s_i, y_i) kept in Python lists.

    .. math::  d_k = -H_k g_k \text{ (two-loop recursion, Alg. 7.4)},\quad H_k^0 = \gamma_k I,\;
               \gamma_k = \frac{s_{k-1}^\top y_{k-1}}{y_{k-1}^\top y_{k-1}} \text{ (eq. 7.20)},\quad
               x_{k+1} = x_k + \alpha_k d_k

    Symbols ↔ arguments: m = ``memory`` (scipy L-BFGS-B ``maxcor``, torch ``LBFGS(history_size)``); c₁, c₂ of
    the strong Wolfe search (:func:`utils.linesearch.strong_wolfe`); ``line_search`` as in
    :func:`utils.quasi_newton.bfgs`. The first step uses H₀⁰ = I (d₀ = −g₀). Memory O(mn), cost per iteration
    O(mn) besides the oracle calls. ``status=2`` when the line search fails. scipy's ``L-BFGS-B`` (without
    bounds) is the outside reference; it differs in its line search (Moré–Thuente) and first step, so iterates
    agree only near x*.

    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0)
    >>> res = lbfgs(p, memory=3, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    x0 = validate_x0(problem, x0)
    memory = _check_memory(memory)
    c1, c2 = validate_unit("c1", c1), validate_unit("c2", c2)
    if not c1 < c2:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    if line_search is not None and not callable(line_search):
        raise ValueError(f"line_search must be a function, got {line_search!r}")
    ls = wolfe_line_search(c1, c2) if line_search is None else line_search
    s0 = LBFGSState(x0, np.asarray(problem.grad(x0)), float(problem.f(x0)), 0, 1, 1, (), (), 0, True)
    res, last = _drive(_lbfgs_step, s0, problem, (ls, memory), maxiter, gtol, callback, record_x)
    res.nskip = int(last.nskip)
    return res


# --------------------------------------------------------------------------- L-BFGS, ring buffer (jit-able)
class LBFGSRing(NamedTuple):
    """L-BFGS state with static shapes: row ``head`` of S, Y is the next slot written; ``count`` ≤ m are valid."""

    x: Any; g: Any; f: Any; k: Any; nfev: Any; njev: Any  # noqa: E702
    S: Any        # (m, n): s_i in a ring
    Y: Any        # (m, n): y_i in a ring
    rho: Any      # (m,): ρ_i = 1/(y_iᵀs_i)
    gamma: Any    # γ_k = sᵀy / yᵀy of the newest pair (1 before the first)
    head: Any
    count: Any
    nskip: Any


def two_loop_ring(g, S, Y, rho, head, count, gamma):
    """H_k g by the two-loop recursion on a ring buffer, invalid slots masked; a Python loop over the m slots on
    NumPy arrays, ``lax.fori_loop`` on JAX arrays (same arithmetic). Equals :func:`two_loop` on the same pairs."""
    ns, m = xp(g), S.shape[0]

    def newest_first(j, c):                                   # slot i holds the (j+1)-th newest pair
        q, alphas = c
        i = (head - 1 - j) % m
        a = ns.where(j < count, rho[i] * (S[i] @ q), 0.0)
        return q - a * Y[i], _set(alphas, j, a)

    def oldest_first(jj, r):
        j = m - 1 - jj
        i = (head - 1 - j) % m
        b = ns.where(j < count, rho[i] * (Y[i] @ r), 0.0)
        return r + (alphas[j] - b) * S[i]

    if ns is np:
        c = (g, np.zeros(m))
        for j in range(m):
            c = newest_first(j, c)
        q, alphas = c
        r = gamma * q
        for jj in range(m):
            r = oldest_first(jj, r)
        return r
    from jax import lax

    q, alphas = lax.fori_loop(0, m, newest_first, (g, ns.zeros(m, dtype=g.dtype)))
    return lax.fori_loop(0, m, oldest_first, gamma * q)


def _set(A, i, v):
    if xp(A) is np:
        B = A.copy()
        B[i] = v
        return B
    return A.at[i].set(v)


def lbfgs_ring_init(x0, problem, memory) -> LBFGSRing:
    ns, n = xp(x0), np.size(x0)
    z = ns.zeros((memory, n), dtype=x0.dtype)
    return LBFGSRing(x0, problem.grad(x0), problem.f(x0), 0, 1, 1, z, z, ns.zeros(memory, dtype=x0.dtype),
                     ns.ones((), dtype=x0.dtype), 0, 0, 0)


def weak_wolfe(f, grad, x, d, fx, gx, *, c1=1e-4, c2=0.9, alpha0=1.0, maxiter=30):
    r"""Bisection/doubling search for the weak Wolfe conditions (Lewis & Overton 2013, §4.2), written once for
    NumPy (a Python loop) and JAX (``lax.while_loop``, so it runs under ``jit``):

    .. math::  f(x + \alpha d) \le f(x) + c_1 \alpha g^\top d, \qquad \nabla f(x + \alpha d)^\top d \ge c_2\, g^\top d .

    Start at α = ᾱ with the bracket [ℓ, u] = [0, ∞); Armijo fails → u = α; curvature fails → ℓ = α; the next α
    is (ℓ + u)/2, or 2α while u = ∞. A NaN trial fails Armijo. The curvature condition makes y_kᵀs_k > 0, which
    (quasi-)Newton updates need and Armijo alone does not give. Returns ``(alpha, f_new, g_new, nfev, njev,
    success)``, the signature of the ``line_search`` argument of :func:`lbfgs` and :func:`utils.quasi_newton.bfgs`.
    """
    ns = xp(x)
    slope = gx @ d
    a0 = alpha0 * ns.ones_like(fx)

    def wolfe(c):
        a, _, _, fa, ga, _ = c
        return (fa <= fx + c1 * a * slope) & (ga @ d >= c2 * slope)

    def cond(c):
        return ns.logical_not(wolfe(c)) & (c[5] < maxiter)

    def body(c):
        a, lo, hi, fa, ga, j = c
        armijo = fa <= fx + c1 * a * slope
        hi = ns.where(armijo, hi, a)
        lo = ns.where(armijo, a, lo)
        a = ns.where(ns.isinf(hi), 2.0 * a, 0.5 * (lo + hi))
        return a, lo, hi, f(x + a * d), grad(x + a * d), j + 1

    c = while_loop(cond, body, (a0, 0.0 * a0, a0 + ns.inf, f(x + a0 * d), grad(x + a0 * d), 1))
    return c[0], c[3], c[4], c[5], c[5], wolfe(c)


def lbfgs_ring_step(s: LBFGSRing, problem, c1, c2, ls_maxiter) -> LBFGSRing:
    """One L-BFGS iteration with the weak Wolfe search :func:`weak_wolfe` (ᾱ = 1); pure, NumPy or JAX."""
    ns, m = xp(s.x), s.S.shape[0]
    d = -two_loop_ring(s.g, s.S, s.Y, s.rho, s.head, s.count, s.gamma)
    d = ns.where(is_descent(s.g, d), d, -s.g)
    alpha, f_new, g, nf, nj, _ = weak_wolfe(problem.f, problem.grad, s.x, d, s.f, s.g, c1=c1, c2=c2,
                                            maxiter=ls_maxiter)
    x = s.x + alpha * d
    sk, yk = x - s.x, g - s.g
    sy, yy = sk @ yk, yk @ yk
    ok = sy > _EPS * yy
    safe = ns.where(ok, sy, 1.0)
    return LBFGSRing(x, g, f_new, s.k + 1, s.nfev + nf, s.njev + nj,
                     ns.where(ok, _set(s.S, s.head, sk), s.S), ns.where(ok, _set(s.Y, s.head, yk), s.Y),
                     ns.where(ok, _set(s.rho, s.head, 1.0 / safe), s.rho), ns.where(ok, safe / ns.where(ok, yy, 1.0), s.gamma),
                     ns.where(ok, (s.head + 1) % m, s.head), ns.where(ok, ns.minimum(s.count + 1, m), s.count),
                     s.nskip + ns.where(ok, 0, 1))


def lbfgs_jax(problem, x0=None, *, memory=10, c1=1e-4, c2=0.9, ls_maxiter=30, maxiter=1000, gtol=1e-8,
              record_x=None):
    r"""L-BFGS compiled with JAX: the pairs in a fixed-size ring buffer (:class:`LBFGSRing`), the direction by
    :func:`two_loop_ring`, the step by the weak Wolfe bisection :func:`weak_wolfe` in ``lax.while_loop``.

    Same update as :func:`lbfgs` (N&W Alg. 7.5); only the line search differs: :func:`utils.linesearch.strong_wolfe`
    (cubic interpolation, NumPy only) there, bisection for the *weak* Wolfe conditions here. Plain Armijo
    backtracking would be simpler under ``jit`` but does not enforce y_kᵀs_k > 0: on Rosenbrock the pairs are
    then skipped step after step and L-BFGS crawls (a notebook exercise shows it). ``lbfgs(p, line_search=
    weak_wolfe)`` reproduces these iterates with Python lists. Symbols ↔ arguments: m = ``memory``, c₁ = ``c1``,
    c₂ = ``c2``. Enable float64 to compare with NumPy digit by digit; a new ``memory`` is a new compilation.

    >>> from utils.problems import quadratic
    >>> res = lbfgs_jax(quadratic(n=2, mu=1.0, L=10.0), memory=3, gtol=1e-10)
    >>> bool(res.success)
    True
    """
    import jax.numpy as jnp

    x0 = validate_x0(problem, x0)
    memory = _check_memory(memory)
    c1, c2 = validate_unit("c1", c1), validate_unit("c2", c2)
    if not c1 < c2:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    validate_maxiter(ls_maxiter)
    x0 = jnp.asarray(x0)
    return run_jax(lbfgs_ring_step, lbfgs_ring_init(x0, problem, memory), problem, (c1, c2, int(ls_maxiter)),
                   maxiter=maxiter, gtol=gtol, record_x=record_x)
