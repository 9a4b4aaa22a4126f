"""Benchmark of the max-margin solvers in :mod:`theory.max_margin`.

For every solver in :data:`theory.max_margin.SOLVERS` (gradient descent and gradient
flow once per loss, logistic and exponential) and two data sizes P = 30 and P = 3000
(``separable_data(P, d=5, margin=0.5, seed=1)``) this measures steps per second with
the jitted backend and with the NumPy twin (median of several repeats after a warm-up
call, no run stops early), their ratio, the work per step (about 4 P d
flops per vector-field evaluation, times the stages of the method) and the achieved
GFLOP/s. Step counts are calibrated per row and backend so that one run lasts about a
target time. Step sizes scale with lambda_max = sigma_max(Z)^2, Z = y[:, None] * X.

All solvers share one kernel, ``theory.max_margin.LOOPS.fixed_step``, so its compile cost is
measured once, in fresh subprocesses: cold (numba cache off, ``OVERPARAM_NUMBA_CACHE=0``),
writing an empty cache, and loading that cache (both in a temporary ``NUMBA_CACHE_DIR``).

Run from the repository root::

    python -m benchmarks.max_margin [--quick] [--json PATH]
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import (check_trajectory, compile_times, detail_command, machine_info,
                              median_rate, print_probe, write_json_report)
from benchmarks.harness import Case, Race
from theory import max_margin

SIZES = (30, 3000)
DIM, MARGIN, SEED = 5, 0.5, 1
ROWS: dict[str, tuple[str, dict[str, str]]] = {
    "gradient_descent/logistic": ("gradient_descent", {"loss": "logistic"}),
    "gradient_descent/exponential": ("gradient_descent", {"loss": "exponential"}),
    "gradient_flow/logistic": ("gradient_flow", {"loss": "logistic"}),
    "gradient_flow/exponential": ("gradient_flow", {"loss": "exponential"}),
    "minnorm_descent": ("minnorm_descent", {}),
    "minnorm_flow": ("minnorm_flow", {}),
}
"""Benchmark row -> (solver name, fixed keyword arguments)."""
STAGES = {"gradient_descent": 1, "gradient_flow": 4, "minnorm_descent": 1, "minnorm_flow": 4}
"""Vector-field evaluations per step (descents: Euler; flows: their default method, rk4)."""


def data(n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark data set ``separable_data(n_samples, DIM, MARGIN, SEED)``."""
    return max_margin.separable_data(n_samples, DIM, MARGIN, SEED)


def lambda_max(X: np.ndarray, y: np.ndarray) -> float:
    """Largest eigenvalue of Z Z^T, i.e. sigma_max(Z)^2 with Z = y[:, None] * X."""
    return float(np.linalg.norm(y[:, None] * X, ord=2) ** 2)


def settings(lam: float) -> dict[str, dict[str, float]]:
    """Keyword arguments per solver for data with lambda_max(Z Z^T) = ``lam``."""
    return {"gradient_descent": {"lr": 1.0 / lam},
            "gradient_flow": {"eta": 1.0, "method": "rk4", "dt": 0.5 / lam},
            "minnorm_descent": {"lr_w": 0.2, "lr_lambda": 0.5 / lam},
            "minnorm_flow": {"eta_w": 1.0, "eta_lambda": 1.0, "method": "rk4", "dt": 0.5 / lam}}


def flops_per_step(row: str, n_samples: int) -> int:
    """Approximate work of one step: 4 P d flops per field evaluation, times the stages."""
    return 4 * n_samples * DIM * STAGES[ROWS[row][0]]


def run_row(row: str, backend: str, steps: int, X: np.ndarray, y: np.ndarray,
            params: dict[str, dict[str, float]]) -> max_margin.MarginTrajectory:
    """Run benchmark row ``row`` for ``steps`` steps (flows: to T = steps * dt).

    Raises
    ------
    RuntimeError
        If the run diverged or ended in a subnormal state (see
        :func:`benchmarks.common.check_trajectory`).
    """
    name, fixed = ROWS[row]
    kwargs = params[name]
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = max_margin.SOLVERS[name](X, y, backend=backend, **fixed, **kwargs,
                                    **horizon)
    check_trajectory(traj, f"{row} P={len(y)} ({backend})")
    return traj


