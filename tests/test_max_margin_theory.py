"""Max-margin solvers: jitted kernel vs NumPy twin, overflow safety, statuses, bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory import max_margin as sim
from theory.linalg import TRANSPOSED_BLOCK_ROWS
from theory.results import Status

data_sets = st.builds(sim.separable_data, st.integers(2, 25), st.integers(1, 5),
                      st.floats(0.1, 1.0), st.integers(0, 2 ** 31))


def run(name: str, X, y, backend: str):
    common = {"backend": backend}
    lr = 0.5 / np.linalg.norm(X, 2) ** 2
    kwargs = {
        "gradient_descent": {"lr": lr, "steps": [1, 9, 60]},
        "gradient_flow": {"times": [0.5, 3.0], "method": "rk4", "dt": 0.05, "eta": lr},
        "minnorm_descent": {"lr_w": 0.2, "lr_lambda": lr, "steps": [1, 9, 60],
                            "lambda0": np.full(len(y), 0.01)},
        "minnorm_flow": {"times": [0.5, 3.0], "method": "rk4", "dt": 0.05, "eta_lambda": 2 * lr},
    }[name]
    return sim.SOLVERS[name](X, y, **{**common, **kwargs})


@pytest.mark.parametrize("name", sorted(sim.SOLVERS))
@given(data=data_sets)
def test_jitted_matches_numpy_twin(name, data):
    X, y = data
    fast, slow = run(name, X, y, "numba"), run(name, X, y, "numpy")
    assert fast.status == slow.status and fast.steps == slow.steps
    scale = np.maximum(1.0, np.abs(slow.states))
    assert np.max(np.abs(fast.states - slow.states) / scale) <= 1e-12


@pytest.mark.parametrize("name", sorted(sim.SOLVERS))
def test_several_blocks_match_numpy_twin(name):
    """Beyond TRANSPOSED_BLOCK_ROWS samples the kernel runs over several blocks of Z^T,
    the last one zero-padded (which must add nothing, and no multiplier)."""
    X, y = sim.separable_data(2 * TRANSPOSED_BLOCK_ROWS + 37, 4, 0.5, seed=3)
    fast, slow = run(name, X, y, "numba"), run(name, X, y, "numpy")
    assert fast.status == slow.status and fast.steps == slow.steps
    scale = np.maximum(1.0, np.abs(slow.states))
    assert np.max(np.abs(fast.states - slow.states) / scale) <= 1e-12


@pytest.mark.parametrize("loss", ["logistic", "exponential"])
def test_loss_twin_agrees_and_field_is_minus_the_gradient(loss):
    X, y = sim.separable_data(12, 3, 0.4, seed=5)
    w = np.array([0.3, -1.2, 0.8])
    h = 1e-6
    grad = np.array([(sim.loss(w + h * e, X, y, loss) - sim.loss(w - h * e, X, y, loss)) / (2 * h)
                     for e in np.eye(3)])
    code = {"logistic": sim.LOGISTIC, "exponential": sim.EXPONENTIAL}[loss]
    field = sim.field_numpy(w, sim.signed_data(X, y), np.array([code, 1.0, 0.0]))
    np.testing.assert_allclose(field, -grad, rtol=1e-6, atol=1e-8)


def test_logistic_field_is_exact_at_huge_margins():
    """sigmoid(-u) in the overflow-safe form: no inf/nan for |u| up to 1e300."""
    Z = np.array([[1.0], [-1.0]])
    for w in (1e300, -1e300, 800.0, -800.0):
        field = sim.field_numpy(np.array([w]), Z, np.array([sim.LOGISTIC, 1.0, 0.0]))
        assert np.all(np.isfinite(field))


def test_long_horizon_gradient_descent_stays_finite():
    X, y = sim.separable_data(30, 5, 0.5, seed=1)
    traj = sim.gradient_descent(X, y, lr=0.01, steps=[2_000_000])
    assert traj.status is Status.COMPLETED and np.all(np.isfinite(traj.states))


def test_minnorm_multipliers_stay_non_negative():
    X, y = sim.separable_data(20, 3, 0.3, seed=2)
    traj = sim.minnorm_descent(X, y, lr_w=0.2, lr_lambda=0.05, steps=np.arange(1, 300), stop_tol=1e-12)
    assert traj.multipliers.min() >= 0.0
    assert np.any(traj.multipliers[-1] == 0.0)  # non-support examples are switched off


def test_exponential_loss_divergence_is_reported_with_its_step():
    """Non-separable data (loss e^-w + e^w): a step of 5 overshoots until e^|w| overflows."""
    X, y = np.array([[1.0], [-1.0]]), np.array([1.0, 1.0])
    traj = sim.gradient_descent(X, y, lr=5.0, loss="exponential", steps=[10, 1000], w0=[1.0], stop_tol=1e-12)
    assert traj.status is Status.DIVERGED and traj.diverged_at is not None
    assert np.all(np.isfinite(traj.states))


def test_separable_data_is_deterministic_and_separable_with_the_margin():
    from analytic.max_margin import max_margin

    X1, y1 = sim.separable_data(50, 4, 0.3, seed=9)
    X2, y2 = sim.separable_data(50, 4, 0.3, seed=9)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) <= {-1.0, 1.0}
    assert max_margin(X1, y1).margin >= 0.3 - 1e-12  # the unit w* already achieves 0.3


X0, Y0 = sim.separable_data(6, 2, 0.5, seed=0)
BAD_CALLS = [
    ("X", lambda: sim.gradient_descent([1.0, 2.0], Y0, lr=0.1, steps=[3])),
    ("X", lambda: sim.gradient_descent(np.full((6, 2), np.nan), Y0, lr=0.1, steps=[3])),
    ("y", lambda: sim.gradient_descent(X0, Y0[:-1], lr=0.1, steps=[3])),
    ("y", lambda: sim.gradient_descent(X0, Y0 * 0.5, lr=0.1, steps=[3])),
    ("y", lambda: sim.gradient_descent(X0, np.where(Y0 > 0, 1.0, 0.0), lr=0.1, steps=[3])),
    ("w0", lambda: sim.gradient_descent(X0, Y0, lr=0.1, steps=[3], w0=[1.0, 2.0, 3.0])),
    ("lr", lambda: sim.gradient_descent(X0, Y0, lr=-0.1, steps=[3])),
    ("loss", lambda: sim.gradient_descent(X0, Y0, lr=0.1, steps=[3], loss="hinge")),
    ("steps", lambda: sim.gradient_descent(X0, Y0, lr=0.1, steps=[0])),
    ("dt", lambda: sim.gradient_flow(X0, Y0, times=[1.0], dt=0.0, method="rk4")),
    ("lambda0", lambda: sim.minnorm_descent(X0, Y0, lr_w=0.1, lr_lambda=0.1, steps=[3],
                                            lambda0=-np.ones(6))),
    ("lambda0", lambda: sim.minnorm_descent(X0, Y0, lr_w=0.1, lr_lambda=0.1, steps=[3],
                                            lambda0=np.ones(5))),
    ("lr_lambda", lambda: sim.minnorm_descent(X0, Y0, lr_w=0.1, lr_lambda=0.0, steps=[3])),
    ("eta_w", lambda: sim.minnorm_flow(X0, Y0, times=[1.0], eta_w=np.inf, method="rk4", dt=1e-2)),
    ("margin", lambda: sim.separable_data(5, 2, 0.0, seed=1)),
    ("n_samples", lambda: sim.separable_data(2.5, 2, 0.3, seed=1)),
    ("dim", lambda: sim.separable_data(5, "3", 0.3, seed=1)),
    ("seed", lambda: sim.separable_data(5, 2, 0.3, seed=-1)),
    ("direction", lambda: sim.angle(np.ones((2, 2)), np.zeros(2))),
    ("w must be finite", lambda: sim.angle(np.full((1, 2), np.nan), np.ones(2))),
    ("w must be finite", lambda: sim.angle(np.ones((1, 3)), np.ones(2))),
]


@pytest.mark.parametrize("argument,call", BAD_CALLS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize("name", ["gradient_flow", "minnorm_flow"])
def test_adaptive_flow_matches_its_twin_and_a_fine_fixed_step_run(name):
    X, y = sim.separable_data(30, 5, 0.5, seed=1)
    solver = sim.SOLVERS[name]
    kwargs = {"times": [2.0, 20.0]}
    fast = solver(X, y, method="dopri5", rtol=1e-10, atol=1e-13, **kwargs)
    slow = solver(X, y, method="dopri5", rtol=1e-10, atol=1e-13, backend="numpy",
                  **kwargs)
    if name == "gradient_flow":
        assert fast.steps == slow.steps
        np.testing.assert_allclose(fast.states, slow.states, rtol=1e-12, atol=1e-13)
    else:
        # at the instants the projection clips a multiplier the error estimate sits near
        # 1, so round-off can flip an accept/reject decision: the step sequences differ
        # (1767 vs 1760 accepted here) and the states agree to the local tolerance
        np.testing.assert_allclose(fast.states, slow.states, rtol=0, atol=1e-8)
    # independent: rk4 at dt = 1e-3 (error ~ dt^4 ~ 1e-12 while lambda stays positive)
    fine = solver(X, y, method="rk4", dt=1e-3, **kwargs)
    tolerance = 1e-7 if name == "gradient_flow" else 1e-4  # projection: first order at switches
    assert np.max(np.abs(fast.states - fine.states)) < tolerance
    assert fast.steps < 2.0e4 // 10  # far fewer steps than the fixed-step run's 20,000


def test_adaptive_flow_reports_an_exhausted_step_budget():
    X, y = sim.separable_data(30, 5, 0.5, seed=1)
    traj = sim.gradient_flow(X, y, times=[1e3], method="dopri5", max_steps=10, first_step=1e-2, rtol=1e-10, atol=1e-13)
    assert traj.status is Status.STEP_BUDGET and traj.steps <= 10


@pytest.mark.parametrize("bad", [{"rtol": 0.0}, {"atol": -1.0}, {"rtol": np.nan},
                                 {"max_steps": 0}])
def test_adaptive_flow_rejects_bad_tolerances(bad):
    X, y = sim.separable_data(30, 5, 0.5, seed=1)
    with pytest.raises(ValueError):
        sim.gradient_flow(X, y, times=[1.0], method="dopri5", **bad)
