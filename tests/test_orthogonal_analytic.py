"""The OPT closed forms against independent computations: quadrature of the Riesz integral,
a regular simplex built from its Gram matrix, scipy's Procrustes solver and polar
decomposition, matrix powers of the OGD update; the stored forms against a fresh sympy
derivation; bad input."""
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad
from scipy.linalg import orthogonal_procrustes, polar
from scipy.special import gammaln

from analytic import orthogonal as exact
from analytic import stored
from theory import orthogonal as opt
from theory import orthogonal_energy as energy


def riesz_by_quadrature(s: float, d: int) -> float:
    """E |u - v|^-s from the law of t = u . v, density ~ (1 - t^2)^((d-3)/2) on [-1, 1]:
    (2 - 2t)^(-s/2) (1 - t^2)^((d-3)/2) = 2^(-s/2) (1 + t)^((d-3)/2) (1 - t)^((d-3-s)/2),
    integrated by QUADPACK's algebraic-weight rule (the endpoint singularities in the
    weight)."""
    a = (d - 3) / 2
    total = quad(lambda t: 1.0, -1.0, 1.0, weight="alg", wvar=(a, a), epsabs=0,
                 epsrel=1e-13)[0]
    moment = quad(lambda t: 2.0 ** (-s / 2), -1.0, 1.0, weight="alg", wvar=(a, a - s / 2),
                  epsabs=0, epsrel=1e-13)[0]
    return moment / total


@pytest.mark.parametrize("s,d", [(1.0, 3), (0.5, 2), (2.0, 4), (1.0, 10), (2.0, 10), (3.5, 6),
                                 (0.3, 25)])
def test_riesz_mean_equals_the_quadrature_of_its_integral(s, d):
    assert exact.riesz_mean_energy(s, d) == pytest.approx(riesz_by_quadrature(s, d), rel=1e-8)


def test_riesz_mean_known_values_and_the_gamma_form():
    assert exact.riesz_mean_energy(1.0, 3) == pytest.approx(1.0, rel=1e-14)  # Newton on S^2
    s, d = 1.7, 12
    by_gammas = np.exp((d - 2 - s) * np.log(2) + gammaln(d / 2) + gammaln((d - 1 - s) / 2)
                       - 0.5 * np.log(np.pi) - gammaln(d - 1 - s / 2))
    assert exact.riesz_mean_energy(s, d) == pytest.approx(by_gammas, rel=1e-13)
    assert np.isfinite(exact.riesz_mean_energy(2.0, 100_000))


@pytest.mark.parametrize("s", [0.5, 1.0, 2.0])
def test_large_d_series_error_is_third_order(s):
    """|I_s(d) - series| falls like d^-3: by about 8 each time d doubles."""
    errors = [abs(exact.riesz_mean_energy(s, d) - exact.riesz_mean_energy_large_d(s, d))
              for d in (100, 200, 400)]
    assert 6.5 < errors[0] / errors[1] < 9.5 and 6.5 < errors[1] / errors[2] < 9.5
    first = 2 ** (-s / 2) * (1 + s * (s + 2) / (8 * 400))
    assert abs(exact.riesz_mean_energy(s, 400) - first) < 2e-4 * first


def test_log_mean_expression_equals_the_quadrature_of_the_log_potential():
    log_mean = exact.riesz_mean_expr()["log_mean"]
    d = exact.symbols()["d"]
    for dim in (3, 5, 8):
        a = (dim - 3) / 2
        total = quad(lambda t: 1.0, -1, 1, weight="alg", wvar=(a, a), epsrel=1e-13, epsabs=0)[0]
        # -log(2 - 2t)/2 = -log(2)/2 - log(1 - t)/2, the last in QUADPACK's weight
        log_part = quad(lambda t: 1.0, -1, 1, weight="alg-logb", wvar=(a, a), epsrel=1e-13,
                        epsabs=0)[0]
        reference = -0.5 * np.log(2.0) - 0.5 * log_part / total
        assert float(log_mean.subs(d, dim)) == pytest.approx(reference, rel=1e-9)
    assert sp.simplify(log_mean.subs(d, 3) - (sp.Rational(1, 2) - sp.log(2))) == 0


