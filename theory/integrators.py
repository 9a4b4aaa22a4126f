"""Explicit Runge-Kutta methods and step control shared by every setting.

A method is a Butcher tableau (lower-triangular ``a``, weights ``b``) with its
declared order of convergence; ``tests/test_integrators.py`` fits that order from
a step-size study against an exact solution (a matrix exponential). Step control is
separate from the method: fixed steps (a :class:`StepPlan` landing on the sample
times) or adaptive steps (embedded error estimate, :data:`DEFAULT_RTOL` and
:data:`DEFAULT_ATOL`), for methods that carry an error estimate.

The time loops that use these pieces are in :mod:`theory.loops`; the driver that
every solver calls is :mod:`theory.solve`. Discrete algorithms (gradient descent,
Minnorm with Jacobi updates) are the forward Euler method with unit step and the
learning rates inside the vector field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from theory.numba_options import jit

DIVERGENCE_BOUND = 1e100
"""A state with any |component| above this is reported as diverged."""

MAX_STEPS = 1e12
"""Largest number of steps a plan may hold (about a day of the fastest kernel)."""

DEFAULT_MAX_STEPS = 100_000_000
"""Default step budget of every solver (attempted steps); a run that needs more ends with
status step_budget and the samples it reached."""

DEFAULT_RTOL = 1e-12
DEFAULT_ATOL = 1e-15
"""Default local error tolerances of adaptive steps: the error estimate of every accepted
step is <= atol + rtol max(|y|, |y_new|) componentwise. Tight on purpose: the states of
diagonal networks cancel numbers of size alpha^L, and an explicit method at loose
tolerances spends its steps near the stability limit (theory.diagonal_linear)."""

DEFAULT_FIRST_STEP = 1e-3
"""Default first trial step of adaptive runs (capped at the first sample time's horizon);
the controller corrects it within a few steps."""

CHECK_EVERY = 256
"""Steps between divergence checks of fixed-step loops; a failed check replays from the
last good state step by step, so the reported step is exact."""


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method: y' = y + h sum_i b_i k_i, k_i = F(y + h sum_j a_ij k_j).

    ``b_error`` (b - b_embedded) weights the embedded error estimate of methods that can
    adapt their steps; it is empty for the others.
    """

    name: str
    order: int
    a: np.ndarray
    b: np.ndarray
    b_error: np.ndarray

    @property
    def stages(self) -> int:
        return self.b.size

    @property
    def adaptive(self) -> bool:
        """True if the method carries an embedded error estimate."""
        return self.b_error.size > 0


def _tableau(name: str, order: int, a: list[list[float]], b: list[float],
             b_error: list[float] = ()) -> Tableau:
    return Tableau(name, order, np.ascontiguousarray(a, dtype=np.float64),
                   np.ascontiguousarray(b, dtype=np.float64),
                   np.ascontiguousarray(b_error, dtype=np.float64))


EULER = _tableau("euler", 1, [[0.0]], [1.0])
HEUN = _tableau("heun", 2, [[0.0, 0.0], [1.0, 0.0]], [0.5, 0.5])
RK4 = _tableau("rk4", 4, [[0.0, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0],
                          [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
               [1 / 6, 1 / 3, 1 / 3, 1 / 6])

DOPRI5 = _tableau(
    "dopri5", 5,
    [[0, 0, 0, 0, 0, 0, 0],
     [1 / 5, 0, 0, 0, 0, 0, 0],
     [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
     [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
     [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
     [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
     [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    [35 / 384 - 5179 / 57600, 0.0, 500 / 1113 - 7571 / 16695, 125 / 192 - 393 / 640,
     -2187 / 6784 + 92097 / 339200, 11 / 84 - 187 / 2100, -1 / 40])
"""Dormand-Prince 5(4) (Hairer, Norsett, Wanner, Solving ODEs I, Table II.5.2): fifth-order
weights, and b5 - b4 for the embedded error estimate; usable with fixed or adaptive steps."""
TABLEAUX: dict[str, Tableau] = {t.name: t for t in (EULER, HEUN, RK4, DOPRI5)}
"""Methods by name."""


def get_tableau(method: str) -> Tableau:
    """The tableau named ``method`` ('euler', 'heun', 'rk4' or 'dopri5')."""
    try:
        return TABLEAUX[method]
    except KeyError:
        raise ValueError(f"method must be one of {sorted(TABLEAUX)}, got {method!r}") from None


@dataclass(frozen=True)
class StepPlan:
    """Steps between consecutive sample times: ``counts[i]`` steps of size ``sizes[i]``."""

    counts: np.ndarray
    sizes: np.ndarray

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def flow_plan(times: np.ndarray, dt: float) -> StepPlan:
    """Plan steps of size at most ``dt`` that land exactly on every sample time.

    ``times`` are validated (finite, non-negative, non-decreasing); the flow starts at t = 0.
    """
    edges = np.concatenate(([0.0], times))
    gaps = np.diff(edges)
    if edges[-1] / dt > MAX_STEPS:
        raise ValueError(f"dt = {dt:g} is too small for the horizon {edges[-1]:g}: "
                         f"more than {MAX_STEPS:.0e} steps")
    counts = np.ceil(gaps / dt - 1e-9).astype(np.int64)
    counts[gaps <= 0.0] = 0
    sizes = np.where(counts > 0, gaps / np.maximum(counts, 1), 0.0)
    return StepPlan(np.ascontiguousarray(counts), np.ascontiguousarray(sizes, dtype=np.float64))


def discrete_plan(steps: np.ndarray) -> StepPlan:
    """Plan unit Euler steps to sample after each requested step index (starting from 0)."""
    counts = np.diff(np.concatenate(([0], steps))).astype(np.int64)
    return StepPlan(np.ascontiguousarray(counts), np.ones(counts.size, dtype=np.float64))


@jit
def stage_state(y, k, a, stage, h, out):
    """out = y + h * sum_{j<stage} a[stage, j] k[j]  (the input of stage ``stage``).

    Stage-outer loops over contiguous rows, so that LLVM vectorizes them; each component
    is summed in the order j = 0, 1, ... all the same.
    """
    for i in range(y.size):
        out[i] = a[stage, 0] * k[0, i]
    for j in range(1, stage):
        for i in range(y.size):
            out[i] += a[stage, j] * k[j, i]
    for i in range(y.size):
        out[i] = y[i] + h * out[i]


@jit
def rk_update(y, k, b, h, acc):
    """y += h * sum_j b[j] k[j], in place, through the buffer ``acc`` (stage-outer loops,
    as in :func:`stage_state`)."""
    for i in range(y.size):
        acc[i] = b[0] * k[0, i]
    for j in range(1, b.size):
        for i in range(y.size):
            acc[i] += b[j] * k[j, i]
    for i in range(y.size):
        y[i] += h * acc[i]


@jit
def error_ratio(y, k, b_err, h, atol, rtol, y_new):
    """max_i |h sum_j b_err[j] k[j, i]| / (atol + rtol max(|y_i|, |y_new_i|)): the embedded
    error estimate in tolerance units (accept the step when <= 1)."""
    worst = 0.0
    for i in range(y.size):
        acc = 0.0
        for j in range(b_err.size):
            acc += b_err[j] * k[j, i]
        scale = atol + rtol * max(abs(y[i]), abs(y_new[i]))
        ratio = abs(h * acc) / scale
        if not ratio <= worst:
            worst = ratio
    return worst


@jit
def step_factor(ratio, order):
    """Standard controller: 0.9 ratio^(-1/(order)) clipped to [0.2, 5] (0.2 for nan)."""
    if not ratio >= 0.0 or ratio != ratio:
        return 0.2
    if ratio == 0.0:
        return 5.0
    return min(5.0, max(0.2, 0.9 * ratio ** (-1.0 / order)))


@jit
def max_abs(x):
    """max_i |x_i| (nan propagates as nan)."""
    m = 0.0
    for i in range(x.size):
        v = abs(x[i])
        if not v <= m:
            m = v
    return m


@jit
def out_of_bounds(y):
    """True if any component is non-finite or exceeds :data:`DIVERGENCE_BOUND`."""
    for i in range(y.size):
        if not abs(y[i]) <= DIVERGENCE_BOUND:
            return True
    return False
