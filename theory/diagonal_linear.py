"""Diagonal linear networks x = u^L - v^L (elementwise) on underdetermined regression
(core-settings §4): A is M x N with M < N, loss 1/2 ||A x - y||^2, g = A^T (A x - y).

Three parametrizations, one vector field each (``depth`` = L):

- plain gradient flow on (u, v):  du/dt = -eta L u^(L-1) g,  dv/dt = eta L v^(L-1) g;
- per-coordinate weight normalization (polar, core-settings §4B, reconstructed [R]):
  u = r cos(theta), v = r sin(theta), x = r^L c_L(theta),
  dr/dt = -eta_r L r^(L-1) c_L g,  dtheta/dt = eta_theta L r^L s_L g,
  c_L = cos^L - sin^L, s_L = cos^(L-1) sin + sin^(L-1) cos;
- global weight normalization w = (u, v) = R phi, |phi| = 1:
  dR/dt = -eta_R phi . grad_w,  dphi/dt = -eta_phi R (grad_w - (phi . grad_w) phi),
  with phi renormalized after every step.

Flows are integrated by Dormand-Prince 5(4) with adaptive steps: at small alpha the flow
waits exponentially long near the start (rates ~alpha^2) and then moves fast, and large
rate ratios kappa = eta_r/eta_theta separate the radial and angular time scales; a
fixed step is either wasteful or unstable across those phases, while the embedded error
estimate keeps the local error at atol + rtol |y| everywhere. The defaults (rtol 1e-12,
atol 1e-15) are deliberately tight: x = u^L - v^L cancels two numbers of size alpha^L,
and at loose tolerances the explicit method also spends more steps near its stability
limit (measured: 2.5e3 steps at rtol 1e-12 against 7.6e3 at 1e-10, alpha = 0.01). The
method is explicit, so a long stiff tail (large kappa, or a horizon far beyond
convergence) costs steps at the stability limit; ``tol`` ends a run at a fixed point. Discrete algorithms are
forward Euler with unit step and the learning rates in the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from theory import validation
from theory._numba import jit
from theory.integrators import (DOPRI5, DOPRI5_ERROR, EULER, discrete_plan, error_ratio,
                                integrate_adaptive_numpy, integrate_numpy, max_abs,
                                out_of_bounds, rk_update, stage_state, step_factor)
from theory.results import (CODE_BUDGET, CODE_CONVERGED, CODE_DIVERGED, CODE_MAX_STEPS, Status,
                            Trajectory)

Backend = Literal["numba", "numpy"]
GF, POLAR, GLOBAL = 0, 1, 2
"""Parametrization codes passed to the kernels."""
ALGORITHM, DEPTH, RATE_1, RATE_2 = range(4)
"""Slots of the parameter vector (RATE_1, RATE_2: eta; eta_r, eta_theta; eta_R, eta_phi)."""


@dataclass(frozen=True)
class DiagonalTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` with the parametrization needed to read x.

    States: (u, v) for gradient flow, (r, theta) for polar WN, (R, phi) for global WN.
    ``rejected`` counts rejected adaptive steps.
    """

    parametrization: int = GF
    depth: int = 2
    rejected: int = 0

    @property
    def x(self) -> np.ndarray:
        """x(t) = u^L - v^L at every sample, shape (n, N)."""
        return np.array([to_x(s, self.parametrization, self.depth) for s in self.states])


def to_x(state: np.ndarray, parametrization: int, depth: int) -> np.ndarray:
    """x = u^L - v^L from a state of the given parametrization."""
    if parametrization == GF:
        u, v = np.split(state, 2)
    elif parametrization == POLAR:
        r, theta = np.split(state, 2)
        u, v = r * np.cos(theta), r * np.sin(theta)
    else:
        u, v = np.split(state[0] * state[1:], 2)
    return u ** depth - v ** depth


