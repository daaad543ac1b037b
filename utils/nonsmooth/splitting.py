"""ADMM (Boyd et al. 2011, scaled form), its lasso instance, and the residual-based loops of the splitting methods.

Splitting methods stop on *residuals*, not on a gradient: ADMM on its primal residual r_k and dual residual s_k
against the tolerances ε_pri, ε_dual of Boyd et al. §3.3; Chambolle–Pock (in the sibling module
:mod:`utils.primal_dual`, which imports the loops and :func:`linear_operator` from here) on the analogous
primal/dual residuals of its optimality conditions. Each state therefore carries ``r_norm, s_norm, eps_pri,
eps_dual`` and the two drivers here, :func:`run_splitting` (a NumPy loop) and :func:`run_splitting_jax` (a
compiled JAX loop, tested equal), stop when ``r_norm ≤ eps_pri and s_norm ≤ eps_dual``. The result is a scipy
``OptimizeResult`` with a ``History`` (``grad_norm`` = √(‖r_k‖² + ‖s_k‖²); ``step`` is not recorded (NaN);
``nfev`` counts iterations) and ``residuals``: a dict of per-iteration arrays ``r, s, eps_pri, eps_dual, rho``
(entry 0, the start, is NaN). ``history.time`` counts the solver's own time: evaluating the objective (and an
optional monitor such as a duality gap) for the record is excluded.
Status codes: 0 converged, 1 ``maxiter``, 3 non-finite values, 99 callback.
"""
from __future__ import annotations

import math
import time
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from ..core.drivers import validate_callback, validate_maxiter, validate_nonnegative, validate_positive
from ..core.problems import xp
from ..core.result import CALLBACK, MAXITER, NONFINITE, SUCCESS, History, OptimizeResult

__all__ = ["ADMMState", "admm_step", "admm", "admm_jax", "admm_lasso", "admm_lasso_jax", "run_splitting",
           "run_splitting_jax", "linear_operator"]

_MESSAGES = {SUCCESS: "Converged: primal and dual residuals below their tolerances.",
             MAXITER: "Maximum number of iterations has been exceeded.",
             NONFINITE: "Non-finite value encountered.", CALLBACK: "The callback asked to stop."}


def _norm(v):
    return xp(v).sqrt(xp(v).sum(v * v))


def linear_operator(M):
    """(apply, apply_transpose) for a scalar s (s·I), a 2-D array, or a pair of callables given as is."""
    if isinstance(M, tuple) and len(M) == 2 and all(callable(f) for f in M):
        return M
    if np.ndim(M) == 0:
        s = float(M)
        return (lambda v: s * v), (lambda v: s * v)
    if np.ndim(M) != 2:
        raise ValueError(f"a linear operator must be a scalar, a matrix or (apply, apply_T), got shape {np.shape(M)}")
    return (lambda v: M @ v), (lambda v: M.T @ v)


# ------------------------------------------------------------------------------------------------ ADMM
class ADMMState(NamedTuple):
    """Scaled-form ADMM state after iteration k (Boyd et al. 2011, §3.1.1)."""

    x: Any; z: Any; u: Any           # noqa: E702  x_k, z_k and the scaled dual u_k = y_k/ρ
    rho: Any                         # penalty ρ (changes only with residual balancing)
    k: Any
    r_norm: Any; s_norm: Any         # noqa: E702  ‖r_k‖, ‖s_k‖
    eps_pri: Any; eps_dual: Any      # noqa: E702  ε_pri, ε_dual


