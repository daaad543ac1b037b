"""Tests of utils.checks: notebook claims, and the exercise self-checks (a wrong answer must fail)."""
import numpy as np
import pytest

from utils import checks
from utils.checks import CheckFailed, answer_token, check_answer, check_close, check_function, check_true


def test_claims_pass_and_fail():
    check_close("close", 1.0 + 1e-12, 1.0, rtol=1e-9)
    check_true("true", True)
    with pytest.raises(CheckFailed, match="max abs error"):
        check_close("far", 1.1, 1.0, rtol=1e-3)
    with pytest.raises(CheckFailed, match="detail"):
        check_true("false", False, "detail")


@pytest.mark.parametrize("ref", [4.0, -3.25e-7, [1.0, 2.0, 3.0], np.arange(6.0).reshape(2, 3), 17])
def test_numeric_answer_round_trip(ref, capsys):
    token = answer_token("Ex. 1", ref)
    check_answer("Ex. 1", ref, token)
    assert "[PASS] Ex. 1" in capsys.readouterr().out


def test_token_hides_the_answer():
    ref = np.array([3.14159265, 2.71828183])
    token = answer_token("Ex. 3: constants", ref)
    for text in ("3.14159265", "2.71828183", "3.14", "2.718"):
        assert text not in token
    txt = answer_token("Ex. 4: which method", "Nesterov")
    assert "nesterov" not in txt.lower()


def test_wrong_numeric_answers_fail_with_the_hint_and_without_the_reference():
    token = answer_token("Ex. 1: rate", 0.5)
    with pytest.raises(CheckFailed, match="Hint: compare with the lecture") as err:
        check_answer("Ex. 1: rate", 0.51, token, rtol=1e-3, hint="compare with the lecture")
    assert "0.5 " not in str(err.value) and "0.50" not in str(err.value)
    # the tolerance is the one asked for: 0.51 passes at rtol = 0.05, fails at 0.01
    check_answer("Ex. 1: rate", 0.51, token, rtol=0.05)
    with pytest.raises(CheckFailed):
        check_answer("Ex. 1: rate", 0.51, token, rtol=0.01)
    with pytest.raises(CheckFailed, match="shape"):
        check_answer("Ex. 1: rate", [0.5, 0.5], token)
    with pytest.raises(CheckFailed, match="number"):
        check_answer("Ex. 1: rate", "half", token)
    with pytest.raises(CheckFailed):
        check_answer("Ex. 1: rate", np.nan, token)


def test_array_answer_fails_on_one_wrong_entry():
    ref = np.linspace(0.0, 1.0, 5)
    token = answer_token("Ex. 2: x*", ref)
    wrong = ref.copy()
    wrong[3] += 1e-3
    with pytest.raises(CheckFailed):
        check_answer("Ex. 2: x*", wrong, token, rtol=1e-6, atol=1e-8)
    check_answer("Ex. 2: x*", ref + 1e-10, token, rtol=1e-6, atol=1e-8)


def test_text_answers_are_normalized_and_exact():
    token = answer_token("Ex. 5: method", "Heavy ball")
    check_answer("Ex. 5: method", "  heavy   BALL ", token)
    with pytest.raises(CheckFailed, match="not the expected answer"):
        check_answer("Ex. 5: method", "Nesterov", token)
    with pytest.raises(CheckFailed, match="string"):
        check_answer("Ex. 5: method", 3.0, token)


def test_unanswered_prints_todo_and_does_not_raise(capsys):
    token = answer_token("Ex. 6", 1.0)
    check_answer("Ex. 6", None, token)
    check_answer("Ex. 6", ..., token)
    check_function("Ex. 6", None, [0.0], token)
    out = capsys.readouterr().out
    assert out.count("[TODO] Ex. 6") == 3 and "[PASS]" not in out


def test_token_is_bound_to_its_check_name():
    token = answer_token("Ex. 1", 2.0)
    with pytest.raises((ValueError, CheckFailed)):
        check_answer("Ex. 2", 2.0, token)
    txt = answer_token("Ex. 1", "yes")
    with pytest.raises(CheckFailed):
        check_answer("Ex. 2", "yes", txt)


def test_check_function_by_values():
    pts = [np.array([0.0, 1.0]), np.array([2.0, -1.0]), np.array([0.5, 0.5])]
    token = answer_token("Ex. 7: grad", [2 * p for p in pts])
    check_function("Ex. 7: grad", lambda p: 2 * p, pts, token)
    with pytest.raises(CheckFailed):
        check_function("Ex. 7: grad", lambda p: p, pts, token)
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check_function("Ex. 7: grad", lambda p: 1 / 0, pts, token)
    with pytest.raises(CheckFailed, match="function"):
        check_function("Ex. 7: grad", 3.0, pts, token)


def test_bad_input():
    with pytest.raises(ValueError):
        answer_token("", 1.0)
    with pytest.raises(ValueError):
        answer_token("Ex.", np.inf)
    with pytest.raises(ValueError):
        check_answer("Ex.", 1.0, "plain text, not a token")
    with pytest.raises(ValueError):
        check_answer("Ex.", 1.0, answer_token("Ex.", 1.0), rtol=-1.0)
    assert set(checks.__all__) >= {"answer_token", "check_answer", "check_function"}


def test_check_function_unpacks_tuple_inputs_and_flattens_tuple_outputs():
    def proj(v, r):                       # (x*, θ) of the projection onto the ℓ1 ball, a small closed form case
        return (v * min(1.0, r / np.abs(v).sum()), 0.0)
    pts = [(np.array([0.5, 0.25]), 1.0), (np.array([0.1, 0.2]), 1.0)]
    token = answer_token("Ex. 8", [np.r_[proj(*p)[0], proj(*p)[1]] for p in pts])
    check_function("Ex. 8", proj, pts, token)
    with pytest.raises(CheckFailed):
        check_function("Ex. 8", lambda v, r: (v, 1.0), pts, token)
