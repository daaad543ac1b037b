"""The two drivers every deterministic algorithm shares: a NumPy loop and a compiled JAX loop.

An algorithm supplies a state (a ``NamedTuple`` with at least ``x``, the iterate, and ``g``, the stationarity
measure it stops on — the gradient for smooth methods — plus counters ``nfev``/``njev`` when it calls the
oracles) and a pure ``step(state, problem, *hparams) -> state``. The drivers own everything else: stopping
on ``‖g‖ ≤ gtol``, the iteration budget, non-finite values, the callback, timing and the ``History``.

* :func:`run` — eager NumPy loop; checks and records after every iteration; scipy-style ``callback``.
* :func:`run_jax` — ``jax.jit`` of a ``lax.while_loop`` with the same stopping rules, writing the history
  into preallocated arrays. The compiled loop is cached on (step, problem, maxiter, record_x, argument
  shapes), so a second call with the same shapes and new hyperparameters or ``x0`` does not recompile.
"""
from __future__ import annotations

import math
import operator
import sys
import time
import weakref
from collections import OrderedDict

import numpy as np

from .result import CALLBACK, MAXITER, NO_PROGRESS, NONFINITE, STATUS_MESSAGES, SUCCESS, History, OptimizeResult

__all__ = ["run", "run_jax", "scipy_minimize", "validate_x0", "validate_problem", "validate_callback", "validate_positive",
           "validate_nonnegative", "validate_required", "REQUIRED",
           "validate_unit", "validate_maxiter", "while_loop", "run_until_stall", "jax_trace_count", "clear_jax_cache"]


# ------------------------------------------------------------------------------------------------ validation
_CHECKED: "weakref.WeakSet" = weakref.WeakSet()     # problems whose f and grad passed the first-evaluation check


# The loops solvers delegate to: a message names the public solver that called them, not the loop.
_LOOPS = frozenset({"run", "run_jax", "run_until_stall", "run_splitting", "run_splitting_jax"})


def _solver_frames():
    """``(inner, outer)``: the frames of the public ``utils`` functions around the validator that called this.
    ``inner`` is the innermost (whose signature is being checked: ``utils.admm`` inside ``utils.admm_lasso``),
    ``outer`` the outermost of the unbroken chain of ``utils`` frames (the function the user called: messages
    name it). Private functions, validators and the shared loops are skipped (a loop called directly stands
    for itself); ``(None, None)`` outside ``utils``."""
    frame, inner, outer, loop = sys._getframe(2), None, None, None
    while frame is not None:
        name, module = frame.f_code.co_name, frame.f_globals.get("__name__", "")
        if not module.startswith("utils."):
            break
        if not name.startswith(("_", "<", "validate_")):
            if name in _LOOPS:
                loop = loop or frame
            else:
                inner, outer = inner or frame, frame
        frame = frame.f_back
    return (inner, outer) if inner is not None else (loop, loop)


def _solver_name() -> str:
    """``utils.<name>`` of the public function the user called, for messages."""
    return _name(_solver_frames()[1])


def _name(frame) -> str:
    return "this solver" if frame is None else f"utils.{frame.f_code.co_name}"


def _keyword_only(frame) -> tuple:
    """The keyword-only parameter names of the function running in ``frame`` (empty for None)."""
    if frame is None:
        return ()
    code = frame.f_code
    return code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]


def public_name(cls: type) -> str:
    """A class's dotted name as users import it: a class of this package is named through the module's short name
    (``utils.core.problems.Problem`` → ``utils.problems.Problem``) or, for a module its family re-exports, through
    the family (``utils.stochastic.finite_sum.FiniteSum`` → ``utils.stochastic.FiniteSum``)."""
    module = cls.__module__
    parts = module.split(".")
    if len(parts) == 3 and parts[0] == "utils":
        short = f"utils.{parts[2]}"
        module = short if sys.modules.get(short) is sys.modules.get(cls.__module__) else f"utils.{parts[1]}"
    return f"{module}.{cls.__qualname__}"


