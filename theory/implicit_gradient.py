"""Implicit gradient regularization: gradient descent, the gradient flow and the modified
flow of Barrett & Dherin (ICLR 2021) on small models (docs/implicit_gradient.md).

A step size h of gradient descent theta <- theta - h grad E(theta) follows, to second order
in h per step, the modified flow (docs/implicit_gradient.md §11a.2, §11b.1)

    d theta/dt = -grad E - (h/2) Hess(E) grad E = -grad (E + (h/4) ||grad E||^2),

with the time t = n h after n steps, while the plain gradient flow d theta/dt = -grad E
follows it to first order only. Every solver here is one vector field

    F(theta) = -scale (grad E + c Hess(E) grad E),

=================  ==================  =====  ======
solver             kind                scale  c
=================  ==================  =====  ======
gradient_descent   unit Euler steps    lr     0
gradient_flow      Runge-Kutta         eta    0
modified_flow      Runge-Kutta         1      lr / 2
=================  ==================  =====  ======

The Hessian-vector product is exact (forward-mode differentiation of the backpropagated
gradient, docs/implicit_gradient.md §11a.3), never a finite difference.

Models (:class:`Model`; docs/implicit_gradient.md §11a.1), the parameters theta flat:

- ``quadratic(A)``: E = theta^T A theta / 2, A symmetric;
- ``network(X, Y, hidden, activation)``: f(x) = W_2 s(W_1 x) with s the identity
  (a two-layer linear net) or tanh, E = ||f(X) - Y||_F^2 / (2P) over the P samples (rows of
  X and Y); theta = (W_1 row-major, W_2 row-major);
- ``ab_model(y)``: E = (ab - y)^2 / 2, the two-layer linear net with one input x = 1, one
  hidden unit and one output, theta = (a, b) = (W_1, W_2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import solve, validation
from theory.elementary import tanh
from theory.linalg import (times_data_transpose_into, times_transpose_into, weight_times,
                           weight_transpose_times)
from theory.numba_options import jit
from theory.results import Trajectory
from theory.solve import Problem, compile_loops

QUADRATIC, LINEAR, TANH = range(3)
"""Model kinds of the kernel."""
ACTIVATIONS = {"linear": LINEAR, "tanh": TANH}
KIND, N_IN, HIDDEN, N_OUT = range(4)
"""Slots of the kernel's integer dimension vector."""
SCALE, CORRECTION = range(2)
"""Slots of the kernel's parameter vector: F = -scale (g + correction H g)."""

REFERENCE_RTOL, REFERENCE_ATOL = 1e-13, 1e-15
"""Tolerances of :func:`reference_flow` (adaptive dopri5): local errors at 1e-13 relative,
four orders below the smallest local error of the modified flow that the claims fit
(h^3 ~ 1e-8 at h = 2.5e-3 times the model's third derivatives)."""


@dataclass(frozen=True)
class Model:
    """A loss E(theta) on a flat parameter vector (module docstring).

    Attributes
    ----------
    kind : int
        :data:`QUADRATIC`, :data:`LINEAR` or :data:`TANH`.
    X, Y : ndarray
        Network data in column form (N_in x P, N_out x P); 1 x 1 zeros for a quadratic.
    A : ndarray
        The quadratic's symmetric matrix; 1 x 1 zeros for a network.
    dims : ndarray of int64
        (kind, N_in, hidden, N_out).
    """

    kind: int
    X: np.ndarray
    Y: np.ndarray
    A: np.ndarray
    dims: np.ndarray

    @property
    def size(self) -> int:
        """Number of parameters."""
        if self.kind == QUADRATIC:
            return self.A.shape[0]
        return int(self.dims[HIDDEN] * (self.dims[N_IN] + self.dims[N_OUT]))


def quadratic(A) -> Model:
    """E = theta^T A theta / 2 for a symmetric matrix ``A``."""
    A = validation.square_matrix("A", A)
    if not np.allclose(A, A.T, rtol=0.0, atol=1e-12 * max(1.0, float(np.abs(A).max()))):
        raise ValueError("A must be symmetric")
    A = np.ascontiguousarray((A + A.T) / 2)
    zero = np.zeros((1, 1))
    return Model(QUADRATIC, zero, zero, A, np.array([QUADRATIC, 0, 0, 0], dtype=np.int64))


