"""Benchmark of the WeightNorm solvers and Hessian kernels in :mod:`theory.weightnorm_hessian`.

Cases (``python -m benchmarks``): both solvers at a small size, the one ``verify`` trains
(m = 200, d = 10, n = 40), and a large one (m = 4096, d = 32, n = 512), on
``regression_task`` with ``gaussian_init``; gradient descent at lr 0.5, the flow with
fixed rk4 steps dt = 0.05. Work per field evaluation (module :func:`_work`): the two
products X W^T and C^T X (2 n m d flops each), the activation and its derivative at every
(sample, neuron) pair (about 30 flops with the exponential), and O(m d) for the norms and
the projection off w_k; memory: X, the state and the two m x n scratch matrices. The
tanh pass vectorizes (its exponential is :func:`theory.elementary.exp`); softplus calls
libm's log1p once per pair and is several times slower per pair.

The detailed benchmark ``python -m benchmarks.weightnorm_hessian`` also times what the
cases do not cover: the Hessian norm max_k |H_k| at m = 1024 and 16384 (d = 10), jitted
(one block at a time, LAPACK's symmetric eigensolver) against its NumPy twin (all blocks
formed, batched eigvalsh) and, when JAX is installed, against ``jax.jit`` of the same
batched computation; the whole width sweep 16 ... 16384 of the claims; and, with JAX,
gradient descent at both sizes against a ``jax.jit`` ``lax.fori_loop`` of the same update.

Run from the repository root::

    python -m benchmarks.weightnorm_hessian [--quick] [--json PATH]
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import check_trajectory, detail_command, twin_rates, write_json_report
from benchmarks.harness import Case, Race
from theory import weightnorm_hessian

SMALL, LARGE = (200, 10, 40), (4096, 32, 512)
"""(m, d, n) of the two sizes."""
DATA_SEED, INIT_SEED = 2, 3
SOLVER_ARGS: dict[str, dict] = {
    "gradient_descent": {"lr": 0.5},
    "gradient_flow": {"method": "rk4", "dt": 0.05},
}
STAGES = {"gradient_descent": 1, "gradient_flow": 4}
MAX_RUN_STEPS = 100_000
RACE_T = 5.0


def problem(width: int, dim: int, n_samples: int) -> tuple:
    """(X, y, W0, a0) of a size."""
    X, y = weightnorm_hessian.regression_task(n_samples, dim, DATA_SEED)
    W0, a0 = weightnorm_hessian.gaussian_init(width, dim, INIT_SEED)
    return X, y, W0, a0


def run_solver(name: str, backend: str, steps: int, X, y, W0, a0) -> int:
    """Run solver ``name`` for ``steps`` steps (the flow: to T = steps dt); the steps taken."""
    kwargs = dict(SOLVER_ARGS[name])
    horizon = ({"times": [steps * kwargs["dt"]]} if name.endswith("_flow")
               else {"steps": [steps]})
    traj = weightnorm_hessian.SOLVERS[name](X, y, W0, a0, backend=backend, **kwargs, **horizon)
    check_trajectory(traj, f"{name} m={W0.shape[0]} ({backend})")
    return traj.steps


def _work(name: str, width: int, dim: int, n_samples: int) -> tuple[float, float, float]:
    """(flops, bytes, working set) of one step (module docstring)."""
    per_eval = 4.0 * n_samples * width * dim + 30.0 * n_samples * width + 10.0 * width * dim
    data = n_samples * dim + 3.0 * width * (dim + 1) + 2.0 * n_samples * width
    stages = STAGES[name]
    return stages * per_eval, stages * 8.0 * data, 8.0 * data


def cases(quick: bool) -> list[Case]:
    """Both solvers at (m, d, n) = (200, 10, 40), the ``verify`` size, and (4096, 32, 512)."""
    out = []
    for size, (width, dim, n_samples) in (("small", SMALL), ("large", LARGE)):
        X, y, W0, a0 = problem(width, dim, n_samples)
        for name in SOLVER_ARGS:
            def run(backend: str, steps: int, name=name, X=X, y=y, W0=W0, a0=a0) -> int:
                return run_solver(name, backend, steps, X, y, W0, a0)

            out.append(Case("weightnorm_hessian", name, size,
                            f"m={width}, d={dim}, n={n_samples}", run,
                            *_work(name, width, dim, n_samples), MAX_RUN_STEPS))
    return out


def races() -> list[Race]:
    """The gradient flow (with and without weight decay) at the ``verify`` size to t = 5,
    ours fixed-step rk4 against solve_ivp on the NumPy twin's field."""
    X, y, W0, a0 = problem(*SMALL)
    out = []
    for decay in (0.0, 0.05):
        twin, y0 = weightnorm_hessian.problem(
            X, y, W0, a0, weightnorm_hessian.kernel_parameters(1.0, decay, "tanh"))

        def ours(steps, decay=decay):
            return weightnorm_hessian.gradient_flow(X, y, W0, a0, times=[RACE_T],
                                                    weight_decay=decay, method="rk4",
                                                    dt=RACE_T / int(steps)).states[-1]

        out.append(Race("weightnorm_hessian", f"gradient_flow/decay {decay:g}",
                        f"m={SMALL[0]}, d={SMALL[1]}, n={SMALL[2]}", ours, 10,
                        lambda t, state, twin=twin: twin.field_numpy(state), y0, RACE_T))
    return out


