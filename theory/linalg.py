"""Small dense products for the jitted kernels: loops below a size, BLAS above it.

A BLAS call costs about a microsecond before any arithmetic, more than a whole
matrix-vector product at the sizes ``verify`` uses (a few hundred entries), where plain
loops that LLVM vectorizes win; from :data:`BLAS_MIN_ENTRIES` entries on, BLAS wins
(``python -m benchmarks`` measures both sides of the crossover). Both write into buffers
allocated before the time loop.
"""
from __future__ import annotations

import numpy as np

from theory.numba_options import jit

BLAS_MIN_ENTRIES = 4096
"""Matrices with at least this many entries are multiplied through BLAS (np.dot into the
output buffer); smaller ones by loops."""


@jit
def matvec(A, x, out):
    """out = A x."""
    m, n = A.shape
    if m * n >= BLAS_MIN_ENTRIES:
        np.dot(A, x, out)
        return
    for i in range(m):
        acc = 0.0
        for j in range(n):
            acc += A[i, j] * x[j]
        out[i] = acc


@jit
def matvec_transposed(A, r, out):
    """out = A^T r."""
    m, n = A.shape
    if m * n >= BLAS_MIN_ENTRIES:
        np.dot(A.T, r, out)
        return
    for j in range(n):
        out[j] = 0.0
    for i in range(m):
        coefficient = r[i]
        for j in range(n):
            out[j] += coefficient * A[i, j]


@jit
def integer_power(x, n):
    """x^n for a small integer n >= 0 by products (n <= 3), else by pow: the depths the
    settings use most cost no call to pow."""
    if n == 2:
        return x * x
    if n == 1:
        return x
    if n == 3:
        return x * x * x
    if n == 0:
        return 1.0
    return x ** n

