"""K-FAC (utils.kfac): the batch factors and gradients against a NumPy forward/backward and np.kron with the vec
ordering explicit; on one linear least-squares layer (Gaussian likelihood, where the Fisher is the Gauss–Newton
matrix and equals A ⊗ G exactly) the eigen-damped step equals the dense damped natural-gradient step and the
factored-damped step equals the dense inverse of (A + πγI) ⊗ (G + γ/π I); the measured gap to the true Fisher
where A ⊗ G is not exact (softmax layer, empirical Fisher, n > 1) and the exactness condition
F − A⊗G = (1/n)Σ(ā āᵀ − A) ⊗ (G_i − G); π and its optimality; running averages and inverses every T steps;
NumPy ≡ JAX under jit; bad input.

Tolerances: factors and gradients are sums of n ≤ 8 products computed in a different order, so they agree to a
few ulps of their scale (RTOL = 1e-12). The damped steps solve systems with condition number ≤ ~1e3 here, so
RTOL_SOLVE = 1e-9 relative to the step's norm.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from utils import kfac

RTOL, RTOL_SOLVE = 1e-12, 1e-9


def close(got, want, rtol=RTOL):
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.max(np.abs(want))))


def curv(*args, **kw):
    """kfac.curvature with NumPy leaves, so the optimizer steps below run eagerly in NumPy."""
    return jax.tree.map(np.asarray, kfac.curvature(*args, **kw))


def vecF(W):
    """vec stacking columns: vec(g āᵀ) = ā ⊗ g, so the Fisher block is np.kron(A, G) in this ordering."""
    return np.asarray(W).ravel(order="F")


def problem(seed=0, n=6, sizes=(3, 4, 2)):
    rng = np.random.default_rng(seed)
    params = [0.7 * rng.standard_normal((d_out, d_in + 1)) for d_in, d_out in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((n, sizes[0]))
    return params, x, rng


def numpy_mlp(params, x):
    """Forward and backward by hand: ā_l, s_l and the Jacobians ∂f_i/∂s_{l,i} per example."""
    a, abars, ss = x, [], []
    for l, W in enumerate(params):
        ab = np.hstack([a, np.ones((len(a), 1))])
        s = ab @ W.T
        abars.append(ab), ss.append(s)
        a = np.tanh(s) if l < len(params) - 1 else s
    C = params[-1].shape[0]
    J = [None] * len(params)
    J[-1] = np.broadcast_to(np.eye(C), (len(x), C, C))                        # ∂f/∂s_L = I
    for l in range(len(params) - 2, -1, -1):                                   # ∂f/∂s_l = J_{l+1} W' diag(tanh')
        Wp = params[l + 1][:, :-1]
        J[l] = np.einsum("nck,kj,nj->ncj", J[l + 1], Wp, 1 - np.tanh(ss[l]) ** 2)
    return a, abars, J


@pytest.mark.parametrize("likelihood", ["gaussian", "softmax"])
def test_factors_and_gradient_match_numpy_reference(likelihood):
    params, x, rng = problem()
    n = len(x)
    f, abars, J = numpy_mlp(params, x)
    if likelihood == "gaussian":
        y = rng.standard_normal(f.shape)
        dout = f - y
        H = np.broadcast_to(np.eye(f.shape[1]), (n,) + 2 * f.shape[1:])
        loss = lambda p: 0.5 * jnp.sum((kfac.mlp(p, x)[0] - y) ** 2) / n           # noqa: E731
    else:
        y = rng.integers(0, f.shape[1], n)
        p_ = np.exp(f - f.max(1, keepdims=True)); p_ /= p_.sum(1, keepdims=True)
        dout = p_ - np.eye(f.shape[1])[y]
        H = np.einsum("ni,ij->nij", p_, np.eye(f.shape[1])) - np.einsum("ni,nj->nij", p_, p_)
        loss = lambda p: -jnp.mean(jax.nn.log_softmax(kfac.mlp(p, x)[0])[jnp.arange(n), y])   # noqa: E731
    auto = jax.jit(jax.value_and_grad(loss))([jnp.asarray(W) for W in params])
    for fisher in ("exact", "empirical"):
        c = kfac.curvature(params, x, y, likelihood=likelihood, fisher=fisher)
        close(c.loss, auto[0])
        for l in range(len(params)):
            g = np.einsum("nc,ncj->nj", dout, J[l])                                # per-example ∂ℓ_i/∂s_l
            close(c.grads[l], g.T @ abars[l] / n)
            close(c.grads[l], auto[1][l])
            close(c.factors.A[l], abars[l].T @ abars[l] / n)
            G_ref = g.T @ g / n if fisher == "empirical" else np.einsum("nci,ncd,ndj->ij", J[l], H, J[l]) / n
            close(c.factors.G[l], G_ref)


def test_sampled_fisher_averages_to_the_exact_one():
    """One label per example drawn from the model: the mean of Ĝ over S draws is within 5 standard errors of
    the exact expectation (entrywise, the standard error measured from the draws)."""
    params, x, rng = problem(1)
    y = rng.integers(0, 2, len(x))
    exact = kfac.curvature(params, x, y, likelihood="softmax", fisher="exact").factors.G
    S = 2000
    keys = jax.random.split(jax.random.key(0), S)
    draw = lambda k: kfac.curvature(params, x, y, likelihood="softmax", fisher="sampled", key=k).factors.G  # noqa
    Gs = jax.jit(jax.vmap(draw))(keys)
    for l in range(len(params)):
        G = np.asarray(Gs[l])
        se = G.std(0) / np.sqrt(S)
        assert np.all(np.abs(G.mean(0) - np.asarray(exact[l])) <= 5 * se + 1e-15)
        assert np.max(se) < 0.05 * np.max(np.abs(np.asarray(exact[l])))       # the test has power


def test_vec_ordering_and_batch_of_one_is_exact():
    """vec_F(g āᵀ) = ā ⊗ g (np.kron(a, g)); for n = 1 the Fisher of that example is kron(A, G) exactly, and
    in NumPy's row-major ravel the same matrix is kron(G, A)."""
    params, x, rng = problem(2, n=1)
    y = rng.standard_normal((1, 2))
    c = kfac.curvature(params, x, y, fisher="empirical")
    for l in range(len(params)):
        ab = np.asarray(kfac.mlp(params, x)[1][l])[0]
        g = np.asarray(c.grads[l])[:, -1]                    # the bias column of g āᵀ is g (ā ends in 1)
        close(vecF(c.grads[l]), np.kron(ab, g))
        close(np.outer(vecF(c.grads[l]), vecF(c.grads[l])), np.kron(c.factors.A[l], c.factors.G[l]))
        close(np.outer(np.ravel(c.grads[l]), np.ravel(c.grads[l])), np.kron(c.factors.G[l], c.factors.A[l]))


