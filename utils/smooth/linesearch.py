"""Line searches along a descent direction d at x: choose α > 0 in φ(α) = f(x + α d), with φ'(0) = gᵀd < 0.

* :func:`backtracking` — Armijo backtracking (Nocedal & Wright 2006, Alg. 3.1): sufficient decrease only.
  Its core runs on NumPy arrays in a Python loop and on JAX arrays in ``lax.while_loop``, so a step that
  calls it runs under ``jit`` (see :func:`utils.first_order.gradient_descent_armijo_jax`).
* :func:`strong_wolfe` — bracketing + zoom (Nocedal & Wright 2006, Alg. 3.5 and 3.6) with safeguarded
  cubic / quadratic interpolation; NumPy only. Its two nested, data-dependent phases with several exits
  could be written as one ``lax.while_loop`` state machine, but the plain loop is the readable reference
  and every method that uses it (nonlinear CG, BFGS) already pays a Python-level step.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import validate_positive, validate_unit, while_loop
from ..core.problems import xp

__all__ = ["is_descent", "backtracking", "strong_wolfe", "WolfeResult"]


def is_descent(g, d, eps=None):
    r"""Is d a descent direction at a point with gradient g?  The angle test  gᵀd < −ε‖g‖‖d‖.

    A sign test ``gᵀd < 0`` is not decidable in floating point: the computed dot product obeys
    |fl(gᵀd) − gᵀd| ≤ γ_n |g|ᵀ|d| ≤ γ_n ‖g‖‖d‖ with γ_n = nu/(1 − nu) ≈ n·u (Higham 2002, §3.1; u the unit
    roundoff of the dtype, n the dimension), and whether the machine fuses multiply and add moves the
    result inside that band. With g = (1, 10), d = (1, −0.1): the stored −0.1 is −0.1 − 5.6e-18, so the exact
    gᵀd of the stored vectors is −5.55e-17 (and 0 for the intended real vectors); a kernel with FMA returns
    that exact value, one without rounds 10·(−0.1) to −1 first and returns 0.0. So a direction is accepted only when cos∠(g, d) < −ε,
    the angle condition of Zoutendijk's theorem (Nocedal & Wright 2006, eq. 3.12). Within γ_n of 0 the computed
    cosine says nothing about the sign; the default ε = 2γ_n ≈ 2n·u leaves a margin, so a computed pass
    certifies that the true cosine is below −(ε − γ_n) ≈ −n·u (up to O(u) relative error in the norms), while a
    rejected direction has a true cosine above −3γ_n: only directions within rounding of orthogonal are lost. Works on NumPy arrays and on JAX arrays under ``jit``
    (returns a boolean array there).

    Symbols ↔ arguments: g = ``g``, d = ``d``, ε = ``eps`` (default ``None`` means 2γ_n = 2nu/(1 − nu), u from g's dtype).

    >>> import numpy as np
    >>> bool(is_descent(np.array([1.0, 10.0]), np.array([-1.0, 0.0]))), bool(is_descent(np.array([1.0, 10.0]), np.array([1.0, -0.1])))
    (True, False)
    """
    ns = xp(g)
    if eps is None:
        nu = g.size * float(np.finfo(g.dtype).eps) / 2.0
        eps = 2.0 * nu / (1.0 - nu)                                   # 2γ_n
    return g @ d < -eps * ns.linalg.norm(g) * ns.linalg.norm(d)


def _check_descent(g, d, eps):
    if eps is not None and not (math.isfinite(float(eps)) and float(eps) >= 0):
        raise ValueError(f"descent_eps must be a finite number ≥ 0, got {eps!r}")
    if not bool(is_descent(g, d, eps)):
        c = float(g @ d) / max(float(np.linalg.norm(g) * np.linalg.norm(d)), np.finfo(float).tiny)
        raise ValueError(f"d is not a descent direction: gᵀd = {float(g @ d):g}, cos∠(g, d) = {c:.3g} is not "
                         f"below −ε (the angle test of utils.linesearch.is_descent)")



def _armijo_core(f, x, fx, slope, d, alpha0, c1, rho, maxiter):
    """Backtrack α = ᾱρʲ until f(x + αd) ≤ f(x) + c₁αgᵀd (NaN counts as a failure). Pure, no validation."""
    ns = xp(x)
    alpha = alpha0 * ns.ones_like(fx)
    carry = (alpha, f(x + alpha * d), 1)

    def cond(c):
        a, fa, j = c
        return ns.logical_not(fa <= fx + c1 * a * slope) & (j < maxiter)

    def body(c):
        a, _, j = c
        a = a * rho
        return a, f(x + a * d), j + 1

    return while_loop(cond, body, carry)


def backtracking(f, x, fx, g, d, *, alpha0=1.0, c1=1e-4, rho=0.5, maxiter=50, descent_eps=None):
    r"""Armijo backtracking line search (Nocedal & Wright 2006, Alg. 3.1).

    Returns the largest α = ᾱρʲ (j = 0, 1, …, ``maxiter`` − 1) with the sufficient-decrease (Armijo) condition

    .. math::  f(x + \alpha d) \le f(x) + c_1 \alpha\, g^\top d ,

    as ``(alpha, f_new, nfev)``, ``f_new = f(x + αd)`` and ``nfev`` the objective evaluations made.
    A NaN or inf trial value counts as a failed trial (the step is shrunk). If all ``maxiter`` trials fail,
    the last (smallest) trial step is returned: check the condition on ``f_new`` to detect it.

    Symbols ↔ arguments: ᾱ = ``alpha0``, c₁ = ``c1`` (scipy ``c1``), ρ = ``rho``, x = ``x``,
    f(x) = ``fx``, g = ∇f(x) = ``g``, d = ``d``, ε = ``descent_eps``. Raises ``ValueError`` when ``d`` is not
    a descent direction by the angle test gᵀd < −ε‖g‖‖d‖ of :func:`is_descent` (a sign test is not decidable
    in floating point) or a parameter is out of range (ᾱ > 0, c₁ ∈ (0, 1), ρ ∈ (0, 1), ``maxiter`` ≥ 1).

    >>> import numpy as np
    >>> A = np.diag([1.0, 10.0]); f = lambda x: 0.5 * x @ A @ x
    >>> x = np.array([1.0, 1.0]); g = A @ x
    >>> alpha, f_new, nfev = backtracking(f, x, f(x), g, -g)    # α = 1, ½, ¼ fail; ⅛ passes
    >>> alpha, nfev
    (0.125, 4)
    """
    alpha0 = validate_positive("alpha0", alpha0)
    c1, rho = validate_unit("c1", c1), validate_unit("rho", rho)
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer, got {maxiter!r}")
    x, g, d = (np.asarray(v, dtype=float) for v in (x, g, d))
    _check_descent(g, d, descent_eps)
    slope = float(g @ d)
    alpha, f_new, nfev = _armijo_core(f, x, float(fx), slope, d, alpha0, c1, rho, int(maxiter))
    return float(alpha), float(f_new), int(nfev)


# ---------------------------------------------------------------------------------------- strong Wolfe
class WolfeResult(NamedTuple):
    """Outcome of :func:`strong_wolfe`: the step, f and ∇f there, the oracle calls, and whether the strong
    Wolfe conditions hold at ``alpha``."""

    alpha: float
    f_new: float
    g_new: Any
    nfev: int
    njev: int
    success: bool


def _cubicmin(a, fa, fpa, b, fb, c, fc):
    """Minimizer of the cubic through (a, fa) with slope fpa, (b, fb), (c, fc); None if there is none."""
    with np.errstate(all="ignore"):
        db, dc = b - a, c - a
        denom = (db * dc) ** 2 * (db - dc)
        if denom == 0:
            return None
        r1, r2 = fb - fa - fpa * db, fc - fa - fpa * dc
        A = (dc ** 2 * r1 - db ** 2 * r2) / denom
        B = (-dc ** 3 * r1 + db ** 3 * r2) / denom
        rad = B * B - 3 * A * fpa
        if A == 0 or rad < 0:
            return None
        x = a + (-B + math.sqrt(rad)) / (3 * A)
    return x if math.isfinite(x) else None


def _quadmin(a, fa, fpa, b, fb):
    """Minimizer of the quadratic through (a, fa) with slope fpa and (b, fb); None if it is not convex."""
    db = b - a
    if db == 0:
        return None
    B = (fb - fa - fpa * db) / db ** 2
    if not (B > 0 and math.isfinite(B)):
        return None
    return a - fpa / (2 * B)


def _inside(a, a_lo, a_hi, frac):
    """Safeguard: ``a`` exists and lies in the bracket, at least ``frac``·(its length) from both ends.
    (scipy's ``_zoom`` uses the *signed* length a_hi − a_lo here, which loosens the test when a_hi < a_lo:
    scipy issue #13695. That is the only difference between this search and ``scipy.optimize.line_search``.)"""
    if a is None:
        return False
    left, right, width = min(a_lo, a_hi), max(a_lo, a_hi), abs(a_hi - a_lo)
    return left + frac * width <= a <= right - frac * width


def strong_wolfe(f, grad, x, d, *, fx=None, gx=None, alpha0=1.0, c1=1e-4, c2=0.9, alpha_max=1e10, maxiter=30,
                 descent_eps=None):
    r"""Line search for a step satisfying the strong Wolfe conditions (Nocedal & Wright 2006, Alg. 3.5 + 3.6).

    .. math::  \phi(\alpha) \le \phi(0) + c_1\alpha\phi'(0), \qquad |\phi'(\alpha)| \le c_2|\phi'(0)|,
               \qquad \phi(\alpha) = f(x + \alpha d).

    Bracketing (Alg. 3.5): try α₁ = ᾱ; a trial that violates Armijo, or is no lower than the previous one,
    or has φ' ≥ 0 brackets a step, and *zoom* (Alg. 3.6) shrinks the bracket with the minimizer of a cubic
    through the last three points, else of a quadratic, else bisection — each kept away from the ends of the
    bracket (by 20% / 10% of its length, the safeguards scipy's ``line_search`` uses). A trial that satisfies
    Armijo with φ'(α) < 0 but fails the curvature condition is too short: the step is *extrapolated*,
    α ← min(2α, α_max), never shrunk.

    Symbols ↔ arguments: ᾱ = ``alpha0``, c₁ = ``c1``, c₂ = ``c2`` (scipy ``line_search(c1, c2, amax)``;
    N&W suggest c₂ = 0.9 for (quasi-)Newton, 0.1 for nonlinear CG), α_max = ``alpha_max``; f(x), ∇f(x) are
    ``fx``, ``gx`` (computed, and counted, when None). ``maxiter`` bounds the trial steps. Requires
    0 < c₁ < c₂ < 1 and d a descent direction by the angle test gᵀd < −ε‖g‖‖d‖ of :func:`is_descent`,
    ε = ``descent_eps`` (else ``ValueError``).

    Returns :class:`WolfeResult` ``(alpha, f_new, g_new, nfev, njev, success)``. On failure (``maxiter``
    trials, or α_max reached with φ still decreasing) ``success`` is False and ``alpha`` is the lowest
    trial that satisfied Armijo (0.0, with ``f_new = f(x)``, if none did).

    >>> import numpy as np
    >>> A = np.diag([1.0, 10.0]); f = lambda x: 0.5 * x @ A @ x; grad = lambda x: A @ x
    >>> x = np.array([1.0, 1.0]); r = strong_wolfe(f, grad, x, -grad(x), c2=0.1)
    >>> r.success, round(r.alpha, 4)          # exact minimizer along -g: gᵀg / gᵀAg = 101/1001
    (True, 0.1009)
    """
    x, d = np.asarray(x, dtype=float), np.asarray(d, dtype=float)
    alpha0, alpha_max = validate_positive("alpha0", alpha0), validate_positive("alpha_max", alpha_max)
    c1, c2 = validate_unit("c1", c1), validate_unit("c2", c2)
    if not c1 < c2:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer, got {maxiter!r}")
    nfev = njev = 0
    if fx is None:
        fx, nfev = f(x), 1
    if gx is None:
        gx, njev = grad(x), 1
    _check_descent(np.asarray(gx, dtype=float), d, descent_eps)
    phi0, dphi0 = float(fx), float(np.asarray(gx) @ d)
    calls = [nfev, njev, 0]                                # f calls, grad calls, trial steps

    def phi(a):
        calls[0] += 1
        calls[2] += 1
        return float(f(x + a * d))

    def dphi(a):
        calls[1] += 1
        gv = np.asarray(grad(x + a * d))
        return float(gv @ d), gv

    def done(a, fa, ga, ok):
        return WolfeResult(float(a), float(fa), ga, calls[0], calls[1], bool(ok))

    def armijo(a, fa):
        return fa <= phi0 + c1 * a * dphi0

    def curvature(dfa):
        return abs(dfa) <= -c2 * dphi0

    def zoom(lo, hi, rec):
        """lo = (α, φ, φ', g) satisfies Armijo and is the lowest so far; hi = (α, φ); rec = (α, φ)."""
        first = True
        while calls[2] < maxiter:
            a_lo, f_lo, df_lo, _ = lo
            a_hi, f_hi = hi
            span = a_hi - a_lo
            a = None if first else _cubicmin(a_lo, f_lo, df_lo, a_hi, f_hi, *rec)
            if not _inside(a, a_lo, a_hi, 0.2):
                a = _quadmin(a_lo, f_lo, df_lo, a_hi, f_hi)
                if not _inside(a, a_lo, a_hi, 0.1):
                    a = a_lo + 0.5 * span
            first = False
            fa = phi(a)
            if not armijo(a, fa) or not fa < f_lo:          # NaN fails both tests: a becomes the new hi
                rec, hi = hi, (a, fa)
                continue
            dfa, ga = dphi(a)
            if curvature(dfa):
                return done(a, fa, ga, True)
            if dfa * span >= 0:
                rec, hi = hi, (a_lo, f_lo)
            else:
                rec = (a_lo, f_lo)
            lo = (a, fa, dfa, ga)
        return done(lo[0], lo[1], lo[3], False)

    prev = (0.0, phi0, dphi0, np.asarray(gx))               # α_{i−1} with φ, φ', g
    a = min(alpha0, alpha_max)
    while calls[2] < maxiter:
        fa = phi(a)
        if not armijo(a, fa) or (prev[0] > 0 and fa >= prev[1]):
            return zoom(prev, (a, fa), (0.0, phi0))
        dfa, ga = dphi(a)
        if curvature(dfa):
            return done(a, fa, ga, True)
        if dfa >= 0:
            return zoom((a, fa, dfa, ga), (prev[0], prev[1]), (0.0, phi0))
        prev = (a, fa, dfa, ga)                               # too short with φ' < 0: extrapolate
        if a >= alpha_max:
            break
        a = min(2.0 * a, alpha_max)
    return done(prev[0], prev[1], prev[3], False)
