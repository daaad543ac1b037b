r"""Mean–variance portfolios with constraints: QP data for our IPM, cardinality (MIQP, enumeration, IHT), backtests.

With weights w ∈ ℝⁿ, covariance Σ ⪰ 0 and mean returns μ, every portfolio here solves (Markowitz 1952)

.. math:: \min_w\ \tfrac12 w^\top\Sigma w \quad\text{s.t.}\quad \mu^\top w \ge r,\ \mathbf 1^\top w = 1,\
          0 \le w \le u,\ \|w - w^{\text{prev}}\|_1 \le \tau,\ \|w\|_0 \le K,

each constraint optional. Without ``‖w‖₀ ≤ K`` it is a convex QP in the week-5 form min ½xᵀQx + cᵀx s.t.
Gx ≤ h, Ax = b (:func:`frontier_qp` builds it, the turnover row through t ≥ |w − w_prev|), solved by
:func:`utils.interior_point.qp_ipm`; :func:`mean_variance` returns the weights and the *dual prices* of each
constraint group (λ ≥ 0 for inequalities, ν free for the budget): λ_return = ∂f*/∂r, ν_budget = −∂f*/∂b for
the budget 1ᵀw = b (B&V §5.6: f*(u) with constraint g ≤ u has ∂f*/∂u = −λ).

Cardinality ‖w‖₀ ≤ K makes the problem an MIQP. :func:`cardinality_bigm` is the dense big-M model (w_i ≤ u z_i,
z ∈ {0,1}ⁿ, Σz ≤ K); :func:`cardinality_perspective` writes Σ = BBᵀ + diag(d) (a factor model, d > 0) and
replaces d_i w_i² by its perspective d_i w_i²/z_i (Frangioni & Gentile 2006; Günlük & Linderoth 2010), whose
continuous relaxation is much tighter. Both are CVXPY problems for a MIP solver (``solver="SCIP"``).
:func:`enumerate_supports` certifies the optimum by solving the C(n, K) restricted QPs with our IPM;
:func:`project_k_sparse_simplex` is the exact Euclidean projection onto {w ≥ 0, 1ᵀw = 1, ‖w‖₀ ≤ K}
(Kyrillidis et al. 2013), and :func:`k_sparse_problem` the record that turns
:func:`utils.constrained.projected_gradient` into iterative hard thresholding (Blumensath & Davies 2009).

Backtest measures (daily returns, 252 trading days a year): :func:`sharpe_ratio`, :func:`max_drawdown`,
:func:`walk_forward` (rolling estimation window, rebalancing every ``step`` days, turnover Σ|w_new − w_drifted|).

References: Markowitz, J. Finance 7(1), 1952; Boyd & Vandenberghe 2004, §4.4.1 and §5.6; Bertsimas & Shioda,
Comput. Optim. Appl. 43, 2009; Frangioni & Gentile, Math. Program. 106, 2006; Kyrillidis, Becker, Cevher &
Koch, ICML 2013; DeMiguel, Garlappi & Uppal, Rev. Financ. Stud. 22(5), 2009.
"""
from __future__ import annotations

import itertools
import math
from typing import NamedTuple, Optional

import numpy as np

from ..core.problems import Problem

__all__ = ["PortfolioQP", "factor_model", "frontier_qp", "mean_variance", "project_k_sparse_simplex",
           "k_sparse_problem", "enumerate_supports", "cardinality_bigm", "cardinality_perspective",
           "sharpe_ratio", "max_drawdown", "walk_forward"]


class PortfolioQP(NamedTuple):
    """QP data (x = (w, t): t only with a turnover row) and ``rows``: constraint group → slice of G (or A)."""
    Q: np.ndarray
    c: np.ndarray
    G: np.ndarray
    h: np.ndarray
    A: np.ndarray
    b: np.ndarray
    rows: dict


def _cov(Sigma):
    S = np.asarray(Sigma, dtype=float)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 1:
        raise ValueError(f"Sigma must be a square matrix, got shape {S.shape}")
    if not np.all(np.isfinite(S)) or not np.allclose(S, S.T, rtol=1e-10, atol=1e-12 * np.abs(S).max()):
        raise ValueError("Sigma must be finite and symmetric")
    return 0.5 * (S + S.T)


