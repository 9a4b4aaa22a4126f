"""Regime maps of implicit gradient regularization (docs/implicit_gradient.md §C11.9),
declared for :mod:`verify.maps`; their claims are listed in
:data:`verify.implicit_gradient.CLAIMS` and their figures in :mod:`figures.implicit_gradient`.

``implicit_gradient_step_curvature``: gradient descent on the ab-model E = (ab - y)^2 / 2
(docs/implicit_gradient.md §11a.1) from a balanced start a0 = b0, over the step h x the
target y. The imbalance a^2 - b^2 = 0 is kept exactly by every step (docs/implicit_gradient.md §11b.4), so every
minimum GD can reach has curvature lambda_max = sqrt(0 + 4 y^2) = 2 |y|
(docs/implicit_gradient.md §11b.5). Each
point is classified from its own trajectory (monotone / alternating / oscillating /
diverged); the theory's boundaries are h lambda_max = 1, where the modified-flow series
stops, and h lambda_max = 2, the stability edge (docs/implicit_gradient.md §11b.6,
:func:`analytic.implicit_gradient.step_edges`).
"""
from __future__ import annotations

import numpy as np

from analytic import implicit_gradient as exact
from theory import implicit_gradient as sim
from theory.results import Status
from verify.claims import Claim, Evidence, draw_seed
from verify.maps import REGIME, Map, transitions

SETTING = "implicit_gradient"

STEPS, MAX_STEPS, WINDOW = 4_000, 64_000, 500
"""GD runs 4e3 steps; a run that has neither converged nor settled (:data:`STATIONARY`) is
rerun from its start with 4 times as many steps, up to 6.4e4; the last two windows of 500
steps decide."""
CONVERGED = 1e-9
"""Converged when |ab - y| <= 1e-9 |y| over the last window. Near the minimum the residual
is multiplied by nu = 1 - h lambda_max per step
(docs/implicit_gradient.md §11b.6), so a point converges to this
level within n steps when |nu|^(n - 500) is below about 1e-9: within 6.4e4 steps unless
|nu| > 0.99967, i.e. unless h lambda_max is within 3.3e-4 of 2 (or of 0). Past the edge
the residual settles on a period-2 or chaotic orbit of size O(sqrt(h lambda_max - 2)), or
grows."""
STATIONARY = 0.99
"""Not converged, without a longer run, when the last window's largest |ab - y| is at least
0.99 times the window's before (the orbit has settled); a decaying residual above the
convergence level asks for the longer run."""
FLOOR = 1e-10
"""The step ratio r_(k+1) / r_k is read at the last step with |r_(k+1)| >= 1e-10 |y|, deep in
the linear regime: on the balanced line r_(k+1) / r_k = nu + (h^2 y - 2h) r_k + h^2 r_k^2
exactly (r_k = a_k^2 - y), so the quadratic term is O(1e-10 / |nu|) there, and the rounding
of r (about 4e-16 |y|) moves the ratio by about 1e-5: its sign is that of nu unless
|h lambda_max - 1| < ~1e-4. (A floor of 1e-6 |y| was tried first: near h lambda_max = 1 the
residual falls past it within a step from the nonlinear regime, where the quadratic term
decides the sign; it misclassified h lambda_max = 1.056 on one drawn start.)"""
ESCAPE = 1e3
"""Diverged when |theta| ends above 1e3 (the minima have |a| = |b| = sqrt|y| <= 2 on the
grids) or the solver stopped on a non-finite state or past its divergence bound."""

REGIMES = {
    "monotone": f"converged (|ab - y| <= {CONVERGED:g} |y| over the last {WINDOW} steps) with "
                "the late residual keeping its sign from step to step (r_(k+1)/r_k > 0): the "
                "iterates are samples of a real flow, the all-orders modified flow",
    "alternating": "converged with the late residual flipping its sign every step "
                   "(r_(k+1)/r_k < 0): no real flow has these iterates as samples",
    "oscillating": f"bounded (|theta| <= {ESCAPE:g}) and not converged: a period-2 orbit or "
                   "a chaotic one around the minimum (edge of stability)",
    "diverged": f"|theta| ends above {ESCAPE:g} or the solver stopped on divergence",
}


