"""Benchmark of the conditioned deep linear solvers of :mod:`theory.conditioning`.

Cases (``python -m benchmarks``): both solvers with row equilibration in every layer, at
the figures' size (``row_scaled_instance()``: 8-16-16-4, P = 64) and a large one
(32-128-128-8, P = 256, rows scaled by e^U(-1, 1)). Work per field evaluation
(:func:`_work`): the forward products C(W_l) A_{l-1} (2 P n_l n_{l-1} flops each), the
gradient products G_l A_{l-1}^T and, except at the first layer, C(W_l)^T G_l (the same
each), and about 8 flops per weight for the conditioner and its pullback.

The detailed benchmark ``python -m benchmarks.conditioning`` times every conditioner,
jitted against its NumPy twin, at both sizes. Run from the repository root::

    python -m benchmarks.conditioning [--quick] [--json PATH]
"""
from __future__ import annotations


import numpy as np

from benchmarks.common import check_trajectory, detail_command, twin_rates, write_json_report
from benchmarks.harness import Case, Race
from theory import conditioning

LARGE_WIDTHS, LARGE_SAMPLES = (32, 128, 128, 8), 256
SOLVER_ARGS: dict[str, dict] = {
    "gradient_descent": {"lr": 0.01},
    "gradient_flow": {"method": "rk4", "dt": 0.01},
}
STAGES = {"gradient_descent": 1, "gradient_flow": 4}
MAX_RUN_STEPS = 100_000
RACE_T = 2.0


def problem(size: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(X, Y, weights0) of a size (module docstring)."""
    if size == "small":
        return conditioning.row_scaled_instance()
    widths = LARGE_WIDTHS
    X, Y = conditioning.regression_data(widths[0], widths[-1], LARGE_SAMPLES, seed=3)
    weights = [conditioning.scaled_rows(widths[l + 1], widths[l], 1.0, 4 + l)
               for l in range(len(widths) - 1)]
    return X, Y, weights


def run_solver(name: str, backend: str, steps: int, X, Y, weights0,
               conditioner: str = "row") -> int:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps dt); the steps taken."""
    kwargs = dict(SOLVER_ARGS[name])
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = conditioning.SOLVERS[name](X, Y, weights0, conditioner=conditioner, backend=backend,
                                      **kwargs, **horizon)
    check_trajectory(traj, f"{name} ({backend}, {conditioner})")
    return traj.steps


def _work(name: str, widths, samples: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step (module docstring); every weight, effective
    weight and gradient, and the activations and errors (2 P n_l per layer) plus the data,
    streamed once per evaluation."""
    widths = np.asarray(widths)
    layers = widths[1:] * widths[:-1]
    flops = 2.0 * samples * (2 * layers.sum() + layers[1:].sum()) + 8.0 * layers.sum()
    data = samples * (widths[0] + widths[-1] + 2 * widths[1:].sum()) + 4 * layers.sum()
    stages = STAGES[name]
    return stages * flops, stages * 8.0 * data, 8.0 * data


def cases(quick: bool) -> list[Case]:
    """Both solvers, row equilibration in every layer, at both sizes."""
    out = []
    for size in ("small", "large"):
        X, Y, weights0 = problem(size)
        widths = [weights0[0].shape[1]] + [W.shape[0] for W in weights0]
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, X=X, Y=Y, weights0=weights0) -> int:
                return run_solver(name, backend, steps, X, Y, weights0)

            label = "widths " + "-".join(map(str, widths)) + f", P={X.shape[0]}, row"
            out.append(Case("conditioning", name, size, label, run,
                            *_work(name, widths, X.shape[0]), MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """Gradient flow with row equilibration at the small size to t = 2, ours fixed-step
    rk4 against solve_ivp on the NumPy twin's field."""
    X, Y, weights0 = problem("small")
    widths = np.array([weights0[0].shape[1]] + [W.shape[0] for W in weights0], dtype=np.int64)
    codes = conditioning.layer_codes("row", None, widths.size - 1)
    trained = np.ones(widths.size - 1, dtype=np.int64)
    X_c, Y_c = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)

    def ours(steps):
        return conditioning.gradient_flow(X, Y, weights0, times=[RACE_T], conditioner="row",
                                          method="rk4", dt=RACE_T / int(steps)).states[-1]

    return [Race("conditioning", "gradient_flow/row", "widths 8-16-16-4, P=64", ours, 20,
                 lambda t, y: conditioning.field_numpy(y, X_c, Y_c, widths, np.array([1.0, 0.0]),
                                                       codes, trained),
                 conditioning.pack(weights0), RACE_T)]


def main(argv: list[str] | None = None) -> dict:
    """Steps per second of every solver and conditioner (both sizes, jitted and twin);
    optionally write the report as JSON."""
    _, args = detail_command("python -m benchmarks.conditioning", __doc__, argv)
    report: dict = {}
    for size in ("small", "large"):
        X, Y, weights0 = problem(size)
        scale = 1 if size == "small" else 50
        steps = {"numba": max((2000 if args.quick else 10000) // scale, 10),
                 "numpy": max((200 if args.quick else 1000) // scale, 10)}
        for conditioner in conditioning.CONDITIONERS:
            label = f"gradient_descent {conditioner} {size}"
            report[label] = twin_rates(
                lambda backend, n, c=conditioner: run_solver("gradient_descent", backend, n, X, Y,
                                                             weights0, c), steps, label)
    write_json_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
