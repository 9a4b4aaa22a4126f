"""Every solver of theory.implicit_gradient against an independent reference (issue 11,
item 1).

The references are written from docs/implicit_gradient.md §11a.1 and §11a.2 with
complex-safe operations: the loss ||W_2 s(W_1 X) - Y||^2 / (2P) (s the identity or tanh),
its gradient by hand-written backpropagation (checked against the complex-step gradient
of the loss below), and the Hessian-vector product of the modified flow as the complex
step of that gradient along grad E, Im grad E(theta + i eps g) / eps with eps = 1e-30
(exact to rounding, no finite difference). Discrete solvers are compared with the
hand-iterated step, flows with solve_ivp (DOP853, rtol 1e-12).
"""
from __future__ import annotations

import numpy as np

from solver_references import (Case, complex_step_gradient, register_generic_tests)
from theory import implicit_gradient as sim
from theory.integrators import TABLEAUX

SETTING = "implicit_gradient"
rng = np.random.default_rng(11)
X = rng.standard_normal((6, 3))
Y = np.tanh(X @ rng.standard_normal((3, 2))) @ rng.standard_normal((2, 2))
HIDDEN = 3
TANH = sim.network(X, Y, HIDDEN, "tanh")
THETA0 = 0.7 * rng.standard_normal(TANH.size)
AB = sim.ab_model(1.0)
AB0 = np.array([2.0, -0.5])
STEPS = [1, 5, 40, 200]
TIMES = np.linspace(0.1, 1.2, 12)
FIXED_DT = {"euler": 1e-3, "heun": 5e-3, "rk4": 5e-2, "dopri5": 1e-1}
"""Fixed steps of the order checks: errors between ~1e-3 and ~1e-10."""


def case(solver: str, label: str, args: tuple, **kwargs) -> Case:
    return Case(SETTING, solver, args, kwargs, label)


def layers(theta, n_in: int, hidden: int, n_out: int):
    return (theta[..., :hidden * n_in].reshape(theta.shape[:-1] + (hidden, n_in)),
            theta[..., hidden * n_in:].reshape(theta.shape[:-1] + (n_out, hidden)))


def reference_loss(theta, X, Y, hidden: int, activation):
    """E(theta) for states along the last axis (complex-safe)."""
    W1, W2 = layers(theta, X.shape[1], hidden, Y.shape[1])
    R = W2 @ activation(W1 @ X.T) - Y.T
    return (R * R).sum(axis=(-2, -1)) / (2 * X.shape[0])


def reference_gradient(theta, X, Y, hidden: int, tanh: bool):
    """grad E by backpropagation written out (complex-safe)."""
    W1, W2 = layers(theta, X.shape[1], hidden, Y.shape[1])
    Z = W1 @ X.T
    S = np.tanh(Z) if tanh else Z
    dS = 1 - S * S if tanh else np.ones_like(Z)
    R = W2 @ S - Y.T
    P = X.shape[0]
    return np.concatenate(((((W2.T @ R) * dS) @ X / P).ravel(), (R @ S.T / P).ravel()))


def reference_field(model_name: str, scale: float, correction: float):
    """F = -scale (g + correction H g), H g by the complex step of the gradient."""
    X_, Y_, hidden, tanh = ((X, Y, HIDDEN, True) if model_name == "tanh"
                            else (np.ones((1, 1)), np.ones((1, 1)), 1, False))

    def field(theta):
        g = reference_gradient(theta, X_, Y_, hidden, tanh)
        if correction == 0.0:
            return -scale * g
        hg = reference_gradient(theta + 1e-30j * g, X_, Y_, hidden, tanh).imag / 1e-30
        return -scale * (g + correction * hg)

    return field


def field_of(case: Case):
    kw = case.kwargs
    name = "tanh" if case.args[0] is TANH else "ab"
    if case.solver == "gradient_descent":
        return reference_field(name, kw["lr"], 0.0)
    if case.solver == "gradient_flow":
        return reference_field(name, kw.get("eta", 1.0), 0.0)
    return reference_field(name, 1.0, kw["lr"] / 2)


def reference(case: Case):
    """(theta0, F) of the case."""
    return case.args[1], field_of(case)


def test_reference_gradient_is_the_complex_step_gradient_of_the_loss():
    """The hand-written backpropagation against the complex step of the loss (both written
    here from docs/implicit_gradient.md §11a.1)."""
    for theta, X_, Y_, hidden, tanh in ((THETA0, X, Y, HIDDEN, True),
                                        (AB0, np.ones((1, 1)), np.ones((1, 1)), 1, False)):
        act = np.tanh if tanh else (lambda z: z)
        expected = complex_step_gradient(lambda t: reference_loss(t, X_, Y_, hidden, act), theta)
        np.testing.assert_allclose(reference_gradient(theta, X_, Y_, hidden, tanh), expected,
                                   rtol=1e-13, atol=1e-15)


ADAPTIVE_CASES = [case("gradient_flow", "tanh", (TANH, THETA0), eta=0.7, times=TIMES),
                  case("modified_flow", "tanh", (TANH, THETA0), lr=0.3, times=TIMES),
                  case("modified_flow", "ab", (AB, AB0), lr=0.2, times=TIMES)]
ORDER_CASES = ([case("gradient_flow", m, (TANH, THETA0), times=[0.6, 1.2], method=m,
                     dt=FIXED_DT[m], eta=1.3) for m in sorted(TABLEAUX)]
               + [case("modified_flow", m, (TANH, THETA0), times=[0.6, 1.2], method=m,
                       dt=FIXED_DT[m], lr=0.3) for m in sorted(TABLEAUX)])
DISCRETE_CASES = [case("gradient_descent", "tanh", (TANH, THETA0), lr=0.15, steps=STEPS),
                  case("gradient_descent", "ab", (AB, AB0), lr=0.3, steps=STEPS)]
STOP_CASES = [
    case("gradient_descent", "stop", (AB, AB0), lr=0.3, stop_tol=1e-8, steps=[10, 100, 20000]),
    case("gradient_flow", "stop_adaptive", (AB, AB0), eta=0.7, stop_tol=1e-4,
         times=np.geomspace(0.1, 60.0, 60)),
    case("modified_flow", "stop_adaptive", (AB, AB0), lr=0.2, stop_tol=1e-4,
         times=np.geomspace(0.1, 60.0, 60)),
]


register_generic_tests(globals(), reference, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)
