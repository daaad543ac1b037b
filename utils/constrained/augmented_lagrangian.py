r"""The method of multipliers (augmented Lagrangian) and the quadratic-penalty method (N&W 2006, §17.1, §17.3–17.4).

For min f s.t. g(x) ≤ 0 (λ ≥ 0), h(x) = 0 (ν) — a :class:`utils.hock_schittkowski.NonlinearProgram` — the
augmented Lagrangian in Rockafellar's form for inequalities (Hestenes 1969, Powell 1969, Rockafellar 1973;
Bertsekas 1982, §3.1) is

.. math::  L_\rho(x, \lambda, \nu) = f(x) + \nu^\top h(x) + \tfrac{\rho}{2}\|h(x)\|^2
           + \tfrac{1}{2\rho}\sum_i \big(\max(0, \lambda_i + \rho g_i(x))^2 - \lambda_i^2\big),

once continuously differentiable, with ∇ₓL_ρ = ∇f + J_hᵀ(ν + ρh) + J_gᵀ max(0, λ + ρg). Each outer iteration
minimizes it in x (inner solve) and updates ν ← ν + ρh, λ ← max(0, λ + ρg).

**Relation to ADMM (week 3).** For min f₁(x) + f₂(z) s.t. Ax + Bz = c, the method of multipliers minimizes
L_ρ(x, z, y) jointly over (x, z) before each multiplier step y ← y + ρ(Ax + Bz − c). ADMM
(:func:`utils.admm`) replaces that joint minimization by a single Gauss–Seidel pass — one x-minimization,
then one z-minimization — followed by the same multiplier step (scaled: u = y/ρ). Both converge, for convex
problems, to the same primal solution and the same multiplier y = ν; ``tests/constrained/test_augmented_lagrangian.py``
checks this on a consensus problem.

* :func:`augmented_lagrangian` — the method of multipliers with inner L-BFGS (:func:`utils.lbfgs.lbfgs`).
* :func:`quadratic_penalty` — min f + (ρ/2)(‖h‖² + ‖max(g, 0)‖²) for ρ = ρ₀, 10ρ₀, …: its minimizers approach
  x* only as ρ → ∞, and the inner Hessian's condition number grows like ρ (recorded), which is why the
  multiplier method, exact at finite ρ, is preferred.
"""
from __future__ import annotations

import time

import numpy as np

from ..core.drivers import validate_maxiter, validate_positive, validate_unit
from .hock_schittkowski import kkt_residual, validate_nlp
from ..smooth.lbfgs import lbfgs
from ..core.problems import Problem
from ..core.result import MAXITER, NO_PROGRESS, SUCCESS, History, OptimizeResult

__all__ = ["augmented_lagrangian_function", "augmented_lagrangian", "quadratic_penalty"]


def augmented_lagrangian_function(nlp, lam, nu, rho):
    """``(L, grad)``: L_ρ(·, λ, ν) and its gradient as functions of x (the module docstring's formula).

    >>> from utils.hock_schittkowski import hs35
    >>> L, dL = augmented_lagrangian_function(hs35(), np.zeros(4), np.zeros(0), 10.0)
    >>> bool(np.isclose(L(np.zeros(3)), 9.0))                        # feasible point, λ = 0: L_ρ = f
    True
    """
    def L(x):
        hx, t = nlp.h(x), np.maximum(0.0, lam + rho * nlp.g(x))
        return float(nlp.f(x) + nu @ hx + 0.5 * rho * hx @ hx + (t @ t - lam @ lam) / (2 * rho))

    def grad(x):
        return (np.asarray(nlp.grad(x)) + nlp.h_jac(x).T @ (nu + rho * nlp.h(x))
                + nlp.g_jac(x).T @ np.maximum(0.0, lam + rho * nlp.g(x)))
    return L, grad


def _inner_condition(grad, x):
    """Condition number of the inner Hessian at x, by central differences of the gradient (n is small)."""
    n, eps = x.size, 1e-6 * (1 + np.linalg.norm(x))
    H = np.column_stack([(grad(x + e) - grad(x - e)) / (2 * eps) for e in eps * np.eye(n)])
    ev = np.abs(np.linalg.eigvalsh(0.5 * (H + H.T)))
    return float(ev.max() / max(ev.min(), 1e-300))


