"""Linear-chain solvers: jitted kernel vs NumPy twin, statuses, and bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory import linear_chain as sim
from theory.measure import time_to_accuracy
from theory.results import DivergenceError, Status

P_STAR = 2.0

weights = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.floats(0.3, 1.5), min_size=n, max_size=n))


def run(name: str, w0, backend: str, **extra):
    """Call solver ``name`` with parameters that keep the dynamics finite."""
    common = {"backend": backend}
    discrete = {"steps": [1, 7, 40, 150]}
    flow = {"times": [0.1, 0.5, 2.0], "method": "rk4", "dt": 0.01}
    kwargs = {
        "gradient_descent": {"lr": 0.02, **discrete},
        "gradient_flow": flow,
        "l2_descent": {"lr": 0.02, "beta": 0.3, **discrete},
        "l2_flow": {"beta": 0.3, **flow},
        "minnorm_descent": {"c": 0.8, "lr_w": 0.02, "lr_lambda": 0.03, "lambda0": 0.1, **discrete},
        "minnorm_flow": {"c": 0.8, "eta_w": 1.0, "eta_lambda": 1.5, "lambda0": 0.1, **flow},
    }[name]
    return sim.SOLVERS[name](P_STAR, w0, **{**common, **kwargs, **extra})


@pytest.mark.parametrize("name", sorted(sim.SOLVERS))
@given(w0=weights)
def test_jitted_matches_numpy_twin(name, w0):
    fast, slow = run(name, w0, "numba"), run(name, w0, "numpy")
    assert fast.status == slow.status and fast.steps == slow.steps
    np.testing.assert_array_equal(fast.times, slow.times)
    scale = np.maximum(1.0, np.abs(slow.states))
    assert np.max(np.abs(fast.states - slow.states) / scale) <= 1e-12


@given(y=st.lists(st.floats(-3, 3), min_size=2, max_size=7), c=st.floats(0, 3),
       lam=st.floats(-2, 2))
def test_vector_field_is_the_augmented_lagrangian_gradient(y, c, lam):
    """dw/dt = -eta_w dL_c/dw (central differences of the augmented Lagrangian written out
    independently) and dlambda/dt = eta_lambda sigma r (multiplier ascent)."""
    w = np.array(y)
    sigma, eta_w, eta_l = 1.3, 0.7, 1.1
    params = np.array([P_STAR, sigma, eta_w, eta_l, 1.0, c])

    def lagrangian(w_):
        r = P_STAR - np.prod(w_)
        return 0.5 * w_ @ w_ + lam * r + 0.5 * c * sigma * r ** 2

    h = 1e-6
    grad = np.array([(lagrangian(w + h * e) - lagrangian(w - h * e)) / (2 * h)
                     for e in np.eye(w.size)])
    field = sim.field_numpy(np.append(w, lam), params)
    np.testing.assert_allclose(field[:-1], -eta_w * grad, rtol=1e-6, atol=1e-6)
    assert field[-1] == pytest.approx(eta_l * sigma * (P_STAR - np.prod(w)))


def test_converged_status_stops_early_and_fills_the_remaining_samples():
    traj = sim.gradient_flow(P_STAR, [1.5, 0.3], times=[10.0, 100.0, 1000.0], dt=0.01, stop_tol=1e-12, method="rk4")
    assert traj.status is Status.CONVERGED and traj.steps < 100_000
    np.testing.assert_array_equal(traj.states[-1], traj.states[-2])


def test_max_steps_status_when_tolerance_is_off():
    traj = sim.gradient_flow(P_STAR, [1.5, 0.3], times=[5.0], dt=0.01, method="rk4")
    assert traj.status is Status.COMPLETED and traj.steps == 500


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_divergence_is_reported_with_its_step_and_no_nan(backend):
    traj = sim.gradient_descent(P_STAR, [1.5, 0.3], lr=3.0, steps=[5, 50, 500], backend=backend, stop_tol=1e-12)
    assert traj.status is Status.DIVERGED
    assert traj.diverged_at is not None and 0 < traj.diverged_at <= 500
    assert np.all(np.isfinite(traj.states)) and traj.times[-1] < traj.diverged_at
    with pytest.raises(DivergenceError, match=f"step {traj.diverged_at}"):
        traj.raise_if_diverged()


def test_problem_from_data():
    x, y = np.array([1.0, 2.0, -1.0]), np.array([2.0, 4.1, -2.0])
    p_star, sigma = sim.problem_from_data(x, y)
    assert sigma == pytest.approx(6.0) and p_star == pytest.approx((2 + 8.2 + 2) / 6)


BAD_CALLS = [
    ("w0", lambda: sim.gradient_flow(P_STAR, [], times=[1.0], method="rk4", dt=1e-2)),  # depth < 1
    ("w0", lambda: sim.gradient_flow(P_STAR, [[1.0, 2.0]], times=[1.0], method="rk4", dt=1e-2)),
    ("w0", lambda: sim.gradient_flow(P_STAR, [1.0, np.nan], times=[1.0], method="rk4", dt=1e-2)),
    ("p_star", lambda: sim.gradient_flow(np.inf, [1.0, 1.0], times=[1.0], method="rk4", dt=1e-2)),
    ("sigma", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], sigma=0.0, times=[1.0], method="rk4", dt=1e-2)),
    ("dt", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1.0], dt=0.0, method="rk4")),
    ("dt", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1.0], dt=-1e-3, method="rk4")),
    ("eta", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1.0], eta=0.0, method="rk4", dt=1e-2)),
    ("times", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[0.0], method="rk4", dt=1e-2)),  # no horizon
    ("times", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[2.0, 1.0], method="rk4", dt=1e-2)),
    ("times", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[np.inf], method="rk4", dt=1e-2)),
    ("lr", lambda: sim.gradient_descent(P_STAR, [1.0, 1.0], lr=0.0, steps=[10])),
    ("steps", lambda: sim.gradient_descent(P_STAR, [1.0, 1.0], lr=0.1, steps=[0])),
    ("steps", lambda: sim.gradient_descent(P_STAR, [1.0, 1.0], lr=0.1, steps=[2.5])),
    ("beta", lambda: sim.l2_flow(P_STAR, [1.0, 1.0], beta=-0.1, times=[1.0], method="rk4", dt=1e-2)),
    ("beta", lambda: sim.l2_descent(P_STAR, [1.0, 1.0], beta=np.nan, lr=0.1, steps=[3])),
    ("c", lambda: sim.minnorm_flow(P_STAR, [1.0, 1.0], c=-1.0, times=[1.0], method="rk4", dt=1e-2)),
    ("lr_lambda", lambda: sim.minnorm_descent(P_STAR, [1.0, 1.0], c=1.0, lr_w=0.1,
                                              lr_lambda=0.0, steps=[3])),
    ("lambda0", lambda: sim.minnorm_flow(P_STAR, [1.0, 1.0], c=1.0, times=[1.0],
                                         lambda0=np.nan, method="rk4", dt=1e-2)),
    ("tol", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1.0], stop_tol=-1.0, method="rk4", dt=1e-2)),
    ("method", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1.0], method="rk45", dt=1e-2)),
    ("backend", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1.0], backend="jax", method="rk4", dt=1e-2)),
    ("x and y", lambda: sim.problem_from_data([1.0, 2.0], [1.0])),
    ("x", lambda: sim.problem_from_data([0.0, 0.0], [1.0, 1.0])),
    ("w0", lambda: sim.gradient_flow(P_STAR, "ab", times=[1.0], method="rk4", dt=1e-2)),
    ("steps", lambda: sim.gradient_descent(P_STAR, [1.0, 1.0], lr=0.1, steps="x")),
    ("dt", lambda: sim.gradient_flow(P_STAR, [1.0, 1.0], times=[1e3], dt=1e-16, method="rk4")),
    ("p_star", lambda: sim.loss([1.0, 2.0], np.nan)),
    ("sigma", lambda: sim.loss([1.0, 2.0], 1.0, sigma=-1.0)),
    ("distances", lambda: time_to_accuracy([0.0, 1.0], [1.0, np.nan], 0.1)),
    ("same shape", lambda: time_to_accuracy([0.0, 1.0], [1.0, 0.5, 0.1], 0.1)),
]


@pytest.mark.parametrize("argument,call", BAD_CALLS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()
