"""The time loops, written once for every setting, and their NumPy twins.

A setting provides three jitted functions with fixed signatures:

- ``field(y, args, out, work)``: write the vector field F(y) into ``out``;
- ``project(y, args)``: map ``y`` back onto the feasible set after a step, in place
  (multipliers clipped at 0, a direction renormalized; a no-op for most algorithms);
- ``workspace(y, args)``: the tuple of scratch arrays ``field`` needs, allocated once
  before the loop,

and may provide a fourth:

- ``unit_step(y, args, k, work)``: y <- y + F(y) in place, one unit Euler step (the
  discrete algorithms), ``k`` a scratch vector of y's size. The default,
  :func:`add_field`, writes F into ``k`` and adds it; a setting whose step is a short
  chain of dependent operations (a tiny state) can compute each F_i from the old y and
  write y_i + F_i at once, which saves the round trip of every component through memory
  (a store and the load that waits for it).

where ``args`` is a tuple of the setting's arrays (data and parameters). The loops below
refer to these three names as globals; :func:`theory.solve.compile_loops` binds them to a
setting's functions and compiles the loops with numba, so the setting's field is inlined
(numba's ``inline="always"``: a call passes every array as seven words on the stack)
into its own copy of the loop and numba's cache keeps that copy (a loop that received the
field as an argument could not be cached, numba issues #2956, #6251).

Loops allocate nothing per step. Fixed-step loops check for divergence every
``check_every`` steps and at every sample; a failed check replays from the last good
state one step at a time, so the step reported is the first one out of bounds.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from theory.integrators import (DIVERGENCE_BOUND, Tableau, error_ratio, max_abs, out_of_bounds,
                                rk_update, stage_state, step_factor)
from theory.results import (CODE_COMPLETED, CODE_CONVERGED, CODE_DIVERGED, CODE_PAUSED,
                           CODE_STEP_BUDGET)

field = project = workspace = unit_step = None
"""Placeholders: :func:`theory.solve.compile_loops` binds them per setting."""

TINY_STATE = 8
"""The first entries of a one-stage update run in a loop whose trip count LLVM knows to
be tiny, so that it stays scalar; the rest is vectorized."""


def add_field(y, args, k, work):
    """The default ``unit_step``: y <- y + F(y), F written into ``k`` first. The first
    :data:`TINY_STATE` entries are added in a loop LLVM keeps scalar: a vector load of
    ``k`` right after the field's scalar stores stalls store-to-load forwarding."""
    field(y, args, k, work)
    for i in range(min(y.size, TINY_STATE)):
        y[i] += k[i]
    for i in range(TINY_STATE, y.size):
        y[i] += k[i]


def evaluate_stages(y, k, ys, a, h, args, work):
    """k[s] = F(y + h sum_{j<s} a[s, j] k[j]) for every stage s (stage 0 at y itself)."""
    field(y, args, k[0], work)
    for s in range(1, k.shape[0]):
        stage_state(y, k, a, s, h, ys)
        field(ys, args, k[s], work)


