"""utils.distributed: DP and ZeRO-1/2/3 on 8 virtual CPU devices (in a subprocess: the device count is fixed when
JAX's CPU backend starts, and this process has started it), the ZeRO memory accounting, activation checkpointing,
the ring all-reduce model and the torch.distributed gloo runner."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils import adaptive, distributed as dist

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def selftest():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "utils.deep.distributed", "selftest", "8"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("stage", ["0", "1", "2", "3"])
def test_sharded_training_matches_one_device(selftest, stage):
    assert selftest["n"] == 8
    assert selftest["err"][stage] < 1e-12            # float64, 6 AdamW steps: max |Δθ| / max |θ|
    assert selftest["loss_err"][stage] < 1e-12


@pytest.mark.parametrize("stage", ["0", "1", "2", "3"])
def test_measured_bytes_per_device_match_the_zero_formula(selftest, stage):
    meas, form = selftest["measured"][stage], selftest["formula"][stage]
    for part in ("params", "grads", "opt_state", "total"):
        assert len(meas[part]) == 8
        assert all(m == int(form[part]) for m in meas[part]), (part, meas[part], form[part])


def test_zero_stages_shrink_memory_in_order(selftest):
    totals = [selftest["measured"][s]["total"][0] for s in "0123"]
    assert totals == sorted(totals, reverse=True) and totals[3] * 5 < totals[0]


def test_batch_not_divisible_by_devices_raises_in_the_subprocess(selftest):
    assert "not divisible" in selftest["bad_batch"]


def test_single_device_mesh_runs_every_stage_in_process():
    import jax.numpy as jnp
    rng = np.random.default_rng(1)
    params = {"W": jnp.asarray(rng.standard_normal((3, 2))), "b": jnp.zeros(2)}
    X, Y = rng.standard_normal((4, 6, 3)), rng.standard_normal((4, 6, 2))
    loss = lambda p, X, y: jnp.mean((X @ p["W"] + p["b"] - y) ** 2)
    opt = adaptive.adam(eta=0.1)
    ref, ref_loss, _ = dist.zero_train(loss, opt, params, (X, Y))
    for stage in dist.STAGES:
        p, ells, state = dist.zero_train(loss, opt, params, (X, Y), dist.data_mesh(1), stage)
        np.testing.assert_allclose(p["W"], ref["W"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ells, ref_loss, rtol=1e-5)


def test_formula_reproduces_the_papers_figure_1():
    # Rajbhandari et al. 2020, Fig. 1: Ψ = 7.5B, N_d = 64, K = 12: 120 GB, 31.4 GB, 16.6 GB, 1.9 GB per device
    got = [dist.zero_formula(7.5e9, 64, s)["total"] / 1e9 for s in dist.STAGES]
    np.testing.assert_allclose(got, [120, 31.4, 16.6, 1.9], rtol=0.02)


@pytest.mark.parametrize("bad", [4, -1, "1", 1.5, True])
def test_unknown_stage_raises(bad):
    with pytest.raises(ValueError, match="stage"):
        dist.zero_formula(100, 8, bad)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="divisible"):
        dist.check_batch(10, 4)
    with pytest.raises(ValueError, match="devices"):
        dist.data_mesh(10_000)
    with pytest.raises(ValueError, match="world"):
        dist.torch_gloo_run(world=1)
    with pytest.raises(ValueError, match="bench_world"):
        dist.torch_gloo_run(world=2, bench_world=3)
    with pytest.raises(ValueError, match="bench_world"):
        dist.torch_gloo_run(world=2, bench_world=1)
    with pytest.raises(ValueError, match="divisible"):
        dist.ring_allreduce_sim(np.ones((4, 6)))
    with pytest.raises(ValueError):
        dist.ring_allreduce_time(1e6, 0, 1e-6, 1e-9)
    with pytest.raises(ValueError):
        dist.fit_alpha_beta([1e3], [1e-4])


@pytest.mark.parametrize("relative", [True, False])
def test_alpha_beta_fit_recovers_the_ring_model(relative):
    M = np.logspace(3, 7, 6)
    t = dist.ring_allreduce_time(M, 4, 5e-5, 2e-10)
    a, b = dist.fit_alpha_beta(M, t, relative=relative)
    np.testing.assert_allclose([a / (2 * 3), b * 4 / (2 * 3)], [5e-5, 2e-10], rtol=1e-9)


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("t, bound_active", [
    # a loaded machine: the 4 kB message was fast, the large ones waited for scheduler slices, so the unconstrained
    # line has a negative intercept (a latency < 0)
    ([1e-5, 5e-3, 8e-2], True),
    # a loaded machine the other way (the 4 kB message is the slowest): the unconstrained fit is already >= 0
    ([3.81359e-3, 3.8235e-4, 2.36723e-3], False)])
def test_alpha_beta_fit_is_the_bounded_least_squares_solution(relative, t, bound_active):
    from scipy.optimize import lsq_linear
    M, t = np.array([4e3, 2.5e5, 4e6]), np.array(t)
    w = 1 / t if relative else np.ones_like(t)
    A = np.stack([w, w * M / M.max()], 1)                       # the same columns scaled: a reference to compare
    ref = lsq_linear(A, w * t, bounds=(0, np.inf), method="bvls").x
    unconstrained = np.linalg.lstsq(A, w * t, rcond=None)[0]
    a, b = dist.fit_alpha_beta(M, t, relative=relative)
    assert a >= 0 and b >= 0
    np.testing.assert_allclose([a, b * M.max()], ref, rtol=1e-7, atol=1e-9 * t.max())
    assert (unconstrained[0] < 0) == bound_active              # the boundary case is exercised, not assumed
    if bound_active:
        assert a == 0.0
    else:
        np.testing.assert_allclose([a, b * M.max()], unconstrained, rtol=1e-9)


def test_alpha_beta_fit_rejects_a_single_size():
    with pytest.raises(ValueError, match="different sizes"):
        dist.fit_alpha_beta([1e3, 1e3], [1e-4, 2e-4])
    with pytest.raises(ValueError, match="positive"):
        dist.fit_alpha_beta([0.0, 1e3], [1e-4, 2e-4])


@pytest.mark.parametrize("N", [2, 3, 8])
def test_ring_allreduce_sends_2_n_minus_1_over_n_of_the_message(N):
    x = np.random.default_rng(N).standard_normal((N, 12 * N))
    out, sent = dist.ring_allreduce_sim(x)
    np.testing.assert_allclose(out, np.broadcast_to(x.sum(0), x.shape), rtol=1e-12, atol=1e-12)
    assert np.all(sent == 2 * (N - 1) * x.shape[1] // N)


def test_checkpointing_trades_memory_for_one_more_forward():
    import jax
    import jax.numpy as jnp
    Ws, X = 0.1 * jnp.ones((8, 64, 64), jnp.float32), jnp.ones((128, 64), jnp.float32)
    plain = dist.compiled_cost(jax.grad(dist.mlp_stack_loss(False)), Ws, X, repeats=1)
    remat = dist.compiled_cost(jax.grad(dist.mlp_stack_loss(True)), Ws, X, repeats=1)
    assert remat["temp_bytes"] < 0.6 * plain["temp_bytes"]
    assert 1.2 < remat["flops"] / plain["flops"] < 1.5      # forward + backward = 3 matmuls, + 1 recomputed
    g1, g2 = jax.grad(dist.mlp_stack_loss(False))(Ws, X), jax.grad(dist.mlp_stack_loss(True))(Ws, X)
    np.testing.assert_allclose(g1, g2, rtol=1e-5, atol=1e-9)


def test_gloo_allreduce_and_zero_redundancy_optimizer_match_one_process():
    # three processes train; the first two time all-reduces in their own group, the third only trains
    run = dist.torch_gloo_run(world=3, steps=4, bench_bytes=(4096, 65536), bench_repeats=2, bench_world=2,
                              timeout=90)
    assert run["cfg"]["bench_world"] == 2
    assert [len(r.get("bench_seconds", [])) for r in run["ranks"]] == [2, 2, 0]
    assert all(t > 0 for r in run["ranks"][:2] for t in r["bench_seconds"])
    ref = dist.torch_reference(run["cfg"])
    for rank in run["ranks"]:
        for mode in ("allreduce", "zero"):
            np.testing.assert_allclose(rank[mode], ref, rtol=1e-10, atol=1e-12)
    zero = [r["zero_state_bytes"] for r in run["ranks"]]
    full = run["ranks"][0]["adam_state_bytes_full"]
    assert sum(zero) == full and max(zero) < full          # Adam's m, v partitioned by parameter, no copy
