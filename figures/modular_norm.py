"""Figures for the modular norm (docs/modular_norm.md).

Learning-rate transfer: the residual MLP of :func:`theory.modular_norm.residual_mlp` on the
teacher ``teacher(16, 4, 32, seed=0)``, orthogonal starts with seeds 1 and 2 (the mean final
loss of the two), 30 full-batch steps per learning rate, as in the transfer claims of
:mod:`verify.modular_norm` (which draw their instances), over the full sweep: widths 32, 64,
128, 256, 512 at 2 blocks, and 2, 4, 8 blocks at width 64; sign descent and gradient descent,
normalized and not (docs/modular_norm.md §9c.4).

alpha_L: the sympy closed form against the composition rule walked over chain trees, and
the attained ratio at the configuration of the sharpness claim (u = e_1, n = 16;
docs/modular_norm.md §9b.3).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from analytic import modular_norm as exact
from figures.style import save, styled
from theory import modular_norm as sim

DATA_SEED, INIT_SEEDS = 0, (1, 2)
WIDTHS, DEPTHS, DEPTH_WIDTH = (32, 64, 128, 256, 512), (2, 4, 8), 64
GRIDS = {("sign", True): 2.0 ** np.arange(-5, 3), ("sign", False): 2.0 ** np.arange(-13, -3),
         ("gradient", True): 2.0 ** np.arange(-2, 6) / 10,
         ("gradient", False): 2.0 ** np.arange(-3, 5)}
"""Learning-rate grids per (base, normalized)."""


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``modular_norm_<name>.<fmt>``)."""
    return {"lr_transfer": lr_transfer, "alpha_depth": alpha_depth}


@lru_cache(maxsize=None)
def _sweeps() -> dict:
    X, Y = sim.teacher(16, 4, 32, seed=DATA_SEED)
    out = {}
    for (base, normalized), lrs in GRIDS.items():
        for width in WIDTHS:
            out[(base, normalized, width, 2)] = sim.lr_sweep(X, Y, width, 2, lrs, normalized,
                                                             base, INIT_SEEDS)
        for depth in DEPTHS:
            if depth != 2 or DEPTH_WIDTH not in WIDTHS:
                out[(base, normalized, DEPTH_WIDTH, depth)] = sim.lr_sweep(
                    X, Y, DEPTH_WIDTH, depth, lrs, normalized, base, INIT_SEEDS)
    return out


@styled
def lr_transfer(out_dir: Path, fmt: str) -> Path:
    """Final loss against the learning rate: rows sign / gradient base, columns normalized
    or not across widths, and normalized or not across depths; the best lr (parabola
    through the grid minimum) marked (docs/modular_norm.md §9c.4)."""
    sweeps = _sweeps()
    fig = Figure(figsize=(13.0, 7.0), layout="constrained")
    axes = fig.subplots(2, 4)
    colors = {w: c for w, c in zip(WIDTHS, ("tab:blue", "tab:orange", "tab:green", "tab:red",
                                            "tab:purple"))}
    depth_colors = {d: c for d, c in zip(DEPTHS, ("tab:blue", "tab:orange", "tab:green"))}
    for row, base in enumerate(("sign", "gradient")):
        for col, (normalized, across) in enumerate(((True, "width"), (False, "width"),
                                                    (True, "depth"), (False, "depth"))):
            ax = axes[row, col]
            lrs = GRIDS[(base, normalized)]
            keys = ([(w, 2) for w in WIDTHS] if across == "width"
                    else [(DEPTH_WIDTH, d) for d in DEPTHS])
            for width, depth in keys:
                losses = sweeps[(base, normalized, width, depth)]
                color = colors[width] if across == "width" else depth_colors[depth]
                label = f"n={width}" if across == "width" else f"B={depth}"
                finite = np.isfinite(losses)
                ax.plot(lrs[finite], losses[finite], "o-", ms=3, color=color, label=label)
                best = sim.best_log2_lr(lrs, losses)
                if np.isfinite(best):
                    ax.axvline(2.0 ** best, color=color, lw=0.8, ls=":")
            kind = "normalized" if normalized else "plain"
            ax.set(xscale="log", yscale="log", xlabel="learning rate",
                   title=f"{base} base, {kind}, across {across}")
            ax.set_ylim(top=3.0)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.legend(loc="lower left", fontsize=7)
        axes[row, 0].set_ylabel("final training loss (30 steps)")
    fig.suptitle("Modular norm: learning-rate transfer (residual GELU MLP, teacher 16 -> 4, "
                 "P = 32; depth panels at width 64; dotted: best lr)")
    return save(fig, out_dir, "modular_norm_lr_transfer", fmt)


@styled
def alpha_depth(out_dir: Path, fmt: str) -> Path:
    """alpha_L = (L - 1)/L (sympy) against the rule walked over chain trees and the ratio
    ||D^2 f[dw, dw]||_RMS / ||dw||_M^2 at the attaining configuration (docs/modular_norm.md
    §9b.3)."""
    depths = np.arange(1, 17)
    closed = [exact.chain_alpha(L) for L in depths]
    walked = [exact.sharpness(sim.linear_chain([4] * (L + 1)))[2] for L in depths]
    n = 16
    u = np.zeros(n)
    u[0] = 1.0
    attained = []
    for L in depths:
        net = sim.linear_chain([n] * (L + 1))
        _, _, d2 = net.jet([np.eye(n)] * L, math.sqrt(n) * u, [np.outer(u, u) / L] * L)
        attained.append(sim.rms(d2) / net.norm([np.outer(u, u) / L] * L) ** 2)
    fig = Figure(figsize=(6.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(depths, closed, "-", color="black", label=r"$(L-1)/L$ (sympy)")
    ax.plot(depths, walked, "o", color="tab:blue", ms=6, mfc="none",
            label="composition rule over the tree")
    ax.plot(depths, attained, "x", color="tab:red", label="attained: $W_i = I$, "
            r"$\Delta W_i = uu^\top/L$")
    ax.set(xlabel="depth L (Linear atoms of mass 1)", ylabel=r"$\alpha_L$",
           title=r"Sharpness constant of the linear chain", ylim=(-0.05, 1.05))
    ax.legend(loc="lower right")
    return save(fig, out_dir, "modular_norm_alpha_depth", fmt)
