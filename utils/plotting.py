"""Plots of the course: convergence curves with seed bands, theory overlays, contours, performance profiles.

Every function draws on an ``ax`` it is given and returns the artist it drew, so a figure is composed in the
notebook, never here. The conventions follow the course: suboptimality on a log scale, several seeds as a
median line with a quantile band, theory dashed over experiment, honest x-axes (iterations, oracle calls,
seconds).
"""
from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from cycler import cycler

from .core.runtime import get_scale

__all__ = ["COLORS", "set_style", "Curves", "convergence_curves", "plot_convergence", "plot_theory",
           "plot_contours", "plot_performance_profile", "save_figure"]

#: Okabe & Ito's palette, distinguishable with the common forms of colour blindness (yellow last: low contrast).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

_STYLE = {
    "axes.prop_cycle": cycler(color=COLORS), "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
    "axes.spines.top": False, "axes.spines.right": False, "font.size": 11, "axes.titlesize": 12,
    "axes.labelsize": 11, "legend.fontsize": 10, "legend.frameon": False, "lines.linewidth": 1.8,
    "figure.constrained_layout.use": True, "figure.figsize": (6.4, 4.2), "figure.dpi": 110,
    "savefig.dpi": 150,
}
_XLABEL = {"iter": "iteration k", "epochs": "epochs (gradients computed / n)", "nfev": "function evaluations", "njev": "gradient evaluations",
           "oracle": "oracle calls (nfev + njev)", "time": "seconds"}
_YLABEL = {"gap": "f(x_k) − f*", "fun": "f(x_k)", "grad_norm": "‖∇f(x_k)‖"}
_EPS = np.finfo(float).eps


def set_style() -> None:
    """Set the house style in ``matplotlib.rcParams`` (idempotent: calling it twice changes nothing).

    Readable fonts, a light grid, constrained layout, the colour-blind-safe :data:`COLORS` cycle,
    110 dpi on screen and 150 dpi in saved files.
    """
    mpl.rcParams.update(_STYLE)


class Curves(NamedTuple):
    """What :func:`plot_convergence` draws: abscissa ``t``, the ``median`` and the band ``lower``/``upper``."""

    t: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _trace(res, x: str, y: str, f_star):
    h = getattr(res, "history", None)
    if h is None:
        raise ValueError("runs: every result needs a `history` to be plotted")
    if x == "iter":        # the recorded iteration indices (a history may record every m-th iterate)
        k = getattr(h, "k", None)
        t = np.arange(len(h.fun), dtype=float) if k is None else np.asarray(k, dtype=float)
    elif x == "epochs":
        if getattr(h, "epochs", None) is None:
            raise ValueError("x='epochs' needs a history with gradients computed and n (utils.stochastic's "
                             f"StochasticHistory); got a {type(h).__name__} without `epochs`")
        t = np.asarray(h.epochs, dtype=float)
    elif x == "oracle":
        t = np.asarray(h.nfev, dtype=float) + np.asarray(h.njev, dtype=float)
    else:
        t = np.asarray(getattr(h, x), dtype=float)
    v = np.asarray(h.fun if y == "gap" else getattr(h, y), dtype=float)
    return t, (v - f_star if y == "gap" else v)


def convergence_curves(runs, *, x: str = "iter", y: str = "gap", f_star=None, band=(0.1, 0.9)) -> Curves:
    """Median and quantile band of ``y`` against ``x`` over one or several runs (see :func:`plot_convergence`).

    Several runs are put on a common grid, the union of their abscissae. Run ``i`` contributes at ``t`` the
    value of its last iterate with ``t_k ≤ t`` (before its first iterate, its first value). For ``x="iter"``
    this pads a run that stopped early with its last value: a stopped solver keeps returning its last
    iterate. A NaN (a diverged run) counts as ``+inf``, worse than every finite value. The band holds the
    ``band`` quantiles (NumPy's linear rule) across runs at each grid point; ``band=None`` gives no band.
    """
    if x not in _XLABEL:
        raise ValueError(f"x must be one of {sorted(_XLABEL)}, got {x!r}")
    if y not in _YLABEL:
        raise ValueError(f"y must be one of {sorted(_YLABEL)}, got {y!r}")
    if y == "gap" and f_star is None:
        raise ValueError("f_star is required for y='gap'")
    runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
    if not runs:
        raise ValueError("runs must hold at least one result")
    if y == "gap" and np.ndim(f_star) and np.size(f_star) != len(runs):
        raise ValueError(f"f_star: one value, or one per run ({len(runs)}), got {np.size(f_star)}")
    stars = np.broadcast_to(np.asarray(f_star if y == "gap" else 0.0, dtype=float), (len(runs),))
    traces = [_trace(r, x, y, fs) for r, fs in zip(runs, stars)]
    if len(traces) == 1:
        t, v = traces[0]
        return Curves(t, v, v, v)
    t = np.unique(np.concatenate([tk for tk, _ in traces]))
    vals = np.stack([vk[np.maximum(np.searchsorted(tk, t, side="right") - 1, 0)] for tk, vk in traces])
    vals = np.sort(np.where(np.isnan(vals), np.inf, vals), axis=0)
    med = _quantile(vals, 0.5)
    if band is None:
        return Curves(t, med, med, med)
    return Curves(t, med, _quantile(vals, band[0]), _quantile(vals, band[1]))


