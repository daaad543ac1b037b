"""Muon (utils.muon): step for step equal to optax.contrib.muon (float64) and to torch.optim.Muon (its update
pipeline in float64, its bfloat16 Newton–Schulz kernel to bfloat16 accuracy), each convention difference between
them shown to be real, the Newton–Schulz singular-value band measured, the polar factor as reference, NumPy ≡
JAX under jit, and bad input.

Setup. Matrix leaves of shapes (6, 4), (4, 6), (5, 5), a (3, 3, 2, 4) HWIO conv kernel, and (3,), () leaves for
the AdamW fallback, driven for K = 20 steps by g_k(W) = C ⊙ W + s_k ξ_k (C ∈ [0.5, 5] per entry, ξ_k standard
normal, s_k = exp(0.7 z_k)), all from seed 0, so a step taken at the wrong point shows.

Tolerance (float64). One step rounds ~10 flops per entry of D, then NS: 5 iterations of ≤ 3 products of ≤ 36-term
sums, each σ ↦ p(σ) with |p'| ≤ a = 3.44, so NS's relative error is ≲ 5·(36 + 10)·3.4·u ≈ 1e-13 (u = 1.1e-16);
the step rounds W − η(sO + λW) once more. Over K = 20 steps with no contraction assumed, ≲ 2e-12·max|W|. We assert
RTOL = 1e-11 with ATOL = 1e-11·max|W| (measured: ≤ 1e-15·max|W| against optax and torch's pipeline). A
convention difference counts as real when it exceeds 1000× ATOL.

Tolerance (bfloat16). torch.optim.Muon always runs NS in bfloat16 (8-bit mantissa, u_bf = 2⁻⁸ = 3.9e-3). Its
kernel's output differs from the float64 one by ‖ΔO‖_F ≈ 2.3–3.9 u_bf·‖O‖_F here (measured); we allow 8 u_bf
(a handful of roundings amplified by |p'| ≤ 3.4, and by the cancellation between aX and (bA + cA²)X). Rounding
X₀, the norm and each fused product to bfloat16 (``dtype=bfloat16``) reproduces torch's kernel: measured
bit-identical on these matrices, one entry in 12800 off by < 1 bf16 ulp on a 64 × 200 one (float32 vs float64
accumulation before the rounding); we allow 0.1 u_bf in ‖·‖_F so that another BLAS's tie-breaking cannot fail
the test. Along a trajectory each step adds ≤ η s max|ΔO|, so after K steps |ΔW| ≤ Σ_k η s max|ΔO_k|: the
trajectory tests assert that sum (measured: 1.9e-3 float64 vs torch, 2e-15 with our bf16 rounding).

The rest of torch's update (its EMA momentum and Nesterov lerp, the lr adjustment, the decay) is compared in
float64 by running torch.optim.Muon with its kernel replaced by our float64 one (monkeypatch).
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import noisy_pytree
from utils import adaptive as ad
from utils import muon

K = 20
RTOL = 1e-11
U_BF16 = 2.0 ** -8
A, B, C = muon.NS_COEFFS

SHAPES = {"w1": (6, 4), "w2": (4, 6), "w3": (5, 5), "conv": (3, 3, 2, 4), "b": (3,), "g": ()}
MATRIX2D = ("w1", "w2", "w3")

_RNG = np.random.default_rng(0)
X0 = {k: _RNG.standard_normal(s) for k, s in SHAPES.items()}
CURV = {k: _RNG.uniform(0.5, 5.0, s) for k, s in SHAPES.items()}
NOISE = [{k: s_k * _RNG.standard_normal(s) for k, s in SHAPES.items()} for s_k in np.exp(0.7 * _RNG.standard_normal(K))]


def sub(tree, keys):
    return {k: tree[k] for k in keys}


def grad(x, k):
    return {n: CURV[n] * x[n] + NOISE[k][n] for n in x}


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(tree[n], dtype=float)) for n in sorted(tree)])


def close(got, want, rtol=RTOL):
    got, want = np.asarray(got), np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.max(np.abs(want))))


def gap(a, b):
    """max |a − b| in units of ATOL: > 1000 means far beyond rounding."""
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / (RTOL * max(1.0, np.max(np.abs(b))))


def run(opt, keys=MATRIX2D, x0=X0):
    """Ours, NumPy leaves, eagerly: the iterates (K × n)."""
    x = sub(x0, keys)
    s, xs = opt.init(x), []
    for k in range(K):
        x, s = opt.step(x, grad(x, k), s)
        xs.append(flat(x))
    return np.array(xs)


def run_optax(tx, keys=MATRIX2D):
    """An optax GradientTransformation, JAX leaves, update + apply_updates under jit."""
    x = {n: jnp.asarray(X0[n]) for n in keys}
    s, xs = tx.init(x), []

    @jax.jit
    def step(x, s, noise):
        g = {n: CURV[n] * x[n] + noise[n] for n in x}
        u, s = tx.update(g, s, x)
        return optax.apply_updates(x, u), s

    for k in range(K):
        x, s = step(x, s, sub(NOISE[k], keys))
        xs.append(flat(x))
    return np.array(xs)


def run_torch(torch, keys=MATRIX2D, **kw):
    """torch.optim.Muon on float64 tensors, one per leaf, p.grad set from the same g_k(W)."""
    ps = {n: torch.tensor(X0[n], dtype=torch.float64, requires_grad=True) for n in keys}
    opt = torch.optim.Muon(list(ps.values()), **kw)
    xs = []
    for k in range(K):
        g = grad({n: p.detach().numpy().copy() for n, p in ps.items()}, k)
        for n, p in ps.items():
            p.grad = torch.tensor(g[n], dtype=torch.float64)
        opt.step()
        xs.append(flat({n: p.detach().numpy() for n, p in ps.items()}))
    return np.array(xs)


def p5(s, coeffs=muon.NS_COEFFS, steps=5):
    a, b, c = coeffs
    for _ in range(steps):
        s = a * s + b * s ** 3 + c * s ** 5
    return s


def random_matrix(rng, m, n, sigma):
    """U diag(σ) Vᵀ with Haar-random U (m × r), V (n × r), r = len(σ)."""
    U = np.linalg.qr(rng.standard_normal((m, len(sigma))))[0]
    V = np.linalg.qr(rng.standard_normal((n, len(sigma))))[0]
    return (U * sigma) @ V.T


# ------------------------------------------------------------------------------------------------ Newton–Schulz
@pytest.mark.parametrize("shape", [(7, 7), (12, 5), (5, 12)])
def test_newton_schulz_acts_on_each_singular_value_by_the_quintic(shape):
    # NS(G) = U diag(p⁵(σᵢ/(‖G‖_F + ε))) Vᵀ: same singular vectors, scalar polynomial on the values.
    G = np.random.default_rng(1).standard_normal(shape)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    want = (U * p5(s / (np.linalg.norm(G) + 1e-7))) @ Vt
    close(muon.newton_schulz(G), want, rtol=1e-12)


def test_singular_value_band_of_the_coefficients():
    # The band is derived from (a, b, c): the local minimum of p at σ₂ = √((−3b + √(9b² − 20ac))/(10c)) and its image.
    s2 = math.sqrt((-3 * B + math.sqrt(9 * B * B - 20 * A * C)) / (10 * C))
    lo = p5(s2, steps=1)
    hi = p5(lo, steps=1)
    assert abs(s2 - 1.0501) < 1e-4 and abs(lo - 0.6818) < 1e-4 and abs(hi - 1.1344) < 1e-4   # the docstring's numbers
    grid = np.linspace(lo, hi, 100001)
    img = p5(grid, steps=1)
    assert img.min() >= lo - 1e-12 and img.max() <= hi + 1e-12            # p maps the band into itself
    after = p5(np.linspace(0.01, 1.0, 100001))                             # 5 steps bring [0.01, 1] into it …
    assert after.min() >= lo - 1e-12 and after.max() <= hi + 1e-12
    assert p5(0.005) > hi + 0.01 and p5(0.001) < lo - 0.1                  # … but not 0.005 or 0.001
    # Well-conditioned matrices (σ ∈ [1, 10], so σ/‖G‖_F ≥ 0.02): the NS output's singular values fill the band.
    rng = np.random.default_rng(2)
    out = np.concatenate([np.linalg.svd(muon.newton_schulz(random_matrix(rng, 40, 24, rng.uniform(1, 10, 24))),
                                        compute_uv=False) for _ in range(5)])
    assert out.min() >= lo - 1e-9 and out.max() <= hi + 1e-9
    assert out.min() < 0.72 and out.max() > 1.08                           # far from 1: NS is not U Vᵀ


def test_tiny_singular_value_is_amplified_by_a_per_step_not_orthogonalized():
    rng = np.random.default_rng(3)
    sigma = np.r_[np.linspace(1.0, 2.0, 7), 1e-6]
    G = random_matrix(rng, 10, 8, sigma)
    s_out = np.linalg.svd(muon.newton_schulz(G), compute_uv=False)
    x = 1e-6 / (np.linalg.norm(G) + 1e-7)
    np.testing.assert_allclose(s_out[-1], A ** 5 * x, rtol=1e-6)          # linear regime: p(σ) ≈ aσ
    assert s_out[-1] < 1e-3                                                # the polar factor would give 1
    # An exactly rank-deficient G keeps its rank (a zero singular value stays 0).
    G0 = random_matrix(rng, 10, 8, np.linspace(1.0, 2.0, 7))
    assert np.linalg.svd(muon.newton_schulz(G0), compute_uv=False)[-1] < 1e-12


def test_distance_to_polar_factor_with_steps():
    rng = np.random.default_rng(4)
    G = random_matrix(rng, 48, 32, rng.uniform(1, 10, 32))
    P = muon.polar(G)
    close(P.T @ P, np.eye(32), rtol=1e-13)
    dist = lambda coeffs: [np.linalg.norm(muon.newton_schulz(G, k, coeffs) - P, 2) for k in range(1, 13)]
    classic = dist((15 / 8, -10 / 8, 3 / 8))                               # converges to U Vᵀ
    assert all(b < a for a, b in zip(classic[:6], classic[1:7])) and classic[-1] < 1e-12
    jordan = dist(muon.NS_COEFFS)                                          # faster at first, then a plateau
    assert jordan[0] > jordan[1] > jordan[2]
    assert all(0.25 < d <= 1 - 0.6818 + 1e-3 for d in jordan[2:])
    assert jordan[2] < classic[2]


def test_bfloat16_kernel_of_torch_against_float64_and_our_bfloat16_rounding():
    torch = pytest.importorskip("torch")
    from torch.optim import _muon as tm
    rng = np.random.default_rng(5)
    err64, errbf = [], []
    for shape in [(6, 4), (4, 6), (5, 5), (32, 16), (24, 80)]:
        G = rng.standard_normal(shape)
        theirs = tm._zeropower_via_newtonschulz(torch.tensor(G), muon.NS_COEFFS, 5, 1e-7).double().numpy()
        ours = muon.newton_schulz(G, eps=1e-7, eps_clamp=True)
        bf = muon.newton_schulz(G, eps=1e-7, eps_clamp=True, dtype=jnp.bfloat16)     # NumPy leaves, ml_dtypes
        assert bf.dtype == np.float64
        if shape == (6, 4):                                                # JAX leaves round the same way
            bfj = jax.jit(lambda G: muon.newton_schulz(G, eps=1e-7, eps_clamp=True, dtype=jnp.bfloat16))
            close(np.asarray(bfj(jnp.asarray(G))), bf, rtol=1e-12)
        err64.append(np.linalg.norm(theirs - ours) / np.linalg.norm(ours))
        errbf.append(np.linalg.norm(theirs - bf) / np.linalg.norm(ours))
        o32 = muon.newton_schulz(G.astype(np.float32), eps_clamp=True)                 # float32 is float32-accurate
        assert o32.dtype == np.float32 and np.linalg.norm(o32 - ours) < 1e-5 * np.linalg.norm(ours)
    assert 0.5 * U_BF16 < min(err64) and max(err64) < 8 * U_BF16   # bf16 vs float64: real, and bf16-sized
    assert max(errbf) < 0.1 * U_BF16                                # our bf16 rounding reproduces torch's kernel


# ------------------------------------------------------------------------------------------------ optax
CONV_DIMS = optax.contrib.MuonDimensionNumbers(reduction_axis=(0, 1, 2), output_axis=3)
OPTAX_CASES = {
    # optax's Nesterov is bias-corrected ("debiased"); ε = 1e-8 added to the norm; √max(1, fan_out/fan_in) on
    # (in, out) weights; the HWIO conv kernel flattened to (18, 4) by dimension numbers.
    "nesterov_conv": (
        ("w1", "w2", "w3", "conv"),
        lambda: muon.muon(0.02, buffer="debiased", eps=1e-8, weight_decay=0.1),
        lambda: optax.contrib.muon(0.02, weight_decay=0.1, muon_weight_dimension_numbers={
            "w1": optax.contrib.MuonDimensionNumbers(), "w2": optax.contrib.MuonDimensionNumbers(),
            "w3": optax.contrib.MuonDimensionNumbers(), "conv": CONV_DIMS})),
    # RMS matching, a schedule, and the AdamW fallback on (3,) and () leaves (optax's Adam part takes Muon's
    # ε and nesterov, so nesterov=False here and adamw's ε = 1e-8).
    "rms_adamw_schedule": (
        ("w1", "w2", "w3", "b", "g"),
        lambda: muon.muon(lambda k: 0.03 * 0.9 ** k, nesterov=False, buffer="debiased", eps=1e-8,
                          scale="rms_match", weight_decay=0.05),
        lambda: optax.contrib.muon(lambda k: 0.03 * 0.9 ** k, nesterov=False, consistent_rms=0.2,
                                   weight_decay=0.05)),
}


@functools.lru_cache(maxsize=None)
def optax_reference(name):
    keys, _, theirs = OPTAX_CASES[name]
    return run_optax(theirs(), keys)


@pytest.mark.parametrize("name", OPTAX_CASES)
def test_equals_optax_step_for_step(name):
    keys, ours, _ = OPTAX_CASES[name]
    close(run(ours(), keys), optax_reference(name))


def test_to_optax_adapter_gives_the_same_iterates():
    keys, ours, _ = OPTAX_CASES["nesterov_conv"]
    close(run_optax(muon.to_optax(ours()), keys), optax_reference("nesterov_conv"))


def test_optax_default_adam_part_is_nesterov_unlike_adamw():
    # optax's ``nesterov`` (default True) also switches its AdamW fallback to a Nesterov (NAdam-like) form; ours
    # is plain AdamW: the matrix leaves agree, the (3,) and () leaves do not.
    keys = ("w1", "b", "g")
    theirs = run_optax(optax.contrib.muon(0.02), keys)
    ours = run(muon.muon(0.02, buffer="debiased", eps=1e-8), keys)
    close(ours[:, 4:], theirs[:, 4:])                                      # flat() sorts: b (3), g (1), w1 (24)
    assert gap(ours[:, :4], theirs[:, :4]) > 1000


# ------------------------------------------------------------------------------------------------ torch
def _torch_with_float64_kernel(monkeypatch):
    """torch.optim.Muon with its bf16 NS kernel replaced by ours in float64 (eps clamped, as torch's): what is left
    is torch's own momentum, Nesterov, lr adjustment and weight decay, compared to float64 rounding."""
    torch = pytest.importorskip("torch")
    from torch.optim import _muon as tm

    def kernel(grad, ns_coefficients, ns_steps, eps):
        out = muon.newton_schulz(grad.double().numpy(), ns_steps, ns_coefficients, eps, eps_clamp=True)
        return torch.from_numpy(out)
    monkeypatch.setattr(tm, "_zeropower_via_newtonschulz", kernel)
    return torch


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("adjust", [None, "match_rms_adamw"])
def test_equals_torch_update_pipeline_in_float64(monkeypatch, nesterov, adjust):
    torch = _torch_with_float64_kernel(monkeypatch)
    ours = muon.muon(0.02, nesterov=nesterov, buffer="ema", eps_clamp=True, weight_decay=0.1, layout="out_in",
                     scale="rms_match" if adjust else "sqrt_max_ratio")
    close(run(ours), run_torch(torch, lr=0.02, weight_decay=0.1, nesterov=nesterov, adjust_lr_fn=adjust))


def test_torch_muon_as_shipped():
    torch = pytest.importorskip("torch")
    kw = dict(buffer="ema", eps_clamp=True, weight_decay=0.1, layout="out_in")
    theirs = run_torch(torch, lr=0.02, weight_decay=0.1)
    ours64 = run(muon.muon(0.02, **kw))
    oursbf = run(muon.muon(0.02, **kw, ns_dtype=jnp.bfloat16))
    # |ΔW_K| ≤ Σ_k η s max|ΔO_k| ≤ K η s δ ‖O‖_F, with s ≤ √1.5, ‖O‖_F ≤ 1.14·√min(m, n) ≤ 1.14·√5 and δ the
    # kernel's relative error: 8 u_bf for float64 vs bf16, 0.1 u_bf for our bf16 rounding (as the kernel test).
    bound = K * 0.02 * math.sqrt(1.5) * U_BF16 * 1.14 * math.sqrt(5)
    assert np.max(np.abs(ours64 - theirs)) < 8 * bound
    assert gap(ours64, theirs) > 1000                                      # bf16 vs float64 is a real difference
    assert np.max(np.abs(oursbf - theirs)) < 0.1 * bound


# ------------------------------------------------------------------------------------------------ conventions
def test_convention_differences_are_real_and_explained():
    base = dict(eta=0.02, weight_decay=0.1)
    # Momentum buffer: NS divides by the norm, so sum / EMA / debiased give the same update when ε = 0 …
    plain = run(muon.muon(**base, nesterov=False, eps=0.0, buffer="sum"))
    for buf in ("ema", "debiased"):
        close(run(muon.muon(**base, nesterov=False, eps=0.0, buffer=buf)), plain)
    nest = run(muon.muon(**base, eps=0.0, buffer="sum"))
    close(run(muon.muon(**base, eps=0.0, buffer="ema")), nest)             # torch's Nesterov = the sum form's
    assert gap(run(muon.muon(**base, eps=0.0, buffer="debiased")), nest) > 1000   # optax's is not
    assert gap(nest, plain) > 1000                                         # nesterov matters
    # ε: added to (optax) or clamping (torch) the norm — a relative change of ≈ ε/‖D‖ per step, real but small.
    add, clamp = (run(muon.muon(**base, eps=1e-6, eps_clamp=c, buffer="ema")) for c in (False, True))
    assert 1000 < gap(add, clamp) and np.max(np.abs(add - clamp)) < 1e-4
    G = np.random.default_rng(6).standard_normal((4, 3))
    G *= 1e-7 / np.linalg.norm(G)                                           # ‖G‖_F = ε: the two halve vs keep
    close(np.linalg.norm(muon.newton_schulz(G, 0, eps=1e-7)), 0.5)
    close(np.linalg.norm(muon.newton_schulz(G, 0, eps=1e-7, eps_clamp=True)), 1.0)
    # Shape scaling: torch's √max(1, A/B) on (out, in) = optax's √max(1, fan_out/fan_in) on (in, out).
    transposed = {n: X0[n].T for n in MATRIX2D}
    in_out = muon.muon(**base)
    out_in = muon.muon(**base, layout="out_in")
    x, xt = sub(X0, MATRIX2D), transposed
    sx, st = in_out.init(x), out_in.init(xt)
    for k in range(3):
        g = grad(x, k)
        x, sx = in_out.step(x, g, sx)
        xt, st = out_in.step(xt, {n: v.T for n, v in g.items()}, st)
        close(flat({n: v.T for n, v in xt.items()}), flat(x))
    assert gap(run(out_in), run(in_out)) > 1000                            # same array, the two layouts differ
    for scale in ("none", "rms_match"):
        assert gap(run(muon.muon(**base, scale=scale)), run(in_out)) > 1000


def test_conv_kernel_is_flattened_as_documented():
    # in_out: HWIO (3, 3, 2, 4) → (kh·kw·c_in, c_out) = (18, 4); out_in reads the same array as (c_out, …) → (3, 24).
    W = X0["conv"]
    for layout, shape in (("in_out", (18, 4)), ("out_in", (3, 24))):
        opt = muon.muon(0.1, nesterov=False, layout=layout, scale="none")
        x, _ = opt.step({"k": W}, {"k": W}, opt.init({"k": W}))
        close((W - x["k"]) / 0.1, muon.newton_schulz(W.reshape(shape)).reshape(W.shape))


# ------------------------------------------------------------------------------------------------ NumPy ≡ JAX
def test_numpy_leaves_equal_jax_leaves_under_jit():
    keys = tuple(SHAPES)
    opt = muon.muon(0.02, weight_decay=0.1)
    want = run(opt, keys)
    x = {n: jnp.asarray(X0[n]) for n in keys}
    s = opt.init(x)
    step = jax.jit(lambda x, s, noise: opt.step(x, {n: CURV[n] * x[n] + noise[n] for n in x}, s))
    got = []
    for k in range(K):
        x, s = step(x, s, sub(NOISE[k], keys))
        got.append(flat(x))
    close(np.array(got), want)


def test_predicate_routes_leaves_and_adam_fallback_is_adamw():
    # "w1" by path to AdamW (as embeddings are); the 1-D leaf too. Those leaves follow utils.adaptive.adamw exactly.
    keys = ("w1", "w2", "b")
    opt = muon.muon(0.02, predicate=lambda path, x: x.ndim >= 2 and "w1" not in path,
                    adam=ad.adamw(0.01, weight_decay=0.1))
    ours = run(opt, keys)
    ref = run(ad.adamw(0.01, weight_decay=0.1), ("w1", "b"))
    close(ours[:, :3], ref[:, :3])                                         # flat() sorts: b (3), w1 (24), w2
    close(ours[:, 3:27], ref[:, 3:])
    s = opt.init(sub(X0, keys))
    assert len(s.M) == 1 and s.M[0].shape == (4, 6)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, name", [
    ({"eta": 0.0}, "eta"), ({"eta": -1.0}, "eta"), ({"eta": "0.1"}, "eta"),
    ({"beta": 1.0}, "beta"), ({"beta": -0.1}, "beta"),
    ({"ns_steps": 0}, "ns_steps"), ({"ns_steps": 2.5}, "ns_steps"), ({"ns_steps": True}, "ns_steps"),
    ({"coeffs": (1.0, 2.0)}, "coeffs"), ({"coeffs": (1.0, float("nan"), 0.0)}, "coeffs"),
    ({"eps": -1e-8}, "eps"), ({"weight_decay": -0.1}, "weight_decay"), ({"rms": 0.0}, "rms"),
    ({"scale": "sqrt"}, "scale"), ({"layout": "oi"}, "layout"), ({"buffer": "adam"}, "buffer"),
    ({"adam": "sgd"}, "adam"), ({"predicate": True}, "predicate"), ({"beta": 0.0}, "nesterov"),
])
def test_bad_hyperparameters_raise_naming_the_argument(kw, name):
    args = {"eta": 0.02, **kw}
    with pytest.raises(ValueError, match=name):
        muon.muon(**args)


def test_bad_pytrees_and_leaves_raise():
    x, _ = noisy_pytree.rejects_mismatched_trees(muon.muon(0.02), X0)
    with pytest.raises(ValueError, match="adam"):
        muon.muon(0.02, adam=None).init(x)
    with pytest.raises(ValueError, match="predicate"):
        muon.muon(0.02, predicate=lambda p, v: True).init(x)
    for fn in (muon.newton_schulz, muon.polar):
        with pytest.raises(ValueError, match="G must be a matrix"):
            fn(X0["b"])
    with pytest.raises(ValueError, match="steps must"):
        muon.newton_schulz(X0["w1"], -1)
