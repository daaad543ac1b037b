r"""Finite-sum methods for f(x) = (1/n) Σᵢ fᵢ(x): SGD with its step rules and averaging, SVRG, SAGA, and the
theory helpers of the lecture (mini-batch variance, the constant-step noise floor, the linear-rate bounds).

Each method is a state ``NamedTuple`` named with the lecture's symbols and a pure step that receives its sample
indices from a seeded :func:`minibatch_sampler`, so the step holds no randomness and a run is reproducible from
its ``seed``. The NumPy driver returns a ``scipy.optimize.OptimizeResult`` whose ``history`` is a
:class:`StochasticHistory`, recorded once per epoch by default, with two x-axes: the iteration ``k`` and
``grads``, the number of component gradients ∇fᵢ computed so far (``epochs = grads / n``; one full gradient
∇f costs n). Monitoring (f and ‖∇f‖ at each recorded point) is not counted.

A stochastic method runs a fixed budget: ``success`` is True when it used its ``maxiter`` (status 1) or met
``gtol`` at a recorded point (status 0) with finite values; a non-finite stochastic gradient ends the run with
``success=False``, status 3 and the iteration named, returning the last finite iterate; a callback can stop
the run (status 99). Bad arguments raise ``ValueError`` naming the argument, at entry.
"""
from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from ..core.drivers import (REQUIRED, public_name, validate_callback, validate_maxiter, validate_nonnegative,
                            validate_positive, validate_required, validate_x0)
from ..core.problems import Problem, xp
from ..core.result import CALLBACK, MAXITER, NONFINITE, STATUS_MESSAGES, SUCCESS, OptimizeResult

__all__ = ["FiniteSum", "finite_sum_logistic", "finite_sum_least_squares", "finite_sum_mean",
           "minibatch_sampler", "constant", "inverse_k", "inverse_sqrt_k", "step_decay", "StochasticHistory",
           "SGDState", "sgd_init", "sgd_step", "stochastic_gradient_descent", "SVRGState", "svrg_snapshot",
           "svrg_step", "svrg", "SAGAState", "saga_init", "saga_step", "saga", "gradient_variance",
           "minibatch_variance", "sgd_noise_floor", "sgd_expected_gap", "svrg_rate_bound", "saga_rate_bound"]


# ------------------------------------------------------------------------------------------------ problems
@dataclass(frozen=True, eq=False)
class FiniteSum:
    """f(x) = (1/n) Σᵢ₌₁ⁿ fᵢ(x) on x ∈ ℝᵈ, with the constants the rates need.

    ``grad_samples(x, idx)``: the rows ∇fᵢ(x), i ∈ ``idx`` (shape (|idx|, d)); ``grad_batch(x, idx)`` =
    (1/|idx|) Σ_{i∈idx} ∇fᵢ(x) (default: the mean of ``grad_samples``; ``idx`` may repeat an index);
    ``grad_i(x, i)`` = ∇fᵢ(x). ``L_max`` = maxᵢ Lᵢ (∇fᵢ is Lᵢ-Lipschitz), ``L`` that of ∇f, ``mu`` the
    strong-convexity modulus μ of f. ``problem`` is the same f as a :class:`utils.Problem`, for the
    deterministic solvers (full gradient descent as a baseline). Equality is by identity; arrays are read-only.
    """

    name: str
    f: Callable
    grad: Callable
    grad_samples: Callable
    n: int
    x0: np.ndarray
    L_max: float
    L: float
    mu: float
    grad_batch: Optional[Callable] = None
    grad_i: Optional[Callable] = None
    x_star: Optional[np.ndarray] = None
    f_star: Optional[float] = None
    info: dict = field(default_factory=dict)
    problem: Problem = field(init=False, repr=False)

    def __post_init__(self):
        for name in ("f", "grad", "grad_samples", "grad_batch", "grad_i"):
            value = getattr(self, name)
            if (value is not None or name in ("f", "grad", "grad_samples")) and not callable(value):
                raise TypeError(f"FiniteSum {self.name!r}: {name} must be a function, got {value!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 1:
            raise ValueError(f"FiniteSum {self.name!r}: n must be a positive integer, got {self.n!r}")
        for name in ("x0", "x_star"):
            if getattr(self, name) is not None:
                arr = np.array(getattr(self, name), dtype=float)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)
        for value in self.info.values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        if self.grad_batch is None:
            object.__setattr__(self, "grad_batch", lambda x, idx: self.grad_samples(x, idx).mean(0))
        if self.grad_i is None:
            object.__setattr__(self, "grad_i", lambda x, i: self.grad_samples(x, np.array([i]))[0])
        object.__setattr__(self, "problem", Problem(name=self.name, f=self.f, grad=self.grad, x0=self.x0,
                                                    x_star=self.x_star, f_star=self.f_star, L=self.L, mu=self.mu,
                                                    info=self.info))

    @property
    def d(self) -> int:
        """The dimension of x."""
        return int(np.size(self.x0))


