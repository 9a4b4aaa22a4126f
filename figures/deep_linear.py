"""Figures for the deep linear network M = W_D ... W_1 in teacher-student regression
(docs/deep_linear.md).

Instances (docs/deep_linear.md §3a.3, the named ones; the claims of :mod:`verify.deep_linear` draw
others at the same sizes):

- Saxe modes: whitened inputs X (N_i = 6, P = 12, X X^T / P = I, seed 2) and targets
  Y = W X with W of chosen singular values s; decoupled balanced start ``saxe_init``
  (seed 3), hidden width 6, gradient flow with eta = 1 (rk4).
- Test error: N_i = 20, N_o = 5, hidden width 20, P = 10, W_bar ~ N(0, 1/N_i),
  X ~ N(0, 1), label noise E ~ N(0, 1) scaled by the noise std (data seed 0);
  ``gaussian_init`` with std sigma0 / sqrt(fan-in) (seed 1). Gradient descent with
  lr 0.05 (depth 2) or 0.02 (depth 3, where 0.05 diverges at sigma0 = 1.5); Minnorm(c = 2)
  with lr_w = lr_lambda = 0.05 at depth 2. E_g(M) = ||M - W_bar||_F^2 (x ~ N(0, I); the
  label-noise floor N_o sigma_eps^2 is left out).

Trajectories come from the solvers of :mod:`theory.deep_linear`; Saxe's modes and learning
times, the min-norm map Y X^+, the shallow limit Y X^+ + W_0 P_perp and the expected excess
error from the closed forms of :mod:`analytic.deep_linear`.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analytic import deep_linear as an
from figures import regime_map
from figures.style import save, styled
from theory import deep_linear as dl
from theory.measure import first_crossing_time, loglog_slope
from verify.deep_linear_maps import INIT_DEPTH

N_IN, N_OUT, N_SAMPLES = dl.TEACHER["n_in"], dl.TEACHER["n_out"], dl.TEACHER["n_samples"]
INIT_SEED = 1
GD_LR = {2: 0.05, 3: 0.02}
GD_STEPS = {2: 20_000, 3: 60_000}
"""Steps to the gradient-descent limit (both depths reach |Y - M X| ~ 1e-14 well before)."""
MN_C, MN_LR, MN_STEPS = (dl.MINNORM_SCHEDULES[2][key] for key in ("c", "lr", "steps"))
SIGMA0S = np.geomspace(0.05, 1.5, 8)
MN_SIGMA0S = (0.1, 0.5, 1.0, 1.5)
"""Initialization scales of the simulated Minnorm limits."""
SHALLOW_DRAWS, SHALLOW_SEED = 200, 100
EXCESS_LINTHRESH = 1e-3
TIME_SIGMA0S = (0.1, 1.0)
NOISES = (0.0, 1.0)
TIME_STEPS = np.unique(np.geomspace(1, MN_STEPS, 300).astype(np.int64))

SAXE_STRENGTHS = np.array([3.0, 2.0, 1.0, 0.5])
SAXE_U0, SAXE_DT, SAXE_MARKS = 1e-2, 1e-3, 60
LEARN_STRENGTHS = 2.0 ** np.arange(-1.0, 2.01, 0.5)
"""s = 0.5 ... 4 for the learning-time panel, each learned from u0 = s / 100 to s / 2."""
LEARN_DT = 2e-3
DEPTHS = (2, 3)

INSTANCE = (r"$N_i=20,\ N_o=5$, hidden 20, $P=10$, $\bar W\sim N(0,1/N_i)$, "
            r"$X\sim N(0,1)$ (seed 0); init std $\sigma_0/\sqrt{\mathrm{fan\ in}}$ (seed 1)")
INSTANCE_SAXE = (r"whitened $X$ ($N_i=6,\ P=12,\ XX^\top/P=I$), decoupled balanced start, "
                 r"gradient flow $\eta=1$ (rk4)")

DEPTH_STYLES = {2: ("-", "o"), 3: ("--", "^")}
"""Depth -> (line style of the closed form, marker of the simulation)."""
DEPTH_COLORS = {2: "black", 3: "tab:purple"}
MN_COLOR, SHALLOW_COLOR = "tab:green", "tab:orange"
TIME_COLORS = {("GD", 0.1): "tab:blue", ("GD", 1.0): "black",
               ("Minnorm", 0.1): "tab:green", ("Minnorm", 1.0): "tab:olive"}


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``deep_linear_<name>.<fmt>``)."""
    return {"saxe": saxe, "error_vs_scale": error_vs_scale, "error_vs_time": error_vs_time,
            "init_depth_map": init_depth_map}


