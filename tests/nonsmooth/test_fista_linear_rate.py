r"""Plain Nesterov / FISTA (no restart, μ unknown to the method) converges linearly on strongly convex problems.

Week 3 lecture, §6. With η = 1/L and β_k = (t_k − 1)/t_{k+1} → 1, an eigencomponent e_k of the error along a
Hessian eigenvector with eigenvalue λ (a = 1 − ηλ) obeys, for k ≥ 1,

    e_{k+1} = a(1 + β_{k−1}) e_k − a β_{k−1} e_{k−1},

a 2×2 step with determinant aβ_{k−1}. Once the roots are complex, both have modulus √(aβ_{k−1}) → √a, so the
predicted tail rate is √(1 − μ/L) (λ = μ the slowest component): linear, but slower per iteration than
gradient descent's 1 − μ/L and far from the accelerated 1 − √(μ/L).

The measurement. Iterates come from :func:`utils.momentum.nesterov` (a quadratic with known spectrum) and
:func:`utils.proximal.fista` (a lasso, whose tail is Nesterov on the quadratic restricted to the support S, so
μ_S = λ_min of that block). On a window between relative errors 1e-4 and 1e-10 (far above rounding) we take the
local maxima k_p of ‖x_k − x*‖ and fit a line to log‖x_k − x*‖ − ½ Σ_{1≤j≤k−2} log β_j (the product of the exact
determinants removes the known polynomial factor ∏√β_j ≍ k^{−3/2}); its slope ŝ estimates log ρ.

The tolerance is derived, not chosen. At the peaks, log‖e_k‖ − (line) lies in a band of width
D = D_phase + D_drift + D_other:
- D_phase = −log cos(|ψ| + θ): the dominant component is A ρ^k cos(kθ + φ); the continuous maximum of its
  modulus sits at phase ψ = arctan(|log ρ|/θ) from the crest, and a sampled local maximum within one step θ of it;
- D_drift = ½ |log(sin θ_{k₁}/sin θ_{k₂})|: the amplitude of a slowly varying area-preserving recursion scales
  as (sin θ_k)^{−1/2} (the adiabatic invariant of the normalized 2×2 map), θ_k the local argument of the roots;
- D_other = max ½ log(1 + Σ_{i≠1} e_i²/e_1²) over the peaks, measured from the eigencomponents.
A perturbation of the data inside a band of width D moves a least-squares slope by at most
D Σ|k_p − k̄|/Σ(k_p − k̄)², which is the tolerance. Deterministic (fixed seeds, fixed iteration counts).
"""
import math

import numpy as np
import pytest

from utils.composite import lasso, sparse_regression
from utils.momentum import nesterov
from utils.problems import quadratic
from utils.proximal import fista


def betas(n):
    """β_k = (t_k − 1)/t_{k+1}, k = 0..n−1, t₀ = 1 (the course convention)."""
    t, out = 1.0, np.empty(n)
    for k in range(n):
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        out[k], t = (t - 1.0) / t_next, t_next
    return out


def tail_rate(X, x_star, V, q):
    """Fit the tail rate of ‖x_k − x*‖ and return (ŝ, s*, tolerance, window).

    X: iterates (rows), V: orthonormal eigenvectors of the (restricted) Hessian as columns, first column the
    slowest one (eigenvalue μ), q = ημ."""
    E = (X - x_star) @ V                             # eigencomponents of the error; ‖E_k‖ = ‖x_k − x*‖ on span V
    e = np.linalg.norm(X - x_star, axis=1)
    rel = e / np.linalg.norm(x_star)
    k1, k2 = int(np.argmax(rel < 1e-4)), int(np.argmax(rel < 1e-10))
    assert 0 < k1 < k2, "window not reached: run longer"
    b = betas(len(e))
    logdet = np.zeros(len(e))                        # ½ Σ_{1≤j≤k−2} log β_j
    logdet[3:] = 0.5 * np.cumsum(np.log(b[1:len(e) - 2]))
    a = 1.0 - q
    cos_th = math.sqrt(a) * (1.0 + b[k1 - 1]) / (2.0 * math.sqrt(b[k1 - 1]))
    assert cos_th < 1.0, "window starts before the roots turn complex"
    s_star = 0.5 * math.log(a)
    peaks = np.array([k for k in range(k1 + 1, k2 - 1) if e[k] >= e[k - 1] and e[k] >= e[k + 1]])
    assert len(peaks) >= 10, "too few oscillations in the window"
    s_hat = np.polyfit(peaks, np.log(e[peaks]) - logdet[peaks], 1)[0]

    def theta(k):                                   # local argument of the complex roots of step k
        return math.acos(math.sqrt(a) * (1.0 + b[k - 1]) / (2.0 * math.sqrt(b[k - 1])))

    th1, th2 = theta(k1), theta(k2)
    d_phase = -math.log(math.cos(math.atan(abs(s_star) / min(th1, th2)) + max(th1, th2)))
    d_drift = 0.5 * abs(math.log(math.sin(th1) / math.sin(th2)))
    d_other = 0.5 * float(np.max(np.log1p(np.sum(E[peaks, 1:] ** 2, axis=1) / E[peaks, 0] ** 2)))
    kc = peaks - peaks.mean()
    tol = (d_phase + d_drift + d_other) * np.abs(kc).sum() / (kc ** 2).sum()
    return s_hat, s_star, tol, (k1, k2)