def augmented_lagrangian(nlp, x0=None, *, rho0=100.0, gamma=10.0, shrink=0.25, rho_max=1e8, tol=1e-7,
                         maxiter=50, inner_maxiter=500, memory=10):
    r"""Method of multipliers (N&W Alg. 17.4 / Framework 17.3 with Rockafellar's inequality form; NumPy).

    Outer iteration k: x_{k+1} ≈ argmin L_{ρ_k}(x, λ_k, ν_k) by :func:`utils.lbfgs.lbfgs` from x_k, stopped at
    ‖∇ₓL_ρ‖ ≤ ω_k, ω_k = max(tol/2, 10⁻²·10⁻ᵏ); then ν_{k+1} = ν_k + ρ_k h, λ_{k+1} = max(0, λ_k + ρ_k g).
    The violation V_k = max(‖h‖_∞, ‖max(g, −λ_k/ρ_k)‖_∞) (zero exactly at a feasible, complementary point)
    must drop by the factor ``shrink`` per iteration (or be ≤ ``tol``), else ρ_{k+1} = γρ_k (capped at ``rho_max``)
    (Bertsekas 1982, §2.2). Stops when the KKT residual (:func:`utils.hock_schittkowski.kkt_residual`) is
    ≤ ``tol`` (status 0), after ``maxiter`` outer iterations (1), or when three inner solves in a row do not
    move (2). An inner result whose violation exceeds 100(1 + V₀) (L_ρ unbounded below along an infeasible ray,
    which happens for small ρ when bounds are penalized, e.g. HS 71 at ρ = 10) is rejected and ρ ← γρ.

    Symbols ↔ arguments: ρ₀ = ``rho0``, γ = ``gamma``, 0.25 = ``shrink``; m (L-BFGS memory) = ``memory``.
    scipy has no augmented Lagrangian; the inner solver could equally be scipy's L-BFGS-B. Returns an
    ``OptimizeResult`` with ``x, fun, lam, nu, nit`` (outer), ``nfev``/``njev`` (all inner evaluations),
    ``inner_nit`` (per outer iteration), ``history`` (per outer iteration; ``grad_norm`` = KKT residual) and
    ``residuals``: arrays ``kkt, violation, rho, inner_nit, inner_cond``.

    The default ``tol`` is near the accuracy the inner L-BFGS reaches on some problems: on HS 35 and HS 71 a run
    may end with status 2 at a KKT residual of 1e-7 to 1e-5, x still accurate to ~3e-8, and which problems do so
    depends on the CPU's floating-point kernels (measured: HS 71 with OpenBLAS's SkylakeX kernels, HS 35 with its
    Prescott ones, neither with Haswell's).

    >>> from utils.hock_schittkowski import hs14
    >>> res = augmented_lagrangian(hs14())          # x* = ((√7 − 1)/2, (√7 + 1)/4)
    >>> res.success, bool(np.allclose(res.x, [(7 ** 0.5 - 1) / 2, (7 ** 0.5 + 1) / 4], atol=1e-7))
    (True, True)
    """
    x = validate_nlp(nlp, x0, "utils.augmented_lagrangian")
    rho, gamma = validate_positive("rho0", rho0), validate_positive("gamma", gamma)
    if gamma <= 1:
        raise ValueError(f"gamma must be > 1, got {gamma!r}")
    shrink, rho_max, tol = validate_unit("shrink", shrink), validate_positive("rho_max", rho_max), validate_positive("tol", tol)
    maxiter, inner_maxiter = validate_maxiter(maxiter), validate_maxiter(inner_maxiter)
    return _outer(nlp, x, rho, gamma, shrink, rho_max, tol, maxiter, inner_maxiter, memory, multipliers=True)


def quadratic_penalty(nlp, x0=None, *, rho0=1.0, gamma=10.0, rho_max=1e10, tol=1e-8, maxiter=30, inner_maxiter=2000,
                      memory=10):
    r"""Quadratic-penalty method (N&W Framework 17.1): x_{k+1} ≈ argmin f + (ρ_k/2)(‖h‖² + ‖max(g, 0)‖²),
    ρ_{k+1} = γρ_k, until the violation is ≤ ``tol`` or ρ > ``rho_max``. The error ‖x_k − x*‖ is O(1/ρ_k)
    and the inner Hessian's condition number grows like ρ_k (``residuals["inner_cond"]``). Same result fields
    as :func:`augmented_lagrangian`; the multiplier estimates are ν = ρh, λ = ρ max(g, 0) (N&W eq. 17.8).

    >>> from utils.hock_schittkowski import hs7
    >>> res = quadratic_penalty(hs7(), tol=1e-6)
    >>> bool(res.residuals["inner_cond"][-1] > 100 * res.residuals["inner_cond"][0])
    True
    """
    x = validate_nlp(nlp, x0, "utils.quadratic_penalty")
    rho, gamma = validate_positive("rho0", rho0), validate_positive("gamma", gamma)
    if gamma <= 1:
        raise ValueError(f"gamma must be > 1, got {gamma!r}")
    rho_max, tol = validate_positive("rho_max", rho_max), validate_positive("tol", tol)
    maxiter, inner_maxiter = validate_maxiter(maxiter), validate_maxiter(inner_maxiter)
    return _outer(nlp, x, rho, gamma, 0.0, rho_max, tol, maxiter, inner_maxiter, memory, multipliers=False)


