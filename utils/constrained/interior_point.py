r"""Interior-point methods for LP and convex QP: a primal–dual method (Mehrotra) and the log-barrier method.

Every solver here treats the convex QP (the LP is the case Q = 0)

.. math:: \min_x\ \tfrac12 x^\top Q x + c^\top x \quad\text{s.t.}\quad Gx \le h,\ Ax = b,
          \qquad Q \succeq 0,\ \text{multipliers } \lambda \ge 0 \text{ (for } G),\ \nu \text{ (for } A),

with slack z = h − Gx ≥ 0 and the Lagrangian L = ½xᵀQx + cᵀx + λᵀ(Gx − h) + νᵀ(Ax − b) (B&V ch. 5).

* :func:`qp_ipm` — primal–dual interior-point method with Mehrotra's predictor–corrector (Mehrotra 1992;
  N&W Alg. 14.3 and §16.6; Wright 1997 ch. 10) applied to the **homogeneous self-dual embedding** of the QP
  (Ye, Todd & Mizuno 1994; Xu, Hung & Ye 1996 for LP; the QP form of Goulart & Chen 2024, Clarabel). The
  embedding adds τ, κ ≥ 0: an optimal point has τ > 0 (x = x̃/τ), an infeasibility certificate has κ > 0,
  τ → 0. Statuses are therefore *certified*, never guessed (see "Infeasibility detection" in
  :func:`qp_ipm`).
* :func:`lp_ipm` — the LP in standard form  min cᵀx s.t. Ax = b, x ≥ 0  (dual max bᵀy s.t. Aᵀy + s = c,
  s ≥ 0), started from Mehrotra's point (N&W §14.2), solved by the same embedding (G = −I, h = 0).
* :func:`barrier` — the log-barrier (path-following) method of B&V §11.3 with a phase I (§11.4), the teaching
  version: it records the central path x*(t).
* Generators: :func:`random_lp`, :func:`random_qp` (feasible, bounded, with a known optimal primal–dual point;
  degenerate variants), :func:`infeasible_lp`, :func:`unbounded_lp`, :func:`infeasible_qp`,
  :func:`unbounded_qp` (seeded).

Results are scipy ``OptimizeResult``s. ``status`` uses :func:`scipy.optimize.linprog`'s codes and ``outcome``
the exact strings of this module:

====== ================================ ==========================================================
status outcome                          meaning
====== ================================ ==========================================================
0      ``"optimal"``                    relative primal/dual residuals and relative gap ≤ ``tol``
1      ``"max_iter"``                   ``maxiter`` iterations used up
2      ``"primal infeasible"``          a Farkas certificate (ν, λ) was found (``result.certificate``)
3      ``"dual infeasible (unbounded)"`` a recession direction d was found; unbounded if primal feasible
4      ``"numerical error"``            steps stalled or a non-finite value appeared before ``tol``
99     ``"callback"``                   ``callback(intermediate_result)`` returned True
====== ================================ ==========================================================

``history`` is an :class:`IPMHistory` (a :class:`utils.History` with the IPM's per-iteration quantities:
``primal``, ``dual``, ``gap``, ``mu``, ``alpha``, ``sigma``, ``tau``, ``kappa``); entry 0 is the start.

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, ch. 14 (Alg. 14.3, §14.2 starting
point) and ch. 16 (§16.6); Wright, *Primal-Dual Interior-Point Methods*, SIAM 1997 (ch. 9 homogeneous
self-dual, ch. 10 Mehrotra); Mehrotra, SIAM J. Optim. 2(4), 1992; Boyd & Vandenberghe, *Convex
Optimization*, 2004, ch. 11; Xu, Hung & Ye, Ann. Oper. Res. 62, 1996; Goulart & Chen, *Clarabel: an
interior-point solver for conic programs with quadratic objectives*, arXiv:2405.12762, 2024.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import numpy as np
import scipy.linalg as sla

from ..core.drivers import validate_callback, validate_maxiter, validate_positive, validate_unit
from ..core.result import History, OptimizeResult

__all__ = ["IPMState", "IPMHistory", "ipm_step", "qp_ipm", "lp_ipm", "barrier", "random_lp", "random_qp",
           "infeasible_lp", "unbounded_lp", "infeasible_qp", "unbounded_qp", "OUTCOMES"]

OPTIMAL, MAX_ITER, PRIMAL_INFEASIBLE, DUAL_INFEASIBLE, NUMERICAL, CALLBACK = 0, 1, 2, 3, 4, 99
OUTCOMES = {OPTIMAL: "optimal", MAX_ITER: "max_iter", PRIMAL_INFEASIBLE: "primal infeasible",
            DUAL_INFEASIBLE: "dual infeasible (unbounded)", NUMERICAL: "numerical error", CALLBACK: "callback"}
_MESSAGES = {
    OPTIMAL: "optimal: relative primal and dual residuals and relative gap below tol.",
    MAX_ITER: "max_iter: maximum number of iterations has been exceeded.",
    PRIMAL_INFEASIBLE: "primal infeasible: found (nu, lam >= 0) with A^T nu + G^T lam ~ 0 and b^T nu + h^T lam < 0.",
    DUAL_INFEASIBLE: "dual infeasible (unbounded): found d with Qd ~ 0, Ad ~ 0, Gd <~ 0 and c^T d < 0; the "
                     "problem is unbounded below if it is feasible.",
    NUMERICAL: "numerical error: the iteration stalled before reaching tol.",
    CALLBACK: "callback: the callback asked to stop.",
}


@dataclass(frozen=True)
class IPMHistory(History):
    """:class:`utils.History` plus the interior-point quantities (entry k describes iterate k, 0 the start).

    ``fun`` is the primal objective at x̂ = x/τ; ``grad_norm`` = max(primal, dual) residual; ``step`` the
    step length α_k; ``nfev`` the cumulative number of Newton systems solved (barrier: Newton steps).
    primal, dual : relative residuals ‖(Ax̂ − b, Gx̂ + ẑ − h)‖/(1 + ‖(b, h)‖), ‖Qx̂ + c + Aᵀν̂ + Gᵀλ̂‖/(1 + ‖c‖).
    gap : relative gap |p − d|/(1 + min(|p|, |d|)) of the primal and dual objectives (barrier: m/t).
    mu : complementarity μ = (zᵀλ + τκ)/(m + 1) (barrier: 1/t). alpha, sigma : step length, centering σ.
    tau, kappa : the embedding's τ and κ (NaN for the barrier method).
    """

    primal: Optional[np.ndarray] = None
    dual: Optional[np.ndarray] = None
    gap: Optional[np.ndarray] = None
    mu: Optional[np.ndarray] = None
    alpha: Optional[np.ndarray] = None
    sigma: Optional[np.ndarray] = None
    tau: Optional[np.ndarray] = None
    kappa: Optional[np.ndarray] = None


class IPMState(NamedTuple):
    """Iterate of the homogeneous self-dual embedding: (x, ν, λ, z, τ, κ), all scaled by τ (x̂ = x/τ)."""

    x: Any; nu: Any; lam: Any; z: Any        # noqa: E702  primal, equality and inequality multipliers, slack
    tau: Any; kappa: Any                     # noqa: E702  homogenizing variables τ, κ ≥ 0


class _QP(NamedTuple):
    Q: Any; c: Any; G: Any; h: Any; A: Any; b: Any      # noqa: E702


# ------------------------------------------------------------------------------------------------ validation
def _as_matrix(name, M, rows, n):
    if M is None:
        return np.zeros((0, n))
    M = np.asarray(M, dtype=float)
    if M.ndim == 1 and rows is None and M.size == n:
        M = M[None, :]
    if M.ndim != 2 or M.shape[1] != n:
        raise ValueError(f"{name} must be a matrix with n = {n} columns (n = len(c)), got shape {M.shape}")
    return M


def _as_vector(name, v, m, matrix):
    v = np.zeros(0) if v is None else np.atleast_1d(np.asarray(v, dtype=float))
    if v.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},) to match {matrix} of shape ({m}, ·), got {v.shape}")
    return v


def _check_qp(Q, c, G, h, A, b) -> _QP:
    c = np.atleast_1d(np.asarray(c, dtype=float))
    if c.ndim != 1:
        raise ValueError(f"c must be a vector, got shape {c.shape}")
    n = c.size
    Q = np.zeros((n, n)) if Q is None else np.asarray(Q, dtype=float)
    if Q.shape != (n, n):
        raise ValueError(f"Q must have shape ({n}, {n}) to match c of shape ({n},), got {Q.shape}")
    if (G is None) != (h is None) or (A is None) != (b is None):
        raise ValueError("pass G with h and A with b (both or neither)")
    G, A = _as_matrix("G", G, None, n), _as_matrix("A", A, None, n)
    h, b = _as_vector("h", h, G.shape[0], "G"), _as_vector("b", b, A.shape[0], "A")
    for name, v in (("Q", Q), ("c", c), ("G", G), ("h", h), ("A", A), ("b", b)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite")
    scale = float(np.linalg.norm(Q, 2)) if n else 0.0
    if np.linalg.norm(Q - Q.T) > 1e-12 * max(scale, 1e-300) * n:
        raise ValueError("Q must be symmetric (pass (Q + Q.T)/2: only the symmetric part enters x^T Q x)")
    if n and scale > 0:
        lam_min = float(np.linalg.eigvalsh(Q)[0])
        if lam_min < -1e-10 * scale:
            raise ValueError(f"Q must be positive semidefinite (convex QP): its smallest eigenvalue is "
                             f"{lam_min:.3g} < -1e-10*||Q||_2 = {-1e-10 * scale:.3g}")
    return _QP(Q, c, G, h, A, b)


def _independent_rows(A, b):
    """Rows of A to keep (a basis of its row space, by QR with column pivoting of Aᵀ; rank tolerance
    1e-10·σ_max), and a certificate ν (Aᵀν = 0, bᵀν = −1) when Ax = b is inconsistent, else None."""
    p = A.shape[0]
    if p == 0:
        return np.arange(0), None
    _, R, piv = sla.qr(A.T, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > 1e-10 * max(d[0], 1e-300))) if d.size else 0
    keep = np.sort(piv[:rank])
    if rank == p:
        return keep, None
    x_ls = np.linalg.lstsq(A[keep], b[keep], rcond=None)[0]
    r = b - A @ x_ls                                 # zero on kept rows; on dropped rows: the inconsistency
    if np.linalg.norm(r) <= 1e-9 * (1.0 + np.linalg.norm(b)):
        return keep, None
    # ν = −r̃/(bᵀr̃) with r̃ the residual of b's projection onto range(A): Aᵀr̃ = 0, bᵀr̃ = ‖r̃‖² > 0
    U, S, _ = np.linalg.svd(A, full_matrices=True)
    null_left = U[:, int(np.sum(S > 1e-10 * S[0])):]
    rt = null_left @ (null_left.T @ b)
    return keep, -rt / float(b @ rt)


# ------------------------------------------------------------------------------------------------ the step
def _residuals(s: IPMState, d: _QP):
    Qx = d.Q @ s.x
    rx = Qx + d.A.T @ s.nu + d.G.T @ s.lam + d.c * s.tau
    rnu = d.A @ s.x - d.b * s.tau
    rlam = d.G @ s.x + s.z - d.h * s.tau
    rtau = float(s.x @ Qx) / s.tau + d.c @ s.x + d.b @ s.nu + d.h @ s.lam + s.kappa
    return rx, rnu, rlam, rtau


def _factor(s: IPMState, d: _QP, reg):
    """LU factors of the reduced KKT matrix [[Q + GᵀWG + δI, Aᵀ], [A, −δI]], W = diag(λ/z) (a static
    regularization δ; the solves refine against δ = 0)."""
    n, p = d.c.size, d.b.size
    H = d.Q + (d.G.T * (s.lam / s.z)) @ d.G
    K = np.zeros((n + p, n + p))
    K[:n, :n], K[:n, n:], K[n:, :n] = H, d.A.T, d.A
    K0 = K.copy()
    K[np.arange(n), np.arange(n)] += reg
    K[np.arange(n, n + p), np.arange(n, n + p)] -= reg
    return sla.lu_factor(K, check_finite=False), K0


def _solve(F, s: IPMState, d: _QP, rx, rnu, rlam):
    """Solve [[Q, Aᵀ, Gᵀ], [A, 0, 0], [G, 0, −W⁻¹]] (Δx, Δν, Δλ) = (rx, rnu, rlam), W⁻¹ = diag(z/λ), by
    eliminating Δλ = (λ/z)(GΔx − rlam); two steps of iterative refinement."""
    lu, K0 = F
    n = d.c.size
    w = s.lam / s.z
    rhs = np.concatenate([rx + d.G.T @ (w * rlam), rnu])
    sol = sla.lu_solve(lu, rhs, check_finite=False)
    for _ in range(2):
        sol = sol + sla.lu_solve(lu, rhs - K0 @ sol, check_finite=False)
    dx, dnu = sol[:n], sol[n:]
    return dx, dnu, w * (d.G @ dx - rlam)


def _max_step(v, dv):
    neg = dv < 0
    return float(np.min(-v[neg] / dv[neg])) if np.any(neg) else math.inf


def _direction(F, u2, s, d, dx_, dnu_, dlam_, dtau_, ds, dk):
    """Newton direction for the residual targets (dx_, dnu_, dlam_, dtau_) and complementarity targets
    ds (for z∘λ) and dk (for τκ); u2 solves K u2 = (−c, b, h) (shared by predictor and corrector)."""
    xi = s.x / s.tau
    Qxi = d.Q @ xi
    u1 = _solve(F, s, d, -dx_, -dnu_, -dlam_ + ds / s.lam)

    def g(u):
        return float((2.0 * Qxi + d.c) @ u[0] + d.b @ u[1] + d.h @ u[2])

    denom = g(u2) - float(xi @ Qxi) - s.kappa / s.tau          # < 0 (Goulart & Chen 2024, §3)
    dtau = (-dtau_ + dk / s.tau - g(u1)) / denom
    dx, dnu, dlam = (a + dtau * b_ for a, b_ in zip(u1, u2))
    dz = -(ds + s.z * dlam) / s.lam
    dkappa = -(dk + s.kappa * dtau) / s.tau
    return dx, dnu, dlam, dz, dtau, dkappa


def ipm_step(s: IPMState, d: _QP, eta=0.99, reg=1e-12):
    """One Mehrotra predictor–corrector step on the homogeneous embedding (pure: returns the new state and
    a dict with α, σ, μ). See :func:`qp_ipm` for the equations."""
    m = s.z.size
    rx, rnu, rlam, rtau = _residuals(s, d)
    mu = (float(s.z @ s.lam) + s.tau * s.kappa) / (m + 1)
    F = _factor(s, d, reg)
    u2 = _solve(F, s, d, -d.c, d.b, d.h)
    # predictor (affine scaling): targets the residuals and z∘λ, τκ themselves
    aff = _direction(F, u2, s, d, rx, rnu, rlam, rtau, s.z * s.lam, s.tau * s.kappa)
    pos = np.concatenate([s.z, s.lam, [s.tau, s.kappa]])
    dpos = np.concatenate([aff[3], aff[2], [aff[4], aff[5]]])
    a_aff = min(1.0, _max_step(pos, dpos))
    mu_aff = (float((s.z + a_aff * aff[3]) @ (s.lam + a_aff * aff[2]))
              + (s.tau + a_aff * aff[4]) * (s.kappa + a_aff * aff[5])) / (m + 1)
    sigma = min(1.0, (mu_aff / mu) ** 3)
    # corrector: Mehrotra's second-order term Δz_aff∘Δλ_aff and centering σμ
    ds = s.z * s.lam + aff[3] * aff[2] - sigma * mu
    dk = s.tau * s.kappa + aff[4] * aff[5] - sigma * mu
    f = 1.0 - sigma
    dx, dnu, dlam, dz, dtau, dkappa = _direction(F, u2, s, d, f * rx, f * rnu, f * rlam, f * rtau, ds, dk)
    dpos = np.concatenate([dz, dlam, [dtau, dkappa]])
    alpha = min(1.0, eta * _max_step(pos, dpos))
    new = IPMState(s.x + alpha * dx, s.nu + alpha * dnu, s.lam + alpha * dlam, s.z + alpha * dz,
                   s.tau + alpha * dtau, s.kappa + alpha * dkappa)
    return new, {"alpha": alpha, "sigma": sigma, "mu": mu}


# ------------------------------------------------------------------------------------------------ monitoring
def _measures(s: IPMState, d: _QP):
    """Relative primal/dual residuals, relative gap, objectives at (x̂, ν̂, λ̂, ẑ) = (x, ν, λ, z)/τ."""
    x, nu, lam, z = s.x / s.tau, s.nu / s.tau, s.lam / s.tau, s.z / s.tau
    Qx = d.Q @ x
    rp = math.hypot(np.linalg.norm(d.A @ x - d.b), np.linalg.norm(d.G @ x + z - d.h))
    rp /= 1.0 + math.hypot(np.linalg.norm(d.b), np.linalg.norm(d.h))
    rd = np.linalg.norm(Qx + d.c + d.A.T @ nu + d.G.T @ lam) / (1.0 + np.linalg.norm(d.c))
    xQx = float(x @ Qx)
    pobj = 0.5 * xQx + float(d.c @ x)
    dobj = -0.5 * xQx - float(d.b @ nu) - float(d.h @ lam)
    gap = abs(pobj - dobj) / (1.0 + min(abs(pobj), abs(dobj)))
    return rp, float(rd), gap, pobj


def _certificates(s: IPMState, d: _QP, tol_inf):
    """PRIMAL_INFEASIBLE / DUAL_INFEASIBLE when the current (unscaled) iterate is an approximate certificate,
    else None. Farkas: ‖Aᵀν + Gᵀλ‖ ≤ ε·t with t = −(bᵀν + hᵀλ) > 0 and λ ≥ 0 (always, interior). Then any x
    with Ax = b, Gx ≤ h satisfies t ≤ ‖x‖·ε·t, so no feasible point has ‖x‖ < 1/ε. Recession: t' = −cᵀx > 0
    and ‖Qx‖, ‖Ax‖, ‖(Gx)₊‖ ≤ ε·t'; any dual feasible point (x̄, ν, λ) then has ‖(x̄, ν, λ)‖ ≥ 1/ε."""
    t = -(float(d.b @ s.nu) + float(d.h @ s.lam))
    if t > 0 and np.linalg.norm(d.A.T @ s.nu + d.G.T @ s.lam) <= tol_inf * t:
        return PRIMAL_INFEASIBLE
    t = -float(d.c @ s.x)
    if t > 0 and max(np.linalg.norm(d.Q @ s.x), np.linalg.norm(d.A @ s.x),
                     np.linalg.norm(np.maximum(d.G @ s.x, 0.0))) <= tol_inf * t:
        return DUAL_INFEASIBLE
    return None