def linear_layer(seed=3, n=8, d_in=3, C=2):
    rng = np.random.default_rng(seed)
    W = [rng.standard_normal((C, d_in + 1))]
    x = rng.standard_normal((n, d_in)) + 0.5
    return W, x, rng


_jacobian = jax.jit(jax.jacobian(lambda w, x: kfac.mlp([w], x)[0]))


def dense_fisher_linear(W, x, H):
    """(1/n) Σ_i J_iᵀ H_i J_i with J_i = ∂f_i/∂vec_F(W) from jax.jacobian (the dense Fisher of one layer)."""
    n = len(x)
    Jf = _jacobian(jnp.asarray(W[0]), jnp.asarray(x))                           # (n, C, d_out, d_in + 1)
    Jf = np.asarray(Jf).transpose(0, 1, 3, 2).reshape(n, Jf.shape[1], -1)      # column-major vec of W
    return np.einsum("nci,ncd,ndj->ij", Jf, H, Jf) / n


@pytest.mark.parametrize("lam", [1e-3, 1e-1, 1.0])
def test_linear_least_squares_step_equals_dense_damped_natural_gradient(lam):
    W, x, rng = linear_layer()
    y = rng.standard_normal((len(x), 2))
    c = curv(W, x, y)
    A, G = np.asarray(c.factors.A[0]), np.asarray(c.factors.G[0])
    F = dense_fisher_linear(W, x, np.broadcast_to(np.eye(2), (len(x), 2, 2)))  # Gaussian: Fisher = Gauss–Newton
    close(F, np.kron(A, G))                                                    # exact for this layer
    eta, grad = 0.7, vecF(c.grads[0])
    ng = -eta * np.linalg.solve(F + lam * np.eye(len(F)), grad)                # damped natural gradient, dense

    opt = kfac.kfac(eta=eta, damping=lam, damping_mode="eigen")
    W1, _ = opt.step(W, c.grads, opt.init(W), c.factors)
    step = vecF(W1[0] - W[0])
    close(step, ng, RTOL_SOLVE)

    opt = kfac.kfac(eta=eta, damping=lam)                                      # factored Tikhonov, π
    W1, _ = opt.step(W, c.grads, opt.init(W), c.factors)
    fac = vecF(W1[0] - W[0])
    gamma = np.sqrt(lam)
    pi = np.sqrt((np.trace(A) / A.shape[0]) / (np.trace(G) / G.shape[0]))
    K = np.kron(A + pi * gamma * np.eye(len(A)), G + gamma / pi * np.eye(len(G)))
    close(fac, -eta * np.linalg.solve(K, grad), RTOL_SOLVE)
    gap = np.linalg.norm(fac - ng) / np.linalg.norm(ng)     # factored damping ≠ λI: measured 0.14, 0.37, 0.49
    assert 0.05 < gap < 1.0


