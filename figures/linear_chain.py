"""Figures for the linear chain y_hat = p x, p = w_1 ... w_L (docs/linear_chain.md; claims C2.x).

Instance: sigma = 1, p* = 2, eta = eta_w = eta_lambda = 1 (the
solvers' default rates), w0 = (1.5, 0.3) at L = 2 and (1.5, 0.3, 0.9) at L = 3.
Trajectories come from the solvers of :mod:`theory.linear_chain` (rk4); limits, floors
and rates from the closed forms of :mod:`analytic.linear_chain`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analytic import linear_chain as an
from figures import regime_map
from figures.style import save, styled
from theory import linear_chain as lc
from theory.measure import time_to_accuracy
from verify.linear_chain_maps import DAMPING

P_STAR, SIGMA, DT = 2.0, 1.0, 1e-2
W0 = {2: np.array([1.5, 0.3]), 3: np.array([1.5, 0.3, 0.9])}
BETAS = (0.05, 0.2, 0.5, 1.0)
DAMPINGS = (0.25, 1.0)
"""Minnorm dampings above c_min (0 at L = 2, 0.132 at L = 3)."""
EPSILONS = np.geomspace(1e-1, 1e-4, 7)
T_EPS_SAMPLES, L2_DT = 20_000, 0.05
INSTANCE = r"$\sigma=1,\ p^*=2,\ \eta=\eta_w=\eta_\lambda=1$"

GD_COLOR, MN0_COLOR = "black", "tab:red"
L2_COLORS = dict(zip(BETAS, ("#9ecae1", "#4292c6", "#2171b5", "#08306b")))
MN_COLORS = dict(zip(DAMPINGS, ("tab:orange", "tab:green")))


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``linear_chain_<name>.<fmt>``)."""
    return {"phase_plane": phase_plane, "distance": distance, "t_epsilon": t_epsilon,
            "damping_map": damping_map}


# --------------------------------------------------------------------------- simulation


def _flow(solver: Callable[..., lc.ChainTrajectory], w0: np.ndarray, horizon: float,
          samples: int = 2000, **kwargs) -> lc.ChainTrajectory:
    """Run a flow ``solver`` of :mod:`theory.linear_chain` on the instance, sampled uniformly."""
    kwargs.setdefault("dt", DT)
    kwargs.setdefault("method", "rk4")
    times = np.linspace(0.0, horizon, samples + 1)[1:]
    return solver(P_STAR, w0, times=times, sigma=SIGMA, **kwargs).raise_if_diverged()


def _distance(traj: lc.ChainTrajectory) -> np.ndarray:
    """||w(t) - w_MN|| along ``traj``."""
    return an.distance_to_min_norm(traj.weights, P_STAR)


def _settling_time(traj: lc.ChainTrajectory, eps: float) -> float:
    """T_eps: the time after which ||w - w_MN|| stays below eps."""
    return time_to_accuracy(traj.times, _distance(traj), eps)


# --------------------------------------------------------------------------- phase plane


