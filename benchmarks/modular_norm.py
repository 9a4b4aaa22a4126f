"""Benchmark of the residual-MLP solvers in :mod:`theory.modular_norm`.

Two sizes: ``small``, the transfer claims' network (teacher 16 -> 4 with P = 32 samples,
width 32, 2 blocks), and ``large``, the figure's widest (width 512, 2 blocks). Solvers:
gradient descent (lr 0.5), normalized descent (lr 0.3, one power step per layer) and
gradient flow (fixed-step rk4, dt = 0.05).

Work per field evaluation counts the matrix products, 2 P n_l n_{l-1} flops each: the
forward product and the weight gradient of every layer and the backpropagation through
every layer but the first: 2 P (2 sum_l n_l n_{l-1} + sum_{l>0} n_l n_{l-1}); normalized
descent adds 4 n_l n_{l-1} per layer for the power step.

Run from the repository root::

    python -m benchmarks.modular_norm [--quick] [--json PATH]

which prints steps per second, jitted and NumPy twin, and their ratio.
"""
from __future__ import annotations


import numpy as np

from benchmarks.common import check_trajectory, detail_command, twin_rates, write_json_report
from benchmarks.harness import Case, Race
from theory import modular_norm

SOLVER_ARGS: dict[str, dict] = {
    "gradient_descent": {"lr": 0.5},
    "normalized_descent": {"lr": 0.3},
    "gradient_flow": {"method": "rk4", "dt": 0.05},
}
STAGES = {"gradient_descent": 1, "normalized_descent": 1, "gradient_flow": 4}
SIZES = {"small": 32, "large": 512}
DEPTH, N_IN, N_OUT, N_SAMPLES = 2, 16, 4, 32
MAX_RUN_STEPS = 5_000
RACE_T = 1.0


def problem(width: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(X, Y, weights0) of the given width (data seed 0, start seed 1)."""
    X, Y = modular_norm.teacher(N_IN, N_OUT, N_SAMPLES, seed=0)
    net = modular_norm.residual_mlp(N_IN, width, N_OUT, DEPTH)
    return X, Y, modular_norm.orthogonal_init(net, seed=1)


def _work(name: str, width: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step (module docstring): bytes per evaluation
    count the data, every weight read twice and its gradient written, every activation
    written and read twice."""
    shapes = modular_norm.layer_shapes(N_IN, width, N_OUT, DEPTH)
    layers = [m * k for m, k in shapes]
    flops = 2 * N_SAMPLES * (2 * sum(layers) + sum(layers[1:]))
    if name == "normalized_descent":
        flops += 4 * sum(layers)
    acts = (2 * DEPTH + 2) * width * N_SAMPLES
    data = (N_IN + N_OUT) * N_SAMPLES
    stages = STAGES[name]
    per_eval = 8.0 * (data + 3 * sum(layers) + 3 * acts)
    working_set = 8.0 * (data + (stages + 2) * sum(layers) + acts)
    return stages * flops, stages * per_eval, working_set


def run_solver(name: str, backend: str, steps: int, X, Y, weights0) -> int:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps dt); the steps taken."""
    kwargs = SOLVER_ARGS[name]
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = modular_norm.SOLVERS[name](X, Y, weights0, depth=DEPTH, backend=backend, **kwargs,
                                      **horizon)
    check_trajectory(traj, f"{name} width={weights0[0].shape[0]} ({backend})")
    return traj.steps


def cases(quick: bool) -> list[Case]:
    """Every solver at both sizes."""
    out = []
    for size, width in SIZES.items():
        X, Y, weights0 = problem(width)
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, X=X, Y=Y, weights0=weights0) -> int:
                return run_solver(name, backend, steps, X, Y, weights0)

            label = f"width {width}, {DEPTH} blocks, P={N_SAMPLES}"
            out.append(Case("modular_norm", name, size, label, run, *_work(name, width),
                            MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """Gradient flow at the small size to t = 1, ours fixed-step rk4."""
    X, Y, weights0 = problem(SIZES["small"])
    shapes = modular_norm.layer_shapes(N_IN, SIZES["small"], N_OUT, DEPTH)
    targets = modular_norm.residual_mlp(N_IN, SIZES["small"], N_OUT, DEPTH).targets()
    y0 = np.concatenate([w.ravel() for w in weights0])
    X_c, Y_c = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)

    def ours(steps):
        return modular_norm.gradient_flow(X, Y, weights0, depth=DEPTH, times=[RACE_T],
                                          method="rk4", dt=RACE_T / int(steps)).states[-1]

    return [Race("modular_norm", "gradient_flow", f"width {SIZES['small']}, {DEPTH} blocks",
                 ours, 10, lambda t, y: modular_norm.field_numpy(
                     y, X_c, Y_c, shapes, DEPTH, 1.0, modular_norm.NONE, targets),
                 y0, RACE_T)]


def main(argv: list[str] | None = None) -> dict:
    """Steps per second of every solver at the large size, jitted and NumPy twin."""
    _, args = detail_command("python -m benchmarks.modular_norm", __doc__, argv)
    steps = {"numba": 20 if args.quick else 100, "numpy": 5 if args.quick else 20}
    X, Y, weights0 = problem(SIZES["large"])
    report = {name: twin_rates(lambda backend, n, name=name: run_solver(
        name, backend, n, X, Y, weights0), steps, name) for name in SOLVER_ARGS}
    write_json_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