def _qp_start(d: _QP) -> IPMState:
    """Symmetric start (CVXOPT ``coneqp``; Clarabel): x minimizes ½xᵀQx + cᵀx + ½‖Gx − h‖² s.t. Ax = b, then
    the slack z = h − Gx and the multiplier λ = Gx − h are shifted into the interior (by 1 + max violation)."""
    s0 = IPMState(np.zeros(d.c.size), np.zeros(d.b.size), np.ones(d.h.size), np.ones(d.h.size), 1.0, 1.0)
    F = _factor(s0, d, 1e-8)
    x, nu, lam = _solve(F, s0, d, -d.c, d.b, d.h)
    z = -lam

    def shift(v):
        a = -float(np.min(v)) if v.size else -1.0
        return v if a < 0 else v + (1.0 + a)

    z, lam = shift(z), shift(lam)
    kappa = float(z @ lam) / max(z.size, 1) if z.size else 1.0
    return IPMState(x, nu, lam, z, 1.0, kappa)


def _run(d: _QP, start, *, tol, tol_inf, maxiter, eta, callback):
    """The loop shared by :func:`qp_ipm` and :func:`lp_ipm` (d has full-row-rank A)."""
    t0 = time.perf_counter()
    s = start
    rows, nsys = [], 0

    def record(s, alpha, sigma):
        mu = (float(s.z @ s.lam) + s.tau * s.kappa) / (s.z.size + 1)       # μ of this iterate (entry 0: the start)
        rp, rd, gap, pobj = _measures(s, d)
        rows.append((pobj, max(rp, rd), alpha, nsys, time.perf_counter() - t0, rp, rd, gap, mu, sigma, s.tau,
                     s.kappa))
        return rp, rd, gap

    rp, rd, gap = record(s, math.nan, math.nan)
    status, k, stalls = None, 0, 0
    with np.errstate(all="ignore"):
        while True:
            if rp <= tol and rd <= tol and gap <= tol:
                status = OPTIMAL
                break
            cert = _certificates(s, d, tol_inf)
            if cert is not None:
                status = cert
                break
            if k >= maxiter:
                status = MAX_ITER
                break
            try:
                new, info = ipm_step(s, d, eta)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                status = NUMERICAL
                break
            if not all(np.all(np.isfinite(v)) for v in new) or new.tau <= 0 and new.kappa <= 0:
                status = NUMERICAL
                break
            k, nsys, s = k + 1, nsys + 3, new
            rp, rd, gap = record(s, info["alpha"], info["sigma"])
            stalls = stalls + 1 if info["alpha"] < 1e-8 else 0
            if stalls >= 3:
                status = NUMERICAL
                break
            if callback is not None and callback(OptimizeResult(x=s.x / s.tau, fun=rows[-1][0], nit=k, state=s)):
                status = CALLBACK
                break
    cols = [np.array(c, dtype=float) for c in zip(*rows)]
    hist = IPMHistory(fun=cols[0], grad_norm=cols[1], step=cols[2], nfev=cols[3].astype(int),
                      njev=np.zeros(len(rows), dtype=int), time=cols[4], primal=cols[5], dual=cols[6],
                      gap=cols[7], mu=cols[8], alpha=cols[2], sigma=cols[9], tau=cols[10], kappa=cols[11])
    return s, status, k, hist


