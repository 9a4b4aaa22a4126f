"""Property tests of the WeightNorm Hessian: random widths, dimensions, inputs and scalings
(of W, of a, of x), both smooth activations; bad input of every kind raises ValueError
naming the argument."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic import weightnorm_hessian as exact
from theory import weightnorm_hessian as wn


def build(width, dim, log_w, log_a, log_x, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((width, dim)) * np.exp(log_w + rng.uniform(-0.5, 0.5, (width, 1)))
    a = rng.standard_normal(width) * np.exp(log_a)
    x = rng.standard_normal(dim)
    x *= np.exp(log_x) / np.linalg.norm(x)
    return W, a, x


networks = st.builds(build, st.integers(1, 40), st.integers(2, 9), st.floats(-2.0, 2.0),
                     st.floats(-2.0, 2.0), st.floats(-2.0, 2.0), st.integers(0, 2 ** 30))
activations = st.sampled_from(wn.SMOOTH_ACTIVATIONS)


@given(networks, activations)
def test_eigensolver_and_closed_form_agree_and_the_bound_holds(net, activation):
    W, a, x = net
    numeric = wn.block_norms(W, a, x, activation=activation)
    np.testing.assert_allclose(numeric, exact.block_norms_closed_form(W, a, x, activation),
                               rtol=1e-10, atol=1e-300)
    assert np.all(numeric <= exact.block_bounds(W, a, x, activation) * (1 + 1e-12))


@given(networks, activations, st.floats(-3.0, 3.0))
def test_blocks_scale_as_one_over_c_squared_and_one_over_c(net, activation, log_c):
    W, a, x = net
    c = np.exp(log_c)
    dim = W.shape[1]
    base = wn.hessian_blocks(W, a, x, activation=activation)
    scaled = wn.hessian_blocks(c * W, a, x, activation=activation)
    scale_ww = np.abs(base[:, :dim, :dim]).max() / c ** 2
    scale_wa = np.abs(base[:, :dim, dim]).max() / c
    assert np.abs(scaled[:, :dim, :dim] - base[:, :dim, :dim] / c ** 2).max() <= 1e-12 * scale_ww
    assert np.abs(scaled[:, :dim, dim] - base[:, :dim, dim] / c).max() <= 1e-12 * scale_wa
    assert np.all(scaled[:, dim, dim] == 0.0)


@given(networks, activations, st.floats(-3.0, 3.0))
def test_output_is_invariant_to_the_norms_and_linear_in_a(net, activation, log_c):
    W, a, x = net
    c = np.exp(log_c)
    f = wn.network_output(W, a, x, activation=activation)
    np.testing.assert_allclose(wn.network_output(c * W, a, x, activation=activation), f,
                               rtol=1e-12, atol=1e-14 * np.abs(a).sum())
    np.testing.assert_allclose(wn.network_output(W, c * a, x, activation=activation), c * f,
                               rtol=1e-12, atol=1e-14 * c * np.abs(a).sum())


@given(networks, activations)
def test_the_w_gradient_is_orthogonal_to_w(net, activation):
    W, a, x = net
    G = wn.parameter_gradient(W, a, x, activation=activation)[:W.size].reshape(W.shape)
    along = np.abs(np.sum(G * W, axis=1))
    assert np.all(along <= 1e-13 * np.linalg.norm(G, axis=1) * np.linalg.norm(W, axis=1)
                  + 1e-300)


@settings(max_examples=20)
@given(st.integers(1, 30), st.integers(2, 6), st.integers(0, 2 ** 30),
       st.floats(0.01, 0.5), st.sampled_from([0.0, 0.1]))
def test_descent_norm_law_on_random_problems(width, dim, seed, lr, decay):
    X, y = wn.regression_task(8, dim, seed)
    W, a = wn.gaussian_init(width, dim, seed + 1)
    traj = wn.gradient_descent(X, y, W, a, lr=lr, steps=np.arange(1, 11), weight_decay=decay)
    rho2 = traj.norms ** 2
    grad2 = []
    for Wt, at in zip(traj.weights[:-1], traj.outputs[:-1]):
        G = wn.loss_gradient(X, y, Wt, at)[:Wt.size].reshape(Wt.shape)
        grad2.append(np.sum(G * G, axis=1))
    predicted = exact.gd_norm_squared_next(rho2[:-1], np.array(grad2), lr, decay)
    np.testing.assert_allclose(rho2[1:], predicted, rtol=1e-13)
    if decay == 0.0:
        assert np.all(np.diff(rho2, axis=0) >= 0.0)


# --------------------------------------------------------------------------- bad input

bad_values = st.sampled_from([np.nan, np.inf, -np.inf])


@given(networks, bad_values, st.data())
def test_non_finite_entries_are_named(net, value, data):
    W, a, x = net
    which = data.draw(st.sampled_from(["W", "a", "x"]))
    arrays = {"W": W.copy(), "a": a.copy(), "x": x.copy()}
    flat = arrays[which].reshape(-1)
    flat[data.draw(st.integers(0, flat.size - 1))] = value
    for call in (wn.hessian_norm, wn.hessian_blocks, wn.parameter_gradient):
        try:
            call(arrays["W"], arrays["a"], arrays["x"])
        except ValueError as error:
            assert which in str(error)
        else:
            raise AssertionError(f"{call.__name__} accepted a non-finite {which}")


@given(networks, st.data())
def test_a_zero_row_and_wrong_shapes_are_named(net, data):
    W, a, x = net
    row = data.draw(st.integers(0, W.shape[0] - 1))
    zeroed = W.copy()
    zeroed[row] = 0.0
    for bad, name in (((zeroed, a, x), "W"), ((W, np.append(a, 1.0), x), "a"),
                      ((W, a, np.append(x, 1.0)), "x"), ((W[0], a, x), "W")):
        try:
            wn.hessian_norm(*bad)
        except ValueError as error:
            assert name in str(error)
        else:
            raise AssertionError(f"accepted bad {name}")


@given(networks)
def test_a_hessian_of_a_non_smooth_activation_is_refused(net):
    W, a, x = net
    for call in (wn.hessian_norm, wn.hessian_blocks, wn.block_norms):
        try:
            call(W, a, x, activation="relu")
        except ValueError as error:
            assert "activation" in str(error)
        else:
            raise AssertionError("relu Hessian accepted")
