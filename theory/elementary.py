"""Elementary functions the jitted kernels can vectorize.

numba calls the C library's ``exp`` one value at a time (LLVM cannot vectorize a call to
libm, and the SVML vector library needs an llvmlite that PyPI does not ship), so a loop of
exponentials costs ~10 ns per value where XLA's vectorized exp costs ~1 ns. :func:`exp`
below is straight-line float64 arithmetic that LLVM vectorizes inside such loops, with
fastmath still off:

    exp(x) = 2^k exp(r),  k = round(x / ln 2),  r = (x - k ln2_hi) - k ln2_lo,  |r| <= ln2 / 2,

where ln 2 = ln2_hi + ln2_lo is split so that k ln2_hi is exact for |k| <= 2^11 (Cody and
Waite's reduction), exp(r) is its Taylor polynomial of degree 13 (truncation
|r|^14 / 14! < 5e-18, below half an ulp), and 2^k is built from its IEEE-754 bits in two
halves, so that results in the subnormal range and overflow to inf come out as the libm
ones do. The polynomial (:func:`taylor_sum`) takes its terms of degree 0 to 4 by Horner's
rule, which sets the accuracy, and those of degree 5 to 13 (together below 2e-3 relative
to the sum, so that their rounding does not show) as independent pairs combined by powers
of r: the chain of dependent operations is 9 multiply-adds long instead of 13, and a
vectorized loop of exponentials is bound less by their latency.
``tests/test_elementary.py`` bounds the difference from
``np.exp`` in ulps over the whole float64 range and checks inf, 0 and nan.

:func:`expm1` (e^x - 1) uses the same reduction with the polynomial written without its
constant term, r (1 + r/2! + ... + r^13/14!), so that e^x - 1 keeps its relative accuracy
for small x (where 1 is cancelled exactly, k = 0); :func:`tanh` is built on it,

    tanh |z| = -m / (2 + m),  m = expm1(-2|z|),

accurate to a few ulps for every z (no cancellation: m is computed directly, and 2 + m
lies in [1, 2]), the sign restored afterwards.

:func:`log` is vectorizable in the same way (numba calls libm's ``log`` per value): x =
2^k m with m in [sqrt(2)/2, sqrt(2)] read from the IEEE-754 bits (subnormals scaled by
2^52 first), f = m - 1 (exact), and with s = f / (2 + f), so that 1 + f = (1 + s)/(1 - s),

    log(1 + f) = 2 atanh(s) = 2s + s R(s^2),  R(z) = sum_{j>=1} 2 z^j / (2j + 1),

the series to j = 10 (|s| <= 0.172, truncation below 2^-56 relative), and 2s = f - s f
rewritten as f - (f^2/2 - s (f^2/2 + R)) so that the rounding of the small terms stays
below that of f; k ln 2 is added in the two parts of the exp reduction. Within 1 ulp of
libm's log (``tests/test_elementary.py``).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from theory.numba_options import jit, jit_inline

_LN2_HI = 0.693147180369123816490  # 0x3FE62E42FEE00000: trailing bits zero
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_INV_LN2 = 1.44269504088896338700
_HIGH, _LOW = 710.0, -746.0
"""Beyond these exp overflows to inf or underflows to 0; inputs are clamped to them."""
_TAYLOR = tuple(1.0 / float(np.prod(np.arange(1, n + 1, dtype=np.float64)))
                for n in range(14))
"""1/n!, n = 0 to 13: the Taylor coefficients of e^r."""
_ATANH_SERIES = tuple(2.0 / (2 * k + 1) for k in range(1, 11))
"""2/(2k+1), k = 1 to 10: 2 atanh(s) = 2s + s R(s^2), R(z) = sum_k 2 z^k / (2k+1)."""
_SQRT2 = 1.4142135623730951
_SMALLEST_NORMAL = 2.2250738585072014e-308
_TWO_52 = 4503599627370496.0
_TAYLOR_M1 = tuple(1.0 / float(np.prod(np.arange(1, n + 2, dtype=np.float64)))
                   for n in range(14))
"""1/(n+1)!, n = 0 to 13: (e^r - 1)/r = sum r^n / (n+1)!."""


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_from_float(typingctx, value):
    """The int64 holding the IEEE-754 bit pattern of the float64 ``value``."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@jit_inline
def taylor_sum(r, c):
    """sum_{n=0}^{13} c[n] r^n for |r| <= ln2 / 2 and fast-decreasing c (module docstring):
    the terms of degree 5 to 13 in independent pairs, then degree 4 down to 0 by Horner's
    rule."""
    r2 = r * r
    r4 = r2 * r2
    tail = (((c[5] + c[6] * r) + r2 * (c[7] + c[8] * r))
            + r4 * (((c[9] + c[10] * r) + r2 * (c[11] + c[12] * r)) + r4 * c[13]))
    return c[0] + r * (c[1] + r * (c[2] + r * (c[3] + r * (c[4] + r * tail))))


