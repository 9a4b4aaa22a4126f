"""Figures for implicit gradient regularization (docs/implicit_gradient.md).

Instances (docs/implicit_gradient.md §11a.4, the named ones; the claims of
:mod:`verify.implicit_gradient` draw others of the same kinds): the ab-model of
``AB_INSTANCE`` (y = 1, theta0 = (2, -0.5)) and the tanh network ``network_instance("tanh",
seed=0)``. Step sizes are in units of 1/lambda_0, lambda_0 = lambda_max(Hess E(theta0)).

Errors come from the solvers of :mod:`theory.implicit_gradient` (gradient descent against
``reference_flow``); the balanced sharpness and the product of balancing factors from
:mod:`analytic.implicit_gradient`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from analytic import implicit_gradient as an
from figures import regime_map
from figures.style import save, styled
from theory import implicit_gradient as ig
from theory.measure import loglog_slope
from verify.implicit_gradient_maps import STEP_CURVATURE

NET_SEED = 0
C_VALUES = np.geomspace(0.00625, 0.8, 8)
"""h lambda_0 of the error panels: the claims' asymptotic windows and the pre-asymptotic one."""
LOCAL_FIT, GLOBAL_FIT = (0.00625, 0.1), (0.0125, 0.1)
"""h lambda_0 ranges of the fitted orders (the windows of claims C11.1 and C11.2)."""
HORIZON = 4.0
"""T lambda_0 of the global errors."""
AB_C = (0.1, 0.4, 0.8, 1.2)
"""h lambda_flow of the ab-model trajectories (lambda_flow: the gradient flow's end sharpness)."""
AB_STEPS = 4000


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``implicit_gradient_<name>.<fmt>``)."""
    return {"orders": orders, "balancing": balancing, "step_curvature_map": step_curvature_map}


def _models() -> dict[str, tuple[ig.Model, np.ndarray]]:
    return {"ab-model": (ig.ab_model(ig.AB_INSTANCE["y"]), np.array(ig.AB_INSTANCE["theta0"])),
            "tanh net": ig.network_instance("tanh", NET_SEED)}


def _errors(model, theta0, local: bool) -> tuple[np.ndarray, np.ndarray]:
    """|GD - plain flow| and |GD - modified flow| at every c of :data:`C_VALUES`: after one
    step (``local``) or after T/h steps, T = HORIZON / lambda_0."""
    lam0 = ig.sharpness(model, theta0)
    plain, modified = [], []
    for c in C_VALUES:
        h = c / lam0
        steps = 1 if local else int(round(HORIZON / c))
        gd = ig.gradient_descent(model, theta0, lr=h, steps=[steps]).final
        plain.append(np.linalg.norm(gd - ig.reference_flow(model, theta0, times=[steps * h]).final))
        modified.append(np.linalg.norm(
            gd - ig.reference_flow(model, theta0, times=[steps * h], lr=h).final))
    return np.array(plain), np.array(modified)


@styled
def orders(out_dir: Path, fmt: str) -> Path:
    """Local and global error of gradient descent against the plain and the modified flow
    (C11.1, C11.2, C11.3), log-log against h lambda_0, with the orders fitted over the
    claims' windows (shaded); to the right of the windows, the pre-asymptotic regime."""
    fig = Figure(figsize=(11.5, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = {"ab-model": "tab:blue", "tanh net": "tab:red"}
    for ax, local, window in ((axes[0], True, LOCAL_FIT), (axes[1], False, GLOBAL_FIT)):
        inside = (C_VALUES >= window[0] * 0.999) & (C_VALUES <= window[1] * 1.001)
        for name, (model, theta0) in _models().items():
            plain, modified = _errors(model, theta0, local)
            for errors, style, label in ((plain, "o--", "plain"), (modified, "s-", "modified")):
                slope = loglog_slope(C_VALUES[inside], errors[inside])
                ax.loglog(C_VALUES, errors, style, color=colors[name], mfc="none",
                          label=f"{name}, {label} flow: order {slope:.2f}")
        ax.axvspan(*window, color="0.9", zorder=0)
        ax.set(xlabel=r"$h\lambda_0$", ylabel="error",
               title=("(a) one step: orders 2 (plain), 3 (modified)" if local else
                      rf"(b) at $T = {HORIZON:g}/\lambda_0$: orders 1 (plain), 2 (modified)"))
        ax.legend(loc="lower right")
    fig.suptitle(r"Gradient descent vs the gradient flow and the modified flow "
                 r"$\dot\theta=-\nabla E-\frac{h}{2}\nabla^2E\,\nabla E$ (shaded: fit windows)")
    return save(fig, out_dir, "implicit_gradient_orders", fmt)


@styled
def balancing(out_dir: Path, fmt: str) -> Path:
    """The ab-model from (2, -0.5), y = 1 (C11.5, C11.6). Left: gradient-descent iterates for
    several h drift across the hyperbolas a^2 - b^2 = const, which the gradient flow keeps,
    to flatter minima on ab = y. Right: the end sharpness against h: measured (eigvalsh of
    the exact Hessian) and the closed form sqrt(D_inf^2 + 4 y^2) with D_inf from the
    product of the balancing factors 1 - h^2 r_k^2."""
    y = ig.AB_INSTANCE["y"]
    theta0 = np.array(ig.AB_INSTANCE["theta0"])
    model = ig.ab_model(y)
    D0 = theta0[0] ** 2 - theta0[1] ** 2
    lam_flow = float(an.balanced_sharpness(D0, y))
    fig = Figure(figsize=(11.5, 4.8), layout="constrained")
    path_ax, sharp_ax = fig.subplots(1, 2)
    a_grid = np.linspace(0.3, 2.3, 200)
    path_ax.plot(a_grid, y / a_grid, color="black", lw=1, label="minima $ab=y$")
    flow = ig.reference_flow(model, theta0, times=np.linspace(0, 10, 400)[1:])
    path_ax.plot(flow.states[:, 0], flow.states[:, 1], color="0.5", lw=2,
                 label=r"gradient flow ($a^2-b^2$ kept)")
    colors = colormaps["viridis"](np.linspace(0.0, 0.85, len(AB_C)))
    for c, color in zip(AB_C, colors):
        run = ig.gradient_descent(model, theta0, lr=c / lam_flow, steps=np.arange(1, 41))
        path_ax.plot(run.states[:, 0], run.states[:, 1], "o-", ms=3, lw=0.8, color=color,
                     label=rf"GD, $h\lambda_{{flow}}={c:g}$")
    path_ax.set(xlim=(0.3, 2.3), ylim=(-0.6, 1.6), xlabel="$a$", ylabel="$b$",
                title=r"(a) first 40 steps from $(2, -0.5)$, $y=1$")
    path_ax.legend(loc="upper right")
    cs = np.linspace(0.05, 1.5, 15)
    measured, closed = [], []
    for c in cs:
        h = c / lam_flow
        run = ig.gradient_descent(model, theta0, lr=h, steps=np.arange(1, AB_STEPS + 1))
        a, b = run.states[:, 0], run.states[:, 1]
        measured.append(ig.sharpness(model, run.final))
        closed.append(float(an.balanced_sharpness(
            an.gd_final_imbalance(D0, a[:-1], b[:-1], y, h), y)))
    sharp_ax.plot(cs, closed, "-", color="black", label=r"$\sqrt{D_\infty^2+4y^2}$, "
                  r"$D_\infty=D_0\prod_k(1-h^2r_k^2)$")
    sharp_ax.plot(cs, measured, "o", mfc="none", color="tab:red",
                  label=r"measured $\lambda_{\max}$ at the end")
    sharp_ax.axhline(lam_flow, color="0.5", ls="--", label=r"gradient flow $\sqrt{D_0^2+4y^2}$")
    sharp_ax.axhline(2 * abs(y), color="0.5", ls=":", label=r"balanced minimum $2|y|$")
    sharp_ax.set(xlabel=r"$h\lambda_{flow}$", ylabel=r"$\lambda_{\max}(\nabla^2E)$ at the end",
                 title=f"(b) larger steps end flatter ({AB_STEPS} steps)")
    sharp_ax.legend(loc="lower left")
    fig.suptitle(r"ab-model $E=\frac{1}{2}(ab-y)^2$: each step multiplies $a^2-b^2$ by "
                 r"$1-h^2r^2$")
    return save(fig, out_dir, "implicit_gradient_balancing", fmt)


# --------------------------------------------------------------------------- step x curvature map


@styled
def step_curvature_map(out_dir: Path, fmt: str) -> Path:
    """The regime map ``implicit_gradient_step_curvature`` on its coarse grid (seed 0;
    docs/implicit_gradient.md §C11.9): GD on the ab-model from the balanced start a0 = b0 =
    0.3, classified from each trajectory (monotone / alternating / oscillating / diverged),
    with h lambda_max = 1 and h lambda_max = 2 (lambda_max = 2 y at every reachable minimum,
    docs/implicit_gradient.md §11b.5, §11b.6) drawn over it. The finer grid: ``python -m verify.sweep
    implicit_gradient_step_curvature --grid-size fine``."""
    table = STEP_CURVATURE.run("coarse", seed=0)
    (a0,), (b0,) = table.grid["a0"], table.grid["b0"]
    return regime_map.draw(STEP_CURVATURE, table, out_dir, fmt,
                           "implicit_gradient_step_curvature_map",
                           rf"GD on $E=(ab-y)^2/2$ from $(a_0, b_0)=({a0:g}, {b0:g})$" "\n"
                           "cells: measured regime; lines: the modified-flow series' radius\n"
                           r"$h\lambda_{\max}=1$ and the stability edge $h\lambda_{\max}=2$")