# --------------------------------------------------------------------------- instances


@lru_cache(maxsize=None)
def _teacher(noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, Y, W_bar) of the test-error instance, Y = X W_bar^T + noise E."""
    return dl.teacher_instance(noise)


def _saxe_flow(strengths: np.ndarray, depth: int, u0: float, times: np.ndarray,
               dt: float) -> np.ndarray:
    """Mode strengths u(t) at ``times`` of gradient flow from the decoupled start, shape
    (len(times), len(strengths)), columns in descending order of s."""
    X, Y = dl.whitened_teacher(strengths)
    widths = [X.shape[1]] + [6] * (depth - 1) + [Y.shape[1]]
    W0 = dl.saxe_init(X, Y, widths, u0, seed=3)
    traj = dl.gradient_flow(X, Y, W0, times=times, dt=dt, method="rk4").raise_if_diverged()
    return traj.modes(X, Y)[1:]


def _gd(noise: float, depth: int, sigma0: float, steps) -> dl.DeepTrajectory:
    """Gradient descent on the test-error instance from ``gaussian_init`` at scale sigma0."""
    X, Y, _ = _teacher(noise)
    W0 = dl.gaussian_init(dl.teacher_widths(depth), sigma0, INIT_SEED)
    return dl.gradient_descent(X, Y, W0, lr=GD_LR[depth], steps=steps).raise_if_diverged()


def _minnorm(noise: float, sigma0: float, steps) -> dl.DeepTrajectory:
    """Minnorm(c = 2) at depth 2 on the test-error instance."""
    X, Y, _ = _teacher(noise)
    W0 = dl.gaussian_init(dl.teacher_widths(2), sigma0, INIT_SEED)
    return dl.minnorm_descent(X, Y, W0, c=MN_C, lr_w=MN_LR, lr_lambda=MN_LR, steps=steps).raise_if_diverged()


def _errors(traj: dl.DeepTrajectory, noise: float) -> np.ndarray:
    """E_g(M(t)) = ||M(t) - W_bar||_F^2 at every sample of ``traj``."""
    W_bar = _teacher(noise)[2]
    return np.array([an.generalization_error(M, W_bar) for M in traj.maps])


def _min_norm_error(noise: float) -> float:
    """E_g of the min-norm map Y X^+ (the Minnorm limit, closed form)."""
    X, Y, W_bar = _teacher(noise)
    return an.generalization_error(an.min_norm_map(X, Y), W_bar)


# --------------------------------------------------------------------------- Saxe


@styled
def saxe(out_dir: Path, fmt: str) -> Path:
    """Saxe's exact mode dynamics and learning times, depths 2 and 3 (C3.3).

    Left: the strength u(t) of each mode of Sigma_yx (s = 3, 2, 1, 0.5) under gradient flow
    from u0 = 0.01 (points) lies on the closed form of tau du/dt = D u^(2-2/D) (s - u)
    (lines). Right: the time to learn a mode from u0 = s/100 to s/2 against 1/s: simulated
    (points) and closed form (lines), scaling as s^(2/D-2), i.e. 1/s at depth 2 (Saxe's law)
    and s^(-4/3) at depth 3.
    """
    fig = Figure(figsize=(11.5, 5.0), layout="constrained")
    modes_ax, time_ax = fig.subplots(1, 2)
    _modes_panel(modes_ax)
    _learning_time_panel(time_ax)
    fig.suptitle(f"Deep linear network: Saxe modes; {INSTANCE_SAXE}")
    return save(fig, out_dir, "deep_linear_saxe", fmt)


def _modes_panel(ax: Axes) -> None:
    """u(t) per mode and depth: simulation (markers) over the closed form (lines)."""
    horizon = 1.3 * max(an.saxe_learning_time(SAXE_STRENGTHS.min(), SAXE_U0,
                                              0.99 * SAXE_STRENGTHS.min(), depth)
                        for depth in DEPTHS)
    marks = np.linspace(0.0, horizon, SAXE_MARKS + 1)[1:]
    dense = np.linspace(0.0, horizon, 200)
    colors = colormaps["viridis"](np.linspace(0.0, 0.8, SAXE_STRENGTHS.size))
    for depth in DEPTHS:
        line_style, marker = DEPTH_STYLES[depth]
        simulated = _saxe_flow(SAXE_STRENGTHS, depth, SAXE_U0, marks, SAXE_DT)
        for column, (s, color) in enumerate(zip(SAXE_STRENGTHS, colors)):
            ax.plot(dense, an.saxe_mode(s, SAXE_U0, dense, depth), ls=line_style, color=color,
                    label=f"$s={s:g}$" if depth == DEPTHS[0] else None)
            ax.plot(marks, simulated[:, column], marker, ms=4, mfc="none", color=color)
    depth_handles = [Line2D([], [], color="0.3", ls=DEPTH_STYLES[d][0], marker=DEPTH_STYLES[d][1],
                            mfc="none", label=f"$D={d}$") for d in DEPTHS]
    ax.add_artist(ax.legend(loc="center right", bbox_to_anchor=(1.0, 0.79), ncols=2,
                            title="mode"))
    ax.legend(handles=depth_handles, loc="center right", bbox_to_anchor=(1.0, 0.46),
              title="lines: closed form\nmarkers: simulation")
    ax.set(xlim=(0, horizon), xlabel=r"time $t$ ($\tau=1/\eta=1$)", ylabel="mode strength $u(t)$",
           title=rf"(a) $\tau\dot u=Du^{{2-2/D}}(s-u)$, $u_0={SAXE_U0:g}$")


def _learning_time_panel(ax: Axes) -> None:
    """t(s/100 -> s/2) against 1/s (log-log): simulation, closed form and fitted exponents."""
    dense = np.geomspace(LEARN_STRENGTHS.min() / 1.1, LEARN_STRENGTHS.max() * 1.1, 60)
    for depth in DEPTHS:
        line_style, marker = DEPTH_STYLES[depth]
        simulated = np.array([_simulated_learning_time(s, depth) for s in LEARN_STRENGTHS])
        exponent = loglog_slope(LEARN_STRENGTHS, simulated)
        closed = [an.saxe_plateau_time(s, s / 100, depth) for s in dense]
        color = DEPTH_COLORS[depth]
        law = rf"$t\propto s^{{2/D-2}}=s^{{{_exponent(depth)}}}$"
        ax.loglog(1.0 / dense, closed, ls=line_style, color=color,
                  label=f"$D={depth}$ closed form: {law}")
        ax.loglog(1.0 / LEARN_STRENGTHS, simulated, marker, ms=7, mfc="none", color=color,
                  label=rf"$D={depth}$ simulation, fitted exponent ${exponent:.4f}$")
    ax.set_xticks(1.0 / LEARN_STRENGTHS[::2], [f"{1 / s:g}" for s in LEARN_STRENGTHS[::2]])
    ax.set_xticks([], minor=True)
    ax.set(xlabel=r"$1/s$", ylabel=r"learning time $t(s/100\to s/2)$",
           title=r"(b) time to learn a mode to $s/2$ from $u_0=s/100$ (slope in $1/s$: $2-2/D$)")
    ax.legend(loc="upper left")


def _exponent(depth: int) -> str:
    """The exponent 2/D - 2 of the learning-time law as a fraction, e.g. '-4/3'."""
    return str(Fraction(2, depth) - 2)


def _simulated_learning_time(s: float, depth: int) -> float:
    """First time the simulated mode s reaches s/2 from s/100 (linear interpolation)."""
    horizon = 1.2 * an.saxe_plateau_time(s, s / 100, depth)
    samples = int(round(horizon / LEARN_DT))
    times = np.linspace(0.0, horizon, samples + 1)
    u = np.concatenate(([s / 100], _saxe_flow(np.array([s]), depth, s / 100, times[1:],
                                              LEARN_DT)[:, 0]))
    return first_crossing_time(times, u, s / 2)


# --------------------------------------------------------------------------- E_g vs sigma0


@styled
def error_vs_scale(out_dir: Path, fmt: str) -> Path:
    """Test error of the limits against the initialization scale sigma0 (no label noise).

    Minnorm reaches Y X^+ from every sigma0, so its E_g is flat and equals the closed form
    ||W_bar P_perp||^2 (C3.1). Gradient descent keeps W_0 P_perp: its E_g grows with
    sigma0 at depths 2 and 3 (C3.2), like the shallow closed form
    E_g^MN + (1 - P/N_i) N_o sigma0^2 (band: +-1 standard deviation over 200 draws of the
    shallow limit Y X^+ + W_0 P_perp). For one draw the excess can be negative (the cross
    term -2 <W_bar P_perp, W_0 P_perp>): the ordering holds in expectation.
    """
    fig = Figure(figsize=(11.5, 5.0), layout="constrained")
    error_ax, excess_ax = fig.subplots(1, 2, sharex=True)
    base = _min_norm_error(0.0)
    grid = np.geomspace(SIGMA0S.min(), SIGMA0S.max(), 40)
    mean, spread = _shallow_error(grid)
    gd = {depth: np.array([_gd_limit_error(depth, s0) for s0 in SIGMA0S]) for depth in DEPTHS}
    minnorm = np.array([_errors(_minnorm(0.0, s0, [MN_STEPS]), 0.0)[-1] for s0 in MN_SIGMA0S])
    for ax, offset in ((error_ax, 0.0), (excess_ax, base)):
        ax.fill_between(grid, mean - spread - offset, mean + spread - offset, color=SHALLOW_COLOR,
                        alpha=0.2, lw=0, label=r"shallow, $\pm1$ std (200 draws)")
        ax.plot(grid, mean - offset, color=SHALLOW_COLOR,
                label=r"shallow: $E_g^{MN}+(1-P/N_i)N_o\sigma_0^2$")
        for depth in DEPTHS:
            ax.plot(SIGMA0S, gd[depth] - offset, DEPTH_STYLES[depth][1] + "-",
                    color=DEPTH_COLORS[depth],
                    label=rf"GD limit, $D={depth}$, lr ${GD_LR[depth]:g}$")
        ax.axhline(base - offset, color=MN_COLOR, ls="--", label=r"$E_g(YX^+)$ (closed form)")
        ax.plot(MN_SIGMA0S, minnorm - offset, "*", ms=12, color=MN_COLOR, mec="k",
                label=r"Minnorm($c=2$) limit, $D=2$")
    error_ax.set(xscale="log", xlabel=r"$\sigma_0$", ylabel=r"$E_g=\|M_\infty-\bar W\|_F^2$",
                 title="(a) test error of the limit")
    excess_ax.set_yscale("symlog", linthresh=EXCESS_LINTHRESH)
    excess_ax.set(ylim=(-0.3, 30.0), xlabel=r"$\sigma_0$", ylabel=r"$E_g-E_g(YX^+)$",
                  title=rf"(b) excess over the min-norm map (symlog, linear for "
                        rf"$|y|<{EXCESS_LINTHRESH:g}$)")
    error_ax.legend(loc="upper left")
    fig.suptitle(f"Deep linear network: test error against the initialization scale, no label "
                 f"noise\n{INSTANCE}")
    return save(fig, out_dir, "deep_linear_error_vs_scale", fmt)


def _gd_limit_error(depth: int, sigma0: float) -> float:
    """E_g of the gradient-descent limit at ``depth`` from scale sigma0 (no label noise)."""
    return float(_errors(_gd(0.0, depth, sigma0, [GD_STEPS[depth]]), 0.0)[-1])


def _shallow_error(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(expected E_g, sample std over 200 seeded draws) of the shallow limit Y X^+ + W_0 P_perp
    at each sigma0 of ``grid``."""
    X, Y, W_bar = _teacher(0.0)
    base = _min_norm_error(0.0)
    mean = np.array([base + an.expected_excess_error_gd(s0, N_IN, N_OUT, N_SAMPLES)
                     for s0 in grid])
    draws = np.array([[an.generalization_error(an.gd_limit_shallow(
        dl.gaussian_init([N_IN, N_OUT], s0, SHALLOW_SEED + k)[0], X, Y), W_bar)
        for s0 in grid] for k in range(SHALLOW_DRAWS)])
    return mean, draws.std(axis=0, ddof=1)


# --------------------------------------------------------------------------- E_g vs time


@styled
def error_vs_time(out_dir: Path, fmt: str) -> Path:
    """E_g(t) of gradient descent and Minnorm at depth 2, without and with label noise.

    Without noise Minnorm ends at E_g(Y X^+) from both scales (C3.1) and gradient descent
    above it, more so from sigma0 = 1 (C3.2). With label noise std 1 (the failing regime)
    Minnorm interpolates the noise, ||E X^+||^2 included, and gradient descent stopped
    early (circled minimum) generalizes better than either limit.
    """
    fig = Figure(figsize=(11.5, 5.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, noise in zip(axes, NOISES):
        _time_panel(ax, noise)
    axes[0].legend(loc="upper right")
    fig.suptitle(f"Deep linear network, $D=2$: test error along training; GD lr 0.05, "
                 f"Minnorm($c=2$) $a=b=0.05$\n{INSTANCE}; noise floor omitted")
    return save(fig, out_dir, "deep_linear_error_vs_time", fmt)


def _time_panel(ax: Axes, noise: float) -> None:
    """E_g(t) of every run at label-noise std ``noise``; GD's minimum marked if noisy."""
    for sigma0 in TIME_SIGMA0S:
        gd = _errors(_gd(noise, 2, sigma0, TIME_STEPS), noise)[1:]
        ax.plot(TIME_STEPS, gd, color=TIME_COLORS["GD", sigma0],
                label=rf"GD, $\sigma_0={sigma0:g}$")
        if noise > 0.0:
            best = int(np.argmin(gd))
            ax.plot(TIME_STEPS[best], gd[best], "o", ms=11, mfc="none", mew=1.6,
                    color=TIME_COLORS["GD", sigma0],
                    label=rf"early stop: $t={TIME_STEPS[best]}$, $E_g={gd[best]:.2f}$")
        minnorm = _errors(_minnorm(noise, sigma0, TIME_STEPS), noise)[1:]
        ax.plot(TIME_STEPS, minnorm, color=TIME_COLORS["Minnorm", sigma0],
                label=rf"Minnorm($c=2$), $\sigma_0={sigma0:g}$")
    limit = _min_norm_error(noise)
    ax.axhline(limit, color="0.3", ls="--", lw=1.0, label=rf"$E_g(YX^+)={limit:.3f}$ (closed form)")
    ax.set(xscale="log", xlim=(1, TIME_STEPS[-1]), xlabel="step $t$",
           ylabel=r"$E_g(t)=\|M(t)-\bar W\|_F^2$",
           title=f"({'ab'[NOISES.index(noise)]}) label noise std {noise:g}")
    if noise > 0.0:
        ax.legend(loc="lower right")


# --------------------------------------------------------------------------- init x depth map


@styled
def init_depth_map(out_dir: Path, fmt: str) -> Path:
    """The regime map ``deep_linear_init_depth`` on its coarse grid (the named teacher;
    docs/deep_linear.md §C3.8): Minnorm collapsed to W = 0, or escaped with E_g(GD) above or
    not above E_g(Minnorm), with the collapse threshold v0*(D) of docs/deep_linear.md §3b.8 drawn over it. The
    finer grid: ``python -m verify.sweep deep_linear_init_depth --grid-size fine``."""
    table = INIT_DEPTH.run("coarse", seed=0)
    path = regime_map.draw(INIT_DEPTH, table, out_dir, fmt, "deep_linear_init_depth_map",
                           "Minnorm ($c=10$) vs gradient flow, teacher-student $N_i=20$, "
                           "$P=10$\ncells: measured; line: small-weight escape threshold")
    return path
