r"""Sequential quadratic programming (Nocedal & Wright 2006, ch. 18) with a dense QP solver for its subproblems.

* :func:`qp_solve` — min ½pᵀBp + gᵀp s.t. Ap = b, Cp ≤ d, B ≻ 0, by a primal–dual interior-point method with
  Mehrotra's predictor–corrector (N&W §16.6, Alg. 16.4). Chosen over an active-set method because it needs no
  feasible start (no phase 1), has no cycling or degeneracy logic, and on the tiny dense subproblems of SQP
  converges in 10–25 iterations to 1e-12 in every case; an active set is then read off the multipliers.
  It does not warm-start (each QP is solved from scratch), which costs nothing at this size.
* :func:`damped_bfgs_update` — Powell's (1978) damped BFGS update of B (N&W Procedure 18.2).
* :func:`sqp` — line-search SQP (N&W Alg. 18.3) with the ℓ₁ merit function, optional exact Hessian of the
  Lagrangian and an optional second-order correction against the Maratos effect (N&W §15.5, §18.3).

Problems are :class:`utils.hock_schittkowski.NonlinearProgram` records: min f s.t. g(x) ≤ 0 (λ ≥ 0), h(x) = 0 (ν),
L = f + λᵀg + νᵀh. scipy's SLSQP is the outside reference (its inequalities are c = −g ≥ 0).
"""
from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import validate_callback, validate_maxiter, validate_nonnegative, validate_positive, validate_unit
from .hock_schittkowski import kkt_residual, validate_nlp
from ..core.result import CALLBACK, MAXITER, NO_PROGRESS, NONFINITE, SUCCESS, History, OptimizeResult

__all__ = ["QPResult", "qp_solve", "damped_bfgs_update", "l1_merit", "SQPState", "sqp"]


class QPResult(NamedTuple):
    p: Any        # the minimizer
    lam: Any      # multipliers of Cp ≤ d (≥ 0)
    nu: Any       # multipliers of Ap = b
    nit: int      # interior-point iterations
    success: bool


