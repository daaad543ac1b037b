r"""Frank–Wolfe (conditional gradient): linear minimization oracles, step rules, away-step and pairwise variants.

.. math::  s_k = \arg\min_{s\in C}\langle\nabla f(x_k), s\rangle,\quad g_k = \langle\nabla f(x_k), x_k - s_k\rangle,
           \quad x_{k+1} = x_k + \gamma_k (s_k - x_k).

The Frank–Wolfe gap g_k certifies f(x_k) − f* ≤ g_k (convexity: f* ≥ f(x_k) + ⟨∇f(x_k), s − x_k⟩ ≥ f(x_k) − g_k);
the history records it (``history.gap``; ``grad_norm`` too, the run stops on g_k ≤ ``gtol``). With γ_k = 2/(k+2),
f(x_k) − f* ≤ 2C_f/(k+2) for k ≥ 1, C_f ≤ L·diam(C)² the curvature constant (Jaggi 2013, Thm. 1, Lemma 7).
Away-step and pairwise FW keep x = Σ α_v v over the vertices of a polytope and converge linearly for strongly
convex f (Lacoste-Julien & Jaggi 2015, Thm. 1). References: Frank & Wolfe (1956); Jaggi (2013);
Lacoste-Julien & Jaggi (2015); Pedregosa, Negiar, Askari & Jaggi (2020) for the backtracking rule.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import REQUIRED, run, validate_callback, validate_positive, validate_x0
from ..core.result import SUCCESS

__all__ = ["lmo_simplex", "lmo_l1_ball", "lmo_box", "lmo_nuclear_ball", "simplex_vertices", "l1_ball_vertices",
           "open_loop", "short_step", "exact_line_search", "backtracking_step", "FWState", "frank_wolfe_step",
           "frank_wolfe", "ActiveSetState", "away_step", "pairwise_step", "away_frank_wolfe",
           "pairwise_frank_wolfe", "curvature_constant", "fw_rate_bound"]


# -------------------------------------------------------------------------------------------------- LMOs
def _pos(name, r):
    if isinstance(r, (bool, str)) or not np.isfinite(r) or r <= 0:
        raise ValueError(f"{name} must be positive and finite, got {r!r}")
    return float(r)


def lmo_simplex(g, s=1.0):
    """argmin over Δ_s of ⟨g, x⟩ = s e_i, i = argmin g_i.

    >>> lmo_simplex(np.array([0.3, -1.0, 2.0]))
    array([0., 1., 0.])
    """
    out = np.zeros_like(np.asarray(g, dtype=float))
    out[np.argmin(g)] = _pos("s", s)
    return out


def lmo_l1_ball(g, r=1.0):
    """argmin over {‖x‖₁ ≤ r} of ⟨g, x⟩ = −r sign(g_i) e_i, i = argmax |g_i|.

    >>> lmo_l1_ball(np.array([0.3, -1.0, 0.5]), 2.0)
    array([0., 2., 0.])
    """
    out = np.zeros_like(np.asarray(g, dtype=float))
    i = np.argmax(np.abs(g))
    out[i] = -_pos("r", r) * np.sign(g[i])
    return out


def lmo_box(g, lo, hi):
    """argmin over {lo ≤ x ≤ hi} of ⟨g, x⟩: lo_i where g_i > 0, hi_i otherwise.

    >>> lmo_box(np.array([1.0, -2.0]), -1.0, 3.0)
    array([-1.,  3.])
    """
    g = np.asarray(g, dtype=float)
    if np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError(f"need lo <= hi, got lo={lo!r}, hi={hi!r}")
    return np.where(g > 0, lo, hi) + 0.0 * g


def lmo_nuclear_ball(G, delta):
    """argmin over {‖X‖_* ≤ δ} of ⟨G, X⟩ = −δ u₁v₁ᵀ, (u₁, v₁) the top singular pair of G: by
    ``scipy.sparse.linalg.svds(G, k=1)`` (ARPACK, fixed start vector, deterministic) when min(G.shape) > 3, else a
    dense SVD. Cost: a few matrix–vector products instead of the full SVD a projection needs.

    >>> lmo_nuclear_ball(np.diag([1.0, -3.0]), 2.0)
    array([[0., 0.],
           [0., 2.]])
    """
    G = np.asarray(G, dtype=float)
    delta = _pos("delta", delta)
    if G.ndim != 2:
        raise ValueError(f"G must be a matrix, got shape {G.shape}")
    if min(G.shape) > 3:
        from scipy.sparse.linalg import svds

        v0 = np.random.default_rng(0).standard_normal(min(G.shape))
        u, _, vt = svds(G, k=1, v0=v0, solver="arpack")
    else:
        U, _, Vt = np.linalg.svd(G)
        u, vt = U[:, :1], Vt[:1]
    return -delta * (u[:, :1] @ vt[:1]) + 0.0


def simplex_vertices(n, s=1.0):
    """The vertices s e_i of Δ_s as columns, shape (n, n)."""
    return _pos("s", s) * np.eye(n)


def l1_ball_vertices(n, r=1.0):
    """The vertices ±r e_i of the ℓ₁ ball as columns [rI, −rI], shape (n, 2n)."""
    r = _pos("r", r)
    return np.hstack([r * np.eye(n), -r * np.eye(n)])


# ---------------------------------------------------------------------------------------------- step rules
class _Rule(NamedTuple):
    kind: str
    L: Any = None
    tau: float = 2.0
    eta: float = 0.9

    def __call__(self, problem, x, g, d, gamma_max, k, Lk):
        """(γ, L estimate, f evaluations) for the direction d at x with ∇f(x) = g, γ ∈ [0, γ_max]."""
        slope = -float(np.vdot(g, d))                    # = g_k for the FW direction
        dd = float(np.vdot(d, d))
        if self.kind == "open_loop":
            return min(2.0 / (k + 2.0), gamma_max), Lk, 0
        if dd <= 0 or slope <= 0:
            return 0.0, Lk, 0
        if self.kind == "short":
            return min(gamma_max, slope / (Lk * dd)), Lk, 0
        if self.kind == "exact":
            curv = float(np.vdot(d, problem.hvp(x, d)))
            return (gamma_max if curv <= 0 else min(gamma_max, slope / curv)), Lk, 0
        fx, M, nf = problem.f(x), self.eta * Lk, 1       # backtracking (Pedregosa et al. 2020, Alg. 2)
        for _ in range(60):
            gam = min(gamma_max, slope / (M * dd))
            nf += 1
            if problem.f(x + gam * d) <= fx - gam * slope + 0.5 * gam ** 2 * M * dd + 1e-14 * abs(fx):
                break
            M *= self.tau
        return gam, M, nf

    def __repr__(self):
        return {"open_loop": "open_loop()", "short": f"short_step(L={self.L!r})", "exact": "exact_line_search()"}.get(
            self.kind, f"backtracking_step(L0={self.L!r}, tau={self.tau}, eta={self.eta})")


def open_loop():
    """γ_k = 2/(k+2) (Jaggi 2013, Alg. 1): no function values, f(x_k) − f* ≤ 2C_f/(k+2)."""
    return _Rule("open_loop")


def short_step(L=None):
    """γ_k = min(γ_max, g_k/(L‖d_k‖²)), the minimizer of the quadratic upper bound (L = problem.L when None)."""
    return _Rule("short", None if L is None else validate_positive("L", L))


def exact_line_search():
    """γ_k = argmin_{γ∈[0,γ_max]} f(x + γd) = min(γ_max, −⟨∇f, d⟩/⟨d, ∇²f d⟩): exact when f is quadratic
    (needs problem.hvp); for other f it is one Newton step on γ."""
    return _Rule("exact")


def backtracking_step(L0=None, tau=2.0, eta=0.9):
    """Adaptive short step (Pedregosa et al. 2020, Alg. 2): M = ηL_{k−1}, γ = min(γ_max, g/(M‖d‖²)), M ← τM until
    f(x + γd) ≤ f(x) − γg + γ²M‖d‖²/2; L₀ = problem.L (or 1) when None."""
    if not (tau > 1 and 0 < eta <= 1):
        raise ValueError(f"need tau > 1 and 0 < eta <= 1, got tau={tau!r}, eta={eta!r}")
    return _Rule("backtrack", None if L0 is None else validate_positive("L0", L0), float(tau), float(eta))


def _rule_setup(problem, rule):
    if not isinstance(rule, _Rule):
        raise ValueError(f"step must be a step rule (open_loop(), short_step(), exact_line_search(), "
                         f"backtracking_step()), got {rule!r}")
    if rule.kind == "exact" and problem.hvp is None:
        raise ValueError("exact_line_search() needs problem.hvp (the quadratic's Hessian-vector product)")
    L = rule.L if rule.L is not None else problem.L
    if rule.kind == "short" and L is None:
        raise ValueError("short_step() needs L: pass short_step(L=...) or a problem with L")
    return 1.0 if L is None else float(L)


# ------------------------------------------------------------------------------------------- vanilla FW
class FWState(NamedTuple):
    x: Any       # x_k
    grad: Any    # ∇f(x_k)
    s: Any       # s_k = LMO(∇f(x_k))
    g: Any       # g_k = ⟨∇f(x_k), x_k − s_k⟩, the Frank–Wolfe gap (what the run stops on)
    L: Any       # the curvature estimate (backtracking) or L
    k: Any
    nfev: Any
    njev: Any


def _fw_init(problem, x0, lmo, L):
    gr = problem.grad(x0)
    s = lmo(gr)
    return FWState(x0, gr, s, float(np.vdot(gr, x0 - s)), L, 0, 0, 1)


def frank_wolfe_step(state: FWState, problem, lmo, rule) -> FWState:
    """x_{k+1} = x_k + γ_k(s_k − x_k), then ∇f(x_{k+1}), s_{k+1} and g_{k+1}. Pure."""
    d = state.s - state.x
    gam, L, nf = rule(problem, state.x, state.grad, d, 1.0, state.k, state.L)
    x = state.x + gam * d
    gr = problem.grad(x)
    s = lmo(gr)
    return FWState(x, gr, s, float(np.vdot(gr, x - s)), L, state.k + 1, state.nfev + nf, state.njev + 1)


def _feasible(problem, x0):
    if problem.project is not None:
        if np.linalg.norm(problem.project(x0) - x0) > 1e-9 * (1 + np.linalg.norm(x0)):
            raise ValueError(f"x0 must lie in the feasible set (Frank–Wolfe needs a feasible start); "
                             f"‖Π_C(x0) − x0‖ = {np.linalg.norm(problem.project(x0) - x0):.3g}")


def _done(res, problem, keep, gr):
    from .projected import _finish

    res.jac = gr
    if res.status == SUCCESS:
        res.message = "Optimization terminated successfully: Frank–Wolfe gap below gtol."
    return _finish(res, problem, keep, gap=res.history.grad_norm.copy())


def frank_wolfe(problem, x0=None, *, lmo=None, step=None, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    r"""Frank–Wolfe: s_k = LMO(∇f(x_k)), x_{k+1} = x_k + γ_k(s_k − x_k), γ_k by ``step``.

    Symbols ↔ arguments: LMO = ``lmo`` (default ``problem.info["lmo"]``), γ_k rule = ``step`` (default
    :func:`open_loop`, 2/(k+2); :func:`short_step`, :func:`exact_line_search`, :func:`backtracking_step`),
    g_k ≤ ``gtol`` stops. x₀ must be feasible. scipy has no FW; CVXPY solves the same problems for the check.
    References: Frank & Wolfe 1956; Jaggi 2013, Alg. 1 and Thm. 1.

    >>> from utils.constrained import simplex_least_squares
    >>> p = simplex_least_squares(m=8, n=3, seed=0)
    >>> res = frank_wolfe(p, step=exact_line_search(), maxiter=200)
    >>> bool(np.all(res.history.gap >= res.history.f_gap - 1e-12))
    True
    """
    from .projected import _record

    validate_callback(callback)
    x0 = validate_x0(problem, x0)
    lmo = problem.info.get("lmo") if lmo is None else lmo
    if not callable(lmo):
        raise ValueError("frank_wolfe needs lmo=... (a function g -> argmin_{s in C} <g, s>) or problem.info['lmo']")
    rule = open_loop() if step is None else step
    L = _rule_setup(problem, rule)
    _feasible(problem, x0)
    rec, keep = _record(problem, maxiter, record_x)
    res = run(frank_wolfe_step, _fw_init(problem, x0, lmo, L), problem, (lmo, rule), maxiter=maxiter, gtol=gtol,
              callback=callback, record_x=rec)
    return _done(res, problem, keep, problem.grad(res.x))


# ------------------------------------------------------------------------------- away-step and pairwise
class ActiveSetState(NamedTuple):
    x: Any        # x_k = V α_k
    grad: Any     # ∇f(x_k)
    alpha: Any    # α_k, the vertex weights (α ≥ 0, Σα = 1); the active set is {j : α_j > 0}
    g: Any        # g_k, the Frank–Wolfe gap
    L: Any
    k: Any
    nfev: Any
    njev: Any


def _as_state(problem, V, alpha, L, k, nfev, njev):
    x = V @ alpha
    gr = problem.grad(x)
    scores = V.T @ gr
    return ActiveSetState(x, gr, alpha, float(gr @ x - scores.min()), L, k, nfev, njev)


def _active_step(state, problem, V, rule, pairwise):
    scores = V.T @ state.grad
    s = int(np.argmin(scores))                                         # FW vertex
    active = state.alpha > 0
    v = int(np.flatnonzero(active)[np.argmax(scores[active])])         # away vertex
    alpha = state.alpha.copy()
    if pairwise:
        d, gmax = V[:, s] - V[:, v], alpha[v]
    elif state.g >= float(state.grad @ (V[:, v] - state.x)):
        d, gmax, pairwise = V[:, s] - state.x, 1.0, None               # FW step
    else:
        d, gmax = state.x - V[:, v], alpha[v] / (1.0 - alpha[v]) if alpha[v] < 1 else np.inf
    gam, L, nf = rule(problem, state.x, state.grad, d, gmax, state.k, state.L)
    if pairwise:
        alpha[s] += gam
        alpha[v] = 0.0 if gam >= gmax else alpha[v] - gam
    elif pairwise is None:
        alpha *= 1.0 - gam
        alpha[s] += gam
    else:
        alpha *= 1.0 + gam
        alpha[v] = 0.0 if gam >= gmax else alpha[v] - gam
    alpha = np.maximum(alpha, 0.0)
    alpha /= alpha.sum()
    return _as_state(problem, V, alpha, L, state.k + 1, state.nfev + nf, state.njev + 1)


def away_step(state: ActiveSetState, problem, V, rule) -> ActiveSetState:
    """Away-step FW (Lacoste-Julien & Jaggi 2015, Alg. 1): FW direction s − x if g_k ≥ ⟨∇f, v − x⟩, else the
    away direction x − v (v the active vertex of largest ⟨∇f, v⟩) with γ_max = α_v/(1 − α_v). Pure."""
    return _active_step(state, problem, V, rule, False)


def pairwise_step(state: ActiveSetState, problem, V, rule) -> ActiveSetState:
    """Pairwise FW (Lacoste-Julien & Jaggi 2015, Alg. 2): d = s − v, γ_max = α_v (weight moves from v to s). Pure."""
    return _active_step(state, problem, V, rule, True)


def _weights(V, x0):
    from scipy.optimize import nnls

    a, res = nnls(np.vstack([V, 10.0 * np.ones((1, V.shape[1]))]), np.r_[x0, 10.0])
    if res > 1e-9 * (1 + np.linalg.norm(x0)):
        raise ValueError(f"x0 must lie in conv(vertices) (a feasible start); residual {res:.3g}")
    a[a < 1e-15] = 0.0
    return a / a.sum()


def _active(problem, x0, vertices, step, maxiter, gtol, callback, record_x, which):
    from .projected import _record

    validate_callback(callback)
    x0 = validate_x0(problem, x0)
    V = problem.info.get("vertices") if vertices is None else np.asarray(vertices, dtype=float)
    if V is None or V.ndim != 2 or V.shape[0] != x0.size:
        raise ValueError(f"vertices must be an array of shape ({x0.size}, m) (one vertex per column), got "
                         f"{None if V is None else V.shape}")
    rule = (exact_line_search() if problem.hvp is not None else short_step()) if step is None else step
    if isinstance(rule, _Rule) and rule.kind == "open_loop":
        raise ValueError("away-step and pairwise FW need a step bounded by γ_max: use short_step(), "
                         "exact_line_search() or backtracking_step(), not open_loop()")
    L = _rule_setup(problem, rule)
    rec, keep = _record(problem, maxiter, record_x)
    state = _as_state(problem, V, _weights(V, x0), L, 0, 0, 1)
    res = run(which, state, problem, (V, rule), maxiter=maxiter, gtol=gtol, callback=callback, record_x=rec)
    return _done(res, problem, keep, problem.grad(res.x))


def away_frank_wolfe(problem, x0=None, *, vertices=None, step=None, maxiter=1000, gtol=1e-8, callback=None,
                     record_x=None):
    r"""Away-step Frank–Wolfe on the polytope conv(V), V = ``vertices`` (default ``problem.info["vertices"]``),
    x = Vα with α the vertex weights (initial α from NNLS on x₀). ``step``: exact line search when problem.hvp
    exists, else the short step. Linear rate for μ-strongly convex f: h_k ≤ h₀(1 − ρ)^{k/2}, ρ = μδ²/(4LD²)
    with δ the pyramidal width (Lacoste-Julien & Jaggi 2015, Thm. 1).

    >>> from utils.constrained import simplex_least_squares
    >>> p = simplex_least_squares(m=8, n=3, seed=0)
    >>> res = away_frank_wolfe(p, gtol=1e-12)
    >>> res.success, bool(np.allclose(res.x, p.x_star, atol=1e-8))
    (True, True)
    """
    return _active(problem, x0, vertices, step, maxiter, gtol, callback, record_x, away_step)


def pairwise_frank_wolfe(problem, x0=None, *, vertices=None, step=None, maxiter=1000, gtol=1e-8, callback=None,
                         record_x=None):
    r"""Pairwise Frank–Wolfe (Lacoste-Julien & Jaggi 2015, Alg. 2): x_{k+1} = x_k + γ(s_k − v_k); same arguments
    as :func:`away_frank_wolfe`.

    >>> from utils.constrained import simplex_least_squares
    >>> p = simplex_least_squares(m=8, n=3, seed=0)
    >>> bool(np.allclose(pairwise_frank_wolfe(p, gtol=1e-12).x, p.x_star, atol=1e-8))
    True
    """
    return _active(problem, x0, vertices, step, maxiter, gtol, callback, record_x, pairwise_step)


# ------------------------------------------------------------------------------------------------ theory
def curvature_constant(problem, *, vertices=None, diameter=None):
    r"""C_f = sup_{x,s∈C, γ∈(0,1]} (2/γ²)(f(x + γ(s−x)) − f(x) − γ⟨∇f(x), s−x⟩) (Jaggi 2013, eq. (3)).

    With ``vertices`` and a quadratic f (constant Hessian H = problem.hess): exactly max_{i,j}(v_i − v_j)ᵀH(v_i − v_j)
    (a convex function of s − x is maximized at vertex differences). Otherwise the bound L·diam(C)² (Jaggi 2013,
    Lemma 7), diam = ``diameter`` or ``problem.info["diameter"]``.

    >>> from utils.constrained import simplex_least_squares
    >>> p = simplex_least_squares(m=8, n=3, seed=0)
    >>> bool(curvature_constant(p, vertices=p.info["vertices"]) <= curvature_constant(p))
    True
    """
    if vertices is not None and problem.hess is not None:
        V = np.asarray(vertices, dtype=float)
        G = V.T @ problem.hess(problem.x0) @ V
        dg = np.diag(G)
        return float(np.max(dg[:, None] + dg[None, :] - 2 * G))
    D = problem.info.get("diameter") if diameter is None else diameter
    if D is None or problem.L is None:
        raise ValueError("curvature_constant needs vertices with problem.hess, or problem.L and a diameter")
    return float(problem.L * _pos("diameter", D) ** 2)


def fw_rate_bound(C_f, k):
    """2C_f/(k+2), the bound on f(x_k) − f* of FW with γ_k = 2/(k+2) or line search, k ≥ 1 (Jaggi 2013, Thm. 1)."""
    return 2.0 * C_f / (np.asarray(k, dtype=float) + 2.0)
