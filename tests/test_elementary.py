"""The kernels' building blocks against NumPy: the vectorizable exp of theory.elementary over
the whole float64 range, and the small products of theory.linalg."""
import numpy as np
import pytest

from theory import elementary
from theory.numba_options import jit


_FUNCTIONS = ("exp", "expm1", "expm1_nonpositive", "log", "tanh", "sigmoid_of_negative")


@jit
def _apply_numbered(which, x, out):
    for i in range(x.size):
        v = x[i]
        if which == 0:
            out[i] = elementary.exp(v)
        elif which == 1:
            out[i] = elementary.expm1(v)
        elif which == 2:
            out[i] = elementary.expm1_nonpositive(v)
        elif which == 3:
            out[i] = elementary.log(v)
        elif which == 4:
            out[i] = elementary.tanh(v)
        else:
            out[i] = elementary.sigmoid_of_negative(v)


def _apply(name: str, x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = elementary.<name>(x[i]), jitted (scalar calls, as the kernels make them)."""
    _apply_numbered(_FUNCTIONS.index(name), x, out)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(want)


def test_exp_is_within_one_ulp_of_numpy_over_the_float64_range():
    """1 ulp: the reduction is exact and the degree-13 Taylor error is < 5e-18 relative, so
    only Horner's rounding remains (module docstring); the subnormal range included."""
    rng = np.random.default_rng(0)
    x = np.concatenate((rng.uniform(-745.0, 709.7, 400_000), rng.uniform(-1.0, 1.0, 100_000),
                        np.arange(-745, 710, dtype=np.float64)))
    got = np.empty_like(x)
    _apply("exp", x, got)
    assert _ulps(got, np.exp(x)).max() <= 1.0


def test_expm1_and_tanh_keep_their_relative_accuracy_from_tiny_to_huge_arguments():
    """expm1: at most 2 ulps from np.expm1 (one rounding in the polynomial, one in the
    final scale-and-add); tanh: at most 4 ulps from np.tanh (expm1's 2, an addition and a
    division), including |z| down to 1e-300, where 1 - e^(-2|z|) would lose every digit."""
    rng = np.random.default_rng(1)
    x = np.concatenate((rng.uniform(-745.0, 709.7, 200_000), rng.uniform(-1.0, 1.0, 100_000),
                        np.sign(rng.uniform(-1, 1, 50_000)) * 10.0 ** rng.uniform(-300, 0, 50_000)))
    got = np.empty_like(x)
    _apply("expm1", x, got)
    assert _ulps(got, np.expm1(x)).max() <= 2.0
    z = np.concatenate((x[x > -40.0] / 2.0, [0.0, -0.0, 19.1, -19.1, 400.0]))
    got = np.empty_like(z)
    _apply("tanh", z, got)
    assert _ulps(got, np.tanh(z)).max() <= 4.0
    special = np.array([np.inf, -np.inf, np.nan, -0.0])
    got = np.empty(4)
    _apply("tanh", special, got)
    assert got[0] == 1.0 and got[1] == -1.0 and np.isnan(got[2])
    _apply("expm1", special, got)
    assert got[0] == np.inf and got[1] == -1.0 and np.isnan(got[2])


@pytest.mark.parametrize("x,expected", [(np.inf, np.inf), (-np.inf, 0.0), (710.0, np.inf),
                                        (-746.0, 0.0), (0.0, 1.0), (-0.0, 1.0),
                                        (709.78, np.exp(709.78)), (-745.13, np.exp(-745.13))])
def test_exp_limits(x, expected):
    got = np.empty(1)
    _apply("exp", np.array([x]), got)
    assert got[0] == expected


def test_exp_propagates_nan():
    got = np.empty(1)
    _apply("exp", np.array([np.nan]), got)
    assert np.isnan(got[0])


def test_sigmoid_of_negative_matches_its_definition_without_overflow():
    u = np.concatenate((np.linspace(-40.0, 40.0, 8001), [-1e300, 1e300, 0.0]))
    got = np.empty_like(u)
    _apply("sigmoid_of_negative", u, got)
    with np.errstate(over="ignore"):
        want = 1.0 / (1.0 + np.exp(u))
    # both sides round an exp (<= 1 ulp), an addition and a division: a few ulps apart
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0.0)


