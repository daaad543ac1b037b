"""Week 4, stochastic optimization: finite sums f = (1/n) Σ fᵢ with SGD, SVRG, SAGA and the theory helpers
(``finite_sum``; its names are re-exported here, so ``utils.stochastic.saga`` and
``from utils.stochastic import inverse_k`` work as before), the pytree optimizers (``adaptive``) and the step-size
schedules (``schedules``).
"""
from . import adaptive, finite_sum, schedules
from .finite_sum import (FiniteSum, finite_sum_logistic, finite_sum_least_squares, finite_sum_mean, minibatch_sampler,
                         constant, inverse_k, inverse_sqrt_k, step_decay, StochasticHistory, SGDState, sgd_init,
                         sgd_step, stochastic_gradient_descent, SVRGState, svrg_snapshot, svrg_step, svrg, SAGAState,
                         saga_init, saga_step, saga, gradient_variance, minibatch_variance, sgd_noise_floor,
                         sgd_expected_gap, svrg_rate_bound, saga_rate_bound)

__all__ = [
    "adaptive", "finite_sum", "schedules", "FiniteSum", "finite_sum_logistic", "finite_sum_least_squares",
    "finite_sum_mean", "minibatch_sampler", "constant", "inverse_k", "inverse_sqrt_k", "step_decay",
    "StochasticHistory", "SGDState", "sgd_init", "sgd_step", "stochastic_gradient_descent", "SVRGState",
    "svrg_snapshot", "svrg_step", "svrg", "SAGAState", "saga_init", "saga_step", "saga", "gradient_variance",
    "minibatch_variance", "sgd_noise_floor", "sgd_expected_gap", "svrg_rate_bound", "saga_rate_bound",
]
