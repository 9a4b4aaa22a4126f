"""Claims about Minnorm on a ReLU network without biases (docs/relu_network.md): runs of
``theory.relu_network`` against the KKT conditions and Euler's identity of
``analytic.relu_network``.

Instances are drawn from the claim's generator (:func:`_draw_classification`): P ~
U{16..28} Gaussian inputs in N_i ~ U{8..12} dimensions scaled by 1/sqrt(N_i), labels
uniform over 3 classes (random labels: the network must memorize), one hidden layer of 30
units, He start (sigma0 = sqrt 2); Minnorm c = 1, lr_w = 0.005, lr_lambda = 0.001 for
3e5 steps. Each check runs :data:`DRAWS` instances and reports the mean, the min and the max.
"""
from __future__ import annotations

import numpy as np

from analytic import relu_network as exact
from theory import relu_network as sim
from verify.claims import Claim, Evidence, draw_seed

SETTING = "relu_network"
SOURCE_MINNORM = ("Minnorm (arXiv:1806.00730) abstract: minimize the weight norm subject to "
                  "fitting the training data, with Lagrange multipliers that integrate the "
                  "error; update rule reconstructed as the primal-dual flow of "
                  "docs/minnorm.md §0b with pairwise margin constraints "
                  "(docs/relu_network.md §5a.2, §5a.3)")
DRAWS = 4
"""Instances per check."""
HIDDEN, N_CLASSES = 30, 3
MINNORM = {"c": 1.0, "lr_w": 0.005, "lr_lambda": 0.001}
STEPS = 300_000
KINK_TOL = 0.03
"""Pre-activations within 3 % of rms(z) count as kinks (docs/relu_network.md §5b.4): the
iteration chatters around them at an amplitude of the order of its step."""
INSTANCE_REGIME = (f"drawn, {DRAWS} instances: P ~ U{{16..28}} inputs N(0, I/N_i) in N_i ~ "
                   f"U{{8..12}} dimensions, labels uniform over {N_CLASSES} classes, widths "
                   f"(N_i, {HIDDEN}, {N_CLASSES}), He start (drawn seed); discrete Minnorm c = 1, "
                   f"lr_w = 0.005, lr_lambda = 0.001, {STEPS:.0e} steps")


def _draw_classification(rng: np.random.Generator) -> tuple:
    """(X, y, weights0, description) as :data:`INSTANCE_REGIME` says."""
    P, n_in = int(rng.integers(16, 29)), int(rng.integers(8, 13))
    X, y = sim.small_classification(P, n_in, N_CLASSES, seed=draw_seed(rng))
    weights0 = sim.gaussian_init([n_in, HIDDEN, N_CLASSES], np.sqrt(2.0), seed=draw_seed(rng))
    return X / np.sqrt(n_in), y, weights0, f"P={P}, N_i={n_in}"


def _minnorm_runs(rng: np.random.Generator) -> list[tuple]:
    """(X, y, weights, multipliers, description) at the end of each drawn run."""
    runs = []
    for _ in range(DRAWS):
        X, y, weights0, description = _draw_classification(rng)
        traj = sim.minnorm_descent(X, y, weights0, steps=[STEPS], **MINNORM)
        if not traj.success:
            raise RuntimeError(f"Minnorm run on {description}: {traj.message}")
        runs.append((X, y, traj.weights_at(-1), traj.multipliers[-1], description))
    return runs


def _summary(name: str, values: list[float]) -> dict[str, float]:
    """Mean, min and max over the draws (spread = max - min)."""
    v = np.asarray(values, dtype=np.float64)
    return {f"{name} mean": float(v.mean()), f"{name} min": float(v.min()),
            f"{name} max": float(v.max())}


def _check_fits_with_margins(rng: np.random.Generator) -> Evidence:
    runs = _minnorm_runs(rng)
    errors = [1.0 - sim.accuracy(X, y, W) for X, y, W, _, _ in runs]
    violations = [max(0.0, float(1.0 - sim.margins(X, y, W).min())) for X, y, W, _, _ in runs]
    passed = max(errors) == 0.0 and max(violations) <= 0.1
    return Evidence(measured={"training error max": float(max(errors))}
                    | _summary("margin violation", violations),
                    predicted={"training error max": 0.0, "margin violation max": "<= 0.1"},
                    passed=bool(passed),
                    note="instances " + "; ".join(r[4] for r in runs))


def _check_layer_balance(rng: np.random.Generator) -> Evidence:
    runs = _minnorm_runs(rng)
    balance, identity = [], []
    for X, y, W, lam, _ in runs:
        r = exact.kkt_residuals(X, y, W, lam)
        balance.append(r["layer_balance"])
        identity.append(r["norm_identity"])
    passed = max(balance) <= 0.02 and max(identity) <= 0.02
    return Evidence(measured=_summary("layer balance", balance)
                    | _summary("|W_l|^2 vs sum lambda", identity),
                    predicted={"layer balance max": 0.0, "|W_l|^2 vs sum lambda max": 0.0},
                    passed=bool(passed),
                    note="relative: (max - min) of |W_l|^2 over layers, and max_l | |W_l|^2 - "
                         "sum lambda |, both over mean_l |W_l|^2; instances "
                         + "; ".join(r[4] for r in runs))