def admm_step(s: ADMMState, x_update, z_update, A, B, c, eps_abs, eps_rel, balance, mu, tau_incr, tau_decr):
    """One scaled ADMM iteration (pure; NumPy or JAX arrays); see :func:`admm` for the equations."""
    (Af, AT), (Bf, _) = A, B
    x = x_update(s.z, s.u, s.rho)
    Ax = Af(x)
    z = z_update(x, s.u, s.rho)
    Bz = Bf(z)
    r = Ax + Bz - c
    u = s.u + r
    ns = xp(x)
    r_norm, s_norm = _norm(r), s.rho * _norm(AT(Bz - Bf(s.z)))
    eps_pri = math.sqrt(np.size(r)) * eps_abs + eps_rel * ns.maximum(ns.maximum(_norm(Ax), _norm(Bz)), _norm(c))
    eps_dual = math.sqrt(np.size(x)) * eps_abs + eps_rel * _norm(AT(s.rho * u))
    rho = s.rho
    if balance:                                   # §3.4.1; y = ρu is kept, so u is rescaled
        new_rho = ns.where(r_norm > mu * s_norm, rho * tau_incr, ns.where(s_norm > mu * r_norm, rho / tau_decr, rho))
        rho = ns.where(s.k < balance, new_rho, rho)                    # balancing only for the first iterations
        u = u * (s.rho / rho)
    return ADMMState(x, z, u, rho, s.k + 1, r_norm, s_norm, eps_pri, eps_dual)


def _balance_iters(balance):
    """``balance``: False (never), True (every iteration) or an int (the first ``balance`` iterations)."""
    if isinstance(balance, (bool, np.bool_)):
        return math.inf if balance else 0
    if isinstance(balance, (int, np.integer)) and balance >= 0:
        return int(balance)
    raise ValueError(f"balance must be a bool or a non-negative int, got {balance!r}")


def _admm_setup(x_update, z_update, x0, z0, A, B, c, rho, u0, eps_abs, eps_rel, balance, mu, tau_incr, tau_decr):
    for name, f in (("x_update", x_update), ("z_update", z_update)):
        if not callable(f):
            raise ValueError(f"{name} must be a function, got {f!r}")
    rho = validate_positive("rho", rho)
    eps_abs, eps_rel = validate_nonnegative("eps_abs", eps_abs), validate_nonnegative("eps_rel", eps_rel)
    mu = validate_positive("mu", mu)
    for name, v in (("tau_incr", tau_incr), ("tau_decr", tau_decr)):
        if not validate_positive(name, v) > 1:
            raise ValueError(f"{name} must be > 1, got {v!r}")
    for name, v in (("x0", x0), ("z0", z0)):
        if not np.all(np.isfinite(np.asarray(v, dtype=float))):
            raise ValueError(f"{name} must be finite")
    ops = (linear_operator(A), linear_operator(B))
    c = np.asarray(c, dtype=float)
    r0 = ops[0][0](np.asarray(x0, float)) + ops[1][0](np.asarray(z0, float)) - c
    u0 = np.zeros_like(r0) if u0 is None else np.asarray(u0, dtype=float)
    if u0.shape != r0.shape:
        raise ValueError(f"u0 has shape {u0.shape}, but Ax + Bz − c has shape {r0.shape}")
    nan = float("nan")
    state = ADMMState(np.asarray(x0, float), np.asarray(z0, float), u0, rho, 0, nan, nan, nan, nan)
    step = partial(admm_step, x_update=x_update, z_update=z_update, A=ops[0], B=ops[1], c=c, eps_abs=eps_abs,
                   eps_rel=eps_rel, balance=_balance_iters(balance), mu=mu, tau_incr=float(tau_incr),
                   tau_decr=float(tau_decr))
    return state, step


