"""Benchmark of the deep linear network solvers in :mod:`theory.deep_linear`.

Depth 3 with every width equal to w (widths [w, w, w, w]: input, two hidden, output) at
w = 4, 16, 64, 256 and P = 2 w samples: X ~ N(0, 1) (w x P), Y = W_bar X with
W_bar ~ N(0, 1/w), start ``gaussian_init(widths, sigma0=0.5)``. Solvers: gradient
descent (lr = 0.01), Minnorm descent (c = 2, lr_w = lr_lambda = 0.01), gradient flow
(dt = 0.01) and Minnorm flow (dt = 0.01, c = 2), flows with their default method rk4.

For each solver and width this measures steps per second with the jitted backend and
with the NumPy twin (median of several repeats after a warm-up call, so no run
stops early; every timed run is checked not to have diverged nor ended subnormal; runs
have MIN_RUN_STEPS to MAX_RUN_STEPS steps, see there), their ratio, the work per step and
the achieved GFLOP/s. Work per vector-field evaluation counts only the matrix products,
2 n_l n_{l-1} P flops each: D forward products A_l = W_l A_{l-1}, D weight gradients
G_l A_{l-1}^T and D - 1 error backprops W_l^T G_l (l > 1); times the stages (1 for Euler,
4 for rk4). At depth 3 and equal widths that is 16 w^2 P per evaluation.

The reference is the machine's dense matmul rate, measured in the same run with NumPy's
``@`` on float64 (median of repeats): two 512 x 512 matrices, and at each width the shape
of the benchmark's products, (w x w) @ (w x P) (every product of the benchmark has the
same 2 w^2 P flops; this is the forward one). The fractions of both reached by the jitted
kernel are reported. Note that the jitted kernel's ``np.dot`` calls the BLAS that numba
binds through SciPy, which may be a different library (and thread pool) from NumPy's.

All solvers share one kernel, ``theory.deep_linear.LOOPS.fixed_step``, so its compile cost is
measured once, in fresh subprocesses: cold (numba cache off, ``OVERPARAM_NUMBA_CACHE=0``),
writing an empty cache, and loading that cache (both in a temporary ``NUMBA_CACHE_DIR``).

Run from the repository root::

    python -m benchmarks.deep_linear [--quick] [--json PATH]
"""
from __future__ import annotations

import os
import statistics
import time

import numba
import numpy as np

from benchmarks.common import (check_trajectory, compile_times, detail_command, machine_info,
                              median_rate, print_probe, write_json_report)
from benchmarks.harness import Case, Race
from theory import deep_linear

WIDTHS = (4, 16, 64, 256)
DEPTH = 3
SIGMA0 = 0.5
DATA_SEED, INIT_SEED = 0, 1
SOLVER_ARGS: dict[str, dict[str, float]] = {
    "gradient_descent": {"lr": 0.01},
    "minnorm_descent": {"c": 2.0, "lr_w": 0.01, "lr_lambda": 0.01},
    "l2_descent": {"lr": 0.01, "beta": 0.05},
    "gradient_flow": {"method": "rk4", "dt": 0.01},
    "l2_flow": {"method": "rk4", "dt": 0.01, "beta": 0.05},
    "minnorm_flow": {"method": "rk4", "dt": 0.01, "c": 2.0},
}
"""Keyword arguments per solver (flows: fixed-step rk4)."""
STAGES = {"gradient_descent": 1, "minnorm_descent": 1, "l2_descent": 1, "gradient_flow": 4,
          "l2_flow": 4, "minnorm_flow": 4}
"""Vector-field evaluations per step (descents: Euler; flows: rk4)."""
MAX_RUN_STEPS = 20_000
"""Cap on the steps of one timed run. Minnorm at w = 4 collapses to W = 0 (max |W_l| decays
like e^{-0.01 n}: 4e-88 after 20,000 steps, subnormal products W^3 past ~25,000), and
subnormal arithmetic would be timed instead of the kernel; the cap keeps every value normal."""
MIN_RUN_STEPS = 4
"""Floor on the steps of one timed run: one call has a fixed cost (about 10 ms at w = 256:
buffer allocation in the kernel, validation and packing in the wrapper) that a 1-step run
would count as work."""
MATMUL_SIZE = 512
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def layer_widths(width: int) -> list[int]:
    """[w] * (DEPTH + 1): input, hidden layers and output all of width ``width``."""
    return [width] * (DEPTH + 1)


