"""Every WeightNorm solver against an independent reference (issue 11, item 1).

The reference field is written from docs/weightnorm_hessian.md §8a.2: the loss
L = 1/(2n) sum_i (f(x_i) - y_i)^2 + lambda/2 |theta|^2 with f(x) = m^(-1/2) sum_k a_k
phi(w_k . x / |w_k|), |w_k| = sqrt(w_k . w_k), differentiated by the complex step
(tanh and softplus are analytic; the square root of a positive real is), so it shares
no code with the kernel or its twin. Gradient descent is the hand-iterated step
theta <- theta - lr grad L; the flow d theta/dt = -eta grad L is compared with
solve_ivp. The stopping cases run without weight decay: with it the W-part of the field,
P_k grad + lambda w_k, vanishes only at w_k = 0 (the gradient is orthogonal to w_k,
docs/weightnorm_hessian.md §8b.4), so the field never falls to a small stop_tol.
"""
from __future__ import annotations

import numpy as np

from solver_references import (Case, complex_step_gradient, register_generic_tests)
from theory import weightnorm_hessian as sim
from theory.integrators import TABLEAUX

SETTING = "weightnorm_hessian"
X, Y = sim.regression_task(6, 3, seed=4)
W0, A0 = sim.gaussian_init(4, 3, seed=5)
M, D = W0.shape
N = X.shape[0]
THETA0 = np.concatenate((W0.ravel(), A0))
TIMES = np.linspace(0.1, 1.5, 8)
STEPS = [1, 5, 40, 200]

FIXED_DT = {"euler": 2e-3, "heun": 1e-2, "rk4": 5e-2, "dopri5": 2e-1}
"""Fixed steps of the order checks: the field's Lipschitz constant is ~eta |x|^2/rho^2 ~ a
few here, so the errors lie between ~1e-3 and ~1e-10, above the reference's ~1e-13."""


def case(solver: str, label: str, **kwargs) -> Case:
    return Case(SETTING, solver, (X, Y, W0, A0), kwargs, label)


def loss(theta, activation: str, decay: float):
    """L for states along the last axis (complex-safe: no abs, no max)."""
    W = theta[..., :M * D].reshape(theta.shape[:-1] + (M, D))
    a = theta[..., M * D:]
    rho = np.sqrt(np.sum(W * W, axis=-1))
    u = np.einsum("...kj,ij->...ik", W, X) / rho[..., None, :]
    phi = np.tanh(u) if activation == "tanh" else np.log(1.0 + np.exp(u))
    f = np.sum(a[..., None, :] * phi, axis=-1) / np.sqrt(M)
    return 0.5 * np.mean((f - Y) ** 2, axis=-1) + 0.5 * decay * np.sum(theta * theta, axis=-1)


def reference_field(case: Case):
    """(y0, F) of the case (module docstring)."""
    kw = case.kwargs
    rate = kw.get("eta", kw.get("lr", 1.0))
    activation = kw.get("activation", "tanh")
    decay = kw.get("weight_decay", 0.0)
    return THETA0, lambda y: -rate * complex_step_gradient(
        lambda t: loss(t, activation, decay), y)


FLOW_BASE = {"eta": 1.7, "weight_decay": 0.1}
ADAPTIVE_CASES = [
    case("gradient_flow", "adaptive", times=TIMES, **FLOW_BASE),
    case("gradient_flow", "softplus", times=TIMES, eta=0.8, activation="softplus"),
    case("gradient_flow", "defaults", times=TIMES),
]
ORDER_CASES = [case("gradient_flow", m, times=[0.6, 1.2], method=m, dt=FIXED_DT[m],
                    **FLOW_BASE) for m in sorted(TABLEAUX)]
DISCRETE_CASES = [
    case("gradient_descent", "tanh", lr=0.3, steps=STEPS),
    case("gradient_descent", "decay_softplus", lr=0.2, weight_decay=0.05,
         activation="softplus", steps=STEPS),
]
STOP_CASES = [
    case("gradient_descent", "stop", lr=0.8, stop_tol=1e-4, steps=[10, 100, 20000]),
    case("gradient_flow", "stop_adaptive", eta=1.5, stop_tol=2e-4,
         times=np.geomspace(0.1, 2000.0, 80)),
]


register_generic_tests(globals(), reference_field, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)
