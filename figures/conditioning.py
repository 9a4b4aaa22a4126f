"""Figures for weight conditioning (docs/conditioning.md).

Training instance: ``row_scaled_instance()`` (8 -> 16 -> 16 -> 4, every layer with rows
scaled by e^U(-1, 1), P = 64), gradient descent with lr 0.01 for every normalizer. The
iteration figure draws second layers as in the claims of :mod:`verify.conditioning`
(Gaussian 16 x 4 with rows scaled by e^U(-s, s)) from fixed seeds.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analytic import conditioning as exact
from figures.style import save, styled
from theory import conditioning as sim

LR = 0.01
STEPS = np.unique(np.geomspace(1, 20_000, 80).round().astype(np.int64))
STYLES = {"none": ("black", "-"), "row": ("tab:blue", "-"), "column": ("tab:green", "--"),
          "weight_norm": ("tab:orange", ":"), "standardize": ("tab:red", "-.")}
EPS = 1e-8
SPREADS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
DRAWS = 4


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``conditioning_<name>.<fmt>``)."""
    return {"training": training, "mlp_training": mlp_training, "iterations": iterations}


@lru_cache(maxsize=None)
def _run(name: str, activation: str) -> sim.ConditionedTrajectory:
    X, Y, weights = sim.row_scaled_instance()
    return sim.gradient_descent(X, Y, weights, lr=LR, steps=STEPS, conditioner=name,
                                activation=activation)


@styled
def training(out_dir: Path, fmt: str) -> Path:
    """The loss and kappa(C_l(W_l)) of every layer against the step, per normalizer, deep
    linear network (docs/conditioning.md §7a.1; standardization removes each row's mean, so
    its layers with fan-in below their width are singular and it cannot fit the data)."""
    return _training(out_dir, fmt, "linear")


@styled
def mlp_training(out_dir: Path, fmt: str) -> Path:
    """As :func:`training`, with tanh on the hidden layers (docs/conditioning.md §7a.2)."""
    return _training(out_dir, fmt, "tanh")


def _training(out_dir: Path, fmt: str, activation: str) -> Path:
    X, Y, _ = sim.row_scaled_instance()
    fig = Figure(figsize=(10.0, 7.0), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for name, (color, style) in STYLES.items():
        traj = _run(name, activation)
        kappas = np.minimum(traj.condition_numbers, 1e17)
        axes[0].plot(traj.times[1:], traj.losses(X, Y)[1:], color=color, ls=style, label=name)
        for layer in range(3):
            axes[layer + 1].plot(traj.times, kappas[:, layer], color=color, ls=style, label=name)
    axes[0].set(xscale="log", yscale="log", xlabel="step", ylabel="loss",
                title="loss (gradient descent, lr 0.01)")
    for layer in range(3):
        axes[layer + 1].set(xscale="log", yscale="log", xlabel="step",
                            ylabel=rf"$\kappa(C(W_{layer + 1}))$",
                            title=f"layer {layer + 1} (kappa capped at 1e17)")
    axes[0].legend()
    network = "deep linear" if activation == "linear" else "tanh MLP"
    fig.suptitle(f"Conditioners in the forward pass: {network} 8-16-16-4, rows scaled by "
                 r"$e^{U(-1,1)}$")
    stem = "conditioning_training" if activation == "linear" else "conditioning_mlp_training"
    return save(fig, out_dir, stem, fmt)


def _iterations(X, Y, W2, start, conditioned: bool) -> tuple[float, float]:
    """(kappa of the first layer's Gauss-Newton block, measured iterations to EPS) of
    gradient descent on W_1 alone with the optimal step (docs/conditioning.md §7b.3)."""
    A = sim.row_equilibrate(W2) if conditioned else W2
    lam = exact.gauss_newton_eigenvalues(A, X.T)
    kappa = exact.gauss_newton_condition_number(A, X.T)
    horizon = int(np.ceil(exact.gd_iterations(kappa, EPS))) + 2
    traj = sim.gradient_descent(X, Y, [start, W2], lr=exact.optimal_step(lam[-1], lam[0]),
                                steps=np.arange(1, horizon + 1),
                                conditioner="row" if conditioned else "none",
                                conditioned_layers=[1], trained_layers=[0])
    W_star = np.linalg.pinv(A) @ Y.T @ np.linalg.pinv(X.T)
    errors = np.linalg.norm(traj.raise_if_diverged().weights[0] - W_star, axis=(1, 2))
    return kappa, float(np.flatnonzero(errors <= EPS * errors[0])[0])


@styled
def iterations(out_dir: Path, fmt: str) -> Path:
    """Iterations of gradient descent to eps = 1e-8 against kappa of the Gauss-Newton block,
    without and with row equilibration of the fixed second layer, against
    ln(1/eps)/ln((kappa+1)/(kappa-1)) and (kappa/2) ln(1/eps) (docs/conditioning.md §7b.3,
    §C7.3 and §C7.4)."""
    X, Y = sim.regression_data(4, 16, 64, seed=7)
    start = sim.scaled_rows(4, 4, 0.0, 8)
    fig = Figure(figsize=(6.8, 4.8), layout="constrained")
    ax = fig.add_subplot()
    points = {False: [], True: []}
    for i, spread in enumerate(SPREADS):
        for j in range(DRAWS):
            W2 = sim.scaled_rows(16, 4, spread, 100 * i + j)
            for conditioned in (False, True):
                points[conditioned].append(_iterations(X, Y, W2, start, conditioned))
    Q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((16, 4)))
    orthonormal = [_iterations(X, Y, Q, start, c) for c in (False, True)]
    for conditioned, (color, label) in ((False, ("black", "none")),
                                        (True, ("tab:blue", "row-equilibrated"))):
        kappa, count = np.array(points[conditioned]).T
        ax.plot(kappa, count, "o", color=color, ms=4, label=f"{label} (rows scaled)")
    ax.plot(*np.array(orthonormal).T, "s-", color="tab:red", ms=6,
            label="orthonormal columns: none -> row")
    grid = np.geomspace(1.5, 2.0 * max(k for k, _ in points[False]), 100)
    ax.plot(grid, [exact.gd_iterations(k, EPS) for k in grid], color="gray",
            label=r"$\ln(1/\epsilon)/\ln\frac{\kappa+1}{\kappa-1}$")
    ax.plot(grid, [exact.gd_iterations_asymptotic(k, EPS) for k in grid], color="gray", ls=":",
            label=r"$(\kappa/2)\ln(1/\epsilon)$")
    ax.set(xscale="log", yscale="log", xlabel=r"$\kappa(A^\top A \otimes XX^\top/P)$",
           ylabel=r"iterations to $\epsilon = 10^{-8}$",
           title="gradient descent on $W_1$ behind a fixed $W_2$ (C7.3, C7.4)")
    ax.legend(fontsize=7)
    return save(fig, out_dir, "conditioning_iterations", fmt)
