"""The solving core every setting's public solvers call.

A setting describes one run as a :class:`Problem` (its compiled :class:`Loops`, the
kernel's ``args``, the NumPy twins of its field and projection, and the trajectory type
to return) and hands it to :func:`discrete` (unit Euler steps with the learning rates in
the field: gradient descent, Jacobi Minnorm) or :func:`flow` (a Runge-Kutta ``method``
with fixed steps ``dt``, or adaptive steps controlled by ``rtol``/``atol`` when
``dt=None``). Both validate the options, choose the backend (``"numba"``: the jitted
loops of :mod:`theory.loops`; ``"numpy"``: their NumPy twins, for parity tests), and
build the trajectory with its :class:`~theory.results.Status`, message and
:class:`~theory.results.Stats`.

Common options of every solver
------------------------------
stop_tol : float, default 0 (off)
    End the run (status converged) once the vector field's largest component is
    <= stop_tol; the remaining samples hold that state.
max_steps : int, default :data:`theory.integrators.DEFAULT_MAX_STEPS`
    Budget of attempted steps; a run that needs more ends with status step_budget and
    the samples it reached.
backend : {"numba", "numpy"}

Every jitted run can be stopped with Ctrl-C: the loops return to Python every
:data:`PAUSE_SECONDS` or so and are called again, and Python raises ``KeyboardInterrupt``
between two calls.

Flows also take ``method`` (``"euler"``, ``"heun"``, ``"rk4"``, ``"dopri5"``; default
``"dopri5"``), ``dt`` (fixed step; default ``None``: adaptive, which needs a method with
an error estimate), ``rtol``, ``atol`` and ``first_step`` (adaptive only; defaults in
:mod:`theory.integrators`).
"""
from __future__ import annotations

import inspect
import time
import types
from dataclasses import dataclass, field
from typing import Callable, Literal

import numba
import numpy as np

from theory import loops, validation
from theory.numba_options import jit, jit_inline
from theory.integrators import (CHECK_EVERY, DEFAULT_ATOL, DEFAULT_FIRST_STEP, DEFAULT_MAX_STEPS,
                                DEFAULT_RTOL, EULER, discrete_plan, flow_plan, get_tableau)
from theory.results import CODE_PAUSED, Stats, Status, Trajectory

Backend = Literal["numba", "numpy"]

@dataclass(frozen=True)
class Loops:
    """The loops of :mod:`theory.loops` compiled for one setting's field.

    Build it once per setting and field, at import, with :func:`compile_loops`. A setting
    compiles :data:`LOOPS` for its general ``field``, and may compile more for a field that
    serves one common case alone, where that measurably speeds up every step.
    """

    fixed_step: Callable
    adaptive: Callable
    field: Callable
    """The jitted field inlined into both loops."""


def compile_loops(field: Callable, project: Callable, workspace: Callable,
                  unit_step: Callable | None = None) -> Loops:
    """Bind the loops of :mod:`theory.loops` to a setting's jitted ``field``, ``project``
    and ``workspace``, and optionally ``unit_step`` (signatures in :mod:`theory.loops`;
    the default is :func:`theory.loops.add_field`), and jit them, with ``field``,
    ``project`` and ``unit_step`` inlined into the loops.

    Each bound copy is attributed to the setting's source file, so numba caches it with
    the setting's own kernels, in the directory keyed by the sources of the setting and of
    every module it imports, these loops included
    (:func:`theory.numba_options.cache_directory`): an edit of any of them recompiles it.
    Compilation itself is lazy (on first call), as for every kernel.
    """
    source_file = inspect.getfile(field.py_func)
    namespace = dict(vars(loops))
    namespace.update(field=jit_inline(field.py_func), project=jit_inline(project.py_func),
                     workspace=workspace)
    if unit_step is None:
        unit_step = types.FunctionType(loops.add_field.__code__.replace(co_filename=source_file),
                                       namespace, "add_field")
    namespace["unit_step"] = jit_inline(getattr(unit_step, "py_func", unit_step))
    for name in loops.BOUND_TO_SETTING:
        template = getattr(loops, name)
        function = types.FunctionType(template.__code__.replace(co_filename=source_file),
                                      namespace, name, template.__defaults__)
        # the field's name too: numba's cache tells copies in one file apart by name
        function.__qualname__ = f"{name}_{field.__name__}"
        namespace[name] = jit(function)
    return Loops(fixed_step=namespace["fixed_step"], adaptive=namespace["adaptive"],
                 field=field)


