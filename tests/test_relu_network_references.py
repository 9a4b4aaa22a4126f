"""Every ReLU-network solver against an independent reference (issue 11, item 1).

The reference field is written from docs/relu_network.md §5a.2, differentiated by the
complex step: no backpropagation and no kernel of the package. The forward pass is
f = W_L relu(... relu(W_1 x)) with relu(z) = z [Re z > 0] (the activation pattern read
from the real part: the function is real-analytic wherever no pre-activation is exactly
0, which is all the complex step needs). Objectives: the mean cross-entropy
log sum_k e^{F_k} - F_y or (1/2P) ||Y - F||^2, plus beta/2 sum ||W_l||^2 (gradient
descent, L2); Minnorm's augmented Lagrangian 1/2 sum ||W_l||^2 + sum lambda r +
c/2 sum r^2 with dlambda/dt = eta_lambda dL/dlambda = eta_lambda r (regression), and, for
classification, the W-part -eta_w (W - grad_W sum a m) with a = max(0, lambda + c(1 - m))
held fixed while differentiating (the gradient of Rockafellar's augmented Lagrangian),
dlambda = eta_lambda (1 - m) held at 0 where lambda = 0 and the drive is negative, then
lambda <- max(lambda, 0) (docs/minnorm.md §0b, §0c).

Flows are compared with solve_ivp (DOP853, rtol 1e-12) on instances whose activation
pattern stays fixed over the horizon (positive inputs; hidden units whose weights are
all positive, or all negative; asserted along the reference), where the field is smooth.
Discrete solvers are compared with the hand-iterated step on instances with mixed
patterns (Gaussian data and weights), where the kinks matter.

Unfinished (why the setting is not registered yet): the adaptive, order and discrete
cases pass except gradient_flow/dopri5 (observed order 4.25 at dt = 0.4, 0.2: pick a dt
in the asymptotic range with errors >= 1e-10); the stop_tol cases do not: discrete
L2 and Minnorm on mixed patterns chatter at the kinks and never reach stop_tol (use the
fixed-pattern instance), gradient flow on the fixed instance is not converged by t = 60,
and Minnorm flow on it reaches a kink, where adaptive steps (ours and DOP853's) shrink
without end.
"""
from __future__ import annotations

import numpy as np
import pytest

from theory.registry import SETTINGS

if "relu_network" not in SETTINGS:  # the checks below register only for a registered setting
    pytest.skip("relu_network is not registered yet: its stop_tol cases do not pass (see the "
                "module docstring)", allow_module_level=True)

from solver_references import (Case, check_discrete, check_flow, check_order, check_stop,
                               complex_step_gradient, reference_flow, references)
from theory import relu_network as sim
from theory.integrators import TABLEAUX

SETTING = "relu_network"

# mixed activation patterns, for the discrete solvers
X_MIXED, LABELS = sim.small_classification(8, 4, 3, seed=11)
W0_MIXED = sim.gaussian_init([4, 5, 3], np.sqrt(2.0), seed=12)
W0_DEEP = sim.gaussian_init([4, 5, 4, 3], np.sqrt(2.0), seed=13)
X_REG, Y_REG, _ = sim.teacher_student(4, 3, 2, 6, seed=14)
W0_REG = sim.gaussian_init([4, 6, 2], np.sqrt(2.0), seed=15)
STEPS = [1, 5, 40, 200]

# a fixed activation pattern, for the flows: inputs in [1/3, 2/3], three units with positive
# weights (always active) and one with negative weights (never active)
_rng = np.random.default_rng(16)
X_FIXED = _rng.uniform(1.0, 2.0, (5, 3)) / 3.0
Y_FIXED = _rng.uniform(-1.0, 1.0, (5, 2))
LABELS_FIXED = np.array([0, 1, 2, 0, 1])
W1_FIXED = np.vstack((_rng.uniform(0.4, 0.8, (3, 3)), -_rng.uniform(0.4, 0.8, (1, 3))))
W0_FIXED = [W1_FIXED, _rng.uniform(-0.6, 0.6, (2, 4))]
W0_FIXED_CLASSES = [W1_FIXED, _rng.uniform(-0.6, 0.6, (3, 4))]
TIMES = np.linspace(0.25, 2.0, 8)

FIXED_DT = {"gradient_flow": {"euler": 2e-3, "heun": 1e-2, "rk4": 1e-1, "dopri5": 4e-1},
            "minnorm_flow": {"euler": 2e-3, "heun": 1e-2, "rk4": 5e-2, "dopri5": 1e-1}}
