"""Exercise self-checks (utils.checks.check_answer / check_function in the week notebooks) are proved by the
worked solutions and can fail: every check in an exercise notebook appears, with the same name and token, in its
solution notebook (which CI executes, so the reference is right), and each token rejects a clearly wrong answer
under the tolerance the notebook uses."""
import ast

import nbformat
import numpy as np
import pytest

from tools import notebooks as nbt
from utils.checks import CheckFailed, _decode, check_answer

ROOT = nbt.ROOT
EXERCISE_NOTEBOOKS = [p for p in nbt.all_notebooks() if p.relative_to(ROOT).parts[0] != "solutions"]
CHECKS = {"check_answer": 2, "check_function": 3}          # name of the helper -> position of the token argument


def solution_of(path):
    return ROOT / "solutions" / f"{path.parent.name.split('_')[0]}_{path.stem}.ipynb"


def self_checks(path):
    """(name, token, rtol, atol) of every self-check call with literal arguments in the notebook's code cells."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or not any(k in cell.source for k in CHECKS):
            continue
        tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fname = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if fname not in CHECKS:
                continue
            args = node.args
            pos = CHECKS[fname]
            assert len(args) > pos and all(isinstance(a, ast.Constant) for a in (args[0], args[pos])), (
                f"{path.name}: {fname} needs its name and token as literal strings (line {node.lineno})")
            kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("rtol", "atol")}
            found.append((args[0].value, args[pos].value, kw.get("rtol", 1e-6), kw.get("atol", 0.0)))
    return found


WITH_CHECKS = [p for p in EXERCISE_NOTEBOOKS if self_checks(p)]


def test_the_week_notebooks_have_self_checks():
    if not WITH_CHECKS:
        pytest.skip("no exercise notebook has self-checks yet")
    assert all(solution_of(p).exists() for p in WITH_CHECKS)


@pytest.mark.parametrize("path", WITH_CHECKS, ids=[p.relative_to(ROOT).as_posix() for p in WITH_CHECKS])
def test_every_self_check_is_proved_by_the_solution(path):
    ours = self_checks(path)
    names = [n for n, *_ in ours]
    assert len(names) == len(set(names)), f"duplicate check names in {path.name}"
    theirs = set(self_checks(solution_of(path)))
    missing = [n for n, t, *tol in ours if (n, t, *tol) not in theirs]
    assert not missing, f"checks not called with the same name, token and tolerance in the solution: {missing}"


@pytest.mark.parametrize("path", WITH_CHECKS, ids=[p.relative_to(ROOT).as_posix() for p in WITH_CHECKS])
def test_every_self_check_rejects_a_wrong_answer(path, capsys):
    for name, token, rtol, atol in self_checks(path):
        if token.startswith("txt1:"):
            wrong = "an answer no exercise expects"
        else:
            ref = _decode(name, token)
            wrong = ref + np.sign(ref + 0.5) * (2 * atol + 2 * rtol * np.abs(ref) + 0.5 * np.abs(ref) + 1.0)
        with pytest.raises(CheckFailed):
            check_answer(name, wrong, token, rtol=rtol, atol=atol)
        check_answer(name, None, token)
        assert f"[TODO] {name}" in capsys.readouterr().out