def _quantile(s, q):
    """NumPy's linear-rule quantile of the sorted columns of ``s``, with ``+inf`` allowed (inf − inf → inf)."""
    pos = q * (len(s) - 1)
    i = int(np.floor(pos))
    lo, hi = s[i], s[min(i + 1, len(s) - 1)]
    if pos == i:
        return lo
    with np.errstate(invalid="ignore"):
        return np.where(hi == lo, lo, lo + (pos - i) * (hi - lo))


def plot_convergence(ax, runs, *, x="iter", y="gap", f_star=None, label=None, color=None, band=(0.1, 0.9)):
    """Plot ``y`` against ``x`` for one run, or the median and a quantile band over several runs (seeds).

    Parameters
    ----------
    runs : an ``OptimizeResult`` with ``history``, or a list of them (several seeds of one method).
    x : ``"iter"`` (the iteration k: ``history.k`` where the history records it, e.g. a
        :class:`utils.stochastic.StochasticHistory` kept every m iterations; else the row index, which is k
        for the deterministic :class:`utils.History`), ``"epochs"`` (component gradients computed / n, from
        ``history.epochs``; stochastic histories only), ``"nfev"``, ``"njev"``, ``"oracle"`` (= nfev + njev)
        or ``"time"`` (seconds).
    y : ``"gap"`` (f(x_k) − f*, needs ``f_star``: one value, or one per run when the runs solve different
        problems, e.g. one random instance per seed; log scale), ``"fun"`` (linear scale) or ``"grad_norm"``
        (‖∇f(x_k)‖; log scale).
    band : the lower/upper quantiles shaded when there are several runs, or ``None``.

    Alignment of runs of different lengths is described in :func:`convergence_curves`.
    On a log scale a value ≤ 0 (f* reached to rounding, or an exact zero gradient) has no place: it is drawn
    at the floor ``min(ε·max(1, |f*|), smallest positive value)`` (for ``grad_norm``, ``ε·max(1, max value)``
    in place of ``ε·max(1, |f*|)``) and marked with a ▽, so it is never hidden. A gap below ``−√ε·max(1, |f*|)``
    means ``f_star`` is wrong and raises a ``RuntimeWarning``.

    Returns
    -------
    The median (or single-run) line, a ``matplotlib.lines.Line2D``.
    """
    c = convergence_curves(runs, x=x, y=y, f_star=f_star, band=band)
    med, lo, hi = c.median, c.lower, c.upper
    clipped = np.zeros(med.shape, dtype=bool)
    if y != "fun":
        scale = max(1.0, float(np.max(np.abs(f_star)))) if y == "gap" else max(1.0, float(np.max(med[np.isfinite(med)], initial=0.0)))
        if y == "gap" and np.any(med < -np.sqrt(_EPS) * scale):
            warnings.warn(f"f(x_k) − f* reaches {np.min(med):.3g} < 0: is f_star right?", RuntimeWarning,
                          stacklevel=2)
        pos = np.concatenate([a[(a > 0) & np.isfinite(a)] for a in (med, lo, hi)])
        floor = min(_EPS * scale, pos.min()) if pos.size else _EPS * scale
        clipped = med <= 0
        med, lo, hi = (np.where(a <= 0, floor, a) for a in (med, lo, hi))
    (line,) = ax.plot(c.t, med, color=color, label=label)
    if clipped.any():
        ax.plot(c.t[clipped], med[clipped], "v", color=line.get_color(), ls="none")
    if c.lower is not c.median:  # several runs with a band
        ax.fill_between(c.t, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if y != "fun":
        ax.set_yscale("log")
    ax.set_xlabel(_XLABEL[x])
    ax.set_ylabel(_YLABEL[y])
    return line


def plot_theory(ax, k, values, label, color=None):
    """Draw a theory curve (a rate bound such as ``L‖x0 − x*‖²/(2k)``) dashed over the experiments.

    ``color=None`` draws it in dark grey; pass the experiment's colour to pair a bound with its method.
    Returns the ``Line2D``.
    """
    (line,) = ax.plot(k, values, "--", color="0.25" if color is None else color, label=label, lw=1.4)
    return line


def _grid_eval(f, X, Y):
    """f on a grid: one vectorized call f(stack([X, Y])) when it broadcasts correctly, else a loop."""
    probes = [(0, 0), (X.shape[0] // 2, -1), (-1, X.shape[1] // 3)]
    try:
        Z = np.asarray(f(np.stack([X, Y])), dtype=float)
        ok = Z.shape == X.shape and all(
            np.isclose(Z[i, j], float(f(np.array([X[i, j], Y[i, j]]))), equal_nan=True) for i, j in probes)
    except Exception:  # noqa: BLE001 — any failure to broadcast means: evaluate point by point
        ok = False
    if ok:
        return Z
    return np.array([[float(f(np.array([a, b]))) for a, b in zip(xr, yr)] for xr, yr in zip(X, Y)])


def plot_contours(ax, f, xlim, ylim, *, levels=30, paths=None, labels=None, x_star=None, log_levels=True,
                  resolution=200):
    """Contour plot of a 2-D function ``f`` with iterate paths and the minimizer.

    Parameters
    ----------
    f : ``f(x)`` for ``x`` of shape (2,). If ``f(np.stack([X, Y]))`` evaluates the whole grid (``f`` written
        with ``x[0]``, ``x[1]``) one call is made (checked against pointwise values), else a loop.
    levels : number of levels, or the levels themselves.
    paths : arrays of shape (k, 2), e.g. ``result.history.x``, drawn as lines with markers.
    labels : one legend label per path.
    x_star : the minimizer, marked with a star.
    log_levels : space ``levels`` (a number) geometrically above the grid minimum: ``min f + 10^{-4..0}·range``,
        which resolves narrow valleys (Rosenbrock); else linearly.

    Returns
    -------
    The ``QuadContourSet``.
    """
    X, Y = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    Z = _grid_eval(f, X, Y)
    if np.ndim(levels) == 0 and log_levels:
        zmin, top = np.nanmin(Z), np.nanmax(Z) - np.nanmin(Z)
        levels = zmin + np.geomspace(1e-4 * top, top, int(levels)) if top > 0 else int(levels)
    cs = ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.7)
    for i, p in enumerate(paths or []):
        p = np.asarray(p, dtype=float)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"paths[{i}] must have shape (k, 2), got {p.shape}")
        ax.plot(p[:, 0], p[:, 1], "o-", ms=3, lw=1.2, label=None if labels is None else labels[i])
    if x_star is not None:
        ax.plot(*np.asarray(x_star, dtype=float), marker="*", ms=14, color="k", ls="none", label="x*")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    return cs


def plot_performance_profile(ax, profile):
    """Draw Dolan–Moré performance profiles ρ_s(τ) as step curves on a log₂ τ axis.

    ``profile`` is what :func:`utils.benchmarks.performance_profile` returns (fields ``tau``, ``rho``,
    ``metric``). Each curve is extended to ``2·max τ`` so its final plateau (the fraction solved at all)
    shows. Returns the list of ``Line2D``, one per solver.
    """
    tau = np.append(profile.tau, 2.0 * profile.tau[-1])
    lines = [ax.step(tau, np.append(r, r[-1]), where="post", label=name)[0] for name, r in profile.rho.items()]
    ax.set_xscale("log", base=2)
    ax.set_xlim(1.0, tau[-1])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"performance ratio τ ({getattr(profile, 'metric', 'metric')})")
    ax.set_ylabel("fraction of problems ρ_s(τ)")
    return lines