def _vec(name, v, n):
    v = np.asarray(v, dtype=float)
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite vector of length {n}, got shape {v.shape}")
    return v


def _K(K, n):
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 1 <= K <= n:
        raise ValueError(f"K must be an integer in [1, {n}], got {K!r}")
    return int(K)


def factor_model(X, F):
    r"""OLS factor model of asset returns X (T×n) on factor returns F (T×k): X = 1αᵀ + F Bᵀ + E, and

    .. math:: \Sigma = B\,\Sigma_F B^\top + \operatorname{diag}(d),\qquad d_j = \widehat{\operatorname{var}}(E_{:j}).

    Returns (B (n×k), Σ_F (k×k), d (n,), Σ). The diagonal d > 0 is what the perspective formulation uses.

    >>> g = np.random.default_rng(0); F = g.standard_normal((500, 2)); X = F @ [[1.0, 0.5], [0.0, 1.0]] + g.standard_normal((500, 2))
    >>> B, SF, d, S = factor_model(X, F); bool(np.allclose(S, B @ SF @ B.T + np.diag(d)))
    True
    """
    X, F = np.asarray(X, dtype=float), np.asarray(F, dtype=float)
    if X.ndim != 2 or F.ndim != 2 or X.shape[0] != F.shape[0] or X.shape[0] <= F.shape[1] + 1:
        raise ValueError(f"X (T×n) and F (T×k) need the same T > k + 1 rows, got {X.shape} and {F.shape}")
    D = np.column_stack([np.ones(len(F)), F])
    coef = np.linalg.lstsq(D, X, rcond=None)[0]
    E = X - D @ coef
    B, SF = coef[1:].T, np.atleast_2d(np.cov(F.T))
    d = E.var(axis=0, ddof=D.shape[1])
    return B, SF, d, B @ SF @ B.T + np.diag(d)


def frontier_qp(Sigma, mu=None, r=None, *, w_max=1.0, w_prev=None, tau=None, budget=1.0) -> PortfolioQP:
    r"""QP data of  min ½wᵀΣw  s.t. μᵀw ≥ r (if r is given), 1ᵀw = budget, 0 ≤ w ≤ w_max, and, if τ is given,
    ‖w − w_prev‖₁ ≤ τ written with t ∈ ℝⁿ: w − t ≤ w_prev, −w − t ≤ −w_prev, 1ᵀt ≤ τ (x = (w, t)).

    ``rows`` maps "return", "lower", "upper", "turnover" to slices of G (multipliers λ ≥ 0) and "budget" to A.
    ``w_max=None`` drops the upper bounds; ``w_max=np.inf`` is refused (use None).

    >>> d = frontier_qp(np.eye(2), [1.0, 2.0], 1.5); d.G.shape, d.rows["return"]
    ((5, 2), slice(0, 1, None))
    """
    S = _cov(Sigma)
    n = S.shape[0]
    if r is not None and mu is None:
        raise ValueError("a target return r needs mu")
    if tau is not None and (w_prev is None or not tau >= 0):
        raise ValueError(f"a turnover limit needs w_prev and tau >= 0, got tau={tau!r}")
    if w_max is not None and not (0 < w_max < math.inf):
        raise ValueError(f"w_max must be positive and finite (or None), got {w_max!r}")
    m = 2 * n if tau is not None else n                                     # columns: w, then t
    blocks, rows, k = [], {}, 0

    def add(name, G, h):
        nonlocal k
        blocks.append((np.atleast_2d(G), np.atleast_1d(h)))
        rows[name] = slice(k, k + len(blocks[-1][1]))
        k += len(blocks[-1][1])

    E, Z = np.eye(n, m), np.zeros((n, m))
    if r is not None:
        add("return", -np.concatenate([_vec("mu", mu, n), np.zeros(m - n)]), [-float(r)])
    add("lower", -E, np.zeros(n))
    if w_max is not None:
        add("upper", E, np.full(n, float(w_max)))
    if tau is not None:
        wp = _vec("w_prev", w_prev, n)
        Z[:, n:] = np.eye(n)
        add("turnover", np.concatenate([np.zeros(n), np.ones(n)]), [float(tau)])
        add("t_plus", E - Z, wp)
        add("t_minus", -E - Z, -wp)
    Q = np.zeros((m, m))
    Q[:n, :n] = S
    G = np.vstack([g for g, _ in blocks])
    h = np.concatenate([v for _, v in blocks])
    A = np.concatenate([np.ones(n), np.zeros(m - n)])[None, :]
    rows["budget"] = slice(0, 1)
    return PortfolioQP(Q, np.zeros(m), G, h, A, np.array([float(budget)]), rows)