def calibrate(row: str, backend: str, X: np.ndarray, y: np.ndarray,
              params: dict[str, dict[str, float]], target: float) -> int:
    """Number of steps for one run of ``row`` with ``backend`` to last about ``target`` s.

    Starts from 10 steps (after a warm-up that triggers any compilation) and grows the
    trial run until it lasts at least a fifth of ``target``, then extrapolates.
    """
    trial = 10
    run_row(row, backend, trial, X, y, params)
    while True:
        start = time.perf_counter()
        run_row(row, backend, trial, X, y, params)
        elapsed = time.perf_counter() - start
        if elapsed >= target / 5:
            return max(10, int(trial * target / elapsed))
        trial *= 10 if elapsed < target / 100 else 4


def probe(start: float) -> None:
    """Print (JSON) the first-call time of the shared kernel in this fresh process.

    ``start`` is the ``time.perf_counter()`` taken before importing this module, so
    ``import_s`` covers importing numba and :mod:`theory`. The first call is gradient
    descent (logistic) at P = 30; then every other row is run once, and ``signatures``
    counts the kernel's compilations.
    """
    X, y = data(SIZES[0])
    params = settings(lambda_max(X, y))
    imported = time.perf_counter()
    run_row("gradient_descent/logistic", "numba", 10, X, y, params)
    first = time.perf_counter()
    for row in ROWS:
        run_row(row, "numba", 10, X, y, params)
    print_probe(start, imported, first, max_margin.LOOPS.fixed_step)


def compile_report() -> dict[str, dict]:
    """First-call times of the kernel in fresh subprocesses: cold, cache write, cache load."""
    return compile_times("benchmarks.max_margin")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and optionally write JSON; return the report."""
    _, args = detail_command("python -m benchmarks.max_margin", __doc__, argv,
                             "short runs (< ~40 s in all)")
    target, repeats = (0.05, 3) if args.quick else (0.2, 5)

    results: dict[str, dict[str, dict]] = {}
    data_info: dict[str, dict] = {}
    for n_samples in SIZES:
        X, y = data(n_samples)
        lam = lambda_max(X, y)
        params = settings(lam)
        data_info[str(n_samples)] = {"lambda_max": lam, "solvers": params}
        rows = results[str(n_samples)] = {}
        for row in ROWS:
            flops = flops_per_step(row, n_samples)
            entry: dict[str, float | int] = {}
            for backend in ("numba", "numpy"):
                steps = calibrate(row, backend, X, y, params, target)
                rate, taken = median_rate(
                    lambda: run_row(row, backend, steps, X, y, params).steps, repeats)
                entry[f"{backend}_steps_per_s"] = rate
                entry[f"{backend}_steps"] = taken
                entry[f"{backend}_gflops"] = rate * flops / 1e9
            entry["ratio"] = entry["numba_steps_per_s"] / entry["numpy_steps_per_s"]
            entry["flops_per_step"] = flops
            rows[row] = entry
    compile_ = compile_report()

    print(f"max margin, d = {DIM}, margin {MARGIN}, seed {SEED}, median of {repeats} "
          f"(steps/s; GFLOP/s at ~4 P d flops per field evaluation)")
    print(f"{'solver':<30}{'P':>6}{'numba':>12}{'numpy':>12}{'ratio':>8}{'flop/step':>11}"
          f"{'numba GF/s':>12}{'numpy GF/s':>12}{'numba steps':>13}")
    for n_samples, rows in results.items():
        for row, r in rows.items():
            print(f"{row:<30}{n_samples:>6}{r['numba_steps_per_s']:>12.3e}"
                  f"{r['numpy_steps_per_s']:>12.3e}{r['ratio']:>8.1f}{r['flops_per_step']:>11d}"
                  f"{r['numba_gflops']:>12.3f}{r['numpy_gflops']:>12.3f}{r['numba_steps']:>13d}")
    print(f"first call of the shared fixed-step loop (fresh process, P = {SIZES[0]}):")
    for label, c in compile_.items():
        print(f"  {label:<12}{c['first_call_s']:>8.3f} s   import {c['import_s']:.3f} s   "
              f"cache hits/misses {c['cache_hits']}/{c['cache_misses']}   "
              f"signatures after all {len(ROWS)} rows: {c['signatures']}")

    report = {"machine": machine_info(),
              "parameters": {"sizes": list(SIZES), "dim": DIM, "margin": MARGIN, "seed": SEED,
                             "rows": {row: {"solver": name, **fixed}
                                      for row, (name, fixed) in ROWS.items()},
                             "stages": STAGES, "data": data_info,
                             "repeats": repeats, "target_s": target, "quick": args.quick},
              "solvers": results, "compile": compile_}
    write_json_report(args.json, report)
    return report


LARGE = (200_000, 50)
"""Large size for :func:`cases`: P = 2e5 samples in d = 50 (Z is 80 MB)."""
RACE_T = 200.0
MINNORM_STEP_CAP = 20_000
"""Minnorm runs at P = 2e5 are capped (lambda of the non-support samples decays towards 0
and the timing must not reach subnormal numbers)."""


def _work(row: str, n_samples: int, dim: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step. Per evaluation 4 P d flops (Z w, then Z^T
    coef) plus ~20 P for the loss derivative; Z, stored as blocks of Z^T
    (:func:`theory.max_margin.field`), is read from memory once, 8 P d bytes: each block
    is read again for Z^T coef while it is in the cache, as are the block's margins and
    coefficients. The state (d weights; Minnorm also P multipliers) is read and written
    and its stages combined, 3 x 8 bytes per entry, as in the chain."""
    stages = STAGES[ROWS[row][0]]
    dim_state = dim + (n_samples if ROWS[row][0].startswith("minnorm") else 0)
    flops = stages * (4 * n_samples * dim + 20 * n_samples + 4 * dim_state)
    working_set = 8.0 * (n_samples * dim + dim_state * (stages + 2))
    return flops, 8.0 * stages * (n_samples * dim + 3 * dim_state), working_set


