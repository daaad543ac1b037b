"""Checks a notebook makes where it states a number: ``[PASS] name`` when true, an error with the values if not.

nbval executes every notebook, so a notebook whose story stopped being true fails CI at the cell that says it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["CheckFailed", "check_close", "check_true"]


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


def _short(a: np.ndarray) -> str:
    return np.array2string(a, precision=10, threshold=8)
