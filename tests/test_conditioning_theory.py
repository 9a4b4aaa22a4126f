"""theory.conditioning: the conditioners, the jitted field against central differences of
an independent NumPy loss, the solvers against the exact dynamics of one layer behind
fixed (conditioned) layers, the norm identities of the pullbacks, and bad input."""
import numpy as np
import pytest

from analytic import conditioning as exact
from theory import conditioning as sim
from theory.results import Status


def _network(seed: int = 4):
    X, Y = sim.regression_data(5, 3, 7, seed=seed)
    weights = [sim.scaled_rows(4, 5, 1.0, seed + 1), sim.scaled_rows(6, 4, 1.0, seed + 2),
               sim.scaled_rows(3, 6, 1.0, seed + 3)]
    return X, Y, weights


def _loss(X, Y, weights, gains, conditioner, conditioned, activation="linear"):
    """The loss written independently of the package: each conditioner from its definition,
    tanh on the hidden layers of the MLP."""
    out = X.T
    for l, W in enumerate(weights):
        if l in conditioned and conditioner in ("row", "weight_norm"):
            W = W / np.sqrt(np.sum(W * W, axis=1))[:, None]
            if conditioner == "weight_norm":
                W = W * gains[l][:, None]
        elif l in conditioned and conditioner == "column":
            W = W / np.sqrt(np.sum(W * W, axis=0))[None, :]
        elif l in conditioned and conditioner == "standardize":
            centred = W - np.mean(W, axis=1)[:, None]
            W = centred / np.sqrt(np.mean(centred * centred, axis=1))[:, None]
        out = W @ out
        if activation == "tanh" and l < len(weights) - 1:
            out = np.tanh(out)
    return 0.5 * np.sum((Y.T - out) ** 2) / X.shape[0]


@pytest.mark.parametrize("conditioner", list(sim.CONDITIONERS))
@pytest.mark.parametrize("conditioned", [None, [1]])
@pytest.mark.parametrize("activation", list(sim.ACTIVATIONS))
def test_gradient_matches_central_differences_of_the_loss(conditioner, conditioned, activation):
    X, Y, weights = _network()
    layers = [0, 1, 2] if conditioned is None else conditioned
    gains = {l: np.linspace(0.5, 2.0, weights[l].shape[0]) for l in layers}
    wn = conditioner == "weight_norm"
    gains_arg = [gains.get(l) for l in range(3)] if wn else None  # indexed by layer
    gradient = sim.loss_gradient(X, Y, weights, conditioner=conditioner,
                                 conditioned_layers=conditioned,
                                 gains=gains_arg, activation=activation)
    sizes = [W.size for W in weights]
    h = 1e-6
    flat = np.concatenate([W.ravel() for W in weights])
    use_gains = gains if wn else {l: np.linalg.norm(weights[l], axis=1) for l in layers}
    numeric = np.empty(flat.size)
    for k in range(flat.size):
        shifted = []
        for sign in (1.0, -1.0):
            point = flat.copy()
            point[k] += sign * h
            parts = np.split(point, np.cumsum(sizes)[:-1])
            mats = [p.reshape(W.shape) for p, W in zip(parts, weights)]
            shifted.append(_loss(X, Y, mats, use_gains, conditioner, layers, activation))
        numeric[k] = (shifted[0] - shifted[1]) / (2 * h)
    scale = np.abs(numeric).max()
    np.testing.assert_allclose(gradient[:flat.size], numeric, atol=1e-7 * scale)
    if wn:  # dL/dgamma_i = g_i . u_i, by differences in the gains
        for l in layers:
            for i in range(weights[l].shape[0]):
                values = []
                for sign in (1.0, -1.0):
                    moved = {k: v.copy() for k, v in gains.items()}
                    moved[l][i] += sign * h
                    values.append(_loss(X, Y, weights, moved, conditioner, layers, activation))
                offset = flat.size + sum(weights[j].shape[0] for j in layers if j < l)
                assert gradient[offset + i] == pytest.approx(
                    (values[0] - values[1]) / (2 * h), abs=1e-7 * scale)


