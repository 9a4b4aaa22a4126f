"""Orthogonal over-parameterized training (OPT): the setting module (docs/orthogonal.md).

Neurons are the **columns** of a d x N matrix. OPT (Liu et al., CVPR 2021) fixes random
neurons V and learns an orthogonal R, so that the trained neurons are W = R V; since R
preserves inner products, every hyperspherical energy of W equals that of V
(docs/orthogonal.md §6b.1). Two modules hold the pieces the learners build on:

- :mod:`theory.orthogonal_energy`: the hyperspherical energy E_s and its variants
  (docs/orthogonal.md §6a.2);
- :mod:`theory.orthogonal_maps`: the orthogonalizers of the OPT code (Gram-Schmidt,
  Householder, Löwdin, Cayley), their jitted kernels, pullbacks and NumPy twins
  (docs/orthogonal.md §6a.3, §6b.5).

This module holds the learners:

- on the Procrustes task min 1/2 |R V - T|_F^2 (docs/orthogonal.md §6a.4), each a solver
  of :mod:`theory.solve`: :func:`parametrized_descent` / :func:`parametrized_flow`
  (R = map(A), gradient through the map), :func:`penalty_descent` (R free, soft penalty
  mu |R R^T - I|_F), :func:`orthogonal_descent` (OGD: the Cayley retraction, exact or
  with the two fixed-point iterations of the authors' code) and
  :func:`stochastic_descent` (S-OPT: episodes on random coordinate subsets). Discrete
  algorithms are unit Euler steps whose field is the whole update (new state minus old),
  momentum included;
- a one-hidden-layer ReLU classifier on a Gaussian mixture (:func:`mixture_task`), its
  neurons learned by OPT or directly (:func:`network_descent`, docs/orthogonal.md §6a.6),
  with its own compiled loops (:data:`NETWORK_LOOPS`).

Every solver has a jitted field that allocates nothing per step (scratch from
:func:`workspace`) and a NumPy twin (``backend="numpy"``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import solve, validation
from theory.linalg import matmul, solve_in_place
from theory.numba_options import jit
from theory.orthogonal_energy import hyperspherical_energy
from theory.orthogonal_maps import (GRAM_SCHMIDT, LOWDIN, nonsingular, orthogonalize_kernel,
                                    orthogonalize_numpy, orthogonalizer_code, pullback_kernel,
                                    pullback_numpy)
from theory.results import Trajectory
from theory.solve import Problem, compile_loops

# --------------------------------------------------------------------------- codes

PARAMETRIZED, PENALTY, OGD, STOCHASTIC = range(4)
"""Algorithm codes passed to the kernel."""
EXACT, ITERATIVE = 0, 1
"""OGD retractions: the Cayley transform solved exactly, or two fixed-point iterations."""
RETRACTIONS: dict[str, int] = {"cayley": EXACT, "iterative": ITERATIVE}

ALGORITHM, MAP, RATE, MOMENTUM, PENALTY_WEIGHT, RETRACTION, EPISODE_STEPS, FLOW = range(8)
"""Slots of the parameter vector."""

COUNTER_UNIT = 2.0 ** -60
"""S-OPT's step counter is stored as k COUNTER_UNIT: exact for k < 2^53, and its increment
(8.7e-19) stays below any stop tolerance, so ``stop_tol`` still stops on the rotation's
updates."""

OGD_EPSILON = 1e-8
"""The authors' guard in the OGD step bound alpha = min(lr, 1/(|W|_F + eps))."""


# --------------------------------------------------------------------------- Procrustes task


