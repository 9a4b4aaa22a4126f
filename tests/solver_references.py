"""Independent references for every solver: the registry, the recorder and the generic checks.

The test modules ``tests/test_<setting>_references.py`` hold, per setting, a vector field
written from the mathematics (docs/ and the module docstrings: the loss or the
Lagrangian written out, differentiated by the complex step, which is exact to rounding
for real-analytic functions and shares no code with the package's kernels or twins) and
the cases on which each solver is run. The checks that every setting has (adaptive and
fixed-step flows against solve_ivp, discrete runs against the hand-iterated step, the
``stop_tol`` branch) are added to a module by :func:`register_generic_tests` from its
cases; every check, those and the setting's own, is a test decorated with
:func:`references`, which

- records, at import, which (setting, solver) the check covers, with which reference
  (``sympy`` closed form, ``expm``, high-accuracy ``solve_ivp``, hand-iterated
  ``formula``) and with which keyword arguments: the coverage is read from the very
  cases the test runs, never typed in as a list;
- asserts, when the test runs, that the solver was really called with those arguments
  (through :func:`call`, which records every call) and, for a case with ``stop_tol > 0``,
  that the run took the stopping branch (status converged).

``tests/test_solver_references.py`` enumerates ``theory.registry.SETTINGS`` and every
``SOLVERS`` entry and fails when a solver, or one of its result-changing parameters, has
no registered check (:func:`required_tokens`, :func:`exercised_tokens`).

This module is a helper of the tests, not a test module (pytest does not collect it).
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theory.integrators import TABLEAUX
from theory.registry import setting_module
from theory.results import Status, Trajectory

REFERENCE_KINDS: tuple[str, ...] = ("sympy", "expm", "solve_ivp", "formula")
"""Accepted independent references: a sympy closed form of ``analytic``, an exact solution
of linear dynamics by ``scipy.linalg.expm``, ``solve_ivp`` (DOP853, rtol 1e-12) on a field
written in the tests, or a hand-written discrete step iterated in NumPy."""

RATE_NAMES: tuple[str, ...] = ("eta", "lr", "eta_w", "eta_lambda", "lr_w", "lr_lambda",
                               "eta_radius", "eta_direction", "lr_radius", "lr_direction")
"""Step sizes and time scales of the solvers' signatures."""

MODEL_NAMES: tuple[str, ...] = ("sigma", "beta", "c", "depth", "loss")
"""Other keywords that change a solver's result (data scale, L2 strength, damping, depth,
loss)."""

CHOICES: dict[str, tuple[str, ...]] = {"loss": ("logistic", "exponential"),
                                       "method": tuple(sorted(TABLEAUX))}
"""Categorical parameters: every choice must be exercised (``method`` with a fixed step)."""

FLOW_OPTION_TOKENS: tuple[str, ...] = ("adaptive", "dt", "stop_tol")
"""Integration options every flow must have exercised: adaptive steps (``dt=None``, the
default), a fixed step ``dt``, and the ``stop_tol > 0`` branch (plus every ``method``)."""


@dataclass(frozen=True)
class Case:
    """One call of one solver: ``SOLVERS[solver](*args, **kwargs)`` of ``theory.<setting>``.

    Attributes
    ----------
    setting, solver : str
    args : tuple
        Positional arguments (the data and, for some settings, the start).
    kwargs : dict
        Keyword arguments, including ``times`` or ``steps``.
    label : str
        Short id for pytest.
    """

    setting: str
    solver: str
    args: tuple
    kwargs: dict
    label: str

    def __repr__(self) -> str:
        return f"{self.setting}.{self.solver}[{self.label}]"

    def run(self, **override) -> Trajectory:
        """Call the solver with the case's arguments (``override`` replaces keywords)."""
        return call(self.setting, self.solver, *self.args, **{**self.kwargs, **override})


@dataclass(frozen=True)
class Entry:
    """One registered check of one solver."""

    test: str
    reference: str
    kwargs: dict


REGISTRY: dict[tuple[str, str], list[Entry]] = {}
"""(setting, solver) -> the registered checks, filled by :func:`references` at import."""

_calls: list[tuple[str, str, dict, Status]] | None = None