def _pack(s, status, k, hist, d, extra_msg=""):
    if status in (PRIMAL_INFEASIBLE, DUAL_INFEASIBLE):
        x, nu, lam, z = s.x, s.nu, s.lam, s.z          # certificate directions (unscaled)
        fun = math.inf if status == PRIMAL_INFEASIBLE else -math.inf
    else:
        x, nu, lam, z = s.x / s.tau, s.nu / s.tau, s.lam / s.tau, s.z / s.tau
        fun = float(0.5 * x @ d.Q @ x + d.c @ x)
    msg = _MESSAGES[status] + f" ({k} iterations{extra_msg})"
    if status in (MAX_ITER, NUMERICAL):
        msg += (f" Last relative residuals: primal {hist.primal[-1]:.2e}, dual {hist.dual[-1]:.2e}, "
                f"gap {hist.gap[-1]:.2e}.")
    return OptimizeResult(x=x, fun=fun, nu=nu, lam=lam, z=z, nit=k, nfev=int(hist.nfev[-1]), njev=0,
                          success=status == OPTIMAL, status=status, outcome=OUTCOMES[status], message=msg,
                          history=hist, tau=float(s.tau), kappa=float(s.kappa))


def _solve_qp(d: _QP, start_fn, tol, tol_inf, maxiter, eta, callback):
    tol, tol_inf = validate_positive("tol", tol), validate_positive("tol_inf", tol_inf)
    eta = validate_unit("eta", eta)
    maxiter = validate_maxiter(maxiter)
    validate_callback(callback)
    keep, cert = _independent_rows(d.A, d.b)
    p = d.b.size
    dropped = np.setdiff1d(np.arange(p), keep)
    extra = f"; {dropped.size} linearly dependent equality row(s) dropped: {dropped.tolist()}" if dropped.size else ""
    if cert is not None:                    # inconsistent Ax = b: infeasible before any iteration
        n = d.c.size
        hist = IPMHistory(fun=np.array([math.nan]), grad_norm=np.array([math.nan]), step=np.array([math.nan]),
                          nfev=np.zeros(1, int), njev=np.zeros(1, int), time=np.zeros(1),
                          primal=np.array([math.nan]), dual=np.array([math.nan]), gap=np.array([math.nan]),
                          mu=np.array([math.nan]), alpha=np.array([math.nan]), sigma=np.array([math.nan]),
                          tau=np.array([math.nan]), kappa=np.array([math.nan]))
        s = IPMState(np.zeros(n), cert, np.zeros(d.h.size), np.zeros(d.h.size), 0.0, 1.0)
        res = _pack(s, PRIMAL_INFEASIBLE, 0, hist, d, "; the equalities Ax = b are inconsistent")
        res.certificate = (cert, np.zeros(d.h.size))
        res.dropped_rows = dropped
        return res
    dr = d._replace(A=d.A[keep], b=d.b[keep])
    s, status, k, hist = _run(dr, start_fn(dr), tol=tol, tol_inf=tol_inf, maxiter=maxiter, eta=eta,
                              callback=callback)
    res = _pack(s, status, k, hist, dr, extra)
    nu = np.zeros(p)
    nu[keep] = res.nu
    res.nu = nu
    res.dropped_rows = dropped
    if status == PRIMAL_INFEASIBLE:
        scale = -(float(d.b @ nu) + float(d.h @ res.lam))
        res.certificate = (nu / scale, res.lam / scale)            # normalized: bᵀν + hᵀλ = −1
    elif status == DUAL_INFEASIBLE:
        res.certificate = res.x / -float(d.c @ res.x)               # normalized: cᵀd = −1
    return res