def network(X, Y, hidden: int, activation: str = "tanh") -> Model:
    """f(x) = W_2 s(W_1 x), E = ||f(X) - Y||^2 / (2P); X (P x N_in) and Y (P x N_out)
    with samples as rows, ``activation`` "linear" or "tanh"."""
    X, Y = validation.paired_samples(X, Y)
    hidden = validation.count("hidden", hidden)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    kind = ACTIVATIONS[activation]
    return Model(kind, np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T), np.zeros((1, 1)),
                 np.array([kind, X.shape[1], hidden, Y.shape[1]], dtype=np.int64))


def ab_model(y: float) -> Model:
    """E = (ab - y)^2 / 2 (docs/implicit_gradient.md §11a.1): the linear network with one
    sample x = 1, one hidden unit and target ``y``; theta = (a, b)."""
    return network([[1.0]], [[validation.finite_scalar("y", y)]], 1, "linear")


def network_init(model: Model, scale: float, seed: int) -> np.ndarray:
    """theta for a network model with W_1 ~ N(0, scale^2 / N_in), W_2 ~ N(0, scale^2 /
    hidden)."""
    if model.kind == QUADRATIC:
        raise ValueError("model must be a network (network_init draws layer weights)")
    scale = validation.positive_scalar("scale", scale)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    n_in, hidden, n_out = (int(model.dims[i]) for i in (N_IN, HIDDEN, N_OUT))
    return np.concatenate((rng.standard_normal(hidden * n_in) * scale / np.sqrt(n_in),
                           rng.standard_normal(n_out * hidden) * scale / np.sqrt(hidden)))


# --------------------------------------------------------------------------- instances

AB_INSTANCE: dict = {"y": 1.0, "theta0": (2.0, -0.5)}
"""The named ab-model run (docs/implicit_gradient.md §11a.4): target 1, an unbalanced
start with ab = -1 and a^2 - b^2 = 3.75, whose gradient-flow minimum has lambda_max =
sqrt(3.75^2 + 4) = 4.25."""

NET_INSTANCE: dict = {"n_in": 3, "hidden": 4, "n_out": 2, "n_samples": 8, "scale": 1.0}
"""Sizes of the small networks (docs/implicit_gradient.md §11a.4): X ~ N(0, 1), targets
from a random network of the same form, weights from :func:`network_init`."""


def network_instance(activation: str, seed: int) -> tuple[Model, np.ndarray]:
    """(model, theta0) of :data:`NET_INSTANCE`: X ~ N(0, 1) (P x N_in), Y = f_teacher(X)
    with a teacher network drawn like theta0 (both from ``seed``)."""
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    s = NET_INSTANCE
    X = rng.standard_normal((s["n_samples"], s["n_in"]))
    shape = network(X, np.zeros((s["n_samples"], s["n_out"])), s["hidden"], activation)
    teacher = network_init(shape, s["scale"], int(rng.integers(2 ** 31)))
    Y = predict(shape, teacher).T
    model = network(X, Y, s["hidden"], activation)
    return model, network_init(model, s["scale"], int(rng.integers(2 ** 31)))


def random_quadratic(eigenvalues, seed: int) -> Model:
    """A = Q diag(eigenvalues) Q^T with Q Haar-random orthogonal (from ``seed``)."""
    lam = validation.finite_vector("eigenvalues", eigenvalues)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    q, r = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    q = q * np.sign(np.diag(r))
    return quadratic((q * lam) @ q.T)


# --------------------------------------------------------------------------- kernels


