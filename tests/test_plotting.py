"""Tests of utils.plotting: the numbers behind each curve, the axes it sets, and the figure file names."""
import matplotlib

matplotlib.use("Agg")

from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from utils.plotting import (COLORS, convergence_curves, plot_contours, plot_convergence,  # noqa: E402
                            plot_performance_profile, plot_theory, save_figure, set_style)
from utils.result import History, OptimizeResult  # noqa: E402


def make_run(fun, nfev=None, njev=None, time=None, x=None):
    fun = np.asarray(fun, dtype=float)
    n = len(fun)
    ar = np.arange(n)
    h = History(fun=fun, grad_norm=np.sqrt(np.abs(fun)), step=np.full(n, np.nan),
                nfev=ar if nfev is None else np.asarray(nfev), njev=ar if njev is None else np.asarray(njev),
                time=0.1 * ar if time is None else np.asarray(time, dtype=float), x=x)
    return OptimizeResult(x=np.zeros(2), fun=fun[-1], nit=n - 1, nfev=int(h.nfev[-1]), njev=int(h.njev[-1]),
                          success=True, status=0, message="", history=h)


def new_ax():
    return Figure().subplots()


def test_set_style_is_idempotent_and_sets_house_values():
    with matplotlib.rc_context():
        set_style()
        first = dict(matplotlib.rcParams)
        set_style()
        assert dict(matplotlib.rcParams) == first
        assert matplotlib.rcParams["figure.dpi"] == 110 and matplotlib.rcParams["savefig.dpi"] == 150
        assert matplotlib.rcParams["axes.grid"] and matplotlib.rcParams["figure.constrained_layout.use"]
        assert list(matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]) == list(COLORS)


def test_median_and_band_of_three_runs_are_hand_computed():
    runs = [make_run([4, 2, 1]), make_run([8, 4, 2]), make_run([6, 3, 0.5])]
    c = convergence_curves(runs, f_star=0.0)
    np.testing.assert_allclose(c.median, [6, 3, 1])
    # quantiles of 3 sorted values a ≤ b ≤ c, linear rule: q=0.1 at position 0.2, q=0.9 at position 1.8
    np.testing.assert_allclose(c.lower, [4 + 0.2 * 2, 2 + 0.2 * 1, 0.5 + 0.2 * 0.5])
    np.testing.assert_allclose(c.upper, [6 + 0.8 * 2, 3 + 0.8 * 1, 1 + 0.8 * 1])
    ax = new_ax()
    line = plot_convergence(ax, runs, f_star=0.0, label="gd")
    np.testing.assert_allclose(line.get_ydata(), [6, 3, 1])
    np.testing.assert_allclose(line.get_xdata(), [0, 1, 2])
    assert len(ax.collections) == 1  # the band
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "iteration k" and ax.get_ylabel() == "f(x_k) − f*"
    assert line.get_label() == "gd"


def test_runs_of_different_lengths_are_padded_with_their_last_value():
    runs = [make_run([4, 2]), make_run([8, 4, 2, 1]), make_run([6, 3, 1])]
    c = convergence_curves(runs, f_star=0.0, band=None)
    # padded: [4,2,2,2], [8,4,2,1], [6,3,1,1]
    np.testing.assert_allclose(c.t, [0, 1, 2, 3])
    np.testing.assert_allclose(c.median, [6, 3, 2, 1])
    ax = new_ax()
    plot_convergence(ax, runs, f_star=0.0, band=None)
    assert len(ax.collections) == 0


def test_oracle_axis_is_nfev_plus_njev():
    run = make_run([4, 2, 1], nfev=[1, 3, 4], njev=[1, 2, 3])
    ax = new_ax()
    line = plot_convergence(ax, run, x="oracle", y="fun")
    np.testing.assert_allclose(line.get_xdata(), [2, 5, 7])
    np.testing.assert_allclose(line.get_ydata(), [4, 2, 1])
    assert "oracle" in ax.get_xlabel() and ax.get_yscale() == "linear"


def test_time_axis_interpolates_several_runs_onto_the_union_grid():
    a = make_run([4, 2, 1], time=[0.0, 1.0, 2.0])
    b = make_run([8, 2], time=[0.0, 1.5])
    c = convergence_curves([a, b], x="time", f_star=0.0)
    np.testing.assert_allclose(c.t, [0, 1, 1.5, 2])
    # a at the grid: 4, 2, 2, 1 ; b: 8, 8, 2, 2 (value of the last iterate with time ≤ t)
    np.testing.assert_allclose(c.median, [6, 5, 2, 1.5])
    ax = new_ax()
    plot_convergence(ax, [a, b], x="time", f_star=0.0)
    assert ax.get_xlabel() == "seconds"