def qp_ipm(Q, c, G=None, h=None, A=None, b=None, *, tol=1e-8, tol_inf=1e-8, maxiter=100, eta=0.99,
           callback=None):
    r"""Convex QP  min ½xᵀQx + cᵀx  s.t.  Gx ≤ h, Ax = b  by a primal–dual interior-point method (Mehrotra
    predictor–corrector on the homogeneous self-dual embedding).

    **Embedding.** With slack z = h − Gx ≥ 0 and τ, κ ≥ 0 the method finds (x, ν, λ, z, τ, κ) with

    .. math:: Qx + A^\top\nu + G^\top\lambda + c\tau = 0,\quad Ax - b\tau = 0,\quad Gx + z - h\tau = 0,\quad
              \tfrac{x^\top Q x}{\tau} + c^\top x + b^\top\nu + h^\top\lambda + \kappa = 0,\quad
              z\circ\lambda = 0,\ \tau\kappa = 0

    (Goulart & Chen 2024, eq. 4; Xu, Hung & Ye 1996 for Q = 0). τ > 0 gives the KKT point (x, ν, λ, z)/τ,
    whose primal–dual gap ½x̂ᵀQx̂ + cᵀx̂ − (−½x̂ᵀQx̂ − bᵀν̂ − hᵀλ̂) is κ/τ = 0. κ > 0 (τ = 0) gives a
    certificate: bᵀν + hᵀλ < 0 with Aᵀν + Gᵀλ = 0 (primal infeasible, Farkas) or cᵀx < 0 with Qx = 0,
    Ax = 0, Gx ≤ 0 (dual infeasible: unbounded if feasible).

    **Step** (N&W Alg. 14.3, Wright 1997 ch. 10). With residuals r = (r_x, r_ν, r_λ, r_τ) and
    μ = (zᵀλ + τκ)/(m + 1): the predictor solves the Newton system for targets r and z∘λ, τκ; its step to
    the boundary α_aff gives μ_aff and σ = (μ_aff/μ)³ (Mehrotra's heuristic); the corrector targets (1 − σ)r
    and z∘λ + Δz_aff∘Δλ_aff − σμ, τκ + Δτ_affΔκ_aff − σμ. Each Newton system reduces to one factorization
    of [[Q + GᵀWG, Aᵀ], [A, 0]], W = diag(λ/z), solved for two right-hand sides (the τ column, then Δτ by a
    scalar formula). All of z, λ, τ, κ take the step α = min(1, η·α_max) (fraction to the boundary η).

    **Stopping**: relative residuals ‖(Ax̂ − b, Gx̂ + ẑ − h)‖/(1 + ‖(b, h)‖) ≤ tol, ‖Qx̂ + c + Aᵀν̂ + Gᵀλ̂‖ /
    (1 + ‖c‖) ≤ tol and relative gap |p − d|/(1 + min(|p|, |d|)) ≤ tol.

    **Infeasibility detection** (certificates as Clarabel checks them): status 2 when the unscaled iterate
    satisfies ‖Aᵀν + Gᵀλ‖ ≤ tol_inf·t, t = −(bᵀν + hᵀλ) > 0 (then no feasible x has ‖x‖ < 1/tol_inf);
    status 3 when ‖Qx‖, ‖Ax‖, ‖(Gx)₊‖ ≤ tol_inf·t', t' = −cᵀx > 0. ``result.certificate`` holds (ν, λ)
    normalized to bᵀν + hᵀλ = −1, or d normalized to cᵀd = −1. Equality rows that are linear combinations
    of others are detected (rank-revealing QR of Aᵀ) and dropped, their ν set to 0 (``result.dropped_rows``);
    an inconsistent Ax = b is reported primal infeasible at once, with its certificate.

    Symbols ↔ arguments: Q, c, G, h, A, b = ``Q``, ``c``, ``G``, ``h``, ``A``, ``b`` (CVXPY:
    ``cp.Minimize(0.5*cp.quad_form(x, Q) + c@x)``, ``[G@x <= h, A@x == b]``; ``constraint.dual_value`` are λ
    and ν; scipy ``linprog``: ``A_ub, b_ub, A_eq, b_eq``, with ``ineqlin.marginals = −λ``); η = ``eta``;
    ``tol_inf`` = ε of the certificates (Clarabel ``eps_primal_inf``, ``eps_dual_inf``).

    Returns ``OptimizeResult`` with ``x, fun, lam, nu, z`` (slack), ``nit``, ``status``, ``outcome``,
    ``message``, ``success``, ``history`` (:class:`IPMHistory`), ``tau, kappa``, ``dropped_rows``, and
    ``certificate`` when infeasible. References: see the module docstring (N&W 2006 §16.6, Wright 1997,
    Mehrotra 1992, Xu–Hung–Ye 1996, Goulart–Chen 2024).

    >>> import numpy as np      # min ½‖x‖² − x₁ − x₂ s.t. x₁ + x₂ ≤ 1 → x* = (½, ½), λ* = ½
    >>> res = qp_ipm(np.eye(2), -np.ones(2), G=[[1.0, 1.0]], h=[1.0])
    >>> res.outcome, np.round(res.x, 8), np.round(res.lam, 8)
    ('optimal', array([0.5, 0.5]), array([0.5]))
    """
    d = _check_qp(Q, c, G, h, A, b)
    return _solve_qp(d, _qp_start, tol, tol_inf, maxiter, eta, callback)


