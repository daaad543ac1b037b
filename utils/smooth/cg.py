"""Conjugate gradients: the linear method for Ax = b (A symmetric positive definite) and its nonlinear extension.

* :func:`linear_cg` — Krylov solver needing only v ↦ Av (Nocedal & Wright 2006, Alg. 5.2).
* :func:`nonlinear_cg` — d_{k+1} = −g_{k+1} + β_{k+1}d_k with a strong-Wolfe line search; the rule for β is a
  plain function passed in: :func:`fletcher_reeves` or :func:`polak_ribiere_plus` (N&W §5.2).
"""
from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import _got, run, validate_callback, validate_maxiter, validate_nonnegative
from .first_order import _check_ls, wolfe_search
from .linesearch import is_descent
from ..core.result import CALLBACK, MAXITER, NONFINITE, STATUS_MESSAGES, SUCCESS, History, OptimizeResult

__all__ = ["linear_cg", "nonlinear_cg", "fletcher_reeves", "polak_ribiere_plus", "NCGState", "ncg_init",
           "ncg_step", "NONPOSITIVE_CURVATURE"]

NONPOSITIVE_CURVATURE = 2


def linear_cg(matvec, b, x0=None, *, tol=1e-10, atol=0.0, maxiter=None, callback=None, record_x=None):
    r"""Linear conjugate gradients for Ax = b, A symmetric positive definite (Nocedal & Wright 2006, Alg. 5.2),
    i.e. minimizing f(x) = ½xᵀAx − bᵀx.

    .. math::  \alpha_k = \frac{r_k^\top r_k}{p_k^\top A p_k},\ x_{k+1} = x_k + \alpha_k p_k,\
               r_{k+1} = r_k + \alpha_k A p_k,\ \beta_{k+1} = \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k},\
               p_{k+1} = -r_{k+1} + \beta_{k+1} p_k,\qquad r_0 = Ax_0 - b,\ p_0 = -r_0

    Symbols ↔ arguments: v ↦ Av = ``matvec``, b = ``b``, x₀ = ``x0`` (default 0); stop when
    ‖r_k‖ ≤ max(``tol``·‖b‖, ``atol``) (scipy ``cg(rtol=tol, atol=atol)``) or after ``maxiter`` (default
    10n, scipy's) iterations. In exact arithmetic x_n = x*, and x_k = x* after at most as many steps as A has
    distinct eigenvalues (N&W Thm. 5.4); always ‖x_k − x*‖_A ≤ 2((√κ−1)/(√κ+1))ᵏ‖x₀ − x*‖_A (N&W eq. 5.36).

    Returns an ``OptimizeResult``: ``x, fun`` (= f(x)), ``jac`` (= r), ``nit``, ``njev`` (matrix-vector
    products: one per iteration plus one for r₀, the cost of a gradient of f), ``residuals`` (‖r_k‖, k = 0…nit),
    ``success, status, message`` (status 2: pᵀAp ≤ 0, A is not positive definite) and ``history``.
    ``callback(intermediate_result)`` as in :func:`utils.drivers.run`.

    >>> import numpy as np
    >>> A = np.diag([1.0, 10.0]); b = np.array([1.0, 1.0])
    >>> res = linear_cg(lambda v: A @ v, b)
    >>> res.nit, bool(np.allclose(res.x, [1.0, 0.1]))            # two distinct eigenvalues: two steps
    (2, True)
    """
    if not callable(matvec):
        hint = "; for a matrix A pass lambda v: A @ v" if len(getattr(matvec, "shape", ())) == 2 else ""
        raise TypeError(f"utils.linear_cg expects matvec, a function v -> A v, as its first argument, got "
                        f"{_got(matvec)}{hint}")
    validate_callback(callback)
    b = np.asarray(b, dtype=float)
    if b.ndim != 1 or not np.all(np.isfinite(b)):
        raise ValueError(f"b must be a finite 1-D array, got shape {b.shape}")
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float)
    if x.shape != b.shape or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite with the shape of b {b.shape}, got {x.shape}")
    maxiter = 10 * b.size if maxiter is None else validate_maxiter(maxiter)
    target = max(validate_nonnegative("tol", tol) * float(np.linalg.norm(b)), validate_nonnegative("atol", atol))
    record_x = b.size <= 100 if record_x is None else record_x
    t0 = time.perf_counter()
    Ax0 = matvec(x)
    if np.shape(Ax0) != b.shape:                 # else r = Ax0 − b would broadcast, or fail deep inside
        raise ValueError(f"utils.linear_cg: matvec(x0) has shape {np.shape(Ax0)}, expected the shape of b, {b.shape}")
    r = Ax0 - b
    p, rr = -r, float(r @ r)
    rows, xs, prev = [], [], None

    def record(x, r, k):
        step = math.nan if prev is None else float(np.linalg.norm(x - prev))
        rows.append((0.5 * float(x @ (r - b)), math.sqrt(float(r @ r)), step, k + 1, time.perf_counter() - t0))
        if record_x:
            xs.append(x.copy())

    record(x, r, 0)
    k, status, k_bad = 0, None, None
    while status is None:
        if not math.isfinite(rr):
            status, k_bad = NONFINITE, k
        elif math.sqrt(rr) <= target:
            status = SUCCESS
        elif k >= maxiter:
            status = MAXITER
        if status is not None:
            break
        Ap = matvec(p)
        pAp = float(p @ Ap)
        if not pAp > 0:
            status = NONPOSITIVE_CURVATURE if math.isfinite(pAp) else NONFINITE
            k_bad = k + 1 if status == NONFINITE else None
            break
        alpha = rr / pAp
        prev, x, r = x, x + alpha * p, r + alpha * Ap
        rr_new = float(r @ r)
        p, rr = -r + (rr_new / rr) * p, rr_new
        k += 1
        record(x, r, k)
        if callback is not None and math.isfinite(rr) and math.sqrt(rr) > target:
            try:
                stop = callback(OptimizeResult(x=x, fun=rows[-1][0], jac=r, nit=k))
            except StopIteration:
                stop = True
            if stop:
                status = CALLBACK
    f, gn, step, njev, tm = (np.array(c, dtype=float) for c in zip(*rows))
    hist = History(fun=f, grad_norm=gn, step=step, nfev=np.zeros(len(f), dtype=int), njev=njev.astype(int), time=tm,
                   x=np.array(xs) if record_x else None)
    msg = ("Non-positive curvature pᵀAp ≤ 0: A is not positive definite." if status == NONPOSITIVE_CURVATURE
           else STATUS_MESSAGES[status]) + (f" Stopped at iteration {k_bad}." if k_bad is not None else "")
    if status == SUCCESS:
        msg = "Optimization terminated successfully: residual norm below tol·‖b‖ (or atol)."
    return OptimizeResult(x=x, fun=float(f[-1]), jac=r, nit=k, nfev=0, njev=int(njev[-1]), success=status == SUCCESS,
                          status=status, message=msg, residuals=gn, history=hist)