@jit
def gradient_into(y, args, grad, work):
    """grad E(y) into ``grad``; for networks leaves the forward and backward quantities
    in ``work`` for :func:`hessian_vector_into` (:func:`workspace`). Products with the
    flat weights through :func:`theory.linalg.weight_times` and its siblings (loops when
    tiny, BLAS otherwise)."""
    X, Y, A, dims, X_rows = args[0], args[1], args[2], args[3], args[5]
    kind = dims[KIND]
    if kind == QUADRATIC:
        n = y.size
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += A[i, j] * y[j]
            grad[i] = s
        return
    act, resid, back, delta = work[2], work[3], work[4], work[5]
    n_in, hidden, n_out = dims[N_IN], dims[HIDDEN], dims[N_OUT]
    P = X.shape[1]
    o2 = hidden * n_in
    weight_times(y, 0, X, act)  # Z = W_1 X, then s(Z) in place
    if kind == TANH:  # the branch outside the loops, so that LLVM vectorizes them
        for i in range(hidden):
            for mu in range(P):
                act[i, mu] = tanh(act[i, mu])  # vectorizable (theory.elementary)
    weight_times(y, o2, act, resid)  # R = W_2 s(Z) - Y
    for k in range(n_out):
        for mu in range(P):
            resid[k, mu] -= Y[k, mu]
    weight_transpose_times(y, o2, resid, back)  # W_2^T R
    if kind == TANH:  # times s'(Z) = 1 - s(Z)^2, formed where used, never stored
        for i in range(hidden):
            for mu in range(P):
                t = act[i, mu]
                delta[i, mu] = back[i, mu] * (1.0 - t * t)
    else:  # s' = 1
        for i in range(hidden):
            for mu in range(P):
                delta[i, mu] = back[i, mu]
    times_transpose_into(resid, act, grad, o2)  # R s(Z)^T / P
    times_data_transpose_into(delta, X, X_rows, grad, 0)  # ((W_2^T R) * s'(Z)) X^T / P
    for i in range(y.size):
        grad[i] /= P


@jit
def hessian_vector_into(y, v, args, out, work):
    """Hess(E)(y) v into ``out``, exactly: the directional derivative of the gradient
    along v (forward mode over the backward pass, docs/implicit_gradient.md §11a.3).
    Networks need :func:`gradient_into` called at ``y`` first (it fills ``work``)."""
    X, A, dims, X_rows = args[0], args[2], args[3], args[5]
    kind = dims[KIND]
    if kind == QUADRATIC:
        n = y.size
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += A[i, j] * v[j]
            out[i] = s
        return
    act, resid, back = work[2], work[3], work[4]
    zdot, sdot, udot, rdot, rpart, part = work[5], work[6], work[7], work[8], work[9], work[10]
    n_in, hidden, n_out = dims[N_IN], dims[HIDDEN], dims[N_OUT]
    P = X.shape[1]
    o2 = hidden * n_in
    weight_times(v, 0, X, zdot)  # Zdot = V_1 X, s(Z)' = s'(Z) * Zdot
    if kind == TANH:  # s'(Z) = 1 - s(Z)^2
        for i in range(hidden):
            for mu in range(P):
                t = act[i, mu]
                sdot[i, mu] = (1.0 - t * t) * zdot[i, mu]
    else:
        for i in range(hidden):
            for mu in range(P):
                sdot[i, mu] = zdot[i, mu]
    weight_times(v, o2, act, rdot)  # Rdot = V_2 s(Z) + W_2 (s'(Z) * Zdot)
    weight_times(y, o2, sdot, rpart)
    for k in range(n_out):
        for mu in range(P):
            rdot[k, mu] += rpart[k, mu]
    times_transpose_into(rdot, act, out, o2)  # d/dv of R s(Z)^T / P
    times_transpose_into(resid, sdot, part, 0)
    for i in range(part.size):
        out[o2 + i] += part[i]
    weight_transpose_times(v, o2, resid, udot)  # d/dv of W_2^T R = V_2^T R + W_2^T Rdot
    weight_transpose_times(y, o2, rdot, sdot)
    if kind == TANH:  # d/dv of (W_2^T R) * s'(Z); s''(Z) = -2 s(Z) s'(Z) for tanh
        for i in range(hidden):
            for mu in range(P):
                t = act[i, mu]
                slope = 1.0 - t * t
                curve = -2.0 * t * slope
                udot[i, mu] = ((udot[i, mu] + sdot[i, mu]) * slope
                               + back[i, mu] * curve * zdot[i, mu])
    else:  # s' = 1, s'' = 0
        for i in range(hidden):
            for mu in range(P):
                udot[i, mu] = udot[i, mu] + sdot[i, mu]
    times_data_transpose_into(udot, X, X_rows, out, 0)  # times X^T
    for i in range(y.size):
        out[i] /= P


@jit
def field(y, args, out, work):
    """F(y) = -scale (g + c H g) into ``out`` (module docstring); ``args`` = (X, Y, A, dims,
    params, X^T) (X^T C-contiguous, for :func:`theory.linalg.times_data_transpose_into`),
    ``work`` from :func:`workspace` (work[0] holds g, work[1] H g)."""
    params = args[4]
    grad, hg = work[0], work[1]
    gradient_into(y, args, grad, work)
    scale, c = params[SCALE], params[CORRECTION]
    if c == 0.0:
        for i in range(y.size):
            out[i] = -scale * grad[i]
        return
    hessian_vector_into(y, grad, args, hg, work)
    for i in range(y.size):
        out[i] = -scale * (grad[i] + c * hg[i])


