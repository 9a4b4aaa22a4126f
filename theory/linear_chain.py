"""Linear chain: the scalar deep linear network y_hat = p x, p = w_1 w_2 ... w_L.

Loss (docs/linear_chain.md §2a.1): L(w) = 1/2 sum_mu (y_mu - p x_mu)^2 = sigma/2 (p* - p)^2 + const,
with sigma = sum x_mu^2 and p* = sum x_mu y_mu / sigma (:func:`problem_from_data`).

Every algorithm is one vector field on the state (w_1, ..., w_L, lambda),

    dw_i/dt    = eta_w [ (lambda + c sigma r) g_i - beta w_i ],   g_i = prod_{j != i} w_j,
    dlambda/dt = eta_lambda sigma r,                             r = p* - p,

with the parameters chosen per algorithm:

=====================  ======  ===========  ====  =====  ========
algorithm              eta_w   eta_lambda   beta  c      lambda_0
=====================  ======  ===========  ====  =====  ========
gradient descent/flow  eta     0            0     1      0
L2-regularized         eta     0            beta  1      0
Minnorm(c)             eta_w   eta_lambda   1     c      lambda_0
=====================  ======  ===========  ====  =====  ========

Minnorm (docs/minnorm.md §0b; docs/linear_chain.md §2a.2) is the primal-dual flow of the
augmented Lagrangian 1/2 sum w_i^2 + lambda (p* - p) + c sigma/2 (p* - p)^2: primal
descent, multiplier ascent dlambda/dt = eta_lambda sigma r (the multiplier integrates the
residual).

Discrete algorithms are forward Euler steps with unit step and the learning rates in
place of the eta's (gradient descent is the Euler method of gradient flow; Minnorm's
discrete form is the simultaneous Jacobi update with a = lr_w, b = lr_lambda).

Each solver has ``backend="numba"`` (the jitted kernel) and ``backend="numpy"`` (the
plain NumPy twin, used by the parity tests).
"""
from __future__ import annotations

import numpy as np

from theory import solve, validation
from theory.numba_options import jit, jit_inline
from theory.measure import time_to_accuracy
from theory.results import Trajectory
from theory.solve import Problem, compile_loops

# Layout of the parameter vector passed to the kernels.
P_STAR, SIGMA, ETA_W, ETA_LAMBDA, BETA, C = range(6)


class ChainTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` whose states are (w_1, ..., w_L, lambda)."""

    @property
    def weights(self) -> np.ndarray:
        """w(t), shape (n, L)."""
        return self.states[:, :-1]

    @property
    def multipliers(self) -> np.ndarray:
        """lambda(t), shape (n,) (one constraint); identically zero for GD and L2."""
        return self.states[:, -1]

    @property
    def product(self) -> np.ndarray:
        """p(t) = prod_i w_i(t), shape (n,)."""
        return np.prod(self.weights, axis=1)


def product(w: np.ndarray) -> float:
    """p = prod_i w_i."""
    return float(np.prod(validation.finite_vector("w", w)))


def loss(w: np.ndarray, p_star: float, sigma: float = 1.0) -> float:
    """L(w) = sigma/2 (p* - p)^2, the loss up to its constant (docs/linear_chain.md §2a.1)."""
    p_star = validation.finite_scalar("p_star", p_star)
    sigma = validation.positive_scalar("sigma", sigma)
    return 0.5 * sigma * (p_star - product(w)) ** 2


def problem_from_data(x, y) -> tuple[float, float]:
    """(p*, sigma) with sigma = sum x^2, p* = sum x y / sigma, from 1-D data of equal length."""
    x = validation.finite_vector("x", x)
    y = validation.finite_vector("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    sigma = float(x @ x)
    if sigma <= 0.0:
        raise ValueError("x must not be all zeros (sigma = sum x^2 must be positive)")
    return float(x @ y) / sigma, sigma


# --------------------------------------------------------------------------- kernels


@jit_inline
def field_into(y, args, out, work, add_state):
    """Write F(y) into ``out``, or y + F(y) if ``add_state`` (then ``out`` may be y
    itself: each F_i is computed from the old y, read before its entry is written);
    ``args`` = (params,), ``work`` = (prefix,) of size L."""
    params = args[0]
    prefix = work[0]
    n = y.size - 1
    acc = 1.0
    for i in range(n):
        prefix[i] = acc
        acc *= y[i]
    r = params[P_STAR] - acc
    sigma = params[SIGMA]
    lam = y[n]
    error = lam + params[C] * sigma * r
    eta_w = params[ETA_W]
    beta = params[BETA]
    suffix = 1.0
    for i in range(n - 1, -1, -1):
        w = y[i]
        change = eta_w * (error * (prefix[i] * suffix) - beta * w)
        out[i] = w + change if add_state else change
        suffix *= w
    change = params[ETA_LAMBDA] * sigma * r
    out[n] = lam + change if add_state else change


@jit
def field(y, args, out, work):
    """Write F(y) into ``out`` (module docstring); ``args`` = (params,), ``work`` =
    (prefix,) of size L."""
    field_into(y, args, out, work, False)


@jit
def unit_step(y, args, k, work):
    """y <- y + F(y) in place (a discrete algorithm's step, :mod:`theory.loops`): the
    step of a short chain is a chain of dependent operations, and writing each new
    component at once saves its round trip through memory."""
    field_into(y, args, y, work, True)


@jit
def project(y, args):
    """No constraint to project onto."""


@jit
def workspace(y, args):
    """Scratch of :func:`field`: the prefix products."""
    return (np.empty(y.size - 1),)


LOOPS = compile_loops(field, project, workspace, unit_step)


def field_numpy(y: np.ndarray, params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field` (same products in the same order)."""
    w, lam = y[:-1], y[-1]
    prefix = np.concatenate(([1.0], np.cumprod(w[:-1])))
    suffix = np.concatenate((np.cumprod(w[:0:-1])[::-1], [1.0]))
    r = params[P_STAR] - prefix[-1] * w[-1]
    error = lam + params[C] * params[SIGMA] * r
    dw = params[ETA_W] * (error * (prefix * suffix) - params[BETA] * w)
    return np.concatenate((dw, [params[ETA_LAMBDA] * params[SIGMA] * r]))


def parameters(p_star: float, sigma: float, eta_w: float, eta_lambda: float, beta: float,
               c: float) -> np.ndarray:
    """The kernel's parameter vector (slots P_STAR, SIGMA, ETA_W, ETA_LAMBDA, BETA, C)."""
    return np.array([validation.finite_scalar("p_star", p_star),
                     validation.positive_scalar("sigma", sigma),
                     eta_w, eta_lambda, beta, c], dtype=np.float64)


def problem(params: np.ndarray) -> Problem:
    """The run description for :mod:`theory.solve` with the kernel parameters ``params``."""
    return Problem(LOOPS, (params,), lambda y: field_numpy(y, params),
                   trajectory=ChainTrajectory)


def _state(w0, lambda0: float = 0.0) -> np.ndarray:
    w = validation.finite_vector("w0", w0)
    return np.ascontiguousarray(np.append(w, validation.finite_scalar("lambda0", lambda0)))


# --------------------------------------------------------------------------- solvers


def gradient_descent(p_star: float, w0, *, lr: float, steps, sigma: float = 1.0,
                     **options) -> ChainTrajectory:
    """Gradient descent w_i <- w_i + lr sigma (p* - p) prod_{j != i} w_j.

    Parameters
    ----------
    p_star : float
        The problem (module docstring): the target product.
    w0 : array_like, shape (L,)
        Initial weights.
    sigma : float
        The data's second moment (module docstring), > 0.
    lr : float
        Learning rate, > 0.
    steps : array_like of int
        Step indices at which to sample (non-decreasing; the last is the horizon).
    **options
        ``stop_tol``, ``max_steps``, ``backend``: see :mod:`theory.solve`.

    Returns
    -------
    ChainTrajectory
        Samples at step 0 and at ``steps``.
    """
    lr = validation.positive_scalar("lr", lr)
    return solve.discrete(problem(parameters(p_star, sigma, lr, 0.0, 0.0, 1.0)), _state(w0),
                          steps, **options)


