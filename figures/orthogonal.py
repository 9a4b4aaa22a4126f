"""Figures for orthogonal over-parameterized training (docs/orthogonal.md).

Instance: ``procrustes_instance(8, 32, 0.5, seed=3)`` (V with N(0, 1/N) entries, T = R_true V
+ noise); the parametrized learners start from A0 = Q + 0.3 G/sqrt(d) (Q = haar_orthogonal(8,
seed=5), G Gaussian from seed 6), Cayley from R = I; lr 0.2, momentum 0.5; OGD lr 0.05,
momentum 0.9 from R = I; S-OPT (Gram-Schmidt) 4 coordinates, 25 steps per episode; the
penalty from R0 = Q, lr 0.05, momentum 0.9. The claims of :mod:`verify.orthogonal` draw
other instances.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analytic import orthogonal as exact
from figures.style import save, styled
from theory import orthogonal as sim
from theory.orthogonal_energy import hyperspherical_energy
from theory.orthogonal_maps import (ORTHOGONALIZERS, cayley, gram_schmidt, householder, lowdin,
                                    orthogonality_defect)

DIM, N_NEURONS, NOISE, SEED = 8, 32, 0.5, 3
STEPS = np.unique(np.geomspace(1, 20_000, 120).round().astype(np.int64))
LONG_STEPS = np.unique(np.geomspace(1, 300_000, 150).round().astype(np.int64))
"""The Procrustes figure's samples: S-OPT needs ~1e5 steps."""
INSTANCE = r"Procrustes, $d=8,\ N=32$, noise 0.5, seed 3"
EPS = np.finfo(float).eps
FLOOR = 1e-17
"""Values below this (exact zeros among them) are drawn at this floor on log axes."""

LEARNER_STYLES = {
    "gram_schmidt": ("tab:blue", "-"), "householder": ("tab:orange", "-"),
    "lowdin": ("tab:green", "-"), "cayley": ("tab:red", "-"),
    "ogd": ("black", "--"), "s-opt": ("tab:purple", ":"),
}


def figures() -> dict[str, Callable[[Path, str], Path]]:
    """Every figure of this setting by name (the file is ``orthogonal_<name>.<fmt>``)."""
    return {"energy": energy, "random_over_minimum": random_over_minimum,
            "defect_vs_condition": defect_vs_condition, "procrustes": procrustes}


@lru_cache(maxsize=None)
def _task() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    V, T, _ = sim.procrustes_instance(DIM, N_NEURONS, NOISE, SEED)
    A0 = sim.haar_orthogonal(DIM, 5) + 0.3 * np.random.default_rng(6).standard_normal(
        (DIM, DIM)) / np.sqrt(DIM)
    return V, T, A0


@lru_cache(maxsize=None)
def _learner(name: str, long: bool = False) -> sim.OrthogonalTrajectory:
    V, T, A0 = _task()
    steps = LONG_STEPS if long else STEPS
    if name in ORTHOGONALIZERS:
        start = np.zeros_like(A0) if name == "cayley" else A0
        return sim.parametrized_descent(V, T, start, lr=0.2, steps=steps, orthogonalizer=name,
                                        momentum=0.5)
    if name == "ogd":
        return sim.orthogonal_descent(V, T, lr=0.05, steps=steps, momentum=0.9)
    return sim.stochastic_descent(V, T, lr=0.2, steps=steps, subset_size=DIM // 2,
                                  episode_steps=25, seed=7, momentum=0.5)


