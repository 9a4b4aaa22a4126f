"""Products with a data matrix for the jitted kernels, integer powers, and a linear solve
that allocates nothing (:func:`solve_in_place`).

The settings multiply by a fixed data matrix A (M x N, rows are samples) twice per
evaluation of the field: the forward product m = A x, a pointwise map r = phi(m), and the
backward product g = A^T r. Both are loops here, written so that LLVM vectorizes them
without fastmath on the kernels that call them:

- :func:`row_products` sums each A[k] . x with :func:`theory.numba_options.jit_sum`
  (reassociation only: the sum is split over vector lanes and partial sums, as BLAS
  does; the result changes by round-off, never by a non-finite shortcut);
- :func:`add_row_combination` adds r[k] A[k] to g for four rows at a time (axpy form:
  independent lanes, each component summed in a fixed order, no reassociation).

A kernel runs both over blocks of :func:`row_block` rows, so that a block is still in
the core's cache when the backward product reads it again: the matrix streams from
memory once per evaluation instead of twice (the product at N = 4000 is bound by memory
bandwidth), and small matrices are one block. Data with few columns is stored as
:func:`transposed_blocks` instead, where the long side is the contiguous one. A BLAS call costs about a microsecond
before any arithmetic, more than a whole product at the sizes ``verify`` uses.

Small matrices that a kernel reads every step (a Gram matrix) are stored from a cache line
(:func:`aligned_zeros`, :func:`aligned_empty`): an unaligned 64-byte vector load touches two
lines.

Large least-squares gradients (at least :data:`PARALLEL_MIN_ENTRIES` entries of A) run on
all of numba's threads with :func:`least_squares_gradient_in_parts`: :data:`ROW_PARTS`
ranges of rows, each with its own partial gradient, summed in a fixed order, so that the
result is the same for any number of threads.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import uint64

from theory.numba_options import jit, jit_inline, jit_parallel, jit_sum

BLOCK_BYTES = 262144
"""Bytes of a block of rows: a quarter of a typical L2 cache per core, so that the block
is still there when the backward product reads it; blocks of several long rows also
keep several memory streams in flight (``python -m benchmarks.jax_peer`` measures the
N = 4000 case)."""


TRANSPOSED_BLOCK_ROWS = 512
"""Rows of A per block of :func:`transposed_blocks`: long enough that the loops over a
block's rows run long, short enough that a block (d x rows float64) stays in the L2
cache between the two products."""

BLOCK_ROW_MULTIPLE = 8
"""Rows of a block of :func:`transposed_blocks` are a multiple of this (zero rows added):
the loops over a block's rows are vectorized, and a row count that is not a multiple of
the vector length leaves a remainder that runs scalar, which for small data (P = 30
samples: a vectorized body of 8 float64 per 512-bit vector, or more with interleaving)
can be most of the loop (``python -m benchmarks.jax_peer``, case margin_P30)."""


@jit
def row_block(n_columns):
    """Rows of an M x ``n_columns`` float64 matrix per block (at least 1)."""
    return max(1, BLOCK_BYTES // (8 * n_columns))


PARALLEL_MIN_ENTRIES = 1 << 21
"""Entries of A (16 MiB of float64) from which :func:`least_squares_gradient_in_parts`
is used: a product then takes about a millisecond, against microseconds to start and
join the threads (``python -m benchmarks.jax_peer``, case diagonal_N4000)."""

ROW_PARTS = 8
"""Row ranges of :func:`least_squares_gradient_in_parts`: fixed, independent of the
number of threads, so that the order of the sums is too."""


CACHE_LINE_BYTES = 64
"""Bytes of a cache line, and of an AVX-512 register: a vector load from an address that is a
multiple of this touches one line, any other two. NumPy and numba place arrays at 16 and
32 bytes, so every wide load of a small matrix read each step may cost two
(``python -m benchmarks.jax_peer``, case diagonal_N40)."""


def aligned_zeros(shape) -> np.ndarray:
    """Float64 zeros of ``shape``, C-contiguous, whose data starts at a cache line
    (:data:`CACHE_LINE_BYTES`): a view into a buffer a line longer."""
    size = int(np.prod(shape))
    words = CACHE_LINE_BYTES // 8
    buffer = np.zeros(size + words - 1)
    start = (-buffer.ctypes.data % CACHE_LINE_BYTES) // 8
    return buffer[start:start + size].reshape(shape)


@jit_inline
def aligned_empty(size):
    """An uninitialized float64 vector of ``size`` whose data starts at a cache line, for
    kernel workspaces (:func:`aligned_zeros` inside numba)."""
    words = CACHE_LINE_BYTES // 8
    buffer = np.empty(size + words - 1)
    start = ((CACHE_LINE_BYTES - buffer.ctypes.data % CACHE_LINE_BYTES) % CACHE_LINE_BYTES) // 8
    return buffer[start:start + size]


@jit_sum
def row_products(A, x, start, stop, out):
    """out[k] = A[k] . x[:n] for start <= k < stop, A of n columns, four rows at a time
    (four sums in flight, each read of x shared)."""
    n = A.shape[1]
    k = start
    while k + 4 <= stop:
        a0, a1, a2, a3 = 0.0, 0.0, 0.0, 0.0
        for j in range(n):
            xj = x[j]
            a0 += A[k, j] * xj
            a1 += A[k + 1, j] * xj
            a2 += A[k + 2, j] * xj
            a3 += A[k + 3, j] * xj
        out[k], out[k + 1], out[k + 2], out[k + 3] = a0, a1, a2, a3
        k += 4
    while k < stop:
        acc = 0.0
        for j in range(n):
            acc += A[k, j] * x[j]
        out[k] = acc
        k += 1


@jit_inline
def add_row_combination(A, r, start, stop, out):
    """out += sum_{start <= k < stop} r[k] A[k], four rows at a time."""
    n = A.shape[1]
    k = start
    while k + 4 <= stop:
        r0, r1, r2, r3 = r[k], r[k + 1], r[k + 2], r[k + 3]
        for j in range(n):
            out[j] += (r0 * A[k, j] + r1 * A[k + 1, j]) + (r2 * A[k + 2, j] + r3 * A[k + 3, j])
        k += 4
    while k < stop:
        rk = r[k]
        for j in range(n):
            out[j] += rk * A[k, j]
        k += 1


@jit_inline
def add_row_combination_by_eight(A, r, start, stop, out):
    """out += sum_{start <= k < stop} r[k] A[k], eight rows at a time, then
    :func:`add_row_combination` for the rest: half the passes over ``out``, each a round
    trip through memory (store, then load in the next pass), for the price of eight
    broadcast values held in registers. Pays off where the passes are short (a small
    square matrix such as a Gram matrix); for long rows the four-row form is as fast or
    faster (``python -m benchmarks.jax_peer``, case diagonal_N40;
    :func:`theory.diagonal_linear.gram_gradient`)."""
    n = A.shape[1]
    k = start
    while k + 8 <= stop:
        r0, r1, r2, r3 = r[k], r[k + 1], r[k + 2], r[k + 3]
        r4, r5, r6, r7 = r[k + 4], r[k + 5], r[k + 6], r[k + 7]
        for j in range(n):
            out[j] += (((r0 * A[k, j] + r1 * A[k + 1, j]) + (r2 * A[k + 2, j] + r3 * A[k + 3, j]))
                       + ((r4 * A[k + 4, j] + r5 * A[k + 5, j])
                          + (r6 * A[k + 6, j] + r7 * A[k + 7, j])))
        k += 8
    add_row_combination(A, r, k, stop, out)


def transposed_blocks(A: np.ndarray, rows: int = TRANSPOSED_BLOCK_ROWS) -> np.ndarray:
    """A (M x N) as blocks of its transpose: B[k] = A[k r:(k + 1) r]^T (N x r), r =
    min(rows, M rounded up to a multiple of :data:`BLOCK_ROW_MULTIPLE`), the last block
    padded with zero rows of A.

    For data with few columns (N much smaller than M): a row of A is too short for a
    vectorized sum, a row of B[k] is long, and a block is small enough to stay in the
    cache between the forward and the backward product.
    """
    m, n = A.shape
    r = min(rows, -(-m // BLOCK_ROW_MULTIPLE) * BLOCK_ROW_MULTIPLE)
    blocks = -(-m // r)
    padded = np.zeros((blocks * r, n))
    padded[:m] = A
    return np.ascontiguousarray(padded.reshape(blocks, r, n).transpose(0, 2, 1))


TINY_SIDE = 8
"""Matrix products whose every side is at most this (at most 512 multiplications) run as
loops: there a BLAS call's fixed cost (more with a transposed operand) exceeds the
arithmetic (``python -m benchmarks.jax_peer``, case deep_N4: 4 x 4 x 4;
``python -m benchmarks.orthogonal``: 8 x 8 x 8), and LLVM, knowing the trip counts are
small, keeps the loops scalar."""


@jit_inline
def is_tiny(m, k, n):
    """Whether an (m x k)(k x n) product runs as loops (:data:`TINY_SIDE`)."""
    return m <= TINY_SIDE and n <= TINY_SIDE and k <= TINY_SIDE


@jit_inline
def matmul(A, B, out):
    """out = A B for any layouts (views such as ``X.T`` included; ``out`` distinct from
    both): loops for tiny products (:data:`TINY_SIDE`; :func:`matmul_loops`, inlined: at
    3 x 4 x 8 a call costs more than the counts it saves), where LLVM knows the trip
    counts are small and keeps them scalar, else BLAS (np.dot into ``out``)."""
    m, k = A.shape
    n = B.shape[1]
    if is_tiny(m, k, n):
        matmul_loops(A, 0, m, B, out, 0)
    else:
        np.dot(A, B, out)


@jit_inline
def weight_times(y, offset, B, out):
    """out = W B, W the out.shape[0] x B.shape[0] matrix stored row-major in y from
    ``offset`` (a layer of a flat state).

    Indexing y directly instead of taking ``y[...].reshape(...)``: a reshape costs numba a
    call of a C helper (about 20 ns), more than a tiny product's arithmetic.
    """
    m, k = out.shape[0], B.shape[0]
    n = B.shape[1]
    if is_tiny(m, k, n):
        weight_times_loops(y, offset, B, 0, k, out, 0, m)
    else:
        np.dot(y[offset:offset + m * k].reshape((m, k)), B, out)


@jit_inline
def weight_transpose_times(y, offset, B, out):
    """out = W^T B, W the B.shape[0] x out.shape[0] matrix stored row-major in y from
    ``offset`` (as :func:`weight_times`)."""
    m, k = out.shape[0], B.shape[0]
    n = B.shape[1]
    if is_tiny(m, k, n):
        weight_transpose_times_loops(y, offset, B, 0, k, out, 0, m)
    else:
        np.dot(y[offset:offset + k * m].reshape((k, m)).T, B, out)


@jit_inline
def times_transpose_into(A, B, out, offset):
    """out[offset:] = A B^T row-major (A: m x k, B: n x k), a layer of a flat state (as
    :func:`weight_times`)."""
    m, k = A.shape
    n = B.shape[0]
    if is_tiny(m, k, n):
        times_transpose_loops(A, 0, m, B, 0, n, out, offset)
    else:
        np.dot(A, B.T, out[offset:offset + m * n].reshape((m, n)))


@jit_inline
def times_data_transpose_into(A, X, X_rows, out, offset):
    """out[offset:] = A X^T row-major (as :func:`times_transpose_into`), given the data
    matrix X (n x k) also as ``X_rows`` = X^T (k x n, C-contiguous): BLAS multiplies A by
    ``X_rows``, an operand it reads without transposing, which OpenBLAS does faster than
    A X^T at the shapes of a gradient by the samples (a sum over a long k into a short
    n; ``python -m benchmarks.jax_peer``, case implicit_gd_large); tiny products run as
    the loops of :func:`times_transpose_into`."""
    m, k = A.shape
    n = X.shape[0]
    if is_tiny(m, k, n):
        times_transpose_into(A, X, out, offset)
    else:
        np.dot(A, X_rows, out[offset:offset + m * n].reshape((m, n)))


# Products on blocks of rows of one scratch matrix, for a field whose scratch is one
# matrix, each layer a block of its rows: the field passes the matrix and the block's first
# row instead of a view or a list item. In a field inlined into a time loop, numba
# increments and decrements a reference count (an atomic instruction, which waits for the
# core's pending stores) for every array a list yields, a view makes or an inlined helper
# receives, and its pass that removes such pairs misses most of them in a large loop body;
# a called function receives its arrays without counting, and one that calls nothing that
# can raise has its own counts removed. So each product is two called functions, the
# loops for tiny sides (:func:`is_tiny`) and BLAS otherwise, and the caller chooses
# between them with :func:`is_tiny` (a function choosing inside would keep its counts).
# The loops index with unsigned integers, for which numba emits no negative-index
# wraparound (a compare and a conditional move per load). They are written once
# (``*_loops``, inlined) and serve the inlined helpers above as well, where a call would
# cost more than the counts it saves (3 x 4 x 8 products: ``python -m
# benchmarks.jax_peer``, case implicit_mf_small; deep_N4 for the called form).


@jit_inline
def weight_times_loops(y, offset, B, b_row, k, out, out_row, m):
    """out[out_row:out_row + m] = W B[b_row:b_row + k] by loops, W the m x k matrix
    stored row-major in y from ``offset`` (as :func:`weight_times`); every side at most
    :data:`TINY_SIDE`."""
    n = B.shape[1]
    for i in range(min(m, 8)):
        row = offset + i * k
        for j in range(min(n, 8)):
            acc = 0.0
            for p in range(min(k, 8)):
                acc += y[uint64(row + p)] * B[uint64(b_row + p), uint64(j)]
            out[uint64(out_row + i), uint64(j)] = acc


@jit
def tiny_block_weight_times(y, offset, B, b_row, k, out, out_row, m):
    """:func:`weight_times_loops`, called (no reference counts for its arrays; see above)."""
    weight_times_loops(y, offset, B, b_row, k, out, out_row, m)


@jit
def blas_block_weight_times(y, offset, B, b_row, k, out, out_row, m):
    """:func:`tiny_block_weight_times` by BLAS, for any sides."""
    np.dot(y[offset:offset + m * k].reshape((m, k)), B[b_row:b_row + k],
           out[out_row:out_row + m])


@jit_inline
def weight_transpose_times_loops(y, offset, B, b_row, k, out, out_row, m):
    """out[out_row:out_row + m] = W^T B[b_row:b_row + k] by loops, W the k x m matrix
    stored row-major in y from ``offset`` (as :func:`weight_transpose_times`); every side
    at most :data:`TINY_SIDE`."""
    n = B.shape[1]
    for i in range(min(m, 8)):
        for j in range(min(n, 8)):
            acc = 0.0
            for p in range(min(k, 8)):
                acc += y[uint64(offset + p * m + i)] * B[uint64(b_row + p), uint64(j)]
            out[uint64(out_row + i), uint64(j)] = acc


@jit
def tiny_block_weight_transpose_times(y, offset, B, b_row, k, out, out_row, m):
    """:func:`weight_transpose_times_loops`, called (no reference counts for its arrays;
    see above)."""
    weight_transpose_times_loops(y, offset, B, b_row, k, out, out_row, m)


@jit
def blas_block_weight_transpose_times(y, offset, B, b_row, k, out, out_row, m):
    """:func:`tiny_block_weight_transpose_times` by BLAS, for any sides."""
    np.dot(y[offset:offset + k * m].reshape((k, m)).T, B[b_row:b_row + k],
           out[out_row:out_row + m])


@jit_inline
def times_transpose_loops(A, a_row, m, B, b_row, n, out, offset):
    """out[offset:] = A[a_row:a_row + m] B[b_row:b_row + n]^T row-major by loops, a layer
    of a flat state (as :func:`times_transpose_into`); every side at most
    :data:`TINY_SIDE`."""
    k = A.shape[1]
    for i in range(min(m, 8)):
        row = offset + i * n
        for j in range(min(n, 8)):
            acc = 0.0
            for p in range(min(k, 8)):
                acc += A[uint64(a_row + i), uint64(p)] * B[uint64(b_row + j), uint64(p)]
            out[uint64(row + j)] = acc


@jit
def tiny_block_times_transpose_into(A, a_row, m, B, b_row, n, out, offset):
    """:func:`times_transpose_loops`, called (no reference counts for its arrays; see above)."""
    times_transpose_loops(A, a_row, m, B, b_row, n, out, offset)


@jit
def blas_block_times_transpose_into(A, a_row, m, B, b_row, n, out, offset):
    """:func:`tiny_block_times_transpose_into` by BLAS, for any sides."""
    np.dot(A[a_row:a_row + m], B[b_row:b_row + n].T,
           out[offset:offset + m * n].reshape((m, n)))


@jit_inline
def matmul_loops(A, a_row, m, B, out, out_row):
    """out[out_row:out_row + m] = A[a_row:a_row + m] B by loops (as :func:`matmul`);
    every side at most :data:`TINY_SIDE`."""
    k, n = B.shape
    for i in range(min(m, 8)):
        for j in range(min(n, 8)):
            acc = 0.0
            for p in range(min(k, 8)):
                acc += A[uint64(a_row + i), uint64(p)] * B[uint64(p), uint64(j)]
            out[uint64(out_row + i), uint64(j)] = acc


@jit
def tiny_block_matmul(A, a_row, m, B, out, out_row):
    """:func:`matmul_loops`, called (no reference counts for its arrays; see above)."""
    matmul_loops(A, a_row, m, B, out, out_row)


@jit
def blas_block_matmul(A, a_row, m, B, out, out_row):
    """:func:`tiny_block_matmul` by BLAS, for any sides."""
    np.dot(A[a_row:a_row + m], B, out[out_row:out_row + m])


@jit
def blas_product(A, B):
    """A B by numba's BLAS, for data a kernel is given (A and B C- or F-contiguous, e.g.
    ``X.T``). numba's products call SciPy's OpenBLAS, NumPy's ``@`` NumPy's own, and each
    library keeps its idle threads spinning for a while after a threaded call: a product
    in NumPy just before a time loop leaves a spinning thread on the core that the
    kernel's two-thread products need (``python -m benchmarks.jax_peer``, case deep_N256
    with default threads; benchmarks/README.md, session 8). The rounding may differ from
    NumPy's (which forms A A^T by a symmetric rank-k update)."""
    return np.dot(A, B)


