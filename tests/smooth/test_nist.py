"""NIST StRD parser, model formulas and LRE: every file parses, certified parameters give the certified RSS."""
import re

import numpy as np
import pytest

from utils import nist

NAMES = nist.names()


def test_all_bundled_files_are_found_and_every_one_has_a_model():
    assert len(NAMES) == 22
    assert set(NAMES) == set(nist.MODELS) == set(nist.MODEL_JACOBIANS)


@pytest.mark.parametrize("name", NAMES)
def test_every_file_parses_consistently(name):
    ds = nist.load(name)
    n_text = int(re.search(r"(\d+) Parameters", ds.model_text).group(1))
    assert ds.n_params == n_text == ds.start1.size == ds.start2.size == ds.certified_sd.size
    assert ds.dof == ds.n_obs - ds.n_params
    assert len(ds.x) == ds.n_obs and np.all(np.isfinite(ds.y))
    assert ds.difficulty in nist.DIFFICULTY
    assert "y" in ds.model_text
    # Residual standard deviation² = RSS / dof (both certified; a consistency check on the parse).
    assert ds.residual_sd ** 2 == pytest.approx(ds.rss / ds.dof, rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_certified_parameters_give_the_certified_residual_sum_of_squares(name):
    ds, p = nist.load(name), nist.nist_problem(name)
    r = p.residual(ds.certified)
    rss = float(r @ r)
    if ds.rss < 1e-20:
        # Lanczos1: certified RSS 1.4e-25 lies below what the 11-digit printed parameters reproduce (README).
        assert name == "Lanczos1" and rss < 1e-19
    else:
        assert rss == pytest.approx(ds.rss, rel=1e-9)
    assert p.f(ds.certified) == pytest.approx(p.f_star, rel=1e-9, abs=1e-19)


@pytest.mark.parametrize("name", NAMES)
def test_certified_parameters_are_stationary(name):
    if name == "Lanczos1":
        pytest.skip("Lanczos1's residual at the printed 11-digit parameters is their rounding error (README)")
    ds, p = nist.load(name), nist.nist_problem(name)
    J, r = np.asarray(p.jac(ds.certified)), p.residual(ds.certified)
    # cos∠(r, range J) = ‖Jᵀr‖/(‖J‖‖r‖) vanishes at a stationary point; the 11-digit rounding of the printed
    # parameters leaves up to ~1e-5 where the residual itself is tiny (Lanczos2: data to 6 digits).
    assert np.linalg.norm(J.T @ r) <= 1e-4 * np.linalg.norm(J) * np.linalg.norm(r)


@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_hand_derived_jacobian_matches_finite_differences(name, start):
    # Complex-step differences (Squire & Trapp 1998): Im r(b + ih·e_i)/h has no subtractive cancellation, so
    # h = 1e-20 gives J to rounding even where central differences cannot (Hahn1 near a pole of its model).
    p = nist.nist_problem(name, start=start)
    b = p.x0
    J = np.asarray(p.jac(b))
    assert J.shape == (nist.load(name).n_obs, b.size)
    cs = np.stack([p.residual(b + 1e-20j * e).imag / 1e-20 for e in np.eye(b.size)], axis=1)
    np.testing.assert_allclose(J, cs, rtol=1e-10, atol=1e-12 * np.abs(J).max())
    if name != "Hahn1":       # and ordinary central differences, at their usual accuracy
        h = 1e-6 * np.maximum(np.abs(b), 1e-3)
        fd = np.stack([(p.residual(b + h[i] * e) - p.residual(b - h[i] * e)) / (2 * h[i])
                       for i, e in enumerate(np.eye(b.size))], axis=1)
        np.testing.assert_allclose(J, fd, rtol=1e-5, atol=1e-7 * np.abs(J).max())


def test_mgh09_values_read_exactly():
    ds = nist.load("MGH09")
    np.testing.assert_array_equal(ds.start1, [25, 39, 41.5, 39])
    np.testing.assert_array_equal(ds.start2, [0.25, 0.39, 0.415, 0.39])
    np.testing.assert_array_equal(ds.certified, [1.9280693458e-01, 1.9128232873e-01, 1.2305650693e-01,
                                                 1.3606233068e-01])
    assert ds.certified_sd[1] == 1.9633220911e-01
    assert (ds.rss, ds.residual_sd, ds.dof, ds.n_obs) == (3.0750560385e-04, 6.6279236551e-03, 7, 11)
    assert (ds.y[0], ds.x[0], ds.y[-1], ds.x[-1]) == (1.957e-1, 4.0, 2.46e-2, 6.25e-2)
    assert "b1*(x**2+x*b2) / (x**2+x*b3+b4)" in ds.model_text


def test_difficulty_levels_as_nist_grades_them():
    levels = {n: nist.load(n).difficulty for n in NAMES}
    assert {n for n, d in levels.items() if d == "higher"} == {"MGH09", "Thurber", "BoxBOD"}
    assert levels["Misra1a"] == levels["Lanczos3"] == "lower"
    assert levels["ENSO"] == levels["MGH17"] == levels["Misra1c"] == "average"
    assert [list(levels.values()).count(d) for d in nist.DIFFICULTY] == [8, 11, 3]


def test_nelson_has_two_predictors_and_a_log_response():
    ds, p = nist.load("Nelson"), nist.nist_problem("Nelson")
    assert ds.x.shape == (128, 2)
    b = ds.certified
    np.testing.assert_allclose(p.residual(b), np.log(ds.y) - (b[0] - b[1] * ds.x[:, 0] * np.exp(-b[2] * ds.x[:, 1])))


def test_parse_of_the_text_equals_load_and_start_two():
    from importlib import resources

    text = resources.files("utils").joinpath("data/nist_strd/Misra1a.dat").read_text()
    a, b = nist.parse(text), nist.load("Misra1a")
    assert a.name == "Misra1a" and a.rss == b.rss
    np.testing.assert_array_equal(a.y, b.y)
    p2 = nist.nist_problem("Misra1a", start=2)
    np.testing.assert_array_equal(p2.x0, b.start2)
    assert p2.info["start"] == 2 and nist.nist_problem("Misra1a").info["start"] == 1


def test_lre_scores_digits_as_nist_does():
    assert nist.lre(1.0, 1.0) == 11.0
    assert float(nist.lre(1.0001, 1.0)) == pytest.approx(4.0)
    assert float(nist.lre(2.0e-5, 1.0e-5)) == 0.0                # 100% wrong: clipped at 0
    assert float(nist.lre(np.nan, 1.0)) == 0.0 and float(nist.lre(np.inf, 1.0)) == 0.0
    assert float(nist.lre(1e-3, 0.0)) == pytest.approx(3.0)       # certified zero: absolute error
    np.testing.assert_allclose(nist.lre([1.1, 1.01], [1.0, 1.0], digits=15), [1.0, 2.0], rtol=1e-9)


@pytest.mark.parametrize("kwargs", [{"name": "Nope"}, {"name": "MGH09", "start": 3}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="start" if "start" in kwargs else "name"):
        nist.nist_problem(**kwargs)
    if "start" not in kwargs:
        with pytest.raises(ValueError, match="name"):
            nist.load(kwargs["name"])