def test_mean_random_energy_counts_unordered_pairs():
    assert exact.mean_random_energy(10, 1.0, 3) == pytest.approx(45.0, rel=1e-14)


@pytest.mark.parametrize("n,d", [(2, 1), (3, 2), (4, 3), (8, 7), (8, 20), (17, 16)])
@pytest.mark.parametrize("s", [0.0, 1.0, 2.0, 0.5])
def test_the_regular_simplex_attains_the_bound(n, d, s):
    U = exact.simplex_vectors(n, d)
    np.testing.assert_allclose(U.T @ U, exact.simplex_gram(n), atol=1e-14)
    assert energy.hyperspherical_energy(U, s) == pytest.approx(exact.simplex_energy_bound(n, s),
                                                            rel=1e-12, abs=1e-12)


def test_simplex_bound_is_n_choose_2_times_the_potential_at_the_simplex_distance():
    for n, s in ((8, 2.0), (5, 1.0), (30, 0.5)):
        r2 = 2 * n / (n - 1)
        assert exact.simplex_energy_bound(n, s) == pytest.approx(n * (n - 1) / 2 * r2 ** (-s / 2),
                                                                 rel=1e-14)
    assert exact.simplex_energy_bound(8, 2.0) == pytest.approx(12.25, rel=1e-14)


def test_ratio_of_random_to_minimum_energy():
    assert exact.random_to_minimum_ratio(64, 2.0, 100) == pytest.approx(
        exact.riesz_mean_energy(2.0, 100) * 2 * 64 / 63, rel=1e-14)
    high = exact.random_to_minimum_ratio(64, 2.0, 1000)
    # (n/(n-1))^(s/2) (1 + s(s+2)/(8d) + s(s+2)(s+4)(s+6)/(128 d^2)) up to O(d^-3)
    assert high == pytest.approx((64 / 63) * (1 + 8 / 8e3 + 384 / 128e6), rel=1e-8)


def test_procrustes_optimum_over_O_d_equals_scipys():
    V, T, _ = opt.procrustes_instance(5, 12, 0.7, seed=3)
    R, value = exact.procrustes_optimum(V, T)
    reference = orthogonal_procrustes(V.T, T.T)[0].T
    np.testing.assert_allclose(R, reference, atol=1e-12)
    assert value == pytest.approx(opt.procrustes_loss(reference, V, T), rel=1e-12)


@pytest.mark.parametrize("determinant", [1, -1])
def test_procrustes_optimum_with_a_sign_beats_every_sampled_matrix_of_that_sign(determinant):
    V, T, _ = opt.procrustes_instance(3, 8, 1.0, seed=4)
    R, value = exact.procrustes_optimum(V, T, determinant=determinant)
    assert np.linalg.det(R) == pytest.approx(determinant, abs=1e-12)
    assert value == pytest.approx(opt.procrustes_loss(R, V, T), rel=1e-12)
    for seed in range(300):
        Q = opt.haar_orthogonal(3, seed)
        Q[:, 0] *= determinant * np.sign(np.linalg.det(Q))
        assert opt.procrustes_loss(Q, V, T) >= value - 1e-12


def test_procrustes_in_the_plane_follows_the_sympy_maximum():
    """Over SO(2) the minimum is 1/2(|V|^2 + |T|^2) - max_trace of procrustes_two_expr."""
    expr = exact.procrustes_two_expr()
    names = sp.symbols("m11 m12 m21 m22", real=True)
    assert expr["singular_identity"] == 0
    for seed in range(5):
        V, T, _ = opt.procrustes_instance(2, 6, 2.0, seed=seed)
        M = T @ V.T
        trace_max = float(expr["max_trace"].subs(dict(zip(names, M.ravel()))))
        value = 0.5 * (np.sum(V ** 2) + np.sum(T ** 2)) - trace_max
        assert exact.procrustes_optimum(V, T, special=True)[1] == pytest.approx(value, rel=1e-12)


def test_nearest_orthogonal_is_the_polar_factor_at_the_singular_value_distance():
    A = np.random.default_rng(5).standard_normal((6, 6))
    Q, distance = exact.nearest_orthogonal(A)
    np.testing.assert_allclose(Q, polar(A)[0], atol=1e-13)
    assert distance == pytest.approx(np.linalg.norm(A - Q), rel=1e-13)


