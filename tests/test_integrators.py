"""Each Runge-Kutta tableau converges at its declared order (diffrax-style step-size study).

The problem is the linear chain at depth 1 under Minnorm: an affine vector field
y' = A y + b in (w, lambda), whose exact solution is y* + expm(A t)(y0 - y*).
A and b are read off the NumPy vector field (exact for an affine field), so the
reference does not use the integrators under test.
"""
import numpy as np
import pytest
from scipy.linalg import expm

from theory import linear_chain as sim
from theory.integrators import TABLEAUX, discrete_plan, flow_plan

P_STAR, C, ETA_W, ETA_LAMBDA = 1.5, 0.7, 1.0, 2.0
Y0 = np.array([0.2, -0.4])
T = 2.0


def exact_solution(t: float) -> np.ndarray:
    params = np.array([P_STAR, 1.0, ETA_W, ETA_LAMBDA, 1.0, C])
    b = sim.field_numpy(np.zeros(2), params)
    A = np.column_stack([sim.field_numpy(e, params) - b for e in np.eye(2)])
    y_star = np.linalg.solve(A, -b)
    return y_star + expm(A * t) @ (Y0 - y_star)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_fitted_order_matches_declared(method, backend):
    reference = exact_solution(T)
    dts, errors = [], []
    for k in range(2, 12):
        dt = 2.0 ** -k
        traj = sim.minnorm_flow(P_STAR, [Y0[0]], c=C, eta_w=ETA_W, eta_lambda=ETA_LAMBDA,
                                lambda0=Y0[1], times=[T], dt=dt, method=method,
                                backend=backend)
        error = np.abs(traj.final - reference).max()
        if error < 1e-12:  # round-off floor: stop refining (diffrax stops at 2^-28 in float32 terms)
            break
        dts.append(dt)
        errors.append(error)
    assert len(dts) >= 3
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    # asymptotic slope is exactly the order; the coarsest steps add O(dt) corrections to the fit
    assert abs(slope - TABLEAUX[method].order) < 0.3, (method, slope)


def test_flow_plan_lands_on_sample_times():
    times = np.array([0.25, 1.0, 1.0, 3.7])
    plan = flow_plan(times, 0.1)
    assert np.allclose(np.cumsum(plan.counts * plan.sizes), times)
    assert np.all(plan.sizes <= 0.1 + 1e-15)
    assert plan.counts[2] == 0


def test_discrete_plan_counts_unit_steps():
    plan = discrete_plan(np.array([0, 3, 3, 10]))
    assert plan.counts.tolist() == [0, 3, 0, 7] and plan.total == 10
