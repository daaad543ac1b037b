r"""K-FAC, Kronecker-factored approximate curvature for dense layers (Martens & Grosse 2015, "Optimizing neural
networks with Kronecker-factored approximate curvature", ICML; §3, §6.3 and §5 below).

Layout. Layer l maps its input a (d_in) to the pre-activation s = W ā, with ā = [a; 1] (the bias is the last
column of W: the homogeneous coordinate, Martens & Grosse §2.1), so W has shape (d_out, d_in + 1) and the
gradient of example i is ∇_W ℓ_i = g_i ā_iᵀ with g = ∂ℓ/∂s. With vec stacking *columns* (NumPy
``W.ravel(order="F")``), vec(g āᵀ) = ā ⊗ g and the Fisher block of the layer is

.. math::  F = \tfrac1n\sum_i \mathbb E\,[\bar a_i\bar a_i^\top \otimes g_ig_i^\top]
           \;\approx\; A\otimes G,\qquad A = \tfrac1n\sum_i \bar a_i\bar a_i^\top,\quad
           G = \tfrac1n\sum_i \mathbb E\,[g_ig_i^\top]

(``np.kron(A, G)``; in NumPy's default row-major ``W.ravel()`` the same matrix is ``np.kron(G, A)``). K-FAC
also drops the blocks between layers. The approximation is exact for a layer when
(1/n)Σ_i (ā_iā_iᵀ − A) ⊗ (G_i − G) = 0, G_i = E[g_i g_iᵀ | x_i]: the input and gradient statistics are
uncorrelated over the batch. For a single linear layer with a Gaussian likelihood and the true Fisher,
G_i = σ⁻²I for every i, so F = A ⊗ G exactly (it is the Gauss–Newton matrix); with a softmax likelihood
(G_i = diag p_i − p_ip_iᵀ), with the empirical Fisher (g_i = residual i) or one sampled label per example, it is
exact only in special cases (n = 1, all ā_iā_iᵀ equal, or all G_i equal). ``tests/deep/test_kfac.py`` measures the gap.

Update (Martens & Grosse §6.3, factored Tikhonov damping, γ = √λ, and their π):

.. math::  W \leftarrow W - \eta\,(G + \tfrac{\gamma}{\pi} I)^{-1}\,\nabla_W L\,(A + \pi\gamma I)^{-1},\qquad
           \pi = \sqrt{\frac{\operatorname{tr}A/\dim A}{\operatorname{tr}G/\dim G}}

which inverts (A + πγI) ⊗ (G + γ/π I) = A⊗G + λI + γ(πI⊗G + A⊗I/π) instead of A⊗G + λI; ``pi=False`` sets
π = 1. ``damping_mode="eigen"`` inverts A ⊗ G + λI exactly from the eigendecompositions A = Q_A diag(e_A) Q_Aᵀ,
G = Q_G diag(e_G) Q_Gᵀ (exact Tikhonov damping of the Kronecker product, at the cost of two eigh):
ΔW = −η Q_G [(Q_Gᵀ ∇_W L Q_A) / (e_G e_Aᵀ + λ)] Q_Aᵀ.
A and G are running averages A ← εA + (1 − ε)Â with ε_k = min(1 − 1/k, ε) at the k-th batch (§5: the first
batch is taken as is), and the inverses (or eigendecompositions) are recomputed every T steps (at k = 0, T, 2T,…)
and reused in between. Not included: momentum, the quadratic-model rescaling of the step and the
Levenberg–Marquardt adaptation of λ (§6.4–§7).

Use. :func:`curvature` takes the batch and returns the loss, the gradient and the batch factors (Â, Ĝ);
``opt.step(params, grads, state, factors)`` is the K-FAC step (a step needs more than a gradient, like
:mod:`utils.sam`). The factors come from JAX autodiff by differentiating with respect to zero perturbations
added to each s (:func:`mlp` is the helper network; any ``forward(params, x, perturbations) -> (out, inputs)``
with inputs ā works). The optimizer runs eagerly on NumPy or JAX leaves and under ``jax.jit``.

η = ``eta`` (kfac-jax ``learning_rate``), λ = ``damping`` (kfac-jax ``damping``; Martens & Grosse λ),
ε = ``decay`` (their ε = 0.95; kfac-jax ``curvature_ema``, default 0.95), T = ``inverse_every`` (kfac-jax
``inverse_update_period``, default 5), ``fisher``: ``"exact"`` (the expectation over the model's predictive
distribution, through a square root of the output Fisher; kfac-jax ``estimation_mode="fisher_exact"``),
``"sampled"`` (one label per example drawn from the model, ``"fisher_gradients"``), ``"empirical"`` (the true
labels, ``"fisher_empirical"``). torch.optim and optax have no K-FAC.
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..stochastic.adaptive import _at, _beta, _eta, _pos
from ..core.problems import xp

__all__ = ["mlp", "Factors", "Curvature", "curvature", "KFACState", "KFAC", "kfac", "pi_damping"]

LIKELIHOODS = ("gaussian", "softmax")
FISHERS = ("exact", "sampled", "empirical")


def mlp(params, x, perturbations=None, activation=jnp.tanh):
    """Dense network s_l = W_l ā_l, a_{l+1} = activation(s_l), output s_L (no activation on the last layer).
    ``params``: a list of W_l of shape (d_out, d_in + 1), bias last. Returns ``(out, inputs)``, inputs the ā_l
    (n, d_in + 1); ``perturbations[l]`` (n, d_out), if given, is added to s_l.

    >>> import numpy as np
    >>> out, (a,) = mlp([np.array([[2.0, 1.0]])], np.array([[3.0]]))
    >>> out.tolist(), a.tolist()       # s = 2·3 + 1, ā = [3, 1]
    ([[7.0]], [[3.0, 1.0]])
    """
    a, inputs = x, []
    for l, W in enumerate(params):
        ab = jnp.concatenate([a, jnp.ones_like(a[:, :1])], axis=1)
        s = ab @ W.T
        if perturbations is not None:
            s = s + perturbations[l]
        inputs.append(ab)
        a = activation(s) if l < len(params) - 1 else s
    return a, inputs


class Factors(NamedTuple):
    A: Any   # per layer, A = E[ā āᵀ], (d_in + 1)²
    G: Any   # per layer, G = E[g gᵀ], d_out²


class Curvature(NamedTuple):
    loss: Any      # L = (1/n) Σ ℓ_i
    grads: Any     # ∇_W L per layer
    factors: Any   # Factors of this batch


def _check_params(params):
    if not isinstance(params, (list, tuple)) or not params:
        raise ValueError("params must be a non-empty list of 2-D arrays W (d_out, d_in + 1), "
                         f"got {type(params).__name__}")
    for l, W in enumerate(params):
        if np.ndim(W) != 2:
            raise ValueError(f"params[{l}] must be a 2-D array W (d_out, d_in + 1), got shape {np.shape(W)}")


def curvature(params, x, y, *, likelihood="gaussian", fisher="exact", key=None, forward=None) -> Curvature:
    r"""Loss, gradient and K-FAC factors of one batch: L = (1/n)Σ ℓ(y_i, f(x_i)) with ℓ = ½‖y − f‖²
    (``"gaussian"``, σ = 1, y of shape (n, C)) or −log softmax(f)_y (``"softmax"``, integer labels y (n,)).
    Â = (1/n)Σ ā āᵀ and Ĝ = (1/n)Σ g gᵀ with g = ∂ℓ/∂s for the labels that ``fisher`` names (module docstring);
    ``"sampled"`` needs a ``jax.random`` ``key``. ``forward(params, x, perturbations) -> (out, inputs)``
    defaults to :func:`mlp`; g is read off as the per-example cotangent of zero perturbations of s.

    >>> import numpy as np
    >>> c = curvature([np.array([[2.0, 1.0]])], np.array([[3.0]]), np.array([[5.0]]))
    >>> float(c.loss), c.grads[0].tolist(), c.factors.A[0].tolist(), c.factors.G[0].tolist()
    (2.0, [[6.0, 2.0]], [[9.0, 3.0], [3.0, 1.0]], [[1.0]])
    """
    _check_params(params)
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if fisher not in FISHERS:
        raise ValueError(f"fisher must be one of {FISHERS}, got {fisher!r}")
    if fisher == "sampled" and key is None:
        raise ValueError("key must be a jax.random key when fisher='sampled', got None")
    if np.ndim(x) != 2:
        raise ValueError(f"x must be a 2-D array (n, d_in), got shape {np.shape(x)}")
    n = np.shape(x)[0]
    C = np.shape(params[-1])[0]
    if likelihood == "gaussian" and np.shape(y) != (n, C):
        raise ValueError(f"y must have shape {(n, C)} for the gaussian likelihood, got {np.shape(y)}")
    if likelihood == "softmax" and np.shape(y) != (n,):
        raise ValueError(f"y must be integer labels of shape {(n,)} for the softmax likelihood, got {np.shape(y)}")
    return _curvature(list(params), x, y, key, likelihood, fisher, mlp if forward is None else forward)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _curvature(params, x, y, key, likelihood, fisher, fwd):
    n, C = x.shape[0], params[-1].shape[0]
    zeros = [jnp.zeros((n, W.shape[0]), x.dtype) for W in params]
    out, vjp, inputs = jax.vjp(lambda e: fwd(params, x, e), zeros, has_aux=True)
    if likelihood == "gaussian":
        loss = 0.5 * jnp.sum((out - y) ** 2) / n
        dout = out - y
    else:
        logp = jax.nn.log_softmax(out)
        loss = -jnp.mean(jnp.take_along_axis(logp, jnp.asarray(y)[:, None], axis=1))
        p = jnp.exp(logp)
        dout = p - jax.nn.one_hot(y, C, dtype=p.dtype)
    g = vjp(dout)[0]                                             # per-example ∂ℓ_i/∂s_i, true labels
    grads = [gl.T @ ab / n for gl, ab in zip(g, inputs)]
    A = [ab.T @ ab / n for ab in inputs]
    if fisher == "empirical":
        G = [gl.T @ gl / n for gl in g]
    elif fisher == "sampled":
        if likelihood == "gaussian":
            ds = -jax.random.normal(key, out.shape, out.dtype)   # y ~ N(f, I): ∂ℓ/∂f = f − y
        else:
            ys = jax.random.categorical(key, logp)
            ds = p - jax.nn.one_hot(ys, C, dtype=p.dtype)
        G = [gl.T @ gl / n for gl in vjp(ds)[0]]
    else:                                                        # E over y: output Fisher H = R Rᵀ per example
        if likelihood == "gaussian":
            R = jnp.broadcast_to(jnp.eye(C, dtype=out.dtype), (n, C, C))
        else:                                                    # diag p − ppᵀ = (D − p√pᵀ)(D − √p pᵀ)
            sq = jnp.sqrt(p)
            R = jax.vmap(jnp.diag)(sq) - p[:, :, None] * sq[:, None, :]
        gc = jax.vmap(lambda r: vjp(r)[0])(jnp.moveaxis(R, 2, 0))   # per column c: (C, n, d_out)
        G = [jnp.einsum("cni,cnj->ij", gl, gl) / n for gl in gc]
    return Curvature(loss, grads, Factors(A, G))


def pi_damping(A, G):
    """π = √((tr A / dim A) / (tr G / dim G)) (Martens & Grosse §6.3): the split of γ = √λ between the factors
    that minimizes the trace (= nuclear norm, the matrices are PSD) of the extra term γ(πI⊗G + A⊗I/π),
    π·dim A·tr G + dim G·tr A/π.

    >>> import numpy as np
    >>> float(pi_damping(4.0 * np.eye(2), np.eye(3)))
    2.0
    """
    m = xp(A)
    return m.sqrt((m.trace(A) / A.shape[0]) / (m.trace(G) / G.shape[0]))


class KFACState(NamedTuple):
    A: Any    # running A_l per layer
    G: Any    # running G_l per layer
    PA: Any   # factored: (A + πγI)⁻¹; eigen: Q_A            (recomputed every T steps)
    PG: Any   # factored: (G + γ/π I)⁻¹; eigen: Q_G
    E: Any    # eigen: 1/(e_G e_Aᵀ + λ) per layer; factored: None
    k: Any    # steps taken


class KFAC(NamedTuple):
    """``init(params)``, ``step(params, grads, state, factors) -> (params, state)`` and
    ``direction(grads, state) -> the preconditioned gradients``, all pure."""
    init: Callable
    step: Callable
    direction: Callable


def kfac(eta, damping, *, decay=0.95, inverse_every=1, pi=True, damping_mode="factored") -> KFAC:
    r"""K-FAC for a list of dense layers W_l (d_out, d_in + 1): running factors, damped inverses every T steps,
    ΔW = −η (G + γ/π I)⁻¹ ∇_W L (A + πγ I)⁻¹ (module docstring; symbols there).

    >>> import numpy as np
    >>> x, y = np.array([[1.0], [-1.0]]), np.array([[3.0], [-1.0]])       # fit y = 2x + 1 with W = [w, b]
    >>> W = [np.zeros((1, 2))]; c = curvature(W, x, y)
    >>> opt = kfac(eta=1.0, damping=1e-12, damping_mode="eigen")
    >>> W, s = opt.step(W, c.grads, opt.init(W), c.factors)
    >>> W[0].round(9).tolist()        # A = I, G = 1: one undamped step is Gauss–Newton, exact on least squares
    [[2.0, 1.0]]
    """
    eta, lam, decay = _eta(eta), _pos("damping", damping), _beta("decay", decay)
    try:
        T = operator.index(inverse_every)
    except TypeError:
        raise ValueError(f"inverse_every must be an integer ≥ 1, got {inverse_every!r}") from None
    if isinstance(inverse_every, bool) or T < 1:
        raise ValueError(f"inverse_every must be an integer ≥ 1, got {inverse_every!r}")
    if damping_mode not in ("factored", "eigen"):
        raise ValueError(f"damping_mode must be 'factored' or 'eigen', got {damping_mode!r}")
    gamma = lam ** 0.5

    def precond(A, G):
        m = xp(A)
        if damping_mode == "eigen":
            eA, QA = m.linalg.eigh(A)
            eG, QG = m.linalg.eigh(G)
            return QA, QG, 1.0 / (eG[:, None] * eA[None, :] + lam)
        p = pi_damping(A, G) if pi else 1.0
        return (m.linalg.inv(A + (p * gamma) * m.eye(A.shape[0], dtype=A.dtype)),
                m.linalg.inv(G + (gamma / p) * m.eye(G.shape[0], dtype=G.dtype)), None)

    def init(params):
        _check_params(params)
        A = [xp(W).zeros((W.shape[1], W.shape[1]), W.dtype) for W in params]
        G = [xp(W).zeros((W.shape[0], W.shape[0]), W.dtype) for W in params]
        E = None if damping_mode == "factored" else [xp(W).zeros(W.shape, W.dtype) for W in params]
        return KFACState(A=A, G=G, PA=list(A), PG=list(G), E=E, k=0)

    def check(params, grads, factors):
        _check_params(params)
        if not isinstance(factors, Factors):
            raise ValueError(f"factors must be a Factors (A, G) from curvature(), got {type(factors).__name__}")
        for name, tree in (("grads", grads), ("factors.A", factors.A), ("factors.G", factors.G)):
            if not isinstance(tree, (list, tuple)) or len(tree) != len(params):
                raise ValueError(f"{name} must be a list of {len(params)} arrays, one per layer")
        for l, (W, g, A, G) in enumerate(zip(params, grads, factors.A, factors.G)):
            d_out, d_in = np.shape(W)
            if np.shape(g) != (d_out, d_in) or np.shape(A) != (d_in, d_in) or np.shape(G) != (d_out, d_out):
                raise ValueError(f"layer {l}: W {np.shape(W)} needs grads {(d_out, d_in)}, A {(d_in, d_in)}, "
                                 f"G {(d_out, d_out)}; got {np.shape(g)}, {np.shape(A)}, {np.shape(G)}")

    def direction(grads, state):
        if damping_mode == "factored":
            return [PG @ g @ PA for g, PA, PG in zip(grads, state.PA, state.PG)]
        return [QG @ ((QG.T @ g @ QA) * E) @ QA.T for g, QA, QG, E in zip(grads, state.PA, state.PG, state.E)]

    def step(params, grads, state, factors):
        check(params, grads, factors)
        k = state.k
        eps = min(1.0 - 1.0 / (k + 1), decay) if isinstance(k, (int, np.integer)) else \
            jnp.minimum(1.0 - 1.0 / (k + 1), decay)
        # the running averages keep the state's dtype (with jax_enable_x64 a traced ε is float64 and would promote
        # float32 factors, so that the two branches of the lax.cond below disagree)
        A = [(eps * Ao + (1 - eps) * An).astype(Ao.dtype) for Ao, An in zip(state.A, factors.A)]
        G = [(eps * Go + (1 - eps) * Gn).astype(Go.dtype) for Go, Gn in zip(state.G, factors.G)]
        old = (state.PA, state.PG, state.E)

        def fresh():
            P = [precond(a, g) for a, g in zip(A, G)]
            return ([p[0] for p in P], [p[1] for p in P], None if damping_mode == "factored" else [p[2] for p in P])

        if isinstance(k, (int, np.integer)):                    # eager: recompute only when due
            PA, PG, E = fresh() if k % T == 0 else old
        else:                                                    # traced
            PA, PG, E = jax.lax.cond(k % T == 0, fresh, lambda: old)
        new_state = KFACState(A=A, G=G, PA=PA, PG=PG, E=E, k=k + 1)
        lr = _at(eta, k)
        D = direction(grads, new_state)
        return [(W - lr * d).astype(np.result_type(W)) for W, d in zip(params, D)], new_state

    return KFAC(init, step, direction)
