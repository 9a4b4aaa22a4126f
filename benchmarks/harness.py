"""The measurements behind ``python -m benchmarks``: time per step of a solver (jitted and
NumPy twin), the machine's bounds (dense-matmul rate, streaming bandwidth), the roofline
fraction, and the race of a flow against ``scipy.integrate.solve_ivp`` at equal accuracy.

Each setting's benchmark module describes its solvers as :class:`Case` objects (one per
solver and size), its flows as :class:`Race` objects and, optionally, its hot kernels
that are not solvers as :class:`Kernel` objects; this module measures them the same way
for every setting.
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
from typing import Callable, Sequence, TypeVar

import numpy as np
from scipy.integrate import solve_ivp

from benchmarks.common import ROOT, THREAD_VARIABLES
from theory.numba_options import jit_sum

RUN_SECONDS = 0.2
"""Target wall time of one timed run (the step count is calibrated to it)."""
QUICK_RUN_SECONDS = 0.05
CALL_MULTIPLE, QUICK_CALL_MULTIPLE = 5.0, 3.0
"""A timed run lasts at least this many times a 1-step run (:func:`seconds_per_step`)."""
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
R = TypeVar("R")


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


@dataclass(frozen=True)
class Kernel:
    """A hot kernel of a setting that is not a solver (``benchmarks.<setting>.kernels``),
    one call computing the same value by each backend.

    Attributes
    ----------
    runs : dict
        Backend -> ``run() -> float``: ``"numba"`` (the jitted kernel, the reference),
        ``"numpy"`` (its twin) and, when JAX is installed, ``"jax"`` (``jax.jit`` of the
        same computation, waited for).
    """

    setting: str
    kernel: str
    size: str
    label: str
    runs: dict[str, Callable[[], float]] = field(repr=False)


KERNEL_REPEATS, QUICK_KERNEL_REPEATS = 5, 3
"""Timed calls per backend of :func:`time_kernel` (the shortest counts)."""


def time_kernel(kernel: Kernel, quick: bool) -> dict:
    """Seconds per call of each backend of ``kernel`` (:func:`best_seconds`; the untimed
    first call, which also compiles, gives the value), each backend's value relative to
    numba's, ``|value / numba - 1|``, and the ratios backend time / numba time
    (``numpy_ratio``: the twin ratio; ``jax_ratio``: > 1 when ours is faster)."""
    repeats = QUICK_KERNEL_REPEATS if quick else KERNEL_REPEATS
    reference = kernel.runs["numba"]()
    row: dict = {}
    for backend, run in kernel.runs.items():
        value = run()
        row[backend] = {"s": best_seconds(run, repeats, warm_up=False),
                        "relative_difference": abs(value / reference - 1.0)}
    for backend in [b for b in row if b != "numba"]:
        row[f"{backend}_ratio"] = row[backend]["s"] / row["numba"]["s"]
    return row


def median_seconds(run: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Median wall time of ``repeats`` calls of ``run`` (after one untimed warm-up call,
    unless ``warm_up`` is false)."""
    if warm_up:
        run()
    return statistics.median(timed(run)[0] for _ in range(repeats))


