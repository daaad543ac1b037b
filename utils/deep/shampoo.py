r"""Shampoo (week 6): Kronecker-factored full-matrix AdaGrad for matrix leaves, with blocking and grafting.

Full-matrix AdaGrad preconditions a gradient g ∈ ℝᵈ by H^{-1/2}, H = εI + Σ_j g_j g_jᵀ: d × d memory and a d³
root, hopeless for a layer with d = m·n weights. Shampoo (Gupta, Koren & Singer 2018, Alg. 1) keeps one factor
per side of a matrix gradient G ∈ ℝ^{m×n},

.. math::  L_{k+1} = \beta L_k + G_kG_k^\top,\qquad R_{k+1} = \beta R_k + G_k^\top G_k,\qquad
           W_{k+1} = W_k - \eta_k\, L^{-1/4} G_k R^{-1/4},

which is vec-wise the Kronecker preconditioner (L ⊗ R)^{-1/4} acting on vec(G) (row-major vec; L, R symmetric).
Gupta et al. bound the full-matrix statistic Σ g gᵀ, divided by a rank bound r of the G's and up to ε terms, by
the Kronecker product of the square roots of εI + L and εI + R, hence the quarter roots. Anil et al. 2020 ("Scalable second
order optimization for deep learning", arXiv:2002.09018) make it practical: the roots are recomputed only every T
steps, large dimensions are cut into blocks, each block its own Shampoo, and the step's norm is *grafted* from a
cheap optimizer (Adam or SGD) per layer: the direction is Shampoo's, the length is the graft's.

**Full-matrix AdaGrad on a vector.** Write a vector gradient g ∈ ℝⁿ as a column G = g (n × 1). Then
L_k + εI = εI + Σ_j g_j g_jᵀ = H_k, full-matrix AdaGrad's matrix (Duchi, Hazan & Singer 2011, §1), while
R_k = Σ_j g_jᵀg_j = Σ_j ‖g_j‖² is 1 × 1, a *scalar*, so (R_k + ε)^{-e} = r_k^{-e} with r_k = ε + Σ‖g_j‖². Hence

.. math::  (L_k + \varepsilon I)^{-e}\, G\, (R_k + \varepsilon)^{-e} = r_k^{-e}\, H_k^{-e} g_k:

the direction is H^{-e}g and the scalar r_k^{-e} only changes the step length. If the unit dimension is not
preconditioned (``precondition_unit_dims=False``, the default: a 1 × 1 factor is a step size, not a geometry, and
Anil et al.'s implementation merges such dimensions away), the step is η H_k^{-e} g_k, which is full-matrix AdaGrad's
η H_k^{-1/2} g_k for every g and H exactly when **e = 1/2**. With Shampoo's matrix exponent e = 1/4 it is another
method (H^{-1/4}); with the unit dimension preconditioned it is AdaGrad's step times r_k^{-1/2}. ``tests/
test_shampoo.py`` checks all three.

``opt = shampoo(eta=1e-3)`` is an :class:`utils.adaptive.Optimizer` (``init`` / ``step`` on any pytree of NumPy
or JAX leaves, pure, ``jit``-able); :func:`to_optax` makes it an ``optax.GradientTransformation``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import numpy as np

from ..stochastic.adaptive import Optimizer, _at, _beta, _check_tree, _eta, _float, _pos, adagrad, adam, to_optax
from ..core.drivers import validate_int
from ..core.problems import xp

__all__ = ["inverse_root", "ShampooState", "shampoo", "to_optax"]

_GRAFTS = ("adam", "sgd", None)
_VECTORS = ("diagonal", "full")


_int = validate_int


def inverse_root(S, exponent=0.25, eps=1e-6):
    r"""(S + εI)^{-e} of a symmetric positive semidefinite S by its eigendecomposition S = Q Λ Qᵀ:

    .. math::  (S + \varepsilon I)^{-e} = Q\,\mathrm{diag}\big((\max(\lambda_i, 0) + \varepsilon)^{-e}\big)\,Q^\top.

    ε = ``eps`` is added to the *eigenvalues* (after clipping the round-off negatives of a PSD S to 0); in exact
    arithmetic that is the same as adding εI to S, since εI has every basis as eigenvectors. e = ``exponent``.

    >>> import numpy as np
    >>> inverse_root(np.diag([16.0, 81.0]), 0.25, 0.0).round(12).tolist()
    [[0.5, 0.0], [0.0, 0.333333333333]]
    """
    ns = xp(S)
    lam, Q = ns.linalg.eigh(S)
    return (Q * (ns.maximum(lam, 0.0) + eps) ** (-exponent)) @ Q.T


class ShampooState(NamedTuple):
    L: Any        # per Shampoo leaf, a list over its blocks (row-major) of the left statistics L (m_b × m_b)
    R: Any        # ... and of the right statistics R (n_b × n_b)
    L_root: Any   # the cached (L + εI)^{-e}, recomputed every precondition_every steps (same nesting)
    R_root: Any   # the cached (R + εI)^{-e}
    m: Any        # Adam graft's first moments per Shampoo leaf (None unless graft="adam")
    v: Any        # Adam graft's second moments
    diag: Any     # the diagonal optimizer's state on the other leaves (None without them)
    k: Any        # steps taken


def shampoo(eta, beta=1.0, eps=1e-6, *, exponent=0.25, precondition_every=1, block_size=None, graft="adam",
            graft_beta1=0.9, graft_beta2=0.999, graft_eps=1e-8, vectors="diagonal", diagonal="adagrad",
            precondition_unit_dims=False) -> Optimizer:
    r"""Shampoo (Gupta, Koren & Singer 2018, Alg. 1) with the blocking and grafting of Anil et al. 2020 (Alg. 1):

    .. math::  L_{k+1} = \beta L_k + G_kG_k^\top,\quad R_{k+1} = \beta R_k + G_k^\top G_k,\quad
               D_k = P^L G_k P^R,\quad W_{k+1} = W_k - \eta_k\, \frac{\|A_k\|_F}{\|D_k\|_F}\, D_k

    with L₀ = R₀ = 0, P^L = (L + εI)^{-e}, P^R = (R + εI)^{-e} by :func:`inverse_root` (ε on the eigenvalues),
    recomputed from the current L, R at the steps k ≡ 0 (mod T) and reused in between. β = 1 is the original
    Shampoo (L₀ = εI, sums); β < 1 weights the past exponentially. A leaf of ndim ≥ 2 is read as the matrix
    (prod(shape[:-1]), shape[-1]) (an HWIO conv kernel: (kh·kw·c_in, c_out)); with a ``block_size`` b, both
    dimensions are cut into blocks of b (the last one shorter), and each block G_{ij} has its own L_{ij}, R_{ij}
    and D_{ij} (independent Shampoos, Anil et al. §3.3). A dimension of size 1 is not preconditioned (P = 1)
    unless ``precondition_unit_dims`` (see the module docstring: then Shampoo = full-matrix AdaGrad with e = 1/2).

    Grafting (per leaf, the whole layer, not per block): A_k is the graft's step direction on the same G_k,
    ``graft="sgd"``: A = G; ``"adam"``: A = m̂/(√v̂ + ε_g), Adam's bias-corrected moments with β₁, β₂, ε_g =
    ``graft_beta1``, ``graft_beta2``, ``graft_eps``; ``None``: no factor (the bare Shampoo step η D).

    Symbols ↔ arguments, with the names of the two reference implementations, Google's optax-style
    ``scalable_shampoo.optax.distributed_shampoo`` and Meta's torch ``DistributedShampoo`` (neither is in optax or
    torch.optim): η = ``eta`` (float or schedule; ``learning_rate``, ``lr``), β = ``beta`` (``beta2``,
    ``betas[1]``; both weight the new term by 1 − β when β < 1, which scales the roots by (1 − β)^{-2e}, a factor
    grafting cancels), ε = ``eps`` (``matrix_epsilon``, ``epsilon``), e = ``exponent`` (1/4 = 1/(2·order);
    ``exponent_override``), T = ``precondition_every`` (``preconditioning_compute_steps``,
    ``precondition_frequency``), b = ``block_size`` (``block_size``, ``max_preconditioner_dim``; None: no
    blocking), ``graft`` (``graft_type``, ``grafting_config``). No momentum on the final step, no weight decay.

    Leaves that are not matrices (ndim ≤ 1, or ndim 0 with ``vectors="full"``) take the diagonal rule
    ``diagonal``: ``"adagrad"`` = :func:`utils.adaptive.adagrad` with ε inside the root, x ← x − η g/√(ε + Σg²)
    (Shampoo's own rule on a 1 × 1 leaf), ``"adam"`` = :func:`utils.adaptive.adam` (η), any optimizer of
    :mod:`utils.adaptive`, or None (then such a leaf is an error). ``vectors="full"`` instead preconditions a
    vector as an n × 1 matrix (full-matrix AdaGrad, blocked by ``block_size``).

    >>> import numpy as np
    >>> opt = shampoo(eta=0.1, eps=1e-12, graft=None)
    >>> W = {"w": np.array([[3.0, 0.0], [0.0, -4.0]]), "b": np.ones(2)}
    >>> W1, s = opt.step(W, W, opt.init(W))     # G = W: L = R = G², so D = |G|^{-1/2} G |G|^{-1/2} = sign(G)
    >>> ((W["w"] - W1["w"]) / 0.1).round(6).tolist(), W1["b"].round(6).tolist()
    ([[1.0, 0.0], [0.0, -1.0]], [0.9, 0.9])
    """
    eta, eps = _eta(eta), _pos("eps", eps)
    beta = _float("beta", beta, lambda v: 0.0 < v <= 1.0, "a number in (0, 1]")
    e = _float("exponent", exponent, lambda v: 0.0 < v <= 1.0, "a number in (0, 1]")
    T = _int("precondition_every", precondition_every)
    bsize = None if block_size is None else _int("block_size", block_size)
    b1, b2, geps = _beta("graft_beta1", graft_beta1), _beta("graft_beta2", graft_beta2), _pos("graft_eps", graft_eps)
    for name, value, ok in (("graft", graft, _GRAFTS), ("vectors", vectors, _VECTORS)):
        if value not in ok:
            raise ValueError(f"{name} must be one of {ok}, got {value!r}")
    if isinstance(diagonal, str) and diagonal == "adagrad":
        diagonal = adagrad(eta, eps=eps, eps_in_sqrt=True)
    elif isinstance(diagonal, str) and diagonal == "adam":
        diagonal = adam(eta)
    elif diagonal is not None and not isinstance(diagonal, Optimizer):
        raise ValueError(f"diagonal must be 'adagrad', 'adam', None or an Optimizer (from utils.adaptive), "
                         f"got {diagonal!r}")
    least = 1 if vectors == "full" else 2

    def split(params):
        mat, other = [], []
        for i, (path, x) in enumerate(jax.tree_util.tree_flatten_with_path(params)[0]):
            if np.ndim(x) >= least:
                mat.append(i)
            elif diagonal is None:
                raise ValueError(f"params leaf {jax.tree_util.keystr(path)} has shape {np.shape(x)}, which Shampoo "
                                 f"does not precondition with vectors={vectors!r}, and diagonal=None gives no "
                                 "fallback: pass diagonal='adagrad', 'adam' or an Optimizer")
            else:
                other.append(i)
        return mat, other

    def as_matrix(shape):
        return (shape[0], 1) if len(shape) == 1 else (math.prod(shape[:-1]), shape[-1])

    def cuts(n):
        b = n if bsize is None else bsize
        return [(i, min(i + b, n)) for i in range(0, n, b)]

    def blocks(shape):
        m, n = as_matrix(shape)
        return [(r, c) for r in cuts(m) for c in cuts(n)]

    def root(S):
        if S.shape[0] == 1 and not precondition_unit_dims:
            return xp(S).ones_like(S)
        return inverse_root(S, e, eps)

    def init(params):
        leaves = jax.tree.leaves(params)
        mat, other = split(params)
        L, R = [], []
        for i in mat:
            ns, dt = xp(leaves[i]), leaves[i].dtype
            L.append([ns.zeros((r[1] - r[0],) * 2, dt) for r, c in blocks(np.shape(leaves[i]))])
            R.append([ns.zeros((c[1] - c[0],) * 2, dt) for r, c in blocks(np.shape(leaves[i]))])
        zeros = [xp(leaves[i]).zeros_like(leaves[i]) for i in mat] if graft == "adam" else None
        return ShampooState(L=L, R=R, L_root=L, R_root=R, m=zeros, v=zeros,
                            diag=diagonal.init([leaves[i] for i in other]) if other else None, k=0)

    def step(params, grads, state):
        _check_tree(params, grads)
        xs, treedef = jax.tree.flatten(params)
        gs = jax.tree.leaves(grads)
        mat, other = split(params)
        if len(state.L) != len(mat) or [len(b) for b in state.L] != [len(blocks(np.shape(xs[i]))) for i in mat]:
            raise ValueError("state does not match params: build it with init(params) for this pytree")
        lr, k, k1 = _at(eta, state.k), state.k, state.k + 1
        new, Ls, Rs, PLs, PRs, ms, vs = list(xs), [], [], [], [], [], []
        for j, i in enumerate(mat):
            x, g = xs[i], gs[i]
            ns, shape = xp(g), np.shape(g)
            G = g.reshape(as_matrix(shape))
            Gb = [G[r[0]:r[1], c[0]:c[1]] for r, c in blocks(shape)]
            L = [beta * S + B @ B.T for S, B in zip(state.L[j], Gb)]
            R = [beta * S + B.T @ B for S, B in zip(state.R[j], Gb)]
            fresh = lambda: ([root(S) for S in L], [root(S) for S in R])        # noqa: E731
            if T == 1:
                PL, PR = fresh()
            elif isinstance(k, (int, np.integer)):
                PL, PR = fresh() if k % T == 0 else (state.L_root[j], state.R_root[j])
            else:
                PL, PR = jax.lax.cond(k % T == 0, fresh, lambda: (list(state.L_root[j]), list(state.R_root[j])))
            Db = [pl @ B @ pr for pl, B, pr in zip(PL, Gb, PR)]
            nr, nc = len(cuts(G.shape[0])), len(cuts(G.shape[1]))
            D = ns.block([Db[a * nc:(a + 1) * nc] for a in range(nr)]).reshape(shape)
            if graft is not None:
                if graft == "adam":
                    m = b1 * state.m[j] + (1 - b1) * g
                    v = b2 * state.v[j] + (1 - b2) * (g * g)
                    A = (m / (1 - b1 ** k1)) / (ns.sqrt(v / (1 - b2 ** k1)) + geps)
                    ms.append(m), vs.append(v)
                else:
                    A = g
                nd, na = ns.sqrt(ns.sum(D * D)), ns.sqrt(ns.sum(A * A))
                D = D * ns.where(nd > 0, na / ns.where(nd > 0, nd, 1.0), 0.0)
            new[i] = x - lr * D
            Ls.append(L), Rs.append(R), PLs.append(list(PL)), PRs.append(list(PR))
        s_diag = state.diag
        if other:
            sub, s_diag = diagonal.step([xs[i] for i in other], [gs[i] for i in other], state.diag)
            for i, x in zip(other, sub):
                new[i] = x
        ms, vs = (ms, vs) if graft == "adam" else (None, None)
        return treedef.unflatten(new), ShampooState(L=Ls, R=Rs, L_root=PLs, R_root=PRs, m=ms, v=vs, diag=s_diag, k=k1)

    return Optimizer(init, step)