"""Fixed steps of the order checks: errors at dt/2 between ~1e-3 and ~1e-10, above the
reference's ~1e-13 (Minnorm's damping term c ||r||^2 is the stiffest part: rk4 at dt =
0.05 errs by 2e-5, gradient flow by 1e-10 at dt = 0.025, hence its larger steps)."""


def _forward(weights, X):
    """Outputs (..., P, N_o) and every pre-activation, for a batch of weight lists."""
    H = X
    pre = []
    for W in weights[:-1]:
        Z = np.einsum("...ik,pk->...pi", W, H) if H is X else np.einsum("...ik,...pk->...pi", W, H)
        pre.append(Z)
        H = Z * (Z.real > 0.0)
    F = (np.einsum("...ik,pk->...pi", weights[-1], H) if H is X
         else np.einsum("...ik,...pk->...pi", weights[-1], H))
    return F, pre


def reference_field(case: Case):
    """(y0, F, project, pattern) of the case (module docstring); ``pattern(y)`` is the
    sign pattern of every pre-activation at state y."""
    X, y_data, weights0 = case.args
    shapes = [w.shape for w in weights0]
    sizes = np.cumsum([0] + [a * b for a, b in shapes])
    n_weights = int(sizes[-1])
    P, K = X.shape[0], shapes[-1][0]
    kw = case.kwargs
    classification = np.ndim(y_data) == 1
    onehot = np.eye(K)[y_data] if classification else None

    def unflatten(y):
        return [y[..., sizes[i]:sizes[i + 1]].reshape(*y.shape[:-1], *shapes[i])
                for i in range(len(shapes))]

    def outputs(y):
        return _forward(unflatten(y[..., :n_weights]), X)[0]

    def pattern(y):
        return [np.sign(Z) for Z in _forward(unflatten(np.asarray(y)[:n_weights]), X)[1]]

    def margins(y):  # f_y - f_j, (..., P, K)
        F = outputs(y)
        return np.sum(F * onehot, axis=-1, keepdims=True) - F

    y0 = np.concatenate([np.ravel(w) for w in weights0])
    if case.solver.startswith("minnorm"):
        eta_w = kw.get("eta_w", kw.get("lr_w", 1.0))
        eta_lambda = kw.get("eta_lambda", kw.get("lr_lambda", 1.0))
        c = kw["c"]
        lam0 = np.zeros((P, K)) if kw.get("lambda0") is None else np.asarray(kw["lambda0"])
        y0 = np.concatenate((y0, lam0.ravel()))
        if not classification:
            def lagrangian(y):
                w, lam = y[..., :n_weights], y[..., n_weights:].reshape(*y.shape[:-1], P, K)
                r = y_data - outputs(y)
                return (0.5 * np.sum(w * w, axis=-1) + np.sum(lam * r, axis=(-2, -1))
                        + 0.5 * c * np.sum(r * r, axis=(-2, -1)))

            def field(y):
                g = complex_step_gradient(lagrangian, y)
                return np.concatenate((-eta_w * g[:n_weights], eta_lambda * g[n_weights:]))

            return y0, field, lambda y: y, pattern

        wrong = 1.0 - onehot

        def field(y):
            lam = y[n_weights:].reshape(P, K)
            violation = (1.0 - margins(y)) * wrong
            a = np.maximum(0.0, lam + c * violation) * wrong
            grad = complex_step_gradient(lambda s: np.sum(a * margins(s), axis=(-2, -1)),
                                         y[:n_weights])
            drive = eta_lambda * violation
            drive[(lam <= 0.0) & (drive < 0.0)] = 0.0
            return np.concatenate((-eta_w * (y[:n_weights] - grad), drive.ravel()))

        def project(y):
            return np.concatenate((y[:n_weights], np.maximum(y[n_weights:], 0.0)))

        return y0, field, project, pattern
    rate = kw.get("eta", kw.get("lr", 1.0))
    beta = kw.get("beta", 0.0)

    def objective(y):
        F = outputs(y)
        if classification:
            data = np.sum(np.log(np.sum(np.exp(F), axis=-1)) - np.sum(F * onehot, axis=-1),
                          axis=-1) / P
        else:
            data = np.sum((y_data - F) ** 2, axis=(-2, -1)) / (2 * P)
        return data + 0.5 * beta * np.sum(y * y, axis=-1)

    return y0, lambda y: -rate * complex_step_gradient(objective, y), lambda y: y, pattern


def case(solver: str, label: str, data: str, **kwargs) -> Case:
    args = {"mixed": (X_MIXED, LABELS, W0_MIXED), "deep": (X_MIXED, LABELS, W0_DEEP),
            "regression": (X_REG, Y_REG, W0_REG),
            "fixed": (X_FIXED, Y_FIXED, W0_FIXED),
            "fixed_classes": (X_FIXED, LABELS_FIXED, W0_FIXED_CLASSES)}[data]
    return Case(SETTING, solver, args, kwargs, label)


