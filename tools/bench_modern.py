"""Week 6 benchmark: time per step of our modern optimizers against optax.contrib / torch, and the overhead of
the second-order methods over AdamW, on the parameters of a small transformer.

    python -m tools.bench_modern            d = 128, 4 layers (≈ 0.9M parameters), a minute or two
    python -m tools.bench_modern --quick    d = 8, no blocks (embeddings, gain, head), seconds (the test suite)

Parameters: a pytree shaped like a byte-level decoder-only transformer (vocabulary 256, context 64, width d,
4·d MLP, untied head, LayerNorm gains and biases), float32, defined here (no model is run). Gradients are a fixed
random pytree, passed to the jitted step as an argument; Sophia and SAM, which evaluate the loss or the gradient
themselves, get the quadratic loss ½ Σ c ⊙ θ² (elementwise c ∈ [0.5, 2]), whose gradient and Hessian-vector
product cost one elementwise pass each, so their rows time the optimizers' own work, not a model's.

(a) ms per step, ours (one ``jax.jit`` of ``step``) against the reference where one exists: optax (one jit of
``update`` + ``apply_updates``) and torch (eager ``opt.step()``, float32, CPU: a different engine, so that
ratio says how the two stacks compare, not how good the JAX code is). Rows: AdamW (baseline), Muon (optax.contrib
.muon; torch.optim.Muon on the matrices with torch AdamW on the rest), Shampoo (no optax/torch implementation),
SOAP (``pytorch_optimizer.SOAP`` when installed), Sophia (optax.contrib.sophia, Hutchinson), SAM around AdamW
(optax.contrib.sam, opaque mode) and schedule-free AdamW (optax.contrib.schedule_free_adamw). Each call runs a
block of consecutive steps (the state carried), so methods that refresh every T = 10 steps are timed amortized;
after an untimed warm-up block the implementations of a row are timed alternately, median over the repeats.
The goal is ours/optax ≤ 1.1 (printed, not asserted).

(b) the overhead per step relative to AdamW on the same parameters: Muon, Shampoo (T = 10), SOAP (T = 10) on the
whole pytree, and K-FAC (T = 10) on the dense layers in its own layout W_l (d_out, d_in + 1) with fixed factors
A, G (the step's running averages, damped inverses and preconditioning; computing A and G needs the layer inputs
and output gradients of a real forward/backward pass and is not counted), against AdamW on those same layers.
Timings depend on the machine and its load: read them as orders of magnitude.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def transformer_shapes(d=128, layers=4, vocab=256, context=64, mlp=4):
    """Leaf shapes of a decoder-only transformer (y = x W layout: (d_in, d_out) matrices)."""
    shapes = {"embed": (vocab, d), "pos": (context, d), "ln_f": (d,), "head": (d, vocab)}
    for l in range(layers):
        p = f"block{l}."
        shapes.update({p + "ln1": (d,), p + "ln2": (d,), p + "wq": (d, d), p + "wk": (d, d), p + "wv": (d, d),
                       p + "wo": (d, d), p + "mlp_in": (d, mlp * d), p + "b_in": (mlp * d,),
                       p + "mlp_out": (mlp * d, d), p + "b_out": (d,)})
    return shapes


def _tree(shapes, seed, scale=1.0):
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    return {k: jnp.asarray(scale * rng.standard_normal(s), dtype=jnp.float32) for k, s in shapes.items()}


def _timed(impls, block, repeats):
    """Median seconds per step of each ``(step(carry) -> carry, carry0)``, timed alternately in blocks."""
    import jax

    carries = []
    for f, c in impls:                                  # warm-up block: compiles, first allocations
        c = jax.device_put(c)                           # Python scalars in a state (k = 0) would compile twice
        for _ in range(block):
            c = f(c)
        jax.block_until_ready(c)
        carries.append(c)
    times = [[] for _ in impls]
    for _ in range(repeats):
        for i, (f, _) in enumerate(impls):
            c = carries[i]
            t0 = time.perf_counter()
            for _ in range(block):
                c = f(c)
            jax.block_until_ready(c)
            times[i].append((time.perf_counter() - t0) / block)
            carries[i] = c
    return [float(np.median(t)) for t in times]


def _ours(opt, g):
    import jax

    step = jax.jit(lambda p, s, g: opt.step(p, g, s))
    return lambda c: step(c[0], c[1], g)


def _optax(tx, g, **extra):
    import jax
    import optax

    def f(p, s, g):
        u, s = tx.update(g, s, p, **extra)
        return optax.apply_updates(p, u), s

    step = jax.jit(f)
    return lambda c: step(c[0], c[1], g)


def _torch(make, x, g):
    """An eager torch step on float32 copies of x; ``make(named_tensors)`` returns the optimizers to step."""
    import torch

    ps = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in x.items()}
    gs = {k: torch.tensor(np.asarray(v)) for k, v in g.items()}
    opts = make(ps)

    def f(c):
        for k, p in ps.items():
            p.grad = gs[k]
        for o in opts:
            o.step()
        return c
    return f, 0


def step_times(d=128, layers=4, vocab=256, context=64, block=10, repeats=7):
    """{name: (ours s/step, optax s/step or None, torch s/step or None)}."""
    import jax
    import jax.numpy as jnp
    import optax

    from utils import adaptive as ad
    from utils import muon as mu
    from utils import sam as sa
    from utils import schedule_free as sf
    from utils import shampoo as sh
    from utils import soap as sp
    from utils import sophia as so

    shapes = transformer_shapes(d, layers, vocab, context)
    x, g = _tree(shapes, 0, 0.02), _tree(shapes, 1, 1e-3)
    rng = np.random.default_rng(2)
    curv = {k: jnp.asarray(rng.uniform(0.5, 2.0, s), dtype=jnp.float32) for k, s in shapes.items()}
    loss = lambda p: sum(0.5 * jnp.sum(c * v * v) for c, v in zip(jax.tree.leaves(curv), jax.tree.leaves(p)))  # noqa
    grad_fn = lambda p: jax.tree.map(lambda c, v: c * v, curv, p)                                               # noqa
    try:
        import torch
    except ImportError:                                                       # pragma: no cover
        torch = None
    try:
        from pytorch_optimizer import SOAP as TorchSOAP
    except ImportError:
        TorchSOAP = None

    def matrices(ps):
        return [p for p in ps.values() if p.ndim == 2], [p for p in ps.values() if p.ndim != 2]

    rows = {}

    def row(name, ours, ref=None, torch_make=None):
        impls = [ours] + ([ref] if ref else []) + ([_torch(torch_make, x, g)] if torch_make and torch else [])
        t = _timed(impls, block, repeats)
        it = iter(t[1:])
        rows[name] = (t[0], next(it) if ref else None, next(it) if torch_make and torch else None)

    opt = ad.adamw(1e-3, weight_decay=0.01)
    tx = optax.adamw(1e-3, weight_decay=0.01)
    row("adamw", (_ours(opt, g), (x, opt.init(x))), (_optax(tx, g), (x, tx.init(x))),
        lambda ps: [torch.optim.AdamW(list(ps.values()), lr=1e-3, weight_decay=0.01)])

    opt, tx = mu.muon(0.02), optax.contrib.muon(0.02)

    def torch_muon(ps):
        m, o = matrices(ps)
        return [torch.optim.Muon(m, lr=0.02, weight_decay=0.0, adjust_lr_fn="original"),
                torch.optim.AdamW(o, lr=0.02, weight_decay=0.0)]
    row("muon", (_ours(opt, g), (x, opt.init(x))), (_optax(tx, g), (x, tx.init(x))), torch_muon)

    opt = sh.shampoo(1e-3, 0.99, precondition_every=10)
    row("shampoo (T=10)", (_ours(opt, g), (x, opt.init(x))))

    opt = sp.soap(3e-3, 0.95, 0.95, weight_decay=0.01, precondition_every=10)
    row("soap (T=10)", (_ours(opt, g), (x, opt.init(x))), None,
        (lambda ps: [TorchSOAP(list(ps.values()), lr=3e-3, betas=(0.95, 0.95), weight_decay=0.01,
                               precondition_frequency=10)]) if TorchSOAP else None)

    opt = so.sophia(1e-3, bias_correction=True, lag_h=True, weight_decay=1e-4)
    key = jax.random.PRNGKey(0)
    tx = optax.contrib.sophia(1e-3, eps=1e-12, weight_decay=1e-4,
                              hessian_diagonal_fn=optax.contrib.hutchinson_estimator_diag_hessian(key))
    sstep = jax.jit(lambda p, s: opt.step(p, grad_fn(p), s, loss))

    def ostep(p, s):
        u, s = tx.update(grad_fn(p), s, p, obj_fn=loss)
        return optax.apply_updates(p, u), s
    ostep = jax.jit(ostep)
    row("sophia (T=10)", (lambda c: sstep(*c), (x, opt.init(x, key))), (lambda c: ostep(*c), (x, tx.init(x))))

    opt = sa.sam(ad.adamw(1e-3, weight_decay=0.01), rho=0.05, eps=0.0)
    tx = optax.contrib.sam(optax.adamw(1e-3, weight_decay=0.01),
                           optax.chain(optax.contrib.normalize(), optax.sgd(0.05)), sync_period=2, opaque_mode=True)
    sstep = jax.jit(lambda p, s: opt.step(p, s, grad_fn))

    def ostep(p, s):
        u, s = tx.update(grad_fn(p), s, p, grad_fn=lambda q, i: grad_fn(q))
        return optax.apply_updates(p, u), s
    ostep = jax.jit(ostep)
    row("sam(adamw)", (lambda c: sstep(*c), (x, opt.init(x))), (lambda c: ostep(*c), (x, tx.init(x))))

    opt, tx = sf.schedule_free_adamw(2.5e-3), optax.contrib.schedule_free_adamw(2.5e-3)
    row("schedule_free_adamw", (_ours(opt, g), (x, opt.init(x))), (_optax(tx, g), (x, tx.init(x))))
    return rows


def overhead(steps, d=128, layers=4, vocab=256, context=64, block=10, repeats=7):
    """{name: (s/step, s/step of AdamW on the same parameters)}: Muon, Shampoo and SOAP from ``steps`` (the
    ``step_times`` of the same size: ours against ours AdamW on the whole pytree), K-FAC timed here on the dense
    layers against AdamW on those layers."""
    import jax
    import jax.numpy as jnp

    from utils import adaptive as ad
    from utils import kfac as kf
    from utils.kfac import Factors

    out = {name: (steps[name][0], steps["adamw"][0]) for name in ("muon", "shampoo (T=10)", "soap (T=10)")}
    # K-FAC on the dense layers, W_l = [Wᵀ | b] of shape (d_out, d_in + 1); A = āᵀā/N from N random inputs
    # (float64 when jax_enable_x64 is on, as in the tests: utils.kfac's damping promotes float32 factors there)
    rng = np.random.default_rng(3)
    dt = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    shapes = transformer_shapes(d, layers, vocab, context)
    dense = [s for k, s in shapes.items() if len(s) == 2 and k not in ("embed", "pos")]
    W = [jnp.asarray(0.02 * rng.standard_normal((n, m + 1)), dtype=dt) for m, n in dense]
    gW = [jnp.asarray(1e-3 * rng.standard_normal(w.shape), dtype=dt) for w in W]
    N = 256

    def factor(dim):
        a = rng.standard_normal((N, dim))
        return jnp.asarray(a.T @ a / N, dtype=dt)
    factors = Factors(A=[factor(w.shape[1]) for w in W], G=[factor(w.shape[0]) for w in W])
    kfac, adamw = kf.kfac(1e-3, 1e-3, inverse_every=10), ad.adamw(1e-3, weight_decay=0.01)
    kstep = jax.jit(lambda p, s, g, f: kfac.step(p, g, s, f))
    astep = jax.jit(lambda p, s, g: adamw.step(p, g, s))
    tk, ta = _timed([(lambda c: kstep(c[0], c[1], gW, factors), (W, kfac.init(W))),
                     (lambda c: astep(c[0], c[1], gW), (W, adamw.init(W)))], block, repeats)
    out["kfac (T=10, dense layers)"] = (tk, ta)
    return out


def _ms(v):
    return f"{1e3 * v:.3f}" if v is not None else "—"


def _ratio(a, b):
    return f"{a / b:.2f}" if b else "—"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench_modern", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="d = 8, embeddings and head only, 2 steps × 2 repeats")
    args = parser.parse_args(argv)
    size = dict(d=8, layers=0, vocab=16, context=4, block=2, repeats=2) if args.quick else \
        dict(d=128, layers=4, vocab=256, context=64, block=10, repeats=7)
    n_params = sum(int(np.prod(s)) for s in transformer_shapes(size["d"], size["layers"], size["vocab"],
                                                               size["context"]).values())
    try:
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    except ImportError:                                                       # pragma: no cover
        torch = None
    try:
        steps = step_times(**size)
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
    print(f"(a) ms per step, transformer-shaped pytree (d = {size['d']}, {size['layers']} layers, {n_params:,} "
          f"float32 parameters), blocks of {size['block']} steps, median of {size['repeats']}")
    head = f"{'optimizer':<22}{'ours':>10}{'optax':>10}{'ours/optax':>12}{'torch':>10}{'ours/torch':>12}"
    print(head)
    for name, (a, b, c) in steps.items():
        print(f"{name:<22}{_ms(a):>10}{_ms(b):>10}{_ratio(a, b):>12}{_ms(c):>10}{_ratio(a, c):>12}")
    print("goal: ours/optax ≤ 1.1; torch = eager CPU torch (torch.optim, pytorch_optimizer.SOAP), '—' = none")
    ov = overhead(steps, **size)
    print("\n(b) overhead per step relative to AdamW on the same parameters")
    print(f"{'optimizer':<28}{'ms/step':>10}{'AdamW ms':>10}{'× AdamW':>10}")
    for name, (a, b) in ov.items():
        print(f"{name:<28}{_ms(a):>10}{_ms(b):>10}{a / b:>10.2f}")
    print("\ntimings: wall time on this machine under its current load; on a loaded or small machine pin the\n"
          "libraries to one thread (README, Benchmarks), or multi-threaded LAPACK/XLA contention dominates")
    return {"steps": steps, "overhead": ov}


if __name__ == "__main__":
    main(sys.argv[1:])
