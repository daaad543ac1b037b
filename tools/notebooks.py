"""Notebook tooling: the canonical setup cell, code fingerprints, in-place execution, and the labs report.

    python -m tools.notebooks execute [PATH ...]            re-execute notebooks in place at laptop scale
    python -m tools.notebooks labs [PATH ...] --scale full  run labs, write a report (wall time, device, numbers)
    ... --threads 1                                          limit BLAS/LAPACK and XLA to one thread (shared machines)
    python -m tools.notebooks new PATH --title "..."        start a notebook with the badge and setup cell

Committed outputs are produced at ``laptop`` scale. Execution stamps the notebook's metadata with a SHA-256 of
its code cells, so the test suite can tell when stored outputs no longer come from the current code.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO_URL = "https://github.com/HAYDARKILIC/optimization_methods"
COLAB_URL = "https://colab.research.google.com/github/HAYDARKILIC/optimization_methods/blob/main/{path}"
META_KEY = "optimization_methods"
SCALES = ("smoke", "laptop", "full")

SETUP_CELL = '''\
# Setup (the same cell in every notebook): make `import utils` work locally and on Colab, then read the scale.
import importlib.util, pathlib, subprocess, sys

if "google.colab" in sys.modules:  # Colab: install the course package and only what Colab lacks
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "git+https://github.com/HAYDARKILIC/optimization_methods"], check=True)
    missing = [m for m in ("optax", "cvxpy", "clarabel", "tqdm") if importlib.util.find_spec(m) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
elif importlib.util.find_spec("utils") is None:  # a checkout used without `pip install -e .`
    root = next(p for p in (pathlib.Path.cwd(), *pathlib.Path.cwd().parents) if (p / "utils").is_dir())
    sys.path.insert(0, str(root))

import utils

SCALE = utils.get_scale()
print(utils.environment_summary())'''


def badge_url(path: Path) -> str:
    """The Colab URL of a notebook (``path`` relative to the repository root)."""
    return COLAB_URL.format(path=Path(path).as_posix())


def code_sources(nb) -> list[str]:
    return [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            for c in nb["cells"] if c["cell_type"] == "code"]


def fingerprint(nb) -> str:
    """SHA-256 of the notebook's code cells (their text, in order)."""
    return hashlib.sha256(json.dumps(code_sources(nb)).encode()).hexdigest()


def all_notebooks(root: Path = ROOT) -> list[Path]:
    """Every course notebook: week folders and solutions, checkpoints excluded."""
    found = [*root.glob("week*_*/**/*.ipynb"), *root.glob("solutions/**/*.ipynb")]
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts)


def labs(root: Path = ROOT) -> list[Path]:
    return [p for p in all_notebooks(root) if p.name.startswith("lab_")]


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_XLA_THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen", "intra_op_parallelism_threads")


def thread_env(n: int, xla_flags: str | None = None) -> dict:
    """Environment that limits OpenMP, OpenBLAS, MKL (numpy, scipy, torch) and XLA's CPU backend to ``n`` threads.

    On a machine with few cores or other work running, multi-threaded kernels contend and a notebook's timings
    measure the contention (README, Benchmarks). ``xla_flags`` (default: ``$XLA_FLAGS``) keeps its other flags,
    such as a virtual device count."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    flags = [f for f in (os.environ.get("XLA_FLAGS", "") if xla_flags is None else xla_flags).split()
             if not f.startswith(_XLA_THREAD_FLAGS)]
    flags += [f"--xla_cpu_multi_thread_eigen={'false' if n == 1 else 'true'}", f"intra_op_parallelism_threads={n}"]
    return {**{v: str(n) for v in THREAD_VARS}, "XLA_FLAGS": " ".join(flags)}


def _kernel_env(scale: str, extra: dict | None = None) -> dict:
    env = dict(os.environ, OPTM_SCALE=scale, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.update(extra or {})
    return env


def run_notebook(path: Path, scale: str, *, extra_env: dict | None = None, timeout: int = 1800):
    """Execute a notebook top to bottom in its own folder with ``OPTM_SCALE=scale``; return the executed nb."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute(env=_kernel_env(scale, extra_env))
    return nb


def _strip_volatile(nb) -> None:
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
    nb["metadata"].pop("papermill", None)


