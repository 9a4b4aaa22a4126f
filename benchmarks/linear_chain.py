"""Benchmark of the linear-chain solvers in :mod:`theory.linear_chain`.

For every solver in :data:`theory.linear_chain.SOLVERS` this measures steps per second
with the jitted backend and with the NumPy twin (median of several repeats after a
warm-up call, no run stops early) and their ratio. All six solvers share
one kernel, ``theory.linear_chain.LOOPS.fixed_step``, so its compile cost is measured once,
in fresh subprocesses: cold (numba cache off, ``OVERPARAM_NUMBA_CACHE=0``), writing an
empty cache, and loading that cache (both in a temporary ``NUMBA_CACHE_DIR``).

Run from the repository root::

    python -m benchmarks.linear_chain [--quick] [--json PATH] [--depth L]
"""
from __future__ import annotations

import time

import numpy as np

from typing import Callable

from benchmarks.common import (check_trajectory, compile_times, detail_command, machine_info,
                              median_rate, print_probe, write_json_report)
from benchmarks.harness import Case, Race
from theory import linear_chain

P_STAR, SIGMA, DT = 2.0, 1.0, 0.01
BASE_W0 = (1.5, 0.3, 0.9)
SOLVER_ARGS: dict[str, dict[str, float]] = {
    "gradient_descent": {"lr": 0.05},
    "gradient_flow": {"method": "rk4", "dt": DT},
    "l2_descent": {"lr": 0.05, "beta": 0.1},
    "l2_flow": {"method": "rk4", "dt": DT, "beta": 0.1},
    "minnorm_descent": {"c": 1.0, "lr_w": 0.05, "lr_lambda": 0.05},
    "minnorm_flow": {"method": "rk4", "dt": DT, "c": 1.0},
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
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps * dt).

    Raises
    ------
    RuntimeError
        If the run diverged (the timing would then cover fewer steps than asked), or
        ended in a subnormal state (the timing would measure denormal arithmetic).
    """
    horizon = {"times": [steps * DT]} if name.endswith("_flow") else {"steps": [steps]}
    traj = linear_chain.SOLVERS[name](P_STAR, w0, sigma=SIGMA, backend=backend,
                                      **SOLVER_ARGS[name], **horizon)
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
    for name in SOLVER_ARGS:
        run_solver(name, "numba", 10, w0)
    print_probe(start, imported, first, linear_chain.LOOPS.fixed_step)


def compile_report() -> dict[str, dict]:
    """First-call times of the kernel in fresh subprocesses: cold, cache write, cache load."""
    return compile_times("benchmarks.linear_chain")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and optionally write JSON; return the report."""
    parser, args = detail_command(
        "python -m benchmarks.linear_chain", __doc__, argv, "short runs (< ~30 s in all)",
        lambda p: p.add_argument("--depth", type=int, default=3,
                                 help="chain depth L (default 3)"))
    if args.depth < 1:
        parser.error("--depth must be >= 1")
    target, repeats, numpy_steps = (0.05, 3, 500) if args.quick else (0.2, 5, 2000)
    w0 = initial_weights(args.depth)

    solvers = {}
    for name in SOLVER_ARGS:
        jit_rate, jit_steps = steps_per_second(name, "numba", calibrate(name, w0, target),
                                               w0, repeats)
        np_rate, np_steps = steps_per_second(name, "numpy", numpy_steps, w0, repeats)
        solvers[name] = {"numba_steps_per_s": jit_rate, "numba_steps": jit_steps,
                         "numpy_steps_per_s": np_rate, "numpy_steps": np_steps,
                         "ratio": jit_rate / np_rate}
    compile_ = compile_report()

    print(f"linear chain, depth {args.depth}, median of {repeats} (steps/s)")
    print(f"{'solver':<18}{'numba':>14}{'numpy':>12}{'ratio':>9}{'numba steps':>13}")
    for name, r in solvers.items():
        print(f"{name:<18}{r['numba_steps_per_s']:>14.3e}{r['numpy_steps_per_s']:>12.3e}"
              f"{r['ratio']:>9.0f}{r['numba_steps']:>13d}")
    print("first call of the shared fixed-step loop (fresh process, depth 3):")
    for label, c in compile_.items():
        print(f"  {label:<12}{c['first_call_s']:>8.3f} s   import {c['import_s']:.3f} s   "
              f"cache hits/misses {c['cache_hits']}/{c['cache_misses']}   "
              f"signatures after all six solvers: {c['signatures']}")

    report = {"machine": machine_info(),
              "parameters": {"depth": args.depth, "w0": w0.tolist(), "p_star": P_STAR,
                             "sigma": SIGMA, "solvers": SOLVER_ARGS,
                             "repeats": repeats, "numba_target_s": target,
                             "numpy_steps": numpy_steps, "quick": args.quick},
              "solvers": solvers, "compile": compile_}
    write_json_report(args.json, report)
    return report


