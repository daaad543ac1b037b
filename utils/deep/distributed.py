r"""Data-parallel training and ZeRO (week 6) on one machine: JAX on virtual CPU devices, torch.distributed on gloo.

**Data parallelism (DP).** N_d devices hold the same parameters θ; each computes the gradient of the mean loss on
its 1/N_d of the batch, an all-reduce averages them, and every device takes the same optimizer step:

.. math::  g_k = \frac{1}{N_d}\sum_{r=1}^{N_d} \nabla L_r(\theta_k),\qquad \theta_{k+1} = \text{step}(\theta_k, g_k).

With equal shards this *is* the single-device step on the whole batch, up to the order of the summation.

**ZeRO** (Rajbhandari, Rasley, Ruwase & He 2020, §5 and Table 1) removes the redundant copies. The parameters are
flattened into one vector of Ψ entries (padded to a multiple of N_d) and cut into N_d equal slices; device r owns
slice r of what is sharded:

* stage 0 (plain DP): θ, g and the optimizer state replicated; all-reduce of g (``lax.pmean``);
* stage 1 (P_os): optimizer state sharded; all-reduce of g, each device updates its slice, all-gather of θ
  (the memory of the paper's P_os; its traffic is DP's plus the all-gather, 1.5× DP, as with torch's
  ``ZeroRedundancyOptimizer`` behind DDP; the paper's P_os reduce-scatters g as stage 2 does, costing 1× DP);
* stage 2 (P_os+g): gradients too: reduce-scatter of g (``lax.psum_scatter``), slice update, all-gather of θ;
* stage 3 (P_os+g+p, FSDP): parameters too: all-gather of θ for the forward/backward, reduce-scatter of g,
  slice update; θ stays sharded between steps.

Bytes per device, with P, G, K the bytes per parameter of θ, of g and of the optimizer state (Table 1 form):

.. math::  \text{stage 0: } (P+G+K)\Psi,\quad \text{1: } (P+G)\Psi + \frac{K\Psi}{N_d},\quad
           \text{2: } P\Psi + \frac{(G+K)\Psi}{N_d},\quad \text{3: } \frac{(P+G+K)\Psi}{N_d}.

The paper's mixed-precision Adam has P = G = 2 (fp16) and K = 12 (fp32 master θ, m, v): 16Ψ bytes per device
without sharding. Here, float32 Adam has P = G = 4 and K = 8 (m, v) plus the step counter k (one replicated
scalar); float64 doubles them. :func:`zero_formula` is the table, :func:`zero_memory` the measurement (bytes of
``array.addressable_shards`` per device). The sharded update is exact for elementwise optimizers (SGD, Adam,
AdamW, Lion of :mod:`utils.adaptive`); Muon/Shampoo need whole matrices and are not sharded this way.

Multiple CPU devices: XLA reads ``--xla_force_host_platform_device_count`` (``XLA_FLAGS``) and JAX its
``jax_num_cpu_devices`` option when the CPU backend starts, i.e. at the first computation, not at ``import jax``.
:func:`cpu_devices` sets both and, if the backend already started with another count, restarts it
(arrays made before become unusable). Tests run the multi-device code in a subprocess
(``python -m utils.deep.distributed selftest``).

Also here: activation checkpointing (``jax.checkpoint``) measured through XLA's compiled memory and FLOP counts
(:func:`compiled_cost`); a ``torch.distributed`` gloo runner on local processes with plain all-reduce and
``torch.distributed.optim.ZeroRedundancyOptimizer`` (:func:`torch_gloo_run`); the α–β cost of ring all-reduce,
T(M, N) = 2(N−1)α + 2(N−1)/N · Mβ (:func:`ring_allreduce_time`, simulated byte for byte by
:func:`ring_allreduce_sim`; Patarasuk & Yuan 2009; Thakur, Rabenseifner & Gropp 2005).

Names elsewhere: DP = torch ``DistributedDataParallel``; ZeRO-1 = torch ``ZeroRedundancyOptimizer``, DeepSpeed
``stage=1``; ZeRO-2/3 = DeepSpeed ``stage=2/3``; ZeRO-3 ≈ torch ``FullyShardedDataParallel`` (``FULL_SHARD``).
"""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

try:
    from ..core.drivers import validate_int
except ImportError:        # run as a file by torch_gloo_run's workers (``python -P …/distributed.py``): no package
    validate_int = None

