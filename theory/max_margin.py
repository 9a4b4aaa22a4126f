"""Shallow max-margin: a linear classifier without bias on separable data (core-settings §1).

Data X (P x d), labels y in {-1, +1}; z_mu = y_mu x_mu are the rows of Z, margins m = Z w.

- Gradient descent on L(w) = sum_mu l(z_mu . w), l(u) = log(1 + e^-u) (logistic) or e^-u
  (exponential): dw/dt = eta sum_mu (-l'(m_mu)) z_mu, with -l'(u) = sigmoid(-u) or e^-u,
  both evaluated in overflow-safe forms so that horizons of 1e6 steps and more stay exact.
- Minnorm for classification (core-settings §0, §1a): the primal-dual flow of
  1/2 |w|^2 + sum_mu lambda_mu (1 - m_mu), lambda >= 0:
      dw/dt = -eta_w (w - Z^T lambda),
      dlambda_mu/dt = eta_lambda (1 - m_mu), held at 0 when lambda_mu = 0 and 1 - m_mu < 0.
  Every step is followed by the projection lambda <- max(lambda, 0); the discrete form
  is the simultaneous (Jacobi) update lambda <- max(0, lambda + lr_lambda (1 - m)).

The state is w (gradient descent) or (w, lambda) (Minnorm). Discrete algorithms are
forward Euler with unit step and the learning rates in the vector field, as in
:mod:`theory.linear_chain`. Each solver has ``backend="numba"`` and ``backend="numpy"``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from theory import validation
from theory._numba import jit
from theory.integrators import (DOPRI5, DOPRI5_ERROR, EULER, StepPlan, Tableau, discrete_plan,
                                error_ratio, flow_plan, get_tableau, integrate_adaptive_numpy,
                                step_factor,
                                integrate_numpy, max_abs, out_of_bounds, rk_update, stage_state)
from theory.results import (CODE_BUDGET, CODE_CONVERGED, CODE_DIVERGED, CODE_MAX_STEPS, Status,
                            Trajectory)

Backend = Literal["numba", "numpy"]

LOGISTIC, EXPONENTIAL, MINNORM = 0, 1, 2
"""Algorithm codes passed to the kernel."""
ADAPTIVE = "adaptive"
"""Flow method: Dormand-Prince 5(4) with step control (local error <= atol + rtol |y|);
``dt`` is then the first trial step. Long horizons, where the flow slows down like 1/t,
need far fewer steps than with a fixed step."""
ALGORITHM, ETA_W, ETA_LAMBDA = range(3)
"""Slots of the parameter vector."""


@dataclass(frozen=True)
class MarginTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` whose states are w, or (w, lambda) for Minnorm.

    ``dim`` is d, the number of weights.
    """

    dim: int = 0

    @property
    def weights(self) -> np.ndarray:
        """w(t), shape (n, d)."""
        return self.states[:, :self.dim]

    @property
    def multipliers(self) -> np.ndarray:
        """lambda(t), shape (n, P) (Minnorm only; shape (n, 0) for gradient descent)."""
        return self.states[:, self.dim:]


def signed_data(X, y) -> np.ndarray:
    """Z with rows z_mu = y_mu x_mu, after checking shapes, finiteness and labels."""
    X = validation.finite_matrix("X", X)
    y = validation.labels("y", y, X.shape[0])
    return np.ascontiguousarray(y[:, None] * X)


