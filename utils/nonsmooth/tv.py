"""Total variation: the discrete gradient and divergence, TV, the ROF model, its dual, and three solvers.

Images are 2-D arrays u of shape (M, N). The discrete gradient uses forward differences with a Neumann
boundary (the difference across the last row/column is 0), ∇u ∈ ℝ^{2×M×N}, and div = −∇ᵀ (Chambolle 2004,
§2). ‖∇‖² ≤ 8. TV(u) = Σ_ij |(∇u)_ij|₂ (isotropic) or Σ_ij |(∇u)_ij|₁ (anisotropic). The ROF model and its
dual (Chambolle 2004, eq. 8; Beck & Teboulle 2009b, Prop. 4.1, in our scaling):

    P(u) = ½‖u − f‖² + λ TV(u),     D(p) = ½‖f‖² − ½‖f + div p‖²,   p ∈ 𝒫_λ,

where 𝒫_λ = {p : |p_ij|₂ ≤ λ} (isotropic) or {p : |p_{c,ij}| ≤ λ} (anisotropic); u(p) = f + div p, and the
duality gap P(u) − D(p) ≥ 0 certifies both. This is lecture.md §8's convention: p lies in the λ-balls 𝒫_λ
and u = f + div p, so −D has an L-Lipschitz gradient with L = ‖∇‖² ≤ 8 (in the unit-ball variable p/λ it
would be 8λ²). Here f is the noisy image (u_noisy in the lecture). Functions use the array namespace of their
argument, so they run on NumPy and on JAX arrays.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import validate_nonnegative, validate_positive
from .primal_dual import chambolle_pock
from ..core.problems import xp
from .splitting import admm, run_splitting

__all__ = ["gradient", "divergence", "GRAD_NORM_SQ_BOUND", "tv", "rof_objective", "rof_dual", "rof_gap",
           "project_dual_ball", "shrink", "rof_chambolle_pock", "rof_admm", "rof_fista_dual", "FGPState",
           "fgp_step", "psnr"]

GRAD_NORM_SQ_BOUND = 8.0   # ‖∇‖² ≤ 8 (Chambolle 2004, Thm. 3.1); the true value is 8 − O(1/M² + 1/N²)


def gradient(u):
    """∇u, shape (2, M, N): (u_{i+1,j} − u_ij, u_{i,j+1} − u_ij), 0 across the last row / column (Neumann)."""
    ns = xp(u)
    gi = ns.concatenate([u[1:] - u[:-1], ns.zeros_like(u[:1])], axis=0)
    gj = ns.concatenate([u[:, 1:] - u[:, :-1], ns.zeros_like(u[:, :1])], axis=1)
    return ns.stack([gi, gj])


def divergence(p):
    """div p = −∇ᵀp, so ⟨∇u, p⟩ = −⟨u, div p⟩ for every u and p (the last row/column of p is ignored)."""
    ns = xp(p)
    qi = ns.concatenate([p[0, :-1], ns.zeros_like(p[0, :1])], axis=0)
    qj = ns.concatenate([p[1, :, :-1], ns.zeros_like(p[1, :, :1])], axis=1)
    di = ns.concatenate([qi[:1], qi[1:] - qi[:-1]], axis=0)
    dj = ns.concatenate([qj[:, :1], qj[:, 1:] - qj[:, :-1]], axis=1)
    return di + dj


def _pixel_norm(p, iso):
    ns = xp(p)
    return ns.sqrt(p[0] ** 2 + p[1] ** 2) if iso else ns.abs(p)


def tv(u, iso=True):
    """TV(u) = Σ_ij |(∇u)_ij|₂ (``iso=True``) or Σ_ij (|(∇u)⁰_ij| + |(∇u)¹_ij|) (anisotropic)."""
    return xp(u).sum(_pixel_norm(gradient(u), iso))


def rof_objective(u, f, lam, iso=True):
    """P(u) = ½‖u − f‖² + λ TV(u)."""
    return 0.5 * xp(u).sum((u - f) ** 2) + lam * tv(u, iso)


def rof_dual(p, f):
    """D(p) = ½‖f‖² − ½‖f + div p‖² (a lower bound on min P when p ∈ 𝒫_λ)."""
    v = f + divergence(p)
    return 0.5 * xp(f).sum(f * f) - 0.5 * xp(f).sum(v * v)


def rof_gap(u, p, f, lam, iso=True):
    """Duality gap P(u) − D(p) ≥ 0 for p ∈ 𝒫_λ: it bounds P(u) − P⋆ and D⋆ − D(p)."""
    return rof_objective(u, f, lam, iso) - rof_dual(p, f)


def project_dual_ball(p, lam, iso=True):
    """Euclidean projection onto 𝒫_λ: p_ij / max(1, |p_ij|₂/λ) (isotropic) or clip(p, −λ, λ) (anisotropic)."""
    ns = xp(p)
    if iso:
        return p / ns.maximum(1.0, _pixel_norm(p, True) / lam)
    return ns.clip(p, -lam, lam)


def shrink(q, t, iso=True):
    """prox_{t‖·‖}(q) for the TV norm ‖q‖ = Σ_ij |q_ij|₂ (or |·|₁): by Moreau, q − Π_{𝒫_t}(q)."""
    return q - project_dual_ball(q, t, iso)


def _check(f, lam):
    f = np.asarray(f, dtype=float)
    if f.ndim != 2 or min(f.shape) < 2 or not np.all(np.isfinite(f)):
        raise ValueError(f"f must be a finite 2-D image of at least 2×2 pixels, got shape {f.shape}")
    return f, validate_nonnegative("lam", lam)


def _finish(res, u, p, f, lam, iso):
    res.update(x=np.asarray(u), p=np.asarray(p), fun=float(rof_objective(u, f, lam, iso)), gap=res.monitor)
    return res


def rof_chambolle_pock(f, lam, *, iso=True, tau=None, sigma=None, theta=1.0, accelerate=False, gap_tol=1e-6,
                       maxiter=1000, callback=None):
    r"""ROF denoising by Chambolle–Pock (:func:`utils.primal_dual.chambolle_pock`) with K = ∇,
    f(u) = ½‖u − f‖² (prox_{τf}(v) = (v + τf)/(1 + τ)), g = λ‖·‖ (prox_{σg*} = Π_{𝒫_λ}); stops when the
    duality gap P(u_k) − D(y_k) ≤ ``gap_tol``. Default steps τ = σ = 0.99/√8, so τσ‖∇‖² < 1
    (Chambolle & Pock 2011, Alg. 1, §6.2.1). ``accelerate=True``: Alg. 2 with γ = 1 (the data term is
    1-strongly convex), from the same τ₀ = σ₀ = 0.99/√8. Returns x (the image u),
    p (= y), fun, gap per iteration.

    >>> import numpy as np
    >>> f = np.array([[0.0, 0.0], [0.0, 1.0]])
    >>> round(float(rof_chambolle_pock(f, 0.1, gap_tol=1e-12).x[1, 1]), 6)   
    0.8
    """
    f, lam = _check(f, lam)
    tau = 0.99 / np.sqrt(GRAD_NORM_SQ_BOUND) if tau is None else tau
    sigma = 0.99 / (GRAD_NORM_SQ_BOUND * tau) if sigma is None else sigma
    res = chambolle_pock(lambda v, t: (v + t * f) / (1.0 + t), lambda q, s: project_dual_ball(q, lam, iso),
                         gradient, lambda q: -divergence(q), f.copy(), np.zeros((2, *f.shape)), tau=tau,
                         sigma=sigma, theta=theta, gamma=1.0 if accelerate else None,
                         K_norm=np.sqrt(GRAD_NORM_SQ_BOUND),
                         objective=lambda u: rof_objective(u, f, lam, iso), eps_abs=0.0, maxiter=maxiter,
                         callback=callback, record_x=False, monitor=lambda s: rof_gap(s.x, s.y, f, lam, iso),
                         monitor_tol=gap_tol)
    return _finish(res, res.x, res.y, f, lam, iso)


def _dct_solver(shape):
    """(I − ρΔ)⁻¹ with the Neumann Laplacian Δ = div∘∇, diagonal in the orthonormal DCT-II basis with
    eigenvalues −(4 sin²(πk/2M) + 4 sin²(πl/2N))."""
    from scipy.fft import dctn, idctn

    M, N = shape
    lap = 4 * np.sin(np.pi * np.arange(M) / (2 * M))[:, None] ** 2 + 4 * np.sin(np.pi * np.arange(N) / (2 * N)) ** 2
    return lambda rhs, rho: idctn(dctn(rhs, norm="ortho") / (1.0 + rho * lap), norm="ortho")


def rof_admm(f, lam, *, iso=True, rho=2.0, balance=False, gap_tol=1e-6, maxiter=1000, callback=None):
    r"""ROF denoising by ADMM (:func:`utils.splitting.admm`) on  ½‖u − f‖² + λ‖z‖  s.t. ∇u − z = 0:

    .. math:: u_{k+1} = (I - \rho\Delta)^{-1}(f - \rho\,\mathrm{div}(z_k - w_k)), \quad
              z_{k+1} = \mathrm{shrink}_{\lambda/\rho}(\nabla u_{k+1} + w_k), \quad
              w_{k+1} = w_k + \nabla u_{k+1} - z_{k+1}

    (w is the scaled dual, u in :func:`utils.splitting.admm`; the u-solve is exact by the DCT, Δ = div∘∇
    with Neumann boundary). The dual point p = ρw lies in 𝒫_λ, so the run stops on the duality gap
    P(u_k) − D(ρ_k w_k) ≤ ``gap_tol``. Goldstein & Osher's split Bregman method (2009) is this iteration.

    >>> import numpy as np
    >>> f = np.array([[0.0, 0.0], [0.0, 1.0]])
    >>> round(float(rof_admm(f, 0.1, gap_tol=1e-12).x[1, 1]), 6)
    0.8
    """
    f, lam = _check(f, lam)
    rho = validate_positive("rho", rho)
    solve = _dct_solver(f.shape)
    res = admm(lambda z, w, r: solve(f - r * divergence(z - w), r),
               lambda u, w, r: shrink(gradient(u) + w, lam / r, iso),
               f.copy(), gradient(f), A=(gradient, lambda q: -divergence(q)), B=-1.0, c=0.0, rho=rho, eps_abs=0.0,
               eps_rel=0.0, maxiter=maxiter, balance=balance, callback=callback, record_x=False,
               objective=lambda u, z: rof_objective(u, f, lam, iso),
               monitor=lambda s: rof_gap(s.x, s.rho * s.u, f, lam, iso), monitor_tol=gap_tol)
    return _finish(res, res.x, res.y, f, lam, iso)


class FGPState(NamedTuple):
    """FISTA on the ROF dual: p_k (in the field ``x``), the extrapolated point q_k, t_k."""

    x: Any; q: Any; t: Any; k: Any                         # noqa: E702
    r_norm: Any; s_norm: Any; eps_pri: Any; eps_dual: Any  # noqa: E702  (only the gap stops the run)


def fgp_step(s: FGPState, f, lam, iso):
    """p_{k+1} = Π_{𝒫_λ}(q_k + ⅛∇(f + div q_k)); t_{k+1} = (1 + √(1 + 4t_k²))/2;
    q_{k+1} = p_{k+1} + ((t_k − 1)/t_{k+1})(p_{k+1} − p_k), from q₀ = p₀, t₀ = 1 (the course's one FISTA
    indexing, week 1 lecture, §0). Pure; NumPy or JAX arrays."""
    p = project_dual_ball(s.q + gradient(f + divergence(s.q)) / GRAD_NORM_SQ_BOUND, lam, iso)
    t = (1.0 + xp(p).sqrt(1.0 + 4.0 * s.t ** 2)) / 2.0
    q = p + ((s.t - 1.0) / t) * (p - s.x)
    step = xp(p).sqrt(xp(p).sum((p - s.x) ** 2))
    return FGPState(p, q, t, s.k + 1, step * GRAD_NORM_SQ_BOUND, 0.0 * step, -1.0 + 0.0 * step, 0.0 * step)


def rof_fista_dual(f, lam, *, iso=True, gap_tol=1e-6, maxiter=1000, callback=None):
    r"""ROF denoising by FISTA on the dual, the FGP algorithm (Beck & Teboulle 2009, *Fast gradient-based
    algorithms for constrained total variation image denoising and deblurring problems*, IEEE TIP 18(11),
    Alg. FGP): minimize h(p) = ½‖f + div p‖² over p ∈ 𝒫_λ, ∇h(p) = −∇(f + div p), L = ‖∇‖² ≤ 8,

    .. math:: p_{k+1} = \Pi_{\mathcal P_\lambda}\big(q_k + \tfrac18 \nabla(f + \mathrm{div}\, q_k)\big),\quad
              t_{k+1} = \tfrac{1 + \sqrt{1 + 4t_k^2}}{2},\quad
              q_{k+1} = p_{k+1} + \tfrac{t_k - 1}{t_{k+1}}(p_{k+1} - p_k),

    with q₀ = p₀ = 0 and t₀ = 1 (the course's one FISTA indexing, week 1 lecture, §0; Beck & Teboulle's r_k, t_k,
    from r₁ = p₀ and t₁ = 1, are our q_{k−1}, t_{k−1}; p_k is the same in both), and u_k = f + div p_k. (Their pair (p, q) is our (p[0], p[1]) divided by −λ: they use unit balls, the model
    ‖x − f‖² + 2λ TV(x) (twice ours) and the dual without the factor ½, so their Lipschitz constant is 16λ² and
    their update reads p + (1/(8λ))·(…); in our variable p ∈ 𝒫_λ it is the step 1/8 = 1/L, L = ‖∇‖² ≤ 8.)
    D(p_k) − D⋆ = O(1/k²). Stops when the duality gap P(u_k) − D(p_k) ≤ ``gap_tol``.

    >>> import numpy as np
    >>> f = np.array([[0.0, 0.0], [0.0, 1.0]])
    >>> round(float(rof_fista_dual(f, 0.1, gap_tol=1e-12).x[1, 1]), 6)
    0.8
    """
    f, lam = _check(f, lam)
    z = np.zeros((2, *f.shape))
    nan = float("nan")
    res = run_splitting(lambda s: fgp_step(s, f, lam, iso), FGPState(z, z, 1.0, 0, nan, nan, nan, nan),
                        objective=lambda s: rof_objective(f + divergence(s.x), f, lam, iso),
                        monitor=lambda s: rof_gap(f + divergence(s.x), s.x, f, lam, iso), monitor_tol=gap_tol,
                        maxiter=maxiter, callback=callback, record_x=False)
    p = res.pop("state").x
    return _finish(res, f + divergence(p), p, f, lam, iso)


def psnr(u, ref, data_range=1.0):
    """Peak signal-to-noise ratio 10 log₁₀(R²/MSE) in dB, R = ``data_range`` (1 for images in [0, 1])."""
    mse = float(np.mean((np.asarray(u, float) - np.asarray(ref, float)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range ** 2 / mse)
