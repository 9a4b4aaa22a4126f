"""The hyperspherical energy of neurons, for the ``orthogonal`` setting.

Neurons are the **columns** of a d x N matrix. :func:`hyperspherical_energy` is
E_s(V) = sum over pairs i < j of f_s(|v_i^ - v_j^|), v^ = v/|v|, f_s(z) = z^-s (s > 0),
log(1/z) (s = 0), with the angular and half-space variants of the MHE code
(docs/orthogonal.md §6a.2); its jitted kernel :func:`pair_energy` (on numba's threads
from :data:`PARALLEL_NEURONS` neurons on, :func:`pair_energy_parallel`, the same result)
and NumPy twin :func:`pair_energy_numpy`.
OPT (:mod:`theory.orthogonal`) keeps this energy fixed: an orthogonal R preserves inner
products (docs/orthogonal.md §6b.1).
"""
from __future__ import annotations

import numba
import numpy as np

from theory import validation
from theory.numba_options import jit, jit_parallel, jit_sum

DISTANCES = ("euclidean", "angular")
"""Distances of :func:`hyperspherical_energy`: |u - v|, or the angle between u and v over pi."""


def _unit_rows(name: str, V) -> np.ndarray:
    """The normalized neurons (columns of ``V``) as the rows of an N x d array."""
    V = validation.finite_matrix(name, V)
    norms = np.linalg.norm(V, axis=0)
    if np.any(norms == 0.0):
        raise ValueError(f"{name} has a zero column (neuron {int(np.argmin(norms))}): it has "
                         "no direction on the sphere")
    return np.ascontiguousarray((V / norms).T)


def _energy_options(s: float, distance: str) -> tuple[float, bool]:
    s = validation.nonnegative_scalar("s", s)
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    return s, distance == "angular"


@jit
def _potential(minus, plus, s, angular):
    """f_s of one pair from |u - v|^2 (``minus``) and |u + v|^2 (``plus``): of the
    distance, or of the angle 2 atan2(|u - v|, |u + v|) over pi (accurate near 0 and pi,
    where arccos of the inner product is not)."""
    if angular:
        z = 2.0 * np.arctan2(np.sqrt(minus), np.sqrt(plus)) / np.pi
        if s == 0.0:
            return -np.log(z)
        return z ** -s
    if s == 0.0:
        return -0.5 * np.log(minus)
    if s == 1.0:
        return 1.0 / np.sqrt(minus)
    if s == 2.0:
        return 1.0 / minus
    return minus ** (-0.5 * s)


@jit_sum
def _squared_distances(U, i, minus, plus, both):
    """|u_i - u_j|^2 into ``minus[j]`` and (if ``both``) |u_i + u_j|^2 into ``plus[j]`` for
    j > i: sums of products, vectorized by reassociation."""
    n, d = U.shape
    for j in range(i + 1, n):
        difference = 0.0
        for k in range(d):
            x = U[i, k] - U[j, k]
            difference += x * x
        minus[j] = difference
        if both:
            total = 0.0
            for k in range(d):
                x = U[i, k] + U[j, k]
                total += x * x
            plus[j] = total


ENERGY_PARTS = 16
"""The rows of the pair sum are split into this many interleaved parts (row r in part
r mod ENERGY_PARTS, which balances the triangle), each summed alone, then in part order:
the same result serially and on any number of threads."""

PARALLEL_NEURONS = 256
"""From this many neurons on, the parts run on numba's threads (below, waking the threads
costs more than the pairs)."""


@jit
def _energy_part(U, s, angular, half_space, part):
    """The pair sum of :func:`pair_energy` over the rows of one part."""
    n = U.shape[0]
    both = angular or half_space
    minus = np.empty(n)
    plus = np.empty(n)
    total = 0.0
    for i in range(part, n, ENERGY_PARTS):
        _squared_distances(U, i, minus, plus, both)
        for j in range(i + 1, n):
            if half_space:
                total += 2.0 * (_potential(minus[j], plus[j], s, angular)
                                + _potential(plus[j], minus[j], s, angular))
            else:
                total += _potential(minus[j], plus[j], s, angular)
    return total