def test_grad_norm_and_nan_run_counts_as_worst():
    runs = [make_run([4, 1, 0.25]), make_run([9, 4, 1]), make_run([16, np.nan, np.nan])]
    c = convergence_curves(runs, y="grad_norm")
    np.testing.assert_allclose(c.median, [3, 2, 1])  # sqrt of fun; NaN is worse than both others
    np.testing.assert_allclose(c.lower, [2 + 0.2 * 1, 1 + 0.2 * 1, 0.5 + 0.2 * 0.5])
    np.testing.assert_allclose(c.upper, [3 + 0.8 * 1, np.inf, np.inf])
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):  # the linear rule of np.quantile where all values are finite
        np.testing.assert_allclose(convergence_curves(runs[:2], y="grad_norm", band=(q, q)).lower,
                                   np.quantile([[2, 1, 0.5], [3, 2, 1]], q, axis=0))


def test_zero_gap_is_clipped_and_marked_not_hidden():
    ax = new_ax()
    line = plot_convergence(ax, make_run([1.0, 1e-3, 0.0]), f_star=0.0)
    y = line.get_ydata()
    assert y[-1] > 0 and y[-1] == min(np.finfo(float).eps, 1e-3)
    markers = [ln for ln in ax.lines if ln.get_marker() == "v"]
    assert len(markers) == 1 and np.allclose(markers[0].get_xdata(), [2])


def test_gap_far_below_zero_warns_that_f_star_is_wrong():
    with pytest.warns(RuntimeWarning, match="f_star"):
        plot_convergence(new_ax(), make_run([1.0, 0.5, 0.1]), f_star=0.5)


def test_bad_arguments_raise():
    run = make_run([1.0, 0.5])
    with pytest.raises(ValueError, match="f_star"):
        plot_convergence(new_ax(), run)
    with pytest.raises(ValueError, match="x must"):
        plot_convergence(new_ax(), run, x="passes", f_star=0.0)
    with pytest.raises(ValueError, match="y must"):
        plot_convergence(new_ax(), run, y="loss")
    with pytest.raises(ValueError, match="history"):
        plot_convergence(new_ax(), OptimizeResult(x=0, fun=1.0), f_star=0.0)


def test_plot_theory_is_dashed_with_given_data():
    ax = new_ax()
    k = np.arange(1, 5)
    line = plot_theory(ax, k, 1.0 / k, "L‖x0 − x*‖²/(2k)", color="C1")
    assert line.get_linestyle() == "--" and line.get_label() == "L‖x0 − x*‖²/(2k)"
    np.testing.assert_allclose(line.get_ydata(), 1.0 / k)


def test_contours_vectorized_and_loop_paths_agree():
    A = np.diag([1.0, 10.0])
    vec = lambda x: x[0] ** 2 + 10 * x[1] ** 2  # noqa: E731 — broadcasts over a grid
    loop = lambda x: float(x @ A @ x)  # noqa: E731 — does not broadcast
    wrong = lambda x: x[0] ** 2 + 10 * np.sum(x[1] ** 2)  # noqa: E731 — right shape, wrong values on a grid
    levels = [plot_contours(new_ax(), f, (-2, 2), (-1, 1), resolution=25).levels for f in (vec, loop, wrong)]
    np.testing.assert_allclose(levels[0], levels[1])
    np.testing.assert_allclose(levels[0], levels[2])
    assert len(levels[0]) == 30 and np.isclose(levels[0][0], 0 + 1e-4 * levels[0][-1], rtol=1e-2)


def test_contours_draw_paths_and_minimizer():
    ax = new_ax()
    path = np.array([[1.5, 0.8], [0.5, 0.1], [0.0, 0.0]])
    plot_contours(ax, lambda x: x[0] ** 2 + x[1] ** 2, (-2, 2), (-1, 1), paths=[path], labels=["gd"],
                  x_star=[0.0, 0.0], resolution=20, log_levels=False, levels=5)
    by_label = {ln.get_label(): ln for ln in ax.lines}
    np.testing.assert_allclose(by_label["gd"].get_xdata(), path[:, 0])
    assert by_label["x*"].get_marker() == "*"
    with pytest.raises(ValueError, match=r"paths\[0\]"):
        plot_contours(new_ax(), lambda x: x[0] ** 2, (-1, 1), (-1, 1), paths=[np.zeros(3)], resolution=5)


def test_performance_profile_plot():
    prof = SimpleNamespace(tau=np.array([1.0, 2.0]), rho={"a": np.array([2 / 3, 1.0]),
                                                          "b": np.array([1 / 3, 2 / 3])}, metric="nfev")
    ax = new_ax()
    lines = plot_performance_profile(ax, prof)
    assert [ln.get_label() for ln in lines] == ["a", "b"]
    np.testing.assert_allclose(lines[1].get_xdata(), [1, 2, 4])
    np.testing.assert_allclose(lines[1].get_ydata(), [1 / 3, 2 / 3, 2 / 3])
    assert ax.get_xscale() == "log" and "τ" in ax.get_xlabel()