def test_factored_damping_tends_to_the_natural_gradient():
    W, x, rng = linear_layer()
    y = rng.standard_normal((len(x), 2))
    c = curv(W, x, y)
    F = np.kron(c.factors.A[0], c.factors.G[0])
    ng = -np.linalg.solve(F, vecF(c.grads[0]))
    gaps = []
    for lam in (1e-2, 1e-4, 1e-6):
        opt = kfac.kfac(eta=1.0, damping=lam)
        W1, _ = opt.step(W, c.grads, opt.init(W), c.factors)
        gaps.append(np.linalg.norm(vecF(W1[0] - W[0]) - ng) / np.linalg.norm(ng))
    # O(√λ), the extra term being γ(πI⊗G + A⊗I/π): measured 0.30, 0.055, 0.0060 (≈ 10× per 100× in λ)
    assert gaps[0] > 3 * gaps[1] > 9 * gaps[2] and gaps[2] < 1e-2


def test_gap_to_the_true_fisher_where_kronecker_is_not_exact():
    """F − A⊗G = (1/n)Σ(ā_iā_iᵀ − A) ⊗ (G_i − G): zero for the Gaussian layer (G_i = I), not for a softmax
    layer (G_i = diag p_i − p_ip_iᵀ) nor for the empirical Fisher (G_i = r_ir_iᵀ)."""
    W, x, rng = linear_layer(C=3)
    n = len(x)
    ab = np.hstack([x, np.ones((n, 1))])
    gaps, steps = {}, {}
    f = ab @ W[0].T
    p = np.exp(f - f.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    H_soft = np.einsum("ni,ij->nij", p, np.eye(3)) - np.einsum("ni,nj->nij", p, p)
    y_lab = rng.integers(0, 3, n)
    y_real = rng.standard_normal((n, 3))
    r = f - y_real
    cases = {"softmax": (H_soft, curv(W, x, y_lab, likelihood="softmax")),
             "empirical": (np.einsum("ni,nj->nij", r, r), curv(W, x, y_real, fisher="empirical")),
             "gaussian": (np.broadcast_to(np.eye(3), (n, 3, 3)), curv(W, x, y_real))}
    for name, (H, c) in cases.items():
        F = dense_fisher_linear(W, x, H)
        A, G = np.asarray(c.factors.A[0]), np.asarray(c.factors.G[0])
        close(G, H.mean(0))
        KF = np.kron(A, G)
        cross = np.mean([np.kron(np.outer(a, a) - A, Hi - G) for a, Hi in zip(ab, H)], axis=0)
        close(F - KF, cross)
        gaps[name] = np.linalg.norm(F - KF) / np.linalg.norm(F)
        g, lam = vecF(c.grads[0]), 1e-3                       # the damped steps −(F + λI)⁻¹∇ vs −(A⊗G + λI)⁻¹∇
        ng, kf = (np.linalg.solve(M + lam * np.eye(len(M)), g) for M in (F, KF))
        steps[name] = np.linalg.norm(kf - ng) / np.linalg.norm(ng)
    assert gaps["gaussian"] < 1e-13 and steps["gaussian"] < 1e-12
    # measured: ‖F − A⊗G‖_F/‖F‖_F = 0.36 (softmax), 0.56 (empirical); the steps differ by 0.78 and 1.24
    assert gaps["softmax"] > 0.1 and gaps["empirical"] > 0.1
    assert steps["softmax"] > 0.1 and steps["empirical"] > 0.1


def test_pi_damping_formula_and_its_optimality():
    rng = np.random.default_rng(4)
    M, N = rng.standard_normal((5, 5)), rng.standard_normal((3, 3))
    A, G = M @ M.T, 0.01 * N @ N.T
    pi = float(kfac.pi_damping(A, G))
    close(pi, np.sqrt((np.trace(A) / 5) / (np.trace(G) / 3)))
    close(float(kfac.pi_damping(jnp.asarray(A), jnp.asarray(G))), pi)
    extra = lambda q: np.trace(q * np.kron(np.eye(5), G) + np.kron(A, np.eye(3)) / q)   # noqa: E731
    grid = pi * np.exp(np.linspace(-1, 1, 201))
    assert abs(grid[np.argmin([extra(q) for q in grid])] / pi - 1) < 0.011     # grid spacing 1%
    opt = kfac.kfac(eta=1.0, damping=0.04, pi=False)                           # π = 1
    W, gr = [np.zeros((3, 5))], [rng.standard_normal((3, 5))]
    W1, _ = opt.step(W, gr, opt.init(W), kfac.Factors([A], [G]))
    close(-W1[0], np.linalg.solve(G + 0.2 * np.eye(3), gr[0]) @ np.linalg.inv(A + 0.2 * np.eye(5)), RTOL_SOLVE)


def batches(steps, seed=5):
    W, x, rng = problem(seed, n=5)
    out = []
    for j in range(steps):
        xj = rng.standard_normal(x.shape)
        out.append(curv(W, xj, rng.integers(0, 2, len(xj)), likelihood="softmax"))
    return W, out


def test_running_averages_and_inverse_every_T():
    T, decay, lam, steps = 3, 0.8, 1e-2, 7
    W, cs = batches(steps)
    opt = kfac.kfac(eta=0.1, damping=lam, decay=decay, inverse_every=T)
    s = opt.init(W)
    A_ref = [np.zeros_like(a) for a in cs[0].factors.A]
    G_ref = [np.zeros_like(g) for g in cs[0].factors.G]
    for k, c in enumerate(cs):
        prev = s
        eps = min(1 - 1 / (k + 1), decay)                                      # Martens & Grosse §5
        A_ref = [eps * a + (1 - eps) * np.asarray(b) for a, b in zip(A_ref, c.factors.A)]
        G_ref = [eps * g + (1 - eps) * np.asarray(b) for g, b in zip(G_ref, c.factors.G)]
        W_new, s = opt.step(W, c.grads, s, c.factors)
        for l in range(len(W)):
            close(s.A[l], A_ref[l]), close(s.G[l], G_ref[l])
            if k % T == 0:
                pi = np.sqrt((np.trace(A_ref[l]) / len(A_ref[l])) / (np.trace(G_ref[l]) / len(G_ref[l])))
                close(s.PA[l], np.linalg.inv(A_ref[l] + pi * np.sqrt(lam) * np.eye(len(A_ref[l]))), RTOL_SOLVE)
                close(s.PG[l], np.linalg.inv(G_ref[l] + np.sqrt(lam) / pi * np.eye(len(G_ref[l]))), RTOL_SOLVE)
            else:                                                              # stale inverses reused
                np.testing.assert_array_equal(np.asarray(s.PA[l]), np.asarray(prev.PA[l]))
                np.testing.assert_array_equal(np.asarray(s.PG[l]), np.asarray(prev.PG[l]))
                pi = np.sqrt((np.trace(A_ref[l]) / len(A_ref[l])) / (np.trace(G_ref[l]) / len(G_ref[l])))
                fresh = np.linalg.inv(A_ref[l] + pi * np.sqrt(lam) * np.eye(len(A_ref[l])))
                assert np.linalg.norm(s.PA[l] - fresh) > 1e-3 * np.linalg.norm(fresh)   # stale ≠ fresh here
            close(W[l] - W_new[l], 0.1 * np.asarray(s.PG[l]) @ np.asarray(c.grads[l]) @ np.asarray(s.PA[l]))
        W = W_new
    assert s.k == steps


@pytest.mark.parametrize("mode", ["factored", "eigen"])
def test_jit_matches_eager(mode):
    W, cs = batches(5, seed=6)
    opt = kfac.kfac(eta=0.1, damping=1e-2, inverse_every=2, damping_mode=mode)
    step = jax.jit(opt.step)
    We, se = W, opt.init(W)
    Wj, sj = [jnp.asarray(w) for w in W], opt.init([jnp.asarray(w) for w in W])
    sj = sj._replace(k=jnp.asarray(0))
    for c in cs:
        We, se = opt.step(We, c.grads, se, c.factors)
        Wj, sj = step(Wj, c.grads, sj, c.factors)
    for a, b in zip(We, Wj):
        close(b, a, 1e-11)


@pytest.mark.parametrize("mode", ["factored", "eigen"])
def test_float32_leaves_keep_their_dtype_under_x64(mode):
    """With jax_enable_x64 on, a traced step counter makes ε and the identity float64; the jitted step must still
    keep float32 factors, preconditioners and weights (the two branches of its lax.cond must agree), and agree
    with the same step in float32 without x64 to float32 rounding."""
    from utils import x64

    W, cs = batches(4, seed=7)
    W32 = [np.asarray(w, np.float32) for w in W]
    opt = kfac.kfac(eta=0.1, damping=1e-2, inverse_every=2, damping_mode=mode)

    def run():
        step = jax.jit(opt.step)
        Wj, sj = [jnp.asarray(w) for w in W32], opt.init([jnp.asarray(w) for w in W32])
        sj = sj._replace(k=jnp.asarray(0))
        for c in cs:
            f = kfac.Factors([jnp.asarray(a, jnp.float32) for a in c.factors.A],
                             [jnp.asarray(g, jnp.float32) for g in c.factors.G])
            Wj, sj = step(Wj, [jnp.asarray(g, jnp.float32) for g in c.grads], sj, f)
        return Wj, sj

    with x64(True):
        W64, s64 = run()
    with x64(False):
        W32j, _ = run()
    assert all(w.dtype == jnp.float32 for w in W64 + s64.A + s64.G + s64.PA + s64.PG)
    for a, b in zip(W64, W32j):
        close(np.asarray(a, np.float64), np.asarray(b, np.float64), 1e-4)


def test_bad_input():
    W, x, rng = linear_layer()
    y = rng.standard_normal((len(x), 2))
    for kw, name in [(dict(eta=0.0), "eta"), (dict(damping=0.0), "damping"), (dict(damping=-1.0), "damping"),
                     (dict(decay=1.0), "decay"), (dict(inverse_every=0), "inverse_every"),
                     (dict(inverse_every=1.5), "inverse_every"), (dict(damping_mode="exact"), "damping_mode")]:
        args = dict(eta=0.1, damping=1e-3) | kw
        with pytest.raises(ValueError, match=name):
            kfac.kfac(**args)
    with pytest.raises(ValueError, match="likelihood"):
        kfac.curvature(W, x, y, likelihood="poisson")
    with pytest.raises(ValueError, match="fisher"):
        kfac.curvature(W, x, y, fisher="true")
    with pytest.raises(ValueError, match="key"):
        kfac.curvature(W, x, y, fisher="sampled")
    with pytest.raises(ValueError, match="y must"):
        kfac.curvature(W, x, y[:, :1])
    with pytest.raises(ValueError, match="y must"):
        kfac.curvature(W, x, y, likelihood="softmax")
    with pytest.raises(ValueError, match="x must"):
        kfac.curvature(W, x[0], y)
    with pytest.raises(ValueError, match="params"):
        kfac.curvature([W[0].ravel()], x, y)
    c = kfac.curvature(W, x, y)
    opt = kfac.kfac(eta=0.1, damping=1e-3)
    s = opt.init(W)
    with pytest.raises(ValueError, match="factors"):
        opt.step(W, c.grads, s, (c.factors.A, c.factors.G))
    with pytest.raises(ValueError, match="layer 0"):
        opt.step(W, [c.grads[0].T], s, c.factors)
    with pytest.raises(ValueError, match="grads"):
        opt.step(W, c.grads * 2, s, c.factors)


SOFTPLUS_MLP = functools.partial(kfac.mlp, activation=jax.nn.softplus)   # built once: a static jit argument


def test_custom_forward():
    """Any forward(params, x, perturbations) -> (out, inputs) works: the gradient from the perturbation
    cotangents equals jax.grad, and the Gaussian exact-Fisher factor of the output layer is I."""
    params, x, rng = problem(7)
    y = rng.standard_normal((len(x), 2))
    c = kfac.curvature(params, x, y, forward=SOFTPLUS_MLP)
    loss = lambda p: 0.5 * jnp.sum((SOFTPLUS_MLP(p, x)[0] - y) ** 2) / len(x)      # noqa: E731
    auto = jax.jit(jax.grad(loss))([jnp.asarray(W) for W in params])
    for got, want in zip(c.grads, auto):
        close(got, want)
    close(c.factors.G[-1], np.eye(2))
    h = np.asarray(SOFTPLUS_MLP(params, x)[1][1])
    close(c.factors.A[1], h.T @ h / len(x))
