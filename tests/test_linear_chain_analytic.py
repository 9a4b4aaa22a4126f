"""Closed forms of analytic.linear_chain against independent computations: constrained
optimization (SLSQP), finite-difference Jacobians of the simulator's vector field, and
simulations."""
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import minimize

from analytic import linear_chain as exact
from theory import linear_chain as sim


def numerical_jacobian(y: np.ndarray, params: np.ndarray, h: float = 1e-6) -> np.ndarray:
    columns = [(sim.field_numpy(y + h * e, params) - sim.field_numpy(y - h * e, params))
               / (2 * h) for e in np.eye(y.size)]
    return np.column_stack(columns)


def test_import_does_not_import_sympy():
    code = "import analytic.linear_chain, sys; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("p_star", [0.3, 2.0, -1.7])
def test_min_norm_solution_is_the_constrained_minimizer(depth, p_star):
    start = np.full(depth, 1.3) * np.where(np.arange(depth) == 0, np.sign(p_star), 1.0)
    result = minimize(lambda w: 0.5 * w @ w, start, jac=lambda w: w, method="SLSQP",
                      constraints={"type": "eq", "fun": lambda w: np.prod(w) - p_star},
                      options={"ftol": 1e-14, "maxiter": 500})
    assert result.success
    np.testing.assert_allclose(exact.min_norm_solution(p_star, depth), result.x, atol=1e-6)


@pytest.mark.parametrize("depth,c", [(1, 0.0), (2, 0.0), (2, 1.0), (3, 0.0), (3, 1.0), (5, 0.4)])
def test_minnorm_eigenvalues_match_the_numerical_jacobian(depth, c):
    p_star, eta_w, eta_l, sigma = 1.7, 0.8, 1.3, 1.1
    y = np.append(exact.min_norm_solution(p_star, depth), exact.min_norm_multiplier(p_star, depth))
    params = np.array([p_star, sigma, eta_w, eta_l, 1.0, c])
    np.testing.assert_allclose(sim.field_numpy(y, params), 0.0, atol=1e-13)
    numeric = np.sort_complex(np.linalg.eigvals(numerical_jacobian(y, params)))
    derived = np.sort_complex(exact.minnorm_eigenvalues(p_star, depth, c, eta_w, eta_l, sigma))
    np.testing.assert_allclose(derived, numeric, atol=1e-6)


@pytest.mark.parametrize("depth", [2, 3, 4, 6])
def test_damping_threshold_is_where_the_spectrum_crosses_the_axis(depth):
    """Spectra from finite differences of the simulator's field, not from the sympy trace."""
    p_star, sigma = 1.4, 0.9
    c_min = exact.minnorm_damping_threshold(p_star, depth, sigma)
    y = np.append(exact.min_norm_solution(p_star, depth), exact.min_norm_multiplier(p_star, depth))
    spectra = [np.linalg.eigvals(numerical_jacobian(y, np.array([p_star, sigma, 1.0, 1.0, 1.0, c]))).real.max()
               for c in (max(c_min * 0.98, 0.0), c_min * 1.02 + 1e-3)]
    assert spectra[0] >= -1e-7 and spectra[1] < -1e-5


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("beta", [0.05, 0.4])
def test_l2_fixed_points_are_zeros_of_the_field_with_the_numerical_spectrum(depth, beta):
    p_star, sigma = 2.0, 1.0
    params = np.array([p_star, sigma, 1.0, 0.0, beta, 1.0])
    for point in exact.l2_fixed_points(p_star, beta, depth, sigma):
        y = np.append(point["weights"], 0.0)
        assert np.abs(sim.field_numpy(y, params)).max() < 1e-10
        numeric = np.linalg.eigvals(numerical_jacobian(y, params)[:-1, :-1])
        np.testing.assert_allclose(np.sort(numeric.real), np.sort(point["eigenvalues"].real),
                                   atol=1e-5)


def test_l2_threshold_at_depth_two_collapses_to_the_origin():
    assert exact.l2_beta_max(2.0, 2) == pytest.approx(2.0)
    np.testing.assert_array_equal(exact.l2_fixed_point(2.0, 2.5, 2), 0.0)
    # the slowest rate at the origin is beta - sigma p* = 0.5: e^-50 ~ 2e-22 left at t = 100
    final = sim.l2_flow(2.0, [1.5, 0.3], beta=2.5, times=[100.0], method="rk4", dt=1e-2).final[:-1]
    assert np.abs(final).max() < 1e-15


def test_l2_product_bias_first_order():
    p_star, depth, sigma = 2.0, 3, 1.3
    first_order = exact.l2_balanced_equation_expr()["bias_first_order"]
    s = exact.symbols()
    for beta in (1e-3, 1e-4):
        predicted = float(first_order.subs({s["beta"]: beta, s["p_star"]: p_star, s["L"]: depth,
                                            s["sigma"]: sigma}))
        actual = exact.l2_product_bias(p_star, beta, depth, sigma)
        assert abs(actual - predicted) < 50 * beta ** 2  # second-order remainder