def _mehrotra_start(d: _QP) -> IPMState:
    """N&W §14.2 starting point for the standard-form LP (G = −I, h = 0): x̃ = Aᵀ(AAᵀ)⁻¹b, y = (AAᵀ)⁻¹Ac,
    s̃ = c − Aᵀy, shifted by max(−1.5 min, 0) and then by ½x̂ᵀŝ/Σŝ, ½x̂ᵀŝ/Σx̂; in the embedding z = x, λ = s,
    ν = −y, τ = 1, κ = xᵀs/n."""
    A, b, c = d.A, d.b, d.c
    n = c.size
    if A.shape[0]:
        F = sla.cho_factor(A @ A.T)
        x, y = A.T @ sla.cho_solve(F, b), sla.cho_solve(F, A @ c)
    else:
        x, y = np.zeros(n), np.zeros(0)
    s = c - A.T @ y
    x = x + max(-1.5 * float(np.min(x)), 0.0)
    s = s + max(-1.5 * float(np.min(s)), 0.0)
    xs = float(x @ s)
    if not (xs > 0 and np.sum(x) > 0 and np.sum(s) > 0):       # e.g. b = 0 and c ∈ range(Aᵀ)
        x, s, xs = x + 1.0, s + 1.0, float((x + 1.0) @ (s + 1.0))
    x, s = x + 0.5 * xs / np.sum(s), s + 0.5 * xs / np.sum(x)
    return IPMState(x, -y, s, x.copy(), 1.0, float(x @ s) / n)


def lp_ipm(c, A, b, *, tol=1e-8, tol_inf=1e-8, maxiter=100, eta=0.99, callback=None):
    r"""LP in standard form  min cᵀx  s.t.  Ax = b, x ≥ 0  (dual  max bᵀy  s.t.  Aᵀy + s = c, s ≥ 0) by the
    primal–dual interior-point method of :func:`qp_ipm` (Mehrotra predictor–corrector, homogeneous
    self-dual embedding) from Mehrotra's starting point (N&W §14.2).

    Central path and Newton system (N&W eqs. 14.13, 14.30): Aᵀy + s = c, Ax = b, xᵢsᵢ = σμ, (x, s) > 0; here
    embedded as in :func:`qp_ipm` with Q = 0, G = −I, h = 0, so λ = s, ν = −y, z = x. Stops on the relative
    residuals ‖Ax − b‖/(1 + ‖b‖), ‖Aᵀy + s − c‖/(1 + ‖c‖) and the relative gap |cᵀx − bᵀy|/(1 + min(|cᵀx|,
    |bᵀy|)), all ≤ ``tol``. Statuses and certificates as in :func:`qp_ipm` (primal infeasible: y with
    Aᵀy ≤ 0... normalized as ν = −y, λ = s).

    Symbols ↔ arguments: c, A, b = ``c``, ``A``, ``b`` (scipy ``linprog(c, A_eq=A, b_eq=b, bounds=(0, None))``:
    ``eqlin.marginals = y`` (∂f*/∂b), ``lower.marginals = s``; CVXPY ``[A@x == b, x >= 0]``: duals −y and s);
    η = ``eta``. Returns ``x, y, s, fun, nit, status, outcome, message, success, history`` (and ``lam = s``,
    ``nu = −y`` as in :func:`qp_ipm`). Reference: N&W 2006 ch. 14 (Alg. 14.3, §14.2); Mehrotra 1992;
    Wright 1997; Xu, Hung & Ye 1996.

    >>> import numpy as np      # min −x₁ − 2x₂ s.t. x₁ + x₂ + x₃ = 1, x ≥ 0 → x* = (0, 1, 0), y* = −2
    >>> res = lp_ipm(np.array([-1.0, -2.0, 0.0]), np.ones((1, 3)), np.ones(1))
    >>> res.outcome, np.round(res.x, 8) + 0.0, np.round(res.y, 8), round(res.fun, 8)
    ('optimal', array([0., 1., 0.]), array([-2.]), -2.0)
    """
    c = np.atleast_1d(np.asarray(c, dtype=float))
    if c.ndim != 1:
        raise ValueError(f"c must be a vector, got shape {c.shape}")
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[1] != c.size:
        raise ValueError(f"A must have shape (m, {c.size}) to match c of shape ({c.size},), got {A.shape}")
    n = c.size
    d = _check_qp(None, c, -np.eye(n), np.zeros(n), A, b)
    res = _solve_qp(d, _mehrotra_start, tol, tol_inf, maxiter, eta, callback)
    res.y, res.s = -res.nu, res.lam
    res.message = res.message.replace("A^T nu + G^T lam ~ 0 and b^T nu + h^T lam < 0",
                                      "A^T y <= 0 and b^T y > 0 (Farkas)")
    return res


