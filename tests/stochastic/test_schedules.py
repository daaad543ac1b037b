"""Step-size schedules: equal to optax's (and torch.optim.lr_scheduler's where it has one) on every step of a grid
that runs past the end, on Python integers and on traced JAX integers under jit; bad arguments raise.

Tolerance: each schedule is ≤ ~10 flops on values ≤ η_peak, each with relative error ≤ u ≈ 1.1e-16, and libm /
XLA cosines differ by ≤ 1 ulp, so two implementations agree to ~10u·η_peak ≈ 1e-15·η_peak absolutely; we allow
ATOL = 1e-13·η_peak (100× margin) and rtol 1e-12. Values near 0 (the end of a cosine) are covered by the atol.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from utils.schedules import (constant_schedule, cosine_schedule, inverse_sqrt_schedule, linear_warmup_schedule,
                             one_cycle_schedule, step_schedule, warmup_cosine_schedule)

RTOL, ATOL = 1e-12, 1e-13
K = np.arange(0, 181)          # every step of a 150-step run and 30 past its end

CASES = {  # name: (ours, optax's, peak value)
    "constant": (constant_schedule(0.3), optax.constant_schedule(0.3), 0.3),
    "step": (step_schedule(0.5, step_size=40, gamma=0.3),
             optax.exponential_decay(0.5, transition_steps=40, decay_rate=0.3, staircase=True), 0.5),
    "step_piecewise": (step_schedule(0.5, step_size=40, gamma=0.3),
                       optax.piecewise_constant_schedule(0.5, {40: 0.3, 80: 0.3, 120: 0.3, 160: 0.3}), 0.5),
    "cosine": (cosine_schedule(0.2, decay_steps=150, eta_min=0.02),
               optax.cosine_decay_schedule(0.2, decay_steps=150, alpha=0.1), 0.2),
    "cosine_to_zero": (cosine_schedule(0.2, decay_steps=150), optax.cosine_decay_schedule(0.2, 150), 0.2),
    "linear_warmup": (linear_warmup_schedule(0.1, warmup_steps=25, eta_init=0.01),
                      optax.linear_schedule(0.01, 0.1, transition_steps=25), 0.1),
    "warmup_cosine": (warmup_cosine_schedule(1e-2, warmup_steps=20, total_steps=150, eta_init=1e-4, eta_end=1e-5),
                      optax.warmup_cosine_decay_schedule(1e-4, 1e-2, warmup_steps=20, decay_steps=150,
                                                         end_value=1e-5), 1e-2),
    "one_cycle": (one_cycle_schedule(0.4, total_steps=150),
                  optax.cosine_onecycle_schedule(transition_steps=150, peak_value=0.4), 0.4),
    "one_cycle_custom": (one_cycle_schedule(0.4, total_steps=150, pct_start=0.25, div_factor=10.0,
                                            final_div_factor=100.0),
                         optax.cosine_onecycle_schedule(150, 0.4, pct_start=0.25, div_factor=10.0,
                                                        final_div_factor=100.0), 0.4),
}


def _ours_eager(s):
    return np.array([float(s(int(k))) for k in K])


def _jitted(s):
    return np.asarray(jax.jit(jax.vmap(s))(jnp.asarray(K)))


@pytest.mark.parametrize("name", CASES)
def test_schedule_equals_optax_on_every_step(name):
    ours, ref, peak = CASES[name]
    want = np.array([float(ref(jnp.asarray(k))) for k in K])
    np.testing.assert_allclose(_ours_eager(ours), want, rtol=RTOL, atol=ATOL * peak)
    np.testing.assert_allclose(_jitted(ours), want, rtol=RTOL, atol=ATOL * peak)


def test_inverse_sqrt_is_vaswani_eq3():
    # lrate = d^{-1/2}·min(s^{-1/2}, s·w^{-3/2}), s = k + 1 (their steps start at 1), is ours with η = (d·w)^{-1/2}.
    d, w = 512, 40
    want = d ** -0.5 * np.minimum((K + 1.0) ** -0.5, (K + 1.0) * w ** -1.5)
    s = inverse_sqrt_schedule((d * w) ** -0.5, warmup_steps=w)
    np.testing.assert_allclose(_ours_eager(s), want, rtol=RTOL, atol=ATOL * want.max())
    np.testing.assert_allclose(_jitted(s), want, rtol=RTOL, atol=ATOL * want.max())
    assert np.argmax(want) == w - 1                  # the peak η is at s = w


def _torch_lrs(torch, make, steps):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


def test_schedules_equal_torch_lr_schedulers():
    torch = pytest.importorskip("torch", reason="torch is not installed: the torch.optim.lr_scheduler comparison "
                                                "needs it")
    lr_s = torch.optim.lr_scheduler
    n = 150
    # StepLR: η γ^⌊k/s⌋.
    got = _torch_lrs(torch, lambda o: lr_s.StepLR(o, step_size=40, gamma=0.3), n)
    np.testing.assert_allclose(_ours_eager(step_schedule(1.0, 40, 0.3))[:n], got, rtol=RTOL, atol=ATOL)
    # CosineAnnealingLR (k ≤ T; torch updates the lr recursively, which rounds a little per step: measured ~1e-15).
    got = _torch_lrs(torch, lambda o: lr_s.CosineAnnealingLR(o, T_max=n, eta_min=0.1), n)
    np.testing.assert_allclose(_ours_eager(cosine_schedule(1.0, n, eta_min=0.1))[:n], got, rtol=RTOL, atol=ATOL)
    # LinearLR warmup: start_factor = η₀/η.
    got = _torch_lrs(torch, lambda o: lr_s.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=25), n)
    np.testing.assert_allclose(_ours_eager(linear_warmup_schedule(1.0, 25, eta_init=0.1))[:n], got,
                               rtol=RTOL, atol=ATOL)


def test_torch_one_cycle_peaks_one_step_earlier_than_optax():
    torch = pytest.importorskip("torch", reason="torch is not installed: the OneCycleLR comparison needs it")
    T = 100
    got = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=T,
                                                                          cycle_momentum=False), T)
    s = one_cycle_schedule(1.0, total_steps=T)
    ours = _ours_eager(s)[:T]
    assert (int(np.argmax(got)), int(np.argmax(ours))) == (int(0.3 * T) - 1, int(0.3 * T))
    # Same start η_max/d and same floor η_max/(d·d_f), which torch reaches at T − 1 and optax/ours at T.
    np.testing.assert_allclose([got[0], got[-1]], [ours[0], float(s(T))], rtol=1e-12)
    assert np.max(np.abs(got - ours)) > 1e-3           # the indexing difference is real, not rounding


def test_schedules_start_and_end_where_documented():
    s = warmup_cosine_schedule(1.0, warmup_steps=10, total_steps=110, eta_init=0.1, eta_end=0.01)
    np.testing.assert_allclose([s(0), s(10), s(60), s(110), s(500)], [0.1, 1.0, 0.505, 0.01, 0.01],
                               rtol=1e-12)
    c = one_cycle_schedule(2.0, total_steps=100, div_factor=20.0, final_div_factor=50.0)
    np.testing.assert_allclose([c(0), c(30), c(100), c(1000)], [0.1, 2.0, 2.0 / 1000, 2.0 / 1000], rtol=1e-12)
    assert math.isclose(float(step_schedule(1.0, 3, 0.5)(8)), 0.25, rel_tol=1e-15)


@pytest.mark.parametrize("make, name", [
    (lambda: constant_schedule(0.0), "eta"),
    (lambda: constant_schedule("0.1"), "eta"),
    (lambda: step_schedule(-1.0, 10), "eta"),
    (lambda: step_schedule(1.0, 0), "step_size"),
    (lambda: step_schedule(1.0, 2.5), "step_size"),
    (lambda: step_schedule(1.0, 10, gamma=0.0), "gamma"),
    (lambda: step_schedule(1.0, 10, gamma=1.5), "gamma"),
    (lambda: cosine_schedule(float("nan"), 10), "eta"),
    (lambda: cosine_schedule(1.0, 0), "decay_steps"),
    (lambda: cosine_schedule(1.0, 10, eta_min=-0.1), "eta_min"),
    (lambda: linear_warmup_schedule(1.0, 0), "warmup_steps"),
    (lambda: linear_warmup_schedule(1.0, 5, eta_init=-1.0), "eta_init"),
    (lambda: warmup_cosine_schedule(1.0, 10, 10), "total_steps"),
    (lambda: warmup_cosine_schedule(1.0, 10, 100, eta_end=-1.0), "eta_end"),
    (lambda: one_cycle_schedule(0.0, 100), "eta_max"),
    (lambda: one_cycle_schedule(1.0, 100, pct_start=0.0), "pct_start"),
    (lambda: one_cycle_schedule(1.0, 100, div_factor=0.0), "div_factor"),
    (lambda: one_cycle_schedule(1.0, 100, final_div_factor=-2.0), "final_div_factor"),
    (lambda: inverse_sqrt_schedule(1.0, 0), "warmup_steps"),
])
def test_bad_arguments_raise_naming_them(make, name):
    with pytest.raises(ValueError, match=name):
        make()
