"""Deep linear solvers: jitted kernel vs NumPy twin, the invariants of the flows, the
initializations, statuses and bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytic import deep_linear as exact
from theory import deep_linear as sim
from theory import solve
from theory.results import Status
from theory.solve import Problem


@st.composite
def problems(draw, min_depth: int = 1, max_depth: int = 4):
    """(X, Y, W0) with P < N_i, depth min_depth..max_depth, random widths and scale, seeded."""
    n_in = draw(st.integers(3, 8))
    n_samples = draw(st.integers(1, n_in - 1))
    n_out = draw(st.integers(1, 4))
    depth = draw(st.integers(min_depth, max_depth))
    widths = [n_in] + [draw(st.integers(1, 6)) for _ in range(depth - 1)] + [n_out]
    seed = draw(st.integers(0, 2 ** 31))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_in))
    Y = X @ (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).T
    return X, Y, sim.gaussian_init(widths, draw(st.floats(0.1, 1.5)), seed)


def run(name, X, Y, W0, backend):
    common = {"backend": backend}
    discrete, flow = {"steps": [1, 5, 40]}, {"times": [0.2, 1.0], "method": "rk4", "dt": 0.02}
    kwargs = {"gradient_descent": {"lr": 0.05, **discrete},
              "gradient_flow": flow,
              "l2_descent": {"lr": 0.05, "beta": 0.2, **discrete},
              "l2_flow": {"beta": 0.2, **flow},
              "minnorm_descent": {"c": 1.5, "lr_w": 0.05, "lr_lambda": 0.05, **discrete},
              "minnorm_flow": {"c": 1.5, "lambda0": np.full(Y.shape, 0.1), **flow}}[name]
    return sim.SOLVERS[name](X, Y, W0, **{**common, **kwargs})


@pytest.mark.parametrize("name", sorted(sim.SOLVERS))
@given(problem=problems())
def test_jitted_matches_numpy_twin(name, problem):
    X, Y, W0 = problem
    fast, slow = run(name, X, Y, W0, "numba"), run(name, X, Y, W0, "numpy")
    assert fast.status == slow.status and fast.steps == slow.steps
    # the twins sum their products in different orders (loops or BLAS against NumPy's
    # BLAS): ~1e-16 apart per product, amplified as the dynamics amplify perturbations,
    # which a diverging run does by about its growth (seen: 3e-12 at growth 3e4)
    scale = np.maximum(1.0, np.abs(slow.states))
    growth = max(1.0, np.abs(slow.states).max() / np.abs(slow.states[0]).max())
    assert np.max(np.abs(fast.states - slow.states) / scale) <= 1e-12 * growth


@given(problem=problems())
def test_vector_field_is_minus_the_loss_gradient(problem):
    X, Y, W0 = problem
    widths = np.array([X.shape[1]] + [w.shape[0] for w in W0])
    y = sim.pack(W0)

    def loss(v):  # (1/2P) ||Y - X M^T||^2, samples as rows
        R = Y - X @ sim.product(sim.unpack(v, widths)).T
        return 0.5 * np.sum(R ** 2) / X.shape[0]

    h = 1e-6
    grad = np.array([(loss(y + h * e) - loss(y - h * e)) / (2 * h) for e in np.eye(y.size)])
    field = sim.field_numpy(y, X.T, Y.T, widths, np.array([1.0, 0.0, 0.0, 1.0]))
    np.testing.assert_allclose(field, -grad, rtol=1e-5, atol=1e-7)


@given(problem=problems())
def test_gradient_descent_freezes_the_null_space_component(problem):
    X, Y, W0 = problem
    projector = exact.null_space_projector(X)
    W1 = sim.gradient_descent(X, Y, W0, lr=0.05, steps=[300]).weights_at()[0]
    np.testing.assert_allclose(W1 @ projector, W0[0] @ projector, atol=1e-12)


@given(problem=problems(min_depth=2), beta=st.floats(0.0, 0.5))
def test_balance_matrices_follow_the_derived_rate(problem, beta):
    """d/dt D_l = -2 eta beta D_l exactly for the flow, so the simulated D_l(1) equals
    exp(-2 beta) D_l(0) up to the integration error. Adaptive Dormand-Prince at the default
    tolerances (local error <= 1e-15 + 1e-12 |y| per step, ~1e3 steps) leaves ~1e-12 |W|
    on the weights, so ~1e-11 |W|^2 on D_l; the bound 1e-9 max(1, |W|^2) is 100 times that.
    (A fixed rk4 step is not enough: a 1-sample, depth-4 draw with |W| ~ 2.5 is stiff
    enough that dt = 4e-3 misses by 3.)"""
    X, Y, W0 = problem
    before = exact.balance_matrices(W0)
    traj = sim.l2_flow(X, Y, W0, beta=beta, times=[1.0])
    assert traj.success
    after = exact.balance_matrices(traj.weights_at())
    scale = max(1.0, max(np.abs(w).max() for w in W0 + traj.weights_at()) ** 2)
    for d0, d1 in zip(before, after):
        assert np.abs(d1 - np.exp(-2 * beta) * d0).max() <= 1e-9 * scale


def test_balanced_init_has_zero_balance_matrices():
    weights = sim.balanced_init([6, 5, 5, 3], [2.0, 1.0, 0.5], seed=3)
    for d in exact.balance_matrices(weights):
        np.testing.assert_allclose(d, 0.0, atol=1e-12)


def test_saxe_init_puts_every_mode_at_u0_and_is_balanced():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 5))
    Y = X @ rng.standard_normal((3, 5)).T
    weights = sim.saxe_init(X, Y, [5, 4, 4, 3], u0=0.02, seed=2)
    U, _, Vt = np.linalg.svd(Y.T @ X / 9, full_matrices=False)
    np.testing.assert_allclose(U.T @ sim.product(weights) @ Vt.T, 0.02 * np.eye(3), atol=1e-14)
    for d in exact.balance_matrices(weights):
        np.testing.assert_allclose(d, 0.0, atol=1e-14)


def test_divergence_is_reported_with_its_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 6))
    Y = 3 * X @ rng.standard_normal((2, 6)).T
    W0 = sim.gaussian_init([6, 6, 6, 2], 1.5, seed=1)
    traj = sim.gradient_descent(X, Y, W0, lr=2.0, steps=[10, 1000], stop_tol=1e-12)
    assert traj.status is Status.DIVERGED and traj.diverged_at is not None
    assert np.all(np.isfinite(traj.states))


X0 = np.ones((3, 4))
Y0 = np.ones((3, 2))
W_OK = [np.ones((5, 4)), np.ones((2, 5))]
BAD_CALLS = [
    ("X and Y", lambda: sim.gradient_descent(X0, np.ones((4, 2)), W_OK, lr=0.1, steps=[2])),
    ("X", lambda: sim.gradient_descent(np.full((3, 4), np.nan), Y0, W_OK, lr=0.1, steps=[2])),
    ("weights0", lambda: sim.gradient_descent(X0, Y0, [], lr=0.1, steps=[2])),
    ("weights0", lambda: sim.gradient_descent(X0, Y0, [np.ones((5, 3)), np.ones((2, 5))],
                                              lr=0.1, steps=[2], stop_tol=1e-12)),
    ("weights", lambda: sim.gradient_descent(X0, Y0, [np.ones((5, 4)), np.ones((2, 6))],
                                             lr=0.1, steps=[2], stop_tol=1e-12)),
    ("lr", lambda: sim.gradient_descent(X0, Y0, W_OK, lr=0.0, steps=[2])),
    ("beta", lambda: sim.l2_flow(X0, Y0, W_OK, beta=-1.0, times=[1.0], method="rk4", dt=1e-2)),
    ("c", lambda: sim.minnorm_flow(X0, Y0, W_OK, c=-1.0, times=[1.0], method="rk4", dt=1e-2)),
    ("lambda0", lambda: sim.minnorm_flow(X0, Y0, W_OK, c=1.0, times=[1.0],
                                         lambda0=np.ones((2, 3)), method="rk4", dt=1e-2)),
    ("dt", lambda: sim.gradient_flow(X0, Y0, W_OK, times=[1.0], dt=-1.0, method="rk4")),
    ("sigma0", lambda: sim.gaussian_init([4, 2], 0.0, seed=1)),
    ("widths", lambda: sim.gaussian_init([4], 1.0, seed=1)),
    ("widths", lambda: sim.gaussian_init([4, 0, 2], 1.0, seed=1)),
    ("seed", lambda: sim.gaussian_init([4, 2], 1.0, seed=-3)),
    ("singular_values", lambda: sim.balanced_init([4, 2], [1.0, 2.0, 3.0], seed=1)),
    ("u0", lambda: sim.saxe_init(X0, Y0, [4, 2], u0=0.0, seed=1)),
    ("widths", lambda: sim.saxe_init(X0, Y0, [5, 3, 2], u0=0.1, seed=1)),
    ("strengths", lambda: sim.whitened_teacher([1.0, -1.0], n_in=4, n_samples=8)),
    ("strengths", lambda: sim.whitened_teacher([1.0, 1.0], n_in=4, n_samples=8)),
    ("no multiplier", lambda: sim.gradient_descent(X0, Y0, W_OK, lr=0.1,
                                                   steps=[2], stop_tol=1e-12).multipliers[-1]),
]


@pytest.mark.parametrize("argument,call", BAD_CALLS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


def test_instance_generators_are_exact_and_deterministic():
    X, Y = sim.whitened_teacher([3.0, 1.0], n_in=4, n_samples=8, seed=5)
    np.testing.assert_allclose(X.T @ X / 8, np.eye(4), atol=1e-14)
    np.testing.assert_allclose(np.linalg.svd(Y.T @ X / 8, compute_uv=False)[:2], [3.0, 1.0])
    a, b = sim.teacher_student(6, 2, 4, noise=0.5, seed=3), sim.teacher_student(6, 2, 4, 0.5, 3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="n_samples"):
        sim.whitened_teacher([1.0, 2.0, 3.0], n_in=4, n_samples=3)


@pytest.mark.parametrize("name", ["gradient_flow", "l2_flow", "minnorm_flow"])
def test_adaptive_flow_matches_its_twin_and_a_fine_fixed_step_run(name):
    X, Y, _ = sim.teacher_student(6, 3, 5, seed=2)
    W0 = sim.gaussian_init([6, 5, 3], 0.5, seed=3)
    extra = {"l2_flow": {"beta": 0.05}, "minnorm_flow": {"c": 2.0}}.get(name, {})
    solver = sim.SOLVERS[name]
    common = {"times": [1.0, 10.0], **extra}
    fast = solver(X, Y, W0, method="dopri5", rtol=1e-10, atol=1e-13, **common)
    slow = solver(X, Y, W0, method="dopri5", rtol=1e-10, atol=1e-13, backend="numpy",
                  **common)
    assert fast.steps == slow.steps
    np.testing.assert_allclose(fast.states, slow.states, rtol=1e-11, atol=1e-13)
    fine = solver(X, Y, W0, method="rk4", dt=2e-3, **common)  # rk4: error ~ dt^4 ~ 1e-11
    assert np.max(np.abs(fast.states - fine.states)) < 1e-8
    assert fast.steps < 5000 // 5


def test_adaptive_flow_reports_an_exhausted_step_budget_and_rejects_bad_tolerances():
    X, Y, _ = sim.teacher_student(6, 3, 5, seed=2)
    W0 = sim.gaussian_init([6, 5, 3], 0.5, seed=3)
    traj = sim.gradient_flow(X, Y, W0, times=[100.0], method="dopri5", max_steps=5, first_step=1e-2, rtol=1e-10, atol=1e-13)
    assert traj.status is Status.STEP_BUDGET
    for bad in ({"rtol": 0.0}, {"atol": np.inf}, {"max_steps": 0}):
        with pytest.raises(ValueError):
            sim.gradient_flow(X, Y, W0, times=[1.0], method="dopri5", **bad)


@pytest.mark.parametrize("n_samples, l2", [(30, False), (30, True), (3, False)])
def test_covariance_form_follows_the_data_form(n_samples, l2):
    """The kernel's covariance form (S_xx, S_yx: chosen when it takes fewer products, here
    P = 30 > N_i = 5) runs the same dynamics as its data form: gradient descent and L2
    from both agree to round-off amplified over 200 steps."""
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((n_samples, 5)), rng.standard_normal((n_samples, 2))
    weights0 = sim.gaussian_init([5, 4, 3, 2], 0.5, seed=1)
    widths = np.array([5, 4, 3, 2])
    params = np.array([0.05, 0.0, 0.1 if l2 else 0.0, 1.0])
    X_c, Y_c = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    chosen = sim.kernel_data(X_c, Y_c, widths, params, minnorm=False)
    assert (chosen[3][sim.FORM] == sim.COVARIANCE) == (n_samples == 30)
    assert sim.kernel_data(X_c, Y_c, widths, params, minnorm=True)[3][sim.FORM] == sim.DATA
    data = (X_c, Y_c, widths, np.append(params, sim.DATA))
    covariance = (X_c @ X_c.T / n_samples, Y_c @ X_c.T / n_samples, widths,
                  np.append(params, sim.COVARIANCE))
    y0 = sim.pack(weights0)
    finals = []
    for args in (data, covariance):
        problem = Problem(sim.LOOPS, tuple(np.ascontiguousarray(a) for a in args), lambda y: y)
        finals.append(solve.discrete(problem, y0, [200]).final)
    # products summed in different orders: ~1e-16 per step, amplified by at most
    # (1 + lr |Hessian|)^200 ~ e^2 over 200 steps at lr 0.05 on O(1) data
    np.testing.assert_allclose(finals[1], finals[0], rtol=1e-12, atol=1e-13)