@jit
def _combine_parts(partial, n, s, angular, half_space):
    energy = 0.0
    for part in range(ENERGY_PARTS):
        energy += partial[part]
    if half_space:
        energy += n * _potential(4.0, 0.0, s, angular)
    return energy


@jit
def pair_energy(U, s, angular, half_space):
    """Sum of f_s over the pairs i < j of the rows of ``U`` (unit vectors); with
    ``half_space`` over the pairs of the 2N points {+u_i, -u_i}: each pair i < j twice at
    |u_i - u_j| and twice at |u_i + u_j|, and the N antipodal pairs at distance 2."""
    partial = np.empty(ENERGY_PARTS)
    for part in range(ENERGY_PARTS):
        partial[part] = _energy_part(U, s, angular, half_space, part)
    return _combine_parts(partial, U.shape[0], s, angular, half_space)


@jit_parallel
def pair_energy_parallel(U, s, angular, half_space):
    """:func:`pair_energy` with the parts on numba's threads (the same result)."""
    partial = np.empty(ENERGY_PARTS)
    for part in numba.prange(ENERGY_PARTS):
        partial[part] = _energy_part(U, s, angular, half_space, part)
    return _combine_parts(partial, U.shape[0], s, angular, half_space)


def _potential_numpy(minus: np.ndarray, plus: np.ndarray, s: float, angular: bool) -> np.ndarray:
    with np.errstate(divide="ignore"):
        if angular:
            z = 2.0 * np.arctan2(np.sqrt(minus), np.sqrt(plus)) / np.pi
            return -np.log(z) if s == 0.0 else z ** -s
        return -0.5 * np.log(minus) if s == 0.0 else minus ** (-0.5 * s)


def pair_energy_numpy(U: np.ndarray, s: float, angular: bool, half_space: bool) -> float:
    """NumPy twin of :func:`pair_energy` (one row of pairs at a time)."""
    n = U.shape[0]
    total = 0.0
    for i in range(n - 1):
        minus = np.sum((U[i + 1:] - U[i]) ** 2, axis=1)
        plus = np.sum((U[i + 1:] + U[i]) ** 2, axis=1)
        if half_space:
            total += 2.0 * float(np.sum(_potential_numpy(minus, plus, s, angular)
                                        + _potential_numpy(plus, minus, s, angular)))
        else:
            total += float(np.sum(_potential_numpy(minus, plus, s, angular)))
    if half_space:
        total += n * float(_potential_numpy(np.array(4.0), np.array(0.0), s, angular))
    return total


def hyperspherical_energy(V, s: float = 1.0, *, distance: str = "euclidean",
                          half_space: bool = False, backend: str = "numba") -> float:
    """Hyperspherical energy of the neurons, the columns of ``V`` (docs/orthogonal.md §6a.2).

        E_s(V) = sum_{i < j} f_s(|v^_i - v^_j|),  v^ = v/|v|,
        f_s(z) = z^-s (s > 0),  f_0(z) = log(1/z),

    over **unordered** pairs: half the ordered-pair sum sum_{i != j} of Liu et al.
    (MHE, NeurIPS 2018, and OPT), whose code also averages over the N(N-1)/2 pairs and uses
    -log(z^2) = 2 f_0(z) for s = 0. Coincident neurons give inf.

    Parameters
    ----------
    V : array_like, shape (d, N)
        Neurons as columns, none zero.
    s : float
        The power, s >= 0.
    distance : {'euclidean', 'angular'}
        'angular' replaces |v^_i - v^_j| by the angle theta_ij/pi (the MHE code's powers
        a0, a1, a2).
    half_space : bool
        The half-space variant: the energy of the 2N points {+v^_i, -v^_i}.
    backend : {'numba', 'numpy'}
    """
    U = _unit_rows("V", V)
    s, angular = _energy_options(s, distance)
    if backend == "numba":
        kernel = pair_energy_parallel if U.shape[0] >= PARALLEL_NEURONS else pair_energy
        return float(kernel(U, s, angular, bool(half_space)))
    if backend == "numpy":
        return pair_energy_numpy(U, s, angular, bool(half_space))
    raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
