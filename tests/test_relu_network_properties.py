"""Property tests of the ReLU network over random small networks and data (1-2 hidden
layers of width 1-6, 1-8 Gaussian samples, He start): f's positive homogeneity and its
invariance under rescaling one layer against the next, the kernel's field against
complex-step gradients of independently written objectives, the layer balance of every
field (docs/relu_network.md §5b.2), and the sign conventions of the margin multipliers.

The reference objectives here are written from the module docstring of
``theory.relu_network`` with relu(z) = z [Re z > 0], differentiated by the complex step
(exact to rounding: it does not perturb the real part, so the activation pattern is that
of the real point, and Gaussian data put no pre-activation exactly at 0).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory import relu_network as sim

H = 1e-30
"""The complex step."""


@st.composite
def networks(draw, task: str = "classification"):
    """(X, y, weights): Gaussian rows, labels uniform over the outputs (classification) or
    Gaussian targets (regression), and a He start with 1 or 2 hidden layers."""
    n_in = draw(st.integers(2, 6))
    hidden = draw(st.lists(st.integers(1, 6), min_size=1, max_size=2))
    n_out = draw(st.integers(2, 4) if task == "classification" else st.integers(1, 3))
    n_samples = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2 ** 31))
    rng = np.random.default_rng([seed, 0])
    X = rng.standard_normal((n_samples, n_in))
    y = (rng.integers(0, n_out, n_samples) if task == "classification"
         else rng.standard_normal((n_samples, n_out)))
    return X, y, sim.gaussian_init([n_in, *hidden, n_out], np.sqrt(2.0), seed)


def forward(X, weights):
    """f(X) for real or complex weights, relu(z) = z [Re z > 0] (independent of sim)."""
    A = X
    for W in weights[:-1]:
        Z = A @ W.T
        A = Z * (Z.real > 0.0)
    return A @ weights[-1].T


def magnitude(X, weights) -> float:
    """A bound on the size of the terms summed in f: max row norm of X times the product
    of the weights' Frobenius norms (rounding errors are eps times this)."""
    return float(np.linalg.norm(X, axis=1).max() * np.prod([np.linalg.norm(W) for W in weights]))


def complex_step_gradient(objective, weights) -> np.ndarray:
    """d objective / d W_l for every entry of every layer, flattened in the state's order."""
    grads = []
    for l, W in enumerate(weights):
        for index in np.ndindex(W.shape):
            shifted = [w.astype(np.complex128) for w in weights]
            shifted[l][index] += 1j * H
            grads.append(objective(shifted).imag / H)
    return np.array(grads)


def kernel_field(X, y, weights, algorithm, eta_w, eta_lambda, beta, c, lam=None):
    """The jitted field at (weights, lam) with the parameter vector of the module."""
    widths = sim.network_widths(weights)
    K = int(widths[-1])
    if np.ndim(y) == 1:
        labels, T = np.asarray(y, dtype=np.int64), np.eye(K)[y]
    else:
        labels, T = np.zeros(X.shape[0], dtype=np.int64), np.asarray(y, dtype=np.float64)
    params = np.array([algorithm, eta_w, eta_lambda, beta, c], dtype=np.float64)
    state = sim.pack(weights)
    if lam is not None:
        state = np.concatenate((state, lam.ravel()))
    args = (np.ascontiguousarray(X), np.ascontiguousarray(T), labels, widths, params)
    out = np.empty_like(state)
    sim.field(state, args, out, sim.workspace(state, args))
    return out


