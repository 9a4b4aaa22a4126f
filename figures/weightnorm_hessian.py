"""Figures for the two-layer WeightNorm network (docs/weightnorm_hessian.md).

Instances: the width sweep of ``HESSIAN_INSTANCE`` (d = 10, tanh, widths 16 ... 16384) at
the unit input ``unit_input(10, seed=1)``, the initializations drawn with seed 100 + k
for the k-th width; training on ``TRAINING`` with ``regression_task(40, 10, seed=2)`` and
``gaussian_init(200, 10, seed=3)``. The claims of :mod:`verify.weightnorm_hessian` draw
other instances.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analytic import weightnorm_hessian as exact
from figures.style import save, styled
from theory import weightnorm_hessian as sim

DIM = int(sim.HESSIAN_INSTANCE["dim"])
ACTIVATION = str(sim.HESSIAN_INSTANCE["activation"])
WIDTHS = np.array(sim.HESSIAN_INSTANCE["widths"])
INPUT_SEED, INIT_SEED, DATA_SEED, TRAIN_INIT_SEED = 1, 100, 2, 3


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``weightnorm_hessian_<name>.<fmt>``)."""
    return {"width": width, "norms": norms}


@lru_cache(maxsize=None)
def _sweep(init: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sqrt(m)|grad^2 f|, sqrt(m) bound, rho_min) per width."""
    x = sim.unit_input(DIM, INPUT_SEED)
    scaled, bounds, rho_min = [], [], []
    for k, m in enumerate(WIDTHS):
        make = sim.sphere_init if init == "sphere" else sim.gaussian_init
        W, a = make(int(m), DIM, INIT_SEED + k)
        scaled.append(np.sqrt(m) * sim.hessian_norm(W, a, x, activation=ACTIVATION))
        bounds.append(np.sqrt(m) * exact.hessian_bound(W, a, x, ACTIVATION))
        rho_min.append(sim.norms(W).min())
    return np.array(scaled), np.array(bounds), np.array(rho_min)


@styled
def width(out_dir: Path, fmt: str) -> Path:
    """sqrt(m)|grad^2 f| against m for the sphere and Gaussian initializations, with the
    rho-dependent bound and the supremum S of the sphere case (docs/weightnorm_hessian.md
    §C8.4, §C8.5); right: rho_min against m with m^(-1/d)."""
    fig = Figure(figsize=(10.0, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    colors = {"sphere": "tab:blue", "gaussian": "tab:red"}
    for init, color in colors.items():
        scaled, bounds, rho_min = _sweep(init)
        label = "sphere, $\\rho_k = 1$" if init == "sphere" else "Gaussian $N(0, 1/d)$"
        left.plot(WIDTHS, scaled, "o-", color=color, ms=4, label=f"{label}: measured")
        left.plot(WIDTHS, bounds, ls="--", color=color, label=f"{label}: bound")
        right.plot(WIDTHS, rho_min, "o-", color=color, ms=4, label=label)
    left.axhline(exact.sphere_supremum(ACTIVATION), color="gray", lw=0.8, ls=":",
                 label="sup over directions $S$")
    _, _, rho_gauss = _sweep("gaussian")
    right.plot(WIDTHS, rho_gauss[0] * (WIDTHS / WIDTHS[0]) ** (-1.0 / DIM), color="gray",
               ls=":", label="$\\propto m^{-1/d}$")
    left.set(xscale="log", yscale="log", xlabel="width $m$",
             ylabel=r"$\sqrt{m}\,\|\nabla^2_\theta f\|_2$",
             title="Hessian norm times $\\sqrt{m}$ (C8.4, C8.5)")
    right.set(xscale="log", yscale="log", xlabel="width $m$", ylabel=r"$\rho_{\min}$",
              title="smallest normalization term")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.suptitle(f"Two-layer WeightNorm network, $d={DIM}$, {ACTIVATION}, unit input")
    return save(fig, out_dir, "weightnorm_hessian_width", fmt)


@styled
def norms(out_dir: Path, fmt: str) -> Path:
    """rho_k over gradient-descent training without and with weight decay: the smallest,
    the median and the largest over neurons, and the loss (docs/weightnorm_hessian.md
    §C8.6, §C8.7)."""
    spec = sim.TRAINING
    X, y = sim.regression_task(int(spec["n_samples"]), DIM, DATA_SEED)
    W0, a0 = sim.gaussian_init(int(spec["width"]), DIM, TRAIN_INIT_SEED)
    steps = np.arange(1, int(spec["steps"]) + 1)
    fig = Figure(figsize=(10.0, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for decay, color in ((0.0, "tab:blue"), (float(spec["weight_decay"]), "tab:red")):
        traj = sim.gradient_descent(X, y, W0, a0, lr=float(spec["lr"]), steps=steps,
                                    weight_decay=decay, activation=ACTIVATION)
        rho = traj.norms
        label = f"weight decay {decay:g}"
        left.plot(traj.times, rho.min(axis=1), color=color, label=f"{label}: $\\rho_{{\\min}}$")
        left.plot(traj.times, np.median(rho, axis=1), color=color, ls="--", label="median")
        left.plot(traj.times, rho.max(axis=1), color=color, ls=":", label="max")
        right.plot(traj.times, traj.losses(X, y, ACTIVATION), color=color, label=label)
    left.set(yscale="log", xlabel="step", ylabel=r"$\rho_k = \|w_k\|$",
             title="normalization terms (C8.6, C8.7)")
    right.set(yscale="log", xlabel="step", ylabel="loss (without the decay term)",
              title="training loss")
    left.legend(fontsize=7, ncol=2)
    right.legend(fontsize=7)
    fig.suptitle(f"Gradient descent, $m={spec['width']}$, $d={DIM}$, $n={spec['n_samples']}$, "
                 f"lr {spec['lr']}")
    return save(fig, out_dir, "weightnorm_hessian_norms", fmt)
