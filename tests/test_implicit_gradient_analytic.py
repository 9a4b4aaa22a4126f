"""Closed forms of analytic.implicit_gradient against independent computations: the
solvers and NumPy gradients of theory.implicit_gradient, matrix powers and scipy's expm,
and a second sympy derivation where one exists."""
import numpy as np
import sympy as sp
from scipy.linalg import expm

from analytic import implicit_gradient as exact
from theory import implicit_gradient as ig


def test_modified_loss_of_the_ab_model_equals_e_plus_quarter_h_gradient_squared():
    model = ig.ab_model(0.8)
    for a, b, h in ((2.0, -0.5, 0.1), (0.3, 1.1, 0.02), (-1.2, 0.4, 0.5)):
        g = ig.gradient(model, [a, b])
        direct = ig.loss(model, [a, b]) + h / 4 * g @ g
        assert np.isclose(exact.modified_loss_ab(a, b, 0.8, h), direct, rtol=1e-14)


def test_modified_loss_of_a_quadratic_gives_the_first_two_terms_of_the_all_orders_rate():
    """Two derivations agree: the generic modified loss at E = lam (p^2 + q^2) / 2 has the
    gradient rate -(lam + h lam^2 / 2), the series of log(1 - h lam) / h through h^1."""
    sym = exact.symbols()
    p, q, lam, h = sym["p"], sym["q"], sym["lam"], sym["h"]
    generic = exact.modified_loss_expr()
    (E,) = generic.atoms(sp.core.function.AppliedUndef)
    modified = generic.subs(E, lam * (p ** 2 + q ** 2) / 2).doit()
    rate = sp.simplify(-sp.diff(modified, p) / p)
    assert sp.simplify(rate - exact.quadratic_rate_series_expr(2)) == 0


def test_all_orders_rate_reproduces_one_step_and_its_series_converges_below_radius_one():
    lam, h = 2.0, 0.3
    mu = float(exact.quadratic_rate_expr().subs({exact.symbols()["lam"]: lam,
                                                  exact.symbols()["h"]: h}))
    assert np.isclose(np.exp(mu * h), 1 - h * lam, rtol=1e-14)
    series = exact.quadratic_rate_series_expr(4)
    value = float(series.subs({exact.symbols()["lam"]: lam, exact.symbols()["h"]: h}))
    # the omitted terms -(h^3 lam^4 / 4 + ...) are below (h lam)^4 lam / (1 - h lam) / 4
    assert abs(value - mu) <= (h * lam) ** 4 * lam / (1 - h * lam) / 4 * 1.0001


def test_quadratic_errors_against_matrix_powers_and_exponentials():
    model = ig.random_quadratic([1.0, 0.4, 0.1], 2)
    A, theta0, h, n = model.A, np.array([0.3, -1.0, 0.7]), 0.15, 12
    gd = np.linalg.matrix_power(np.eye(3) - h * A, n) @ theta0
    errors = exact.quadratic_exact_errors(A, theta0, h, n)
    np.testing.assert_allclose(errors["plain"], gd - expm(-n * h * A) @ theta0, atol=1e-14)
    np.testing.assert_allclose(errors["modified"],
                               gd - expm(-n * h * (A + h / 2 * A @ A)) @ theta0, atol=1e-14)
    h = 1e-2  # the series through h^4: the omitted term is O(h^5 lam^5) ~ 1e-10 of |theta|
    local = exact.quadratic_local_errors(A, theta0, h)
    step = (np.eye(3) - h * A) @ theta0
    np.testing.assert_allclose(local["plain"], step - expm(-h * A) @ theta0, atol=1e-11)
    np.testing.assert_allclose(local["modified"], step - expm(-h * (A + h / 2 * A @ A)) @ theta0,
                               atol=1e-11)


def test_balancing_factor_against_one_gradient_descent_step():
    y = 0.7
    model = ig.ab_model(y)
    for a, b, h in ((2.0, -0.5, 0.1), (0.4, 1.3, 0.6), (1.5, 1.5, 0.3)):
        step = ig.gradient_descent(model, [a, b], lr=h, steps=[1]).final
        before, after = a * a - b * b, step[0] ** 2 - step[1] ** 2
        assert abs(after - exact.balancing_factor(a, b, y, h) * before) <= \
            8 * np.finfo(float).eps * (a * a + b * b + step @ step)


def test_balancing_rates_against_the_solvers_fields():
    """(dD/dt)/D from the jitted field of each flow (its first step of a tiny dt) against
    balancing_expr: -h r^2 for the modified flow, 0 for the gradient flow."""
    sym = exact.symbols()
    forms = exact.balancing_expr()
    y, h = 1.2, 0.3
    model = ig.ab_model(y)
    for a, b in ((2.0, -0.5), (0.5, 1.4)):
        D = a * a - b * b
        for params, key in ((np.array([1.0, h / 2]), "modified_rate"),
                            (np.array([1.0, 0.0]), "plain_rate")):
            F = ig.field_numpy(np.array([a, b]), model, params)
            rate = (2 * a * F[0] - 2 * b * F[1]) / D
            expected = float(forms[key].subs({sym["a"]: a, sym["b"]: b, sym["y"]: y,
                                              sym["h"]: h}))
            assert abs(rate - expected) <= 1e-13 * max(1.0, abs(expected))


def test_balanced_sharpness_against_eigvalsh_of_the_hessian_at_a_minimum():
    for a, y in ((2.0, 1.0), (0.6, -0.8), (1.0, 1.5)):
        b = y / a
        measured = ig.sharpness(ig.ab_model(y), [a, b])
        assert np.isclose(measured, exact.balanced_sharpness(a * a - b * b, y), rtol=1e-13)