def initial_state(parametrization: int, alpha: float, n: int) -> np.ndarray:
    """The start u = v = alpha 1 (x = 0) in each parametrization: (alpha, alpha);
    (r, theta) = (alpha sqrt 2, pi/4); (R, phi) = (alpha sqrt(2N), 1/sqrt(2N))."""
    alpha = validation.positive_scalar("alpha", alpha)
    n = validation.count("n", n)
    if parametrization == GF:
        return np.full(2 * n, alpha)
    if parametrization == POLAR:
        return np.concatenate((np.full(n, alpha * np.sqrt(2.0)), np.full(n, np.pi / 4)))
    return np.concatenate(([alpha * np.sqrt(2.0 * n)], np.full(2 * n, 1.0 / np.sqrt(2.0 * n))))


# --------------------------------------------------------------------------- kernels


@jit
def _vector_field(y, A, b, params, out, x, g, residual):
    """Write F(y) into ``out`` (module docstring); ``x``, ``g`` are scratch of size N and
    ``residual`` of size M; the two products with A go through BLAS (np.dot into buffers)."""
    m, n = A.shape
    algorithm = int(params[ALGORITHM])
    depth = int(params[DEPTH])
    for i in range(n):
        if algorithm == GF:
            u, v = y[i], y[n + i]
        elif algorithm == POLAR:
            u, v = y[i] * np.cos(y[n + i]), y[i] * np.sin(y[n + i])
        else:
            u, v = y[0] * y[1 + i], y[0] * y[1 + n + i]
        x[i] = u ** depth - v ** depth
    np.dot(A, x, residual)
    for k in range(m):
        residual[k] -= b[k]
    np.dot(A.T, residual, g)
    if algorithm == GF:
        for i in range(n):
            out[i] = -params[RATE_1] * depth * y[i] ** (depth - 1) * g[i]
            out[n + i] = params[RATE_1] * depth * y[n + i] ** (depth - 1) * g[i]
    elif algorithm == POLAR:
        for i in range(n):
            r, c, s = y[i], np.cos(y[n + i]), np.sin(y[n + i])
            c_l = c ** depth - s ** depth
            s_l = c ** (depth - 1) * s + s ** (depth - 1) * c
            out[i] = -params[RATE_1] * depth * r ** (depth - 1) * c_l * g[i]
            out[n + i] = params[RATE_2] * depth * r ** depth * s_l * g[i]
    else:
        radius = y[0]
        along = 0.0  # phi . grad_w, grad_w = (L u^(L-1) g, -L v^(L-1) g)
        for i in range(n):
            gu = depth * (radius * y[1 + i]) ** (depth - 1) * g[i]
            gv = -depth * (radius * y[1 + n + i]) ** (depth - 1) * g[i]
            along += y[1 + i] * gu + y[1 + n + i] * gv
            out[1 + i] = gu
            out[1 + n + i] = gv
        out[0] = -params[RATE_1] * along
        for j in range(1, 2 * n + 1):
            out[j] = -params[RATE_2] * radius * (out[j] - along * y[j])


@jit
def _normalize_direction(y, algorithm):
    """Global WN: phi <- phi / |phi| (the projection onto the sphere)."""
    if algorithm == GLOBAL:
        norm = 0.0
        for j in range(1, y.size):
            norm += y[j] * y[j]
        norm = np.sqrt(norm)
        for j in range(1, y.size):
            y[j] /= norm


@jit
def _integrate(y0, A, b, params, tab_a, tab_b, counts, sizes, tol, out):
    """Fixed-step Runge-Kutta loop (discrete algorithms); no allocation inside the loop."""
    dim = y0.size
    stages = tab_b.size
    algorithm = int(params[ALGORITHM])
    y = y0.copy()
    k = np.empty((stages, dim))
    ys = np.empty(dim)
    x = np.empty(A.shape[1])
    g = np.empty(A.shape[1])
    residual = np.empty(A.shape[0])
    out[0, :] = y
    step = 0
    n = counts.size
    for interval in range(n):
        h = sizes[interval]
        for _ in range(counts[interval]):
            for s in range(stages):
                stage_state(y, k, tab_a, s, h, ys)
                _vector_field(ys, A, b, params, k[s], x, g, residual)
            if tol > 0.0 and max_abs(k[0]) <= tol:
                for row in range(interval + 1, n + 1):
                    out[row, :] = y
                return CODE_CONVERGED, step, n + 1
            rk_update(y, k, tab_b, h)
            _normalize_direction(y, algorithm)
            step += 1
            if out_of_bounds(y):
                return CODE_DIVERGED, step, interval + 1
        out[interval + 1, :] = y
    return CODE_MAX_STEPS, step, n + 1