def _got(value) -> str:
    """'a function', 'a numpy.ndarray', … for a message saying what was passed."""
    if callable(value) and not isinstance(value, type):
        return "a function"
    return f"a {public_name(type(value))}"


_PROBLEM_HINT = ("build one with utils.from_jax(f, x0) (gradient by autodiff) or utils.Problem(name=..., f=..., "
                 "grad=..., x0=...)")
_NLS_HINT = ("build one with utils.nls_from_jax(residual, x0) (Jacobian by autodiff) or utils.NLSProblem(name=..., "
             "residual=..., jac=..., x0=...)")


def validate_problem(problem, kind=None):
    """``problem`` must be the record the calling solver expects, with callable oracles, else ``TypeError``
    saying what was passed and how to build one.

    ``kind="nls"``: a :class:`utils.NLSProblem` (``residual``, ``jac``); ``kind="smooth"``: a
    :class:`utils.Problem` (``f``, ``grad``), or an ``NLSProblem``, which has both. Default: ``"nls"`` when the
    solver's first parameter is named ``nls`` (Gauss–Newton, Levenberg–Marquardt), else ``"smooth"``."""
    from ..smooth.least_squares import NLSProblem
    from .problems import Problem

    frame, outer = _solver_frames()
    who = _name(outer)
    if kind is None:
        kind = "nls" if frame is not None and frame.f_code.co_varnames[:1] == ("nls",) else "smooth"
    if kind == "nls":
        if not isinstance(problem, NLSProblem):
            raise TypeError(f"{who} expects a utils.NLSProblem (a residual r(x) and its Jacobian J(x)) as its "
                            f"first argument, got {_got(problem)}; {_NLS_HINT}")
        oracles = ("residual", "jac")
    elif isinstance(problem, (Problem, NLSProblem)):
        oracles = ("f", "grad")
    else:
        raise TypeError(f"{who} expects a utils.Problem as its first argument, got {_got(problem)}; "
                        f"{_PROBLEM_HINT}")
    for name in oracles:
        if not callable(getattr(problem, name)):
            hint = (f"pass {name}=... to the problem, or build it with utils.nls_from_jax(residual, x0), which "
                    "differentiates the residual") if kind == "nls" else \
                (f"pass {name}=... to the problem, or build it with utils.from_jax(f, x0), which differentiates f")
            raise TypeError(f"{who} needs problem.{name}, a function of x, but problem {problem.name!r} has "
                            f"{name}={getattr(problem, name)!r}; {hint}")
    return problem


def _nls_hint(problem) -> str:
    """For a second-order method given a :class:`utils.NLSProblem` (no ``hess``/``hvp``): where to go instead."""
    from ..smooth.least_squares import NLSProblem

    if not isinstance(problem, NLSProblem):
        return ""
    return ("; a utils.NLSProblem has no second derivatives: use utils.gauss_newton or "
            "utils.levenberg_marquardt.levenberg_marquardt, or pass nls.to_problem() (hess = JᵀJ, Gauss–Newton's)")


class _Required:
    """The default of a hyperparameter that has none (``eta=REQUIRED``); ``help()`` shows it as ``<required>``."""

    def __repr__(self):
        return "<required>"


REQUIRED = _Required()


def _literal(value) -> str:
    """``0.1`` for a real scalar (also NumPy/JAX ones), else ``repr(value)``: for 'write eta=0.1'."""
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes, bool)) and not callable(value):
        try:
            return repr(float(value))
        except (TypeError, ValueError):
            pass
    return repr(value)