@pytest.mark.parametrize("algorithm,beta,eta", [("gd", 0.0, 1.3), ("l2", 0.2, 0.7),
                                                 ("minnorm", 0.0, 0.9)])
def test_imbalance_solution_matches_simulation(algorithm, beta, eta):
    w0, times = np.array([1.2, 0.5, 0.9]), np.array([0.5, 2.0, 5.0])
    if algorithm == "gd":
        traj = sim.gradient_flow(2.0, w0, eta=eta, times=times, dt=1e-3, method="rk4")
    elif algorithm == "l2":
        traj = sim.l2_flow(2.0, w0, beta=beta, eta=eta, times=times, dt=1e-3, method="rk4")
    else:
        traj = sim.minnorm_flow(2.0, w0, c=0.5, eta_w=eta, times=times, dt=1e-3, method="rk4")
    observed = traj.weights[1:] ** 2 - traj.weights[1:, :1] ** 2
    np.testing.assert_allclose(exact.imbalances(w0, times, algorithm, eta, beta), observed,
                               atol=1e-10)


def test_gd_limit_expression_at_depth_two():
    C, p = exact.gd_limit_expr().free_symbols, exact.symbols()["p_star"]
    assert p in C
    np.testing.assert_allclose(exact.gd_limit([1.5, 0.3], 2.0), [1.8311121, 1.0922324], atol=1e-6)


def test_gd_limit_crosses_zero_with_the_unique_smallest_weight():
    w0 = np.array([1.5, -0.3, 0.9])
    limit = exact.gd_limit(w0, 2.0)
    final = sim.gradient_flow(2.0, w0, times=[60.0], dt=2e-3, stop_tol=1e-12, method="rk4").final[:-1]
    np.testing.assert_allclose(final, limit, atol=1e-9)
    assert limit[1] > 0


BAD_CALLS = [
    ("depth", lambda: exact.min_norm_solution(2.0, 0)),
    ("depth", lambda: exact.minnorm_eigenvalues(2.0, 2.5, 1.0)),
    ("p_star", lambda: exact.minnorm_damping_threshold(-1.0, 3)),
    ("p_star", lambda: exact.l2_fixed_point(np.nan, 0.1, 2)),
    ("beta", lambda: exact.l2_fixed_point(2.0, 0.0, 2)),
    ("c", lambda: exact.minnorm_eigenvalues(2.0, 3, -0.1)),
    ("eta_w", lambda: exact.minnorm_eigenvalues(2.0, 3, 1.0, eta_w=0.0)),
    ("sigma", lambda: exact.gd_limit([1.0, 2.0], 2.0, sigma=-1.0)),
    ("w0", lambda: exact.gd_limit([1.0, np.inf], 2.0)),
    ("does not reach", lambda: exact.gd_limit([1.0, -1.0], 2.0)),
    ("w0", lambda: exact.gd_limit([0.0, 0.0, 1.0], 2.0)),  # a saddle: the gradient vanishes
    ("depth", lambda: exact.min_norm_solution(2.0, None)),
    ("eta", lambda: exact.imbalances([1.0, 2.0], [1.0], "l2", eta=np.nan)),
    ("beta", lambda: exact.imbalances([1.0, 2.0], [1.0], "l2", beta=-1.0)),
    ("t", lambda: exact.imbalances([1.0, 2.0], [np.nan])),
    ("algorithm", lambda: exact.imbalances([1.0, 2.0], [1.0], "adam")),
    ("w must be finite", lambda: exact.distance_to_min_norm([1.0, np.nan], 2.0)),
    ("nonzero", lambda: exact.gd_discrete_imbalance_increment([1.0, 0.0], 2.0, 0.1)),
    ("lr", lambda: exact.gd_discrete_imbalance_increment([1.0, 2.0], 2.0, 0.0)),
]


@pytest.mark.parametrize("argument,call", BAD_CALLS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("eps", [1e-1, 1e-3, 1e-6])
def test_l2_beta_for_distance_inverts_the_irreducible_distance(depth, eps):
    beta = exact.l2_beta_for_distance(2.0, eps, depth)
    assert exact.l2_distance_to_min_norm(2.0, beta, depth) == pytest.approx(eps, rel=1e-10)
    assert exact.l2_distance_to_min_norm(2.0, 0.5 * beta, depth) < eps  # increasing in beta


def test_l2_beta_for_distance_rejects_unreachable_distances():
    with pytest.raises(ValueError, match="eps"):
        exact.l2_beta_for_distance(2.0, 10.0, 2)
    with pytest.raises(ValueError, match="eps"):
        exact.l2_beta_for_distance(2.0, 0.0, 2)
