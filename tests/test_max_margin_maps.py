"""The max_margin_step_gap map (docs/max_margin.md §1b.5 and §C1.9): the largest stable
Minnorm step against the spectral radius of the explicitly built linearized step, and the
point classification on hand-picked steps."""
from __future__ import annotations

import numpy as np
import pytest

from analytic import max_margin as exact
from theory import max_margin as sim
from verify.max_margin_maps import STEP_GAP, linear_bound, step_gap_point

LR_W = 0.2


def _linearized_radius(X, y, lr_w: float, lr_lambda: float) -> float:
    """max |eigenvalue| of the Jacobi step linearized at (w_hat, alpha_hat) with the support
    multipliers free, built as a matrix: (w, l) -> ((1 - a) w + a Z_S^T l, l - b Z_S w)."""
    solution = exact.max_margin(X, y)
    Z_S = sim.signed_data(X, y)[solution.support]
    s, d = Z_S.shape
    step = np.block([[(1.0 - lr_w) * np.eye(d), lr_w * Z_S.T],
                     [-lr_lambda * Z_S, np.eye(s)]])
    return float(np.abs(np.linalg.eigvals(step)).max())


@pytest.mark.parametrize("instance", [(7, 2, 1.0, 1), (30, 5, 0.5, 1), (12, 3, 0.4, 5)])
def test_largest_stable_step_is_where_the_linearized_step_leaves_the_unit_disc(instance):
    X, y = sim.separable_data(*instance)
    b_max = exact.minnorm_largest_stable_lr_lambda(X, y, LR_W)
    assert _linearized_radius(X, y, LR_W, 0.99 * b_max) < 1.0
    assert _linearized_radius(X, y, LR_W, 1.01 * b_max) > 1.0
    assert _linearized_radius(X, y, LR_W, b_max) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("lr_w", [2.0, 3.5, 0.0, np.nan])
def test_largest_stable_step_rejects_an_unstable_or_bad_lr_w(lr_w):
    X, y = sim.named_instance("cycling")
    with pytest.raises(ValueError, match="lr_w"):
        exact.minnorm_largest_stable_lr_lambda(X, y, lr_w)


def _point(fraction: float) -> dict:
    return {"n_samples": 7, "dim": 2, "data_seed": 1, "lr_w": LR_W, "margin": 1.0,
            "lambda_fraction": fraction}


def test_a_small_step_converges_and_a_step_past_the_bound_cycles():
    assert linear_bound(_point(1.0)) > 4.0  # the bound at margin 1, from the sympy form
    small = step_gap_point(_point(0.5), np.random.default_rng(0))
    assert small["regime"] == "converged" and small["late_distance_max"] < 1e-12
    large = step_gap_point(_point(6.0), np.random.default_rng(0))
    assert large["regime"] == "cycling" and large["late_distance_min"] > 1e-2
    assert large["late_active_sets"] > 1


def test_the_boundary_is_the_linearized_bound_at_each_grid_margin():
    grid = STEP_GAP.grid("coarse")
    fractions, margins = STEP_GAP.boundary(grid)
    assert list(margins) == sorted(grid["margin"])
    for fraction, margin in zip(fractions, margins):
        X, y = sim.separable_data(7, 2, margin, 1)
        Z = sim.signed_data(X, y)
        b = fraction / np.linalg.eigvalsh(Z @ Z.T).max()
        assert _linearized_radius(X, y, LR_W, b) == pytest.approx(1.0, abs=1e-12)