def _identity(y: np.ndarray) -> np.ndarray:
    return y


@dataclass(frozen=True)
class Problem:
    """One run of one setting, as the core needs it.

    Attributes
    ----------
    loops : Loops
        The setting's compiled loops.
    args : tuple of ndarray
        The kernel's arguments (data and parameters), passed to ``field`` and ``project``.
    field_numpy : callable
        NumPy twin of the field: ``field_numpy(y) -> F(y)``.
    project_numpy : callable
        NumPy twin of the projection (identity by default).
    trajectory : type
        The :class:`Trajectory` subclass to return.
    extra : dict
        The setting's extra fields of that subclass (e.g. the number of weights).
    """

    loops: Loops
    args: tuple
    field_numpy: Callable[[np.ndarray], np.ndarray]
    project_numpy: Callable[[np.ndarray], np.ndarray] = _identity
    trajectory: type[Trajectory] = Trajectory
    extra: dict = field(default_factory=dict)


def _message(status: Status, times: np.ndarray, valid: int, accepted: int,
             max_steps: int, horizon: float) -> str:
    if status is Status.COMPLETED:
        return f"reached the horizon {horizon:g} in {accepted} steps"
    if status is Status.CONVERGED:
        return f"the vector field fell to stop_tol after {accepted} steps"
    if status is Status.STEP_BUDGET:
        return (f"used the step budget max_steps = {max_steps} before the horizon {horizon:g} "
                f"(last sample at t = {times[valid - 1]:g})")
    return f"diverged at step {accepted} (last finite sample at t = {times[valid - 1]:g})"


def _build(problem: Problem, times: np.ndarray, out: np.ndarray, code: int, accepted: int,
           rejected: int, evaluations: int, valid: int, max_steps: int) -> Trajectory:
    status = Status.from_code(code)
    all_times = np.concatenate(([0.0], times))
    return problem.trajectory(
        times=all_times[:valid], states=out[:valid].copy(), status=status,
        stats=Stats(int(accepted), int(rejected), int(evaluations)),
        message=_message(status, all_times, valid, int(accepted), max_steps, float(times[-1])),
        diverged_at=int(accepted) if status is Status.DIVERGED else None, **problem.extra)


def _options(stop_tol: float, max_steps: int, backend: str) -> tuple[float, int]:
    if backend not in ("numba", "numpy"):
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    return (validation.nonnegative_scalar("stop_tol", stop_tol),
            validation.count("max_steps", max_steps))


PAUSE_SECONDS = 0.1
"""Target duration of one call of a jitted loop. Python handles Ctrl-C (SIGINT) only
between calls, so a run stops within about this long; a call costs microseconds."""

FIRST_CALL_STEPS = 64
"""Steps of the first call; later calls grow (at most 8-fold each) towards
:data:`PAUSE_SECONDS`, so that even a step of milliseconds keeps the first call short."""


def _call_in_slices(call: Callable[[int], tuple]) -> tuple:
    """Run a resumable loop: ``call(call_steps)`` until it returns a code other than
    :data:`~theory.results.CODE_PAUSED` (the loop's state lives in the arrays ``call``
    passes, so the result does not depend on where the pauses fall).

    numba's threads are launched first (:func:`numba.get_num_threads` launches them once):
    a loop loaded from numba's cache may call a parallel kernel
    (:func:`theory.linalg.least_squares_gradient_in_parts`), and cached code that reaches a
    parallel region before the threads exist crashes the process; numba launches them
    itself only when it compiles, or is called from Python, a parallel function."""
    numba.get_num_threads()
    steps = FIRST_CALL_STEPS
    while True:
        start = time.perf_counter()
        result = call(steps)
        if result[0] != CODE_PAUSED:
            return result
        elapsed = max(time.perf_counter() - start, 1e-9)
        steps = max(1, min(8 * steps, int(steps * PAUSE_SECONDS / elapsed)))


