"""Every solver of theory.flat_minima against an independent reference.

The references are written here from docs/flat_minima.md §10a.1, §10a.2 and §10a.3 with complex-safe
operations: the objective L_beta + alpha D (softmax written as exp(z) / sum exp(z), no max
subtraction, logits of moderate size) differentiated by the complex step, exact to
rounding. The adversarial solver's field holds the probe fixed: its theta part is the
complex-step gradient of the objective at the frozen offset r v / |v|, its probe part
F v / |F v| - v with F v = J^T (diag p - p p^T) J v / P, J v the complex step of the logits
along v and J^T u the complex-step gradient of u^T z(theta) at fixed u.
Discrete solvers are compared with the hand-iterated step,
the flow with solve_ivp (DOP853, rtol 1e-12).
"""
from __future__ import annotations

import numpy as np

from solver_references import Case, complex_step_gradient, register_generic_tests
from theory import flat_minima as sim
from theory.integrators import TABLEAUX

SETTING = "flat_minima"
rng = np.random.default_rng(16)
X = rng.standard_normal((10, 3))
Y = np.arange(10) % 3
MLP = sim.softmax_mlp(X, Y, 3, 4)
LINEAR = sim.softmax_regression(X, Y, 3)
THETA_MLP = 0.8 * rng.standard_normal(MLP.size)
THETA_LIN = 1.5 * rng.standard_normal(LINEAR.size)
GAUSS = sim.gaussian_neighbours(MLP, 0.4, 3, seed=5)
BALL = sim.ball_neighbours(LINEAR, 0.6, 2, seed=6)
STEPS = [1, 5, 40]
TIMES = np.linspace(0.2, 1.5, 6)
FIXED_DT = {"euler": 1e-3, "heun": 5e-3, "rk4": 0.1, "dopri5": 0.3}


def logits(theta, model):
    """z for states along the last axis (complex-safe), K x P per state."""
    d, h, k = int(model.dims[1]), int(model.dims[2]), int(model.dims[3])
    Xt = model.X
    if model.kind == sim.LINEAR:
        return theta.reshape(theta.shape[:-1] + (k, d)) @ Xt
    W1 = theta[..., :h * d].reshape(theta.shape[:-1] + (h, d))
    W2 = theta[..., h * d:].reshape(theta.shape[:-1] + (k, h))
    return W2 @ np.tanh(W1 @ Xt)


def log_softmax(z):
    return z - np.log(np.exp(z).sum(axis=-2, keepdims=True))


def objective(theta, model, beta, alpha, deltas):
    """L_beta + alpha mean_s KL(p_theta || p_{theta+delta_s}), written out."""
    logp = log_softmax(logits(theta, model))
    P = model.n_samples
    ce = -logp[..., model.y, np.arange(P)].sum(axis=-1) / P
    value = ce + beta / 2 * (theta * theta).sum(axis=-1)
    if alpha:
        p = np.exp(logp)
        kl = 0.0
        for delta in deltas:
            kl = kl + (p * (logp - log_softmax(logits(theta + delta, model)))).sum(
                axis=(-2, -1)) / P
        value = value + alpha * kl / len(deltas)
    return value


def fisher_vector(theta, v, model):
    """F v = J^T (diag p - p p^T) J v / P: J v by the complex step of the logits, then the
    complex-step gradient of u^T z(theta) with u = (diag p - p p^T) J v / P held fixed."""
    h = 1e-30
    jv = logits(theta + 1j * h * v, model).imag / h
    p = np.exp(log_softmax(logits(theta, model)))
    u = p * (jv - (p * jv).sum(axis=0)) / model.n_samples
    return complex_step_gradient(lambda t: (u * logits(t, model)).sum(axis=(-2, -1)), theta)


def field_of(case: Case):
    kw = case.kwargs
    model = case.args[0]
    beta = kw.get("beta", 0.0)
    if case.solver == "adversarial_descent":
        p_size = model.size

        def field(y):
            theta, v = y[:p_size], y[p_size:]
            delta = kw["radius"] * v / np.linalg.norm(v)
            g = complex_step_gradient(lambda t: objective(t, model, beta, kw["alpha"],
                                                          [delta]), theta)
            fv = fisher_vector(theta, v, model)
            return np.concatenate((-kw["lr"] * g, fv / np.linalg.norm(fv) - v))
        return field
    alpha = kw.get("alpha", 0.0)
    deltas = kw["neighbours"].deltas if "neighbours" in kw else []
    scale = kw.get("eta", 1.0) if case.solver == "nrs_flow" else kw["lr"]
    return lambda y: -scale * complex_step_gradient(
        lambda t: objective(t, model, beta, alpha, deltas), y)