def fixed_step(y, args, a, b, counts, sizes, stop_tol, max_steps, check_every, call_steps,
               position, out):
    """Fixed steps: ``counts[i]`` steps of size ``sizes[i]`` to reach sample ``i + 1``.

    ``y`` is the state, advanced in place; ``out[i + 1]`` receives the state at sample
    ``i`` (the caller writes ``out[0]``). Steps run in chunks with no bookkeeping inside;
    the state is checked after every chunk (at most ``check_every`` steps), at every
    sample and before any early exit. A failed check rewinds to the last state that passed
    and goes on in chunks of one step, so a divergence is reported at its first step.

    The run is resumable: ``position`` = (steps taken, sample interval, steps into it) is
    read at entry and written at a pause. After about ``call_steps`` steps the loop pauses
    at a state that passed its check (:data:`CODE_PAUSED`), so that the caller regains
    control (Ctrl-C) and calls again; where the pauses fall does not change the result.
    Returns (status code, steps taken, field evaluations, valid rows of ``out``).
    """
    stages = b.size
    n = counts.size
    good = y.copy()
    k = np.empty((stages, y.size))
    ys = np.empty(y.size)
    acc = np.empty(y.size)
    k0 = k[0]  # a view made once: one made per step costs two atomic reference counts
    work = workspace(y, args)
    step, interval, offset = position[0], position[1], position[2]
    good_step, good_interval, good_offset = step, interval, offset
    call_end = step + call_steps
    while interval < n:
        stop = False
        if offset < counts[interval] and step < max_steps:
            h = sizes[interval]
            start = step
            chunk = min(counts[interval] - offset, max_steps - step, check_every,
                        max(call_end - step, 1))
            # unit Euler steps (the discrete algorithms) without a stopping test: exact,
            # two products fewer on the critical path, and the setting's own step if any
            unit = stages == 1 and h * b[0] == 1.0 and stop_tol <= 0.0
            for _ in range(chunk):
                if unit:
                    unit_step(y, args, k0, work)
                    project(y, args)
                    step += 1
                    continue
                # evaluate_stages written out: a call costs more than a small Euler step's arithmetic
                field(y, args, k0, work)
                for s in range(1, stages):
                    stage_state(y, k, a, s, h, ys)
                    field(ys, args, k[s], work)
                if stop_tol > 0.0 and max_abs(k0) <= stop_tol:
                    stop = True
                    break
                # rk_update written out (a call costs more than a small step); for one
                # stage, one pass, its first TINY_STATE entries in a loop LLVM keeps
                # scalar: a vector load of k0 right after the field's scalar stores
                # stalls store-to-load forwarding
                if stages == 1 and h * b[0] == 1.0:  # unit steps with a stopping test
                    for i in range(min(y.size, TINY_STATE)):
                        y[i] += k0[i]
                    for i in range(TINY_STATE, y.size):
                        y[i] += k0[i]
                elif stages == 1:  # b[0] = 1: h (b[0] k) = (h b[0]) k exactly
                    hb = h * b[0]
                    for i in range(min(y.size, TINY_STATE)):
                        y[i] += hb * k0[i]
                    for i in range(TINY_STATE, y.size):
                        y[i] += hb * k0[i]
                else:
                    for i in range(y.size):
                        acc[i] = b[0] * k[0, i]
                    for j in range(1, stages):
                        for i in range(y.size):
                            acc[i] += b[j] * k[j, i]
                    for i in range(y.size):
                        y[i] += h * acc[i]
                project(y, args)
                step += 1
            offset += step - start
        if out_of_bounds(y):
            if check_every == 1:
                return CODE_DIVERGED, step, step * stages, interval + 1
            check_every = 1
            for i in range(y.size):
                y[i] = good[i]
            step, interval, offset = good_step, good_interval, good_offset
            continue
        if stop:
            for row in range(interval + 1, n + 1):
                out[row, :] = y
            return CODE_CONVERGED, step, (step + 1) * stages, n + 1
        if offset == counts[interval]:
            out[interval + 1, :] = y
            interval += 1
            offset = 0
        elif step >= max_steps:
            return CODE_STEP_BUDGET, step, step * stages, interval + 1
        for i in range(y.size):
            good[i] = y[i]
        good_step, good_interval, good_offset = step, interval, offset
        if step >= call_end and interval < n:
            position[0], position[1], position[2] = step, interval, offset
            return CODE_PAUSED, step, step * stages, interval + 1
    return CODE_COMPLETED, step, step * stages, n + 1


def adaptive(y, args, a, b, b_err, order, times, atol, rtol, stop_tol, max_steps, call_steps,
             clock, position, out):
    """Embedded Runge-Kutta steps with error control, landing on every sample time.

    A step is accepted when its error estimate is <= atol + rtol max(|y|, |y_new|)
    componentwise; the projection follows every accepted step. ``y`` is advanced in place
    and ``out[i + 1]`` receives the state at ``times[i]`` (the caller writes ``out[0]``).
    Resumable as :func:`fixed_step`: ``clock`` = (t, next trial step h) and ``position`` =
    (accepted, rejected, sample) are read at entry and written when the loop pauses
    (:data:`CODE_PAUSED`) after ``call_steps`` attempted steps. Returns (status code,
    accepted, rejected, field evaluations, valid rows of ``out``).
    """
    stages = b.size
    y_new = np.empty(y.size)
    k = np.empty((stages, y.size))
    ys = np.empty(y.size)
    acc = np.empty(y.size)
    work = workspace(y, args)
    t, h = clock[0], clock[1]
    accepted, rejected, first_sample = position[0], position[1], position[2]
    call_end = accepted + rejected + call_steps
    for sample in range(first_sample, times.size):
        target = times[sample]
        while t < target:
            if accepted + rejected >= max_steps:
                return CODE_STEP_BUDGET, accepted, rejected, (accepted + rejected) * stages, \
                    sample + 1
            if accepted + rejected >= call_end:
                clock[0], clock[1] = t, h
                position[0], position[1], position[2] = accepted, rejected, sample
                return CODE_PAUSED, accepted, rejected, (accepted + rejected) * stages, \
                    sample + 1
            h = min(h, target - t)
            evaluate_stages(y, k, ys, a, h, args, work)
            if stop_tol > 0.0 and max_abs(k[0]) <= stop_tol:
                for row in range(sample + 1, times.size + 1):
                    out[row, :] = y
                return CODE_CONVERGED, accepted, rejected, \
                    (accepted + rejected + 1) * stages, times.size + 1
            for i in range(y.size):
                y_new[i] = y[i]
            rk_update(y_new, k, b, h, acc)
            ratio = error_ratio(y, k, b_err, h, atol, rtol, y_new)
            if ratio <= 1.0:
                for i in range(y.size):
                    y[i] = y_new[i]
                project(y, args)
                t = target if target - t <= h else t + h
                accepted += 1
                if out_of_bounds(y):
                    return CODE_DIVERGED, accepted, rejected, (accepted + rejected) * stages, \
                        sample + 1
            else:
                rejected += 1
            h *= step_factor(ratio, order)
        out[sample + 1, :] = y
    return CODE_COMPLETED, accepted, rejected, (accepted + rejected) * stages, times.size + 1


