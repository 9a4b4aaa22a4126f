"""Figures for neighborhood region smoothing (docs/flat_minima.md).

Instance (docs/flat_minima.md §10a.4): softmax regression on ``mixture_data(120, 5, 3, 1.0,
seed=FIGURE_SEED)`` from ``initial_weights(scale 0.1)``, NRS with a fixed Gaussian sample
(sigma 0.3, S = 8), the training protocol of ``verify.flat_minima.TRAIN``. The table is
``verify.flat_minima.flatness_table`` (NRS end points and the baselines at a matched
training cross-entropy, claim C10.4).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from figures.style import save, styled
from theory import flat_minima as fm
from verify.flat_minima import TRAIN, flatness_table

FIGURE_SEED = 3
ALPHAS = (0.5, 1.0, 2.0, 3.0, 4.0)


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``flat_minima_<name>.<fmt>``)."""
    return {"sharpness": sharpness}


@styled
def sharpness(out_dir: Path, fmt: str) -> Path:
    """lambda_max(H) and tr H of the NRS end points against alpha (C10.4), with the two
    baselines at the matched training cross-entropy (early-stopped plain GD and plain GD
    with the matching L2 strength); right: the training cross-entropy of each end point."""
    X, y = fm.mixture_data(120, 5, 3, 1.0, FIGURE_SEED)
    model = fm.softmax_regression(X, y, 3)
    theta0 = fm.initial_weights(model, 0.1, FIGURE_SEED + 1)
    neighbours = fm.gaussian_neighbours(model, TRAIN["sigma"], TRAIN["samples"],
                                        FIGURE_SEED + 2)
    rows = flatness_table(model, theta0, neighbours, ALPHAS)
    alphas = np.array([r["alpha"] for r in rows])
    fig = Figure(figsize=(12.5, 4.4), layout="constrained")
    lam_ax, trace_ax, loss_ax = fig.subplots(1, 3)
    for ax, key, label in ((lam_ax, "lambda_max", r"$\lambda_{\max}(H)$"),
                           (trace_ax, "trace", r"$\mathrm{tr}\,H$")):
        ax.plot(alphas, [r[key] for r in rows], "o-", color="tab:blue", label="NRS end point")
        ax.plot(alphas[1:], [r[f"early_{key}"] for r in rows[1:]], "s--", mfc="none",
                color="tab:red", label="plain GD stopped at the same CE")
        ax.plot(alphas[1:], [r[f"l2_{key}"] for r in rows[1:]], "^:", mfc="none",
                color="tab:green", label=r"plain GD, L2 $\beta'$ ending at the same CE")
        ax.set(xlabel=r"$\alpha$", ylabel=label, title=f"{label} of the cross-entropy")
        ax.legend(loc="best")
    loss_ax.plot(alphas, [r["ce"] for r in rows], "o-", color="black")
    loss_ax.set(xlabel=r"$\alpha$", ylabel="training cross-entropy",
                title="training loss of the NRS end point")
    fig.suptitle(r"NRS on softmax regression ($\beta=10^{-3}$, Gaussian neighbours "
                 r"$\sigma=0.3$, $S=8$): flatter at a matched training loss")
    return save(fig, out_dir, "flat_minima_sharpness", fmt)