def admm(x_update, z_update, x0, z0, *, A=1.0, B=-1.0, c=0.0, rho=1.0, u0=None, objective=None, eps_abs=1e-4,
         eps_rel=1e-3, maxiter=1000, balance=False, mu=10.0, tau_incr=2.0, tau_decr=2.0, callback=None,
         record_x=None, monitor=None, monitor_tol=None):
    r"""ADMM in scaled form for  minimize f(x) + g(z)  subject to  Ax + Bz = c  (NumPy driver).

    .. math::
        x_{k+1} = \arg\min_x f(x) + \tfrac{\rho}{2}\|Ax + Bz_k - c + u_k\|^2, \quad
        z_{k+1} = \arg\min_z g(z) + \tfrac{\rho}{2}\|Ax_{k+1} + Bz - c + u_k\|^2, \quad
        u_{k+1} = u_k + Ax_{k+1} + Bz_{k+1} - c.

    Residuals r_{k+1} = Ax_{k+1} + Bz_{k+1} − c, s_{k+1} = ρAᵀB(z_{k+1} − z_k); stop when ‖r‖ ≤ ε_pri and
    ‖s‖ ≤ ε_dual with ε_pri = √p ε_abs + ε_rel max(‖Ax‖, ‖Bz‖, ‖c‖), ε_dual = √n ε_abs + ε_rel ‖Aᵀy‖, y = ρu
    (Boyd et al. 2011, eqs. 3.12 and 3.14). ``balance=True``: residual balancing (§3.4.1, eq. 3.13),
    ρ ← τ_incr ρ if ‖r‖ > μ‖s‖, ρ ← ρ/τ_decr if ‖s‖ > μ‖r‖, and u ← u ρ_old/ρ_new; ``balance=K`` (an int)
    balances during the first K iterations only, after which ρ is fixed, as the convergence theory assumes.

    Symbols ↔ arguments: ``x_update(z, u, rho)`` and ``z_update(x, u, rho)`` are the two argmin maps (the
    user's: a linear solve, a prox, …); A, B = ``A``, ``B`` (scalar s meaning sI, a matrix, or a pair
    ``(apply, apply_T)`` of functions); c = ``c``; ρ = ``rho``; u₀ = ``u0`` (default 0); ε_abs, ε_rel =
    ``eps_abs``, ``eps_rel``; μ, τ_incr, τ_decr = ``mu``, ``tau_incr``, ``tau_decr``. ``objective(x, z)``
    (optional) is recorded in ``history.fun``; ``monitor(state)`` (optional) in ``result.monitor``, and the
    run also stops when it falls to ``monitor_tol``. Reference: Boyd, Parikh, Chu, Peleato & Eckstein,
    *Distributed Optimization and Statistical Learning via ADMM*, FnT ML 3(1), 2011, §3.1.1, §3.3, §3.4.1.

    Returns an ``OptimizeResult`` with ``x, z, u, y (= ρu), rho, fun, nit, nfev (x-updates), success, status,
    message, history, residuals``.

    >>> import numpy as np          # min ½(x₁² + 10x₂²) + ½‖z − (1, 1)‖² s.t. x − z = 0 → x* = (1/2, 1/11)
    >>> d, a = np.array([1.0, 10.0]), np.ones(2)
    >>> res = admm(lambda z, u, rho: rho * (z - u) / (d + rho), lambda x, u, rho: (a + rho * (x + u)) / (1 + rho),
    ...            np.zeros(2), np.zeros(2), eps_abs=1e-10, eps_rel=0.0)
    >>> res.success, bool(np.allclose(res.z, [0.5, 1 / 11]))
    (True, True)
    """
    validate_callback(callback)
    state, step = _admm_setup(x_update, z_update, x0, z0, A, B, c, rho, u0, eps_abs, eps_rel, balance, mu,
                              tau_incr, tau_decr)
    obj = None if objective is None else (lambda s: objective(s.x, s.z))
    return _finish_admm(run_splitting(step, state, objective=obj, monitor=monitor, monitor_tol=monitor_tol,
                                      maxiter=maxiter, callback=callback, record_x=record_x))


def admm_jax(x_update, z_update, x0, z0, *, A=1.0, B=-1.0, c=0.0, rho=1.0, u0=None, objective=None, eps_abs=1e-4,
             eps_rel=1e-3, maxiter=1000, balance=False, mu=10.0, tau_incr=2.0, tau_decr=2.0, record_x=None,
             monitor=None, monitor_tol=None):
    """:func:`admm` compiled with JAX (``jit`` of a ``lax.while_loop``); the maps must be JAX-traceable."""
    state, step = _admm_setup(x_update, z_update, x0, z0, A, B, c, rho, u0, eps_abs, eps_rel, balance, mu,
                              tau_incr, tau_decr)
    obj = None if objective is None else (lambda s: objective(s.x, s.z))
    return _finish_admm(run_splitting_jax(step, state, objective=obj, monitor=monitor, monitor_tol=monitor_tol,
                                          maxiter=maxiter, record_x=record_x))


