"""Run the test suite under other floating-point kernels, to prove that no check depends on the machine.

    python -m tools.kernels                          all available configurations, whole suite
    python -m tools.kernels --config prescott        one configuration
    python -m tools.kernels --list                   show the configurations and the kernels they select
    python -m tools.kernels -- tests -x              pass arguments to pytest (after ``--``)
    python -m tools.kernels --config baseline --workers 1 -- tests/smooth/test_linesearch.py    one file, one worker

The same NumPy code rounds differently on different CPUs: OpenBLAS picks a kernel for the CPU it runs on
(an AVX-512 or AVX2 kernel fuses multiply and add, so ``g @ d`` is rounded once per term instead of twice),
and NumPy's own loops dispatch to AVX2/AVX-512 code when the CPU has it. A test that passes on one machine
because of the last bit of a dot product fails on another. Each configuration below forces another choice
through environment variables, and before running the tests the tool checks with ``threadpoolctl`` (for
OpenBLAS) and NumPy's CPU-dispatch table that the choice took effect; a configuration that did not take
effect is reported as an error, not silently run with the default kernel.

Configurations (each also varies the number of pytest-xdist workers, so that a test which depends on the
core count or on the order files are dealt to workers shows up):

* ``prescott``   OpenBLAS's oldest x86-64 kernel (SSE3, no FMA): ``OPENBLAS_CORETYPE=Prescott``.
* ``haswell``    the AVX2 + FMA kernel: ``OPENBLAS_CORETYPE=Haswell`` (skipped if the CPU lacks AVX2/FMA).
* ``skylakex``   the AVX-512 kernel: ``OPENBLAS_CORETYPE=SkylakeX`` (skipped if the CPU lacks AVX-512).
* ``baseline``   NumPy's loops at the build baseline, with every dispatched SIMD target (AVX2, FMA3,
                 AVX-512, …) disabled through ``NPY_DISABLE_CPU_FEATURES``, and OpenBLAS on ``Prescott``.

``OPENBLAS_L2_SIZE`` is set from the CPU's cache size, in KiB (OpenBLAS's unit), when a core type is forced
(OpenBLAS may not detect it for a core type it did not choose itself). The default test command is the README's
(``-n <workers> --dist loadfile``; whole suite: unit tests, doctests and every notebook at smoke scale).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name: (OPENBLAS_CORETYPE or None, disable NumPy's dispatched SIMD loops?, CPU flags it needs, xdist workers)
CONFIGS = {
    "prescott": ("Prescott", False, (), "3"),
    "haswell": ("Haswell", False, ("avx2", "fma"), "2"),
    "skylakex": ("SkylakeX", False, ("avx512f",), "2"),
    "baseline": ("Prescott", True, (), "1"),
}
DEFAULT = ("prescott", "baseline", "haswell")

_PROBE = r"""
import json
import numpy as np, scipy.linalg, threadpoolctl
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
blas = sorted({(d["internal_api"], d.get("architecture") or "?") for d in threadpoolctl.threadpool_info()
               if d["user_api"] == "blas"})
g, d = np.array([1.0, 10.0]), np.array([1.0, -0.1])
print(json.dumps({"blas": blas, "dispatch": {t: bool(__cpu_features__.get(t)) for t in __cpu_dispatch__},
                  "g_dot_d": float(g @ d)}))