def n_samples(width: int) -> int:
    """P = 2 w."""
    return 2 * width


def problem(width: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(X, Y, weights0) at width ``width``: X ~ N(0, 1) of P x w (samples as rows),
    Y = X W_bar^T, W_bar ~ N(0, 1/w)."""
    rng = np.random.default_rng(DATA_SEED)
    X = rng.standard_normal((width, n_samples(width))).T
    W_bar = rng.standard_normal((width, width)) / np.sqrt(width)
    weights0 = deep_linear.gaussian_init(layer_widths(width), SIGMA0, INIT_SEED)
    return np.ascontiguousarray(X), X @ W_bar.T, weights0


def flops_per_eval(widths: list[int], P: int) -> int:
    """Matrix-product flops of one field evaluation (module docstring)."""
    per_layer = [2 * widths[l] * widths[l - 1] * P for l in range(1, len(widths))]
    return 2 * sum(per_layer) + sum(per_layer[1:])


def flops_per_step(name: str, width: int) -> int:
    """Flops of one step of solver ``name``: field evaluations times their flops."""
    return STAGES[name] * flops_per_eval(layer_widths(width), n_samples(width))


def run_solver(name: str, backend: str, steps: int, X: np.ndarray, Y: np.ndarray,
               weights0: list[np.ndarray]) -> deep_linear.DeepTrajectory:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps * dt).

    Raises
    ------
    RuntimeError
        If the run diverged or ended in a subnormal state (see
        :func:`benchmarks.common.check_trajectory`).
    """
    kwargs = SOLVER_ARGS[name]
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = deep_linear.SOLVERS[name](X, Y, weights0, backend=backend, **kwargs,
                                     **horizon)
    check_trajectory(traj, f"{name} w={X.shape[1]} ({backend})")
    return traj


def calibrate(run, target: float, cap: int | None = None, floor: int = 1) -> int:
    """Number of steps for ``run(steps)`` to last about ``target`` s (at least ``floor``,
    at most ``cap``).

    Starts from 1 step (after a warm-up that triggers any compilation) and grows the
    trial run until it lasts at least a fifth of ``target`` (or reaches ``cap``), then
    extrapolates. Each trial is timed twice and the faster taken, so that one hiccup of
    the machine does not shrink the runs.
    """
    trial = 1
    run(trial)
    while True:
        elapsed = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            run(trial)
            elapsed = min(elapsed, time.perf_counter() - start)
        if elapsed >= target / 5 or (cap is not None and trial >= cap):
            steps = max(floor, int(trial * target / elapsed))
            return steps if cap is None else min(cap, steps)
        trial *= 10 if elapsed < target / 100 else 4
        if cap is not None:
            trial = min(trial, cap)


def matmul_rate(shape_a: tuple[int, int], shape_b: tuple[int, int], repeats: int,
                target: float) -> float:
    """Median GFLOP/s of NumPy ``a @ b`` (float64) over ``repeats`` timed batches.

    Each batch repeats the product enough times to last about ``target`` s (so small
    shapes are not timer-bound); one warm-up batch first.
    """
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    flops = 2 * shape_a[0] * shape_a[1] * shape_b[1]
    number = calibrate(lambda n: [a @ b for _ in range(n)], target)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for _ in range(number):
            a @ b
        times.append(time.perf_counter() - start)
    return number * flops / statistics.median(times[1:]) / 1e9


def thread_info() -> dict:
    """numba's thread count, CPU count, BLAS thread variables and the BLAS libraries."""
    info: dict = {"numba_num_threads": numba.get_num_threads(),
                  "numba_threading_layer_config": numba.config.THREADING_LAYER,
                  "cpu_count": os.cpu_count(),
                  "env": {var: os.environ.get(var) for var in THREAD_ENV}}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict mode
        info["numpy_blas"] = None
    try:
        import scipy
        blas = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numba_blas_via_scipy"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        info["numba_blas_via_scipy"] = None
    return info


def probe(start: float) -> None:
    """Print (JSON) the first-call time of the shared kernel in this fresh process.

    ``start`` is the ``time.perf_counter()`` taken before importing this module, so
    ``import_s`` covers importing numba and :mod:`theory`. The first call is gradient
    descent at w = 4; then every other solver is run once, and ``signatures`` counts the
    kernel's compilations.
    """
    X, Y, weights0 = problem(WIDTHS[0])
    imported = time.perf_counter()
    run_solver("gradient_descent", "numba", 10, X, Y, weights0)
    first = time.perf_counter()
    for name in SOLVER_ARGS:
        run_solver(name, "numba", 10, X, Y, weights0)
    print_probe(start, imported, first, deep_linear.LOOPS.fixed_step)


def compile_report() -> dict[str, dict]:
    """First-call times of the kernel in fresh subprocesses: cold, cache write, cache load."""
    return compile_times("benchmarks.deep_linear")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and optionally write JSON; return the report."""
    _, args = detail_command("python -m benchmarks.deep_linear", __doc__, argv,
                             "short runs (< ~60 s in all)")
    target, repeats = (0.05, 3) if args.quick else (0.2, 5)

    threads = thread_info()
    peak = matmul_rate((MATMUL_SIZE, MATMUL_SIZE), (MATMUL_SIZE, MATMUL_SIZE), repeats, target)
    matmul: dict[str, float] = {}
    results: dict[str, dict[str, dict]] = {}
    for width in WIDTHS:
        X, Y, weights0 = problem(width)
        P = n_samples(width)
        matmul[str(width)] = matmul_rate((width, width), (width, P), repeats, target)
        rows = results[str(width)] = {}
        for name in SOLVER_ARGS:
            flops = flops_per_step(name, width)
            entry: dict = {}
            for backend in ("numba", "numpy"):
                steps = calibrate(
                    lambda n: run_solver(name, backend, n, X, Y, weights0), target,
                    MAX_RUN_STEPS, MIN_RUN_STEPS)
                statuses = []

                def run() -> int:
                    traj = run_solver(name, backend, steps, X, Y, weights0)
                    statuses.append(traj.status.name)
                    return traj.steps

                rate, taken = median_rate(run, repeats)
                entry[f"{backend}_steps_per_s"] = rate
                entry[f"{backend}_steps"] = taken
                entry[f"{backend}_status"] = sorted(set(statuses))
                entry[f"{backend}_gflops"] = rate * flops / 1e9
                entry[f"{backend}_fraction_of_matmul"] = (entry[f"{backend}_gflops"]
                                                          / matmul[str(width)])
                entry[f"{backend}_fraction_of_matmul_{MATMUL_SIZE}"] = (
                    entry[f"{backend}_gflops"] / peak)
            entry["ratio"] = entry["numba_steps_per_s"] / entry["numpy_steps_per_s"]
            entry["flops_per_step"] = flops
            rows[name] = entry
    compile_ = compile_report()

    env = ", ".join(f"{var}={threads['env'][var] or 'unset'}" for var in THREAD_ENV)
    print(f"deep linear, depth {DEPTH}, widths [w]*{DEPTH + 1}, P = 2w, sigma0 {SIGMA0}, "
          f"median of {repeats} (steps/s; GFLOP/s from matrix products only)")
    print(f"threads: numba {threads['numba_num_threads']}, cpu_count {threads['cpu_count']}, "
          f"{env}; BLAS numpy {threads['numpy_blas']}, numba (via scipy) "
          f"{threads['numba_blas_via_scipy']}")
    print(f"dense matmul (numpy @, float64): {MATMUL_SIZE}x{MATMUL_SIZE} {peak:.2f} GFLOP/s; "
          + ", ".join(f"w={w}: ({w}x{w})@({w}x{n_samples(int(w))}) {r:.2f}"
                      for w, r in matmul.items()))
    print(f"{'solver':<18}{'w':>5}{'numba':>11}{'numpy':>11}{'ratio':>7}{'flop/step':>12}"
          f"{'numba GF/s':>11}{'numpy GF/s':>11}{'mm(w) GF/s':>11}{'frac mm(w)':>11}"
          f"{'frac 512':>9}{'nb steps':>10}")
    for width, rows in results.items():
        for name, r in rows.items():
            print(f"{name:<18}{width:>5}{r['numba_steps_per_s']:>11.3e}"
                  f"{r['numpy_steps_per_s']:>11.3e}{r['ratio']:>7.2f}{r['flops_per_step']:>12d}"
                  f"{r['numba_gflops']:>11.3f}{r['numpy_gflops']:>11.3f}"
                  f"{matmul[width]:>11.2f}{r['numba_fraction_of_matmul']:>11.3f}"
                  f"{r[f'numba_fraction_of_matmul_{MATMUL_SIZE}']:>9.3f}{r['numba_steps']:>10d}")
    print(f"first call of the shared fixed-step loop (fresh process, w = {WIDTHS[0]}):")
    for label, c in compile_.items():
        print(f"  {label:<12}{c['first_call_s']:>8.3f} s   import {c['import_s']:.3f} s   "
              f"cache hits/misses {c['cache_hits']}/{c['cache_misses']}   "
              f"signatures after all {len(SOLVER_ARGS)} solvers: {c['signatures']}")

    report = {"machine": machine_info(), "threads": threads,
              "parameters": {"widths": list(WIDTHS), "depth": DEPTH, "samples": "2 w",
                             "sigma0": SIGMA0, "data_seed": DATA_SEED, "init_seed": INIT_SEED,
                             "solvers": SOLVER_ARGS, "stages": STAGES,
                             "min_run_steps": MIN_RUN_STEPS,
                             "max_run_steps": MAX_RUN_STEPS, "repeats": repeats,
                             "target_s": target, "quick": args.quick},
              "matmul_gflops": {f"{MATMUL_SIZE}x{MATMUL_SIZE}": peak,
                                "benchmark_shape_by_width": matmul},
              "solvers": results, "compile": compile_}
    write_json_report(args.json, report)
    return report


SMALL_WIDTHS = [20, 20, 20, 5]
"""Small size for :func:`cases` and :func:`races`: the teacher-student size ``verify`` uses
(N_i = 20, hidden 20, N_o = 5, P = 10), at depth 3."""
SMALL_SAMPLES = 10
RACE_T = 10.0


def small_problem() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    X, Y, _ = deep_linear.teacher_student(SMALL_WIDTHS[0], SMALL_WIDTHS[-1], SMALL_SAMPLES,
                                          seed=DATA_SEED)
    return X, Y, deep_linear.gaussian_init(SMALL_WIDTHS, SIGMA0, INIT_SEED)


def _work(name: str, widths: list[int], P: int) -> tuple[float, float, float]:
    """(flops, bytes, working set: weights, stages, activations, X, Y) of one step: the matrix-product flops (module docstring) times the
    stages; bytes: per evaluation every weight matrix read twice (forward, backprop) and
    its gradient written, every activation written and read twice."""
    weights = sum(widths[l] * widths[l - 1] for l in range(1, len(widths)))
    acts = sum(widths) * P
    stages = STAGES[name]
    working_set = 8.0 * (weights * (stages + 2) + acts + widths[0] * P + widths[-1] * P)
    return (stages * flops_per_eval(widths, P), 8.0 * stages * (3 * weights + 3 * acts),
            working_set)


def cases(quick: bool) -> list[Case]:
    """Every solver at the ``verify`` size and at width 256 (P = 512)."""
    out = []
    for size, (X, Y, weights0), widths in (
            ("small", small_problem(), SMALL_WIDTHS),
            ("large", problem(WIDTHS[-1]), layer_widths(WIDTHS[-1]))):
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, X=X, Y=Y, weights0=weights0) -> int:
                return run_solver(name, backend, steps, X, Y, weights0).steps

            label = "widths " + "-".join(map(str, widths)) + f", P={X.shape[0]}"
            out.append(Case("deep_linear", name, size, label, run,
                            *_work(name, widths, X.shape[0]), MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """Gradient flow and Minnorm flow (c = 2) at the ``verify`` size to t = 10, ours
    adaptive (fixed-step rk4 needed 448 and 640 steps and won only 1.2-4.7x)."""
    X, Y, weights0 = small_problem()
    widths = np.array(SMALL_WIDTHS, dtype=np.int64)
    w0 = deep_linear.pack(weights0)
    out = []
    for name, params, y0 in (
            ("gradient_flow", np.array([1.0, 0.0, 0.0, 1.0]), w0),
            ("minnorm_flow", np.array([1.0, 1.0, 1.0, 2.0]),
             np.concatenate((w0, np.zeros(Y.size))))):
        kwargs = {k: v for k, v in SOLVER_ARGS[name].items() if k not in ("dt", "method")}

        def ours(rtol, name=name, kwargs=kwargs):
            return deep_linear.SOLVERS[name](X, Y, weights0, times=[RACE_T],
                                             method="dopri5", rtol=rtol,
                                             atol=rtol * 1e-3, **kwargs).states[-1]

        out.append(Race("deep_linear", name, "widths 20-20-20-5, P=10", ours, 1e-4,
                        lambda t, y, params=params: deep_linear.field_numpy(
                            y, X.T, Y.T, widths, params),  # the twin takes column forms
                        y0, RACE_T, adaptive=True))
    return out


if __name__ == "__main__":
    main()
