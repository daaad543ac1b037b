r"""SOAP (week 6): Adam run in the eigenbasis of Shampoo's factors ("ShampoO with Adam in the Preconditioner's
eigenbasis"; Vyas, Morwani, Zhao, Shapira, Brandfonbrener, Janson & Kakade 2024, arXiv:2409.11321, Alg. 3).

Shampoo (:mod:`utils.shampoo`) keeps L ≈ E[GGᵀ] and R ≈ E[GᵀG] for a matrix gradient G ∈ ℝ^{m×n}. Write their
eigendecompositions L = Q_L Λ_L Q_Lᵀ and R = Q_R Λ_R Q_Rᵀ and rotate the gradient, G' = Q_Lᵀ G Q_R. In these
coordinates Shampoo's preconditioner (L ⊗ R)^{-1/4} is *diagonal*, with the fixed entries (λ_i μ_j)^{-1/4};
Vyas et al. show that Shampoo with exponent 1/2 is an idealized Adafactor in this basis (their Claim 1), and
SOAP instead runs full Adam there: a second moment V per rotated entry, updated every step, while the basis is
refreshed only every T steps. Between refreshes the step is an Adam step in fixed orthogonal coordinates, so it
inherits Adam's robustness to a stale basis, and T can be ten to a hundred times larger than Shampoo's.

Two facts the tests prove: (1) with the identity basis on both sides (every side longer than
``max_precondition_dim``, the paper's rule for large dimensions) SOAP *is* Adam; (2) SOAP is equivariant under
orthogonal changes of coordinates W ↦ U W Vᵀ (the factors become U L Uᵀ, V R Vᵀ, the rotated gradient G' is
unchanged), which Adam is not; on gradients that all share one singular basis it is Adam on the singular values.

``opt = soap(eta=3e-3)`` is an :class:`utils.adaptive.Optimizer` (``init`` / ``step`` on any pytree of NumPy
or JAX leaves, pure, ``jit``-able); :func:`to_optax` makes it an ``optax.GradientTransformation``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import numpy as np

from ..stochastic.adaptive import Optimizer, _at, _beta, _check_tree, _eta, _nonneg, _pos, to_optax
from ..core.drivers import validate_int
from ..core.problems import xp

__all__ = ["SOAPState", "soap", "eigenbasis_eigh", "eigenbasis_qr", "to_optax"]

_BASES = ("qr", "eigh")


def eigenbasis_eigh(S):
    r"""Eigenvectors of a symmetric S as columns, eigenvalues *descending* (``numpy.linalg.eigh`` reversed).

    >>> import numpy as np
    >>> eigenbasis_eigh(np.diag([1.0, 3.0])).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    return xp(S).linalg.eigh(S)[1][:, ::-1]


def eigenbasis_qr(S, Q):
    r"""One step of power iteration warm-started at the current basis Q, re-orthonormalized by QR (Vyas et al.
    2025, Alg. 4, as in their code): the columns of P = S Q are sorted by the estimated eigenvalues
    λ̃_j = q_jᵀ S q_j, largest first, then Q⁺ = qr(P[:, π]). Returns (Q⁺, π); π also reorders the rotated
    second moment V so that each entry stays with its eigenvector.

    >>> import numpy as np
    >>> Q, order = eigenbasis_qr(np.diag([1.0, 3.0]), np.eye(2))
    >>> np.abs(Q).tolist(), order.tolist()
    ([[0.0, 1.0], [1.0, 0.0]], [1, 0])
    """
    ns = xp(S)
    P = S @ Q
    order = ns.argsort(-ns.sum(Q * P, axis=0))
    return ns.linalg.qr(P[:, order])[0], order


class SOAPState(NamedTuple):
    L: Any     # per leaf (params' leaf order), the left factor L (m × m), or None where that side is the identity
    R: Any     # ... the right factor R (n × n), or None
    Q_L: Any   # the eigenbasis of L in use (columns; eigenvalues descending), or None
    Q_R: Any   # the eigenbasis of R in use, or None
    M: Any     # Adam's first moment, in the *original* coordinates (rotated by the current basis when used)
    V: Any     # Adam's second moment, in the rotated coordinates G' = Q_Lᵀ G Q_R
    k: Any     # gradients seen (with skip_first, the first one only builds L, R and the first basis)