def gradient_flow(p_star: float, w0, *, times, eta: float = 1.0, sigma: float = 1.0,
                  **options) -> ChainTrajectory:
    """Gradient flow dw_i/dt = eta sigma (p* - p) prod_{j != i} w_j (docs/linear_chain.md §2a.2).

    ``times``: sample times (t = 0 is prepended). ``**options``: the integration options of
    :func:`theory.solve.flow` (``method``, ``dt``, ``rtol``, ``atol``, ``first_step``,
    ``stop_tol``, ``max_steps``, ``backend``). Other arguments as in
    :func:`gradient_descent`.
    """
    eta = validation.positive_scalar("eta", eta)
    return solve.flow(problem(parameters(p_star, sigma, eta, 0.0, 0.0, 1.0)), _state(w0), times,
                      **options)


def l2_descent(p_star: float, w0, *, beta: float, lr: float, steps, sigma: float = 1.0,
               **options) -> ChainTrajectory:
    """L2-regularized gradient descent w_i <- w_i + lr [sigma (p* - p) p / w_i - beta w_i].

    ``beta`` >= 0 is the weight-decay coefficient; other arguments as in :func:`gradient_descent`.
    """
    lr = validation.positive_scalar("lr", lr)
    beta = validation.nonnegative_scalar("beta", beta)
    return solve.discrete(problem(parameters(p_star, sigma, lr, 0.0, beta, 1.0)), _state(w0),
                          steps, **options)


def l2_flow(p_star: float, w0, *, beta: float, times, eta: float = 1.0, sigma: float = 1.0,
            **options) -> ChainTrajectory:
    """L2-regularized gradient flow dw_i/dt = eta [sigma (p* - p) p / w_i - beta w_i]
    (options as in :func:`gradient_flow`)."""
    eta = validation.positive_scalar("eta", eta)
    beta = validation.nonnegative_scalar("beta", beta)
    return solve.flow(problem(parameters(p_star, sigma, eta, 0.0, beta, 1.0)), _state(w0), times,
                      **options)


def minnorm_descent(p_star: float, w0, *, c: float, lr_w: float, lr_lambda: float, steps,
                    lambda0: float = 0.0, sigma: float = 1.0, **options) -> ChainTrajectory:
    """Discrete Minnorm(c), simultaneous (Jacobi) update from the old (w, lambda):

        w_i    <- w_i - lr_w [w_i - (lambda + c sigma r) prod_{j != i} w_j],
        lambda <- lambda + lr_lambda sigma r,           r = p* - p   (docs/minnorm.md §0c).

    ``c`` >= 0 is the damping (c = 0: plain Lagrangian); ``lambda0`` the initial multiplier.
    """
    lr_w = validation.positive_scalar("lr_w", lr_w)
    lr_lambda = validation.positive_scalar("lr_lambda", lr_lambda)
    c = validation.nonnegative_scalar("c", c)
    return solve.discrete(problem(parameters(p_star, sigma, lr_w, lr_lambda, 1.0, c)),
                          _state(w0, lambda0), steps, **options)


