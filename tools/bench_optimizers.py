"""Week 4 benchmark: our pytree optimizers against optax, and SAGA / SVRG against scikit-learn's saga.

    python -m tools.bench_optimizers            10M parameters, target 1e-6 (a minute or two)
    python -m tools.bench_optimizers --quick    10⁴ parameters, target 1e-3, seconds (what the test suite runs)

(a) Time per jitted step (float32, one jax.jit of step or of update + apply_updates) of utils.adaptive's adam,
adamw, lion and lookahead(adam) and of the optax equivalents on a pytree of a few leaves: after untimed warm-up
calls ours and optax are timed alternately; the median of the repeated timings and the ratio ours/optax (the
goal is ≤ 1.1×; printed, not asserted). (b) Seconds to reach
f(x) − f* ≤ rtol·|f*| on the real ℓ2-logistic problem utils.stochastic.finite_sum_logistic() (f* from its
record): SAGA and SVRG read the first such iterate from their history (recorded once per epoch); scikit-learn's
LogisticRegression(solver="saga", C=1/(nλ), fit_intercept=False) returns only its final point, so it is rerun
with tol = 1e-2, 1e-3, … and the wall time of the first run that meets the target counts. Timings depend on the
machine and its load: read them as orders of magnitude.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _tree(n_params, seed=0):
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    a = n_params // 2
    b = (n_params - a) * 2 // 3
    c = n_params - a - b
    shapes = {"w1": (a // 1000, 1000) if a >= 1000 else (a,), "w2": (b,), "b": (c,)}
    leftover = n_params - sum(int(np.prod(s)) for s in shapes.values())
    shapes["b"] = (c + leftover,)
    return {k: jnp.asarray(rng.standard_normal(s), dtype=jnp.float32) for k, s in shapes.items()}


def _paired_median_seconds(ours, ref, repeats, warmup=3):
    """Median seconds per call of ``ours = (jitted step, args)`` and ``ref``, timed alternately.

    Both are compiled and run ``warmup`` times untimed first, then timed in alternation, so that neither pays
    for a cold start (the first large buffers a process allocates) or sits in a different phase of the
    machine's load: timing each in its own block made whichever ran first look up to ~2x slower."""
    import jax

    for f, args in (ours, ref):
        for _ in range(warmup):
            jax.block_until_ready(f(*args))
    times = ([], [])
    for _ in range(repeats):
        for (f, args), t in zip((ours, ref), times):
            t0 = time.perf_counter()
            jax.block_until_ready(f(*args))
            t.append(time.perf_counter() - t0)
    return float(np.median(times[0])), float(np.median(times[1]))


def step_times(n_params=10_000_000, repeats=20):
    """{name: (ours s/step, optax s/step)} for adam, adamw, lion, lookahead(adam)."""
    import jax
    import optax

    from utils import adaptive as ad

    x = _tree(n_params)
    g = jax.tree.map(lambda a: 0.01 * a, x)
    pairs = {"adam": (ad.adam(1e-3), optax.adam(1e-3)),
             "adamw": (ad.adamw(1e-3, weight_decay=1e-2), optax.adamw(1e-3, weight_decay=1e-2)),
             "lion": (ad.lion(1e-4, weight_decay=1e-2), optax.lion(1e-4, weight_decay=1e-2)),
             "lookahead(adam)": (ad.lookahead(ad.adam(1e-3), 5, 0.5),
                                 optax.lookahead(optax.adam(1e-3), 5, 0.5))}
    out = {}
    for name, (ours, tx) in pairs.items():
        def ref(p, g, s, tx=tx):
            u, s = tx.update(g, s, p)
            return optax.apply_updates(p, u), s
        xp = optax.LookaheadParams.init_synced(x) if name.startswith("lookahead") else x
        out[name] = _paired_median_seconds((jax.jit(ours.step), (x, g, ours.init(x))),
                                           (jax.jit(ref), (xp, g, tx.init(xp))), repeats)
    return out


def _first_time(res, f_star, rtol):
    h = res.history
    hit = np.nonzero(h.fun - f_star <= rtol * abs(f_star))[0]
    return float(h.time[hit[0]]) if hit.size else float("nan")


def time_to_target(rtol=1e-6, max_epochs=1000):
    """{solver: (seconds to f − f* ≤ rtol|f*|, final f − f*)} on finite_sum_logistic()."""
    from sklearn.linear_model import LogisticRegression

    from utils.stochastic import finite_sum_logistic, saga, svrg

    p = finite_sum_logistic()
    n, f_star = p.n, p.f_star
    out = {}
    r = saga(p, maxiter=max_epochs * n, gtol=0.0, record_every=n,
             callback=lambda s: s.fun - f_star <= rtol * abs(f_star))
    out["SAGA (utils, η=1/(3L_max))"] = (_first_time(r, f_star, rtol), r.fun - f_star)
    r = svrg(p, eta=0.5 / p.L_max, maxiter=max_epochs // 3,
             callback=lambda s: s.fun - f_star <= rtol * abs(f_star))
    out["SVRG (utils, η=0.5/L_max, m=2n)"] = (_first_time(r, f_star, rtol), r.fun - f_star)
    X, y, lam = p.info["X"], p.info["y"], p.info["lam"]
    t_hit, gap = float("nan"), float("nan")
    for tol in 10.0 ** -np.arange(2, 13):
        clf = LogisticRegression(solver="saga", C=1 / (n * lam), fit_intercept=False, tol=tol, max_iter=10_000)
        t0 = time.perf_counter()
        clf.fit(X, y)
        t = time.perf_counter() - t0
        gap = float(p.f(clf.coef_.ravel()) - f_star)
        if gap <= rtol * abs(f_star):
            t_hit = t
            break
    out["scikit-learn saga"] = (t_hit, gap)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench_optimizers", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10⁴ parameters, target 1e-3 (seconds)")
    args = parser.parse_args(argv)
    n_params, repeats, rtol = (10_000, 5, 1e-3) if args.quick else (10_000_000, 20, 1e-6)
    steps = step_times(n_params, repeats)
    print(f"(a) time per jitted step, {n_params:,} float32 parameters, median of {repeats}")
    print(f"{'optimizer':<18}{'ours [ms]':>12}{'optax [ms]':>12}{'ours/optax':>12}")
    for name, (a, b) in steps.items():
        print(f"{name:<18}{1e3 * a:>12.3f}{1e3 * b:>12.3f}{a / b:>12.2f}")
    print("goal: ours/optax ≤ 1.1")
    tt = time_to_target(rtol)
    print(f"\n(b) seconds to f(x) − f* ≤ {rtol:g}·|f*|, ℓ2-logistic on breast cancer (n = 569)")
    print(f"{'solver':<34}{'seconds':>10}{'final f − f*':>14}")
    for name, (t, gap) in tt.items():
        print(f"{name:<34}{t:>10.3f}{gap:>14.2e}")
    print("\ntimings: wall time on this machine under its current load")
    return {"steps": steps, "time_to_target": tt}


if __name__ == "__main__":
    main(sys.argv[1:])