def mean_variance(Sigma, mu=None, r=None, *, w_max=1.0, w_prev=None, tau=None, budget=1.0, **ipm_kw):
    r"""Solve :func:`frontier_qp` by :func:`utils.interior_point.qp_ipm`; add ``w`` (the weights) and ``prices``
    (constraint group → multipliers: λ for the inequality groups, ν for "budget") to the ``OptimizeResult``.

    Sensitivities (B&V §5.6.3): ∂f*/∂r = λ_return, ∂f*/∂τ = −λ_turnover, ∂f*/∂w_max = −Σ λ_upper,
    ∂f*/∂budget = −ν_budget.

    >>> res = mean_variance(np.diag([1.0, 3.0]))          # min-variance: w ∝ Σ⁻¹1 = (3/4, 1/4)
    >>> np.round(res.w, 6), round(res.fun, 6)
    (array([0.75, 0.25]), 0.375)
    """
    from .interior_point import qp_ipm

    d = frontier_qp(Sigma, mu, r, w_max=w_max, w_prev=w_prev, tau=tau, budget=budget)
    res = qp_ipm(d.Q, d.c, d.G, d.h, d.A, d.b, **ipm_kw)
    n = d.Q.shape[0] if tau is None else d.Q.shape[0] // 2
    res.w = res.x[:n]
    res.prices = {name: (res.nu if name == "budget" else res.lam)[s] for name, s in d.rows.items()}
    return res


def project_k_sparse_simplex(v, K):
    r"""Euclidean projection onto the K-sparse simplex {w ≥ 0, 1ᵀw = 1, ‖w‖₀ ≤ K}: keep the K largest entries
    of v and project them onto the simplex (exact: Kyrillidis et al. 2013, Thm. 1, "greedy selector and simplex
    projector"). Ties are broken by index (a stable sort).

    >>> project_k_sparse_simplex(np.array([0.5, 0.1, 0.4, -1.0]), 2)
    array([0.55, 0.  , 0.45, 0.  ])
    """
    from ..nonsmooth.prox import project_simplex

    v = np.asarray(v, dtype=float)
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError(f"v must be a finite vector, got shape {v.shape}")
    K = _K(K, v.size)
    keep = np.argsort(-v, kind="stable")[:K]
    w = np.zeros_like(v)
    w[keep] = project_simplex(v[keep])
    return w


def k_sparse_problem(Sigma, K, *, x0=None) -> Problem:
    r"""The record of  min ½wᵀΣw over the K-sparse simplex, for :func:`utils.constrained.projected_gradient`:
    projected gradient with this (nonconvex) projection is iterative hard thresholding (IHT). L = λ_max(Σ);
    x₀ = 1/n (projected at the first step). It finds a fixed point, not a certified optimum.

    >>> from utils.constrained import projected_gradient
    >>> res = projected_gradient(k_sparse_problem(np.diag([1.0, 2.0, 4.0]), 2), maxiter=500, gtol=1e-12)
    >>> np.round(res.x, 6)
    array([0.666667, 0.333333, 0.      ])
    """
    S = _cov(Sigma)
    n = S.shape[0]
    K = _K(K, n)
    x0 = np.full(n, 1.0 / n) if x0 is None else _vec("x0", x0, n)
    return Problem(name=f"K-sparse min-variance (n={n}, K={K})", f=lambda w: 0.5 * float(w @ S @ w),
                   grad=lambda w: S @ w, x0=x0, project=lambda v: project_k_sparse_simplex(v, K),
                   L=float(np.linalg.eigvalsh(S)[-1]), info={"Sigma": S, "K": K})


