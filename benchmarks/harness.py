"""The measurements behind ``python -m benchmarks``: time per step of a solver (jitted and
NumPy twin), the machine's bounds (dense-matmul rate, streaming bandwidth), the roofline
fraction, and the race of a flow against ``scipy.integrate.solve_ivp`` at equal accuracy.

Each setting's benchmark module describes its solvers as :class:`Case` objects (one per
solver and size) and its flows as :class:`Race` objects; this module measures them the
same way for every setting.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
from scipy.integrate import solve_ivp

from benchmarks.common import ROOT

RUN_SECONDS = 0.2
"""Target wall time of one timed run (the step count is calibrated to it)."""
QUICK_RUN_SECONDS = 0.05
MIN_STEPS, QUICK_MIN_STEPS = 16, 4
"""Fewest steps of a timed run (large sizes), so that one step is not lost in the call's
fixed cost."""
REPEATS, QUICK_REPEATS = 5, 3
ACCURACY = 1e-8
"""Flow races: max |y(T) - y_ref(T)| / max(1, max |y_ref(T)|) to reach."""
IVP_METHODS = ("RK45", "DOP853")
IVP_RTOLS = tuple(10.0 ** -k for k in range(4, 14))
"""solve_ivp tolerances tried, loosest first (atol = rtol * 1e-3), then refined."""
REFINE = 3
"""Bisection steps (in log rtol, or in the number of fixed steps) after the first success."""
IVP_MAX_NFEV = 100_000
"""Field-evaluation budget of one solve_ivp run (see :func:`ivp`)."""


@dataclass(frozen=True)
class Case:
    """One solver at one size.

    Attributes
    ----------
    run : callable
        ``run(backend, steps)`` performs ``steps`` steps (adaptive solvers: attempted
        steps) from the case's fixed start and returns the steps taken; it raises if the
        run diverged or ended in subnormal numbers (timing would then be meaningless).
    flops, bytes : float
        Work of one step: floating-point operations, and memory traffic counting every
        operand that a step must stream once (matrices, state and stage vectors).
    working_set : float
        Bytes the step touches (each array once): the streaming bandwidth is measured at
        this size, i.e. from the level of the memory hierarchy that holds the data.
    max_steps : int
        Cap on the steps of one run (e.g. before a solution decays to subnormal numbers).
    """

    setting: str
    solver: str
    size: str
    label: str
    run: Callable[[str, int], int] = field(repr=False)
    flops: float
    bytes: float
    working_set: float
    max_steps: int = 10**7


@dataclass(frozen=True)
class Race:
    """A flow integrated to time T, by our solver and by ``solve_ivp``, to equal accuracy.

    Attributes
    ----------
    ours : callable
        ``ours(knob) -> y(T)``: fixed-step solvers take the number of steps to T (an
        int, more is finer), adaptive ones the relative tolerance (a float, smaller is
        finer; see ``adaptive``).
    coarse : int or float
        Where the search starts: the fewest steps, or the loosest tolerance.
    vector_field : callable
        ``field(t, y)`` for ``solve_ivp`` (the NumPy twin's vector field).
    y0 : ndarray
        The start, identical for both.
    """

    setting: str
    solver: str
    label: str
    ours: Callable[[float], np.ndarray] = field(repr=False)
    coarse: float
    vector_field: Callable[[float, np.ndarray], np.ndarray] = field(repr=False)
    y0: np.ndarray = field(repr=False)
    T: float
    adaptive: bool = False


def median_seconds(run: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Median wall time of ``repeats`` calls of ``run`` (after one untimed warm-up call,
    unless ``warm_up`` is false)."""
    if warm_up:
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


NOISE_RETRIES = 2
"""Times :func:`seconds_per_step` re-measures t_1 and t_n when the n-step run timed no
longer than the 1-step run."""


def seconds_per_step(case: Case, backend: str, quick: bool) -> dict:
    """Marginal seconds per step of ``case`` with ``backend``, and the fixed cost of a call.

    t_1, the median time of a 1-step run, is the fixed cost of a call (validation, first
    touch of the freshly allocated state and output buffers, copying the output) plus one
    step; it is reported as ``call_s``. The step count n is then grown from 2 until a run
    lasts a fifth of max(RUN_SECONDS, 5 t_1) and scaled to that (at least MIN_STEPS, at
    most ``case.max_steps``), so the work of the steps dominates the fixed cost. The time
    per step is (t_n - t_1) / (n - 1) with t_n the median n-step time.

    Raises
    ------
    RuntimeError
        If t_n <= t_1 after :data:`NOISE_RETRIES` re-measurements (the steps are lost in
        the timing noise of the call).
    """
    repeats = QUICK_REPEATS if quick else REPEATS
    fewest = QUICK_MIN_STEPS if quick else MIN_STEPS
    t_1 = median_seconds(lambda: case.run(backend, 1), repeats)
    target = max(QUICK_RUN_SECONDS if quick else RUN_SECONDS, 5 * t_1)
    steps = min(2, case.max_steps)
    while True:
        start = time.perf_counter()
        case.run(backend, steps)
        elapsed = time.perf_counter() - start
        if (elapsed >= target / 5 and steps >= fewest) or steps >= case.max_steps:
            break
        steps = min(case.max_steps, steps * (10 if elapsed < target / 100 else 4))
    steps = max(fewest, min(case.max_steps, int(steps * target / max(elapsed, 1e-9))))
    taken = case.run(backend, steps)
    t_n = median_seconds(lambda: case.run(backend, steps), repeats)
    for _ in range(NOISE_RETRIES):  # a busy machine can stall one timing for longer than
        if taken <= 1 or t_n > t_1:  # the whole run: time both again before giving up
            break
        t_1 = median_seconds(lambda: case.run(backend, 1), repeats)
        t_n = median_seconds(lambda: case.run(backend, steps), repeats)
    if taken <= 1 or t_n <= t_1:
        raise RuntimeError(f"{case.setting}/{case.solver} ({case.size}, {backend}): "
                           f"{taken} steps took {t_n:.3g} s, one step {t_1:.3g} s")
    return {"s_per_step": (t_n - t_1) / (taken - 1), "call_s": t_1, "steps": taken}


@lru_cache(maxsize=None)
def matmul_rate(n: int = 1024, repeats: int = 5) -> float:
    """Dense float64 matmul rate (flop/s) of this machine's BLAS at n x n (all threads)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    out = np.empty((n, n))
    return 2.0 * n ** 3 / median_seconds(lambda: np.dot(a, b, out), repeats)


@lru_cache(maxsize=None)
def streaming_bandwidth(nbytes: int, repeats: int = 5) -> float:
    """Bytes/s of a BLAS matrix-vector product whose matrix holds ``nbytes`` (at least
    1 MB): the rate at which this machine streams a working set of that size from the
    level of the memory hierarchy that holds it (this machine's L3 is large, so tens of
    MB stream from cache, not from DRAM)."""
    n = max(int(math.sqrt(max(nbytes, 2**20) / 8)), 16)
    rng = np.random.default_rng(0)
    a, x = rng.standard_normal((n, n)), rng.standard_normal(n)
    out = np.empty(n)
    calls = max(1, int(2**26 // (8 * n * n)))

    def run() -> None:
        for _ in range(calls):
            np.dot(a, x, out)

    return calls * 8.0 * n * n / median_seconds(run, repeats)


def roofline(case: Case, seconds: float) -> dict:
    """The case's bound and the fraction of it reached in ``seconds`` per step.

    bound = max(flops / matmul rate, bytes / streaming bandwidth at the step's working
    set size); ``limit`` names the larger term.
    """
    bandwidth = streaming_bandwidth(int(case.working_set))
    compute = case.flops / matmul_rate()
    memory = case.bytes / bandwidth
    bound = max(compute, memory)
    return {"bound_s": bound, "limit": "matmul" if compute >= memory else "memory",
            "bandwidth_bytes_per_s": bandwidth,
            "fraction": bound / seconds, "gflops": case.flops / seconds / 1e9,
            "gbytes_per_s": case.bytes / seconds / 1e9}


def error(y: np.ndarray | None, reference: np.ndarray) -> float:
    """max |y - reference| / max(1, max |reference|); inf for a run that gave up."""
    if y is None:
        return math.inf
    return float(np.max(np.abs(y - reference)) / max(1.0, np.max(np.abs(reference))))


class _BudgetExhausted(Exception):
    """Raised inside a solve_ivp run that used up IVP_MAX_NFEV field evaluations."""


def ivp(race: Race, method: str, rtol: float) -> np.ndarray | None:
    """y(T) by ``solve_ivp(method)`` at ``rtol`` (atol = rtol * 1e-3); None if the run
    needs more than IVP_MAX_NFEV evaluations (loose tolerances on stiff flows can take
    minutes while missing the accuracy by far)."""
    calls = 0

    def counted(t: float, y: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls > IVP_MAX_NFEV:
            raise _BudgetExhausted
        return race.vector_field(t, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sol = solve_ivp(counted, (0.0, race.T), race.y0, method=method, rtol=rtol,
                            atol=rtol * 1e-3, t_eval=[race.T])
        except _BudgetExhausted:
            return None
    if not sol.success:
        raise RuntimeError(f"solve_ivp {method} failed on {race.setting}/{race.solver}: "
                           f"{sol.message}")
    return sol.y[:, -1]


def loosest_tolerance(accurate: Callable[[float], bool], rtols: Sequence[float],
                       refine: int = REFINE) -> float | None:
    """Loosest rtol in ``rtols`` (loosest first) passing ``accurate``, then ``refine``
    bisections in log10(rtol) towards the next looser one; None if none passes."""
    looser = None
    for rtol in rtols:
        if accurate(rtol):
            break
        looser = rtol
    else:
        return None
    if looser is not None:
        lo, hi = math.log10(rtol), math.log10(looser)
        for _ in range(refine):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if accurate(10.0 ** mid) else (lo, mid)
        rtol = 10.0 ** lo
    return rtol


def fewest_steps(accurate: Callable[[int], bool], start: int, refine: int = REFINE,
                  cap: int = 10**8) -> int | None:
    """Fewest fixed steps passing ``accurate``: doubling from ``start``, then ``refine``
    bisections between the last failure and the first success."""
    steps, failed = int(start), None
    while not accurate(steps):
        failed, steps = steps, 2 * steps
        if steps > cap:
            return None
    if failed is not None:
        lo, hi = failed, steps
        for _ in range(refine):
            mid = (lo + hi) // 2
            if mid in (lo, hi):
                break
            lo, hi = (lo, mid) if accurate(mid) else (mid, hi)
        steps = hi
    return steps


def run_race(race: Race, quick: bool) -> dict:
    """Time our solver and each ``solve_ivp`` method at the cheapest setting reaching
    ACCURACY against a reference (DOP853 at rtol 1e-13). The search refines REFINE times
    (``quick``: once), so a reported speed-up may favour either side by up to one
    refinement interval."""
    reference = ivp(race, "DOP853", 1e-13)
    if reference is None:
        raise RuntimeError(f"{race.setting}/{race.solver}: no DOP853 reference within "
                           f"{IVP_MAX_NFEV} evaluations")
    repeats = QUICK_REPEATS if quick else REPEATS
    result: dict = {"T": race.T, "label": race.label, "accuracy": ACCURACY}

    def ours_ok(knob) -> bool:
        return error(race.ours(knob), reference) <= ACCURACY

    refine = 1 if quick else REFINE
    if race.adaptive:
        knob = loosest_tolerance(ours_ok, [r for r in IVP_RTOLS if r <= race.coarse], refine)
    else:
        knob = fewest_steps(ours_ok, int(race.coarse), refine)
    if knob is None:
        raise RuntimeError(f"{race.setting}/{race.solver}: our solver never reached "
                           f"{ACCURACY:g}")
    result["ours"] = {"knob": knob, "error": error(race.ours(knob), reference),
                      "time_s": median_seconds(lambda: race.ours(knob), repeats)}
    for method in IVP_METHODS:
        rtol = loosest_tolerance(lambda r: error(ivp(race, method, r), reference) <= ACCURACY,
                                  IVP_RTOLS, refine)
        if rtol is None:
            result[method] = {"reached": False}
            continue
        seconds = median_seconds(lambda: ivp(race, method, rtol), repeats)
        result[method] = {"reached": True, "rtol": rtol, "time_s": seconds,
                          "error": error(ivp(race, method, rtol), reference),
                          "speedup": seconds / result["ours"]["time_s"]}
    return result


def probe_compile(setting: str) -> None:
    """Print (JSON, last line) the first call of every small case of ``setting`` in this
    process: wall seconds and the part numba spent compiling (a kernel shared by several
    solvers is compiled by the first of them)."""
    import importlib

    from theory.numba_options import CompileClock

    start = time.perf_counter()
    module = importlib.import_module(f"benchmarks.{setting}")
    imported = time.perf_counter()
    report: dict = {"import_s": imported - start, "solvers": {}}
    for case in module.cases(quick=True):
        if case.size != "small":
            continue
        with CompileClock() as clock:
            begin = time.perf_counter()
            case.run("numba", 2)
            wall = time.perf_counter() - begin
        report["solvers"][case.solver] = {"first_call_s": wall, "compile_s": clock.seconds}
    print(json.dumps(report))


def compile_report(setting: str) -> dict:
    """:func:`probe_compile` in two fresh processes sharing an empty temporary
    ``NUMBA_CACHE_DIR``: ``cold`` compiles (and writes the cache), ``cached`` loads it."""
    code = f"from benchmarks.harness import probe_compile; probe_compile({setting!r})"
    results = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        for label in ("cold", "cached"):
            env = dict(os.environ, OVERPARAM_NUMBA_CACHE="1", NUMBA_CACHE_DIR=cache_dir)
            proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                                  capture_output=True, text=True, check=True)
            results[label] = json.loads(proc.stdout.splitlines()[-1])
    return results


def import_seconds(modules: list[str], repeats: int = 3) -> float:
    """Median wall time of importing ``modules`` in a fresh interpreter (measured inside
    it, so interpreter start-up is excluded)."""
    code = (f"import time; t = time.perf_counter(); import {', '.join(modules)}; "
            "print(time.perf_counter() - t)")
    return statistics.median(
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()[-1])
        for _ in range(repeats))


def probe_derivations(module_name: str) -> None:
    """Print (JSON) the first and second call time of every public cached derivation
    (``*_expr``) of ``analytic.<module_name>`` callable with its defaults, in order."""
    import importlib
    import inspect

    module = importlib.import_module(f"analytic.{module_name}")
    report = {}
    for name, function in vars(module).items():
        if not (name.endswith("_expr") and hasattr(function, "cache_info")):
            continue
        if any(p.default is p.empty for p in inspect.signature(function).parameters.values()):
            continue
        begin = time.perf_counter()
        function()
        first = time.perf_counter() - begin
        begin = time.perf_counter()
        function()
        report[name] = {"first_s": first, "second_s": time.perf_counter() - begin}
    print(json.dumps(report))


def derivation_report(module_name: str) -> dict:
    """:func:`probe_derivations` in a fresh process."""
    code = ("from benchmarks.harness import probe_derivations; "
            f"probe_derivations({module_name!r})")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.splitlines()[-1])
