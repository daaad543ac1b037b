"""Checks a notebook makes where it states a number, and self-checks for the exercises.

Claims (:func:`check_close`, :func:`check_true`): ``[PASS] name`` when true, an error with the values if not.
nbval executes every notebook, so a notebook whose story stopped being true fails CI at the cell that says it.

Exercises (:func:`check_answer`, :func:`check_function`): a student's answer is compared with a stored
*token* (:func:`answer_token`), not with the answer in clear text. A numeric token holds the reference
scrambled with a key derived from the exercise's name, so the comparison can use a tolerance; a text token
(a choice, a word) holds only a SHA-256 digest. An unanswered exercise (``None`` or ``...``) prints ``[TODO]``;
a right answer prints ``[PASS]``; a wrong one raises :class:`CheckFailed` with a hint and never with the
reference. The worked solutions call the same checks, so CI proves every token right. The scrambling keeps
answers out of sight, it is not a secret: anyone can decode a token, and the solutions are in ``solutions/``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import zlib

import numpy as np

__all__ = ["CheckFailed", "check_close", "check_true", "answer_token", "check_answer", "check_function"]


class CheckFailed(AssertionError):
    """A numeric claim made in a notebook no longer holds."""


def check_close(name: str, actual, expected, *, rtol: float = 1e-7, atol: float = 0.0) -> None:
    """Pass when ``|actual − expected| ≤ atol + rtol·|expected|`` elementwise (NumPy's ``allclose`` rule).

    >>> check_close("one third", 1 / 3, 0.3333333333, rtol=1e-9)
    [PASS] one third
    """
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape and a.size != 1 and e.size != 1:
        raise CheckFailed(f"[FAIL] {name}: shapes differ, actual {a.shape} vs expected {e.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=False):
        err = np.max(np.abs(a - e))
        raise CheckFailed(f"[FAIL] {name}: actual {_short(a)} vs expected {_short(e)} "
                          f"(max abs error {err:.3g}, rtol={rtol:g}, atol={atol:g})")
    print(f"[PASS] {name}")


def check_true(name: str, condition, detail: str = "") -> None:
    """Pass when ``condition`` is true; on failure the message carries ``detail`` (put the values there).

    >>> check_true("3 < 4", 3 < 4)
    [PASS] 3 < 4
    """
    if not bool(condition):
        raise CheckFailed(f"[FAIL] {name}" + (f": {detail}" if detail else ""))
    print(f"[PASS] {name}")


def _flat(out) -> np.ndarray:
    if isinstance(out, tuple):
        return np.concatenate([np.ravel(np.asarray(part, dtype=float)) for part in out])
    return np.asarray(out, dtype=float)


def _short(a: np.ndarray) -> str:
    return np.array2string(a, precision=10, threshold=8)


# ----------------------------------------------------------------------------------------- exercise self-checks
_NUM, _TXT = "num1:", "txt1:"


def _keystream(name: str, n: int) -> bytes:
    out, block = b"", 0
    while len(out) < n:
        out += hashlib.sha256(f"{name}\x00{block}".encode()).digest()
        block += 1
    return out[:n]


def _text_digest(name: str, value: str) -> str:
    normal = " ".join(str(value).strip().lower().split())
    return hashlib.sha256(f"{name}\x00{normal}".encode()).hexdigest()


def _unanswered(value) -> bool:
    return value is None or value is Ellipsis


def answer_token(name: str, value) -> str:
    """The token that :func:`check_answer` compares ``value`` with; ``name`` must be the exercise's check name.

    Numbers and arrays give a numeric token (compared with a tolerance); a string gives a text token (compared
    exactly, after lower-casing and collapsing white space).

    >>> token = answer_token("Ex. 1: L", 4.0)
    >>> token.startswith("num1:") and "4.0" not in token
    True
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string (the exercise's check name)")
    if isinstance(value, str):
        return _TXT + _text_digest(name, value)
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError("a reference answer must be finite")
    raw = zlib.compress(json.dumps({"shape": list(a.shape), "data": a.ravel().tolist()}).encode())
    scrambled = bytes(x ^ k for x, k in zip(raw, _keystream(name, len(raw))))
    return _NUM + base64.urlsafe_b64encode(scrambled).decode()


def _decode(name: str, token: str) -> np.ndarray:
    scrambled = base64.urlsafe_b64decode(token[len(_NUM):].encode())
    try:
        raw = zlib.decompress(bytes(x ^ k for x, k in zip(scrambled, _keystream(name, len(scrambled)))))
    except zlib.error:
        raise ValueError(f"the token does not belong to the check named {name!r}") from None
    obj = json.loads(raw)
    return np.asarray(obj["data"], dtype=float).reshape(obj["shape"])


def check_answer(name: str, value, token: str, *, rtol: float = 1e-6, atol: float = 0.0, hint: str = "") -> None:
    """Check a student's ``value`` against ``token`` (from :func:`answer_token`): prints ``[PASS]`` when right and
    ``[TODO]`` when unanswered (``None`` / ``...``); raises :class:`CheckFailed` with ``hint`` when wrong.

    Numbers and arrays pass when ``|value − ref| ≤ atol + rtol·|ref|`` elementwise and the shapes agree.

    >>> token = answer_token("Ex. 1: L", 4.0)
    >>> check_answer("Ex. 1: L", 4.0 + 1e-9, token)
    [PASS] Ex. 1: L
    >>> check_answer("Ex. 1: L", None, token)
    [TODO] Ex. 1: L — not answered yet
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    if _unanswered(value):
        print(f"[TODO] {name} — not answered yet")
        return
    why = f" Hint: {hint}" if hint else ""
    if token.startswith(_TXT):
        if not isinstance(value, str):
            raise CheckFailed(f"[FAIL] {name}: the answer is a word or a choice (a string), got {type(value).__name__}."
                              + why)
        if _text_digest(name, value) != token[len(_TXT):]:
            raise CheckFailed(f"[FAIL] {name}: {value!r} is not the expected answer.{why}")
    elif token.startswith(_NUM):
        ref = _decode(name, token)
        try:
            a = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"[FAIL] {name}: the answer must be a number or an array of numbers, "
                              f"got {type(value).__name__}.{why}") from None
        if a.shape != ref.shape:
            raise CheckFailed(f"[FAIL] {name}: the answer should have shape {ref.shape}, got {a.shape}.{why}")
        if not np.allclose(a, ref, rtol=rtol, atol=atol):
            raise CheckFailed(f"[FAIL] {name}: {_short(a)} is not within rtol={rtol:g}, atol={atol:g} of the "
                              f"reference.{why}")
    else:
        raise ValueError(f"not an answer token: {token[:12]!r}… (make one with utils.checks.answer_token)")
    print(f"[PASS] {name}")


def check_function(name: str, fn, inputs, token: str, *, rtol: float = 1e-6, atol: float = 0.0,
                   hint: str = "") -> None:
    """Check a student's function by its values: ``fn(x)`` for every ``x`` in ``inputs`` (the test points, in
    clear) against ``token`` = ``answer_token(name, [ref(x) for x in inputs])``. A tuple ``x`` is unpacked into
    positional arguments, ``fn(*x)``; a tuple result (e.g. ``(x_star, theta)``) is flattened and concatenated. Same
    outcomes as :func:`check_answer`; an exception inside ``fn`` is reported as a failure.

    >>> pts = [0.0, 1.0, 2.0]
    >>> token = answer_token("Ex. 2: f", [x ** 2 for x in pts])
    >>> check_function("Ex. 2: f", lambda x: x * x, pts, token)
    [PASS] Ex. 2: f
    """
    if _unanswered(fn):
        print(f"[TODO] {name} — not answered yet")
        return
    if not callable(fn):
        raise CheckFailed(f"[FAIL] {name}: the answer must be a function, got {type(fn).__name__}.")
    try:
        values = [_flat(fn(*x) if isinstance(x, tuple) else fn(x)) for x in inputs]
    except Exception as err:  # a student's bug, reported as a failed check with its cause
        raise CheckFailed(f"[FAIL] {name}: the function raised {type(err).__name__}: {err}") from err
    check_answer(name, np.stack(values) if values else np.zeros(0), token, rtol=rtol, atol=atol, hint=hint)