@pytest.mark.parametrize("conditioner", list(sim.CONDITIONERS))
@pytest.mark.parametrize("activation", list(sim.ACTIVATIONS))
def test_jitted_solver_matches_its_twin_for_every_conditioner(conditioner, activation):
    X, Y, weights = _network()
    options = {"lr": 0.02, "steps": [3, 30], "conditioner": conditioner,
               "trained_layers": [0, 2], "activation": activation}
    fast = sim.gradient_descent(X, Y, weights, **options)
    slow = sim.gradient_descent(X, Y, weights, backend="numpy", **options)
    np.testing.assert_allclose(fast.states, slow.states, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(fast.weights[1][-1], weights[1])  # frozen


@pytest.mark.parametrize("conditioner", ["none", "row", "column"])
def test_descent_on_one_layer_follows_the_spectral_solution(conditioner):
    """W_1 alone behind a fixed W_2 (conditioned or not): E_k from the factors' spectra
    (analytic.conditioning.gd_error) against the simulated ||W_1(k) - W_1*||_F."""
    X, Y = sim.regression_data(4, 8, 30, seed=2)
    W2 = sim.scaled_rows(8, 4, 1.5, 3)
    start = sim.scaled_rows(4, 4, 0.0, 4)
    A = {"none": W2, "row": sim.row_equilibrate(W2), "column": sim.column_equilibrate(W2)}[
        conditioner]
    lam = exact.gauss_newton_eigenvalues(A, X.T)
    lr = 0.9 * exact.optimal_step(lam[-1], lam[0])
    steps = [1, 5, 20, 80]
    traj = sim.gradient_descent(X, Y, [start, W2], lr=lr, steps=steps, conditioner=conditioner,
                                conditioned_layers=[1], trained_layers=[0])
    W_star = np.linalg.pinv(A) @ Y.T @ np.linalg.pinv(X.T)
    simulated = np.linalg.norm(traj.weights[0][1:] - W_star, axis=(1, 2))
    predicted = exact.gd_error(A, X.T, start - W_star, lr, steps)
    np.testing.assert_allclose(simulated, predicted, rtol=1e-8)


@pytest.mark.parametrize("conditioner", ["none", "row"])
def test_flow_on_one_layer_follows_the_exponential_solution(conditioner):
    X, Y = sim.regression_data(3, 6, 20, seed=5)
    W2 = sim.scaled_rows(6, 3, 1.0, 6)
    start = sim.scaled_rows(3, 3, 0.0, 7)
    A = sim.row_equilibrate(W2) if conditioner == "row" else W2
    times = [0.5, 2.0, 6.0]
    traj = sim.gradient_flow(X, Y, [start, W2], times=times, eta=0.7, conditioner=conditioner,
                             conditioned_layers=[1], trained_layers=[0], rtol=1e-11,
                             atol=1e-13)
    W_star = np.linalg.pinv(A) @ Y.T @ np.linalg.pinv(X.T)
    simulated = np.linalg.norm(traj.weights[0][1:] - W_star, axis=(1, 2))
    # dopri5 at rtol 1e-11 over t <= 6: global error well below 1e-8 of the start's error
    np.testing.assert_allclose(simulated, exact.flow_error(A, X.T, start - W_star, 0.7, times),
                               rtol=1e-8)


@pytest.mark.parametrize("conditioner", ["row", "weight_norm"])
def test_row_norms_grow_by_the_squared_step(conditioner):
    """The pulled-back gradient is orthogonal to each row, so one step adds its squared
    length to the row's squared norm (docs/conditioning.md §7a.2)."""
    X, Y, weights = _network(8)
    traj = sim.gradient_descent(X, Y, weights, lr=0.05, steps=np.arange(1, 21),
                                conditioner=conditioner)
    for W in traj.weights:
        norms = np.sum(W ** 2, axis=2)
        steps = np.sum(np.diff(W, axis=0) ** 2, axis=2)
        np.testing.assert_allclose(norms[1:], norms[:-1] + steps, rtol=1e-12)
        assert np.all(np.diff(norms, axis=0) >= 0.0)


def test_column_norms_grow_and_standardized_rows_keep_their_mean():
    X, Y, weights = _network(9)
    traj = sim.gradient_descent(X, Y, weights, lr=0.05, steps=np.arange(1, 21),
                                conditioner="column")
    for W in traj.weights:
        norms = np.sum(W ** 2, axis=1)
        np.testing.assert_allclose(norms[1:], norms[:-1] + np.sum(np.diff(W, axis=0) ** 2, axis=1),
                                   rtol=1e-12)
    traj = sim.gradient_descent(X, Y, weights, lr=0.01, steps=np.arange(1, 21),
                                conditioner="standardize")
    for W in traj.weights:
        np.testing.assert_allclose(W.mean(axis=2), W[0].mean(axis=1)[None, :].repeat(21, 0),
                                   atol=1e-13)


def test_conditioners_by_definition():
    W = sim.scaled_rows(5, 3, 2.0, 1)
    np.testing.assert_allclose(np.linalg.norm(sim.row_equilibrate(W), axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(sim.column_equilibrate(W), axis=0), 1.0)
    gains = np.arange(1.0, 6.0)
    np.testing.assert_allclose(np.linalg.norm(sim.weight_normalize(W, gains), axis=1), gains)
    S = sim.standardize_weights(W)
    np.testing.assert_allclose(S.mean(axis=1), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.mean(S ** 2, axis=1), 1.0)
    for function in (sim.row_equilibrate, sim.column_equilibrate, sim.standardize_weights):
        np.testing.assert_allclose(function(W), function(W, backend="numpy"), rtol=1e-15)


def test_trajectory_records_condition_numbers_and_losses():
    X, Y, weights = sim.row_scaled_instance()
    traj = sim.gradient_descent(X, Y, weights, lr=0.01, steps=[10, 100], conditioner="row")
    kappas = traj.condition_numbers
    assert kappas.shape == (3, 3)
    assert kappas[0, 1] == pytest.approx(sim.condition_number(sim.row_equilibrate(weights[1])))
    losses = traj.losses(X, Y)
    assert losses[-1] < losses[0]
    mlp = sim.gradient_descent(X, Y, weights, lr=0.01, steps=[10], activation="tanh")
    assert mlp.losses(X, Y)[-1] == pytest.approx(
        _loss(X, Y, mlp.weights_at(), {}, "none", [], "tanh"), rel=1e-13)


def test_a_large_step_is_reported_as_divergence():
    X, Y, weights = sim.row_scaled_instance()
    traj = sim.gradient_descent(X, Y, weights, lr=5.0, steps=[1000])
    assert traj.status is Status.DIVERGED and traj.diverged_at is not None


@pytest.mark.parametrize("call,match", [
    (lambda: sim.row_equilibrate([[1.0, 2.0], [0.0, 0.0]]), "W: row 1 is zero"),
    (lambda: sim.column_equilibrate([[1.0, 0.0], [2.0, 0.0]]), "W: column 1 is zero"),
    (lambda: sim.row_equilibrate([[1.0, np.nan]]), "W must be finite"),
    (lambda: sim.row_equilibrate([1.0, 2.0]), "W must be a non-empty 2-D array"),
    (lambda: sim.standardize_weights([[1.0], [2.0]]), "at least two columns"),
    (lambda: sim.standardize_weights([[1.0, 1.0], [2.0, 3.0]]), "row 0 is constant"),
    (lambda: sim.weight_normalize([[1.0, 2.0]], [0.0]), "gains must be positive"),
    (lambda: sim.weight_normalize([[1.0, 2.0]], [1.0, 2.0]), "gains must have 1 entries"),
])
def test_bad_conditioner_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("kwargs,match", [
    ({"conditioner": "spectral"}, "conditioner must be one of"),
    ({"activation": "relu"}, "activation must be one of"),
    ({"lr": 0.0}, "lr must be positive"),
    ({"trained_layers": [3]}, "trained_layers: layer 3 does not exist"),
    ({"conditioned_layers": [-1]}, "conditioned_layers must be an integer"),
    ({"gains0": [np.ones(4)]}, "gains0 is only for conditioner='weight_norm'"),
    ({"conditioner": "weight_norm", "gains0": [-np.ones(4), np.ones(6), np.ones(3)]},
     r"gains0\[0\] must be positive"),
])
def test_bad_solver_input_raises_value_error_naming_it(kwargs, match):
    X, Y, weights = _network()
    options = {"lr": 0.1, "steps": [2]} | kwargs
    with pytest.raises(ValueError, match=match):
        sim.gradient_descent(X, Y, weights, **options)


def test_bad_weights_and_data_raise_value_error_naming_them():
    X, Y, weights = _network()
    zero = [weights[0].copy(), weights[1], weights[2]]
    zero[0][2] = 0.0
    with pytest.raises(ValueError, match=r"weights0\[0\]: row 2 is zero"):
        sim.gradient_descent(X, Y, zero, lr=0.1, steps=[2], conditioner="row")
    with pytest.raises(ValueError, match="weights0: W_2 has"):
        sim.gradient_descent(X, Y, [weights[0], weights[2]], lr=0.1, steps=[2])
    with pytest.raises(ValueError, match="same number of rows"):
        sim.gradient_descent(X[:-1], Y, weights, lr=0.1, steps=[2])
    with pytest.raises(ValueError, match="X must be finite"):
        sim.gradient_descent(np.full_like(X, np.inf), Y, weights, lr=0.1, steps=[2])
    with pytest.raises(ValueError, match="weights0 map 5 inputs"):
        sim.gradient_descent(X[:, :4], Y, weights, lr=0.1, steps=[2])