def qp_solve(B, g, A=None, b=None, C=None, d=None, *, tol=1e-12, maxiter=100):
    r"""Convex QP  min ½pᵀBp + gᵀp  s.t.  Ap = b,  Cp ≤ d  by a primal–dual interior-point method.

    With slacks s = d − Cp ≥ 0 and multipliers λ ≥ 0, ν, Newton's method on the perturbed KKT system
    Bp + g + Aᵀν + Cᵀλ = 0, Ap = b, Cp + s = d, SΛe = σμe, μ = sᵀλ/m, with Mehrotra's predictor–corrector
    σ = (μ_aff/μ)³ and a 0.995 fraction-to-the-boundary rule (N&W §16.6, Alg. 16.4). Each Newton system is
    reduced to [[B + CᵀS⁻¹ΛC, Aᵀ], [A, 0]]. Stops when every residual, relative to 1 + the norm of its data,
    and μ are ≤ ``tol``. Returns a :class:`QPResult`; ``success=False`` after ``maxiter`` iterations (typically
    an infeasible QP).

    Symbols ↔ arguments: B, g, A, b, C, d as named (B symmetric positive definite on the null space of A);
    scipy has no dense QP; CVXPY ``cp.Minimize(0.5 * cp.quad_form(p, B) + g @ p)``.

    >>> r = qp_solve(np.eye(2), np.array([-2.0, -2.0]), C=np.array([[1.0, 1.0]]), d=np.array([1.0]))
    >>> np.round(r.p, 8).tolist(), np.round(r.lam, 8).tolist()          # p = (½, ½), λ = 3/2
    ([0.5, 0.5], [1.5])
    """
    B, g = np.asarray(B, float), np.asarray(g, float)
    n = g.size
    A = np.zeros((0, n)) if A is None else np.asarray(A, float).reshape(-1, n)
    b = np.zeros(0) if b is None else np.asarray(b, float).reshape(-1)
    C = np.zeros((0, n)) if C is None else np.asarray(C, float).reshape(-1, n)
    d = np.zeros(0) if d is None else np.asarray(d, float).reshape(-1)
    if B.shape != (n, n) or A.shape[0] != b.size or C.shape[0] != d.size:
        raise ValueError(f"qp_solve: inconsistent shapes B {B.shape}, g {g.shape}, A {A.shape}, b {b.shape}, "
                         f"C {C.shape}, d {d.shape}")
    p_, m = A.shape[0], C.shape[0]

    def solve(M, r1, r2):
        K = np.block([[M, A.T], [A, np.zeros((p_, p_))]])
        try:
            sol = np.linalg.solve(K, np.concatenate([r1, r2]))
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(K, np.concatenate([r1, r2]), rcond=None)[0]
        return sol[:n], sol[n:]

    if m == 0:                                    # equality-constrained: one KKT solve
        p, nu = solve(B, -g, b)
        return QPResult(p, np.zeros(0), nu, 0, bool(np.all(np.isfinite(p))))
    p = np.zeros(n)
    s = np.maximum(d - C @ p, 1.0)
    lam = np.ones(m)
    nu = np.zeros(p_)
    sc_d, sc_e, sc_i = 1 + np.max(np.abs(g)), 1 + (np.max(np.abs(b)) if p_ else 0), 1 + np.max(np.abs(d))

    def fraction(v, dv):
        neg = dv < 0
        return min(1.0, float(np.min(-v[neg] / dv[neg]))) if np.any(neg) else 1.0

    for k in range(maxiter + 1):
        rd = B @ p + g + A.T @ nu + C.T @ lam
        re = A @ p - b
        ri = C @ p + s - d
        mu = s @ lam / m
        if (np.max(np.abs(rd)) <= tol * sc_d and (p_ == 0 or np.max(np.abs(re)) <= tol * sc_e)
                and np.max(np.abs(ri)) <= tol * sc_i and mu <= tol * sc_d * sc_i):
            return QPResult(p, lam, nu, k, True)
        if k == maxiter or not np.all(np.isfinite(rd)):
            break
        M = B + C.T @ ((lam / s)[:, None] * C)

        def direction(rc):                        # rc: right side of SΔλ + ΛΔs = rc
            dp, dnu = solve(M, -rd - C.T @ ((rc + lam * ri) / s), -re)
            ds = -ri - C @ dp
            return dp, dnu, (rc - lam * ds) / s, ds

        dp, dnu, dlam, ds = direction(-s * lam)
        a_aff = min(fraction(s, ds), fraction(lam, dlam))
        mu_aff = (s + a_aff * ds) @ (lam + a_aff * dlam) / m
        sigma = (mu_aff / mu) ** 3
        dp, dnu, dlam, ds = direction(-s * lam - ds * dlam + sigma * mu)
        alpha = min(1.0, 0.995 * min(fraction(s, ds), fraction(lam, dlam)))
        p, nu, lam, s = p + alpha * dp, nu + alpha * dnu, lam + alpha * dlam, s + alpha * ds
    return QPResult(p, lam, nu, maxiter, False)


def damped_bfgs_update(B, s, y):
    r"""Powell's damped BFGS update (Powell 1978; N&W Procedure 18.2): with θ = 1 if sᵀy ≥ 0.2 sᵀBs, else
    θ = 0.8 sᵀBs / (sᵀBs − sᵀy), and r = θy + (1 − θ)Bs,

    .. math::  B_{k+1} = B_k - \frac{B s s^\top B}{s^\top B s} + \frac{r r^\top}{s^\top r},

    which keeps B positive definite (sᵀr ≥ 0.2 sᵀBs > 0) even when the Lagrangian's curvature sᵀy is negative.
    Returns ``(B_new, theta)``.

    >>> B, th = damped_bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([-1.0, 0.0]))   # sᵀy < 0
    >>> float(th), bool(np.all(np.linalg.eigvalsh(B) > 0))
    (0.4, True)
    """
    Bs = B @ s
    sBs, sy = s @ Bs, s @ y
    theta = 1.0 if sy >= 0.2 * sBs else 0.8 * sBs / (sBs - sy)
    r = theta * y + (1 - theta) * Bs
    return B - np.outer(Bs, Bs) / sBs + np.outer(r, r) / (s @ r), theta


