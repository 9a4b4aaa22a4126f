"""A two-layer WeightNorm network, its exact Hessian, and its training (docs/weightnorm_hessian.md).

The network (Cisneros-Velarde, Chen, Koyejo & Banerjee, arXiv:2409.08935, in its
two-layer form; docs/weightnorm_hessian.md §8a.1) maps x in R^d to

    f(x) = m^(-1/2) sum_k a_k phi(u_k),    u_k = w_k . x / rho_k,    rho_k = |w_k|,

with the m hidden weight vectors the **rows** of W (m x d) and output weights a (m).
Activations: ``"tanh"`` and ``"softplus"`` (smooth), and ``"relu"`` (output, gradient
and training only: its Hessian does not exist at the kink, and asking for one raises
ValueError).

- :func:`network_output`, :func:`parameter_gradient`: f and its gradient in the
  parameters theta = (vec W, a) (the state order: W row-major, then a);
- :func:`hessian_blocks`: the exact Hessian of f in theta at one input, block diagonal
  over neurons with (d+1) x (d+1) blocks in (w_k, a_k) (docs/weightnorm_hessian.md
  §8b.1); :func:`hessian_norm` its spectral norm, the largest block norm, each block's
  norm from its eigenvalues (the full Hessian is never formed;
  :func:`dense_hessian` forms it, in the state order, at test sizes only);
- :func:`gradient_descent` and :func:`gradient_flow` on the regression loss
  L = 1/(2n) sum_i (f(x_i) - y_i)^2 + lambda/2 (|W|_F^2 + |a|^2) (weight decay lambda,
  default 0), through :mod:`theory.solve` (docs/weightnorm_hessian.md §8a.2); the
  trajectories record rho_k (:attr:`WeightNormTrajectory.norms`);
- initializations :func:`sphere_init` (every rho_k equal) and :func:`gaussian_init`
  (rho_k^2 ~ chi^2_d / d, so rho_min shrinks like m^(-1/d)), both with a_k = +-1, and the
  data :func:`regression_task`.

Each kernel has a NumPy twin (``backend="numpy"``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import solve, validation
from theory.elementary import exp, tanh
from theory.numba_options import jit, jit_inline
from theory.results import Trajectory
from theory.solve import Problem, compile_loops

# --------------------------------------------------------------------------- activations

TANH, SOFTPLUS, RELU = range(3)
"""Activation codes passed to the kernels."""
ACTIVATIONS: dict[str, int] = {"tanh": TANH, "softplus": SOFTPLUS, "relu": RELU}
SMOOTH_ACTIVATIONS: tuple[str, ...] = ("tanh", "softplus")
"""The activations with a second derivative everywhere: the only ones a Hessian accepts."""

RATE, DECAY, ACTIVATION = range(3)
"""Slots of the kernel's parameter vector."""

MAX_DENSE = 2048
"""Largest number of parameters m (d + 1) for which :func:`dense_hessian` forms the matrix."""


@jit_inline
def _activation(code, z):
    """(phi(z), phi'(z), phi''(z)) of the activation ``code``."""
    if code == TANH:  # vectorizable, and accurate near 0 (theory.elementary.tanh)
        t = tanh(z)
        s = 1.0 - t * t
        return t, s, -2.0 * t * s
    if code == SOFTPLUS:
        e = exp(-abs(z))
        value = np.log1p(e) + max(z, 0.0)
        sigma = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
        return value, sigma, sigma * (1.0 - sigma)
    if z > 0.0:
        return z, 1.0, 0.0
    return 0.0, 0.0, 0.0


