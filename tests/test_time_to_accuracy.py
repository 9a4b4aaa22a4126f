"""Time-to-accuracy helpers (issue 11, item 2): they return a time only when the target
was reached, "not reached" (inf) otherwise, never a horizon, and their values agree with
independent computations.

- ``theory.measure.time_to_accuracy`` / ``first_crossing_time`` on signals whose crossing
  time is known in closed form;
- ``theory.linear_chain.l2_best_time_to_accuracy`` against solve_ivp of the L2 flow
  written from docs/linear_chain.md §2a.2, against a lower bound from the imbalance decay, and on
  a target no run can reach. Measuring the distance to -target instead of target makes
  every run miss eps: the helper then returns inf and the first test fails.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from analytic import linear_chain as exact
from theory import linear_chain as sim
from theory.measure import first_crossing_time, time_to_accuracy

P_STAR, W0 = 2.0, np.array([1.5, 0.3])


@pytest.mark.parametrize("rate", [0.3, 1.0, 2.5])
@pytest.mark.parametrize("eps", [1e-2, 1e-5])
def test_time_to_accuracy_of_an_exponential_is_exact(rate, eps):
    """d(t) = 2 e^(-rate t) is linear in log d, which the helper interpolates: T_eps =
    ln(2/eps)/rate to rounding (1e-12 relative), off the sample grid."""
    times = np.linspace(0.0, 30.0 / rate, 301)
    t = time_to_accuracy(times, 2.0 * np.exp(-rate * times), eps)
    assert t == pytest.approx(np.log(2.0 / eps) / rate, rel=1e-12)
    assert t not in times


def test_time_to_accuracy_is_inf_when_not_reached_never_the_horizon():
    times = np.linspace(0.0, 10.0, 101)
    slow = 2.0 * np.exp(-0.1 * times)  # 0.74 at the horizon
    assert time_to_accuracy(times, slow, 1e-2) == np.inf
    # dips below eps but leaves again: not settled, so still not reached
    leaves = np.where(times < 9.95, 1e-3, 1.0)
    assert time_to_accuracy(times, leaves, 1e-2) == np.inf
    assert time_to_accuracy(times, np.full(times.size, 1e-3), 1e-2) == 0.0


def test_first_crossing_time_of_a_linear_ramp_and_not_reached():
    times = np.linspace(0.0, 4.0, 41)
    assert first_crossing_time(times, 0.5 * times, 1.23) == pytest.approx(2.46, rel=1e-12)
    assert first_crossing_time(times, 0.5 * times, 2.5) == np.inf  # max is 2.0: never


def l2_flow_distance(beta: float, target: np.ndarray, times: np.ndarray) -> np.ndarray:
    """||w(t) - target|| along L2 flow from W0, dw_i/dt = (p* - p) p / w_i - beta w_i
    (docs/linear_chain.md §2a.2, eta = sigma = 1, L = 2: p / w_1 = w_2), by solve_ivp (DOP853,
    rtol 1e-12)."""
    def field(t, w):
        r = P_STAR - w[0] * w[1]
        return [r * w[1] - beta * w[0], r * w[0] - beta * w[1]]

    sol = solve_ivp(field, (0.0, times[-1]), W0, method="DOP853", rtol=1e-12, atol=1e-14,
                    t_eval=times)
    return np.linalg.norm(sol.y.T - target, axis=1)


@pytest.mark.parametrize("eps", [1e-2, 1e-3])
def test_best_l2_time_is_where_the_l2_flow_really_reaches_eps(eps):
    """At the returned beta, the exact L2 flow is farther than eps from the target just
    before T and within eps from T on (to the horizon 15/beta): T is the settling time of
    the run, not a horizon. Slack 0.2 % of T: rk4 at dt = 0.1 (error ~1e-7 on |w| ~ 1)
    and the log-linear interpolation between samples spaced 15/beta/2000 (~0.4 % of T,
    where the distance changes by a factor e^(-2 beta dt_sample) ~ 1.001)."""
    target = exact.min_norm_solution(P_STAR, 2)
    beta_high = exact.l2_beta_for_distance(P_STAR, eps, 2)
    t, beta = sim.l2_best_time_to_accuracy(P_STAR, W0, eps, target=target,
                                           beta_high=beta_high, samples=2001)
    assert np.isfinite(t), "eps was reachable (beta_high puts the fixed point within eps)"
    assert beta_high / 100 <= beta <= beta_high
    assert t < 15.0 / beta  # strictly inside its run, not at the horizon
    before, after, end = l2_flow_distance(beta, target,
                                          np.array([0.998 * t, 1.002 * t, 15 / beta]))
    assert before > eps and after <= eps and end <= eps
    # value bound: imbalance D(t) = D0 e^(-2 beta t) and ||w - w_MN|| >= |D| / (sqrt 2 (w1 +
    # w2)) with w1 + w2 <= 2 sqrt(p*) + sqrt 2 eps at T (verify's t_epsilon claim)
    d0, a = W0[0] ** 2 - W0[1] ** 2, np.sqrt(P_STAR)
    assert t >= np.log(d0 / (np.sqrt(2) * eps * (2 * a + np.sqrt(2) * eps))) / (2 * beta)


def test_best_l2_time_is_inf_when_no_run_reaches_eps():
    """A target off every L2 fixed point (its product is 4 p*) is never within 1e-3: the
    helper says "not reached" (inf) instead of returning a horizon such as 15/beta."""
    target = exact.min_norm_solution(P_STAR, 2) * 2.0
    t, beta = sim.l2_best_time_to_accuracy(P_STAR, W0, 1e-3, target=target, beta_high=0.02,
                                           samples=501)
    assert t == np.inf
    assert 0.02 / 100 <= beta <= 0.02
