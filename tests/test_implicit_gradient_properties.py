"""Property tests: random quadratics (spectrum in [0.05, 1] times a scale, Haar basis) with
h below 1/lambda_max, random small linear and tanh networks, random ab-model points; bad
step sizes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic import implicit_gradient as exact
from theory import implicit_gradient as ig

EPS = np.finfo(float).eps


def quadratic_case(dim: int, log_scale: float, seed: int, fraction: float):
    rng = np.random.default_rng(seed)
    eigenvalues = 10.0 ** log_scale * rng.uniform(0.05, 1.0, dim)
    model = ig.random_quadratic(eigenvalues, seed)
    return model, rng.standard_normal(dim), fraction / eigenvalues.max()


quadratics = st.builds(quadratic_case, st.integers(1, 6), st.floats(-1.0, 1.0),
                       st.integers(0, 2 ** 30), st.floats(0.01, 0.99))
networks = st.builds(lambda activation, seed: ig.network_instance(activation, seed),
                     st.sampled_from(["linear", "tanh"]), st.integers(0, 2 ** 30))


@settings(max_examples=20)
@given(quadratics, st.integers(1, 40))
def test_gradient_descent_on_random_quadratics_is_the_closed_form(case, n):
    model, theta0, h = case
    run = ig.gradient_descent(model, theta0, lr=h, steps=[n])
    lam, Q = np.linalg.eigh(model.A)
    expected = Q @ ((1 - h * lam) ** n * (Q.T @ theta0))
    assert np.allclose(run.final, expected, rtol=1e-10, atol=1e-12 * np.abs(theta0).max())


@settings(max_examples=20)
@given(quadratics)
def test_modified_flow_is_closer_to_one_step_than_the_plain_flow_below_half_the_radius(case):
    """Per eigendirection |(1 - x) - exp(-x - x^2/2)| < |(1 - x) - exp(-x)| for 0 < x <= 1/2
    (x = h lam), so the norms order the same way."""
    model, theta0, h = case
    h = min(h, 0.5 / np.linalg.eigvalsh(model.A).max())
    step = ig.gradient_descent(model, theta0, lr=h, steps=[1]).final
    plain = ig.reference_flow(model, theta0, times=[h]).final
    modified = ig.reference_flow(model, theta0, times=[h], lr=h).final
    assert np.linalg.norm(step - modified) < np.linalg.norm(step - plain)


@settings(max_examples=15)
@given(networks, st.integers(0, 2 ** 30))
def test_hessian_vector_products_of_random_networks_are_symmetric(case, seed):
    model, theta = case
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal((2, model.size))
    uHv = u @ ig.hessian_vector_product(model, theta, v)
    vHu = v @ ig.hessian_vector_product(model, theta, u)
    assert abs(uHv - vHu) <= 1e-12 * (1 + abs(uHv))


@settings(max_examples=15)
@given(networks, st.floats(0.01, 0.5))
def test_modified_field_is_minus_the_gradient_of_the_modified_loss(case, h):
    """Central differences of E + (h/4)|grad E|^2 (an independent route to the modified
    field) against the jitted field with the modified flow's parameters."""
    model, theta = case
    def modified_loss(t):
        g = ig.gradient(model, t)
        return ig.loss(model, t) + h / 4 * g @ g
    eps = 1e-5  # truncation eps^2 |third derivatives| ~ 1e-10, rounding 1e-16 / eps
    fd = np.array([(modified_loss(theta + eps * e) - modified_loss(theta - eps * e)) / (2 * eps)
                   for e in np.eye(model.size)])
    args = ig.kernel_args(model, np.array([1.0, h / 2]))
    field = np.empty(model.size)
    ig.field(theta, args, field, ig.workspace(theta, args))
    assert np.allclose(field, -fd, rtol=0, atol=1e-8 * (1 + np.abs(fd).max()))


@settings(max_examples=30)
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-1.5, 1.5), st.floats(0.01, 1.0))
def test_balancing_identity_on_random_points(a, b, y, h):
    model = ig.ab_model(y)
    step = ig.gradient_descent(model, [a, b], lr=h, steps=[1]).final
    before, after = a * a - b * b, step[0] ** 2 - step[1] ** 2
    factor = exact.balancing_factor(a, b, y, h)
    assert abs(after - factor * before) <= 16 * EPS * (a * a + b * b + step @ step) * \
        max(1.0, abs(factor))


@pytest.mark.parametrize("lr", [0.0, -1e-3, np.nan, np.inf, "x"])
def test_bad_step_sizes_raise_value_error_naming_lr(lr):
    model, theta = ig.network_instance("tanh", 0)
    with pytest.raises(ValueError, match="lr"):
        ig.gradient_descent(model, theta, lr=lr, steps=[1])
    with pytest.raises(ValueError, match="lr"):
        ig.modified_flow(model, theta, lr=lr, times=[1.0])
