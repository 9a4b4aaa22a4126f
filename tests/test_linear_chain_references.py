"""Every linear-chain solver against an independent reference (issue 11, item 1).

The reference field is written from docs/linear_chain.md §2a: the loss sigma/2 (p* - p)^2 (plus
beta/2 |w|^2 for L2) or the augmented Lagrangian 1/2 |w|^2 + lambda r + c sigma/2 r^2
(Minnorm, with multiplier ascent dlambda/dt = eta_lambda sigma dL_c/dlambda), differentiated
by the complex step; the state is (w_1, ..., w_L, lambda) for every algorithm (lambda = 0
for GD and L2). Flows are compared with solve_ivp (DOP853, rtol 1e-12), discrete solvers
with the hand-iterated Euler step, the imbalance dynamics with their sympy closed form.
"""
from __future__ import annotations

import numpy as np
import pytest

from analytic import linear_chain as exact
from solver_references import (Case, complex_step_gradient, references, register_generic_tests)
from theory.integrators import TABLEAUX

SETTING = "linear_chain"
P_STAR = 1.7
W0_2 = np.array([1.4, 0.35])
W0_3 = np.array([1.3, 0.4, 0.8])
TIMES = np.linspace(0.25, 3.0, 12)
STEPS = [1, 5, 40, 200]

FIXED_DT = {"euler": 2e-3, "heun": 1e-2, "rk4": 5e-2, "dopri5": 5e-2}
"""Fixed steps of the order checks: errors between ~1e-3 and ~2e-10 on these problems
(field Lipschitz constant ~3), inside the asymptotic regime (observed orders 1.00, 2.0,
4.1-4.2, 5.2-5.6) and far above the reference's ~5e-14 (see
solver_references.check_order)."""


def case(solver: str, label: str, w0=W0_3, **kwargs) -> Case:
    return Case(SETTING, solver, (P_STAR, w0), kwargs, label)


def reference_field(case: Case):
    """(y0, F) of the case from docs/linear_chain.md §2a (module docstring)."""
    p_star, w0 = case.args
    kw = case.kwargs
    sigma = kw.get("sigma", 1.0)
    if case.solver.startswith("minnorm"):
        eta_w = kw.get("eta_w", kw.get("lr_w", 1.0))
        eta_lambda = kw.get("eta_lambda", kw.get("lr_lambda", 1.0))
        c = kw["c"]

        def lagrangian(y):  # y: (..., L + 1)
            w, lam = y[..., :-1], y[..., -1]
            r = p_star - np.prod(w, axis=-1)
            return 0.5 * np.sum(w * w, axis=-1) + lam * r + 0.5 * c * sigma * r * r

        def field(y):
            g = complex_step_gradient(lagrangian, y)
            return np.append(-eta_w * g[:-1], eta_lambda * sigma * g[-1])

        return np.append(w0, kw.get("lambda0", 0.0)), field
    rate = kw.get("eta", kw.get("lr", 1.0))
    beta = kw.get("beta", 0.0)

    def objective(w):  # w: (..., L)
        r = p_star - np.prod(w, axis=-1)
        return 0.5 * sigma * r * r + 0.5 * beta * np.sum(w * w, axis=-1)

    def field(y):
        return np.append(-rate * complex_step_gradient(objective, y[:-1]), 0.0)

    return np.append(w0, 0.0), field


FLOW_BASE = {
    "gradient_flow": {"eta": 1.6, "sigma": 0.7},
    "l2_flow": {"beta": 0.3, "eta": 0.8, "sigma": 1.9},
    "minnorm_flow": {"c": 0.8, "eta_w": 1.3, "eta_lambda": 0.6, "sigma": 1.4, "lambda0": 0.2},
}

