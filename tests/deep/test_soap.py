"""SOAP (utils.soap): K = 15 steps against a dense NumPy reference of the same math and against the torch
implementation ``pytorch_optimizer.SOAP`` (a port of the paper's code), the identity basis ≡ Adam, diagonal
gradients ≡ Adam, equivariance under orthogonal changes of coordinates (which Adam lacks), NumPy ≡ JAX under jit,
the optax adapter, and bad input.

Setup. Leaves of shapes (5, 4), (4, 4), a (2, 1, 2, 3) HWIO kernel (read as 4 × 3), (2,) and (), driven by
g_k(W) = C ⊙ W + s_k ξ_k (C ∈ [0.5, 5] per entry, ξ_k standard normal, s_k = exp(0.5 z_k)), seed 0. The shapes
are chosen so that every factor's null space has dimension ≤ 1 after the first gradient: SOAP's iterates
depend on the eigenbasis *chosen* inside a degenerate eigenspace of L or R (V is kept per basis vector), so with
a larger null space two correct implementations may legitimately disagree; a 1-D null space fixes the basis up
to sign, and signs cancel (G' and N flip together).

The reference is written independently of the module: the rotation as the Kronecker product
vec(G') = (Q_L ⊗ Q_R)ᵀ vec(G) (row-major vec), a plain loop over steps, ``numpy.linalg.eigh`` / ``qr``.

Tolerances (float64). Over the 15 steps the factors' nonzero eigenvalues lie in [0.038, 59] and the rotated
second moments have √V ≥ 5.9e-3 (measured), so one step's rounding reaches W amplified by at most ≈ κ ≈ 2e3 (the
eigenvectors' conditioning) times ≈ 1/√V ≈ 2e2: ≲ 4e5·u ≈ 5e-11 per step, ≲ 1e-9 over 15 steps without assuming
any contraction. We assert RTOL = 1e-9 with ATOL = 1e-9·max|W| (measured ≤ 3.3e-15). NumPy vs JAX leaves use
different eigen/QR solvers (LAPACK through NumPy, XLA's through jnp) on the same math: held to 1e-10 (measured
2.5e-15). Against ``pytorch_optimizer.SOAP``: without a basis refresh (T > K) the same operations in float64,
asserted 1e-12 (measured 9.5e-16); with refreshes it casts the power-iteration matrix to float32 before its QR
(its code says so), so Q carries float32 rounding (≈ 6e-8): asserted 1e-5·max|W| (measured 1.3e-7), with W moving
by ≈ 0.6-1.0, so the comparison is not vacuous. The identity basis is bit-identical to utils.adaptive.adam
(asserted 1e-13); the fixed-singular-basis reduction to Adam holds to 4.0e-12 (asserted 1e-9, the bound is in the
test); rotation equivariance to 9.5e-16 (asserted 1e-9) while Adam misses it by 0.36.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import noisy_pytree

from utils import adaptive as ad
from utils import soap as sp

K = 15
RTOL = 1e-9
SHAPES = {"w1": (5, 4), "w2": (4, 4), "conv": (2, 1, 2, 3), "b": (2,), "g": ()}

_RNG = np.random.default_rng(0)
X0, CURV, NOISE = noisy_pytree.noisy_quadratic(K, _RNG, shapes=SHAPES, spread=0.5)


def grad(x, k):
    return {n: CURV[n] * x[n] + NOISE[k][n] for n in x}      # x may be a sub-dict of X0


def close(a, b, rtol=RTOL):
    noisy_pytree.close(a, b, rtol)


def run(opt, x, gradient=grad, steps=K):
    return noisy_pytree.run(opt, x, gradient, steps)


# ------------------------------------------------------------------------------------------------ reference
def eig_desc(S):
    lam, Q = np.linalg.eigh(S)
    return Q[:, ::-1]


def reference(x, eta, b1, b2, bs, eps, lam, T, dmax=10_000, one_d=False, basis="qr", skip_first=True,
              eps_scaled=False, gradient=grad, steps=K):
    """Dense SOAP, one leaf at a time: Kronecker rotations, Adam on vec(G'), a basis refresh every T steps."""
    x = {n: v.copy() for n, v in x.items()}
    st, out = {}, []
    for k in range(steps):
        g = gradient(x, k)
        for n in x:
            shape = x[n].shape
            G = g[n].reshape((1, 1) if not shape else (-1, 1) if len(shape) == 1 else (-1, shape[-1]))
            m, nn = G.shape
            use_l = (m <= dmax) and (len(shape) >= 2 or (len(shape) == 1 and one_d))
            use_r = (nn <= dmax) and len(shape) >= 2
            if n not in st:
                st[n] = dict(L=np.zeros((m, m)), R=np.zeros((nn, nn)), QL=np.eye(m), QR=np.eye(nn),
                             M=np.zeros(m * nn), V=np.zeros(m * nn), t=0)
            s = st[n]
            if skip_first and k == 0:
                s["L"], s["R"] = (1 - bs) * G @ G.T, (1 - bs) * G.T @ G
                s["QL"] = eig_desc(s["L"]) if use_l else np.eye(m)
                s["QR"] = eig_desc(s["R"]) if use_r else np.eye(nn)
                continue
            s["t"] += 1
            t = s["t"]
            Qk = np.kron(s["QL"], s["QR"])
            gp = Qk.T @ G.ravel()
            s["M"] = b1 * s["M"] + (1 - b1) * G.ravel()
            s["V"] = b2 * s["V"] + (1 - b2) * gp ** 2
            mp = Qk.T @ s["M"]
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            if eps_scaled:
                u = (mp / c1) / (np.sqrt(s["V"] / c2) + eps)
            else:
                u = np.sqrt(c2) / c1 * mp / (np.sqrt(s["V"]) + eps)
            x[n] = (x[n] - eta * (Qk @ u).reshape(shape)) * (1 - eta * lam)
            s["L"] = bs * s["L"] + (1 - bs) * G @ G.T
            s["R"] = bs * s["R"] + (1 - bs) * G.T @ G
            if t % T == 0:
                V = s["V"].reshape(m, nn)
                if basis == "eigh":
                    s["QL"] = eig_desc(s["L"]) if use_l else s["QL"]
                    s["QR"] = eig_desc(s["R"]) if use_r else s["QR"]
                else:
                    for side in ("L", "R"):
                        if not (use_l if side == "L" else use_r):
                            continue
                        Q = s["Q" + side]
                        P = s[side] @ Q
                        order = np.argsort(-np.diag(Q.T @ s[side] @ Q))
                        s["Q" + side] = np.linalg.qr(P[:, order])[0]
                        V = V[order, :] if side == "L" else V[:, order]
                s["V"] = V.ravel()
        out.append({n: v.copy() for n, v in x.items()})
    return out


CONFIGS = {
    "paper_qr_T3_decay": dict(b1=0.9, b2=0.95, bs=0.95, lam=0.1, T=3),
    "eigh_T2_shampoo_beta": dict(b1=0.9, b2=0.99, bs=0.8, lam=0.0, T=2, basis="eigh"),
    "no_skip_T1_eps_scaled": dict(b1=0.95, b2=0.95, bs=0.9, lam=0.05, T=1, skip_first=False, eps_scaled=True),
    "identity_sides_and_1d": dict(b1=0.9, b2=0.95, bs=0.95, lam=0.0, T=2, dmax=4, one_d=True),
}


def soap_of(c, eta=0.05, eps=1e-8):
    return sp.soap(eta, c["b1"], c["b2"], eps, c["lam"], shampoo_beta=c["bs"], precondition_every=c["T"],
                   max_precondition_dim=c.get("dmax", 10_000), precondition_1d=c.get("one_d", False),
                   eigenbasis=c.get("basis", "qr"), skip_first=c.get("skip_first", True),
                   eps_scaled=c.get("eps_scaled", False))


@pytest.mark.parametrize("name", CONFIGS)
def test_matches_dense_kronecker_reference(name):
    c = CONFIGS[name]
    got = run(soap_of(c), dict(X0))
    want = reference(dict(X0), 0.05, c["b1"], c["b2"], c["bs"], 1e-8, c["lam"], c["T"], c.get("dmax", 10_000),
                     c.get("one_d", False), c.get("basis", "qr"), c.get("skip_first", True),
                     c.get("eps_scaled", False))
    for gk, wk in zip(got, want):
        for n in SHAPES:
            close(gk[n], wk[n])
    moved = max(np.abs(want[-1][n] - X0[n]).max() for n in SHAPES)
    assert moved > 0.1                                                  # the comparison is not vacuous


def test_state_follows_the_refresh_schedule():
    # T = 3 with skip_first: the basis is built at the first call, then changes after the updates t = 3, 6, ….
    opt = sp.soap(0.05, precondition_every=3)
    x, s = {"w2": X0["w2"]}, opt.init({"w2": X0["w2"]})
    assert np.array_equal(s.Q_L[0], np.eye(4))
    bases = []
    for k in range(8):
        x1, s = opt.step(x, grad(x, k), s)
        if k == 0:
            assert np.array_equal(x1["w2"], x["w2"]) and not s.M[0].any()    # nothing moves at the first call
        x = x1
        bases.append(s.Q_L[0])
    close(bases[0].T @ bases[0], np.eye(4), 1e-13)
    for k in range(1, 8):                                                # update t = k
        assert np.array_equal(bases[k], bases[k - 1]) == (k % 3 != 0), k
    close(bases[6].T @ bases[6], np.eye(4), 1e-13)


# ------------------------------------------------------------------------------------------------ pytorch_optimizer
def torch_soap_run(c, steps=K, eta=0.05, eps=1e-8):
    torch = pytest.importorskip("torch")
    SOAP = pytest.importorskip("pytorch_optimizer").SOAP
    names = ("w1", "w2", "b", "g")                                      # no >2-D leaf: it keeps one factor per axis
    ps = {n: torch.tensor(X0[n], requires_grad=True) for n in names}
    opt = SOAP(list(ps.values()), lr=eta, betas=(c["b1"], c["b2"]), shampoo_beta=c["bs"], weight_decay=c["lam"],
               precondition_frequency=c["T"], max_precondition_dim=c.get("dmax", 10_000),
               precondition_1d=c.get("one_d", False), eps=eps)
    out = []
    for k in range(steps):
        g = grad({n: p.detach().numpy() for n, p in ps.items()}, k)
        for n, p in ps.items():
            p.grad = torch.tensor(g[n])
        opt.step()
        out.append({n: p.detach().numpy().copy() for n, p in ps.items()})
    return out


@pytest.mark.parametrize("name, T, rtol", [("paper_qr_T3_decay", 100, 1e-12), ("paper_qr_T3_decay", 3, 1e-5),
                                           ("identity_sides_and_1d", 2, 1e-5)])
def test_matches_pytorch_optimizer_soap(name, T, rtol):
    c = dict(CONFIGS[name], T=T)
    want = torch_soap_run(c)
    got = run(soap_of(c), {n: X0[n] for n in want[0]})
    for gk, wk in zip(got, want):
        for n in wk:
            close(gk[n], wk[n], rtol)
    assert max(np.abs(want[-1][n] - X0[n]).max() for n in want[0]) > 0.1


# ------------------------------------------------------------------------------------------------ Adam facts
@pytest.mark.parametrize("skip_first", [False, True])
def test_identity_basis_is_adam(skip_first):
    # max_precondition_dim = 1: every side longer than 1 gets Q = I (the paper's large-dimension rule), so
    # G' = G and SOAP is Adam (ε on √V̂ with eps_scaled); skip_first drops the first gradient from Adam's stream.
    opt = sp.soap(0.05, 0.9, 0.99, 1e-8, max_precondition_dim=1, eps_scaled=True, skip_first=skip_first,
                  precondition_every=2)
    x = {n: X0[n] for n in ("w1", "conv", "b", "g")}
    got = run(opt, x)
    shift = 1 if skip_first else 0
    want = run(ad.adam(0.05, 0.9, 0.99, 1e-8), x, lambda y, k: grad(y, k + shift), K - shift)
    for gk, wk in zip(got[shift:], want):
        for n in x:
            close(gk[n], wk[n], 1e-13)
    # the default eps placement (their code's) is a different ε: ε/√(1 − β₂ᵗ) on √V̂; measurable with a large ε
    a = run(sp.soap(0.05, 0.9, 0.99, 0.1, max_precondition_dim=1, skip_first=skip_first), x)
    b = run(ad.adam(0.05, 0.9, 0.99, 0.1), x, lambda y, k: grad(y, k + shift), K - shift)
    assert np.abs(a[-1]["w1"] - b[-1]["w1"]).max() > 1e-3


def _adam_vectors(svals, eta, b1, b2, eps):
    """Adam (ε on √v̂) on a sequence of given gradients; returns the displacements x_k − x_0."""
    m = v = 0.0
    d, out = np.zeros_like(svals[0]), []
    for t, g in enumerate(svals, 1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        d = d - eta * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        out.append(d.copy())
    return out


@pytest.mark.parametrize("basis", ["qr", "eigh"])
def test_fixed_singular_basis_reduces_to_adam_on_the_singular_values(basis):
    # G_k = U diag(s_k) Vᵀ with fixed orthogonal U, V: L = U diag(Σ β s²) Uᵀ, R = V diag(…) Vᵀ, so the
    # eigenbases are U, V up to signs and order, G' = diag(±s_k) permuted, and SOAP (T = 1) moves W by
    # U diag(Adam's displacement on s) Vᵀ. U = V = I is the diagonal-statistics problem. The first gradient only
    # builds the basis (skip_first), so Adam sees s_1, s_2, …
    n = 4
    U, _ = np.linalg.qr(_RNG.standard_normal((n, n)))
    Vo, _ = np.linalg.qr(_RNG.standard_normal((n, n)))
    base = np.array([4.0, 2.0, 1.0, 0.5])                       # distinct scales: no eigenvalue ties
    svals = [base * np.exp(0.3 * _RNG.standard_normal(n)) * np.sign(_RNG.standard_normal(n)) for _ in range(K)]
    # The entries of G' off the diagonal are rounding (≈ 1e-15·|s|, not 0) with √V of the same size, so Adam
    # returns ≈ M'/ε there: ε = 1e-4 keeps that below ≈ η·1e-15·4/ε ≈ 2e-12 per step (asserted 1e-9).
    eta, b1, b2, eps = 0.05, 0.9, 0.95, 1e-4
    want = _adam_vectors(svals[1:], eta, b1, b2, eps)
    for Ul, Vr, tol in ((np.eye(n), np.eye(n), 1e-13), (U, Vo, 1e-9)):
        opt = sp.soap(eta, b1, b2, eps, shampoo_beta=0.9, precondition_every=1, eigenbasis=basis, eps_scaled=True)
        W0 = _RNG.standard_normal((n, n))
        got = run(opt, {"W": W0}, lambda x, k: {"W": Ul @ np.diag(svals[k]) @ Vr.T})
        assert np.array_equal(got[0]["W"], W0)
        for k in range(K - 1):
            close(Ul.T @ (got[k + 1]["W"] - W0) @ Vr, np.diag(want[k]), tol)
    # Adam itself does not: in the rotated case its step is not U diag(·) Vᵀ
    adam = run(ad.adam(eta, b1, b2, eps), {"W": W0}, lambda x, k: {"W": U @ np.diag(svals[k]) @ Vo.T})
    off = U.T @ (adam[-1]["W"] - W0) @ Vo
    assert np.abs(off - np.diag(np.diag(off))).max() > 1e-3


@pytest.mark.parametrize("basis", ["qr", "eigh"])
def test_equivariant_under_orthogonal_changes_of_coordinates(basis):
    # Train on W̃ = U W Vᵀ with the oracle G̃(W̃) = U G(Uᵀ W̃ V) Vᵀ: L̃ = U L Uᵀ, R̃ = V R Vᵀ, Q̃ = U Q (up to
    # signs), G̃' = G', so W̃_k = U W_k Vᵀ. Square leaves: full-rank factors from the first gradient (see the top).
    names = ("w2",)
    n = 4
    U, _ = np.linalg.qr(_RNG.standard_normal((n, n)))
    Vo, _ = np.linalg.qr(_RNG.standard_normal((n, n)))
    x = {"w2": X0["w2"]}
    rot_grad = lambda y, k: {"w2": U @ grad({"w2": U.T @ y["w2"] @ Vo}, k)["w2"] @ Vo.T}   # noqa: E731
    for make, equivariant in ((lambda: sp.soap(0.05, 0.9, 0.95, 1e-8, 0.1, precondition_every=2,
                                               eigenbasis=basis), True),
                              (lambda: ad.adam(0.05, 0.9, 0.95, 1e-8), False)):
        plain = run(make(), x)
        rotated = run(make(), {"w2": U @ X0["w2"] @ Vo.T}, rot_grad)
        err = max(np.abs(U.T @ r["w2"] @ Vo - p["w2"]).max() for p, r in zip(plain, rotated))
        assert (err < 1e-9) if equivariant else (err > 1e-3), (names, err)


# ------------------------------------------------------------------------------------------------ NumPy ≡ JAX
def test_numpy_leaves_equal_jax_leaves_under_jit():
    # k is traced under jit: the skipped first step (eigh) and the QR refresh (T = 3) take the lax.cond paths.
    opt = sp.soap(0.05, 0.9, 0.95, 1e-8, 0.1, precondition_every=3, max_precondition_dim=4, precondition_1d=True)
    x0 = {n: X0[n] for n in ("w1", "conv", "b")}               # a side longer than 4, a reshaped kernel, a vector
    want = run(opt, x0)
    x = {n: jnp.asarray(v) for n, v in x0.items()}
    s = opt.init(x)
    step = jax.jit(lambda x, s, noise: opt.step(x, {n: CURV[n] * x[n] + noise[n] for n in x}, s))
    for k in range(K):
        x, s = step(x, s, {n: NOISE[k][n] for n in x0})
        for n in x0:
            close(x[n], want[k][n], 1e-10)
    assert int(s.k) == K


def test_optax_adapter_under_jit():
    import optax
    opt = sp.soap(0.05, precondition_every=2)
    x0 = {n: X0[n] for n in ("w1", "b")}
    want = run(opt, x0, steps=4)
    tx = sp.to_optax(opt)
    x = {n: jnp.asarray(v) for n, v in x0.items()}
    s = tx.init(x)

    @jax.jit
    def update(x, s, noise):
        u, s = tx.update({n: CURV[n] * x[n] + noise[n] for n in x}, s, x)
        return optax.apply_updates(x, u), s

    for k in range(4):
        x, s = update(x, s, {n: NOISE[k][n] for n in x0})
    for n in x0:
        close(x[n], want[-1][n], 1e-10)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, name", [
    ({"eta": 0.0}, "eta"), ({"eta": "0.1"}, "eta"), ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
    ({"shampoo_beta": 1.0}, "shampoo_beta"), ({"eps": 0.0}, "eps"), ({"eps": float("nan")}, "eps"),
    ({"weight_decay": -1e-3}, "weight_decay"), ({"precondition_every": 0}, "precondition_every"),
    ({"precondition_every": 2.5}, "precondition_every"), ({"max_precondition_dim": 0}, "max_precondition_dim"),
    ({"max_precondition_dim": True}, "max_precondition_dim"), ({"eigenbasis": "svd"}, "eigenbasis"),
    ({"skip_first": 1}, "skip_first"), ({"precondition_1d": "yes"}, "precondition_1d"),
    ({"eps_scaled": None}, "eps_scaled"), ({"bias_correction": 0}, "bias_correction"),
])
def test_bad_hyperparameters_raise_naming_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        sp.soap(**{"eta": 0.05, **kw})


def test_bad_pytrees_raise():
    x, s = noisy_pytree.rejects_mismatched_trees(sp.soap(0.05), X0)
    with pytest.raises(ValueError, match="state"):
        y = {"w1": X0["w1"], "b": X0["b"]}
        sp.soap(0.05, precondition_1d=True).step(y, y, s)