__all__ = ["AXIS", "STAGES", "cpu_devices", "data_mesh", "check_batch", "ZeroState", "zero_init", "zero_step",
           "zero_params", "zero_train", "per_device_bytes", "zero_memory", "zero_formula", "compiled_cost",
           "mlp_stack_loss", "ring_allreduce_time", "ring_allreduce_sim", "fit_alpha_beta", "torch_gloo_run",
           "torch_reference"]

AXIS = "data"
STAGES = (0, 1, 2, 3)
_ROOT = Path(__file__).resolve().parents[2]      # the checkout: utils/deep/distributed.py


# ------------------------------------------------------------------------------------------------ devices
def cpu_devices(n: int = 8):
    """Make ``n`` virtual CPU devices and return ``jax.devices()`` (restarts the backend if it runs with another
    count; arrays created before that are invalid afterwards)."""
    n = validate_int("n", n)
    flag = f"--xla_force_host_platform_device_count={n}"
    old = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if "force_host_platform_device_count" not in f)
    os.environ["XLA_FLAGS"] = (old + " " + flag).strip()
    import jax
    from jax.extend import backend as jeb
    if jax.config.jax_num_cpu_devices != n:
        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError:                              # backend already running: restart it
            jeb.clear_backends()
            jax.config.update("jax_num_cpu_devices", n)
    if len(jax.devices()) != n:
        jeb.clear_backends()
    return jax.devices()


def data_mesh(n: int | None = None):
    """A 1-D ``jax.sharding.Mesh`` over the first ``n`` devices (all by default), axis name ``AXIS``."""
    import jax
    devs = jax.devices()
    n = len(devs) if n is None else validate_int("n", n)
    if n > len(devs):
        raise ValueError(f"n = {n} devices asked for, {len(devs)} available (call cpu_devices({n}) first)")
    return jax.sharding.Mesh(np.array(devs[:n]), (AXIS,))


def check_batch(batch_size: int, n_devices: int) -> int:
    """The per-device batch B/N_d; ``ValueError`` unless N_d divides B."""
    b, n = validate_int("batch_size", batch_size), validate_int("n_devices", n_devices)
    if b % n:
        raise ValueError(f"batch_size = {b} is not divisible by the number of devices N_d = {n}")
    return b // n


def _stage(stage) -> int:
    if isinstance(stage, bool) or stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES} (0 = plain DP, 1/2/3 = ZeRO), got {stage!r}")
    return int(stage)


# ------------------------------------------------------------------------------------------------ ZeRO in JAX
class ZeroState(NamedTuple):
    theta: Any   # θ as one flat vector of Ψ_pad entries: sharded over AXIS at stage 3, replicated otherwise
    s: Any       # the optimizer state of θ: sharded over AXIS at stages ≥ 1 (scalars such as k replicated)
    g: Any       # the gradient each device keeps after the step: full at stages 0-1, its slice at 2-3


def _specs(tree, sharded):
    import jax
    from jax.sharding import PartitionSpec as P
    return jax.tree.map(lambda a: P(AXIS) if sharded and np.ndim(a) >= 1 else P(), tree)


