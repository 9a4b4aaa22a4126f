"""OPT's orthogonalizers, hyperspherical energy and learners: jitted kernels vs NumPy twins,
independent references (QR, the polar decomposition, pairwise distances, finite
differences), statuses and bad input."""
import numpy as np
import pytest
from scipy.linalg import polar
from scipy.spatial.distance import pdist

from theory import orthogonal as opt
from theory import orthogonal_energy as energy
from theory import orthogonal_maps as maps
from theory.results import Status

MAPS = sorted(maps.ORTHOGONALIZERS)


def gaussian(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# --------------------------------------------------------------------------- maps


@pytest.mark.parametrize("name", MAPS)
@pytest.mark.parametrize("dim", [1, 2, 5, 9])
def test_each_map_matches_its_twin_and_is_orthogonal(name, dim):
    A = gaussian((dim, dim), seed=dim)
    fast = maps.orthogonalize(A, name)
    slow = maps.orthogonalize(A, name, backend="numpy")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-13)
    assert maps.orthogonality_defect(fast) <= 1e-13


def test_gram_schmidt_is_the_qr_of_the_transpose_with_a_positive_diagonal():
    A = gaussian((6, 6), seed=1)
    Q, R = np.linalg.qr(A.T)
    signs = np.sign(np.diag(R))
    for modified in (False, True):
        np.testing.assert_allclose(maps.gram_schmidt(A, modified=modified), (Q * signs).T,
                                   rtol=0, atol=1e-13)
    assert np.sign(np.linalg.det(maps.gram_schmidt(A))) == np.sign(np.linalg.det(A))


@pytest.mark.parametrize("dim", [2, 3, 6, 7])
def test_householder_is_qr_with_signs_fixed_but_the_last_and_det_is_minus_one_to_d_minus_one(dim):
    A = gaussian((dim, dim), seed=dim + 10)
    Q, R = np.linalg.qr(A)
    reference = Q * np.sign(np.diag(R))
    H = maps.householder(A)
    np.testing.assert_allclose(H[:, :-1], reference[:, :-1], rtol=0, atol=1e-13)
    assert min(np.abs(H[:, -1] - reference[:, -1]).max(),
               np.abs(H[:, -1] + reference[:, -1]).max()) <= 1e-13
    assert np.linalg.det(H) == pytest.approx((-1.0) ** (dim - 1), abs=1e-12)


def test_householder_skips_a_column_already_reduced():
    """The identity needs no reflection: Q = I (det +1, even for even d)."""
    np.testing.assert_array_equal(maps.householder(np.eye(4)), np.eye(4))
    np.testing.assert_array_equal(maps.householder(np.eye(4), backend="numpy"), np.eye(4))


def test_lowdin_is_scipys_polar_factor_and_nearest_among_the_maps():
    A = gaussian((7, 7), seed=3)
    Q = maps.lowdin(A)
    np.testing.assert_allclose(Q, polar(A)[0], rtol=0, atol=1e-13)
    nearest = np.linalg.norm(A - Q)
    for name in MAPS:
        assert nearest <= np.linalg.norm(A - maps.orthogonalize(A, name)) + 1e-12


def test_cayley_uses_the_strict_upper_triangle_and_is_a_rotation_without_eigenvalue_minus_one():
    A = gaussian((5, 5), seed=4)
    Q = maps.cayley(A)
    np.testing.assert_array_equal(
        Q, maps.cayley(np.triu(A, 1) + 7.0 * np.tril(gaussian((5, 5), 5))))
    assert np.linalg.det(Q) == pytest.approx(1.0, abs=1e-12)
    assert np.abs(np.linalg.eigvals(Q) + 1.0).min() > 1e-3
    S = np.triu(A, 1) - np.triu(A, 1).T
    np.testing.assert_allclose(Q, (np.eye(5) + S) @ np.linalg.inv(np.eye(5) - S), atol=1e-13)


