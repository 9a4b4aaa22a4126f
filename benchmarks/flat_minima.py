"""Benchmark of the solvers in :mod:`theory.flat_minima`.

Two sizes: ``small``, the MLP of ``instance("mlp", seed=0)`` (d = 5, 6 hidden units, K = 3,
P = 120, the size ``verify`` uses), and ``large`` (d = 32, 64 hidden units, K = 10,
P = 1024, a Gaussian mixture). Solvers: gradient descent (lr 0.1, beta 1e-3), NRS descent
and the NRS flow (alpha 1, a Gaussian sample sigma 0.1, S = 4; the flow fixed-step rk4 with
dt 0.1), adversarial descent (alpha 1, r 0.1).

Work per field evaluation counts the multiply-adds of the products with the data, 2 per
term: a forward and backward pass costs 2 P h (2 d + 3 K) (the tanh MLP, docs/flat_minima.md
§10a.1); NRS does S + 1 of them, the adversarial solver 2 plus the Fisher-vector product
(about one more); times the stages (4 for rk4).

Run from the repository root::

    python -m benchmarks.flat_minima [--quick] [--json PATH]

which prints steps per second, jitted and NumPy twin, and their ratio.
"""
from __future__ import annotations

import numpy as np

from benchmarks.common import check_trajectory, detail_command, twin_rates, write_json_report
from benchmarks.harness import Case, Race
from theory import flat_minima

LARGE = {"n_samples": 1024, "n_in": 32, "n_classes": 10, "hidden": 64}
SIGMA, SAMPLES, ALPHA, RADIUS = 0.1, 4, 1.0, 0.1
STAGES = {"gradient_descent": 1, "nrs_descent": 1, "nrs_flow": 4, "adversarial_descent": 1}
PASSES = {"gradient_descent": 1, "nrs_descent": SAMPLES + 1, "nrs_flow": SAMPLES + 1,
          "adversarial_descent": 3}
MAX_RUN_STEPS = 100_000
RACE_T = 2.0
SEED = 0


def problem(size: str) -> tuple[flat_minima.Model, np.ndarray, flat_minima.Neighbourhood]:
    """(model, theta0, neighbours) of a size (module docstring)."""
    if size == "small":
        model = flat_minima.instance("mlp", SEED)
    else:
        X, y = flat_minima.mixture_data(LARGE["n_samples"], LARGE["n_in"], LARGE["n_classes"],
                                        1.0, SEED)
        model = flat_minima.softmax_mlp(X, y, LARGE["n_classes"], LARGE["hidden"])
    return (model, flat_minima.initial_weights(model, 1.0, SEED + 1),
            flat_minima.gaussian_neighbours(model, SIGMA, SAMPLES, SEED + 2))


def _kwargs(name: str, neighbours) -> dict:
    if name == "gradient_descent":
        return {"lr": 0.1, "beta": 1e-3}
    if name == "nrs_descent":
        return {"lr": 0.1, "alpha": ALPHA, "neighbours": neighbours}
    if name == "nrs_flow":
        return {"alpha": ALPHA, "neighbours": neighbours, "method": "rk4", "dt": 0.1}
    return {"lr": 0.1, "alpha": ALPHA, "radius": RADIUS}


def _work(name: str, model: flat_minima.Model) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step (module docstring); bytes per pass: X read,
    the weights read and the gradient written, the hidden x P activations written and read
    twice, the K x P logits and their gradients."""
    d, hidden, k = (int(model.dims[i]) for i in (flat_minima.N_IN, flat_minima.HIDDEN,
                                                 flat_minima.N_CLASSES))
    P = model.n_samples
    passes = PASSES[name] * STAGES[name]
    flops = 2.0 * P * hidden * (2 * d + 3 * k) * passes
    per_pass = 8.0 * (d * P + 3 * model.size + 3 * hidden * P + 4 * k * P)
    working_set = per_pass
    return flops, per_pass * passes, working_set


def run_solver(name: str, backend: str, steps: int, model, theta0, neighbours) -> int:
    """Run solver ``name`` for ``steps`` steps (the flow: to T = steps dt); the steps taken."""
    kwargs = _kwargs(name, neighbours)
    horizon = ({"times": [steps * kwargs["dt"]]} if name == "nrs_flow" else {"steps": [steps]})
    traj = flat_minima.SOLVERS[name](model, theta0, backend=backend, **kwargs, **horizon)
    check_trajectory(traj, f"{name} P={model.n_samples} ({backend})")
    return traj.steps


def cases(quick: bool) -> list[Case]:
    """Every solver at the ``verify`` size and at the large size."""
    out = []
    for size in ("small", "large"):
        model, theta0, neighbours = problem(size)
        label = (f"tanh MLP {int(model.dims[1])}-{int(model.dims[2])}-{int(model.dims[3])}, "
                 f"P={model.n_samples}")
        for name in flat_minima.SOLVERS:
            def run(backend: str, steps: int, name=name, model=model, theta0=theta0,
                    neighbours=neighbours) -> int:
                return run_solver(name, backend, steps, model, theta0, neighbours)

            out.append(Case("flat_minima", name, size, label, run, *_work(name, model),
                            MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """The NRS flow at the ``verify`` size to t = 2, ours fixed-step rk4 against solve_ivp
    on the NumPy twin's field."""
    model, theta0, neighbours = problem("small")
    params = np.array([1.0, 0.0, ALPHA, 0.0, float(flat_minima.SAMPLED)])

    def ours(steps):
        return flat_minima.nrs_flow(model, theta0, alpha=ALPHA, neighbours=neighbours,
                                    times=[RACE_T], method="rk4",
                                    dt=RACE_T / int(steps)).states[-1]

    return [Race("flat_minima", "nrs_flow", "tanh MLP 5-6-3, P=120", ours, 10,
                 lambda t, y: flat_minima.field_numpy(y, model, params, neighbours.deltas),
                 theta0.copy(), RACE_T)]


def main(argv: list[str] | None = None) -> dict:
    """Steps per second of every solver at both sizes, jitted and NumPy twin."""
    _, args = detail_command("python -m benchmarks.flat_minima", __doc__, argv)
    report: dict[str, dict[str, float]] = {}
    for size in ("small", "large"):
        model, theta0, neighbours = problem(size)
        scale = 1 if size == "small" else 50
        steps = {"numba": max((1000 if args.quick else 10000) // scale, 10),
                 "numpy": max((100 if args.quick else 1000) // scale, 10)}
        for name in flat_minima.SOLVERS:
            label = f"{name} {size}"
            report[label] = twin_rates(
                lambda backend, n, name=name: run_solver(name, backend, n, model, theta0,
                                                         neighbours), steps, label)
    write_json_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
