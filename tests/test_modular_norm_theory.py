"""The module trees and the residual-MLP solvers of theory.modular_norm against independent
computations: finite differences, LAPACK, scipy's solve_ivp, the norm's definition."""
import math
import re

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theory import modular_norm as sim


def _mlp(width=6, depth=2, seed=3):
    X, Y = sim.teacher(5, 3, 7, seed=seed)
    net = sim.residual_mlp(5, width, 3, depth)
    return X, Y, net, sim.orthogonal_init(net, seed + 1)


def _flat_loss(X, Y, shapes, depth):
    def loss(y):
        offsets = np.concatenate(([0], np.cumsum([m * k for m, k in shapes])))
        return sim.training_loss(X, Y, [y[offsets[i]:offsets[i + 1]].reshape(s)
                                        for i, s in enumerate(shapes)], depth)
    return loss


def test_loss_gradient_matches_central_differences():
    X, Y, net, W = _mlp(depth=3)
    grads = sim.loss_gradient(X, Y, W, 3)
    eps = 1e-6
    rng = np.random.default_rng(0)
    for l in range(len(W)):
        for _ in range(3):
            i, j = rng.integers(W[l].shape[0]), rng.integers(W[l].shape[1])
            plus = [w.copy() for w in W]
            minus = [w.copy() for w in W]
            plus[l][i, j] += eps
            minus[l][i, j] -= eps
            fd = (sim.training_loss(X, Y, plus, 3) - sim.training_loss(X, Y, minus, 3)) / (2 * eps)
            assert grads[l][i, j] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_jets_match_finite_differences_of_the_forward_pass():
    """Df and D^2 f of Module.jet against central differences of f(w + s dw, x + s dx)
    (step 1e-4: truncation ~1e-8 for the second difference)."""
    _, _, net, W = _mlp(width=5, depth=2)
    rng = np.random.default_rng(1)
    x, dx = rng.standard_normal(5), rng.standard_normal(5)
    dW = [rng.standard_normal(w.shape) for w in W]

    def f(s):
        return net.jet([w + s * d for w, d in zip(W, dW)], x + s * dx)[0]

    f0, df, d2f = net.jet(W, x, dW, dx)
    h = 1e-4
    np.testing.assert_allclose(f0, f(0.0), rtol=1e-14)
    np.testing.assert_allclose(df, (f(h) - f(-h)) / (2 * h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(d2f, (f(h) - 2 * f(0.0) + f(-h)) / h ** 2, rtol=1e-4, atol=1e-6)


def test_chain_gradient_matches_the_jets():
    net = sim.linear_chain([4, 6, 6, 3])
    W = sim.orthogonal_init(net, 2)
    rng = np.random.default_rng(2)
    x, r = rng.standard_normal(4), rng.standard_normal(3)
    grads = sim.linear_chain_gradient(W, x, r)
    dW = [rng.standard_normal(w.shape) for w in W]
    _, df, _ = net.jet(W, x, dW)
    assert sum(np.sum(g * d) for g, d in zip(grads, dW)) == pytest.approx(r @ df, rel=1e-12)


def test_chain_norm_is_depth_times_the_largest_spectral_norm():
    """||dw||_M = L max_i ||dW_i||_2 for unit masses (docs/modular_norm.md §9b.3)."""
    rng = np.random.default_rng(3)
    for L in (1, 2, 5):
        net = sim.linear_chain([3] + [4] * L)
        dW = [rng.standard_normal(a.shape) * rng.uniform(0.1, 2) for a in net.atoms()]
        expected = L * max(np.linalg.svd(d, compute_uv=False)[0] for d in dW)
        assert net.norm(dW) == pytest.approx(expected, rel=1e-13)


def test_normalized_updates_have_the_target_norm_and_power_estimates_are_lower_bounds():
    X, Y, net, W = _mlp(width=7, depth=3)
    grads = sim.loss_gradient(X, Y, W, 3)
    update, _ = net.normalize(grads, target=0.3)
    assert net.norm(update) == pytest.approx(0.3, rel=1e-13)
    estimated, _ = net.normalize(grads, target=0.3, method="power")
    assert net.norm(estimated) >= 0.3 * (1 - 1e-13)
    for g in grads:
        u = np.ones(g.shape[1]) / math.sqrt(g.shape[1])
        assert sim.power_step(g, u)[0] <= sim.spectral_norm(g) * (1 + 1e-13)
        assert sim.converged_power(g, u)[0] == pytest.approx(sim.spectral_norm(g), rel=1e-9)


def test_gradient_descent_takes_the_gradient_step():
    X, Y, net, W = _mlp()
    traj = sim.gradient_descent(X, Y, W, depth=2, lr=0.2, steps=[1])
    expected = [w - 0.2 * g for w, g in zip(W, sim.loss_gradient(X, Y, W, 2))]
    for a, b in zip(traj.weights_at(-1), expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    signed = sim.gradient_descent(X, Y, W, depth=2, lr=0.01, steps=[1], base="sign")
    for a, w, g in zip(signed.weights_at(-1), W, sim.loss_gradient(X, Y, W, 2)):
        np.testing.assert_allclose(a, w - 0.01 * np.sign(g), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("norm", ["power", "exact"])
@pytest.mark.parametrize("base", ["gradient", "sign"])
def test_normalized_descent_steps_by_the_normalized_update(norm, base):
    """One step equals Module.normalize of the (sign of the) gradient with target lr,
    the LAPACK norm for "exact", the power step from the unit ones vector for "power"."""
    X, Y, net, W = _mlp(width=6, depth=2)
    traj = sim.normalized_descent(X, Y, W, depth=2, lr=0.1, steps=[1], norm=norm, base=base)
    grads = sim.loss_gradient(X, Y, W, 2)
    if base == "sign":
        grads = [np.sign(g) for g in grads]
    update, _ = net.normalize(grads, target=0.1, method="exact" if norm == "exact" else "power")
    for a, w, d in zip(traj.weights_at(-1), W, update):
        np.testing.assert_allclose(a, w - d, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("norm", ["power", "exact"])
def test_normalized_descent_matches_its_twin(norm):
    X, Y, net, W = _mlp(width=9, depth=3)
    kwargs = {"depth": 3, "lr": 0.2, "steps": [5, 30], "norm": norm}
    fast = sim.normalized_descent(X, Y, W, **kwargs)
    slow = sim.normalized_descent(X, Y, W, backend="numpy", **kwargs)
    np.testing.assert_allclose(fast.states, slow.states, rtol=1e-10, atol=1e-12)


def test_gradient_flow_matches_solve_ivp():
    X, Y, net, W = _mlp(width=5, depth=2)
    shapes = sim.layer_shapes(5, 5, 3, 2)
    traj = sim.gradient_flow(X, Y, W, depth=2, times=[1.0], rtol=1e-10, atol=1e-12)
    y0 = np.concatenate([w.ravel() for w in W])

    def rhs(t, y):
        offsets = np.concatenate(([0], np.cumsum([m * k for m, k in shapes])))
        weights = [y[offsets[i]:offsets[i + 1]].reshape(s) for i, s in enumerate(shapes)]
        return -np.concatenate([g.ravel() for g in sim.loss_gradient(X, Y, weights, 2)])

    reference = solve_ivp(rhs, (0.0, 1.0), y0, method="DOP853", rtol=1e-12, atol=1e-13).y[:, -1]
    np.testing.assert_allclose(traj.states[-1], reference, rtol=1e-7, atol=1e-9)
    # and the loss decreases along the flow
    loss = _flat_loss(X, Y, shapes, 2)
    assert loss(traj.states[-1]) < loss(y0)


def test_modules_report_mass_and_sensitivity():
    block = sim.residual(sim.Compose(sim.Linear(4, 4, 0.5), sim.Bond("gelu")), 4)
    assert block.mass == 0.5
    assert block.sensitivity == pytest.approx(0.75 + 0.25 / math.sqrt(2))
    net = sim.residual_mlp(3, 4, 2, 5, blocks_mass=2.0)
    assert net.mass == pytest.approx(4.0)
    assert len(net.atoms()) == 7


@pytest.mark.parametrize("call, name", [
    (lambda: sim.Linear(3, 2, mass=0.0), "mass"),
    (lambda: sim.Linear(3, 2, mass=-1.0), "mass"),
    (lambda: sim.Linear(3, 2, mass=float("nan")), "mass"),
    (lambda: sim.Linear(0, 2), "out"),
    (lambda: sim.Bond("tanh"), "kind"),
    (lambda: sim.Scale(0.0, sim.Linear(2, 2)), "factor"),
    (lambda: sim.residual_mlp(3, 4, 2, 2, blocks_mass=0.0), "blocks_mass"),
    (lambda: sim.linear_chain([3, 2]).norm([np.ones((3, 3))]), "weights[0]"),
    (lambda: sim.linear_chain([3, 2]).norm([np.full((2, 3), np.inf)]), "weights[0]"),
    (lambda: sim.linear_chain([3, 2]).normalize([np.ones((2, 3))], target=0.0), "target"),
    (lambda: sim.linear_chain([3, 2]).normalize([np.ones((2, 3))], method="svd"), "method"),
    (lambda: sim.linear_chain([3, 2]).jet([np.eye(2, 3)], np.ones(4)), "x"),
    (lambda: sim.linear_chain([3, 2]).jet([np.eye(2, 3)], np.ones(3), dx=np.ones(2)), "dx"),
    (lambda: sim.linear_chain([3, 2]).jet([np.eye(2, 3)], [np.nan, 1, 1]), "x"),
])
def test_bad_module_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=re.escape(name)):
        call()


@pytest.mark.parametrize("change, name", [
    ({"lr": 0.0}, "lr"), ({"lr": np.inf}, "lr"), ({"depth": 0}, "depth"),
    ({"depth": 3}, "weights0"), ({"norm": "svd"}, "norm"), ({"base": "adam"}, "base"),
    ({"X": np.full((7, 5), np.nan)}, "X"), ({"Y": np.ones((6, 3))}, "rows"),
])
def test_bad_solver_input_names_the_argument(change, name):
    X, Y, net, W = _mlp()
    kwargs = {"X": X, "Y": Y, "weights0": W, "depth": 2, "lr": 0.1, "steps": [2]}
    kwargs.update(change)
    with pytest.raises(ValueError, match=name):
        sim.normalized_descent(**kwargs)


def test_a_diverging_run_reports_its_step():
    X, Y, net, W = _mlp()
    traj = sim.gradient_descent(X, Y, W, depth=2, lr=1e3, steps=[200])
    assert traj.status.name == "DIVERGED" and traj.diverged_at is not None
    assert np.all(np.isfinite(traj.states))