def activation_values(activation: str, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phi, phi', phi'') of ``activation`` at ``z`` (NumPy; relu: phi'(0) = phi''= 0)."""
    code = _activation_code(activation)
    z = np.asarray(z, dtype=np.float64)
    if code == TANH:
        t = np.tanh(z)
        return t, 1.0 - t * t, -2.0 * t * (1.0 - t * t)
    if code == SOFTPLUS:
        e = np.exp(-np.abs(z))
        sigma = np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
        return np.log1p(e) + np.maximum(z, 0.0), sigma, sigma * (1.0 - sigma)
    return np.maximum(z, 0.0), (z > 0.0).astype(np.float64), np.zeros_like(z)


def _activation_code(activation: str, smooth: bool = False) -> int:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    if smooth and activation not in SMOOTH_ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not twice differentiable: a Hessian "
                         f"needs one of {SMOOTH_ACTIVATIONS}")
    return ACTIVATIONS[activation]


# --------------------------------------------------------------------------- validation


def _weights(W, a) -> tuple[np.ndarray, np.ndarray]:
    """Validated (W, a): finite, W with m rows none of them zero, a with m entries."""
    W = validation.finite_matrix("W", W)
    a = validation.finite_vector("a", a, size=W.shape[0])
    zero = np.flatnonzero(np.sum(W * W, axis=1) == 0.0)
    if zero.size:
        raise ValueError(f"W: row {zero[0]} is zero (rho_k = |w_k| = 0 leaves w_k / |w_k| "
                         f"undefined)")
    return W, a


def _input(x, dim: int) -> np.ndarray:
    return validation.finite_vector("x", x, size=dim)


def _inputs(X, dim: int) -> np.ndarray:
    X = validation.finite_matrix("X", np.atleast_2d(X))
    if X.shape[1] != dim:
        raise ValueError(f"X must have d = {dim} columns (W is m x {dim}), got shape {X.shape}")
    return X


def _backend(backend: str) -> str:
    if backend not in ("numba", "numpy"):
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    return backend


def norms(W) -> np.ndarray:
    """rho_k = |w_k| of every row of W (m,)."""
    W = validation.finite_matrix("W", W)
    return np.sqrt(np.sum(W * W, axis=1))


# --------------------------------------------------------------------------- kernels


@jit
def outputs_kernel(W, a, X, code, out):
    """out[i] = f(x_i) (module docstring), X with samples as rows."""
    m, d = W.shape
    scale = 1.0 / np.sqrt(m)
    rho = np.empty(m)
    for k in range(m):
        acc = 0.0
        for j in range(d):
            acc += W[k, j] * W[k, j]
        rho[k] = np.sqrt(acc)
    for i in range(X.shape[0]):
        total = 0.0
        for k in range(m):
            z = 0.0
            for j in range(d):
                z += W[k, j] * X[i, j]
            phi, _, _ = _activation(code, z / rho[k])
            total += a[k] * phi
        out[i] = scale * total


@jit
def gradient_kernel(W, a, x, code, out):
    """The gradient of f(x) in theta = (vec W, a) into ``out`` (m d + m): df/dw_k =
    m^(-1/2) a_k phi'(u_k) g_k with g_k = (x - u_k w^_k)/rho_k, df/da_k = m^(-1/2) phi(u_k)
    (docs/weightnorm_hessian.md §8b.1)."""
    m, d = W.shape
    scale = 1.0 / np.sqrt(m)
    for k in range(m):
        rho2 = 0.0
        z = 0.0
        for j in range(d):
            rho2 += W[k, j] * W[k, j]
            z += W[k, j] * x[j]
        rho = np.sqrt(rho2)
        u = z / rho
        phi, phi1, _ = _activation(code, u)
        c = scale * a[k] * phi1 / rho
        for j in range(d):
            out[k * d + j] = c * (x[j] - u * W[k, j] / rho)
        out[m * d + k] = scale * phi


@jit_inline
def _fill_block(W, a, x, code, k, scale, block):
    """Block H_k of the Hessian of f(x) in (w_k, a_k) into ``block`` ((d+1) x (d+1)):
    H_ww = s a_k (phi'' g g^T + phi' Hu), Hu = -(w^ p^T + p w^T + u P)/rho^2, H_wa =
    s phi' g, H_aa = 0, with s = m^(-1/2), P = I - w^ w^T, p = P x, g = p/rho
    (docs/weightnorm_hessian.md §8b.1)."""
    d = W.shape[1]
    rho2 = 0.0
    z = 0.0
    for j in range(d):
        rho2 += W[k, j] * W[k, j]
        z += W[k, j] * x[j]
    rho = np.sqrt(rho2)
    u = z / rho
    _, phi1, phi2 = _activation(code, u)
    c1 = scale * a[k] * phi1 / rho2
    c2 = scale * a[k] * phi2 / rho2
    for i in range(d):
        wi = W[k, i] / rho
        pi = x[i] - u * wi
        for j in range(i + 1):
            wj = W[k, j] / rho
            pj = x[j] - u * wj
            value = c2 * pi * pj - c1 * (wi * pj + pi * wj + u * ((i == j) - wi * wj))
            block[i, j] = value
            block[j, i] = value
        block[i, d] = scale * phi1 * pi / rho
        block[d, i] = block[i, d]
    block[d, d] = 0.0


@jit
def hessian_blocks_kernel(W, a, x, code, out):
    """Every block H_k (:func:`_fill_block`) into ``out`` (m x (d+1) x (d+1))."""
    m = W.shape[0]
    scale = 1.0 / np.sqrt(m)
    for k in range(m):
        _fill_block(W, a, x, code, k, scale, out[k])


@jit
def block_norms_kernel(W, a, x, code, out):
    """out[k] = |H_k|_2, the largest |eigenvalue| of each block (LAPACK's symmetric
    eigensolver on a (d+1) x (d+1) scratch block, one block at a time)."""
    m, d = W.shape
    scale = 1.0 / np.sqrt(m)
    block = np.empty((d + 1, d + 1))
    for k in range(m):
        _fill_block(W, a, x, code, k, scale, block)
        values = np.linalg.eigvalsh(block)
        out[k] = max(abs(values[0]), abs(values[-1]))


def _blocks_numpy(W: np.ndarray, a: np.ndarray, x: np.ndarray, code: int) -> np.ndarray:
    """NumPy twin of :func:`hessian_blocks_kernel`, from the same formulas vectorized."""
    m, d = W.shape
    rho = np.sqrt(np.sum(W * W, axis=1))
    w_hat = W / rho[:, None]
    u = w_hat @ x
    _, phi1, phi2 = activation_values(list(ACTIVATIONS)[code], u)
    p = x[None, :] - u[:, None] * w_hat
    P = np.eye(d)[None] - np.einsum("ki,kj->kij", w_hat, w_hat)
    hess_u = -(np.einsum("ki,kj->kij", w_hat, p) + np.einsum("ki,kj->kij", p, w_hat)
               + u[:, None, None] * P) / (rho ** 2)[:, None, None]
    s = 1.0 / np.sqrt(m)
    blocks = np.zeros((m, d + 1, d + 1))
    blocks[:, :d, :d] = s * a[:, None, None] * (
        phi2[:, None, None] * np.einsum("ki,kj->kij", p, p) / (rho ** 2)[:, None, None]
        + phi1[:, None, None] * hess_u)
    blocks[:, :d, d] = s * phi1[:, None] * p / rho[:, None]
    blocks[:, d, :d] = blocks[:, :d, d]
    return blocks


def network_output(W, a, X, *, activation: str = "tanh", backend: str = "numba") -> np.ndarray:
    """f(x_i) for every row x_i of X (a single input may be a vector); shape (n,)."""
    W, a = _weights(W, a)
    X = _inputs(X, W.shape[1])
    code = _activation_code(activation)
    if _backend(backend) == "numpy":
        rho = np.sqrt(np.sum(W * W, axis=1))
        phi, _, _ = activation_values(activation, X @ (W / rho[:, None]).T)
        return phi @ a / np.sqrt(W.shape[0])
    out = np.empty(X.shape[0])
    outputs_kernel(W, a, X, code, out)
    return out


def parameter_gradient(W, a, x, *, activation: str = "tanh",
                       backend: str = "numba") -> np.ndarray:
    """The gradient of f(x) in theta = (vec W, a), shape (m d + m,) (state order)."""
    W, a = _weights(W, a)
    x = _input(x, W.shape[1])
    code = _activation_code(activation)
    m, d = W.shape
    if _backend(backend) == "numpy":
        rho = np.sqrt(np.sum(W * W, axis=1))
        u = W @ x / rho
        phi, phi1, _ = activation_values(activation, u)
        g = (x[None, :] - u[:, None] * W / rho[:, None]) / rho[:, None]
        return np.concatenate([((a * phi1)[:, None] * g).ravel() / np.sqrt(m),
                               phi / np.sqrt(m)])
    out = np.empty(m * d + m)
    gradient_kernel(W, a, x, code, out)
    return out


def hessian_blocks(W, a, x, *, activation: str = "tanh", backend: str = "numba") -> np.ndarray:
    """The blocks H_k of the Hessian of f(x) in theta, shape (m, d+1, d+1), each in the
    order (w_k[0], ..., w_k[d-1], a_k) (docs/weightnorm_hessian.md §8b.1). The Hessian is
    block diagonal: f is a sum of terms each depending on (w_k, a_k) alone."""
    W, a = _weights(W, a)
    x = _input(x, W.shape[1])
    code = _activation_code(activation, smooth=True)
    if _backend(backend) == "numpy":
        return _blocks_numpy(W, a, x, code)
    m, d = W.shape
    out = np.empty((m, d + 1, d + 1))
    hessian_blocks_kernel(W, a, x, code, out)
    return out


def block_norms(W, a, x, *, activation: str = "tanh", backend: str = "numba") -> np.ndarray:
    """|H_k|_2 of every block, shape (m,) (numba: one block at a time, never all stored)."""
    W, a = _weights(W, a)
    x = _input(x, W.shape[1])
    code = _activation_code(activation, smooth=True)
    if _backend(backend) == "numpy":
        return np.abs(np.linalg.eigvalsh(_blocks_numpy(W, a, x, code))).max(axis=1)
    out = np.empty(W.shape[0])
    block_norms_kernel(W, a, x, code, out)
    return out


def hessian_norm(W, a, x, *, activation: str = "tanh", backend: str = "numba") -> float:
    """|grad^2_theta f(theta; x)|_2 = max_k |H_k|_2: the spectral norm of a block-diagonal
    matrix is its largest block norm (docs/weightnorm_hessian.md §8b.1)."""
    return float(block_norms(W, a, x, activation=activation, backend=backend).max())


def dense_hessian(W, a, x, *, activation: str = "tanh") -> np.ndarray:
    """The full Hessian of f(x) in theta (state order: vec W row-major, then a), formed
    from the blocks; only for m (d + 1) <= :data:`MAX_DENSE` (tests, small examples)."""
    W, a = _weights(W, a)
    m, d = W.shape
    if m * (d + 1) > MAX_DENSE:
        raise ValueError(f"W: m (d + 1) = {m * (d + 1)} parameters; dense_hessian forms the "
                         f"matrix only up to {MAX_DENSE} (use hessian_blocks or hessian_norm)")
    blocks = hessian_blocks(W, a, x, activation=activation)
    H = np.zeros((m * (d + 1), m * (d + 1)))
    for k in range(m):
        index = np.append(np.arange(k * d, (k + 1) * d), m * d + k)
        H[np.ix_(index, index)] = blocks[k]
    return H


# --------------------------------------------------------------------------- initializations


def _sizes(width: int, dim: int, seed: int) -> tuple[int, int, np.random.Generator]:
    width = validation.count("width", width)
    dim = validation.count("dim", dim, minimum=2)
    return width, dim, np.random.default_rng(validation.count("seed", seed, minimum=0))


def sphere_init(width: int, dim: int, seed: int, radius: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """(W, a): rows w_k uniform on the sphere |w| = ``radius`` (every rho_k equal: the
    normalization terms are controlled) and a_k = +-1 with equal probability."""
    width, dim, rng = _sizes(width, dim, seed)
    radius = validation.positive_scalar("radius", radius)
    G = rng.standard_normal((width, dim))
    W = radius * G / np.linalg.norm(G, axis=1, keepdims=True)
    return W, rng.choice([-1.0, 1.0], size=width)


def gaussian_init(width: int, dim: int, seed: int, scale: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(W, a): W with iid N(0, scale^2/d) entries, so rho_k^2 ~ scale^2 chi^2_d / d and the
    smallest rho_k shrinks like m^(-1/d) as the width m grows; a_k = +-1."""
    width, dim, rng = _sizes(width, dim, seed)
    scale = validation.positive_scalar("scale", scale)
    W = scale * rng.standard_normal((width, dim)) / np.sqrt(dim)
    return W, rng.choice([-1.0, 1.0], size=width)


def unit_input(dim: int, seed: int) -> np.ndarray:
    """x uniform on the unit sphere of R^dim."""
    dim = validation.count("dim", dim, minimum=2)
    x = np.random.default_rng(validation.count("seed", seed, minimum=0)).standard_normal(dim)
    return x / np.linalg.norm(x)


def regression_task(n_samples: int, dim: int, seed: int, teacher_width: int = 4,
                    activation: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    """(X, y): n inputs uniform on the unit sphere of R^d and targets y = f*(x) of a
    WeightNorm teacher of ``teacher_width`` neurons (:func:`sphere_init`, radius 1)."""
    n_samples = validation.count("n_samples", n_samples)
    dim = validation.count("dim", dim, minimum=2)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    X = rng.standard_normal((n_samples, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    W, a = sphere_init(teacher_width, dim, int(rng.integers(2 ** 31)))
    return X, network_output(W, a, X, activation=activation)


HESSIAN_INSTANCE: dict[str, object] = {"dim": 10, "activation": "tanh", "widths":
                                       tuple(2 ** k for k in range(4, 15))}
"""The width sweep of docs/weightnorm_hessian.md §C8.4 and §C8.5: d = 10, tanh, widths
16, 32, ..., 16384, unit inputs; verify and the figures read it here."""

TRAINING: dict[str, object] = {"width": 200, "dim": 10, "n_samples": 40, "lr": 0.5,
                               "steps": 500, "weight_decay": 0.05, "activation": "tanh"}
"""The training instance of docs/weightnorm_hessian.md §C8.6 and §C8.7 (the figure uses
it with seed 0)."""


# --------------------------------------------------------------------------- trajectory


@dataclass(frozen=True)
class WeightNormTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` of the WeightNorm network; the state is
    (vec W row-major, a), ``width`` m and ``dim`` d."""

    width: int = 0
    dim: int = 0

    @property
    def weights(self) -> np.ndarray:
        """W(t), shape (n, m, d)."""
        m, d = self.width, self.dim
        return self.states[:, :m * d].reshape(-1, m, d)

    @property
    def outputs(self) -> np.ndarray:
        """a(t), shape (n, m)."""
        return self.states[:, self.width * self.dim:]

    @property
    def norms(self) -> np.ndarray:
        """rho_k(t) = |w_k(t)|, shape (n, m): the normalization terms."""
        return np.sqrt(np.sum(self.weights ** 2, axis=2))

    @property
    def min_norms(self) -> np.ndarray:
        """rho_min(t), shape (n,)."""
        return self.norms.min(axis=1)

    def losses(self, X, y, activation: str = "tanh") -> np.ndarray:
        """1/(2n) sum_i (f(x_i) - y_i)^2 at every sample (without the weight decay)."""
        X, y = _data(X, y, self.dim)
        return np.array([0.5 * np.mean((network_output(W, a, X, activation=activation) - y) ** 2)
                         for W, a in zip(self.weights, self.outputs)])


# --------------------------------------------------------------------------- training field


@jit_inline
def _activation_loop(code, Phi, C, inverse_rho):
    """The loop of :func:`_activation_pass` for one activation ``code``."""
    m, n = Phi.shape
    for k in range(m):
        scale = inverse_rho[k]
        for i in range(n):
            phi, phi1, _ = _activation(code, Phi[k, i] * scale)
            Phi[k, i] = phi
            C[k, i] = phi1


@jit_inline
def _activation_pass(code, Phi, C, inverse_rho):
    """Phi[k, i] <- phi(Phi[k, i] / rho_k), C[k, i] <- phi'(same): one evaluation of
    :func:`_activation` per pair, in a loop without reductions. The loop is called with
    a constant code per branch, so that the activation's own branches fold away and LLVM
    vectorizes the tanh loop (its exponential is :func:`theory.elementary.exp`; softplus
    keeps a libm log1p per pair)."""
    if code == TANH:
        _activation_loop(TANH, Phi, C, inverse_rho)
    elif code == SOFTPLUS:
        _activation_loop(SOFTPLUS, Phi, C, inverse_rho)
    else:
        _activation_loop(RELU, Phi, C, inverse_rho)


@jit
def field(y, args, out, work):
    """F(y) = -rate (grad L + lambda y) (module docstring) into ``out``; ``args`` = (X,
    targets, params), ``work`` = (Phi, C, inverse_rho, residual, GW), Phi and C of
    m x n (a neuron per row).

    With u_ki = w_k . x_i / rho_k, r_i = (f(x_i) - y_i)/n and C_ki = r_i a_k phi'(u_ki) /
    (sqrt(m) rho_k): dL/da = Phi r / sqrt(m) (Phi_ki = phi(u_ki)) and dL/dw_k =
    P_k (C X)_k, P_k = I - w^_k w^_k^T, since the derivative of 1/rho_k removes the
    component ((C X)_k . w^_k) w^_k: the gradient is orthogonal to w_k
    (docs/weightnorm_hessian.md §8b.4). Phi first holds W X^T; the products are BLAS.
    """
    X, targets, params = args
    Phi, C, inverse_rho, residual, GW = work
    n, d = X.shape
    m = inverse_rho.size
    rate = params[RATE]
    decay = params[DECAY]
    scale = 1.0 / np.sqrt(m)
    for k in range(m):
        acc = 0.0
        for j in range(d):
            acc += y[k * d + j] * y[k * d + j]
        inverse_rho[k] = 1.0 / np.sqrt(acc)
    np.dot(y[:m * d].reshape((m, d)), X.T, Phi)
    _activation_pass(int(params[ACTIVATION]), Phi, C, inverse_rho)
    a = y[m * d:]
    np.dot(a, Phi, residual)
    for i in range(n):
        residual[i] = (scale * residual[i] - targets[i]) / n
    np.dot(Phi, residual, out[m * d:])
    for k in range(m):
        coefficient = a[k] * inverse_rho[k] * scale
        for i in range(n):
            C[k, i] *= coefficient * residual[i]
    np.dot(C, X, GW)
    for k in range(m):
        along = 0.0
        for j in range(d):
            along += GW[k, j] * y[k * d + j]
        along *= inverse_rho[k] * inverse_rho[k]
        for j in range(d):
            out[k * d + j] = -rate * (GW[k, j] - along * y[k * d + j] + decay * y[k * d + j])
        out[m * d + k] = -rate * (scale * out[m * d + k] + decay * a[k])


@jit
def project(y, args):
    """No constraint to project onto."""


@jit
def workspace(y, args):
    """Scratch of :func:`field` (its docstring)."""
    X = args[0]
    n, d = X.shape
    m = y.size // (d + 1)
    return (np.empty((m, n)), np.empty((m, n)), np.empty(m), np.empty(n), np.empty((m, d)))


LOOPS = compile_loops(field, project, workspace)


def field_numpy(y: np.ndarray, X: np.ndarray, targets: np.ndarray,
                params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`."""
    n, d = X.shape
    m = y.size // (d + 1)
    W, a = y[:m * d].reshape(m, d), y[m * d:]
    rho = np.sqrt(np.sum(W * W, axis=1))
    U = X @ W.T / rho
    phi, phi1, _ = activation_values(list(ACTIVATIONS)[int(params[ACTIVATION])], U)
    r = (phi @ a / np.sqrt(m) - targets) / n
    C = r[:, None] * a[None, :] * phi1 / (np.sqrt(m) * rho[None, :])
    grad_W = C.T @ X - (np.sum(C * U, axis=0) / rho)[:, None] * W
    grad_a = phi.T @ r / np.sqrt(m)
    grad = np.concatenate((grad_W.ravel(), grad_a))
    return -params[RATE] * (grad + params[DECAY] * y)


# --------------------------------------------------------------------------- solvers


def _data(X, y, dim: int) -> tuple[np.ndarray, np.ndarray]:
    X = _inputs(X, dim)
    y = validation.finite_vector("y", y, size=X.shape[0])
    return X, y


def kernel_parameters(rate: float, weight_decay: float, activation: str) -> np.ndarray:
    """The kernel's parameter vector (slots :data:`RATE`, :data:`DECAY`, :data:`ACTIVATION`)."""
    return np.array([rate, weight_decay, float(ACTIVATIONS[activation])])


def problem(X, y, W0, a0, params: np.ndarray) -> tuple[Problem, np.ndarray]:
    """(problem, initial state) of a run, after validating the data and the start."""
    W0, a0 = _weights(W0, a0)
    X, y = _data(X, y, W0.shape[1])
    state = np.ascontiguousarray(np.concatenate((W0.ravel(), a0)))
    return Problem(LOOPS, (X, y, params), lambda s: field_numpy(s, X, y, params),
                   trajectory=WeightNormTrajectory,
                   extra={"width": W0.shape[0], "dim": W0.shape[1]}), state


def loss_gradient(X, y, W, a, *, weight_decay: float = 0.0,
                  activation: str = "tanh") -> np.ndarray:
    """grad L (state order) of the regression loss with weight decay (module docstring),
    from the jitted field at rate 1."""
    params = kernel_parameters(1.0, validation.nonnegative_scalar("weight_decay", weight_decay),
                               _checked_activation(activation))
    run, state = problem(X, y, W, a, params)
    out = np.empty_like(state)
    field(state, run.args, out, workspace(state, run.args))
    return -out


def _checked_activation(activation: str) -> str:
    _activation_code(activation)
    return activation


def gradient_descent(X, y, W0, a0, *, lr: float, steps, weight_decay: float = 0.0,
                     activation: str = "tanh", **options) -> WeightNormTrajectory:
    """Gradient descent theta <- theta - lr (grad L + lambda theta) on both layers from
    (W0, a0), X (n x d, samples as rows) and targets y (n) (docs/weightnorm_hessian.md
    §8a.2). Without weight decay every rho_k grows: rho_k^2 gains exactly
    lr^2 |dL/dw_k|^2 per step (docs/weightnorm_hessian.md §8b.4).

    ``steps``: sample step indices; ``**options``: ``stop_tol``, ``max_steps``, ``backend``
    (:mod:`theory.solve`).
    """
    params = kernel_parameters(validation.positive_scalar("lr", lr),
                               validation.nonnegative_scalar("weight_decay", weight_decay),
                               _checked_activation(activation))
    return solve.discrete(*problem(X, y, W0, a0, params), steps, **options)


def gradient_flow(X, y, W0, a0, *, times, eta: float = 1.0, weight_decay: float = 0.0,
                  activation: str = "tanh", **options) -> WeightNormTrajectory:
    """Gradient flow d theta/dt = -eta (grad L + lambda theta) (docs/weightnorm_hessian.md
    §8a.2): every rho_k is constant without weight decay and rho_k(0) exp(-eta lambda t)
    with it (docs/weightnorm_hessian.md §8b.4). ``**options``: the integration options of
    :func:`theory.solve.flow`."""
    params = kernel_parameters(validation.positive_scalar("eta", eta),
                               validation.nonnegative_scalar("weight_decay", weight_decay),
                               _checked_activation(activation))
    return solve.flow(*problem(X, y, W0, a0, params), times, **options)


SOLVERS = {"gradient_descent": gradient_descent, "gradient_flow": gradient_flow}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    X, y = regression_task(6, 3, seed=1)
    W0, a0 = gaussian_init(5, 3, seed=2)
    args = (X, y, W0, a0)
    return {"gradient_descent": (args, {"lr": 0.3, "steps": [5, 40], "weight_decay": 0.01}),
            "gradient_flow": (args, {"times": [0.5, 2.0], "activation": "softplus"})}
