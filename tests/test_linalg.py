"""The product kernels of theory.linalg against NumPy, and the parallel gradient's
independence of the number of threads."""
import numba
import numpy as np
import pytest

from theory import diagonal_linear
from theory.linalg import (PARALLEL_MIN_ENTRIES, ROW_PARTS, least_squares_gradient_in_parts,
                           row_block, transposed_blocks)

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


def test_blocks_cover_every_row():
    A = np.arange(35.0).reshape(7, 5)
    blocks = transposed_blocks(A, rows=3)
    assert blocks.shape == (3, 5, 3)
    np.testing.assert_array_equal(blocks.transpose(0, 2, 1).reshape(9, 5)[:7], A)
    assert row_block(10 ** 9) == 1


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
