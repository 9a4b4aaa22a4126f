"""The implicit_gradient_step_curvature map (docs/implicit_gradient.md §11b.6 and §C11.9):
the step edges against the finite-difference Jacobian of one GD step at a minimum, and the
point classification on hand-picked steps."""
from __future__ import annotations

import numpy as np
import pytest

from analytic import implicit_gradient as exact
from theory import implicit_gradient as sim
from verify.implicit_gradient_maps import step_curvature_point


def _moving_multiplier(a: float, y: float, h: float) -> float:
    """The Jacobian eigenvalue of one GD step at the minimum (a, y/a) other than 1, by
    central differences of the solver's one-step map."""
    model, theta = sim.ab_model(y), np.array([a, y / a])
    eps = 1e-6
    columns = []
    for j in range(2):
        e = np.zeros(2)
        e[j] = eps
        step = [sim.gradient_descent(model, theta + s * e, lr=h, steps=[1]).final for s in (1, -1)]
        columns.append((step[0] - step[1]) / (2 * eps))
    eigenvalues = np.linalg.eigvals(np.column_stack(columns)).real
    return float(eigenvalues[np.argmax(np.abs(eigenvalues - 1.0))])


@pytest.mark.parametrize("a, y", [(1.0, 1.0), (1.7, 0.6), (0.5, 2.0)])
def test_the_edges_are_where_the_step_multiplier_is_0_and_minus_1(a, y):
    curvature = sim.sharpness(sim.ab_model(y), np.array([a, y / a]))
    edges = exact.step_edges(curvature)
    assert _moving_multiplier(a, y, float(edges["radius"])) == pytest.approx(0.0, abs=1e-7)
    assert _moving_multiplier(a, y, float(edges["edge"])) == pytest.approx(-1.0, abs=1e-7)


@pytest.mark.parametrize("curvature", [0.0, -1.0, np.nan, np.inf])
def test_step_edges_rejects_a_bad_curvature(curvature):
    with pytest.raises(ValueError, match="curvature"):
        exact.step_edges(curvature)


@pytest.mark.parametrize("h_lambda, regime", [(0.5, "monotone"), (1.5, "alternating"),
                                              (2.3, "oscillating"), (6.0, "diverged")])
def test_balanced_runs_are_classified_by_h_lambda(h_lambda, regime):
    y = 1.3
    h = h_lambda / (2 * y)  # lambda_max = 2 y at the balanced minimum
    values = step_curvature_point({"h": h, "y": y, "a0": 0.3, "b0": 0.3},
                                  np.random.default_rng(0))
    assert values["regime"] == regime
    if regime in ("monotone", "alternating"):  # the late step ratio is nu = 1 - h lambda
        assert values["late_step_ratio"] == pytest.approx(1 - h_lambda, abs=1e-4)
        assert values["end_sharpness"] == pytest.approx(2 * y, rel=1e-9)


def test_a_start_on_a_minimum_is_an_error():
    with pytest.raises(ArithmeticError, match="never exceeded"):
        step_curvature_point({"h": 0.1, "y": 0.25, "a0": 0.5, "b0": 0.5},
                             np.random.default_rng(0))