def _finish_admm(res):
    s = res.pop("state")
    res.update(z=np.asarray(s.z), u=np.asarray(s.u), rho=float(s.rho), y=float(s.rho) * np.asarray(s.u))
    return res


# -------------------------------------------------------------------------------------------- ADMM lasso
def _lasso_maps(A, b, lam, jax):
    """x- and z-updates of the lasso split x − z = 0. NumPy: Cholesky factor cached per ρ (refactored only
    when residual balancing changes ρ). JAX: factored inside the step (ρ is a traced value)."""
    from .prox import prox_l1

    m, n = A.shape
    Atb = A.T @ b / m
    if jax:
        import jax.numpy as jnp
        from jax.scipy.linalg import cho_factor, cho_solve
        A, Atb = jnp.asarray(A), jnp.asarray(Atb)
    else:
        from scipy.linalg import cho_factor, cho_solve
    cache = {}

    def factor(rho):
        if not jax and float(rho) in cache:
            return cache[float(rho)]
        M = A.T @ A / m + rho * xp(A).eye(n) if m >= n else m * rho * xp(A).eye(m) + A @ A.T
        F = cho_factor(M, lower=True)
        if not jax:
            cache.clear()
            cache[float(rho)] = F
        return F

    def x_update(z, u, rho):                       # (AᵀA/m + ρI) x = Aᵀb/m + ρ(z − u)
        q = Atb + rho * (z - u)
        if m >= n:
            return cho_solve(factor(rho), q)
        return (q - A.T @ cho_solve(factor(rho), A @ q)) / rho    # (ρI + AᵀA/m)⁻¹ = [I − Aᵀ(mρI + AAᵀ)⁻¹A]/ρ

    def z_update(x, u, rho):                       # z = S_{λ/ρ}(x + u)
        return prox_l1(x + u, 1.0 / rho, lam)

    def objective(x, z):
        r = A @ z - b * 1.0
        return 0.5 * (r @ r) / m + lam * xp(z).sum(xp(z).abs(z))

    return x_update, z_update, objective


def _lasso_args(A, b, lam, x0):
    A, b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"need A of shape (m, n) and b of shape (m,), got A {A.shape} and b {b.shape}")
    lam = validate_nonnegative("lam", lam)
    x0 = np.zeros(A.shape[1]) if x0 is None else np.asarray(x0, dtype=float)
    if x0.shape != (A.shape[1],):
        raise ValueError(f"x0 has shape {x0.shape}, expected ({A.shape[1]},)")
    return A, b, lam, x0


def admm_lasso(A, b, lam, *, rho=1.0, x0=None, eps_abs=1e-6, eps_rel=1e-5, maxiter=2000, balance=False, **kw):
    r"""The lasso  F(x) = (1/2m)‖Ax − b‖² + λ‖x‖₁  by ADMM with f(x) = (1/2m)‖Ax − b‖², g(z) = λ‖z‖₁, x − z = 0.

    .. math:: x_{k+1} = (A^\top A/m + \rho I)^{-1}(A^\top b/m + \rho(z_k - u_k)), \quad
              z_{k+1} = S_{\lambda/\rho}(x_{k+1} + u_k), \quad u_{k+1} = u_k + x_{k+1} - z_{k+1}

    (Boyd et al. 2011, §6.4). The x-update uses a Cholesky factor of AᵀA/m + ρI (n×n) cached across
    iterations, or when m < n the matrix-inversion lemma with the m×m factor of mρI + AAᵀ. Scaling as
    scikit-learn's ``Lasso`` (alpha = λ). Other keywords as in :func:`admm`; ``history.fun`` is F(z_k)
    (z_k is exactly sparse, and is the estimate to report).

    >>> import numpy as np
    >>> A, b = np.eye(2), np.array([2.0, 0.1])     # F = ¼‖x − b‖² + 0.2‖x‖₁ → x* = S_{mλ}(b) = S_{0.4}(b)
    >>> res = admm_lasso(A, b, 0.2, eps_abs=1e-10, eps_rel=0.0)
    >>> bool(np.allclose(res.z, [1.6, 0.0]))
    True
    """
    A, b, lam, x0 = _lasso_args(A, b, lam, x0)
    xu, zu, obj = _lasso_maps(A, b, lam, jax=False)
    return admm(xu, zu, x0, x0.copy(), rho=rho, objective=obj, eps_abs=eps_abs, eps_rel=eps_rel, maxiter=maxiter,
                balance=balance, **kw)


