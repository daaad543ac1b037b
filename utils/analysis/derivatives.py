"""Gradients by finite differences, the gradient check, and the truncation/round-off trade-off in h.

A finite difference replaces a derivative by a difference quotient. Two errors compete: truncation (Taylor),
which shrinks with h, and round-off — each evaluation of f carries a relative error of order the machine
epsilon ε = 2⁻⁵² ≈ 2.2e-16 (twice the unit round-off), which the quotient divides by h. With M₂ = |vᵀ∇²f(x)v| and M₃ = |third directional
derivative| (Nocedal & Wright 2006, §8.1, eqs. (8.3)–(8.7)):

* forward:  |error| ≲ M₂ h/2 + 2ε|f|/h,       minimized at h* = 2√(ε|f|/M₂)   ≈ √ε ≈ 1.5e-8;
* central:  |error| ≲ M₃ h²/6 + ε|f|/h,       minimized at h* = (3ε|f|/M₃)^{1/3} ≈ ε^{1/3} ≈ 6e-6.

Plotted against h on log–log axes the error is a V: slope +1 (forward) or +2 (central) on the right,
slope −1 on the left. :func:`fd_error_curve` measures it; :func:`fd_error_model` and :func:`fd_optimal_h`
give the theory lines.
"""
from __future__ import annotations

import numpy as np

from ..core.drivers import validate_positive

__all__ = ["finite_difference_gradient", "directional_fd", "gradient_check", "fd_error_curve", "fd_error_model",
           "fd_optimal_h"]

_SCHEMES = ("forward", "central")
EPS = float(np.finfo(float).eps)


def _scheme(scheme: str) -> str:
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be 'forward' or 'central', got {scheme!r}")
    return scheme


