"""The deep_linear_init_depth map's pieces: the escape threshold v0*(D) against simulated
Minnorm from a decoupled balanced start (where its derivation is exact for small weights),
and the point classification on a hand-built case."""
import numpy as np
import pytest

from analytic import deep_linear as exact
from theory import deep_linear as sim
from verify import deep_linear_maps as maps


@pytest.mark.parametrize("depth", [3, 4])
def test_escape_threshold_separates_collapse_from_escape(depth):
    """A decoupled balanced start a factor 1.3 below v0* collapses, 1.3 above escapes
    (discrete Minnorm at lr 0.005: the per-step factors differ from the flow's by O(lr))."""
    X, Y, _ = sim.teacher_student(20, 5, 10, 0.0, seed=3)
    s1 = np.linalg.svd(Y.T @ X / 10, compute_uv=False)[0]
    v_star = exact.minnorm_escape_scale(s1, maps.DAMPING, depth, 10)
    widths = sim.teacher_widths(depth)
    norms = []
    for factor in (1 / 1.3, 1.3):
        W0 = sim.saxe_init(X, Y, widths, (factor * v_star) ** depth, seed=1)
        run = sim.minnorm_descent(X, Y, W0, c=maps.DAMPING, lr_w=maps.LR, lr_lambda=maps.LR,
                                  steps=[maps.MINNORM_STEPS])
        norms.append(np.linalg.norm(sim.product(run.weights_at())))
    assert norms[0] < 1e-10 and norms[1] > 0.1


def test_escape_threshold_formula_and_bad_input():
    s, c, P = 2.0, 10.0, 10
    assert exact.minnorm_escape_scale(s, c, 3, P) == pytest.approx(1 / (s * (c + 1 / P)), rel=1e-12)
    with pytest.raises(ValueError, match="depth"):
        exact.minnorm_escape_scale(s, c, 2, P)
    with pytest.raises(ValueError, match="s"):
        exact.minnorm_escape_scale(-1.0, c, 3, P)


def test_point_classifies_small_deep_start_as_collapsed_and_shallow_by_closed_form():
    collapsed = maps.init_depth_point({"instance": 0, "depth": 3, "sigma0": 2.0 ** -6}, None)
    assert collapsed["regime"] == "collapsed"
    shallow = maps.init_depth_point({"instance": 0, "depth": 1, "sigma0": 0.5}, None)
    assert shallow["regime"] in maps.ESCAPED
    assert shallow["delta_E_g"] == pytest.approx(shallow["delta_E_g_shallow_closed_form"], abs=1e-8)