HESSIAN_WIDTHS = (1024, 16384)
HESSIAN_DIM = 10


def _jax_norm():
    """``jax.jit`` of max_k |H_k| (blocks formed in a batch, eigvalsh), or None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def norm(W, a, x):
        m, d = W.shape
        rho = jnp.linalg.norm(W, axis=1)
        w_hat = W / rho[:, None]
        u = w_hat @ x
        t = jnp.tanh(u)
        phi1, phi2 = 1 - t * t, -2 * t * (1 - t * t)
        p = x[None, :] - u[:, None] * w_hat
        P = jnp.eye(d)[None] - w_hat[:, :, None] * w_hat[:, None, :]
        hess_u = -(w_hat[:, :, None] * p[:, None, :] + p[:, :, None] * w_hat[:, None, :]
                   + u[:, None, None] * P) / (rho ** 2)[:, None, None]
        ww = a[:, None, None] * (phi2[:, None, None] * p[:, :, None] * p[:, None, :]
                                 / (rho ** 2)[:, None, None] + phi1[:, None, None] * hess_u)
        wa = phi1[:, None] * p / rho[:, None]
        top = jnp.concatenate((ww, wa[:, :, None]), axis=2)
        bottom = jnp.concatenate((wa, jnp.zeros((m, 1))), axis=1)[:, None, :]
        blocks = jnp.concatenate((top, bottom), axis=1) / jnp.sqrt(m)
        return jnp.max(jnp.abs(jnp.linalg.eigvalsh(blocks)))

    return lambda W, a, x: float(norm(W, a, x).block_until_ready())


def hessian_timings(quick: bool) -> dict[str, dict[str, float]]:
    """Seconds per evaluation of |grad^2 f| at :data:`HESSIAN_WIDTHS`: numba, the NumPy
    twin and JAX (when installed), with the largest relative difference to numba's value;
    and the seconds of the claims' whole width sweep (both initializations)."""
    jax_norm = _jax_norm()
    repeats = 3 if quick else 5
    report = {}
    x = weightnorm_hessian.unit_input(HESSIAN_DIM, 1)
    for m in HESSIAN_WIDTHS:
        W, a = weightnorm_hessian.gaussian_init(m, HESSIAN_DIM, 0)
        reference = weightnorm_hessian.hessian_norm(W, a, x)
        runners = {"numba": lambda: weightnorm_hessian.hessian_norm(W, a, x),
                   "numpy": lambda: weightnorm_hessian.hessian_norm(W, a, x, backend="numpy")}
        if jax_norm is not None:
            runners["jax"] = lambda: jax_norm(W, a, x)
        row: dict[str, float] = {}
        for label, run in runners.items():
            row[f"{label}_relative_difference"] = abs(run() / reference - 1.0)
            row[f"{label}_s"] = min(_seconds(run) for _ in range(repeats))
        row["twin_ratio"] = row["numpy_s"] / row["numba_s"]
        if "jax_s" in row:
            row["jax_ratio"] = row["jax_s"] / row["numba_s"]
        report[f"m={m}, d={HESSIAN_DIM}"] = row
        print(f"|grad^2 f| m={m:6d}: " + "  ".join(f"{k} {v:.3g}" for k, v in row.items()),
              flush=True)

    def sweep():
        for k, m in enumerate(weightnorm_hessian.HESSIAN_INSTANCE["widths"]):
            for init in (weightnorm_hessian.sphere_init, weightnorm_hessian.gaussian_init):
                weightnorm_hessian.hessian_norm(*init(m, HESSIAN_DIM, k), x)

    report["width sweep 16..16384, both inits"] = {"numba_s": min(_seconds(sweep)
                                                                  for _ in range(repeats))}
    print(f"width sweep: {report['width sweep 16..16384, both inits']['numba_s']:.3g} s")
    return report


