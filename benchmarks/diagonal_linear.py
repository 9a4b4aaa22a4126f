"""Benchmark of the diagonal linear network solvers in :mod:`theory.diagonal_linear`.

Instances ``sparse_instance(N, M, sparsity, seed=0)`` at N = 40 (M = 20, sparsity 3) and
N = 4000 (M = 2000, sparsity 30), depth 2, alpha = 0.1, start u = v = alpha (x = 0).

Flows (gradient flow, eta = 1; per-coordinate WN, eta_theta = 1/r0^2 with r0 = alpha
sqrt 2, eta_r = 10): the time T at which the loss first falls below LOSS_TARGET is found
from one densely sampled jitted run (chunks of doubling length with SAMPLES_PER_CHUNK
samples each, the bracketing interval then resampled REFINE_SAMPLES times from its left
state). Then a run from 0 to exactly T (one sample time) is timed (wall
clock, median of repeats after a warm-up) with

(a) the jitted solver at its defaults (rtol 1e-12, atol 1e-15);
(b) the NumPy twin (``backend="numpy"``), if a run is predicted to take < NUMPY_CAP_S:
    the prediction is the per-step time of a MAX_PROBE_STEPS-step run times the steps
    (accepted + rejected) of the jitted run; otherwise reported as skipped with that
    estimate;
(c) ``scipy.integrate.solve_ivp`` with RK45 and with DOP853 on the same vector field
    (``field_numpy`` with the solver's parameter vector [code, depth, rate_1,
    rate_2]), at equal accuracy: the error of a run is max |x(T) - x_ref(T)| against a
    reference run of our jitted solver at rtol REF_RTOL (atol REF_RTOL/1000); the target is
    the error of (a). solve_ivp's rtol (atol = rtol/1000, the ratio of our defaults) is
    the loosest of RTOL_LIST meeting the target, refined by bisection in log10(rtol)
    between it and the next looser one. scipy measures the error with an RMS norm, ours
    with a max norm, hence the search.

For each: wall time, steps (accepted + rejected for ours; accepted for solve_ivp, counted
by an untimed run of the same scipy solver class stepped by hand), field evaluations (ours:
7 per attempted step, no FSAL reuse; solve_ivp: nfev), the loss at T and the error.

Discrete solvers (gradient descent lr = 0.1; WN descent lr_r = 0.1, lr_theta = 0.1 / r0^2;
at most MAX_RUN_STEPS steps per run): steps per second jitted vs NumPy twin (median after a warm-up).

Compile cost of the two kernels, ``theory.diagonal_linear.LOOPS.fixed_step`` (discrete) and
``LOOPS.adaptive`` (flows), each measured in fresh subprocesses (cold, cache write,
cache load) as in the other benchmarks.

``--quick`` times N = 40 fully (short tolerance list, no bisection, fewer repeats) and at
N = 4000 only the discrete solvers: one jitted flow run to T at N = 4000 takes ~5e3 (GF,
T ~ 310) to ~7e3 (WN, T ~ 200) adaptive steps of 7 field evaluations that each stream the
64 MB matrix A twice (~2 ms per evaluation here), i.e. 1-2 min per run, and the search
for T, the reference and the solve_ivp tolerance search need several runs. The full run
at N = 4000 uses one repeat, the short tolerance list and one bisection; it took 57 min
here (``--size large``), most of it in solve_ivp's tolerance search at rtol down to 1e-13. ``--size small|large`` restricts the run to one size; each flow row is
printed as soon as it is measured.

Run from the repository root::

    python -m benchmarks.diagonal_linear [--quick] [--size small|large|all] [--json PATH]
"""
from __future__ import annotations

import math
import os
import time
import warnings
from typing import Callable

import numpy as np
from scipy.integrate import solve_ivp

from benchmarks.common import (check_trajectory, compile_times, detail_command, machine_info,
                              median_rate, print_probe, write_json_report)