def zero_init(params, opt, mesh, stage: int):
    """Flatten ``params`` (any pytree of one float dtype), pad to a multiple of N_d, place θ, the state of
    ``opt`` (:class:`utils.adaptive.Optimizer`) and g with the stage's shardings. Returns (ZeroState, unravel)."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree
    from jax.sharding import NamedSharding
    stage, n = _stage(stage), mesh.devices.size
    flat, unravel = ravel_pytree(params)
    psi = int(flat.size)
    pad = -psi % n
    theta = jnp.concatenate([flat, jnp.zeros(pad, flat.dtype)])
    s = jax.tree.map(jnp.asarray, opt.init(theta))
    put = lambda tree, spec: jax.tree.map(lambda a, p: jax.device_put(a, NamedSharding(mesh, p)), tree, spec)
    s = put(s, _specs(s, stage >= 1))
    g = put(jnp.zeros(theta.size, flat.dtype), _specs(theta, stage >= 2))
    theta = put(theta, _specs(theta, stage == 3))
    return ZeroState(theta, s, g), (lambda th: unravel(th[:psi]))


def zero_step(loss: Callable, opt, mesh, stage: int, unravel, *, jit: bool = True):
    """The step ``(state, X, y) -> (state, mean loss)`` of DP (stage 0) or ZeRO-``stage`` (jitted unless
    ``jit=False``, e.g. to put it in a ``lax.scan``); ``loss(params, X, y)`` is the mean loss of a batch. X and y
    are split along axis 0 over the devices (B divisible by N_d).

    On virtual CPU devices with fewer cores than devices, do not queue many collective steps asynchronously
    (XLA's CPU rendezvous can then wait forever for a device thread): block on each result, or scan over steps
    in one program as :func:`zero_train` does."""
    import jax
    from jax import lax
    from jax.sharding import PartitionSpec as P
    stage, n = _stage(stage), mesh.devices.size

    def local(theta, s, X, y):
        r = lax.axis_index(AXIS)
        full = lax.all_gather(theta, AXIS, tiled=True) if stage == 3 else theta     # ZeRO-3: gather θ
        ell, g = jax.value_and_grad(lambda th: loss(unravel(th), X, y))(full)
        ell = lax.pmean(ell, AXIS)
        if stage <= 1:
            g = lax.pmean(g, AXIS)                                                  # all-reduce
        else:
            g = lax.psum_scatter(g, AXIS, scatter_dimension=0, tiled=True) / n     # reduce-scatter
        if stage == 0:
            theta, s = opt.step(theta, g, s)
            return theta, s, g, ell
        c = full.size // n
        mine = lambda v: lax.dynamic_slice_in_dim(v, r * c, c)
        g_mine = mine(g) if stage == 1 else g
        th_mine = theta if stage == 3 else mine(theta)
        th_mine, s = opt.step(th_mine, g_mine, s)                                   # sharded update
        theta = th_mine if stage == 3 else lax.all_gather(th_mine, AXIS, tiled=True)
        return theta, s, g, ell

    def step(state, X, y):
        check_batch(X.shape[0], n)
        th_spec, g_spec = _specs(state.theta, stage == 3), _specs(state.g, stage >= 2)
        s_spec = _specs(state.s, stage >= 1)
        f = jax.shard_map(local, mesh=mesh, in_specs=(th_spec, s_spec, P(AXIS), P(AXIS)),
                          out_specs=(th_spec, s_spec, g_spec, P()), check_vma=False)
        theta, s, g, ell = f(state.theta, state.s, X, y)
        return ZeroState(theta, s, g), ell

    return jax.jit(step) if jit else step


def zero_params(state: ZeroState, unravel):
    """The parameters as the original pytree (gathered to the host's default device)."""
    import jax
    return unravel(jax.device_get(state.theta))


def zero_train(loss: Callable, opt, params, batches, mesh=None, stage: int = 0):
    """Run DP/ZeRO over ``batches`` = (X, y) with X of shape (steps, B, …). ``mesh=None`` runs the plain
    single-device loop (the reference). Returns (params, losses, final ZeroState or None)."""
    import jax
    import jax.numpy as jnp
    X, y = batches
    if mesh is None:
        @jax.jit
        def run(p, X, y):
            def body(carry, xy):
                p, s = carry
                ell, g = jax.value_and_grad(loss)(p, *xy)
                return opt.step(p, g, s), ell
            (p, _), ells = jax.lax.scan(body, (p, opt.init(p)), (X, y))
            return p, ells
        p, ells = run(params, jnp.asarray(X), jnp.asarray(y))
        return p, np.asarray(ells), None
    check_batch(X.shape[1], mesh.devices.size)
    state, unravel = zero_init(params, opt, mesh, stage)
    step = zero_step(loss, opt, mesh, stage, unravel, jit=False)

    @jax.jit
    def run(state, X, y):                   # all steps in one program (one compile, no queued collectives)
        return jax.lax.scan(lambda st, xy: step(st, *xy), state, (X, y))
    state, ells = jax.block_until_ready(run(state, jnp.asarray(X), jnp.asarray(y)))
    return zero_params(state, unravel), np.asarray(ells), state


def per_device_bytes(tree) -> np.ndarray:
    """Bytes that the leaves of ``tree`` occupy on each device, from ``array.addressable_shards`` (device order
    of ``jax.devices()``; devices that hold nothing count 0)."""
    import jax
    devs = {d: i for i, d in enumerate(jax.devices())}
    out = np.zeros(len(devs), dtype=np.int64)
    for leaf in jax.tree.leaves(tree):
        for sh in leaf.addressable_shards:
            out[devs[sh.device]] += sh.data.nbytes
    return out


def zero_memory(state: ZeroState, mesh) -> dict:
    """Measured bytes per device of θ, g and the optimizer state (arrays over the devices of ``mesh``)."""
    import jax
    idx = [jax.devices().index(d) for d in mesh.devices.ravel()]
    meas = {k: per_device_bytes(v)[idx] for k, v in (("params", state.theta), ("grads", state.g),
                                                       ("opt_state", state.s))}
    meas["total"] = meas["params"] + meas["grads"] + meas["opt_state"]
    return meas


def zero_formula(psi: int, n_d: int, stage: int, P: float = 2, G: float = 2, K: float = 12,
                 extra: float = 0) -> dict:
    """Bytes per device of θ, g and optimizer state by Rajbhandari et al. (2020) Table 1: Ψ parameters, N_d
    devices, P/G/K bytes per parameter (defaults: the paper's mixed-precision Adam, 2 + 2 + 12), ``extra`` bytes
    of replicated optimizer scalars (the step counter). No padding: pass Ψ rounded up to a multiple of N_d to
    compare with :func:`zero_memory`.

    >>> f = zero_formula(7.5e9, 64, 1); round(f["total"] / 1e9, 1)       # the paper's Figure 1: 31.4 GB
    31.4
    >>> [round(zero_formula(7.5e9, 64, s)["total"] / 1e9, 2) for s in (0, 2, 3)]
    [120.0, 16.64, 1.88]
    """
    stage = _stage(stage)
    if not (psi > 0 and n_d >= 1):
        raise ValueError(f"need psi > 0 and n_d ≥ 1, got psi = {psi!r}, n_d = {n_d!r}")
    out = {"params": P * psi / (n_d if stage == 3 else 1), "grads": G * psi / (n_d if stage >= 2 else 1),
           "opt_state": K * psi / (n_d if stage >= 1 else 1) + extra}
    out["total"] = out["params"] + out["grads"] + out["opt_state"]
    return out


# ------------------------------------------------------------------------------------------------ checkpointing
def mlp_stack_loss(remat: bool):
    """Loss of a deep residual-free MLP h_{l+1} = tanh(h_l W_l) ⊙ σ(h_l W_l) run by ``lax.scan`` over the
    stacked W (shape (L, w, w)); ``remat=True`` wraps the layer in ``jax.checkpoint``: the backward pass keeps
    only each layer's input h_l and recomputes the rest (one more forward: FLOPs × ≈ 4/3)."""
    import jax
    import jax.numpy as jnp

    def layer(h, W):
        z = h @ W
        return jnp.tanh(z) * jax.nn.sigmoid(z), None

    body = jax.checkpoint(layer) if remat else layer

    def loss(Ws, X):
        h, _ = jax.lax.scan(body, X, Ws)
        return jnp.mean(h ** 2)
    return loss


def compiled_cost(fn: Callable, *args, repeats: int = 5) -> dict:
    """XLA's view of ``jax.jit(fn)(*args)``: temporary (working) bytes, argument and output bytes from
    ``memory_analysis()``, FLOPs from ``cost_analysis()`` (a ``while``/``scan`` body is counted once), and the
    best of ``repeats`` wall times in seconds."""
    import jax
    c = jax.jit(fn).lower(*args).compile()
    m, ca = c.memory_analysis(), c.cost_analysis()
    ca = ca[0] if isinstance(ca, (list, tuple)) else ca
    jax.block_until_ready(c(*args))
    ts = []
    for _ in range(validate_int("repeats", repeats)):
        t0 = time.perf_counter()
        jax.block_until_ready(c(*args))
        ts.append(time.perf_counter() - t0)
    return {"temp_bytes": int(m.temp_size_in_bytes), "argument_bytes": int(m.argument_size_in_bytes),
            "output_bytes": int(m.output_size_in_bytes), "flops": float(ca.get("flops", np.nan)),
            "seconds": min(ts)}


# ------------------------------------------------------------------------------------------------ communication
def ring_allreduce_time(M, N, alpha, beta):
    """α–β time of a ring all-reduce of M bytes on N devices: 2(N−1) messages of M/N bytes, so
    T = 2(N−1)α + 2(N−1)/N · M β (α latency per message in s, β seconds per byte = 1/bandwidth).

    >>> float(ring_allreduce_time(1e9, 8, 0.0, 1e-9))       # 2·7/8 · 1 GB at 1 GB/s
    1.75
    """
    M, N = np.asarray(M, float), np.asarray(N, float)
    if np.any(N < 1) or np.any(M < 0) or alpha < 0 or beta < 0:
        raise ValueError("need N ≥ 1, M ≥ 0, alpha ≥ 0, beta ≥ 0")
    return 2 * (N - 1) * alpha + 2 * (N - 1) / N * M * beta


def ring_allreduce_sim(x):
    """Simulate ring all-reduce (reduce-scatter, then all-gather) of the rows of ``x`` (N devices × M entries,
    M divisible by N). Returns (the reduced vector on every device, entries sent by each device)."""
    x = np.asarray(x, dtype=float)
    N, M = x.shape
    if M % N:
        raise ValueError(f"M = {M} entries must be divisible by N = {N} devices")
    buf = x.reshape(N, N, M // N).copy()        # buf[device, chunk]
    sent = np.zeros(N, dtype=np.int64)
    for t in range(N - 1):                      # reduce-scatter: device r sends chunk (r − t) mod N to r + 1
        msgs = [(r, (r - t) % N, buf[r, (r - t) % N].copy()) for r in range(N)]
        for r, c, data in msgs:
            buf[(r + 1) % N, c] += data
            sent[r] += data.size
    for t in range(N - 1):                      # all-gather: device r sends its finished chunk (r + 1 − t) mod N
        msgs = [(r, (r + 1 - t) % N, buf[r, (r + 1 - t) % N].copy()) for r in range(N)]
        for r, c, data in msgs:
            buf[(r + 1) % N, c] = data
            sent[r] += data.size
    return buf.reshape(N, M), sent


def fit_alpha_beta(sizes, times, *, relative: bool = True):
    """Least-squares fit of t = a + b·M to all-reduce times of M-byte messages, with a ≥ 0 and b ≥ 0 (a latency
    and an inverse bandwidth cannot be negative); returns (a, b). ``relative=True`` minimizes Σ((a + bM − t)/t)²,
    so that small (latency-bound) and large messages weigh alike. The bounds are solved exactly as a two-variable
    nonnegative least-squares problem (``scipy.optimize.nnls``); on times a loaded machine disturbed (the large
    messages slowed more than the small ones) the unconstrained fit can have a < 0, the bounded one puts a = 0.

    >>> a, b = fit_alpha_beta([1e3, 1e6, 1e7], [1e-4 + 1e-9 * m for m in (1e3, 1e6, 1e7)])
    >>> round(a * 1e4, 6), round(b * 1e9, 6)
    (1.0, 1.0)
    """
    from scipy.optimize import nnls
    M, t = np.asarray(sizes, float), np.asarray(times, float)
    if M.shape != t.shape or M.ndim != 1 or M.size < 2 or np.any(t <= 0) or np.any(M <= 0):
        raise ValueError("need at least two positive sizes and as many positive times")
    if np.ptp(M) <= 1e-12 * M.max():
        raise ValueError("need at least two different sizes")
    w = 1 / t if relative else np.ones_like(t)
    scale = M.max()                          # columns of comparable size: nnls's active-set tests are relative
    (a, b_scaled), _ = nnls(np.stack([w, w * M / scale], 1), w * t)
    return float(a), float(b_scaled / scale)


# ------------------------------------------------------------------------------------------------ torch / gloo
def _torch_problem(cfg):
    import torch
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(cfg["seed"])
    B = cfg["world"] * cfg["local_batch"]
    X = torch.tensor(rng.standard_normal((cfg["steps"], B, cfg["d_in"])))
    Wt = rng.standard_normal((cfg["d_in"], cfg["d_out"]))
    Y = torch.tanh(X @ torch.tensor(Wt)) + 0.1 * torch.tensor(rng.standard_normal((cfg["steps"], B, cfg["d_out"])))
    torch.manual_seed(cfg["seed"])
    model = torch.nn.Sequential(torch.nn.Linear(cfg["d_in"], cfg["hidden"]), torch.nn.Tanh(),
                                torch.nn.Linear(cfg["hidden"], cfg["hidden"]), torch.nn.Tanh(),
                                torch.nn.Linear(cfg["hidden"], cfg["d_out"]))
    return model, X, Y


def _flat(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def torch_reference(cfg: dict) -> np.ndarray:
    """One process, the whole batch, ``torch.optim.Adam(lr)``: the parameters after ``steps`` (flat, float64)."""
    import torch
    model, X, Y = _torch_problem(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    for k in range(cfg["steps"]):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X[k]), Y[k]).backward()
        opt.step()
    return _flat(model)


def _torch_worker(rank: int, cfg: dict, out: Path):
    import torch
    import torch.distributed as dist
    from datetime import timedelta
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=cfg["world"], timeout=timedelta(seconds=cfg["timeout"]))
    W, b = cfg["world"], cfg["local_batch"]
    res = {}
    for mode in ("allreduce", "zero"):
        model, X, Y = _torch_problem(cfg)
        if mode == "allreduce":                      # DDP by hand: all-reduce of every gradient, / N_d
            net, opt = model, torch.optim.Adam(model.parameters(), lr=cfg["lr"])
        else:                                        # DDP + ZeRO-1 (optimizer state sharded by parameter)
            from torch.distributed.optim import ZeroRedundancyOptimizer
            net = torch.nn.parallel.DistributedDataParallel(model)
            opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=cfg["lr"])
        for k in range(cfg["steps"]):
            opt.zero_grad()
            mine = slice(rank * b, (rank + 1) * b)
            torch.nn.functional.mse_loss(net(X[k][mine]), Y[k][mine]).backward()
            if mode == "allreduce":
                for p in model.parameters():
                    dist.all_reduce(p.grad)
                    p.grad /= W
            opt.step()
        res[mode] = _flat(model).tolist()
        if mode == "zero":
            res["zero_state_bytes"] = int(sum(t.nbytes for st in opt.optim.state.values()
                                              for t in st.values() if torch.is_tensor(t) and t.dim() > 0))
            res["adam_state_bytes_full"] = int(2 * sum(p.nbytes for p in model.parameters()))
    n_bench = cfg["bench_world"]                     # the first n_bench ranks time; new_group takes every rank
    group = dist.new_group(list(range(n_bench))) if n_bench < W else None
    if rank < n_bench:
        times = []
        for M in cfg["bench_bytes"]:                 # α–β: time of one all-reduce of M bytes (float32)
            t = torch.zeros(max(M // 4, 1), dtype=torch.float32)
            for _ in range(3):                       # warm-up: buffers and connections for this size
                dist.all_reduce(t, group=group)
            ts = []
            for _ in range(cfg["bench_repeats"]):
                dist.barrier(group=group)
                t0 = time.perf_counter()
                dist.all_reduce(t, group=group)
                ts.append(time.perf_counter() - t0)
            times.append(float(np.min(ts)))         # best of the repeats: the least disturbed by other work
        res["bench_seconds"] = times
    dist.destroy_process_group()
    (out / f"rank{rank}.json").write_text(json.dumps(res))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torch_gloo_run(world: int = 2, steps: int = 10, local_batch: int = 8, d_in: int = 8, hidden: int = 16,
                   d_out: int = 4, lr: float = 1e-2, seed: int = 0, bench_bytes=(4096, 262144, 1048576),
                   bench_repeats: int = 10, bench_world: int | None = None, timeout: float = 60.0) -> dict:
    """Launch ``world`` local processes (``python -P utils/deep/distributed.py torch-worker``, gloo backend,
    MASTER_ADDR = 127.0.0.1 and a free port), each training the same MLP (float64, MSE, Adam) on its
    ``local_batch`` rows of each batch twice: with a hand-written all-reduce of the gradients and with
    DistributedDataParallel + ``ZeroRedundancyOptimizer``; then the first ``bench_world`` ranks (default: one per
    CPU this process may use, ``os.sched_getaffinity``, at least 2 and at most ``world``) time all-reduces of
    ``bench_bytes`` among themselves (3 warm-ups, best of ``bench_repeats``, per rank). More processes than CPUs
    would time the scheduler: a rank waits a time slice for its partner, longer than moving megabytes.
    Every process is killed after ``timeout`` s. Returns the per-rank results (``bench_seconds`` on the timing
    ranks) plus the config (``cfg["bench_world"]``)."""
    world = validate_int("world", world, 2)
    if world > 8:
        raise ValueError(f"world = {world}: at most 8 local processes")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    bench_world = min(world, max(2, cores)) if bench_world is None else validate_int("bench_world", bench_world, 2)
    if bench_world > world:
        raise ValueError(f"bench_world = {bench_world}: at most world = {world} processes can time all-reduces")
    cfg = dict(world=world, steps=validate_int("steps", steps), local_batch=validate_int("local_batch", local_batch),
               d_in=d_in, hidden=hidden, d_out=d_out, lr=float(lr), seed=int(seed),
               bench_bytes=[int(m) for m in bench_bytes], bench_repeats=validate_int("bench_repeats", bench_repeats),
               bench_world=bench_world, timeout=float(timeout))
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": str(world),
           "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo"),
           "PYTHONPATH": os.pathsep.join([str(_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        # ``-P``: run this file without the package (and without utils/ on sys.path): torch only, faster start
        procs = [subprocess.Popen([sys.executable, "-P", __file__, "torch-worker", str(r), json.dumps(cfg), tmp],
                                  env=env, cwd=_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for r in range(world)]
        logs = []
        try:
            for p in procs:
                left = max(timeout - (time.perf_counter() - t0), 0.1)
                logs.append(p.communicate(timeout=left)[0].decode(errors="replace"))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
                p.wait()
            raise RuntimeError(f"gloo run did not finish within {timeout} s") from None
        bad = [(r, p.returncode) for r, p in enumerate(procs) if p.returncode != 0]
        if bad:
            raise RuntimeError(f"gloo workers failed {bad}:\n" + "\n".join(logs)[-3000:])
        ranks = [json.loads((Path(tmp) / f"rank{r}.json").read_text()) for r in range(world)]
    return {"cfg": cfg, "ranks": ranks, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------------ self-test
def _selftest(n: int = 8) -> dict:
    """Multi-device checks for the tests (run in a fresh process): DP and ZeRO-1/2/3 vs one device, memory vs
    formula, and the bad-batch error. Prints one JSON line."""
    cpu_devices(n)
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    from ..stochastic import adaptive
    rng = np.random.default_rng(0)
    sizes = [(5, 7), (7,), (7, 3), (3,)]                 # Ψ = 35 + 7 + 21 + 3 = 66: padded to 72 on 8 devices
    params = {f"w{i}": jnp.asarray(rng.standard_normal(s)) for i, s in enumerate(sizes)}
    steps, B = 6, 16
    X, Y = rng.standard_normal((steps, B, 5)), rng.standard_normal((steps, B, 3))

    def loss(p, X, y):
        h = jnp.tanh(X @ p["w0"] + p["w1"])
        return jnp.mean((h @ p["w2"] + p["w3"] - y) ** 2)

    opt = adaptive.adamw(eta=0.05, weight_decay=0.1)
    ref, ref_loss, _ = zero_train(loss, opt, params, (X, Y))
    flat_ref = np.concatenate([np.ravel(ref[k]) for k in sorted(ref)])
    mesh = data_mesh(n)
    out = {"n": n, "psi": 66, "err": {}, "loss_err": {}, "measured": {}, "formula": {}}
    psi_pad = 66 + (-66 % n)
    for stage in STAGES:
        p, ells, state = zero_train(loss, opt, params, (X, Y), mesh, stage)
        flat = np.concatenate([np.ravel(p[k]) for k in sorted(p)])
        out["err"][stage] = float(np.max(np.abs(flat - flat_ref)) / np.max(np.abs(flat_ref)))
        out["loss_err"][stage] = float(np.max(np.abs(ells - ref_loss)))
        out["measured"][stage] = {k: v.tolist() for k, v in zero_memory(state, mesh).items()}
        out["formula"][stage] = zero_formula(psi_pad, n, stage, P=8, G=8, K=16, extra=8)
    try:
        zero_train(loss, opt, params, (X[:, :B - 1], Y[:, :B - 1]), mesh, 2)
        out["bad_batch"] = "no error"
    except ValueError as e:
        out["bad_batch"] = str(e)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "selftest":
        _selftest(int(sys.argv[2]) if len(sys.argv) > 2 else 8)
    elif len(sys.argv) == 5 and sys.argv[1] == "torch-worker":
        _torch_worker(int(sys.argv[2]), json.loads(sys.argv[3]), Path(sys.argv[4]))
    else:
        raise SystemExit("usage: python -m utils.deep.distributed selftest [N] | torch-worker RANK CFG_JSON OUTDIR")
