r"""Proximal operators and Euclidean projections, written once for NumPy and for ``jax.jit``.

Naming convention (used by every proximal and splitting method in the course):

* ``prox_<name>(v, eta, *params)`` = prox_{ηg}(v) = argmin_x g(x) + (1/2η)‖x − v‖², the weight of ``g``
  (λ = ``lam``, …) inside ``params``; η = ``eta`` > 0 is the step size.
* ``project_<set>(v, *params)`` = Π_C(v) = argmin_{x ∈ C} ‖x − v‖² = prox_{ηι_C}(v) for every η.

Every function uses array operators and the namespace of its argument (:func:`utils.problems.xp`), so it runs
eagerly on NumPy arrays and traced under ``jax.jit``. Concrete (non-traced) parameters are checked: a negative
weight, a non-positive η or radius raise ``ValueError`` naming the argument. The optimality condition behind
every prox is (v − x)/η ∈ ∂g(x) at x = prox_{ηg}(v) (Beck, *First-Order Methods in Optimization*, 2017,
Thm. 6.39); the table of closed forms is Beck 2017, §6.3–6.4 and Parikh & Boyd, *Proximal Algorithms*, 2014, §6.
"""
from __future__ import annotations

import numpy as np

from ..core.problems import xp

__all__ = ["prox_l1", "prox_l2", "prox_sq_l2", "prox_elastic_net", "prox_group_l2", "prox_nuclear",
           "prox_conjugate", "project_box", "project_nonneg", "project_simplex", "project_l1_ball",
           "project_l2_ball", "project_linf_ball"]


def _concrete(value) -> bool:
    return isinstance(value, (int, float, np.number, np.ndarray, list, tuple))


def _check(name, value, positive):
    """Validate a concrete scalar/array parameter; JAX tracers pass through unchecked (inside ``jit``)."""
    if isinstance(value, (bool, str)) or value is None:
        raise ValueError(f"{name} must be a {'positive' if positive else 'non-negative'} number, got {value!r}")
    if _concrete(value):
        a = np.asarray(value, dtype=float)
        if not (np.all(np.isfinite(a)) and np.all(a > 0 if positive else a >= 0)):
            raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'} and finite, got {value!r}")
    return value


def _soft(v, t):
    """Soft thresholding S_t(v) = sign(v) max(|v| − t, 0)."""
    ns = xp(v)
    return ns.sign(v) * ns.maximum(ns.abs(v) - t, 0.0)


def _shrink(v, norm, t):
    """max(1 − t/‖v‖, 0) v, with 0 at ‖v‖ = 0 (no division by zero, also under ``jit``)."""
    ns = xp(v)
    big = norm > t
    return ns.where(big, 1.0 - t / ns.where(big, norm, 1.0), 0.0) * v


# ----------------------------------------------------------------------------------------------- norms
def prox_l1(v, eta, lam):
    r"""Soft thresholding: prox of g(x) = λ‖x‖₁, x_i = sign(v_i) max(|v_i| − ηλ, 0) (Beck 2017, Ex. 6.8).

    >>> prox_l1(np.array([3.0, -0.5]), 1.0, 1.0)
    array([ 2., -0.])
    """
    _check("eta", eta, True), _check("lam", lam, False)
    return _soft(v, eta * lam)


def prox_l2(v, eta, lam):
    r"""Block soft thresholding: prox of g(x) = λ‖x‖₂, x = max(1 − ηλ/‖v‖₂, 0) v (Beck 2017, Ex. 6.19).

    >>> prox_l2(np.array([3.0, 4.0]), 1.0, 1.0)
    array([2.4, 3.2])
    """
    _check("eta", eta, True), _check("lam", lam, False)
    return _shrink(v, xp(v).linalg.norm(v), eta * lam)


