"""Closed forms of analytic.deep_linear against independent computations: scipy's solve_ivp
on the scalar and matrix ODEs, the simulator's vector field and flows, and Monte Carlo
averages."""
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

from analytic import deep_linear as exact
from theory import deep_linear as sim


def mode_ode(depth: int, s: float, tau: float):
    return lambda _, u: depth * u ** (2 - 2 / depth) * (s - u) / tau


def integrate_mode(s, u0, times, depth, tau=1.0, **kwargs):
    return solve_ivp(mode_ode(depth, s, tau), (0.0, times[-1]), [u0], method="DOP853",
                     t_eval=times, rtol=1e-11, atol=1e-14, **kwargs)


def test_import_does_not_import_sympy_or_scipy():
    code = ("import analytic.deep_linear, sys; "
            "print('sympy' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- Saxe modes


def test_saxe_mode_expressions():
    s = exact.symbols()
    e = sp.exp(2 * s["s"] * s["t"] / s["tau"])
    published = s["s"] * e / (e - 1 + s["s"] / s["u0"])
    assert sp.simplify(exact.saxe_mode_expr(2) - published) == 0
    time = s["tau"] / (2 * s["s"]) * sp.log(s["u_final"] * (s["s"] - s["u0"])
                                           / (s["u0"] * (s["s"] - s["u_final"])))
    assert sp.simplify(sp.expand_log(exact.saxe_learning_time_expr(2) - time, force=True)) == 0
    integral = exact.saxe_mode_expr(3) / s["tau"]
    assert isinstance(integral, sp.Integral)
    v, lower, upper = integral.limits[0]
    assert sp.simplify(integral.function - v ** -2 / (s["s"] - v ** 3)) == 0
    assert (lower, upper) == (s["u0"] ** sp.Rational(1, 3), s["u"] ** sp.Rational(1, 3))


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("s,u0,tau", [(2.0, 0.01, 1.0), (0.7, 0.05, 2.5), (3.0, 1e-3, 0.4)])
def test_saxe_mode_matches_solve_ivp(depth, s, u0, tau):
    plateau = exact.saxe_plateau_time(s, u0, depth, tau)
    times = np.array([0.0, 0.3, 0.8, 1.0, 1.2, 2.0, 4.0]) * plateau
    reference = integrate_mode(s, u0, times, depth, tau)
    assert reference.success
    np.testing.assert_allclose(exact.saxe_mode(s, u0, times, depth, tau), reference.y[0],
                               rtol=1e-9)


def test_saxe_mode_saturates_without_overflow():
    with np.errstate(over="raise", invalid="raise"):  # underflow of e^(-2st/tau) is benign
        np.testing.assert_array_equal(exact.saxe_mode(5.0, 1e-3, [1e3, 1e6]), 5.0)
    np.testing.assert_array_equal(exact.saxe_mode(5.0, 1e-3, [1e3, 1e6], depth=3), 5.0)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 6])
def test_learning_time_reaches_u_final(depth):
    s, u0, u_final, tau = 1.5, 0.02, 1.2, 0.8
    t_learn = exact.saxe_learning_time(s, u0, u_final, depth, tau)
    np.testing.assert_allclose(exact.saxe_mode(s, u0, [t_learn], depth, tau), u_final, rtol=1e-11)
    # independently: the time solve_ivp's trajectory crosses u_final
    crossing = lambda _, u: u[0] - u_final  # noqa: E731
    crossing.terminal = True
    event = integrate_mode(s, u0, [10 * t_learn], depth, tau, events=crossing).t_events[0]
    np.testing.assert_allclose(t_learn, event, rtol=1e-9)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_learning_time_scales_with_s(depth):
    """With u = s x the mode equation gives t ~ s^-(2 - 2/D) at fixed u0/s and u_final/s:
    t s constant at D = 2 (Saxe's 1/s)."""
    scaled = [exact.saxe_learning_time(s, 0.01 * s, 0.9 * s, depth) * s ** (2 - 2 / depth)
              for s in (0.3, 1.0, 2.0, 7.5)]
    np.testing.assert_allclose(scaled, scaled[0], rtol=1e-10 if depth == 2 else 1e-9)