BOUND_TO_SETTING = ("evaluate_stages", "fixed_step", "adaptive")
"""The loop functions that call ``field``/``project``/``workspace``/``unit_step``, in
dependency order:
each setting gets its own compiled copy of them."""


# --------------------------------------------------------------------------- NumPy twins


def _numpy_stages(field_numpy, y, tableau: Tableau, h: float) -> np.ndarray:
    k = np.zeros((tableau.stages, y.size))
    k[0] = field_numpy(y)
    for s in range(1, tableau.stages):
        k[s] = field_numpy(y + h * (tableau.a[s, :s] @ k[:s]))
    return k


def _finite(y: np.ndarray) -> bool:
    return bool(np.all(np.abs(y) <= DIVERGENCE_BOUND))


def fixed_step_numpy(field_numpy: Callable, project_numpy: Callable, y0: np.ndarray,
                     tableau: Tableau, counts: np.ndarray, sizes: np.ndarray, stop_tol: float,
                     max_steps: int, out: np.ndarray) -> tuple[int, int, int, int]:
    """Plain NumPy twin of :func:`fixed_step` (divergence checked after every step)."""
    y = y0.copy()
    out[0] = y
    n, stages, step = counts.size, tableau.stages, 0
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as divergence
        for interval in range(n):
            h = sizes[interval]
            for _ in range(counts[interval]):
                if step >= max_steps:
                    return CODE_STEP_BUDGET, step, step * stages, interval + 1
                k = _numpy_stages(field_numpy, y, tableau, h)
                if stop_tol > 0.0 and np.max(np.abs(k[0])) <= stop_tol:
                    out[interval + 1:] = y
                    return CODE_CONVERGED, step, (step + 1) * stages, n + 1
                y = project_numpy(y + h * (tableau.b @ k))
                step += 1
                if not _finite(y):
                    return CODE_DIVERGED, step, step * stages, interval + 1
            out[interval + 1] = y
    return CODE_COMPLETED, step, step * stages, n + 1


def adaptive_numpy(field_numpy: Callable, project_numpy: Callable, y0: np.ndarray,
                   tableau: Tableau, times: np.ndarray, h0: float, atol: float, rtol: float,
                   stop_tol: float, max_steps: int, out: np.ndarray
                   ) -> tuple[int, int, int, int, int]:
    """Plain NumPy twin of :func:`adaptive`."""
    y, t, h = y0.copy(), 0.0, h0
    out[0] = y
    stages, accepted, rejected = tableau.stages, 0, 0
    with np.errstate(over="ignore", invalid="ignore"):
        for i, target in enumerate(times):
            while t < target:
                if accepted + rejected >= max_steps:
                    return CODE_STEP_BUDGET, accepted, rejected, (accepted + rejected) * stages, i + 1
                h = min(h, target - t)
                k = _numpy_stages(field_numpy, y, tableau, h)
                if stop_tol > 0.0 and np.max(np.abs(k[0])) <= stop_tol:
                    out[i + 1:] = y
                    return (CODE_CONVERGED, accepted, rejected, (accepted + rejected + 1) * stages,
                            times.size + 1)
                y_new = y + h * (tableau.b @ k)
                scale = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
                ratio = np.max(np.abs(h * (tableau.b_error @ k)) / scale)
                if ratio <= 1.0:
                    y = project_numpy(y_new)
                    t = target if target - t <= h else t + h
                    accepted += 1
                    if not _finite(y):
                        return (CODE_DIVERGED, accepted, rejected, (accepted + rejected) * stages,
                                i + 1)
                else:
                    rejected += 1
                h *= step_factor(ratio, tableau.order)
            out[i + 1] = y
    return CODE_COMPLETED, accepted, rejected, (accepted + rejected) * stages, times.size + 1
