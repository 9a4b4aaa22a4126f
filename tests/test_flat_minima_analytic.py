"""Closed forms of analytic.flat_minima against independent computations: the direct KL of
explicit probabilities, sympy Hessians for other class counts, Monte Carlo moments, and
the theory module's Fisher matrices; bad probabilities."""
import numpy as np
import pytest
import sympy as sp

from analytic import flat_minima as exact
from theory import flat_minima as fm


def test_kl_series_coefficients_match_the_direct_kl_of_explicit_probabilities():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(4), size=5).T  # 4 classes, 5 samples
    a, b = rng.standard_normal((2, 4, 5))
    quadratic, cubic = exact.kl_series_coefficients(p, a, b)

    def kl(eps):
        logq = np.log(p) + eps * a + eps ** 2 * b / 2
        logq -= np.log(np.exp(logq).sum(axis=0))
        return float(np.mean((p * (np.log(p) - logq)).sum(axis=0)))

    for eps in (1e-2, 5e-3):  # the omitted eps^4 term: ~eps relative to the cubic one
        assert (kl(eps) - quadratic * eps ** 2) / (cubic * eps ** 3) == pytest.approx(1, abs=0.05)
    variance = np.mean((p * a * a).sum(0) - (p * a).sum(0) ** 2)
    assert quadratic == pytest.approx(variance / 2, rel=1e-14)


def test_quartic_coefficient_matches_the_direct_kl_of_explicit_probabilities():
    """With c (the eps^3 / 6 logit term) the quartic coefficient: KL - quadratic eps^2 -
    cubic eps^3 over quartic eps^4 tends to 1 with an O(eps) correction (eps^5 term), and
    c enters no lower coefficient."""
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(4), size=5).T
    a, b, c = rng.standard_normal((3, 4, 5))
    quadratic, cubic = exact.kl_series_coefficients(p, a, b)
    quartic = exact.kl_quartic_coefficient(p, a, b, c)
    assert quartic != pytest.approx(exact.kl_quartic_coefficient(p, a, b), rel=1e-3)

    def kl(eps):
        logq = np.log(p) + eps * a + eps ** 2 * b / 2 + eps ** 3 * c / 6
        logq -= np.log(np.exp(logq).sum(axis=0))
        return float(np.mean((p * (np.log(p) - logq)).sum(axis=0)))

    for eps in (2e-2, 1e-2):  # rounding 1e-16 / eps^4 <= 1e-8 relative to quartic ~ 0.1
        ratio = (kl(eps) - quadratic * eps ** 2 - cubic * eps ** 3) / (quartic * eps ** 4)
        assert ratio == pytest.approx(1, abs=0.05)


def test_quartic_coefficient_is_the_fourth_cumulant_without_b_and_c():
    """b = c = 0: KL is the cumulant generating function of a minus its mean, so the eps^4
    coefficient is kappa_4(a) / 24 (moments by numpy)."""
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(3), size=6).T
    a = rng.standard_normal((3, 6))
    centred = a - (p * a).sum(0)
    variance = (p * centred ** 2).sum(0)
    kappa4 = (p * centred ** 4).sum(0) - 3 * variance ** 2
    assert exact.kl_quartic_coefficient(p, a) == pytest.approx(np.mean(kappa4) / 24, rel=1e-12)


def test_quadratic_coefficient_is_the_fisher_form_for_three_classes():
    """(m20 - m10^2)/2 with m_ij = sum_k p_k a_k^i equals a^T (diag p - p p^T) a / 2 in
    explicit symbols (a second sympy route)."""
    p = sp.symbols("p0:3", positive=True)
    a = sp.symbols("a0:3", real=True)
    sym = exact.symbols()
    form = exact.kl_series_expr()["quadratic"].subs(
        {sym["m10"]: sum(pk * ak for pk, ak in zip(p, a)),
         sym["m20"]: sum(pk * ak ** 2 for pk, ak in zip(p, a))})
    M = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
    direct = (sp.Matrix(a).T * M * sp.Matrix(a))[0] / 2
    assert sp.simplify((form - direct).subs(p[2], 1 - p[0] - p[1])) == 0


