"""Shallow max-margin: a linear classifier without bias on separable data (docs/max_margin.md).

Data X (P x d), labels y in {-1, +1}; z_mu = y_mu x_mu are the rows of Z, margins m = Z w.

- Gradient descent on L(w) = sum_mu l(z_mu . w), l(u) = log(1 + e^-u) (logistic) or e^-u
  (exponential): dw/dt = eta sum_mu (-l'(m_mu)) z_mu, with -l'(u) = sigmoid(-u) or e^-u,
  both evaluated in overflow-safe forms so that horizons of 1e6 steps and more stay exact,
  with the vectorizable exp of :mod:`theory.elementary` (within 1 ulp of libm's).
- Minnorm for classification (docs/minnorm.md §0b; docs/max_margin.md §1a.2): the primal-dual flow of
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

from theory import solve, validation
from theory.elementary import exp, sigmoid_of_negative
from theory.linalg import add_row_combination, row_products, transposed_blocks
from theory.numba_options import jit
from theory.results import Trajectory
from theory.solve import Problem, compile_loops

LOGISTIC, EXPONENTIAL, MINNORM = 0, 1, 2
"""Algorithm codes passed to the kernel."""
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


signed_data = validation.signed_data
"""Z with rows z_mu = y_mu x_mu (:func:`theory.validation.signed_data`)."""


def separable_data(n_samples: int, dim: int, margin: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A separable data set with a guaranteed margin (docs/max_margin.md §1a.3).

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


INSTANCES: dict[str, tuple[int, int, float, int]] = {
    "standard": (30, 5, 0.5, 1),
    "cycling": (7, 2, 1.0, 1),
    "planar": (40, 2, 0.3, 4),
}
"""Named instances, (P, d, margin, seed) of :func:`separable_data` (docs/max_margin.md §1a.3):
``standard`` (the figures' instance), ``cycling`` (where Minnorm at the local step size
cycles between active sets), ``planar`` (2-D pictures). verify, figures and the tests read
them here."""


def named_instance(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of the instance ``name`` of :data:`INSTANCES`."""
    if name not in INSTANCES:
        raise ValueError(f"name must be one of {sorted(INSTANCES)}, got {name!r}")
    n_samples, dim, margin, seed = INSTANCES[name]
    return separable_data(n_samples, dim, margin, seed)


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
def field(y, args, out, work):
    """Write F(y) into ``out`` (module docstring); ``args`` = (ZB, params) with ZB =
    ``transposed_blocks(Z)`` (:mod:`theory.linalg`: block k holds samples k r ... k r +
    r - 1 as columns, zero-padded), ``work`` = (margins, coefficients, w_block, w_sum) of
    sizes r, r, d, d. Each block is read twice while in the cache: the margins (axpy over
    its d rows), the pointwise map, the block's share of Z^T s (dot products)."""
    ZB, params = args
    margins, coefficients, w_block, w_sum = work
    blocks, dim, rows = ZB.shape
    n_lambda = y.size - dim  # P for Minnorm, 0 for gradient descent
    algorithm = int(params[ALGORITHM])
    for j in range(dim):
        w_sum[j] = 0.0
    for k in range(blocks):
        block = ZB[k]
        first = k * rows
        for mu in range(rows):
            margins[mu] = 0.0
        add_row_combination(block, y, 0, dim, margins)
        if algorithm == MINNORM:
            eta_lambda = params[ETA_LAMBDA]
            for mu in range(min(rows, n_lambda - first)):
                lam = y[dim + first + mu]
                drive = eta_lambda * (1.0 - margins[mu])
                if lam <= 0.0 and drive < 0.0:
                    drive = 0.0
                out[dim + first + mu] = drive
                coefficients[mu] = lam  # the weights of Z^T lambda
            for mu in range(max(0, n_lambda - first), rows):
                coefficients[mu] = 0.0
        elif algorithm == LOGISTIC:  # branches outside the loops, so that LLVM vectorizes
            for mu in range(rows):
                coefficients[mu] = sigmoid_of_negative(margins[mu])
        else:
            for mu in range(rows):
                coefficients[mu] = exp(-margins[mu])
        row_products(block, coefficients, 0, dim, w_block)
        for j in range(dim):
            w_sum[j] += w_block[j]
    eta_w = params[ETA_W]
    if algorithm == MINNORM:
        for j in range(dim):
            out[j] = -eta_w * (y[j] - w_sum[j])
    else:
        for j in range(dim):
            out[j] = eta_w * w_sum[j]


@jit
def project(y, args):
    """lambda <- max(lambda, 0) (the entries after the d weights)."""
    for i in range(args[0].shape[1], y.size):
        if y[i] < 0.0:
            y[i] = 0.0


@jit
def workspace(y, args):
    """Scratch of :func:`field`: margins and coefficients of a block of samples, the
    block's share of Z^T coefficients and its sum over blocks."""
    blocks, dim, rows = args[0].shape
    return np.empty(rows), np.empty(rows), np.empty(dim), np.empty(dim)


LOOPS = compile_loops(field, project, workspace)