@pytest.mark.parametrize("shape", [(3, 5), (9, 103), (1030, 7)])
def test_products_agree_with_numpy(shape):
    """theory.linalg's products give A x (four rows at a time, then the rest), A^T r and
    both through transposed blocks, to rounding."""
    from theory import linalg
    from theory.linalg import add_row_combination, row_products, transposed_blocks

    rng = np.random.default_rng(1)
    A, x, r = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[0])
    forward, backward = np.full(shape[0], np.nan), np.zeros(shape[1])
    row_products(A, x, 0, 2, forward)  # a part, then the rest
    row_products(A, x, 2, shape[0], forward)
    add_row_combination(A, r, 0, shape[0], backward)
    # sums of up to ~1000 products of N(0, 1) entries: a few hundred ulps of the result
    np.testing.assert_allclose(forward, A @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backward, A.T @ r, rtol=1e-12, atol=1e-12)
    blocks = transposed_blocks(A, rows=256)
    rows = blocks.shape[2]
    multiple = linalg.BLOCK_ROW_MULTIPLE
    assert blocks.shape == (-(-shape[0] // rows), shape[1], rows)
    assert rows == min(256, -(-shape[0] // multiple) * multiple)
    padded_r = np.concatenate((r, np.zeros(blocks.shape[0] * rows - shape[0])))
    via_blocks = np.zeros(shape[1])
    for k, block in enumerate(blocks):
        part = np.empty(shape[1])
        row_products(block, padded_r[k * rows:(k + 1) * rows], 0, shape[1], part)
        via_blocks += part
        margins = np.zeros(rows)
        add_row_combination(block, x, 0, shape[1], margins)
        stop = min(rows, shape[0] - k * rows)
        np.testing.assert_allclose(margins[:stop], (A @ x)[k * rows:k * rows + stop],
                                   rtol=1e-12, atol=1e-12)
        assert np.all(margins[stop:] == 0.0)
    np.testing.assert_allclose(via_blocks, A.T @ r, rtol=1e-12, atol=1e-12)


def test_powers_and_integer_power():
    from theory.linalg import integer_power, powers

    y = np.array([1.7, -0.3, 2.0, 0.9])
    for n in range(6):
        assert integer_power(1.7, n) == pytest.approx(1.7 ** n, rel=4e-16)
        out = np.empty(2)
        powers(y, 2, n, out)
        np.testing.assert_allclose(out, y[2:] ** n, rtol=1e-15)


@pytest.mark.parametrize("shape", [(2, 3, 4), (4, 4, 4), (8, 8, 8), (8, 9, 8), (9, 3, 2),
                                   (12, 16, 7)])
def test_matmul_agrees_with_numpy_for_every_layout(shape):
    """theory.linalg.matmul: loops for tiny products, BLAS otherwise (the shapes cover both
    sides of TINY_SIDE), with C-contiguous and transposed operands."""
    from numba import njit

    from theory.linalg import TINY_SIDE, matmul

    m, k, n = shape
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    At, Bt = np.ascontiguousarray(A.T), np.ascontiguousarray(B.T)

    @njit
    def products(A, B, At, Bt, out):
        matmul(A, B, out[0])
        matmul(At.T, B, out[1])
        matmul(A, Bt.T, out[2])
        matmul(At.T, Bt.T, out[3])

    out = np.full((4, m, n), np.nan)
    products(A, B, At, Bt, out)
    tiny = max(shape) <= TINY_SIDE
    assert tiny == (shape in [(2, 3, 4), (4, 4, 4), (8, 8, 8)])
    for result in out:  # sums of <= 16 products of N(0, 1): within 1e-13
        np.testing.assert_allclose(result, A @ B, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", [(2, 3, 4), (4, 4, 4), (8, 8, 8), (8, 9, 8), (9, 3, 2),
                                   (12, 16, 7)])
def test_products_with_a_layer_of_a_flat_state_agree_with_numpy(shape):
    """theory.linalg.weight_times, weight_transpose_times and times_transpose_into read or
    write a matrix stored row-major inside a flat vector, at an offset, on both sides of
    TINY_SIDE; the entries around the layer stay untouched."""
    from numba import njit

    from theory.linalg import times_transpose_into, weight_times, weight_transpose_times

    m, k, n = shape
    rng = np.random.default_rng(3)
    offset = 5
    W = rng.standard_normal((m, k))
    state = np.concatenate((rng.standard_normal(offset), W.ravel(), rng.standard_normal(3)))
    B, C = rng.standard_normal((k, n)), rng.standard_normal((m, n))
    G, A = rng.standard_normal((m, n)), rng.standard_normal((k, n))

    @njit
    def products(state, B, C, G, A, WB, WtC, flat):
        weight_times(state, offset, B, WB)
        weight_transpose_times(state, offset, C, WtC)
        times_transpose_into(G, A, flat, offset)

    WB, WtC = np.full((m, n), np.nan), np.full((k, n), np.nan)
    flat = np.full(state.size, np.nan)
    products(state, B, C, G, A, WB, WtC, flat)
    # sums of <= 16 products of N(0, 1): within 1e-13
    np.testing.assert_allclose(WB, W @ B, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(WtC, W.T @ C, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(flat[offset:offset + m * k].reshape(m, k), G @ A.T,
                               rtol=1e-13, atol=1e-13)
    assert np.isnan(flat[:offset]).all() and np.isnan(flat[offset + m * k:]).all()


@pytest.mark.parametrize("shape", [(2, 3, 4), (4, 4, 4), (8, 8, 8), (8, 9, 8), (9, 3, 2),
                                   (12, 16, 7)])
def test_products_on_row_blocks_of_a_scratch_matrix_agree_with_numpy(shape):
    """theory.linalg's block products (tiny loops, and BLAS on every shape) read and write
    blocks of rows of larger matrices, and layers of a flat state, at offsets; the rows and
    entries around them stay untouched, and the tiny loops sum in the order of matmul
    (equal to the last bit)."""
    from numba import njit

    from theory import linalg

    m, k, n = shape
    rng = np.random.default_rng(4)
    offset, b_row, out_row = 5, 2, 3
    W = rng.standard_normal((m, k))
    state = np.concatenate((rng.standard_normal(offset), W.ravel(), rng.standard_normal(3)))
    Wt_state = np.concatenate((rng.standard_normal(offset), W.T.ravel(), rng.standard_normal(3)))
    S = rng.standard_normal((b_row + k + m + 4, n))  # B = S[b_row:b_row + k], G = S[-m:]
    B, G = S[b_row:b_row + k], S[-m:]
    A = rng.standard_normal((n, n))
    tiny = linalg.is_tiny(m, k, n)

    @njit
    def products(state, Wt_state, S, A, outs, flat, use_tiny):
        if use_tiny:
            linalg.tiny_block_weight_times(state, offset, S, b_row, k, outs[0], out_row, m)
            linalg.tiny_block_weight_transpose_times(Wt_state, offset, S, b_row, k, outs[1],
                                                     out_row, m)
            linalg.tiny_block_matmul(S, S.shape[0] - m, m, A, outs[2], out_row)
            linalg.tiny_block_times_transpose_into(S, S.shape[0] - m, m, S, b_row, k, flat,
                                                   offset)
        else:
            linalg.blas_block_weight_times(state, offset, S, b_row, k, outs[0], out_row, m)
            linalg.blas_block_weight_transpose_times(Wt_state, offset, S, b_row, k, outs[1],
                                                     out_row, m)
            linalg.blas_block_matmul(S, S.shape[0] - m, m, A, outs[2], out_row)
            linalg.blas_block_times_transpose_into(S, S.shape[0] - m, m, S, b_row, k, flat,
                                                   offset)

    @njit
    def reference(G, A, out):
        linalg.matmul(G, A, out)

    for use_tiny in ([True, False] if tiny else [False]):
        outs = np.full((3, out_row + m + 2, n), np.nan)
        flat = np.full(offset + m * k + 3, np.nan)
        products(state, Wt_state, S, A, outs, flat, use_tiny)
        block = slice(out_row, out_row + m)
        # sums of <= 16 products of N(0, 1): within 1e-13
        for result, expected in zip(outs, [W @ B, W @ B, G @ A]):
            np.testing.assert_allclose(result[block], expected, rtol=1e-13, atol=1e-13)
            assert np.isnan(result[:out_row]).all() and np.isnan(result[out_row + m:]).all()
        np.testing.assert_allclose(flat[offset:offset + m * k].reshape(m, k), G @ B.T,
                                   rtol=1e-13, atol=1e-13)
        assert np.isnan(flat[:offset]).all() and np.isnan(flat[offset + m * k:]).all()
        if use_tiny:
            looped = np.empty((m, n))
            reference(np.ascontiguousarray(G), A, looped)
            assert np.array_equal(outs[2][block], looped)


def test_expm1_nonpositive_equals_expm1_bit_for_bit_on_its_range():
    """The shortened expm1 of tanh: the same bits as expm1 for every x <= 0, across the
    clamp at -40 (where both give -1), the subnormal range and -inf."""
    rng = np.random.default_rng(5)
    x = -np.abs(np.concatenate([rng.standard_normal(200_000) * scale
                                for scale in (1e-300, 1e-8, 0.1, 1.0, 10.0, 30.0, 1e3, 1e300)]))
    x = np.concatenate([x, -np.linspace(0.0, 60.0, 600_001), [-0.0, -5e-324, -40.0,
                        np.nextafter(-40.0, 0.0), np.nextafter(-40.0, -1.0), -np.inf]])
    got, want = np.empty_like(x), np.empty_like(x)
    _apply("expm1_nonpositive", x, got)
    _apply("expm1", x, want)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_log_is_within_one_ulp_of_numpy_over_the_whole_range():
    """log against np.log: at most 1 ulp over the positive floats (subnormals, around 1,
    the largest), and the special values as NumPy's."""
    rng = np.random.default_rng(6)
    x = np.concatenate([np.exp(rng.uniform(-745.0, 709.7, 400_000)),
                        rng.uniform(0.5, 2.0, 200_000), rng.uniform(1.0, 10.0, 100_000),
                        [5e-324, 1e-310, 2.2250738585072014e-308, 1.0, np.nextafter(1.0, 2.0),
                         np.nextafter(1.0, 0.0), np.sqrt(2.0), 1.7976931348623157e308]])
    got = np.empty_like(x)
    _apply("log", x, got)
    want = np.log(x)
    assert (np.abs(got - want) / np.spacing(np.abs(want)).clip(5e-324)).max() <= 1.0
    special = np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan])
    got = np.empty_like(special)
    _apply("log", special, got)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.array_equal(got, np.log(special), equal_nan=True)