@jit
def solve_in_place(A, B):
    """B <- A^-1 B for a square nonsingular A, allocating nothing: Gaussian elimination
    with partial pivoting (at column c the row of largest |a_ic|, i >= c, is swapped into
    place, in A and in B), then back substitution. A is overwritten by its upper factor
    (and the multipliers below the diagonal); B may be any view, e.g. ``X.T``.

    Backward stable like LAPACK's gesv (the same algorithm, unblocked): the computed x
    solves (A + E) x = b with |E| <= c n eps |L| |U|. A zero pivot (A singular) gives
    inf or NaN in B, which the time loops report as a divergence.
    """
    n = A.shape[0]
    m = B.shape[1]
    for c in range(n):
        pivot_row = c
        largest = abs(A[c, c])
        for i in range(c + 1, n):
            if abs(A[i, c]) > largest:
                largest = abs(A[i, c])
                pivot_row = i
        if pivot_row != c:
            for j in range(c, n):
                A[c, j], A[pivot_row, j] = A[pivot_row, j], A[c, j]
            for j in range(m):
                B[c, j], B[pivot_row, j] = B[pivot_row, j], B[c, j]
        pivot = A[c, c]
        for i in range(c + 1, n):
            factor = A[i, c] / pivot
            A[i, c] = factor
            for j in range(c + 1, n):
                A[i, j] -= factor * A[c, j]
            for j in range(m):
                B[i, j] -= factor * B[c, j]
    for c in range(n - 1, -1, -1):
        for k in range(c + 1, n):
            factor = A[c, k]
            for j in range(m):
                B[c, j] -= factor * B[k, j]
        pivot = A[c, c]
        for j in range(m):
            B[c, j] /= pivot