@jit
def _integrate_adaptive(y0, A, b, params, tab_a, tab_b, b_err, order, times, h0, atol, rtol,
                        max_steps, tol, out):
    """Dormand-Prince 5(4) loop landing on every sample time; no allocation inside the loop.

    Returns (status code, accepted steps, rejected steps, valid rows of ``out``).
    """
    dim = y0.size
    stages = tab_b.size
    algorithm = int(params[ALGORITHM])
    y = y0.copy()
    y_new = np.empty(dim)
    k = np.empty((stages, dim))
    ys = np.empty(dim)
    x = np.empty(A.shape[1])
    g = np.empty(A.shape[1])
    residual = np.empty(A.shape[0])
    out[0, :] = y
    t, h = 0.0, h0
    accepted, rejected = 0, 0
    for sample in range(times.size):
        target = times[sample]
        while t < target:
            if accepted + rejected >= max_steps:
                return CODE_BUDGET, accepted, rejected, sample + 1
            h = min(h, target - t)
            for s in range(stages):
                stage_state(y, k, tab_a, s, h, ys)
                _vector_field(ys, A, b, params, k[s], x, g, residual)
            if tol > 0.0 and max_abs(k[0]) <= tol:
                for row in range(sample + 1, times.size + 1):
                    out[row, :] = y
                return CODE_CONVERGED, accepted, rejected, times.size + 1
            for i in range(dim):
                y_new[i] = y[i]
            rk_update(y_new, k, tab_b, h)
            ratio = error_ratio(y, k, b_err, h, atol, rtol, y_new)
            if ratio <= 1.0:
                for i in range(dim):
                    y[i] = y_new[i]
                _normalize_direction(y, algorithm)
                t = target if target - t <= h else t + h
                accepted += 1
                if out_of_bounds(y):
                    return CODE_DIVERGED, accepted, rejected, sample + 1
            else:
                rejected += 1
            h *= step_factor(ratio, order)
        out[sample + 1, :] = y
    return CODE_MAX_STEPS, accepted, rejected, times.size + 1


def vector_field_numpy(y: np.ndarray, A: np.ndarray, b: np.ndarray,
                       params: np.ndarray) -> np.ndarray:
    """NumPy twin of the jitted vector field."""
    n = A.shape[1]
    algorithm, depth = int(params[ALGORITHM]), int(params[DEPTH])
    g = A.T @ (A @ to_x(y, algorithm, depth) - b)
    if algorithm == GF:
        u, v = y[:n], y[n:]
        return np.concatenate((-params[RATE_1] * depth * u ** (depth - 1) * g,
                               params[RATE_1] * depth * v ** (depth - 1) * g))
    if algorithm == POLAR:
        r, c, s = y[:n], np.cos(y[n:]), np.sin(y[n:])
        c_l = c ** depth - s ** depth
        s_l = c ** (depth - 1) * s + s ** (depth - 1) * c
        return np.concatenate((-params[RATE_1] * depth * r ** (depth - 1) * c_l * g,
                               params[RATE_2] * depth * r ** depth * s_l * g))
    radius, phi = y[0], y[1:]
    u, v = np.split(radius * phi, 2)
    grad = np.concatenate((depth * u ** (depth - 1) * g, -depth * v ** (depth - 1) * g))
    along = phi @ grad
    return np.concatenate(([-params[RATE_1] * along],
                           -params[RATE_2] * radius * (grad - along * phi)))


# --------------------------------------------------------------------------- wrappers


def problem(A, y) -> tuple[np.ndarray, np.ndarray]:
    """Validated (A, y): A finite M x N with M < N, y finite of length M."""
    A = validation.finite_matrix("A", A)
    if A.shape[0] >= A.shape[1]:
        raise ValueError(f"A must be underdetermined (M < N), got shape {A.shape}")
    return A, validation.finite_vector("y", y, size=A.shape[0])