def l1_merit(nlp, x, mu, fx=None):
    r"""φ₁(x; μ) = f(x) + μ(‖h(x)‖₁ + ‖max(g(x), 0)‖₁) (N&W eq. 15.24 / 18.27)."""
    fx = nlp.f(x) if fx is None else fx
    return float(fx + mu * (np.sum(np.abs(nlp.h(x))) + np.sum(np.maximum(nlp.g(x), 0.0))))


class SQPState(NamedTuple):
    """State at x_k (the lecture's symbols)."""

    x: Any; lam: Any; nu: Any        # noqa: E702  x_k, λ_k, ν_k
    B: Any                           # B_k ≈ ∇²ₓₓL (damped BFGS) or the (convexified) exact Hessian
    mu: Any                          # ℓ₁ penalty μ_k
    k: Any; nfev: Any; njev: Any     # noqa: E702


def _violation(gx, hx):
    return float(np.sum(np.abs(hx)) + np.sum(np.maximum(gx, 0.0)))


def _convexify(H, Jw, factors=(0.0, 1.0, 1e1, 1e2, 1e3)):
    """H + σJ_WᵀJ_W with the smallest σ = factor·max(1, ‖H‖)/‖J_W‖² that is positive definite (its QP step is
    that of H whenever the rows W stay active: σ‖J_W p‖² is constant on J_W p = −c_W). Returns ``(B, sigma)``,
    or ``(None, nan)`` when none is: H is then not positive definite on the null space of J_W (far from x*)."""
    scale = max(1.0, float(np.max(np.abs(H))))
    jn = float(np.sum(Jw * Jw)) if Jw.size else 0.0
    for factor in factors:
        if factor and not jn:
            break
        sigma = factor * scale / jn if factor else 0.0
        B = H + sigma * Jw.T @ Jw
        if np.min(np.linalg.eigvalsh(B)) > 1e-8 * scale:
            return B, sigma
    return None, math.nan


