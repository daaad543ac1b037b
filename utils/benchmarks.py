"""Benchmarks: run every solver on every problem, measure the cost to reach a target, compare by profiles.

The objective measures, the solvers only produce iterates (as in benchopt): a run reaches the target at the
first iterate with

    f(x_k) − f* ≤ rtol · max(1, |f*|),

read from ``result.history``. Costs to target are counted in iterations, oracle calls (nfev + njev) and
seconds. Timings vary from machine to machine: they belong in printed tables, never in checks.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, fields

import numpy as np
from tqdm.auto import tqdm

__all__ = ["Record", "run_benchmark", "target_index", "PerformanceProfile", "performance_profile",
           "format_table", "print_table"]

_COSTS = ("iters_to_target", "oracle_to_target", "time_to_target", "seconds", "nit", "nfev", "njev")


@dataclass(frozen=True)
class Record:
    """One run of one solver on one problem.

    ``gap = result.fun − f*``; ``seconds`` is the wall time of the whole call (``time.perf_counter``);
    ``iters_to_target`` is the first k meeting the target, ``oracle_to_target = nfev_k + njev_k`` and
    ``time_to_target = history.time[k]`` at that k; all three are ``inf`` when the target is never reached.
    """

    solver: str
    problem: str
    seed: object
    gap: float
    success: bool
    status: int
    nit: int
    nfev: int
    njev: int
    seconds: float
    iters_to_target: float
    oracle_to_target: float
    time_to_target: float


def target_index(fun, f_star: float, rtol: float = 1e-6):
    """First k with ``fun[k] − f_star ≤ rtol·max(1, |f_star|)``, or ``None`` when no entry meets it."""
    hit = np.flatnonzero(np.asarray(fun, dtype=float) - f_star <= rtol * max(1.0, abs(f_star)))
    return int(hit[0]) if hit.size else None


def _record(solver, problem, seed, res, seconds, rtol):
    f_star, inf = float(problem.f_star), float("inf")
    h = getattr(res, "history", None)
    nfev, njev = int(getattr(res, "nfev", 0)), int(getattr(res, "njev", 0))
    if h is not None:
        k = target_index(h.fun, f_star, rtol)
        to = (inf, inf, inf) if k is None else (k, h.nfev[k] + h.njev[k], h.time[k])
    else:  # no history: only the final iterate can be judged
        hit = float(res.fun) - f_star <= rtol * max(1.0, abs(f_star))
        to = (int(res.nit), nfev + njev, seconds) if hit else (inf, inf, inf)
    return Record(solver, problem.name, seed, float(res.fun) - f_star, bool(res.success),
                  int(getattr(res, "status", -1)), int(getattr(res, "nit", -1)), nfev, njev, seconds,
                  *map(float, to))


def run_benchmark(solvers, problems, *, rtol=1e-6, seeds=None, progress=False) -> list[Record]:
    """Run every solver on every problem (and seed) and return one :class:`Record` per run.

    Parameters
    ----------
    solvers : dict name → callable. Called as ``solver(problem)``, or ``solver(problem, seed)`` for each seed
        when ``seeds`` is given. Must return an ``OptimizeResult`` (with ``history`` for the costs to target).
    problems : problems with distinct ``name`` and a known ``f_star``.
    rtol : the target is ``f(x_k) − f* ≤ rtol·max(1, |f*|)``.
    progress : show a ``tqdm.auto`` progress bar.
    """
    problems = list(problems)
    names = [p.name for p in problems]
    if len(set(names)) != len(names):
        raise ValueError(f"problems must have distinct names, got {names}")
    for p in problems:
        if getattr(p, "f_star", None) is None:
            raise ValueError(f"problems: {p.name!r} has no f_star; a benchmark needs the optimal value")
    if not rtol > 0:
        raise ValueError(f"rtol must be > 0, got {rtol}")
    jobs = [(s, p, seed) for p in problems for s in solvers for seed in ([None] if seeds is None else seeds)]
    records = []
    for s, p, seed in tqdm(jobs, desc="benchmark", disable=not progress):
        start = time.perf_counter()
        res = solvers[s](p) if seeds is None else solvers[s](p, seed)
        records.append(_record(s, p, seed, res, time.perf_counter() - start, rtol))
    return records


def _names(results):
    problems = list(dict.fromkeys(r.problem for r in results))
    return problems, list(dict.fromkeys(r.solver for r in results))


def _runs(results, problem, solver):
    return [r for r in results if r.problem == problem and r.solver == solver]


@dataclass(frozen=True)
class PerformanceProfile:
    """ρ_s(τ) for each solver at the points ``tau``; ``ratios[s]`` holds r_{p,s} in the order of ``problems``."""

    tau: np.ndarray
    rho: dict
    ratios: dict
    problems: tuple
    metric: str


def performance_profile(results, metric="time_to_target") -> PerformanceProfile:
    """Dolan–Moré performance profiles (Dolan & Moré, Math. Programming 91:201–213, 2002).

    With t_{p,s} the cost of solver s on problem p (the median over seeds),

        r_{p,s} = t_{p,s} / min_s t_{p,s},        ρ_s(τ) = |{p : r_{p,s} ≤ τ}| / |P|.

    A run that never reaches the target has t = ∞ (whatever ``metric``), so r = ∞: ρ_s(∞) is the fraction
    of problems s solves, ρ_s(1) the fraction where s is fastest. A problem no solver solves counts as a
    failure for all. ``tau`` holds the distinct finite ratios (ρ is a step function that changes only
    there). A problem where the best cost is 0 (target met at x_0) says nothing about relative cost: it is
    left out with a warning.
    """
    if metric not in _COSTS:
        raise ValueError(f"metric must be one of {_COSTS}, got {metric!r}")
    problems, solvers = _names(results)
    t = np.array([[np.median([getattr(r, metric) if np.isfinite(r.iters_to_target) else np.inf
                              for r in _runs(results, p, s)] or [np.inf]) for s in solvers] for p in problems],
                 dtype=float).reshape(len(problems), len(solvers))
    best = t.min(axis=1)
    if np.any(best == 0):
        warnings.warn(f"performance_profile: left out problems with a zero best {metric}: "
                      f"{[p for p, b in zip(problems, best) if b == 0]}", RuntimeWarning, stacklevel=2)
        keep = best != 0
        t, best, problems = t[keep], best[keep], [p for p, k in zip(problems, keep) if k]
    if not problems:
        raise ValueError("results: no problem left to profile")
    with np.errstate(invalid="ignore"):
        r = np.where(np.isfinite(best)[:, None], t / best[:, None], np.inf)
    tau = np.unique(r[np.isfinite(r)]) if np.isfinite(r).any() else np.array([1.0])
    rho = {s: np.mean(r[:, j][None, :] <= tau[:, None], axis=1) for j, s in enumerate(solvers)}
    return PerformanceProfile(tau, rho, {s: r[:, j] for j, s in enumerate(solvers)}, tuple(problems), metric)


DEFAULT_METRICS = ("success", "gap", "nit", "oracle_to_target", "time_to_target", "seconds")
_FLOAT_FMT = {"gap": "{:.2e}", "seconds": "{:.3g}", "time_to_target": "{:.3g}"}


def _cell(runs, metric):
    if metric == "success":
        n = sum(r.success for r in runs)
        return ("yes" if n else "no") if len(runs) == 1 else f"{n}/{len(runs)}"
    v = float(np.median([getattr(r, metric) for r in runs]))
    if not np.isfinite(v):
        return str(v)
    if metric in _FLOAT_FMT:
        return _FLOAT_FMT[metric].format(v)
    return str(int(v)) if v == int(v) else f"{v:g}"


def format_table(results, metrics=DEFAULT_METRICS) -> str:
    """A fixed-width text table: one row per (problem, solver), one column per metric.

    ``metrics`` are :class:`Record` field names. With several seeds a cell holds the median over seeds and
    ``success`` reads ``n_success/n_runs``.
    """
    known = {f.name for f in fields(Record)}
    bad = [m for m in metrics if m not in known]
    if bad:
        raise ValueError(f"metrics: unknown {bad}; choose from {sorted(known)}")
    problems, solvers = _names(results)
    rows = [[p, s, *(_cell(runs, m) for m in metrics)]
            for p in problems for s in solvers if (runs := _runs(results, p, s))]
    head = ["problem", "solver", *metrics]
    width = [max(len(str(c)) for c in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(  # noqa: E731
        str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, width)))
    n_seeds = max((len(_runs(results, p, s)) for p in problems for s in solvers), default=1)
    out = [line(head), "-" * len(line(head)), *map(line, rows)]
    if n_seeds > 1:
        out.append(f"(median over {n_seeds} seeds)")
    return "\n".join(out)


def print_table(results, metrics=DEFAULT_METRICS, file=None) -> None:
    """Print :func:`format_table` (to ``file``, default standard output)."""
    print(format_table(results, metrics), file=file)