def _normalize(y: np.ndarray, parametrization: int) -> np.ndarray:
    if parametrization != GLOBAL:
        return y
    return np.concatenate((y[:1], y[1:] / np.linalg.norm(y[1:])))


def _params(parametrization: int, depth: int, rate_1: float, rate_2: float = 0.0) -> np.ndarray:
    return np.array([parametrization, validation.depth(depth), rate_1, rate_2], dtype=np.float64)


def _start(parametrization, alpha, n, state0):
    if state0 is None:
        return initial_state(parametrization, alpha, n)
    size = 2 * n + (1 if parametrization == GLOBAL else 0)
    return validation.finite_vector("state0", state0, size=size)


def _flow(A, y, parametrization, params, alpha, times, atol, rtol, max_steps, state0, tol,
          backend: Backend) -> DiagonalTrajectory:
    A, b = problem(A, y)
    times = validation.sample_times("times", times)
    atol, rtol = validation.positive_scalar("atol", atol), validation.positive_scalar("rtol", rtol)
    max_steps = validation.count("max_steps", max_steps)
    tol = validation.nonnegative_scalar("tol", tol)
    y0 = _start(parametrization, alpha, A.shape[1], state0)
    h0 = min(1e-3, times[-1])
    if backend == "numba":
        out = np.empty((times.size + 1, y0.size))
        code, accepted, rejected, valid = _integrate_adaptive(
            y0, A, b, params, DOPRI5.a, DOPRI5.b, DOPRI5_ERROR, float(DOPRI5.order), times, h0,
            atol, rtol, max_steps, tol, out)
    elif backend == "numpy":
        code, accepted, rejected, valid, out = integrate_adaptive_numpy(
            lambda s: vector_field_numpy(s, A, b, params), y0, times, h0, atol, rtol, max_steps,
            tol, lambda s: _normalize(s, parametrization))
    else:
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    status = Status.from_code(code)
    return DiagonalTrajectory(times=np.concatenate(([0.0], times))[:valid],
                              states=out[:valid].copy(), status=status, steps=int(accepted),
                              diverged_at=int(accepted) if status is Status.DIVERGED else None,
                              parametrization=parametrization, depth=int(params[DEPTH]),
                              rejected=int(rejected))


def _discrete(A, y, parametrization, params, alpha, steps, tol, state0,
              backend: Backend) -> DiagonalTrajectory:
    A, b = problem(A, y)
    steps = validation.sample_steps("steps", steps)
    tol = validation.nonnegative_scalar("tol", tol)
    y0 = _start(parametrization, alpha, A.shape[1], state0)
    plan = discrete_plan(steps)
    if backend == "numba":
        out = np.empty((plan.counts.size + 1, y0.size))
        code, taken, valid = _integrate(y0, A, b, params, EULER.a, EULER.b, plan.counts,
                                        plan.sizes, tol, out)
    elif backend == "numpy":
        code, taken, valid, out = integrate_numpy(
            lambda s: vector_field_numpy(s, A, b, params), y0, EULER, plan, tol,
            lambda s: _normalize(s, parametrization))
    else:
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    status = Status.from_code(code)
    return DiagonalTrajectory(times=np.concatenate(([0.0], steps.astype(float)))[:valid],
                              states=out[:valid].copy(), status=status, steps=int(taken),
                              diverged_at=int(taken) if status is Status.DIVERGED else None,
                              parametrization=parametrization, depth=int(params[DEPTH]))


def gradient_flow(A, y, *, alpha: float, times, depth: int = 2, eta: float = 1.0,
                  state0=None, atol: float = 1e-15, rtol: float = 1e-12,
                  max_steps: int = 2_000_000, tol: float = 1e-11,
                  backend: Backend = "numba") -> DiagonalTrajectory:
    """Gradient flow of x = u^L - v^L from u = v = alpha (or ``state0`` = (u, v)).

    Adaptive Dormand-Prince 5(4) with local error <= atol + rtol |y| per step; status
    converged once the field's largest component is <= ``tol`` (0: never), step_budget if
    ``max_steps`` (accepted + rejected) run out first.
    """
    params = _params(GF, depth, validation.positive_scalar("eta", eta))
    return _flow(A, y, GF, params, alpha, times, atol, rtol, max_steps, state0, tol, backend)