def save_figure(fig, week, what, root=None) -> Path:
    """Save ``fig`` as ``<root>/figures/w{week}_{what}.png`` and return the path.

    ``week`` is an int in 1..6 and ``what`` a snake_case name (``[a-z0-9_]+``); anything else raises
    ``ValueError``. ``root`` defaults to the repository checkout that holds the current directory (the
    nearest folder, upwards, with a ``utils`` package in it), else the current directory — never the
    site-packages folder where ``utils`` may be installed (as on Colab).

    The committed figures are the ``laptop``-scale ones. At ``smoke`` scale (the test suite) and with no
    explicit ``root``, the figure goes to ``<tempdir>/optimization_methods_figures/`` instead, so running the
    tests never overwrites them with low-resolution versions.
    """
    if isinstance(week, bool) or not isinstance(week, (int, np.integer)) or not 1 <= week <= 6:
        raise ValueError(f"week must be an int in 1..6, got {week!r}")
    if not isinstance(what, str) or not re.fullmatch(r"[a-z0-9_]+", what):
        raise ValueError(f"what must be snake_case ([a-z0-9_]+), got {what!r}")
    if root is None and get_scale() == "smoke":
        folder = Path(tempfile.gettempdir()) / "optimization_methods_figures"
    else:
        if root is None:
            here = Path.cwd()
            root = next((p for p in (here, *here.parents) if (p / "utils" / "__init__.py").is_file()), here)
        folder = Path(root) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"w{int(week)}_{what}.png"
    fig.savefig(path)
    return path