TRAINING_STEPS = {SMALL: (2000, 400), LARGE: (20, 5)}
"""(full, quick) gradient-descent steps of the JAX comparison per size."""


def _jax_descent(X, y, W0, a0, lr: float):
    """``run(n)``: ``n`` gradient-descent steps on the same loss in one ``jax.jit``-compiled
    ``lax.fori_loop`` (the update written out with the products of our kernel), returning
    the final flat state; None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    m, d = W0.shape
    n = X.shape[0]

    def step(_, state):
        W, a = state[:m * d].reshape(m, d), state[m * d:]
        inverse_rho = 1.0 / jnp.sqrt(jnp.sum(W * W, axis=1))
        phi = jnp.tanh((X @ W.T) * inverse_rho)
        r = (phi @ a / jnp.sqrt(m) - y) / n
        C = (r[:, None] * (1.0 - phi * phi)) * (a * inverse_rho / jnp.sqrt(m))
        G = C.T @ X
        G = G - (jnp.sum(G * W, axis=1) * inverse_rho ** 2)[:, None] * W
        return state - lr * jnp.concatenate((G.ravel(), phi.T @ r / jnp.sqrt(m)))

    run = jax.jit(lambda state, steps: jax.lax.fori_loop(0, steps, step, state),
                  static_argnums=1)
    state0 = jnp.asarray(np.concatenate((W0.ravel(), a0)))
    return lambda steps: np.asarray(jax.block_until_ready(run(state0, steps)))


def jax_training_timings(quick: bool) -> dict[str, dict[str, float]]:
    """Seconds per gradient-descent step (tanh, lr 0.5), ours (the public solver) against
    the JAX loop of :func:`_jax_descent`, marginal over a long and a short run (each the
    best of three), with the relative difference of the final states; empty without JAX."""
    report = {}
    for size in (SMALL, LARGE):
        X, y, W0, a0 = problem(*size)
        jax_run = _jax_descent(X, y, W0, a0, SOLVER_ARGS["gradient_descent"]["lr"])
        if jax_run is None:
            return report
        steps = TRAINING_STEPS[size][1 if quick else 0]
        short = max(1, steps // 5)

        def ours(n, X=X, y=y, W0=W0, a0=a0):
            return weightnorm_hessian.gradient_descent(X, y, W0, a0, lr=0.5, steps=[n]).final

        difference = float(np.abs(ours(steps) - jax_run(steps)).max()
                           / np.abs(ours(steps)).max())
        jax_run(short)
        row = {"relative_difference": difference}
        for label, run in (("numba", ours), ("jax", jax_run)):
            long_s = min(_seconds(lambda: run(steps)) for _ in range(3))
            short_s = min(_seconds(lambda: run(short)) for _ in range(3))
            row[f"{label}_s_per_step"] = (long_s - short_s) / (steps - short)
        row["jax_ratio"] = row["jax_s_per_step"] / row["numba_s_per_step"]
        report[f"gradient_descent m={size[0]}, d={size[1]}, n={size[2]}"] = row
        print(f"GD vs JAX m={size[0]:5d}: " + "  ".join(f"{k} {v:.3g}" for k, v in row.items()),
              flush=True)
    return report


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    """Steps per second of both solvers (both sizes, jitted and twin) and the Hessian
    timings; optionally write the report as JSON."""
    _, args = detail_command("python -m benchmarks.weightnorm_hessian", __doc__, argv)
    report: dict = {"solvers": {}}
    for size in (SMALL, LARGE):
        X, y, W0, a0 = problem(*size)
        scale = 1 if size == SMALL else 20
        steps = {"numba": max((200 if args.quick else 1000) // scale, 5),
                 "numpy": max((20 if args.quick else 100) // scale, 5)}
        for name in SOLVER_ARGS:
            label = f"{name} m={size[0]}"
            report["solvers"][label] = twin_rates(
                lambda backend, n, name=name: run_solver(name, backend, n, X, y, W0, a0),
                steps, label)
    report["hessian"] = hessian_timings(args.quick)
    report["jax_training"] = jax_training_timings(args.quick)
    write_json_report(args.json, report)
    return report


if __name__ == "__main__":
    main()
