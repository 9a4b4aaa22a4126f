"""analytic.conditioning against independent computations: the Kronecker product formed
explicitly at small sizes, GD iterated on the matrix recursion, a grid search for the best
diagonal scaling, and the sympy forms evaluated at numbers."""
import numpy as np
import pytest
import sympy as sp
from scipy.linalg import expm

from analytic import conditioning as exact
from theory import conditioning as sim


def _factors(seed: int, n_out: int = 5, n: int = 3, k: int = 4, P: int = 9):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n_out, n)) * np.exp(rng.uniform(-1, 1, n_out))[:, None]
    Z = rng.standard_normal((k, P))
    return A, Z


@pytest.mark.parametrize("seed", range(4))
def test_gauss_newton_spectrum_equals_the_explicit_kronecker_product(seed):
    A, Z = _factors(seed)
    K = np.kron(A.T @ A, Z @ Z.T / Z.shape[1])
    explicit = np.linalg.eigvalsh(K)
    np.testing.assert_allclose(exact.gauss_newton_eigenvalues(A, Z), explicit,
                               atol=1e-12 * explicit[-1])
    assert exact.gauss_newton_condition_number(A, Z) == pytest.approx(
        explicit[-1] / explicit[0], rel=1e-9)


def test_sympy_hessian_block_is_the_kronecker_form_at_numbers():
    forms = exact.gauss_newton_block_expr()
    assert forms["hessian"].shape == (4, 4)
    rng = np.random.default_rng(1)
    A, Z = rng.standard_normal((2, 2)), rng.standard_normal((2, 3))
    values = {sp.Symbol(f"A{i}{j}", real=True): A[i, j] for i in range(2) for j in range(2)}
    values.update({sp.Symbol(f"Z{i}{j}", real=True): Z[i, j] for i in range(2) for j in range(3)})
    H = np.array(forms["hessian"].subs(values), dtype=float)
    np.testing.assert_allclose(H, np.kron(A.T @ A, Z @ Z.T / 3), rtol=1e-12)


def test_kronecker_condition_form():
    form = exact.kronecker_spectrum_expr()["condition"]
    sym = exact.symbols()
    value = form.subs({sym["a_max"]: 3, sym["a_min"]: 1, sym["z_max"]: 2, sym["z_min"]: 1})
    assert value == 36


@pytest.mark.parametrize("kappa", [1.5, 10.0, 400.0])
@pytest.mark.parametrize("eps", [1e-3, 1e-8])
def test_iteration_count_matches_the_iterated_recursion(kappa, eps):
    """Two components at mu = 1 and L = kappa, the step 2/(L + mu): the first k with both
    |(1 - eta lambda)^k| <= eps is ceil of the closed form."""
    eta = exact.optimal_step(kappa, 1.0)
    e = np.ones(2)
    k = 0
    while np.max(np.abs(e)) > eps:
        e = e * (1.0 - eta * np.array([1.0, kappa]))
        k += 1
    assert k == int(np.ceil(exact.gd_iterations(kappa, eps) - 1e-9))


def test_optimal_step_minimizes_the_contraction():
    L, mu = 50.0, 2.0
    grid = np.linspace(1e-4, 2.0 / L, 200001)
    contraction = np.maximum(np.abs(1 - grid * mu), np.abs(1 - grid * L))
    assert exact.optimal_step(L, mu) == pytest.approx(grid[np.argmin(contraction)], abs=2e-7)
    kappa = L / mu
    assert contraction.min() == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-6)


def test_asymptotic_count_is_the_leading_term():
    for kappa in (1e3, 1e5):
        ratio = exact.gd_iterations(kappa, 1e-6) / exact.gd_iterations_asymptotic(kappa, 1e-6)
        assert abs(ratio - 1.0) < 1.0 / kappa ** 2 * 10  # the next term is O(1/kappa^2)