def prox_sq_l2(v, eta, lam):
    r"""prox of g(x) = (λ/2)‖x‖², x = v/(1 + ηλ) (Beck 2017, Sec. 6.2.3).

    >>> prox_sq_l2(np.array([2.0, -4.0]), 1.0, 1.0)
    array([ 1., -2.])
    """
    _check("eta", eta, True), _check("lam", lam, False)
    return v / (1.0 + eta * lam)


def prox_elastic_net(v, eta, lam1, lam2):
    r"""prox of g(x) = λ₁‖x‖₁ + (λ₂/2)‖x‖², x = S_{ηλ₁}(v)/(1 + ηλ₂) (Parikh & Boyd 2014, §6.5.3).

    >>> prox_elastic_net(np.array([3.0, -0.5]), 1.0, 1.0, 1.0)
    array([ 1., -0.])
    """
    _check("eta", eta, True), _check("lam1", lam1, False), _check("lam2", lam2, False)
    return _soft(v, eta * lam1) / (1.0 + eta * lam2)


def prox_group_l2(v, eta, lam, groups):
    r"""Group soft thresholding: prox of g(x) = Σ_G λ_G ‖x_G‖₂ over disjoint groups G (group lasso),
    x_G = max(1 − ηλ_G/‖v_G‖₂, 0) v_G (Beck 2017, Ex. 6.20; Yuan & Lin 2006).

    ``groups``: an integer label array of the same length as ``v``, with labels 0, …, G−1 (every label
    used); coordinate i belongs to group ``groups[i]``. ``lam``: one weight for all groups, or an array of G
    weights (the classic choice λ√|G|). The labels must be concrete (NumPy), ``v`` may be traced.

    >>> prox_group_l2(np.array([3.0, 4.0, 0.1]), 1.0, 1.0, np.array([0, 0, 1]))
    array([2.4, 3.2, 0. ])
    """
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.shape != np.shape(v) or not np.issubdtype(labels.dtype, np.integer) \
            or labels.min(initial=0) < 0 or np.unique(labels).size != labels.max(initial=-1) + 1:
        raise ValueError(f"groups must be integer labels 0..G-1 (all used), one per coordinate of v; got {groups!r}")
    _check("eta", eta, True), _check("lam", lam, False)
    ns = xp(v)
    onehot = (labels[None, :] == np.arange(labels.max() + 1)[:, None]).astype(float)    # (G, n)
    norms = ns.sqrt(onehot @ (v * v))
    return _shrink(v, norms[labels], (eta * lam * ns.ones(norms.shape))[labels])


def prox_nuclear(V, eta, lam):
    r"""Singular-value thresholding: prox of g(X) = λ‖X‖_* (nuclear norm) for a matrix V = U diag(σ) Wᵀ,
    X = U diag(max(σ − ηλ, 0)) Wᵀ (Cai, Candès & Shen 2010, Thm. 2.1; Beck 2017, Ex. 7.31).

    >>> prox_nuclear(np.diag([3.0, 0.5]), 1.0, 1.0)
    array([[2., 0.],
           [0., 0.]])
    """
    _check("eta", eta, True), _check("lam", lam, False)
    ns = xp(V)
    U, s, Wt = ns.linalg.svd(V, full_matrices=False)
    return (U * ns.maximum(s - eta * lam, 0.0)) @ Wt


def prox_conjugate(prox_g, v, eta):
    r"""prox of the convex conjugate g* by the extended Moreau decomposition (Beck 2017, Thm. 6.45):

    .. math::  \mathrm{prox}_{\eta g^*}(v) = v - \eta\,\mathrm{prox}_{g/\eta}(v/\eta)

    ``prox_g(w, t)`` must return prox_{tg}(w) (for instance ``lambda w, t: prox_l1(w, t, lam)``); it is
    called once, as ``prox_g(v / eta, 1 / eta)``. Example: g = λ‖·‖₁ has g* = ι_{‖·‖∞ ≤ λ}, so the result is
    the projection onto the ℓ∞ ball of radius λ:

    >>> prox_conjugate(lambda w, t: prox_l1(w, t, 1.0), np.array([3.0, -0.5]), 2.0)
    array([ 1. , -0.5])
    """
    _check("eta", eta, True)
    return v - eta * prox_g(v / eta, 1.0 / eta)


