"""Figures for the ReLU network setting (docs/relu_network.md).

Instance: ``small_classification(24, 10, 3, seed=5)`` scaled by 1/sqrt(10) (random labels
over 3 classes), widths 10-30-3, He start (seed 6); discrete Minnorm c = 1, lr_w = 0.005,
lr_lambda = 0.001 for 3e5 steps, as in the claims of :mod:`verify.relu_network`.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from figures.style import save, styled
from theory import relu_network as sim

STEPS = np.unique(np.geomspace(1, 300_000, 200).round().astype(np.int64))
MINNORM = {"c": 1.0, "lr_w": 0.005, "lr_lambda": 0.001}
INSTANCE = (r"$P=24,\ N_i=10$, 3 random classes, widths 10-30-3; "
            r"Minnorm $c=1,\ a=0.005,\ b=0.001$")


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``relu_network_<name>.<fmt>``)."""
    return {"minnorm_training": minnorm_training, "multipliers": multipliers}


@lru_cache(maxsize=None)
def _run() -> tuple:
    X, y = sim.small_classification(24, 10, 3, seed=5)
    X = X / np.sqrt(10)
    weights0 = sim.gaussian_init([10, 30, 3], np.sqrt(2.0), seed=6)
    return X, y, sim.minnorm_descent(X, y, weights0, steps=STEPS, **MINNORM)


@styled
def minnorm_training(out_dir: Path, fmt: str) -> Path:
    """Minnorm's worst margin, the squared layer norms and the sum of the multipliers
    against the step: the margins reach 1 and |W_1|^2 = |W_2|^2 = sum lambda at the end
    (docs/relu_network.md §5b.2)."""
    X, y, traj = _run()
    steps = traj.times[1:]
    weights = [traj.weights_at(i) for i in range(1, len(traj.times))]
    worst = [sim.margins(X, y, W).min() for W in weights]
    norms = np.array([[np.sum(W * W) for W in ws] for ws in weights])
    total = traj.multipliers[1:].sum(axis=(1, 2))
    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(steps, worst, color="black")
    left.axhline(1.0, color="tab:red", ls="--", lw=0.8, label="margin 1")
    left.set(xscale="log", xlabel="step", ylabel=r"$\min_{\mu, j} m_{\mu j}$",
             title="worst margin", ylim=(-2.0, 1.5))
    left.legend(loc="lower right")
    right.plot(steps, norms[:, 0], label=r"$\|W_1\|^2$", color="tab:blue")
    right.plot(steps, norms[:, 1], label=r"$\|W_2\|^2$", color="tab:orange", ls="--")
    right.plot(steps, total, label=r"$\sum \lambda$", color="tab:green", ls=":")
    right.set(xscale="log", xlabel="step", title="layer balance")
    right.legend(loc="upper left")
    fig.suptitle(f"ReLU network: Minnorm training\n{INSTANCE}")
    return save(fig, out_dir, "relu_network_minnorm_training", fmt)


@styled
def multipliers(out_dir: Path, fmt: str) -> Path:
    """Histogram of the per-example multiplier totals sum_j lambda_{mu j} at the end of the
    run: examples with total 0 do not support the solution."""
    _, _, traj = _run()
    totals = traj.multipliers[-1].sum(axis=1)
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(totals, bins=20, color="tab:green")
    ax.set(xlabel=r"$\Lambda_\mu = \sum_j \lambda_{\mu j}$", ylabel="examples",
           title=f"ReLU network: Minnorm multipliers per example "
                 f"({int(np.sum(totals == 0.0))} of {totals.size} at 0)\n{INSTANCE}")
    return save(fig, out_dir, "relu_network_multipliers", fmt)
