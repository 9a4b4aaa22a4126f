"""Every deep-linear solver against an independent reference (issue 11, item 1).

The reference field is written from docs/deep_linear.md §3a with the data in column form
X_c = X^T, Y_c = Y^T: the loss ||Y_c - M X_c||_F^2 / (2P) (plus beta/2 sum ||W_l||^2 for
L2), or the augmented Lagrangian 1/2 sum ||W_l||^2 + <Lambda, R>/P + c ||R||^2/(2P) with
multiplier ascent dLambda/dt = eta_lambda dL_c/dLambda = eta_lambda R/P (Minnorm),
differentiated by the complex step: no backpropagation, no packed parameter vector of
the package. The state is the W_l row-major, then Lambda in column form (N_o x P), as the
module docstring of theory.deep_linear states. Flows are compared with solve_ivp (DOP853,
rtol 1e-12); at depth 1 the dynamics are affine and the exact solution is expm of the
augmented generator; discrete solvers with the hand-iterated step; gradient flow from
Saxe's decoupled start with the sympy mode solution.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from analytic import deep_linear as exact
from solver_references import (Case, complex_step_gradient, references, register_generic_tests)
from theory import deep_linear as sim
from theory.integrators import TABLEAUX

SETTING = "deep_linear"
X, Y, _ = sim.teacher_student(4, 2, 3, seed=3)
P = X.shape[0]
WIDTHS_2, WIDTHS_3 = [4, 3, 2], [4, 3, 3, 2]
W0_2 = sim.gaussian_init(WIDTHS_2, 0.8, seed=4)
W0_3 = sim.gaussian_init(WIDTHS_3, 0.8, seed=5)
W0_1 = sim.gaussian_init([4, 2], 0.8, seed=6)
LAMBDA0 = np.linspace(-0.2, 0.3, P * 2).reshape(P, 2)  # P x N_o, like Y
TIMES = np.linspace(0.25, 3.0, 12)
STEPS = [1, 5, 40, 200]

FIXED_DT = {"euler": 2e-3, "heun": 1e-2, "rk4": 5e-2, "dopri5": 5e-2}
"""Fixed steps of the order checks (field Lipschitz constant ~|X_c|^2/P ~ 3): errors
between ~1e-3 and ~1e-10, far above the reference's ~1e-13 (see
solver_references.check_order)."""


def case(solver: str, label: str, weights0=None, **kwargs) -> Case:
    return Case(SETTING, solver, (X, Y, W0_2 if weights0 is None else weights0), kwargs, label)


def reference_field(case: Case):
    """(y0, F) of the case from docs/deep_linear.md §3a (module docstring)."""
    X_data, Y_data, weights0 = case.args
    X_c, Y_c = X_data.T, Y_data.T
    n_samples = X_c.shape[1]
    shapes = [w.shape for w in weights0]
    sizes = np.cumsum([0] + [a * b for a, b in shapes])
    kw = case.kwargs

    def unflatten(y):  # y: (..., n_weights) -> the W_l, each (..., n_l, n_(l-1))
        return [y[..., sizes[i]:sizes[i + 1]].reshape(*y.shape[:-1], *shapes[i])
                for i in range(len(shapes))]

    def residual(y):
        M = np.eye(X_c.shape[0])
        for W in unflatten(y):
            M = W @ M
        return Y_c - M @ X_c

    y0 = np.concatenate([w.ravel() for w in weights0])
    n_weights = y0.size
    if case.solver.startswith("minnorm"):
        eta_w = kw.get("eta_w", kw.get("lr_w", 1.0))
        eta_lambda = kw.get("eta_lambda", kw.get("lr_lambda", 1.0))
        c = kw["c"]
        lam0 = kw.get("lambda0")
        lam0 = np.zeros(Y_c.shape) if lam0 is None else np.asarray(lam0).T

        def lagrangian(y):  # y: (..., n_weights + N_o P)
            w = y[..., :n_weights]
            R = residual(w)
            lam = y[..., n_weights:].reshape(R.shape)
            return (0.5 * np.sum(w * w, axis=-1) + np.sum(lam * R, axis=(-2, -1)) / n_samples
                    + c * np.sum(R * R, axis=(-2, -1)) / (2 * n_samples))

        def field(y):
            g = complex_step_gradient(lagrangian, y)
            return np.concatenate((-eta_w * g[:n_weights], eta_lambda * g[n_weights:]))

        return np.concatenate((y0, lam0.ravel())), field
    rate = kw.get("eta", kw.get("lr", 1.0))
    beta = kw.get("beta", 0.0)

    def objective(y):  # y: (..., n_weights)
        R = residual(y)
        return (np.sum(R * R, axis=(-2, -1)) / (2 * n_samples)
                + 0.5 * beta * np.sum(y * y, axis=-1))

    return y0, lambda y: -rate * complex_step_gradient(objective, y)


FLOW_BASE = {
    "gradient_flow": {"eta": 0.7},
    "l2_flow": {"beta": 0.2, "eta": 1.4},
    "minnorm_flow": {"c": 1.5, "eta_w": 0.8, "eta_lambda": 1.3, "lambda0": LAMBDA0},
}

ADAPTIVE_CASES = [case(s, "adaptive", times=TIMES, **kw) for s, kw in FLOW_BASE.items()] + [
    case("gradient_flow", "defaults_depth3", weights0=W0_3, times=TIMES),
    case("minnorm_flow", "depth3", weights0=W0_3, c=0.5, eta_w=1.2, eta_lambda=0.7, times=TIMES),
]
ORDER_CASES = [case(s, m, times=[1.0, 2.0], method=m, dt=FIXED_DT[m], **kw)
               for s, kw in FLOW_BASE.items() for m in sorted(TABLEAUX)]
DISCRETE_CASES = [
    case("gradient_descent", "lr", lr=0.1, steps=STEPS),
    case("gradient_descent", "depth3", weights0=W0_3, lr=0.07, steps=STEPS),
    case("l2_descent", "beta", lr=0.08, beta=0.3, steps=STEPS),
    case("minnorm_descent", "lambda0", c=1.2, lr_w=0.1, lr_lambda=0.15, lambda0=LAMBDA0,
         steps=STEPS),
]
STOP_CASES = [
    case("gradient_descent", "stop", lr=0.1, stop_tol=1e-7, steps=[10, 100, 20000]),
    case("l2_descent", "stop", lr=0.08, beta=0.3, stop_tol=1e-7, steps=[10, 100, 20000]),
    case("minnorm_descent", "stop", c=1.2, lr_w=0.1, lr_lambda=0.15, stop_tol=1e-7,
         steps=[10, 100, 20000]),
    case("gradient_flow", "stop_adaptive", eta=0.7, stop_tol=1e-6,
         times=np.linspace(0.5, 60.0, 120)),
    # fixed rk4: the error was 3e-7 at dt = 1e-2 (set in the fast first transient, where
    # the field is ~4), so ~1.2e-9 at dt = 2.5e-3 (C dt^4): inside the 1e-8 of check_stop
    case("l2_flow", "stop_rk4", beta=0.2, eta=1.4, stop_tol=1e-6, method="rk4", dt=2.5e-3,
         times=np.linspace(0.5, 60.0, 120)),
    case("minnorm_flow", "stop_adaptive", c=1.5, eta_w=0.8, eta_lambda=1.3, stop_tol=1e-5,
         times=np.linspace(0.5, 150.0, 150)),
]
EXPM_CASES = [
    case("gradient_flow", "depth1", weights0=W0_1, eta=1.7, times=TIMES),
    case("l2_flow", "depth1", weights0=W0_1, beta=0.4, eta=0.6, times=TIMES),
    case("minnorm_flow", "depth1", weights0=W0_1, c=0.7, eta_w=1.4, eta_lambda=0.5,
         lambda0=LAMBDA0, times=TIMES),
]


register_generic_tests(globals(), reference_field, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)


@references("expm", EXPM_CASES)
@pytest.mark.parametrize("case", EXPM_CASES, ids=repr)
def test_depth_one_flows_are_the_exact_affine_solution(case):
    """At depth 1 every field is affine, F(y) = A y + b; A and b are read off the
    independent field at the basis vectors (exact for an affine map up to rounding), and
    y(t) = expm(t [[A, b], [0, 0]]) (y0, 1). Tolerance 1e-8: the adaptive integration error
    (solver_references.ADAPTIVE_TOLERANCE); expm is accurate to ~1e-14 here (|A| t <= 15)."""
    y0, field = reference_field(case)
    b = field(np.zeros_like(y0))
    A = np.column_stack([field(e) - b for e in np.eye(y0.size)])
    generator = np.zeros((y0.size + 1, y0.size + 1))
    generator[:-1, :-1], generator[:-1, -1] = A, b
    traj = case.run()
    expected = np.array([(expm(t * generator) @ np.append(y0, 1.0))[:-1] for t in traj.times])
    error = np.max(np.abs(traj.states - expected) / np.maximum(1.0, np.abs(expected)))
    assert error <= 1e-8, error


X_WHITE, Y_WHITE = sim.whitened_teacher([3.0, 1.5])
SAXE_U0 = 0.05
SAXE_CASES = [Case(SETTING, "gradient_flow",
                   (X_WHITE, Y_WHITE, sim.saxe_init(X_WHITE, Y_WHITE, [6, 4, 2], SAXE_U0, seed=7)),
                   {"eta": 0.6, "times": np.linspace(0.1, 8.0, 40)}, "saxe")]


@references("sympy", SAXE_CASES)
def test_gradient_flow_modes_follow_saxe_closed_form():
    """From Saxe's decoupled balanced start (whitened X, depth 2) each mode strength obeys
    tau du/dt = 2 u (s - u) with tau = 1/eta (analytic.deep_linear.saxe_mode, sympy): the
    time scale of the flow against a closed form at eta != 1. Tolerance 1e-8: the adaptive
    integration error on strengths of order 1."""
    (run,) = SAXE_CASES
    traj = run.run()
    strengths = traj.modes(X_WHITE, Y_WHITE)
    for k, s in enumerate([3.0, 1.5]):
        predicted = exact.saxe_mode(s, SAXE_U0, traj.times, depth=2, tau=1.0 / run.kwargs["eta"])
        np.testing.assert_allclose(strengths[:, k], predicted, rtol=0, atol=1e-8)
