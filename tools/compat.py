"""Compatibility check: the course on the package versions Google Colab ships (``requirements-colab.txt``).

    python -m tools.compat [--python 3.13] [--keep] [--no-torch] [--workers 2]

1. a fresh virtual environment with pyenv's Python (the ``# python:`` line of requirements-colab.txt unless
   ``--python``), in a temporary folder, or in ``.compat-venv/`` with ``--keep`` (kept for inspection);
2. ``pip install -r requirements-colab.txt`` together with the test harness at the versions of requirements.txt;
3. the course package as the notebooks' setup cell installs it on Colab: ``pip install --no-deps`` of this
   checkout, then only the setup cell's packages that are missing, then the packages a notebook's own Colab-only
   cell installs (found in the notebooks);
4. the unit tests and doctests (``pytest tests utils``);
5. every notebook's first code cells (setup, sizes, imports), each in a fresh kernel started in the notebook's
   folder, so that ``import utils`` finds the installed package as on Colab;
6. one notebook per week, executed whole at smoke scale: the week's lab, or its last notebook if it has none;
7. a summary: pass counts, the versions installed, and every deviation from requirements-colab.txt.

Week folders and notebooks are discovered (``week<N>_*/``, ``solutions/``), so a new week joins the check.
Exit status 0 when every step passed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.notebooks import SETUP_CELL, all_notebooks, code_sources

ROOT = Path(__file__).resolve().parents[1]
COLAB_REQUIREMENTS = ROOT / "requirements-colab.txt"
PINNED_REQUIREMENTS = ROOT / "requirements.txt"
KEEP_DIR = ROOT / ".compat-venv"
HARNESS = ("pytest", "pytest-xdist", "nbval", "nbclient", "nbformat", "ipykernel")   # versions: requirements.txt
FIRST_CELLS = 3                  # setup cell, sizes cell, imports cell
REPORTED = ("numpy", "scipy", "jax", "jaxlib", "optax", "torch", "cvxpy", "clarabel", "scikit-learn",
            "matplotlib", "tqdm", "mlxtend", "skfolio", "PySCIPOpt")
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:(==|>=|<=|~=|>|<)\s*([^\s;#,]+))?")


@dataclass
class ColabSpec:
    """What requirements-colab.txt says: the date, the Python, the pins and the unpinned names."""
    date: str
    python: str
    pins: dict = field(default_factory=dict)          # name -> version (== lines)
    unpinned: list = field(default_factory=list)       # names without a version
    requirements: list = field(default_factory=list)   # every requirement line, as written


def canonical(name: str) -> str:
    """PEP 503 normalized name (``scikit_learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(text: str) -> ColabSpec:
    """Parse requirements-colab.txt: a dated first comment line, a ``# python: X.Y`` line, requirement lines.

    >>> s = parse_requirements("# Colab as of 2026-08 (source: x)\\n# python: 3.13\\nnumpy==2.1.3  # pin\\nscipy\\n")
    >>> s.date, s.python, s.pins, s.unpinned
    ('2026-08', '3.13', {'numpy': '2.1.3'}, ['scipy'])
    """
    lines = text.splitlines()
    comments = [ln for ln in lines if ln.lstrip().startswith("#")]
    date = re.search(r"\b(\d{4}-\d{2}(?:-\d{2})?)\b", comments[0]) if comments else None
    if date is None:
        raise ValueError("requirements-colab.txt: the first comment line must give the date (YYYY-MM) and source")
    python = next((m.group(1) for ln in comments if (m := re.match(r"#\s*python:\s*(\d+\.\d+)\s*$", ln.strip()))),
                  None)
    if python is None:
        raise ValueError("requirements-colab.txt: a line '# python: X.Y' must give Colab's Python")
    spec = ColabSpec(date=date.group(1), python=python)
    for ln in lines:
        body = ln.split("#", 1)[0].strip()
        if not body:
            continue
        m = _REQ.match(body)
        if m is None or (m.group(2) not in (None, "==")):
            raise ValueError(f"requirements-colab.txt: expected 'name==version' or 'name', got {ln!r}")
        spec.requirements.append(body)
        if m.group(2) == "==":
            spec.pins[canonical(m.group(1))] = m.group(3)
        else:
            spec.unpinned.append(canonical(m.group(1)))
    return spec


def pinned_versions(text: str) -> dict:
    """``name -> version`` of the ``==`` lines of a requirements file (requirements.txt)."""
    out = {}
    for ln in text.splitlines():
        m = _REQ.match(ln.split("#", 1)[0])
        if m and m.group(2) == "==":
            out[canonical(m.group(1))] = m.group(3)
    return out


def setup_cell_packages(cell: str = SETUP_CELL) -> list:
    """The packages the setup cell installs on Colab when they are missing (its ``for m in (...)`` tuple)."""
    m = re.search(r"for m in \(([^)]*)\)", cell)
    if m is None:
        raise ValueError("setup cell: no 'for m in (...)' list of packages installed when missing")
    return re.findall(r"[\"']([^\"']+)[\"']", m.group(1))


def colab_only_installs(paths) -> list:
    """Requirements that a notebook's own Colab-only cell installs (``"google.colab" in sys.modules`` and pip),
    the setup cell excepted: e.g. the week-5 lab's ``skfolio==1.12.2``."""
    found = []
    for path in paths:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        for src in code_sources(nb)[1:]:
            if "google.colab" in src and "pip" in src:
                for req in re.findall(r"[\"']([A-Za-z0-9][A-Za-z0-9._-]*(?:==|>=)[^\"'\s]+)[\"']", src):
                    if req not in found:
                        found.append(req)
    return found


def week_number(path: Path, root: Path = ROOT) -> int | None:
    """The week of a notebook: from its folder ``week<N>_*`` or, in solutions/, its name ``week<N>_*``."""
    rel = Path(path).resolve().relative_to(Path(root).resolve())
    m = re.match(r"week(\d+)_", rel.parts[0]) or (rel.parts[0] == "solutions" and re.match(r"week(\d+)_", rel.name))
    return int(m.group(1)) if m else None


def weeks(root: Path = ROOT) -> dict:
    """``week -> notebooks of its folder`` (solutions not included), sorted, from the folders on disk."""
    out = {}
    for p in all_notebooks(root):
        rel = p.relative_to(root)
        if rel.parts[0] != "solutions" and (w := week_number(p, root)) is not None:
            out.setdefault(w, []).append(p)
    return dict(sorted(out.items()))


def smoke_choice(notebooks) -> Path:
    """The notebook of a week that runs whole: its lab (the widest use of the stack), else its last notebook."""
    notebooks = sorted(notebooks)
    labs = [p for p in notebooks if p.name.startswith("lab_")]
    return labs[0] if labs else notebooks[-1]


def pyenv_python(version: str) -> Path:
    """The newest pyenv (or PATH) interpreter whose version starts with ``version`` (e.g. 3.13 -> 3.13.0)."""
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    cands = sorted((p for r in roots if r.is_dir() for p in r.glob(f"{version}*")
                    if re.fullmatch(rf"{re.escape(version)}(\.\d+)?", p.name) and (p / "bin" / "python").exists()),
                   key=lambda p: [int(x) for x in p.name.split(".")])
    if cands:
        return cands[-1] / "bin" / "python"
    which = shutil.which(f"python{version}")
    if which:
        return Path(which)
    raise ValueError(f"no Python {version}: install it with `pyenv install {version}` (or put python{version} on PATH)")


def venv_python(venv: Path) -> Path:
    return Path(venv) / "bin" / "python"


def install_commands(vpy: Path, spec: ColabSpec, harness_pins: dict, *, no_torch: bool = False,
                     requirements: Path = COLAB_REQUIREMENTS) -> list:
    """The pip commands of step 2 (Colab's stack and the test harness, one resolution) and 3a (the course
    package, ``--no-deps`` as in the setup cell)."""
    pip = [str(vpy), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    harness = [f"{n}=={harness_pins[n]}" if n in harness_pins else n for n in HARNESS]
    if no_torch:
        colab = [r for r in spec.requirements if canonical(_REQ.match(r).group(1)) != "torch"]
    else:
        colab = ["-r", str(requirements)]
    return [pip + [*colab, *harness], pip + ["--no-deps", str(ROOT)]]


def pytest_command(vpy: Path, workers: int) -> list:
    """Step 4: the unit tests and doctests, as the README's `python -m pytest tests` with the doctests."""
    cmd = [str(vpy), "-m", "pytest", "tests", "utils", "-q", "-p", "no:cacheprovider", "--scale", "smoke"]
    return cmd + (["-n", str(workers), "--dist", "loadfile"] if workers > 1 else [])


def cells_command(vpy: Path, n_first: int | None, paths, out: Path) -> list:
    """Steps 5-6: run notebooks' first ``n_first`` code cells (None: all) inside the venv, results to ``out``."""
    first = ["--first", str(n_first)] if n_first else []
    return [str(vpy), "-m", "tools.compat", "run-cells", *first, "--out", str(out), *map(str, paths)]


def venv_env(venv: Path, jupyter_dir: Path) -> dict:
    """The environment of every command in the venv: its bin first on PATH, no PYTHONPATH (the notebooks must
    import the installed package), a kernelspec ``python3`` that starts the venv's own Python."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(VIRTUAL_ENV=str(venv), PATH=os.pathsep.join([str(Path(venv) / "bin"), env.get("PATH", "")]),
               JUPYTER_PATH=str(jupyter_dir), OPTM_SCALE="smoke", MPLBACKEND="agg",
               OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"), PYTHONDONTWRITEBYTECODE="1")
    return env


def write_kernelspec(jupyter_dir: Path, vpy: Path) -> None:
    spec = jupyter_dir / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(vpy), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (compat)", "language": "python"}), encoding="utf-8")


# ---------------------------------------------------------------------------------------------- in the venv
def run_cells(paths, n_first: int | None, out: Path, timeout: int = 900) -> list:
    """Execute each notebook's first ``n_first`` code cells (all if None) in a fresh kernel in its folder at
    smoke scale; record pass/fail, the failing cell and its error, the seconds, and where ``utils`` came from."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    probe = "import sys, utils; print('COMPAT-PROBE', sys.executable, utils.__file__)"
    results = []
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        keep = code[:n_first] if n_first else code
        cells = [nb.cells[i] for i in range(len(nb.cells)) if nb.cells[i].cell_type != "code" or i in keep]
        if n_first:
            cells = [c for c in cells if c.cell_type == "code"]
        nb.cells = cells + [nbformat.v4.new_code_cell(probe)]
        t0 = time.perf_counter()
        rec = {"path": str(path), "cells": len(keep), "ok": True, "error": "", "utils": "", "python": ""}
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as exc:
            rec["ok"] = False
            failing = next((c for c in nb.cells if c.cell_type == "code" and any(
                o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            err = next((o for o in (failing or {}).get("outputs", []) if o.get("output_type") == "error"), {})
            idx = [c for c in nb.cells if c.cell_type == "code"].index(failing) + 1 if failing else "?"
            rec["error"] = f"code cell {idx}: {err.get('ename', type(exc).__name__)}: {err.get('evalue', '')}"[:400]
        except Exception as exc:  # noqa: BLE001  (a dead kernel or a timeout is a failure of that notebook)
            rec["ok"], rec["error"] = False, f"{type(exc).__name__}: {exc}"[:400]
        text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
        if "COMPAT-PROBE" in text:
            rec["python"], rec["utils"] = (text.split("COMPAT-PROBE", 1)[1].split() + ["", ""])[:2]
        rec["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(rec)
        print(f"  {'ok  ' if rec['ok'] else 'FAIL'} {path.relative_to(ROOT)} ({rec['seconds']} s) {rec['error']}",
              flush=True)
        Path(out).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


# ------------------------------------------------------------------------------------------------ the driver
def _run(cmd, env, log: Path, title: str) -> tuple:
    print(f"[compat] {title}: {' '.join(map(str, cmd))}", flush=True)
    t0 = time.perf_counter()
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}\n")
        fh.flush()
        rc = subprocess.run(list(map(str, cmd)), env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - t0
    if rc:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        print("\n".join("    " + t for t in tail))
    print(f"[compat]   -> exit {rc} in {seconds:.0f} s", flush=True)
    return rc, seconds


def installed_versions(vpy: Path, env) -> dict:
    code = ("import json, importlib.metadata as md\n"
            "print(json.dumps({d.metadata['Name']: d.version for d in md.distributions()}))")
    out = subprocess.run([str(vpy), "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return {canonical(k): v for k, v in json.loads(out).items()}


def missing_modules(vpy: Path, env, modules) -> list:
    code = ("import importlib.util, sys\n"
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))")
    out = subprocess.run([str(vpy), "-c", code, *modules], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def pytest_counts(log_text: str) -> str:
    """The closing summary of a pytest run (``12 passed, 1 skipped in 3.0s``), or '' if it has none."""
    lines = [ln.strip("= ").strip() for ln in log_text.splitlines()
             if re.search(r"\b\d+ (passed|failed|error|errors)\b", ln)]
    return lines[-1] if lines else ""


def deviations(spec: ColabSpec, versions: dict, python: str, no_torch: bool) -> list:
    """Where the environment that ran differs from requirements-colab.txt."""
    out = [] if python.startswith(spec.python + ".") or python == spec.python else \
        [f"Python {python} instead of Colab's {spec.python}"]
    for name, want in spec.pins.items():
        got = versions.get(name)
        if name == "torch" and no_torch:
            out.append("torch not installed (--no-torch): the torch tests are skipped, the notebooks needing it fail")
        elif got != want:
            out.append(f"{name} {got or 'missing'} instead of Colab's {want} (changed by a later install step)")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.compat", description=__doc__.splitlines()[0])
    ap.add_argument("--python", help="Python version for the venv (default: the '# python:' line)")
    ap.add_argument("--keep", action="store_true", help=f"build and keep the venv in {KEEP_DIR.name}/")
    ap.add_argument("--reuse", action="store_true",
                    help=f"reuse the venv kept in {KEEP_DIR.name}/: reinstall only the course package")
    ap.add_argument("--no-unit-tests", action="store_true", help="skip the unit tests and doctests")
    ap.add_argument("--no-torch", action="store_true", help="skip torch (saves ~3 GB of CUDA wheels)")
    ap.add_argument("--workers", type=int, default=2, help="pytest-xdist workers for the unit tests (default 2)")
    ap.add_argument("--first", type=int, default=FIRST_CELLS, help="first code cells run in every notebook")
    sub = ap.add_subparsers(dest="cmd")
    rc_ = sub.add_parser("run-cells", help="(inside the venv) run notebooks' first cells")
    rc_.add_argument("paths", nargs="+", type=Path)
    rc_.add_argument("--first", type=int, default=None)
    rc_.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "run-cells":
        res = run_cells(args.paths, args.first, args.out)
        return 0 if all(r["ok"] for r in res) else 1

    t_start = time.perf_counter()
    spec = parse_requirements(COLAB_REQUIREMENTS.read_text(encoding="utf-8"))
    harness_pins = pinned_versions(PINNED_REQUIREMENTS.read_text(encoding="utf-8"))
    base = pyenv_python(args.python or spec.python)
    if args.reuse:
        if not venv_python(KEEP_DIR / "venv").exists():
            raise SystemExit(f"--reuse: no venv in {KEEP_DIR}; run with --keep first")
        args.keep, work = True, KEEP_DIR
    elif args.keep:
        shutil.rmtree(KEEP_DIR, ignore_errors=True)
        work = KEEP_DIR
        work.mkdir()
    else:
        work = Path(tempfile.mkdtemp(prefix="optm-compat-"))
    venv, jupyter_dir, log = work / "venv", work / "jupyter", work / "compat.log"
    timings, steps, counts, first, smoke, every, chosen = {}, {}, "", [], [], [], []
    try:
        if not args.reuse:
            subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
        vpy = venv_python(venv)
        write_kernelspec(jupyter_dir, vpy)
        env = venv_env(venv, jupyter_dir)
        python = subprocess.run([str(vpy), "-c", "import platform; print(platform.python_version())"],
                                capture_output=True, text=True, check=True).stdout.strip()
        print(f"[compat] Python {python} ({base}) in {venv}; log: {log}", flush=True)
        t0 = time.perf_counter()
        stack, package = install_commands(vpy, spec, harness_pins, no_torch=args.no_torch)
        if not args.reuse:
            _run([vpy, "-m", "pip", "install", "-q", "--upgrade", "pip"], env, log, "pip")
            rc, _ = _run(stack, env, log, "Colab's stack and the test harness")
            if rc:
                print("[compat] the Colab stack did not install; stopping.")
                return 1
        else:
            package = package[:-2] + ["--force-reinstall", *package[-2:]]
        rc, _ = _run(package, env, log, "the course package, --no-deps (setup cell)")
        steps["install the course package"] = rc == 0
        want = setup_cell_packages()
        missing = missing_modules(vpy, env, want)
        print(f"[compat] setup cell: of {', '.join(want)}, missing: {', '.join(missing) or 'none'}", flush=True)
        if missing:
            rc, _ = _run([vpy, "-m", "pip", "install", "-q", *missing], env, log, "setup cell's missing packages")
            steps["setup cell's missing packages"] = rc == 0
        extras = colab_only_installs(all_notebooks())
        if extras:
            rc, _ = _run([vpy, "-m", "pip", "install", "-q", *extras], env, log, "notebooks' Colab-only installs")
            steps["notebooks' Colab-only installs"] = rc == 0
        timings["install"] = time.perf_counter() - t0
        versions = installed_versions(vpy, env)

        if not args.no_unit_tests:
            start = log.stat().st_size if log.exists() else 0
            rc, timings["unit tests"] = _run(pytest_command(vpy, args.workers), env, log, "unit tests and doctests")
            with open(log, "rb") as fh:
                fh.seek(start)
                counts = pytest_counts(fh.read().decode("utf-8", errors="replace"))
            steps["unit tests and doctests"] = rc == 0

        every = all_notebooks()
        t0 = time.perf_counter()
        first_json = work / "first_cells.json"
        print(f"[compat] first {args.first} code cells of {len(every)} notebooks:", flush=True)
        subprocess.run(cells_command(vpy, args.first, every, first_json), env=env, cwd=ROOT)
        first = json.loads(first_json.read_text()) if first_json.exists() else []
        timings["first cells"] = time.perf_counter() - t0

        chosen = [smoke_choice(nbs) for nbs in weeks().values()]
        t0 = time.perf_counter()
        smoke_json = work / "smoke.json"
        print(f"[compat] {len(chosen)} notebooks whole at smoke scale:", flush=True)
        subprocess.run(cells_command(vpy, None, chosen, smoke_json), env=env, cwd=ROOT)
        smoke = json.loads(smoke_json.read_text()) if smoke_json.exists() else []
        timings["smoke notebooks"] = time.perf_counter() - t0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    n_ok = lambda rs: sum(r["ok"] for r in rs)                                     # noqa: E731
    installed_copy = [r for r in first + smoke if r["utils"] and "site-packages" not in r["utils"]]
    steps[f"first cells ({n_ok(first)}/{len(every)} notebooks)"] = n_ok(first) == len(every) and len(first) > 0
    steps[f"smoke notebooks ({n_ok(smoke)}/{len(chosen)})"] = n_ok(smoke) == len(chosen) and len(smoke) > 0
    if installed_copy:
        steps["notebooks imported the installed utils"] = False
    devs = deviations(spec, versions, python, args.no_torch)
    total = time.perf_counter() - t_start

    print("\n" + "=" * 100)
    print(f"Compatibility check against requirements-colab.txt (Colab as of {spec.date})")
    print(f"Python {python}; " + ", ".join(f"{n} {versions[canonical(n)]}" for n in REPORTED
                                         if canonical(n) in versions))
    print("Deviations from requirements-colab.txt: " + ("; ".join(devs) if devs else "none"))
    print("Unit tests and doctests: " + ("skipped (--no-unit-tests)" if args.no_unit_tests else
                                         counts or "no summary (see the log)"))
    print(f"Notebooks, first {args.first} code cells: {n_ok(first)}/{len(every)} passed")
    for r in first:
        if not r["ok"]:
            print(f"  FAIL {Path(r['path']).relative_to(ROOT)}: {r['error']}")
    print(f"Notebooks at smoke scale, one per week: {n_ok(smoke)}/{len(chosen)} passed")
    for r in smoke:
        print(f"  {'ok  ' if r['ok'] else 'FAIL'} {Path(r['path']).relative_to(ROOT)} ({r['seconds']} s) {r['error']}")
    for r in installed_copy:
        print(f"  utils came from {r['utils']}, not the installed package: {Path(r['path']).relative_to(ROOT)}")
    print("Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + f"; total {total:.0f} s")
    if args.keep:
        print(f"The environment is kept in {venv} (log: {log}).")
    failed = [k for k, ok in steps.items() if not ok]
    print("RESULT: " + ("all passed" if not failed else "FAILED: " + "; ".join(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
