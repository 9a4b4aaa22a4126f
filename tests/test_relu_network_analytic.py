"""KKT conditions of the min-norm ReLU network (docs/relu_network.md §5b): sympy's Euler
identity, the per-example Jacobians against the solvers' backpropagation and against
Euler numerically, and the residuals at converged Minnorm runs and after perturbations."""
import numpy as np
import pytest
import sympy as sp

from analytic import relu_network as exact
from theory import relu_network as sim

SQRT2 = np.sqrt(2.0)
KINK_TOL = 0.03
"""Pre-activations within 3 % of rms(z) count as kinks: the chattering amplitude of the
discrete runs below is of the order of their step (lr_w = 0.005 of weights of order 1)."""


def test_sympy_euler_identity_and_balance_are_identically_zero():
    for name, expr in exact.euler_identity_expr().items():
        values = expr if isinstance(expr, sp.MatrixBase) else [expr]
        assert all(sp.simplify(v) == 0 for v in values), name


@pytest.mark.parametrize("widths", [[5, 6, 3], [5, 6, 4, 3]])
def test_jacobians_satisfy_euler_and_match_backpropagation(widths):
    rng = np.random.default_rng(1)
    weights = sim.gaussian_init(widths, SQRT2, seed=2)
    X = rng.standard_normal((7, widths[0]))
    F = sim.outputs(X, weights)
    for mu in range(7):
        for W, J in zip(weights, exact.output_jacobians(X[mu], weights)):
            np.testing.assert_allclose(np.einsum("jik,ik->j", J, W), F[mu], rtol=1e-12,
                                       atol=1e-12)
    # sum_mu G[mu] . df(x_mu)/dW_l against the kernel's twin: the GD field on squared error
    # at targets T = F + P G is eta (G^T-backprop) exactly
    G = rng.standard_normal(F.shape)
    T = F + X.shape[0] * G
    args = (X, T, np.zeros(7, dtype=np.int64), np.array(widths), np.array(
        [sim.SQUARED, 1.0, 0.0, 0.0, 1.0]))
    field = sim.field_numpy(sim.pack(weights), *args)
    jacobian_sum = np.concatenate([sum(np.tensordot(G[mu], exact.output_jacobians(X[mu],
                                                                                  weights)[l],
                                                    axes=1) for mu in range(7)).ravel()
                                   for l in range(len(weights))])
    np.testing.assert_allclose(field, jacobian_sum, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def converged_classification():
    X, y = sim.small_classification(24, 10, 3, seed=5)
    X = X / np.sqrt(10)
    weights0 = sim.gaussian_init([10, 30, 3], SQRT2, seed=6)
    traj = sim.minnorm_descent(X, y, weights0, c=1.0, lr_w=0.005, lr_lambda=0.001,
                               steps=[300_000])
    assert traj.success
    return X, y, traj.weights_at(-1), traj.multipliers[-1]


@pytest.fixture(scope="module")
def converged_regression():
    X, Y, _ = sim.teacher_student(10, 4, 2, 16, seed=1)
    X = X / np.sqrt(10)
    weights0 = sim.gaussian_init([10, 30, 2], SQRT2, seed=3)
    traj = sim.minnorm_descent(X, Y, weights0, c=1.0, lr_w=0.005, lr_lambda=0.005,
                               steps=[300_000])
    assert traj.success
    return X, Y, traj.weights_at(-1), traj.multipliers[-1]


def test_kkt_residuals_small_at_converged_classification(converged_classification):
    r = exact.kkt_residuals(*converged_classification, kink_tol=KINK_TOL)
    assert r["stationarity"] < 1e-2 and r["primal_feasibility"] < 1e-2
    assert r["dual_feasibility"] == 0.0 and r["complementary_slackness"] < 1e-2
    assert r["layer_balance"] < 1e-2 and r["norm_identity"] < 1e-2
    plain = exact.kkt_residuals(*converged_classification)
    assert plain["stationarity"] > 10 * r["stationarity"]  # the kinks matter (docs/relu_network.md §5b.4)


def test_kkt_residuals_small_at_converged_regression(converged_regression):
    r = exact.kkt_residuals(*converged_regression, kink_tol=KINK_TOL)
    assert r["stationarity"] < 1e-3 and r["primal_feasibility"] < 1e-3
    assert r["layer_balance"] < 1e-3 and r["norm_identity"] < 1e-3


@pytest.mark.parametrize("case", ["converged_classification", "converged_regression"])
def test_rescaling_keeps_the_outputs_but_breaks_balance_and_stationarity(case, request):
    X, y, (W1, W2), lam = request.getfixturevalue(case)
    before = exact.kkt_residuals(X, y, [W1, W2], lam, kink_tol=KINK_TOL)
    after = exact.kkt_residuals(X, y, [1.2 * W1, W2 / 1.2], lam, kink_tol=KINK_TOL)
    assert after["primal_feasibility"] == pytest.approx(before["primal_feasibility"],
                                                        rel=1e-9, abs=1e-12)
    assert after["layer_balance"] > 0.3 and after["norm_identity"] > 0.2
    assert after["stationarity"] > 0.1


def test_noise_breaks_feasibility_and_slackness(converged_classification):
    X, y, weights, lam = converged_classification
    rng = np.random.default_rng(0)
    noisy = [W + 0.3 * np.std(W) * rng.standard_normal(W.shape) for W in weights]
    r = exact.kkt_residuals(X, y, noisy, lam, kink_tol=KINK_TOL)
    assert r["primal_feasibility"] > 0.1 and r["complementary_slackness"] > 0.02
    assert r["stationarity"] > 0.1


@pytest.mark.parametrize("change, argument", [
    (lambda X, y, W, lam: (X[:, :3], y, W, lam, 0.0), "weights"),
    (lambda X, y, W, lam: (X, y, W, lam[:-1], 0.0), "multipliers"),
    (lambda X, y, W, lam: (X, y + 5, W, lam, 0.0), "y"),
    (lambda X, y, W, lam: (np.full_like(X, np.nan), y, W, lam, 0.0), "X"),
    (lambda X, y, W, lam: (X, y, W, lam, -1.0), "kink_tol"),
    (lambda X, y, W, lam: (X, y, W[:1], lam, 0.0), "weights"),
])
def test_kkt_residuals_bad_input(change, argument):
    X, y = sim.small_classification(6, 4, 3, seed=0)
    W = sim.gaussian_init([4, 5, 3], SQRT2, seed=0)
    with pytest.raises(ValueError, match=argument):
        exact.kkt_residuals(*change(X, y, W, np.zeros((6, 3))))


@pytest.mark.parametrize("sizes, argument", [((0, 2, 2), "n_in"), ((2, 0, 2), "hidden"),
                                             ((2, 2, 1), "n_out")])
def test_euler_identity_bad_sizes(sizes, argument):
    with pytest.raises(ValueError, match=argument):
        exact.euler_identity_expr(*sizes)
