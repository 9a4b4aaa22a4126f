"""Every weight-conditioning solver against an independent reference (issue 11, item 1).

The reference field is written from docs/conditioning.md §7a.1 (the conditioners) and
docs/conditioning.md §7a.2 (the network), with the data in column form X_c = X^T,
Y_c = Y^T: the loss (1/2P) ||Y_c - C_L(W_L) phi(... phi(C_1(W_1) X_c))||_F^2, phi = tanh
on the hidden layers of the MLP (else the identity), with each conditioner C written out
from its table (row: W / sqrt(sum_j W_ij^2); column: the same on columns; weight_norm:
diag(g) times the row form, the gains g part of the state; standardize: (w_i - mean w_i)
/ sqrt(mean((w_i - mean w_i)^2))), differentiated by the complex step. Every operation
is real-analytic near the states used (square roots of positive reals, tanh), so the
gradient is exact to rounding; it uses no pullback formula, no backpropagation and no
code of the package. The state is the W_l row-major, then the gains of the WeightNorm
layers in layer order (module docstring of theory.conditioning); a layer outside
``trained_layers`` has a zero field (weights and gains). Gradient descent is the
hand-iterated step y <- y - lr grad L; the flow dy/dt = -eta grad L is compared with
solve_ivp (DOP853, rtol 1e-12), and each fixed-step method at its order.

Tolerances are those of solver_references (ADAPTIVE_TOLERANCE 1e-8, DISCRETE_TOLERANCE
1e-10, the order window of check_order), reasoned there; they fit here because the
horizons of the compared samples are short (t <= 2, Lipschitz constant times horizon a
few; the depth-1 stop run contracts) and the descent cases stay in the range where the
step does not expand rounding: the gaps seen were <= 1.1e-12 (adaptive) and <= 3e-15
(discrete). A learning rate scaled by 1.01 inside the kernel fails every numba case.
"""
from __future__ import annotations

import numpy as np

from solver_references import (Case, complex_step_gradient, register_generic_tests)
from theory import conditioning as sim
from theory.integrators import TABLEAUX

SETTING = "conditioning"
X, Y = sim.regression_data(4, 2, 6, seed=11)
W0_2 = [sim.scaled_rows(3, 4, 0.5, 12), sim.scaled_rows(2, 3, 0.5, 13)]
W0_3 = [sim.scaled_rows(3, 4, 0.5, 14), sim.scaled_rows(3, 3, 0.5, 15),
        sim.scaled_rows(2, 3, 0.5, 16)]
W0_1 = [sim.scaled_rows(2, 4, 0.5, 17)]
W0_SPREAD = [3.0 * W for W in W0_2]
"""The start of the standardized flows: C is invariant under W -> 3 W, the field falls by 3
and its stiffness by 9. Standardization keeps each row's spread s_i (the gradient is
orthogonal to the centred row), and W0_2's smallest, 0.13, makes the flow stiff (~1/s^2):
from W0_2 the run to t = 2 took ~4700 adaptive steps and the reference 1.6 s."""
GAINS0 = [np.array([0.9, 1.3, 0.7]), np.array([1.1, 0.8])]
TIMES = np.linspace(0.2, 2.0, 8)
STEPS = [1, 5, 40, 150]
CONDITIONERS = ("none", "row", "column", "weight_norm", "standardize")

FIXED_DT = {"euler": 2e-3, "heun": 1e-2, "rk4": 5e-2, "dopri5": 1e-1}
"""Fixed steps of the order checks: the field's Lipschitz constant is ~eta |X_c|^2/P over
the squared row norms, a few here, so the errors lie between ~1e-3 and ~1e-10, far above
the reference's ~1e-13 (see solver_references.check_order)."""


def case(solver: str, label: str, weights0=None, **kwargs) -> Case:
    return Case(SETTING, solver, (X, Y, W0_2 if weights0 is None else weights0), kwargs, label)


def condition(W, name: str, gains):
    """C(W) of docs/conditioning.md §7a.1 for a batch of matrices (..., n_out, n_in),
    complex-safe (no abs, no conjugation)."""
    if name == "none":
        return W
    if name == "column":
        return W / np.sqrt(np.sum(W * W, axis=-2))[..., None, :]
    if name == "standardize":
        centred = W - np.mean(W, axis=-1)[..., None]
        return centred / np.sqrt(np.mean(centred * centred, axis=-1))[..., None]
    unit = W / np.sqrt(np.sum(W * W, axis=-1))[..., None]
    return gains[..., :, None] * unit if name == "weight_norm" else unit


def layer_mask(layers, depth: int) -> np.ndarray:
    return np.ones(depth, bool) if layers is None else np.isin(np.arange(depth), layers)