def _check_kinks(rng: np.random.Generator) -> Evidence:
    runs = _minnorm_runs(rng)
    plain, clarke, slackness = [], [], []
    for X, y, W, lam, _ in runs:
        plain.append(exact.kkt_residuals(X, y, W, lam)["stationarity"])
        r = exact.kkt_residuals(X, y, W, lam, kink_tol=KINK_TOL)
        clarke.append(r["stationarity"])
        slackness.append(r["complementary_slackness"])
    passed = min(plain) >= 0.1 and all(c < p for c, p in zip(clarke, plain))
    return Evidence(measured=_summary("plain stationarity", plain)
                    | _summary("Clarke stationarity", clarke)
                    | _summary("complementary slackness", slackness),
                    predicted={"plain stationarity min": ">= 0.1",
                               "Clarke stationarity max": "< plain, per draw"},
                    passed=bool(passed),
                    note="stationarity residual max_l |W_l - sum lambda dm/dW_l| / |W_l| with "
                         "relu'(0) = 0 (plain) and minimized over relu' in [0, 1] at the "
                         f"pre-activations within {KINK_TOL} rms of 0 (Clarke); instances "
                         + "; ".join(r[4] for r in runs))


def _check_gradient_flow_balance(rng: np.random.Generator) -> Evidence:
    X, y, weights0, description = _draw_classification(rng)
    times = np.linspace(0.5, 5.0, 10)
    traj = sim.gradient_flow(X, y, weights0, times=times, eta=5.0, method="rk4", dt=0.002)
    norms = np.array([[np.sum(W * W) for W in traj.weights_at(i)]
                      for i in range(len(traj.times))])
    imbalance = norms[:, 0] - norms[:, 1]
    drift = float(np.abs(imbalance - imbalance[0]).max() / norms.mean())
    moved = float(np.abs(norms - norms[0]).max() / norms.mean())
    return Evidence(measured={"imbalance drift": drift, "layer norm change": moved},
                    predicted={"imbalance drift": 0.0},
                    passed=bool(drift <= 1e-4 and moved >= 1e-2),
                    note=f"{description}; |W_1|^2 - |W_2|^2 over t in [0, 5], relative to the "
                         f"mean |W_l|^2; the layer norms themselves change (moved >= 1e-2)")


CLAIMS = [
    Claim(
        id="relu_network.minnorm.fits_with_margins", setting=SETTING,
        statement="Discrete Minnorm on a one-hidden-layer ReLU network fits randomly labelled "
                  "data: zero training error, with every pairwise margin "
                  "f_y(x) - f_j(x) >= 1 met to within 0.1.",
        source=SOURCE_MINNORM + "; docs/relu_network.md §C5.1",
        regime=INSTANCE_REGIME + "; over-parameterized: 30 (N_i + 3) >= 330 weights against "
               "at most 2 P <= 56 constraints",
        tolerance="training error exactly 0; margin violation max(0, 1 - min m) <= 0.1: the "
                  "iteration does not come to rest but chatters around the kinks of relu "
                  "(docs/relu_network.md §5b.4) at an amplitude of the order of its step, so "
                  "the constraints are met only to that order",
        check=_check_fits_with_margins,
        prediction="simulation (ordering between runs)"),
    Claim(
        id="relu_network.minnorm.layer_balance", setting=SETTING,
        statement="At Minnorm's end point every layer has the same squared norm, equal to "
                  "the sum of the multipliers: |W_1|^2 = |W_2|^2 = sum lambda (Euler's "
                  "identity for a network 1-homogeneous in each layer, with stationarity and "
                  "complementary slackness).",
        source=SOURCE_MINNORM + "; derived: docs/relu_network.md §5b.2 and §C5.2 "
               "(analytic.relu_network.euler_identity_expr)",
        regime=INSTANCE_REGIME,
        tolerance="2e-2 relative to the mean squared layer norm: the identity's error is "
                  "sum lambda (m - 1) plus the inner product of W_l with the stationarity "
                  "residual, both of the order of the chattering step",
        check=_check_layer_balance,
        prediction="sympy closed form; hand-derived closed form"),
    Claim(
        id="relu_network.minnorm.kinks", setting=SETTING,
        statement="Minnorm's end point has training examples at the kinks of hidden units: "
                  "the stationarity residual with relu'(0) = 0 stays of order 1 (>= 0.1), and "
                  "choosing relu' in [0, 1] at the pre-activations near 0 (Clarke's "
                  "generalized gradient) lowers it on every draw. The Clarke residual itself "
                  "is reported, not bounded: on some draws it is 1e-3, on others the "
                  "iteration wanders and it is 0.1 or more.",
        source="found here (docs/relu_network.md §5b.4 and §C5.3); Clarke KKT points of "
               "homogeneous networks: Lyu & Li 2020 (arXiv:1906.05890)",
        regime=INSTANCE_REGIME,
        tolerance="plain residual >= 0.1 (an iterate away from the kinks would have it near "
                  "0); Clarke residual < plain residual per draw",
        check=_check_kinks,
        prediction="simulation (ordering between runs)"),
    Claim(
        id="relu_network.gd.balance_conserved", setting=SETTING,
        statement="Gradient flow on the cross-entropy conserves |W_1|^2 - |W_2|^2 for a ReLU "
                  "network without biases, while the norms themselves change.",
        source="Du, Hu & Lee 2018 (arXiv:1806.00900), for homogeneous networks; derived "
               "here from Euler's identity (docs/relu_network.md §5b.2 and §C5.4): "
               "d|W_l|^2/dt = 2 eta sum G f is the same for every layer",
        regime="drawn: one instance as in the Minnorm claims (P ~ U{16..28}, N_i ~ U{8..12}, "
               "3 classes, width 30, He start); gradient flow eta = 5, rk4 with dt = 0.002 to "
               "t = 5",
        tolerance="1e-4 relative to the mean |W_l|^2: rk4 is 4th order between kink "
                  "crossings, but the field jumps at a crossing and a step across one errs "
                  "by O(dt^2) in the state",
        check=_check_gradient_flow_balance,
        prediction="hand-derived closed form"),
]
