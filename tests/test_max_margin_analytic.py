"""Closed forms of analytic.max_margin against independent computations: a dual solved by
L-BFGS-B, finite-difference Jacobians of the simulator's field, and the KKT conditions."""
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import minimize

from analytic import max_margin as exact
from theory import max_margin as sim


def dual_by_lbfgs(Z: np.ndarray) -> np.ndarray:
    """w = Z^T alpha with alpha = argmin_{alpha >= 0} 1/2 alpha^T K alpha - 1^T alpha."""
    K = Z @ Z.T
    result = minimize(lambda a: 0.5 * a @ K @ a - a.sum(), np.zeros(len(Z)),
                      jac=lambda a: K @ a - 1.0, method="L-BFGS-B", bounds=[(0, None)] * len(Z),
                      options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    return Z.T @ result.x


def test_import_does_not_import_sympy_or_scipy():
    code = ("import analytic.max_margin, sys; "
            "print('sympy' in sys.modules, 'scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("seed,n,d,margin", [(1, 30, 5, 0.5), (2, 12, 3, 0.2), (7, 40, 2, 0.8),
                                             (1, 40, 7, 0.3), (9, 25, 20, 0.1)])
def test_max_margin_matches_an_independent_dual_solve(seed, n, d, margin):
    """The last two: d = 7, P = 40 (|S| = 6) and d = 20, P = 25 (|S| = 16), where the exact
    solve on the support is slow (issue 12)."""
    X, y = sim.separable_data(n, d, margin, seed)
    solution = exact.max_margin(X, y)
    assert not solution.exact
    np.testing.assert_allclose(solution.w, dual_by_lbfgs(sim.signed_data(X, y)), atol=1e-5)
    assert max(solution.kkt.values()) <= 1e-12
    assert solution.margin == pytest.approx(1 / np.linalg.norm(solution.w))
    w, alpha, support = solution
    np.testing.assert_array_equal(np.flatnonzero(alpha > 0), support)


@pytest.mark.parametrize("seed,n,d,margin", [(1, 30, 5, 0.5), (2, 12, 3, 0.2), (4, 20, 4, 0.3)])
def test_float_solution_agrees_with_the_exact_rational_solve(seed, n, d, margin):
    """The float64 polish on the support against sympy's rational solve of the derived
    equations (K_SS alpha = 1, w = Z_S^T alpha): the same support, values to round-off."""
    X, y = sim.separable_data(n, d, margin, seed)
    numeric, rational = exact.max_margin(X, y), exact.max_margin(X, y, exact=True)
    assert rational.exact and not numeric.exact
    np.testing.assert_array_equal(numeric.support, rational.support)
    np.testing.assert_allclose(numeric.w, rational.w, rtol=1e-12)
    np.testing.assert_allclose(numeric.alpha, rational.alpha, rtol=1e-12, atol=1e-15)
    assert max(rational.kkt.values()) <= 1e-12


def test_support_solution_expression_is_stationarity_and_active_constraints():
    forms = exact.support_solution_expr(2, 3)
    rng = np.random.default_rng(0)
    values = {s: rng.normal() for s in forms["z"]} | {a: rng.normal() for a in forms["alpha"]}
    z = np.array(forms["z"].subs(values), dtype=float)
    alpha = np.array(forms["alpha"].subs(values), dtype=float).ravel()
    np.testing.assert_allclose(np.array(forms["w"].subs(values), dtype=float).ravel(), z.T @ alpha)
    residual = np.array(forms["alpha_equations"].subs(values), dtype=float).ravel()
    np.testing.assert_allclose(residual, z @ z.T @ alpha - 1.0, atol=1e-12)


def test_not_separable_raises_with_a_valid_certificate():
    X, y = sim.separable_data(10, 3, 0.5, seed=4)
    X, y = np.vstack([X, X[:1]]), np.append(y, -y[0])  # the same point with both labels
    with pytest.raises(exact.NotSeparableError) as info:
        exact.max_margin(X, y)
    alpha = info.value.certificate
    assert alpha.min() >= -1e-12 and alpha.sum() == pytest.approx(1.0)
    assert np.abs(sim.signed_data(X, y).T @ alpha).max() <= 1e-9


def test_degenerate_support_set_is_reported():
    X = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, -1.0], [3.0, 0.0]])
    with pytest.raises(ArithmeticError, match="degenerate"):
        exact.max_margin(X, np.ones(4))