@jit_inline
def powers(y, start, exponent, out):
    """out[i] = y[start + i]^exponent (exponent >= 0) by repeated products, one pass over
    ``out`` per factor (vectorized; the same products as :func:`integer_power` for
    exponents <= 3)."""
    if exponent == 0:
        for i in range(out.size):
            out[i] = 1.0
        return
    for i in range(out.size):
        out[i] = y[start + i]
    for _ in range(exponent - 1):
        for i in range(out.size):
            out[i] *= y[start + i]


@jit_inline
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


@jit_parallel
def least_squares_gradient_in_parts(A, b, x, residual, partial, g):
    """g = A^T (A x - b) and residual = A x - b, the rows of A split into
    ``partial.shape[0]`` equal ranges (:data:`ROW_PARTS`) that run in parallel.

    Range p adds its rows' r_k A[k] into ``partial[p]``, in blocks of :func:`row_block`
    rows as a serial kernel does; g is the sum of the partial rows in the order p = 0, 1,
    .... Each range's arithmetic, and this sum, are the same for any number of threads.
    """
    m, n = A.shape
    parts = partial.shape[0]
    rows_per_part = -(-m // parts)
    block = row_block(n)
    for p in numba.prange(parts):
        part_gradient = partial[p]
        for i in range(n):
            part_gradient[i] = 0.0
        end = min(m, (p + 1) * rows_per_part)
        for start in range(p * rows_per_part, end, block):
            stop = min(end, start + block)
            row_products(A, x, start, stop, residual)
            for k in range(start, stop):
                residual[k] -= b[k]
            add_row_combination(A, residual, start, stop, part_gradient)
    for i in range(n):
        total = 0.0
        for p in range(parts):
            total += partial[p, i]
        g[i] = total
