"""Benchmark of the ReLU network solvers in :mod:`theory.relu_network`.

Two sizes: ``small``, the size ``verify`` uses (P = 24 Gaussian inputs in 10 dimensions, 3
classes, widths 10-30-3), and ``large``, the digits (the full training set of
``digits_split``, P = 1097, widths 64-64-10). Solvers: gradient descent (lr = 0.5), L2
(beta = 1e-3), Minnorm descent (c = 0.1, lr_w = 0.005, lr_lambda = 1e-4: stable on the
digits, where c = 1 diverges, docs/relu_network.md §5c.1), gradient flow and Minnorm flow
(fixed-step rk4, dt = 0.01; Minnorm c = 0.1, eta_lambda = 0.01). A full-batch step is one epoch.

Work per field evaluation counts the matrix products, 2 P n_l n_{l-1} flops each: the
forward product and the weight gradient of every layer and the backpropagation through
every layer but the first, i.e. 2 P (2 sum_l n_l n_{l-1} + sum_{l>1} n_l n_{l-1}).

Run from the repository root::

    python -m benchmarks.relu_network [--quick] [--json PATH]

which prints epochs per second, jitted and NumPy twin, and their ratio.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from benchmarks.common import check_trajectory, detail_command, twin_rates, write_json_report
from benchmarks.harness import Case, Race
from theory import relu_network

SOLVER_ARGS: dict[str, dict[str, float]] = {
    "gradient_descent": {"lr": 0.5},
    "l2_descent": {"lr": 0.5, "beta": 1e-3},
    "minnorm_descent": {"c": 0.1, "lr_w": 0.005, "lr_lambda": 1e-4},
    "gradient_flow": {"method": "rk4", "dt": 0.01},
    "minnorm_flow": {"method": "rk4", "dt": 0.01, "c": 0.1, "eta_lambda": 0.01},
}
"""Keyword arguments per solver (flows: fixed-step rk4)."""
STAGES = {"gradient_descent": 1, "l2_descent": 1, "minnorm_descent": 1, "gradient_flow": 4,
          "minnorm_flow": 4}
MAX_RUN_STEPS = 20_000
"""Cap on the steps of one timed run (Minnorm's dead units decay like (1 - lr_w)^t: still
normal numbers after 2e4 steps)."""
SMALL_WIDTHS, LARGE_WIDTHS = [10, 30, 3], [64, 64, 10]
RACE_T = 1.0
DATA_SEED, INIT_SEED = 0, 1


def small_problem() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(X, y, weights0) at the ``verify`` size."""
    X, y = relu_network.small_classification(24, SMALL_WIDTHS[0], SMALL_WIDTHS[-1],
                                             seed=DATA_SEED)
    return (X / np.sqrt(SMALL_WIDTHS[0]), y,
            relu_network.gaussian_init(SMALL_WIDTHS, np.sqrt(2.0), INIT_SEED))


@lru_cache(maxsize=None)
def _digits() -> relu_network.Split:
    return relu_network.digits_split(1097, seed=DATA_SEED)


def large_problem() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(X, y, weights0) on the digits, inputs scaled by 1/8 (unit mean squared norm)."""
    split = _digits()
    return (split.X_train / 8.0, split.y_train,
            relu_network.gaussian_init(LARGE_WIDTHS, np.sqrt(2.0), INIT_SEED))


def flops_per_eval(widths: list[int], P: int) -> int:
    """Matrix-product flops of one field evaluation (module docstring)."""
    layers = [widths[l] * widths[l - 1] for l in range(1, len(widths))]
    return 2 * P * (2 * sum(layers) + sum(layers[1:]))


def _work(name: str, widths: list[int], P: int, n_classes: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step: flops times the stages; bytes per
    evaluation: X and the targets read, every weight read twice and its gradient written,
    every activation written and read twice, the multipliers read and written."""
    weights = sum(widths[l] * widths[l - 1] for l in range(1, len(widths)))
    acts = sum(widths[1:]) * P
    multipliers = P * n_classes if name.startswith("minnorm") else 0
    stages = STAGES[name]
    data = widths[0] * P + 2 * n_classes * P
    per_eval = 8.0 * (data + 3 * weights + 3 * acts + 2 * multipliers)
    working_set = 8.0 * (data + (stages + 2) * (weights + multipliers) + acts)
    return stages * flops_per_eval(widths, P), stages * per_eval, working_set


def run_solver(name: str, backend: str, steps: int, X, y, weights0) -> int:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps dt); the steps taken."""
    kwargs = SOLVER_ARGS[name]
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = relu_network.SOLVERS[name](X, y, weights0, backend=backend, **kwargs, **horizon)
    check_trajectory(traj, f"{name} P={X.shape[0]} ({backend})")
    return traj.steps


def cases(quick: bool) -> list[Case]:
    """Every solver at the ``verify`` size and on the digits."""
    out = []
    for size, (X, y, weights0), widths in (("small", small_problem(), SMALL_WIDTHS),
                                           ("large", large_problem(), LARGE_WIDTHS)):
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, X=X, y=y, weights0=weights0) -> int:
                return run_solver(name, backend, steps, X, y, weights0)

            label = "widths " + "-".join(map(str, widths)) + f", P={X.shape[0]}"
            out.append(Case("relu_network", name, size, label, run,
                            *_work(name, widths, X.shape[0], widths[-1]), MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """Gradient flow and Minnorm flow at the ``verify`` size to t = 1, ours fixed-step rk4
    (the field jumps at kink crossings, where adaptive steps shrink)."""
    X, y, weights0 = small_problem()
    widths = np.array(SMALL_WIDTHS, dtype=np.int64)
    P, K = X.shape[0], widths[-1]
    T, labels = np.eye(K)[y], np.asarray(y, dtype=np.int64)
    w0 = relu_network.pack(weights0)
    out = []
    for name, params, y0 in (
            ("gradient_flow", np.array([relu_network.CROSS_ENTROPY, 1.0, 0.0, 0.0, 1.0]), w0),
            ("minnorm_flow", np.array([relu_network.MARGIN_MINNORM, 1.0, 0.01, 1.0, 0.1]),
             np.concatenate((w0, np.zeros(P * K))))):
        kwargs = {k: v for k, v in SOLVER_ARGS[name].items() if k not in ("dt", "method")}

        def ours(steps, name=name, kwargs=kwargs):
            return relu_network.SOLVERS[name](X, y, weights0, times=[RACE_T], method="rk4",
                                              dt=RACE_T / int(steps), **kwargs).states[-1]

        out.append(Race("relu_network", name, "widths 10-30-3, P=24", ours, 10,
                        lambda t, s, params=params: relu_network.field_numpy(
                            s, X, T, labels, widths, params), y0, RACE_T))
    return out


def main(argv: list[str] | None = None) -> dict:
    """Epochs per second of every solver on the digits, jitted and NumPy twin."""
    _, args = detail_command("python -m benchmarks.relu_network", __doc__, argv)
    steps = {"numba": 200 if args.quick else 1000, "numpy": 20 if args.quick else 100}
    X, y, weights0 = large_problem()
    report = {name: twin_rates(lambda backend, n, name=name: run_solver(
        name, backend, n, X, y, weights0), steps, name, unit="epochs")
        for name in SOLVER_ARGS}
    write_json_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
