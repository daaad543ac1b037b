r"""NIST StRD nonlinear regression: the certified reference problems of nonlinear least squares.

NIST's Statistical Reference Datasets (https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml; public
domain) give, for each model, data, two official starting points (Start 1 far from the solution, Start 2
near it) and certified values accurate to about 11 significant digits. A solver is scored by the log
relative error (LRE) of its answer, the number of correct significant digits (McCullough 1998, "Assessing
the reliability of statistical software", *The American Statistician* 52(4):358–366).

* :func:`names` — the bundled datasets; :func:`load` ``(name) -> NISTDataset`` reads one through
  ``importlib.resources`` (the files ship with the package); :func:`parse` ``(text) -> NISTDataset``.
* :data:`MODELS` — name → model function ``model(b, x)`` (array-namespace generic: NumPy or JAX).
* :func:`nist_problem` ``(name, start=1) -> NLSProblem`` with r(b) = y − model(b, x) (Nelson: log y − model)
  and J = −∂model/∂b from :data:`MODEL_JACOBIANS` (derived by hand; NumPy or JAX); ``x_star`` = certified
  parameters, ``f_star`` = ½·RSS.
* :func:`lre` ``(estimate, certified, digits=11)`` = −log₁₀(|est − cert|/|cert|) clipped to [0, digits].
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .least_squares import NLSProblem
from ..core.problems import xp

__all__ = ["NISTDataset", "MODELS", "MODEL_JACOBIANS", "names", "load", "parse", "nist_problem", "lre"]

_FOLDER = "data/nist_strd"
DIFFICULTY = ("lower", "average", "higher")


@dataclass(frozen=True, eq=False)
class NISTDataset:
    """One StRD file. ``x`` has shape (m,) (one predictor) or (m, p); parameters b1…bn are 0-indexed here."""

    name: str
    model_text: str
    difficulty: str           # "lower" | "average" | "higher", as NIST grades it
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray     # certified parameter values
    certified_sd: np.ndarray  # their standard deviations
    rss: float                # certified residual sum of squares
    residual_sd: float        # certified residual standard deviation
    dof: int                  # degrees of freedom
    x: np.ndarray
    y: np.ndarray

    @property
    def n_params(self) -> int:
        return self.certified.size

    @property
    def n_obs(self) -> int:
        return self.y.size


def _num(pattern: str, text: str) -> float:
    m = re.search(pattern + r"\s*:?\s*([-+0-9.Ee]+)", text)
    if m is None:
        raise ValueError(f"StRD file: no {pattern!r} found")
    return float(m.group(1))


def parse(text: str, name: str | None = None) -> NISTDataset:
    """Parse the text of a NIST StRD nonlinear-regression ``.dat`` file."""
    lines = text.splitlines()
    name = name or re.search(r"Dataset Name:\s*(\S+)", text).group(1)
    lo, hi = map(int, re.search(r"Data\s+\(lines\s+(\d+)\s+to\s+(\d+)\)", text).groups())
    data = np.array([[float(v) for v in ln.split()] for ln in lines[lo - 1:hi] if ln.strip()])
    params = [tuple(map(float, m.groups()[1:])) for m in
              (re.match(r"\s*b(\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", ln) for ln in lines) if m]
    if not params:
        raise ValueError(f"StRD file {name!r}: no parameter lines 'bi = start1 start2 certified sd'")
    s1, s2, cert, sd = (np.array(c) for c in zip(*params))
    i0 = next(i for i, ln in enumerate(lines) if ln.startswith("Model:"))
    i1 = next(i for i, ln in enumerate(lines) if re.search(r"Starting [Vv]alues\s+Certified", ln))
    model = "\n".join(ln.strip() for ln in lines[i0 + 1:i1] if ln.strip())
    level = re.search(r"(Lower|Average|Higher) Level of Difficulty", text).group(1).lower()
    y, x = data[:, 0], data[:, 1] if data.shape[1] == 2 else data[:, 1:]
    for arr in (s1, s2, cert, sd, x, y):
        arr.setflags(write=False)
    if y.size != int(_num("Number of Observations", text)):
        raise ValueError(f"StRD file {name!r}: read {y.size} observations, the header says otherwise")
    return NISTDataset(name, model, level, s1, s2, cert, sd, _num("Residual Sum of Squares", text),
                       _num("Residual Standard Deviation", text), int(_num("Degrees of Freedom", text)), x, y)


def names() -> list[str]:
    """The bundled dataset names, sorted."""
    folder = resources.files("utils").joinpath(_FOLDER)
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".dat"))


@lru_cache(maxsize=None)
def load(name: str) -> NISTDataset:
    """Read and parse a bundled dataset (through ``importlib.resources``; no file system path assumed)."""
    if name not in names():
        raise ValueError(f"name={name!r} is not a bundled StRD dataset; choose from {names()}")
    return parse(resources.files("utils").joinpath(_FOLDER, f"{name}.dat").read_text(encoding="ascii"), name)


# ------------------------------------------------------------------------------------------------- the models
def _exp(b):
    return xp(b).exp


def _rat33(b, x):            # (b1 + b2 x + b3 x² + b4 x³) / (1 + b5 x + b6 x² + b7 x³)
    return (b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3) / (1 + b[4] * x + b[5] * x**2 + b[6] * x**3)


def _lanczos(b, x):
    e = _exp(b)
    return b[0] * e(-b[1] * x) + b[2] * e(-b[3] * x) + b[4] * e(-b[5] * x)


def _gauss(b, x):
    e = _exp(b)
    return b[0] * e(-b[1] * x) + b[2] * e(-(x - b[3])**2 / b[4]**2) + b[5] * e(-(x - b[6])**2 / b[7]**2)


def _enso(b, x):
    ns, w = xp(b), 2 * math.pi * x
    return (b[0] + b[1] * ns.cos(w / 12) + b[2] * ns.sin(w / 12) + b[4] * ns.cos(w / b[3])
            + b[5] * ns.sin(w / b[3]) + b[7] * ns.cos(w / b[6]) + b[8] * ns.sin(w / b[6]))


#: name → model(b, x), transcribed from each file's "Model:" text (b1 ↦ b[0]). Nelson models log y.
MODELS = {
    "Misra1a": lambda b, x: b[0] * (1 - _exp(b)(-b[1] * x)),
    "Chwirut1": lambda b, x: _exp(b)(-b[0] * x) / (b[1] + b[2] * x),
    "Chwirut2": lambda b, x: _exp(b)(-b[0] * x) / (b[1] + b[2] * x),
    "Lanczos3": _lanczos, "Lanczos1": _lanczos, "Lanczos2": _lanczos,
    "Gauss1": _gauss, "Gauss2": _gauss, "Gauss3": _gauss,
    "DanWood": lambda b, x: b[0] * x ** b[1],
    "Misra1b": lambda b, x: b[0] * (1 - (1 + b[1] * x / 2) ** (-2)),
    "Kirby2": lambda b, x: (b[0] + b[1] * x + b[2] * x**2) / (1 + b[3] * x + b[4] * x**2),
    "Hahn1": _rat33, "Thurber": _rat33,
    "Nelson": lambda b, x: b[0] - b[1] * x[:, 0] * _exp(b)(-b[2] * x[:, 1]),
    "MGH17": lambda b, x: b[0] + b[1] * _exp(b)(-x * b[3]) + b[2] * _exp(b)(-x * b[4]),
    "Misra1c": lambda b, x: b[0] * (1 - (1 + 2 * b[1] * x) ** (-0.5)),
    "Misra1d": lambda b, x: b[0] * b[1] * x * ((1 + b[1] * x) ** (-1)),
    "Roszman1": lambda b, x: b[0] - b[1] * x - xp(b).arctan(b[2] / (x - b[3])) / math.pi,
    "ENSO": _enso,
    "MGH09": lambda b, x: b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3]),
    "BoxBOD": lambda b, x: b[0] * (1 - _exp(b)(-b[1] * x)),
}
_LOG_RESPONSE = {"Nelson"}


# ------------------------------------------------------------------------- model derivatives ∂model/∂b, by hand
def _cols(b, *cols):
    ns = xp(b)
    ref = next(c for c in cols if np.ndim(c))
    return ns.stack([c + 0.0 * ref for c in cols], axis=1)       # constant columns broadcast to length m


def _d_exp1(b, x):           # b1 (1 − e^{−b2 x})
    e = _exp(b)(-b[1] * x)
    return _cols(b, 1 - e, b[0] * x * e)


def _d_chwirut(b, x):        # e^{−b1 x} / (b2 + b3 x)
    e, u = _exp(b)(-b[0] * x), b[1] + b[2] * x
    return _cols(b, -x * e / u, -e / u**2, -x * e / u**2)


def _d_lanczos(b, x):
    e = _exp(b)
    e1, e2, e3 = e(-b[1] * x), e(-b[3] * x), e(-b[5] * x)
    return _cols(b, e1, -b[0] * x * e1, e2, -b[2] * x * e2, e3, -b[4] * x * e3)


def _d_gauss(b, x):
    e = _exp(b)
    e1, g1, g2 = e(-b[1] * x), e(-(x - b[3])**2 / b[4]**2), e(-(x - b[6])**2 / b[7]**2)
    return _cols(b, e1, -b[0] * x * e1, g1, b[2] * g1 * 2 * (x - b[3]) / b[4]**2,
                 b[2] * g1 * 2 * (x - b[3])**2 / b[4]**3, g2, b[5] * g2 * 2 * (x - b[6]) / b[7]**2,
                 b[5] * g2 * 2 * (x - b[6])**2 / b[7]**3)


def _d_rat(b, x, p):         # (Σ_{k≤p} b_k x^k) / (1 + Σ_{k=1..p} b_{p+k} x^k)
    num = sum(b[k] * x**k for k in range(p + 1))
    den = 1 + sum(b[p + k] * x**k for k in range(1, p + 1))
    return _cols(b, *[x**k / den for k in range(p + 1)], *[-num * x**k / den**2 for k in range(1, p + 1)])


def _d_enso(b, x):
    ns, w = xp(b), 2 * math.pi * x
    c4, s4, c7, s7 = ns.cos(w / b[3]), ns.sin(w / b[3]), ns.cos(w / b[6]), ns.sin(w / b[6])
    return _cols(b, 1.0, np.cos(w / 12), np.sin(w / 12), (b[4] * s4 - b[5] * c4) * w / b[3]**2, c4, s4,
                 (b[7] * s7 - b[8] * c7) * w / b[6]**2, c7, s7)


def _d_mgh09(b, x):
    num, den = x**2 + x * b[1], x**2 + x * b[2] + b[3]
    return _cols(b, num / den, b[0] * x / den, -b[0] * num * x / den**2, -b[0] * num / den**2)


def _d_roszman(b, x):
    t = b[2] / (x - b[3])
    q = -1 / (math.pi * (1 + t**2))
    return _cols(b, 1.0, -x, q / (x - b[3]), q * b[2] / (x - b[3])**2)


def _d_nelson(b, x):
    e = _exp(b)(-b[2] * x[:, 1])
    return _cols(b, 1.0, -x[:, 0] * e, b[1] * x[:, 0] * x[:, 1] * e)


def _d_mgh17(b, x):
    e3, e4 = _exp(b)(-x * b[3]), _exp(b)(-x * b[4])
    return _cols(b, 1.0, e3, e4, -b[1] * x * e3, -b[2] * x * e4)


#: name → ∂model/∂b, shape (m, n), derived by hand (tests compare them with finite differences).
MODEL_JACOBIANS = {
    "Misra1a": _d_exp1, "BoxBOD": _d_exp1, "Chwirut1": _d_chwirut, "Chwirut2": _d_chwirut,
    "Lanczos1": _d_lanczos, "Lanczos2": _d_lanczos, "Lanczos3": _d_lanczos,
    "Gauss1": _d_gauss, "Gauss2": _d_gauss, "Gauss3": _d_gauss,
    "DanWood": lambda b, x: _cols(b, x ** b[1], b[0] * x ** b[1] * np.log(x)),
    "Misra1b": lambda b, x: _cols(b, 1 - (1 + b[1] * x / 2) ** (-2), b[0] * x * (1 + b[1] * x / 2) ** (-3)),
    "Misra1c": lambda b, x: _cols(b, 1 - (1 + 2 * b[1] * x) ** (-0.5), b[0] * x * (1 + 2 * b[1] * x) ** (-1.5)),
    "Misra1d": lambda b, x: _cols(b, b[1] * x / (1 + b[1] * x), b[0] * x / (1 + b[1] * x) ** 2),
    "Kirby2": lambda b, x: _d_rat(b, x, 2), "Hahn1": lambda b, x: _d_rat(b, x, 3),
    "Thurber": lambda b, x: _d_rat(b, x, 3), "Nelson": _d_nelson, "MGH17": _d_mgh17,
    "Roszman1": _d_roszman, "ENSO": _d_enso, "MGH09": _d_mgh09,
}


@lru_cache(maxsize=None)
def _problem(name: str, start: int) -> NLSProblem:
    ds = load(name)
    model, dmodel = MODELS[name], MODEL_JACOBIANS[name]
    x = ds.x
    y = np.log(ds.y) if name in _LOG_RESPONSE else ds.y
    x.setflags(write=False)

    def residual(b):
        return y - model(b, x)

    def jac(b):
        return -dmodel(b, x)

    return NLSProblem(name=name, residual=residual, jac=jac, x0=ds.start1 if start == 1 else ds.start2,
                      x_star=ds.certified, f_star=0.5 * ds.rss,
                      info={"dataset": ds, "difficulty": ds.difficulty, "start": start})


def nist_problem(name: str, start: int = 1) -> NLSProblem:
    """The StRD problem ``name`` as an :class:`NLSProblem` from the official ``start`` (1: far, 2: near).

    The same record is returned for the same (name, start), so the compiled JAX drivers reuse their loop.
    """
    if start not in (1, 2):
        raise ValueError(f"start must be 1 or 2, got {start!r}")
    if name not in MODELS:
        raise ValueError(f"name={name!r} has no model; known: {sorted(MODELS)}")
    return _problem(name, start)


def lre(estimate, certified, digits: float = 11.0):
    """Log relative error −log₁₀(|q − c|/|c|) (−log₁₀|q − c| where c = 0), clipped to [0, ``digits``]:
    the number of significant digits of q that agree with c. Non-finite estimates score 0. Elementwise.

    >>> round(float(lre(1.2345678e3, 1.2345679e3)), 2)      # 7 digits agree
    7.09
    """
    q, c = np.asarray(estimate, dtype=float), np.asarray(certified, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(q - c) / np.where(c == 0, 1.0, np.abs(c))
        out = np.where(err == 0, digits, -np.log10(err))
    return np.clip(np.where(np.isfinite(q), out, 0.0), 0.0, digits)
