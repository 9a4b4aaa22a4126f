"""Property tests: random small softmax models and offsets; the KL is non-negative and its
quadratic model is the Fisher form; offset scales; the penalty's gradient is exact for the
sampled objective."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic import flat_minima as exact
from theory import flat_minima as fm


def model_case(kind: str, seed: int, scale: float):
    model = fm.instance(kind, seed, n_samples=12)
    return model, fm.initial_weights(model, scale, seed + 1)


models = st.builds(model_case, st.sampled_from(["linear", "mlp"]), st.integers(0, 2 ** 20),
                   st.floats(0.1, 2.0))


@settings(max_examples=15)
@given(models, st.integers(0, 2 ** 20), st.floats(1e-3, 1.0))
def test_kl_is_nonnegative_and_zero_only_at_zero_offset(case, seed, size):
    model, theta = case
    delta = np.random.default_rng(seed).standard_normal(model.size)
    delta *= size / np.linalg.norm(delta)
    assert fm.kl_divergences(model, theta, delta)[0] > 0.0


@settings(max_examples=15)
@given(models, st.integers(0, 2 ** 20))
def test_small_offsets_follow_the_fisher_form_with_cubic_and_quartic_terms(case, seed):
    """At s = eps lambda = 2.5e-3 (lambda = max(max|a|, max|b|^(1/2), max|c|^(1/3)), a, b, c
    the logits' directional derivatives) the remainder KL - quadratic eps^2 is the sympy
    cubic plus quartic term, to the omitted terms' scale 10 Q s^5 / (1 - s) (Q = quadratic /
    lambda^2; the bound of flat_minima.kl.expansion) plus 16 ulp of rounding. The cubic
    term alone is not enough: c_3 can nearly cancel, leaving the quartic one dominant."""
    model, theta = case
    v = np.random.default_rng(seed).standard_normal(model.size)
    v /= np.linalg.norm(v)
    a, b = fm.logit_derivatives(model, theta, v)
    c = fm.logit_third_derivative(model, theta, v)
    p = fm.probabilities(model, theta)
    quadratic, cubic = exact.kl_series_coefficients(p, a, b)
    quartic = exact.kl_quartic_coefficient(p, a, b, c)
    s = 2.5e-3
    eps = s / max(np.abs(a).max(), np.sqrt(np.abs(b).max()), np.cbrt(np.abs(c).max()))
    remainder = fm.kl_divergences(model, theta, eps * v)[0] - quadratic * eps ** 2
    bound = 10 * quadratic * eps ** 2 * s ** 3 / (1 - s) + 16 * np.finfo(float).eps
    assert abs(remainder - cubic * eps ** 3 - quartic * eps ** 4) <= bound
    assert abs(quadratic - 0.5 * v @ fm.fisher_vector_product(model, theta, v)) <= \
        1e-12 * quadratic


@settings(max_examples=10)
@given(models, st.integers(0, 2 ** 20), st.floats(0.05, 1.0), st.floats(0.1, 5.0))
def test_penalty_gradient_is_exact_for_the_sampled_objective(case, seed, sigma, alpha):
    model, theta = case
    gauss = fm.gaussian_neighbours(model, sigma, 2, seed)
    v = np.random.default_rng(seed + 1).standard_normal(model.size)
    eps = 1e-6  # central difference along v: truncation ~1e-12, rounding ~1e-10
    f = lambda t: fm.objective(model, t, alpha=alpha, neighbours=gauss, beta=0.01)
    directional = (f(theta + eps * v) - f(theta - eps * v)) / (2 * eps)
    g = fm.gradient(model, theta, beta=0.01, alpha=alpha, deltas=gauss.deltas)
    assert abs(g @ v - directional) <= 1e-7 * (1 + abs(directional))


@settings(max_examples=10)
@given(st.integers(0, 2 ** 20), st.floats(0.01, 3.0), st.integers(1, 40))
def test_neighbour_scales(seed, scale, samples):
    model = fm.instance("mlp", 0, n_samples=6)
    ball = fm.ball_neighbours(model, scale, samples, seed)
    assert ball.deltas.shape == (samples, model.size)
    assert np.all(np.linalg.norm(ball.deltas, axis=1) <= scale * (1 + 1e-12))
    gauss = fm.gaussian_neighbours(model, scale, samples, seed)
    np.testing.assert_allclose(gauss.deltas / scale,
                               fm.gaussian_neighbours(model, 1.0, samples, seed).deltas,
                               rtol=1e-15)