def enumerate_supports(Sigma, K, *, w_max=1.0, tol=1e-10, progress=None):
    r"""Certified optimum of  min ½wᵀΣw s.t. 1ᵀw = 1, 0 ≤ w ≤ w_max, ‖w‖₀ ≤ K  by solving the restricted QP on
    every support S with |S| = K (supports smaller than K are faces of these) by our IPM: C(n, K) QPs.

    Returns a dict: ``w`` (best), ``fun``, ``support``, ``values`` (per support, in ``itertools.combinations``
    order), ``count``, ``nit`` (total IPM iterations). ``progress``: an optional wrapper (e.g. ``tqdm``).

    >>> out = enumerate_supports(np.diag([1.0, 2.0, 4.0]), 2); out["support"], round(out["fun"], 6), out["count"]
    ((0, 1), 0.333333, 3)
    """
    from .interior_point import qp_ipm

    S = _cov(Sigma)
    n = S.shape[0]
    K = _K(K, n)
    if w_max is not None and w_max * K < 1 - 1e-12:
        raise ValueError(f"K·w_max = {K * w_max} < 1: every support is infeasible")
    combos = itertools.combinations(range(n), K)
    if progress is not None:
        combos = progress(combos, total=math.comb(n, K))
    values, best, nit = [], None, 0
    for sup in combos:
        d = frontier_qp(S[np.ix_(sup, sup)], w_max=w_max)
        res = qp_ipm(d.Q, d.c, d.G, d.h, d.A, d.b, tol=tol)
        if not res.success:
            raise RuntimeError(f"support {sup}: {res.message}")
        nit += res.nit
        values.append(res.fun)
        if best is None or res.fun < best[0]:
            best = (res.fun, sup, res.x)
    w = np.zeros(n)
    w[list(best[1])] = best[2]
    return {"w": w, "fun": best[0], "support": best[1], "values": np.array(values), "count": len(values), "nit": nit}


def cardinality_bigm(Sigma, K, *, w_max=1.0, relax=False):
    r"""Dense big-M MIQP:  min ½wᵀΣw s.t. 1ᵀw = 1, 0 ≤ w_i ≤ w_max z_i, 1ᵀz ≤ K, z ∈ {0,1}ⁿ (Bertsimas & Shioda
    2009). ``relax=True`` gives its continuous relaxation (0 ≤ z ≤ 1). Returns (cvxpy.Problem, w, z); solve with
    ``problem.solve(solver="SCIP")``.

    >>> import cvxpy as cp; p, w, z = cardinality_bigm(np.diag([1.0, 2.0, 4.0]), 2, relax=True)
    >>> round(float(p.solve(solver="CLARABEL")), 5)        # the relaxation = the long-only QP: 1/(2·Σ 1/σ²)
    0.28571
    """
    import cvxpy as cp

    S = _cov(Sigma)
    n = S.shape[0]
    K = _K(K, n)
    w = cp.Variable(n)
    z = cp.Variable(n) if relax else cp.Variable(n, boolean=True)
    cons = [cp.sum(w) == 1, w >= 0, w <= w_max * z, cp.sum(z) <= K] + ([z >= 0, z <= 1] if relax else [])
    return cp.Problem(cp.Minimize(0.5 * cp.quad_form(w, cp.psd_wrap(S))), cons), w, z