@styled
def phase_plane(out_dir: Path, fmt: str) -> Path:
    """The (w1, w2) plane at L = 2: where each algorithm goes.

    Shows the interpolants p = w1 w2 = p*, gradient-flow trajectories from several starts
    on their conserved hyperbolas w1^2 - w2^2 = C (C2.1: only the balanced start reaches
    w_MN), L2 trajectories from w0 ending at the balanced fixed points short of p = p*
    (C2.2), and Minnorm from w0: c = 0 is pulled to the diagonal and then oscillates on it
    forever (a center), c = 1 spirals into w_MN (C2.3).
    """
    fig = Figure(figsize=(8.0, 6.2), layout="constrained")
    ax = fig.add_subplot()
    w1 = np.linspace(0.01, 3.2, 400)
    ax.plot(w1, P_STAR / w1, color="0.55", lw=2.5, alpha=0.6, label=r"$p=w_1w_2=p^*$")
    _gd_phase(ax)
    for beta in BETAS:
        traj = _flow(lc.l2_flow, W0[2], 40.0 / beta, beta=beta)
        ax.plot(*traj.weights.T, color=L2_COLORS[beta], label=rf"L2, $\beta={beta:g}$")
        ax.plot(*an.l2_fixed_point(P_STAR, beta, 2), "s", ms=6, mfc=L2_COLORS[beta], mec="k")
    for c, color, horizon in ((0.0, MN0_COLOR, 40.0), (1.0, MN_COLORS[1.0], 20.0)):
        traj = _flow(lc.minnorm_flow, W0[2], horizon, c=c)
        ax.plot(*traj.weights.T, color=color, lw=1.0,
                label=rf"Minnorm($c={c:g}$), $t\leq{horizon:g}$")
    ax.plot(*an.min_norm_solution(P_STAR, 2), "*", ms=16, mfc="gold", mec="k",
            label=r"$w_{MN}$", zorder=5)
    ax.plot(*W0[2], "o", ms=7, mfc="white", mec="k", label=r"$w_0=(1.5,\,0.3)$", zorder=5)
    ax.set(xlim=(0, 3.2), ylim=(0, 3.2), aspect="equal", xlabel=r"$w_1$", ylabel=r"$w_2$",
           title=f"Linear chain $L=2$, {INSTANCE}\n"
                 r"squares: L2 limits (analytic); dots: GD limits (analytic); rk4, $dt=10^{-2}$")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save(fig, out_dir, "linear_chain_phase_plane", fmt)


def _gd_phase(ax: Axes) -> None:
    """Gradient-flow trajectories from several starts, their hyperbolas and limits."""
    starts = (W0[2], np.array([0.35, 0.35]), np.array([0.4, 1.3]), np.array([2.8, 0.4]),
              np.array([0.9, 2.9]))
    s = np.linspace(0.0, 3.2, 400)
    for i, w0 in enumerate(starts):
        C = w0[0] ** 2 - w0[1] ** 2
        curve = (np.sqrt(s ** 2 + C), s) if C >= 0 else (s, np.sqrt(s ** 2 - C))
        ax.plot(*curve, color=GD_COLOR, lw=0.8, ls=":", alpha=0.5,
                label=r"$w_1^2-w_2^2=$ const" if i == 0 else None)
        traj = _flow(lc.gradient_flow, w0, 20.0)
        ax.plot(*traj.weights.T, color=GD_COLOR, lw=2.6, zorder=1.5,
                label="GD" if i == 0 else None)
        ax.plot(*an.gd_limit(w0, P_STAR), "o", ms=5, color=GD_COLOR)
        ax.plot(*w0, "o", ms=5, mfc="white", mec=GD_COLOR)


# --------------------------------------------------------------------------- distance