def call(setting: str, solver: str, *args, **kwargs) -> Trajectory:
    """Run ``theory.<setting>.SOLVERS[solver]`` and record the call for :func:`references`."""
    traj = setting_module("theory", setting).SOLVERS[solver](*args, **kwargs)
    if _calls is not None:
        _calls.append((setting, solver, kwargs, traj.status))
    return traj


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return a is b


def _was_run(case: Case, calls) -> bool:
    for setting, solver, kwargs, status in calls:
        if (setting, solver) != (case.setting, case.solver):
            continue
        if all(k in kwargs and _same(kwargs[k], v) for k, v in case.kwargs.items()):
            if case.kwargs.get("stop_tol", 0.0) > 0.0 and status is not Status.CONVERGED:
                continue
            return True
    return False


def references(reference: str, cases: list[Case]) -> Callable:
    """Register the decorated test as an independent check of every case in ``cases``.

    Parameters
    ----------
    reference : {'sympy', 'expm', 'solve_ivp', 'formula'}
        What the solver is compared with.
    cases : list of Case
        The calls the test makes. If the test takes an argument ``case`` (parametrized
        over ``cases``), each instance must run its own case; otherwise the test must run
        all of them. A case with ``stop_tol > 0`` counts only if the run converged.

    Returns
    -------
    callable
        The decorator; the wrapped test fails if a case was not run as registered.
    """
    if reference not in REFERENCE_KINDS:
        raise ValueError(f"reference must be one of {REFERENCE_KINDS}, got {reference!r}")

    def decorate(test: Callable) -> Callable:
        name = f"{test.__module__}::{test.__name__}"
        for case in cases:
            REGISTRY.setdefault((case.setting, case.solver), []).append(
                Entry(name, reference, dict(case.kwargs)))

        @functools.wraps(test)
        def wrapper(*args, **kwargs):
            global _calls
            outer, _calls = _calls, []
            try:
                test(*args, **kwargs)
                calls = _calls
            finally:
                if outer is not None:  # stacked decorators: the outer one sees the calls too
                    outer.extend(_calls)
                _calls = outer
            if "case" in kwargs:
                expected = [c for c in cases if c is kwargs["case"]]
            else:
                expected = cases
            missing = [c for c in expected if not _was_run(c, calls)]
            assert not missing, f"{name} registered {missing} but did not run them as registered"

        return wrapper

    return decorate


# --------------------------------------------------------------------------- coverage


def _signature(setting: str, solver: str) -> inspect.Signature:
    return inspect.signature(setting_module("theory", setting).SOLVERS[solver])


def is_flow(setting: str, solver: str) -> bool:
    """True for a solver that integrates a flow (it takes sample ``times``)."""
    return "times" in _signature(setting, solver).parameters


def required_tokens(setting: str, solver: str) -> set[str]:
    """What the checks of a solver must exercise, read from its signature.

    Every step-size/time-scale keyword and every model keyword of :data:`MODEL_NAMES` in
    the signature (a token per name; a token ``name=choice`` per choice of a categorical
    one); for a flow also every ``method=...`` with a fixed step and the tokens of
    :data:`FLOW_OPTION_TOKENS`; for a discrete solver ``stop_tol``.
    """
    parameters = _signature(setting, solver).parameters
    tokens: set[str] = set()
    for name in (*RATE_NAMES, *MODEL_NAMES):
        if name in parameters:
            tokens |= ({f"{name}={v}" for v in CHOICES[name]} if name in CHOICES else {name})
    if is_flow(setting, solver):
        tokens |= {f"method={m}" for m in CHOICES["method"]} | set(FLOW_OPTION_TOKENS)
    else:
        tokens.add("stop_tol")
    return tokens


def exercised_tokens(setting: str, solver: str, kwargs: dict) -> set[str]:
    """The tokens of :func:`required_tokens` that one call with ``kwargs`` exercises.

    A numeric parameter counts when it is passed with a value other than its default, 0
    and 1 (the values where a wrong power or a dropped factor can hide); a categorical
    one counts its value (the default when absent).
    """
    parameters = _signature(setting, solver).parameters
    tokens: set[str] = set()
    for name in (*RATE_NAMES, *MODEL_NAMES):
        if name not in parameters:
            continue
        default = parameters[name].default
        if name in CHOICES:
            tokens.add(f"{name}={kwargs.get(name, default)}")
        elif name in kwargs and kwargs[name] not in (default, 0, 1):
            tokens.add(name)
    if is_flow(setting, solver):
        if kwargs.get("dt") is None:
            tokens.add("adaptive")
        else:
            tokens |= {"dt", f"method={kwargs.get('method', 'dopri5')}"}
    if kwargs.get("stop_tol", 0.0) > 0.0:
        tokens.add("stop_tol")
    return tokens


