"""optimization_methods — the course library.

The package is laid out like the course: one subpackage per method family, one module per method, and every
name a notebook uses re-exported here explicitly::

    import utils
    p = utils.quadratic(n=50, mu=1.0, L=100.0)
    res = utils.gradient_descent(p, eta=2 / (p.L + p.mu))

``core`` (every week): ``problems`` (reference problems), ``result`` (OptimizeResult + History), ``drivers`` (the
NumPy and JAX loops every algorithm shares), ``runtime`` (scale flag, seeds, float64, device), ``checks`` (notebook
claims and exercise self-checks). Beside the subpackages: ``plotting``, ``benchmarks``, ``datasets``.

``analysis`` (week 1): ``derivatives`` (finite differences, gradient checks), ``spectrum`` (power iteration,
Lanczos), ``landscape`` (loss-landscape slices).
``smooth`` (week 2): ``first_order``, ``linesearch``, ``momentum``, ``cg``, ``quasi_newton``, ``lbfgs``,
``trust_region``, ``least_squares``, ``levenberg_marquardt``, ``nist``.
``nonsmooth`` (week 3): ``prox``, ``composite``, ``subgradient``, ``proximal``, ``splitting``, ``primal_dual``, ``tv``.
``stochastic`` (week 4): ``finite_sum`` (finite sums f = (1/n) Σ fᵢ: SGD, SVRG, SAGA and the theory helpers, all
re-exported by the subpackage, so the step rules and states read ``utils.stochastic.inverse_k``), ``adaptive``
(pytree optimizers: ``utils.adaptive.adam``) and ``schedules`` (step-size schedules:
``utils.schedules.cosine_schedule``).
``constrained`` (week 5): ``projected`` (constrained problem records, projected gradient; re-exported by the
subpackage: ``utils.constrained.projected_gradient``), ``frank_wolfe`` (linear minimization oracles, Frank-Wolfe
and its away-step and pairwise variants: ``utils.frank_wolfe.frank_wolfe``; the step rules stay in the module),
``interior_point`` (primal-dual IPM for LP/QP, the log-barrier method), ``hock_schittkowski`` (the
nonlinear-program record and the HS test set; its KKT residual is ``utils.hock_schittkowski.kkt_residual``),
``sqp`` (``utils.sqp.sqp``), ``augmented_lagrangian`` (``utils.augmented_lagrangian.augmented_lagrangian``, the
quadratic penalty), ``duality`` (dual functions of LP/QP/lasso/SVM, gaps, KKT residuals, SMO; the conjugates stay
in the module: ``utils.duality.conj_norm``), ``portfolio`` (the lab's mean-variance QPs, cardinality MIQPs,
enumeration and backtests).
``deep`` (weeks 4 and 6): ``kfac`` (K-FAC for dense layers: ``utils.kfac.kfac``, ``utils.kfac.curvature``),
``shampoo`` (``utils.shampoo.shampoo``), ``sophia`` (``utils.sophia.sophia``, ``utils.sophia.hutchinson_diagonal``),
``muon`` (Muon, Newton-Schulz and the exact polar factor: ``utils.muon.muon``), ``sam`` (SAM/ASAM around any
``adaptive`` optimizer: ``utils.sam.sam``), ``schedule_free`` (``utils.schedule_free.schedule_free_adamw``,
``utils.schedule_free.eval_params``), ``soap`` (SOAP, Adam in the eigenbasis of Shampoo's factors:
``utils.soap.soap``), ``distributed`` (data parallelism and ZeRO-1/2/3 on virtual devices, measured against the
Table-1 memory, a gloo runner: ``utils.distributed.zero_train``, ``utils.distributed.zero_formula``,
``utils.distributed.torch_gloo_run``), and the labs' networks in plain JAX: ``resnet`` (week 4) and
``transformer`` (week 6, with its Shakespeare slice).

Every module keeps its short name: ``utils.lbfgs`` is ``utils.smooth.lbfgs``, and ``import utils.lbfgs`` or
``from utils.lbfgs import lbfgs`` work, because each module is also registered in ``sys.modules`` under
``utils.<module>`` (the table ``_SHORT_NAMES`` below). Building blocks (states, steps, step-size rules) stay in
their modules: ``utils.subgradient.polyak``. Where a function has its module's name, the module wins:
``utils.lbfgs.lbfgs``, ``utils.trust_region.trust_region``, ``utils.levenberg_marquardt.levenberg_marquardt``,
``utils.least_squares.gauss_newton`` (the linear least-squares problem is ``utils.least_squares_problem``).
"""
import sys