def reference_field(case: Case):
    """(y0, F) of the case (module docstring)."""
    X_data, Y_data, weights0 = case.args
    X_c, Y_c = X_data.T, Y_data.T
    kw = case.kwargs
    depth = len(weights0)
    name = kw.get("conditioner", "none")
    conditioned = layer_mask(kw.get("conditioned_layers"), depth)
    trained = layer_mask(kw.get("trained_layers"), depth)
    tanh = kw.get("activation", "linear") == "tanh"
    names = [name if conditioned[l] else "none" for l in range(depth)]
    shapes = [W.shape for W in weights0]
    ends = np.cumsum([0] + [a * b for a, b in shapes])
    gain_sizes = [shapes[l][0] if names[l] == "weight_norm" else 0 for l in range(depth)]
    gain_ends = ends[-1] + np.cumsum([0] + gain_sizes)

    def loss(y):  # y: (..., n) -> (...)
        A = X_c
        for l in range(depth):
            W = y[..., ends[l]:ends[l + 1]].reshape(*y.shape[:-1], *shapes[l])
            A = condition(W, names[l], y[..., gain_ends[l]:gain_ends[l + 1]]) @ A
            if tanh and l < depth - 1:
                A = np.tanh(A)
        R = Y_c - A
        return np.sum(R * R, axis=(-2, -1)) / (2 * X_c.shape[1])

    gains0 = kw.get("gains0")
    gains = [(np.sqrt(np.sum(W * W, axis=1)) if gains0 is None else np.asarray(gains0[l]))
             for l, W in enumerate(weights0) if names[l] == "weight_norm"]
    y0 = np.concatenate([W.ravel() for W in weights0] + gains)
    moving = np.zeros(y0.size)
    for l in np.flatnonzero(trained):
        moving[ends[l]:ends[l + 1]] = 1.0
        moving[gain_ends[l]:gain_ends[l + 1]] = 1.0
    rate = kw.get("eta", kw.get("lr", 1.0))
    return y0, lambda y: -rate * moving * complex_step_gradient(loss, y)


ADAPTIVE_CASES = [case("gradient_flow", c, weights0=W0_SPREAD if c == "standardize" else None,
                       times=TIMES, eta=1.3, conditioner=c) for c in CONDITIONERS] + [
    case("gradient_flow", "defaults", times=TIMES),
    case("gradient_flow", "tanh_row_depth3", weights0=W0_3, times=TIMES, eta=0.8,
         conditioner="row", activation="tanh"),
    case("gradient_flow", "tanh_standardize", weights0=W0_SPREAD, times=TIMES, eta=1.6,
         conditioner="standardize", activation="tanh"),
    case("gradient_flow", "gains0", times=TIMES, eta=0.9, conditioner="weight_norm",
         gains0=GAINS0, activation="tanh"),
    case("gradient_flow", "layers", weights0=W0_3, times=TIMES, eta=1.2,
         conditioner="weight_norm", conditioned_layers=[0, 2], trained_layers=[1, 2]),
]
ORDER_CASES = [case("gradient_flow", m, times=[0.5, 1.0], method=m, dt=FIXED_DT[m], eta=1.3,
                    conditioner="weight_norm", activation="tanh") for m in sorted(TABLEAUX)]
DISCRETE_CASES = [case("gradient_descent", c, lr=0.15, steps=STEPS, conditioner=c)
                  for c in CONDITIONERS] + [
    case("gradient_descent", "tanh_column_depth3", weights0=W0_3, lr=0.2, steps=STEPS,
         conditioner="column", activation="tanh"),
    case("gradient_descent", "layers", weights0=W0_3, lr=0.1, steps=STEPS,
         conditioner="standardize", conditioned_layers=[1], trained_layers=[0, 1]),
    case("gradient_descent", "gains0_one_layer", lr=0.12, steps=STEPS,
         conditioner="weight_norm", conditioned_layers=1, trained_layers=1,
         gains0=[None, GAINS0[1]]),
    case("gradient_descent", "numpy_backend", lr=0.15, steps=STEPS, conditioner="row",
         activation="tanh", backend="numpy"),
]
STOP_CASES = [
    case("gradient_descent", "stop", lr=0.3, conditioner="row", stop_tol=1e-6,
         steps=[10, 100, 20000]),
    case("gradient_flow", "stop_adaptive_depth1", weights0=W0_1, eta=1.1, conditioner="row",
         stop_tol=1e-6, times=np.linspace(0.5, 60.0, 120)),
]
"""The flow's stop runs at depth 1: at depth 2 the field of this instance falls only to
~1e-3 by t = 400 (slow directions of the product), while on the row-normalized single
layer it decays exponentially and the stop is reached well inside the horizon."""


register_generic_tests(globals(), reference_field, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)
