"""Figures for the shallow max-margin setting: a linear classifier without bias (docs/max_margin.md).

Instance (docs/max_margin.md §1a.3; the claims of :mod:`verify.max_margin` draw others): "standard" of
:data:`theory.max_margin.INSTANCES`; gradient descent with step 1/lambda_max(K), K = Z Z^T; Minnorm with lr_w = 0.2,
lr_lambda = 0.5/kappa_max(K_SS); every run from w = 0 (and lambda = 0). The 2-D picture
uses "planar". Trajectories come from the solvers of
:mod:`theory.max_margin`; w_hat, alpha_hat, the support set and the Minnorm contraction rho
from the closed forms of :mod:`analytic.max_margin`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analytic import max_margin as an
from figures import regime_map
from figures.style import save, styled
from theory import max_margin as mm
from verify.max_margin_maps import STEP_GAP

LR_W, LR_LAMBDA_SCALE = 0.2, 0.5
"""Minnorm lr_w, and lr_lambda as a fraction of 1/kappa_max(K_SS)."""
HORIZON = 10 ** 6
STEPS = np.unique(np.concatenate((np.arange(1, 1001),
                                  np.geomspace(1, HORIZON, 400).round().astype(np.int64))))
"""Sampled steps: every step to 1000, then 400 log-spaced to 1e6."""
GD_FIT = (1e3, 1e6)
"""Steps over which c in c/ln t is fitted."""
MN_TAIL = (1e-12, 1e-4)
"""Angles over which the Minnorm envelope C rho^t is fitted."""
NORM_FIT_FROM = 1e4
"""First step of the intercept fit of ||w|| = ||w_hat|| ln t + b."""
SNAPSHOTS = (10, 100, 10 ** 3, 10 ** 4, 10 ** 5)
"""Steps at which the 2-D figure draws gradient descent's separator."""

INSTANCE = (r"$P=30,\ d=5$, margin $0.5$, seed 1; GD $\eta=1/\lambda_{\max}(K)$; "
            r"Minnorm $a=0.2,\ b=0.5/\kappa_{\max}(K_{SS})$")
INSTANCE_GD = r"$P=30,\ d=5$, margin $0.5$, seed 1; step $\eta=1/\lambda_{\max}(K)$, $w_0=0$"
INSTANCE_2D = r"$P=40,\ d=2$, margin $0.3$, seed 4; GD (logistic) $\eta=1/\lambda_{\max}(K)$"