from benchmarks import harness as h
from benchmarks.harness import Case, Race
from theory import diagonal_linear as dl

SIZES = ((40, 20, 3), (4000, 2000, 30))
"""(N, M, sparsity)."""
SEED = 0
ALPHA = 0.1
DEPTH = 2
R0 = ALPHA * math.sqrt(2.0)
ETA_R = 10.0
ETA_THETA = 1.0 / R0 ** 2
LR = 0.1
LOSS_TARGET = 1e-8
FLOWS: dict[str, tuple[Callable, int, dict[str, float]]] = {
    "gradient_flow": (dl.gradient_flow, dl.GF, {"eta": 1.0}),
    "wn_flow": (dl.wn_flow, dl.POLAR, {"eta_radius": ETA_R, "eta_direction": ETA_THETA}),
}
"""Flow -> (solver, parametrization code, rates)."""
DISCRETE: dict[str, tuple[Callable, dict[str, float]]] = {
    "gradient_descent": (dl.gradient_descent, {"lr": LR}),
    "wn_descent": (dl.wn_descent, {"lr_radius": LR, "lr_direction": LR / R0 ** 2}),
}
"""WN descent at lr_r = lr (lr eta_r = 1 diverges within 10 steps) and lr_theta = lr / r0^2
(matching gradient descent's first step)."""
MAX_RUN_STEPS = 20_000
"""Cap on a discrete run (long runs end near subnormal states at N = 40)."""
DEFAULT_RTOL, DEFAULT_ATOL = 1e-12, 1e-15
REF_RTOL = 1e-13
SAMPLES_PER_CHUNK, REFINE_SAMPLES, FIRST_CHUNK = 64, 200, 1.0
NUMPY_CAP_S = 60.0
MAX_PROBE_STEPS = 60
RTOL_LIST = tuple(10.0 ** -k for k in range(5, 14))
QUICK_RTOL_LIST = (1e-8, 1e-10, 1e-12, 1e-13)
BISECTIONS = 3
IVP_METHODS = ("RK45", "DOP853")
PROBE_ENV = "OVERPARAM_BENCH_PROBE_KERNEL"


def instance(n: int, m: int, sparsity: int) -> tuple[np.ndarray, np.ndarray]:
    A, y, _ = dl.sparse_instance(n, m, sparsity, SEED)
    return A, y


def rates(code: int, kwargs: dict[str, float]) -> np.ndarray:
    """The solver's parameter vector [code, depth, rate_1, rate_2]."""
    if code == dl.GF:
        return np.array([code, DEPTH, kwargs["eta"], 0.0], dtype=np.float64)
    return np.array([code, DEPTH, kwargs["eta_radius"], kwargs["eta_direction"]], dtype=np.float64)


def run_flow(name: str, A, y, T: float, backend: str = "numba", rtol: float = DEFAULT_RTOL,
             atol: float = DEFAULT_ATOL, max_steps: int = 2_000_000) -> dl.DiagonalTrajectory:
    solver, _, kwargs = FLOWS[name]
    return solver(A, y, alpha=ALPHA, times=[T], rtol=rtol, atol=atol,
                  max_steps=max_steps, backend=backend, **kwargs)


def find_T(name: str, A, y) -> float:
    """First time the loss is below LOSS_TARGET (dense sampling, module docstring)."""
    solver, _, kwargs = FLOWS[name]
    t0, state, length = 0.0, None, FIRST_CHUNK
    while True:
        offsets = np.linspace(0.0, length, SAMPLES_PER_CHUNK + 1)[1:]
        traj = solver(A, y, alpha=ALPHA, times=offsets, state0=state, **kwargs)
        check_trajectory(traj, f"{name} search")
        losses = [dl.loss(x, A, y) for x in traj.x]
        hit = next((i for i, value in enumerate(losses) if value < LOSS_TARGET), None)
        if hit is not None:
            break
        t0, state, length = t0 + length, traj.final, 2.0 * length
    left = traj.times[hit - 1] if hit > 0 else 0.0
    width = traj.times[hit] - left
    start = traj.states[hit - 1] if hit > 0 else state
    offsets = np.linspace(0.0, width, REFINE_SAMPLES + 1)[1:]
    fine = solver(A, y, alpha=ALPHA, times=offsets, state0=start, **kwargs)
    losses = [dl.loss(x, A, y) for x in fine.x]
    first = next(i for i, value in enumerate(losses) if value < LOSS_TARGET or i == len(
        losses) - 1)
    return float(t0 + left + fine.times[first])