@jit
def project(y, args):
    """No constraint to project onto."""


@jit
def workspace(y, args):
    """Scratch of :func:`field`: g, H g; per hidden unit and sample s(Z), the
    backpropagated error W_2^T R, the error times s'(Z) (reused for the forward derivative
    of Z), the derivative of s(Z) and of W_2^T R; per output and sample R, its derivative
    and a partial product; and a partial W_2 block."""
    X, dims = args[0], args[3]
    P = X.shape[1]
    hidden, n_out = dims[HIDDEN], dims[N_OUT]
    return (np.empty(y.size), np.empty(y.size), np.empty((hidden, P)),
            np.empty((n_out, P)), np.empty((hidden, P)), np.empty((hidden, P)),
            np.empty((hidden, P)), np.empty((hidden, P)), np.empty((n_out, P)),
            np.empty((n_out, P)), np.empty(n_out * hidden))


LOOPS = compile_loops(field, project, workspace)


# --------------------------------------------------------------------------- NumPy twins


def _layers(model: Model, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_in, hidden, n_out = (int(model.dims[i]) for i in (N_IN, HIDDEN, N_OUT))
    return (theta[:hidden * n_in].reshape(hidden, n_in),
            theta[hidden * n_in:].reshape(n_out, hidden))


def _activation(model: Model, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """s(Z), s'(Z), s''(Z)."""
    if model.kind == TANH:
        t = np.tanh(Z)
        return t, 1.0 - t * t, -2.0 * t * (1.0 - t * t)
    return Z, np.ones_like(Z), np.zeros_like(Z)


def predict(model: Model, theta) -> np.ndarray:
    """Network outputs f(X) in column form (N_out x P)."""
    W1, W2 = _layers(model, np.asarray(theta, dtype=np.float64))
    return W2 @ _activation(model, W1 @ model.X)[0]


def loss(model: Model, theta) -> float:
    """E(theta)."""
    theta = _theta(model, theta)
    if model.kind == QUADRATIC:
        return float(theta @ model.A @ theta / 2)
    R = predict(model, theta) - model.Y
    return float(np.sum(R * R) / (2 * model.X.shape[1]))


def gradient(model: Model, theta) -> np.ndarray:
    """grad E(theta) (NumPy twin of :func:`gradient_into`)."""
    theta = _theta(model, theta)
    if model.kind == QUADRATIC:
        return model.A @ theta
    W1, W2 = _layers(model, theta)
    S, dS, _ = _activation(model, W1 @ model.X)
    R = W2 @ S - model.Y
    P = model.X.shape[1]
    return np.concatenate((((W2.T @ R) * dS @ model.X.T / P).ravel(), (R @ S.T / P).ravel()))


def hessian_vector_product(model: Model, theta, v) -> np.ndarray:
    """Hess(E)(theta) v, exactly (NumPy twin of :func:`hessian_vector_into`)."""
    theta = _theta(model, theta)
    v = validation.finite_vector("v", v, size=model.size)
    if model.kind == QUADRATIC:
        return model.A @ v
    W1, W2 = _layers(model, theta)
    V1, V2 = _layers(model, v)
    X, P = model.X, model.X.shape[1]
    S, dS, ddS = _activation(model, W1 @ X)
    R = W2 @ S - model.Y
    Zdot = V1 @ X
    Rdot = V2 @ S + W2 @ (dS * Zdot)
    out2 = (Rdot @ S.T + R @ (dS * Zdot).T) / P
    Edot = (V2.T @ R + W2.T @ Rdot) * dS + (W2.T @ R) * ddS * Zdot
    return np.concatenate(((Edot @ X.T / P).ravel(), out2.ravel()))


def hessian(model: Model, theta) -> np.ndarray:
    """The dense Hessian, column j = Hess(E) e_j (:func:`hessian_vector_product`)."""
    theta = _theta(model, theta)
    return np.column_stack([hessian_vector_product(model, theta, e)
                            for e in np.eye(model.size)])


def sharpness(model: Model, theta) -> float:
    """lambda_max of the Hessian at theta (numpy eigvalsh of :func:`hessian`)."""
    H = hessian(model, theta)
    return float(np.linalg.eigvalsh((H + H.T) / 2)[-1])


def field_numpy(y: np.ndarray, model: Model, params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`."""
    g = gradient(model, y)
    if params[CORRECTION] == 0.0:
        return -params[SCALE] * g
    return -params[SCALE] * (g + params[CORRECTION] * hessian_vector_product(model, y, g))


# --------------------------------------------------------------------------- solvers


def _theta(model: Model, theta, name: str = "theta") -> np.ndarray:
    """``theta`` checked against ``model``: a finite vector of model.size entries."""
    if not isinstance(model, Model):
        raise ValueError(f"model must be a Model (quadratic, network, ab_model), got "
                         f"{type(model).__name__}")
    return validation.finite_vector(name, theta, size=model.size)


def kernel_args(model: Model, params: np.ndarray) -> tuple:
    """The ``args`` of :func:`field` for ``model`` and the parameter vector ``params``
    (:data:`SCALE`, :data:`CORRECTION`): the model's arrays, ``params`` and X^T."""
    return model.X, model.Y, model.A, model.dims, params, np.ascontiguousarray(model.X.T)


def _problem(model: Model, theta0, scale: float, correction: float) -> tuple[Problem, np.ndarray]:
    y0 = _theta(model, theta0, "theta0")
    params = np.array([scale, correction])
    problem = Problem(LOOPS, kernel_args(model, params),
                      lambda y: field_numpy(y, model, params))
    return problem, y0


def gradient_descent(model: Model, theta0, *, lr: float, steps, **options) -> Trajectory:
    """theta <- theta - lr grad E(theta) (docs/implicit_gradient.md §11a.2).

    ``steps``: sample step indices; ``**options``: ``stop_tol``, ``max_steps``, ``backend``
    (:mod:`theory.solve`). A step size past the stability edge diverges with the step named.
    """
    lr = validation.positive_scalar("lr", lr)
    return solve.discrete(*_problem(model, theta0, lr, 0.0), steps, **options)


def gradient_flow(model: Model, theta0, *, times, eta: float = 1.0, **options) -> Trajectory:
    """d theta/dt = -eta grad E (docs/implicit_gradient.md §11a.2).

    ``**options``: the integration options of :func:`theory.solve.flow`.
    """
    eta = validation.positive_scalar("eta", eta)
    return solve.flow(*_problem(model, theta0, eta, 0.0), times, **options)


def modified_flow(model: Model, theta0, *, lr: float, times, **options) -> Trajectory:
    """d theta/dt = -grad E - (lr/2) Hess(E) grad E, the modified flow of gradient descent
    with step size h = ``lr`` in the time t = n lr (Barrett & Dherin 2021, Theorem 3.1;
    docs/implicit_gradient.md §11b.1). ``**options``: as :func:`gradient_flow`."""
    lr = validation.positive_scalar("lr", lr)
    return solve.flow(*_problem(model, theta0, 1.0, lr / 2), times, **options)


def reference_flow(model: Model, theta0, *, times, lr: float | None = None) -> Trajectory:
    """The gradient flow (``lr=None``) or the modified flow of step size ``lr``, by
    adaptive dopri5 at :data:`REFERENCE_RTOL`, :data:`REFERENCE_ATOL` (the reference the
    claims measure gradient descent against; checked against scipy's DOP853 in the
    tests)."""
    options = {"rtol": REFERENCE_RTOL, "atol": REFERENCE_ATOL, "max_steps": 10 ** 7}
    if lr is None:
        return gradient_flow(model, theta0, times=times, **options).raise_if_diverged()
    return modified_flow(model, theta0, lr=lr, times=times, **options).raise_if_diverged()


SOLVERS = {
    "gradient_descent": gradient_descent,
    "gradient_flow": gradient_flow,
    "modified_flow": modified_flow,
}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    model, theta0 = network_instance("tanh", seed=1)
    args = (model, theta0)
    return {"gradient_descent": (args, {"lr": 0.1, "steps": [5, 40]}),
            "gradient_flow": (args, {"times": [0.5, 2.0]}),
            "modified_flow": (args, {"lr": 0.1, "times": [0.5, 2.0], "method": "rk4",
                                     "dt": 0.01})}