LOGISTIC_COLOR, EXPONENTIAL_COLOR, MN_COLOR = "black", "tab:purple", "tab:green"
GD_STYLES = {"logistic": (LOGISTIC_COLOR, 2.4), "exponential": (EXPONENTIAL_COLOR, 1.2)}
"""Gradient-descent loss -> (colour, line width); the thin exponential curve stays visible."""
SV_COLOR, NON_SV_COLOR = "tab:red", "tab:blue"
LABEL_COLORS = {1.0: "tab:blue", -1.0: "tab:orange"}


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``max_margin_<name>.<fmt>``)."""
    return {"angle": angles,
            "multipliers": multipliers,
            "separators_2d": separators_2d,
            "gd_norm_loss": gd_norm_loss,
            "step_gap_map": step_gap_map}


# --------------------------------------------------------------------------- instance


@dataclass(frozen=True)
class Instance:
    """A data set with its certified max-margin solution and the step sizes of the module."""

    X: np.ndarray
    y: np.ndarray
    solution: an.MaxMargin
    lr: float
    lr_lambda: float


@lru_cache(maxsize=None)
def _instance(name: str) -> Instance:
    """The named instance of :data:`theory.max_margin.INSTANCES`, solved and with its step
    sizes."""
    X, y = mm.named_instance(name)
    steps = an.reference_steps(X, y, lr_w=LR_W, lambda_fraction=LR_LAMBDA_SCALE)
    return Instance(X=X, y=y, solution=an.max_margin(X, y), lr=steps["gd"],
                    lr_lambda=steps["lr_lambda_local"])


def _main() -> Instance:
    """The named instance "standard" (docs/max_margin.md §1a.3)."""
    return _instance("standard")


def _gd(inst: Instance, steps: np.ndarray, loss: str = "logistic") -> np.ndarray:
    """Gradient-descent weights at ``steps``, shape (len(steps), d)."""
    traj = mm.gradient_descent(inst.X, inst.y, lr=inst.lr, steps=steps, loss=loss)
    return traj.raise_if_diverged().weights[1:]


def _minnorm(inst: Instance, steps: np.ndarray) -> mm.MarginTrajectory:
    """The Minnorm trajectory sampled at ``steps`` (row 0 is the start)."""
    return mm.minnorm_descent(inst.X, inst.y, lr_w=LR_W, lr_lambda=inst.lr_lambda, steps=steps).raise_if_diverged()


# --------------------------------------------------------------------------- angle


@styled
def angles(out_dir: Path, fmt: str) -> Path:
    """Angle to w_hat against the step t (log-log): GD-logistic, GD-exponential, Minnorm.

    Gradient descent's direction error decays as c/ln t for both losses (C1.2; dashed:
    c fitted on t in [1e3, 1e6]); Minnorm's decays geometrically at the analytic per-step
    contraction rho (C1.1; dashed: C rho^t, C the envelope of the tail) and reaches
    round-off by t ~ 700. After T0 Minnorm stays ahead of gradient descent for good (C1.3);
    before it the underdamped Minnorm angle is not monotone and GD can lead.
    """
    inst = _main()
    w_hat, t = inst.solution.w, STEPS.astype(np.float64)
    fig = Figure(figsize=(8.0, 5.6), layout="constrained")
    ax = fig.add_subplot()
    gd = {loss: mm.angle(_gd(inst, STEPS, loss), w_hat) for loss in GD_STYLES}
    _gd_angles(ax, t, gd)
    _gd_inset(ax, t, gd)
    mn = mm.angle(_minnorm(inst, STEPS).weights[1:], w_hat)
    ax.plot(t, mn, color=MN_COLOR, label="Minnorm")
    _geometric_fit(ax, inst, t, mn)
    t0 = _first_step_ahead(mn, gd["logistic"])
    ax.axvline(t0, color="0.4", ls=":", lw=1.2, label=rf"$T_0={t0}$: Minnorm ahead of GD-logistic")
    ax.set(xscale="log", yscale="log", xlim=(1, HORIZON), ylim=(1e-17, 3.0), xlabel="step $t$",
           ylabel=r"$\angle(w_t,\hat w)$ (rad)",
           title=f"Max margin: direction error\n{INSTANCE}")
    ax.legend(loc="lower left")
    return save(fig, out_dir, "max_margin_angle", fmt)


def _gd_angles(ax: Axes, t: np.ndarray, gd: dict[str, np.ndarray]) -> None:
    """Gradient descent's angles per loss, each with its fitted c/ln t."""
    for loss, (color, lw) in GD_STYLES.items():
        ax.plot(t, gd[loss], color=color, lw=lw, label=f"GD, {loss} loss")
        _inverse_log_fit(ax, t, gd[loss], color, loss)


def _gd_inset(ax: Axes, t: np.ndarray, gd: dict[str, np.ndarray]) -> None:
    """A zoom on gradient descent's angles, where the main axes compress them into a band."""
    inset = ax.inset_axes((0.52, 0.36, 0.45, 0.36))
    _gd_angles(inset, t, gd)
    inset.set(xscale="log", yscale="log", xlim=(10, HORIZON), ylim=(0.035, 0.3))
    inset.set_title(r"zoom: GD and its $c/\ln t$ fits", fontsize=8)
    inset.tick_params(labelsize=7, which="both")


def _inverse_log_fit(ax: Axes, t: np.ndarray, angle: np.ndarray, color: str, loss: str) -> None:
    """Least-squares c in angle = c/ln t over :data:`GD_FIT`, drawn dashed over that range."""
    window = (t >= GD_FIT[0]) & (t <= GD_FIT[1])
    basis = 1.0 / np.log(t[window])
    c = float(basis @ angle[window] / (basis @ basis))
    ax.plot(t[window], c * basis, color=color, ls="--", lw=1.0,
            label=rf"{loss}: fit ${c:.3f}/\ln t$, $t\in[10^3,10^6]$")


def _geometric_fit(ax: Axes, inst: Instance, t: np.ndarray, angle: np.ndarray) -> None:
    """C rho^t with rho analytic and C the envelope of the angles in :data:`MN_TAIL`."""
    rho = an.minnorm_contraction(inst.X, inst.y, LR_W, inst.lr_lambda)
    tail = (angle >= MN_TAIL[0]) & (angle <= MN_TAIL[1])
    log_c = np.max(np.log(angle[tail]) - t[tail] * np.log(rho))
    fitted = log_c + t * np.log(rho)
    line = (fitted <= np.log(1e-1)) & (fitted >= np.log(1e-16))
    ax.plot(t[line], np.exp(fitted[line]), color=MN_COLOR, ls="--", lw=1.0,
            label=rf"Minnorm: $C\rho^t$, $\rho={rho:.5f}$ (analytic)")