def cases(quick: bool) -> list[Case]:
    """Every row at P = 30, d = 5 (the size ``verify`` uses) and at P = 2e5, d = 50."""
    out = []
    for size, (n_samples, dim) in (("small", (SIZES[0], DIM)), ("large", LARGE)):
        X, y = max_margin.separable_data(n_samples, dim, MARGIN, SEED)
        params = settings(lambda_max(X, y))
        for row in ROWS:
            def run(backend: str, steps: int, row=row, X=X, y=y, params=params) -> int:
                return run_row(row, backend, steps, X, y, params).steps

            cap = MINNORM_STEP_CAP if row.startswith("minnorm") else 10**7
            out.append(Case("max_margin", row, size, f"P={n_samples}, d={dim}", run,
                            *_work(row, n_samples, dim), cap))
    return out


def races() -> list[Race]:
    """Gradient flow (both losses) at P = 30, d = 5 from w = 0 to t = 200, ours adaptive
    (its fixed-step rk4 needs 6.7e3 to 2.7e4 steps here, as the flow slows down like 1/t,
    and loses to solve_ivp). Minnorm's flow is not raced: it projects lambda onto
    lambda >= 0 after every step, which solve_ivp cannot."""
    X, y = data(SIZES[0])
    Z = max_margin.signed_data(X, y)
    out = []
    for loss, code in (("logistic", max_margin.LOGISTIC),
                       ("exponential", max_margin.EXPONENTIAL)):
        params = np.array([code, 1.0, 0.0])

        def ours(rtol, loss=loss):
            return max_margin.gradient_flow(X, y, times=[RACE_T], loss=loss,
                                            method="dopri5", rtol=rtol,
                                            atol=rtol * 1e-3, first_step=1e-2).states[-1]

        out.append(Race("max_margin", f"gradient_flow/{loss}", f"P={SIZES[0]}, d={DIM}", ours,
                        1e-4, lambda t, w, params=params: max_margin.field_numpy(
                            w, Z, params), np.zeros(DIM), RACE_T, adaptive=True))
    return out


if __name__ == "__main__":
    main()