@jit
def _power_of_two(k):
    """2^k for -1022 <= k <= 1023, from its exponent bits."""
    return _float_from_bits(np.int64(k + 1023) << 52)


@jit
def exp(x):
    """e^x (module docstring); inf above ~709.78, 0 below ~-745.13, nan for nan."""
    clamped = min(max(x, _LOW), _HIGH)
    k = np.floor(clamped * _INV_LN2 + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    p = taylor_sum(r, _TAYLOR)
    n = np.int64(k)
    half = n >> 1
    value = p * _power_of_two(half) * _power_of_two(n - half)
    return value if x == x else x


@jit
def expm1(x):
    """e^x - 1 (module docstring); inf above ~709.78, -1 below ~-37.4 (to rounding), nan
    for nan."""
    clamped = min(max(x, _LOW), _HIGH)
    k = np.floor(clamped * _INV_LN2 + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    q = taylor_sum(r, _TAYLOR_M1) * r  # e^r - 1
    n = np.int64(k)
    half = n >> 1
    low, high = _power_of_two(half), _power_of_two(n - half)
    scale = low * high  # 2^k, inf for k = 1024, where the second form is taken
    small = scale * q + (scale - 1.0)  # 2^k (e^r - 1) + (2^k - 1), exact for k = 0
    large = (q + 1.0) * low * high - 1.0  # e^x near overflow: the 1 is below rounding
    value = small if n < 1000 else large
    return value if x == x else x


_TANH_LOW = -40.0
"""expm1 below this is -1 to rounding (e^-40 < 2^-57, below half an ulp of 1); :func:`tanh`
clamps its argument -2|z| here, so that 2^k stays normal (k >= -58) and one power of two
builds it."""


@jit_inline
def expm1_nonpositive(x):
    """:func:`expm1` for x <= 0 (not nan), the same arithmetic without the parts that
    only larger or non-finite arguments need: x clamped at :data:`_TANH_LOW` (the result
    is -1 below it in both, to rounding, and exactly so), 2^k from one power of two (the
    product of :func:`expm1`'s two halves is exact for normal 2^k), and no overflow
    branch (k <= 0). Equal to :func:`expm1` bit for bit on that range."""
    clamped = max(x, _TANH_LOW)
    k = np.floor(clamped * _INV_LN2 + 0.5)
    r = (clamped - k * _LN2_HI) - k * _LN2_LO
    q = taylor_sum(r, _TAYLOR_M1) * r  # e^r - 1
    scale = _power_of_two(np.int64(k))
    return scale * q + (scale - 1.0)


@jit_inline
def tanh(z):
    """tanh z = sign(z) (-m / (2 + m)), m = expm1(-2|z|) (module docstring; m by
    :func:`expm1_nonpositive`, whose argument is never positive); +-1 for +-inf, nan for
    nan. Inlined by numba into its caller: as a call of its own LLVM does not inline it
    into a loop, and the loop stays scalar."""
    m = expm1_nonpositive(-2.0 * abs(z))
    t = -m / (2.0 + m)
    return (t if z >= 0.0 else -t) if z == z else z


@jit_inline
def log(x):
    """The natural logarithm (module docstring); -inf for 0, nan for x < 0 and nan, inf
    for inf."""
    subnormal = x < _SMALLEST_NORMAL
    scaled = x * _TWO_52 if subnormal else x
    bits = _bits_from_float(scaled)
    e = ((bits >> 52) & 0x7FF) - (1023 + 52 if subnormal else 1023)
    m = _float_from_bits((bits & 0xFFFFFFFFFFFFF) | (np.int64(1023) << 52))  # [1, 2)
    large = m > _SQRT2
    m = 0.5 * m if large else m  # [sqrt(2)/2, sqrt(2)]
    k = np.float64(e + 1 if large else e)
    f = m - 1.0  # exact
    s = f / (2.0 + f)
    z = s * s
    c = _ATANH_SERIES
    r = z * (c[0] + z * (c[1] + z * (c[2] + z * (c[3] + z * (c[4] + z * (
        c[5] + z * (c[6] + z * (c[7] + z * (c[8] + z * c[9])))))))))
    half_square = 0.5 * f * f
    value = k * _LN2_HI - ((half_square - (s * (half_square + r) + k * _LN2_LO)) - f)
    if x > 0.0 and x < np.inf:
        return value
    if x == 0.0:
        return -np.inf
    return x if x == np.inf else np.nan


@jit
def sigmoid_of_negative(u):
    """sigmoid(-u) = 1 / (1 + e^u) without overflow for any u, branch-free (a select):
    e^-|u| / (1 + e^-|u|) for u >= 0, 1 / (1 + e^-|u|) for u < 0."""
    e = exp(-abs(u))
    return (e if u >= 0.0 else 1.0) / (1.0 + e)