def _first_step_ahead(minnorm: np.ndarray, gd: np.ndarray) -> int:
    """T0: the first sampled step after which Minnorm's angle stays below GD's."""
    behind = np.flatnonzero(minnorm >= gd)
    return int(STEPS[behind[-1] + 1]) if behind.size else int(STEPS[0])


# --------------------------------------------------------------------------- multipliers


@styled
def multipliers(out_dir: Path, fmt: str) -> Path:
    """Minnorm's multipliers lambda_mu(t) for every example against the step t.

    The multipliers integrate the constraint violations; those of the support vectors
    converge to the SVM dual variables alpha_hat (dashed), the others reach exactly 0 in
    finite time and stay there: the examples with lambda(inf) > 0 are the support
    vectors (C1.4).
    """
    inst = _main()
    steps = np.arange(1, 2001)
    lam = _minnorm(inst, steps).multipliers[1:]
    support = inst.solution.support
    fig = Figure(figsize=(8.0, 5.2), layout="constrained")
    ax = fig.add_subplot()
    for mu in range(lam.shape[1]):
        is_sv = mu in support
        ax.plot(steps, lam[:, mu], color=SV_COLOR if is_sv else NON_SV_COLOR,
                lw=1.6 if is_sv else 0.9, alpha=1.0 if is_sv else 0.6, zorder=2 if is_sv else 1)
    for mu in support:
        ax.axhline(inst.solution.alpha[mu], color=SV_COLOR, ls="--", lw=0.8, alpha=0.7)
    ax.plot([], [], color=SV_COLOR, label=f"support vectors ($|S|={support.size}$)")
    ax.plot([], [], color=NON_SV_COLOR, label=f"other examples ({lam.shape[1] - support.size})")
    ax.plot([], [], color=SV_COLOR, ls="--", lw=0.8, label=r"$\hat\alpha_\mu$ (SVM dual, exact)")
    ax.set(xscale="log", xlim=(1, steps[-1]), xlabel="step $t$", ylabel=r"$\lambda_\mu(t)$",
           title=f"Max margin: Minnorm multipliers, every example\n{INSTANCE}")
    ax.legend(loc="upper left")
    return save(fig, out_dir, "max_margin_multipliers", fmt)


# --------------------------------------------------------------------------- 2-D separators


@styled
def separators_2d(out_dir: Path, fmt: str) -> Path:
    """Gradient descent's separator {x: w(t).x = 0} turning towards the max-margin one in 2-D.

    The separators of GD-logistic at increasing steps approach the hard-margin SVM
    separator w_hat.x = 0 (black), whose margin lines y w_hat.x = 1, i.e. w_hat.x = +-1
    (dashed), pass through the circled support vectors; the approach is slow, as c/ln t
    in angle (C1.2).
    """
    inst = _instance("planar")
    fig = Figure(figsize=(8.0, 5.8), layout="constrained")
    ax = fig.add_subplot()
    for label, color in LABEL_COLORS.items():
        points = inst.X[inst.y == label]
        ax.plot(*points.T, "o", ms=5, color=color, label=f"$y={label:+g}$")
    ax.plot(*inst.X[inst.solution.support].T, "o", ms=13, mfc="none", mec="k", mew=1.2,
            label="support vectors")
    colors = colormaps["viridis"](np.linspace(0.0, 0.85, len(SNAPSHOTS)))[::-1]
    for w, step, color in zip(_gd(inst, np.array(SNAPSHOTS)), SNAPSHOTS, colors):
        _level_line(ax, w, 0.0, color=color, lw=1.3, label=rf"GD, $t=10^{{{np.log10(step):.0f}}}$")
    w_hat = inst.solution.w
    _level_line(ax, w_hat, 0.0, color="black", lw=2.0, label=r"max margin $\hat w\cdot x=0$")
    for level in (1.0, -1.0):
        _level_line(ax, w_hat, level, color="black", lw=1.0, ls="--",
                    label=r"margin $\hat w\cdot x=\pm1$" if level > 0 else None)
    lim = 1.05 * np.abs(inst.X).max()
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$x_1$", ylabel="$x_2$",
           title=f"Max margin in 2-D: GD separators {{$x: w(t)\\cdot x=0$}}\n{INSTANCE_2D}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save(fig, out_dir, "max_margin_separators_2d", fmt)