from . import analysis, benchmarks, constrained, core, datasets, deep, nonsmooth, plotting, smooth, stochastic
from .analysis import derivatives, landscape, spectrum
from .constrained import augmented_lagrangian, duality, frank_wolfe, hock_schittkowski, interior_point, portfolio, sqp
from .core import checks, drivers, problems, result, runtime
from .deep import distributed, kfac, muon, resnet, sam, schedule_free, shampoo, soap, sophia, transformer
from .nonsmooth import composite, primal_dual, prox, proximal, splitting, subgradient, tv
from .smooth import (cg, first_order, lbfgs, least_squares, levenberg_marquardt, linesearch, momentum, nist,
                     quasi_newton, trust_region)
from .stochastic import adaptive, schedules

# core
from .core.checks import CheckFailed, answer_token, check_answer, check_close, check_function, check_true
from .core.problems import (Problem, breast_cancer_logistic, from_jax, least_squares as least_squares_problem,
                            logistic_regression, quadratic, rosenbrock)
from .core.result import History, OptimizeResult
from .core.runtime import by_scale, device_info, enable_x64, environment_summary, get_scale, headline, rng, x64
# beside the subpackages
from .plotting import plot_contours, plot_convergence, plot_performance_profile, plot_theory, save_figure, set_style
from .benchmarks import format_table, performance_profile, print_table, run_benchmark
from .datasets import fetch, load_bundled
# analysis (week 1)
from .analysis.derivatives import directional_fd, fd_error_curve, finite_difference_gradient, gradient_check
from .analysis.landscape import hessian_matvec, interpolate, interpolation_barrier, random_direction, slice_1d, slice_2d
from .analysis.spectrum import extreme_eigenvalues, hvp_matvec, lanczos, power_iteration
# smooth (week 2)
from .smooth.cg import fletcher_reeves, linear_cg, nonlinear_cg, polak_ribiere_plus
from .smooth.first_order import (GDState, gd_init, gd_step, gradient_descent, gradient_descent_armijo,
                                 gradient_descent_armijo_jax, gradient_descent_jax, gradient_descent_wolfe)
from .smooth.least_squares import NLSProblem, gauss_newton, gauss_newton_jax, nls_from_jax
from .smooth.linesearch import WolfeResult, backtracking, strong_wolfe
from .smooth.momentum import (heavy_ball, heavy_ball_jax, nesterov, nesterov_jax, nesterov_momentum,
                              nesterov_momentum_jax, nesterov_strongly_convex, nesterov_strongly_convex_jax)
from .smooth.nist import lre, nist_problem
from .smooth.quasi_newton import bfgs, newton
from .smooth.trust_region import cauchy_point, dogleg, steihaug_cg
# nonsmooth (week 3)
from .nonsmooth.composite import elastic_net, group_lasso, lasso, lasso_lam_max, sparse_regression
from .nonsmooth.primal_dual import chambolle_pock, chambolle_pock_jax, operator_norm
from .nonsmooth.prox import (project_box, project_l1_ball, project_l2_ball, project_linf_ball, project_nonneg,
                             project_simplex, prox_conjugate, prox_elastic_net, prox_group_l2, prox_l1, prox_l2,
                             prox_nuclear, prox_sq_l2)
