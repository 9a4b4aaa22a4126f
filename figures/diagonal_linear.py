"""Figures for diagonal linear networks x = u*u - v*v on underdetermined regression
(docs/diagonal_linear.md §4a): loss 1/2 ||A x - y||^2, start u = v = alpha 1 (x = 0).

Instances:

- Default: the "implicit_bias" instance of :data:`theory.diagonal_linear.INSTANCES`
  (N = 30, M = 12, 3-sparse x*), on which l1 minimization does not recover x*.
- Recovery: the "recovery" instance (N = 40, M = 20, docs/diagonal_linear.md §4a.3), where
  l1 recovers x* exactly; used for the weight-normalization robustness figure, whose point
  is recovery.
- 2-D paths: one data point, A = [[1, 2]], y = [1].

Trajectories come from the adaptive Dormand-Prince solvers of :mod:`theory.diagonal_linear`
(gradient flow, per-coordinate WN in polar coordinates, global WN); the limits argmin Q_alpha
and the l1 / l2 interpolants from :mod:`analytic.diagonal_linear`.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analytic import diagonal_linear as an
from figures import regime_map
from figures.style import save, styled
from theory import diagonal_linear as dl
from theory.measure import first_crossing_time
from verify.diagonal_linear_maps import ALPHA_KAPPA, TAU, plateau_threshold

DEFAULT, RECOVERY = "implicit_bias", "recovery"
"""Names in :data:`theory.diagonal_linear.INSTANCES`."""

LIMIT_ALPHAS = np.logspace(-3.0, 1.0, 13)
GF_ALPHAS = LIMIT_ALPHAS[::2]
"""Analytic limits at 13 scales 1e-3 ... 10; gradient flow at every other one."""

ROBUST_ALPHAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
KAPPAS = (1.0, 10.0, 100.0)
GLOBAL_KAPPA = 100.0
ROBUST_HORIZON = 200.0
"""Robustness runs end at t = 200 / alpha^2 (the slow WN runs at small alpha need it)."""
ROBUST_SAMPLES = 60
ROBUST_STEPS = 150_000
"""Step budget per robustness run: WN with kappa >= 10 at alpha <= 0.1 exhausts it."""
STOP_FIELD = 1e-11
"""A robustness run stops once |field| <= STOP_FIELD * (largest rate)."""
CONVERGED_LOSS = 1e-10

SPEED_ALPHA = 0.1
SPEED_ETA_RS = (1.0, 10.0, 100.0)
SPEED_TIMES = np.geomspace(1e-2, 300.0, 300)
SPEED_LEVEL = 1e-8
"""Loss level whose first crossing time is quoted in the legend."""
SPEED_YLIM = (1e-22, 2.0)

PATH_A, PATH_Y = np.array([[1.0, 2.0]]), np.array([1.0])
PATH_ALPHAS = (1e-3, 0.1, 0.5, 2.0)
PATH_TIMES = np.geomspace(1e-3, 1e3, 600)

GF_COLOR, GLOBAL_COLOR = "black", "tab:red"
L1_COLOR, L2_COLOR = "tab:green", "tab:orange"


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``diagonal_linear_<name>.<fmt>``)."""
    return {"kernel_to_rich": kernel_to_rich,
            "wn_robustness": wn_robustness,
            "loss_vs_time": loss_vs_time,
            "paths_2d": paths_2d,
            "alpha_kappa_map": alpha_kappa_map}


# --------------------------------------------------------------------------- instances