def execute_in_place(path: Path, scale: str = "laptop", extra_env: dict | None = None) -> float:
    """Re-execute ``path`` and save it with its outputs, stamped with the scale and the code fingerprint."""
    import nbformat

    t0 = time.perf_counter()
    nb = run_notebook(path, scale, extra_env=extra_env)
    seconds = time.perf_counter() - t0
    _strip_volatile(nb)
    nb["metadata"].setdefault(META_KEY, {}).update(code_sha256=fingerprint(nb), executed_scale=scale)
    nbformat.write(nb, path)
    return seconds


def run_labs(paths, scale: str, report: Path, extra_env: dict | None = None) -> str:
    """Run labs at ``scale`` (outputs are not written back) and write a Markdown report."""
    sys.path.insert(0, str(ROOT))
    from utils.runtime import device_info

    dev = device_info()
    device = "GPU" if dev["gpu"] else f"CPU ({os.cpu_count()} cores)"
    if extra_env and "OMP_NUM_THREADS" in extra_env:
        device += f", {extra_env['OMP_NUM_THREADS']} thread(s) per library"
    lines = [f"# Lab report — scale `{scale}`, device: {device}, JAX backend: {dev['jax_backend']}", "",
             "| lab | status | wall time (s) | headline numbers |", "|---|---|---|---|"]
    for path in paths:
        with tempfile.TemporaryDirectory() as tmp:
            sink = Path(tmp) / "headlines.jsonl"
            t0 = time.perf_counter()
            try:
                run_notebook(path, scale, extra_env={**(extra_env or {}), "OPTM_HEADLINES": str(sink)})
                status = "ok"
            except Exception as exc:  # noqa: BLE001  (a failed lab is reported, the others still run)
                status = f"FAILED: {type(exc).__name__}"
            seconds = time.perf_counter() - t0
            heads = [json.loads(s) for s in sink.read_text().splitlines()] if sink.exists() else []
        numbers = "; ".join(f"{h['name']} = {h['value']}{(' ' + h['unit']) if h['unit'] else ''}" for h in heads)
        name = Path(path).relative_to(ROOT).as_posix() if Path(path).is_relative_to(ROOT) else Path(path).name
        lines.append(f"| {name} | {status} | {seconds:.1f} | {numbers or '—'} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    Path(report).write_text(text, encoding="utf-8")
    return text


def new_notebook(path: Path, title: str, goal: str = "") -> None:
    """Create a notebook with the badge cell, the setup cell and the visible sizes cell."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook as nbnew

    rel = Path(path).resolve().relative_to(ROOT)
    badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({badge_url(rel)})"
    nb = nbnew(cells=[new_markdown_cell(f"# {title}\n\n{badge}\n\n{goal}".rstrip()), new_code_cell(SETUP_CELL),
                      new_code_cell("# Sizes for this scale (smoke: CI, laptop: default, full: GPU)\n"
                                    "n = utils.by_scale(smoke=10, laptop=100, full=1000)")])
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _threads(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--threads takes a positive integer, got {text!r}")
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.notebooks", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("execute", help="re-execute notebooks in place (committed outputs)")
    ex.add_argument("paths", nargs="*", type=Path)
    ex.add_argument("--scale", choices=SCALES, default="laptop")
    ex.add_argument("--threads", type=_threads, default=None, help="limit BLAS/LAPACK and XLA to N threads")
    lb = sub.add_parser("labs", help="run labs at a scale and write a report")
    lb.add_argument("paths", nargs="*", type=Path)
    lb.add_argument("--scale", choices=SCALES, default=os.environ.get("OPTM_SCALE", "laptop"))
    lb.add_argument("--report", type=Path, default=Path("lab_report.md"))
    lb.add_argument("--threads", type=_threads, default=None, help="limit BLAS/LAPACK and XLA to N threads")
    nw = sub.add_parser("new", help="start a notebook with the badge and the setup cell")
    nw.add_argument("path", type=Path)
    nw.add_argument("--title", required=True)
    nw.add_argument("--goal", default="")
    args = ap.parse_args(argv)
    threads = thread_env(args.threads) if getattr(args, "threads", None) is not None else None
    if args.cmd == "execute":
        for p in args.paths or all_notebooks():
            print(f"{p}: {execute_in_place(p, args.scale, threads):.1f} s at scale {args.scale}", flush=True)
    elif args.cmd == "labs":
        paths = [p.resolve() for p in args.paths] or labs()
        if not paths:
            print("No lab notebooks found.")
            return 0
        run_labs(paths, args.scale, args.report, threads)
        print(f"Report written to {args.report}")
    else:
        new_notebook(args.path, args.title, args.goal)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