# ------------------------------------------------------------------------------------------------ barrier
def _centering(d: _QP, x, t, *, tol, maxiter, alpha=0.01, beta=0.5, stop=None):
    """Newton's method for min t f₀(x) − Σ log(h − Gx) s.t. Ax = b from a strictly feasible x with Ax = b
    (B&V Alg. 10.1 with feasible start, §11.3.1): returns x*(t), ν*(t) (of t f₀), Newton steps."""
    n, p = d.c.size, d.b.size
    w = np.zeros(p)
    for k in range(1, maxiter + 1):
        if stop is not None and stop(x):                  # phase I: the first strictly feasible point ends it
            return x, w, k - 1
        slack = d.h - d.G @ x
        inv = 1.0 / slack
        grad = t * (d.Q @ x + d.c) + d.G.T @ inv
        H = t * d.Q + (d.G.T * inv**2) @ d.G
        K = np.zeros((n + p, n + p))
        K[:n, :n], K[:n, n:], K[n:, :n] = H, d.A.T, d.A
        rhs = np.concatenate([-grad, np.zeros(p)])
        sol = np.linalg.solve(K, rhs)
        sol = sol + np.linalg.solve(K, rhs - K @ sol)     # one step of iterative refinement: keeps AΔx = 0
        dx, w = sol[:n], sol[n:]
        dec2 = float(dx @ H @ dx)                         # Newton decrement λ(x)²
        if dec2 / 2 <= tol:
            # a centre also makes the gradient vanish: its terms t∇f₀ and ∇φ (and Aᵀw) cancel. Where H is
            # singular along a direction of unbounded decrease (an unbounded QP), rounding can make λ² tiny at a
            # point whose gradient does not cancel at all (measured: ratio 1.0 there, ≤ 1.4e-5 at true centres)
            aw = d.A.T @ w
            scale = np.linalg.norm(t * (d.Q @ x + d.c)) + np.linalg.norm(d.G.T @ inv) + np.linalg.norm(aw)
            if np.linalg.norm(grad + aw) > _CENTER_STATIONARITY * scale:
                return x, w, maxiter                      # not a centre: reported as a centering that failed
            return x, w, k - 1
        if math.sqrt(dec2) <= (1 - 2 * alpha) / 4:        # quadratic phase of a self-concordant function
            x = x + dx                                    # (B&V §9.6.4): the full step is accepted; taking it
            continue                                      # unchecked avoids comparing t·f₀ values in roundoff

        def phi(v):
            sl = d.h - d.G @ v
            return math.inf if np.any(sl <= 0) else float(t * (0.5 * v @ d.Q @ v + d.c @ v) - np.sum(np.log(sl)))

        s, f0 = 1.0, phi(x)
        while phi(x + s * dx) > f0 - alpha * s * dec2 and s > 1e-16:    # backtracking (feasibility first: inf)
            s *= beta
        x = x + s * dx
    return x, w, maxiter


_CENTERING_MAXITER = 200     # Newton steps per centering; using them all up means x*(t) was not found
_CENTER_STATIONARITY = 1e-3  # ‖∇(t f₀ + φ) + Aᵀw‖ relative to the sizes of its terms, at an accepted centre


def _barrier_path(d: _QP, x, *, t0, mu, tol, inner_tol, maxiter, stop=None, phase1=False):
    m = d.h.size
    t, xs, ts, newton, rows = t0, [], [], 0, []
    clock = time.perf_counter()
    for k in range(maxiter + 1):
        x, w, nk = _centering(d, x, t, tol=inner_tol, maxiter=_CENTERING_MAXITER, stop=stop)
        newton += nk
        lam = 1.0 / (t * (d.h - d.G @ x))
        nu = w / t
        xs.append(x.copy())
        ts.append(t)
        f = float(0.5 * x @ d.Q @ x + d.c @ x)
        rp = float(np.linalg.norm(d.A @ x - d.b)) / (1 + np.linalg.norm(d.b))
        rd = float(np.linalg.norm(d.Q @ x + d.c + d.A.T @ nu + d.G.T @ lam)) / (1 + np.linalg.norm(d.c))
        rows.append((f, rd, nk, newton, time.perf_counter() - clock, rp, rd, m / t, 1 / t))
        if stop is not None and stop(x):
            return x, lam, nu, xs, ts, rows, k, OPTIMAL
        if nk >= _CENTERING_MAXITER or not np.all(np.isfinite(x)):   # x*(t) not found: no bound m/t to report
            return x, lam, nu, xs, ts, rows, k, NUMERICAL
        if phase1 and x[-1] - m / t > 0:                  # phase I: min s ≥ s(t) − m/t > 0, infeasibility proved
            return x, lam, nu, xs, ts, rows, k, OPTIMAL
        if m / t <= tol:
            return x, lam, nu, xs, ts, rows, k, OPTIMAL
        if k == maxiter:
            break
        t *= mu
    return x, lam, nu, xs, ts, rows, maxiter, MAX_ITER