def test_save_figure_writes_expected_name(tmp_path):
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    path = save_figure(fig, 2, "gd_paths", root=tmp_path)
    assert path == tmp_path / "figures" / "w2_gd_paths.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_keeps_committed_figures_at_smoke_scale(tmp_path, monkeypatch):
    """The test suite runs at smoke scale: the default root must not receive low-resolution figures."""
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    monkeypatch.setenv("OPTM_SCALE", "smoke")
    path = save_figure(fig, 3, "smoke_test")
    assert path == tmp_path / "tmp" / "optimization_methods_figures" / "w3_smoke_test.png" and path.is_file()
    assert not (tmp_path / "figures").exists()
    monkeypatch.setenv("OPTM_SCALE", "laptop")
    assert save_figure(fig, 3, "smoke_test") == tmp_path / "figures" / "w3_smoke_test.png"


@pytest.mark.parametrize("week", [0, 7, "2", 2.0, True])
def test_save_figure_rejects_bad_week(tmp_path, week):
    with pytest.raises(ValueError, match="week"):
        save_figure(Figure(), week, "ok", root=tmp_path)


@pytest.mark.parametrize("what", ["GD_paths", "gd-paths", "", "a b", "../x"])
def test_save_figure_rejects_bad_what(tmp_path, what):
    with pytest.raises(ValueError, match="what"):
        save_figure(Figure(), 1, what, root=tmp_path)
    assert not (tmp_path / "figures").exists()


def test_gap_with_one_f_star_per_run():
    from scipy.optimize import OptimizeResult

    from utils.plotting import convergence_curves
    from utils.result import History

    def run(fun):
        fun = np.asarray(fun, dtype=float)
        z = np.zeros(len(fun))
        return OptimizeResult(history=History(fun=fun, grad_norm=z, step=z, nfev=z.astype(int),
                                              njev=z.astype(int), time=z))

    runs = [run([3.0, 2.0, 1.5]), run([13.0, 11.0, 10.5]), run([5.0, 4.5, 4.25])]
    c = convergence_curves(runs, y="gap", f_star=[1.0, 10.0, 4.0], band=None)
    np.testing.assert_allclose(c.median, [2.0, 1.0, 0.5])            # gaps (2,1,.5), (3,1,.5), (1,.5,.25)
    with pytest.raises(ValueError, match="f_star"):
        convergence_curves(runs, y="gap", f_star=[1.0, 2.0])


def test_iter_axis_uses_recorded_k_of_a_history_kept_every_m_iterations():
    """A stochastic run recorded every m = 7 steps: x='iter' must place row j at k = 7j (and the last, partial
    record at maxiter), not at its row index j; a deterministic History (one row per iterate) keeps k = row."""
    from utils.stochastic import finite_sum_least_squares, stochastic_gradient_descent

    p = finite_sum_least_squares(n=20, d=2, seed=0)
    res = stochastic_gradient_descent(p, eta=0.1 / p.L_max, maxiter=50, record_every=7, seed=0)
    c = convergence_curves(res, x="iter", f_star=p.f_star)
    np.testing.assert_array_equal(c.t, [0, 7, 14, 21, 28, 35, 42, 49, 50])
    np.testing.assert_allclose(c.median, res.history.fun - p.f_star, rtol=0, atol=0)
    c_det = convergence_curves(make_run([3.0, 2.0, 1.5]), x="iter", f_star=1.0)
    np.testing.assert_array_equal(c_det.t, [0, 1, 2])


def test_epochs_axis_is_gradients_computed_over_n():
    """x='epochs' is grads/n: SGD recorded every 5 steps of batch 2 on n = 20 (10 gradients per record = half an
    epoch), and SAGA, whose first record already holds the n gradients of its table (epoch 1 at k = 0)."""
    from utils.stochastic import finite_sum_least_squares, saga, stochastic_gradient_descent

    p = finite_sum_least_squares(n=20, d=2, seed=0)
    sgd = stochastic_gradient_descent(p, eta=0.1 / p.L_max, batch_size=2, maxiter=20, record_every=5, seed=0)
    c = convergence_curves(sgd, x="epochs", f_star=p.f_star)
    np.testing.assert_allclose(c.t, [0.0, 0.5, 1.0, 1.5, 2.0], rtol=1e-15)
    np.testing.assert_allclose(c.t, sgd.history.grads / p.n, rtol=1e-15)
    runs = [saga(p, maxiter=40, record_every=10, seed=s) for s in range(2)]
    c = convergence_curves(runs, x="epochs", f_star=p.f_star)
    np.testing.assert_allclose(c.t, [1.0, 1.5, 2.0, 2.5, 3.0], rtol=1e-15)
    fig = Figure()
    ax = fig.add_subplot()
    plot_convergence(ax, runs, x="epochs", f_star=p.f_star)
    assert ax.get_xlabel() == "epochs (gradients computed / n)"
    with pytest.raises(ValueError, match="epochs"):
        convergence_curves(make_run([3.0, 2.0]), x="epochs", f_star=1.0)
