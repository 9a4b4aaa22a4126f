"""The product kernels of theory.linalg against NumPy, and the parallel gradient's
independence of the number of threads."""
import numba
import numpy as np
import pytest

from theory import diagonal_linear
from theory.linalg import (BLOCK_ROW_MULTIPLE, CACHE_LINE_BYTES, PARALLEL_MIN_ENTRIES, ROW_PARTS,
                           add_row_combination, add_row_combination_by_eight, aligned_empty,
                           aligned_zeros, least_squares_gradient_in_parts, row_block,
                           solve_in_place, transposed_blocks)
from theory.numba_options import jit

LARGE = (512, PARALLEL_MIN_ENTRIES // 512)
"""The smallest A (M x N, M < N) that takes the parallel path."""


def _gradient(A, b, x, threads):
    residual, partial, g = np.empty(A.shape[0]), np.empty((ROW_PARTS, A.shape[1])), np.empty(A.shape[1])
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        least_squares_gradient_in_parts(A, b, x, residual, partial, g)
    finally:
        numba.set_num_threads(before)
    return residual, g


@pytest.mark.parametrize("shape", [(37, 11), (1000, 300), (5, 7)])
def test_gradient_in_parts_is_the_least_squares_gradient(shape):
    # float64: each entry of g sums M products of size ~|A|^2 |x| in a different order
    # from NumPy's BLAS: round-off of ~M eps relative to the sum of magnitudes.
    rng = np.random.default_rng(shape[0])
    A, b, x = rng.standard_normal(shape), rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    residual, g = _gradient(A, b, x, numba.get_num_threads())
    np.testing.assert_allclose(residual, A @ x - b, rtol=0, atol=1e-13 * shape[1])
    scale = np.abs(A).T @ (np.abs(A) @ np.abs(x) + np.abs(b))
    assert np.all(np.abs(g - A.T @ (A @ x - b)) <= 4 * shape[0] * np.finfo(float).eps * scale)


def test_gradient_in_parts_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(3)
    A, b, x = rng.standard_normal((301, 77)), rng.standard_normal(301), rng.standard_normal(77)
    one = _gradient(A, b, x, 1)
    for threads in range(2, numba.config.NUMBA_NUM_THREADS + 1):
        for expected, got in zip(one, _gradient(A, b, x, threads)):
            np.testing.assert_array_equal(got, expected)


def test_large_diagonal_descent_takes_the_parallel_path_and_matches_numpy():
    # A few Euler steps on an A of 2^21 entries: the kernel's g comes from the parallel
    # parts; the NumPy twin forms A^T (A x - b) with BLAS. Round-off only: 3 steps at
    # lr 1e-4 keep the state within 1e-3 of alpha, so the difference stays ~1e-15.
    rng = np.random.default_rng(5)
    A, y = rng.standard_normal(LARGE), rng.standard_normal(LARGE[0])
    assert A.size >= PARALLEL_MIN_ENTRIES
    runs = {backend: diagonal_linear.gradient_descent(A, y, alpha=0.1, lr=1e-4, steps=[3],
                                                      backend=backend)
            for backend in ("numba", "numpy")}
    np.testing.assert_allclose(runs["numba"].states, runs["numpy"].states, rtol=1e-13, atol=0)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = diagonal_linear.gradient_descent(A, y, alpha=0.1, lr=1e-4, steps=[3])
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(single.states, runs["numba"].states)


@pytest.mark.parametrize("shape", [(3, 5), (8, 8), (21, 40), (45, 128)])
def test_row_combination_by_eight_is_the_transposed_product(shape):
    """Eight rows per pass, then four, then one (21 = 8 + 8 + 4 + 1 rows), a range of rows
    included: out += A[start:stop]^T r[start:stop], compared with NumPy and with the
    four-row form."""
    rng = np.random.default_rng(shape[0])
    A, r, out0 = rng.standard_normal(shape), rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    for start, stop in ((0, shape[0]), (1, shape[0]), (0, shape[0] - 1)):
        by_eight, by_four = out0.copy(), out0.copy()
        add_row_combination_by_eight(A, r, start, stop, by_eight)
        add_row_combination(A, r, start, stop, by_four)
        expected = out0 + A[start:stop].T @ r[start:stop]
        # sums of at most 128 products of N(0, 1) entries in another order than BLAS:
        # round-off of a few ulps of the sum of magnitudes
        scale = np.abs(out0) + np.abs(A[start:stop]).T @ np.abs(r[start:stop])
        eps = np.finfo(float).eps
        assert np.all(np.abs(by_eight - expected) <= 4 * shape[0] * eps * scale)
        assert np.all(np.abs(by_eight - by_four) <= 4 * shape[0] * eps * scale)


@jit
def _aligned_vectors(sizes):
    """(address, size) of aligned_empty(size) for each size."""
    addresses, lengths = np.empty(sizes.size, dtype=np.int64), np.empty(sizes.size, dtype=np.int64)
    for i in range(sizes.size):
        vector = aligned_empty(sizes[i])
        vector[:] = 1.0
        addresses[i], lengths[i] = vector.ctypes.data, vector.size
    return addresses, lengths


def test_aligned_arrays_start_on_a_cache_line():
    for shape in [(1,), (7,), (40, 40), (3, 5)]:
        zeros = aligned_zeros(shape)
        assert zeros.shape == shape and zeros.flags.c_contiguous and not zeros.any()
        assert zeros.ctypes.data % CACHE_LINE_BYTES == 0
    sizes = np.arange(1, 40)
    addresses, lengths = _aligned_vectors(sizes)
    assert np.all(addresses % CACHE_LINE_BYTES == 0) and np.array_equal(lengths, sizes)


def test_gram_kernel_data_is_padded_to_whole_cache_lines():
    """kernel_data's Gram matrix: N x gram_columns(N), A^T A then zeros, from a cache line;
    c = A^T b then zeros."""
    for n in (6, 40, 45):
        A, b, _ = diagonal_linear.sparse_instance(n, n // 2, 2, seed=n)
        _, _, gram, c = diagonal_linear.kernel_data(A, b)
        width = diagonal_linear.gram_columns(n)
        assert width % (CACHE_LINE_BYTES // 8) == 0 and n <= width < n + CACHE_LINE_BYTES // 8
        assert gram.shape == (n, width) and c.shape == (width,)
        assert gram.ctypes.data % CACHE_LINE_BYTES == 0 and c.ctypes.data % CACHE_LINE_BYTES == 0
        np.testing.assert_array_equal(gram[:, :n], A.T @ A)
        np.testing.assert_array_equal(c[:n], A.T @ b)
        assert not gram[:, n:].any() and not c[n:].any()


def test_blocks_cover_every_row():
    A = np.arange(35.0).reshape(7, 5)
    blocks = transposed_blocks(A, rows=3)
    assert blocks.shape == (3, 5, 3)
    np.testing.assert_array_equal(blocks.transpose(0, 2, 1).reshape(9, 5)[:7], A)
    assert row_block(10 ** 9) == 1
    one = transposed_blocks(A)  # fewer rows than a block: rounded up to the multiple
    assert one.shape == (1, 5, BLOCK_ROW_MULTIPLE)
    np.testing.assert_array_equal(one[0].T[:7], A)
    assert np.all(one[0].T[7:] == 0.0)


def test_idle_openmp_threads_sleep_unless_the_user_chose_otherwise():
    import os
    import subprocess
    import sys

    code = "import os, theory.numba_options; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"


# --------------------------------------------------------------------------- solve_in_place

EPS = np.finfo(float).eps


def _conditioned(n, condition, seed):
    """A random n x n matrix U diag(s) W^T with singular values from 1 down to
    1/condition (log-spaced) and Haar-like U, W (QR of Gaussians)."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((n, n)))[0]
    W = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return U @ np.diag(np.logspace(0, -np.log10(condition), n)) @ W.T


@pytest.mark.parametrize("n, m", [(1, 1), (2, 3), (5, 5), (8, 1), (8, 8), (64, 64), (64, 3)])
@pytest.mark.parametrize("condition", [1.0, 1e4, 1e8, 1e12])
def test_solve_in_place_is_backward_stable_and_agrees_with_lapack(n, m, condition):
    # Partial pivoting is backward stable: the residual |A x - b| <= c n eps |A| |x| with
    # a small growth factor for these matrices (c = 4 covers the factor of the bound's
    # constant; a wrong pivot or a wrong substitution leaves a residual of order |b|).
    # Two backward-stable solves differ in x by at most ~ kappa times their backward
    # errors: |x - x_lapack| <= 8 n eps kappa |x|.
    A = _conditioned(n, condition, seed=n + m)
    B = np.random.default_rng(n * m).standard_normal((n, m))
    factors, X = A.copy(), B.copy()
    solve_in_place(factors, X)
    assert np.linalg.norm(A @ X - B) <= 4 * n * EPS * np.linalg.norm(A) * np.linalg.norm(X)
    expected = np.linalg.solve(A, B)
    assert np.linalg.norm(X - expected) <= 8 * n * EPS * condition * np.linalg.norm(expected)


def test_solve_in_place_pivots():
    # a zero leading entry (no elimination without a swap) and a tiny one (elimination
    # without pivoting loses every digit of x_1: 1 - 1e20 rounds to -1e20)
    for A in (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1e-20, 1.0], [1.0, 1.0]])):
        B = np.array([[1.0], [2.0]])
        X = B.copy()
        solve_in_place(A.copy(), X)
        np.testing.assert_allclose(X, np.linalg.solve(A, B), rtol=4 * EPS, atol=0)


def test_solve_in_place_into_a_transposed_view():
    rng = np.random.default_rng(9)
    A, C = rng.standard_normal((6, 6)), rng.standard_normal((4, 6))
    expected = np.linalg.solve(A, C.T)
    solve_in_place(A.copy(), C.T)  # C^T <- A^-1 C^T, written through the view
    np.testing.assert_allclose(C.T, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3, 1e8])
def test_solve_in_place_on_cayley_systems(scale):
    # I - (a/2) W with W skew (the OGD and Cayley systems): never singular; its condition
    # number is sqrt(1 + (a/2)^2 |w|_max^2) at most, so the 8 n eps kappa bound applies.
    rng = np.random.default_rng(int(np.log10(scale)) + 10)
    G = rng.standard_normal((16, 16))
    W = scale * (G - G.T)
    A = np.eye(16) - 0.5 * W
    B = (np.eye(16) + 0.5 * W) @ np.linalg.qr(rng.standard_normal((16, 16)))[0]
    X = B.copy()
    solve_in_place(A.copy(), X)
    condition = np.linalg.cond(A)
    expected = np.linalg.solve(A, B)
    assert np.linalg.norm(X - expected) <= 8 * 16 * EPS * condition * np.linalg.norm(expected)
    # the Cayley retraction of an orthogonal matrix is orthogonal to round-off
    assert np.linalg.norm(X.T @ X - np.eye(16)) <= 8 * 16 * EPS * condition


def test_solve_in_place_of_a_singular_matrix_is_not_finite():
    X = np.ones((2, 1))
    solve_in_place(np.array([[1.0, 2.0], [2.0, 4.0]]), X)
    assert not np.all(np.isfinite(X))
