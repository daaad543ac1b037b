"""The scipy adapter records the same History as our drivers, with scipy's own counts."""
import numpy as np
import pytest
from scipy.optimize import minimize

from utils.drivers import scipy_minimize
from utils.problems import quadratic, rosenbrock


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-exact"])
def test_scipy_adapter_matches_plain_scipy(method):
    p = rosenbrock(4)
    extra = {"xtol": 1e-10} if method == "Newton-CG" else {}               # Newton-CG stops on xtol, not gtol
    res = scipy_minimize(p, method, gtol=1e-8, **extra)
    kw = {"hess": p.hess} if method == "trust-exact" else {"hessp": p.hvp} if method in {"Newton-CG", "trust-ncg"} else {}
    opts = extra or {"gtol": 1e-8}
    plain = minimize(p.f, p.x0, jac=p.grad, method=method, options={"maxiter": 1000, **opts}, **kw)
    np.testing.assert_allclose(res.x, plain.x, rtol=0, atol=0)              # the adapter changes nothing
    h = res.history
    assert len(h) == res.nit + 1 and h.fun[-1] == pytest.approx(res.fun, rel=1e-14)
    np.testing.assert_allclose(h.x[-1], res.x, rtol=0, atol=0)
    np.testing.assert_allclose(h.fun, [p.f(x) for x in h.x], rtol=1e-14)
    assert h.nfev[-1] <= res.nfev and np.all(np.diff(h.nfev) >= 0) and np.all(np.diff(h.njev) >= 0)
    assert h.nfev[0] == h.njev[0] == 0 and np.isnan(h.step[0])
    assert res.success and np.linalg.norm(res.x - p.x_star) < 1e-5


def test_scipy_adapter_counts_equal_scipys_on_bfgs():
    p = quadratic(n=10, mu=1.0, L=30.0, seed=1)
    res = scipy_minimize(p, "BFGS", gtol=1e-10)
    assert res.history.nfev[-1] == res.nfev and res.history.njev[-1] == res.njev


def test_scipy_adapter_handles_callbacks_that_pass_the_bare_iterate():
    p = rosenbrock(3)
    res = scipy_minimize(p, "TNC")                     # TNC calls callback(xk), not callback(OptimizeResult)
    h = res.history
    assert len(h) >= 2 and np.all(np.diff(h.nfev) >= 0)
    np.testing.assert_allclose(h.fun, [p.f(x) for x in h.x], rtol=1e-14)


def test_scipy_adapter_validates_gtol():
    with pytest.raises(ValueError, match="gtol"):
        scipy_minimize(rosenbrock(2), "BFGS", gtol=-1.0)