def start(case: Case) -> np.ndarray:
    theta0 = case.args[1]
    if case.solver != "adversarial_descent":
        return theta0
    v0 = np.random.default_rng(case.kwargs.get("probe_seed", 0)).standard_normal(theta0.size)
    return np.concatenate((theta0, v0 / np.linalg.norm(v0)))


def case(solver: str, label: str, args: tuple, **kwargs) -> Case:
    return Case(SETTING, solver, args, kwargs, label)


DISCRETE_CASES = [
    case("gradient_descent", "mlp", (MLP, THETA_MLP), lr=0.7, beta=0.05, steps=STEPS),
    case("gradient_descent", "linear", (LINEAR, THETA_LIN), lr=0.4, steps=STEPS),
    case("nrs_descent", "mlp_gauss", (MLP, THETA_MLP), lr=0.6, alpha=2.5, neighbours=GAUSS,
         beta=0.02, steps=STEPS),
    case("nrs_descent", "linear_ball", (LINEAR, THETA_LIN), lr=0.3, alpha=0.7, neighbours=BALL,
         steps=STEPS),
    case("adversarial_descent", "mlp", (MLP, THETA_MLP), lr=0.5, alpha=3.0, radius=0.4,
         beta=0.03, probe_seed=4, steps=STEPS),
    case("adversarial_descent", "linear", (LINEAR, THETA_LIN), lr=0.3, alpha=1.5, radius=0.7,
         steps=STEPS),
]
ADAPTIVE_CASES = [case("nrs_flow", "mlp_gauss", (MLP, THETA_MLP), alpha=2.5, neighbours=GAUSS,
                       beta=0.02, eta=0.8, times=TIMES)]
ORDER_CASES = [case("nrs_flow", m, (LINEAR, THETA_LIN), alpha=0.7, neighbours=BALL,
                    times=[0.6, 1.2], method=m, dt=FIXED_DT[m], eta=1.3)
               for m in sorted(TABLEAUX)]
STOP_CASES = [
    case("gradient_descent", "stop", (LINEAR, THETA_LIN), lr=0.5, beta=0.1, stop_tol=1e-6,
         steps=[10, 100, 5000]),
    case("nrs_descent", "stop", (LINEAR, THETA_LIN), lr=0.5, alpha=0.7, neighbours=BALL,
         beta=0.1, stop_tol=1e-6, steps=[10, 100, 5000]),
    case("adversarial_descent", "stop", (LINEAR, THETA_LIN), lr=0.5, alpha=0.7, radius=0.5,
         beta=0.1, stop_tol=1e-6, steps=[10, 100, 5000]),
    case("nrs_flow", "stop", (LINEAR, THETA_LIN), alpha=0.7, neighbours=BALL, beta=0.1,
         stop_tol=1e-3, times=np.geomspace(0.1, 80.0, 40)),
]


def test_fisher_vector_reference_is_the_kernel_free_definition():
    """The reference F v against J^T M J v with J formed column by column by the complex
    step (both written here)."""
    v = rng.standard_normal(MLP.size)
    h = 1e-30
    J = np.stack([logits(THETA_MLP + 1j * h * e, MLP).imag / h for e in np.eye(MLP.size)])
    p = np.exp(log_softmax(logits(THETA_MLP, MLP)))
    jv = np.einsum("i,ikm->km", v, J)
    u = p * (jv - (p * jv).sum(axis=0)) / MLP.n_samples
    np.testing.assert_allclose(fisher_vector(THETA_MLP, v, MLP),
                               np.einsum("ikm,km->i", J, u), rtol=1e-12, atol=1e-14)


def reference(case: Case):
    """(start, F) of the case."""
    return start(case), field_of(case)


register_generic_tests(globals(), reference, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)