def haar_orthogonal(dim: int, seed: int) -> np.ndarray:
    """A Haar-random orthogonal dim x dim matrix: QR of a Gaussian matrix, the columns' signs
    fixed by the signs of diag(R) (docs/orthogonal.md §6a.4)."""
    dim = validation.count("dim", dim)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def procrustes_instance(dim: int, n_neurons: int, noise: float, seed: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, T, R_true) of the Procrustes task (docs/orthogonal.md §6a.4): neurons V (dim x
    n_neurons) with iid N(0, 1/n_neurons) entries, so that V V^T ~ I; a Haar-random rotation
    or reflection R_true; targets T = R_true V + noise E with E of the same law as V. Built
    from ``default_rng(seed)``: same seed, same instance."""
    dim = validation.count("dim", dim, minimum=2)
    n_neurons = validation.count("n_neurons", n_neurons)
    noise = validation.nonnegative_scalar("noise", noise)
    seed = validation.count("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(n_neurons)
    V = rng.standard_normal((dim, n_neurons)) * scale
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    R_true = q * np.sign(np.diag(r))
    T = R_true @ V + noise * scale * rng.standard_normal((dim, n_neurons))
    return V, T, R_true


def procrustes_loss(R, V, T) -> float:
    """1/2 |R V - T|_F^2."""
    V, T = _task("V", V, "T", T)
    R = validation.square_matrix("R", R)
    if R.shape[0] != V.shape[0]:
        raise ValueError(f"R must be {V.shape[0]} x {V.shape[0]}, got shape {R.shape}")
    return 0.5 * float(np.sum((R @ V - T) ** 2))


def _task(name_v: str, V, name_t: str, T) -> tuple[np.ndarray, np.ndarray]:
    V = validation.finite_matrix(name_v, V)
    T = validation.finite_matrix(name_t, T)
    if V.shape != T.shape:
        raise ValueError(f"{name_v} and {name_t} must have the same shape (d x N), got "
                         f"{V.shape} and {T.shape}")
    if V.shape[0] < 2:
        raise ValueError(f"{name_v} must have at least 2 rows (the dimension d), got {V.shape[0]}")
    return V, T


# --------------------------------------------------------------------------- trajectory


@dataclass(frozen=True)
class OrthogonalTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` of an OPT learner on the Procrustes task.

    The state is the flat concatenation of (docs/orthogonal.md §6a.5): the parameter P (d x d:
    the raw A of a parametrized learner, R itself for the penalty and OGD, the accumulated
    rotation of S-OPT), then for discrete algorithms the momentum (d x d), and for S-OPT the
    episode's raw A' and momentum (each e x e, e = subset size) and the step counter (in
    units of :data:`COUNTER_UNIT`).
    """

    dim: int = 0
    algorithm: int = PARAMETRIZED
    orthogonalizer: int = GRAM_SCHMIDT
    subsets: np.ndarray | None = None
    episode_steps: int = 0

    @property
    def parameters(self) -> np.ndarray:
        """P(t), shape (n, d, d)."""
        d = self.dim
        return self.states[:, :d * d].reshape(-1, d, d)

    @property
    def rotations(self) -> np.ndarray:
        """R(t), the matrix applied to the neurons, shape (n, d, d): map(A) for a
        parametrized learner, R for the penalty and OGD, E(map(A')) R_acc for S-OPT
        (E: the identity with map(A') in the episode's rows and columns)."""
        P = self.parameters
        if self.algorithm in (PENALTY, OGD):
            return P.copy()
        if self.algorithm == PARAMETRIZED:
            return np.array([orthogonalize_numpy(self.orthogonalizer, A)[0] for A in P])
        d, e = self.dim, self.subsets.shape[1]
        out = P.copy()
        for n, state in enumerate(self.states):
            A = state[d * d:d * d + e * e].reshape(e, e)
            count = int(state[-1] / COUNTER_UNIT)
            episode = min(count // self.episode_steps, self.subsets.shape[0] - 1)
            rows = self.subsets[episode]
            out[n][rows] = orthogonalize_numpy(self.orthogonalizer, A)[0] @ P[n][rows]
        return out

    @property
    def defects(self) -> np.ndarray:
        """|R^T R - I|_F at every sample."""
        R = self.rotations
        return np.linalg.norm(np.einsum("nki,nkj->nij", R, R) - np.eye(self.dim), axis=(1, 2))

    def losses(self, V, T) -> np.ndarray:
        """1/2 |R(t) V - T|_F^2 at every sample."""
        V, T = _task("V", V, "T", T)
        return 0.5 * np.sum((self.rotations @ V - T) ** 2, axis=(1, 2))

    def energies(self, V, s: float = 1.0, **variant) -> np.ndarray:
        """:func:`theory.orthogonal_energy.hyperspherical_energy` of the neurons R(t) V at
        every sample (``variant``: its ``distance``, ``half_space`` and ``backend``)."""
        V = validation.finite_matrix("V", V)
        return np.array([hyperspherical_energy(R @ V, s, **variant) for R in self.rotations])


# --------------------------------------------------------------------------- kernels


@jit
def _procrustes_gradient(R, VV, TV, G):
    """G = R V V^T - T V^T, the gradient of 1/2 |R V - T|_F^2 in R."""
    matmul(R, VV, G)
    d = R.shape[0]
    for i in range(d):
        for j in range(d):
            G[i, j] -= TV[i, j]


@jit
def _add_penalty_gradient(R, weight, grad, X):
    """grad += weight 2 (R R^T - I) R / |R R^T - I|_F, the gradient of weight |R R^T - I|_F
    (0 where R is orthogonal: the penalty is not differentiable there)."""
    d = R.shape[0]
    matmul(R, R.T, X)
    norm = 0.0
    for i in range(d):
        X[i, i] -= 1.0
        for j in range(d):
            norm += X[i, j] * X[i, j]
    norm = np.sqrt(norm)
    if norm == 0.0 or weight == 0.0:
        return
    scale = 2.0 * weight / norm
    for i in range(d):
        for k in range(d):
            x = scale * X[i, k]
            for j in range(d):
                grad[i, j] += x * R[k, j]


@jit
def _ogd_step(R, M, VV, TV, params, dR, dM, mats):
    """One OGD step (docs/orthogonal.md §6a.4): M+ = mu M - G, W^ = M+ R^T - 1/2 R (R^T M+ R^T),
    W = W^ - W^^T, M+ <- W R, alpha = min(lr, 1/(|W|_F + eps)), then R+ = (I - alpha/2 W)^-1
    (I + alpha/2 W) R (exact) or two fixed-point iterations Y_0 = R + alpha M+,
    Y_(k+1) = R + alpha/2 W (R + Y_k), R+ = Y_2 (iterative); dR = R+ - R, dM = M+ - M."""
    d = R.shape[0]
    G, Mn, W, t1, t2 = mats[0], mats[1], mats[2], mats[3], mats[4]
    _procrustes_gradient(R, VV, TV, G)
    mu = params[MOMENTUM]
    for i in range(d):
        for j in range(d):
            Mn[i, j] = mu * M[i, j] - G[i, j]
    matmul(R.T, Mn, t1)      # R^T M+
    matmul(t1, R.T, t2)      # R^T M+ R^T
    matmul(R, t2, t1)        # R (R^T M+ R^T)
    matmul(Mn, R.T, t2)      # M+ R^T
    norm = 0.0
    for i in range(d):
        for j in range(d):
            t2[i, j] -= 0.5 * t1[i, j]
    for i in range(d):
        for j in range(d):
            W[i, j] = t2[i, j] - t2[j, i]
            norm += W[i, j] * W[i, j]
    matmul(W, R, Mn)
    alpha = min(params[RATE], 1.0 / (np.sqrt(norm) + OGD_EPSILON))
    half = 0.5 * alpha
    if int(params[RETRACTION]) == EXACT:
        lhs = mats[5]  # I - alpha/2 W: W skew, so its eigenvalues are 1 - i alpha/2 w != 0
        for i in range(d):
            for j in range(d):
                lhs[i, j] = -half * W[i, j]
                t1[i, j] = half * W[i, j]
            lhs[i, i] += 1.0
            t1[i, i] += 1.0
        matmul(t1, R, t2)
        solve_in_place(lhs, t2)
        for i in range(d):
            for j in range(d):
                dR[i, j] = t2[i, j] - R[i, j]
    else:
        for i in range(d):        # t1 = R + Y_0 = 2 R + alpha M+
            for j in range(d):
                t1[i, j] = 2.0 * R[i, j] + alpha * Mn[i, j]
        matmul(W, t1, t2)        # Y_1 - R = alpha/2 W (R + Y_0)
        for i in range(d):
            for j in range(d):
                t1[i, j] = 2.0 * R[i, j] + half * t2[i, j]
        matmul(W, t1, t2)        # R+ - R = alpha/2 W (R + Y_1)
        for i in range(d):
            for j in range(d):
                dR[i, j] = half * t2[i, j]
    for i in range(d):
        for j in range(d):
            dM[i, j] = Mn[i, j] - M[i, j]


@jit
def _momentum_update(grad, M, rate, mu, dP, dM):
    """Heavy ball: M+ = mu M - grad, P+ = P + rate M+ (as differences dP, dM)."""
    d = grad.shape[0]
    for i in range(d):
        for j in range(d):
            m = mu * M[i, j] - grad[i, j]
            dP[i, j] = rate * m
            dM[i, j] = m - M[i, j]


@jit
def _stochastic_field(y, VV, TV, params, subsets, out, mats, subs, vecs):
    """S-OPT (docs/orthogonal.md §6a.4): a parametrized step on the episode's rows and
    columns; at the episode's last step the map of A' is folded into the accumulated
    rotation, A' reset to I and its momentum to 0."""
    d = VV.shape[0]
    e = subsets.shape[1]
    n, m = d * d, e * e
    R = y[:n].reshape((d, d))
    A = y[n:n + m].reshape((e, e))
    M = y[n + m:n + 2 * m].reshape((e, e))
    dR = out[:n].reshape((d, d))
    dA = out[n:n + m].reshape((e, e))
    dM = out[n + m:n + 2 * m].reshape((e, e))
    count = int(y[n + 2 * m] / COUNTER_UNIT)
    episode_steps = int(params[EPISODE_STEPS])
    rows = subsets[min(count // episode_steps, subsets.shape[0] - 1)]
    code = int(params[MAP])
    Q, aux, Gs, grad, t1, t2 = subs[0], subs[1], subs[2], subs[3], subs[4], subs[5]
    sigma, v = vecs[0][:e], vecs[1][:e]
    effective, G = mats[0], mats[1]
    orthogonalize_kernel(code, A, Q, aux, sigma, v, t1)
    for i in range(d):
        for j in range(d):
            effective[i, j] = R[i, j]
    for a in range(e):
        for j in range(d):
            acc = 0.0
            for b in range(e):
                acc += Q[a, b] * R[rows[b], j]
            effective[rows[a], j] = acc
    _procrustes_gradient(effective, VV, TV, G)
    for a in range(e):
        for b in range(e):
            acc = 0.0
            for j in range(d):
                acc += G[rows[a], j] * R[rows[b], j]
            Gs[a, b] = acc
    pullback_kernel(code, Q, aux, sigma, Gs, grad, t1, t2)
    _momentum_update(grad, M, params[RATE], params[MOMENTUM], dA, dM)
    for i in range(d):
        for j in range(d):
            dR[i, j] = 0.0
    if (count + 1) % episode_steps == 0:
        for a in range(e):
            for b in range(e):
                t1[a, b] = A[a, b] + dA[a, b]
        orthogonalize_kernel(code, t1, Q, aux, sigma, v, t2)
        for a in range(e):
            for j in range(d):
                acc = 0.0
                for b in range(e):
                    acc += Q[a, b] * R[rows[b], j]
                dR[rows[a], j] = acc - R[rows[a], j]
        for a in range(e):
            for b in range(e):
                dA[a, b] = (1.0 if a == b else 0.0) - A[a, b]
                dM[a, b] = -M[a, b]
    out[n + 2 * m] = COUNTER_UNIT


@jit
def field(y, args, out, work):
    """Write the update (new state minus old) of one step, or the flow's vector field, into
    ``out``; ``args`` = (V V^T, T V^T, params, subsets), ``work`` = (6 d x d matrices, 6
    e x e matrices, 2 vectors of d)."""
    VV, TV, params, subsets = args
    mats, subs, vecs = work
    algorithm = int(params[ALGORITHM])
    if algorithm == STOCHASTIC:
        _stochastic_field(y, VV, TV, params, subsets, out, mats, subs, vecs)
        return
    d = VV.shape[0]
    n = d * d
    P = y[:n].reshape((d, d))
    dP = out[:n].reshape((d, d))
    if algorithm == OGD:
        _ogd_step(P, y[n:2 * n].reshape((d, d)), VV, TV, params, dP,
                  out[n:2 * n].reshape((d, d)), mats)
        return
    Q, aux, G, grad, t1, t2 = mats[0], mats[1], mats[2], mats[3], mats[4], mats[5]
    if algorithm == PARAMETRIZED:
        code = int(params[MAP])
        orthogonalize_kernel(code, P, Q, aux, vecs[0], vecs[1], t1)
        _procrustes_gradient(Q, VV, TV, G)
        pullback_kernel(code, Q, aux, vecs[0], G, grad, t1, t2)
    else:
        _procrustes_gradient(P, VV, TV, grad)
        _add_penalty_gradient(P, params[PENALTY_WEIGHT], grad, t1)
    if params[FLOW] != 0.0:
        rate = params[RATE]
        for i in range(d):
            for j in range(d):
                dP[i, j] = -rate * grad[i, j]
        return
    _momentum_update(grad, y[n:2 * n].reshape((d, d)), params[RATE], params[MOMENTUM], dP,
                     out[n:2 * n].reshape((d, d)))


@jit
def project(y, args):
    """No projection: orthogonality comes from the maps and retractions, not from a
    projection (which would hide the drift of the penalty and the iterative OGD)."""


@jit
def workspace(y, args):
    """Scratch of :func:`field`: six d x d and six e x e matrices, two vectors of d."""
    d = args[0].shape[0]
    e = args[3].shape[1]
    return np.empty((6, d, d)), np.empty((6, e, e)), np.empty((2, d))


LOOPS = compile_loops(field, project, workspace)


# --------------------------------------------------------------------------- NumPy twin


def _momentum_numpy(grad, M, rate, mu) -> tuple[np.ndarray, np.ndarray]:
    m = mu * M - grad
    return rate * m, m - M


def _ogd_numpy(R, M, VV, TV, params) -> tuple[np.ndarray, np.ndarray]:
    Mn = params[MOMENTUM] * M - (R @ VV - TV)
    W_hat = Mn @ R.T - 0.5 * R @ (R.T @ Mn @ R.T)
    W = W_hat - W_hat.T
    Mn = W @ R
    alpha = min(params[RATE], 1.0 / (np.linalg.norm(W) + OGD_EPSILON))
    eye = np.eye(R.shape[0])
    if int(params[RETRACTION]) == EXACT:
        R_new = np.linalg.solve(eye - 0.5 * alpha * W, (eye + 0.5 * alpha * W) @ R)
        dR = R_new - R
    else:
        Y1 = R + 0.5 * alpha * W @ (2.0 * R + alpha * Mn)
        dR = 0.5 * alpha * W @ (R + Y1)
    return dR, Mn - M


def _stochastic_numpy(y, VV, TV, params, subsets) -> np.ndarray:
    d, e = VV.shape[0], subsets.shape[1]
    n, m = d * d, e * e
    R, A, M = y[:n].reshape(d, d), y[n:n + m].reshape(e, e), y[n + m:n + 2 * m].reshape(e, e)
    count, episode_steps = int(y[-1] / COUNTER_UNIT), int(params[EPISODE_STEPS])
    rows = subsets[min(count // episode_steps, subsets.shape[0] - 1)]
    code = int(params[MAP])
    Q, aux, sigma = orthogonalize_numpy(code, A)
    effective = R.copy()
    effective[rows] = Q @ R[rows]
    G = effective @ VV - TV
    grad = pullback_numpy(code, Q, aux, sigma, G[rows] @ R[rows].T)
    dA, dM = _momentum_numpy(grad, M, params[RATE], params[MOMENTUM])
    dR = np.zeros((d, d))
    if (count + 1) % episode_steps == 0:
        dR[rows] = orthogonalize_numpy(code, A + dA)[0] @ R[rows] - R[rows]
        dA, dM = np.eye(e) - A, -M
    return np.concatenate((dR.ravel(), dA.ravel(), dM.ravel(), [COUNTER_UNIT]))


def field_numpy(y: np.ndarray, VV: np.ndarray, TV: np.ndarray, params: np.ndarray,
                subsets: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`."""
    algorithm = int(params[ALGORITHM])
    if algorithm == STOCHASTIC:
        return _stochastic_numpy(y, VV, TV, params, subsets)
    d = VV.shape[0]
    n = d * d
    P = y[:n].reshape(d, d)
    if algorithm == OGD:
        dR, dM = _ogd_numpy(P, y[n:].reshape(d, d), VV, TV, params)
        return np.concatenate((dR.ravel(), dM.ravel()))
    if algorithm == PARAMETRIZED:
        code = int(params[MAP])
        Q, aux, sigma = orthogonalize_numpy(code, P)
        grad = pullback_numpy(code, Q, aux, sigma, Q @ VV - TV)
    else:
        grad = P @ VV - TV
        X = P @ P.T - np.eye(d)
        norm = np.linalg.norm(X)
        if norm > 0.0 and params[PENALTY_WEIGHT] != 0.0:
            grad = grad + 2.0 * params[PENALTY_WEIGHT] * X @ P / norm
    if params[FLOW] != 0.0:
        return -params[RATE] * grad.ravel()
    dP, dM = _momentum_numpy(grad, y[n:].reshape(d, d), params[RATE], params[MOMENTUM])
    return np.concatenate((dP.ravel(), dM.ravel()))


# --------------------------------------------------------------------------- solvers


NO_SUBSETS = np.zeros((1, 1), dtype=np.int64)
"""The ``subsets`` argument of the algorithms other than S-OPT."""


def problem(V: np.ndarray, T: np.ndarray, params: np.ndarray,
            subsets: np.ndarray = NO_SUBSETS) -> Problem:
    """The run description for :mod:`theory.solve` (V, T validated, d x N)."""
    VV = np.ascontiguousarray(V @ V.T)
    TV = np.ascontiguousarray(T @ V.T)
    subsets = np.ascontiguousarray(subsets, dtype=np.int64)
    algorithm = int(params[ALGORITHM])
    extra = {"dim": V.shape[0], "algorithm": algorithm, "orthogonalizer": int(params[MAP])}
    if algorithm == STOCHASTIC:
        extra.update(subsets=subsets, episode_steps=int(params[EPISODE_STEPS]))
    return Problem(LOOPS, (VV, TV, params, subsets),
                   lambda y: field_numpy(y, VV, TV, params, subsets),
                   trajectory=OrthogonalTrajectory, extra=extra)


def kernel_parameters(algorithm: int, rate: float, *, orthogonalizer: int = GRAM_SCHMIDT,
                      momentum: float = 0.0, penalty: float = 0.0, retraction: int = EXACT,
                      episode_steps: int = 0, flow: bool = False) -> np.ndarray:
    """The kernel's parameter vector (slots :data:`ALGORITHM` ... :data:`FLOW`) for the
    codes given (unvalidated: the solvers validate their arguments first)."""
    params = np.zeros(8)
    params[[ALGORITHM, MAP, RATE, MOMENTUM, PENALTY_WEIGHT, RETRACTION, EPISODE_STEPS, FLOW]] = (
        algorithm, orthogonalizer, rate, momentum, penalty, retraction, episode_steps, flow)
    return params


def _momentum(momentum: float) -> float:
    mu = validation.nonnegative_scalar("momentum", momentum)
    if mu >= 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {mu}")
    return mu


def _start_matrix(name: str, value, dim: int) -> np.ndarray:
    P = validation.square_matrix(name, value)
    if P.shape[0] != dim:
        raise ValueError(f"{name} must be {dim} x {dim} (d x d), got shape {P.shape}")
    return P


def _state(P: np.ndarray, *blocks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([P.ravel()] + [b.ravel() for b in blocks]))


def parametrized_descent(V, T, A0, *, lr: float, steps, orthogonalizer: str = "gram_schmidt",
                         momentum: float = 0.0, **options) -> OrthogonalTrajectory:
    """OPT by an unrolled orthogonalizer (docs/orthogonal.md §6a.4): R = map(A) with A
    unconstrained, trained by gradient descent with heavy-ball momentum on
    L(A) = 1/2 |map(A) V - T|_F^2, the gradient pulled back through the map
    (docs/orthogonal.md §6b.5):

        M <- mu M - grad_A L,   A <- A + lr M.

    Parameters
    ----------
    V, T : array_like, shape (d, N)
        Fixed neurons (columns) and targets, d >= 2.
    A0 : array_like, shape (d, d)
        The start (nonsingular for Gram-Schmidt and Löwdin).
    lr : float
        Step size > 0.
    steps : array_like of int
        Step indices at which to sample.
    orthogonalizer : {'gram_schmidt', 'householder', 'lowdin', 'cayley'}
    momentum : float
        mu in [0, 1) (the OPT code: 0.9).
    **options
        ``stop_tol``, ``max_steps``, ``backend``: see :mod:`theory.solve`.
    """
    V, T = _task("V", V, "T", T)
    code = orthogonalizer_code(orthogonalizer)
    A0 = _start_matrix("A0", A0, V.shape[0])
    if code in (GRAM_SCHMIDT, LOWDIN):
        nonsingular(A0, orthogonalizer)
    params = kernel_parameters(PARAMETRIZED, validation.positive_scalar("lr", lr),
                               orthogonalizer=code, momentum=_momentum(momentum))
    return solve.discrete(problem(V, T, params), _state(A0, np.zeros_like(A0)), steps, **options)


def parametrized_flow(V, T, A0, *, times, eta: float = 1.0,
                      orthogonalizer: str = "gram_schmidt", **options) -> OrthogonalTrajectory:
    """The gradient flow dA/dt = -eta grad_A L(A) of :func:`parametrized_descent`'s loss
    (docs/orthogonal.md §6a.4). ``**options``: the integration options of
    :func:`theory.solve.flow`."""
    V, T = _task("V", V, "T", T)
    code = orthogonalizer_code(orthogonalizer)
    A0 = _start_matrix("A0", A0, V.shape[0])
    if code in (GRAM_SCHMIDT, LOWDIN):
        nonsingular(A0, orthogonalizer)
    params = kernel_parameters(PARAMETRIZED, validation.positive_scalar("eta", eta),
                               orthogonalizer=code, flow=True)
    return solve.flow(problem(V, T, params), _state(A0), times, **options)


def penalty_descent(V, T, R0, *, lr: float, steps, penalty: float = 0.1, momentum: float = 0.0,
                    **options) -> OrthogonalTrajectory:
    """R unconstrained with the soft penalty of the OPT code's ``opt_or`` variant
    (docs/orthogonal.md §6a.4): gradient descent with momentum on

        1/2 |R V - T|_F^2 + penalty |R R^T - I|_F    (not squared),

    whose penalty has no gradient on O(d) itself (0 is used there). ``penalty=0`` is
    unconstrained training of R. Options as in :func:`parametrized_descent`.
    """
    V, T = _task("V", V, "T", T)
    R0 = _start_matrix("R0", R0, V.shape[0])
    params = kernel_parameters(PENALTY, validation.positive_scalar("lr", lr),
                               momentum=_momentum(momentum),
                               penalty=validation.nonnegative_scalar("penalty", penalty))
    return solve.discrete(problem(V, T, params), _state(R0, np.zeros_like(R0)), steps, **options)


def _retraction_code(retraction: str) -> int:
    try:
        return RETRACTIONS[retraction]
    except (KeyError, TypeError):
        raise ValueError(f"retraction must be one of {sorted(RETRACTIONS)}, got "
                         f"{retraction!r}") from None


def orthogonal_descent(V, T, R0=None, *, lr: float, steps, momentum: float = 0.0,
                       retraction: str = "cayley", **options) -> OrthogonalTrajectory:
    """Orthogonality-preserving gradient descent (OGD, the OPT code's ``opt_ogd``, after
    Li, Fuxin & Todorovic 2020; docs/orthogonal.md §6a.4): the momentum projected to a skew
    generator W and the step alpha = min(lr, 1/(|W|_F + 1e-8)) taken along the Cayley
    retraction R+ = (I - alpha/2 W)^-1 (I + alpha/2 W) R, solved exactly
    (``retraction='cayley'``: R+ is orthogonal to round-off) or by the code's two
    fixed-point iterations (``'iterative'``: R+^T R+ = R^T (I - alpha^4/4 W^4 -
    alpha^6/16 W^6) R, docs/orthogonal.md §6b.6). ``R0`` defaults to I (the code's start).
    Options as in :func:`parametrized_descent`.
    """
    V, T = _task("V", V, "T", T)
    R0 = np.eye(V.shape[0]) if R0 is None else _start_matrix("R0", R0, V.shape[0])
    params = kernel_parameters(OGD, validation.positive_scalar("lr", lr),
                               momentum=_momentum(momentum),
                               retraction=_retraction_code(retraction))
    return solve.discrete(problem(V, T, params), _state(R0, np.zeros_like(R0)), steps, **options)


def coordinate_subsets(dim: int, subset_size: int, episodes: int, seed: int) -> np.ndarray:
    """``episodes`` rows of ``subset_size`` distinct coordinates of 0..dim-1, each drawn
    without replacement from ``default_rng(seed)`` (S-OPT's episodes, docs/orthogonal.md
    §6a.4)."""
    dim = validation.count("dim", dim, minimum=2)
    subset_size = validation.count("subset_size", subset_size, minimum=2)
    if subset_size > dim:
        raise ValueError(f"subset_size must be at most dim = {dim}, got {subset_size}")
    episodes = validation.count("episodes", episodes)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    return np.array([rng.choice(dim, subset_size, replace=False) for _ in range(episodes)],
                    dtype=np.int64)


def stochastic_descent(V, T, *, lr: float, steps, subset_size: int, episode_steps: int,
                       seed: int, orthogonalizer: str = "gram_schmidt", momentum: float = 0.0,
                       **options) -> OrthogonalTrajectory:
    """Stochastic OPT (S-OPT, the OPT code's ``sopt_gs``; docs/orthogonal.md §6a.4): from
    R_acc = I, episodes of ``episode_steps`` steps; each draws ``subset_size`` coordinates
    (:func:`coordinate_subsets` with ``seed``), learns R' = map(A') on them from A' = I by
    :func:`parametrized_descent`'s update (the neurons are E(R') R_acc V, E(R') the
    identity with R' in those rows and columns), and at its end folds R_acc <- E(R') R_acc.
    The net map is orthogonal throughout. Options as in :func:`parametrized_descent`.
    """
    V, T = _task("V", V, "T", T)
    code = orthogonalizer_code(orthogonalizer)
    dim = V.shape[0]
    episode_steps = validation.count("episode_steps", episode_steps)
    horizon = int(validation.sample_steps("steps", steps)[-1])
    subsets = coordinate_subsets(dim, subset_size, -(-horizon // episode_steps), seed)
    params = kernel_parameters(STOCHASTIC, validation.positive_scalar("lr", lr),
                               orthogonalizer=code, momentum=_momentum(momentum),
                               episode_steps=episode_steps)
    e = subsets.shape[1]
    y0 = _state(np.eye(dim), np.eye(e), np.zeros((e, e)), np.zeros(1))
    return solve.discrete(problem(V, T, params, subsets), y0, steps, **options)


# --------------------------------------------------------------------------- network


def mixture_task(n_train: int, n_test: int, dim: int, n_classes: int, separation: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test) of a Gaussian mixture (docs/orthogonal.md §6a.6):
    class means separation u_c with u_c iid uniform on the unit sphere, samples
    x = mean of its class + N(0, I/dim), classes drawn uniformly; rows are samples, labels
    integers 0..n_classes-1. Built from ``default_rng(seed)``."""
    n_train = validation.count("n_train", n_train)
    n_test = validation.count("n_test", n_test)
    dim = validation.count("dim", dim, minimum=2)
    n_classes = validation.count("n_classes", n_classes, minimum=2)
    separation = validation.positive_scalar("separation", separation)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    means = rng.standard_normal((n_classes, dim))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)

    def draw(n):
        labels = rng.integers(0, n_classes, n)
        return means[labels] + rng.standard_normal((n, dim)) / np.sqrt(dim), labels

    X_train, y_train = draw(n_train)
    X_test, y_test = draw(n_test)
    return X_train, y_train, X_test, y_test


NETWORK_MAP, NETWORK_RATE, NETWORK_MOMENTUM = range(3)
"""Slots of the network kernel's parameter vector (map code, or -1 for plain training)."""
PLAIN = -1
"""The network kernel's code for plain training: the neurons W themselves are learned."""


@dataclass(frozen=True)
class NetworkTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` of :func:`network_descent`: the state is P (A,
    d x d, for OPT; W, d x N, for plain training), U (N x C), then their momenta."""

    dim: int = 0
    neurons: np.ndarray | None = None
    n_classes: int = 0
    orthogonalizer: int = PLAIN

    def weights_at(self, index: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """(W, U) at sample ``index``: W = map(A) V for OPT."""
        d, n, c = self.dim, self.neurons.shape[1], self.n_classes
        state = self.states[index]
        if self.orthogonalizer == PLAIN:
            W, offset = state[:d * n].reshape(d, n), d * n
        else:
            A = state[:d * d].reshape(d, d)
            W, offset = orthogonalize_numpy(self.orthogonalizer, A)[0] @ self.neurons, d * d
        return W, state[offset:offset + n * c].reshape(n, c)


def network_outputs(X, W, U) -> np.ndarray:
    """Logits relu(X W) U of the one-hidden-layer network (rows are samples)."""
    return np.maximum(validation.finite_matrix("X", X) @ W, 0.0) @ U


@jit
def _network_gradients(P, U, X, Y, V, code, mats, subs, hidden, activation, out_logits, gP,
                       gU):
    """Cross-entropy gradients in (P, U) (docs/orthogonal.md §6a.6); ``hidden`` holds
    X W, then the gradient in it; ``activation`` relu(X W), then the gradient in it."""
    d = X.shape[1]
    n_samples, n_classes = Y.shape
    W = subs[0]
    if code == PLAIN:
        for i in range(d):
            for j in range(W.shape[1]):
                W[i, j] = P[i, j]
    else:
        Q, aux = mats[0], mats[1]
        orthogonalize_kernel(code, P, Q, aux, mats[4][0], mats[4][1], mats[3])
        matmul(Q, V, W)
    matmul(X, W, hidden)
    for k in range(hidden.shape[0]):
        for j in range(hidden.shape[1]):
            activation[k, j] = hidden[k, j] if hidden[k, j] > 0.0 else 0.0
    matmul(activation, U, out_logits)
    for k in range(n_samples):  # softmax - one-hot, over P
        top = out_logits[k, 0]
        for c in range(1, n_classes):
            top = max(top, out_logits[k, c])
        total = 0.0
        for c in range(n_classes):
            out_logits[k, c] = np.exp(out_logits[k, c] - top)
            total += out_logits[k, c]
        for c in range(n_classes):
            out_logits[k, c] = (out_logits[k, c] / total - Y[k, c]) / n_samples
    matmul(activation.T, out_logits, gU)
    matmul(out_logits, U.T, activation)
    for k in range(hidden.shape[0]):
        for j in range(hidden.shape[1]):
            hidden[k, j] = activation[k, j] if hidden[k, j] > 0.0 else 0.0
    if code == PLAIN:
        matmul(X.T, hidden, gP)
    else:
        gW = subs[1]
        matmul(X.T, hidden, gW)
        G = mats[2]
        matmul(gW, V.T, G)
        pullback_kernel(code, mats[0], mats[1], mats[4][0], G, gP, mats[3], mats[5])


@jit
def network_field(y, args, out, work):
    """One step of :func:`network_descent` (new state minus old): heavy-ball momentum on
    (P, U); ``args`` = (X, Y one-hot, V, params)."""
    X, Y, V, params = args
    mats, subs, hidden, activation, logits, gP, gU = work
    d, n = V.shape
    c = Y.shape[1]
    code = int(params[NETWORK_MAP])
    size = n * d if code == PLAIN else d * d
    rows = d
    columns = n if code == PLAIN else d
    P = y[:size].reshape((rows, columns))
    U = y[size:size + n * c].reshape((n, c))
    offset = size + n * c
    _network_gradients(P, U, X, Y, V, code, mats, subs, hidden, activation, logits, gP, gU)
    rate, mu = params[NETWORK_RATE], params[NETWORK_MOMENTUM]
    flat_P = gP.reshape(size)
    flat_U = gU.reshape(n * c)
    for i in range(size):
        m = mu * y[offset + i] - flat_P[i]
        out[i] = rate * m
        out[offset + i] = m - y[offset + i]
    for i in range(n * c):
        m = mu * y[offset + size + i] - flat_U[i]
        out[size + i] = rate * m
        out[offset + size + i] = m - y[offset + size + i]


@jit
def network_workspace(y, args):
    """Scratch of :func:`network_field`."""
    X, Y, V, params = args
    d, n = V.shape
    code = int(params[NETWORK_MAP])
    gP = np.empty((d, n)) if code == PLAIN else np.empty((d, d))
    return (np.empty((6, d, d)), np.empty((2, d, n)), np.empty((X.shape[0], n)),
            np.empty((X.shape[0], n)), np.empty(Y.shape), gP, np.empty((n, Y.shape[1])))


NETWORK_LOOPS = compile_loops(network_field, project, network_workspace)


def network_field_numpy(y: np.ndarray, X: np.ndarray, Y: np.ndarray, V: np.ndarray,
                        params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`network_field`."""
    d, n = V.shape
    c = Y.shape[1]
    code = int(params[NETWORK_MAP])
    size = n * d if code == PLAIN else d * d
    P = y[:size].reshape(d, n if code == PLAIN else d)
    U = y[size:size + n * c].reshape(n, c)
    moments = y[size + n * c:]
    if code == PLAIN:
        W = P
    else:
        Q, aux, sigma = orthogonalize_numpy(code, P)
        W = Q @ V
    hidden = X @ W
    activation = np.maximum(hidden, 0.0)
    logits = activation @ U
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    delta = (probabilities - Y) / X.shape[0]
    gU = activation.T @ delta
    gW = X.T @ ((delta @ U.T) * (hidden > 0.0))
    gP = gW if code == PLAIN else pullback_numpy(code, Q, aux, sigma, gW @ V.T)
    gradient = np.concatenate((gP.ravel(), gU.ravel()))
    m = params[NETWORK_MOMENTUM] * moments - gradient
    return np.concatenate((params[NETWORK_RATE] * m, m - moments))


def network_descent(X, y, V, P0, U0, *, lr: float, steps, orthogonalizer: str | None = None,
                    momentum: float = 0.0, **options) -> NetworkTrajectory:
    """A one-hidden-layer ReLU classifier, logits relu(X W) U, trained by gradient descent
    with heavy-ball momentum on the mean cross-entropy (docs/orthogonal.md §6a.6): OPT
    learns W = map(A) V with V fixed (``orthogonalizer`` a name of
    :data:`theory.orthogonal_maps.ORTHOGONALIZERS`; ``P0`` = A0, d x d), plain training
    learns W itself (``orthogonalizer=None``; ``P0`` = W0, d x N); U is learned in both.

    Parameters
    ----------
    X : array_like, shape (P, d)
        Samples as rows.
    y : array_like of int, shape (P,)
        Labels 0..C-1; C = the number of columns of ``U0``.
    V : array_like, shape (d, N)
        The fixed neurons of OPT (also sets N for plain training).
    P0, U0 : array_like
        The start.
    lr, steps, momentum, **options
        As in :func:`parametrized_descent`.
    """
    X = validation.finite_matrix("X", X)
    V = validation.finite_matrix("V", V)
    U0 = validation.finite_matrix("U0", U0)
    d, n = V.shape
    if X.shape[1] != d:
        raise ValueError(f"X must have d = {d} columns (the rows of V), got {X.shape[1]}")
    if U0.shape[0] != n or U0.shape[1] < 2:
        raise ValueError(f"U0 must be {n} x C with C >= 2 classes, got shape {U0.shape}")
    labels = np.asarray(y)
    if (labels.shape != (X.shape[0],) or not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0 or labels.max() >= U0.shape[1]):
        raise ValueError(f"y must hold {X.shape[0]} integer labels in 0..{U0.shape[1] - 1}")
    if orthogonalizer is None:
        code = PLAIN
        P0 = validation.finite_matrix("P0", P0)
        if P0.shape != (d, n):
            raise ValueError(f"P0 (W0) must be {d} x {n}, got shape {P0.shape}")
    else:
        code = orthogonalizer_code(orthogonalizer)
        P0 = _start_matrix("P0", P0, d)
        if code in (GRAM_SCHMIDT, LOWDIN):
            nonsingular(P0, orthogonalizer)
    params = np.array([code, validation.positive_scalar("lr", lr), _momentum(momentum)],
                      dtype=np.float64)
    Y = np.ascontiguousarray(np.eye(U0.shape[1])[labels])
    y0 = _state(P0, U0, np.zeros(P0.size + U0.size))
    problem = Problem(NETWORK_LOOPS, (X, Y, V, params),
                      lambda state: network_field_numpy(state, X, Y, V, params),
                      trajectory=NetworkTrajectory,
                      extra={"dim": d, "neurons": V, "n_classes": U0.shape[1],
                             "orthogonalizer": code})
    return solve.discrete(problem, y0, steps, **options)


SOLVERS = {
    "parametrized_descent": parametrized_descent,
    "parametrized_flow": parametrized_flow,
    "penalty_descent": penalty_descent,
    "orthogonal_descent": orthogonal_descent,
    "stochastic_descent": stochastic_descent,
    "network_descent": network_descent,
}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    V, T, _ = procrustes_instance(4, 10, 0.1, seed=1)
    A0 = np.random.default_rng(2).standard_normal((4, 4))
    discrete = {"steps": [5, 40], "lr": 0.1, "momentum": 0.5}
    return {"parametrized_descent": ((V, T, A0), {"orthogonalizer": "lowdin", **discrete}),
            "parametrized_flow": ((V, T, A0), {"orthogonalizer": "householder",
                                               "times": [0.5, 2.0], "method": "rk4",
                                               "dt": 0.05}),
            "penalty_descent": ((V, T, A0), discrete),
            "orthogonal_descent": ((V, T), {"retraction": "iterative", **discrete}),
            "stochastic_descent": ((V, T), {"subset_size": 2, "episode_steps": 7, "seed": 3,
                                            **discrete}),
            "network_descent": _network_example(discrete)}


def _network_example(discrete: dict) -> tuple[tuple, dict]:
    X, y, _, _ = mixture_task(12, 1, 4, 3, 2.0, seed=4)
    rng = np.random.default_rng(5)
    V = rng.standard_normal((4, 6)) * np.sqrt(2.0 / 4)
    A0 = np.eye(4) + 0.1 * rng.standard_normal((4, 4))
    return (X, y, V, A0, 0.1 * rng.standard_normal((6, 3))), {"orthogonalizer": "cayley",
                                                               **discrete}