from .nonsmooth.proximal import fista, fista_jax, gradient_mapping, ista, ista_jax
from .nonsmooth.splitting import admm, admm_jax, admm_lasso, admm_lasso_jax
from .nonsmooth.subgradient import subgradient_method, subgradient_method_jax
from .nonsmooth.tv import psnr, rof_admm, rof_chambolle_pock, rof_fista_dual
# stochastic (week 4)
from .stochastic import (FiniteSum, StochasticHistory, finite_sum_least_squares, finite_sum_logistic, finite_sum_mean,
                         gradient_variance, minibatch_sampler, minibatch_variance, saga, saga_rate_bound,
                         sgd_noise_floor, stochastic_gradient_descent, svrg, svrg_rate_bound)
# constrained (week 5)
from .constrained.augmented_lagrangian import quadratic_penalty
from .constrained.duality import (DualityGap, KKTResidual, kkt_residual, lasso_dual, lasso_dual_point,
                                  lasso_duality_gap, lasso_primal, lp_dual, lp_duality_gap, lp_ineq_dual,
                                  lp_ineq_duality_gap, qp_dual, qp_duality_gap, qp_lagrangian_minimizer, svm_dual,
                                  svm_duality_gap, svm_primal, svm_primal_from_dual, svm_smo)
from .constrained.frank_wolfe import (away_frank_wolfe, curvature_constant, fw_rate_bound, lmo_box, lmo_l1_ball,
                                      lmo_nuclear_ball, lmo_simplex, pairwise_frank_wolfe)
from .constrained.hock_schittkowski import (NonlinearProgram, hs_benchmark_rows, hs_problems, kkt_multipliers, maratos,
                                            scipy_constraints, trust_constr)
from .constrained.interior_point import (barrier, infeasible_lp, infeasible_qp, lp_ipm, qp_ipm, random_lp, random_qp,
                                         unbounded_lp, unbounded_qp)
from .constrained import (ConstrainedHistory, as_composite, box_qp, l1_ball_least_squares, matrix_completion,
                          project_nuclear_ball, projected_gradient, simplex_least_squares)
from .constrained.sqp import damped_bfgs_update, qp_solve

# ``import utils.<module>`` and ``from utils.<module> import …`` find the module in its subpackage
_SHORT_NAMES = (adaptive, augmented_lagrangian, cg, checks, composite, derivatives, distributed, drivers, duality,
                first_order, frank_wolfe, hock_schittkowski, interior_point, kfac, landscape, lbfgs, least_squares,
                levenberg_marquardt, linesearch, momentum, muon, nist, portfolio, primal_dual, problems, prox,
                proximal, quasi_newton, resnet, result, runtime, sam, schedule_free, schedules, shampoo, soap,
                sophia, spectrum, splitting, sqp, subgradient, transformer, trust_region, tv)
for _module in _SHORT_NAMES:
    sys.modules[f"{__name__}.{_module.__name__.rpartition('.')[2]}"] = _module
del _module

__version__ = "0.2.0"

