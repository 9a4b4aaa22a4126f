"""Solvers of theory.implicit_gradient against independent computations: central
differences of the loss and the gradient, the sympy Hessian of the ab-model, matrix
powers and scipy's expm on quadratics, scipy's DOP853 for the reference flows; and bad
input."""
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from theory import implicit_gradient as ig
from theory.results import Status


def _models():
    return {"ab": (ig.ab_model(1.0), np.array(ig.AB_INSTANCE["theta0"])),
            "linear": ig.network_instance("linear", 3),
            "tanh": ig.network_instance("tanh", 4),
            "quadratic": (ig.random_quadratic([1.0, 0.5, 0.2], 5), np.array([1.0, -0.5, 0.3]))}


@pytest.mark.parametrize("name", ["ab", "linear", "tanh", "quadratic"])
def test_gradient_and_hessian_vector_product_against_central_differences(name):
    model, theta = _models()[name]
    rng = np.random.default_rng(0)
    v = rng.standard_normal(model.size)
    eps = 1e-6  # central differences: truncation eps^2 ~ 1e-12, rounding 1e-16 / eps
    basis = np.eye(model.size)
    fd_grad = [(ig.loss(model, theta + eps * e) - ig.loss(model, theta - eps * e)) / (2 * eps)
               for e in basis]
    np.testing.assert_allclose(ig.gradient(model, theta), fd_grad, atol=1e-8)
    fd_hv = (ig.gradient(model, theta + eps * v) - ig.gradient(model, theta - eps * v)) / (2 * eps)
    np.testing.assert_allclose(ig.hessian_vector_product(model, theta, v), fd_hv, atol=1e-7)


def test_ab_model_hessian_equals_the_sympy_hessian():
    a, b, y = sp.symbols("a b y")
    H = sp.hessian((a * b - y) ** 2 / 2, (a, b))
    for point in ((2.0, -0.5, 1.0), (0.3, 1.7, -0.4)):
        expected = np.array(H.subs(dict(zip((a, b, y), point))), dtype=float)
        np.testing.assert_allclose(ig.hessian(ig.ab_model(point[2]), point[:2]), expected,
                                   rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["ab", "tanh"])
@pytest.mark.parametrize("lr", [None, 0.2])
def test_reference_flow_agrees_with_scipy_dop853(name, lr):
    model, theta0 = _models()[name]
    params = np.array([1.0, 0.0 if lr is None else lr / 2])
    times = np.array([0.5, 2.0])
    ours = ig.reference_flow(model, theta0, times=times, lr=lr)
    theirs = solve_ivp(lambda t, y: ig.field_numpy(y, model, params), (0.0, 2.0), theta0,
                       method="DOP853", t_eval=times, rtol=1e-13, atol=1e-15)
    # both at rtol 1e-13 over a horizon of a few time units: global errors ~1e-12
    np.testing.assert_allclose(ours.states[1:], theirs.y.T, rtol=0, atol=1e-10)


def test_gradient_descent_on_a_quadratic_is_the_matrix_power():
    model, theta0 = _models()["quadratic"]
    h, n = 0.3, 25
    run = ig.gradient_descent(model, theta0, lr=h, steps=[n])
    exact = np.linalg.matrix_power(np.eye(3) - h * model.A, n) @ theta0
    np.testing.assert_allclose(run.final, exact, rtol=1e-12, atol=1e-15)


def test_flows_on_a_quadratic_are_matrix_exponentials():
    model, theta0 = _models()["quadratic"]
    A, T, h, eta = model.A, 3.0, 0.4, 1.7
    plain = ig.gradient_flow(model, theta0, times=[T], eta=eta).final
    np.testing.assert_allclose(plain, expm(-eta * T * A) @ theta0, rtol=1e-10, atol=1e-12)
    modified = ig.modified_flow(model, theta0, lr=h, times=[T]).final
    np.testing.assert_allclose(modified, expm(-T * (A + h / 2 * A @ A)) @ theta0, rtol=1e-10,
                               atol=1e-12)
    fixed = ig.modified_flow(model, theta0, lr=h, times=[T], method="rk4", dt=1e-2).final
    np.testing.assert_allclose(fixed, modified, rtol=0, atol=1e-9)  # rk4: dt^4 ~ 1e-8 x |A|^5


@pytest.mark.parametrize("name", ["ab", "linear", "tanh"])
def test_jitted_and_numpy_backends_agree_on_every_model(name):
    model, theta0 = _models()[name]
    for solver, kwargs in (("gradient_descent", {"lr": 0.1, "steps": [3, 30]}),
                           ("modified_flow", {"lr": 0.1, "times": [1.0]})):
        fast = ig.SOLVERS[solver](model, theta0, **kwargs)
        slow = ig.SOLVERS[solver](model, theta0, backend="numpy", **kwargs)
        np.testing.assert_allclose(fast.states, slow.states, rtol=1e-12, atol=1e-14)


def test_divergence_past_the_stability_edge_is_reported_with_its_step():
    model, theta0 = _models()["quadratic"]
    run = ig.gradient_descent(model, theta0, lr=2.5, steps=[5000])
    assert run.status is Status.DIVERGED and run.diverged_at is not None
    assert np.all(np.isfinite(run.states))


BAD = [
    (lambda m, t: ig.gradient_descent(m, t, lr=0.0, steps=[3]), "lr"),
    (lambda m, t: ig.gradient_descent(m, t, lr=-0.1, steps=[3]), "lr"),
    (lambda m, t: ig.gradient_descent(m, t, lr=np.nan, steps=[3]), "lr"),
    (lambda m, t: ig.modified_flow(m, t, lr=0.0, times=[1.0]), "lr"),
    (lambda m, t: ig.modified_flow(m, t, lr=np.inf, times=[1.0]), "lr"),
    (lambda m, t: ig.gradient_flow(m, t, eta=-1.0, times=[1.0]), "eta"),
    (lambda m, t: ig.gradient_descent(m, t[:-1], lr=0.1, steps=[3]), "theta0"),
    (lambda m, t: ig.gradient_descent(m, np.full_like(t, np.nan), lr=0.1, steps=[3]), "theta0"),
    (lambda m, t: ig.gradient_descent("model", t, lr=0.1, steps=[3]), "model"),
    (lambda m, t: ig.hessian_vector_product(m, t, np.ones(m.size + 1)), "v"),
]


@pytest.mark.parametrize("call,name", BAD, ids=[f"{i}-{n}" for i, (_, n) in enumerate(BAD)])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    model, theta0 = _models()["tanh"]
    with pytest.raises(ValueError, match=name):
        call(model, theta0)


def test_bad_models_raise_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="A must be symmetric"):
        ig.quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="A"):
        ig.quadratic([[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="activation"):
        ig.network(np.ones((3, 2)), np.ones((3, 1)), 2, "relu")
    with pytest.raises(ValueError, match="same number of rows"):
        ig.network(np.ones((3, 2)), np.ones((4, 1)), 2)
    with pytest.raises(ValueError, match="hidden"):
        ig.network(np.ones((3, 2)), np.ones((3, 1)), 0)
    with pytest.raises(ValueError, match="y"):
        ig.ab_model(np.nan)