def validate_required(problem, x0, **hyperparameters):
    """Each hyperparameter defaulting to :data:`REQUIRED` must be given, by keyword: else ``TypeError`` naming
    it. The usual cause is a step passed positionally, ``gradient_descent(p, 0.1)``: 0.1 then lands in ``x0``,
    and the message says so and shows the call to write (``eta=0.1``). The problem is checked first."""
    missing = [name for name, value in hyperparameters.items() if value is REQUIRED]
    if not missing:
        return
    validate_problem(problem)
    who = _name(_solver_frames()[0])
    first, rest = missing[0], "".join(f", {name}=..." for name in missing[1:])
    if x0 is not None and (callable(x0) or np.ndim(x0) == 0) and np.shape(problem.x0) != ():
        raise TypeError(f"{who}: {first} is keyword-only and has no default, and {_literal(x0)} was passed as the "
                        f"second positional argument, which is x0 (the starting point); pass it by name: "
                        f"{who}(problem, {first}={_literal(x0)}{rest})")
    names = " and ".join(repr(name) for name in missing)
    raise TypeError(f"{who}: missing the required keyword argument{'s' if len(missing) > 1 else ''} {names} "
                    f"(no default); pass {'them' if len(missing) > 1 else 'it'} by name: "
                    f"{who}(problem, {first}=...{rest})")


def _check_first_evaluation(problem, x0, who):
    """f(x0) must be a scalar and grad(x0) shaped like x0 (checked once per problem)."""
    from ..smooth.least_squares import NLSProblem

    if problem in _CHECKED:
        return
    try:
        with np.errstate(all="ignore"):
            if isinstance(problem, NLSProblem):
                r, J = problem.residual(x0), problem.jac(x0)
                out = [("residual(x0)", np.shape(r), "a vector of shape (m,)", np.ndim(r) == 1),
                       ("jac(x0)", np.shape(J), f"shape (m, {x0.size}) with m = len(residual(x0))",
                        np.shape(J) == (np.size(r), x0.size))]
            else:
                fx, g = problem.f(x0), problem.grad(x0)
                out = [("f(x0)", np.shape(fx), "a scalar (an objective is real-valued: sum its terms; a vector "
                        "of residuals belongs in utils.NLSProblem)", np.ndim(fx) == 0),
                       ("grad(x0)", np.shape(g), f"the shape of x0, {x0.shape}", np.shape(g) == x0.shape)]
    except Exception:          # an oracle that fails on a NumPy x0 is left to the solver's own evaluation
        return
    for what, shape, expected, ok in out:
        if not ok:
            raise ValueError(f"{who}: problem {problem.name!r} has {what} of shape {shape}, expected {expected}")
    _CHECKED.add(problem)


_STEP_NAMES = ("eta", "alpha0", "step", "lam0", "delta0", "tau")   # a solver's step keyword, for the x0 hint


