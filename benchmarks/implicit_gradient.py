"""Benchmark of the solvers in :mod:`theory.implicit_gradient`.

Two sizes of the tanh network f(x) = W_2 tanh(W_1 x): ``small``, the size ``verify`` uses
(``network_instance("tanh", seed=0)``: N_in = 3, hidden 4, N_out = 2, P = 8), and
``large`` (N_in = 32, hidden 64, N_out = 8, P = 256, X ~ N(0, 1), targets of a random
teacher). Solvers: gradient descent (lr = 0.05), the gradient flow and the modified flow
(lr = 0.05), flows fixed-step rk4 with dt = 0.05.

Work per field evaluation counts the multiply-adds of the products with the data, 2 per
product term: the gradient 4 h P N_in + 6 h P N_out (forward, W_2^T R, both weight
gradients), and the exact Hessian-vector product of the modified flow another
4 h P N_in + 12 h P N_out (docs/implicit_gradient.md §11a.3); times the stages (1 for
gradient descent, 4 for rk4).

Run from the repository root::

    python -m benchmarks.implicit_gradient [--quick] [--json PATH]

which prints steps per second, jitted and NumPy twin, and their ratio.
"""
from __future__ import annotations


import numpy as np

from benchmarks.common import check_trajectory, detail_command, twin_rates, write_json_report
from benchmarks.harness import Case, Race
from theory import implicit_gradient

SOLVER_ARGS: dict[str, dict[str, float]] = {
    "gradient_descent": {"lr": 0.05},
    "gradient_flow": {"method": "rk4", "dt": 0.05},
    "modified_flow": {"method": "rk4", "dt": 0.05, "lr": 0.05},
}
"""Keyword arguments per solver (flows: fixed-step rk4)."""
STAGES = {"gradient_descent": 1, "gradient_flow": 4, "modified_flow": 4}
LARGE = {"n_in": 32, "hidden": 64, "n_out": 8, "n_samples": 256}
MAX_RUN_STEPS = 200_000
RACE_T = 2.0
SEED = 0


def problem(size: str) -> tuple[implicit_gradient.Model, np.ndarray]:
    """(model, theta0) of a size (module docstring)."""
    if size == "small":
        return implicit_gradient.network_instance("tanh", SEED)
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((LARGE["n_samples"], LARGE["n_in"]))
    shape = implicit_gradient.network(X, np.zeros((LARGE["n_samples"], LARGE["n_out"])),
                                      LARGE["hidden"], "tanh")
    teacher = implicit_gradient.network_init(shape, 1.0, SEED + 1)
    model = implicit_gradient.network(X, implicit_gradient.predict(shape, teacher).T,
                                      LARGE["hidden"], "tanh")
    return model, implicit_gradient.network_init(model, 1.0, SEED + 2)


def _work(name: str, model: implicit_gradient.Model) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step: flops of the module docstring; bytes per
    evaluation: X and Y read, the weights read twice and the gradient written, five
    hidden x P arrays written and read (s, s', s'', W_2^T R and, for the modified flow, the
    forward derivative), the residual and its derivative."""
    n_in, hidden, n_out = (int(model.dims[i]) for i in (implicit_gradient.N_IN,
                                                        implicit_gradient.HIDDEN,
                                                        implicit_gradient.N_OUT))
    P = model.X.shape[1]
    flops = 4 * hidden * P * n_in + 6 * hidden * P * n_out
    if name == "modified_flow":
        flops += 4 * hidden * P * n_in + 12 * hidden * P * n_out
    data = P * (n_in + n_out)
    scratch = 2 * (5 * hidden * P + 2 * n_out * P)
    per_eval = 8.0 * (data + 3 * model.size + scratch)
    stages = STAGES[name]
    working_set = 8.0 * (data + (stages + 3) * model.size + 5 * hidden * P + 2 * n_out * P)
    return float(stages * flops), stages * per_eval, working_set


def run_solver(name: str, backend: str, steps: int, model, theta0) -> int:
    """Run solver ``name`` for ``steps`` steps (flows: to T = steps dt); the steps taken."""
    kwargs = SOLVER_ARGS[name]
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = implicit_gradient.SOLVERS[name](model, theta0, backend=backend, **kwargs, **horizon)
    check_trajectory(traj, f"{name} P={model.X.shape[1]} ({backend})")
    return traj.steps


def cases(quick: bool) -> list[Case]:
    """Every solver at the ``verify`` size and at the large size."""
    out = []
    for size in ("small", "large"):
        model, theta0 = problem(size)
        label = (f"tanh {int(model.dims[1])}-{int(model.dims[2])}-{int(model.dims[3])}, "
                 f"P={model.X.shape[1]}")
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, model=model, theta0=theta0) -> int:
                return run_solver(name, backend, steps, model, theta0)

            out.append(Case("implicit_gradient", name, size, label, run, *_work(name, model),
                            MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """The gradient flow and the modified flow (lr = 0.05) at the ``verify`` size to t = 2,
    ours fixed-step rk4 against solve_ivp on the NumPy twin's field."""
    model, theta0 = problem("small")
    out = []
    for name, params, kwargs in (("gradient_flow", np.array([1.0, 0.0]), {}),
                                 ("modified_flow", np.array([1.0, 0.025]), {"lr": 0.05})):
        def ours(steps, name=name, kwargs=kwargs):
            return implicit_gradient.SOLVERS[name](model, theta0, times=[RACE_T], method="rk4",
                                                   dt=RACE_T / int(steps), **kwargs).states[-1]

        out.append(Race("implicit_gradient", name, "tanh 3-4-2, P=8", ours, 10,
                        lambda t, y, params=params: implicit_gradient.field_numpy(
                            y, model, params), theta0.copy(), RACE_T))
    return out


def main(argv: list[str] | None = None) -> dict:
    """Steps per second of every solver at both sizes, jitted and NumPy twin."""
    _, args = detail_command("python -m benchmarks.implicit_gradient", __doc__, argv)
    report: dict[str, dict[str, float]] = {}
    for size in ("small", "large"):
        model, theta0 = problem(size)
        scale = 1 if size == "small" else 100
        steps = {"numba": max((2000 if args.quick else 20000) // scale, 10),
                 "numpy": max((200 if args.quick else 2000) // scale, 10)}
        for name in SOLVER_ARGS:
            label = f"{name} {size}"
            report[label] = twin_rates(
                lambda backend, n, name=name: run_solver(name, backend, n, model, theta0),
                steps, label)
    write_json_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