# --------------------------------------------------------------------------- references


def complex_step_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Gradient of a real-analytic ``f`` at real ``x`` by the complex step,
    df/dx_i = Im f(x + i h e_i) / h with h = 1e-30: no subtraction, so exact to rounding.

    ``f`` maps states along the last axis to values (shape (..., n) -> (...)); it is
    called once on the batch of the n perturbed states. It must be written with
    complex-safe operations: no abs, max or conjugation.
    """
    h = 1e-30
    x = np.asarray(x, dtype=np.float64)
    batch = x[None, :] + 1j * h * np.eye(x.size)
    return np.asarray(f(batch)).imag / h


def reference_flow(field: Callable[[np.ndarray], np.ndarray], y0: np.ndarray,
                   times: np.ndarray) -> np.ndarray:
    """The exact flow dy/dt = field(y) from y0 at ``times`` by solve_ivp (DOP853, rtol
    1e-12, atol 1e-14), integrated from sample to sample so that every sample is the end
    of a step: global error ~1e-11 on the horizons used here, far below every tolerance of
    the checks. (DOP853's dense output between steps is not that accurate: where the flow
    has settled and the steps are long, interpolated samples were off by 1e-8, measured on
    deep_linear's l2_flow stop case.)"""
    times = np.asarray(times, dtype=np.float64)
    y = np.asarray(y0, dtype=np.float64)
    start, samples = 0.0, []
    for t in times:
        if t > start:
            sol = solve_ivp(lambda _, state: field(state), (start, float(t)), y,
                            method="DOP853", rtol=1e-12, atol=1e-14)
            assert sol.success, sol.message
            y, start = sol.y[:, -1], float(t)
        samples.append(y.copy())
    return np.array(samples)


def hand_iteration(field: Callable[[np.ndarray], np.ndarray], y0: np.ndarray, steps,
                   project: Callable[[np.ndarray], np.ndarray] = lambda y: y,
                   stop_tol: float = 0.0) -> tuple[np.ndarray, int]:
    """y_{k+1} = project(y_k + F(y_k)) (F with the learning rates in it), sampled at step 0
    and at ``steps``; with ``stop_tol > 0`` the iteration stops at the first y_k with
    max |F(y_k)| <= stop_tol and the later samples repeat it. Returns (samples, steps taken)."""
    y = np.asarray(y0, dtype=np.float64).copy()
    samples, k = [y.copy()], 0
    stopped = False
    for target in steps:
        while k < target and not stopped:
            step = field(y)
            if stop_tol > 0.0 and np.max(np.abs(step)) <= stop_tol:
                stopped = True
                break
            y = project(y + step)
            k += 1
        samples.append(y.copy())
    return np.array(samples), k


def relative_error(states: np.ndarray, reference: np.ndarray) -> float:
    """max |states - reference| / max(1, |reference|), over every sample and component."""
    return float(np.max(np.abs(states - reference) / np.maximum(1.0, np.abs(reference))))


ADAPTIVE_TOLERANCE = 1e-8
"""Adaptive runs (Dormand-Prince 5(4), local error <= 1e-15 + 1e-12 |y|) against DOP853
at rtol 1e-12: each has a global error of ~1e-11 (local errors of 1e-12 over <= 10^3
steps, damped or mildly amplified on horizons where the Lipschitz constant times the
horizon is <= ~5); 1e-8 leaves a margin of ~100. A rate off by 1e-6 relative moves the
states by more than that, and the planted faults (factors 1.5) by ~0.1."""

DISCRETE_TOLERANCE = 1e-10
"""Discrete runs against the hand-iterated step: the same arithmetic in another order, so
the difference is rounding, ~1e-16 per operation grown by at most ~10^3 steps of a
non-expanding map: ~1e-13; 1e-10 leaves a margin."""


def check_flow(case: Case, field: Callable, y0: np.ndarray,
               tolerance: float = ADAPTIVE_TOLERANCE) -> float:
    """Run a flow case and compare every sample with :func:`reference_flow`; return the
    error (``tolerance``: :data:`ADAPTIVE_TOLERANCE` unless the caller reasons another)."""
    traj = case.run()
    assert traj.status is Status.COMPLETED, traj.message
    error = relative_error(traj.states, reference_flow(field, y0, traj.times))
    assert error <= tolerance, f"{case}: {error:.3g} > {tolerance:g}"
    return error


def check_discrete(case: Case, field: Callable, y0: np.ndarray,
                   project: Callable = lambda y: y) -> float:
    """Run a discrete case and compare every sample with :func:`hand_iteration`."""
    traj = case.run()
    assert traj.status is Status.COMPLETED, traj.message
    expected, taken = hand_iteration(field, y0, case.kwargs["steps"], project)
    assert traj.steps == taken
    error = relative_error(traj.states, expected)
    assert error <= DISCRETE_TOLERANCE, f"{case}: {error:.3g} > {DISCRETE_TOLERANCE:g}"
    return error


def check_order(case: Case, field: Callable, y0: np.ndarray) -> tuple[float, float]:
    """A fixed-step case (``method``, ``dt``) at dt and dt/2 against :func:`reference_flow`.

    The global error of a method of order p is C dt^p + O(dt^(p+1)), so log2 of the ratio
    of the two errors is p up to the next term: asserted in [p - 0.35, p + 2]. The next
    term can dominate at the coarser step, most of all for dopri5, whose fifth-order error
    constants are minimized by design (Dormand & Prince 1980): 5.9 was seen at dt = 0.1
    on the chain, 5.2 at dt = 0.025, 6.8 on the deep network at dt = 0.05, where a smaller
    step would take the error to the reference's level. A faulty field gives ~0, a
    lower-order update ~p - 1: the lower bound is the one that catches faults. Both
    errors are kept >= 1e-10 by the choice of dt, > 1000 times the reference's error
    (DOP853 at rtol 1e-12 differs from rtol 1e-14 by 5e-14 on the chain), so the
    reference does not bias the ratio. The error at dt/2 must also be below 1e-3: the run
    converges to the reference, not to another flow with the same order.
    Returns (error at dt/2, observed order).
    """
    dt, method = case.kwargs["dt"], case.kwargs["method"]
    coarse = case.run()
    fine = case.run(dt=dt / 2)
    for traj in (coarse, fine):
        assert traj.status is Status.COMPLETED, traj.message
    reference = reference_flow(field, y0, coarse.times)
    errors = [relative_error(t.states, reference) for t in (coarse, fine)]
    assert errors[1] >= 1e-10, f"{case}: error {errors[1]:.3g} too small to read an order"
    order = float(np.log2(errors[0] / errors[1]))
    expected = TABLEAUX[method].order
    assert expected - 0.35 <= order <= expected + 2.0, \
        f"{case}: order {order:.3f}, declared {expected}"
    assert errors[1] <= 1e-3, f"{case}: error {errors[1]:.3g} at dt/2"
    return errors[1], order


def check_stop(case: Case, field: Callable, y0: np.ndarray, project: Callable = lambda y: y,
               tolerance: float = ADAPTIVE_TOLERANCE) -> None:
    """A case with ``stop_tol > 0`` takes the stopping branch where the reference says.

    Discrete: the hand iteration with the same rule (stop at the first y_k with max
    |F(y_k)| <= stop_tol) gives the same state and step count. Flows: the run converged;
    the field of the final state, computed independently, is <= stop_tol; the samples
    before the reference's field falls to 2 stop_tol match the reference (the run had not
    stopped there), and every sample after it falls below stop_tol / 2 equals the final
    state (it had stopped). ``tolerance`` as in :func:`check_flow` (a fixed-step case
    passes the tolerance of its method and dt).
    """
    stop_tol = case.kwargs["stop_tol"]
    traj = case.run()
    assert traj.status is Status.CONVERGED, traj.message
    if "steps" in case.kwargs:
        expected, taken = hand_iteration(field, y0, case.kwargs["steps"], project, stop_tol)
        assert taken < case.kwargs["steps"][-1], "the reference did not stop: pick another case"
        assert traj.steps == taken
        assert relative_error(traj.states, expected) <= DISCRETE_TOLERANCE
        return
    final_field = np.max(np.abs(field(traj.final)))
    assert final_field <= stop_tol * (1 + 1e-6), f"{case}: |F| = {final_field:.3g} at the stop"
    reference = reference_flow(field, y0, traj.times)
    sizes = np.array([np.max(np.abs(field(y))) for y in reference])
    before = np.flatnonzero(sizes <= 2 * stop_tol)
    after = np.flatnonzero(sizes <= stop_tol / 2)
    assert before.size and after.size and before[0] > 1, "pick a horizon past the stop"
    head = slice(0, before[0])
    assert relative_error(traj.states[head], reference[head]) <= tolerance
    np.testing.assert_array_equal(traj.states[after[0]:], np.broadcast_to(
        traj.final, traj.states[after[0]:].shape))


# --------------------------------------------------------------------------- generic tests

GENERIC_TESTS: dict[str, str] = {
    "adaptive": "test_adaptive_flow_matches_solve_ivp",
    "order": "test_fixed_step_flow_converges_to_solve_ivp_at_its_order",
    "discrete": "test_discrete_matches_hand_iterated_step",
    "stop": "test_stop_tol_branch",
}
"""The generic checks every setting registers (:func:`register_generic_tests`): adaptive
flows with :func:`check_flow`, fixed-step flows with :func:`check_order`, discrete solvers
with :func:`check_discrete`, ``stop_tol`` cases with :func:`check_stop`."""


def _generic_test(kind: str, reference: Callable, precondition: Callable | None) -> Callable:
    def test(case):
        fields = reference(case)
        if precondition is not None:
            precondition(kind, case, fields)
        y0, field = fields[0], fields[1]
        project = fields[2] if len(fields) > 2 else (lambda y: y)
        if kind == "adaptive":
            check_flow(case, field, y0)
        elif kind == "order":
            check_order(case, field, y0)
        elif kind == "discrete":
            check_discrete(case, field, y0, project)
        else:
            check_stop(case, field, y0, project)

    return test


def register_generic_tests(namespace: dict, reference: Callable[[Case], tuple], *,
                           adaptive: list[Case] = (), order: list[Case] = (),
                           discrete: list[Case] = (), stop: list[Case] = (),
                           precondition: Callable[[str, Case, tuple], None] | None = None) -> None:
    """Add a setting's generic checks to its test module, each parametrized over its cases
    and registered with :func:`references` (``solve_ivp`` for flows, ``formula`` for
    discrete runs; a stop case by its kind): the test names of :data:`GENERIC_TESTS`.

    Parameters
    ----------
    namespace : dict
        The test module's ``globals()``, where pytest collects the tests.
    reference : callable
        ``reference(case)`` -> ``(y0, field)`` or ``(y0, field, project, ...)``: the start,
        the independent vector field (learning rates in it for discrete solvers) and the
        projection after a step (identity when absent); further items are for
        ``precondition``.
    adaptive, order, discrete, stop : list of Case
        The cases of each check; a check without cases is not added.
    precondition : callable, optional
        ``precondition(kind, case, reference(case))``, with ``kind`` a key of
        :data:`GENERIC_TESTS`: asserts, before the check, that the case is in the regime
        the comparison needs (e.g. no multiplier crossing 0 along a flow).
    """
    kinds = {"adaptive": adaptive, "order": order, "discrete": discrete, "stop": stop}
    for kind, cases in kinds.items():
        if not cases:
            continue
        name = GENERIC_TESTS[kind]
        test = _generic_test(kind, reference, precondition)
        test.__name__ = test.__qualname__ = name
        test.__module__ = namespace["__name__"]
        test = pytest.mark.parametrize("case", cases, ids=repr)(test)
        if kind == "stop":
            test = references("formula", [c for c in cases if "steps" in c.kwargs])(
                references("solve_ivp", [c for c in cases if "times" in c.kwargs])(test))
        else:
            test = references("solve_ivp" if kind in ("adaptive", "order") else "formula",
                              cases)(test)
        namespace[name] = test