def test_plateau_time_is_the_half_way_time():
    assert exact.saxe_plateau_time(2.0, 0.01, 3) == exact.saxe_learning_time(2.0, 0.01, 1.0, 3)
    np.testing.assert_allclose(exact.saxe_mode(2.0, 0.01, [exact.saxe_plateau_time(2.0, 0.01, 4)],
                                               depth=4), 1.0, rtol=1e-11)


# --------------------------------------------------------------------------- balance


def test_balance_rate():
    s = exact.symbols()
    k = exact.balance_rate_expr()
    assert sp.simplify(k + 2 * s["eta"] * s["beta"]) == 0
    assert k.subs(s["beta"], 0) == 0


@pytest.mark.parametrize("params", [[0.7, 0.0, 0.0, 1.0],     # GD
                                    [0.7, 0.0, 0.3, 1.0],     # L2
                                    [0.9, 1.3, 1.0, 0.5]])    # Minnorm(c)
def test_balance_derivative_from_the_simulator_field(params):
    """dD_l/dt by the product rule from theory.deep_linear's vector field equals k D_l."""
    rng = np.random.default_rng(3)
    widths = np.array([6, 4, 5, 3])
    X, Y = rng.standard_normal((6, 4)), rng.standard_normal((3, 4))
    weights = sim.gaussian_init(widths, 0.9, seed=5)
    y = sim.pack(weights)
    if params[1] > 0:
        y = np.concatenate((y, rng.standard_normal(Y.size)))
    field = sim.field_numpy(y, X, Y, widths, np.array(params))
    dW = sim.unpack(field[:y.size - (Y.size if params[1] > 0 else 0)], widths)
    s = exact.symbols()
    k = float(exact.balance_rate_expr().subs({s["eta"]: params[0], s["beta"]: params[2]}))
    for l, D_l in enumerate(exact.balance_matrices(weights)):
        W_l, W_n = weights[l], weights[l + 1]
        derivative = dW[l + 1].T @ W_n + W_n.T @ dW[l + 1] - dW[l] @ W_l.T - W_l @ dW[l].T
        np.testing.assert_allclose(derivative, k * D_l, atol=1e-12)


def test_balance_matrices_decay_along_the_l2_flow():
    rng = np.random.default_rng(4)
    widths = np.array([5, 4, 4, 2])
    X, Y = rng.standard_normal((5, 3)).T, rng.standard_normal((2, 3)).T  # samples as rows
    weights0 = sim.gaussian_init(widths, 1.0, seed=2)
    eta, beta, t_end = 0.8, 0.25, 1.5
    traj = sim.l2_flow(X, Y, weights0, beta=beta, eta=eta, times=[t_end], dt=1e-3,
                       backend="numpy", method="rk4")
    s = exact.symbols()
    k = float(exact.balance_rate_expr().subs({s["eta"]: eta, s["beta"]: beta}))
    for before, after in zip(exact.balance_matrices(weights0),
                             exact.balance_matrices(traj.weights_at(-1))):
        np.testing.assert_allclose(after, np.exp(k * t_end) * before, atol=1e-11)


def test_balanced_constructions_have_zero_balance_matrices():
    widths = [6, 5, 5, 4]
    for D_l in exact.balance_matrices(sim.balanced_init(widths, [1.3, 0.4, 0.8], seed=1)):
        np.testing.assert_allclose(D_l, 0.0, atol=1e-13)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 8)).T, rng.standard_normal((4, 8)).T
    for D_l in exact.balance_matrices(sim.saxe_init(X, Y, widths, 0.05, seed=1)):
        np.testing.assert_allclose(D_l, 0.0, atol=1e-13)
    gaussian = exact.balance_matrices(sim.gaussian_init(widths, 1.0, seed=1))
    assert min(np.abs(D_l).max() for D_l in gaussian) > 0.1


# --------------------------------------------------------------------------- shallow flow