def finite_sum_logistic(lam: float = 1e-2, *, intercept: bool = True) -> FiniteSum:
    """fᵢ(x) = log(1 + exp(−yᵢ aᵢᵀx)) + (λ/2)‖x‖² on scikit-learn's bundled breast-cancer data, as in
    :func:`utils.problems.breast_cancer_logistic` (n = 569, 30 standardized features and a column of ones,
    regularized too, so μ = λ and f is scikit-learn's ``LogisticRegression(C=1/(nλ), fit_intercept=False)``
    objective divided by Cn).

    Lᵢ = ‖aᵢ‖²/4 + λ (attained at x = 0, where every σ' = 1/4); L = ‖X‖₂²/(4n) + λ. x*, f* are those of
    :mod:`utils.problems` (scipy ``trust-exact`` on the exact Hessian to ‖∇f‖ ≤ 1e-12); the tests check them
    against L-BFGS-B at gtol 1e-12 and scikit-learn.
    """
    from ..core.problems import breast_cancer_logistic

    p = breast_cancer_logistic(lam, intercept=intercept)
    X, y = p.info["X"], p.info["y"]
    Z = y[:, None] * X                                       # rows yᵢaᵢ
    n = X.shape[0]

    def grad_samples(x, idx):                                # ∇fᵢ = −σ(−yᵢaᵢᵀx) yᵢaᵢ + λx
        s = 0.5 * (1.0 - xp(x).tanh(0.5 * (Z[idx] @ x)))
        return -s[:, None] * Z[idx] + lam * x

    def grad_i(x, i):                                        # one sample, without array overhead
        z = Z[i]
        return (-0.5 * (1.0 - math.tanh(0.5 * float(z @ x)))) * z + lam * x

    def grad_batch(x, idx):
        if len(idx) == 1:
            return grad_i(x, idx[0])
        s = 0.5 * (1.0 - xp(x).tanh(0.5 * (Z[idx] @ x)))
        return -(s @ Z[idx]) / len(idx) + lam * x

    return FiniteSum(name=f"finite-sum logistic, breast cancer (λ={lam:g})", f=p.f, grad=p.grad,
                     grad_samples=grad_samples, grad_batch=grad_batch, grad_i=grad_i, n=n, x0=np.zeros(X.shape[1]),
                     L_max=float(np.max(np.sum(X * X, 1)) / 4 + lam), L=float(p.L), mu=float(lam), x_star=p.x_star,
                     f_star=float(p.f_star), info={"X": X, "y": y, "lam": lam, "reference": p.info["reference"]})


def finite_sum_least_squares(n: int = 200, d: int = 10, *, mu: float = 0.1, L: float = 1.0, noise: float = 0.5,
                             seed: int = 0) -> FiniteSum:
    """fᵢ(x) = ½(aᵢᵀx − bᵢ)² with ∇²f = (1/n)AᵀA having eigenvalues log-spaced on [μ, L] (both attained) and
    b = Ax* + r, r ⟂ range(A), ‖r‖²/n = noise²: x* is exact, f* = noise²/2, Lᵢ = ‖aᵢ‖², and ∇fᵢ(x*) = −rᵢaᵢ."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or isinstance(d, bool) or \
            not isinstance(d, (int, np.integer)) or not 1 <= d < n:
        raise ValueError(f"need integers 1 <= d < n, got n={n!r}, d={d!r}")
    if not (np.isfinite(mu) and np.isfinite(L) and 0 < mu <= L):
        raise ValueError(f"need 0 < mu <= L, got mu={mu!r}, L={L!r}")
    validate_nonnegative("noise", noise)
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    A = (Q[:, :d] * np.sqrt(n * np.geomspace(L, mu, d))) @ V.T
    x_star = rng.standard_normal(d)
    r = Q[:, d:] @ rng.standard_normal(n - d)
    b = A @ x_star + r * (noise * math.sqrt(n) / np.linalg.norm(r))

    def grad_samples(x, idx):
        return (A[idx] @ x - b[idx])[:, None] * A[idx]

    def grad_i(x, i):
        a = A[i]
        return float(a @ x - b[i]) * a

    def grad_batch(x, idx):
        return grad_i(x, idx[0]) if len(idx) == 1 else (A[idx] @ x - b[idx]) @ A[idx] / len(idx)

    return FiniteSum(name=f"finite-sum least squares (n={n}, d={d}, κ={L / mu:g})",
                     f=lambda x: 0.5 * xp(x).mean((A @ x - b) ** 2), grad=lambda x: A.T @ (A @ x - b) / n,
                     grad_samples=grad_samples, grad_batch=grad_batch,
                     grad_i=grad_i, n=int(n), x0=np.zeros(d), L_max=float(np.max(np.sum(A * A, 1))), L=float(L),
                     mu=float(mu), x_star=x_star, f_star=0.5 * float(noise) ** 2, info={"A": A, "b": b})


def finite_sum_mean(xi) -> FiniteSum:
    """fᵢ(x) = ½‖x − ξᵢ‖² for the rows ξᵢ of ``xi`` (shape (n,) or (n, d)): mean estimation, the model of the
    noise floor. x* = ξ̄, f* = σ²/2 with σ² = (1/n)Σ‖ξᵢ − ξ̄‖², and ∇fᵢ(x) − ∇f(x) = ξ̄ − ξᵢ does not depend on x
    (additive noise): L_max = L = μ = 1."""
    xi = np.array(xi, dtype=float)
    xi = xi[:, None] if xi.ndim == 1 else xi
    if xi.ndim != 2 or len(xi) < 2 or not np.all(np.isfinite(xi)):
        raise ValueError(f"xi must be a finite array of shape (n,) or (n, d) with n >= 2, got shape {xi.shape}")
    xbar = xi.mean(0)
    return FiniteSum(name=f"mean estimation (n={len(xi)}, d={xi.shape[1]})",
                     f=lambda x: 0.5 * xp(x).mean(xp(x).sum((x - xi) ** 2, 1)), grad=lambda x: x - xbar,
                     grad_samples=lambda x, idx: x - xi[idx], grad_batch=lambda x, idx: x - xi[idx].mean(0),
                     grad_i=lambda x, i: x - xi[i], n=len(xi), x0=np.zeros(xi.shape[1]), L_max=1.0, L=1.0, mu=1.0,
                     x_star=xbar, f_star=0.5 * float(np.mean(np.sum((xi - xbar) ** 2, 1))), info={"xi": xi})


# ------------------------------------------------------------------------------------------------ sampling
def _check_batch(n, batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be an integer in [1, n] = [1, {n}], got {batch_size!r}")
    return int(batch_size)


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (runs are reproducible from it), got {seed!r}")
    return int(seed)


def minibatch_sampler(n: int, batch_size: int = 1, *, replace: bool = True, seed: int = 0):
    """Endless mini-batches I_k ⊂ {0, …, n−1} of size B = ``batch_size`` from ``np.random.default_rng(seed)``.

    ``replace=True``: B i.i.d. uniform indices per batch (repeats possible), E‖g_B − ∇f‖² = σ²/B.
    ``replace=False``: random reshuffling — one permutation per epoch cut into ⌊n/B⌋ batches, the remainder
    n mod B dropped (torch ``DataLoader(shuffle=True, drop_last=True)``); each batch is a uniform B-subset and
    E‖g_B − ∇f‖² = (n − B)/(n − 1)·σ²/B. Indices are drawn in blocks, so a batch costs no Python-level draw.

    >>> s = minibatch_sampler(6, 3, replace=False, seed=0)
    >>> sorted(np.concatenate([next(s), next(s)]).tolist())
    [0, 1, 2, 3, 4, 5]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    B, rng = _check_batch(n, batch_size), np.random.default_rng(_check_seed(seed))
    if not isinstance(replace, (bool, np.bool_)):
        raise ValueError(f"replace must be True or False, got {replace!r}")
    return _with_replacement(rng, n, B) if replace else _reshuffled(rng, n, B)


