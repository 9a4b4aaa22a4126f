"""Regime maps of the linear chain (docs/linear_chain.md §C2.8), declared for
:mod:`verify.maps`; their claims are listed in :data:`verify.linear_chain.CLAIMS` and their
figures in :mod:`figures.linear_chain`.

``linear_chain_damping``: Minnorm(c) flow from a small perturbation of its fixed point
(w_MN, lambda*), over damping c x depth L at p* = 1.5, sigma = eta_w = eta_lambda = 1;
each point is classified from its simulated trajectory alone (converged / oscillating /
diverged) and the theory's boundary is c_min(L) of docs/linear_chain.md §2b.5.
"""
from __future__ import annotations

import numpy as np

from analytic import linear_chain as exact
from theory import linear_chain as sim
from theory.results import Status
from verify.claims import Claim, Evidence, draw_seed
from verify.maps import REGIME, Map, transitions

SETTING = "linear_chain"

HORIZON, SAMPLES, DT = 200.0, 2001, 1e-2
"""The flow runs to t = 200 (RK4, dt = 1e-2), sampled every 0.1."""
PERTURBATION = 1e-3
"""The start: (w0, lambda0) = (w_MN, lambda*) + 1e-3 u, u uniform on the unit sphere of
R^(L+1) (drawn from the point's generator), so every mode is excited."""
DECAY_RATIO = 0.99
"""Converged when the distance's envelope over the last quarter of the horizon is below
0.99 times that over the third quarter: a decay rate above ln(1/0.99) / 50 = 2e-4.
Exactly at c_min the envelope ratio is within 3e-4 of 1 (nonlinear terms; RK4's numerical
damping ~ (|mu| dt)^6 per step is below 1e-8 over the run)."""
NEAR = 0.1
"""Converged also requires the last quarter's distance to stay within 0.1 (100 times the
start): in the linear regime a trajectory's transient growth is bounded by the condition
number of the linearization's eigenvectors (of order sqrt(L)); a large orbit whose envelope
happens to shrink over [100, 200] (seen at L = 3, c = 0.125, distance 1.6) is not
converging to the fixed point."""
ROUND_OFF = 1e-10
"""Converged also when the last quarter's distance is below 1e-10 (both envelopes are then
round-off, 1e-15, and their ratio is noise)."""
ESCAPE = 10.0
"""Diverged when the distance to the fixed point ends above 10 (the collapse of
docs/linear_chain.md §2b.6: w -> 0 while lambda grows like sigma p* t, about 1.5 t), or the solver stopped on a
non-finite state."""

REGIMES = {
    "converged": f"the distance to (w_MN, lambda*) shrinks near it: its envelope over t in "
                 f"[150, 200] at most {NEAR:g} and below {DECAY_RATIO} times that over "
                 f"[100, 150], or below {ROUND_OFF:g}",
    "oscillating": f"bounded (distance at t = {HORIZON:g} at most {ESCAPE:g}) and not shrinking: "
                   "a limit cycle, a center, or a growing oscillation still near the fixed point",
    "diverged": f"the distance ends above {ESCAPE:g} (weights collapsed to 0, the multiplier "
                "growing linearly) or the solver stopped on a non-finite state",
}


def damping_point(point: dict, rng: np.random.Generator) -> dict:
    """One point of ``linear_chain_damping``: simulate Minnorm(c) at depth L from a drawn
    perturbation of its fixed point and classify the trajectory (:data:`REGIMES`)."""
    p_star, depth, c = float(point["p_star"]), int(point["depth"]), float(point["c"])
    fixed = np.append(exact.min_norm_solution(p_star, depth),
                      exact.min_norm_multiplier(p_star, depth))
    direction = rng.standard_normal(depth + 1)
    start = fixed + PERTURBATION * direction / np.linalg.norm(direction)
    traj = sim.minnorm_flow(p_star, start[:-1], c=c, lambda0=float(start[-1]),
                            times=np.linspace(0.0, HORIZON, SAMPLES), dt=DT, method="rk4")
    distance = np.linalg.norm(traj.states - fixed, axis=1)
    quarter = (SAMPLES - 1) // 4
    third, last = distance[2 * quarter:3 * quarter].max(), distance[3 * quarter:].max()
    if traj.status == Status.DIVERGED or distance[-1] > ESCAPE:
        regime = "diverged"
    elif (last < DECAY_RATIO * third and last <= NEAR) or last < ROUND_OFF:
        regime = "converged"
    else:
        regime = "oscillating"
    return {REGIME: regime, "envelope_ratio": float(last / third),
            "final_distance": float(distance[-1]), "final_multiplier": float(traj.multipliers[-1]),
            "solver_status": traj.status.name}


