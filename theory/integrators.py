"""Explicit Runge-Kutta integrators shared by every setting.

A method is a Butcher tableau (lower-triangular ``a``, weights ``b``) with its
declared order of convergence; ``tests/test_integrators.py`` fits that order from
a step-size study against an exact solution (a matrix exponential).

The time loop itself lives in each setting's module, because numba cannot cache a
kernel that receives another jitted function as an argument (numba issues #2956,
#6251). The loop calls the setting's vector field directly and uses the stage
helpers below, so the stepping arithmetic exists once. Discrete algorithms
(gradient descent, Minnorm with Jacobi updates) are the forward Euler method with
unit step and the learning rates inside the vector field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from theory._numba import jit
from theory.results import CODE_BUDGET, CODE_CONVERGED, CODE_DIVERGED, CODE_MAX_STEPS

DIVERGENCE_BOUND = 1e100
"""A state with any |component| above this is reported as diverged."""

MAX_STEPS = 1e12
"""Largest number of steps a plan may hold (about a day of the fastest kernel)."""


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method: y' = y + h sum_i b_i k_i, k_i = F(y + h sum_j a_ij k_j)."""

    name: str
    order: int
    a: np.ndarray
    b: np.ndarray

    @property
    def stages(self) -> int:
        return self.b.size


def _tableau(name: str, order: int, a: list[list[float]], b: list[float]) -> Tableau:
    return Tableau(name, order, np.ascontiguousarray(a, dtype=np.float64),
                   np.ascontiguousarray(b, dtype=np.float64))


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
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
"""Dormand-Prince 5(4) (Hairer, Norsett, Wanner, Solving ODEs I, Table II.5.2), for adaptive
steps: :data:`DOPRI5_ERROR` holds b5 - b4, the weights of the embedded error estimate."""
TABLEAUX: dict[str, Tableau] = {t.name: t for t in (EULER, HEUN, RK4, DOPRI5)}
"""Methods by name; Dormand-Prince is also usable with fixed steps (its 5th-order weights)."""
DOPRI5_ERROR = np.ascontiguousarray(
    [35 / 384 - 5179 / 57600, 0.0, 500 / 1113 - 7571 / 16695, 125 / 192 - 393 / 640,
     -2187 / 6784 + 92097 / 339200, 11 / 84 - 187 / 2100, -1 / 40], dtype=np.float64)


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
    """out = y + h * sum_{j<stage} a[stage, j] k[j]  (the input of stage ``stage``)."""
    for i in range(y.size):
        acc = 0.0
        for j in range(stage):
            acc += a[stage, j] * k[j, i]
        out[i] = y[i] + h * acc


@jit
def rk_update(y, k, b, h):
    """y += h * sum_i b[i] k[i], in place."""
    for i in range(y.size):
        acc = 0.0
        for j in range(b.size):
            acc += b[j] * k[j, i]
        y[i] += h * acc


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


def integrate_numpy(field: Callable[[np.ndarray], np.ndarray], y0: np.ndarray,
                    tableau: Tableau, plan: StepPlan, tol: float,
                    project: Callable[[np.ndarray], np.ndarray] | None = None
                    ) -> tuple[int, int, int, np.ndarray]:
    """Plain NumPy twin of the settings' jitted time loops.

    ``project``, if given, maps the state after every step back onto the feasible set
    (e.g. multipliers clipped at 0). Returns ``(status_code, steps_taken, valid_samples,
    out)`` with the same meaning as the kernels: ``out[0]`` is ``y0``, ``out[i + 1]`` the
    state after interval ``i``.
    """
    n = plan.counts.size
    out = np.empty((n + 1, y0.size))
    out[0] = y0
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as divergence
        return _numpy_loop(field, y0, tableau, plan, tol, project, out)


def _numpy_loop(field, y0, tableau, plan, tol, project, out):
    """The time loop of :func:`integrate_numpy`, writing samples into ``out``."""
    n = plan.counts.size
    y = y0.copy()
    k = np.zeros((tableau.stages, y0.size))
    step = 0
    for interval in range(n):
        h = plan.sizes[interval]
        for _ in range(plan.counts[interval]):
            for s in range(tableau.stages):
                k[s] = field(y + h * (tableau.a[s, :s] @ k[:s]))
            if tol > 0.0 and np.max(np.abs(k[0])) <= tol:
                out[interval + 1:] = y
                return CODE_CONVERGED, step, n + 1, out
            y = y + h * (tableau.b @ k)
            if project is not None:
                y = project(y)
            step += 1
            if not np.all(np.abs(y) <= DIVERGENCE_BOUND):
                return CODE_DIVERGED, step, interval + 1, out
        out[interval + 1] = y
    return CODE_MAX_STEPS, step, n + 1, out



def integrate_adaptive_numpy(field: Callable[[np.ndarray], np.ndarray], y0: np.ndarray,
                             times: np.ndarray, h0: float, atol: float, rtol: float,
                             max_steps: int, tol: float = 0.0,
                             project: Callable[[np.ndarray], np.ndarray] | None = None
                             ) -> tuple[int, int, int, int, np.ndarray]:
    """NumPy twin of the adaptive (Dormand-Prince 5(4)) time loops.

    Steps land exactly on every sample time; ``tol`` > 0 stops (converged) once the field's
    largest component is <= tol. Returns ``(status_code, accepted, rejected,
    valid_samples, out)``; status max_steps means the step budget ran out.
    """
    out = np.empty((times.size + 1, y0.size))
    out[0] = y0
    y, t, h = y0.copy(), 0.0, h0
    k = np.zeros((DOPRI5.stages, y0.size))
    accepted = rejected = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for i, target in enumerate(times):
            while t < target:
                if accepted + rejected >= max_steps:
                    return CODE_BUDGET, accepted, rejected, i + 1, out
                h = min(h, target - t)
                for s in range(DOPRI5.stages):
                    k[s] = field(y + h * (DOPRI5.a[s, :s] @ k[:s]))
                if tol > 0.0 and np.max(np.abs(k[0])) <= tol:
                    out[i + 1:] = y
                    return CODE_CONVERGED, accepted, rejected, times.size + 1, out
                y_new = y + h * (DOPRI5.b @ k)
                scale = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
                ratio = np.max(np.abs(h * (DOPRI5_ERROR @ k)) / scale)
                if ratio <= 1.0:
                    y = project(y_new) if project is not None else y_new
                    t = target if target - t <= h else t + h
                    accepted += 1
                    if not np.all(np.abs(y) <= DIVERGENCE_BOUND):
                        return CODE_DIVERGED, accepted, rejected, i + 1, out
                else:
                    rejected += 1
                h *= step_factor(ratio, DOPRI5.order)
            out[i + 1] = y
    return CODE_MAX_STEPS, accepted, rejected, times.size + 1, out
