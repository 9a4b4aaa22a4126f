"""Deep linear network f(x) = W_D ... W_1 x = M x in teacher-student regression (docs/deep_linear.md).

Data X (P x N_i) and targets Y (P x N_o) hold the samples as rows, as everywhere in the
package. The formulas below use their transposes, the column forms X_c = X^T and
Y_c = Y^T of docs/deep_linear.md §3a.1 and Saxe et al. (samples as columns), which the kernel also
works with: loss (1/2P) ||Y_c - M X_c||_F^2, residual R = Y_c - M X_c (N_o x P). With
W_{>l} = W_D ... W_{l+1} and W_{<l} = W_{l-1} ... W_1 every algorithm is one vector field on
(W_1, ..., W_D, Lambda):

    dW_l/dt    = eta_w [ W_{>l}^T (Lambda + c R) X_c^T W_{<l}^T / P - beta W_l ],
    dLambda/dt = eta_lambda R / P,

=====================  ======  ===========  ====  =====
algorithm              eta_w   eta_lambda   beta  c
=====================  ======  ===========  ====  =====
gradient descent/flow  eta     0            0     1
L2-regularized         eta     0            beta  1
Minnorm(c)             eta_w   eta_lambda   1     c
=====================  ======  ===========  ====  =====

(Minnorm: the primal-dual flow of 1/2 sum ||W_l||^2 + <Lambda, R>/P + c ||R||^2/(2P), see
docs/minnorm.md §0b; the multiplier matrix integrates the residual.) The kernel evaluates the field
by backpropagation (:func:`field`), on the samples or, where that takes fewer products
and there are no multipliers (P large against N_i), on their second moments S_xx and
S_yx, with products (:func:`theory.linalg.tiny_block_matmul` and its siblings: loops when tiny, else BLAS) into
buffers allocated before the time loop. Discrete algorithms are forward Euler with unit
step.

The state is the flat concatenation of the W_l (row-major) and, for Minnorm, Lambda (in
column form, N_o x P); :class:`DeepTrajectory` unpacks it, multipliers as P x N_o like Y. Each solver has ``backend="numba"`` and ``"numpy"``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import solve, validation
from theory.linalg import (blas_block_matmul, blas_block_times_transpose_into,
                           blas_block_weight_times, blas_block_weight_transpose_times,
                           blas_product, is_tiny, tiny_block_matmul,
                           tiny_block_times_transpose_into, tiny_block_weight_times,
                           tiny_block_weight_transpose_times)
from theory.numba_options import jit, jit_inline
from theory.layers import (LayeredTrajectory, gaussian_weights, layer_offsets, pack,
                           unpack)
from theory.solve import Problem, compile_loops

ETA_W, ETA_LAMBDA, BETA, C, FORM = range(5)
"""Slots of the kernel's parameter vector (FORM: :data:`DATA` or :data:`COVARIANCE`)."""

DATA, COVARIANCE = 0, 1
"""The kernel's data: the samples X_c, Y_c, or their second moments (:func:`kernel_data`)."""


def product(weights: list[np.ndarray]) -> np.ndarray:
    """M = W_D ... W_1."""
    M = weights[0]
    for W in weights[1:]:
        M = W @ M
    return M


@dataclass(frozen=True)
class DeepTrajectory(LayeredTrajectory):
    """A :class:`~theory.layers.LayeredTrajectory` of a deep linear network; ``widths`` =
    (N_i, n_1, ..., N_o)."""

    @property
    def maps(self) -> np.ndarray:
        """M(t) = W_D ... W_1 at every sample, shape (n, N_o, N_i)."""
        return np.array([product(self.weights_at(i)) for i in range(len(self.times))])

    def modes(self, X, Y) -> np.ndarray:
        """Saxe's mode strengths diag(U^T M(t) V) for Sigma_yx = Y^T X / P = U S V^T, shape
        (n, rank), columns in descending order of s."""
        U, _, Vt = np.linalg.svd(Y.T @ X / X.shape[0], full_matrices=False)
        return np.einsum("om,ton,mn->tm", U, self.maps, Vt)

    @property
    def multipliers(self) -> np.ndarray:
        """Lambda(t) at every sample, one per sample and output like Y: shape (n, P, N_o)
        (Minnorm only)."""
        column_form = self.multiplier_block().reshape(len(self.times), self.widths[-1], -1)
        return column_form.transpose(0, 2, 1)