def damping_boundary(grid) -> tuple[np.ndarray, np.ndarray]:
    """c_min(L) over the grid's depths (docs/linear_chain.md §2b.5), at its one p*."""
    (p_star,) = grid["p_star"]
    depths = np.arange(min(grid["depth"]), max(grid["depth"]) + 1)
    return np.array([exact.minnorm_damping_threshold(p_star, int(L)) for L in depths]), depths


def _check_damping_map(rng: np.random.Generator) -> Evidence:
    table = DAMPING.run("coarse", seed=draw_seed(rng))
    measured, predicted, misses, islands = {}, {}, [], []
    for t in transitions(DAMPING, table, "c", {"converged"}):
        depth, c_min = t.fixed["depth"], exact.minnorm_damping_threshold(t.fixed["p_star"], t.fixed["depth"])
        low = t.last_outside if t.last_outside is not None else -np.inf
        high = t.first_inside if t.first_inside is not None else np.inf
        measured[f"L{depth}_boundary"] = (low + high) / 2  # the cell's middle
        predicted[f"L{depth}_boundary"] = c_min
        if not t.brackets(c_min):
            misses.append(depth)
        if not t.single:
            islands.append(depth)
    measured |= {"errors": len(table.errors), "depths_missing_c_min": len(misses),
                 "depths_with_islands": len(islands)}
    predicted |= {"errors": 0, "depths_missing_c_min": 0, "depths_with_islands": 0}
    regimes = DAMPING.regime_grid(table)
    counts = ", ".join(f"{r} {int(np.sum(regimes == r))}" for r in REGIMES)
    return Evidence(measured=measured, predicted=predicted,
                    passed=not table.errors and not misses and not islands,
                    note=f"{len(table.rows)} points ({counts}); c_min outside the measured "
                         f"cell at L = {misses}; not a single transition at L = {islands}")


DAMPING = Map(
    name="linear_chain_damping",
    setting=SETTING,
    title="Minnorm(c) flow near its fixed point: damping c x depth L -> converged / "
          "oscillating / diverged, against c_min(L) = (L-2)/(sigma L p*^(2-2/L))",
    grids={"coarse": {"p_star": (1.5,), "depth": tuple(range(2, 9)),
                      "c": tuple(np.round(np.linspace(0.0, 0.6, 25), 10))},
           "fine": {"p_star": (1.5,), "depth": tuple(range(2, 21)),
                    "c": tuple(np.round(np.linspace(0.0, 0.6, 241), 10))}},
    axes=("c", "depth"),
    point=damping_point,
    regimes=REGIMES,
    boundary=damping_boundary,
    boundary_label=r"$c_{\min}(L) = (L-2)/(\sigma L p^{\star\,2-2/L})$",
    claim=Claim(
        id="linear_chain.map.damping", setting=SETTING,
        statement="Over damping c x depth L, Minnorm(c) converges to its fixed point exactly "
                  "where c > c_min(L): at every depth the measured regime changes once, from "
                  "not converging (oscillating or diverged) to converged, inside the grid "
                  "cell that holds c_min(L).",
        source="docs/linear_chain.md §2b.5 and §C2.8: c_min from sympy (the linearization's "
               "trace = 0), and the map",
        regime="coarse grid: p* = 1.5, L = 2..8, c = 0, 0.025, ..., 0.6 (175 points); each "
               "point starts at (w_MN, lambda*) + 1e-3 u, u drawn uniformly on the sphere from "
               "the point's generator (seeded by the claim's); classified from its own "
               "trajectory over t in [0, 200] (verify.linear_chain_maps.REGIMES)",
        tolerance="half a grid cell (0.0125 in c): c_min must lie in the closed cell "
                  "[last c not converged, first c converged], whose middle is the measured "
                  "boundary. The classification resolves "
                  "decay rates above 2e-4, i.e. |c - c_min| above ~1e-4 (the rate is "
                  "(L p*^(2-2/L)/2)(c - c_min)), far inside a cell",
        check=_check_damping_map,
        prediction="sympy closed form"),
    figure="damping_map",
)

MAPS = [DAMPING]