def assert_close(actual, expected, scale) -> None:
    """Equal up to rounding: 1e-10 relative to ``scale`` (the size of the summed terms)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10 * max(scale, 1.0))


# --------------------------------------------------------------------------- f


@given(networks(), st.floats(0.01, 100.0))
def test_f_is_positively_homogeneous_in_x_and_in_each_layer(network, a):
    X, _, weights = network
    F = sim.outputs(X, weights)
    scale = a * magnitude(X, weights)
    assert_close(sim.outputs(a * X, weights), a * F, scale)
    for l in range(len(weights)):
        scaled = [a * W if k == l else W for k, W in enumerate(weights)]
        assert_close(sim.outputs(X, scaled), a * F, scale)


@given(networks(), st.floats(0.05, 20.0), st.data())
def test_rescaling_a_layer_against_the_next_keeps_f_and_the_loss_and_scales_the_gradient(
        network, a, data):
    """W_l -> a W_l, W_{l+1} -> W_{l+1} / a leaves f unchanged (relu(a z) = a relu(z)); the
    gradient of any function of f then scales as dW_l -> dW_l / a, dW_{l+1} -> a dW_{l+1}
    (beta = 0), in the jitted kernel."""
    X, y, weights = network
    l = data.draw(st.integers(0, len(weights) - 2))
    scaled = list(weights)
    scaled[l], scaled[l + 1] = a * weights[l], weights[l + 1] / a
    F = sim.outputs(X, weights)
    assert_close(sim.outputs(X, scaled), F, magnitude(X, weights))
    assert sim.loss(X, y, scaled) == pytest.approx(sim.loss(X, y, weights), rel=1e-10, abs=1e-12)
    before = sim.unpack(kernel_field(X, y, weights, sim.CROSS_ENTROPY, 1.0, 0.0, 0.0, 1.0),
                        sim.network_widths(weights))
    after = sim.unpack(kernel_field(X, y, scaled, sim.CROSS_ENTROPY, 1.0, 0.0, 0.0, 1.0),
                       sim.network_widths(weights))
    factors = [1.0] * len(weights)
    factors[l], factors[l + 1] = 1.0 / a, a
    for dW, dW_scaled, factor in zip(before, after, factors):
        assert_close(dW_scaled, factor * dW, max(a, 1.0 / a) * magnitude(X, weights))


# --------------------------------------------------------------------------- the field


def cross_entropy(X, labels, weights):
    F = forward(X, weights)
    return np.mean(np.log(np.sum(np.exp(F), axis=1)) - F[np.arange(F.shape[0]), labels])


def half_squared_error(X, Y, weights):
    return np.sum((Y - forward(X, weights)) ** 2) / (2 * X.shape[0])


@given(st.sampled_from(["classification", "regression"]).flatmap(
    lambda task: networks(task)), st.floats(0.1, 2.0), st.sampled_from([0.0, 0.01, 0.7]))
def test_gradient_field_is_minus_eta_times_the_complex_step_gradient_of_the_loss(network, eta,
                                                                                 beta):
    X, y, weights = network
    classification = np.ndim(y) == 1
    data = cross_entropy if classification else half_squared_error

    def objective(w):
        return data(X, y, w) + 0.5 * beta * sum(np.sum(W * W) for W in w)

    algorithm = sim.CROSS_ENTROPY if classification else sim.SQUARED
    field = kernel_field(X, y, weights, algorithm, eta, 0.0, beta, 1.0)
    expected = -eta * complex_step_gradient(objective, weights)
    assert_close(field, expected, eta * (1 + beta) * magnitude(X, weights) ** 2)


@given(networks("regression"), st.floats(0.0, 2.0), st.floats(0.1, 2.0), st.floats(0.1, 2.0),
       st.integers(0, 2 ** 31))
def test_equality_minnorm_field_is_the_gradient_of_the_augmented_lagrangian(network, c, eta_w,
                                                                           eta_lambda, seed):
    """dW = -eta_w dL/dW, dlambda = eta_lambda dL/dlambda = eta_lambda r for
    L = 1/2 sum |W_l|^2 + sum lambda r + c/2 sum r^2, r = Y - f."""
    X, Y, weights = network
    lam = np.random.default_rng(seed).uniform(-1.0, 1.0, Y.shape)

    def lagrangian(w):
        r = Y - forward(X, w)
        return 0.5 * sum(np.sum(W * W) for W in w) + np.sum(lam * r) + 0.5 * c * np.sum(r * r)

    field = kernel_field(X, Y, weights, sim.EQUALITY_MINNORM, eta_w, eta_lambda, 1.0, c, lam)
    n_weights = field.size - lam.size
    scale = eta_w * (1 + c + np.abs(lam).max()) * (1 + magnitude(X, weights)) ** 2
    assert_close(field[:n_weights], -eta_w * complex_step_gradient(lagrangian, weights), scale)
    assert_close(field[n_weights:], eta_lambda * (Y - forward(X, weights)).ravel(),
                 eta_lambda * (1 + magnitude(X, weights)))


@given(networks("classification"), st.floats(0.0, 2.0), st.floats(0.1, 2.0),
       st.floats(0.1, 2.0), st.integers(0, 2 ** 31))
def test_margin_minnorm_field_is_the_gradient_of_rockafellars_lagrangian(network, c, eta_w,
                                                                        eta_lambda, seed):
    """dW = -eta_w (W - grad_W sum a m) with a = max(0, lambda + c (1 - m)) held fixed on
    the wrong classes; dlambda = eta_lambda (1 - m), held at 0 where lambda = 0 and the
    drive is negative, 0 at the true class."""
    X, labels, weights = network
    P, K = X.shape[0], weights[-1].shape[0]
    rng = np.random.default_rng(seed)
    wrong = np.ones((P, K), dtype=bool)
    wrong[np.arange(P), labels] = False
    lam = np.where(wrong & (rng.random((P, K)) < 0.6), rng.uniform(0.0, 1.0, (P, K)), 0.0)

    def margins(w):
        F = forward(X, w)
        return F[np.arange(P), labels][:, None] - F

    violation = np.where(wrong, 1.0 - margins(weights), 0.0)
    a = np.where(wrong, np.maximum(0.0, lam + c * violation), 0.0)
    field = kernel_field(X, labels, weights, sim.MARGIN_MINNORM, eta_w, eta_lambda, 1.0, c, lam)
    n_weights = field.size - lam.size
    grad = complex_step_gradient(lambda w: np.sum(a * margins(w)), weights)
    scale = eta_w * (1 + a.sum()) * (1 + magnitude(X, weights)) ** 2
    assert_close(field[:n_weights], -eta_w * (sim.pack(weights) - grad), scale)
    drive = eta_lambda * violation
    drive[(lam <= 0.0) & (drive < 0.0)] = 0.0
    assert_close(field[n_weights:], drive.ravel(), eta_lambda * (1 + magnitude(X, weights)))
    assert np.all(field[n_weights:].reshape(P, K)[~wrong] == 0.0)


# --------------------------------------------------------------------------- layer balance


@given(st.sampled_from(["gd", "l2", "minnorm"]), st.sampled_from(
    ["classification", "regression"]).flatmap(lambda task: networks(task)),
    st.floats(0.1, 2.0), st.floats(0.0, 1.0), st.integers(0, 2 ** 31))
def test_every_field_has_the_same_layer_balance_in_every_layer(method, network, eta, beta,
                                                               seed):
    """<W_l, dW_l> = eta (sum_mu G_mu . f(x_mu) - beta |W_l|^2) for every layer (Euler's
    identity sum W_l . df/dW_l = f): so <W_l, dW_l> + eta beta |W_l|^2 is the same in
    every layer, and without beta d/dt (|W_l|^2 - |W_{l+1}|^2) = 0 along gradient flow.
    beta is the L2 strength (0 for gradient descent) or 1 for Minnorm. The common value
    is checked against eta sum G . F with G from the outputs (independent of the
    kernel's backpropagation)."""
    X, y, weights = network
    classification = np.ndim(y) == 1
    P, K = X.shape[0], weights[-1].shape[0]
    F = sim.outputs(X, weights)
    lam = None
    if method == "minnorm":
        beta = 1.0
        lam = np.random.default_rng(seed).uniform(0.0, 1.0, (P, K))
        if classification:
            algorithm = sim.MARGIN_MINNORM
            lam[np.arange(P), y] = 0.0
            m = F[np.arange(P), y][:, None] - F
            a = np.maximum(0.0, lam + 0.5 * (1.0 - m))
            a[np.arange(P), y] = 0.0
            G = -a
            G[np.arange(P), y] = a.sum(axis=1)
        else:
            algorithm = sim.EQUALITY_MINNORM
            G = lam + 0.5 * (y - F)
        field = kernel_field(X, y, weights, algorithm, eta, 1.0, 1.0, 0.5, lam)
    else:
        beta = 0.0 if method == "gd" else beta
        if classification:
            algorithm = sim.CROSS_ENTROPY
            e = np.exp(F - F.max(axis=1, keepdims=True))
            G = (np.eye(K)[y] - e / e.sum(axis=1, keepdims=True)) / P
        else:
            algorithm = sim.SQUARED
            G = (y - F) / P
        field = kernel_field(X, y, weights, algorithm, eta, 0.0, beta, 1.0)
    grads = sim.unpack(field[:sim.pack(weights).size], sim.network_widths(weights))
    balance = [np.sum(W * dW) + eta * beta * np.sum(W * W) for W, dW in zip(weights, grads)]
    scale = eta * (1 + np.abs(G).sum()) * (1 + magnitude(X, weights)) ** 2
    assert_close(np.array(balance), np.full(len(weights), eta * np.sum(G * F)), scale)


# --------------------------------------------------------------------------- multipliers


@given(networks("classification"), st.floats(0.0, 1.0), st.floats(0.01, 0.1),
       st.floats(0.001, 0.05), st.booleans(), st.integers(0, 2 ** 31))
def test_margin_multipliers_stay_non_negative_and_zero_at_the_true_class(network, c, lr_w,
                                                                         lr_lambda, flow, seed):
    """Along discrete and flow Minnorm from a random lambda0 >= 0 (0 at the true class,
    some entries 0): every sampled lambda >= 0 and exactly 0 at the true class, while
    some multiplier is positive wherever a margin was below 1 at the start."""
    X, labels, weights = network
    X = X / np.sqrt(X.shape[1])
    P, K = X.shape[0], weights[-1].shape[0]
    rng = np.random.default_rng(seed)
    lam0 = np.where(rng.random((P, K)) < 0.5, rng.uniform(0.0, 0.5, (P, K)), 0.0)
    lam0[np.arange(P), labels] = 0.0
    if flow:
        traj = sim.minnorm_flow(X, labels, weights, c=c, eta_w=10 * lr_w, eta_lambda=lr_lambda,
                                lambda0=lam0, times=[1.0, 5.0, 20.0], method="rk4", dt=0.05)
    else:
        traj = sim.minnorm_descent(X, labels, weights, c=c, lr_w=lr_w, lr_lambda=lr_lambda,
                                   lambda0=lam0, steps=[1, 10, 100, 400])
    lam = traj.multipliers
    assert lam.min() >= 0.0
    assert np.all(lam[:, np.arange(P), labels] == 0.0)
    if sim.margins(X, labels, weights).min() < 1.0:
        assert lam[1:].max() > 0.0