def step_curvature_point(point: dict, rng: np.random.Generator) -> dict:
    """One point of ``implicit_gradient_step_curvature``: GD with step h on the ab-model
    with target y from (a0, b0), classified from its trajectory (:data:`REGIMES`). The
    point's generator is not used: the start is a grid parameter."""
    h, y = float(point["h"]), float(point["y"])
    model = sim.ab_model(y)
    theta0 = np.array([float(point["a0"]), float(point["b0"])])
    steps = STEPS
    while True:
        run = sim.gradient_descent(model, theta0, lr=h, steps=np.arange(1, steps + 1))
        values = {"steps": steps, "solver_status": run.status.name, "late_step_ratio": None}
        if (run.status == Status.DIVERGED or not np.all(np.isfinite(run.states))
                or np.abs(run.states[-1]).max() > ESCAPE):
            return {REGIME: "diverged", **values}
        residual = run.states[:, 0] * run.states[:, 1] - y
        last = np.abs(residual[-WINDOW:]).max()
        values["final_residual"] = float(abs(residual[-1]))
        if last <= CONVERGED * abs(y):
            break
        if last >= STATIONARY * np.abs(residual[-2 * WINDOW:-WINDOW]).max() or steps >= MAX_STEPS:
            return {REGIME: "oscillating", **values}
        steps *= 4
    a, b = run.final
    above = np.flatnonzero(np.abs(residual[1:]) >= FLOOR * abs(y))
    if above.size == 0:  # never above the floor after the start: no late step to read
        raise ArithmeticError(f"the residual never exceeded {FLOOR:g} |y| after the start")
    k = int(above[-1])
    ratio = float(residual[k + 1] / residual[k])
    return {REGIME: "monotone" if ratio > 0.0 else "alternating", **values,
            "late_step_ratio": ratio,
            "end_sharpness": float(sim.sharpness(model, run.final)),
            "end_imbalance": float(a * a - b * b)}


def curvature(point: dict) -> float:
    """lambda_max at the minima GD reaches from the point's start: sqrt(D^2 + 4 y^2) with
    the start's imbalance D = a0^2 - b0^2 (:func:`analytic.implicit_gradient.balanced_sharpness`;
    exact for a balanced start, whose D = 0 every step keeps; otherwise the gradient flow's
    minimum, which GD only approaches for small h, docs/implicit_gradient.md §11b.5)."""
    imbalance = float(point["a0"]) ** 2 - float(point["b0"]) ** 2
    return float(exact.balanced_sharpness(imbalance, float(point["y"])))


def step_curvature_boundary(grid) -> tuple[np.ndarray, np.ndarray]:
    """h lambda_max = 1 and h lambda_max = 2 over the grid's range of y, as one polyline
    with a NaN gap between the two curves (and NaN where h leaves the grid's range)."""
    fixed = {name: values[0] for name, values in grid.items() if name not in ("h", "y")}
    targets = np.geomspace(min(grid["y"]), max(grid["y"]), 30)
    edges = exact.step_edges([curvature(fixed | {"y": t}) for t in targets])
    inside = lambda h: np.where(h <= max(grid["h"]), h, np.nan)
    return (np.concatenate((inside(edges["radius"]), [np.nan], inside(edges["edge"]))),
            np.concatenate((targets, [np.nan], targets)))


_TRANSITIONS = {"radius": {"alternating", "oscillating", "diverged"},
                "edge": {"oscillating", "diverged"}}
"""The regime sets entered, along h, at each boundary: leaving 'monotone' at the radius,
leaving the converged regimes at the edge."""

START_RANGE = (0.2, 0.5)
"""The claim's balanced start a0 = b0 ~ U(0.2, 0.5) (below every minimum sqrt(y) of the
grids: GD first grows towards the minima, as from a small initialization)."""


