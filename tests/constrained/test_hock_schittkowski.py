"""The Hock–Schittkowski records: published solutions are KKT points, derived multipliers are non-negative,
the oracles agree with finite differences, and bad records are refused."""
import numpy as np
import pytest

from utils import hock_schittkowski as hs

PROBLEMS = hs.hs_problems() + [hs.maratos()]


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
def test_published_solution_is_a_kkt_point(p):
    r = hs.kkt_residual(p, p.x_star, p.lam_star, p.nu_star)
    assert r["kkt"] < 1e-9, r
    assert np.all(p.lam_star >= 0)
    assert abs(p.f(p.x_star) - p.f_star) <= 1e-7 * (1 + abs(p.f_star))


@pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
def test_derivatives_match_finite_differences(p):
    x = p.x0 + 0.1 * np.arange(1, p.n + 1)
    eps = 1e-6
    E = np.eye(p.n) * eps
    fd = lambda F: np.stack([(F(x + e) - F(x - e)) / (2 * eps) for e in E], axis=-1)  # noqa: E731
    np.testing.assert_allclose(fd(p.f), p.grad(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fd(p.grad), p.hess(x), rtol=1e-5, atol=1e-5)
    for F, J, H in ((p.g, p.g_jac, p.g_hess), (p.h, p.h_jac, p.h_hess)):
        np.testing.assert_allclose(fd(F).reshape(J(x).shape), J(x), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(fd(J).reshape(H(x).shape), H(x), rtol=1e-5, atol=1e-5)


def test_hs71_refined_within_published_digits():
    p = hs.hs71()
    assert np.max(np.abs(p.x_star - p.info["x_star_published"])) < 5e-7     # the book's 7 decimals
    np.testing.assert_allclose(p.lam_star[:2], [0.55229366, 1.08787123], atol=1e-7)


def test_known_multipliers():
    np.testing.assert_allclose(hs.hs7().nu_star, [1 / (2 * np.sqrt(3))], atol=1e-14)
    np.testing.assert_allclose(hs.hs35().lam_star[0], 2 / 9, atol=1e-14)
    np.testing.assert_allclose(hs.hs21().lam_star[1], 0.04, atol=1e-14)


def test_benchmark_rows_quick():
    rows = hs.hs_benchmark_rows(quick=True)
    assert {r["method"] for r in rows} >= {"SLSQP", "trust-constr", "SQP (damped BFGS)", "augmented Lagrangian"}
    for r in rows:
        print(r)
        if r["method"] != "trust-constr":
            assert r["x_err"] < 1e-6, r


def test_bad_records():
    with pytest.raises(ValueError, match="both"):
        hs.NonlinearProgram("x", f=lambda x: 0.0, grad=lambda x: x, x0=np.ones(2), g=lambda x: x)
    with pytest.raises(ValueError, match="vector"):
        hs.NonlinearProgram("x", f=lambda x: 0.0, grad=lambda x: x, x0=np.ones((2, 2)))
    with pytest.raises(TypeError):
        hs.NonlinearProgram("x", f=lambda x: 0.0, grad=3, x0=np.ones(2))