def _outer(nlp, x, rho, gamma, shrink, rho_max, tol, maxiter, inner_maxiter, memory, multipliers):
    t0 = time.perf_counter()
    lam, nu = np.zeros(nlp.m), np.zeros(nlp.p)
    rows, xs, inner_nits, nfev, njev = [], [x.copy()], [], 0, 0
    r = kkt_residual(nlp, x, lam, nu)
    rows.append((float(nlp.f(x)), r["kkt"], np.nan, 0, 0, 0.0, r["violation"], rho, 0, np.nan))
    V_prev, status, k, stalls = np.inf, None, 0, 0
    viol0 = r["violation"]
    while status is None:
        if k >= maxiter:
            status = MAXITER
            break
        zero_lam, zero_nu = (lam, nu) if multipliers else (np.zeros(nlp.m), np.zeros(nlp.p))
        L, dL = augmented_lagrangian_function(nlp, zero_lam, zero_nu, rho)
        omega = max(tol / 2, 1e-2 * 10.0 ** -k) if multipliers else tol / 10
        inner = lbfgs(Problem(name=f"L_rho (k={k})", f=L, grad=dL, x0=x), x, memory=memory, gtol=omega,
                      maxiter=inner_maxiter, record_x=False)
        nfev, njev = nfev + inner.nfev, njev + inner.njev
        inner_nits.append(inner.nit)
        gx, hx = nlp.g(inner.x), nlp.h(inner.x)
        viol = max(np.max(np.abs(hx), initial=0.0), np.max(np.maximum(gx, 0.0), initial=0.0))
        if (not np.all(np.isfinite(inner.x)) or viol > 1e2 * (1.0 + viol0)) and rho * gamma <= rho_max:
            rho *= gamma                   # L_ρ unbounded below along an infeasible ray: reject, raise ρ
            continue
        step = float(np.linalg.norm(inner.x - x))
        stalls = stalls + 1 if step == 0.0 else 0
        x = inner.x
        if multipliers:
            V = max(np.max(np.abs(hx), initial=0.0), np.max(np.abs(np.maximum(gx, -lam / rho)), initial=0.0))
            nu, lam = nu + rho * hx, np.maximum(0.0, lam + rho * gx)
        else:
            V = max(np.max(np.abs(hx), initial=0.0), np.max(np.maximum(gx, 0.0), initial=0.0))
            nu, lam = rho * hx, rho * np.maximum(gx, 0.0)
        cond = _inner_condition(dL, x)
        k += 1
        r = kkt_residual(nlp, x, lam, nu)
        rows.append((float(nlp.f(x)), r["kkt"], step, nfev, njev, time.perf_counter() - t0, r["violation"], rho,
                     inner.nit, cond))
        xs.append(x.copy())
        if (r["kkt"] <= tol) if multipliers else (r["violation"] <= tol):
            status = SUCCESS
            break
        if stalls >= 3:
            status = NO_PROGRESS
            break
        if not multipliers or (V > shrink * V_prev and V > tol):
            if rho * gamma > rho_max:
                if not multipliers:
                    status = MAXITER
                    break
            else:
                rho *= gamma
        V_prev = V
    cols = [np.array(c, dtype=float) for c in zip(*rows)]
    hist = History(fun=cols[0], grad_norm=cols[1], step=cols[2], nfev=cols[3].astype(int), njev=cols[4].astype(int),
                   time=cols[5], x=np.array(xs) if x.size <= 100 else None)
    residuals = {"kkt": cols[1], "violation": cols[6], "rho": cols[7], "inner_nit": cols[8], "inner_cond": cols[9][1:]}
    msg = {SUCCESS: "Converged: KKT residual below tol." if multipliers else "Converged: violation below tol.",
           MAXITER: "Maximum number of outer iterations (or rho_max) reached.",
           NO_PROGRESS: "No further progress: an inner solve did not move."}[status]
    return OptimizeResult(x=x, fun=float(nlp.f(x)), lam=lam, nu=nu, nit=k, nfev=int(nfev), njev=int(njev),
                          inner_nit=np.array(inner_nits), success=status == SUCCESS, status=status, message=msg,
                          history=hist, residuals=residuals)