def cardinality_perspective(B, d, K, *, w_max=1.0, relax=False):
    r"""Perspective (factor) MIQP for Σ = BBᵀ + diag(d), d > 0 (B n×k, e.g. B·chol(Σ_F) of a factor model):

    .. math:: \min\ \tfrac12\|y\|^2 + \tfrac12 d^\top s \quad\text{s.t.}\quad y = B^\top w,\ w_i^2 \le s_i z_i,\
              \mathbf 1^\top w = 1,\ 0 \le w_i \le w_{\max} z_i,\ \mathbf 1^\top z \le K,\ z \in \{0,1\}^n.

    w_i² ≤ s_i z_i (``quad_over_lin``, a rotated cone) is the perspective of w_i² (Frangioni & Gentile 2006): at
    z_i = 1 it is s_i ≥ w_i², at z_i = 0 it forces w_i = 0. Only k + n variables enter the quadratic. Returns
    (cvxpy.Problem, w, z).

    >>> import cvxpy as cp; p, w, z = cardinality_perspective(np.zeros((3, 1)), np.array([1.0, 2.0, 4.0]), 2, relax=True)
    >>> bool(p.solve(solver="CLARABEL") >= 0.2857)    # tighter than (or equal to) the big-M relaxation
    True
    """
    import cvxpy as cp

    B = np.asarray(B, dtype=float)
    d = np.asarray(d, dtype=float)
    if B.ndim != 2 or d.shape != (B.shape[0],) or not np.all(d > 0) or not np.all(np.isfinite(B)):
        raise ValueError(f"need B (n×k) finite and d (n,) > 0, got shapes {B.shape}, {d.shape}")
    n = d.size
    K = _K(K, n)
    w, s, y = cp.Variable(n), cp.Variable(n), cp.Variable(B.shape[1])
    z = cp.Variable(n) if relax else cp.Variable(n, boolean=True)
    cons = [y == B.T @ w, cp.sum(w) == 1, w >= 0, w <= w_max * z, cp.sum(z) <= K]
    cons += [cp.quad_over_lin(w[i], z[i]) <= s[i] for i in range(n)] + ([z <= 1] if relax else [])
    return cp.Problem(cp.Minimize(0.5 * cp.sum_squares(y) + 0.5 * d @ s), cons), w, z


def sharpe_ratio(returns, periods=252):
    r"""Annualized Sharpe ratio √periods · mean / std (ddof = 1) of per-period (excess) returns.

    >>> round(sharpe_ratio(np.array([0.01, -0.005, 0.002, 0.004])), 3)
    7.059
    """
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1 or r.size < 2 or not np.all(np.isfinite(r)):
        raise ValueError(f"returns must be a finite vector of length ≥ 2, got shape {r.shape}")
    return float(math.sqrt(periods) * r.mean() / r.std(ddof=1))


def max_drawdown(returns):
    r"""Largest peak-to-trough loss of the wealth curve W_t = Π(1 + r_s), as a fraction: max_t (1 − W_t/max_{s≤t} W_s).

    >>> round(max_drawdown(np.array([0.1, -0.5, 0.2])), 6)
    0.5
    """
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1 or r.size < 1 or not np.all(r > -1):
        raise ValueError("returns must be a vector of simple returns > −1")
    W = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], W]))[1:]
    return float(np.max(1.0 - W / peak))


def walk_forward(R, weights_fn, *, window, step, start=None):
    r"""Walk-forward backtest on simple returns R (T×n): at t = start, start + step, …, call
    ``weights_fn(R[t − window:t], w_drifted)`` (only past data) and hold the weights, drifting with prices, for
    the next ``step`` days. Turnover at a rebalance is ‖w_new − w_drifted‖₁ (the first from cash: ‖w‖₁).

    Returns a dict: ``returns`` (daily portfolio returns from ``start``), ``weights`` (per rebalance),
    ``turnover`` (per rebalance), ``times`` (rebalance indices).

    >>> R = np.full((6, 2), 0.01); out = walk_forward(R, lambda X, w: np.array([0.5, 0.5]), window=2, step=2)
    >>> np.round(out["returns"], 6), out["turnover"]
    (array([0.01, 0.01, 0.01, 0.01]), [1.0, 0.0])
    """
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or not np.all(np.isfinite(R)):
        raise ValueError(f"R must be a finite T×n matrix, got shape {R.shape}")
    T, n = R.shape
    start = window if start is None else int(start)
    if not (isinstance(window, (int, np.integer)) and 1 <= window <= start < T) or not step >= 1:
        raise ValueError(f"need 1 ≤ window ≤ start < T={T} and step ≥ 1, got window={window}, start={start}, step={step}")
    rets, weights, turnover, times = [], [], [], []
    held = np.zeros(n)
    for t in range(start, T, int(step)):
        w = np.asarray(weights_fn(R[t - window:t], held), dtype=float)
        turnover.append(float(np.abs(w - held).sum()))
        weights.append(w)
        times.append(t)
        for s in range(t, min(t + int(step), T)):
            rp = float(w @ R[s])
            rets.append(rp)
            w = w * (1.0 + R[s]) / (1.0 + rp)                            # weights drift with prices
        held = w
    return {"returns": np.array(rets), "weights": np.array(weights), "turnover": turnover, "times": times}