def _check_step_curvature_map(rng: np.random.Generator) -> Evidence:
    start = float(np.round(rng.uniform(*START_RANGE), 6))
    grid = dict(STEP_CURVATURE.grid("coarse")) | {"a0": (start,), "b0": (start,)}
    table = STEP_CURVATURE.run(grid=grid, seed=draw_seed(rng))
    measured, predicted, misses, islands = {}, {}, [], []
    for boundary, inside in _TRANSITIONS.items():
        for t in transitions(STEP_CURVATURE, table, "h", inside):
            y = t.fixed["y"]
            h_theory = float(exact.step_edges(curvature(t.fixed))[boundary])
            low = t.last_outside if t.last_outside is not None else 0.0
            high = t.first_inside if t.first_inside is not None else np.inf
            measured[f"y{y:.4g}_{boundary}_h"] = (low + high) / 2  # the cell's middle
            predicted[f"y{y:.4g}_{boundary}_h"] = h_theory
            if not t.brackets(h_theory):
                misses.append(f"{boundary} at y = {y:.4g}")
            if not t.single:
                islands.append(f"{boundary} at y = {y:.4g}")
    measured |= {"errors": len(table.errors), "boundaries_missed": len(misses),
                 "boundaries_with_islands": len(islands)}
    predicted |= {"errors": 0, "boundaries_missed": 0, "boundaries_with_islands": 0}
    regimes = STEP_CURVATURE.regime_grid(table)
    counts = ", ".join(f"{r} {int(np.sum(regimes == r))}" for r in REGIMES)
    return Evidence(measured=measured, predicted=predicted,
                    passed=not table.errors and not misses and not islands,
                    note=f"a0 = b0 = {start}; {len(table.rows)} points ({counts}); boundary "
                         f"outside the measured cell: {misses}; not a single transition: "
                         f"{islands}")


_START = {"a0": (0.3,), "b0": (0.3,)}

STEP_CURVATURE = Map(
    name="implicit_gradient_step_curvature",
    setting=SETTING,
    title="Gradient descent on the ab-model from a balanced start: step h x target y "
          "(curvature lambda_max = 2 |y| at every reachable minimum) -> monotone / "
          "alternating / oscillating / diverged, against h lambda_max = 1 (the modified-flow "
          "series' radius) and h lambda_max = 2 (the stability edge)",
    grids={"coarse": _START | {"y": tuple(np.round(np.geomspace(0.3, 2.4, 10), 10)),
                               "h": tuple(np.round(np.linspace(0.04, 1.6, 40), 10))},
           "fine": _START | {"y": tuple(np.round(np.geomspace(0.3, 2.4, 50), 10)),
                             "h": tuple(np.round(np.linspace(0.01, 1.6, 160), 10))}},
    axes=("h", "y"),
    point=step_curvature_point,
    regimes=REGIMES,
    boundary=step_curvature_boundary,
    boundary_label=r"$h\lambda_{\max} = 1$ and $2$, $\lambda_{\max} = \sqrt{D^2 + 4y^2}$",
    claim=Claim(
        id="implicit_gradient.map.step_curvature", setting=SETTING,
        statement="Over step h x target y, gradient descent on the ab-model from a balanced "
                  "start (where every reachable minimum has lambda_max = 2 |y|) changes regime "
                  "exactly at the theory's two step sizes: at every y it converges without "
                  "sign flips (samples of a real flow, the all-orders modified flow) for "
                  "h lambda_max < 1, converges flipping the residual's sign every step for "
                  "1 < h lambda_max < 2, and does not converge (period-2 or chaotic orbits, or "
                  "divergence) for h lambda_max > 2; each transition is single and lies in the "
                  "grid cell holding h = 1/lambda_max, resp. 2/lambda_max.",
        source="docs/implicit_gradient.md §11b.2, §11b.4, §11b.5, §11b.6 and §C11.9 (the "
               "edges, sympy: the GD step's Jacobian on the minimum set, "
               "analytic.implicit_gradient.step_edges_expr; the map)",
        regime="coarse grid: y = 10 values geometric in [0.3, 2.4], h = 0.04, 0.08, ..., 1.6 "
               "(400 points); the start a0 = b0 ~ U(0.2, 0.5) drawn from the claim's "
               "generator; 4e3 steps per point (up to 6.4e4 where the residual still decays), "
               "classified from its own residuals "
               "(verify.implicit_gradient_maps.REGIMES). Not claimed: where orbits past the "
               "edge stay bounded (no closed form here), and unbalanced starts, whose GD "
               "ends flatter than the gradient flow's minimum (docs/implicit_gradient.md §11b.5), so the boundaries "
               "drawn from sqrt(D0^2 + 4 y^2) are only upper bounds in h there",
        tolerance="half a grid cell in h (0.02): each boundary must lie in the closed cell "
                  "[last h outside, first h inside the regime set], whose middle is the "
                  "measured boundary. The classification resolves |1 - h lambda_max| above "
                  "~1e-4 (radius; FLOOR) and |h lambda_max - 2| above 3.3e-4 (edge; "
                  "CONVERGED within 6.4e4 steps), far inside a cell",
        check=_check_step_curvature_map,
        prediction="sympy closed form"),
    figure="step_curvature_map",
)

MAPS = [STEP_CURVATURE]
