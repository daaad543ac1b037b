"""optimization_methods — the course library.

One module per method family; every name a notebook uses is re-exported here explicitly::

    import utils
    p = utils.quadratic(n=50, mu=1.0, L=100.0)
    res = utils.gradient_descent(p, eta=2 / (p.L + p.mu))

Modules: ``problems`` (reference problems), ``result`` (OptimizeResult + History), ``drivers`` (the NumPy
and JAX loops every algorithm shares), ``first_order``, ``runtime`` (scale flag, seeds, float64, device),
``checks`` (notebook claims), ``plotting``, ``benchmarks``, ``datasets``.
"""
from . import benchmarks, checks, datasets, drivers, first_order, plotting, problems, result, runtime
from .benchmarks import format_table, performance_profile, print_table, run_benchmark
from .checks import CheckFailed, check_close, check_true
from .datasets import fetch, load_bundled
from .first_order import GDState, gd_init, gd_step, gradient_descent, gradient_descent_jax
from .plotting import (plot_contours, plot_convergence, plot_performance_profile, plot_theory, save_figure,
                       set_style)
from .problems import (Problem, breast_cancer_logistic, from_jax, least_squares, logistic_regression, quadratic,
                       rosenbrock)
from .result import History, OptimizeResult
from .runtime import by_scale, device_info, enable_x64, environment_summary, get_scale, headline, rng

__version__ = "0.1.0"

__all__ = [
    "benchmarks", "checks", "datasets", "drivers", "first_order", "plotting", "problems", "result", "runtime",
    "format_table", "performance_profile", "print_table", "run_benchmark",
    "CheckFailed", "check_close", "check_true",
    "fetch", "load_bundled",
    "GDState", "gd_init", "gd_step", "gradient_descent", "gradient_descent_jax",
    "plot_contours", "plot_convergence", "plot_performance_profile", "plot_theory", "save_figure", "set_style",
    "Problem", "breast_cancer_logistic", "from_jax", "least_squares", "logistic_regression", "quadratic",
    "rosenbrock",
    "History", "OptimizeResult",
    "by_scale", "device_info", "enable_x64", "environment_summary", "get_scale", "headline", "rng",
]
