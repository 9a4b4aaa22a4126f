"""Property tests of the conditioners on random matrices with controlled singular-value
spread (U diag(s) V^T) and row scales, and of the Gauss-Newton spectrum (hypothesis,
default profile: derandomized)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from analytic import conditioning as exact
from theory import conditioning as sim


@st.composite
def spread_matrices(draw, max_size: int = 9):
    """A = diag(e^r) U diag(s) V^T: singular values log-uniform over a drawn spread, then
    rows scaled by e^r with a drawn row spread."""
    m = draw(st.integers(2, max_size))
    n = draw(st.integers(2, max_size))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    spread = draw(st.floats(0.0, 6.0))
    row_spread = draw(st.floats(0.0, 4.0))
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    r = min(m, n)
    s = np.exp(rng.uniform(-spread / 2, spread / 2, r))
    A = U[:, :r] * s @ V[:, :r].T
    return A * np.exp(rng.uniform(-row_spread, row_spread, m))[:, None]


@settings(max_examples=40)
@given(spread_matrices(), st.integers(0, 2 ** 31 - 1))
def test_row_equilibration_is_scale_invariant_and_within_sqrt_m(A, seed):
    D = np.exp(np.random.default_rng(seed).uniform(-3, 3, A.shape[0]))
    R = sim.row_equilibrate(A)
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1.0, rtol=1e-13)
    np.testing.assert_allclose(sim.row_equilibrate(D[:, None] * A), R, atol=1e-13)
    np.testing.assert_allclose(R, sim.row_equilibrate(A, backend="numpy"), rtol=1e-14)
    # van der Sluis with D = I and with D = diag(D): both are feasible scalings
    bound = np.sqrt(A.shape[0]) * min(sim.condition_number(A),
                                      sim.condition_number(D[:, None] * A))
    assert sim.condition_number(R) <= bound * (1 + 1e-10)


@settings(max_examples=40)
@given(spread_matrices())
def test_column_equilibration_is_row_equilibration_of_the_transpose(A):
    C = sim.column_equilibrate(A)
    np.testing.assert_allclose(C, sim.row_equilibrate(A.T).T, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(C, axis=0), 1.0, rtol=1e-13)
    assert sim.condition_number(C) <= np.sqrt(A.shape[1]) * sim.condition_number(A) * (1 + 1e-10)


@settings(max_examples=40)
@given(spread_matrices(), st.floats(0.1, 10.0))
def test_weight_norm_is_row_equilibration_times_the_gains_and_standardization_centres(A, g):
    gains = np.full(A.shape[0], g)
    np.testing.assert_allclose(sim.weight_normalize(A, gains), g * sim.row_equilibrate(A),
                               rtol=1e-14)
    S = sim.standardize_weights(A)
    np.testing.assert_allclose(S @ np.ones(A.shape[1]), 0.0, atol=1e-12 * A.shape[1])
    np.testing.assert_allclose(S, sim.standardize_weights(A, backend="numpy"), rtol=1e-12,
                               atol=1e-14)


@settings(max_examples=30)
@given(spread_matrices(max_size=5), st.integers(1, 4), st.integers(0, 2 ** 31 - 1))
def test_gauss_newton_condition_is_the_product_of_the_squared_factor_conditions(A, k, seed):
    if A.shape[0] < A.shape[1]:
        A = A.T  # full column rank
    Z = np.random.default_rng(seed).standard_normal((k, k + 3))
    K = np.kron(A.T @ A, Z @ Z.T / Z.shape[1])
    explicit = np.linalg.eigvalsh(K)
    np.testing.assert_allclose(exact.gauss_newton_eigenvalues(A, Z), explicit,
                               atol=1e-11 * explicit[-1])
    kappa = exact.gauss_newton_condition_number(A, Z)
    assert kappa == pytest.approx(sim.condition_number(A) ** 2 * sim.condition_number(Z) ** 2,
                                  rel=1e-9)


@settings(max_examples=30)
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from(["nan", "inf", "zero", "1d"]))
def test_bad_matrices_raise_value_error_naming_the_argument(m, n, kind):
    A = np.ones((m, n))
    if kind == "nan":
        A[m - 1, n - 1] = np.nan
        match = "W must be finite"
    elif kind == "inf":
        A[0, 0] = -np.inf
        match = "W must be finite"
    elif kind == "zero":
        A[m - 1] = 0.0
        match = f"W: row {m - 1} is zero"
    else:
        A = A[0]
        match = "W must be a non-empty 2-D array"
    with pytest.raises(ValueError, match=match):
        sim.row_equilibrate(A)


@settings(max_examples=25)
@given(st.lists(st.integers(2, 5), min_size=2, max_size=5), st.integers(2, 8),
       st.sampled_from(sorted(sim.CONDITIONERS)), st.sampled_from(sorted(sim.ACTIVATIONS)),
       st.integers(0, 2 ** 31 - 1))
def test_gradient_matches_differences_at_random_widths_and_depths(widths, samples, conditioner,
                                                                 activation, seed):
    """The jitted gradient against central differences of the loss computed from the
    NumPy conditioners (theory.conditioning.condition_numpy), WeightNorm gains included."""
    rng = np.random.default_rng(seed)
    X, Y = sim.regression_data(widths[0], widths[-1], samples, seed=seed)
    weights = [sim.scaled_rows(widths[l + 1], widths[l], 1.0, seed + l)
               for l in range(len(widths) - 1)]
    code = sim.CONDITIONERS[conditioner]
    gains = [np.exp(rng.uniform(-0.5, 0.5, W.shape[0])) for W in weights]
    wn = conditioner == "weight_norm"
    gradient = sim.loss_gradient(X, Y, weights, conditioner=conditioner,
                                 gains=gains if wn else None, activation=activation)
    state = np.concatenate([W.ravel() for W in weights] + (gains if wn else []))
    sizes = [W.size for W in weights] + ([g.size for g in gains] if wn else [])

    def loss(point):
        parts = np.split(point, np.cumsum(sizes)[:-1])
        mats = [p.reshape(W.shape) for p, W in zip(parts, weights)]
        g = parts[len(weights):] if wn else [np.ones(W.shape[0]) for W in weights]
        effective = [sim.condition_numpy(W, code, gi) for W, gi in zip(mats, g)]
        return sim.network_loss(X, Y, effective, sim.ACTIVATIONS[activation])

    h = 1e-6
    numeric = np.array([(loss(state + h * e) - loss(state - h * e)) / (2 * h)
                        for e in np.eye(state.size)])
    # central differences: truncation ~h^2 |L'''|, round-off ~1e-16 |L| / h
    np.testing.assert_allclose(gradient, numeric, atol=1e-6 * max(1.0, np.abs(numeric).max()))