@lru_cache(maxsize=None)
def _instance(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, y, x_star) of the named instance."""
    return dl.named_instance(name)


def _describe(name: str) -> str:
    n, m, sparsity, seed = dl.INSTANCES[name]
    return rf"$N={n},\ M={m}$, {sparsity}-sparse $x^*$, $A\sim N(0,1/M)$ (seed {seed})"


def _kappa_colors() -> dict[float, tuple]:
    """Colour of each rate ratio kappa (shared by the robustness and speed figures)."""
    return dict(zip(KAPPAS, colormaps["viridis"](np.linspace(0.15, 0.8, len(KAPPAS)))))


# --------------------------------------------------------------------------- kernel to rich


@styled
def kernel_to_rich(out_dir: Path, fmt: str) -> Path:
    """The kernel-to-rich transition of x_alpha = argmin_{Az=y} Q_alpha (docs/diagonal_linear.md §4b.1).

    Panels: ||x_alpha - x*||, ||x_alpha||_1 and ||x_alpha||_2 against log10 alpha (lines:
    the analytic limit). Markers: gradient-flow endpoints, which lie on the lines (C4.1; the
    largest deviation is in the title). As alpha -> infinity x_alpha tends to the l2
    interpolant (C4.2), as alpha -> 0 to the l1 interpolant, with a gap that falls as a
    power of alpha (C4.3).
    """
    A, y, x_star = _instance(DEFAULT)
    limits = np.array([an.implicit_bias_limit(A, y, a) for a in LIMIT_ALPHAS])
    flows = np.array([dl.gradient_flow_endpoint(A, y, a) for a in GF_ALPHAS])
    gap = float(np.max(np.abs(flows - limits[::2])))
    references = {r"$\ell_1$": (an.l1_min(A, y), L1_COLOR),
                  r"$\ell_2$": (an.l2_min(A, y), L2_COLOR)}
    measures = (("(a) reconstruction error", r"$\|x-x^*\|_2$", lambda x: _norm(x - x_star, 2)),
                ("(b) $\\ell_1$ norm", r"$\|x\|_1$", lambda x: _norm(x, 1)),
                ("(c) $\\ell_2$ norm", r"$\|x\|_2$", lambda x: _norm(x, 2)))
    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    for ax, (title, label, measure) in zip(fig.subplots(1, 3, sharex=True), measures):
        ax.plot(np.log10(LIMIT_ALPHAS), measure(limits), color=GF_COLOR,
                label=r"$\arg\min_{Az=y}Q_\alpha$ (analytic)")
        ax.plot(np.log10(GF_ALPHAS), measure(flows), "o", ms=8, mfc="none", mew=1.5,
                color="tab:blue", label="gradient-flow endpoint")
        for name, (x, color) in references.items():
            ax.axhline(measure(x[None, :])[0], color=color, ls="--",
                       label=f"{name} interpolant")
        ax.set(xlabel=r"$\log_{10}\alpha$", ylabel=label, title=title)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4)
    fig.suptitle("Diagonal linear network: kernel-to-rich transition of the gradient-flow limit; "
                 f"{_describe(DEFAULT)}\nflow endpoints at $t=\\min(10^3, 300/\\alpha^2)$; largest $|x_{{GF}}-x_\\alpha|$ = {gap:.1e}")
    return save(fig, out_dir, "diagonal_linear_kernel_to_rich", fmt)


def _norm(x: np.ndarray, order: int) -> np.ndarray:
    """Row-wise vector norm of order ``order``."""
    return np.linalg.norm(np.atleast_2d(x), ord=order, axis=1)


# --------------------------------------------------------------------------- robustness


@styled
def wn_robustness(out_dir: Path, fmt: str) -> Path:
    """Reconstruction error of the limit against alpha: GF, per-coordinate and global WN.

    Per-coordinate WN (eta_theta = 1, eta_r = kappa) lowers the error at fixed alpha as kappa
    grows, while plain gradient flow tends to the l2 error (C4.4); global WN (kappa = 100)
    gives no gain. Open markers: runs whose loss is still >= 1e-10 when the step budget ends
    (WN with eta_theta = 1 is slow at small alpha).
    """
    A, y, x_star = _instance(RECOVERY)
    colors = _kappa_colors()
    methods = [("GF", GF_COLOR, "o")] + [(kappa, colors[kappa], "s") for kappa in KAPPAS] + [
        ("global", GLOBAL_COLOR, "D")]
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    ax = fig.subplots()
    for method, color, marker in methods:
        errors, done = np.array([_robust_limit(method, a) for a in ROBUST_ALPHAS]).T
        ax.plot(ROBUST_ALPHAS, errors, "-", color=color, label=_method_label(method))
        for a, error, converged in zip(ROBUST_ALPHAS, errors, done):
            ax.plot(a, error, marker, ms=7, color=color, mfc=color if converged else "white")
    ax.axhline(float(np.linalg.norm(an.l2_min(A, y) - x_star)), color=L2_COLOR, ls="--",
               label=r"$\ell_2$ interpolant")
    status = [Line2D([], [], marker="o", ls="", color="0.3", label=r"loss $<10^{-10}$"),
              Line2D([], [], marker="o", ls="", color="0.3", mfc="white",
                     label=r"loss $\geq10^{-10}$ (budget)")]
    handles = ax.get_legend_handles_labels()[0] + status
    ax.legend(handles=handles, loc="lower right")
    ax.set(xscale="log", yscale="log", xlabel=r"initialization scale $\alpha$",
           ylabel=r"$\|x_\infty-x^*\|_2$",
           title=f"Diagonal linear network: sparse recovery against initialization scale\n"
                 f"{_describe(RECOVERY)}; $\\ell_1$ recovers $x^*$ exactly")
    return save(fig, out_dir, "diagonal_linear_wn_robustness", fmt)


def _method_label(method: str | float) -> str:
    if method == "GF":
        return "gradient flow"
    if method == "global":
        return rf"global WN, $\kappa=\eta_R/\eta_\varphi={GLOBAL_KAPPA:g}$"
    return rf"WN, $\kappa=\eta_r/\eta_\theta={method:g}$"


@lru_cache(maxsize=None)
def _robust_limit(method: str | float, alpha: float) -> tuple[float, bool]:
    """(||x - x*|| at the end of the run, whether the loss is below 1e-10 there) on the
    recovery instance; ``method`` is 'GF', 'global' or the kappa of per-coordinate WN."""
    A, y, x_star = _instance(RECOVERY)
    times = np.geomspace(1e-2, ROBUST_HORIZON / alpha ** 2, ROBUST_SAMPLES)
    common = dict(alpha=alpha, times=times, max_steps=ROBUST_STEPS)
    if method == "GF":
        traj = dl.gradient_flow(A, y, stop_tol=STOP_FIELD, **common)
    elif method == "global":
        traj = dl.global_wn_flow(A, y, eta_radius=GLOBAL_KAPPA, eta_direction=1.0,
                                 stop_tol=STOP_FIELD * GLOBAL_KAPPA, **common)
    else:
        traj = dl.wn_flow(A, y, eta_radius=method, eta_direction=1.0,
                          stop_tol=STOP_FIELD * max(method, 1.0), **common)
    x = traj.raise_if_diverged().x[-1]
    return float(np.linalg.norm(x - x_star)), dl.loss(x, A, y) < CONVERGED_LOSS


# --------------------------------------------------------------------------- speed


@styled
def loss_vs_time(out_dir: Path, fmt: str) -> Path:
    """Loss along the flow at alpha = 0.1: gradient flow against WN with eta_theta = 1/r0^2.

    With eta_theta = 1/r0^2 (r0 = alpha sqrt 2) WN coincides with gradient flow at t = 0;
    raising eta_r from 1 to 100 reaches a given loss no later than gradient flow, and
    sooner as eta_r grows (C4.5). Legend: first time the loss is below 1e-8.
    """
    A, y, _ = _instance(DEFAULT)
    r0_sq = 2.0 * SPEED_ALPHA ** 2
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    ax = fig.subplots()
    gf = dl.gradient_flow(A, y, alpha=SPEED_ALPHA, times=SPEED_TIMES)
    _loss_curve(ax, gf, A, y, GF_COLOR, "gradient flow", 2.4)
    for eta_r, color in zip(SPEED_ETA_RS, _kappa_colors().values()):
        wn = dl.wn_flow(A, y, alpha=SPEED_ALPHA, times=SPEED_TIMES, eta_radius=eta_r,
                        eta_direction=1.0 / r0_sq)
        _loss_curve(ax, wn, A, y, color,
                    rf"WN, $\eta_r={eta_r:g}$ ($\kappa={eta_r * r0_sq:g}$)", 1.4)
    ax.axhline(SPEED_LEVEL, color="0.5", ls=":", lw=1.0)
    ax.set(xscale="log", yscale="log", ylim=SPEED_YLIM, xlim=(SPEED_TIMES[0], SPEED_TIMES[-1]),
           xlabel="time $t$", ylabel=r"loss $\frac{1}{2}\|Ax(t)-y\|^2$",
           title=f"Diagonal linear network: loss along the flow, $\\alpha={SPEED_ALPHA:g}$, "
                 f"WN $\\eta_\\theta=1/r_0^2$, $r_0=\\alpha\\sqrt{{2}}$\n{_describe(DEFAULT)}")
    ax.legend(loc="lower left", title=rf"(time to loss $<10^{{{int(np.log10(SPEED_LEVEL))}}}$)")
    return save(fig, out_dir, "diagonal_linear_loss_vs_time", fmt)


def _loss_curve(ax: Axes, traj: dl.DiagonalTrajectory, A: np.ndarray, y: np.ndarray,
                color, label: str, width: float) -> None:
    """Plot the loss of ``traj`` (t > 0) with its first crossing of SPEED_LEVEL in the label."""
    losses = np.array([dl.loss(x, A, y) for x in traj.raise_if_diverged().x])[1:]
    times = traj.times[1:]
    crossing = first_crossing_time(times, -np.log10(losses), -np.log10(SPEED_LEVEL))
    ax.plot(times, losses, color=color, lw=width, label=f"{label}: $t={crossing:.3g}$")


# --------------------------------------------------------------------------- 2-D paths


@styled
def paths_2d(out_dir: Path, fmt: str) -> Path:
    """Gradient-flow paths x(t) for one data point x1 + 2 x2 = 1 at several alpha.

    Large alpha moves straight along A^T to the l2 interpolant (kernel regime); small alpha
    first grows the coordinate with the larger |A_i| and ends near the l1 interpolant (rich
    regime). Stars: the analytic limits argmin Q_alpha, where the paths end.
    """
    fig = Figure(figsize=(5.6, 6.6), layout="constrained")
    ax = fig.subplots()
    x1 = np.linspace(-0.05, 0.35, 2)
    ax.plot(x1, (PATH_Y[0] - PATH_A[0, 0] * x1) / PATH_A[0, 1], color="0.5", lw=1.0,
            label=r"$x_1+2x_2=1$")
    colors = colormaps["plasma"](np.linspace(0.0, 0.8, len(PATH_ALPHAS)))
    for alpha, color in zip(PATH_ALPHAS, colors):
        path = dl.gradient_flow(PATH_A, PATH_Y, alpha=alpha, times=PATH_TIMES).raise_if_diverged().x
        ax.plot(path[:, 0], path[:, 1], color=color, lw=2.0, label=rf"path, $\alpha={alpha:g}$")
        limit = an.implicit_bias_limit(PATH_A, PATH_Y, alpha)
        ax.plot(*limit, "*", ms=13, color=color, mec="k", mew=0.6)
    for name, x, color, marker in ((r"$\ell_1$", an.l1_min(PATH_A, PATH_Y), L1_COLOR, "s"),
                                   (r"$\ell_2$", an.l2_min(PATH_A, PATH_Y), L2_COLOR, "o")):
        ax.plot(*x, marker, ms=11, mfc="none", mew=2.0, color=color,
                label=f"{name} interpolant ({x[0]:.2g}, {x[1]:.2g})")
    ax.plot(0.0, 0.0, "k.", ms=8)
    ax.set_aspect("equal")
    ax.set(xlim=(-0.05, 0.35), ylim=(-0.05, 0.6), xlabel="$x_1$", ylabel="$x_2$",
           title="Diagonal linear network: gradient-flow paths from $x=0$,\n"
                 r"one data point $A=[1,2]$, $y=1$ (stars: $\arg\min Q_\alpha$)")
    ax.legend(loc="lower right")
    return save(fig, out_dir, "diagonal_linear_paths_2d", fmt)


# --------------------------------------------------------------------------- alpha x kappa map


@styled
def alpha_kappa_map(out_dir: Path, fmt: str) -> Path:
    """The regime map ``diagonal_linear_alpha_kappa`` on its coarse grid (seed 0;
    docs/diagonal_linear.md §C4.10): weight normalization within TAU of the l1 solution or
    not, with the plateau limit's kappa_tau = (8 alpha^3 / z_tau)^2 of
    docs/diagonal_linear.md §4c.5 drawn over it.
    The finer grid (kappa from 1, where the limit stops holding):
    ``python -m verify.sweep diagonal_linear_alpha_kappa --grid-size fine``."""
    table = ALPHA_KAPPA.run("coarse", seed=0)
    (seed,) = table.grid["instance"]
    return regime_map.draw(ALPHA_KAPPA, table, out_dir, fmt, "diagonal_linear_alpha_kappa_map",
                           f"WN ($\\eta_r=\\kappa$, $\\eta_\\theta=1$) and GF on sparse_instance"
                           f"(20, 10, 2, {seed})\nsparse: within {TAU:g} of $x_{{\\ell_1}}$; "
                           f"cells: measured; line: plateau limit, $z_\\tau$ = "
                           f"{plateau_threshold(int(seed)):.3g}")