def numerical_jacobian(field, y: np.ndarray, h: float = 1e-7) -> np.ndarray:
    return np.column_stack([(field(y + h * e) - field(y - h * e)) / (2 * h) for e in np.eye(y.size)])


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("seed,n,d", [(1, 30, 5), (3, 15, 4), (6, 25, 3)])
def test_minnorm_spectrum_matches_the_numerical_jacobian(seed, n, d, discrete):
    X, y = sim.separable_data(n, d, 0.4, seed)
    solution = exact.max_margin(X, y)
    Z = sim.signed_data(X, y)
    eta_w, eta_lambda = 0.3, 0.05
    params = np.array([sim.MINNORM, eta_w, eta_lambda])
    keep = np.concatenate((np.arange(d), d + solution.support))  # non-SV multipliers sit at 0

    def field(v):
        full = np.concatenate((solution.w, solution.alpha))
        full[keep] = v
        return sim.field_numpy(full, Z, params)[keep]

    J = numerical_jacobian(field, np.concatenate((solution.w, solution.alpha[solution.support])))
    numeric = np.linalg.eigvals(np.eye(len(J)) + J if discrete else J)
    derived = exact.minnorm_eigenvalues(X, y, eta_w, eta_lambda, discrete=discrete)
    assert derived.size == numeric.size
    # the same multiset: each eigenvalue has a partner within 1e-6 (central differences, h = 1e-7)
    distances = np.abs(derived[:, None] - numeric[None, :])
    assert distances.min(axis=1).max() <= 1e-6 and distances.min(axis=0).max() <= 1e-6


def test_soudry_offset_solves_the_support_vector_equations():
    X, y = sim.separable_data(30, 5, 0.5, seed=1)
    solution = exact.max_margin(X, y)
    offset = exact.soudry_offset(X, y, eta=0.3)
    Z_S = sim.signed_data(X, y)[solution.support]
    np.testing.assert_allclose(0.3 * np.exp(-Z_S @ offset), solution.alpha[solution.support],
                               rtol=1e-10)



def test_soudry_remainder_exponents_match_the_flow_linearized_in_log_time():
    """-Jacobian of drho/ds = t F(w_hat s + w_tilde + rho) - w_hat (exponential loss, s = ln t)
    at rho = 0, by central differences, restricted to span(z_S): its spectrum is ``support``;
    ``non_support`` are the margins minus 1, ``gamma`` the smallest exponent."""
    X, y = sim.separable_data(30, 5, 0.5, seed=1)
    solution = exact.max_margin(X, y)
    Z = sim.signed_data(X, y)
    offset = exact.soudry_offset(X, y)
    s = 5000.0  # the non-support terms e^(-(m - 1) s) underflow to 0 there

    def drift(rho):
        return Z.T @ np.exp(s - Z @ (solution.w * s + offset + rho)) - solution.w

    h = 1e-6
    jacobian = np.column_stack([(drift(h * e) - drift(-h * e)) / (2 * h) for e in np.eye(5)])
    basis = np.linalg.svd(Z[solution.support], full_matrices=False)[2].T  # span(z_S)
    numeric = np.sort(np.linalg.eigvals(-basis.T @ jacobian @ basis).real)
    exponents = exact.soudry_remainder_exponents(X, y)
    np.testing.assert_allclose(exponents["support"], numeric, rtol=1e-6)
    margins = np.delete(Z @ solution.w, solution.support)
    np.testing.assert_allclose(exponents["non_support"], np.sort(margins - 1.0))
    assert exponents["gamma"] == min(numeric.min(), margins.min() - 1.0) or np.isclose(
        exponents["gamma"], min(numeric.min(), margins.min() - 1.0), rtol=1e-6)

X0, Y0 = sim.separable_data(6, 2, 0.5, seed=0)
BAD_CALLS = [
    ("y", lambda: exact.max_margin(X0, Y0 * 2)),
    ("X", lambda: exact.max_margin(X0[:, :, None], Y0)),
    ("X", lambda: exact.max_margin(np.where(X0 > 0, np.inf, X0), Y0)),
    ("tol", lambda: exact.max_margin(X0, Y0, tol=0.0)),
    ("exact", lambda: exact.max_margin(X0, Y0, exact="yes")),
    ("discrete", lambda: exact.minnorm_eigenvalues(X0, Y0, 0.1, 0.1, discrete=None)),
    ("eta_w", lambda: exact.minnorm_rate(X0, Y0, 0.0, 0.1)),
    ("eta", lambda: exact.soudry_offset(X0, Y0, eta=-1.0)),
    ("lambda_fraction", lambda: exact.reference_steps(X0, Y0, lambda_fraction=-1.0)),
    ("lr_w", lambda: exact.reference_steps(X0, Y0, lr_w=np.nan)),
]


@pytest.mark.parametrize("argument,call", BAD_CALLS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()
