"""Proximal operators and projections: optimality conditions, Moreau decomposition, optax, CVXPY, NumPy == JAX."""
import cvxpy as cp
import numpy as np
import pytest

from utils import prox as P

RNG = np.random.default_rng(0)
CLARABEL = dict(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
GROUPS = np.array([0, 0, 1, 1, 1, 2, 3, 3])


def _vectors(n=8, count=6, seed=0):
    g = np.random.default_rng(seed)
    vs = [g.standard_normal(n) * s for s in (0.3, 1.0, 3.0) for _ in range(count // 3)]
    return vs + [np.zeros(n)]


def _in_norm_subdifferential(G, x, dual_norm, norm, tol=1e-10):
    """G ∈ ∂‖x‖ ⇔ ‖G‖_dual ≤ 1 and ⟨G, x⟩ = ‖x‖ (the dual-norm characterization)."""
    return dual_norm(G) <= 1 + tol and abs(np.sum(G * x) - norm(x)) <= tol * max(1.0, norm(x))


# --------------------------------------------------------------------- (v − x)/η ∈ ∂g(x), explicit subgradients
@pytest.mark.parametrize("eta, lam", [(1.0, 0.5), (0.3, 2.0)])
def test_prox_l1_l2_optimality_conditions(eta, lam):
    for v in _vectors():
        x = P.prox_l1(v, eta, lam)
        assert _in_norm_subdifferential((v - x) / (eta * lam), x, lambda g: np.max(np.abs(g)), lambda z: np.sum(np.abs(z)))
        x = P.prox_l2(v, eta, lam)
        assert _in_norm_subdifferential((v - x) / (eta * lam), x, np.linalg.norm, np.linalg.norm)
        # explicit subgradient of λ‖·‖₁ coordinatewise: λ sign(x_i) where x_i ≠ 0
        x = P.prox_l1(v, eta, lam)
        nz = x != 0
        np.testing.assert_allclose(((v - x) / eta)[nz], lam * np.sign(x[nz]), rtol=1e-12)


@pytest.mark.parametrize("eta", [0.5, 2.0])
def test_prox_sq_l2_elastic_net_group_optimality(eta):
    lam1, lam2, lam = 0.7, 1.3, 0.9
    for v in _vectors():
        x = P.prox_sq_l2(v, eta, lam2)
        np.testing.assert_allclose((v - x) / eta, lam2 * x, atol=1e-14)
        x = P.prox_elastic_net(v, eta, lam1, lam2)
        G = ((v - x) / eta - lam2 * x) / lam1                  # must lie in ∂‖x‖₁
        assert _in_norm_subdifferential(G, x, lambda g: np.max(np.abs(g)), lambda z: np.sum(np.abs(z)))
        weights = np.array([1.0, 2.0, 0.5, 1.5])
        for w in (lam, lam * weights):
            x = P.prox_group_l2(v, eta, w, GROUPS)
            wg = np.broadcast_to(w, (4,))
            for gi in range(4):
                idx = GROUPS == gi
                assert _in_norm_subdifferential((v - x)[idx] / (eta * wg[gi]), x[idx], np.linalg.norm, np.linalg.norm)


def test_prox_nuclear_optimality_condition():
    for seed in range(4):
        V = np.random.default_rng(seed).standard_normal((5, 3))
        eta, lam = 0.5, 3.0
        X = P.prox_nuclear(V, eta, lam)
        G = (V - X) / (eta * lam)                              # ∈ ∂‖X‖_* ⇔ ‖G‖₂ ≤ 1, ⟨G, X⟩ = ‖X‖_*
        assert _in_norm_subdifferential(G, X, lambda M: np.linalg.norm(M, 2), lambda M: np.linalg.norm(M, "nuc"))
        kept = np.sum(np.linalg.svd(V, compute_uv=False) > eta * lam)
        assert np.linalg.matrix_rank(X, tol=1e-10) == kept < 3   # singular values below ηλ are removed


def test_projection_optimality_conditions():
    for v in _vectors():
        x = P.project_box(v, -0.5, 1.0)                        # v − x ∈ N_C(x)
        r = v - x
        assert np.all(r[(x > -0.5) & (x < 1.0)] == 0) and np.all(r[x == -0.5] <= 0) and np.all(r[x == 1.0] >= 0)
        for s in (1.0, 2.5):
            x = P.project_simplex(v, s)
            theta = np.mean((v - x)[x > 0])                    # v − x = θ𝟙 − ν, ν ≥ 0, νᵢxᵢ = 0
            assert np.all(x >= 0) and abs(x.sum() - s) < 1e-12
            np.testing.assert_allclose((v - x)[x > 0], theta, atol=1e-12)
            assert np.all((v - x)[x == 0] <= theta + 1e-12)
        x = P.project_l1_ball(v, 1.0)
        if np.abs(v).sum() <= 1.0:
            np.testing.assert_array_equal(x, v)
        else:                                                  # v − x = τ G, G ∈ ∂‖x‖₁, τ > 0, ‖x‖₁ = 1
            tau = np.max(np.abs(v - x))
            assert abs(np.abs(x).sum() - 1.0) < 1e-12 and tau > 0
            assert _in_norm_subdifferential((v - x) / tau, x, lambda g: np.max(np.abs(g)), lambda z: np.sum(np.abs(z)))
        x = P.project_l2_ball(v, 1.0)
        if np.linalg.norm(v) > 1:
            assert abs(np.linalg.norm(x) - 1) < 1e-12 and np.linalg.norm(np.cross(x[:3], v[:3])) < 1e-12
            assert x @ v > 0


def test_prox_beats_random_perturbations():
    g = np.random.default_rng(3)
    eta = 0.7
    cases = [
        (lambda v: P.prox_l1(v, eta, 1.0), lambda x: np.sum(np.abs(x))),
        (lambda v: P.prox_l2(v, eta, 1.0), np.linalg.norm),
        (lambda v: P.prox_sq_l2(v, eta, 2.0), lambda x: x @ x),
        (lambda v: P.prox_elastic_net(v, eta, 0.5, 1.0), lambda x: 0.5 * np.sum(np.abs(x)) + 0.5 * x @ x),
        (lambda v: P.prox_group_l2(v, eta, 1.0, GROUPS), lambda x: sum(np.linalg.norm(x[GROUPS == i]) for i in range(4))),
    ]
    for prox, gfun in cases:
        for v in _vectors(seed=4):
            x = prox(v)
            obj = lambda z: gfun(z) + np.sum((z - v) ** 2) / (2 * eta)
            for _ in range(50):
                assert obj(x) <= obj(x + 10 ** g.uniform(-6, 0) * g.standard_normal(8)) + 1e-15
    for v in _vectors(seed=5):                                 # projections: closer than random feasible points
        for proj, sample in [(lambda z: P.project_simplex(z, 1.0), lambda: g.dirichlet(np.ones(8))),
                             (lambda z: P.project_l1_ball(z, 1.0), lambda: g.dirichlet(np.ones(8)) * g.choice([-1, 1], 8) * g.uniform()),
                             (lambda z: P.project_l2_ball(z, 1.0), lambda: P.project_l2_ball(g.standard_normal(8), 1.0))]:
            x = proj(v)
            assert all(np.linalg.norm(x - v) <= np.linalg.norm(sample() - v) + 1e-14 for _ in range(50))


# ------------------------------------------------------------------------------------------ Moreau decomposition
def _spectral_ball(V, r):
    U, s, Wt = np.linalg.svd(V, full_matrices=False)
    return (U * np.minimum(s, r)) @ Wt


@pytest.mark.parametrize("eta", [0.3, 1.0, 4.0])
def test_moreau_decomposition_with_known_conjugates(eta):
    """v = prox_{ηg}(v) + η prox_{g*/η}(v/η), g* from its closed form (not from prox_conjugate)."""
    lam = 1.2
    cases = [  # (prox_g(w, t), prox of t·g* written from g*'s formula)
        (lambda w, t: P.prox_l1(w, t, lam), lambda w, t: np.clip(w, -lam, lam)),          # g* = ι_{‖·‖∞≤λ}
        (lambda w, t: P.prox_l2(w, t, lam), lambda w, t: P.project_l2_ball(w, lam)),      # g* = ι_{‖·‖₂≤λ}
        (lambda w, t: P.prox_sq_l2(w, t, lam), lambda w, t: w / (1 + t / lam)),           # g* = ‖·‖²/(2λ)
    ]
    for prox_g, prox_conj in cases:
        for v in _vectors():
            np.testing.assert_allclose(prox_g(v, eta) + eta * prox_conj(v / eta, 1 / eta), v, atol=1e-13)
            np.testing.assert_allclose(P.prox_conjugate(prox_g, v, eta), prox_conj(v, eta), atol=1e-13)
    V = RNG.standard_normal((4, 3)) * 3                        # nuclear norm: g* = ι_{‖·‖₂ ≤ λ} (spectral ball)
    prox_nuc = lambda W, t: P.prox_nuclear(W, t, lam)
    np.testing.assert_allclose(prox_nuc(V, eta) + eta * _spectral_ball(V / eta, lam), V, atol=1e-12)
    np.testing.assert_allclose(P.prox_conjugate(prox_nuc, V, eta), _spectral_ball(V, lam), atol=1e-12)


# ----------------------------------------------------------------------------------------------- optax, CVXPY
def test_projections_agree_with_optax():
    import jax
    import optax.projections as op

    pairs = [  # (ours, optax's), both as functions of (v, parameter)
        (P.project_simplex, op.projection_simplex),
        (P.project_l1_ball, op.projection_l1_ball),
        (P.project_l2_ball, op.projection_l2_ball),
        (P.project_linf_ball, op.projection_linf_ball),
        (lambda v, r: P.project_box(v, -r, 0.7), lambda v, r: op.projection_box(v, -r, 0.7)),
        (lambda v, r: P.project_nonneg(v), lambda v, r: op.projection_non_negative(v)),
    ]
    for ours, theirs in pairs:
        theirs = jax.jit(theirs)                               # one compilation per projection
        for v in _vectors(seed=7):
            for r in (0.5, 1.0, 2.5):
                np.testing.assert_allclose(ours(v, r), np.asarray(theirs(v, r)), atol=1e-12)


def _cvx_prox(gexpr, v, eta, constraints=lambda x: []):
    x = cp.Variable(v.shape)
    cp.Problem(cp.Minimize(gexpr(x) + cp.sum_squares(x - v) / (2 * eta)), constraints(x)).solve(**CLARABEL)
    return x.value


def test_prox_and_projections_agree_with_cvxpy():
    eta = 0.8
    for v in _vectors(seed=8)[:4]:
        pairs = [
            (P.prox_l1(v, eta, 0.6), _cvx_prox(lambda x: 0.6 * cp.norm1(x), v, eta)),
            (P.prox_l2(v, eta, 0.9), _cvx_prox(lambda x: 0.9 * cp.norm2(x), v, eta)),
            (P.prox_elastic_net(v, eta, 0.6, 0.4),
             _cvx_prox(lambda x: 0.6 * cp.norm1(x) + 0.2 * cp.sum_squares(x), v, eta)),
            (P.prox_group_l2(v, eta, 0.9, GROUPS),
             _cvx_prox(lambda x: sum(0.9 * cp.norm2(x[GROUPS == i]) for i in range(4)), v, eta)),
            (P.project_simplex(v, 1.0), _cvx_prox(lambda x: 0, v, 1.0, lambda x: [x >= 0, cp.sum(x) == 1])),
            (P.project_l1_ball(v, 1.0), _cvx_prox(lambda x: 0, v, 1.0, lambda x: [cp.norm1(x) <= 1])),
        ]
        for ours, ref in pairs:
            np.testing.assert_allclose(ours, ref, atol=2e-7)


def test_prox_nuclear_agrees_with_cvxpy():
    V = np.random.default_rng(9).standard_normal((4, 3)) * 2
    X = cp.Variable((4, 3))
    cp.Problem(cp.Minimize(1.1 * cp.normNuc(X) + cp.sum_squares(X - V) / (2 * 0.7))).solve(**CLARABEL)
    np.testing.assert_allclose(P.prox_nuclear(V, 0.7, 1.1), X.value, atol=1e-6)


# ------------------------------------------------------------------------------------------------ NumPy == JAX
def test_numpy_and_jax_jit_agree():
    import jax
    import jax.numpy as jnp

    V = np.random.default_rng(10).standard_normal((4, 3))
    ops = [
        (lambda v, e: P.prox_l1(v, e, 0.5), None),
        (lambda v, e: P.prox_l2(v, e, 0.5), None),
        (lambda v, e: P.prox_sq_l2(v, e, 0.5), None),
        (lambda v, e: P.prox_elastic_net(v, e, 0.5, 0.3), None),
        (lambda v, e: P.prox_group_l2(v, e, 0.5, GROUPS), None),
        (lambda v, e: P.prox_conjugate(lambda w, t: P.prox_l1(w, t, 0.5), v, e), None),
        (lambda v, e: P.project_box(v, -e, e), None),
        (lambda v, e: P.project_nonneg(v), None),
        (lambda v, e: P.project_simplex(v, e), None),
        (lambda v, e: P.project_l1_ball(v, e), None),
        (lambda v, e: P.project_l2_ball(v, e), None),
        (lambda v, e: P.project_linf_ball(v, e), None),
        (lambda v, e: P.prox_nuclear(v, e, 0.5), V),
    ]
    for op, arg in ops:
        for v in ([arg] if arg is not None else _vectors(seed=11)):
            for e in (0.4, 1.7):
                ref = op(v, e)
                out = jax.jit(op)(jnp.asarray(v), jnp.asarray(e))
                assert isinstance(out, jax.Array)
                np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-12, atol=1e-14)
    assert isinstance(P.prox_l1(np.ones(3), 1.0, 0.5), np.ndarray)


# ---------------------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call, name", [
    (lambda: P.prox_l1(np.ones(2), 0.0, 1.0), "eta"), (lambda: P.prox_l1(np.ones(2), 1.0, -1.0), "lam"),
    (lambda: P.prox_l2(np.ones(2), np.nan, 1.0), "eta"), (lambda: P.prox_elastic_net(np.ones(2), 1.0, 1.0, -2), "lam2"),
    (lambda: P.prox_group_l2(np.ones(3), 1.0, 1.0, np.array([0, 2, 2])), "groups"),
    (lambda: P.prox_group_l2(np.ones(3), 1.0, 1.0, np.array([0, 1])), "groups"),
    (lambda: P.prox_group_l2(np.ones(3), 1.0, np.array([1.0, -1.0]), np.array([0, 1, 1])), "lam"),
    (lambda: P.project_simplex(np.ones(2), 0.0), "s"), (lambda: P.project_l1_ball(np.ones(2), -1.0), "r"),
    (lambda: P.project_l2_ball(np.ones(2), "one"), "r"), (lambda: P.project_box(np.ones(2), 1.0, 0.0), "lo"),
    (lambda: P.prox_nuclear(np.eye(2), -1.0, 1.0), "eta"),
])
def test_bad_arguments_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_inputs_are_not_mutated():
    v = np.array([3.0, -0.5, 0.2])
    for f in (lambda: P.prox_l1(v, 1.0, 1.0), lambda: P.project_simplex(v), lambda: P.project_l1_ball(v)):
        f()
        np.testing.assert_array_equal(v, [3.0, -0.5, 0.2])