@styled
def distance(out_dir: Path, fmt: str) -> Path:
    """||w(t) - w_MN|| against t (log scale) at L = 2 and L = 3.

    GD stalls at ||gd_limit - w_MN|| from the unbalanced w0 (C2.1); L2 stalls at its
    floor d_beta > 0 (C2.2); Minnorm(c = 0) does not converge (a center at L = 2, unstable
    at L = 3, where it collapses to the origin); Minnorm(c > c_min) converges
    exponentially at the predicted rate min(2 eta_w, -Re mu_sym) (C2.3). Dashed lines are
    analytic: limits and floors, and the rates C exp(-rate t) with C fitted to the tail.
    """
    fig = Figure(figsize=(11.0, 7.0), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    rate_lines = [_distance_panel(ax, depth) for ax, depth in zip(axes, (2, 3))]
    for ax, lines in zip(axes, rate_lines):
        ax.legend(handles=lines, loc="lower right", title="Minnorm, analytic rates")
    axes[0].set_ylabel(r"$\|w(t)-w_{MN}\|$")
    handles, _ = axes[0].get_legend_handles_labels()
    fig.legend(handles=[h for h in handles if h not in rate_lines[0]],
               loc="outside lower center", ncols=5)
    fig.suptitle(f"Linear chain: distance to the min-norm interpolant, {INSTANCE}; "
                 r"rk4, $dt=10^{-2}$; dashed = analytic")
    return save(fig, out_dir, "linear_chain_distance", fmt)


def _distance_panel(ax: Axes, depth: int) -> list[Line2D]:
    """One panel of :func:`distance`: every algorithm from W0[depth]; returns the rate lines."""
    w0, horizon = W0[depth], 120.0
    gd = _flow(lc.gradient_flow, w0, horizon)
    ax.plot(gd.times, _distance(gd), color=GD_COLOR, label="GD")
    gd_gap = np.linalg.norm(an.gd_limit(w0, P_STAR) - an.min_norm_solution(P_STAR, depth))
    ax.axhline(gd_gap, color=GD_COLOR, ls="--", lw=0.9, label=r"GD limit (analytic)")
    for beta in BETAS:
        l2 = _flow(lc.l2_flow, w0, horizon, beta=beta)
        ax.plot(l2.times, _distance(l2), color=L2_COLORS[beta], label=rf"L2, $\beta={beta:g}$")
        ax.axhline(an.l2_distance_to_min_norm(P_STAR, beta, depth), color=L2_COLORS[beta],
                   ls="--", lw=0.9)
    mn0 = _flow(lc.minnorm_flow, w0, horizon, c=0.0)
    ax.plot(mn0.times, _distance(mn0), color=MN0_COLOR, lw=0.8, alpha=0.7, zorder=1,
            label=r"Minnorm($c=0$): no convergence")
    rate_lines = [_minnorm_with_rate(ax, w0, horizon, c) for c in DAMPINGS]
    ax.set(yscale="log", ylim=(1e-12, 10.0), xlim=(0, horizon), xlabel=r"time $t$",
           title=rf"$L={depth}$, $w_0={tuple(w0.tolist())}$, "
                 rf"$c_{{\min}}={an.minnorm_damping_threshold(P_STAR, depth):.3g}$"
                 "\ndashed horizontal: GD limit and L2 floors $d_\\beta$")
    return rate_lines


def _minnorm_with_rate(ax: Axes, w0: np.ndarray, horizon: float, c: float) -> Line2D:
    """Minnorm(c) distance and the line C exp(-rate t), rate analytic, C the tail envelope."""
    traj = _flow(lc.minnorm_flow, w0, horizon, c=c)
    d = _distance(traj)
    rate = an.minnorm_rate(P_STAR, w0.size, c)
    tail = (d > 1e-10) & (d < 1e-4)
    log_c = np.max(np.log(d[tail]) + rate * traj.times[tail])
    t_line = np.linspace(traj.times[np.argmax(d < 1e-1)], (log_c - np.log(1e-12)) / rate, 50)
    ax.plot(traj.times, d, color=MN_COLORS[c], label=rf"Minnorm($c={c:g}$)")
    return ax.plot(t_line, np.exp(log_c - rate * t_line), color=MN_COLORS[c], ls="--", lw=0.9,
                   label=rf"$c={c:g}$: $\propto e^{{-{rate:.3g}\,t}}$")[0]


# --------------------------------------------------------------------------- T_eps


@styled
def t_epsilon(out_dir: Path, fmt: str) -> Path:
    """Time to accuracy T_eps against eps (log-log) at L = 2, from w0 = (1.5, 0.3).

    T_eps is the last time ||w(t) - w_MN|| > eps. Minnorm(c = 1) needs T ~ ln(1/eps)
    (C2.3); L2, even with the beta that minimises T_eps, needs T ~ eps^-1 ln(1/eps)
    because d_beta < eps forces beta = O(eps) (C2.4). Prints the table and its run time.
    """
    start = time.perf_counter()
    mn = _flow(lc.minnorm_flow, W0[2], 30.0, samples=T_EPS_SAMPLES, c=1.0)
    t_mn = np.array([_settling_time(mn, eps) for eps in EPSILONS])
    if not np.all(np.isfinite(t_mn)):  # inf: Minnorm did not reach eps by the horizon
        raise ArithmeticError(f"Minnorm did not reach every eps of {EPSILONS} by t = 30")
    t_l2, betas = np.array([_best_l2(eps) for eps in EPSILONS]).T
    _print_table(t_mn, t_l2, betas, time.perf_counter() - start)
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.loglog(EPSILONS, t_mn, "o-", color=MN_COLORS[1.0], label=r"Minnorm($c=1$)")
    ax.loglog(EPSILONS, t_l2, "s-", color=L2_COLORS[BETAS[-1]], label=r"L2, best $\beta$")
    log_inv = np.log(1.0 / EPSILONS)
    ax.loglog(EPSILONS, t_l2[-1] * log_inv / log_inv[-1] * EPSILONS[-1] / EPSILONS, ":",
              color="0.4", label=r"guide $\propto\varepsilon^{-1}\ln(1/\varepsilon)$")
    ax.loglog(EPSILONS, t_mn[-1] * log_inv / log_inv[-1], "--", color="0.4",
              label=r"guide $\propto\ln(1/\varepsilon)$")
    ax.invert_xaxis()
    ax.set(xlabel=r"accuracy $\varepsilon$", ylabel=r"$T_\varepsilon$ (time)",
           title=f"Linear chain $L=2$, $w_0=(1.5,\\,0.3)$, {INSTANCE}\n"
                 r"$T_\varepsilon$ = last time with $\|w(t)-w_{MN}\|>\varepsilon$; "
                 r"rk4, $dt=10^{-2}$ (MN), $0.05$ (L2)")
    ax.legend()
    return save(fig, out_dir, "linear_chain_t_epsilon", fmt)


def _best_l2(eps: float) -> tuple[float, float]:
    """(min over beta of the L2 T_eps, its beta); beta_eps solves d_beta = eps."""
    beta_eps = an.l2_beta_for_distance(P_STAR, eps, 2)
    t, beta = lc.l2_best_time_to_accuracy(P_STAR, W0[2], eps,
                                          target=an.min_norm_solution(P_STAR, 2),
                                          beta_high=beta_eps, sigma=SIGMA, dt=L2_DT,
                                          samples=T_EPS_SAMPLES)
    if not np.isfinite(t):  # inf: no L2 run reached eps; a log plot would drop it silently
        raise ArithmeticError(f"no L2 run reached eps = {eps:g} within its horizon")
    return t, beta


def _print_table(t_mn: np.ndarray, t_l2: np.ndarray, betas: np.ndarray, seconds: float) -> None:
    """Print the T_eps table of :func:`t_epsilon`."""
    print(f"T_eps, linear chain L=2, w0=(1.5, 0.3) (computed in {seconds:.1f} s)")
    print(f"{'eps':>9} {'T_MN(c=1)':>10} {'T_L2(best)':>11} {'best beta':>10} {'ratio':>8}")
    for row in zip(EPSILONS, t_mn, t_l2, betas, t_l2 / t_mn):
        print("{:9.2e} {:10.3f} {:11.1f} {:10.3e} {:8.1f}".format(*row))


# --------------------------------------------------------------------------- damping map


@styled
def damping_map(out_dir: Path, fmt: str) -> Path:
    """The regime map ``linear_chain_damping`` on its coarse grid (seed 0; docs/linear_chain.md
    §C2.8): Minnorm(c) from a 1e-3 perturbation of its fixed point, classified from each
    trajectory (converged / oscillating / diverged), with c_min(L) of docs/linear_chain.md §2b.5 drawn over it.
    The finer grid: ``python -m verify.sweep linear_chain_damping --grid-size fine``."""
    table = DAMPING.run("coarse", seed=0)
    (p_star,) = table.grid["p_star"]
    return regime_map.draw(DAMPING, table, out_dir, fmt, "linear_chain_damping_map",
                           f"Minnorm($c$) flow near its fixed point, $p^*={p_star:g}$, "
                           r"$\sigma=\eta_w=\eta_\lambda=1$, $t\leq 200$" "\n"
                           "cells: measured regime; line: the linearization's threshold")
