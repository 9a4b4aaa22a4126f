"""Benchmark of the OPT solvers and the hyperspherical energy in :mod:`theory.orthogonal`.

Cases (``python -m benchmarks``): every solver at a small size, the one ``verify`` uses
(``procrustes_instance(8, 32, 0.5, seed=3)``), and a large one (d = 64, N = 256), with
SOLVER_ARGS; the parametrized solvers use Gram-Schmidt (the OPT code's map, and S-OPT's).
Work per field evaluation counts the O(d^3) matrix work (module :func:`_work`): the
gradient R V V^T - T V^T (2 d^3 flops), the map and its pullback (Gram-Schmidt: forward
2 d^3, pullback about 5 d^3), OGD's products and solve (about 12 d^3 + 2/3 d^3), the
penalty's R R^T and its product (4 d^3); S-OPT works on e = d/2 coordinates.

The hot kernel the cases do not cover, the pairwise energy E_s (O(N^2 d)), is a kernel
row (:func:`kernels`, shown by ``python -m benchmarks`` and by the detailed benchmark
``python -m benchmarks.orthogonal``): jitted against its NumPy twin and, when JAX is
installed, against ``jax.jit`` of the same pair sum (all pairs from the Gram matrix,
2 - 2 u_i . u_j, which is what a JAX user writes; less accurate for close pairs).

Run from the repository root::

    python -m benchmarks.orthogonal [--quick] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import (add_version_argument, check_output_paths, check_trajectory,
                                description, median_rate)
from benchmarks.harness import Case, Kernel, Race, time_kernel
from theory import orthogonal
from theory.orthogonal_energy import hyperspherical_energy
from theory.orthogonal_maps import ORTHOGONALIZERS
from theory.output_files import write_atomic

SMALL, LARGE = (8, 32), (64, 256)
"""(d, N) of the two sizes."""
NOISE, SEED, START_SEED = 0.5, 3, 5
SOLVER_ARGS: dict[str, dict] = {
    "parametrized_descent": {"lr": 0.2, "momentum": 0.5},
    "parametrized_flow": {"method": "rk4", "dt": 0.05},
    "penalty_descent": {"lr": 0.05, "momentum": 0.9, "penalty": 0.1},
    "orthogonal_descent": {"lr": 0.05, "momentum": 0.9},
    "stochastic_descent": {"lr": 0.2, "momentum": 0.5, "episode_steps": 25, "seed": 7},
    "network_descent": {"lr": 0.2, "momentum": 0.9, "orthogonalizer": "cayley"},
}
NETWORK_SAMPLES = {SMALL: 60, LARGE: 1000}
"""Training samples of the network cases (a 3-class Gaussian mixture in d dimensions)."""
STAGES = {name: 4 if name.endswith("_flow") else 1 for name in SOLVER_ARGS}
MAX_RUN_STEPS = 200_000
RACE_T = 5.0


def problem(dim: int, n_neurons: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, T, A0) of a size: the Procrustes instance and the start Q + 0.3 G/sqrt(d)."""
    V, T, _ = orthogonal.procrustes_instance(dim, n_neurons, NOISE, SEED)
    A0 = orthogonal.haar_orthogonal(dim, START_SEED) + 0.3 * np.random.default_rng(
        START_SEED + 1).standard_normal((dim, dim)) / np.sqrt(dim)
    return V, T, A0


def network_problem(dim: int, n_neurons: int) -> tuple:
    """(X, y, V, A0, U0) of the network case: mixture_task with NETWORK_SAMPLES samples,
    V with N(0, 2/d) entries (He), U0 with N(0, 1/N), A0 = I + 0.1 G."""
    X, y, _, _ = orthogonal.mixture_task(NETWORK_SAMPLES[(dim, n_neurons)], 1, dim, 3, 1.0,
                                         SEED)
    rng = np.random.default_rng(START_SEED)
    V = rng.standard_normal((dim, n_neurons)) * np.sqrt(2.0 / dim)
    U0 = rng.standard_normal((n_neurons, 3)) / np.sqrt(n_neurons)
    return X, y, V, np.eye(dim) + 0.1 * rng.standard_normal((dim, dim)), U0


