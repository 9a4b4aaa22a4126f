"""The alpha x kappa map of diagonal linear networks (verify/diagonal_linear_maps.py,
docs/diagonal_linear.md §4c.5, §C4.10): the plateau limit against the full WN potential,
the boundary against its closed form, the classification on hand-built rows."""
import numpy as np
import pytest

from analytic import diagonal_linear as exact
from theory import diagonal_linear as sim
from verify import diagonal_linear_maps as maps


def test_plateau_limit_approaches_the_wn_bias_at_large_kappa():
    # the full potential (quadrature + root finding) against the kappa -> oo limit (Newton on
    # tan), two independent computations; the gap shrinks as the neglected angle does
    A, y, _ = sim.sparse_instance(12, 6, 2, seed=3)
    gaps = []
    for kappa in (1e2, 1e4):
        alpha = 0.5
        full = exact.wn_bias_limit(A, y, np.sqrt(2.0) * alpha, kappa)
        limit = exact.wn_plateau_limit(A, y, float(exact.wn_plateau_scale(alpha, kappa)))
        gaps.append(np.abs(full - limit).max() / np.abs(limit).max())
    assert gaps[1] < gaps[0] / 5
    assert gaps[1] < 0.02


def test_plateau_limit_tends_to_l1_and_interpolates():
    A, y, _ = sim.sparse_instance(12, 6, 2, seed=4)
    z = exact.wn_plateau_limit(A, y, 1e-5)
    assert np.linalg.norm(A @ z - y) <= 1e-10 * np.linalg.norm(y)
    target = exact.l1_min(A, y)
    assert np.linalg.norm(z - target) / np.linalg.norm(target) < 1e-3


def test_boundary_is_64_alpha6_over_z_tau_squared():
    seed = 11
    z_tau = maps.plateau_threshold(seed)
    A, y, _, target = maps.instance(seed)
    distance = maps.relative_distance(exact.wn_plateau_limit(A, y, z_tau), target)
    assert distance == pytest.approx(maps.TAU, rel=1e-8)
    alpha = np.array([0.5, 1.0, 2.0])
    assert np.allclose(maps.boundary_kappa(seed, alpha), 64 * alpha ** 6 / z_tau ** 2, rtol=1e-12)
    assert float(exact.wn_plateau_scale(1.0, 64.0)) == pytest.approx(1.0)


def test_classification_on_a_hand_built_point(monkeypatch):
    # GF's distance is replaced by a hand-set value; WN at alpha = 1, kappa = 10^5 on the
    # map's instance lands below TAU (z_c = 0.025) on seed 5 (measured 0.055)
    point = {"instance": 5, "log2_alpha": 0.0, "log10_kappa": 5.0}
    monkeypatch.setattr(maps, "gradient_flow_distance", lambda seed, alpha: 0.05)
    assert maps.alpha_kappa_point(point, None)["regime"] == "both_sparse"
    monkeypatch.setattr(maps, "gradient_flow_distance", lambda seed, alpha: 0.5)
    assert maps.alpha_kappa_point(point, None)["regime"] == "wn_sparse"


def test_bad_inputs():
    A, y, _ = sim.sparse_instance(12, 6, 2, seed=3)
    with pytest.raises(ValueError, match="z_c"):
        exact.wn_plateau_limit(A, y, 0.0)
    with pytest.raises(ValueError, match="tau"):
        exact.wn_plateau_threshold(A, y, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        exact.wn_plateau_scale(-1.0, 2.0)