"""


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def l2_kib() -> str | None:
    """The L2 cache size in KiB, the unit OpenBLAS reads ``OPENBLAS_L2_SIZE`` in. (Given in bytes, a 1 MiB cache
    reads as 1 GiB: OpenBLAS then blocks its kernels for that size, and a 6 × 6 product runs for minutes.)"""
    try:
        size = Path("/sys/devices/system/cpu/cpu0/cache/index2/size").read_text().strip()
    except OSError:
        return None
    mult = {"K": 1, "M": 1024}.get(size[-1:].upper())
    return str(int(size.rstrip("KkMm")) * mult) if mult else str(int(size) // 1024)


def dispatch_targets() -> list[str]:
    out = subprocess.run([sys.executable, "-c", "from numpy._core._multiarray_umath import __cpu_dispatch__ as d;"
                          "print(','.join(d))"], capture_output=True, text=True, check=True)
    return [t for t in out.stdout.strip().split(",") if t]


def config_env(name: str) -> dict:
    coretype, no_simd, _, _ = CONFIGS[name]
    env = dict(os.environ)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
        l2 = l2_kib()
        if l2 and "OPENBLAS_L2_SIZE" not in env:
            env["OPENBLAS_L2_SIZE"] = l2
    if no_simd:
        env["NPY_DISABLE_CPU_FEATURES"] = ",".join(dispatch_targets())
    return env


def probe(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def took_effect(name: str, before: dict, after: dict) -> str | None:
    """None if the configuration selected what it asked for, else the reason it did not."""
    coretype, no_simd, _, _ = CONFIGS[name]
    if coretype and not any(arch != "?" for _, arch in after["blas"]):
        return "threadpoolctl reports no OpenBLAS architecture"
    if coretype and coretype != "Prescott" and not all(arch == coretype for _, arch in after["blas"]):
        return f"asked for {coretype}, OpenBLAS runs {after['blas']}"
    if coretype == "Prescott" and any(arch in ("Haswell", "SkylakeX", "Zen", "Cooperlake", "SapphireRapids")
                                      for _, arch in after["blas"]):
        return f"asked for Prescott, OpenBLAS still runs {after['blas']}"
    if no_simd and any(after["dispatch"].values()):
        return f"NumPy still dispatches to {[t for t, on in after['dispatch'].items() if on]}"
    return None


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, pytest_args = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="python -m tools.kernels", description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", choices=sorted(CONFIGS),
                    help=f"configuration to run (repeatable; default: {', '.join(DEFAULT)})")
    ap.add_argument("--workers", help="pytest-xdist workers for every run (default: each configuration's own)")
    ap.add_argument("--list", action="store_true", help="print the configurations and what they select, run nothing")
    args = ap.parse_args(argv)

    names = args.config or list(DEFAULT)
    flags = cpu_flags()
    native = probe(dict(os.environ))
    print(f"native: OpenBLAS {native['blas']}; NumPy dispatch "
          f"{[t for t, on in native['dispatch'].items() if on]}; (1, 10)·(1, −0.1) = {native['g_dot_d']!r}")
    summary, status = [], 0
    for name in names:
        coretype, no_simd, needs, workers = CONFIGS[name]
        if flags and not all(f in flags for f in needs):
            print(f"\n[{name}] skipped: this CPU lacks {', '.join(f for f in needs if f not in flags)}")
            summary.append((name, "skipped (CPU)", "", 0.0))
            continue
        env = config_env(name)
        after = probe(env)
        why = took_effect(name, native, after)
        settings = {k: env[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")
                    if k in env and env.get(k) != os.environ.get(k)}
        print(f"\n[{name}] {settings}\n[{name}] OpenBLAS {after['blas']}; NumPy dispatch "
              f"{[t for t, on in after['dispatch'].items() if on]}; (1, 10)·(1, −0.1) = {after['g_dot_d']!r}")
        if args.list and not why:
            summary.append((name, "selects as asked", "", 0.0))
            continue
        if why:
            print(f"[{name}] ERROR: the configuration did not take effect: {why}")
            summary.append((name, "did not take effect", why, 0.0))
            status = 1
            continue
        cmd = [sys.executable, "-m", "pytest", "-n", args.workers or workers, "--dist", "loadfile", "-q", "-p", "no:cacheprovider",
               *pytest_args]
        print(f"[{name}] {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        tail = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        last = tail[-1] if tail else proc.stderr.strip()[-300:]
        if proc.returncode != 0:
            print("\n".join(tail[-40:]))
            status = 1
        summary.append((name, "passed" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})", last, wall))
        print(f"[{name}] {last}  ({wall:.0f} s)", flush=True)

    print("\nconfiguration  result               pytest summary")
    for name, result, last, wall in summary:
        print(f"{name:<14} {result:<20} {last}" + (f"  [{wall:.0f} s]" if wall else ""))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
