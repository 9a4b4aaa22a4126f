"""ReLU network solvers: jitted kernel vs NumPy twin, the field against finite differences
of independently written objectives, multipliers, divergence, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import relu_network as sim
from theory.results import Status

SQRT2 = np.sqrt(2.0)


def classification(seed: int, n_samples: int = 15, n_in: int = 6, widths=(7, 4)):
    X, y = sim.small_classification(n_samples, n_in, widths[-1], seed=seed)
    return X, y, sim.gaussian_init([n_in, *widths], SQRT2, seed=seed + 1)


def regression(seed: int, n_samples: int = 10, widths=(6, 5, 2)):
    X, Y, _ = sim.teacher_student(4, 3, widths[-1], n_samples, seed=seed)
    return X, Y, sim.gaussian_init([4, *widths], SQRT2, seed=seed + 1)


def run(name: str, data, backend: str):
    """A short run: the field jumps where a pre-activation crosses 0, so over long horizons
    two backends whose round-off puts one pre-activation on either side of 0 part; the
    horizons here keep every sampled state well inside one activation pattern per step."""
    kwargs = {
        "gradient_descent": {"lr": 0.3, "steps": [1, 9, 60]},
        "gradient_flow": {"times": [0.2, 1.0], "method": "rk4", "dt": 0.02},
        "l2_descent": {"lr": 0.3, "beta": 0.02, "steps": [1, 9, 60]},
        "minnorm_descent": {"c": 0.5, "lr_w": 0.1, "lr_lambda": 0.01, "steps": [1, 9, 60]},
        "minnorm_flow": {"c": 0.5, "eta_lambda": 0.1, "times": [0.2, 1.0], "method": "rk4",
                         "dt": 0.02},
    }[name]
    return sim.SOLVERS[name](*data, backend=backend, **kwargs)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", sorted(sim.SOLVERS))
@settings(max_examples=10)
@given(seed=st.integers(0, 2 ** 20))
def test_jitted_matches_numpy_twin(name, task, seed):
    data = classification(seed) if task == "classification" else regression(seed)
    fast, slow = run(name, data, "numba"), run(name, data, "numpy")
    assert fast.status == slow.status and fast.steps == slow.steps
    scale = np.maximum(1.0, np.abs(slow.states))
    assert np.max(np.abs(fast.states - slow.states) / scale) <= 1e-10


@pytest.mark.parametrize("name", ["gradient_descent", "minnorm_descent"])
def test_twin_parity_at_blas_sizes_and_two_hidden_layers(name):
    """Widths above the tiny-product threshold (BLAS products) and depth 3."""
    X, y, _ = classification(3, n_samples=70, n_in=20, widths=(24, 16, 10))
    data = (X, y, sim.gaussian_init([20, 24, 16, 10], SQRT2, seed=9))
    fast, slow = run(name, data, "numba"), run(name, data, "numpy")
    assert fast.status == slow.status
    scale = np.maximum(1.0, np.abs(slow.states))
    assert np.max(np.abs(fast.states - slow.states) / scale) <= 1e-10


def _numeric_gradient(objective, weights, h=1e-6):
    """Central differences of objective(weights) in every weight entry."""
    grads = []
    for l, W in enumerate(weights):
        g = np.zeros_like(W)
        for index in np.ndindex(W.shape):
            plus = [w.copy() for w in weights]
            minus = [w.copy() for w in weights]
            plus[l][index] += h
            minus[l][index] -= h
            g[index] = (objective(plus) - objective(minus)) / (2 * h)
        grads.append(g.ravel())
    return np.concatenate(grads)


def _kernel_args(X, y, weights, algorithm, params):
    widths = sim.network_widths(weights)
    K = widths[-1]
    if np.ndim(y) == 1:
        labels, T = np.asarray(y, dtype=np.int64), np.eye(K)[y]
    else:
        labels, T = np.zeros(X.shape[0], dtype=np.int64), np.asarray(y)
    params = np.array([algorithm, *params], dtype=np.float64)
    return X, T, labels, widths, params


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_field_is_minus_the_gradient_of_the_loss(task, beta):
    X, y, weights = classification(5) if task == "classification" else regression(5)
    algorithm = sim.CROSS_ENTROPY if task == "classification" else sim.SQUARED
    args = _kernel_args(X, y, weights, algorithm, (1.0, 0.0, beta, 1.0))
    field = sim.field_numpy(sim.pack(weights), *args)
    grad = _numeric_gradient(lambda w: sim.loss(X, y, w, beta), weights)
    np.testing.assert_allclose(field, -grad, rtol=1e-6, atol=1e-8)
    fast = np.empty_like(field)
    state = sim.pack(weights)
    sim.field(state, args, fast, sim.workspace(state, args))
    np.testing.assert_allclose(fast, field, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("c", [0.0, 0.7])
def test_minnorm_field_is_minus_the_gradient_of_the_augmented_lagrangian(task, c):
    X, y, weights = classification(6) if task == "classification" else regression(6)
    P, K = X.shape[0], weights[-1].shape[0]
    rng = np.random.default_rng(0)
    lam = rng.uniform(0.0, 0.5, (P, K))
    if task == "classification":
        lam[np.arange(P), y] = 0.0
        lam[rng.random((P, K)) < 0.3] = 0.0  # some inactive multipliers
        algorithm = sim.MARGIN_MINNORM
    else:
        lam -= 0.25
        algorithm = sim.EQUALITY_MINNORM
    eta_w, eta_lambda = 0.7, 0.3
    args = _kernel_args(X, y, weights, algorithm, (eta_w, eta_lambda, 1.0, c))
    state = np.concatenate((sim.pack(weights), lam.ravel()))
    field = sim.field_numpy(state, *args)
    n_weights = state.size - P * K
    grad = _numeric_gradient(lambda w: sim.lagrangian(X, y, w, lam, c), weights)
    np.testing.assert_allclose(field[:n_weights], -eta_w * grad, rtol=1e-6, atol=1e-8)
    if task == "classification":  # the drive eta_lambda (1 - m), held at 0 where inactive
        violation = 1.0 - sim.margins(X, y, weights)
        expected = np.where(np.isfinite(violation), eta_lambda * violation, 0.0)
        expected[(lam <= 0.0) & (expected < 0.0)] = 0.0
    else:
        expected = eta_lambda * (y - sim.outputs(X, weights))
    np.testing.assert_allclose(field[n_weights:], expected.ravel(), rtol=1e-12, atol=1e-14)
    fast = np.empty_like(field)
    sim.field(state, args, fast, sim.workspace(state, args))
    np.testing.assert_allclose(fast, field, rtol=1e-12, atol=1e-14)


def test_margin_multipliers_stay_non_negative_and_zero_at_the_true_class():
    X, y, weights = classification(2, n_samples=20)
    traj = sim.minnorm_descent(X / np.sqrt(6), y, weights, c=0.5, lr_w=0.05, lr_lambda=0.01,
                               steps=np.arange(1, 400, 20))
    lam = traj.multipliers
    assert traj.status is Status.COMPLETED and lam.shape == (len(traj.times), 20, 4)
    assert lam.min() >= 0.0 and np.all(lam[:, np.arange(20), y] == 0.0)
    assert np.any(lam[-1] > 0.0)


def test_weights_accessors_unpack_the_state():
    X, y, weights = classification(4)
    traj = sim.gradient_descent(X, y, weights, lr=0.1, steps=[3])
    assert [w.shape for w in traj.weights] == [(2,) + w.shape for w in weights]
    for W, W0 in zip(traj.weights_at(0), weights):
        np.testing.assert_array_equal(W, W0)
    with pytest.raises(ValueError, match="no multipliers"):
        traj.multipliers


def _diverging(backend: str):
    """Minnorm whose damping step lr_w c exceeds the stability bound of the squared-hinge
    term (docs/relu_network.md §5c.1): the weights grow without bound."""
    X, y, weights = classification(2, n_samples=20)
    return sim.minnorm_descent(X, y, weights, c=1.0, lr_w=0.5, lr_lambda=0.1, steps=[10_000],
                               backend=backend)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_divergence_is_reported_with_its_step(backend):
    traj = _diverging(backend)
    assert traj.status is Status.DIVERGED and traj.diverged_at is not None
    assert np.all(np.isfinite(traj.states)) and f"step {traj.diverged_at}" in traj.message


def test_divergence_step_is_the_same_in_both_backends():
    steps = [_diverging(b).diverged_at for b in ("numba", "numpy")]
    assert steps[0] == steps[1] > 1


def test_digits_split_is_standardized_seeded_and_disjoint():
    a, b = sim.digits_split(200, seed=3), sim.digits_split(200, seed=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.X_train.shape == (200, 64) and a.X_val.shape == (300, 64)
    assert a.X_test.shape == (400, 64)
    spread = a.X_train.std(axis=0)
    assert np.allclose(a.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(spread[spread > 0], 1.0)
    rows = {r.tobytes() for r in np.vstack((a.X_train, a.X_val, a.X_test))}
    assert len(rows) >= 895  # scikit-learn's digits hold a few duplicate images
    assert not np.array_equal(sim.digits_split(200, seed=4).y_train, a.y_train)


def test_teacher_student_is_the_teacher_network():
    X, Y, teacher = sim.teacher_student(5, 4, 2, 9, seed=2)
    np.testing.assert_array_equal(Y, sim.outputs(X, teacher))
    np.testing.assert_array_equal(Y, sim.teacher_student(5, 4, 2, 9, seed=2)[1])


@pytest.mark.parametrize("call, argument", [
    (lambda X, y, w: sim.gradient_descent(X[:, :3], y, w, lr=0.1, steps=[2]), "weights0"),
    (lambda X, y, w: sim.gradient_descent(X, y[:-1], w, lr=0.1, steps=[2]), "y"),
    (lambda X, y, w: sim.gradient_descent(X, np.where(y == 0, 7, y), w, lr=0.1, steps=[2]),
     "y"),
    (lambda X, y, w: sim.gradient_descent(X, y + 0.5, w, lr=0.1, steps=[2]), "y"),
    (lambda X, y, w: sim.gradient_descent(X, np.where(y == 0, -1, y), w, lr=0.1, steps=[2]),
     "y"),
    (lambda X, y, w: sim.gradient_descent(X, y, [w[0], w[1][:1]], lr=0.1, steps=[2]),
     "weights0: classification needs at least 2 outputs"),
    (lambda X, y, w: sim.gradient_descent(X, y, [np.full_like(w[0], np.nan), w[1]], lr=0.1,
                                          steps=[2]), r"weights0\[0\]"),
    (lambda X, y, w: sim.gradient_descent(X, y, [w[0][0], w[1]], lr=0.1, steps=[2]),
     r"weights0\[0\]"),
    (lambda X, y, w: sim.gradient_descent(X[0], y[:1], w, lr=0.1, steps=[2]), "X"),
    (lambda X, y, w: sim.gradient_descent(np.where(X > 1, np.nan, X), y, w, lr=0.1,
                                          steps=[2]), "X"),
    (lambda X, y, w: sim.gradient_descent(X[:0], y[:0], w, lr=0.1, steps=[2]), "X"),
    (lambda X, y, w: sim.gradient_descent(X, y, w, lr=0.0, steps=[2]), "lr"),
    (lambda X, y, w: sim.gradient_descent(X, y, w, lr=-1.0, steps=[2]), "lr"),
    (lambda X, y, w: sim.gradient_descent(X, y, w[:1], lr=0.1, steps=[2]), "weights0"),
    (lambda X, y, w: sim.gradient_descent(X, y, [w[0], w[0]], lr=0.1, steps=[2]), "weights0"),
    (lambda X, y, w: sim.l2_descent(X, y, w, lr=0.1, beta=-1.0, steps=[2]), "beta"),
    (lambda X, y, w: sim.gradient_flow(X, y, w, eta=0.0, times=[1.0]), "eta"),
    (lambda X, y, w: sim.gradient_flow(X, y, w, times=[1.0], method="rk4", dt=0.0), "dt"),
    (lambda X, y, w: sim.minnorm_flow(X, y, w, c=0.1, eta_w=-1.0, times=[1.0]), "eta_w"),
    (lambda X, y, w: sim.minnorm_flow(X, y, w, c=0.1, eta_lambda=0.0, times=[1.0]),
     "eta_lambda"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=0.1, lr_w=0.0, lr_lambda=0.1,
                                         steps=[2]), "lr_w"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=0.1, lr_w=0.1, lr_lambda=-0.1,
                                         steps=[2]), "lr_lambda"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=-0.1, lr_w=0.1, lr_lambda=0.1,
                                         steps=[2]), "c"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=0.1, lr_w=0.1, lr_lambda=0.1, steps=[2],
                                         lambda0=-np.ones((15, 4))), "lambda0"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=0.1, lr_w=0.1, lr_lambda=0.1, steps=[2],
                                         lambda0=np.ones((3, 4))), "lambda0"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=0.1, lr_w=0.1, lr_lambda=0.1, steps=[2],
                                         lambda0=np.eye(4)[y]), "lambda0"),
    (lambda X, y, w: sim.minnorm_descent(X, y, w, c=0.1, lr_w=0.1, lr_lambda=0.1, steps=[2],
                                         lambda0=np.full((15, 4), np.nan)), "lambda0"),
    (lambda X, y, w: sim.minnorm_descent(np.vstack((X, 2 * X[:1])), np.append(y, (y[0] + 1) % 4),
                                         w, c=0.1, lr_w=0.1, lr_lambda=0.1, steps=[2]), "y"),
    (lambda X, y, w: sim.minnorm_descent(np.vstack((X, 0 * X[:1])), np.append(y, 0), w, c=0.1,
                                         lr_w=0.1, lr_lambda=0.1, steps=[2]), "y"),
    (lambda X, y, w: sim.gaussian_init([6, 0, 4], SQRT2, seed=1), "widths"),
    (lambda X, y, w: sim.gaussian_init([6, -3, 4], SQRT2, seed=1), "widths"),
    (lambda X, y, w: sim.gaussian_init([6, 4], SQRT2, seed=1), "widths"),
    (lambda X, y, w: sim.gaussian_init([6, 2.5, 4], SQRT2, seed=1), "widths"),
    (lambda X, y, w: sim.gaussian_init([6, 5, 4], 0.0, seed=1), "sigma0"),
    (lambda X, y, w: sim.small_classification(5, 3, 1), "n_classes"),
    (lambda X, y, w: sim.digits_split(0, seed=1), "train_size"),
    (lambda X, y, w: sim.digits_split(5000, seed=1), "train_size"),
    (lambda X, y, w: sim.teacher_student(4, 0, 2, 5), "hidden"),
    (lambda X, y, w: sim.teacher_student(4, 3, 2, 0), "n_samples"),
    (lambda X, y, w: sim.teacher_student(4, 3, 2, 5, noise=-1.0), "noise"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, argument):
    X, y, weights = classification(0)
    with pytest.raises(ValueError, match=argument):
        call(X, y, weights)


@pytest.mark.parametrize("change, argument", [
    (lambda X, Y: (X[:0], Y[:0]), "X"),  # empty training set
    (lambda X, Y: (X, np.where(np.arange(Y.size).reshape(Y.shape) == 3, np.nan, Y)), "y"),
    (lambda X, Y: (X, Y[:, :, None]), "y"),
    (lambda X, Y: (np.vstack((X, 0.0 * X[:1])), np.vstack((Y, np.ones((1, Y.shape[1]))))),
     "y: a zero sample has a nonzero target"),  # infeasible without biases
])
def test_regression_bad_input(change, argument):
    X, Y, weights = regression(0)
    X, Y = change(X, Y)
    with pytest.raises(ValueError, match=argument):
        sim.minnorm_descent(X, Y, weights, c=1.0, lr_w=0.1, lr_lambda=0.1, steps=[2])


def test_regression_infeasible_on_a_ray_and_bad_target_shape():
    X, Y, weights = regression(0)
    X_bad = np.vstack((X, 3.0 * X[:1]))
    with pytest.raises(ValueError, match="y: samples 0 and"):
        sim.minnorm_descent(X_bad, np.vstack((Y, Y[:1])), weights, c=1.0, lr_w=0.1,
                            lr_lambda=0.1, steps=[2])
    sim.minnorm_descent(X_bad, np.vstack((Y, 3.0 * Y[:1])), weights, c=1.0, lr_w=0.1,
                        lr_lambda=0.1, steps=[2])  # on the ray and in ratio: feasible
    with pytest.raises(ValueError, match="y"):
        sim.gradient_descent(X, Y[:, :1], weights, lr=0.1, steps=[2])