@pytest.mark.parametrize("name", MAPS)
def test_pullbacks_match_finite_differences(name):
    """The gradient of <C, map(A)> in A, from the kernel, against central differences of
    the NumPy map (step 1e-6: error ~1e-9 relative)."""
    dim = 5
    A, C = gaussian((dim, dim), 6), gaussian((dim, dim), 7)
    code = maps.ORTHOGONALIZERS[name]
    Q, aux, sigma, v = (np.empty((dim, dim)), np.empty((dim, dim)), np.empty(dim),
                        np.empty(dim))
    grad, t1, t2 = np.empty((dim, dim)), np.empty((dim, dim)), np.empty((dim, dim))
    maps.orthogonalize_kernel(code, A, Q, aux, sigma, v, t1)
    maps.pullback_kernel(code, Q, aux, sigma, C, grad, t1, t2)
    h, reference = 1e-6, np.empty((dim, dim))
    for i in range(dim):
        for j in range(dim):
            E = np.zeros((dim, dim))
            E[i, j] = h
            plus = np.sum(C * maps.orthogonalize(A + E, name, backend="numpy"))
            minus = np.sum(C * maps.orthogonalize(A - E, name, backend="numpy"))
            reference[i, j] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(grad, reference, rtol=0, atol=1e-8 * np.abs(reference).max())
    np.testing.assert_allclose(maps.pullback_numpy(code, *maps.orthogonalize_numpy(code, A), C),
                               grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["gram_schmidt", "lowdin"])
def test_maps_that_need_full_rank_reject_a_singular_matrix(name):
    A = gaussian((4, 4), 8)
    A[3] = A[0] + A[1]
    with pytest.raises(ValueError, match="A must be nonsingular"):
        maps.orthogonalize(A, name)


@pytest.mark.parametrize("name", ["householder", "cayley"])
def test_maps_defined_everywhere_accept_a_singular_matrix(name):
    assert maps.orthogonality_defect(maps.orthogonalize(np.zeros((3, 3)), name)) <= 1e-15


@pytest.mark.parametrize("bad,match", [
    (np.ones((2, 3)), "A must be square"),
    (np.array([[np.nan, 0.0], [0.0, 1.0]]), "A must be finite"),
    (np.ones(3), "A must be a non-empty 2-D array"), ("x", "A must be a matrix")])
@pytest.mark.parametrize("name", MAPS)
def test_maps_reject_bad_input(name, bad, match):
    with pytest.raises(ValueError, match=match):
        maps.orthogonalize(bad, name)


def test_unknown_map_and_backend_are_rejected():
    with pytest.raises(ValueError, match="orthogonalizer must be one of"):
        maps.orthogonalize(np.eye(2), "qr")
    with pytest.raises(ValueError, match="backend must be"):
        maps.lowdin(np.eye(2), backend="jax")


# --------------------------------------------------------------------------- energy


VARIANTS = [("euclidean", False), ("euclidean", True), ("angular", False), ("angular", True)]