def _point(name: str, x) -> np.ndarray:
    x = np.array(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be a non-empty finite 1-D array, got {x!r}")
    return x


def directional_fd(f, x, v, h=1e-6, scheme="central") -> float:
    r"""Directional derivative ∇f(x)ᵀv by one difference quotient.

    .. math::  \text{forward: } \frac{f(x + hv) - f(x)}{h}, \qquad
               \text{central: } \frac{f(x + hv) - f(x - hv)}{2h}

    Symbols ↔ arguments: f = ``f`` (scalar function of a 1-D array), x = ``x``, v = ``v`` (direction),
    h = ``h`` (scipy ``approx_fprime``'s ``epsilon``), scheme = ``"forward"`` | ``"central"``
    (scipy ``minimize(jac="2-point" | "3-point")``). A non-finite f propagates into the result.
    Reference: Nocedal & Wright 2006, eqs. (8.1) and (8.7).

    >>> f = lambda x: 0.5 * (x[0]**2 + 10 * x[1]**2)
    >>> round(directional_fd(f, [1.0, 1.0], [0.0, 1.0], h=1e-4), 6)        # ∂f/∂x₂ = 10 x₂
    10.0
    """
    x, v = _point("x", x), _point("v", v)
    if v.shape != x.shape:
        raise ValueError(f"v has shape {v.shape}, x has shape {x.shape}")
    h = validate_positive("h", h)
    if _scheme(scheme) == "forward":
        return (float(f(x + h * v)) - float(f(x))) / h
    return (float(f(x + h * v)) - float(f(x - h * v))) / (2 * h)


def finite_difference_gradient(f, x, *, h=1e-6, scheme="central") -> np.ndarray:
    r"""∇f(x) coordinate by coordinate: [∇f(x)]_i ≈ :func:`directional_fd`(f, x, e_i, h, scheme).

    Costs n + 1 evaluations of f (forward) or 2n (central), against a small constant times one f for
    reverse-mode autodiff. Symbols ↔ arguments as in :func:`directional_fd`; scipy
    ``optimize.approx_fprime(x, f, epsilon=h)`` is the forward version. The same absolute h is used in
    every coordinate (Nocedal & Wright scale it by max(1, |x_i|) for badly scaled x).
    Reference: Nocedal & Wright 2006, §8.1, eqs. (8.1), (8.7).

    >>> import numpy as np
    >>> f = lambda x: 0.5 * (x[0]**2 + 10 * x[1]**2)
    >>> np.round(finite_difference_gradient(f, np.array([1.0, -2.0])), 6).tolist()
    [1.0, -20.0]
    """
    x, h = _point("x", x), validate_positive("h", h)
    steps = h * np.eye(x.size)
    if _scheme(scheme) == "forward":
        fx = float(f(x))
        return np.array([(float(f(x + e)) - fx) / h for e in steps])
    return np.array([(float(f(x + e)) - float(f(x - e))) / (2 * h) for e in steps])


def gradient_check(f, grad, x, *, h=1e-6, seed=0, num_directions=1) -> float:
    r"""Relative error between a claimed gradient and a central difference along random directions.

    .. math::  d_{\rm fd} = \frac{f(x + hv) - f(x - hv)}{2h}, \quad d = \nabla f(x)^\top v, \quad
               \text{rel} = \frac{|d_{\rm fd} - d|}{\max(|d_{\rm fd}|, |d|)}

    with v ~ N(0, I)/‖·‖ drawn from ``seed``; the largest rel over ``num_directions`` directions is returned
    (0 when both derivatives are 0). One direction costs two f calls whatever n is, and a wrong
    gradient component shows up in almost every random direction. Rule of thumb in float64 with
    h ≈ 1e-6 (CS231n, "Gradient checks"): rel < 1e-7 good; 1e-7–1e-4 suspicious unless f has kinks;
    > 1e-2 the gradient is wrong.

    Symbols ↔ arguments: f = ``f``, ∇f = ``grad``, x = ``x``, h = ``h``. scipy: ``optimize.check_grad``
    (which returns the absolute ‖∇f − FD‖₂ of a forward difference instead).
    Reference: Nocedal & Wright 2006, §8.1 (eq. (8.7) for the central difference).

    >>> import numpy as np
    >>> f = lambda x: 0.5 * (x[0]**2 + 10 * x[1]**2)
    >>> gradient_check(f, lambda x: np.array([x[0], 10 * x[1]]), np.array([1.0, 1.0])) < 1e-8
    True
    >>> gradient_check(f, lambda x: np.array([x[0], 5 * x[1]]), np.array([1.0, 1.0])) > 1e-2
    True
    """
    x = _point("x", x)
    if isinstance(num_directions, bool) or not isinstance(num_directions, (int, np.integer)) or num_directions < 1:
        raise ValueError(f"num_directions must be a positive integer, got {num_directions!r}")
    g = np.asarray(grad(x), dtype=float)
    if g.shape != x.shape:
        raise ValueError(f"grad(x) has shape {g.shape}, x has shape {x.shape}")
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(num_directions):
        v = rng.standard_normal(x.size)
        v /= np.linalg.norm(v)
        d_fd, d = directional_fd(f, x, v, h, "central"), float(g @ v)
        scale = max(abs(d_fd), abs(d))
        rel = abs(d_fd - d) / scale if scale > 0 else (0.0 if d_fd == d else np.inf)
        worst = max(worst, rel) if np.isfinite(rel) else np.nan
    return float(worst)


def fd_error_curve(f, grad, x, hs, *, v=None, scheme="forward", seed=0) -> np.ndarray:
    """|FD − exact| directional-derivative error for each step in ``hs``: the V-shaped curve.

    error(h) = |``directional_fd``(f, x, v, h, scheme) − ∇f(x)ᵀv|, with the exact derivative from ``grad``
    (by hand or autodiff). ``v`` defaults to a random unit vector drawn from ``seed``. Compare with
    :func:`fd_error_model`. Reference: Nocedal & Wright 2006, §8.1.

    >>> import numpy as np
    >>> f = lambda x: 0.5 * (x[0]**2 + 10 * x[1]**2)
    >>> grad = lambda x: np.array([x[0], 10 * x[1]])
    >>> err = fd_error_curve(f, grad, np.array([1.0, 1.0]), [1e-1, 1e-3], v=np.array([0.0, 1.0]))
    >>> np.round(err, 8).tolist()                # forward truncation error = f''·h/2 = 10·h/2 exactly
    [0.5, 0.005]
    """
    x = _point("x", x)
    if v is None:
        v = np.random.default_rng(seed).standard_normal(x.size)
        v /= np.linalg.norm(v)
    v = _point("v", v)
    hs = np.asarray(hs, dtype=float).ravel()
    if hs.size == 0 or not np.all(np.isfinite(hs) & (hs > 0)):
        raise ValueError(f"hs must be a non-empty array of positive steps, got {hs!r}")
    exact = float(np.asarray(grad(x), dtype=float) @ v)
    return np.array([abs(directional_fd(f, x, v, h, scheme) - exact) for h in hs])


def fd_error_model(hs, scheme, *, fx, d2=0.0, d3=0.0, eps=EPS) -> np.ndarray:
    """Theory: truncation + round-off bound, M₂h/2 + 2ε|f|/h (forward) or M₃h²/6 + ε|f|/h (central).

    Symbols ↔ arguments: |f(x)| = ``fx``, M₂ = ``d2`` = |vᵀ∇²f(x)v|, M₃ = ``d3`` = |D³f(x)[v, v, v]|,
    ε = ``eps`` (machine epsilon of the arithmetic, ``np.finfo(float).eps``). Nocedal & Wright 2006, §8.1.

    >>> f"{fd_error_model([1e-8], 'forward', fx=1.0, d2=2.0)[0]:.4e}"       # 1e-8 + 2·2.22e-16/1e-8
    '5.4409e-08'
    """
    hs = np.asarray(hs, dtype=float)
    if _scheme(scheme) == "forward":
        return abs(d2) * hs / 2 + 2 * eps * abs(fx) / hs
    return abs(d3) * hs**2 / 6 + eps * abs(fx) / hs


def fd_optimal_h(scheme, *, fx, d2=0.0, d3=0.0, eps=EPS) -> float:
    """The h minimizing :func:`fd_error_model`: 2√(ε|f|/M₂) (forward), (3ε|f|/M₃)^{1/3} (central).

    >>> round(fd_optimal_h("forward", fx=1.0, d2=4.0) / EPS**0.5, 12)
    1.0
    """
    if _scheme(scheme) == "forward":
        return float(2 * np.sqrt(eps * abs(fx) / validate_positive("d2", abs(d2))))
    return float(np.cbrt(3 * eps * abs(fx) / validate_positive("d3", abs(d3))))