def _with_replacement(rng, n, B):
    block = max(1, 4096 // B)
    while True:
        yield from rng.integers(0, n, size=(block, B))


def _reshuffled(rng, n, B):
    while True:
        yield from rng.permutation(n)[: (n // B) * B].reshape(-1, B)


# ------------------------------------------------------------------------------------------------ step rules
# A step rule is a callable k -> η_k (k = 0, 1, …). NamedTuples, so two rules with equal parameters are equal.
class _Constant(NamedTuple):
    eta: float

    def __call__(self, k):
        return self.eta


class _InverseK(NamedTuple):
    eta0: float
    k0: float

    def __call__(self, k):
        return self.eta0 / (1.0 + k / self.k0)


class _InverseSqrtK(NamedTuple):
    eta0: float
    k0: float

    def __call__(self, k):
        return self.eta0 / math.sqrt(1.0 + k / self.k0)


class _StepDecay(NamedTuple):
    eta0: float
    gamma: float
    every: int

    def __call__(self, k):
        return self.eta0 * self.gamma ** (k // self.every)


def constant(eta):
    """η_k = η (optax ``constant_schedule``). With it SGD converges linearly to a noise floor
    (:func:`sgd_noise_floor`), not to x*."""
    return _Constant(validate_positive("eta", eta))


def inverse_k(eta0, k0=1.0):
    """η_k = η₀/(1 + k/k₀) = η₀k₀/(k + k₀). With η₀ = β/k₀ this is Bottou, Curtis & Nocedal's (2018, Thm. 4.7)
    β/(k + γ), γ = k₀: on a μ-strongly convex f, β > 1/μ (e.g. η_k = 2/(μ(k + k₀))) gives E f(x_k) − f* = O(1/k);
    Σ η_k = ∞, Σ η_k² < ∞ are the Robbins–Monro (1951) conditions."""
    return _InverseK(validate_positive("eta0", eta0), validate_positive("k0", k0))


def inverse_sqrt_k(eta0, k0=1.0):
    """η_k = η₀/√(1 + k/k₀), the rule for convex (not strongly convex) f. Its O(1/√k) rates are for averages of
    the iterates, under bounded stochastic gradients E‖g_k‖² ≤ G² and one of two distance hypotheses:
    (i) a bounded domain of diameter D (projected steps, so ‖x_k − x*‖ ≤ D for every k): the uniform average of
    x₀..x_k gets E f(x̄_k) − f* = O((D²/η₀ + η₀G²)/√k); (ii) only D₀ = ‖x₀ − x*‖ (unprojected steps): the
    η-weighted average Σⱼηⱼxⱼ/Σⱼηⱼ gets O((D₀²/η₀ + η₀G² log k)/√k). Both bound an average, not x_k, and
    (i) is not available to unprojected SGD on ℝᵈ, whose iterates are not known to stay bounded (Nemirovski,
    Juditsky, Lan & Shapiro 2009, §2.2). On a strongly convex f it is slower than :func:`inverse_k`."""
    return _InverseSqrtK(validate_positive("eta0", eta0), validate_positive("k0", k0))


def step_decay(eta0, gamma=0.5, every=1000):
    """η_k = η₀ γ^⌊k/every⌋ (torch ``StepLR(step_size=every, gamma=gamma)``; optax
    ``exponential_decay(staircase=True)``): each plateau halves the noise floor when γ = ½."""
    gamma = validate_positive("gamma", gamma)
    if gamma > 1:
        raise ValueError(f"gamma must lie in (0, 1], got {gamma!r}")
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    return _StepDecay(validate_positive("eta0", eta0), gamma, int(every))


def _rule(eta):
    """``eta`` as a step rule: a number is :func:`constant`; a callable must give a positive finite η₀."""
    if not callable(eta):
        return constant(eta)
    try:
        e0 = float(eta(0))
    except Exception as err:
        raise ValueError(f"eta must be a positive number or a step rule k -> η_k; eta(0) failed: {err}") from None
    if not (math.isfinite(e0) and e0 > 0):
        raise ValueError(f"eta must be a positive number or a step rule with eta(0) > 0, got eta(0) = {e0!r}")
    return eta


# ------------------------------------------------------------------------------------------------ history
@dataclass(frozen=True)
class StochasticHistory:
    """One row per recorded iterate (every ``record_every`` iterations and the last).

    k : the iteration (SGD, SAGA: steps; SVRG: epochs s). grads : component gradients ∇fᵢ computed so far
    (the cost axis); epochs = grads/n. fun : f at the point the run returns (the average x̄_k once averaging
    has started); fun_last : f(x_k), the last iterate; grad_norm : ‖∇f‖ at the returned point (monitoring, not
    counted); eta : the step η_k just used; time : seconds; x : the returned point per row when d ≤ 100.
    ``njev`` (= grads) and ``nfev`` (= 0) let :func:`utils.plotting.plot_convergence` use ``x="njev"``.
    """

    k: np.ndarray
    grads: np.ndarray
    epochs: np.ndarray
    fun: np.ndarray
    fun_last: np.ndarray
    grad_norm: np.ndarray
    eta: np.ndarray
    time: np.ndarray
    x: Optional[np.ndarray] = None

    def __len__(self):
        return len(self.k)

    @property
    def njev(self):
        return self.grads

    @property
    def nfev(self):
        return np.zeros_like(self.grads)

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def _finite(v) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(v @ v))


def _drive(problem, state, advance, *, maxiter, record_every, gtol, callback, record_x, point=None):
    """The loop every method shares. ``advance(state, k) -> (state, η_k)`` performs iteration k; ``point(state)``
    is the point the run returns (default ``state.x``; SGD's average). Records rows, checks the stochastic
    gradient ``state.g`` for non-finite values every iteration, stops on ``gtol`` and the callback at rows."""
    point = point or (lambda s: s.x)
    record_x = problem.d <= 100 if record_x is None else bool(record_x)
    t0, rows, xs = time.perf_counter(), [], []
    k, eta, status, k_bad = 0, math.nan, None, None

    def record(s):
        x = np.asarray(point(s), dtype=float)
        f = float(problem.f(x))
        f_last = f if x is s.x else float(problem.f(s.x))
        rows.append((k, s.grads, f, f_last, float(np.linalg.norm(problem.grad(x))), eta, time.perf_counter() - t0))
        if record_x:
            xs.append(x.copy())
        return x, f

    with np.errstate(over="ignore", invalid="ignore"):
        x, f = record(state)
        good = state
        if rows[-1][4] <= gtol:
            status = SUCCESS
        while status is None:
            if k >= maxiter:
                status = MAXITER
                break
            state, eta = advance(state, k)
            k += 1
            if not _finite(state.g):
                status, k_bad = NONFINITE, k
                break
            if k % record_every == 0 or k == maxiter:
                x, f = record(state)
                if not math.isfinite(f):
                    status, k_bad = NONFINITE, k
                    rows.pop()
                    if record_x:
                        xs.pop()
                    break
                if rows[-1][4] <= gtol:
                    status = SUCCESS
                elif callback is not None:
                    try:
                        stop = callback(OptimizeResult(x=x, fun=f, nit=k, grads=int(state.grads)))
                    except StopIteration:
                        stop = True
                    if stop:
                        status = CALLBACK
            good = state
    if status == NONFINITE:
        rows.append((k, state.grads, math.nan, math.nan, math.nan, eta, time.perf_counter() - t0))
        if record_x:
            xs.append(np.full(problem.d, math.nan))
        state = good
    k_, grads, fun, fun_last, gn, et, tm = (np.array(c) for c in zip(*rows))
    hist = StochasticHistory(k=k_.astype(int), grads=grads.astype(int), epochs=grads / problem.n, fun=fun.astype(float),
                             fun_last=fun_last.astype(float), grad_norm=gn.astype(float), eta=et.astype(float),
                             time=tm.astype(float), x=np.array(xs) if record_x else None)
    x = np.asarray(point(state), dtype=float)
    msg = STATUS_MESSAGES[status] + (f" Stopped at iteration {k_bad}." if k_bad is not None else "")
    with np.errstate(over="ignore", invalid="ignore"):          # the last finite iterate of a diverging run
        fx, gx, f_last = float(problem.f(x)), np.asarray(problem.grad(x)), float(problem.f(state.x))
    return OptimizeResult(x=x, fun=fx, jac=gx, nit=k, grads=int(state.grads), epochs=state.grads / problem.n,
                          njev=int(state.grads), nfev=0, success=status in (SUCCESS, MAXITER), status=status,
                          message=msg, history=hist, x_last=np.asarray(state.x, dtype=float), fun_last=f_last)


def _validate_finite_sum(problem, who):
    if not isinstance(problem, FiniteSum):
        t = type(problem)
        got = ("a utils.Problem" if isinstance(problem, Problem) else "a function" if inspect.isfunction(problem)
               else f"a {'numpy.' + t.__qualname__ if t.__module__.startswith('numpy') else public_name(t)}")
        raise TypeError(f"utils.{who} expects a utils.stochastic.FiniteSum (f = (1/n) Σ fᵢ with per-sample "
                        f"gradients) as its first argument, got {got}; build one with finite_sum_logistic(), "
                        "finite_sum_least_squares(), finite_sum_mean() or FiniteSum(...)")
    return problem


def _common(who, problem, x0, maxiter, gtol, callback, record_every, default_every):
    _validate_finite_sum(problem, who)
    x0 = validate_x0(problem.problem, x0)
    maxiter = validate_maxiter(maxiter)
    gtol = validate_nonnegative("gtol", gtol)
    validate_callback(callback)
    if record_every is None:
        record_every = default_every
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    return x0, maxiter, gtol, int(record_every)


# ------------------------------------------------------------------------------------------------------- SGD
class SGDState(NamedTuple):
    x: Any       # x_k
    x_bar: Any   # x̄_k = mean of x_j, k_avg ≤ j ≤ k (Polyak–Ruppert); = x_k before averaging starts
    g: Any       # g_{k−1} = (1/B) Σ_{i∈I_{k−1}} ∇fᵢ(x_{k−1}), the last stochastic gradient (0 at k = 0)
    k: Any       # iteration counter
    grads: Any   # component gradients computed so far


def sgd_init(x0) -> SGDState:
    return SGDState(x=x0, x_bar=x0, g=0.0 * x0, k=0, grads=0)


def sgd_step(state: SGDState, problem, idx, eta, k_avg=None) -> SGDState:
    """x_{k+1} = x_k − η_k g_k, g_k = (1/B) Σ_{i∈I_k} ∇fᵢ(x_k); x̄_{k+1} = x̄_k + (x_{k+1} − x̄_k)/(k + 2 − k_avg)
    once k + 1 ≥ k_avg (``k_avg=None``: no averaging, x̄ = x). Pure."""
    g = problem.grad_batch(state.x, idx)
    x = state.x - eta * g
    k = state.k + 1
    x_bar = x if k_avg is None or k < k_avg else state.x_bar + (x - state.x_bar) / (k + 1 - k_avg)
    return SGDState(x=x, x_bar=x_bar, g=g, k=k, grads=state.grads + len(idx))


def stochastic_gradient_descent(problem: FiniteSum, x0=None, *, eta=REQUIRED, batch_size=1, replace=True, average_from=None,
                                maxiter=10000, gtol=0.0, seed=0, callback=None, record_every=None, record_x=None):
    r"""Mini-batch stochastic gradient descent (Robbins & Monro 1951) with optional iterate averaging.

    .. math::  x_{k+1} = x_k - \eta_k\,\frac{1}{B}\sum_{i\in I_k}\nabla f_i(x_k),\qquad
               \bar x_k = \frac{1}{k - k_{avg} + 1}\sum_{j=k_{avg}}^{k} x_j

    Symbols ↔ arguments: η_k = ``eta``, a number or a step rule k ↦ η_k (:func:`constant`, :func:`inverse_k`,
    :func:`inverse_sqrt_k`, :func:`step_decay`, or any schedule; optax ``learning_rate``, torch ``lr``,
    scikit-learn ``SGDRegressor(eta0, learning_rate)``); B = ``batch_size``; I_k from
    :func:`minibatch_sampler` (``replace``, ``seed``); k_avg = ``average_from``: ``None`` returns the last
    iterate, 1 the Polyak–Ruppert average of x₁…x_k (Polyak & Juditsky 1992; Ruppert 1988; torch
    ``optim.swa_utils.AveragedModel``, scikit-learn ``SGDRegressor(average=True)``), maxiter//2 + 1 the tail
    average of the second half. ``res.x`` is x̄ when averaging, with ``res.x_last``/``res.fun_last`` the last
    iterate. History once per epoch (⌊n/B⌋ iterations) by default. Constant η: linear convergence to a noise
    floor E f − f* ≈ ησ²/4 (:func:`sgd_noise_floor`); η_k = 2/(μ(k + k₀)): O(1/k) (Bottou, Curtis & Nocedal
    2018, Thms. 4.6–4.7).

    >>> p = finite_sum_least_squares(n=50, d=3, noise=0.0)          # interpolation: no noise floor
    >>> res = stochastic_gradient_descent(p, eta=0.5 / p.L_max, maxiter=3000)
    >>> bool(res.fun - p.f_star < 1e-8), res.grads
    (True, 3000)
    """
    validate_required(_validate_finite_sum(problem, "stochastic_gradient_descent").problem, x0, eta=eta)
    B = _check_batch(problem.n, batch_size)
    x0, maxiter, gtol, every = _common("stochastic_gradient_descent", problem, x0, maxiter, gtol, callback,
                                       record_every, max(1, problem.n // B))
    rule = _rule(eta)
    if average_from is not None and (isinstance(average_from, bool) or not isinstance(average_from, (int, np.integer))
                                     or not 1 <= average_from <= max(maxiter, 1)):
        raise ValueError(f"average_from must be None or an integer in [1, maxiter] = [1, {maxiter}], "
                         f"got {average_from!r}")
    batches = minibatch_sampler(problem.n, B, replace=replace, seed=seed)

    def advance(s, k):
        eta_k = float(rule(k))
        return sgd_step(s, problem, next(batches), eta_k, average_from), eta_k

    return _drive(problem, sgd_init(x0), advance, maxiter=maxiter, record_every=every, gtol=gtol, callback=callback,
                  record_x=record_x, point=(lambda s: s.x_bar) if average_from is not None else None)


# ------------------------------------------------------------------------------------------------------ SVRG
class SVRGState(NamedTuple):
    x: Any          # x_t, the inner iterate
    x_tilde: Any    # x̃, the snapshot
    mu_tilde: Any   # μ̃ = ∇f(x̃), the full gradient at the snapshot
    g: Any          # v_{t−1}, the last variance-reduced gradient
    t: Any          # inner step within the epoch
    grads: Any      # component gradients computed so far


def svrg_snapshot(state: SVRGState, problem) -> SVRGState:
    """New epoch from x̃ = x: μ̃ = ∇f(x̃) (n component gradients), t = 0. Pure."""
    return SVRGState(x=state.x, x_tilde=state.x, mu_tilde=problem.grad(state.x), g=state.g, t=0,
                     grads=state.grads + problem.n)


def svrg_step(state: SVRGState, problem, idx, eta) -> SVRGState:
    """x_{t+1} = x_t − η v_t, v_t = (1/B)Σ_{i∈I_t}(∇fᵢ(x_t) − ∇fᵢ(x̃)) + μ̃: unbiased, and v_t → 0 as x_t, x̃ → x*
    (2B component gradients). Pure."""
    v = problem.grad_batch(state.x, idx) - problem.grad_batch(state.x_tilde, idx) + state.mu_tilde
    return state._replace(x=state.x - eta * v, g=v, t=state.t + 1, grads=state.grads + 2 * len(idx))


def svrg(problem: FiniteSum, x0=None, *, eta=REQUIRED, m=None, random_snapshot=False, batch_size=1, replace=True, maxiter=50,
         gtol=0.0, seed=0, callback=None, record_every=1, record_x=None):
    r"""Stochastic variance-reduced gradient (Johnson & Zhang 2013, Fig. 1); one iteration = one epoch s.

    .. math::  \tilde x = x_s,\ \tilde\mu = \nabla f(\tilde x);\quad \text{for } t = 0..m-1:\
               x_{t+1} = x_t - \eta\big(\nabla f_{I_t}(x_t) - \nabla f_{I_t}(\tilde x) + \tilde\mu\big);\quad
               x_{s+1} = x_m \ \text{(option I)} \text{ or } x_t,\ t \sim U\{0..m-1\} \ \text{(option II)}

    Symbols ↔ arguments: η = ``eta`` (constant), m = ``m`` inner steps per epoch (default 2n/B), option II =
    ``random_snapshot=True``, B = ``batch_size``, ``maxiter`` = number of epochs S (J&Z's s; ``res.nit``).
    Cost per epoch: n (the full gradient μ̃) + 2mB component gradients. J&Z Thm. 1 (option II, η < 1/(4L_max)):
    E f(x_s) − f* ≤ αˢ(f(x₀) − f*), α = 1/(μη(1 − 2L_maxη)m) + 2L_maxη/(1 − 2L_maxη) (:func:`svrg_rate_bound`).
    Option I (the last inner iterate, J&Z's choice in their experiments) is not covered by Thm. 1.

    >>> p = finite_sum_least_squares(n=50, d=3, noise=0.5)
    >>> res = svrg(p, eta=0.5 / p.L_max, maxiter=30)
    >>> bool(res.fun - p.f_star < 1e-12), res.grads == 30 * (50 + 2 * 100)
    (True, True)
    """
    validate_required(_validate_finite_sum(problem, "svrg").problem, x0, eta=eta)
    B = _check_batch(problem.n, batch_size)
    x0, maxiter, gtol, every = _common("svrg", problem, x0, maxiter, gtol, callback, record_every, 1)
    eta = validate_positive("eta", eta)
    m = 2 * problem.n // B if m is None else m
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m (inner steps per epoch) must be a positive integer, got {m!r}")
    if not isinstance(random_snapshot, (bool, np.bool_)):
        raise ValueError(f"random_snapshot must be True or False, got {random_snapshot!r}")
    batches = minibatch_sampler(problem.n, B, replace=replace, seed=seed)
    pick = np.random.default_rng([_check_seed(seed), 1])     # option II's t, a stream apart from the batches

    def advance(s, k):
        s = svrg_snapshot(s, problem)
        t_keep = int(pick.integers(m)) if random_snapshot else m
        x_keep = s.x
        for t in range(m):
            s = svrg_step(s, problem, next(batches), eta)
            if t + 1 == t_keep:
                x_keep = s.x
            if not _finite(s.g):
                break
        return s._replace(x=x_keep), eta

    return _drive(problem, SVRGState(x0, x0, 0.0 * x0, 0.0 * x0, 0, 0), advance, maxiter=maxiter, record_every=every,
                  gtol=gtol, callback=callback, record_x=record_x)


# ------------------------------------------------------------------------------------------------------ SAGA
class SAGAState(NamedTuple):
    x: Any       # x_k
    G: Any       # gradient table: row i = ∇fᵢ(φᵢ), φᵢ the last point where i was drawn
    g_bar: Any   # ḡ = (1/n) Σᵢ G[i]
    g: Any       # v_{k−1}, the last SAGA gradient
    k: Any
    grads: Any


def saga_init(x0, problem) -> SAGAState:
    """Table at x₀: G[i] = ∇fᵢ(x₀) (n component gradients)."""
    G = np.array(problem.grad_samples(x0, np.arange(problem.n)), dtype=float)
    return SAGAState(x=x0, G=G, g_bar=G.mean(0), g=0.0 * x0, k=0, grads=problem.n)


def saga_step(state: SAGAState, problem, j, eta) -> SAGAState:
    """v_k = ∇f_j(x_k) − G[j] + ḡ, x_{k+1} = x_k − ηv_k, then G[j] ← ∇f_j(x_k), ḡ ← ḡ + (∇f_j(x_k) − G[j])/n
    (one component gradient). Pure except that row j of the n×d table is overwritten in place: copying the
    table would cost O(nd) per step, n times the O(d) step itself (the run owns the table, built by
    :func:`saga_init`)."""
    g_j = problem.grad_i(state.x, j)
    delta = g_j - state.G[j]
    v = delta + state.g_bar
    state.G[j] = g_j
    return SAGAState(x=state.x - eta * v, G=state.G, g_bar=state.g_bar + delta / problem.n, g=v, k=state.k + 1,
                     grads=state.grads + 1)


def saga(problem: FiniteSum, x0=None, *, eta=None, replace=True, maxiter=20000, gtol=0.0, seed=0, callback=None,
         record_every=None, record_x=None):
    r"""SAGA (Defazio, Bach & Lacoste-Julien 2014, Alg. 1 without the prox), one sample per step.

    .. math::  v_k = \nabla f_j(x_k) - \nabla f_j(\phi_j) + \frac1n\sum_i \nabla f_i(\phi_i),\quad
               x_{k+1} = x_k - \eta v_k,\quad \phi_j \leftarrow x_k,\qquad j \sim U\{1..n\}

    Symbols ↔ arguments: η = ``eta`` (default 1/(3L_max)), the table row ∇f_j(φ_j) = ``state.G[j]``, j from
    :func:`minibatch_sampler` (``replace=False``: reshuffled epochs, which scikit-learn does not do). Cost: n
    component gradients at x₀, then one per step. Defazio et al. Thm. 1 (each fᵢ μ-strongly convex and
    L_max-smooth): with η = 1/(2(μn + L_max)) — scikit-learn's ``LogisticRegression(solver="saga")``
    step 1/(2L_max + min(2nμ, L_max)) — the Lyapunov function T_k = (1/n)Σᵢ[fᵢ(φᵢ) − fᵢ(x*) − ∇fᵢ(x*)ᵀ(φᵢ − x*)]
    + ‖x_k − x*‖²/(2nη(1 − μη)) contracts as E T_k ≤ (1 − μη)ᵏ T₀, so with φᵢ = x₀
    E‖x_k − x*‖² ≤ (1 − μη)ᵏ(‖x₀ − x*‖² + 2nη(1 − μη)(f(x₀) − f*)). For η ≤ 1/(5L_max), with each fᵢ only convex
    and f μ-strongly convex, the lecture's Theorem 5.2 gives 1 − min(μη, 1/(3n)) (:func:`saga_rate_bound`). The
    default 1/(3L_max) is the step of Defazio et al.'s non-strongly-convex O(1/k) rate for the average iterate
    (§2); no linear rate at that step is proved in the lecture. History once per epoch (n steps) by default.

    >>> p = finite_sum_least_squares(n=50, d=3, noise=0.5)
    >>> res = saga(p, maxiter=5000)
    >>> bool(res.fun - p.f_star < 1e-12), res.grads
    (True, 5050)
    """
    _validate_finite_sum(problem, "saga")
    x0, maxiter, gtol, every = _common("saga", problem, x0, maxiter, gtol, callback, record_every, problem.n)
    eta = validate_positive("eta", 1.0 / (3.0 * problem.L_max) if eta is None else eta)
    batches = minibatch_sampler(problem.n, 1, replace=replace, seed=seed)

    def advance(s, k):
        return saga_step(s, problem, int(next(batches)[0]), eta), eta

    return _drive(problem, saga_init(x0, problem), advance, maxiter=maxiter, record_every=every, gtol=gtol,
                  callback=callback, record_x=record_x)


# ------------------------------------------------------------------------------------------------ theory
def gradient_variance(problem: FiniteSum, x) -> float:
    """σ²(x) = (1/n) Σᵢ ‖∇fᵢ(x) − ∇f(x)‖², the variance of a one-sample gradient at x (n component gradients).
    At x*, σ*² = (1/n)Σᵢ‖∇fᵢ(x*)‖² is what sets SGD's noise floor."""
    _validate_finite_sum(problem, "gradient_variance")
    Gi = np.asarray(problem.grad_samples(np.asarray(x, dtype=float), np.arange(problem.n)))
    return float(np.mean(np.sum((Gi - Gi.mean(0)) ** 2, 1)))


def minibatch_variance(sigma2, batch_size, n=None, *, replace=True):
    """E‖g_B − ∇f(x)‖² of the mean of B = ``batch_size`` one-sample gradients with variance σ² = ``sigma2``:
    σ²/B with replacement (i.i.d. draws); (n − B)/(n − 1)·σ²/B without (a uniform B-subset of n: the
    finite-population correction, 0 at B = n; Cochran, *Sampling Techniques*, 1977, Thm. 2.2).

    >>> minibatch_variance(1.0, 10), minibatch_variance(1.0, 10, n=10, replace=False)
    (0.1, 0.0)
    """
    sigma2 = validate_nonnegative("sigma2", sigma2)
    if n is None:
        if not replace:
            raise ValueError("n is required when replace=False (the finite-population correction needs it)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return sigma2 / batch_size
    B = _check_batch(n, batch_size)
    if replace:
        return sigma2 / B
    if n == 1:
        return 0.0
    return (n - B) / (n - 1) * sigma2 / B


def sgd_noise_floor(eta, sigma2, L):
    """η σ²/(2(2 − ηL)): the stationary E f(x_k) − f* of constant-step SGD on a quadratic, where σ² is the
    variance of the stochastic gradient at x*.

    Exact for additive noise in one dimension (f = (L/2)x², x_{k+1} = (1 − ηL)x_k − ηξ_k: V = (1 − ηL)²V + η²σ²).
    For least squares fᵢ = ½(aᵢᵀx − bᵢ)² with B = 1 (with replacement) the stationary second moment P of
    e = x − x* solves HP + PH = η(E[aaᵀPaaᵀ] + S), tr S = σ*²; its trace and 0 ≤ E[(aᵀPa)‖a‖²] ≤ L_max tr(HP) give
    ησ*²/4 ≤ lim E f − f* ≤ this value with L = L_max (a mini-batch: σ*²/B and L = (1 − 1/B)L + L_max/B). The
    general strongly convex bound ηLσ²/(2μ) (Bottou, Curtis & Nocedal 2018, Thm. 4.6) is larger by ~2κ.

    >>> round(sgd_noise_floor(0.5, 1.0, 1.0), 6)      # mean estimation: Var = ησ²/(2 − η) = 1/3, f gap = 1/6
    0.166667
    """
    eta, sigma2, L = validate_positive("eta", eta), validate_nonnegative("sigma2", sigma2), validate_positive("L", L)
    if not eta * L < 2:
        raise ValueError(f"eta must satisfy eta·L < 2 (else constant-step SGD diverges), got eta={eta!r}, L={L!r}")
    return eta * sigma2 / (2 * (2 - eta * L))


_MOMENT_TENSOR_MAX_D = 32       # sgd_expected_gap: up to this d, precompute E[aᵢaᵢᵀ ⊗ aᵢaᵢᵀ]


def sgd_expected_gap(problem: FiniteSum, eta, batch_size=1, maxiter=1000, x0=None) -> np.ndarray:
    """E f(x_k) − f*, k = 0..maxiter, of mini-batch SGD with replacement on least squares fᵢ = ½(aᵢᵀx − bᵢ)², exactly.

    With e = x − x*, cᵢ = aᵢᵀx* − bᵢ (∇fᵢ(x*) = cᵢaᵢ), H = (1/n)AᵀA, the mean m_k = E e_k and second moment
    P_k = E e_k e_kᵀ obey m_{k+1} = (I − η_kH)m_k and
    P_{k+1} = (I − η_kH)P_k(I − η_kH) + (η_k²/B)(E[aaᵀP_kaaᵀ] + 2C(m_k) + S − HP_kH),
    C(m) = (1/n)Σᵢ cᵢ(aᵢᵀm)aᵢaᵢᵀ, S = (1/n)Σᵢ cᵢ²aᵢaᵢᵀ (tr S = σ*²), and E f(x_k) − f* = ½tr(HP_k). Its limit for
    constant η is the stationary value that :func:`sgd_noise_floor` brackets. ``problem`` must carry ``info["A"]``
    and ``info["b"]`` (:func:`finite_sum_least_squares`); ``eta`` is a number or a step rule; O(nd²) per step.

    >>> p = finite_sum_least_squares(n=20, d=2, noise=0.5)
    >>> g = sgd_expected_gap(p, 0.2 / p.L_max, maxiter=3000)
    >>> s2 = gradient_variance(p, p.x_star)                          # σ*²
    >>> bool(0.2 / p.L_max * s2 / 4 <= g[-1] <= sgd_noise_floor(0.2 / p.L_max, s2, p.L_max))
    True
    """
    _validate_finite_sum(problem, "sgd_expected_gap")
    if "A" not in problem.info or "b" not in problem.info:
        raise ValueError("sgd_expected_gap needs a least-squares problem with info['A'] and info['b'] "
                         "(finite_sum_least_squares)")
    A, b = np.asarray(problem.info["A"], dtype=float), np.asarray(problem.info["b"], dtype=float)
    n = A.shape[0]
    B, maxiter, rule = _check_batch(n, batch_size), validate_maxiter(maxiter), _rule(eta)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0] if problem.x_star is None else np.asarray(problem.x_star, float)
    c = A @ x_star - b
    H, S = A.T @ A / n, (A * (c * c)[:, None]).T @ A / n
    m = np.asarray(validate_x0(problem.problem, x0), dtype=float) - x_star
    P, d = np.outer(m, m), len(m)
    if d <= _MOMENT_TENSOR_MAX_D:                              # the d²×d² and d²×d tensors: O(d⁴) per step
        M4 = np.einsum("ni,nj,nk,nl->ijkl", A, A, A, A, optimize=True).reshape(d * d, d * d) / n
        Q = np.einsum("n,ni,nj,nk->ijk", c, A, A, A, optimize=True).reshape(d * d, d) / n
        fourth = lambda P: (M4 @ P.ravel()).reshape(d, d)     # noqa: E731
        cross = lambda m: (Q @ m).reshape(d, d)                # noqa: E731
    else:                                                      # O(nd²) per step, no d⁴ memory
        fourth = lambda P: (A * np.sum((A @ P) * A, 1)[:, None]).T @ A / n     # noqa: E731
        cross = lambda m: (A * (c * (A @ m))[:, None]).T @ A / n               # noqa: E731
    gaps = np.empty(maxiter + 1)
    for k in range(maxiter + 1):
        gaps[k] = 0.5 * float(np.sum(H * P))
        if k == maxiter:
            break
        eta_k = float(rule(k))
        M4P, Cm = fourth(P), cross(m)
        T = np.eye(d) - eta_k * H
        P = T @ P @ T + eta_k ** 2 / B * (M4P + 2 * Cm + S - H @ P @ H)
        P = 0.5 * (P + P.T)
        m = T @ m
    return gaps


def svrg_rate_bound(eta, L_max, mu, m):
    """α = 1/(μη(1 − 2L_maxη)m) + 2L_maxη/(1 − 2L_maxη), the per-epoch factor of Johnson & Zhang (2013, Thm. 1):
    E f(x̃_s) − f* ≤ αˢ(f(x̃₀) − f*) for option II with η < 1/(4L_max) (a guarantee only when α < 1)."""
    eta, L_max, mu = validate_positive("eta", eta), validate_positive("L_max", L_max), validate_positive("mu", mu)
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")
    if not eta < 1 / (4 * L_max):
        raise ValueError(f"eta must be < 1/(4 L_max) = {1 / (4 * L_max):.4g} for J&Z Thm. 1, got {eta!r}")
    return 1.0 / (mu * eta * (1 - 2 * L_max * eta) * m) + 2 * L_max * eta / (1 - 2 * L_max * eta)


def saga_rate_bound(n, L_max, mu, eta=None):
    """1 − ρ, ρ = min(μη, 1/(3n)): the per-step contraction E T_{k+1} ≤ (1 − ρ)T_k of the lecture's Theorem 5.2
    (week 4, §5.3), T_k = ‖x_k − x*‖² + 3nη²D_k, D_k = (1/n)Σᵢ‖G[i] − ∇fᵢ(x*)‖², for SAGA with a step
    0 < η = ``eta`` ≤ 1/(5L_max) (default 1/(5L_max), where ρ = min(μ/(5L_max), 1/(3n))); hypotheses: each fᵢ
    convex with an L_max-Lipschitz gradient, f μ-strongly convex. Then E‖x_k − x*‖² ≤ (1 − ρ)ᵏ(‖x₀ − x*‖²
    + 6nη²L_max(f(x₀) − f*)) from φᵢ = x₀; per epoch (1 − ρ)ⁿ. Other steps: Defazio, Bach & Lacoste-Julien
    (2014, Thm. 1; the lecture's Theorem 5.3) give 1 − μη for η = 1/(2(μn + L_max)) when each fᵢ is μ-strongly
    convex (see :func:`saga`); :func:`saga`'s default 1/(3L_max) is the step of their non-strongly-convex O(1/k)
    result (§2), for which no linear rate is proved here.

    >>> round(saga_rate_bound(100, 10.0, 0.1), 6)       # ρ = min(0.1/50, 1/300) = 0.002
    0.998
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    L_max, mu = validate_positive("L_max", L_max), validate_positive("mu", mu)
    eta = 1.0 / (5 * L_max) if eta is None else validate_positive("eta", eta)
    if eta > (1 + 1e-12) / (5 * L_max):
        raise ValueError(f"eta must be ≤ 1/(5 L_max) = {1 / (5 * L_max):.4g} for Theorem 5.2, got {eta!r}")
    return 1.0 - min(mu * eta, 1.0 / (3 * n))
