"""Test-suite configuration shared by the unit tests and the notebooks that nbval executes.

* ``--scale {smoke,laptop,full}`` (default ``smoke``): exported as ``OPTM_SCALE``; nbval's kernels inherit it.
* ``--gpu``: at ``--scale full``, also run the notebooks whose metadata says they need a GPU at full scale
  (``metadata.optimization_methods.gpu_at_full_scale = true``); without it they are skipped at full scale.
  At smoke and laptop scale every notebook runs on CPU.
* A notebook stops at its first failing cell: the cells after it are skipped, not run into ``NameError``s.
"""
import json
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]          # the harness tests run pytest on small notebooks

ROOT = Path(__file__).resolve().parent
SCALES = ("smoke", "laptop", "full")


def pytest_addoption(parser):
    group = parser.getgroup("optimization_methods")
    group.addoption("--scale", choices=SCALES, default="smoke",
                    help="scale at which notebooks run (default: smoke)")
    group.addoption("--gpu", action="store_true",
                    help="at --scale full, include the notebooks marked as needing a GPU")


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: notebook needs a GPU at full scale")
    os.environ["OPTM_SCALE"] = config.getoption("--scale")
    os.environ.setdefault("OMP_NUM_THREADS", "1")          # two xdist workers share two cores
    os.environ.setdefault("MPLBACKEND", "agg")             # no figure rendering needed to test a notebook
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def _needs_gpu(path: Path) -> bool:
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    return bool(meta.get("optimization_methods", {}).get("gpu_at_full_scale", False))


def pytest_collection_modifyitems(config, items):
    full, gpu = config.getoption("--scale") == "full", config.getoption("--gpu")
    cache = {}
    for item in items:
        if item.path.suffix != ".ipynb":
            continue
        if item.path not in cache:
            cache[item.path] = _needs_gpu(item.path)
        if cache[item.path]:
            item.add_marker(pytest.mark.gpu)
            if full and not gpu:
                item.add_marker(pytest.mark.skip(reason="needs a GPU at full scale; pass --gpu to run it"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and item.path.suffix == ".ipynb" and item.parent is not None:
        item.parent._optm_first_failure = getattr(item.parent, "_optm_first_failure", None) or item.name


def pytest_runtest_setup(item):
    failed = getattr(item.parent, "_optm_first_failure", None) if item.path.suffix == ".ipynb" else None
    if failed:
        pytest.skip(f"an earlier cell of this notebook failed ({failed})")