def _level_line(ax: Axes, w: np.ndarray, level: float, **kwargs) -> None:
    """Draw the infinite line {x: w.x = level} in the plane."""
    foot = level * w / (w @ w)
    ax.axline(tuple(foot), tuple(foot + np.array([-w[1], w[0]])), **kwargs)


# --------------------------------------------------------------------------- norm and loss


@styled
def gd_norm_loss(out_dir: Path, fmt: str) -> Path:
    """GD-logistic: ||w(t)|| grows as ||w_hat|| ln t and the loss decays as 1/t.

    Left: ||w(t)|| against ln t with the line ||w_hat|| ln t + b, slope analytic and b
    fitted on t >= 1e4 (Soudry Thm 3: w(t) = w_hat ln t + w_tilde + o(1)). Right: the
    training loss L(w(t)) against t (log-log) with a 1/t guide through the last point.
    """
    inst = _main()
    t = STEPS.astype(np.float64)
    w = _gd(inst, STEPS)
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    norm_ax, loss_ax = fig.subplots(1, 2)
    _norm_panel(norm_ax, inst, t, np.linalg.norm(w, axis=1))
    _loss_panel(loss_ax, t, np.array([mm.loss(row, inst.X, inst.y) for row in w]))
    fig.suptitle(f"Max margin: GD with the logistic loss, {INSTANCE_GD}")
    return save(fig, out_dir, "max_margin_gd_norm_loss", fmt)


def _norm_panel(ax: Axes, inst: Instance, t: np.ndarray, norm: np.ndarray) -> None:
    """||w(t)|| against ln t and the predicted slope ||w_hat|| (intercept fitted)."""
    slope = float(np.linalg.norm(inst.solution.w))
    late = t >= NORM_FIT_FROM
    intercept = float(np.mean(norm[late] - slope * np.log(t[late])))
    ax.plot(np.log(t), norm, color=LOGISTIC_COLOR, lw=2.4, label=r"$\|w(t)\|$")
    ax.plot(np.log(t), slope * np.log(t) + intercept, color="tab:red", ls="--", lw=1.2,
            label=rf"$\|\hat w\|\ln t{intercept:+.2f}$, $\|\hat w\|={slope:.3f}$ (exact)")
    ax.set(xlim=(0, np.log(HORIZON)), xlabel=r"$\ln t$", ylabel=r"$\|w(t)\|$",
           title=r"norm: slope $\|\hat w\|=1/\gamma$; intercept fitted on $t\geq10^4$")
    ax.legend(loc="upper left")


def _loss_panel(ax: Axes, t: np.ndarray, loss: np.ndarray) -> None:
    """L(w(t)) against t (log-log) with a 1/t guide through the last sample."""
    ax.plot(t, loss, color=LOGISTIC_COLOR, lw=2.4, label=r"$L(w(t))$, logistic")
    ax.plot(t, loss[-1] * t[-1] / t, color="0.4", ls="--", lw=1.2, label=r"guide $\propto1/t$")
    ax.set(xscale="log", yscale="log", xlim=(1, HORIZON), xlabel="step $t$",
           ylabel=r"$L(w(t))$",
           title=r"loss $L(w)=\sum_\mu\log(1+e^{-y_\mu x_\mu\cdot w})=O(1/t)$")
    ax.legend(loc="lower left")


# --------------------------------------------------------------------------- step x gap map


@styled
def step_gap_map(out_dir: Path, fmt: str) -> Path:
    """The regime map ``max_margin_step_gap`` on its coarse grid (seed 0; docs/max_margin.md
    §C1.9): discrete Minnorm (a = 0.2) on separable_data(7, 2, margin, seed 1) from a drawn
    start, classified from each trajectory (converged / cycling / diverged), with the
    linearized stability bound b kappa_max(K_SS) = 1 of docs/max_margin.md §1b.5 drawn over it; the global
    sufficient condition b lambda_max(K) = 1 is lambda_fraction = 1. The finer grid:
    ``python -m verify.sweep max_margin_step_gap --grid-size fine``."""
    table = STEP_GAP.run("coarse", seed=0)
    return regime_map.draw(STEP_GAP, table, out_dir, fmt, "max_margin_step_gap_map",
                           r"Discrete Minnorm, $a=0.2$, $b=$ lambda_fraction$/\lambda_{\max}(K)$, "
                           "\non separable_data(7, 2, margin, seed 1); "
                           "cells: measured regime\nline: linearized stability bound "
                           "(global sufficient bound: lambda_fraction = 1)")