ADAPTIVE_CASES = [case(s, "adaptive", times=TIMES, **kw) for s, kw in FLOW_BASE.items()] + [
    case("gradient_flow", "defaults_L2", w0=W0_2, times=TIMES),
    case("minnorm_flow", "L2_c0", w0=W0_2, c=0.0, eta_w=0.7, eta_lambda=1.5, times=TIMES),
]
ORDER_CASES = [case(s, m, times=[1.0, 2.0], method=m, dt=FIXED_DT[m], **kw)
               for s, kw in FLOW_BASE.items() for m in sorted(TABLEAUX)]
DISCRETE_CASES = [
    case("gradient_descent", "sigma", lr=0.04, sigma=1.3, steps=STEPS),
    case("gradient_descent", "L2", w0=W0_2, lr=0.1, steps=STEPS),
    case("l2_descent", "sigma", lr=0.03, beta=0.2, sigma=0.8, steps=STEPS),
    case("minnorm_descent", "sigma", c=0.9, lr_w=0.05, lr_lambda=0.07, sigma=1.2, lambda0=0.1,
         steps=STEPS),
]
STOP_CASES = [
    case("gradient_descent", "stop", lr=0.04, sigma=1.3, stop_tol=1e-7, steps=[10, 50, 5000]),
    case("l2_descent", "stop", lr=0.05, beta=0.2, sigma=0.8, stop_tol=1e-7, steps=[10, 50, 5000]),
    case("minnorm_descent", "stop", c=0.9, lr_w=0.05, lr_lambda=0.07, sigma=1.2, stop_tol=1e-7,
         steps=[10, 50, 5000]),
    case("gradient_flow", "stop_adaptive", eta=1.6, sigma=0.7, stop_tol=1e-6,
         times=np.linspace(0.5, 40.0, 80)),
    # fixed rk4 at dt = 5e-3: the global error was 1.1e-8 at dt = 1e-2 (in the fast
    # transient of sigma = 1.9), so ~7e-10 at 5e-3 (C dt^4): the adaptive 1e-8 holds for it
    case("l2_flow", "stop_rk4", beta=0.3, eta=0.8, sigma=1.9, stop_tol=1e-6, method="rk4",
         dt=5e-3, times=np.linspace(0.5, 60.0, 120)),
    case("minnorm_flow", "stop_adaptive", c=0.8, eta_w=1.3, eta_lambda=0.6, sigma=1.4,
         stop_tol=1e-6, times=np.linspace(0.5, 60.0, 120)),
]


register_generic_tests(globals(), reference_field, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)


IMBALANCE_CASES = [
    case("gradient_flow", "imbalance", eta=1.6, sigma=0.7, times=TIMES),
    case("l2_flow", "imbalance", beta=0.3, eta=0.8, sigma=1.9, times=TIMES),
    case("minnorm_flow", "imbalance", c=0.8, eta_w=1.3, eta_lambda=0.6, sigma=1.4, times=TIMES),
]


@references("sympy", IMBALANCE_CASES)
@pytest.mark.parametrize("case", IMBALANCE_CASES, ids=repr)
def test_imbalances_follow_their_sympy_closed_form(case):
    """w_i^2 - w_1^2 = D_i(0) e^(-2 eta beta t) (L2), e^(-2 eta_w t) (Minnorm), constant (GD)
    (analytic.linear_chain.imbalance_solution_expr): the time scale itself, at eta != 1
    and sigma != 1, against a sympy solution. Tolerance 1e-8 relative: the adaptive
    integration error (solver_references.ADAPTIVE_TOLERANCE)."""
    traj = case.run()
    kw = case.kwargs
    algorithm = {"gradient_flow": "gd", "l2_flow": "l2", "minnorm_flow": "minnorm"}[case.solver]
    rate = kw.get("eta_w", kw.get("eta"))
    predicted = exact.imbalances(case.args[1], traj.times, algorithm, eta=rate,
                                 beta=kw.get("beta", 0.0))
    measured = traj.weights ** 2 - traj.weights[:, :1] ** 2
    np.testing.assert_allclose(measured, predicted, rtol=0, atol=1e-8)