def minnorm_flow(p_star: float, w0, *, c: float, times, eta_w: float = 1.0,
                 eta_lambda: float = 1.0, lambda0: float = 0.0, sigma: float = 1.0,
                 **options) -> ChainTrajectory:
    """Minnorm(c) flow dw_i/dt = -eta_w [w_i - (lambda + c sigma r) p / w_i],
    dlambda/dt = eta_lambda sigma r (docs/linear_chain.md §2a.2); options as in :func:`gradient_flow`."""
    eta_w = validation.positive_scalar("eta_w", eta_w)
    eta_lambda = validation.positive_scalar("eta_lambda", eta_lambda)
    c = validation.nonnegative_scalar("c", c)
    return solve.flow(problem(parameters(p_star, sigma, eta_w, eta_lambda, 1.0, c)),
                      _state(w0, lambda0), times, **options)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "gradient_flow": gradient_flow,
    "l2_descent": l2_descent,
    "l2_flow": l2_flow,
    "minnorm_descent": minnorm_descent,
    "minnorm_flow": minnorm_flow,
}
"""Every solver of this setting, by name (used by the benchmarks and parity tests)."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    w0, p_star = np.array([1.5, 0.3, 0.9]), 2.0
    discrete, flow = {"steps": [5, 40]}, {"times": [0.5, 2.0], "method": "rk4", "dt": 0.01}
    return {"gradient_descent": ((p_star, w0), {"lr": 0.05, **discrete}),
            "gradient_flow": ((p_star, w0), flow),
            "l2_descent": ((p_star, w0), {"lr": 0.05, "beta": 0.1, **discrete}),
            "l2_flow": ((p_star, w0), {"beta": 0.1, **flow}),
            "minnorm_descent": ((p_star, w0), {"c": 1.0, "lr_w": 0.05, "lr_lambda": 0.05,
                                               **discrete}),
            "minnorm_flow": ((p_star, w0), {"c": 1.0, **flow})}


# --------------------------------------------------------------------------- measurements


def l2_best_time_to_accuracy(p_star: float, w0, eps: float, *, target, beta_high: float,
                             sigma: float = 1.0, dt: float = 0.1, samples: int = 20001,
                             span: float = 100.0) -> tuple[float, float]:
    """(min over beta of T_eps for L2 flow, the minimizing beta): the best-tuned L2 run.

    T_eps is :func:`time_to_accuracy` of ||w(t) - target||. The search is bounded Brent on
    log beta over [beta_high / span, beta_high]; ``beta_high`` should be the largest beta
    whose fixed point is within ``eps`` of ``target`` (larger beta never gets there). Each
    run lasts 15 / beta, longer than ln(1/eps) / (2 beta) (the imbalance decay) for
    eps >= 1e-6. A run that does not reach ``eps`` within its horizon is scored, for the
    search only, as the longest horizon 15 span / beta_high, which exceeds every time a
    run can reach, so the minimizer prefers any run that reaches ``eps``. RK4 at ``dt`` =
    0.1 is stable for rates < 27 and exact at fixed points.

    Returns
    -------
    (T, beta) : tuple of float
        T is the time to accuracy of the run at the returned beta, which did reach
        ``eps``; T = inf ("not reached") if no run the search tried reached ``eps``
        within its horizon. A horizon is never returned as a time.
    """
    from scipy.optimize import minimize_scalar

    target = validation.finite_vector("target", target)
    beta_high = validation.positive_scalar("beta_high", beta_high)
    not_reached_score = 15.0 * span / beta_high
    settling: dict[float, float] = {}

    def settling_time(log_beta: float) -> float:
        beta = float(np.exp(log_beta))
        horizon = 15.0 / beta
        traj = l2_flow(p_star, w0, beta=beta, sigma=sigma, times=np.linspace(0, horizon, samples),
                       method="rk4", dt=dt).raise_if_diverged()
        distance = np.linalg.norm(traj.weights - target, axis=1)
        settling[log_beta] = time_to_accuracy(traj.times, distance, eps)
        return settling[log_beta] if np.isfinite(settling[log_beta]) else not_reached_score

    best = minimize_scalar(settling_time, bounds=(np.log(beta_high / span), np.log(beta_high)),
                           method="bounded", options={"xatol": 1e-2})
    # Brent returns its best evaluated point; a run that reached eps scores below every
    # run that did not, so the point did not reach eps only if no tried run did
    return float(settling.get(best.x, np.inf)), float(np.exp(best.x))