# --------------------------------------------------------------------------- initializations


def gaussian_init(widths, sigma0: float, seed: int) -> list[np.ndarray]:
    """W_l with iid N(0, sigma0^2 / fan_in) entries (fan_in = widths[l-1])."""
    widths = _widths(widths)
    sigma0 = validation.positive_scalar("sigma0", sigma0)
    return gaussian_weights(widths, sigma0, validation.count("seed", seed, minimum=0))


def _orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal n x n matrix (QR with the signs of R fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def balanced_init(widths, singular_values, seed: int) -> list[np.ndarray]:
    """W_l = Q_l S Q_{l-1}^T on the first r = len(s) columns of random orthogonal Q_l, so
    that every balance matrix W_{l+1}^T W_{l+1} - W_l W_l^T is zero."""
    widths = _widths(widths)
    s = validation.finite_vector("singular_values", singular_values)
    if s.size > widths.min():
        raise ValueError(f"singular_values: at most min(widths) = {widths.min()} values")
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    Q = [_orthogonal(int(n), rng)[:, :s.size] for n in widths]
    return [Q[l + 1] @ np.diag(s) @ Q[l].T for l in range(widths.size - 1)]


def saxe_init(X, Y, widths, u0: float, seed: int) -> list[np.ndarray]:
    """Saxe's decoupled balanced start: with Sigma_yx = Y^T X / P = U S V^T, W_1 = R_1 a V^T,
    W_l = R_l a R_{l-1}^T, W_D = U a R_{D-1}^T with a = u0^(1/D) I on the r = rank modes and
    random orthogonal R_l, so every mode starts at strength u0 and the modes evolve apart."""
    X, Y = validation.paired_samples(X, Y)
    widths = _widths(widths)
    u0 = validation.positive_scalar("u0", u0)
    if widths[0] != X.shape[1] or widths[-1] != Y.shape[1]:
        raise ValueError(f"widths must start with N_i = {X.shape[1]} and end with N_o = "
                         f"{Y.shape[1]}, got {widths.tolist()}")
    U, _, Vt = np.linalg.svd(Y.T @ X / X.shape[0], full_matrices=False)
    r = U.shape[1]
    if r > widths[1:-1].min(initial=r):
        raise ValueError(f"widths: hidden layers need at least {r} units for the {r} modes")
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    frames = [Vt.T] + [_orthogonal(int(n), rng)[:, :r] for n in widths[1:-1]] + [U]
    a = u0 ** (1.0 / (widths.size - 1))
    return [a * frames[l + 1] @ frames[l].T for l in range(widths.size - 1)]


# --------------------------------------------------------------------------- data


def teacher_student(n_in: int, n_out: int, n_samples: int, noise: float = 0.0,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, Y, W_bar): W_bar ~ N(0, 1/n_in) of n_out x n_in, X ~ N(0, 1) of n_samples x n_in,
    Y = X W_bar^T + noise E with E ~ N(0, 1) (docs/deep_linear.md §3a.3). Same seed, same data."""
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    n_in, n_out = validation.count("n_in", n_in), validation.count("n_out", n_out)
    n_samples = validation.count("n_samples", n_samples)
    noise = validation.nonnegative_scalar("noise", noise)
    W_bar = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    X_c = rng.standard_normal((n_in, n_samples))
    Y_c = W_bar @ X_c + noise * rng.standard_normal((n_out, n_samples))
    return np.ascontiguousarray(X_c.T), np.ascontiguousarray(Y_c.T), W_bar


TEACHER: dict[str, int] = {"n_in": 20, "n_out": 5, "hidden": 20, "n_samples": 10, "seed": 0}
"""The named teacher-student instance of docs/deep_linear.md §3a.3 (P < N_i: a null space), with
the hidden width of its networks; verify, figures and the tests read it here."""

MINNORM_SCHEDULES: dict[int, dict[str, float]] = {
    2: {"c": 2.0, "lr": 0.05, "steps": 60_000},
    3: {"c": 10.0, "lr": 0.005, "steps": 300_000},
}
"""Discrete Minnorm on :data:`TEACHER` by depth (docs/deep_linear.md §3a.3): damping c, the common
learning rate lr_w = lr_lambda, and the steps that reach the fixed point."""


def teacher_instance(noise: float = 0.0, n_samples: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, Y, W_bar) of :data:`TEACHER` (:func:`teacher_student`), with label noise of std
    ``noise`` and optionally another number of samples."""
    return teacher_student(TEACHER["n_in"], TEACHER["n_out"],
                           TEACHER["n_samples"] if n_samples is None else n_samples, noise,
                           seed=TEACHER["seed"])


def teacher_widths(depth: int) -> list[int]:
    """Layer widths (N_i, hidden, ..., hidden, N_o) of depth ``depth`` for :data:`TEACHER`."""
    depth = validation.depth(depth)
    return [TEACHER["n_in"]] + [TEACHER["hidden"]] * (depth - 1) + [TEACHER["n_out"]]


def whitened_teacher(strengths, n_in: int = 6, n_samples: int = 12,
                     seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) with X^T X / P = I exactly and Y = X W^T, W with singular values ``strengths``
    (Saxe's setting: Sigma_xx = I, Sigma_yx = W)."""
    s = validation.finite_vector("strengths", strengths)
    if np.any(s <= 0.0) or np.unique(s).size != s.size:
        raise ValueError(f"strengths must be positive and distinct (they are the singular "
                         f"values of the modes), got {s}")
    n_in, n_samples = validation.count("n_in", n_in), validation.count("n_samples", n_samples)
    if not s.size <= n_in <= n_samples:
        raise ValueError(f"need len(strengths) <= n_in <= n_samples, got {s.size}, {n_in}, "
                         f"{n_samples}")
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    q, _ = np.linalg.qr(rng.standard_normal((n_samples, n_in)))
    U, _ = np.linalg.qr(rng.standard_normal((s.size, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n_in, s.size)))
    X_c = np.sqrt(n_samples) * q.T
    return np.ascontiguousarray(X_c.T), np.ascontiguousarray(((U * s) @ V.T @ X_c).T)


# --------------------------------------------------------------------------- kernels


@jit_inline
def field_into(y, args, out, work, add_state):
    """Write F(y) into ``out`` (module docstring), or, if ``add_state``, add it to y
    (``out`` then holds each layer's gradient product, and every entry of y is read
    before it is written: G_{l-1} = W_l^T G_l is formed before W_l moves, and Lambda's
    field is added after the pass that reads Lambda); ``args`` = (X_k, Y_k, widths, params)
    from :func:`kernel_data`, ``work`` = (offsets, rows, scratch): the layer offsets in
    the state, and one scratch matrix of K columns (K the number of columns of X_k) that
    holds per layer l = 1..D an n_l x K block for A_l from row ``rows[l - 1]`` and one for
    G_l from row ``rows[D + l - 1]``. Weights are read and gradients written in the flat
    state, blocks addressed by their first row (:func:`theory.linalg.tiny_block_weight_times`
    and its siblings): no reshaped view, list item or view of the scratch, each of which
    costs an atomic reference count per use in the time loop.

    Data form (X_k = X_c, Y_k = Y_c): activations A_l = W_l A_{l-1} (A_0 = X_c), error
    G_D = (Lambda + c R) / P, G_{l-1} = W_l^T G_l, gradient part G_l A_{l-1}^T.
    Covariance form (X_k = S_xx = X_c X_c^T / P, Y_k = S_yx = Y_c X_c^T / P; no Lambda):
    the same with A_l = W_l ... W_1 (A_0 = I, so A_1 = W_1 and the first gradient part is
    G_1 itself) and G_D = c (S_yx - A_D S_xx), since R X_c^T / P = S_yx - M S_xx.
    """
    X, Y, widths, params = args
    offsets, rows, S = work
    depth = widths.size - 1
    K = X.shape[1]
    covariance = params[FORM] == COVARIANCE
    eta_w = params[ETA_W]
    beta = params[BETA]
    # forward: A_l = W_l A_{l-1}
    for l in range(depth):
        if l > 0 and is_tiny(widths[l + 1], widths[l], K):
            tiny_block_weight_times(y, offsets[l], S, rows[l - 1], widths[l], S, rows[l],
                                    widths[l + 1])
        elif l > 0:
            blas_block_weight_times(y, offsets[l], S, rows[l - 1], widths[l], S, rows[l],
                                    widths[l + 1])
        elif covariance:
            n_in, a = widths[0], rows[0]
            for i in range(widths[1]):
                for j in range(n_in):
                    S[a + i, j] = y[i * n_in + j]
        elif is_tiny(widths[1], widths[0], K):
            tiny_block_weight_times(y, 0, X, 0, widths[0], S, rows[0], widths[1])
        else:
            blas_block_weight_times(y, 0, X, 0, widths[0], S, rows[0], widths[1])
    # output error G_D, and the multiplier field
    n_o = widths[depth]
    lam_off = offsets[depth]
    a = rows[depth - 1]
    g = rows[2 * depth - 1]
    if covariance:
        if is_tiny(n_o, K, K):
            tiny_block_matmul(S, a, n_o, X, S, g)
        else:
            blas_block_matmul(S, a, n_o, X, S, g)
        for i in range(n_o):
            for j in range(K):
                S[g + i, j] = params[C] * (Y[i, j] - S[g + i, j])
    elif y.size > lam_off:  # the branch outside the loops, so that LLVM vectorizes them
        for i in range(n_o):
            for mu in range(K):
                r = Y[i, mu] - S[a + i, mu]
                out[lam_off + i * K + mu] = params[ETA_LAMBDA] * r / K
                S[g + i, mu] = (y[lam_off + i * K + mu] + params[C] * r) / K
        if add_state:  # a pass of its own: fused into the one above, it ran slower
            for j in range(lam_off, y.size):
                y[j] += out[j]
    else:
        for i in range(n_o):
            for mu in range(K):
                S[g + i, mu] = params[C] * (Y[i, mu] - S[a + i, mu]) / K
    # backward: dW_l = eta_w (G_l A_{l-1}^T - beta W_l), G_{l-1} = W_l^T G_l
    for l in range(depth - 1, -1, -1):
        g = rows[depth + l]
        start, stop = offsets[l], offsets[l + 1]
        if l > 0 and is_tiny(widths[l + 1], K, widths[l]):
            tiny_block_times_transpose_into(S, g, widths[l + 1], S, rows[l - 1], widths[l],
                                            out, start)
        elif l > 0:
            blas_block_times_transpose_into(S, g, widths[l + 1], S, rows[l - 1], widths[l],
                                            out, start)
        elif covariance:
            n_in = widths[0]
            for i in range(widths[1]):
                for j in range(n_in):
                    out[start + i * n_in + j] = S[g + i, j]
        elif is_tiny(widths[1], K, widths[0]):
            tiny_block_times_transpose_into(S, g, widths[1], X, 0, widths[0], out, start)
        else:
            blas_block_times_transpose_into(S, g, widths[1], X, 0, widths[0], out, start)
        if l > 0 and is_tiny(widths[l], widths[l + 1], K):
            tiny_block_weight_transpose_times(y, start, S, g, widths[l + 1], S,
                                              rows[depth + l - 1], widths[l])
        elif l > 0:
            blas_block_weight_transpose_times(y, start, S, g, widths[l + 1], S,
                                              rows[depth + l - 1], widths[l])
        if add_state:
            for i in range(start, stop):
                y[i] += eta_w * (out[i] - beta * y[i])
        else:
            for i in range(start, stop):
                out[i] = eta_w * (out[i] - beta * y[i])


@jit
def field(y, args, out, work):
    """Write F(y) into ``out`` (:func:`field_into`)."""
    field_into(y, args, out, work, False)


@jit
def unit_step(y, args, k, work):
    """y <- y + F(y) (a discrete algorithm's step, :mod:`theory.loops`): each layer's
    update is added in the pass that scales its gradient product (one pass over the
    weights fewer than forming F(y) and adding it)."""
    field_into(y, args, k, work, True)


@jit
def project(y, args):
    """No constraint to project onto."""


@jit
def workspace(y, args):
    """Scratch of :func:`field` (its docstring)."""
    X, widths = args[0], args[2]
    depth = widths.size - 1
    offsets = np.zeros(widths.size, dtype=np.int64)
    for l in range(depth):
        offsets[l + 1] = offsets[l] + widths[l + 1] * widths[l]
    rows = np.zeros(2 * depth, dtype=np.int64)
    for l in range(1, 2 * depth):
        rows[l] = rows[l - 1] + widths[(l - 1) % depth + 1]
    return offsets, rows, np.empty((rows[-1] + widths[depth], X.shape[1]))


LOOPS = compile_loops(field, project, workspace, unit_step)


def field_numpy(y: np.ndarray, X: np.ndarray, Y: np.ndarray, widths: np.ndarray,
                params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`; X and Y in column form (N_i x P, N_o x P), as the
    kernel's ``args``."""
    weights = unpack(y, widths)
    n_weights = int(layer_offsets(widths)[-1])
    P = X.shape[1]
    acts = [X]
    for W in weights:
        acts.append(W @ acts[-1])
    R = Y - acts[-1]
    has_multiplier = y.size > n_weights
    lam = y[n_weights:].reshape(R.shape) if has_multiplier else 0.0
    G = (lam + params[C] * R) / P
    grads = []
    for l in range(len(weights) - 1, -1, -1):
        grads.append(params[ETA_W] * (G @ acts[l].T - params[BETA] * weights[l]))
        G = weights[l].T @ G
    flat = [g.ravel() for g in reversed(grads)]
    if has_multiplier:
        flat.append((params[ETA_LAMBDA] * R / P).ravel())
    return np.concatenate(flat)


# --------------------------------------------------------------------------- wrappers


def _widths(widths) -> np.ndarray:
    values = [validation.count("widths", w) for w in np.atleast_1d(widths)]
    if len(values) < 2:
        raise ValueError("widths must list at least the input and output sizes (depth >= 1)")
    return np.array(values, dtype=np.int64)


def products_per_evaluation(widths: np.ndarray, columns: int, covariance: bool) -> int:
    """Multiplications of one evaluation of :func:`field` with data of ``columns`` columns
    (P samples, or N_i for the covariance form)."""
    layers = widths[1:] * widths[:-1]
    if covariance:  # forward and both backward products except at layer 1, and A_D S_xx
        return int(columns * (3 * layers[1:].sum() + widths[-1] * widths[0]))
    return int(columns * (2 * layers.sum() + layers[1:].sum()))


def kernel_data(X_c: np.ndarray, Y_c: np.ndarray, widths: np.ndarray, params: np.ndarray,
                minnorm: bool) -> tuple:
    """The kernel's ``args``: the column forms and ``params`` with FORM = DATA, or, when it
    takes fewer products (:func:`products_per_evaluation`; not for Minnorm, whose
    multipliers are per sample), S_xx, S_yx and FORM = COVARIANCE (:func:`field`)."""
    P = X_c.shape[1]
    covariance = (not minnorm and products_per_evaluation(widths, widths[0], True)
                  < products_per_evaluation(widths, P, False))
    if not covariance:
        return X_c, Y_c, widths, np.append(params, DATA)
    X_c, Y_c = np.ascontiguousarray(X_c), np.ascontiguousarray(Y_c)
    return (blas_product(X_c, X_c.T) / P, blas_product(Y_c, X_c.T) / P, widths,
            np.append(params, COVARIANCE))


def _start(X, Y, weights0, params, lambda0, minnorm: bool) -> tuple[Problem, np.ndarray]:
    """(problem, initial state) of a run, after validating the data and the start."""
    X, Y = validation.paired_samples(X, Y)
    if not weights0:
        raise ValueError("weights0 must hold at least one matrix (depth >= 1)")
    weights0 = [validation.finite_matrix(f"weights0[{i}]", w) for i, w in enumerate(weights0)]
    widths = np.array([weights0[0].shape[1]] + [w.shape[0] for w in weights0], dtype=np.int64)
    if widths[0] != X.shape[1] or widths[-1] != Y.shape[1]:
        raise ValueError(f"weights0 map {widths[0]} inputs to {widths[-1]} outputs, but X has "
                         f"{X.shape[1]} columns (features) and Y {Y.shape[1]}")
    y0 = pack(weights0)
    if minnorm:
        lam = (np.zeros(Y.shape) if lambda0 is None
               else validation.finite_matrix("lambda0", lambda0))
        if lam.shape != Y.shape:
            raise ValueError(f"lambda0 must have the shape of Y {Y.shape}, got {lam.shape}")
        y0 = np.ascontiguousarray(np.concatenate((y0, lam.T.ravel())))
    X, Y = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)  # column forms
    problem = Problem(LOOPS, kernel_data(X, Y, widths, params, minnorm),
                      lambda y: field_numpy(y, X, Y, widths, params),
                      trajectory=DeepTrajectory, extra={"widths": tuple(int(w) for w in widths)})
    return problem, y0


def gradient_descent(X, Y, weights0, *, lr: float, steps, **options) -> DeepTrajectory:
    """Gradient descent W_l <- W_l + lr W_{>l}^T R X_c^T W_{<l}^T / P from ``weights0`` =
    [W_1..W_D], X (P x N_i) and Y (P x N_o) with samples as rows.

    ``steps``: sample step indices; ``**options``: ``stop_tol``, ``max_steps``, ``backend``
    (:mod:`theory.solve`).
    """
    params = np.array([validation.positive_scalar("lr", lr), 0.0, 0.0, 1.0])
    return solve.discrete(*_start(X, Y, weights0, params, None, False), steps, **options)


def gradient_flow(X, Y, weights0, *, times, eta: float = 1.0, **options) -> DeepTrajectory:
    """Gradient flow dW_l/dt = eta W_{>l}^T R X_c^T W_{<l}^T / P (docs/deep_linear.md §3a.2).

    ``**options``: the integration options of :func:`theory.solve.flow` (``method``, ``dt``,
    ``rtol``, ``atol``, ``first_step``, ``stop_tol``, ``max_steps``, ``backend``); the same
    for every flow of this module. Adaptive steps (the default) cross plateaus and the slow
    approach to a fixed point in far fewer steps than a fixed step.
    """
    params = np.array([validation.positive_scalar("eta", eta), 0.0, 0.0, 1.0])
    return solve.flow(*_start(X, Y, weights0, params, None, False), times, **options)


def l2_descent(X, Y, weights0, *, beta: float, lr: float, steps, **options) -> DeepTrajectory:
    """L2-regularized gradient descent: the GD step minus lr beta W_l."""
    params = np.array([validation.positive_scalar("lr", lr), 0.0,
                       validation.nonnegative_scalar("beta", beta), 1.0])
    return solve.discrete(*_start(X, Y, weights0, params, None, False), steps, **options)


def l2_flow(X, Y, weights0, *, beta: float, times, eta: float = 1.0,
            **options) -> DeepTrajectory:
    """L2-regularized gradient flow dW_l/dt = eta (W_{>l}^T R X_c^T W_{<l}^T / P - beta W_l)."""
    params = np.array([validation.positive_scalar("eta", eta), 0.0,
                       validation.nonnegative_scalar("beta", beta), 1.0])
    return solve.flow(*_start(X, Y, weights0, params, None, False), times, **options)


def minnorm_descent(X, Y, weights0, *, c: float, lr_w: float, lr_lambda: float, steps,
                    lambda0=None, **options) -> DeepTrajectory:
    """Discrete Minnorm(c), Jacobi update from the old (W, Lambda):
    W_l <- W_l - lr_w (W_l - W_{>l}^T (Lambda + c R) X_c^T W_{<l}^T / P), Lambda <- Lambda + lr_lambda R / P.
    """
    params = np.array([validation.positive_scalar("lr_w", lr_w),
                       validation.positive_scalar("lr_lambda", lr_lambda), 1.0,
                       validation.nonnegative_scalar("c", c)])
    return solve.discrete(*_start(X, Y, weights0, params, lambda0, True), steps, **options)


def minnorm_flow(X, Y, weights0, *, c: float, times, eta_w: float = 1.0,
                 eta_lambda: float = 1.0, lambda0=None, **options) -> DeepTrajectory:
    """Minnorm(c) flow (module docstring); ``lambda0`` (P x N_o, like Y) defaults to zeros."""
    params = np.array([validation.positive_scalar("eta_w", eta_w),
                       validation.positive_scalar("eta_lambda", eta_lambda), 1.0,
                       validation.nonnegative_scalar("c", c)])
    return solve.flow(*_start(X, Y, weights0, params, lambda0, True), times, **options)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "gradient_flow": gradient_flow,
    "l2_descent": l2_descent,
    "l2_flow": l2_flow,
    "minnorm_descent": minnorm_descent,
    "minnorm_flow": minnorm_flow,
}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    X, Y, _ = teacher_student(4, 2, 3, seed=1)
    args = (X, Y, gaussian_init([4, 3, 2], 0.5, seed=2))
    discrete, flow = {"steps": [5, 40]}, {"times": [0.5, 2.0]}
    return {"gradient_descent": (args, {"lr": 0.1, **discrete}),
            "gradient_flow": (args, flow),
            "l2_descent": (args, {"lr": 0.1, "beta": 0.05, **discrete}),
            "l2_flow": (args, {"beta": 0.05, "method": "rk4", "dt": 0.01, **flow}),
            "minnorm_descent": (args, {"c": 1.0, "lr_w": 0.1, "lr_lambda": 0.1, **discrete}),
            "minnorm_flow": (args, {"c": 1.0, **flow})}