def teacher_problem(seed: int, n_in: int = 8, n_out: int = 3, P: int = 5, rank: int | None = None):
    """(X, Y, W0) with samples as rows (built in column form, then transposed)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_in, P))
    if rank is not None:  # repeated samples: rank < P
        X = X[:, np.arange(P) % rank]
    Y = rng.standard_normal((n_out, n_in)) @ X / np.sqrt(n_in) + 0.1 * rng.standard_normal((n_out, P))
    return X.T, Y.T, rng.standard_normal((n_out, n_in)) * 0.6


def test_null_space_projector():
    for rank in (None, 3):
        X, _, _ = teacher_problem(1, rank=rank)
        P_perp = exact.null_space_projector(X)
        np.testing.assert_allclose(P_perp @ X.T, 0.0, atol=1e-13)
        np.testing.assert_allclose(P_perp @ P_perp, P_perp, atol=1e-13)
        np.testing.assert_allclose(P_perp, P_perp.T, atol=1e-14)
        assert np.trace(P_perp) == pytest.approx(X.shape[1] - np.linalg.matrix_rank(X))


@pytest.mark.parametrize("rank", [None, 3])
def test_gd_shallow_trajectory_matches_solve_ivp(rank):
    X, Y, W0 = teacher_problem(2, rank=rank)
    eta, P = 0.7, X.shape[0]
    Sxx, Syx = X.T @ X / P, Y.T @ X / P
    times = np.array([0.0, 0.5, 2.0, 6.0])
    ref = solve_ivp(lambda _, m: (eta * (Syx - m.reshape(W0.shape) @ Sxx)).ravel(),
                    (0.0, times[-1]), W0.ravel(), method="DOP853", t_eval=times, rtol=1e-11,
                    atol=1e-13)
    expected = ref.y.T.reshape(times.size, *W0.shape)
    np.testing.assert_allclose(exact.gd_shallow_trajectory(W0, X, Y, times, eta), expected,
                               atol=1e-10)


@pytest.mark.parametrize("rank", [None, 3])
def test_gd_limit_shallow(rank):
    X, Y, W0 = teacher_problem(3, rank=rank)
    limit = exact.gd_limit_shallow(W0, X, Y)
    np.testing.assert_allclose(limit, exact.min_norm_map(X, Y)
                               + W0 @ exact.null_space_projector(X), atol=1e-13)
    np.testing.assert_allclose(exact.gd_shallow_trajectory(W0, X, Y, [1e5])[0], limit, atol=1e-12)
    np.testing.assert_allclose(limit @ exact.null_space_projector(X),
                               W0 @ exact.null_space_projector(X), atol=1e-13)
    s = exact.symbols()
    assert exact.gd_shallow_mode_expr()["limit"] == s["b"] / s["sigma"]


# --------------------------------------------------------------------------- test errors

# Monte Carlo checks: 4000 seeded draws, tolerance 4 standard errors of the mean (a
# two-sided 4-sigma band; about 6e-5 false-failure probability for a fresh seed).
DRAWS = 4000


def test_expected_excess_error_gd_monte_carlo():
    sigma0, n_in, n_out, P = 0.8, 12, 3, 5
    rng = np.random.default_rng(11)
    P_perp = exact.null_space_projector(rng.standard_normal((n_in, P)).T)
    W0 = rng.standard_normal((DRAWS, n_out, n_in)) * sigma0 / np.sqrt(n_in)
    samples = np.sum((W0 @ P_perp) ** 2, axis=(1, 2))
    predicted = exact.expected_excess_error_gd(sigma0, n_in, n_out, P)
    assert predicted == pytest.approx((1 - P / n_in) * n_out * sigma0 ** 2)
    assert abs(samples.mean() - predicted) < 4 * samples.std(ddof=1) / np.sqrt(DRAWS)


def test_expected_min_norm_error_monte_carlo():
    n_in, n_out, P, noise_var = 14, 3, 6, 0.2
    rng = np.random.default_rng(12)
    W_bar = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    samples = np.empty(DRAWS)
    for i in range(DRAWS):
        X = rng.standard_normal((n_in, P))
        Y = W_bar @ X + np.sqrt(noise_var) * rng.standard_normal((n_out, P))
        samples[i] = exact.generalization_error(exact.min_norm_map(X.T, Y.T), W_bar)
    predicted = exact.expected_min_norm_error(np.sum(W_bar ** 2), n_in, n_out, P, noise_var)
    assert abs(samples.mean() - predicted) < 4 * samples.std(ddof=1) / np.sqrt(DRAWS)
    assert exact.expected_min_norm_error(2.0, 5, 1, 4) == pytest.approx(0.4)  # P = n_in - 1


def test_test_error_is_the_population_error():
    rng = np.random.default_rng(13)
    M, W_bar, noise_var = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), 0.3
    x = rng.standard_normal((3, 400_000))
    e = np.sqrt(noise_var) * rng.standard_normal((2, 400_000))
    empirical = np.mean(np.sum(((M - W_bar) @ x + e) ** 2, axis=0))
    assert exact.generalization_error(M, W_bar, noise_var) == pytest.approx(empirical, rel=1e-2)


# --------------------------------------------------------------------------- bad input


X_OK, Y_OK, W0_OK = teacher_problem(0)


@pytest.mark.parametrize("call,argument", [
    (lambda: exact.saxe_mode(1.0, 1.0, [1.0]), "u0"),
    (lambda: exact.saxe_mode(1.0, 1.5, [1.0], depth=3), "u0"),
    (lambda: exact.saxe_mode(1.0, 0.1, [-1.0]), "t"),
    (lambda: exact.saxe_mode(1.0, 0.1, [np.nan]), "t"),
    (lambda: exact.saxe_mode(np.nan, 0.1, [1.0]), "s"),
    (lambda: exact.saxe_mode(1.0, 0.1, [1.0], depth=0), "depth"),
    (lambda: exact.saxe_mode(1.0, 0.1, [1.0], tau=0.0), "tau"),
    (lambda: exact.saxe_mode_expr(0), "depth"),
    (lambda: exact.saxe_learning_time(1.0, 0.1, 1.0), "u_final"),
    (lambda: exact.saxe_learning_time(1.0, 0.5, 0.2, depth=3), "u_final"),
    (lambda: exact.saxe_plateau_time(1.0, 0.6, 2), "u0"),
    (lambda: exact.min_norm_map(X_OK, Y_OK[:-1]), "Y"),
    (lambda: exact.gd_limit_shallow(W0_OK, X_OK, Y_OK[:-1]), "Y"),
    (lambda: exact.gd_limit_shallow(W0_OK.T, X_OK, Y_OK), "W0"),
    (lambda: exact.gd_shallow_trajectory(W0_OK, X_OK, Y_OK, [-1.0]), "t"),
    (lambda: exact.gd_shallow_trajectory(W0_OK, X_OK, Y_OK, [1.0], eta=-1.0), "eta"),
    (lambda: exact.null_space_projector(np.full((3, 2), np.nan)), "X"),
    (lambda: exact.balance_matrices([np.ones((3, 2)), np.ones((2, 2))]), "weights"),
    (lambda: exact.balance_matrices([np.ones((3, 2)), np.full((2, 3), np.nan)]), "weights"),
    (lambda: exact.generalization_error(np.ones((2, 3)), np.ones((3, 2))), "W_bar"),
    (lambda: exact.expected_excess_error_gd(1.0, 5, 2, 5), "n_samples"),
    (lambda: exact.expected_excess_error_gd(-1.0, 5, 2, 3), "sigma0"),
    (lambda: exact.expected_min_norm_error(1.0, 5, 2, 4, noise_var=0.1), "n_samples"),
    (lambda: exact.expected_min_norm_error(1.0, 5, 0, 3), "n_out"),
])
def test_bad_input_names_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize("depth", [3, 4])
def test_plateau_time_for_tiny_starts_matches_its_leading_asymptote(depth):
    """t_1/2 = tau u0^-(1-2/D) / ((D-2) s) (1 + O(u0^(1-2/D))): relative 1e-6 at u0 = 1e-30."""
    s, u0 = 1.3, 1e-30
    leading = u0 ** -(1 - 2 / depth) / ((depth - 2) * s)
    assert exact.saxe_plateau_time(s, u0, depth) == pytest.approx(leading, rel=1e-6)