def admm_lasso_jax(A, b, lam, *, rho=1.0, x0=None, eps_abs=1e-6, eps_rel=1e-5, maxiter=2000, balance=False, **kw):
    """:func:`admm_lasso` compiled with JAX (the Cholesky factor is recomputed inside each step)."""
    A, b, lam, x0 = _lasso_args(A, b, lam, x0)
    xu, zu, obj = _lasso_maps(A, b, lam, jax=True)
    return admm_jax(xu, zu, x0, x0.copy(), rho=rho, objective=obj, eps_abs=eps_abs, eps_rel=eps_rel,
                    maxiter=maxiter, balance=balance, **kw)


# ---------------------------------------------------------------------------------------------- drivers
_FIELDS = ("r_norm", "s_norm", "eps_pri", "eps_dual")


def _finite(state, f, mval) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(v)))) for v in (*state, f, mval))


def _converged(s, mval, monitor_tol) -> bool:
    return bool(s.r_norm <= s.eps_pri and s.s_norm <= s.eps_dual) or (monitor_tol is not None and mval <= monitor_tol)


def _result(state, rows, xs, status, k, k_bad, monitor_tol=None):
    cols = [np.array(c, dtype=float) for c in zip(*rows)]
    f, r, sn, ep, ed, rho, t, mon = cols
    nit = np.arange(len(f))
    hist = History(fun=f, grad_norm=np.hypot(r, sn), step=np.full(len(f), np.nan), nfev=nit, njev=0 * nit,
                   time=t, x=None if xs is None else np.array(xs))
    i = -2 if k_bad else -1
    msg = _MESSAGES[status] + (f" Stopped at iteration {k_bad}." if k_bad else "")
    if status == SUCCESS and monitor_tol is not None and mon[-1] <= monitor_tol:
        msg = f"Converged: the monitored quantity (e.g. a duality gap) fell to monitor_tol = {monitor_tol:g}."
    return OptimizeResult(x=np.asarray(state.x), fun=float(f[i]), nit=k, nfev=k, njev=0, success=status == SUCCESS,
                          status=status, message=msg, history=hist, state=state,
                          residuals={"r": r, "s": sn, "eps_pri": ep, "eps_dual": ed, "rho": rho},
                          monitor=None if np.all(np.isnan(mon)) else mon)


def run_splitting(step, state, *, objective=None, monitor=None, monitor_tol=None, maxiter=1000, callback=None,
                  record_x=None):
    """NumPy loop shared by the splitting methods: ``state ← step(state)`` until the residual test (or
    ``monitor(state) ≤ monitor_tol``), ``maxiter``, a non-finite value (status 3; the last finite state is
    returned), or the callback stops the run (status 99; it receives ``OptimizeResult(x, fun, nit, state)``)."""
    maxiter = validate_maxiter(maxiter)
    validate_callback(callback)
    record_x = np.size(state.x) <= 100 if record_x is None else record_x
    nan, solver_time = float("nan"), 0.0
    rows, xs = [], []

    def record(s):
        with np.errstate(all="ignore"):
            f = nan if objective is None else float(objective(s))
            mval = nan if monitor is None else float(monitor(s))
        rows.append((f, *(float(getattr(s, a)) for a in _FIELDS), float(getattr(s, "rho", nan)), solver_time, mval))
        if record_x:
            xs.append(np.array(s.x, dtype=float))
        return f, mval

    f, mval = record(state)
    good, k, status, k_bad = state, 0, None, None
    if not _finite(state[:-4], 0.0 if objective is None else f, 0.0 if monitor is None else mval):
        status, k_bad = NONFINITE, 0
    while status is None:
        if k >= maxiter:
            status = MAXITER
            break
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            new = step(state)
        solver_time += time.perf_counter() - t0
        k += 1
        f, mval = record(new)
        state = new
        if not _finite(state, 0.0 if objective is None else f, 0.0 if monitor is None else mval):
            status, k_bad = NONFINITE, k
            break
        good = state
        if _converged(state, mval, monitor_tol):
            status = SUCCESS
        elif callback is not None:
            try:
                stop = callback(OptimizeResult(x=state.x, fun=f, nit=k, state=state))
            except StopIteration:
                stop = True
            if stop:
                status = CALLBACK
    return _result(good, rows, xs if record_x else None, status, k, k_bad, monitor_tol)