__all__ = [
    # subpackages and modules
    "analysis", "core", "deep", "nonsmooth", "smooth",
    "adaptive", "augmented_lagrangian", "benchmarks", "cg", "checks", "composite", "constrained", "datasets",
    "derivatives", "distributed", "drivers", "duality", "first_order", "frank_wolfe", "hock_schittkowski",
    "interior_point", "kfac", "landscape", "lbfgs", "least_squares", "levenberg_marquardt", "linesearch", "momentum",
    "muon", "nist", "plotting", "portfolio", "primal_dual", "problems", "prox", "proximal", "quasi_newton", "resnet",
    "result", "runtime", "sam", "schedule_free", "schedules", "shampoo", "soap", "sophia", "spectrum", "splitting",
    "sqp", "stochastic", "subgradient", "transformer", "trust_region", "tv",
    # core
    "format_table", "performance_profile", "print_table", "run_benchmark",
    "CheckFailed", "answer_token", "check_answer", "check_close", "check_function", "check_true",
    "fetch", "load_bundled",
    "plot_contours", "plot_convergence", "plot_performance_profile", "plot_theory", "save_figure", "set_style",
    "Problem", "breast_cancer_logistic", "from_jax", "least_squares_problem", "logistic_regression", "quadratic",
    "rosenbrock",
    "History", "OptimizeResult",
    "by_scale", "device_info", "enable_x64", "environment_summary", "get_scale", "headline", "rng", "x64",
    # week 1
    "directional_fd", "fd_error_curve", "finite_difference_gradient", "gradient_check",
    "extreme_eigenvalues", "hvp_matvec", "lanczos", "power_iteration",
    "hessian_matvec", "interpolate", "interpolation_barrier", "random_direction", "slice_1d", "slice_2d",
    # week 2
    "GDState", "gd_init", "gd_step", "gradient_descent", "gradient_descent_jax", "gradient_descent_armijo",
    "gradient_descent_armijo_jax", "gradient_descent_wolfe",
    "WolfeResult", "backtracking", "strong_wolfe",
    "heavy_ball", "heavy_ball_jax", "nesterov", "nesterov_jax", "nesterov_momentum", "nesterov_momentum_jax",
    "nesterov_strongly_convex", "nesterov_strongly_convex_jax",
    "fletcher_reeves", "linear_cg", "nonlinear_cg", "polak_ribiere_plus",
    "bfgs", "newton",
    "cauchy_point", "dogleg", "steihaug_cg",
    "NLSProblem", "gauss_newton", "gauss_newton_jax", "nls_from_jax", "lre", "nist_problem",
    # week 3
    "project_box", "project_l1_ball", "project_l2_ball", "project_linf_ball", "project_nonneg", "project_simplex",
    "prox_conjugate", "prox_elastic_net", "prox_group_l2", "prox_l1", "prox_l2", "prox_nuclear", "prox_sq_l2",
    "elastic_net", "group_lasso", "lasso", "lasso_lam_max", "sparse_regression",
    "subgradient_method", "subgradient_method_jax", "fista", "fista_jax", "gradient_mapping", "ista", "ista_jax",
    "admm", "admm_jax", "admm_lasso", "admm_lasso_jax", "chambolle_pock", "chambolle_pock_jax", "operator_norm",
    "psnr", "rof_admm", "rof_chambolle_pock", "rof_fista_dual",
    # week 4
    "FiniteSum", "StochasticHistory", "finite_sum_least_squares", "finite_sum_logistic", "finite_sum_mean",
    "minibatch_sampler", "stochastic_gradient_descent", "svrg", "saga",
    "gradient_variance", "minibatch_variance", "sgd_noise_floor", "svrg_rate_bound", "saga_rate_bound",
    # week 5
    "DualityGap", "KKTResidual", "kkt_residual", "lasso_dual", "lasso_dual_point", "lasso_duality_gap",
    "lasso_primal", "lp_dual", "lp_duality_gap", "lp_ineq_dual", "lp_ineq_duality_gap", "qp_dual", "qp_duality_gap",
    "qp_lagrangian_minimizer", "svm_dual", "svm_duality_gap", "svm_primal", "svm_primal_from_dual", "svm_smo",
    "ConstrainedHistory", "as_composite", "box_qp", "l1_ball_least_squares", "matrix_completion",
    "project_nuclear_ball", "projected_gradient", "simplex_least_squares", "away_frank_wolfe", "curvature_constant",
    "fw_rate_bound", "lmo_box", "lmo_l1_ball", "lmo_nuclear_ball", "lmo_simplex", "pairwise_frank_wolfe",
    "NonlinearProgram", "hs_benchmark_rows", "hs_problems", "kkt_multipliers", "maratos", "scipy_constraints",
    "damped_bfgs_update", "qp_solve", "quadratic_penalty", "barrier", "infeasible_lp", "infeasible_qp", "lp_ipm",
    "qp_ipm", "random_lp", "random_qp", "unbounded_lp", "unbounded_qp", "trust_constr",
]