@pytest.mark.parametrize("s", [0.0, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("distance,half_space", VARIANTS)
def test_energy_matches_its_twin(s, distance, half_space):
    V = gaussian((6, 15), 9)
    fast = energy.hyperspherical_energy(V, s, distance=distance, half_space=half_space)
    slow = energy.hyperspherical_energy(V, s, distance=distance, half_space=half_space,
                                     backend="numpy")
    assert fast == pytest.approx(slow, rel=1e-13)


@pytest.mark.parametrize("s", [0.0, 1.0, 2.0, 0.7])
def test_energy_against_scipy_pairwise_distances(s):
    V = gaussian((5, 12), 10)
    U = V / np.linalg.norm(V, axis=0)
    z = pdist(U.T)
    expected = np.sum(-np.log(z)) if s == 0.0 else np.sum(z ** -s)
    assert energy.hyperspherical_energy(3.0 * V, s) == pytest.approx(expected, rel=1e-12)
    theta = np.arccos(np.clip(1.0 - pdist(U.T, "cosine"), -1.0, 1.0)) / np.pi
    expected = np.sum(-np.log(theta)) if s == 0.0 else np.sum(theta ** -s)
    assert energy.hyperspherical_energy(V, s, distance="angular") == pytest.approx(expected,
                                                                                rel=1e-9)


@pytest.mark.parametrize("distance", ["euclidean", "angular"])
@pytest.mark.parametrize("s", [0.0, 1.0, 2.0])
def test_half_space_energy_is_the_energy_of_the_neurons_and_their_negatives(distance, s):
    V = gaussian((4, 9), 11)
    direct = energy.hyperspherical_energy(np.hstack((V, -V)), s, distance=distance)
    assert energy.hyperspherical_energy(V, s, distance=distance, half_space=True) == \
        pytest.approx(direct, rel=1e-12)


def test_energy_of_coincident_neurons_is_infinite_and_of_one_neuron_zero():
    V = gaussian((3, 4), 12)
    V[:, 2] = 5.0 * V[:, 1]
    assert energy.hyperspherical_energy(V, 1.0) == np.inf
    assert energy.hyperspherical_energy(V[:, :1], 1.0) == 0.0


@pytest.mark.parametrize("bad,kwargs,match", [
    (np.zeros((3, 4)), {}, "V has a zero column"),
    (np.full((3, 4), np.nan), {}, "V must be finite"),
    (np.ones((3, 4)), {"s": -1.0}, "s must be non-negative"),
    (np.ones((3, 4)), {"s": np.nan}, "s must be finite"),
    (np.ones((3, 4)), {"distance": "geodesic"}, "distance must be one of"),
])
def test_energy_rejects_bad_input(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        energy.hyperspherical_energy(bad, **kwargs)


# --------------------------------------------------------------------------- learners


@pytest.mark.parametrize("name", sorted(opt.SOLVERS))
def test_every_solver_matches_its_twin_on_its_example(name):
    args, kwargs = opt.examples()[name]
    fast = opt.SOLVERS[name](*args, **kwargs)
    slow = opt.SOLVERS[name](*args, backend="numpy", **kwargs)
    assert fast.status is Status.COMPLETED and fast.stats == slow.stats
    np.testing.assert_allclose(fast.states, slow.states, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", MAPS)
def test_parametrized_flow_field_is_minus_the_gradient_of_the_loss(name):
    """The field at A (eta = 1) against central differences of 1/2 |map(A) V - T|^2."""
    V, T, _ = opt.procrustes_instance(4, 9, 0.3, seed=2)
    A = gaussian((4, 4), 13)
    params = opt.kernel_parameters(opt.PARAMETRIZED, 1.0, orthogonalizer=maps.ORTHOGONALIZERS[name],
                         flow=True)
    problem = opt.problem(V, T, params)
    out = np.empty(16)
    y = A.ravel().copy()
    opt.field(y, problem.args, out, opt.workspace(y, problem.args))
    h, reference = 1e-6, np.empty(16)
    for k in range(16):
        E = np.zeros(16)
        E[k] = h
        loss = [opt.procrustes_loss(maps.orthogonalize((y + sign * E).reshape(4, 4), name,
                                                      backend="numpy"), V, T)
                for sign in (1.0, -1.0)]
        reference[k] = -(loss[0] - loss[1]) / (2 * h)
    np.testing.assert_allclose(out, reference, rtol=0, atol=1e-7 * np.abs(reference).max())
    np.testing.assert_allclose(problem.field_numpy(y), out, rtol=0, atol=1e-13)


def test_exact_ogd_stays_orthogonal_and_iterative_ogd_drifts():
    V, T, _ = opt.procrustes_instance(6, 20, 0.3, seed=4)
    steps = np.arange(0, 401, 50)[1:]
    exact = opt.orthogonal_descent(V, T, lr=0.05, steps=steps, momentum=0.9)
    iterative = opt.orthogonal_descent(V, T, lr=0.05, steps=steps, momentum=0.9,
                                       retraction="iterative")
    assert exact.defects.max() <= 1e-13
    assert iterative.defects[-1] > 1e3 * exact.defects.max()


def test_stochastic_descent_changes_only_the_episode_rows_and_stays_orthogonal():
    V, T, _ = opt.procrustes_instance(6, 20, 0.3, seed=5)
    traj = opt.stochastic_descent(V, T, lr=0.2, steps=np.arange(1, 31), subset_size=3,
                                  episode_steps=10, seed=6)
    assert traj.defects.max() <= 1e-13
    rotations = traj.rotations
    for episode in range(3):
        untouched = np.setdiff1d(np.arange(6), traj.subsets[episode])
        before, after = rotations[10 * episode], rotations[10 * episode + 10]
        np.testing.assert_array_equal(after[untouched], before[untouched])
    assert traj.losses(V, T)[-1] < traj.losses(V, T)[0]


def test_trajectory_accessors_agree_with_the_public_functions():
    args, kwargs = opt.examples()["parametrized_descent"]
    V, T, _ = args
    traj = opt.parametrized_descent(*args, **kwargs)
    R = maps.lowdin(traj.parameters[-1])
    np.testing.assert_allclose(traj.rotations[-1], R, atol=1e-14)
    assert traj.losses(V, T)[-1] == pytest.approx(opt.procrustes_loss(R, V, T), rel=1e-13)
    assert traj.energies(V, 2.0)[-1] == pytest.approx(energy.hyperspherical_energy(R @ V, 2.0),
                                                      rel=1e-13)


@pytest.mark.parametrize("call,match", [
    (lambda V, T, A: opt.parametrized_descent(V, T[:, :-1], A, lr=0.1, steps=[2]),
     "V and T must have the same shape"),
    (lambda V, T, A: opt.parametrized_descent(V[:1], T[:1], A[:1, :1], lr=0.1, steps=[2]),
     "V must have at least 2 rows"),
    (lambda V, T, A: opt.parametrized_descent(V, T, A[:2, :2], lr=0.1, steps=[2]),
     "A0 must be 4 x 4"),
    (lambda V, T, A: opt.parametrized_descent(V, T, np.zeros((4, 4)), lr=0.1, steps=[2]),
     "A must be nonsingular for gram_schmidt"),
    (lambda V, T, A: opt.parametrized_descent(V, T, A, lr=0.1, steps=[2], orthogonalizer="qr"),
     "orthogonalizer must be one of"),
    (lambda V, T, A: opt.parametrized_descent(V, T, A, lr=-0.1, steps=[2]), "lr must be positive"),
    (lambda V, T, A: opt.parametrized_descent(V, T, A, lr=0.1, steps=[2], momentum=1.0),
     "momentum must be in"),
    (lambda V, T, A: opt.parametrized_flow(V, T, A, times=[1.0], eta=0.0), "eta must be positive"),
    (lambda V, T, A: opt.penalty_descent(V, T, A, lr=0.1, steps=[2], penalty=-1.0),
     "penalty must be non-negative"),
    (lambda V, T, A: opt.orthogonal_descent(V, T, lr=0.1, steps=[2], retraction="qr"),
     "retraction must be one of"),
    (lambda V, T, A: opt.orthogonal_descent(V, T, np.full((4, 4), np.inf), lr=0.1, steps=[2]),
     "R0 must be finite"),
    (lambda V, T, A: opt.stochastic_descent(V, T, lr=0.1, steps=[2], subset_size=5,
                                            episode_steps=2, seed=0),
     "subset_size must be at most dim"),
    (lambda V, T, A: opt.stochastic_descent(V, T, lr=0.1, steps=[2], subset_size=2,
                                            episode_steps=0, seed=0),
     "episode_steps must be an integer"),
])
def test_solvers_reject_bad_input(call, match):
    V, T, _ = opt.procrustes_instance(4, 6, 0.1, seed=0)
    with pytest.raises(ValueError, match=match):
        call(V, T, gaussian((4, 4), 14))


def test_instances_are_reproducible_and_reject_bad_sizes():
    first, second = opt.procrustes_instance(3, 5, 0.2, 7), opt.procrustes_instance(3, 5, 0.2, 7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert maps.orthogonality_defect(first[2]) <= 1e-14
    with pytest.raises(ValueError, match="dim must be an integer >= 2"):
        opt.procrustes_instance(1, 5, 0.2, 7)
    with pytest.raises(ValueError, match="noise must be non-negative"):
        opt.procrustes_instance(3, 5, -0.2, 7)


@pytest.mark.parametrize("distance,half_space", VARIANTS)
def test_parallel_energy_equals_the_serial_kernel_exactly(distance, half_space):
    """The same parts summed in the same order: bitwise equal for any thread count."""
    V = gaussian((7, 300), 15)
    U = np.ascontiguousarray((V / np.linalg.norm(V, axis=0)).T)
    angular = distance == "angular"
    assert energy.pair_energy(U, 1.5, angular, half_space) == \
        energy.pair_energy_parallel(U, 1.5, angular, half_space)
    assert energy.hyperspherical_energy(V, 1.5, distance=distance, half_space=half_space) == \
        pytest.approx(energy.hyperspherical_energy(V, 1.5, distance=distance,
                                                half_space=half_space, backend="numpy"), rel=1e-12)


ALLOCATION_PROBE = """
import json
import numpy as np
from numba.core.runtime import rtsys
from theory import orthogonal as opt, solve
solve.FIRST_CALL_STEPS = 10 ** 9  # one call of the jitted loop per run
V, T, _ = opt.procrustes_instance(4, 10, 0.4, seed=2)
A0 = np.eye(4) + 0.1 * np.random.default_rng(3).standard_normal((4, 4))
runs = {f"parametrized_descent/{name}": lambda steps, name=name: opt.parametrized_descent(
            V, T, A0, lr=0.05, steps=[steps], orthogonalizer=name) for name in MAPS}
runs.update({f"orthogonal_descent/{r}": lambda steps, r=r: opt.orthogonal_descent(
    V, T, lr=0.05, steps=[steps], retraction=r) for r in opt.RETRACTIONS})
runs["penalty_descent"] = lambda steps: opt.penalty_descent(V, T, A0, lr=0.05, steps=[steps])
runs["stochastic_descent"] = lambda steps: opt.stochastic_descent(
    V, T, lr=0.05, steps=[steps], subset_size=3, episode_steps=4, seed=1, orthogonalizer="cayley")
runs["parametrized_flow"] = lambda steps: opt.parametrized_flow(
    V, T, A0, times=[0.01 * steps], orthogonalizer="cayley", method="rk4", dt=0.01)
runs["network_descent"] = lambda steps: opt.network_descent(
    *opt.examples()["network_descent"][0], lr=0.05, steps=[steps], orthogonalizer="cayley")
counts = {}
for label, run in runs.items():
    run(1)  # compiles or loads the loops (and starts numba's runtime, which counts)
    per_run = []
    for steps in (1, 300):
        before = rtsys.get_allocation_stats().alloc
        run(steps)
        per_run.append(rtsys.get_allocation_stats().alloc - before)
    counts[label] = per_run
print(json.dumps(counts))
"""


def test_jitted_steps_allocate_nothing():
    """numba's own allocation counter (NUMBA_NRT_STATS) over a run of 1 step and of 300:
    equal counts mean no allocation per step (the loops allocate their scratch once per
    call)."""
    import json
    import os
    import subprocess
    import sys

    code = ALLOCATION_PROBE.replace("MAPS", repr(MAPS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "NUMBA_NRT_STATS": "1"}, check=True)
    counts = json.loads(out.stdout.splitlines()[-1])
    assert len(counts) == 10
    for label, (one_step, many_steps) in counts.items():
        assert many_steps == one_step, label