def run_splitting_jax(step, state, *, objective=None, monitor=None, monitor_tol=None, maxiter=1000,
                      record_x=None):
    """:func:`run_splitting` as one compiled ``lax.while_loop`` (no callback); the history is preallocated and
    ``history.time`` spreads the loop's wall time (compilation excluded) evenly over the iterations."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    maxiter = validate_maxiter(maxiter)
    record_x = np.size(state.x) <= 100 if record_x is None else bool(record_x)
    state = jax.tree.map(jnp.asarray, state)
    state = state._replace(**{a: jnp.asarray(getattr(state, a), dtype=state.x.dtype) for a in _FIELDS},
                           k=jnp.asarray(0))
    if hasattr(state, "rho"):
        state = state._replace(rho=jnp.asarray(state.rho, dtype=state.x.dtype))
    mtol = -jnp.inf if monitor_tol is None else float(monitor_tol)
    nan = jnp.asarray(jnp.nan, state.x.dtype)

    def row(s, first=False):
        f = nan if objective is None else objective(s)
        mval = nan if monitor is None else monitor(s)
        vals = jnp.stack([f, *(getattr(s, a) for a in _FIELDS), getattr(s, "rho", nan), mval])
        checked = s[:3] if first else (*s[:3], *(getattr(s, a) for a in _FIELDS))   # residuals are NaN at k = 0
        ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in checked]))
        ok &= (objective is None) | jnp.isfinite(f)
        ok &= (monitor is None) | jnp.isfinite(mval)
        return vals, ok, (s.r_norm <= s.eps_pri) & (s.s_norm <= s.eps_dual) | (mval <= mtol)

    def loop(s0):
        v0, ok0, _ = row(s0, first=True)
        vals = jnp.full((maxiter + 1, 7), jnp.nan, s0.x.dtype).at[0].set(v0)
        xs = jnp.zeros((maxiter + 1,) + s0.x.shape, s0.x.dtype).at[0].set(s0.x) if record_x else None
        status0 = jnp.where(ok0, -1, NONFINITE)

        def cond(c):
            return (c[1] < 0) & (c[2] < maxiter)

        def body(c):
            s, _, k, vals, xs = c
            new = step(s)
            v, ok, conv = row(new)
            vals = vals.at[k + 1].set(v)
            xs = None if xs is None else xs.at[k + 1].set(new.x)
            status = jnp.where(~ok, NONFINITE, jnp.where(conv, SUCCESS, -1))
            keep = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, s)
            return keep, status, k + 1, vals, xs

        return lax.while_loop(cond, body, (s0, status0, jnp.asarray(0), vals, xs))

    compiled = jax.jit(loop).lower(state).compile()
    t0 = time.perf_counter()
    s, status, nit, vals, xs = jax.block_until_ready(compiled(state))
    elapsed = time.perf_counter() - t0
    status, nit = int(status), int(nit)
    status = MAXITER if status < 0 else status
    vals = np.asarray(vals)[: nit + 1]
    t = elapsed * np.arange(nit + 1) / max(nit, 1)
    rows = [(*v[:6], ti, v[6]) for v, ti in zip(vals, t)]
    xs = None if xs is None else np.asarray(xs)[: nit + 1]
    return _result(s, rows, xs, status, nit, nit if status == NONFINITE else None, monitor_tol)
