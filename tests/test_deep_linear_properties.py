"""Property tests of the deep-linear claims over random sizes (P < N_i), depths 2-4,
initialization scales and seeds."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from analytic import deep_linear as exact
from theory import deep_linear as sim


@st.composite
def teachers(draw):
    n_in = draw(st.integers(4, 10))
    n_samples = draw(st.integers(2, n_in - 1))
    n_out = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    X = rng.standard_normal((n_in, n_samples)).T  # samples as rows
    W_bar = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    return X, X @ W_bar.T, W_bar


@given(teachers(), st.floats(0.1, 1.5), st.integers(0, 2 ** 31))
def test_shallow_gd_limit_and_its_excess_identity(teacher, sigma0, seed):
    """E_g(GD) - E_g(MN) = |W0 P_perp|^2 - 2 <W_bar P_perp, W0 P_perp>; positive whenever
    |W0 P_perp| > 2 |W_bar P_perp| (Cauchy-Schwarz)."""
    X, Y, W_bar = teacher
    W0 = sim.gaussian_init([X.shape[1], Y.shape[1]], sigma0, seed)
    spectrum = np.linalg.eigvalsh(X @ X.T / X.shape[0])  # Sigma_xx on the span of the samples
    lr = 0.5 / spectrum.max()
    steps = int(40 / (lr * spectrum.min())) + 1  # e^-40 left on the slowest direction
    M = sim.gradient_descent(X, Y, W0, lr=lr, steps=[steps]).weights_at()[0]
    np.testing.assert_allclose(M, exact.gd_limit_shallow(W0[0], X, Y), atol=1e-9)
    projector = exact.null_space_projector(X)
    a, b = W0[0] @ projector, W_bar @ projector
    excess = exact.generalization_error(M, W_bar) - exact.generalization_error(exact.min_norm_map(X, Y), W_bar)
    assert abs(excess - (np.sum(a * a) - 2 * np.sum(a * b))) <= 1e-8
    if np.linalg.norm(a) > 2 * np.linalg.norm(b):
        assert excess > 0


@pytest.mark.slow
@given(teachers(), st.floats(0.3, 1.5), st.integers(0, 2 ** 31))
def test_minnorm_depth_two_reaches_the_min_norm_map_from_any_scale(teacher, sigma0, seed):
    """Minnorm(c = 2) at depth 2 ends at Y_c X_c^+ whatever the initial scale.

    The horizon is fixed (t = 20,000, rk4 at dt = 0.02) and the slowest linearized mode
    depends on the data's conditioning: on teachers(n_in = 6, P = 5) with
    lambda_min(Sigma_xx) = 0.012 (Sigma_xx = X X^T / P on the span of the samples) it decays
    at ~8e-4 per unit time, about 0.065 lambda_min, leaving 1.3e-8 at the horizon. The test
    covers lambda_min >= 0.05 (rate ~3e-3, e^-65 left): the claim holds below too, at
    horizons this test cannot afford.
    """
    X, Y, _ = teacher
    assume(np.linalg.eigvalsh(X @ X.T / X.shape[0]).min() >= 0.05)
    hidden = X.shape[1]
    W0 = sim.gaussian_init([X.shape[1], hidden, Y.shape[1]], sigma0, seed)
    traj = sim.minnorm_flow(X, Y, W0, c=2.0, times=[20_000.0], dt=0.02, stop_tol=1e-13,
                            method="rk4")
    assert traj.success
    np.testing.assert_allclose(sim.product(traj.weights_at()), exact.min_norm_map(X, Y), atol=1e-9)


@given(teachers(), st.integers(2, 4), st.floats(0.2, 1.0), st.integers(0, 2 ** 31))
def test_gradient_descent_keeps_the_null_space_and_minnorm_shrinks_it(teacher, depth, sigma0,
                                                                       seed):
    X, Y, _ = teacher
    widths = [X.shape[1]] + [5] * (depth - 1) + [Y.shape[1]]
    W0 = sim.gaussian_init(widths, sigma0, seed)
    projector = exact.null_space_projector(X)
    gd = sim.gradient_descent(X, Y, W0, lr=0.02, steps=[500])
    if gd.status.value != "diverged":
        np.testing.assert_allclose(gd.weights_at()[0] @ projector, W0[0] @ projector, atol=1e-12)
    mn = sim.minnorm_flow(X, Y, W0, c=1.0, eta_w=0.5, times=[2.0], dt=1e-3, method="rk4")
    np.testing.assert_allclose(mn.weights_at()[0] @ projector, np.exp(-1.0) * W0[0] @ projector,
                               atol=1e-10)