# ------------------------------------------------------------------------------------------ projections
def project_box(v, lo, hi):
    r"""Π onto the box {x : lo ≤ x ≤ hi} (bounds scalars or arrays), x = min(max(v, lo), hi)
    (optax ``projection_box``).

    >>> project_box(np.array([2.0, -3.0]), -1.0, 1.0)
    array([ 1., -1.])
    """
    if _concrete(lo) and _concrete(hi) and np.any(np.asarray(lo, dtype=float) > np.asarray(hi, dtype=float)):
        raise ValueError(f"need lo <= hi, got lo={lo!r}, hi={hi!r}")
    ns = xp(v)
    return ns.minimum(ns.maximum(v, lo), hi)


def project_nonneg(v):
    r"""Π onto the non-negative orthant, x = max(v, 0) (optax ``projection_non_negative``).

    >>> project_nonneg(np.array([2.0, -3.0]))
    array([2., 0.])
    """
    return xp(v).maximum(v, 0.0)


def project_simplex(v, s=1.0):
    r"""Π onto the simplex Δ_s = {x ≥ 0 : Σ x_i = s}, by sorting (Held et al. 1974; Duchi et al. 2008, Alg. 1;
    Condat 2016): with u = v sorted in decreasing order, ρ = max{j : u_j − (Σ_{i≤j} u_i − s)/j > 0} and
    θ = (Σ_{i≤ρ} u_i − s)/ρ, x = max(v − θ, 0). O(n log n). optax ``projection_simplex(v, scale=s)``.

    >>> project_simplex(np.array([1.0, 0.4]))
    array([0.8, 0.2])
    """
    _check("s", s, True)
    ns = xp(v)
    u = ns.sort(v)[::-1]
    css = ns.cumsum(u) - s
    j = ns.arange(1, v.shape[0] + 1)
    rho = ns.sum(u - css / j > 0)                       # ≥ 1 always: u₁ − (u₁ − s) = s > 0
    theta = css[rho - 1] / rho
    return ns.maximum(v - theta, 0.0)


def project_l1_ball(v, r=1.0):
    r"""Π onto the ℓ₁ ball {x : ‖x‖₁ ≤ r}: v itself if inside, else sign(v) Π_{Δ_r}(|v|) (Duchi et al. 2008,
    §4). optax ``projection_l1_ball(v, scale=r)``.

    >>> project_l1_ball(np.array([1.0, -0.4]), 1.0)
    array([ 0.8, -0.2])
    """
    _check("r", r, True)
    ns = xp(v)
    inside = ns.sum(ns.abs(v)) <= r
    return ns.where(inside, v, ns.sign(v) * project_simplex(ns.abs(v), r))


def project_l2_ball(v, r=1.0):
    r"""Π onto the ℓ₂ ball {x : ‖x‖₂ ≤ r}, x = v min(1, r/‖v‖₂) (optax ``projection_l2_ball(v, scale=r)``).

    >>> project_l2_ball(np.array([3.0, 4.0]), 1.0)
    array([0.6, 0.8])
    """
    _check("r", r, True)
    ns = xp(v)
    norm = ns.linalg.norm(v)
    return ns.where(norm > r, r / ns.where(norm > r, norm, 1.0), 1.0) * v


def project_linf_ball(v, r=1.0):
    r"""Π onto the ℓ∞ ball {x : ‖x‖∞ ≤ r}, x = clip(v, −r, r) (optax ``projection_linf_ball(v, scale=r)``).

    >>> project_linf_ball(np.array([3.0, -0.5]), 1.0)
    array([ 1. , -0.5])
    """
    _check("r", r, True)
    return project_box(v, -r, r)