@pytest.mark.parametrize("kappa", [25.0, 100.0])
def test_nesterov_tail_rate_on_a_quadratic_is_sqrt_one_minus_mu_over_L(kappa):
    p = quadratic(n=20, mu=1.0, L=kappa, spectrum="linear", seed=0)
    q = p.mu / p.L
    n_iter = int(math.ceil(math.log(1e-11) / (0.5 * math.log(1.0 - q)))) + 50
    res = nesterov(p, x0=np.zeros(20), eta=1.0 / p.L, maxiter=n_iter, gtol=0.0, record_x=True)
    lam, Q = p.info["eigenvalues"], p.info["Q"]
    V = Q[:, np.argsort(lam)]                        # slowest component first
    s_hat, s_star, tol, _ = tail_rate(res.history.x, p.x_star, V, q)
    assert abs(s_hat - s_star) <= tol, (s_hat, s_star, tol)
    # The tolerance is far smaller than the gaps to the other candidate rates, so the test tells them apart:
    assert tol < 0.1 * abs(s_star)
    assert abs(s_hat - math.log(1.0 - q)) > 10 * tol               # not gradient descent's 1 − μ/L
    assert abs(s_hat - math.log(1.0 - math.sqrt(q))) > 10 * tol    # not the accelerated 1 − √(μ/L)


def test_fista_tail_rate_on_a_lasso_is_sqrt_one_minus_mu_S_over_L():
    lam_reg = 0.01
    A, b, _ = sparse_regression(m=40, n=20, k=10, noise=0.1, correlation=0.8, seed=0)
    p = lasso(A, b, lam_reg)
    m = A.shape[0]
    S = np.flatnonzero(np.abs(p.x_star) > 1e-8)
    grad_star = A.T @ (A @ p.x_star - b) / m
    off = np.setdiff1d(np.arange(A.shape[1]), S)
    assert np.max(np.abs(grad_star[off])) < 0.9 * lam_reg    # strict complementarity: the support is stable
    H_SS = A[:, S].T @ A[:, S] / m
    lam, W = np.linalg.eigh(H_SS)
    V = np.zeros((A.shape[1], len(S)))
    V[S] = W                                                  # eigenvectors of the restricted Hessian, μ_S first
    q = lam[0] / p.L
    n_iter = int(math.ceil(math.log(1e-11) / (0.5 * math.log(1.0 - q)))) + 200
    res = fista(p, eta=1.0 / p.L, maxiter=n_iter, gtol=0.0, record_x=True)
    X = res.history.x
    e = np.linalg.norm(X - p.x_star, axis=1) / np.linalg.norm(p.x_star)
    k1 = int(np.argmax(e < 1e-4))
    assert np.all(X[k1:, off] == 0.0)                         # support identified before the window: soft
    assert np.all(np.sign(X[k1:, S]) == np.sign(p.x_star[S]))  # thresholding returns exact zeros off S
    s_hat, s_star, tol, _ = tail_rate(X, p.x_star, V, q)
    assert abs(s_hat - s_star) <= tol, (s_hat, s_star, tol)
    assert tol < 0.1 * abs(s_star)
    assert abs(s_hat - math.log(1.0 - q)) > 10 * tol               # not ISTA's 1 − μ_S/L
    assert abs(s_hat - math.log(1.0 - math.sqrt(q))) > 10 * tol