def barrier(Q, c, G, h, A=None, b=None, *, x0=None, t0=1.0, mu=10.0, tol=1e-8, inner_tol=1e-10, maxiter=50):
    r"""The log-barrier (path-following) method for  min ½xᵀQx + cᵀx  s.t.  Gx ≤ h, Ax = b  (B&V Alg. 11.1).

    .. math:: x^*(t) = \arg\min_{Ax=b}\ t\,f_0(x) + \phi(x),\quad \phi(x) = -\sum_i \log(h_i - g_i^\top x),
              \qquad \lambda_i^*(t) = \frac{1}{t\,(h_i - g_i^\top x^*(t))},\quad f_0(x^*(t)) - p^* \le m/t.

    Outer iteration: center (Newton with equality constraints and backtracking, B&V Alg. 10.2 feasible
    start; stop when λ(x)²/2 ≤ ``inner_tol``), record x*(t), stop if m/t ≤ ``tol``, else t ← μt. x*(t) for
    t₀, μt₀, μ²t₀, … are points of the **central path**, returned in ``central_path`` (with ``t``). Without
    ``x0`` a phase I (B&V §11.4.1) minimizes s s.t. Gx − h ≤ s·1, Ax = b, s ≥ −1 by the same method, stopping
    at the first s < 0; if its optimum is ≥ 0 the problem has no strictly feasible point and the result
    says ``"primal infeasible"`` (status 2). Unboundedness is not detected here (use :func:`qp_ipm`): a
    centering that does not converge in 200 Newton steps, or whose Newton decrement vanishes where the gradient
    does not (a Hessian singular along a direction of decrease, as on an unbounded QP), ends the run with
    ``"numerical error"`` (status 4), and so does a phase I that fails (its subproblem has no minimizer when the
    feasible set is unbounded) — never a false ``"optimal"``.

    Symbols ↔ arguments: Q, c, G, h, A, b as in :func:`qp_ipm`; x₀ = ``x0`` (strictly feasible: Gx₀ < h,
    Ax₀ = b, else ``ValueError``); t₀ = ``t0``; μ = ``mu`` (B&V's μ, the factor t grows by; not the IPM's
    μ); ε = ``tol``. ``history``: one entry per centering; ``history.nfev`` is the cumulative number of
    Newton steps (B&V Fig. 11.4's x-axis), ``history.gap`` the bound m/t. Reference: Boyd & Vandenberghe
    2004, §11.3 (Alg. 11.1), §11.4 (phase I), §10.2 (Newton with equality constraints).

    >>> import numpy as np      # min x₁ + x₂ s.t. x ≥ 0, x₁ + x₂ ≥ 1 (solutions: the segment); x*(t) is central
    >>> res = barrier(None, np.array([1.0, 2.0]), -np.eye(2), np.zeros(2), x0=np.array([1.0, 1.0]))
    >>> res.outcome, np.round(res.x, 6) + 0.0, res.central_path.shape[1]
    ('optimal', array([0., 0.]), 2)
    """
    d = _check_qp(Q, c, G, h, A, b)
    t0, mu = validate_positive("t0", t0), validate_positive("mu", mu)
    if not mu > 1:
        raise ValueError(f"mu must be > 1 (t grows by mu per outer iteration), got {mu!r}")
    tol, inner_tol = validate_positive("tol", tol), validate_positive("inner_tol", inner_tol)
    maxiter = validate_maxiter(maxiter)
    n, m = d.c.size, d.h.size
    if m == 0:
        raise ValueError("barrier needs at least one inequality Gx <= h (use a KKT solve for equality-only QPs)")
    keep, cert = _independent_rows(d.A, d.b)
    if cert is not None:
        return OptimizeResult(x=np.full(n, np.nan), fun=math.inf, success=False, status=PRIMAL_INFEASIBLE,
                              outcome=OUTCOMES[PRIMAL_INFEASIBLE], nit=0,
                              message="primal infeasible: the equalities Ax = b are inconsistent.")
    d = d._replace(A=d.A[keep], b=d.b[keep])
    phase1 = None
    if x0 is None:
        x = np.linalg.lstsq(d.A, d.b, rcond=None)[0] if d.b.size else np.zeros(n)
        s0 = float(np.max(d.G @ x - d.h))
        if s0 < 0:                                       # the least-norm solution is already strictly feasible
            x0 = x
        else:
            G1 = np.block([[d.G, -np.ones((m, 1))], [np.zeros((1, n)), -np.ones((1, 1))]])
            d1 = _QP(np.zeros((n + 1, n + 1)), np.r_[np.zeros(n), 1.0], G1, np.r_[d.h, 1.0],
                     np.hstack([d.A, np.zeros((d.b.size, 1))]), d.b)
            try:
                with np.errstate(all="ignore"):
                    xs1 = _barrier_path(d1, np.r_[x, max(s0, 0.0) + 1.0], t0=1.0, mu=mu, tol=1e-10,
                                        inner_tol=inner_tol, maxiter=maxiter, stop=lambda v: v[-1] < 0, phase1=True)
                ok = xs1[-1] == OPTIMAL and bool(np.all(np.isfinite(xs1[0])))
            except np.linalg.LinAlgError:
                ok = False
            if ok and xs1[0][-1] < 0 and d.b.size:
                ok = np.linalg.norm(d.A @ xs1[0][:n] - d.b) <= 1e-9 * (1 + np.linalg.norm(d.b))
            if not ok:
                return OptimizeResult(x=np.full(n, np.nan), fun=math.nan, success=False, status=NUMERICAL,
                                      outcome=OUTCOMES[NUMERICAL], nit=0,
                                      message="numerical error: phase I failed (its barrier subproblem has no "
                                              "minimizer when the feasible set is unbounded); pass a strictly "
                                              "feasible x0, or use qp_ipm, which also detects unboundedness.")
            phase1 = float(xs1[0][-1])
            if not phase1 < 0:
                return OptimizeResult(x=xs1[0][:n], fun=math.inf, success=False, status=PRIMAL_INFEASIBLE,
                                      outcome=OUTCOMES[PRIMAL_INFEASIBLE], nit=0, phase1=phase1,
                                      message=f"primal infeasible: phase I found min max(Gx - h) = {phase1:.3g} "
                                              f">= 0 (no strictly feasible point).")
            x0 = xs1[0][:n]
    x0 = np.asarray(x0, dtype=float)
    if x0.shape != (n,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a finite vector of shape ({n},), got shape {x0.shape}")
    if not np.all(d.G @ x0 < d.h):
        raise ValueError("x0 must be strictly feasible: G @ x0 < h componentwise "
                         f"(max(G x0 - h) = {float(np.max(d.G @ x0 - d.h)):.3g}); omit x0 to run a phase I")
    if d.b.size and np.linalg.norm(d.A @ x0 - d.b) > 1e-9 * (1 + np.linalg.norm(d.b)):
        raise ValueError("x0 must satisfy A @ x0 = b")
    try:
        x, lam, nu, xs, ts, rows, k, status = _barrier_path(d, x0, t0=t0, mu=mu, tol=tol, inner_tol=inner_tol,
                                                            maxiter=maxiter)
    except np.linalg.LinAlgError:                         # the Newton system became singular: x ran off to ∞
        return OptimizeResult(x=np.full(n, np.nan), fun=math.nan, success=False, status=NUMERICAL,
                              outcome=OUTCOMES[NUMERICAL], nit=0, phase1=phase1,
                              message="numerical error: a centering's Newton system became singular, so x(t) "
                                      "was not found and m/t bounds nothing; t·f0 + barrier may be unbounded "
                                      "below (is the problem unbounded? qp_ipm detects it).")
    cols = [np.array(col, dtype=float) for col in zip(*rows)]
    nan = np.full(len(rows), np.nan)
    hist = IPMHistory(fun=cols[0], grad_norm=cols[1], step=nan, nfev=cols[3].astype(int),
                      njev=np.zeros(len(rows), int), time=cols[4], x=np.array(xs) if n <= 100 else None,
                      primal=cols[5], dual=cols[6], gap=cols[7], mu=cols[8], alpha=nan, sigma=nan, tau=nan,
                      kappa=nan)
    nu_full = np.zeros(0 if A is None else np.shape(A)[0])
    nu_full[keep] = nu
    msg = {OPTIMAL: "optimal: duality-gap bound m/t below tol.",
           MAX_ITER: "max_iter: maximum number of outer iterations has been exceeded.",
           NUMERICAL: f"numerical error: centering at t = {ts[-1]:.3g} did not converge (in {_CENTERING_MAXITER} "
                      "Newton steps; or its Newton decrement vanished where the gradient does not), so x(t) is not "
                      "on the central path and m/t bounds nothing; t·f0 + barrier may be unbounded below (is the "
                      "problem unbounded? qp_ipm detects it)."}[status]
    return OptimizeResult(x=x, fun=float(cols[0][-1]), lam=lam, nu=nu_full, nit=k, nfev=int(cols[3][-1]),
                          success=status == OPTIMAL, status=status, outcome=OUTCOMES[status], message=msg,
                          history=hist, central_path=np.array(xs), t=np.array(ts), phase1=phase1)


# ------------------------------------------------------------------------------------------------ generators
def random_lp(m, n, *, seed=0, degenerate=None):
    """A random feasible, bounded standard-form LP  min cᵀx s.t. Ax = b, x ≥ 0  with a known optimum.

    A ~ N(0, 1) (m × n, m < n); x* has m positive entries (a basis), s* = c − Aᵀy* is positive off it, so
    (x*, y*, s*) satisfy the KKT conditions with strict complementarity: the primal and dual solutions are
    unique (nondegenerate). ``degenerate="primal"``: only m − 2 entries of x* are positive (a degenerate
    vertex: the dual solution is not unique); ``"dual"``: s* vanishes on two more indices outside the
    support of x* (an optimal face: the primal solution is not unique). Returns a dict with ``c, A, b,
    x_star, y_star, s_star, f_star`` (x_star, y_star: *an* optimal pair; f_star is exact)."""
    if not (isinstance(m, (int, np.integer)) and isinstance(n, (int, np.integer)) and 2 < m + 2 <= n + 2
            and m < n):
        raise ValueError(f"need integers 1 <= m < n, got m={m!r}, n={n!r}")
    if degenerate not in (None, "primal", "dual"):
        raise ValueError(f"degenerate must be None, 'primal' or 'dual', got {degenerate!r}")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    perm = rng.permutation(n)
    k = m - 2 if degenerate == "primal" else m
    k = max(k, 0)
    x = np.zeros(n)
    x[perm[:k]] = rng.uniform(0.5, 2.0, k)
    s = np.zeros(n)
    off = perm[m:] if degenerate != "dual" else perm[m + 2:]
    s[off] = rng.uniform(0.5, 2.0, off.size)
    y = rng.standard_normal(m)
    c = A.T @ y + s
    b = A @ x
    return {"c": c, "A": A, "b": b, "x_star": x, "y_star": y, "s_star": s, "f_star": float(c @ x)}


def random_qp(n, m_ineq, p_eq=0, *, seed=0, rank=None, active=None):
    """A random feasible, bounded convex QP  min ½xᵀQx + cᵀx s.t. Gx ≤ h, Ax = b  with a known KKT point.

    Q = MᵀM with M of shape (rank, n) (default rank n: Q ≻ 0, unique x*; rank < n: PSD singular); x*, ν* ~ N(0, 1);
    ``active`` constraints (default m_ineq // 2) hold with λ*ᵢ > 0, the others with slack z*ᵢ > 0 (strict
    complementarity); h = Gx* + z*, b = Ax*, c = −(Qx* + Gᵀλ* + Aᵀν*). Returns a dict ``Q, c, G, h, A, b,
    x_star, lam_star, nu_star, f_star``."""
    rng = np.random.default_rng(seed)
    rank = n if rank is None else int(rank)
    active = m_ineq // 2 if active is None else int(active)
    if not (0 <= active <= m_ineq and p_eq >= 0 and 0 <= rank <= n):
        raise ValueError(f"need 0 <= active <= m_ineq, p_eq >= 0, 0 <= rank <= n; got active={active}, "
                         f"m_ineq={m_ineq}, p_eq={p_eq}, rank={rank}, n={n}")
    M = rng.standard_normal((rank, n)) / math.sqrt(n)
    Q = M.T @ M
    G = rng.standard_normal((m_ineq, n))
    A = rng.standard_normal((p_eq, n))
    x = rng.standard_normal(n)
    lam, z = np.zeros(m_ineq), np.zeros(m_ineq)
    idx = rng.permutation(m_ineq)
    lam[idx[:active]] = rng.uniform(0.5, 2.0, active)
    z[idx[active:]] = rng.uniform(0.5, 2.0, m_ineq - active)
    nu = rng.standard_normal(p_eq)
    h, b = G @ x + z, A @ x
    c = -(Q @ x + G.T @ lam + A.T @ nu)
    return {"Q": Q, "c": c, "G": G, "h": h, "A": A, "b": b, "x_star": x, "lam_star": lam, "nu_star": nu,
            "f_star": float(0.5 * x @ Q @ x + c @ x)}


def infeasible_lp(m, n, *, seed=0):
    """A standard-form LP with Ax = b, x ≥ 0 infeasible by construction: a Farkas vector y has Aᵀy ≥ 0 and
    bᵀy = −1 (so yᵀAx ≥ 0 > yᵀb for every x ≥ 0). Returns ``c, A, b, y_farkas``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    y = rng.standard_normal(m)
    w = rng.uniform(0.0, 1.0, n)
    A = A + np.outer(y, w - A.T @ y) / (y @ y)            # now Aᵀy = w ≥ 0
    b = rng.standard_normal(m)
    b = b - y * (b @ y + 1.0) / (y @ y)                   # bᵀy = −1
    return {"c": rng.standard_normal(n), "A": A, "b": b, "y_farkas": y}


def unbounded_lp(m, n, *, seed=0):
    """A feasible standard-form LP unbounded below: x₀ > 0 is feasible and the ray x₀ + t·d (d ≥ 0, Ad = 0,
    cᵀd = −1) stays feasible with cᵀx → −∞. Returns ``c, A, b, d``."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.5, 1.5, n)
    A = rng.standard_normal((m, n))
    A = A - np.outer(A @ d, d) / (d @ d)                  # Ad = 0
    b = A @ rng.uniform(0.5, 1.5, n)
    c = rng.standard_normal(n)
    c = c - d * (c @ d + 1.0) / (d @ d)                   # cᵀd = −1
    return {"c": c, "A": A, "b": b, "d": d}


def infeasible_qp(n, m_ineq, *, seed=0):
    """A QP whose inequalities Gx ≤ h are infeasible: λ ≥ 0 (λ ≠ 0) with Gᵀλ = 0 and hᵀλ = −1. Q ≻ 0.
    Returns ``Q, c, G, h, lam_farkas``."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.5, 1.5, m_ineq)
    G = rng.standard_normal((m_ineq, n))
    G = G - np.outer(lam, lam @ G) / (lam @ lam)          # Gᵀλ = 0
    h = rng.standard_normal(m_ineq)
    h = h - lam * (h @ lam + 1.0) / (lam @ lam)           # hᵀλ = −1
    M = rng.standard_normal((n, n)) / math.sqrt(n)
    return {"Q": M.T @ M + 0.1 * np.eye(n), "c": rng.standard_normal(n), "G": G, "h": h, "lam_farkas": lam}


def unbounded_qp(n, m_ineq, *, seed=0):
    """A feasible convex QP unbounded below: Q = MᵀM with Md = 0, Gd ≤ 0, cᵀd = −1 along a direction d, and
    x = 0 feasible (h > 0). Returns ``Q, c, G, h, d``."""
    rng = np.random.default_rng(seed)
    d = rng.standard_normal(n)
    M = rng.standard_normal((n - 1, n)) / math.sqrt(n)
    M = M - np.outer(M @ d, d) / (d @ d)                  # Qd = 0
    G = rng.standard_normal((m_ineq, n))
    G = G - np.outer(np.maximum(G @ d, 0.0) + 0.1, d) / (d @ d)     # Gd ≤ −0.1 < 0
    c = rng.standard_normal(n)
    c = c - d * (c @ d + 1.0) / (d @ d)
    return {"Q": M.T @ M, "c": c, "G": G, "h": rng.uniform(0.5, 1.5, m_ineq), "d": d}