def test_iterative_ogd_defect_equals_the_matrix_polynomial():
    rng = np.random.default_rng(6)
    B = rng.standard_normal((5, 5))
    W = B - B.T
    for alpha in (1e-3, 0.05, 1.0 / np.linalg.norm(W)):
        I = np.eye(5)
        P = I + alpha * W + alpha ** 2 * W @ W / 2 + alpha ** 3 * W @ W @ W / 4
        np.testing.assert_allclose(exact.iterative_ogd_defect(W, alpha), P.T @ P - I,
                                   rtol=0, atol=1e-14 + 1e-12 * np.abs(P.T @ P - I).max())
    expr = exact.ogd_iteration_expr()
    assert expr["cayley_defect"] == 0
    sym = exact.symbols()
    assert sp.expand(expr["defect"] + sym["alpha"] ** 4 * sym["w"] ** 4 / 4
                     + sym["alpha"] ** 6 * sym["w"] ** 6 / 16) == 0


@pytest.mark.parametrize("call,match", [
    (lambda: exact.riesz_mean_energy(-1.0, 5), "s must be positive"),
    (lambda: exact.riesz_mean_energy(0.0, 5), "s must be positive"),
    (lambda: exact.riesz_mean_energy(4.0, 5), "s must be below d - 1"),
    (lambda: exact.riesz_mean_energy(0.5, 1), "d must be an integer >= 2"),
    (lambda: exact.riesz_mean_energy(0.5, 2.5), "d must be an integer >= 2"),
    (lambda: exact.riesz_mean_energy(np.nan, 5), "s must be finite"),
    (lambda: exact.riesz_mean_energy_large_d(3.0, 3), "s must be below d - 1"),
    (lambda: exact.simplex_energy_bound(1, 1.0), "n must be an integer >= 2"),
    (lambda: exact.simplex_energy_bound(4, -0.5), "s must be non-negative"),
    (lambda: exact.simplex_vectors(5, 3), "n must be at most d \\+ 1"),
    (lambda: exact.procrustes_optimum(np.ones((2, 3)), np.ones((3, 2))), "same shape"),
    (lambda: exact.procrustes_optimum(np.eye(2), np.eye(2), True, determinant=-1),
     "special=True means determinant=1"),
    (lambda: exact.procrustes_optimum(np.eye(2), np.eye(2), determinant=2), "determinant must be"),
    (lambda: exact.nearest_orthogonal(np.ones((2, 3))), "A must be square"),
    (lambda: exact.iterative_ogd_defect(np.ones((2, 2)), 0.1), "W must be skew-symmetric"),
    (lambda: exact.iterative_ogd_defect(np.zeros((2, 2)), 0.0), "alpha must be positive"),
])
def test_bad_input_is_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- stored forms


@pytest.mark.parametrize("name", sorted(stored.EXPRESSIONS["orthogonal"]))
def test_stored_form_equals_its_derivation(name):
    function = stored.EXPRESSIONS["orthogonal"][name]
    for args in function.stored:
        loaded, derived = function(*args), function.derive(*args)
        assert set(loaded) == set(derived)
        for key in derived:
            assert loaded[key] == derived[key] or sp.simplify(loaded[key] - derived[key]) == 0, key


@pytest.mark.parametrize("name", sorted(stored.NUMERIC["orthogonal"]))
def test_generated_function_equals_the_lambdified_derivation(name):
    numeric = stored.NUMERIC["orthogonal"][name]
    generated = stored.generated_function("orthogonal", name, ())
    assert generated is not None
    with stored.live():
        derived = numeric.get()
    for sample in numeric.samples():
        np.testing.assert_allclose(generated(*sample), derived(*sample), rtol=1e-12, atol=0)


def test_importing_and_computing_does_not_import_sympy():
    code = ("import sys; from analytic import orthogonal as a; a.riesz_mean_energy(1.0, 3); "
            "a.simplex_energy_bound(4, 0.0); a.iterative_ogd_defect([[0, 1], [-1, 0]], 0.1); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