def assert_pattern_fixed(case: Case, field, y0, pattern) -> None:
    """The activation pattern does not change along the reference flow (smooth field)."""
    first = pattern(y0)
    for y in reference_flow(field, y0, case.kwargs["times"]):
        for a, b in zip(first, pattern(y)):
            np.testing.assert_array_equal(a, b)


FLOW_BASE = {
    "gradient_flow": ("fixed_classes", {"eta": 0.7}),
    "minnorm_flow": ("fixed", {"c": 1.5, "eta_w": 0.8, "eta_lambda": 1.3,
                               "lambda0": np.linspace(-0.2, 0.3, 10).reshape(5, 2)}),
}
ADAPTIVE_CASES = [case(s, "adaptive", data, times=TIMES, **kw)
                  for s, (data, kw) in FLOW_BASE.items()] + [
    case("gradient_flow", "regression", "fixed", eta=1.3, times=TIMES)]
ORDER_CASES = [case(s, m, data, times=[1.0, 2.0], method=m, dt=FIXED_DT[s][m], **kw)
               for s, (data, kw) in FLOW_BASE.items() for m in sorted(TABLEAUX)]
DISCRETE_CASES = [
    case("gradient_descent", "lr", "mixed", lr=0.3, steps=STEPS),
    case("gradient_descent", "depth3", "deep", lr=0.2, steps=STEPS),
    case("gradient_descent", "regression", "regression", lr=0.05, steps=STEPS),
    case("l2_descent", "beta", "mixed", lr=0.3, beta=0.05, steps=STEPS),
    case("minnorm_descent", "margins", "mixed", c=0.4, lr_w=0.05, lr_lambda=0.02,
         steps=STEPS),
    case("minnorm_descent", "depth3", "deep", c=0.3, lr_w=0.05, lr_lambda=0.01, steps=STEPS),
    case("minnorm_descent", "regression", "regression", c=0.5, lr_w=0.02, lr_lambda=0.03,
         lambda0=np.full((6, 2), 0.1), steps=STEPS),
]
STOP_CASES = [
    case("gradient_descent", "stop", "regression", lr=0.05, stop_tol=1e-4,
         steps=[10, 100, 20000]),
    case("l2_descent", "stop", "mixed", lr=0.3, beta=0.05, stop_tol=1e-6,
         steps=[10, 100, 20000]),
    case("minnorm_descent", "stop", "regression", c=0.5, lr_w=0.02, lr_lambda=0.03,
         stop_tol=1e-6, steps=[10, 100, 20000]),
    case("gradient_flow", "stop_adaptive", "fixed", eta=1.3, stop_tol=1e-5,
         times=np.linspace(0.5, 60.0, 120)),
    case("minnorm_flow", "stop_adaptive", "fixed", c=1.5, eta_w=0.8, eta_lambda=1.3,
         stop_tol=1e-5, times=np.linspace(0.5, 150.0, 150)),
]


@references("solve_ivp", ADAPTIVE_CASES)
@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=repr)
def test_adaptive_flow_matches_solve_ivp(case):
    y0, field, _, pattern = reference_field(case)
    assert_pattern_fixed(case, field, y0, pattern)
    check_flow(case, field, y0)


@references("solve_ivp", ORDER_CASES)
@pytest.mark.parametrize("case", ORDER_CASES, ids=repr)
def test_fixed_step_flow_converges_to_solve_ivp_at_its_order(case):
    y0, field, _, pattern = reference_field(case)
    assert_pattern_fixed(case, field, y0, pattern)
    check_order(case, field, y0)


@references("formula", DISCRETE_CASES)
@pytest.mark.parametrize("case", DISCRETE_CASES, ids=repr)
def test_discrete_matches_hand_iterated_step(case):
    y0, field, project, pattern = reference_field(case)
    signs = np.concatenate([np.ravel(s) for s in pattern(y0)])
    assert np.any(signs > 0) and np.any(signs < 0)  # a mixed pattern: the kinks matter
    check_discrete(case, field, y0, project)


@references("formula", [c for c in STOP_CASES if "steps" in c.kwargs])
@references("solve_ivp", [c for c in STOP_CASES if "times" in c.kwargs])
@pytest.mark.parametrize("case", STOP_CASES, ids=repr)
def test_stop_tol_branch(case):
    y0, field, project, pattern = reference_field(case)
    if "times" in case.kwargs:
        assert_pattern_fixed(case, field, y0, pattern)
    check_stop(case, field, y0, project)