# --------------------------------------------------------------------------------------------- nonlinear
def fletcher_reeves(g_new, g, d):
    """β_{k+1}^FR = g_{k+1}ᵀg_{k+1} / g_kᵀg_k (Fletcher & Reeves 1964; N&W eq. 5.41a)."""
    return (g_new @ g_new) / (g @ g)


def polak_ribiere_plus(g_new, g, d):
    """β_{k+1}^PR+ = max(0, g_{k+1}ᵀ(g_{k+1} − g_k) / g_kᵀg_k) (Polak & Ribière 1969; N&W eq. 5.45);
    scipy's ``minimize(method="CG")`` uses this rule."""
    return max(0.0, (g_new @ (g_new - g)) / (g @ g))


class NCGState(NamedTuple):
    x: Any        # x_k
    f: Any        # f(x_k)
    f_prev: Any   # f(x_{k−1}) for the initial trial step (f(x₀) + ‖g₀‖/2 at k = 0, scipy's convention)
    g: Any        # g_k = ∇f(x_k)
    d: Any        # d_k, the search direction (d₀ = −g₀)
    k: Any
    nfev: Any
    njev: Any
    restarts: Any  # iterations where d_{k+1} was reset to −g_{k+1}
    fails: Any     # line searches that ended without the strong Wolfe conditions


