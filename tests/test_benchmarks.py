"""Tests of utils.benchmarks: costs to target, Dolan–Moré profiles on hand-made tables, the text table."""
from types import SimpleNamespace

import numpy as np
import pytest

from utils.benchmarks import (Record, format_table, performance_profile, print_table, run_benchmark,
                              target_index)
from utils.result import History, OptimizeResult

INF = float("inf")


def make_result(fun, nfev, njev, time, success=True):
    fun = np.asarray(fun, dtype=float)
    n = len(fun)
    h = History(fun=fun, grad_norm=np.zeros(n), step=np.zeros(n), nfev=np.asarray(nfev),
                njev=np.asarray(njev), time=np.asarray(time, dtype=float))
    return OptimizeResult(x=np.zeros(2), fun=fun[-1], nit=n - 1, nfev=int(nfev[-1]), njev=int(njev[-1]),
                          success=success, status=0 if success else 1, message="", history=h)


def problem(name, f_star=0.0):
    return SimpleNamespace(name=name, f_star=f_star, x0=np.ones(2), f=None, grad=None)


def gd(p, eta=0.25, maxiter=40):
    """Gradient descent on f(x) = ½(x₁² + 4x₂²) with step eta, recording a full History."""
    d = np.array([1.0, 4.0])
    x = p.x0.copy()
    fun = [0.5 * x @ (d * x)]
    for _ in range(maxiter):
        x = x - eta * d * x
        fun.append(0.5 * x @ (d * x))
    k = np.arange(maxiter + 1)
    return make_result(fun, nfev=np.zeros_like(k), njev=k, time=1e-3 * k)


def test_target_index_is_first_k_meeting_tolerance():
    fun = [5.0, 1.0, 1e-3, 1e-7, 1e-9, 1e-12]
    assert target_index(fun, 0.0, 1e-6) == 3
    assert target_index(fun, 0.0, 1e-10) == 5
    assert target_index(fun, 0.0, 1e-13) is None
    # relative tolerance: |f*| = 100 makes the threshold 100·rtol = 2e-3 (absolute 2e-5 would give k = 3)
    assert target_index(np.array(fun) - 100.0, -100.0, 2e-5) == 2


def test_run_benchmark_records_costs_to_target():
    fast = make_result([5.0, 1.0, 1e-3, 1e-7, 1e-9], nfev=[1, 2, 4, 5, 6], njev=[1, 2, 3, 4, 5],
                       time=[0.0, 0.1, 0.2, 0.3, 0.4])
    slow = make_result([5.0, 4.0, 3.0], nfev=[1, 2, 3], njev=[1, 2, 3], time=[0, 1, 2], success=False)
    recs = run_benchmark({"fast": lambda p: fast, "slow": lambda p: slow}, [problem("quad")])
    by = {r.solver: r for r in recs}
    assert [(r.problem, r.solver) for r in recs] == [("quad", "fast"), ("quad", "slow")]
    f = by["fast"]
    assert (f.iters_to_target, f.oracle_to_target, f.time_to_target) == (3, 9, 0.3)
    assert (f.gap, f.success, f.nit, f.nfev, f.njev) == (1e-9, True, 4, 6, 5)
    s = by["slow"]
    assert s.iters_to_target == s.oracle_to_target == s.time_to_target == INF
    assert s.success is False and s.gap == 3.0 and s.status == 1


def test_run_benchmark_on_a_real_gradient_descent_loop():
    # f_k = ½·0.75^{2k} for k ≥ 1 (the x₂ part vanishes after one step with eta = 1/4); target 1e-6
    recs = run_benchmark({"gd": gd}, [problem("quad")], rtol=1e-6, progress=False)
    k_hand = int(np.ceil(np.log(2e-6) / np.log(0.75 ** 2)))
    assert k_hand == 23
    (r,) = recs
    assert r.iters_to_target == k_hand and r.oracle_to_target == k_hand
    assert r.time_to_target == pytest.approx(1e-3 * k_hand)


def test_run_benchmark_with_seeds_and_progress_bar():
    calls = []

    def solver(p, seed):
        calls.append((p.name, seed))
        return make_result([1.0, 0.0], nfev=[1, 2], njev=[1, 2], time=[0, 1])

    recs = run_benchmark({"s": solver}, [problem("a"), problem("b")], seeds=[0, 1, 2], progress=True)
    assert calls == [(p, s) for p in "ab" for s in range(3)]
    assert [r.seed for r in recs] == [0, 1, 2, 0, 1, 2]