def ivp_run(method: str, A, y, code: int, params: np.ndarray, T: float, rtol: float):
    """solve_ivp from the solver's initial state to T; returns (sol, x(T))."""
    y0 = dl.initial_state(code, ALPHA, A.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = solve_ivp(lambda t, s: dl.field_numpy(s, A, y, params), (0.0, T), y0,
                        method=method, rtol=rtol, atol=rtol * 1e-3, t_eval=[T])
    if not sol.success:
        raise RuntimeError(f"solve_ivp {method} failed: {sol.message}")
    return sol, dl.to_x(sol.y[:, -1], code, DEPTH)


def ivp_count(method: str, A, y, code: int, params: np.ndarray, T: float, rtol: float
              ) -> tuple[int, int, np.ndarray]:
    """(accepted steps, nfev, x(T)) of the scipy solver class behind ``solve_ivp(method)``."""
    from scipy.integrate import DOP853, RK45
    solver = {"RK45": RK45, "DOP853": DOP853}[method](
        lambda t, s: dl.field_numpy(s, A, y, params), 0.0,
        dl.initial_state(code, ALPHA, A.shape[1]), T, rtol=rtol, atol=rtol * 1e-3)
    steps = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while solver.status == "running":
            message = solver.step()
            steps += 1
    if solver.status != "finished":
        raise RuntimeError(f"{method} failed: {message}")
    return steps, int(solver.nfev), dl.to_x(solver.y, code, DEPTH)


def ivp_search(method: str, A, y, code, params, T, x_ref, target, rtols, bisections):
    """Loosest rtol meeting ``target`` (module docstring); returns (rtol, error, tried)."""
    tried: dict[float, float] = {}

    def error(rtol: float) -> float:
        if rtol not in tried:
            tried[rtol] = float(np.max(np.abs(ivp_run(method, A, y, code, params, T, rtol)[1]
                                              - x_ref)))
        return tried[rtol]

    looser = None
    chosen = None
    for rtol in sorted(rtols, reverse=True):
        if error(rtol) <= target:
            chosen = rtol
            break
        looser = rtol
    if chosen is None:
        return min(rtols), tried[min(rtols)], tried, False
    if looser is not None:
        lo, hi = math.log10(chosen), math.log10(looser)
        for _ in range(bisections):
            mid = 10.0 ** ((lo + hi) / 2)
            if error(mid) <= target:
                lo = math.log10(mid)
            else:
                hi = math.log10(mid)
        chosen = 10.0 ** lo
    return chosen, error(chosen), tried, True


def flow_row(name: str, A, y, rtols: tuple[float, ...], bisections: int, repeats: int) -> dict:
    _, code, kwargs = FLOWS[name]
    params = rates(code, kwargs)
    T = find_T(name, A, y)
    entry: dict = {"T": T}
    ref = run_flow(name, A, y, T, rtol=REF_RTOL, atol=REF_RTOL * 1e-3)
    check_trajectory(ref, f"{name} reference")
    x_ref = ref.x[-1]
    entry["reference"] = {"rtol": REF_RTOL, "steps": ref.steps, "rejected": ref.stats.rejected}

    traj = run_flow(name, A, y, T)
    check_trajectory(traj, f"{name} (numba)")
    x = traj.x[-1]
    target = float(np.max(np.abs(x - x_ref)))
    entry["numba"] = {"time_s": h.median_seconds(lambda: run_flow(name, A, y, T), repeats,
                                            warm_up=False),
                      "steps": traj.steps, "rejected": traj.stats.rejected,
                      "nfev": 7 * (traj.steps + traj.stats.rejected), "error": target,
                      "loss": dl.loss(x, A, y), "rtol": DEFAULT_RTOL}

    total = traj.steps + traj.stats.rejected
    probe_steps = min(MAX_PROBE_STEPS, total)
    start = time.perf_counter()
    run_flow(name, A, y, T, backend="numpy", max_steps=probe_steps)
    estimate = (time.perf_counter() - start) / probe_steps * total
    if estimate < NUMPY_CAP_S:
        twin = run_flow(name, A, y, T, backend="numpy")
        check_trajectory(twin, f"{name} (numpy)")
        seconds = h.median_seconds(lambda: run_flow(name, A, y, T, backend="numpy"), repeats,
                              warm_up=False)
        entry["numpy"] = {"time_s": seconds, "steps": twin.steps, "rejected": twin.stats.rejected,
                          "nfev": 7 * (twin.steps + twin.stats.rejected),
                          "error": float(np.max(np.abs(twin.x[-1] - x_ref))),
                          "loss": dl.loss(twin.x[-1], A, y), "rtol": DEFAULT_RTOL}
    else:
        entry["numpy"] = {"skipped": True, "estimated_s": estimate,
                          "probe_steps": probe_steps}

    for method in IVP_METHODS:
        rtol, err, tried, met = ivp_search(method, A, y, code, params, T, x_ref, target,
                                           rtols, bisections)
        steps, nfev, x_ivp = ivp_count(method, A, y, code, params, T, rtol)
        seconds = h.median_seconds(lambda: ivp_run(method, A, y, code, params, T, rtol), repeats,
                              warm_up=False)
        entry[method] = {"time_s": seconds, "rtol": rtol, "atol": rtol * 1e-3, "error": err,
                         "target_met": met, "nfev": nfev, "steps": steps,
                         "loss": dl.loss(x_ivp, A, y),
                         "tried": {f"{k:.3g}": v for k, v in sorted(tried.items())}}
    return entry


def discrete_row(name: str, backend: str, A, y, steps: int, repeats: int) -> dict:
    solver, kwargs = DISCRETE[name]

    def run() -> int:
        traj = solver(A, y, alpha=ALPHA, steps=[steps], backend=backend, **kwargs)
        check_trajectory(traj, f"{name} N={A.shape[1]} ({backend})")
        return traj.steps

    rate, taken = median_rate(run, repeats)
    return {"steps_per_s": rate, "steps": taken}


def discrete_steps(name: str, backend: str, A, y, target: float) -> int:
    """Steps for one run to last about ``target`` s (from a short timed run)."""
    solver, kwargs = DISCRETE[name]
    trial = 10
    solver(A, y, alpha=ALPHA, steps=[trial], backend=backend, **kwargs)
    while True:
        start = time.perf_counter()
        traj = solver(A, y, alpha=ALPHA, steps=[trial], backend=backend, **kwargs)
        elapsed = time.perf_counter() - start
        check_trajectory(traj, f"{name} N={A.shape[1]} ({backend}) calibration")
        if elapsed >= target / 5 or trial >= MAX_RUN_STEPS:
            return min(MAX_RUN_STEPS, max(5, int(trial * target / elapsed)))
        trial = min(10 * trial, MAX_RUN_STEPS)


def probe(start: float) -> None:
    """Print (JSON) the first-call time of one kernel in this fresh process.

    The kernel is chosen by the environment variable PROBE_ENV ("discrete":
    ``LOOPS.fixed_step`` via gradient descent then WN descent; "adaptive":
    ``LOOPS.adaptive`` via gradient flow then WN flow), at N = 40.
    """
    kind = os.environ.get(PROBE_ENV, "discrete")
    A, y = instance(*SIZES[0])
    imported = time.perf_counter()
    if kind == "discrete":
        kernel = dl.LOOPS.fixed_step
        for name, (solver, kwargs) in DISCRETE.items():
            solver(A, y, alpha=ALPHA, steps=[10], **kwargs)
            if name == "gradient_descent":
                first = time.perf_counter()
    else:
        kernel = dl.LOOPS.adaptive
        for name in FLOWS:
            run_flow(name, A, y, 0.1)
            if name == "gradient_flow":
                first = time.perf_counter()
    print_probe(start, imported, first, kernel)


def compile_report() -> dict[str, dict]:
    results = {}
    previous = os.environ.get(PROBE_ENV)
    try:
        for kind in ("discrete", "adaptive"):
            os.environ[PROBE_ENV] = kind
            results[kind] = compile_times("benchmarks.diagonal_linear")
    finally:
        if previous is None:
            os.environ.pop(PROBE_ENV, None)
        else:
            os.environ[PROBE_ENV] = previous
    return results


def _fmt_time(r: dict) -> str:
    if r.get("skipped"):
        return f"skipped (estimated {r['estimated_s']:.0f} s from a shorter run)"
    return f"{r['time_s']:.3g} s"


def print_flow_header() -> None:
    print(f"diagonal linear, depth {DEPTH}, alpha {ALPHA}, seed {SEED}; flows timed 0 -> T "
          f"(first loss < {LOSS_TARGET:g}); GF eta 1, WN eta_r {ETA_R:g} eta_theta "
          f"{ETA_THETA:g}; error = max|x(T) - x_ref(T)|, ref = ours at rtol {REF_RTOL:g}")
    print(f"{'flow':<14}{'N':>5}{'T':>9}  {'solver':<8}{'time':>10}{'steps':>8}{'nfev':>9}"
          f"{'rtol':>9}{'error':>10}{'loss(T)':>10}", flush=True)


def print_flow_row(name: str, n: int, e: dict) -> None:
    if "T" not in e:
        print(f"{name:<14}{n:>5}{'':>9}  skipped ({e['skipped']})", flush=True)
        return
    for solver in ("numba", "numpy", *IVP_METHODS):
        r = e[solver]
        head = f"{name:<14}{n:>5}{e['T']:>9.3f}  {solver:<8}"
        if r.get("skipped"):
            print(head + _fmt_time(r))
            continue
        steps_txt = f"{r['steps'] + r.get('rejected', 0):>8d}"
        flag = "" if r.get("target_met", True) else " (target not met)"
        print(head + f"{_fmt_time(r):>10}{steps_txt}{r['nfev']:>9d}{r['rtol']:>9.2g}"
              f"{r['error']:>10.2e}{r['loss']:>10.2e}{flag}", flush=True)


def print_discrete(discrete: dict) -> None:
    print(f"{'discrete':<18}{'N':>5}{'numba steps/s':>15}{'numpy steps/s':>15}{'ratio':>7}")
    for n, rows in discrete.items():
        for name, r in rows.items():
            print(f"{name:<18}{n:>5}{r['numba']['steps_per_s']:>15.4g}"
                  f"{r['numpy']['steps_per_s']:>15.4g}{r['ratio']:>7.2f}")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and optionally write JSON; return the report."""
    _, args = detail_command(
        "python -m benchmarks.diagonal_linear", __doc__, argv,
        "flows at N = 40 only, short tolerance list, no bisection (~1-2 min)",
        lambda p: p.add_argument("--size", choices=("small", "large", "all"), default="all",
                                 help="restrict the run to N = 40 (small) or N = 4000 (large)"))
    target, repeats = (0.1, 3) if args.quick else (0.3, 5)

    flows: dict[str, dict] = {}
    discrete: dict[str, dict] = {}
    sizes = [size for size in SIZES if args.size == "all" or (args.size == "large") == (
        size[0] > 1000)]
    print_flow_header()
    for n, m, sparsity in sizes:
        A, y = instance(n, m, sparsity)
        big = n > 1000
        frows = flows[str(n)] = {}
        for name in FLOWS:
            if big and args.quick:
                frows[name] = {"skipped": "--quick"}
            elif big:
                frows[name] = flow_row(name, A, y, QUICK_RTOL_LIST, 1, 1)
            elif args.quick:
                frows[name] = flow_row(name, A, y, QUICK_RTOL_LIST, 0, repeats)
            else:
                frows[name] = flow_row(name, A, y, RTOL_LIST, BISECTIONS, repeats)
            print_flow_row(name, n, frows[name])
        rows = discrete[str(n)] = {}
        for name in DISCRETE:
            rows[name] = {}
            for backend in ("numba", "numpy"):
                steps = (10 if args.quick else 30) if big else discrete_steps(
                    name, backend, A, y, target)
                rows[name][backend] = discrete_row(name, backend, A, y, steps, repeats)
            rows[name]["ratio"] = (rows[name]["numba"]["steps_per_s"]
                                   / rows[name]["numpy"]["steps_per_s"])
    print_discrete(discrete)
    compile_ = compile_report()

    for kind, kernel in (("discrete", "LOOPS.fixed_step"), ("adaptive", "LOOPS.adaptive")):
        print(f"first call of {kernel} (fresh process, N = {SIZES[0][0]}):")
        for label, c in compile_[kind].items():
            print(f"  {label:<12}{c['first_call_s']:>8.3f} s   import {c['import_s']:.3f} s   "
                  f"cache hits/misses {c['cache_hits']}/{c['cache_misses']}   "
                  f"signatures {c['signatures']}")

    report = {"machine": machine_info(),
              "parameters": {"sizes": [list(s) for s in SIZES], "seed": SEED, "alpha": ALPHA,
                             "depth": DEPTH, "eta_r": ETA_R, "eta_theta": ETA_THETA,
                             "lr": LR, "discrete": {k: v[1] for k, v in DISCRETE.items()},
                             "loss_target": LOSS_TARGET, "ref_rtol": REF_RTOL,
                             "default_rtol": DEFAULT_RTOL, "default_atol": DEFAULT_ATOL,
                             "numpy_cap_s": NUMPY_CAP_S, "repeats": repeats,
                             "quick": args.quick, "size": args.size},
              "flows": flows, "discrete": discrete, "compile": compile_}
    write_json_report(args.json, report)
    return report


SUITE_SMALL = (40, 20, 3, 5)
"""Small size for :func:`cases` and :func:`races`: the instance ``verify`` uses for weight
normalization, ``sparse_instance(40, 20, 3, seed=5)``."""
RACE_T = 100.0
SUITE_FLOWS: dict[str, tuple[Callable, int, dict[str, float]]] = {
    **FLOWS,
    "global_wn_flow": (dl.global_wn_flow, dl.GLOBAL, {
        "eta_radius": ETA_R, "eta_direction": 1.0 / (2 * SUITE_SMALL[0] * ALPHA ** 2)}),
}
"""The flows of :func:`cases` and :func:`races`: ``FLOWS`` and global WN with
eta_direction = 1 / R0^2, R0 = alpha sqrt(2N) at N = 40 (the analogue of WN's
eta_theta = 1 / r0^2; with eta_direction = 50 the flow is so stiff that solve_ivp's DOP853
needs 4e5 evaluations at rtol 1e-10)."""
WN_DESCENT_CAP = 500
"""WN descent at lr_theta = lr / r0^2 drives the radii of off-support coordinates to
subnormal numbers within a few thousand steps on the N = 40 instance."""
STAGES = {"gradient_descent": 1, "wn_descent": 1, "gradient_flow": 7, "wn_flow": 7,
          "global_wn_flow": 7}
"""Field evaluations per (attempted) step: Euler 1, Dormand-Prince 7."""


def _work(name: str, n: int, m: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step. Per evaluation the kernel forms g = A^T (A x - b)
    (:func:`theory.diagonal_linear.residual_gradient`): for N <= GRAM_MAX_COLUMNS as
    gram x - c, 2 N^2 flops reading the N x N Gram matrix and c once; otherwise over
    blocks of rows of A, 4 M N flops, each block read from memory once and again from the
    cache for A^T r, so 8 M N bytes plus 2 x 8 M (b read, the residual written). Every
    evaluation adds ~30 N flops (forming x, the field; polar: cos and sin) and 6 x 8 N
    bytes (state, x, g, output); Dormand-Prince adds its 7-stage combinations and error
    estimate, ~60 N flops and ~30 x 8 N bytes per step."""
    s = STAGES[name]
    extra = (60 * n, 30 * 8.0 * n) if s > 1 else (4 * n, 4 * 8.0 * n)
    if n <= dl.GRAM_MAX_COLUMNS:
        product_flops, matrix_words = 2.0 * n * n, n * n + n
    else:
        product_flops, matrix_words = 4.0 * m * n, m * n + 2 * m
    working_set = 8.0 * (matrix_words + 2 * n * (s + 4))  # matrix, vectors, state, stages
    return (s * (product_flops + 30 * n) + extra[0],
            s * 8.0 * (matrix_words + 6 * n) + extra[1], working_set)


def _suite_run(name: str, A, y) -> Callable[[str, int], int]:
    """run(backend, steps): discrete solvers take ``steps`` steps; flows attempt ``steps``
    adaptive steps (a far horizon and ``max_steps`` = steps end the run)."""
    def run(backend: str, steps: int) -> int:
        if name in DISCRETE:
            solver, kwargs = DISCRETE[name]
            traj = solver(A, y, alpha=ALPHA, steps=[steps], backend=backend, **kwargs)
        else:
            solver, _, kwargs = SUITE_FLOWS[name]
            traj = solver(A, y, alpha=ALPHA, times=[1e9], max_steps=steps,
                          backend=backend, **kwargs)
        check_trajectory(traj, f"{name} N={A.shape[1]} ({backend})")
        return traj.steps + traj.stats.rejected

    return run


def cases(quick: bool) -> list[Case]:
    """Every solver at N = 40 (the ``verify`` instance) and at N = 4000 (M = 2000)."""
    n, m, sparsity, seed = SUITE_SMALL
    small = dl.sparse_instance(n, m, sparsity, seed)[:2]
    out = []
    for size, (A, y) in (("small", small), ("large", instance(*SIZES[1]))):
        m, n = A.shape
        for name in (*DISCRETE, *SUITE_FLOWS):
            cap = WN_DESCENT_CAP if name == "wn_descent" else MAX_RUN_STEPS
            out.append(Case("diagonal_linear", name, size, f"N={n}, M={m}",
                            _suite_run(name, A, y), *_work(name, n, m), cap))
    return out


def races() -> list[Race]:
    """The three flows at the ``verify`` instance from u = v = 0.1 to t = 100; ours is
    adaptive, so its knob is rtol (atol = rtol / 1000, as for solve_ivp)."""
    n, m, sparsity, seed = SUITE_SMALL
    A, y, _ = dl.sparse_instance(n, m, sparsity, seed)
    out = []
    for name, (solver, code, kwargs) in SUITE_FLOWS.items():
        params = (rates(code, kwargs) if code != dl.GLOBAL else np.array(
            [code, DEPTH, kwargs["eta_radius"], kwargs["eta_direction"]], dtype=np.float64))

        def ours(rtol, solver=solver, kwargs=kwargs):
            return solver(A, y, alpha=ALPHA, times=[RACE_T], rtol=rtol,
                          atol=rtol * 1e-3, **kwargs).states[-1]

        out.append(Race("diagonal_linear", name, f"N={n}, M={m}", ours, 1e-3,
                        lambda t, s, params=params: dl.field_numpy(s, A, y, params),
                        dl.initial_state(code, ALPHA, n), RACE_T, adaptive=True))
    return out


if __name__ == "__main__":
    main()
