"""Shampoo (utils.shampoo): K = 20 steps against a dense NumPy reference of the same math, the full-matrix AdaGrad
equivalence on a vector, blocking ≡ independent Shampoos on the blocks, grafting's per-layer norm, NumPy ≡ JAX
under jit, and bad input.

Setup. Leaves of shapes (6, 4), (3, 5), a (2, 2, 3, 4) HWIO kernel (read as 12 × 4), (3,) and (), driven by
g_k(W) = C ⊙ W + s_k ξ_k (C ∈ [0.5, 5] per entry, ξ_k standard normal, s_k = exp(0.7 z_k)), all from seed 0.

The reference is written independently of the module: statistics accumulated in a plain loop, inverse roots by
``scipy.linalg.fractional_matrix_power`` (a Schur–Padé algorithm, not an eigendecomposition) of L + εI, and the
preconditioned block as the *Kronecker* product (P^L ⊗ P^R) vec(G) (row-major vec, P^R symmetric), i.e. the
mn × mn preconditioner that Shampoo factors.

Tolerance (float64). Over the K = 20 steps the nonzero eigenvalues of the factors lie in [2.3, 4.7e3] (measured),
so κ ≲ 2e3 on the subspace G lives in (the first steps' rank-deficient factors have eigenvalues ε = 1e-3, but their
eigenvectors are orthogonal to G's rows/columns, and D = P^L G P^R does not see them). An inverse e-th root by
either algorithm is then accurate to ≈ κ·n·u ≈ 2e3·12·1.1e-16 ≈ 3e-12 relative; with no contraction assumed the 20
steps add these, ≲ 6e-11·max|W|. We assert RTOL = 1e-9 with ATOL = 1e-9·max|W| (measured: ≤ 2.4e-12). NumPy vs
JAX leaves use two different eigensolvers (LAPACK through NumPy, XLA's through jnp) on the same math: the same
bound, held to 1e-10 (measured 4.8e-13). Blocking vs independent Shampoos runs the same operations (measured
bit-identical; asserted to 1e-12); grafting's norm identity holds to a few roundings (measured ≤ 1.7e-15 relative,
asserted 1e-12), and the grafted step ∥ the bare Shampoo step to 2.3e-14 (asserted 1e-12), the loss of digits
coming from reading steps as differences of iterates.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scipy.linalg

import noisy_pytree

from utils import adaptive as ad
from utils import shampoo as sh

K = 20
RTOL = 1e-9
EPS = 1e-3
SHAPES = {"w1": (6, 4), "w2": (3, 5), "conv": (2, 2, 3, 4), "b": (3,), "g": ()}

_RNG = np.random.default_rng(0)
X0, CURV, NOISE = noisy_pytree.noisy_quadratic(K, _RNG, shapes=SHAPES, spread=0.7)


def grad(x, k):
    return {n: CURV[n] * x[n] + NOISE[k][n] for n in x}      # x may be a sub-dict of X0


def close(a, b, rtol=RTOL):
    noisy_pytree.close(a, b, rtol)


def run(opt, x, gradient=grad, steps=K):
    return noisy_pytree.run(opt, x, gradient, steps)


# ------------------------------------------------------------------------------------------------ reference
def ref_root(S, e, eps, unit=False):
    if len(S) == 1 and not unit:                                        # a unit dimension is not preconditioned
        return np.ones((1, 1))
    return np.real(scipy.linalg.fractional_matrix_power(S + eps * np.eye(len(S)), -e))


def reference(x, eta, beta, eps, e, T, b, graft, b1=0.9, b2=0.999, geps=1e-8, steps=K):
    """Dense Shampoo: per leaf and block, L, R, their roots every T steps, (P^L ⊗ P^R) vec(G); AdaGrad elsewhere."""
    x = {n: v.copy() for n, v in x.items()}
    st, out = {}, []
    for k in range(steps):
        g = grad(x, k)
        for n in x:
            if x[n].ndim < 2:                                           # diagonal AdaGrad, ε inside the root
                v = st.setdefault(n, np.zeros_like(x[n])) + g[n] ** 2
                st[n] = v
                x[n] = x[n] - eta * g[n] / np.sqrt(v + eps)
                continue
            G = g[n].reshape(-1, x[n].shape[-1])
            m, nn = G.shape
            D = np.zeros_like(G)
            rb = [(i, min(i + (b or m), m)) for i in range(0, m, b or m)]
            cb = [(i, min(i + (b or nn), nn)) for i in range(0, nn, b or nn)]
            for r in rb:
                for c in cb:
                    key = (n, r, c)
                    B = G[r[0]:r[1], c[0]:c[1]]
                    Lb, Rb, PL, PR = st.get(key, (0.0, 0.0, None, None))
                    Lb, Rb = beta * Lb + B @ B.T, beta * Rb + B.T @ B
                    if k % T == 0:
                        PL, PR = ref_root(Lb, e, eps), ref_root(Rb, e, eps)
                    st[key] = (Lb, Rb, PL, PR)
                    D[r[0]:r[1], c[0]:c[1]] = (np.kron(PL, PR) @ B.ravel()).reshape(B.shape)
            D = D.reshape(x[n].shape)
            if graft == "sgd":
                D = D * np.linalg.norm(g[n]) / np.linalg.norm(D)
            elif graft == "adam":
                mm, vv = st.get((n, "adam"), (0.0, 0.0))
                mm, vv = b1 * mm + (1 - b1) * g[n], b2 * vv + (1 - b2) * g[n] ** 2
                st[(n, "adam")] = (mm, vv)
                A = (mm / (1 - b1 ** (k + 1))) / (np.sqrt(vv / (1 - b2 ** (k + 1))) + geps)
                D = D * np.linalg.norm(A) / np.linalg.norm(D)
            x[n] = x[n] - eta * D
        out.append({n: v.copy() for n, v in x.items()})
    return out


CONFIGS = {
    "original": dict(beta=1.0, e=0.25, T=1, b=None, graft=None),
    "ema_T3_blocked_adam": dict(beta=0.9, e=0.25, T=3, b=3, graft="adam"),
    "sum_T2_blocked_sgd": dict(beta=1.0, e=0.25, T=2, b=4, graft="sgd"),
    "exponent_half": dict(beta=0.99, e=0.5, T=1, b=None, graft=None),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_matches_dense_kronecker_reference(name):
    c = CONFIGS[name]
    eta = 0.05
    opt = sh.shampoo(eta, c["beta"], EPS, exponent=c["e"], precondition_every=c["T"], block_size=c["b"],
                     graft=c["graft"])
    got, want = run(opt, dict(X0)), reference(dict(X0), eta, c["beta"], EPS, c["e"], c["T"], c["b"], c["graft"])
    for gk, wk in zip(got, want):
        for n in SHAPES:
            close(gk[n], wk[n])
    moved = max(np.abs(want[-1][n] - X0[n]).max() for n in SHAPES)
    assert moved > 100 * RTOL * max(np.abs(X0[n]).max() for n in SHAPES)      # the comparison is not vacuous


def test_stale_roots_are_reused_between_recomputations():
    # T = 3: the roots in the state change at steps 0, 3, 6, … only, and equal (L + εI)^{-1/4} of that step's L.
    opt = sh.shampoo(0.05, 1.0, EPS, precondition_every=3, graft=None)
    x, s = {"w1": X0["w1"]}, opt.init({"w1": X0["w1"]})
    roots = []
    for k in range(7):
        x, s = opt.step(x, grad(x, k), s)
        roots.append(s.L_root[0][0])
        if k % 3 == 0:
            close(roots[-1], ref_root(s.L[0][0], 0.25, EPS), 1e-10)
        else:
            assert np.array_equal(roots[-1], roots[-2])
    assert not np.allclose(roots[3], roots[2], rtol=1e-6)


# ------------------------------------------------------------------------------------------------ full-matrix AdaGrad
def adagrad_full(x, eta, eps, steps=K, gradient=None):
    H, out = eps * np.eye(len(x)), []
    for k in range(steps):
        g = gradient(x, k)
        H = H + np.outer(g, g)
        lam, Q = np.linalg.eigh(H)
        x = x - eta * (Q / np.sqrt(lam)) @ (Q.T @ g)
        out.append(x.copy())
    return np.array(out)


VEC = _RNG.standard_normal(7)
VCURV = _RNG.uniform(0.5, 5.0, 7)
VNOISE = _RNG.standard_normal((K, 7))


def vgrad(x, k):
    return VCURV * x + VNOISE[k]


@pytest.mark.parametrize("shape", [(7,), (7, 1)])
def test_column_vector_with_exponent_half_is_full_matrix_adagrad(shape):
    # G = g (7 × 1): L = Σ g gᵀ, R = Σ‖g‖² a scalar; with e = 1/2 and the unit dimension not preconditioned the
    # step is η (εI + Σ g gᵀ)^{-1/2} g exactly (module docstring). (7,) goes through vectors="full".
    want = adagrad_full(VEC, 0.1, EPS, gradient=vgrad)
    opt = sh.shampoo(0.1, 1.0, EPS, exponent=0.5, graft=None, vectors="full")
    got = run(opt, {"v": VEC.reshape(shape)}, lambda x, k: {"v": vgrad(x["v"].ravel(), k).reshape(shape)})
    close(np.array([g["v"].ravel() for g in got]), want, 1e-10)
    # The equivalence needs e = 1/2: the default quarter root is measurably another method.
    quarter = run(sh.shampoo(0.1, 1.0, EPS, graft=None, vectors="full"), {"v": VEC.reshape(shape)},
                  lambda x, k: {"v": vgrad(x["v"].ravel(), k).reshape(shape)})
    assert np.abs(np.array([g["v"].ravel() for g in quarter]) - want).max() > 1e-3


def test_preconditioned_unit_dimension_rescales_adagrad_by_the_scalar_R():
    # With R = ε + Σ‖g‖² kept, the step is AdaGrad's direction times R^{-1/2}: compare one step at a time.
    opt = sh.shampoo(0.1, 1.0, EPS, exponent=0.5, graft=None, vectors="full", precondition_unit_dims=True)
    x, s, H, r = {"v": VEC.copy()}, opt.init({"v": VEC}), EPS * np.eye(7), EPS
    for k in range(K):
        g = vgrad(x["v"], k)
        H, r = H + np.outer(g, g), r + g @ g
        want = x["v"] - 0.1 * np.linalg.solve(scipy.linalg.sqrtm(H).real, g) / math.sqrt(r)
        x, s = opt.step(x, {"v": g}, s)
        close(x["v"], want, 1e-10)


# ------------------------------------------------------------------------------------------------ blocking
def test_blocking_equals_independent_shampoos_on_the_blocks():
    # A 7 × 5 leaf cut by b = 3 into rows [0:3, 3:6, 6:7] × cols [0:3, 3:5]: the same as six leaves, each its own
    # unblocked Shampoo (no grafting: grafting is per layer). T = 2 and β = 0.95 exercise the stale roots.
    W0, C = _RNG.standard_normal((7, 5)), _RNG.uniform(0.5, 5.0, (7, 5))
    noise = _RNG.standard_normal((K, 7, 5))
    cuts = [((r0, r1), (c0, c1)) for r0, r1 in ((0, 3), (3, 6), (6, 7)) for c0, c1 in ((0, 3), (3, 5))]
    kw = dict(beta=0.95, eps=EPS, precondition_every=2, graft=None)
    blocked = run(sh.shampoo(0.05, block_size=3, **kw), {"W": W0}, lambda x, k: {"W": C * x["W"] + noise[k]})
    parts = {i: W0[r[0]:r[1], c[0]:c[1]] for i, (r, c) in enumerate(cuts)}
    gpart = lambda x, k: {i: C[r[0]:r[1], c[0]:c[1]] * x[i] + noise[k][r[0]:r[1], c[0]:c[1]]   # noqa: E731
                          for i, (r, c) in enumerate(cuts)}
    indep = run(sh.shampoo(0.05, **kw), parts, gpart)
    for a, b in zip(blocked, indep):
        for i, (r, c) in enumerate(cuts):
            close(a["W"][r[0]:r[1], c[0]:c[1]], b[i], 1e-12)
    s = sh.shampoo(0.05, block_size=3, **kw).init({"W": W0})
    assert [L.shape for L in s.L[0]] == [(3, 3)] * 4 + [(1, 1)] * 2
    assert [R.shape for R in s.R[0]] == [(3, 3), (2, 2)] * 3
    # and it is not the unblocked method
    whole = run(sh.shampoo(0.05, **kw), {"W": W0}, lambda x, k: {"W": C * x["W"] + noise[k]})
    assert np.abs(whole[-1]["W"] - blocked[-1]["W"]).max() > 1e-3


# ------------------------------------------------------------------------------------------------ grafting
@pytest.mark.parametrize("graft", ["sgd", "adam"])
def test_grafting_takes_the_graft_norm_per_layer_and_shampoo_direction(graft):
    # Gradients that do not depend on W, so the runs with and without grafting see the same L, R, hence the same
    # direction D_k. Per layer: ‖ΔW‖_F = ‖step of the graft optimizer‖_F, and ΔW ∥ D (blocked, b = 2).
    keys = ("w1", "w2", "conv")
    g = lambda x, k: {n: NOISE[k][n] * CURV[n] for n in keys}     # noqa: E731
    x0 = {n: X0[n] for n in keys}
    kw = dict(beta=0.9, eps=EPS, precondition_every=2, block_size=2)
    grafted = run(sh.shampoo(0.05, graft=graft, **kw), x0, g)
    bare = run(sh.shampoo(0.05, graft=None, **kw), x0, g)
    ref_opt = ad.sgd(0.05) if graft == "sgd" else ad.adam(0.05)
    ref = run(ref_opt, x0, g)
    prev = {n: (x0, x0, x0) for n in keys}
    for k in range(K):
        for n in keys:
            pg, pb, pr = prev[n]
            step, direction = grafted[k][n] - pg[n], bare[k][n] - pb[n]
            graft_norm = np.linalg.norm(ref[k][n] - pr[n])
            assert abs(np.linalg.norm(step) - graft_norm) <= 1e-12 * graft_norm
            close(step, direction * graft_norm / np.linalg.norm(direction), 1e-12)
            prev[n] = (grafted[k], bare[k], ref[k])
    assert abs(np.linalg.norm(bare[0]["w1"] - X0["w1"]) - np.linalg.norm(ref[0]["w1"] - X0["w1"])) > 1e-3


# ------------------------------------------------------------------------------------------------ NumPy ≡ JAX
def test_numpy_leaves_equal_jax_leaves_under_jit():
    # T = 3 takes the lax.cond path under jit (k is traced); blocking, the Adam graft and the AdaGrad fallback too.
    opt = sh.shampoo(0.05, 0.9, EPS, precondition_every=3, block_size=5, graft="adam")
    want = run(opt, dict(X0))
    x = {n: jnp.asarray(v) for n, v in X0.items()}
    s = opt.init(x)
    step = jax.jit(lambda x, s, noise: opt.step(x, {n: CURV[n] * x[n] + noise[n] for n in x}, s))
    for k in range(K):
        x, s = step(x, s, NOISE[k])
        for n in SHAPES:
            close(x[n], want[k][n], 1e-10)
    assert int(s.k) == K


def test_optax_adapter_under_jit():
    import optax
    opt = sh.shampoo(0.05, 1.0, EPS, graft="sgd")
    x0 = {n: X0[n] for n in ("w1", "b")}
    want = run(opt, x0, steps=3)
    tx = sh.to_optax(opt)
    x = {n: jnp.asarray(v) for n, v in x0.items()}
    s = tx.init(x)

    @jax.jit
    def update(x, s, noise):
        u, s = tx.update({n: CURV[n] * x[n] + noise[n] for n in x}, s, x)
        return optax.apply_updates(x, u), s

    for k in range(3):
        x, s = update(x, s, {n: NOISE[k][n] for n in x0})
    for n in x0:
        close(x[n], want[-1][n], 1e-10)


def test_inverse_root_adds_eps_to_the_eigenvalues():
    S = np.array([[2.0, 1.0], [1.0, 2.0]])                    # eigenvalues 1, 3
    close(sh.inverse_root(S, 0.5, 1.0), ref_root(S, 0.5, 1.0), 1e-13)
    close(sh.inverse_root(np.array([[3.0]]), 0.5, 1.0), [[0.5]], 1e-15)
    lam = np.linalg.eigvalsh(sh.inverse_root(S, 0.25, 1.0))
    close(np.sort(lam), [4.0 ** -0.25, 2.0 ** -0.25], 1e-13)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, name", [
    ({"eta": 0.0}, "eta"), ({"eta": "0.1"}, "eta"), ({"beta": 0.0}, "beta"), ({"beta": 1.1}, "beta"),
    ({"eps": 0.0}, "eps"), ({"eps": float("nan")}, "eps"), ({"exponent": 0.0}, "exponent"),
    ({"exponent": 2.0}, "exponent"), ({"precondition_every": 0}, "precondition_every"),
    ({"precondition_every": 1.5}, "precondition_every"), ({"block_size": 0}, "block_size"),
    ({"block_size": True}, "block_size"), ({"graft": "adagrad"}, "graft"), ({"graft_beta1": 1.0}, "graft_beta1"),
    ({"graft_beta2": -0.1}, "graft_beta2"), ({"graft_eps": 0.0}, "graft_eps"), ({"vectors": "matrix"}, "vectors"),
    ({"diagonal": "sgd"}, "diagonal"),
])
def test_bad_hyperparameters_raise_naming_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        sh.shampoo(**{"eta": 0.05, **kw})


def test_bad_pytrees_and_leaves_raise():
    x, s = noisy_pytree.rejects_mismatched_trees(sh.shampoo(0.05), X0)
    with pytest.raises(ValueError, match="diagonal"):
        sh.shampoo(0.05, diagonal=None).init(x)
    sh.shampoo(0.05, diagonal=None, vectors="full").init(x)        # a vector is a matrix leaf then: no fallback needed
    with pytest.raises(ValueError, match="diagonal"):
        sh.shampoo(0.05, diagonal=None, vectors="full").init({"g": X0["g"]})
