r"""Muon (week 6): momentum orthogonalized by a Newton–Schulz iteration, AdamW for the leaves that are not matrices.

Muon is steepest descent under the spectral norm: for a matrix gradient G = U Σ Vᵀ the step that decreases the
linear model ⟨G, ΔW⟩ most among ‖ΔW‖₂ ≤ η is ΔW = −η U Vᵀ, the orthogonal polar factor (:func:`polar`). An SVD
per step is too slow on accelerators, so Muon uses five steps of an odd quintic matrix polynomial
(:func:`newton_schulz`), which acts on each singular value σ of X₀ = G/‖G‖_F separately:

.. math::  X_{j+1} = a X_j + b (X_jX_j^\top) X_j + c (X_jX_j^\top)^2 X_j
           \quad\Longleftrightarrow\quad \sigma_{j+1} = p(\sigma_j) = a\sigma_j + b\sigma_j^3 + c\sigma_j^5.

Keller Jordan's coefficients (a, b, c) = (3.4445, −4.7750, 2.0315) maximize the slope a = p'(0) (a⁵ ≈ 485: small
singular values grow fast) at the price of not converging to 1: p has a local minimum p(σ₂) = 0.6818 at
σ₂ = 1.0501, and [p(σ₂), p(p(σ₂))] = [0.6818, 1.1344] is mapped into itself. Five steps take every σ ∈ [0.01, 1]
into this band, so the update is U S' Vᵀ with S' ≈ 0.68–1.13 instead of U Vᵀ; Jordan reports that this inexact
orthogonalization trains as well as the exact one, and ``tests/deep/test_muon.py`` measures the band. The classical
Newton–Schulz quintic (15/8, −10/8, 3/8) converges to U Vᵀ, but needs more steps from small σ.

``opt = muon(eta=0.02)`` is an :class:`utils.adaptive.Optimizer` (``init`` / ``step`` on any pytree of NumPy or
JAX leaves, pure, ``jit``-able); :func:`to_optax` makes it an ``optax.GradientTransformation``. References:
K. Jordan et al., "Muon: An optimizer for hidden layers in neural networks" (2024, kellerjordan.github.io/posts/muon);
Bernstein & Newhouse, "Old optimizer, new norm: an anthology" (2024, arXiv:2409.20325); J. Liu et al., "Muon is
scalable for LLM training" (Moonshot AI 2025, arXiv:2502.16982, §2.2: the 0.2·√max(A, B) RMS matching).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import numpy as np

from ..stochastic.adaptive import Optimizer, _at, _beta, _check_tree, _eta, _float, _nonneg, _pos, adamw, to_optax
from ..core.drivers import validate_int
from ..core.problems import xp

__all__ = ["newton_schulz", "polar", "MuonState", "muon", "to_optax", "NS_COEFFS"]

NS_COEFFS = (3.4445, -4.7750, 2.0315)
_SCALES = ("none", "sqrt_max_ratio", "rms_match")
_LAYOUTS = ("in_out", "out_in")
_BUFFERS = ("sum", "ema", "debiased")


def _coeffs(coeffs):
    try:
        a, b, c = (float(v) for v in coeffs)
    except (TypeError, ValueError):
        raise ValueError(f"coeffs must be three finite numbers (a, b, c), got {coeffs!r}") from None
    if not all(math.isfinite(v) for v in (a, b, c)):
        raise ValueError(f"coeffs must be three finite numbers (a, b, c), got {coeffs!r}")
    return a, b, c


def newton_schulz(G, steps=5, coeffs=NS_COEFFS, eps=1e-7, *, eps_clamp=False, dtype=None):
    r"""Approximate orthogonal polar factor of a matrix G by the quintic Newton–Schulz iteration:

    .. math::  X_0 = G/(\|G\|_F + \varepsilon)\ \ [\text{or } G/\max(\|G\|_F, \varepsilon)],\qquad
               A_j = X_jX_j^\top,\quad X_{j+1} = aX_j + (bA_j + cA_j^2)X_j,\quad j < \text{steps}.

    A tall G (m > n) is transposed first so that the Gram matrix A is the small n × n side, as torch and optax do
    (the polynomial commutes with transposition, so only the cost changes). Singular values map as
    σ ↦ p(σ) = aσ + bσ³ + cσ⁵ with the singular vectors kept. (a, b, c) = ``coeffs`` (torch ``ns_coefficients``,
    optax ``ns_coeffs``), steps = ``steps`` (both ``ns_steps``; 0 returns X₀), ε = ``eps`` (torch 1e-7 with
    ``eps_clamp=True``: ``norm().clamp(min=eps)``; optax 1e-8 added to the norm, ``eps_clamp=False``).
    ``dtype`` (e.g. ``jnp.bfloat16``) rounds X₀, the norm and the result of each fused product (A, bA + cA²,
    aX + (bA + cA²)X) to that precision, computing in G's: torch's kernel, which always stores in ``bfloat16``
    and accumulates each ``addmm`` in float32, is reproduced this way (it models the rounding, not the speed).

    >>> import numpy as np
    >>> O = newton_schulz(np.diag([3.0, 4.0]))          # σ/‖G‖_F = 0.6, 0.8 → p⁵(0.6), p⁵(0.8)
    >>> np.round(np.diag(O), 4).tolist()
    [0.7229, 1.1192]
    """
    steps, (a, b, c) = validate_int("steps", steps, 0), _coeffs(coeffs)
    eps = _nonneg("eps", eps)
    if np.ndim(G) != 2:
        raise ValueError(f"G must be a matrix (2-D), got shape {np.shape(G)}")
    ns = xp(G)
    r = (lambda Y: Y) if dtype is None else (lambda Y: Y.astype(dtype).astype(G.dtype))
    X = r(G.T if G.shape[0] > G.shape[1] else G)
    nrm = r(ns.sqrt(ns.sum(X * X)))
    X = r(X / (ns.maximum(nrm, eps) if eps_clamp else nrm + eps))
    for _ in range(steps):
        A = r(X @ X.T)
        X = r(a * X + r(b * A + c * (A @ A)) @ X)
    return X.T if G.shape[0] > G.shape[1] else X


def polar(G):
    """The exact orthogonal polar factor U Vᵀ of G = U Σ Vᵀ (thin SVD), the limit Newton–Schulz approximates and
    the spectral-norm steepest-descent direction; the reference for :func:`newton_schulz`.

    >>> import numpy as np
    >>> polar(np.array([[3.0, 0.0], [0.0, -4.0]])).round(12).tolist()
    [[1.0, 0.0], [0.0, -1.0]]
    """
    if np.ndim(G) != 2:
        raise ValueError(f"G must be a matrix (2-D), got shape {np.shape(G)}")
    U, _, Vt = xp(G).linalg.svd(G, full_matrices=False)
    return U @ Vt


class MuonState(NamedTuple):
    M: Any      # momentum buffers M_k of the orthogonalized leaves (a list, in the params' leaf order)
    adam: Any   # the fallback optimizer's state on the other leaves (a list of leaves); None without them
    k: Any      # steps taken


def muon(eta, beta=0.95, *, nesterov=True, ns_steps=5, coeffs=NS_COEFFS, eps=1e-7, eps_clamp=False,
         buffer="sum", weight_decay=0.0, scale="sqrt_max_ratio", layout="in_out", rms=0.2, adam="adamw",
         predicate=None, ns_dtype=None) -> Optimizer:
    r"""Muon (Jordan et al. 2024) on every matrix leaf, a fallback optimizer (AdamW) on the others:

    .. math::  M_{k+1} = \beta M_k + G_k,\quad D_k = G_k + \beta M_{k+1}\ \text{(Nesterov) or } M_{k+1},\quad
               O_k = \mathrm{NS}_5(D_k),\quad W_{k+1} = W_k - \eta_k\,(s\,O_k + \lambda W_k)

    with M₀ = 0 and NS the :func:`newton_schulz` iteration. η = ``eta`` (float or schedule; torch ``lr``, optax
    ``learning_rate``), β = ``beta`` (torch ``momentum``, optax ``beta``; 0.95), ``nesterov`` (both; True),
    ``ns_steps``, ``coeffs``, ε = ``eps`` and ``eps_clamp`` as in :func:`newton_schulz`, λ = ``weight_decay``
    (decoupled and multiplied by η, as torch's and optax's ``weight_decay``; torch default 0.1, optax 0).

    ``buffer`` is the momentum convention. NS divides by the norm, so the three give the same update up to ε:
    ``"sum"`` is the equation above (Jordan's first muon.py); ``"ema"`` is M ← βM + (1−β)G and
    D = (1−β)G + βM (torch ``Muon``, Jordan's current muon.py); ``"debiased"`` is optax's EMA with Adam's bias
    corrections, D = βM_{k+1}/(1−β^{k+2}) + (1−β)G_k/(1−β^{k+1}), which weights G_k and M_{k+1} differently in
    the first steps (without Nesterov D = M_{k+1}/(1−β^{k+1}), again equal up to ε).

    The shape factor s = ``scale``, with fan_in, fan_out read from the leaf in ``layout``: ``"in_out"`` (y = xW,
    JAX/flax/optax; an HWIO conv kernel flattens its leading axes to (kh·kw·c_in, c_out)) or ``"out_in"``
    (torch ``Linear``; an OIHW kernel flattens its trailing axes to (c_out, c_in·kh·kw), as Jordan's muon.py):

    - ``"sqrt_max_ratio"``: s = √max(1, fan_out/fan_in) (torch ``adjust_lr_fn="original"`` on (out, in) weights;
      optax's default on (in, out) weights, ``consistent_rms=None``: the two read the transposed shapes);
    - ``"rms_match"``: s = ``rms``·√max(fan_in, fan_out), rms = 0.2 (Liu et al. 2025: the update's RMS matches
      AdamW's, so AdamW's η and λ carry over; torch ``"match_rms_adamw"``, optax ``consistent_rms=0.2``);
    - ``"none"``: s = 1.

    Which leaves are orthogonalized: ``predicate(path, x)`` (path = ``jax.tree_util.keystr`` of the leaf's key
    path), default ``x.ndim ≥ 2`` (exclude embeddings and the output head by path, as Jordan does). The others go
    to ``adam``: ``"adamw"`` = :func:`utils.adaptive.adamw` (η, λ = 0: optax's ``adam_learning_rate=None``,
    ``adam_weight_decay=0``, but without optax's Nesterov term, which its ``nesterov`` also switches on there), any
    optimizer of :mod:`utils.adaptive`, or None (then a 0-/1-D leaf is an error). ``ns_dtype`` runs NS in another
    precision with the rounding of torch's kernel (``jnp.bfloat16``: torch always does). torch ``Muon`` accepts 2-D
    parameters only.

    >>> import numpy as np
    >>> opt = muon(eta=0.1, scale="none")
    >>> W = {"w": np.diag([3.0, 4.0]), "b": np.ones(2)}
    >>> W1, s = opt.step(W, W, opt.init(W))           # gradient of ½‖W‖²: O = NS(diag(3, 4)·(1 + β))
    >>> (np.diag(W["w"] - W1["w"]) / 0.1).round(4).tolist(), W1["b"].round(6).tolist()
    ([0.7229, 1.1192], [0.9, 0.9])
    """
    eta, beta, lam = _eta(eta), _beta("beta", beta), _nonneg("weight_decay", weight_decay)
    ns_steps, coeffs, eps = validate_int("ns_steps", ns_steps), _coeffs(coeffs), _nonneg("eps", eps)
    rms = _pos("rms", rms)
    for name, value, ok in (("scale", scale, _SCALES), ("layout", layout, _LAYOUTS), ("buffer", buffer, _BUFFERS)):
        if value not in ok:
            raise ValueError(f"{name} must be one of {ok}, got {value!r}")
    if nesterov and beta == 0.0:
        raise ValueError("nesterov=True needs a momentum beta > 0, got beta=0")
    if adam == "adamw":
        adam = adamw(eta, weight_decay=0.0)
    elif adam is not None and not isinstance(adam, Optimizer):
        raise ValueError(f"adam must be 'adamw', None or an Optimizer (from utils.adaptive), got {adam!r}")
    if predicate is not None and not callable(predicate):
        raise ValueError(f"predicate must be a callable (path, leaf) -> bool, got {predicate!r}")
    select = predicate or (lambda path, x: np.ndim(x) >= 2)

    def split(params):
        """Indices of the orthogonalized leaves and of the others (static: from paths and shapes)."""
        mat, other = [], []
        for i, (path, x) in enumerate(jax.tree_util.tree_flatten_with_path(params)[0]):
            p = jax.tree_util.keystr(path)
            if select(p, x):
                if np.ndim(x) < 2:
                    raise ValueError(f"params leaf {p} has shape {np.shape(x)}: predicate selected it, but "
                                     "Muon orthogonalizes matrices (ndim ≥ 2) only")
                mat.append(i)
            elif adam is None:
                raise ValueError(f"params leaf {p} has shape {np.shape(x)}, not orthogonalized, and adam=None "
                                 "gives no fallback: pass adam='adamw' or an Optimizer")
            else:
                other.append(i)
        return mat, other

    def fans(shape):
        if layout == "in_out":
            return math.prod(shape[:-1]), shape[-1]
        return math.prod(shape[1:]), shape[0]

    def factor(shape):
        fan_in, fan_out = fans(shape)
        if scale == "sqrt_max_ratio":
            return math.sqrt(max(1.0, fan_out / fan_in))
        return rms * math.sqrt(max(fan_in, fan_out)) if scale == "rms_match" else 1.0

    def orthogonalize(D):
        fan_in, fan_out = fans(D.shape)
        D2 = D.reshape((fan_in, fan_out) if layout == "in_out" else (fan_out, fan_in))
        return newton_schulz(D2, ns_steps, coeffs, eps, eps_clamp=eps_clamp, dtype=ns_dtype).reshape(D.shape)

    def init(params):
        leaves = jax.tree.leaves(params)
        mat, other = split(params)
        return MuonState(M=[xp(leaves[i]).zeros_like(leaves[i]) for i in mat],
                         adam=adam.init([leaves[i] for i in other]) if other else None, k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        xs, treedef = jax.tree.flatten(params)
        gs = jax.tree.leaves(grads)
        mat, other = split(params)
        if len(state.M) != len(mat) or [np.shape(m) for m in state.M] != [np.shape(xs[i]) for i in mat]:
            raise ValueError("state does not match params: build it with init(params) for this pytree")
        lr, k1 = _at(eta, state.k), state.k + 1
        new, M = list(xs), []
        for i, m in zip(mat, state.M):
            x, g = xs[i], gs[i]
            if buffer == "sum":
                m = beta * m + g
                d = g + beta * m if nesterov else m
            else:
                m = beta * m + (1 - beta) * g
                if buffer == "ema":
                    d = (1 - beta) * g + beta * m if nesterov else m
                elif nesterov:
                    d = (beta / (1 - beta ** (k1 + 1))) * m + ((1 - beta) / (1 - beta ** k1)) * g
                else:
                    d = m / (1 - beta ** k1)
            new[i] = x - lr * (factor(np.shape(x)) * orthogonalize(d) + lam * x)
            M.append(m)
        s_adam = state.adam
        if other:
            sub, s_adam = adam.step([xs[i] for i in other], [gs[i] for i in other], state.adam)
            for i, x in zip(other, sub):
                new[i] = x
        return treedef.unflatten(new), MuonState(M=M, adam=s_adam, k=k1)

    return Optimizer(init, step)