def test_run_benchmark_rejects_bad_problems():
    with pytest.raises(ValueError, match="f_star"):
        run_benchmark({}, [problem("a", f_star=None)])
    with pytest.raises(ValueError, match="distinct"):
        run_benchmark({}, [problem("a"), problem("a")])
    with pytest.raises(ValueError, match="rtol"):
        run_benchmark({}, [problem("a")], rtol=0.0)


def rec(solver, prob, t, seed=None, gap=1e-9, nit=10, success=True):
    reached = np.isfinite(t)
    return Record(solver, prob, seed, gap, success, 0 if success else 1, nit, 2 * nit, nit, 0.5,
                  nit if reached else INF, 3 * nit if reached else INF, t)


def test_performance_profile_three_problems_two_solvers():
    res = [rec("A", "p1", 1.0), rec("B", "p1", 2.0),
           rec("A", "p2", 4.0), rec("B", "p2", 2.0),
           rec("A", "p3", 3.0), rec("B", "p3", INF)]
    prof = performance_profile(res)
    # ratios A: 1, 2, 1 ; B: 2, 1, inf
    np.testing.assert_allclose(prof.ratios["A"], [1, 2, 1])
    np.testing.assert_allclose(prof.ratios["B"], [2, 1, INF])
    np.testing.assert_allclose(prof.tau, [1, 2])
    np.testing.assert_allclose(prof.rho["A"], [2 / 3, 1])
    np.testing.assert_allclose(prof.rho["B"], [1 / 3, 2 / 3])
    assert prof.problems == ("p1", "p2", "p3") and prof.metric == "time_to_target"


def test_performance_profile_unsolved_problem_fails_for_all_and_seeds_use_median():
    res = [rec("A", "p1", INF), rec("B", "p1", INF),
           *(rec("A", "p2", t, seed=i) for i, t in enumerate([1.0, 5.0, 3.0])),  # median 3
           *(rec("B", "p2", t, seed=i) for i, t in enumerate([6.0, INF, 6.0]))]  # median 6
    prof = performance_profile(res)
    np.testing.assert_allclose(prof.tau, [1, 2])
    np.testing.assert_allclose(prof.rho["A"], [0.5, 0.5])
    np.testing.assert_allclose(prof.rho["B"], [0.0, 0.5])


def test_performance_profile_other_metric_and_zero_best_is_left_out():
    res = [rec("A", "p1", 1.0, nit=4), rec("B", "p1", 1.0, nit=2),
           rec("A", "p2", 0.0, nit=0), rec("B", "p2", 1.0, nit=1)]
    with pytest.warns(RuntimeWarning, match="p2"):
        prof = performance_profile(res, metric="nfev")
    assert prof.problems == ("p1",)
    np.testing.assert_allclose(prof.ratios["A"], [2.0])
    with pytest.raises(ValueError, match="metric"):
        performance_profile(res, metric="gap")


def test_format_table_contents(capsys):
    res = [rec("gd", "quad", 0.25, gap=1e-9, nit=12), rec("newton", "quad", INF, gap=3.5, nit=7, success=False),
           rec("gd", "rosenbrock", 1.5, gap=2e-8, nit=300)]
    table = format_table(res, metrics=("success", "gap", "nit", "iters_to_target", "time_to_target"))
    lines = table.splitlines()
    assert lines[0].split() == ["problem", "solver", "success", "gap", "nit", "iters_to_target",
                                "time_to_target"]
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == ["quad", "gd", "yes", "1.00e-09", "12", "12", "0.25"]
    assert lines[3].split() == ["quad", "newton", "no", "3.50e+00", "7", "inf", "inf"]
    assert lines[4].split() == ["rosenbrock", "gd", "yes", "2.00e-08", "300", "300", "1.5"]
    assert len(lines) == 5 and len({len(ln) for ln in lines}) == 1  # fixed width
    print_table(res, metrics=("success", "gap", "nit", "iters_to_target", "time_to_target"))
    assert capsys.readouterr().out == table + "\n"


def test_format_table_with_seeds_and_bad_metric():
    res = [rec("gd", "quad", 1.0, seed=0, nit=10), rec("gd", "quad", 2.0, seed=1, nit=20, success=False),
           rec("gd", "quad", 3.0, seed=2, nit=40)]
    table = format_table(res, metrics=("success", "nit"))
    assert table.splitlines()[2].split() == ["quad", "gd", "2/3", "20"]
    assert table.splitlines()[-1] == "(median over 3 seeds)"
    with pytest.raises(ValueError, match="metrics"):
        format_table(res, metrics=("speed",))