def sqp(nlp, x0=None, *, lam0=None, nu0=None, hessian="bfgs", soc=False, mu0=1.0, eta=1e-4, rho=0.5, ls_maxiter=30, tol=1e-10,
        maxiter=200, qp_tol=1e-12, callback=None):
    r"""Line-search SQP with an ℓ₁ merit function (Nocedal & Wright 2006, Alg. 18.3; NumPy driver).

    At x_k, with multiplier estimates (λ_k, ν_k) and B_k ≈ ∇²ₓₓL(x_k, λ_k, ν_k), the QP subproblem

    .. math::  \min_p \nabla f_k^\top p + \tfrac12 p^\top B_k p \quad\text{s.t.}\quad
               h_k + J_{h,k}\, p = 0,\quad g_k + J_{g,k}\, p \le 0

    gives the step p_k and multipliers (λ̂, ν̂) (:func:`qp_solve`). The penalty becomes
    μ_k = max(μ_{k−1}, 1.5‖(λ̂, ν̂)‖_∞ + 10⁻³) > max|multiplier| (N&W eq. 18.32), so p_k is a descent direction
    of φ₁(x; μ) = f + μ(‖h‖₁ + ‖max(g, 0)‖₁) with D(φ₁; p) = ∇fᵀp − μ(‖h‖₁ + ‖g⁺‖₁) (N&W eq. 18.29); α is
    backtracked (α ← ρα) from 1 until φ₁(x + αp) ≤ φ₁(x) + ηαD. Then x_{k+1} = x_k + αp,
    (λ, ν)_{k+1} = (λ, ν)_k + α((λ̂, ν̂) − (λ, ν)_k).

    ``hessian="bfgs"``: B₀ = I and Powell's damped update (:func:`damped_bfgs_update`) with
    s = x_{k+1} − x_k, y = ∇ₓL(x_{k+1}, λ_{k+1}, ν_{k+1}) − ∇ₓL(x_k, λ_{k+1}, ν_{k+1}): superlinear (two-step)
    rate. ``hessian="exact"``: B = ∇²ₓₓL(x_k, λ_k, ν_k) (needs ``nlp.hess``, ``g_hess``, ``h_hess``), made
    positive definite for the QP solver by adding σJ_WᵀJ_W over the equality rows and the inequalities with
    λᵢ > 0 (a curvature change that leaves the QP step unchanged while those rows stay active; the QP multipliers
    are corrected by σJ_W p). Where no σ does it (∇²ₓₓL not positive definite on the tangent space, which
    happens far from x*), that iteration uses the damped BFGS matrix, which is updated in both modes
    (``residuals["exact"]`` says which was used). Near a KKT point satisfying LICQ, strict complementarity and
    second-order sufficiency the exact Hessian is used and the rate is quadratic (N&W Thm. 18.4).

    ``soc=True``: second-order correction (N&W Alg. 15.2 / §18.3). When the unit step fails the merit test,
    p̂ = −J_Wᵀ(J_W J_Wᵀ)⁻¹ c_W(x_k + p) (J_W, c_W: the equality rows and the inequalities active in the QP, J
    at x_k) is tried once, and x_k + p + p̂ is accepted if it passes the same test; this removes the Maratos
    effect (:func:`utils.hock_schittkowski.maratos`).

    Stops when the KKT residual (:func:`utils.hock_schittkowski.kkt_residual`: ∞-norms of ∇ₓL, of the
    violation, of λ∘g) is ≤ ``tol`` (status 0), after ``maxiter`` iterations (1), when the line search or the
    QP solver fails, or the KKT residual has not halved in 10 iterations (the rounding floor) (2), on non-finite values (3), or when the callback asks (99).

    Symbols ↔ arguments: λ₀, ν₀ = ``lam0``, ``nu0`` (default 0); μ₀ = ``mu0``; η = ``eta`` (Armijo constant on φ₁); ρ = ``rho``; scipy's nearest
    method is ``minimize(method="SLSQP")`` (Kraft 1988: SQP, a BFGS-updated LDLᵀ B, an ℓ₁-type merit).
    Returns an ``OptimizeResult`` with ``x, fun, lam, nu, nit, nfev, njev, nqp`` (QP iterations), ``history``
    (``fun``, ``grad_norm`` = KKT residual, ``step`` = ‖x_k − x_{k−1}‖) and ``residuals``: per-iteration arrays
    ``kkt, stationarity, violation, complementarity, alpha, merit, mu, soc, exact`` (entry 0 is x₀; α, soc,
    exact NaN there; ``soc`` = 1 where the corrected step was taken, ``exact`` = 1 where the exact Hessian was).

    >>> from utils.hock_schittkowski import hs35
    >>> res = sqp(hs35())
    >>> res.success, bool(np.allclose(res.x, [4/3, 7/9, 4/9], atol=1e-8)), round(float(res.lam[0]), 8)
    (True, True, 0.22222222)
    """
    x = validate_nlp(nlp, x0, "utils.sqp")
    if hessian not in ("bfgs", "exact"):
        raise ValueError(f"utils.sqp: hessian must be 'bfgs' or 'exact', got {hessian!r}")
    if hessian == "exact" and (nlp.hess is None or nlp.g_hess is None or nlp.h_hess is None):
        raise ValueError(f"utils.sqp: hessian='exact' needs nlp.hess, g_hess and h_hess; problem {nlp.name!r} "
                         "lacks one (use hessian='bfgs')")
    mu0, tol, qp_tol = validate_positive("mu0", mu0), validate_nonnegative("tol", tol), validate_positive("qp_tol", qp_tol)
    eta, rho = validate_unit("eta", eta), validate_unit("rho", rho)
    maxiter, ls_maxiter = validate_maxiter(maxiter), validate_maxiter(ls_maxiter)
    validate_callback(callback)
    lam0 = _multiplier("lam0", lam0, nlp.m, nonneg=True)
    nu0 = _multiplier("nu0", nu0, nlp.p, nonneg=False)
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        return _sqp_loop(nlp, x, lam0, nu0, hessian, bool(soc), mu0, eta, rho, ls_maxiter, tol, maxiter, qp_tol, callback, t0)