def run_solver(name: str, backend: str, steps: int, V, T, A0) -> int:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps dt); the steps taken."""
    kwargs = dict(SOLVER_ARGS[name])
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    if name == "stochastic_descent":
        kwargs["subset_size"] = V.shape[0] // 2
        traj = orthogonal.stochastic_descent(V, T, backend=backend, **kwargs, **horizon)
    elif name == "network_descent":
        traj = orthogonal.network_descent(*network_problem(*V.shape), backend=backend,
                                          **kwargs, **horizon)
    elif name == "orthogonal_descent":
        traj = orthogonal.orthogonal_descent(V, T, backend=backend, **kwargs, **horizon)
    else:
        traj = orthogonal.SOLVERS[name](V, T, A0, backend=backend, **kwargs, **horizon)
    check_trajectory(traj, f"{name} d={V.shape[0]} ({backend})")
    return traj.steps


def _work(name: str, dim: int, n_neurons: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step (module docstring): the matrix work per
    field evaluation times the stages; every d x d operand (state, momentum, V V^T, T V^T
    and about six scratch matrices) read or written once per evaluation. The network adds
    its sample products, 2 P d N twice (X W and X^T delta), 2 P N C three times, 2 d^2 N
    twice (map(A) V and the gradient times V^T), and streams X and two P x N arrays."""
    d3 = float(dim) ** 3
    e3 = (dim // 2) ** 3
    matrices = 10.0 * dim * dim
    if name == "network_descent":
        P, C = NETWORK_SAMPLES[(dim, n_neurons)], 3
        flops = (12 * d3 + 4 * P * dim * n_neurons + 6 * P * n_neurons * C
                 + 4 * dim * dim * n_neurons)
        data = P * dim + 2 * P * n_neurons + 4 * dim * n_neurons + matrices
        return flops, 8.0 * data, 8.0 * data
    per_eval = {"parametrized_descent": 9 * d3, "parametrized_flow": 9 * d3,
                "penalty_descent": 6 * d3, "orthogonal_descent": 13 * d3,
                "stochastic_descent": 2 * d3 + 2 * (dim // 2) * dim ** 2 + 7 * e3}[name]
    stages = STAGES[name]
    return stages * per_eval, stages * 8.0 * matrices, 8.0 * matrices


def cases(quick: bool) -> list[Case]:
    """Every solver at (d, N) = (8, 32), the ``verify`` size, and (64, 256)."""
    out = []
    for size, (dim, n_neurons) in (("small", SMALL), ("large", LARGE)):
        V, T, A0 = problem(dim, n_neurons)
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, V=V, T=T, A0=A0) -> int:
                return run_solver(name, backend, steps, V, T, A0)

            out.append(Case("orthogonal", name, size, f"d={dim}, N={n_neurons}", run,
                            *_work(name, dim, n_neurons), MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """The parametrized flow (Löwdin and Cayley) at the ``verify`` size to t = 5, ours
    fixed-step rk4 against solve_ivp on the NumPy twin's field. Not Gram-Schmidt: from this
    start its flow runs into a singular A (docs/orthogonal.md §6b.7), where no integrator
    reaches the horizon."""
    V, T, A0 = problem(*SMALL)
    out = []
    for name in ("lowdin", "cayley"):
        params = orthogonal.kernel_parameters(orthogonal.PARAMETRIZED, 1.0,
                                    orthogonalizer=ORTHOGONALIZERS[name], flow=True)
        twin = orthogonal.problem(V, T, params)

        def ours(steps, name=name):
            return orthogonal.parametrized_flow(V, T, A0, times=[RACE_T], orthogonalizer=name,
                                                method="rk4", dt=RACE_T / int(steps)).states[-1]

        out.append(Race("orthogonal", f"parametrized_flow/{name}", f"d={SMALL[0]}, N={SMALL[1]}",
                        ours, 10, lambda t, y, twin=twin: twin.field_numpy(y),
                        np.ascontiguousarray(A0.ravel()), RACE_T))
    return out


ENERGY_SIZES = {"small": (16, 64), "medium": (64, 512), "large": (128, 2048)}
"""(d, N) of the energy kernel rows (``--quick``: the first two)."""


def _jax_energy():
    """``jax.jit`` of E_s from the Gram matrix, or None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def energy(V, s):
        U = V / jnp.linalg.norm(V, axis=0)
        squared = jnp.maximum(2.0 - 2.0 * (U.T @ U), 0.0)
        upper = jnp.triu(jnp.ones_like(squared, dtype=bool), 1)
        return jnp.sum(jnp.where(upper, jnp.where(upper, squared, 1.0) ** (-s / 2), 0.0))

    return lambda V, s: float(energy(V, s).block_until_ready())


def kernels(quick: bool) -> list[Kernel]:
    """The pairwise energy E_1 (:func:`theory.orthogonal_energy.hyperspherical_energy`) of
    N Gaussian neurons in d dimensions at :data:`ENERGY_SIZES`: jitted, its NumPy twin and,
    when JAX is installed, ``jax.jit`` from the Gram matrix (module docstring)."""
    jax_energy = _jax_energy()
    out = []
    for size, (dim, n) in list(ENERGY_SIZES.items())[:2 if quick else None]:
        V = np.random.default_rng(0).standard_normal((dim, n))
        runs = {"numba": lambda V=V: hyperspherical_energy(V, 1.0),
                "numpy": lambda V=V: hyperspherical_energy(V, 1.0, backend="numpy")}
        if jax_energy is not None:
            runs["jax"] = lambda V=V: jax_energy(V, 1.0)
        out.append(Kernel("orthogonal", "hyperspherical_energy", size, f"d={dim}, N={n}",
                          runs))
    return out


def energy_timings(quick: bool) -> dict[str, dict]:
    """:func:`benchmarks.harness.time_kernel` of every kernel row (:func:`kernels`, all
    sizes; ``quick``: fewer repeats), by size label."""
    report = {}
    for kernel in kernels(quick=False):
        row = time_kernel(kernel, quick)
        report[kernel.label] = row
        print(f"E_1 {kernel.label:>14}: " + "  ".join(
            f"{backend} {row[backend]['s']:.3g} s (rel. diff. "
            f"{row[backend]['relative_difference']:.1e})" for backend in kernel.runs)
            + "".join(f"  {key} {value:.3g}" for key, value in row.items()
                      if key.endswith("_ratio")), flush=True)
    return report


def main(argv: list[str] | None = None) -> dict:
    """Steps per second of every solver (both sizes, jitted and twin) and the energy
    timings; optionally write the report as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.orthogonal",
                                     description=description(__doc__))
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the report here")
    add_version_argument(parser)
    args = parser.parse_args(argv)
    check_output_paths(parser, json=args.json)
    steps = {"numba": 2000 if args.quick else 10000, "numpy": 200 if args.quick else 1000}
    report: dict = {"solvers": {}}
    for size in (SMALL, LARGE):
        V, T, A0 = problem(*size)
        for name in SOLVER_ARGS:
            entry = {}
            for backend, n in steps.items():
                n = n if size == SMALL else max(n // 50, 10)
                rate, _ = median_rate(lambda: run_solver(name, backend, n, V, T, A0), 3)
                entry[f"{backend}_steps_per_s"] = rate
            entry["ratio"] = entry["numba_steps_per_s"] / entry["numpy_steps_per_s"]
            report["solvers"][f"{name} d={size[0]}"] = entry
            print(f"{name:22s} d={size[0]:3d}  numba {entry['numba_steps_per_s']:10.1f}/s  "
                  f"numpy {entry['numpy_steps_per_s']:9.1f}/s  ratio {entry['ratio']:6.1f}",
                  flush=True)
    report["energy"] = energy_timings(args.quick)
    if args.json:
        write_atomic(args.json, json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