LARGE_DEPTH = 1_000_000
"""Large size: a chain of 10^6 scalar weights (state 8 MB; the kernel is two serial passes
over it per evaluation, prefix and suffix products)."""
STAGE_COUNT = {"gradient_descent": 1, "l2_descent": 1, "minnorm_descent": 1,
               "gradient_flow": 4, "l2_flow": 4, "minnorm_flow": 4}
"""Field evaluations per step (descents: Euler; flows: rk4)."""
RACE_T = 10.0


def _work(name: str, depth: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step at depth L: per evaluation 7 L flops (prefix product,
    then per weight 6 operations) and 4 x 8 L bytes (read y, write and read the prefix,
    write F); per stage 2 L flops and 2 x 8 L bytes to form the stage state; the update 2 L
    flops per stage and reads every stage."""
    s = STAGE_COUNT[name]
    working_set = 8.0 * depth * (s + 3)  # y, the stages, the stage state, the prefix
    return (7 * depth * s + 4 * depth * s, 8.0 * depth * (6 * s + 2 + s), working_set)


def _chain_run(name: str, depth: int) -> Callable[[str, int], int]:
    """run(backend, steps) at ``depth``, rates scaled by 1/L so that the product (which
    every weight multiplies) moves at the same speed at every depth."""
    scale = 3.0 / depth
    w0 = initial_weights(depth) if depth <= 3 else np.full(depth, 0.405 ** (1.0 / depth))
    kwargs = dict(SOLVER_ARGS[name])
    for key in ("lr", "lr_w", "lr_lambda"):
        if key in kwargs:
            kwargs[key] *= scale
    dt = kwargs.pop("dt", None)

    def run(backend: str, steps: int) -> int:
        horizon = ({"times": [steps * dt * scale], "dt": dt * scale} if dt is not None
                   else {"steps": [steps]})
        traj = linear_chain.SOLVERS[name](P_STAR, w0, sigma=SIGMA, backend=backend,
                                          **kwargs, **horizon)
        check_trajectory(traj, f"{name} L={depth} ({backend})")
        return traj.steps

    return run


def cases(quick: bool) -> list[Case]:
    """Every solver at depth 3 (the size ``verify`` uses) and at depth 10^6."""
    out = []
    for size, depth in (("small", 3), ("large", LARGE_DEPTH)):
        for name in SOLVER_ARGS:
            out.append(Case("linear_chain", name, size, f"L={depth}", _chain_run(name, depth),
                            *_work(name, depth)))
    return out


def races() -> list[Race]:
    """The three flows at depth 3 from w0 = (1.5, 0.3, 0.9) to t = 10 (rk4, fixed steps)."""
    w0 = initial_weights(3)
    out = []
    for name, params, lambda0 in (
            ("gradient_flow", linear_chain.parameters(P_STAR, SIGMA, 1.0, 0.0, 0.0, 1.0), 0.0),
            ("l2_flow", linear_chain.parameters(P_STAR, SIGMA, 1.0, 0.0, 0.1, 1.0), 0.0),
            ("minnorm_flow", linear_chain.parameters(P_STAR, SIGMA, 1.0, 1.0, 1.0, 1.0), 0.0)):
        kwargs = {k: v for k, v in SOLVER_ARGS[name].items() if k != "dt"}

        def ours(n, name=name, kwargs=kwargs):
            return linear_chain.SOLVERS[name](P_STAR, w0, sigma=SIGMA, times=[RACE_T],
                                              dt=RACE_T / n, **kwargs).states[-1]

        out.append(Race("linear_chain", name, "L=3", ours, 8,
                        lambda t, y, params=params: linear_chain.field_numpy(y, params),
                        np.append(w0, lambda0), RACE_T))
    return out


if __name__ == "__main__":
    main()
