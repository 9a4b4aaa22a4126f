"""Figures for the ReLU network setting (docs/relu_network.md).

Minnorm's fixed point: ``small_classification(24, 10, 3, seed=5)`` scaled by 1/sqrt(10)
(random labels over 3 classes), widths 10-30-3, He start (seed 6); discrete Minnorm c = 1,
lr_w = 0.005, lr_lambda = 0.001 for 3e5 steps, as in the claims of :mod:`verify.relu_network`.

The digits: the three methods of :class:`theory.relu_network.DigitsProtocol` on
:func:`theory.relu_network.digits_split` with split seeds 0..4 (:data:`DIGITS_SEEDS`) and
start seeds 100 + seed, as in the digits claims (which draw their seeds).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from figures.style import save, styled
from theory import relu_network as sim
from theory.progress import progress

STEPS = np.unique(np.geomspace(1, 300_000, 200).round().astype(np.int64))
MINNORM = {"c": 1.0, "lr_w": 0.005, "lr_lambda": 0.001}
INSTANCE = (r"$P=24,\ N_i=10$, 3 random classes, widths 10-30-3; "
            r"Minnorm $c=1,\ a=0.005,\ b=0.001$")


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``relu_network_<name>.<fmt>``)."""
    return {"minnorm_training": minnorm_training, "multipliers": multipliers,
            "digits_accuracy": digits_accuracy, "digits_training": digits_training,
            "digits_flipped": digits_flipped}


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


DIGITS_SIZES = (100, 200, 400, 800, 1097)
DIGITS_SEEDS = range(5)
CURVE_SIZE, FLIP_FRACTION = 400, 0.05
METHOD_COLORS = {"gradient descent": "tab:blue", "L2": "tab:orange", "Minnorm": "tab:green"}
PROTOCOL_LABEL = r"64-32-10: GD stopped early, L2 $\beta$ by validation, Minnorm's last step"


@lru_cache(maxsize=None)
def _digits(size: int, seed: int, flip: bool = False) -> sim.DigitsRuns:
    split = sim.digits_split(size, seed)
    weights0 = sim.gaussian_init(sim.DigitsProtocol().widths(), np.sqrt(2.0), 100 + seed)
    labels = (sim.flip_labels(split.y_train, FLIP_FRACTION, 10, seed)[0] if flip else None)
    return sim.train_on_digits(split, weights0, y_train=labels)


@styled
def digits_accuracy(out_dir: Path, fmt: str) -> Path:
    """Test accuracy against the training-set size for early-stopped GD, selected L2 and
    Minnorm: mean and standard deviation over :data:`DIGITS_SEEDS`."""
    pairs = [(size, seed) for size in DIGITS_SIZES for seed in DIGITS_SEEDS]
    table = [_digits(size, seed).test_accuracies()
             for size, seed in progress(pairs, "digits: three methods per split")]
    accuracies = {name: np.array([row[name] for row in table]).reshape(len(DIGITS_SIZES), -1)
                  for name in METHOD_COLORS}
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for shift, (name, values) in zip((-0.03, 0.0, 0.03), accuracies.items()):
        ax.errorbar(np.array(DIGITS_SIZES) * 10 ** shift, values.mean(axis=1),
                    yerr=values.std(axis=1, ddof=1), marker="o", capsize=3, label=name,
                    color=METHOD_COLORS[name])
    ax.set(xscale="log", xlabel="training images $P$", ylabel="test accuracy (400 images)",
           title=f"ReLU network on digits: mean $\\pm$ std over {len(DIGITS_SEEDS)} splits\n"
                 f"{PROTOCOL_LABEL}")
    ax.legend(loc="lower right")
    return save(fig, out_dir, "relu_network_digits_accuracy", fmt)


@styled
def digits_training(out_dir: Path, fmt: str) -> Path:
    """Training error, test accuracy and squared weight norm against the step for the three
    methods on one split (P = :data:`CURVE_SIZE`, seed 0); the marker shows where early
    stopping stops."""
    runs = _digits(CURVE_SIZE, 0)
    split = runs.split
    trajectories = {"gradient descent": runs.gradient_descent, "L2": runs.l2,
                    "Minnorm": runs.minnorm}
    fig = Figure(figsize=(11.0, 3.9), layout="constrained")
    axes = fig.subplots(1, 3)
    for name, traj in trajectories.items():
        weights = [traj.weights_at(i) for i in range(len(traj.times))]
        curves = (
            [1.0 - sim.accuracy(split.X_train, runs.y_train, W) for W in weights],
            [sim.accuracy(split.X_test, split.y_test, W) for W in weights],
            [sim.squared_norm(W) for W in weights])
        for ax, values in zip(axes, curves):
            ax.plot(traj.times, values, color=METHOD_COLORS[name],
                    label=name + (f" ($\\beta$={runs.beta:g})" if name == "L2" else ""))
    stop = runs.gradient_descent.times[runs.early_stop]
    axes[1].axvline(stop, color=METHOD_COLORS["gradient descent"], ls=":", lw=0.8,
                    label="early stop")
    axes[0].set(xscale="log", xlabel="step", title="training error", ylim=(0.0, 0.2))
    axes[1].set(xscale="log", xlabel="step", title="test accuracy", ylim=(0.5, 1.0))
    axes[2].set(xscale="log", yscale="log", xlabel="step",
                title=r"$\sum_l \|W_l\|^2$")
    axes[1].legend(loc="lower right")
    fig.suptitle(f"ReLU network on digits, $P={CURVE_SIZE}$, split 0\n{PROTOCOL_LABEL}")
    return save(fig, out_dir, "relu_network_digits_training", fmt)


@styled
def digits_flipped(out_dir: Path, fmt: str) -> Path:
    """With 5 % of the training labels flipped: the 16 training images of largest
    multiplier total sum_j lambda_{mu j} (title: the trained label, red when flipped) and
    the histogram of the totals, flipped and clean examples apart."""
    runs = _digits(CURVE_SIZE, 0, flip=True)
    _, flipped = sim.flip_labels(runs.split.y_train, FLIP_FRACTION, 10, 0)
    totals = runs.minnorm.multipliers[-1].sum(axis=1)
    order = np.argsort(-totals, kind="stable")[:16]
    fig = Figure(figsize=(11.0, 5.0), layout="constrained")
    grid, right = fig.subfigures(1, 2, width_ratios=(1.0, 1.1))
    for ax, index in zip(grid.subplots(4, 4).ravel(), order):
        ax.imshow(runs.split.images_train[index], cmap="gray_r", vmin=0.0, vmax=16.0)
        ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
        ax.set_title(f"{runs.y_train[index]}" + (" (flipped)" if flipped[index] else ""),
                     color="tab:red" if flipped[index] else "black", fontsize=8)
    grid.suptitle("largest multiplier totals (label trained on)")
    ax = right.add_subplot()
    bins = np.linspace(0.0, totals.max(), 30)
    ax.hist(totals[~flipped], bins=bins, color="tab:green", alpha=0.7, label="clean labels")
    ax.hist(totals[flipped], bins=bins, color="tab:red", alpha=0.7, label="flipped labels")
    ax.set(yscale="log", xlabel=r"$\Lambda_\mu = \sum_j \lambda_{\mu j}$",
           ylabel="training examples",
           title=f"{int(flipped.sum())} of {flipped.size} labels flipped")
    ax.legend()
    fig.suptitle(f"ReLU network on digits: Minnorm's multipliers, $P={CURVE_SIZE}$, split 0")
    return save(fig, out_dir, "relu_network_digits_flipped", fmt)