def best_seconds(run: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Shortest wall time of ``repeats`` calls of ``run`` (after one untimed warm-up call,
    unless ``warm_up`` is false): on a shared machine noise only ever adds time, so the
    minimum is the estimate least disturbed by it."""
    if warm_up:
        run()
    return min(timed(run)[0] for _ in range(repeats))


def timed(run: Callable[[], R]) -> tuple[float, R]:
    """(wall seconds, result) of one call of ``run``."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


DOMINANCE = 2.0
"""The fastest n-step run must last at least DOMINANCE times the fastest 1-step run (the
steps then make up at least half of it); otherwise n grows (:func:`seconds_per_step`)."""
AGREEMENT = 0.25
"""Largest accepted disagreement of the two fastest timings of a step count, as a fraction
of the steps' time t_n - t_1 (:func:`seconds_per_step`)."""
ATTEMPTS, QUICK_ATTEMPTS = 4, 3
"""Rounds of timings :func:`seconds_per_step` takes before it reports a case as noisy."""


def calibrated_steps(case: Case, backend: str, target: float, fewest: int,
                     t_1: float) -> int:
    """Steps for one run of ``case`` to last about ``target`` seconds (at least ``fewest``,
    at most ``case.max_steps``), given t_1, the time of a 1-step run: grown from 2 until
    the faster of two runs lasts a fifth of ``target`` (so a stall of the machine in one
    run cannot shrink the count), then extrapolated from the time per step it shows."""
    steps = min(2, case.max_steps)
    while True:
        elapsed = min(timed(lambda: case.run(backend, steps))[0] for _ in range(2))
        if (elapsed >= target / 5 and steps >= fewest) or steps >= case.max_steps:
            break
        steps = min(case.max_steps, steps * (10 if elapsed < target / 100 else 4))
    if elapsed > t_1 and steps > 1:
        wanted = 1 + (target - t_1) * (steps - 1) / (elapsed - t_1)
    else:  # the steps did not show above the call's cost: scale the whole run
        wanted = steps * target / max(elapsed, 1e-9)
    return max(fewest, min(case.max_steps, int(wanted)))


def marginal(ones: Sequence[float], longs: Sequence[float], taken: int) -> dict:
    """Per-step time from timings of 1-step runs (``ones``) and of ``taken``-step runs
    (``longs``), each at least two: t_1 = min(ones), t_n = min(longs), ``s_per_step`` =
    (t_n - t_1) / (taken - 1), ``call_s`` = t_1, ``steps`` = taken, and ``spread``, the
    larger excess of the second fastest timing of either kind over the fastest, as a
    fraction of t_n - t_1; ``s_per_step`` and ``spread`` are None unless t_n > t_1 and
    taken > 1."""
    t_1, t_n = min(ones), min(longs)
    work = t_n - t_1
    if work <= 0.0 or taken <= 1:
        return {"s_per_step": None, "call_s": t_1, "steps": taken, "spread": None}
    spread = max(sorted(times)[1] - min(times) for times in (ones, longs)) / work
    return {"s_per_step": work / (taken - 1), "call_s": t_1, "steps": taken,
            "spread": spread}


def seconds_per_step(case: Case, backend: str, quick: bool) -> dict:
    """Marginal seconds per step of ``case`` with ``backend``, and the fixed cost of a call.

    t_1, the time of a 1-step run, is the fixed cost of a call (validation, first touch of
    the freshly allocated state and output buffers, copying the output) plus one step; it
    is reported as ``call_s``. The step count n is calibrated so that an n-step run lasts
    max(RUN_SECONDS, CALL_MULTIPLE t_1) (:func:`calibrated_steps`, at least MIN_STEPS, at
    most ``case.max_steps``; ``quick``: the QUICK_ values). Then 1-step and n-step runs
    are timed alternately, ``repeats`` of each per round, and the time per step is
    (t_n - t_1) / (n - 1) with t_1, t_n the fastest of each kind (:func:`marginal`). A
    round is accepted when

    - the steps dominate the call: t_n >= DOMINANCE t_1 (else n grows towards the target
      time by the per-step time measured, and the timings start again), and
    - the fastest timings agree: ``spread`` <= AGREEMENT (else another round is added).

    After ATTEMPTS rounds (``quick``: QUICK_ATTEMPTS) without acceptance the last result
    is returned with ``status`` "noisy" and a ``note`` saying which test failed; nothing
    is raised, so that a noisy case does not stop a benchmark run.

    Returns
    -------
    dict
        The keys of :func:`marginal`, ``status`` ("ok" or "noisy") and, if noisy, ``note``.
    """
    repeats = max(2, QUICK_REPEATS if quick else REPEATS)
    fewest = QUICK_MIN_STEPS if quick else MIN_STEPS
    t_1 = best_seconds(lambda: case.run(backend, 1), repeats)
    target = max(QUICK_RUN_SECONDS if quick else RUN_SECONDS,
                 (QUICK_CALL_MULTIPLE if quick else CALL_MULTIPLE) * t_1)
    steps = calibrated_steps(case, backend, target, fewest, t_1)
    ones: list[float] = []
    longs: list[float] = []
    for _ in range(QUICK_ATTEMPTS if quick else ATTEMPTS):
        for _ in range(repeats):
            ones.append(timed(lambda: case.run(backend, 1))[0])
            seconds, taken = timed(lambda: case.run(backend, steps))
            longs.append(seconds)
        result = marginal(ones, longs, taken)
        t_1, t_n = result["call_s"], min(longs)
        if taken <= 1:
            note = f"a run of {steps} steps took {taken}"
            break
        if t_n < DOMINANCE * t_1:
            note = (f"{taken} steps took {t_n:.3g} s, less than {DOMINANCE:g} x the "
                    f"{t_1:.3g} s of one step")
            if steps < case.max_steps:
                work = t_n - t_1
                grow = (target - t_1) / work if work > 0.0 else 10.0
                steps = min(case.max_steps, max(2 * steps, int(steps * min(grow, 100.0))))
                ones, longs = [], []
            continue
        if result["spread"] <= AGREEMENT:
            return {**result, "status": "ok"}
        note = (f"the fastest two timings differ by {result['spread']:.0%} of the steps' "
                f"time (at most {AGREEMENT:.0%} accepted)")
    return {**result, "status": "noisy", "note": note}


ONE_THREAD = {name: "1" for name in THREAD_VARIABLES}
"""Environment that limits every thread pool of a fresh process to one thread."""


def matmul_seconds(n: int = 1024, repeats: int = 5) -> float:
    """Shortest time of NumPy's float64 n x n product (this process's BLAS threads)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    out = np.empty((n, n))
    return best_seconds(lambda: np.dot(a, b, out), repeats)


def measure_matmul_rates(n: int = 1024, repeats: int = 5) -> dict[str, float]:
    """Dense float64 matmul rate (flop/s) of this machine's BLAS at n x n, best of
    ``repeats``: ``all_threads`` in this process, and ``one_thread`` in a fresh process
    whose thread pools are limited to one (:data:`ONE_THREAD`). On a shared machine a
    multi-threaded product slows down far more than its share when another process holds
    a core (every thread waits for the slowest), so it alone can understate the rate."""
    code = ("from benchmarks.harness import matmul_seconds; "
            f"print(matmul_seconds({n}, {repeats}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={**os.environ, **ONE_THREAD})
    flops = 2.0 * n ** 3
    return {"all_threads": flops / matmul_seconds(n, repeats),
            "one_thread": flops / float(proc.stdout.split()[-1])}


@jit_sum
def stream_sum(a, passes):
    """Sum of ``passes`` passes over ``a`` in one call (reassociated, so vectorized): one
    core streaming ``a`` from wherever it is held. One entry is rewritten (+ 0.0, which
    the compiler may not drop) after every pass, so that no pass can be skipped."""
    total = 0.0
    for p in range(passes):
        part = 0.0
        for i in range(a.size):
            part += a[i]
        total += part
        a[p % a.size] += 0.0
    return total


def streaming_side(nbytes: int) -> int:
    """Side n of the n x n float64 matrix whose bandwidth stands for a working set of
    ``nbytes`` (at least 16)."""
    return max(int(math.sqrt(nbytes / 8)), 16)


def measure_streaming_bandwidths(n: int, repeats: int = 5) -> dict[str, float]:
    """Bytes/s at which this machine streams an n x n float64 matrix from the level of the
    memory hierarchy that holds it (from L1 for a few kB; this machine's L3 is large, so
    tens of MB stream from cache, not from DRAM), best of ``repeats`` runs of 64 MB each:
    ``gemv``, NumPy's BLAS matrix-vector product (all threads), and ``sum``, one core
    summing the matrix (:func:`stream_sum`, every pass in one call, so small sizes are not
    priced at the cost of a call). A busy core slows the threaded product, a single
    thread cannot use a second core's bandwidth: the faster of the two counts."""
    rng = np.random.default_rng(0)
    a, x = rng.standard_normal((n, n)), rng.standard_normal(n)
    flat = a.reshape(-1)
    out = np.empty(n)
    calls = max(1, int(2**26 // (8 * n * n)))

    def gemv() -> None:
        for _ in range(calls):
            np.dot(a, x, out)

    return {name: calls * 8.0 * n * n / best_seconds(run, repeats)
            for name, run in (("gemv", gemv), ("sum", lambda: stream_sum(flat, calls)))}


def _keep_higher(best: dict[str, float], new: dict[str, float]) -> None:
    for key, value in new.items():
        best[key] = max(best.get(key, 0.0), value)


class MachineRates:
    """The best machine rates seen in this run: the load of a shared machine only ever
    lowers a measured rate, so the highest is the closest to what the machine can do, and
    a bound built from it is a bound. Each rate is measured when first asked for;
    :meth:`remeasure` measures all again and keeps the higher values."""

    def __init__(self) -> None:
        self.matmul: dict[str, float] = {}
        self.bandwidth: dict[int, dict[str, float]] = {}

    def matmul_rate(self) -> float:
        """flop/s of the dense product (:func:`measure_matmul_rates`, the faster)."""
        if not self.matmul:
            _keep_higher(self.matmul, measure_matmul_rates())
        return max(self.matmul.values())

    def bandwidth_at(self, nbytes: float) -> float:
        """Bytes/s streamed at a working set of ``nbytes``
        (:func:`measure_streaming_bandwidths`, the faster)."""
        n = streaming_side(int(nbytes))
        if n not in self.bandwidth:
            self.bandwidth[n] = measure_streaming_bandwidths(n)
        return max(self.bandwidth[n].values())

    def remeasure(self, working_sets: Sequence[float] | None = None) -> None:
        """Measure the matmul rate and the bandwidths again (only at ``working_sets`` if
        given, else at every size measured so far), keeping the higher values."""
        _keep_higher(self.matmul, measure_matmul_rates())
        sides = (set(self.bandwidth) if working_sets is None
                 else {streaming_side(int(w)) for w in working_sets})
        for n in sides:
            _keep_higher(self.bandwidth.setdefault(n, {}), measure_streaming_bandwidths(n))


RATES = MachineRates()
"""The rates of this run, shared by every :func:`roofline`."""


def roofline(flops: float, nbytes: float, working_set: float, seconds: float | None) -> dict:
    """The bound of a step of ``flops`` flops streaming ``nbytes`` bytes out of a working
    set of ``working_set`` bytes, and the fraction of it reached in ``seconds`` per step.

    bound = max(flops / matmul rate, bytes / streaming bandwidth at the working set size),
    the rates of :data:`RATES`; ``limit`` names the larger term. Without ``seconds`` (no
    time per step) the fraction and the achieved rates are None.
    """
    bandwidth = RATES.bandwidth_at(working_set)
    compute = flops / RATES.matmul_rate()
    memory = nbytes / bandwidth
    bound = max(compute, memory)
    reached = seconds is not None and seconds > 0.0
    return {"bound_s": bound, "limit": "matmul" if compute >= memory else "memory",
            "bandwidth_bytes_per_s": bandwidth,
            "fraction": bound / seconds if reached else None,
            "gflops": flops / seconds / 1e9 if reached else None,
            "gbytes_per_s": nbytes / seconds / 1e9 if reached else None}


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
    refinement interval. Times are the fastest of ``repeats`` runs; a ``solve_ivp`` run
    of the search (which takes up to seconds) counts as one of them."""
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
                      "time_s": best_seconds(lambda: race.ours(knob), repeats)}
    for method in IVP_METHODS:
        runs: dict[float, tuple[float, np.ndarray | None]] = {}

        def run(rtol: float, method: str = method,
                runs: dict[float, tuple[float, np.ndarray | None]] = runs) -> np.ndarray | None:
            if rtol not in runs:
                runs[rtol] = timed(lambda: ivp(race, method, rtol))
            return runs[rtol][1]

        rtol = loosest_tolerance(lambda r: error(run(r), reference) <= ACCURACY, IVP_RTOLS,
                                 refine)
        if rtol is None:
            result[method] = {"reached": False}
            continue
        seconds = min([runs[rtol][0]] + [timed(lambda: ivp(race, method, rtol))[0]
                                         for _ in range(repeats - 1)])
        result[method] = {"reached": True, "rtol": rtol, "time_s": seconds,
                          "error": error(runs[rtol][1], reference),
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
    """Print (JSON) for every public cached closed form (``*_expr``) of
    ``analytic.<module_name>`` callable with its defaults, in order: the first call
    (``first_s``: parsing its stored form, what a user pays), a second call (``second_s``:
    cached), and its live sympy derivation (``derive_s``: what ``python -m
    analytic.generate`` pays)."""
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
        second = time.perf_counter() - begin
        begin = time.perf_counter()
        function.derive()
        report[name] = {"first_s": first, "second_s": second,
                        "derive_s": time.perf_counter() - begin}
    print(json.dumps(report))


def derivation_report(module_name: str) -> dict:
    """:func:`probe_derivations` in a fresh process."""
    code = ("from benchmarks.harness import probe_derivations; "
            f"probe_derivations({module_name!r})")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.splitlines()[-1])