def separable_data(n_samples: int, dim: int, margin: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A separable data set with a guaranteed margin (core-settings §1 instance).

    X ~ N(0, I), y = sign(X w*) for a Gaussian w*, then x <- x + margin y w*/|w*|, so
    every y x . w*/|w*| >= margin > 0. Built, not filtered: same seed, same data.
    """
    n_samples = validation.count("n_samples", n_samples)
    dim = validation.count("dim", dim)
    seed = validation.count("seed", seed, minimum=0)
    margin = validation.positive_scalar("margin", margin)
    rng = np.random.default_rng(seed)
    w_star = rng.standard_normal(dim)
    w_star /= np.linalg.norm(w_star)
    X = rng.standard_normal((n_samples, dim))
    y = np.where(X @ w_star >= 0.0, 1.0, -1.0)
    return X + margin * y[:, None] * w_star, y


def angle(w: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Angle (radians) between each row of ``w`` and ``direction``; pi/2 for w = 0.

    The arctan2 of the parts across and along ``direction`` resolves angles down to
    round-off, where an arccos of the cosine rounds everything below ~1e-8 to 0.
    """
    direction = validation.finite_vector("direction", direction)
    if not np.any(direction):
        raise ValueError("direction must be nonzero")
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if w.ndim != 2 or w.shape[1] != direction.size or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be finite with {direction.size} columns, got shape {w.shape}")
    unit = direction / np.linalg.norm(direction)
    along = w @ unit
    across = np.linalg.norm(w - np.outer(along, unit), axis=1)
    return np.where((along == 0.0) & (across == 0.0), np.pi / 2, np.arctan2(across, along))


def loss(w, X, y, kind: Literal["logistic", "exponential"] = "logistic") -> float:
    """sum_mu l(y_mu x_mu . w) with l = log(1 + e^-u) (log-sum-exp safe) or e^-u."""
    Z = signed_data(X, y)
    m = Z @ validation.finite_vector("w", w, size=Z.shape[1])
    if kind == "logistic":
        return float(np.sum(np.logaddexp(0.0, -m)))
    if kind == "exponential":
        return float(np.sum(np.exp(-m)))
    raise ValueError(f"kind must be 'logistic' or 'exponential', got {kind!r}")


# --------------------------------------------------------------------------- kernels


@jit
def _sigmoid_of_negative(u):
    """sigmoid(-u) = 1 / (1 + e^u), without overflow for any u."""
    if u >= 0.0:
        e = np.exp(-u)
        return e / (1.0 + e)
    return 1.0 / (1.0 + np.exp(u))


BLAS_MIN_ENTRIES = 4096
"""Z with at least this many entries is multiplied through BLAS (np.dot into buffers
allocated before the time loop); smaller Z by plain loops, which avoid BLAS's per-call
cost (~1 us), larger than the whole product at the sizes ``verify`` uses."""


@jit
def _vector_field(y, Z, params, out, margins, w_sum):
    """Write F(y) into ``out`` (module docstring); ``margins`` (size P) and ``w_sum``
    (size d) are scratch. Products with Z use BLAS from BLAS_MIN_ENTRIES entries on."""
    n_samples, dim = Z.shape
    blas = n_samples * dim >= BLAS_MIN_ENTRIES
    algorithm = int(params[ALGORITHM])
    eta_w = params[ETA_W]
    if blas:
        np.dot(Z, y[:dim], margins)
    else:
        for mu in range(n_samples):
            acc = 0.0
            for j in range(dim):
                acc += Z[mu, j] * y[j]
            margins[mu] = acc
    if algorithm == MINNORM:
        eta_lambda = params[ETA_LAMBDA]
        for mu in range(n_samples):
            drive = eta_lambda * (1.0 - margins[mu])
            if y[dim + mu] <= 0.0 and drive < 0.0:
                drive = 0.0
            out[dim + mu] = drive
            margins[mu] = y[dim + mu]  # the weights of Z^T lambda
    else:
        for mu in range(n_samples):
            if algorithm == LOGISTIC:
                margins[mu] = _sigmoid_of_negative(margins[mu])
            else:
                margins[mu] = np.exp(-margins[mu])
    if blas:
        np.dot(Z.T, margins, w_sum)
    else:
        for j in range(dim):
            w_sum[j] = 0.0
        for mu in range(n_samples):
            coef = margins[mu]
            for j in range(dim):
                w_sum[j] += coef * Z[mu, j]
    if algorithm == MINNORM:
        for j in range(dim):
            out[j] = -eta_w * (y[j] - w_sum[j])
    else:
        for j in range(dim):
            out[j] = eta_w * w_sum[j]


@jit
def _integrate(y0, Z, params, tab_a, tab_b, counts, sizes, tol, out):
    """Explicit Runge-Kutta time loop with the multiplier projection after each step.

    No allocation inside the loop. Returns (status code, steps taken, valid rows of ``out``).
    """
    dim = y0.size
    stages = tab_b.size
    n_w = Z.shape[1]
    y = y0.copy()
    k = np.empty((stages, dim))
    ys = np.empty(dim)
    margins = np.empty(Z.shape[0])
    w_sum = np.empty(n_w)
    out[0, :] = y
    step = 0
    n = counts.size
    for interval in range(n):
        h = sizes[interval]
        for _ in range(counts[interval]):
            for s in range(stages):
                stage_state(y, k, tab_a, s, h, ys)
                _vector_field(ys, Z, params, k[s], margins, w_sum)
            if tol > 0.0 and max_abs(k[0]) <= tol:
                for row in range(interval + 1, n + 1):
                    out[row, :] = y
                return CODE_CONVERGED, step, n + 1
            rk_update(y, k, tab_b, h)
            for i in range(n_w, dim):
                if y[i] < 0.0:
                    y[i] = 0.0
            step += 1
            if out_of_bounds(y):
                return CODE_DIVERGED, step, interval + 1
        out[interval + 1, :] = y
    return CODE_MAX_STEPS, step, n + 1


@jit
def _integrate_adaptive(y0, Z, params, tab_a, tab_b, b_err, order, times, h0, atol, rtol,
                        max_steps, tol, out):
    """Dormand-Prince 5(4) loop landing on every sample time, lambda projected onto
    lambda >= 0 after every accepted step; no allocation inside the loop.

    Returns (status code, accepted steps, rejected steps, valid rows of ``out``).
    """
    dim = y0.size
    stages = tab_b.size
    n_w = Z.shape[1]
    y = y0.copy()
    y_new = np.empty(dim)
    k = np.empty((stages, dim))
    ys = np.empty(dim)
    margins = np.empty(Z.shape[0])
    w_sum = np.empty(n_w)
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
                _vector_field(ys, Z, params, k[s], margins, w_sum)
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
                for i in range(n_w, dim):
                    if y[i] < 0.0:
                        y[i] = 0.0
                t = target if target - t <= h else t + h
                accepted += 1
                if out_of_bounds(y):
                    return CODE_DIVERGED, accepted, rejected, sample + 1
            else:
                rejected += 1
            h *= step_factor(ratio, order)
        out[sample + 1, :] = y
    return CODE_MAX_STEPS, accepted, rejected, times.size + 1


def vector_field_numpy(y: np.ndarray, Z: np.ndarray, params: np.ndarray) -> np.ndarray:
    """NumPy twin of the jitted vector field."""
    dim = Z.shape[1]
    w, lam = y[:dim], y[dim:]
    m = Z @ w
    algorithm = int(params[ALGORITHM])
    if algorithm == MINNORM:
        drive = params[ETA_LAMBDA] * (1.0 - m)
        drive = np.where((lam <= 0.0) & (drive < 0.0), 0.0, drive)
        return np.concatenate((-params[ETA_W] * (w - Z.T @ lam), drive))
    if algorithm == LOGISTIC:
        coef = np.where(m >= 0.0, np.exp(-np.abs(m)) / (1.0 + np.exp(-np.abs(m))),
                        1.0 / (1.0 + np.exp(np.minimum(m, 0.0))))
    else:
        coef = np.exp(-m)
    return params[ETA_W] * (Z.T @ coef)


def _run(y0: np.ndarray, Z: np.ndarray, params: np.ndarray, tableau: Tableau, plan: StepPlan,
         times: np.ndarray, tol: float, backend: Backend) -> MarginTrajectory:
    tol = validation.nonnegative_scalar("tol", tol)
    dim = Z.shape[1]
    if backend == "numba":
        out = np.empty((plan.counts.size + 1, y0.size))
        code, steps, valid = _integrate(y0, Z, params, tableau.a, tableau.b, plan.counts,
                                        plan.sizes, tol, out)
    elif backend == "numpy":
        def project(y: np.ndarray) -> np.ndarray:
            return np.concatenate((y[:dim], np.maximum(y[dim:], 0.0)))

        code, steps, valid, out = integrate_numpy(lambda y: vector_field_numpy(y, Z, params), y0,
                                                  tableau, plan, tol, project)
    else:
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    status = Status.from_code(code)
    traj = MarginTrajectory(times=np.concatenate(([0.0], times))[:valid],
                            states=out[:valid].copy(), status=status, steps=int(steps),
                            diverged_at=int(steps) if status is Status.DIVERGED else None,
                            dim=dim)
    return traj


def _run_adaptive(y0: np.ndarray, Z: np.ndarray, params: np.ndarray, times: np.ndarray,
                  h0: float, atol: float, rtol: float, max_steps: int, tol: float,
                  backend: Backend) -> MarginTrajectory:
    tol = validation.nonnegative_scalar("tol", tol)
    atol, rtol = validation.positive_scalar("atol", atol), validation.positive_scalar("rtol", rtol)
    max_steps = validation.count("max_steps", max_steps)
    dim = Z.shape[1]
    h0 = min(h0, times[-1])
    if backend == "numba":
        out = np.empty((times.size + 1, y0.size))
        code, accepted, rejected, valid = _integrate_adaptive(
            y0, Z, params, DOPRI5.a, DOPRI5.b, DOPRI5_ERROR, float(DOPRI5.order), times, h0,
            atol, rtol, max_steps, tol, out)
    elif backend == "numpy":
        def project(y: np.ndarray) -> np.ndarray:
            return np.concatenate((y[:dim], np.maximum(y[dim:], 0.0)))

        code, accepted, rejected, valid, out = integrate_adaptive_numpy(
            lambda y: vector_field_numpy(y, Z, params), y0, times, h0, atol, rtol, max_steps,
            tol, project)
    else:
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    status = Status.from_code(code)
    return MarginTrajectory(times=np.concatenate(([0.0], times))[:valid],
                            states=out[:valid].copy(), status=status, steps=int(accepted),
                            diverged_at=int(accepted) if status is Status.DIVERGED else None,
                            dim=dim)


def _initial(w0, dim: int, lambda0=None, n_samples: int = 0) -> np.ndarray:
    w = (np.zeros(dim) if w0 is None else validation.finite_vector("w0", w0, size=dim))
    if n_samples == 0:
        return w
    lam = (np.zeros(n_samples) if lambda0 is None
           else validation.finite_vector("lambda0", lambda0, size=n_samples))
    if np.any(lam < 0.0):
        raise ValueError("lambda0 must be non-negative")
    return np.ascontiguousarray(np.concatenate((w, lam)))


def _solve(X, y, algorithm: int, rates: tuple[float, float], w0, lambda0, *, steps=None,
           times=None, dt=None, method="rk4", tol=1e-12, backend: Backend = "numba",
           rtol=1e-10, atol=1e-13, max_steps=10_000_000) -> MarginTrajectory:
    Z = signed_data(X, y)
    params = np.array([algorithm, *rates], dtype=np.float64)
    n_lambda = Z.shape[0] if algorithm == MINNORM else 0
    y0 = _initial(w0, Z.shape[1], lambda0, n_lambda)
    if steps is not None:
        steps = validation.sample_steps("steps", steps)
        return _run(y0, Z, params, EULER, discrete_plan(steps), steps.astype(np.float64), tol,
                    backend)
    times = validation.sample_times("times", times)
    dt = validation.positive_scalar("dt", dt)
    if method == ADAPTIVE:
        return _run_adaptive(y0, Z, params, times, dt, atol, rtol, max_steps, tol, backend)
    return _run(y0, Z, params, get_tableau(method), flow_plan(times, dt), times, tol, backend)


_LOSSES = {"logistic": LOGISTIC, "exponential": EXPONENTIAL}


def _loss_code(loss_kind: str) -> int:
    try:
        return _LOSSES[loss_kind]
    except KeyError:
        raise ValueError(f"loss must be 'logistic' or 'exponential', got {loss_kind!r}") from None


# --------------------------------------------------------------------------- solvers


def gradient_descent(X, y, *, lr: float, steps, loss: str = "logistic", w0=None,
                     tol: float = 1e-12, backend: Backend = "numba") -> MarginTrajectory:
    """Gradient descent w <- w + lr sum_mu (-l'(y_mu x_mu . w)) y_mu x_mu.

    Parameters
    ----------
    X : array_like, shape (P, d)
    y : array_like, shape (P,), entries -1 or +1
    lr : float
        Step size > 0 (stable for lr < 2 / (beta sigma_max(Z)^2), beta = 1/4 for logistic).
    steps : array_like of int
        Step indices at which to sample.
    loss : {'logistic', 'exponential'}
    w0 : array_like, shape (d,), optional (default 0)
    tol, backend : as in :func:`theory.linear_chain.gradient_descent`.
    """
    lr = validation.positive_scalar("lr", lr)
    return _solve(X, y, _loss_code(loss), (lr, 0.0), w0, None, steps=steps, tol=tol,
                  backend=backend)


def gradient_flow(X, y, *, times, dt: float = 1e-2, eta: float = 1.0, loss: str = "logistic",
                  w0=None, method: str = "rk4", tol: float = 1e-12, rtol: float = 1e-10,
                  atol: float = 1e-13, max_steps: int = 10_000_000,
                  backend: Backend = "numba") -> MarginTrajectory:
    """Gradient flow dw/dt = eta sum_mu (-l'(y_mu x_mu . w)) y_mu x_mu (core-settings §1a).

    ``method``: a fixed-step tableau ('euler', 'heun', 'rk4', 'dopri5') with step ``dt``,
    or ``'adaptive'`` (:data:`ADAPTIVE`: Dormand-Prince 5(4), local error <= atol +
    rtol |y|, at most ``max_steps`` attempted steps, status step_budget beyond).
    """
    eta = validation.positive_scalar("eta", eta)
    return _solve(X, y, _loss_code(loss), (eta, 0.0), w0, None, times=times, dt=dt,
                  method=method, tol=tol, backend=backend, rtol=rtol, atol=atol,
                  max_steps=max_steps)


def minnorm_descent(X, y, *, lr_w: float, lr_lambda: float, steps, w0=None, lambda0=None,
                    tol: float = 1e-12, backend: Backend = "numba") -> MarginTrajectory:
    """Discrete Minnorm for classification (Jacobi, from the old (w, lambda)):

        w <- w - lr_w (w - Z^T lambda),   lambda <- max(0, lambda + lr_lambda (1 - Z w)).

    Stable near the solution iff 0 < lr_w < 2 and 0 < lr_lambda kappa_max(K_SS) < 1
    (:func:`analytic.max_margin.minnorm_rate`); lr_lambda < 1/lambda_max(K) also covers
    transient active sets.
    """
    lr_w = validation.positive_scalar("lr_w", lr_w)
    lr_lambda = validation.positive_scalar("lr_lambda", lr_lambda)
    return _solve(X, y, MINNORM, (lr_w, lr_lambda), w0, lambda0, steps=steps, tol=tol,
                  backend=backend)


def minnorm_flow(X, y, *, times, dt: float = 1e-2, eta_w: float = 1.0, eta_lambda: float = 1.0,
                 w0=None, lambda0=None, method: str = "rk4", tol: float = 1e-12,
                 rtol: float = 1e-10, atol: float = 1e-13, max_steps: int = 10_000_000,
                 backend: Backend = "numba") -> MarginTrajectory:
    """Minnorm flow (module docstring), integrated by ``method`` (as in
    :func:`gradient_flow`) with lambda projected onto lambda >= 0 after every (accepted)
    step: first order at the instants a constraint switches."""
    eta_w = validation.positive_scalar("eta_w", eta_w)
    eta_lambda = validation.positive_scalar("eta_lambda", eta_lambda)
    return _solve(X, y, MINNORM, (eta_w, eta_lambda), w0, lambda0, times=times, dt=dt,
                  method=method, tol=tol, backend=backend, rtol=rtol, atol=atol,
                  max_steps=max_steps)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "gradient_flow": gradient_flow,
    "minnorm_descent": minnorm_descent,
    "minnorm_flow": minnorm_flow,
}
"""Every solver of this setting, by name."""
