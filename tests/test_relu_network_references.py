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

The stop_tol branch is checked where the reference comes to rest: gradient descent on
the teacher-student regression (mixed pattern: the pattern settles within ~100 steps and
the iteration converges inside it); L2 descent and discrete Minnorm on fixed-pattern
instances with a fixed point inside the pattern (on mixed patterns their iterates chatter
at the kinks at an amplitude of the step and never reach stop_tol), the pattern asserted
at every step of the hand iteration; gradient flow on the fixed-pattern regression over a
horizon past its slowest mode (t = 800), and Minnorm flow on realizable one-output targets
whose min-norm interpolant keeps the pattern, asserted along the reference (the two-output
targets are not realizable with a fixed pattern, and the flow drives units to their kinks,
where adaptive steps shrink without end). The reasons for each instance are at the cases.
"""
from __future__ import annotations

import numpy as np

from solver_references import (Case, complex_step_gradient, hand_iteration, reference_flow,
                               register_generic_tests)
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
# the classification instance has its inputs doubled (in [2/3, 4/3]; f is 1-homogeneous in
# x, so the pattern is the same): the logits move faster, and dopri5's error at the steps
# where its order is read stays above the 1e-10 that check_order needs (see FIXED_DT)
X_CLASSES = 2.0 * X_FIXED
# a fixed pattern with a fixed point for Minnorm: Y_FIXED is not in the column space of
# X_FIXED (5 x 3), and with the pattern fixed the network is linear on the data (f = X M^T),
# so the equality constraints can only be met by changing the pattern: the flow drives the
# active units to their kinks. Here the targets are those of a teacher whose three hidden
# units are active on every input (positive weights: relu is the identity on the data),
# Y = X A^T b^T > 0, with one output: the min-norm M = b A is rank 1, the Minnorm point
# has W_1 = q sqrt(s) v^T on the active units (M = s v^T), and unit i's pre-activations
# are q_i Y_mu / sqrt(s), of one sign per unit. (With two outputs the flow lingers near the
# rank-1 saddle for t ~ 300.) The pattern is asserted along the reference.
A_TEACHER = _rng.uniform(0.4, 0.8, (3, 3))
B_TEACHER = _rng.uniform(0.4, 0.8, (1, 3))
Y_SCALAR = X_FIXED @ A_TEACHER.T @ B_TEACHER.T
W0_SCALAR = [W1_FIXED, _rng.uniform(-0.6, 0.6, (1, 4))]
TIMES = np.linspace(0.25, 2.0, 8)

FIXED_DT = {"gradient_flow": {"euler": 2e-3, "heun": 1e-2, "rk4": 1e-1, "dopri5": 1e-1},
            "minnorm_flow": {"euler": 2e-3, "heun": 1e-2, "rk4": 5e-2, "dopri5": 1e-1}}
"""Fixed steps of the order checks: errors at dt/2 between ~1e-3 and ~1e-10, above the
reference's ~1e-13 (Minnorm's damping term c ||r||^2 is the stiffest part: rk4 at dt =
0.05 errs by 2e-5). Gradient flow with dopri5: the ratio of the errors at dt and dt/2
reaches 2^5 from above as dt falls (log2 6.5, 5.8, 5.3 at dt = 0.2, 0.1, 0.05 on
X_CLASSES), and below dt = 0.1 the error at dt/2 falls under 1e-10, where the reference's
error would bias the ratio; dt = 0.1 (errors 4e-8, 8e-10) is the smallest step above that
floor. At dt = 0.4 the step is outside the asymptotic range (on X_FIXED: log2 ratio 4.25 at
dt = 0.4, while every step in the asymptotic range has errors below 1e-10 there)."""


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
            "fixed_classes": (X_CLASSES, LABELS_FIXED, W0_FIXED_CLASSES),
            "fixed_scalar": (X_FIXED, Y_SCALAR, W0_SCALAR)}[data]
    return Case(SETTING, solver, args, kwargs, label)


def assert_pattern_fixed(case: Case, field, y0, pattern) -> None:
    """The activation pattern does not change along the reference flow (smooth field)."""
    first = pattern(y0)
    for y in reference_flow(field, y0, case.kwargs["times"]):
        for a, b in zip(first, pattern(y)):
            np.testing.assert_array_equal(a, b)


def assert_pattern_fixed_by_steps(case: Case, field, y0, project, pattern) -> None:
    """The activation pattern does not change at any step of the hand iteration, up to
    its stop (a fixed point inside the pattern)."""
    first = pattern(y0)
    steps = range(1, case.kwargs["steps"][-1] + 1)
    states, taken = hand_iteration(field, y0, steps, project, case.kwargs["stop_tol"])
    for y in states[:taken + 1]:
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
    # on mixed patterns regression GD comes to rest inside one pattern; L2 and Minnorm do
    # not: their iterates chatter at the kinks at an amplitude of the step and never reach
    # stop_tol, so they run on fixed patterns with a fixed point inside the pattern
    case("gradient_descent", "stop", "regression", lr=0.05, stop_tol=1e-4,
         steps=[10, 100, 20000]),
    # beta = 0.2: the regularized minimizer lies inside the starting pattern (at beta = 0.05
    # an active unit's pre-activation crosses 0 on the way and the iteration chatters there)
    case("l2_descent", "stop", "fixed_classes", lr=0.3, beta=0.2, stop_tol=1e-6,
         steps=[10, 100, 20000]),
    # the min-norm interpolant of Y_SCALAR keeps the pattern (see Y_SCALAR)
    case("minnorm_descent", "stop", "fixed_scalar", c=0.5, lr_w=0.02, lr_lambda=0.03,
         lambda0=np.full((5, 1), 0.1), stop_tol=1e-6, steps=[10, 100, 20000]),
    # least squares on a fixed pattern (no beta in gradient flow): the field decays as
    # e^{-k t} near the limit with k = 0.0148, the smallest nonzero eigenvalue of minus its
    # Jacobian there (eta = 1.3 times the loss's Hessian, small because X_FIXED's smallest
    # squared singular value is 0.04), after a plateau near t ~ 100-250: it falls to 1e-5
    # near t = 610, and to 6e-7 by t = 800
    case("gradient_flow", "stop_adaptive", "fixed", eta=1.3, stop_tol=1e-5,
         times=np.linspace(5.0, 800.0, 160)),
    case("minnorm_flow", "stop_adaptive", "fixed_scalar", c=1.5, eta_w=0.8, eta_lambda=1.3,
         lambda0=np.linspace(-0.2, 0.3, 5).reshape(5, 1), stop_tol=1e-5,
         times=np.linspace(0.5, 150.0, 150)),
]


def pattern_regime(kind: str, case: Case, fields: tuple) -> None:
    """The regime each comparison needs: flows (and fixed-pattern stop cases) keep their
    activation pattern along the reference, so the field is smooth there; discrete cases
    start on a mixed pattern, so that the kinks matter."""
    y0, field, project, pattern = fields
    if kind in ("adaptive", "order") or (kind == "stop" and "times" in case.kwargs):
        assert_pattern_fixed(case, field, y0, pattern)
    elif kind == "stop" and any(case.args[0] is X for X in (X_FIXED, X_CLASSES)):
        assert_pattern_fixed_by_steps(case, field, y0, project, pattern)
    elif kind == "discrete":
        signs = np.concatenate([np.ravel(s) for s in pattern(y0)])
        assert np.any(signs > 0) and np.any(signs < 0)


register_generic_tests(globals(), reference_field, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES,
                       precondition=pattern_regime)
