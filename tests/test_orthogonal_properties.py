"""Property tests of the OPT maps, energies and closed forms: matrices with a controlled
condition number (U diag(sigma) W^T), random neurons, s in {0, 1, 2}, n <= d + 1 and
n > d + 1."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from analytic import orthogonal as exact
from theory import orthogonal as opt
from theory import orthogonal_energy as energy
from theory import orthogonal_maps as maps

EPS = np.finfo(float).eps
MAPS = sorted(maps.ORTHOGONALIZERS)


def conditioned(dim: int, log_kappa: float, seed: int) -> np.ndarray:
    """U diag(sigma) W^T, U and W Haar, sigma log-spaced from 1 to 10^log_kappa (shuffled),
    one row negated for odd seeds (both determinant signs)."""
    rng = np.random.default_rng(seed)
    sigma = np.geomspace(1.0, 10.0 ** log_kappa, dim)
    rng.shuffle(sigma)
    A = (opt.haar_orthogonal(dim, seed) * sigma) @ opt.haar_orthogonal(dim, seed + 1).T
    if seed % 2:
        A[0] = -A[0]
    return A


matrices = st.builds(conditioned, st.integers(2, 10), st.floats(0.0, 6.0),
                     st.integers(0, 2 ** 30))
neurons = st.builds(lambda d, n, seed: np.random.default_rng(seed).standard_normal((d, n)),
                    st.integers(2, 8), st.integers(2, 20), st.integers(0, 2 ** 30))


@given(matrices)
def test_defects_stay_within_their_error_bounds(A):
    dim = A.shape[0]
    kappa = np.linalg.cond(A)
    S = np.triu(A, 1) - np.triu(A, 1).T
    assert (maps.orthogonality_defect(maps.gram_schmidt(A))
            <= dim * EPS * kappa ** 2 + 10 * dim * EPS)
    assert maps.orthogonality_defect(maps.gram_schmidt(A, modified=True)) <= \
        dim * EPS * kappa + 10 * dim * EPS
    assert maps.orthogonality_defect(maps.householder(A)) <= 10 * dim * EPS
    assert maps.orthogonality_defect(maps.lowdin(A)) <= 10 * dim * EPS
    assert maps.orthogonality_defect(maps.cayley(A)) <= \
        10 * dim * EPS * np.sqrt(1.0 + np.linalg.norm(S, 2) ** 2)


@given(matrices)
def test_determinant_signs_of_the_maps(A):
    sign = np.sign(np.linalg.det(A))
    assert np.sign(np.linalg.det(maps.gram_schmidt(A))) == sign
    assert np.sign(np.linalg.det(maps.lowdin(A))) == sign
    assert np.sign(np.linalg.det(maps.householder(A))) == (-1) ** (A.shape[0] - 1)
    assert np.linalg.det(maps.cayley(A)) > 0


@given(matrices)
def test_lowdin_is_nearest_among_the_maps(A):
    nearest = np.linalg.norm(A - maps.lowdin(A))
    assert abs(nearest - exact.nearest_orthogonal(A)[1]) <= 1e-11 * max(1.0, nearest)
    for name in ("householder", "cayley"):
        assert nearest <= np.linalg.norm(A - maps.orthogonalize(A, name)) * (1 + 1e-12) + 1e-12
    if np.linalg.cond(A) < 1e6:  # classical GS is orthogonal only while eps kappa^2 << 1
        assert nearest <= np.linalg.norm(A - maps.gram_schmidt(A)) * (1 + 1e-12) + 1e-12


@given(neurons, st.integers(0, 2 ** 30), st.sampled_from([0.0, 1.0, 2.0]),
       st.sampled_from(MAPS), st.booleans(), st.booleans())
def test_energy_is_invariant_under_every_map(V, seed, s, name, angular, half_space):
    A = np.random.default_rng(seed).standard_normal((V.shape[0], V.shape[0]))
    Q = maps.orthogonalize(A, name)
    kwargs = {"distance": "angular" if angular else "euclidean", "half_space": half_space}
    before = energy.hyperspherical_energy(V, s, **kwargs)
    after = energy.hyperspherical_energy(Q @ V, s, **kwargs)
    n = 2 * V.shape[1] if half_space else V.shape[1]
    assert abs(after - before) <= 1e-12 * max(abs(before), n * (n - 1) / 2)


@given(st.integers(2, 7), st.integers(2, 30), st.integers(0, 2 ** 30),
       st.sampled_from([0.0, 1.0, 2.0, 0.5]))
def test_simplex_bound_holds_for_any_n_and_is_attained_when_n_le_d_plus_one(dim, n, seed, s):
    V = np.random.default_rng(seed).standard_normal((dim, n))
    bound = exact.simplex_energy_bound(n, s)
    assert energy.hyperspherical_energy(V, s) >= bound - 1e-12 * abs(bound)
    if n <= dim + 1:
        simplex = exact.simplex_vectors(n, dim)
        assert abs(energy.hyperspherical_energy(simplex, s) - bound) <= 1e-11 * max(1.0, abs(bound))


@given(st.integers(2, 6), st.integers(2, 12), st.floats(0.0, 2.0), st.integers(0, 2 ** 30),
       st.sampled_from(MAPS))
def test_no_map_output_beats_the_procrustes_optimum_of_its_sign(dim, n, noise, seed, name):
    V, T, _ = opt.procrustes_instance(dim, n, noise, seed)
    A = np.random.default_rng(seed + 1).standard_normal((dim, dim))
    Q = maps.orthogonalize(A, name)
    sign = int(np.sign(np.linalg.det(Q)))
    _, value = exact.procrustes_optimum(V, T, determinant=sign)
    _, best = exact.procrustes_optimum(V, T)
    assert opt.procrustes_loss(Q, V, T) >= value - 1e-12 * max(1.0, value)
    assert value >= best - 1e-12 * max(1.0, best)


@given(st.integers(2, 8), st.integers(2, 12), st.integers(0, 2 ** 30))
def test_gram_schmidt_gradient_has_an_exactly_zero_last_row(dim, n, seed):
    V, T, _ = opt.procrustes_instance(dim, n, 0.5, seed)
    A = conditioned(dim, 1.0, seed)
    params = opt.kernel_parameters(opt.PARAMETRIZED, 1.0, orthogonalizer=maps.GRAM_SCHMIDT,
                                   flow=True)
    problem = opt.problem(V, T, params)
    y, out = A.ravel().copy(), np.empty(dim * dim)
    opt.field(y, problem.args, out, opt.workspace(y, problem.args))
    assert np.all(out.reshape(dim, dim)[-1] == 0.0)
    assert np.any(out != 0.0)


@given(st.integers(2, 40), st.floats(0.05, 0.95))
def test_riesz_mean_equals_quadrature(d, fraction):
    s = fraction * (d - 1)
    a = (d - 3) / 2
    total = quad(lambda t: 1.0, -1, 1, weight="alg", wvar=(a, a), epsabs=0, epsrel=1e-12)[0]
    moment = quad(lambda t: 2.0 ** (-s / 2), -1, 1, weight="alg", wvar=(a, a - s / 2),
                  epsabs=0, epsrel=1e-12)[0]
    assert abs(exact.riesz_mean_energy(s, d) / (moment / total) - 1.0) <= 1e-8