def _fixed(problem: Problem, y0: np.ndarray, tableau, plan, times: np.ndarray, stop_tol: float,
           max_steps: int, backend: Backend) -> Trajectory:
    out = np.empty((plan.counts.size + 1, y0.size))
    if backend == "numba":
        y, position = y0.copy(), np.zeros(3, dtype=np.int64)
        out[0] = y0
        code, accepted, evaluations, valid = _call_in_slices(
            lambda call_steps: problem.loops.fixed_step(
                y, problem.args, tableau.a, tableau.b, plan.counts, plan.sizes, stop_tol,
                max_steps, CHECK_EVERY, call_steps, position, out))
    else:
        code, accepted, evaluations, valid = loops.fixed_step_numpy(
            problem.field_numpy, problem.project_numpy, y0, tableau, plan.counts, plan.sizes,
            stop_tol, max_steps, out)
    return _build(problem, times, out, code, accepted, 0, evaluations, valid, max_steps)


def discrete(problem: Problem, y0: np.ndarray, steps, *, stop_tol: float = 0.0,
             max_steps: int = DEFAULT_MAX_STEPS, backend: Backend = "numba") -> Trajectory:
    """Iterate y <- project(y + F(y)) (forward Euler with unit step), sampling after each
    step index in ``steps`` (non-decreasing; the last is the horizon).

    Options: module docstring. Returns the problem's trajectory type; its times are the
    step indices, 0 first.
    """
    stop_tol, max_steps = _options(stop_tol, max_steps, backend)
    steps = validation.sample_steps("steps", steps)
    return _fixed(problem, y0, EULER, discrete_plan(steps), steps.astype(np.float64), stop_tol,
                  max_steps, backend)


def flow(problem: Problem, y0: np.ndarray, times, *, method: str = "dopri5",
         dt: float | None = None, rtol: float | None = None, atol: float | None = None,
         first_step: float | None = None, stop_tol: float = 0.0,
         max_steps: int = DEFAULT_MAX_STEPS, backend: Backend = "numba") -> Trajectory:
    """Integrate dy/dt = F(y) from t = 0, sampling at ``times`` (non-decreasing, positive
    horizon), with the Runge-Kutta ``method`` and fixed steps of at most ``dt`` landing
    on every sample time, or, with ``dt=None``, adaptive steps (local error <= atol +
    rtol |y|); the projection follows every (accepted) step. Options: module docstring.
    """
    stop_tol, max_steps = _options(stop_tol, max_steps, backend)
    times = validation.sample_times("times", times)
    tableau = get_tableau(method)
    if dt is not None:
        if rtol is not None or atol is not None or first_step is not None:
            raise ValueError("rtol, atol and first_step control adaptive steps; they cannot be "
                             "combined with a fixed step dt (pass dt=None for adaptive steps)")
        dt = validation.positive_scalar("dt", dt)
        return _fixed(problem, y0, tableau, flow_plan(times, dt), times, stop_tol, max_steps,
                      backend)
    if not tableau.adaptive:
        raise ValueError(f"method {method!r} has no error estimate, so it cannot adapt its "
                         f"steps: pass a fixed step dt, or method='dopri5'")
    rtol = validation.positive_scalar("rtol", DEFAULT_RTOL if rtol is None else rtol)
    atol = validation.positive_scalar("atol", DEFAULT_ATOL if atol is None else atol)
    h0 = validation.positive_scalar("first_step",
                                    DEFAULT_FIRST_STEP if first_step is None else first_step)
    h0 = min(h0, float(times[-1]))
    out = np.empty((times.size + 1, y0.size))
    if backend == "numba":
        y, position = y0.copy(), np.zeros(3, dtype=np.int64)
        clock = np.array([0.0, h0])
        out[0] = y0
        code, accepted, rejected, evaluations, valid = _call_in_slices(
            lambda call_steps: problem.loops.adaptive(
                y, problem.args, tableau.a, tableau.b, tableau.b_error, float(tableau.order),
                times, atol, rtol, stop_tol, max_steps, call_steps, clock, position, out))
    else:
        code, accepted, rejected, evaluations, valid = loops.adaptive_numpy(
            problem.field_numpy, problem.project_numpy, y0, tableau, times, h0, atol, rtol,
            stop_tol, max_steps, out)
    return _build(problem, times, out, code, accepted, rejected, evaluations, valid, max_steps)