def _multiplier(name, v, size, nonneg):
    v = np.zeros(size) if v is None else np.array(v, dtype=float).reshape(-1)
    if v.shape != (size,) or not np.all(np.isfinite(v)) or (nonneg and np.any(v < 0)):
        raise ValueError(f"utils.sqp: {name} must be a finite{' non-negative' if nonneg else ''} vector of length "
                         f"{size}, got {v}")
    return v


def _sqp_loop(nlp, x, lam0, nu0, hessian, soc, mu0, eta, rho, ls_maxiter, tol, maxiter, qp_tol, callback, t0):
    n = x.size
    fx, gf, gx, hx = float(nlp.f(x)), np.asarray(nlp.grad(x)), nlp.g(x), nlp.h(x)
    Jg, Jh = nlp.g_jac(x), nlp.h_jac(x)
    s = SQPState(x, lam0, nu0, np.eye(n), mu0, 0, 1, 1)
    rows, xs, nqp = [], [x.copy()], 0

    def record(s, fx, step, alpha, used_soc, used_exact):
        r = kkt_residual(nlp, s.x, s.lam, s.nu)
        rows.append((fx, r["kkt"], step, s.nfev, s.njev, time.perf_counter() - t0, r["stationarity"],
                     r["violation"], r["complementarity"], alpha, l1_merit(nlp, s.x, s.mu, fx), s.mu, used_soc,
                     used_exact))
        return r["kkt"]

    kkt = record(s, fx, math.nan, math.nan, math.nan, math.nan)
    status = NONFINITE if not (np.isfinite(fx) and np.all(np.isfinite(gf))) else (SUCCESS if kkt <= tol else None)
    while status is None:
        if s.k >= maxiter:
            status = MAXITER
            break
        B = None
        if hessian == "exact":
            B, sigma = _convexify(nlp.lagrangian_hess(x, s.lam, s.nu), np.vstack([Jh, Jg[s.lam > 1e-10]]))
        if B is None or hessian == "bfgs":
            B, sigma = s.B, 0.0
        used_exact = float(hessian == "exact" and B is not s.B)
        qp = qp_solve(B, gf, Jh, -hx, Jg, -gx, tol=qp_tol)
        nqp += qp.nit
        if not qp.success:
            status = NO_PROGRESS
            break
        p, lam_hat, nu_hat = qp.p, qp.lam, qp.nu
        if sigma:                                      # undo the σJ_WᵀJ_W curvature in the multipliers
            nu_hat = nu_hat + sigma * (Jh @ p)
            lam_hat = np.where(s.lam > 1e-10, np.maximum(lam_hat + sigma * (Jg @ p), 0.0), lam_hat)
        mult = np.concatenate([lam_hat, nu_hat])
        mu = max(s.mu, 1.5 * float(np.max(np.abs(mult))) + 1e-3) if mult.size else s.mu
        phi0 = fx + mu * _violation(gx, hx)
        D = float(gf @ p) - mu * _violation(gx, hx)
        alpha, nf, used_soc, ok = 1.0, 0, 0.0, False
        x_new = x + p
        for i in range(ls_maxiter + 1):
            x_new = x + alpha * p
            f_new, g_new, h_new = float(nlp.f(x_new)), nlp.g(x_new), nlp.h(x_new)
            nf += 1
            if f_new + mu * _violation(g_new, h_new) <= phi0 + eta * alpha * D:
                ok = True
                break
            if soc and i == 0:                        # second-order correction, tried once, at α = 1
                act = np.flatnonzero((lam_hat > 1e-8) | (gx + Jg @ p >= -1e-8 * (1 + np.abs(gx))))
                Jw = np.vstack([Jh, Jg[act]])
                cw = np.concatenate([h_new, g_new[act]])
                p_hat = -Jw.T @ np.linalg.lstsq(Jw @ Jw.T, cw, rcond=None)[0]
                x_soc = x + p + p_hat
                f_soc, g_soc, h_soc = float(nlp.f(x_soc)), nlp.g(x_soc), nlp.h(x_soc)
                nf += 1
                if f_soc + mu * _violation(g_soc, h_soc) <= phi0 + eta * D:
                    x_new, f_new, g_new, h_new, used_soc, ok = x_soc, f_soc, g_soc, h_soc, 1.0, True
                    break
            alpha *= rho
        rounding = not ok and D > -1e-14 * (1 + abs(phi0))   # no measurable decrease left: rounding at x*
        ok = ok or rounding
        if not ok:
            status = NO_PROGRESS
            break
        gf_new = np.asarray(nlp.grad(x_new))
        Jg_new, Jh_new = nlp.g_jac(x_new), nlp.h_jac(x_new)
        lam = s.lam + alpha * (lam_hat - s.lam)
        nu = s.nu + alpha * (nu_hat - s.nu)
        sk = x_new - x                                 # the damped BFGS matrix is kept in both modes
        yk = (gf_new + Jg_new.T @ lam + Jh_new.T @ nu) - (gf + Jg.T @ lam + Jh.T @ nu)
        Bk = damped_bfgs_update(s.B, sk, yk)[0] if sk @ sk > 0 else s.B
        step = float(np.linalg.norm(x_new - x))
        s = SQPState(x_new, lam, nu, Bk, mu, s.k + 1, s.nfev + nf, s.njev + 1)
        x, fx, gf, gx, hx, Jg, Jh = x_new, f_new, gf_new, g_new, h_new, Jg_new, Jh_new
        xs.append(x.copy())
        kkt = record(s, fx, step, alpha, used_soc, used_exact)
        if not (np.isfinite(fx) and np.all(np.isfinite(gf))):
            status = NONFINITE
            break
        if kkt <= tol:
            status = SUCCESS
            break
        recent = [row[1] for row in rows[-11:]]
        if rounding or (len(recent) == 11 and min(recent[1:]) > 0.5 * recent[0]):
            status = NO_PROGRESS                       # rounding floor: no merit decrease, or KKT stalled 10 steps
            break
        if callback is not None:
            try:
                stop = callback(OptimizeResult(x=x, fun=fx, jac=gf, nit=s.k, lam=lam, nu=nu))
            except StopIteration:
                stop = True
            if stop:
                status = CALLBACK
    cols = [np.array(c, dtype=float) for c in zip(*rows)]
    hist = History(fun=cols[0], grad_norm=cols[1], step=cols[2], nfev=cols[3].astype(int), njev=cols[4].astype(int),
                   time=cols[5], x=np.array(xs) if n <= 100 else None)
    residuals = dict(zip(("kkt", "stationarity", "violation", "complementarity", "alpha", "merit", "mu", "soc",
                                                  "exact"),
                         [cols[1]] + cols[6:]))
    messages = {SUCCESS: "Optimization terminated successfully: KKT residual below tol.",
                MAXITER: "Maximum number of iterations has been exceeded.",
                NO_PROGRESS: f"No further progress at iteration {s.k}: the QP subproblem or the merit line search "
                             "failed.",
                NONFINITE: f"Non-finite value encountered at iteration {s.k}.", CALLBACK: "The callback asked to stop."}
    return OptimizeResult(x=s.x, fun=float(nlp.f(s.x)), jac=gf, lam=s.lam, nu=s.nu, nit=int(s.k), nfev=int(s.nfev),
                          njev=int(s.njev), nqp=int(nqp), success=status == SUCCESS, status=status,
                          message=messages[status], history=hist, residuals=residuals, B=s.B)
