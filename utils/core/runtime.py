"""Scale flag, seeds, float64 switch and device detection: the settings every notebook reads in its setup cell.

The scale flag is the environment variable ``OPTM_SCALE``:

* ``smoke``  — seconds per notebook; what CI runs.
* ``laptop`` — the default when unset: a CPU laptop, ≤ ~1 min per notebook, ≤ ~5 min per lab.
* ``full``   — the research-size runs of the big labs; meant for a machine with a GPU.

A notebook chooses its sizes in one visible cell with :func:`by_scale`.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from importlib import metadata

import numpy as np

__all__ = ["SCALES", "get_scale", "by_scale", "rng", "enable_x64", "x64", "device_info", "environment_summary",
           "headline"]

SCALES = ("smoke", "laptop", "full")
_ENV = "OPTM_SCALE"


def get_scale() -> str:
    """The current scale: ``$OPTM_SCALE`` if set, else ``"laptop"``. Raises ``ValueError`` on a typo."""
    scale = os.environ.get(_ENV, "laptop").strip().lower() or "laptop"
    if scale not in SCALES:
        raise ValueError(f"{_ENV}={scale!r} is not a scale; use one of {SCALES}")
    return scale


def by_scale(*, smoke, laptop, full=None, scale=None):
    """Return the value for ``scale`` (default: the current scale); ``full`` falls back to ``laptop``.

    >>> by_scale(smoke=10, laptop=1000, scale="smoke")
    10
    >>> by_scale(smoke=10, laptop=1000, scale="full")
    1000
    """
    if scale is None:
        scale = get_scale()
    elif scale not in SCALES:
        raise ValueError(f"scale={scale!r} is not one of {SCALES}")
    return {"smoke": smoke, "laptop": laptop, "full": laptop if full is None else full}[scale]


def rng(seed: int = 0) -> np.random.Generator:
    """A NumPy generator with an explicit seed (``np.random.default_rng(seed)``); never the global state."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def enable_x64(enable: bool = True) -> None:
    """Switch JAX to float64 (``jax_enable_x64``), so JAX and NumPy iterates can be compared digit by digit."""
    import jax

    jax.config.update("jax_enable_x64", bool(enable))


def x64(enable: bool = True):
    """Context manager: float64 in JAX (``enable=False``: float32) inside a ``with`` block only.

    ``jax.enable_x64(enable)`` where JAX has it (0.8 and later); on older JAX, Colab's 0.7 among them,
    ``jax.experimental.enable_x64()`` / ``disable_x64()``, the same switch under its former name.

    >>> import jax.numpy as jnp
    >>> with x64(True):
    ...     print(jnp.zeros(1).dtype)
    float64
    """
    import jax

    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(bool(enable))
    from jax import experimental

    return experimental.enable_x64() if enable else experimental.disable_x64()


def device_info() -> dict:
    """What accelerators there are: the JAX backend and devices, an NVIDIA driver on the machine, and — when
    a notebook has already imported torch — whether torch sees CUDA (torch is not imported just to ask)."""
    info = {"jax_backend": None, "jax_devices": [], "nvidia_driver": False, "torch_cuda": None, "gpu": False}
    try:
        import jax

        info["jax_backend"] = jax.default_backend()
        info["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception:  # noqa: BLE001  (no JAX, or a broken plugin: report no JAX device)
        pass
    info["nvidia_driver"] = shutil.which("nvidia-smi") is not None or os.path.exists("/proc/driver/nvidia/version")
    if "torch" in sys.modules:
        try:
            info["torch_cuda"] = bool(sys.modules["torch"].cuda.is_available())
        except Exception:  # noqa: BLE001
            pass
    info["gpu"] = info["jax_backend"] == "gpu" or bool(info["torch_cuda"]) or info["nvidia_driver"]
    return info


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "—"


def environment_summary(packages=("numpy", "scipy", "jax", "optax", "torch", "cvxpy", "scikit-learn",
                                  "matplotlib")) -> str:
    """A few lines for a notebook's setup cell: Python and package versions, device, scale, and a GPU hint."""
    dev = device_info()
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    lines = [f"Python {platform.python_version()} | {versions}",
             f"JAX backend: {dev['jax_backend']} | GPU: {'yes' if dev['gpu'] else 'no'} | scale: {get_scale()}"]
    if dev["gpu"] and get_scale() != "full":
        lines.append(f"A GPU is available: set {_ENV}=full to run the large labs at full size.")
    return "\n".join(lines)


def headline(name: str, value, unit: str = "") -> None:
    """Declare one of a lab's headline numbers: print it, and append it to ``$OPTM_HEADLINES`` (JSON lines)
    when that variable is set, so the instructors' lab runner can put it in its report."""
    if hasattr(value, "__array__"):                       # NumPy, JAX and torch scalars
        value = np.asarray(value).item()
    print(f"[HEADLINE] {name} = {value}{(' ' + unit) if unit else ''}")
    path = os.environ.get("OPTM_HEADLINES")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": value, "unit": unit}) + "\n")
