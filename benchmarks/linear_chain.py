"""Benchmark of the linear-chain solvers in :mod:`theory.linear_chain`.

For every solver in :data:`theory.linear_chain.SOLVERS` this measures steps per second
with the jitted backend and with the NumPy twin (median of several repeats after a
warm-up call, ``tol=0`` so no run stops early) and their ratio. All six solvers share
one kernel, ``theory.linear_chain._integrate``, so its compile cost is measured once,
in fresh subprocesses: cold (numba cache off, ``OVERPARAM_NUMBA_CACHE=0``), writing an
empty cache, and loading that cache (both in a temporary ``NUMBA_CACHE_DIR``).

Run from the repository root::

    python -m benchmarks.linear_chain [--quick] [--json PATH] [--depth L]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks._common import check_trajectory, machine_info, median_rate, print_probe
from benchmarks._common import compile_times as _compile_times
from theory import linear_chain

P_STAR, SIGMA, DT = 2.0, 1.0, 0.01
BASE_W0 = (1.5, 0.3, 0.9)
SETTINGS: dict[str, dict[str, float]] = {
    "gradient_descent": {"lr": 0.05},
    "gradient_flow": {"dt": DT},
    "l2_descent": {"lr": 0.05, "beta": 0.1},
    "l2_flow": {"dt": DT, "beta": 0.1},
    "minnorm_descent": {"c": 1.0, "lr_w": 0.05, "lr_lambda": 0.05},
    "minnorm_flow": {"dt": DT, "c": 1.0},
}
"""Keyword arguments per solver (flows use their default method, rk4)."""


def initial_weights(depth: int) -> np.ndarray:
    """(1.5, 0.3, 0.9) repeated cyclically to length ``depth``, rescaled to keep its product.

    Every depth thus starts at p = 0.405; at depth 3 this is exactly (1.5, 0.3, 0.9).
    """
    base = np.resize(np.array(BASE_W0), depth)
    return base * (np.prod(BASE_W0) / np.prod(base)) ** (1.0 / depth)


def run_solver(name: str, backend: str, steps: int,
               w0: np.ndarray) -> linear_chain.ChainTrajectory:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps * dt) with ``tol=0``.

    Raises
    ------
    RuntimeError
        If the run diverged (the timing would then cover fewer steps than asked), or
        ended in a subnormal state (the timing would measure denormal arithmetic).
    """
    horizon = {"times": [steps * DT]} if name.endswith("_flow") else {"steps": [steps]}
    traj = linear_chain.SOLVERS[name](w0, P_STAR, sigma=SIGMA, tol=0.0, backend=backend,
                                      **SETTINGS[name], **horizon)
    check_trajectory(traj, f"{name} ({backend})")
    return traj


def steps_per_second(name: str, backend: str, steps: int, w0: np.ndarray,
                     repeats: int) -> tuple[float, int]:
    """Median steps per second over ``repeats`` timed runs after one warm-up run.

    Returns
    -------
    rate : float
        Steps taken divided by the median wall time.
    taken : int
        Steps taken per run.
    """
    return median_rate(lambda: run_solver(name, backend, steps, w0).steps, repeats)


def calibrate(name: str, w0: np.ndarray, target: float) -> int:
    """Number of jitted steps for one run of ``name`` to last about ``target`` seconds."""
    trial = 100_000
    run_solver(name, "numba", trial, w0)
    start = time.perf_counter()
    run_solver(name, "numba", trial, w0)
    return max(trial, int(trial * target / (time.perf_counter() - start)))


def probe(start: float) -> None:
    """Print (JSON) the first-call time of the shared kernel in this fresh process.

    ``start`` is the ``time.perf_counter()`` taken before importing this module, so
    ``import_s`` covers importing numba and :mod:`theory`. After the first call every
    other solver is run once, and ``signatures`` counts the kernel's compilations.
    """
    w0 = initial_weights(len(BASE_W0))
    imported = time.perf_counter()
    run_solver("gradient_descent", "numba", 10, w0)
    first = time.perf_counter()
    for name in SETTINGS:
        run_solver(name, "numba", 10, w0)
    print_probe(start, imported, first, linear_chain._integrate)


def compile_times() -> dict[str, dict]:
    """First-call times of the kernel in fresh subprocesses: cold, cache write, cache load."""
    return _compile_times("benchmarks.linear_chain")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and optionally write JSON; return the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linear_chain",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (< ~30 s in all)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the report here")
    parser.add_argument("--depth", type=int, default=3, help="chain depth L (default 3)")
    args = parser.parse_args(argv)
    if args.depth < 1:
        parser.error("--depth must be >= 1")
    target, repeats, numpy_steps = (0.05, 3, 500) if args.quick else (0.2, 5, 2000)
    w0 = initial_weights(args.depth)

    solvers = {}
    for name in SETTINGS:
        jit_rate, jit_steps = steps_per_second(name, "numba", calibrate(name, w0, target),
                                               w0, repeats)
        np_rate, np_steps = steps_per_second(name, "numpy", numpy_steps, w0, repeats)
        solvers[name] = {"numba_steps_per_s": jit_rate, "numba_steps": jit_steps,
                         "numpy_steps_per_s": np_rate, "numpy_steps": np_steps,
                         "ratio": jit_rate / np_rate}
    compile_ = compile_times()

    print(f"linear chain, depth {args.depth}, median of {repeats} (steps/s)")
    print(f"{'solver':<18}{'numba':>14}{'numpy':>12}{'ratio':>9}{'numba steps':>13}")
    for name, r in solvers.items():
        print(f"{name:<18}{r['numba_steps_per_s']:>14.3e}{r['numpy_steps_per_s']:>12.3e}"
              f"{r['ratio']:>9.0f}{r['numba_steps']:>13d}")
    print("first call of the shared kernel _integrate (fresh process, depth 3):")
    for label, c in compile_.items():
        print(f"  {label:<12}{c['first_call_s']:>8.3f} s   import {c['import_s']:.3f} s   "
              f"cache hits/misses {c['cache_hits']}/{c['cache_misses']}   "
              f"signatures after all six solvers: {c['signatures']}")

    report = {"machine": machine_info(),
              "parameters": {"depth": args.depth, "w0": w0.tolist(), "p_star": P_STAR,
                             "sigma": SIGMA, "solvers": SETTINGS, "tol": 0.0,
                             "repeats": repeats, "numba_target_s": target,
                             "numpy_steps": numpy_steps, "quick": args.quick},
              "solvers": solvers, "compile": compile_}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