def gradient_descent(A, y, *, alpha: float, lr: float, steps, depth: int = 2, state0=None,
                     tol: float = 0.0, backend: Backend = "numba") -> DiagonalTrajectory:
    """Gradient descent u <- u - lr L u^(L-1) g, v <- v + lr L v^(L-1) g."""
    params = _params(GF, depth, validation.positive_scalar("lr", lr))
    return _discrete(A, y, GF, params, alpha, steps, tol, state0, backend)


def wn_flow(A, y, *, alpha: float, times, eta_r: float, eta_theta: float, depth: int = 2,
            state0=None, atol: float = 1e-15, rtol: float = 1e-12, max_steps: int = 2_000_000,
            tol: float = 1e-11, backend: Backend = "numba") -> DiagonalTrajectory:
    """Per-coordinate weight-normalized flow in polar coordinates (module docstring) from
    r = alpha sqrt 2, theta = pi/4 (x = 0). kappa = eta_r / eta_theta is the rate ratio;
    eta_theta = eta / r0^2 makes it coincide with gradient flow at t = 0."""
    params = _params(POLAR, depth, validation.positive_scalar("eta_r", eta_r),
                     validation.positive_scalar("eta_theta", eta_theta))
    return _flow(A, y, POLAR, params, alpha, times, atol, rtol, max_steps, state0, tol, backend)


def wn_descent(A, y, *, alpha: float, lr_r: float, lr_theta: float, steps, depth: int = 2,
               state0=None, tol: float = 0.0, backend: Backend = "numba") -> DiagonalTrajectory:
    """Discrete per-coordinate WN: r <- r - lr_r dL/dr, theta <- theta - lr_theta dL/dtheta."""
    params = _params(POLAR, depth, validation.positive_scalar("lr_r", lr_r),
                     validation.positive_scalar("lr_theta", lr_theta))
    return _discrete(A, y, POLAR, params, alpha, steps, tol, state0, backend)


def global_wn_flow(A, y, *, alpha: float, times, eta_radius: float, eta_direction: float,
                   depth: int = 2, state0=None, atol: float = 1e-15, rtol: float = 1e-12,
                   max_steps: int = 2_000_000, tol: float = 1e-11,
                   backend: Backend = "numba") -> DiagonalTrajectory:
    """Global weight normalization w = R phi over all 2N weights (module docstring), phi
    renormalized after every accepted step; kappa = eta_radius / eta_direction."""
    params = _params(GLOBAL, depth, validation.positive_scalar("eta_radius", eta_radius),
                     validation.positive_scalar("eta_direction", eta_direction))
    return _flow(A, y, GLOBAL, params, alpha, times, atol, rtol, max_steps, state0, tol, backend)


SOLVERS = {
    "gradient_flow": gradient_flow,
    "gradient_descent": gradient_descent,
    "wn_flow": wn_flow,
    "wn_descent": wn_descent,
    "global_wn_flow": global_wn_flow,
}
"""Every solver of this setting, by name."""


def loss(x, A, y) -> float:
    """1/2 ||A x - y||^2."""
    A, b = problem(A, y)
    return float(0.5 * np.sum((A @ validation.finite_vector("x", x, size=A.shape[1]) - b) ** 2))


def sparse_instance(n: int, m: int, sparsity: int, seed: int) -> tuple:
    """(A, y, x_star): A ~ N(0, 1/M) of M x N, x_star with ``sparsity`` nonzeros of magnitude
    in [1, 2] and random signs, y = A x_star (core-settings §4B instance)."""
    n, m, sparsity = validation.count("n", n), validation.count("m", m), validation.count(
        "sparsity", sparsity)
    if not sparsity <= m < n:
        raise ValueError(f"need sparsity <= m < n, got {sparsity}, {m}, {n}")
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x_star = np.zeros(n)
    support = rng.choice(n, sparsity, replace=False)
    x_star[support] = rng.uniform(1, 2, sparsity) * rng.choice([-1.0, 1.0], sparsity)
    return A, A @ x_star, x_star