def validate_x0(problem, x0, kind=None) -> np.ndarray:
    """``x0`` (or ``problem.x0`` when None) as a float array; ``ValueError`` on a shape mismatch or NaN/inf.

    Also checks the problem itself (:func:`validate_problem`, with ``kind``) and, once per problem, that f(x0) is
    a scalar and grad(x0) has the shape of x0 (``ValueError`` naming the oracle), so a wrong oracle fails here and
    not deep inside an algorithm. A scalar ``x0`` for a vector problem is usually a step passed positionally:
    the message says so and names the solver's step keyword."""
    validate_problem(problem, kind)
    frame, outer = _solver_frames()
    who = _name(outer)
    try:
        x0 = np.array(problem.x0 if x0 is None else x0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: x0 must be an array of shape {np.shape(problem.x0)}, got {x0!r}") from None
    if x0.shape != np.shape(problem.x0):
        hint = ""
        if x0.ndim == 0:
            step = next((k for k in _STEP_NAMES if k in _keyword_only(frame)), None)
            hint = ("; hyperparameters are keyword-only: pass them by name, not as the second positional argument, "
                    "which is x0" + (f" (e.g. {_name(frame)}({frame.f_code.co_varnames[0]}, {step}={_literal(x0)}))"
                                     if step else ""))
        raise ValueError(f"{who}: x0 has shape {x0.shape}, but problem {problem.name!r} expects "
                         f"{np.shape(problem.x0)}{hint}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"{who}: x0 must be finite, got {x0}")
    _check_first_evaluation(problem, x0, who)
    return x0


def validate_callback(callback):
    """``callback`` must be None or a function of the intermediate ``OptimizeResult``, else ``TypeError``."""
    if callback is not None and not callable(callback):
        raise TypeError(f"{_solver_name()}: callback must be None or a function callback(intermediate_result), "
                        f"got {callback!r}")
    return callback


def _scalar(name: str, value, positive: bool) -> float:
    kind = "positive" if positive else "non-negative"
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ValueError(f"{name} must be a {kind} number, got {type(value).__name__} {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {kind} number, got {value!r}") from None
    if not (math.isfinite(v) and (v > 0 if positive else v >= 0)):
        raise ValueError(f"{name} must be {kind} and finite, got {value!r}")
    return v


def validate_positive(name: str, value) -> float:
    """A positive finite scalar hyperparameter (a step size), else ``ValueError`` naming it."""
    return _scalar(name, value, positive=True)


def validate_nonnegative(name: str, value) -> float:
    """A non-negative finite scalar (a tolerance), else ``ValueError`` naming it."""
    return _scalar(name, value, positive=False)


def validate_unit(name: str, value) -> float:
    """A scalar in the open interval (0, 1) (a line-search constant c₁, c₂ or a shrink factor ρ), else
    ``ValueError`` naming it."""
    v = _scalar(name, value, positive=True)
    if not v < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return v


def while_loop(cond, body, carry):
    """``jax.lax.while_loop`` when the ``carry`` tuple holds a JAX array (also under ``jit``), else a plain
    Python loop: the inner loops of line searches and backtracking are written once for both namespaces."""
    from .problems import xp

    if any(xp(c) is not np for c in carry):
        from jax import lax

        return lax.while_loop(cond, body, carry)
    while cond(carry):
        carry = body(carry)
    return carry


def validate_int(name: str, value, least: int = 1) -> int:
    """An integer ≥ ``least`` (a step count, a period, a block size; not a bool), else ``ValueError`` naming it."""
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer ≥ {least}, got {value!r}") from None
    if isinstance(value, bool) or n < least:
        raise ValueError(f"{name} must be an integer ≥ {least}, got {value!r}")
    return n


def validate_maxiter(maxiter) -> int:
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ValueError(f"maxiter must be a non-negative integer, got {maxiter!r}")
    return int(maxiter)


def _finite(f, g) -> bool:
    return bool(np.isfinite(f) and np.all(np.isfinite(g)))


def _history(rows, xs) -> History:
    """A History from rows (f, ‖g‖, step, nfev, njev, seconds) and the iterates (or None)."""
    f, gn, step, nfev, njev, t = (np.array(c, dtype=float) for c in zip(*rows))
    return History(fun=f, grad_norm=gn, step=step, nfev=nfev.astype(int), njev=njev.astype(int), time=t,
                   x=None if xs is None else np.array(xs))


def _result(x, f, g, k, status, hist, k_bad=None) -> OptimizeResult:
    """The result; ``nfev``/``njev`` are the oracle calls actually made, the failed step's included."""
    msg = STATUS_MESSAGES[status] + (f" Stopped at iteration {k_bad}." if k_bad is not None else "")
    return OptimizeResult(x=x, fun=f, jac=g, nit=k, nfev=int(hist.nfev[-1]), njev=int(hist.njev[-1]),
                          success=status == SUCCESS, status=status, message=msg, history=hist)


# ---------------------------------------------------------------------------------------------- NumPy loop
def run(step, state, problem, hparams=(), *, maxiter=1000, gtol=1e-8, callback=None, record_x=None):
    """Iterate ``state ← step(state, problem, *hparams)`` eagerly until ‖g‖ ≤ gtol, ``maxiter`` steps, a
    non-finite value (``status=3``; ``x`` is then the last finite iterate), or the callback stops the run.

    ``callback(intermediate_result)`` receives an ``OptimizeResult`` with ``x, fun, jac, nit`` after each
    iteration that does not already end the run (by convergence or a non-finite value), as in
    ``scipy.optimize.minimize``; returning ``True`` or raising ``StopIteration`` stops the run with
    ``status=99``.
    """
    maxiter = validate_maxiter(maxiter)
    gtol = validate_nonnegative("gtol", gtol)
    validate_callback(callback)
    record_x = np.size(state.x) <= 100 if record_x is None else record_x
    with np.errstate(over="ignore", invalid="ignore"):   # non-finite values are reported, not warned about
        return _loop(step, state, problem, hparams, maxiter, gtol, callback, record_x)


def _loop(step, state, problem, hparams, maxiter, gtol, callback, record_x):
    t0 = time.perf_counter()
    rows, xs = [], []

    def record(s, f, step_len):
        rows.append((f, float(np.linalg.norm(s.g)), step_len, getattr(s, "nfev", 0), getattr(s, "njev", 0),
                     time.perf_counter() - t0))
        if record_x:
            xs.append(np.array(s.x, dtype=float))

    f = float(problem.f(state.x))
    record(state, f, math.nan)
    good = (state, f)                                   # last state with finite values
    k, status, k_bad = 0, None, None
    if not _finite(f, state.g):
        status, k_bad = NONFINITE, 0
    elif rows[-1][1] <= gtol:
        status = SUCCESS
    while status is None:
        if k >= maxiter:
            status = MAXITER
            break
        new = step(state, problem, *hparams)
        k += 1
        f = float(problem.f(new.x))
        record(new, f, float(np.linalg.norm(np.asarray(new.x) - np.asarray(state.x))))
        state = new
        if not _finite(f, state.g):
            status, k_bad = NONFINITE, k
            break
        good = (state, f)
        if rows[-1][1] <= gtol:
            status = SUCCESS
            break
        if callback is not None:
            try:
                stop = callback(OptimizeResult(x=state.x, fun=f, jac=state.g, nit=k))
            except StopIteration:
                stop = True
            if stop:
                status = CALLBACK
    hist = _history(rows, xs if record_x else None)
    s, f_good = good
    return _result(np.asarray(s.x), f_good, np.asarray(s.g), k, status, hist, k_bad)


# ------------------------------------------------------------------------------------------------ JAX loop
_TRACES = 0
_CACHE_SIZE = 32
_COMPILED: "OrderedDict" = OrderedDict()


def jax_trace_count() -> int:
    """How many times the compiled JAX loop has been traced (compiled) in this process."""
    return _TRACES


def clear_jax_cache() -> None:
    """Forget the compiled loops, here and in JAX's own caches: each holds its problem and the problem's data
    (as constants), which stay in memory until then. The cache here keeps the 32 most recently used."""
    import jax

    _COMPILED.clear()
    jax.clear_caches()
    # JAX 0.7 (Colab's) also keeps the static arguments of every trace, the problem among them, in a table
    # keyed by the traced function (jax._src.pjit._seen_qdds) that jax.clear_caches() leaves alone.
    seen = getattr(sys.modules.get("jax._src.pjit"), "_seen_qdds", None)
    if hasattr(seen, "clear"):
        seen.clear()


def _loop_jax(step, problem, maxiter, record_x, state0, hparams, gtol):
    import jax
    import jax.numpy as jnp
    from jax import lax

    global _TRACES
    _TRACES += 1                                          # runs only while tracing

    def monitor(s):
        f = problem.f(s.x)
        return f, jnp.linalg.norm(s.g), jnp.isfinite(f) & jnp.all(jnp.isfinite(s.g))

    def row(s, f, gn, step_len):
        return (f, gn, step_len, jnp.asarray(getattr(s, "nfev", 0)), jnp.asarray(getattr(s, "njev", 0)),
                s.x if record_x else None)

    f0, gn0, ok0 = monitor(state0)
    first = row(state0, f0, gn0, jnp.asarray(jnp.nan, f0.dtype))
    rows = jax.tree.map(lambda a: jnp.zeros((maxiter + 1,) + a.shape, a.dtype).at[0].set(a), first)
    status0 = jnp.where(~ok0, NONFINITE, jnp.where(gn0 <= gtol, SUCCESS, -1))

    def cond(carry):
        _, status, k, _ = carry
        return (status < 0) & (k < maxiter)

    def body(carry):
        s, _, k, rows = carry
        new = step(s, problem, *hparams)
        f, gn, ok = monitor(new)
        status = jnp.where(~ok, NONFINITE, jnp.where(gn <= gtol, SUCCESS, -1))
        rows = jax.tree.map(lambda buf, v: buf.at[k + 1].set(v), rows, row(new, f, gn, jnp.linalg.norm(new.x - s.x)))
        keep = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, s)   # carry the last finite state
        return keep, status, k + 1, rows

    return lax.while_loop(cond, body, (state0, status0, jnp.asarray(0), rows))


def _compiled(args):
    """The compiled loop for these static arguments and argument shapes/dtypes: compiled once, kept in a
    small least-recently-used cache."""
    import jax

    step, problem, maxiter, record_x, *dynamic = args
    leaves, tree = jax.tree.flatten(dynamic)
    key = (step, problem, maxiter, record_x, tree, tuple((l.shape, l.dtype, l.weak_type) for l in leaves))
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
    else:
        _COMPILED[key] = jax.jit(_loop_jax, static_argnums=(0, 1, 2, 3)).lower(*args).compile()
        while len(_COMPILED) > _CACHE_SIZE:
            _COMPILED.popitem(last=False)
    return _COMPILED[key]


def run_until_stall(step, state, problem, hparams=(), *, stalled, maxiter=1000, gtol=1e-8, callback=None,
                    record_x=None):
    """:func:`run`, plus status 2 (``NO_PROGRESS``, scipy's "precision loss") as soon as ``stalled(prev, new)``
    says a step made no acceptable progress — typically a line search that found no acceptable α because f
    no longer changes above rounding. Returns ``(result, final_state)``; the final state carries what the
    result does not (an inverse-Hessian approximation, counters)."""
    validate_callback(callback)
    last, stop = [state], [False]

    def wrapped(s, *h):
        new = step(s, *h)
        stop[0], last[0] = bool(stalled(s, new)), new
        return new

    def cb(r):
        return True if stop[0] else (callback(r) if callback is not None else False)

    res = run(wrapped, state, problem, hparams, maxiter=maxiter, gtol=gtol, callback=cb, record_x=record_x)
    if res.status == CALLBACK and stop[0]:
        res.status, res.success = NO_PROGRESS, False
        res.message = f"No further progress: the line search found no acceptable step at iteration {res.nit}."
    return res, last[0]


def run_jax(step, state0, problem, hparams=(), *, maxiter=1000, gtol=1e-8, record_x=None):
    """Same contract as :func:`run`, compiled: ``jax.jit`` of a ``lax.while_loop`` that stops as :func:`run`
    does and writes the history into preallocated arrays of length ``maxiter + 1``.

    ``problem``'s functions must be JAX-traceable (those in :mod:`utils.problems` are). There is no callback:
    the loop runs as one compiled call, whose wall time (compilation excluded) ``history.time`` spreads
    evenly over the iterations. As in :func:`run`, a non-finite run returns the last finite iterate.
    """
    import jax
    import jax.numpy as jnp

    maxiter = validate_maxiter(maxiter)
    gtol = validate_nonnegative("gtol", gtol)
    record_x = np.size(state0.x) <= 100 if record_x is None else bool(record_x)
    state0 = jax.tree.map(jnp.asarray, state0)
    hparams = tuple(jnp.asarray(h) for h in hparams)
    args = (step, problem, maxiter, record_x, state0, hparams, jnp.asarray(gtol))
    loop = _compiled(args)
    t0 = time.perf_counter()
    s, status, nit, rows = jax.block_until_ready(loop(*args[4:]))
    elapsed = time.perf_counter() - t0
    status, nit = int(status), int(nit)
    if status < 0:
        status = MAXITER
    f, gn, stp, nfev, njev, xs = (None if r is None else np.asarray(r)[: nit + 1] for r in rows)
    hist = History(fun=f.astype(float), grad_norm=gn.astype(float), step=stp.astype(float),
                   nfev=nfev.astype(int), njev=njev.astype(int),
                   time=elapsed * np.arange(nit + 1) / max(nit, 1), x=xs)
    k_bad = nit if status == NONFINITE else None
    fun = float(f[-2] if k_bad else f[-1])
    return _result(np.asarray(s.x), fun, np.asarray(s.g), nit, status, hist, k_bad)


# --------------------------------------------------------------------------------------- scipy, same record
def scipy_minimize(problem, method: str, x0=None, *, maxiter=1000, gtol=1e-8, record_x=None, **options):
    """``scipy.optimize.minimize(problem.f, x0, jac=problem.grad, method=method)`` with a ``History`` like ours,
    so that scipy's solvers sit beside ours in the same plots and benchmark tables.

    The objective and gradient are wrapped with counters, so ``history.nfev``/``njev`` are the calls scipy made
    up to each iterate; ``history.grad_norm`` is evaluated for monitoring (not counted). ``hess``/``hessp``
    are passed for the methods that use them. Extra keyword arguments go to scipy's ``options``.
    """
    from scipy.optimize import minimize

    x0 = validate_x0(problem, x0)
    maxiter = validate_maxiter(maxiter)
    gtol = validate_nonnegative("gtol", gtol)
    record_x = x0.size <= 100 if record_x is None else record_x
    calls = {"f": 0, "g": 0}

    def f(x):
        calls["f"] += 1
        return problem.f(x)

    def g(x):
        calls["g"] += 1
        return np.asarray(problem.grad(x))

    rows, xs = [], []
    t0 = time.perf_counter()

    def record(x, fx):
        step_len = float(np.linalg.norm(x - xs[-1])) if xs else math.nan
        rows.append((float(fx), float(np.linalg.norm(problem.grad(x))), step_len, calls["f"], calls["g"],
                     time.perf_counter() - t0))
        xs.append(np.array(x, dtype=float))

    second = {}
    if method.lower() in {"newton-cg", "trust-ncg", "trust-krylov", "trust-exact", "dogleg", "trust-constr"}:
        second = {"hess": problem.hess} if method.lower() in {"trust-exact", "dogleg"} or problem.hvp is None \
            else {"hessp": problem.hvp}
    no_gtol = {"newton-cg", "nelder-mead", "powell", "cobyla", "cobyqa", "slsqp"}   # they stop on other tests
    budget = {"maxfun": maxiter} if method.lower() == "tnc" else {"maxiter": maxiter}    # TNC counts f calls
    opts = {**budget, **({} if method.lower() in no_gtol else {"gtol": gtol}), **options}

    def callback(intermediate_result):          # scipy passes an OptimizeResult to a parameter of this name
        x = getattr(intermediate_result, "x", intermediate_result)       # (TNC passes the bare iterate)
        record(x, intermediate_result.fun if hasattr(intermediate_result, "fun") else problem.f(x))

    record(x0, problem.f(x0))
    res = minimize(f, x0, jac=g, method=method, callback=callback, options=opts, **second)
    res.history = _history(rows, xs if record_x else None)
    return res
