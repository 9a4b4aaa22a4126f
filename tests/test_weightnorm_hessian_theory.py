"""The WeightNorm network, its Hessian and its training: jitted kernels vs NumPy twins, and
against independent computations (finite differences of the output and of the loss, a
hand-written gradient step, the time rescaling and the loss decrease of the flow);
statuses, trajectories and bad input."""
import numpy as np
import pytest

from theory import weightnorm_hessian as wn
from theory.results import Status

ACTIVATIONS = sorted(wn.ACTIVATIONS)


def network(width=6, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((width, dim)) * np.exp(rng.uniform(-1, 1, (width, 1)))
    a = rng.standard_normal(width)
    x = rng.standard_normal(dim)
    return W, a, x


def theta_of(W, a):
    return np.concatenate((W.ravel(), a))


def split(theta, width, dim):
    return theta[:width * dim].reshape(width, dim), theta[width * dim:]


def central_difference(function, theta, step):
    return np.array([(function(theta + step * e) - function(theta - step * e)) / (2 * step)
                     for e in np.eye(theta.size)])


# --------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernels_match_their_twins(activation):
    W, a, x = network(seed=1)
    X = np.random.default_rng(2).standard_normal((5, 4))
    np.testing.assert_allclose(wn.network_output(W, a, X, activation=activation),
                               wn.network_output(W, a, X, activation=activation,
                                                 backend="numpy"), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(wn.parameter_gradient(W, a, x, activation=activation),
                               wn.parameter_gradient(W, a, x, activation=activation,
                                                     backend="numpy"), rtol=1e-13, atol=1e-15)
    if activation in wn.SMOOTH_ACTIVATIONS:
        np.testing.assert_allclose(wn.hessian_blocks(W, a, x, activation=activation),
                                   wn.hessian_blocks(W, a, x, activation=activation,
                                                     backend="numpy"), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(wn.block_norms(W, a, x, activation=activation),
                                   wn.block_norms(W, a, x, activation=activation,
                                                  backend="numpy"), rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_is_the_derivative_of_the_output(activation):
    """Central differences (step 1e-6: truncation ~1e-12 |f'''|, round-off ~1e-10) of
    the output kernel; relu away from its kink (the drawn u are not near 0)."""
    W, a, x = network(seed=3)
    width, dim = W.shape

    def output(theta):
        return wn.network_output(*split(theta, width, dim), x, activation=activation)[0]

    fd = central_difference(output, theta_of(W, a), 1e-6)
    np.testing.assert_allclose(wn.parameter_gradient(W, a, x, activation=activation), fd,
                               rtol=0, atol=1e-8)


@pytest.mark.parametrize("activation", wn.SMOOTH_ACTIVATIONS)
def test_dense_hessian_is_the_derivative_of_the_gradient(activation):
    W, a, x = network(width=4, dim=3, seed=4)

    def gradient(theta):
        return wn.parameter_gradient(*split(theta, 4, 3), x, activation=activation)

    fd = central_difference(gradient, theta_of(W, a), 1e-5)
    H = wn.dense_hessian(W, a, x, activation=activation)
    np.testing.assert_allclose(H, 0.5 * (fd + fd.T), rtol=0, atol=1e-8 * np.abs(H).max())
    assert wn.hessian_norm(W, a, x, activation=activation) == pytest.approx(
        np.abs(np.linalg.eigvalsh(H)).max(), rel=1e-12)


def test_gradient_in_w_is_orthogonal_to_w():
    W, a, x = network(width=50, dim=7, seed=5)
    G = wn.parameter_gradient(W, a, x)[:W.size].reshape(W.shape)
    assert np.abs(np.sum(G * W, axis=1)).max() <= 1e-14 * np.abs(G).max() * np.abs(W).max() * 7


# --------------------------------------------------------------------------- training


def loss(theta, X, y, width, dim, activation, decay):
    W, a = split(theta, width, dim)
    residual = wn.network_output(W, a, X, activation=activation) - y
    return 0.5 * np.mean(residual ** 2) + 0.5 * decay * np.sum(theta ** 2)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("decay", [0.0, 0.3])
def test_training_field_is_minus_the_loss_gradient(activation, decay):
    X, y = wn.regression_task(7, 3, seed=6)
    W, a = wn.gaussian_init(5, 3, seed=7)
    fd = central_difference(lambda t: loss(t, X, y, 5, 3, activation, decay), theta_of(W, a),
                            1e-6)
    gradient = wn.loss_gradient(X, y, W, a, weight_decay=decay, activation=activation)
    np.testing.assert_allclose(gradient, fd, rtol=0, atol=1e-9)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_one_descent_step_is_theta_minus_lr_times_the_finite_difference_gradient(activation):
    X, y = wn.regression_task(6, 4, seed=8)
    W, a = wn.sphere_init(5, 4, seed=9)
    lr, decay = 0.4, 0.1
    traj = wn.gradient_descent(X, y, W, a, lr=lr, steps=[1], weight_decay=decay,
                               activation=activation)
    fd = central_difference(lambda t: loss(t, X, y, 5, 4, activation, decay), theta_of(W, a),
                            1e-6)
    np.testing.assert_allclose(traj.states[-1], theta_of(W, a) - lr * fd, rtol=0, atol=1e-9)
    assert traj.status is Status.COMPLETED and traj.steps == 1


def test_flow_rescales_time_with_eta_and_never_increases_the_loss():
    X, y = wn.regression_task(10, 3, seed=10)
    W, a = wn.gaussian_init(8, 3, seed=11)
    times = np.linspace(0.0, 4.0, 21)[1:]
    slow = wn.gradient_flow(X, y, W, a, times=times, eta=1.0, weight_decay=0.05,
                            rtol=1e-11, atol=1e-13)
    fast = wn.gradient_flow(X, y, W, a, times=times / 2, eta=2.0, weight_decay=0.05,
                            rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(fast.states, slow.states, rtol=0, atol=1e-8)
    plain = wn.gradient_flow(X, y, W, a, times=times, activation="softplus")
    assert np.all(np.diff(plain.losses(X, y, "softplus")) <= 1e-14)


def test_trajectory_accessors():
    X, y = wn.regression_task(5, 3, seed=12)
    W, a = wn.gaussian_init(4, 3, seed=13)
    traj = wn.gradient_descent(X, y, W, a, lr=0.1, steps=[1, 3])
    assert traj.weights.shape == (3, 4, 3) and traj.outputs.shape == (3, 4)
    np.testing.assert_array_equal(traj.weights[0], W)
    np.testing.assert_array_equal(traj.outputs[0], a)
    np.testing.assert_allclose(traj.norms[0], np.linalg.norm(W, axis=1), rtol=1e-15)
    np.testing.assert_allclose(traj.min_norms, traj.norms.min(axis=1))
    assert traj.losses(X, y)[0] == pytest.approx(0.5 * np.mean((wn.network_output(W, a, X)
                                                                 - y) ** 2), rel=1e-14)


def test_a_huge_step_diverges_and_names_the_step():
    X, y = wn.regression_task(5, 3, seed=14)
    W, a = wn.gaussian_init(4, 3, seed=15)
    traj = wn.gradient_descent(X, y, W, a, lr=1e200, steps=[50], weight_decay=1.0)
    assert traj.status is Status.DIVERGED and traj.diverged_at >= 1
    assert np.all(np.isfinite(traj.states))


# --------------------------------------------------------------------------- initializations


def test_initializations():
    W, a = wn.sphere_init(100, 5, seed=1, radius=2.5)
    np.testing.assert_allclose(wn.norms(W), 2.5, rtol=1e-14)
    assert set(a) == {-1.0, 1.0}
    W, a = wn.gaussian_init(20_000, 10, seed=2)
    assert np.mean(wn.norms(W) ** 2) == pytest.approx(1.0, abs=0.02)  # chi^2_10/10: sd 0.0032
    np.testing.assert_array_equal(wn.gaussian_init(5, 3, seed=4)[0],
                                  wn.gaussian_init(5, 3, seed=4)[0])
    assert np.linalg.norm(wn.unit_input(6, 3)) == pytest.approx(1.0, rel=1e-15)
    X, y = wn.regression_task(9, 4, seed=5)
    assert X.shape == (9, 4) and y.shape == (9,)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-15)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,name", [
    (lambda W, a, x: wn.hessian_blocks(W, a, x, activation="relu"), "activation"),
    (lambda W, a, x: wn.hessian_norm(W, a, x, activation="relu"), "activation"),
    (lambda W, a, x: wn.network_output(W, a, x, activation="sigmoid"), "activation"),
    (lambda W, a, x: wn.hessian_norm(np.vstack([W, np.zeros(4)]), np.append(a, 1.0), x), "W"),
    (lambda W, a, x: wn.hessian_norm(np.where(W > 0, np.nan, W), a, x), "W"),
    (lambda W, a, x: wn.hessian_norm(W, a[:-1], x), "a"),
    (lambda W, a, x: wn.hessian_norm(W, np.full_like(a, np.inf), x), "a"),
    (lambda W, a, x: wn.hessian_norm(W, a, x[:-1]), "x"),
    (lambda W, a, x: wn.hessian_norm(W, a, np.full_like(x, np.nan)), "x"),
    (lambda W, a, x: wn.parameter_gradient(W, a, x, backend="jax"), "backend"),
    (lambda W, a, x: wn.network_output(W, a, np.ones((2, 3))), "X"),
    (lambda W, a, x: wn.sphere_init(0, 3, 1), "width"),
    (lambda W, a, x: wn.sphere_init(3, 3, 1, radius=-1.0), "radius"),
    (lambda W, a, x: wn.gaussian_init(3, 1, 1), "dim"),
    (lambda W, a, x: wn.dense_hessian(np.ones((500, 4)), np.ones(500), x), "W"),
])
def test_bad_input_raises_naming_the_argument(call, name):
    W, a, x = network()
    with pytest.raises(ValueError, match=name):
        call(W, a, x)


@pytest.mark.parametrize("kwargs,name", [
    ({"lr": 0.0, "steps": [3]}, "lr"),
    ({"lr": 0.1, "steps": [3], "weight_decay": -1.0}, "weight_decay"),
    ({"lr": 0.1, "steps": [3], "activation": "gelu"}, "activation"),
    ({"lr": 0.1, "steps": [0]}, "steps"),
])
def test_bad_solver_arguments(kwargs, name):
    X, y = wn.regression_task(5, 3, seed=1)
    W, a = wn.gaussian_init(4, 3, seed=2)
    with pytest.raises(ValueError, match=name):
        wn.gradient_descent(X, y, W, a, **kwargs)
    with pytest.raises(ValueError, match="y"):
        wn.gradient_descent(X, y[:-1], W, a, lr=0.1, steps=[2])
    with pytest.raises(ValueError, match="X"):
        wn.gradient_flow(X[:, :2], y, W, a, times=[1.0])
    with pytest.raises(ValueError, match="eta"):
        wn.gradient_flow(X, y, W, a, times=[1.0], eta=-1.0)