def soap(eta=3e-3, beta1=0.95, beta2=0.95, eps=1e-8, weight_decay=0.0, *, shampoo_beta=None,
         precondition_every=10, max_precondition_dim=10000, precondition_1d=False, eigenbasis="qr",
         skip_first=True, bias_correction=True, eps_scaled=False) -> Optimizer:
    r"""SOAP (Vyas et al. 2025, Alg. 3 with Alg. 4 for the basis), per matrix leaf W ∈ ℝ^{m×n}, gradient G_k:

    .. math::  G' = Q_L^\top G_k Q_R,\quad M \leftarrow \beta_1 M + (1-\beta_1) G_k,\quad
               V \leftarrow \beta_2 V + (1-\beta_2)\, G' \odot G',\quad
               N = Q_L\,\frac{Q_L^\top M Q_R}{\sqrt{V} + \varepsilon}\,Q_R^\top,

    .. math::  W \leftarrow \big(W - \eta_k c_t N\big)(1 - \eta_k\lambda),\qquad
               c_t = \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t},\qquad
               L \leftarrow \beta_s L + (1-\beta_s) G_kG_k^\top,\quad R \leftarrow \beta_s R + (1-\beta_s) G_k^\top G_k,

    and every T steps (t ≡ 0 mod T) a new basis Q_L from L, Q_R from R (after their update). t = 1, 2, … counts
    the Adam updates. M stays in the original coordinates, so it is rotated *exactly* into each new basis when
    used; V lives in the rotated coordinates and is not rotated (a diagonal second moment has no exact image in
    another basis): the QR refresh permutes it with the eigenvalue order, as the paper's code does.

    ``skip_first=True`` (the paper's code): the first gradient only builds L = (1−β_s)G₀G₀ᵀ, R and the first
    basis by ``eigh`` (nothing moves), so no projection ever uses the gradient it was built from. ``False``:
    Q_L = Q_R = I until the first refresh at t = T, and G₀ is Adam's first step.

    Leaves: ndim ≥ 2 is read as the matrix (prod(shape[:-1]), shape[-1]) like :func:`utils.shampoo.shampoo`
    (the paper's transformers have matrices only; its code keeps one factor per tensor axis instead). A side
    longer than ``max_precondition_dim`` gets Q = I (no factor). A vector is Adam (Q = I) unless
    ``precondition_1d`` (then one factor L of size n, if n ≤ ``max_precondition_dim``); a scalar is Adam.

    Symbols ↔ arguments (the paper's ``soap.py`` / ``pytorch_optimizer.SOAP`` names): η = ``eta`` (float or
    schedule, η(j) at the j-th update; ``lr``, default 3e-3), β₁, β₂ = ``beta1``, ``beta2`` (``betas``, (0.95,
    0.95)), β_s = ``shampoo_beta`` (``shampoo_beta``; None: β₂), ε = ``eps``, λ = ``weight_decay`` (decoupled,
    times η, applied to the updated W as in their code; 0.01 there), T = ``precondition_every``
    (``precondition_frequency``, 10), ``max_precondition_dim`` (``max_precond_dim``), ``precondition_1d``,
    ``bias_correction`` (``correct_bias``: c_t = 1 when False). ``eigenbasis``: ``"qr"`` is
    :func:`eigenbasis_qr` (Alg. 4, their code), ``"eigh"`` a full :func:`eigenbasis_eigh` at every refresh
    (V kept in place). ``eps_scaled=False`` is their ε on √V with the bias corrections in the step size (Kingma
    & Ba 2015, §2's "more efficient" order); ``True`` puts ε on √V̂ = √(V/(1−β₂ᵗ)), the form of optax and torch
    ``Adam`` and of :func:`utils.adaptive.adam`. Their ``merge_dims`` and ``normalize_grads`` are not offered.

    >>> import numpy as np
    >>> opt = soap(eta=0.1, eps=1e-12)
    >>> W = {"w": np.diag([3.0, -4.0]), "b": np.ones(2)}
    >>> s = opt.init(W); W1, s = opt.step(W, W, s)           # builds L, R and the basis; nothing moves
    >>> bool(np.array_equal(W1["w"], W["w"]))
    True
    >>> W2, s = opt.step(W1, W1, s)                          # first Adam step in the basis: −η·sign(G)
    >>> ((W1["w"] - W2["w"]) / 0.1 + 0.0).round(6).tolist(), W2["b"].round(6).tolist()
    ([[1.0, 0.0], [0.0, -1.0]], [0.9, 0.9])
    """
    eta, b1, b2, eps, lam = (_eta(eta), _beta("beta1", beta1), _beta("beta2", beta2), _pos("eps", eps),
                             _nonneg("weight_decay", weight_decay))
    bs = b2 if shampoo_beta is None else _beta("shampoo_beta", shampoo_beta)
    T = validate_int("precondition_every", precondition_every)
    dmax = validate_int("max_precondition_dim", max_precondition_dim)
    if eigenbasis not in _BASES:
        raise ValueError(f"eigenbasis must be one of {_BASES}, got {eigenbasis!r}")
    for name, value in (("precondition_1d", precondition_1d), ("skip_first", skip_first),
                        ("bias_correction", bias_correction), ("eps_scaled", eps_scaled)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {value!r}")

    def as_matrix(shape):
        return (1, 1) if len(shape) == 0 else (shape[0], 1) if len(shape) == 1 else (math.prod(shape[:-1]), shape[-1])

    def sides(shape):
        """(precondition the left side?, the right side?) of a leaf of this shape."""
        m, n = as_matrix(shape)
        if len(shape) < 2:
            return (len(shape) == 1 and precondition_1d and m <= dmax), False
        return m <= dmax, n <= dmax

    def init(params):
        L, R, M, V = [], [], [], []
        for x in jax.tree.leaves(params):
            ns, (m, n), (left, right) = xp(x), as_matrix(np.shape(x)), sides(np.shape(x))
            L.append(ns.zeros((m, m), x.dtype) if left else None)
            R.append(ns.zeros((n, n), x.dtype) if right else None)
            M.append(ns.zeros_like(x)), V.append(ns.zeros_like(x))
        eye = [None if S is None else xp(S).eye(len(S), dtype=S.dtype) for S in L]
        eye_r = [None if S is None else xp(S).eye(len(S), dtype=S.dtype) for S in R]
        return SOAPState(L=L, R=R, Q_L=eye, Q_R=eye_r, M=M, V=V, k=0)

    def rot(X, QL, QR):                      # Q_Lᵀ X Q_R, with None an identity
        X = X if QL is None else QL.T @ X
        return X if QR is None else X @ QR

    def back(X, QL, QR):                     # Q_L X Q_Rᵀ
        X = X if QL is None else QL @ X
        return X if QR is None else X @ QR.T

    def stats(S, B, beta):
        return None if S is None else beta * S + (1 - beta) * B

    def first(xs, gs, state):
        """The skipped first step: L, R from G₀, the first basis by eigh."""
        L, R = [], []
        for g, SL, SR in zip(gs, state.L, state.R):
            G = g.reshape(as_matrix(np.shape(g)))
            L.append(stats(SL, G @ G.T, bs)), R.append(stats(SR, G.T @ G, bs))
        QL = [None if S is None else eigenbasis_eigh(S) for S in L]
        QR = [None if S is None else eigenbasis_eigh(S) for S in R]
        return list(xs), state._replace(L=L, R=R, Q_L=QL, Q_R=QR, k=state.k + 1)

    def refresh(L, R, QL, QR, V):
        if eigenbasis == "eigh":
            return ([None if S is None else eigenbasis_eigh(S) for S in L],
                    [None if S is None else eigenbasis_eigh(S) for S in R], list(V))
        nQL, nQR, nV = [], [], []
        for SL, SR, ql, qr, v in zip(L, R, QL, QR, V):
            if SL is not None:
                ql, order = eigenbasis_qr(SL, ql)
                v = v[order, :]
            if SR is not None:
                qr, order = eigenbasis_qr(SR, qr)
                v = v[:, order]
            nQL.append(ql), nQR.append(qr), nV.append(v)
        return nQL, nQR, nV

    def update(xs, gs, state):
        t = state.k if skip_first else state.k + 1
        lr = _at(eta, t - 1)
        c1, c2 = (1 - b1 ** t, 1 - b2 ** t) if bias_correction else (1.0, 1.0)
        new, L, R, M, V = [], [], [], [], []
        for x, g, SL, SR, QL, QR, m0, v0 in zip(xs, gs, state.L, state.R, state.Q_L, state.Q_R, state.M, state.V):
            ns, shape = xp(g), np.shape(g)
            G = g.reshape(as_matrix(shape))
            m = b1 * m0 + (1 - b1) * G.reshape(shape)
            Gp = rot(G, QL, QR)
            v = b2 * v0.reshape(Gp.shape) + (1 - b2) * (Gp * Gp)
            Mp = rot(m.reshape(Gp.shape), QL, QR)
            if eps_scaled:
                Np = (Mp / c1) / (ns.sqrt(v / c2) + eps)
            else:
                Np = (ns.sqrt(c2) / c1) * Mp / (ns.sqrt(v) + eps)
            x = x - lr * back(Np, QL, QR).reshape(shape)
            new.append(x * (1 - lr * lam) if lam else x)
            L.append(stats(SL, G @ G.T, bs)), R.append(stats(SR, G.T @ G, bs))
            M.append(m), V.append(v)
        QL, QR = list(state.Q_L), list(state.Q_R)
        if T == 1:
            QL, QR, V = refresh(L, R, QL, QR, V)
        elif isinstance(t, (int, np.integer)):
            if t % T == 0:
                QL, QR, V = refresh(L, R, QL, QR, V)
        else:
            QL, QR, V = jax.lax.cond(t % T == 0, lambda: refresh(L, R, QL, QR, V), lambda: (QL, QR, list(V)))
        V = [v.reshape(np.shape(x)) for v, x in zip(V, xs)]
        return new, SOAPState(L=L, R=R, Q_L=QL, Q_R=QR, M=M, V=V, k=state.k + 1)

    def step(params, grads, state):
        _check_tree(params, grads)
        xs, treedef = jax.tree.flatten(params)
        gs = jax.tree.leaves(grads)
        if len(state.M) != len(xs) or any(np.shape(m) != np.shape(x) for m, x in zip(state.M, xs)) or \
                [S is None for S in state.L] != [not sides(np.shape(x))[0] for x in xs]:
            raise ValueError("state does not match params: build it with init(params) for this pytree")
        k = state.k
        if not skip_first:
            new, s = update(xs, gs, state)
        elif isinstance(k, (int, np.integer)):
            new, s = first(xs, gs, state) if k == 0 else update(xs, gs, state)
        else:
            new, s = jax.lax.cond(k == 0, lambda: first(xs, gs, state), lambda: update(xs, gs, state))
        return treedef.unflatten(new), s

    return Optimizer(init, step)