def ncg_init(x0, problem) -> NCGState:
    f, g = problem.f(x0), problem.grad(x0)
    return NCGState(x=x0, f=f, f_prev=f + 0.5 * float(np.linalg.norm(g)), g=g, d=-g, k=0, nfev=1, njev=1,
                    restarts=0, fails=0)


def ncg_step(s: NCGState, problem, beta_rule, alpha0, c1, c2, maxls) -> NCGState:
    """x_{k+1} = x_k + α_k d_k (strong Wolfe), d_{k+1} = −g_{k+1} + β_{k+1} d_k, reset to −g_{k+1} if not descent."""
    alpha, f, g, nf, ng, ok = wolfe_search(problem, s.x, s.f, s.f_prev, s.g, s.d, alpha0, c1, c2, maxls)
    d = -g + beta_rule(g, s.g, s.d) * s.d
    restart = not bool(is_descent(g, d))
    return NCGState(x=s.x + alpha * s.d, f=f, f_prev=s.f, g=g, d=-g if restart else d, k=s.k + 1,
                    nfev=s.nfev + nf, njev=s.njev + ng, restarts=s.restarts + restart, fails=s.fails + (not ok))


def nonlinear_cg(problem, x0=None, *, beta_rule=polak_ribiere_plus, alpha0=1.0, c1=1e-4, c2=0.1, maxls=30,
                 maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""Nonlinear conjugate gradients (Nocedal & Wright 2006, Alg. 5.4 (FR) and §5.2 (PR+)), NumPy driver.

    .. math::  x_{k+1} = x_k + \alpha_k d_k,\qquad d_{k+1} = -g_{k+1} + \beta_{k+1} d_k,\qquad d_0 = -g_0

    α_k from the strong-Wolfe search of :func:`utils.linesearch.strong_wolfe`, started at
    α_init = min(ᾱ, 1.01·2(f_k − f_{k−1})/g_kᵀd_k) (N&W eq. 3.60, scipy's choice). If d_{k+1} is not a
    descent direction (g_{k+1}ᵀd_{k+1} ≥ 0) it is reset to −g_{k+1} (a restart; counted in the state).

    Symbols ↔ arguments: β rule = ``beta_rule`` (:func:`fletcher_reeves`, :func:`polak_ribiere_plus`, or any
    ``(g_new, g, d) -> β``), ᾱ = ``alpha0``, c₁ = ``c1``, c₂ = ``c2`` (FR needs c₂ < ½ for descent, N&W
    Lemma 5.6; scipy's CG uses c₂ = 0.4), ``maxls`` trials per search. Compare
    ``scipy.optimize.minimize(method="CG")`` (PR+, a MINPACK line search first).

    >>> import numpy as np
    >>> from utils.problems import quadratic
    >>> p = quadratic(n=2, mu=1.0, L=10.0, rotate=False)
    >>> res = nonlinear_cg(p, beta_rule=fletcher_reeves, gtol=1e-10)
    >>> res.success, bool(np.allclose(res.x, p.x_star))
    (True, True)
    """
    if not callable(beta_rule):
        raise ValueError(f"beta_rule must be a function (g_new, g, d) -> beta, got {beta_rule!r}")
    x0, alpha0 = _check_ls(problem, x0, alpha0, maxls, c1=c1, c2=c2)
    if not c1 < c2:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    return run(ncg_step, ncg_init(x0, problem), problem, (beta_rule, alpha0, c1, c2, int(maxls)), maxiter=maxiter,
               gtol=gtol, callback=callback, record_x=record_x)