@pytest.mark.parametrize("seed", range(3))
def test_gd_error_equals_the_matrix_recursion(seed):
    A, Z = _factors(seed)
    E = np.random.default_rng(seed + 10).standard_normal((A.shape[1], Z.shape[0]))
    P, S = A.T @ A, Z @ Z.T / Z.shape[1]
    lam = exact.gauss_newton_eigenvalues(A, Z)
    lr = exact.optimal_step(lam[-1], lam[0])
    norms = [np.linalg.norm(E)]
    for _ in range(30):
        E = E - lr * P @ E @ S
        norms.append(np.linalg.norm(E))
    E0 = np.random.default_rng(seed + 10).standard_normal((A.shape[1], Z.shape[0]))
    np.testing.assert_allclose(exact.gd_error(A, Z, E0, lr, range(31)), norms, rtol=1e-9)
    target = 1e-3
    first = next(k for k, n in enumerate(norms) if n <= target * norms[0]) \
        if min(norms) <= target * norms[0] else None
    if first is not None:
        assert exact.gd_iterations_to(A, Z, E0, lr, target) == first


def test_flow_error_equals_the_matrix_exponential():
    A, Z = _factors(3, n=2, k=2)
    E0 = np.array([[1.0, -0.5], [0.3, 2.0]])
    K = np.kron(A.T @ A, Z @ Z.T / Z.shape[1])
    for t in (0.1, 1.0, 3.0):
        explicit = np.linalg.norm(expm(-0.8 * t * K) @ E0.ravel())
        assert exact.flow_error(A, Z, E0, 0.8, t)[0] == pytest.approx(explicit, rel=1e-10)


def test_optimal_scaling_matches_a_grid_search_for_two_rows():
    """With two rows only d2/d1 matters: a fine scan of it against the minimizer."""
    A = np.array([[3.0, 0.2], [0.01, 0.05]])
    ratios = np.geomspace(1e-4, 1e4, 400001)
    kappas = [np.linalg.cond(np.diag([1.0, r]) @ A) for r in ratios[::50]]
    found, d = exact.optimal_diagonal_scaling(A)
    assert found <= min(kappas) * (1 + 1e-6)
    assert found == pytest.approx(np.linalg.cond(np.diag(d) @ A), rel=1e-10)
    assert found >= min(kappas) * (1 - 1e-3)  # the scan is fine enough to be near it


def test_van_der_sluis_constant_is_the_frobenius_norm():
    forms = exact.van_der_sluis_expr()
    sym = exact.symbols()
    assert forms["frobenius_sq"] == sym["m"]
    rng = np.random.default_rng(0)
    for m, n in ((3, 2), (7, 5), (4, 9)):
        A = rng.standard_normal((m, n)) * np.exp(rng.uniform(-3, 3, m))[:, None]
        assert np.sum(sim.row_equilibrate(A) ** 2) == pytest.approx(m, rel=1e-14)
        assert exact.van_der_sluis_bound(2.0, m) == pytest.approx(2.0 * np.sqrt(m), rel=1e-15)


@pytest.mark.parametrize("call,match", [
    (lambda: exact.gd_iterations(1.0, 1e-3), "kappa must be > 1"),
    (lambda: exact.gd_iterations(10.0, 1.5), r"eps must be in \(0, 1\)"),
    (lambda: exact.optimal_step(1.0, 2.0), "smallest"),
    (lambda: exact.van_der_sluis_bound(-1.0, 3), "kappa_star must be positive"),
    (lambda: exact.gd_error(np.eye(2), np.eye(2), np.ones((3, 2)), 0.1, [1]), "E0 must be 2 x 2"),
    (lambda: exact.gauss_newton_eigenvalues(np.eye(2), [[np.nan]]), "Z must be finite"),
    (lambda: exact.optimal_diagonal_scaling(np.ones((3, 2))), "A must have full rank"),
    (lambda: exact.gd_iterations_to(np.eye(2), np.eye(2), np.ones((2, 2)), 5.0, 1e-3),
     "does not contract"),
])
def test_bad_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()