@styled
def energy(out_dir: Path, fmt: str) -> Path:
    """|E_1(R_t V)/E_1(V) - 1| against the step: the exactly orthogonal learners stay at
    round-off (docs/orthogonal.md §6b.1), the penalty and unconstrained R drift, and OGD
    with the code's two fixed-point iterations drifts more at larger steps
    (docs/orthogonal.md §6b.6)."""
    V, T, A0 = _task()
    start = hyperspherical_energy(V, 1.0)
    fig = Figure(figsize=(10.0, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    for name, (color, style) in LEARNER_STYLES.items():
        drift = np.abs(_learner(name).energies(V, 1.0) / start - 1.0)[1:]
        left.plot(STEPS, np.maximum(drift, FLOOR), color=color, ls=style, label=name)
    Q = sim.haar_orthogonal(DIM, 5)
    for penalty, color in ((0.0, "tab:gray"), (1.0, "tab:brown")):
        traj = sim.penalty_descent(V, T, Q, lr=0.05, steps=STEPS, penalty=penalty, momentum=0.9)
        drift = np.abs(traj.energies(V, 1.0) / start - 1.0)[1:]
        right.plot(STEPS, np.maximum(drift, FLOOR), color=color,
                   label=f"penalty $\\mu={penalty:g}$" + (" (free $R$)" if penalty == 0 else ""))
    for lr, color in ((1e-3, "tab:cyan"), (1e-2, "tab:blue"), (1e-1, "navy")):
        traj = sim.orthogonal_descent(V, T, lr=lr, steps=STEPS, momentum=0.9,
                                      retraction="iterative")
        drift = np.abs(traj.energies(V, 1.0) / start - 1.0)[1:]
        right.plot(STEPS, np.maximum(drift, FLOOR), color=color, ls="--",
                   label=f"OGD two iterations, lr {lr:g}")
    left.set(xscale="log", yscale="log", xlabel="step",
             ylabel=r"$|E_1(R_tV)/E_1(V) - 1|$", title="orthogonal learners (C6.1)")
    right.set(xscale="log", xlabel="step", title="penalty and iterative OGD (C6.2)")
    left.legend(loc="upper left", ncol=2)
    right.legend(loc="lower right")
    fig.suptitle(f"Hyperspherical energy during training\n{INSTANCE}")
    return save(fig, out_dir, "orthogonal_energy", fmt)


MC_DIMS = (64, 100, 200, 500, 1000)
MC_DRAWS = 50


@styled
def random_over_minimum(out_dir: Path, fmt: str) -> Path:
    """E[E_s^rand]/E_s^min for N = 64 neurons against d (N <= d + 1): the closed form
    I_s(d) (2N/(N-1))^(s/2), its first-order expansion and Monte Carlo means
    (docs/orthogonal.md §6b.2)."""
    n = 64
    dims = np.unique(np.geomspace(n - 1, 5000, 60).round().astype(int))
    rng = np.random.default_rng(11)
    fig = Figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.add_subplot()
    for s, color in ((1.0, "tab:blue"), (2.0, "tab:red")):
        ratio = [exact.random_to_minimum_ratio(n, s, d) for d in dims]
        first = (n / (n - 1)) ** (s / 2) * (1 + s * (s + 2) / (8 * dims))
        ax.plot(dims, ratio, color=color, label=f"closed form, $s={s:g}$")
        ax.plot(dims, first, color=color, ls=":",
                label=r"$(\frac{N}{N-1})^{s/2}(1+\frac{s(s+2)}{8d})$")
        means = [np.mean([hyperspherical_energy(rng.standard_normal((d, n)), s)
                          for _ in range(MC_DRAWS)]) / exact.simplex_energy_bound(n, s)
                 for d in MC_DIMS]
        ax.plot(MC_DIMS, means, "o", color=color, ms=5, label=f"Monte Carlo ({MC_DRAWS} draws)")
    ax.axhline(n / (n - 1), color="gray", lw=0.8, ls="--", label=r"$N/(N-1)$ ($s=2$, $d\to\infty$)")
    ax.set(xscale="log", xlabel="dimension $d$", ylabel=r"$E[E_s^{rand}]/E_s^{min}$",
           title=f"random neurons against the simplex minimum, $N={n}$ (C6.9)")
    ax.legend(fontsize=7)
    return save(fig, out_dir, "orthogonal_random_over_minimum", fmt)


KAPPAS = np.geomspace(1.0, 1e8, 33)


@styled
def defect_vs_condition(out_dir: Path, fmt: str) -> Path:
    """|Q^T Q - I|_F of each map against kappa(A) (d = 12; median and range over 5 matrices
    U diag(sigma) W^T per kappa), with eps kappa^2 and eps kappa (docs/orthogonal.md §6b.4)."""
    dim, draws = 12, 5
    maps = {"classical GS (OPT code)": lambda A: gram_schmidt(A),
            "modified GS": lambda A: gram_schmidt(A, modified=True),
            "householder": householder, "lowdin": lowdin, "cayley": cayley}
    colors = ("tab:blue", "tab:cyan", "tab:orange", "tab:green", "tab:red")
    defects = {name: np.empty((KAPPAS.size, draws)) for name in maps}
    for i, kappa in enumerate(KAPPAS):
        for j in range(draws):
            seed = 1000 * i + j
            sigma = np.geomspace(1.0, kappa, dim)
            np.random.default_rng(seed).shuffle(sigma)
            A = ((sim.haar_orthogonal(dim, 2 * seed) * sigma)
                 @ sim.haar_orthogonal(dim, 2 * seed + 1).T)
            for name, function in maps.items():
                defects[name][i, j] = orthogonality_defect(function(A))
    fig = Figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.add_subplot()
    for (name, values), color in zip(defects.items(), colors):
        values = np.maximum(values, FLOOR)
        ax.plot(KAPPAS, np.median(values, axis=1), color=color, label=name)
        ax.fill_between(KAPPAS, values.min(axis=1), values.max(axis=1), color=color, alpha=0.15)
    ax.plot(KAPPAS, EPS * KAPPAS ** 2, color="gray", ls="--", lw=0.8, label=r"$\epsilon\kappa^2$")
    ax.plot(KAPPAS, EPS * KAPPAS, color="gray", ls=":", lw=0.8, label=r"$\epsilon\kappa$")
    ax.set(xscale="log", yscale="log", xlabel=r"$\kappa(A)$", ylabel=r"$\|Q^\top Q - I\|_F$",
           ylim=(1e-16, 10.0), title=f"orthogonality of the computed maps, $d={dim}$ (C6.4)")
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, out_dir, "orthogonal_defect_vs_condition", fmt)


@styled
def procrustes(out_dir: Path, fmt: str) -> Path:
    """|R_t - R*|_F per learner against the step, R* the closed-form optimum of the component
    the learner ends in (docs/orthogonal.md §6b.3)."""
    V, T, _ = _task()
    fig = Figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.add_subplot()
    for name, (color, style) in LEARNER_STYLES.items():
        traj = _learner(name, long=True)
        sign = int(np.sign(np.linalg.det(traj.rotations[-1])))
        R_star, _ = exact.procrustes_optimum(V, T, determinant=sign)
        error = np.linalg.norm(traj.rotations - R_star, axis=(1, 2))[1:]
        ax.plot(LONG_STEPS, np.maximum(error, FLOOR), color=color, ls=style,
                label=f"{name} (det {sign:+d})")
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel=r"$\|R_t - R^\star\|_F$",
           title=f"Procrustes: every learner reaches $R^\\star$ (C6.6)\n{INSTANCE}")
    ax.legend(fontsize=7, loc="lower left")
    return save(fig, out_dir, "orthogonal_procrustes", fmt)