def field_numpy(y: np.ndarray, Z: np.ndarray, params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`."""
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


def project_numpy(y: np.ndarray, dim: int) -> np.ndarray:
    """NumPy twin of :func:`project`."""
    return np.concatenate((y[:dim], np.maximum(y[dim:], 0.0)))


def problem(Z: np.ndarray, params: np.ndarray) -> Problem:
    """The run description for :mod:`theory.solve` (Z: the signed data, rows z_mu)."""
    dim = Z.shape[1]
    return Problem(LOOPS, (transposed_blocks(Z), params), lambda y: field_numpy(y, Z, params),
                   lambda y: project_numpy(y, dim), MarginTrajectory, {"dim": dim})


def _initial(w0, dim: int, lambda0=None, n_samples: int = 0) -> np.ndarray:
    w = (np.zeros(dim) if w0 is None else validation.finite_vector("w0", w0, size=dim))
    if n_samples == 0:
        return w
    lam = (np.zeros(n_samples) if lambda0 is None
           else validation.finite_vector("lambda0", lambda0, size=n_samples))
    if np.any(lam < 0.0):
        raise ValueError("lambda0 must be non-negative")
    return np.ascontiguousarray(np.concatenate((w, lam)))


def _start(X, y, algorithm: int, rates: tuple[float, float], w0, lambda0):
    """(problem, initial state) of a run."""
    Z = signed_data(X, y)
    params = np.array([algorithm, *rates], dtype=np.float64)
    n_lambda = Z.shape[0] if algorithm == MINNORM else 0
    return problem(Z, params), _initial(w0, Z.shape[1], lambda0, n_lambda)


_LOSSES = {"logistic": LOGISTIC, "exponential": EXPONENTIAL}


def _loss_code(loss_kind: str) -> int:
    try:
        return _LOSSES[loss_kind]
    except KeyError:
        raise ValueError(f"loss must be 'logistic' or 'exponential', got {loss_kind!r}") from None


# --------------------------------------------------------------------------- solvers


def gradient_descent(X, y, *, lr: float, steps, loss: str = "logistic", w0=None,
                     **options) -> MarginTrajectory:
    """Gradient descent w <- w + lr sum_mu (-l'(y_mu x_mu . w)) y_mu x_mu.

    Parameters
    ----------
    X : array_like, shape (P, d)
        Samples as rows.
    y : array_like, shape (P,), entries -1 or +1
    lr : float
        Step size > 0 (stable for lr < 2 / (beta sigma_max(Z)^2), beta = 1/4 for logistic).
    steps : array_like of int
        Step indices at which to sample.
    loss : {'logistic', 'exponential'}
    w0 : array_like, shape (d,), optional (default 0)
    **options
        ``stop_tol``, ``max_steps``, ``backend``: see :mod:`theory.solve`.
    """
    lr = validation.positive_scalar("lr", lr)
    return solve.discrete(*_start(X, y, _loss_code(loss), (lr, 0.0), w0, None), steps, **options)


def gradient_flow(X, y, *, times, eta: float = 1.0, loss: str = "logistic", w0=None,
                  **options) -> MarginTrajectory:
    """Gradient flow dw/dt = eta sum_mu (-l'(y_mu x_mu . w)) y_mu x_mu (docs/max_margin.md §1a.2).

    ``**options``: the integration options of :func:`theory.solve.flow` (``method``, ``dt``,
    ``rtol``, ``atol``, ``first_step``, ``stop_tol``, ``max_steps``, ``backend``); adaptive
    steps (the default) suit the long horizons where the flow slows down like 1/t.
    """
    eta = validation.positive_scalar("eta", eta)
    return solve.flow(*_start(X, y, _loss_code(loss), (eta, 0.0), w0, None), times, **options)


def minnorm_descent(X, y, *, lr_w: float, lr_lambda: float, steps, w0=None, lambda0=None,
                    **options) -> MarginTrajectory:
    """Discrete Minnorm for classification (Jacobi, from the old (w, lambda)):

        w <- w - lr_w (w - Z^T lambda),   lambda <- max(0, lambda + lr_lambda (1 - Z w)).

    Stable near the solution iff 0 < lr_w < 2 and 0 < lr_lambda kappa_max(K_SS) < 1
    (:func:`analytic.max_margin.minnorm_contraction`); lr_lambda < 1/lambda_max(K) also
    covers transient active sets. Options as in :func:`gradient_descent`.
    """
    lr_w = validation.positive_scalar("lr_w", lr_w)
    lr_lambda = validation.positive_scalar("lr_lambda", lr_lambda)
    return solve.discrete(*_start(X, y, MINNORM, (lr_w, lr_lambda), w0, lambda0), steps,
                          **options)


def minnorm_flow(X, y, *, times, eta_w: float = 1.0, eta_lambda: float = 1.0, w0=None,
                 lambda0=None, **options) -> MarginTrajectory:
    """Minnorm flow (module docstring) with lambda projected onto lambda >= 0 after every
    (accepted) step: first order at the instants a constraint switches. Options as in
    :func:`gradient_flow`."""
    eta_w = validation.positive_scalar("eta_w", eta_w)
    eta_lambda = validation.positive_scalar("eta_lambda", eta_lambda)
    return solve.flow(*_start(X, y, MINNORM, (eta_w, eta_lambda), w0, lambda0), times,
                      **options)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "gradient_flow": gradient_flow,
    "minnorm_descent": minnorm_descent,
    "minnorm_flow": minnorm_flow,
}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    data = separable_data(12, 3, 0.5, seed=1)
    discrete, flow = {"steps": [5, 40]}, {"times": [0.5, 2.0]}
    return {"gradient_descent": (data, {"lr": 0.1, **discrete}),
            "gradient_flow": (data, {"loss": "exponential", **flow}),
            "minnorm_descent": (data, {"lr_w": 0.2, "lr_lambda": 0.02, **discrete}),
            "minnorm_flow": (data, {"method": "rk4", "dt": 0.01, **flow})}