def test_logit_hessian_is_label_free_for_two_classes_too():
    H = exact.logit_hessian_expr.derive(2)
    z = sp.symbols("z0:2", real=True)
    value = np.array(H.subs({z[0]: 0.3, z[1]: -0.4}), dtype=float)
    p = np.exp([0.3, -0.4]) / np.exp([0.3, -0.4]).sum()
    np.testing.assert_allclose(value, np.diag(p) - np.outer(p, p), rtol=1e-14)


def test_softmax_regression_hessian_equals_the_package_fisher_and_hessian():
    """The sympy form (K = 2, d = 2, one sample) against fm.fisher and fm.hessian."""
    form = exact.softmax_regression_hessian_expr()
    x, W = np.array([0.7, -1.2]), np.array([[0.3, 0.5], [-0.8, 0.1]])
    values = {sp.Symbol(f"x{i}", real=True): x[i] for i in range(2)}
    values.update({sp.Symbol(f"w{i}{j}", real=True): W[i, j] for i in range(2) for j in range(2)})
    expected = np.array(form.subs(values), dtype=float)
    model = fm.softmax_regression(x[None, :], [1], 2)
    np.testing.assert_allclose(fm.fisher(model, W.ravel()), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fm.hessian(model, W.ravel()), expected, rtol=1e-12, atol=1e-15)


def test_ball_and_gaussian_second_moments_by_monte_carlo():
    """E delta delta^T = sigma^2 I and r^2/(p+2) I, from the theory module's samplers: the
    trace of F = A A^T / 2 against the sample mean of delta^T F delta / 2 (40000 draws: a
    standard error under 1 %)."""
    model = fm.instance("linear", 0)
    F = np.random.default_rng(3).standard_normal((model.size, model.size))
    F = F @ F.T / model.size
    for name, draw, scale in (("gaussian", fm.gaussian_neighbours, 0.2),
                              ("ball", fm.ball_neighbours, 0.5)):
        deltas = draw(model, scale, 40000, 4).deltas
        values = 0.5 * np.einsum("si,ij,sj->s", deltas, F, deltas)
        half = 1.96 * values.std() / np.sqrt(values.size)
        assert abs(values.mean() - exact.neighbourhood_expectation(name, scale, F)) <= half


def test_adversarial_coefficient_is_the_rayleigh_maximum():
    F = np.diag([3.0, 1.0, 0.5])
    assert exact.neighbourhood_expectation("adversarial", 0.2, F) == pytest.approx(0.06)


def test_penalty_lemma_identity():
    forms = exact.penalty_lemma_expr()
    assert forms["identity"] == 0 and str(forms["bound"]) == "Da"


@pytest.mark.parametrize("p,match", [
    ([[0.5, 0.6], [0.5, 0.6]], "sum to one"),
    ([[np.nan, 0.5], [0.5, 0.5]], "p"),
    ([[-0.1, 0.5], [1.1, 0.5]], "p"),
    ([1.0], "p"),
])
def test_bad_probabilities_raise_value_error_naming_p(p, match):
    with pytest.raises(ValueError, match=match):
        exact.kl_series_coefficients(p, np.zeros_like(np.asarray(p, dtype=float)))


def test_bad_arguments_of_the_expectations():
    F = np.eye(3)
    with pytest.raises(ValueError, match="sigma"):
        exact.neighbourhood_expectation("gaussian", 0.0, F)
    with pytest.raises(ValueError, match="radius"):
        exact.neighbourhood_expectation("ball", -1.0, F)
    with pytest.raises(ValueError, match="name"):
        exact.neighbourhood_expectation("cube", 1.0, F)
    with pytest.raises(ValueError, match="fisher_matrix"):
        exact.neighbourhood_expectation("ball", 1.0, np.ones((2, 3)))
    with pytest.raises(ValueError, match="a"):
        exact.kl_series_coefficients([[0.5], [0.5]], np.ones(3))
    with pytest.raises(ValueError, match="c must have the shape"):
        exact.kl_quartic_coefficient([[0.5], [0.5]], np.ones(2), None, np.ones(3))
    with pytest.raises(ValueError, match="c"):
        exact.kl_quartic_coefficient([[0.5], [0.5]], np.ones(2), None, [np.nan, 1.0])
