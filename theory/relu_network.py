"""A fully connected ReLU network without biases, f(x) = W_L relu(W_{L-1} ... relu(W_1 x)),
trained on classification (handwritten digits) or teacher-student regression
(docs/relu_network.md §5a).

Data X (P x N_i) hold the samples as rows. Classification labels y are integers in
0..K-1 (K = N_o, the output width, >= 2); regression targets Y are P x N_o. A 1-D ``y``
means classification, a 2-D ``Y`` regression. With H_0 = X, H_l = relu(H_{l-1} W_l^T)
(l < L) and outputs F = H_{L-1} W_L^T (P x N_o), every algorithm is one vector field

    dW_l/dt = eta_w ( G_l^T H_{l-1} - beta W_l ),
    G_{l-1} = (G_l W_l) * [H_{l-1} > 0]        (backpropagation; relu'(0) = 0),

with the output error G = G_L (P x N_o) chosen by the algorithm:

=========================  =========================================  ==========  ====
algorithm                  G_L[mu, j]                                 eta_lambda  beta
=========================  =========================================  ==========  ====
gradient descent (class.)  (onehot(y_mu)_j - softmax(F_mu)_j) / P     0           0
gradient descent (regr.)   (Y - F)[mu, j] / P                         0           0
L2-regularized             the same                                   0           beta
Minnorm(c), regression     lambda_{mu j} + c r_{mu j}, r = Y - F      eta_lambda  1
Minnorm(c), margins        -a_{mu j} (j != y_mu), sum_k a_{mu k}      eta_lambda  1
                           (j = y_mu); a = max(0, lambda + c(1 - m))
=========================  =========================================  ==========  ====

Gradient descent and L2 minimize the mean loss (cross-entropy, or half the squared
error) plus beta/2 sum_l ||W_l||^2. Minnorm is the primal-dual flow of docs/minnorm.md §0b:
minimize 1/2 sum_l ||W_l||_F^2 subject to

- regression: r_{mu j} = Y_{mu j} - f_j(x_mu) = 0 for every example and output, with
  d lambda_{mu j}/dt = eta_lambda r_{mu j} and the damping c of the augmented
  Lagrangian 1/2 ||W||^2 + sum lambda r + c/2 sum r^2;
- classification: m_{mu j} = f_{y_mu}(x_mu) - f_j(x_mu) >= 1 for every example mu and
  every wrong class j != y_mu (the multi-class hard margin: the true class beats every
  other by 1), one multiplier lambda_{mu j} >= 0 per constraint, with
  d lambda_{mu j}/dt = eta_lambda (1 - m_{mu j}), held at 0 when lambda = 0 and the
  constraint holds strictly, and lambda <- max(lambda, 0) after every step. The damping
  is the augmented Lagrangian of inequality constraints (Rockafellar),
  1/2 ||W||^2 + sum (max(0, lambda + c g)^2 - lambda^2) / (2c), g = 1 - m, whose
  gradient in W is W - sum_{mu j} a_{mu j} grad m_{mu j} with a = max(0, lambda + c g);
  c = 0 is the plain Lagrangian (a = lambda).

Why one multiplier per (example, wrong class) and not one per example on its worst wrong
class: the pairwise constraints are each differentiable where f is, so the KKT
conditions are the ordinary ones (docs/relu_network.md §5b.1): lambda_{mu j} >= 0,
m_{mu j} >= 1, lambda_{mu j} (m_{mu j} - 1) = 0 and
W_l = sum_{mu, j != y_mu} lambda_{mu j} dm_{mu j}/dW_l; a worst-class constraint
min_j m_{mu j} >= 1 is not differentiable where two classes tie, which the fixed points
of a max-margin problem often do. The multipliers of one example summed over j,
sum_j lambda_{mu j}, measure how much that example supports the solution.

The fixed points of both Minnorm flows are KKT points, whatever c (docs/minnorm.md §0d).
Discrete algorithms are forward Euler with unit step and the learning rates in the
field (the Jacobi update of docs/minnorm.md §0c). The state is the flat concatenation of
the W_l (row-major, W_l of n_l x n_{l-1}) and, for Minnorm, the multipliers as a P x N_o
matrix (row-major; for classification the true-class entries are held at 0).
Each solver has ``backend="numba"`` and ``backend="numpy"``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import solve, validation
from theory.linalg import matmul
from theory.numba_options import jit
from theory.layers import (LayeredTrajectory, gaussian_weights, layer_offsets,
                           network_widths, pack, unpack)
from theory.solve import Problem, compile_loops
from theory.validation import class_labels

CROSS_ENTROPY, SQUARED, MARGIN_MINNORM, EQUALITY_MINNORM = range(4)
"""Algorithm codes passed to the kernel (the output error G_L of the module docstring)."""
ALGORITHM, ETA_W, ETA_LAMBDA, BETA, C = range(5)
"""Slots of the parameter vector."""

CLASSIFICATION, REGRESSION = "classification", "regression"


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class ReluTrajectory(LayeredTrajectory):
    """A :class:`~theory.layers.LayeredTrajectory` of a ReLU network; ``widths`` =
    (N_i, n_1, ..., N_o)."""

    @property
    def multipliers(self) -> np.ndarray:
        """lambda(t), one per example and output, shape (n, P, N_o) (Minnorm only; for
        classification the true-class entries are 0 and ``multipliers.sum(axis=2)`` is
        the per-example total)."""
        return self.multiplier_block().reshape(len(self.times), -1, self.widths[-1])


# --------------------------------------------------------------------------- the network


def outputs(X, weights) -> np.ndarray:
    """F = f(X) (P x N_o), the network applied to the rows of X (NumPy)."""
    H = np.asarray(X, dtype=np.float64)
    for W in weights[:-1]:
        H = np.maximum(H @ W.T, 0.0)
    return H @ weights[-1].T


def predict(X, weights) -> np.ndarray:
    """The predicted class argmax_j f_j(x) of every row of X."""
    return np.argmax(outputs(X, weights), axis=1)


def accuracy(X, y, weights) -> float:
    """Fraction of rows of X whose predicted class is the label y."""
    return float(np.mean(predict(X, weights) == np.asarray(y)))


def margins(X, y, weights) -> np.ndarray:
    """m_{mu j} = f_{y_mu}(x_mu) - f_j(x_mu), shape (P, K); the true-class column is +inf,
    so that ``margins(...).min(axis=1)`` is the margin against the worst wrong class."""
    F = outputs(X, weights)
    labels = np.asarray(y, dtype=np.int64)
    m = F[np.arange(F.shape[0]), labels][:, None] - F
    m[np.arange(F.shape[0]), labels] = np.inf
    return m


def squared_norm(weights) -> float:
    """sum_l ||W_l||_F^2."""
    return float(sum(np.sum(W * W) for W in weights))


def example_losses(X, y, weights) -> np.ndarray:
    """Cross-entropy of every example, log sum_k e^{f_k(x)} - f_y(x) (NumPy)."""
    F = outputs(X, weights)
    shifted = F - F.max(axis=1, keepdims=True)
    labels = np.asarray(y, dtype=np.int64)
    return np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(F.shape[0]), labels]


def loss(X, y, weights, beta: float = 0.0) -> float:
    """The objective of gradient descent and L2: mean cross-entropy (1-D labels y,
    :func:`example_losses`) or (1/2P) ||Y - F||^2 (2-D targets), plus beta/2 sum_l
    ||W_l||^2. Plain NumPy, from the outputs only: independent of the kernel's
    backpropagation."""
    if np.ndim(y) == 1:
        data = float(np.mean(example_losses(X, y, weights)))
    else:
        F = outputs(X, weights)
        data = 0.5 * np.sum((np.asarray(y) - F) ** 2) / F.shape[0]
    return float(data + 0.5 * beta * squared_norm(weights))


def lagrangian(X, y, weights, multipliers, c: float) -> float:
    """The augmented Lagrangian of Minnorm(c) (module docstring): 1/2 sum ||W_l||^2 plus,
    for regression, sum lambda r + c/2 sum r^2, for classification (lambda >= 0, g = 1 - m
    over the wrong classes) sum (max(0, lambda + c g)^2 - lambda^2) / (2c), or
    sum lambda g at c = 0. Plain NumPy, from the outputs only."""
    lam = np.asarray(multipliers, dtype=np.float64)
    half_norm = 0.5 * squared_norm(weights)
    if np.ndim(y) == 2:
        r = np.asarray(y) - outputs(X, weights)
        return float(half_norm + np.sum(lam * r) + 0.5 * c * np.sum(r * r))
    m = margins(X, y, weights)
    wrong = np.isfinite(m)
    g = np.where(wrong, 1.0 - np.where(wrong, m, 0.0), 0.0)
    if c == 0.0:
        return float(half_norm + np.sum(lam * g))
    penalty = (np.maximum(0.0, lam + c * g) ** 2 - lam ** 2) / (2.0 * c)
    return float(half_norm + np.sum(np.where(wrong, penalty, 0.0)))


# --------------------------------------------------------------------------- initialization and data


def gaussian_init(widths, sigma0: float, seed: int) -> list[np.ndarray]:
    """W_l with iid N(0, sigma0^2 / n_{l-1}) entries (sigma0 = sqrt 2: He's scaling)."""
    widths = _widths(widths)
    sigma0 = validation.positive_scalar("sigma0", sigma0)
    return gaussian_weights(widths, sigma0, validation.count("seed", seed, minimum=0))


def teacher_student(n_in: int, hidden: int, n_out: int, n_samples: int, noise: float = 0.0,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(X, Y, teacher): a random ReLU teacher [W_1, W_2] = :func:`gaussian_init` of widths
    (n_in, hidden, n_out) with sigma0 = sqrt 2, X ~ N(0, 1) of n_samples x n_in and
    Y = f_teacher(X) + noise E, E ~ N(0, 1). Same seed, same data."""
    n_in, hidden = validation.count("n_in", n_in), validation.count("hidden", hidden)
    n_out, n_samples = validation.count("n_out", n_out), validation.count("n_samples", n_samples)
    noise = validation.nonnegative_scalar("noise", noise)
    seed = validation.count("seed", seed, minimum=0)
    teacher = gaussian_init([n_in, hidden, n_out], np.sqrt(2.0), seed)
    rng = np.random.default_rng([seed, 1])
    X = rng.standard_normal((n_samples, n_in))
    Y = outputs(X, teacher) + noise * rng.standard_normal((n_samples, n_out))
    return X, np.ascontiguousarray(Y), teacher


DIGITS_SIZES: dict[str, int] = {"validation": 300, "test": 400}
"""Rows of the validation and test sets of :func:`digits_split`; the training set is
drawn from the other 1,097 of scikit-learn's 1,797 digits."""


@dataclass(frozen=True)
class Split:
    """Standardized train/validation/test sets (rows are 8 x 8 images, labels 0..9)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    images_train: np.ndarray
    """The training images before standardization, P x 8 x 8 grey levels 0..16."""


def digits_split(train_size: int, seed: int) -> Split:
    """scikit-learn's handwritten digits (shipped with it: no download), shuffled by
    ``seed`` into test (:data:`DIGITS_SIZES`), validation and the first ``train_size`` of
    the rest, each pixel standardized by the training set's mean and standard deviation
    (pixels constant on the training set are only centered)."""
    from sklearn.datasets import load_digits  # imported here: slow, and only data needs it

    digits = load_digits()
    images, labels = digits.data.astype(np.float64), digits.target.astype(np.int64)
    n_test, n_val = DIGITS_SIZES["test"], DIGITS_SIZES["validation"]
    available = images.shape[0] - n_test - n_val
    train_size = validation.count("train_size", train_size)
    if train_size > available:
        raise ValueError(f"train_size must be at most {available}, got {train_size}")
    order = np.random.default_rng(validation.count("seed", seed, minimum=0)).permutation(
        images.shape[0])
    test, val = order[:n_test], order[n_test:n_test + n_val]
    train = order[n_test + n_val:n_test + n_val + train_size]
    mean = images[train].mean(axis=0)
    std = images[train].std(axis=0)
    scale = np.where(std > 0.0, std, 1.0)

    def standard(rows):
        return np.ascontiguousarray((images[rows] - mean) / scale)

    return Split(standard(train), labels[train], standard(val), labels[val], standard(test),
                 labels[test], digits.images[train])


# --------------------------------------------------------------------------- kernels


@jit
def field(y, args, out, work):
    """Write F(y) into ``out`` (module docstring); ``args`` = (X, T, labels, widths,
    params): the samples (P x N_i), the targets (regression) or one-hot labels (P x N_o),
    the labels (int64; zeros for regression), the widths, the parameters. ``work`` =
    (offsets, hidden, output, back_a, back_b): the layer offsets, the hidden activations
    H_1..H_{L-1} (P n_l each), the outputs F and two buffers of P max(n_l) for the
    backpropagated errors. Products are :func:`theory.linalg.matmul` (BLAS into the
    buffers)."""
    X, T, labels, widths, params = args
    offsets, hidden, output, back_a, back_b = work
    depth = widths.size - 1
    P = X.shape[0]
    algorithm = int(params[ALGORITHM])
    # forward: Z_l = H_{l-1} W_l^T, H_l = relu(Z_l) in place, F = Z_L
    prev = X
    h_off = 0
    for l in range(depth):
        n_out, n_in = widths[l + 1], widths[l]
        W = y[offsets[l]:offsets[l + 1]].reshape((n_out, n_in))
        if l == depth - 1:
            Z = output
        else:
            Z = hidden[h_off:h_off + P * n_out].reshape((P, n_out))
            h_off += P * n_out
        matmul(prev, W.T, Z)
        if l < depth - 1:
            for mu in range(P):
                for i in range(n_out):
                    if Z[mu, i] < 0.0:
                        Z[mu, i] = 0.0
        prev = Z
    # output error G_L and the multipliers' field
    K = widths[depth]
    lam_off = offsets[depth]
    G = back_a[:P * K].reshape((P, K))
    if algorithm == CROSS_ENTROPY:
        for mu in range(P):
            top = output[mu, 0]
            for j in range(1, K):
                if output[mu, j] > top:
                    top = output[mu, j]
            total = 0.0
            for j in range(K):
                G[mu, j] = np.exp(output[mu, j] - top)
                total += G[mu, j]
            for j in range(K):
                G[mu, j] = (T[mu, j] - G[mu, j] / total) / P
    elif algorithm == SQUARED:
        for mu in range(P):
            for j in range(K):
                G[mu, j] = (T[mu, j] - output[mu, j]) / P
    elif algorithm == EQUALITY_MINNORM:
        eta_lambda, c = params[ETA_LAMBDA], params[C]
        for mu in range(P):
            for j in range(K):
                r = T[mu, j] - output[mu, j]
                out[lam_off + mu * K + j] = eta_lambda * r
                G[mu, j] = y[lam_off + mu * K + j] + c * r
    else:  # MARGIN_MINNORM
        eta_lambda, c = params[ETA_LAMBDA], params[C]
        for mu in range(P):
            true = labels[mu]
            total = 0.0
            for j in range(K):
                index = lam_off + mu * K + j
                if j == true:
                    out[index] = 0.0
                    continue
                violation = 1.0 - (output[mu, true] - output[mu, j])
                lam = y[index]
                drive = eta_lambda * violation
                if lam <= 0.0 and drive < 0.0:
                    drive = 0.0
                out[index] = drive
                a = lam + c * violation
                if a < 0.0:
                    a = 0.0
                G[mu, j] = -a
                total += a
            G[mu, true] = total
    # backward: dW_l = eta_w (G_l^T H_{l-1} - beta W_l), G_{l-1} = (G_l W_l) * [H_{l-1} > 0]
    eta_w, beta = params[ETA_W], params[BETA]
    use_a = True
    for l in range(depth - 1, -1, -1):
        n_out, n_in = widths[l + 1], widths[l]
        W = y[offsets[l]:offsets[l + 1]].reshape((n_out, n_in))
        dW = out[offsets[l]:offsets[l + 1]].reshape((n_out, n_in))
        if l == 0:
            A_prev = X
        else:
            h_off -= P * n_in
            A_prev = hidden[h_off:h_off + P * n_in].reshape((P, n_in))
        matmul(G.T, A_prev, dW)
        for i in range(n_out):
            for j in range(n_in):
                dW[i, j] = eta_w * (dW[i, j] - beta * W[i, j])
        if l > 0:
            target = back_b if use_a else back_a
            G_next = target[:P * n_in].reshape((P, n_in))
            matmul(G, W, G_next)
            for mu in range(P):
                for i in range(n_in):
                    if A_prev[mu, i] <= 0.0:
                        G_next[mu, i] = 0.0
            G = G_next
            use_a = not use_a


@jit
def project(y, args):
    """Margin Minnorm: lambda <- max(lambda, 0) (the entries after the weights); the other
    algorithms have nothing to project."""
    widths, params = args[3], args[4]
    if int(params[ALGORITHM]) != MARGIN_MINNORM:
        return
    start = 0
    for l in range(widths.size - 1):
        start += widths[l + 1] * widths[l]
    for i in range(start, y.size):
        if y[i] < 0.0:
            y[i] = 0.0


@jit
def workspace(y, args):
    """Scratch of :func:`field` (its docstring)."""
    X, widths = args[0], args[3]
    P = X.shape[0]
    depth = widths.size - 1
    offsets = np.zeros(widths.size, dtype=np.int64)
    for l in range(depth):
        offsets[l + 1] = offsets[l] + widths[l + 1] * widths[l]
    n_hidden = 0
    for l in range(1, depth):
        n_hidden += widths[l]
    widest = widths[1:].max()
    return (offsets, np.empty(P * n_hidden), np.empty((P, widths[depth])),
            np.empty(P * widest), np.empty(P * widest))


LOOPS = compile_loops(field, project, workspace)


def field_numpy(y: np.ndarray, X: np.ndarray, T: np.ndarray, labels: np.ndarray,
                widths: np.ndarray, params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field` (same ``args``)."""
    weights = unpack(y, widths)
    n_weights = int(layer_offsets(widths)[-1])
    P, K = T.shape
    acts = [X]
    for W in weights[:-1]:
        acts.append(np.maximum(acts[-1] @ W.T, 0.0))
    F = acts[-1] @ weights[-1].T
    algorithm = int(params[ALGORITHM])
    lam = y[n_weights:].reshape(P, K) if y.size > n_weights else None
    lam_field = np.zeros(0)
    if algorithm == CROSS_ENTROPY:
        e = np.exp(F - F.max(axis=1, keepdims=True))
        G = (T - e / e.sum(axis=1, keepdims=True)) / P
    elif algorithm == SQUARED:
        G = (T - F) / P
    elif algorithm == EQUALITY_MINNORM:
        r = T - F
        lam_field = params[ETA_LAMBDA] * r
        G = lam + params[C] * r
    else:
        rows = np.arange(P)
        violation = 1.0 - (F[rows, labels][:, None] - F)
        drive = params[ETA_LAMBDA] * violation
        drive = np.where((lam <= 0.0) & (drive < 0.0), 0.0, drive)
        a = np.maximum(0.0, lam + params[C] * violation)
        drive[rows, labels] = 0.0
        a[rows, labels] = 0.0
        G = -a
        G[rows, labels] = a.sum(axis=1)
        lam_field = drive
    grads = []
    for l in range(len(weights) - 1, -1, -1):
        grads.append(params[ETA_W] * (G.T @ acts[l] - params[BETA] * weights[l]))
        if l > 0:
            G = (G @ weights[l]) * (acts[l] > 0.0)
    flat = [g.ravel() for g in reversed(grads)]
    return np.concatenate(flat + [lam_field.ravel()])


def project_numpy(y: np.ndarray, n_weights: int, params: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`project`."""
    if int(params[ALGORITHM]) != MARGIN_MINNORM:
        return y
    return np.concatenate((y[:n_weights], np.maximum(y[n_weights:], 0.0)))


# --------------------------------------------------------------------------- inputs


def _widths(widths) -> np.ndarray:
    values = [validation.count("widths", w) for w in np.atleast_1d(widths)]
    if len(values) < 3:
        raise ValueError("widths must list the input size, at least one hidden width and the "
                         f"output size, got {values}")
    return np.array(values, dtype=np.int64)


def _targets(y, n_samples: int, n_out: int) -> tuple[str, np.ndarray, np.ndarray]:
    """(task, T, labels): one-hot labels or regression targets, and the int labels."""
    if np.ndim(y) == 1:
        if n_out < 2:
            raise ValueError(f"weights0: classification needs at least 2 outputs, got {n_out}")
        labels = class_labels("y", y, n_samples, n_out)
        return CLASSIFICATION, np.ascontiguousarray(np.eye(n_out)[labels]), labels
    Y = validation.finite_matrix("y", y)
    if Y.shape != (n_samples, n_out):
        raise ValueError(f"y (regression targets) must have shape {(n_samples, n_out)} (rows "
                         f"of X, outputs of the network), got {Y.shape}")
    return REGRESSION, Y, np.zeros(n_samples, dtype=np.int64)


def check_feasible(X: np.ndarray, T: np.ndarray, labels: np.ndarray, task: str) -> None:
    """Raise ValueError (naming y) if no network of this family can meet the constraints.

    f has no biases and is positively homogeneous of degree 1 in x (relu(a z) = a relu(z)
    for a > 0), so f(a x) = a f(x): a zero row cannot have a margin or a nonzero target,
    and two rows on one ray (x_nu = a x_mu, a > 0) need the same label (classification)
    or targets in the same ratio, Y_nu = a Y_mu (regression)."""
    norms = np.linalg.norm(X, axis=1)
    zero = norms == 0.0
    if task == CLASSIFICATION and np.any(zero):
        raise ValueError(f"y: sample {int(np.argmax(zero))} is the zero vector, where a network "
                         f"without biases outputs 0 and cannot have a margin (infeasible)")
    if task == REGRESSION and np.any(zero & np.any(T != 0.0, axis=1)):
        raise ValueError("y: a zero sample has a nonzero target; a network without biases "
                         "outputs 0 there (infeasible)")
    units = X[~zero] / norms[~zero, None]
    index = np.flatnonzero(~zero)
    same_ray = np.argwhere(np.triu(units @ units.T >= 1.0 - 1e-12, k=1))
    for a, b in index[same_ray]:
        ratio = norms[b] / norms[a]
        if task == CLASSIFICATION and labels[a] != labels[b]:
            raise ValueError(f"y: samples {a} and {b} lie on one ray from the origin but have "
                             f"labels {labels[a]} and {labels[b]} (infeasible without biases)")
        if task == REGRESSION and not np.allclose(T[b], ratio * T[a], rtol=1e-9, atol=1e-12):
            raise ValueError(f"y: samples {a} and {b} lie on one ray from the origin (x_{b} = "
                             f"{ratio:g} x_{a}) but their targets are not in that ratio "
                             f"(infeasible without biases)")


def _start(X, y, weights0, params: np.ndarray, lambda0, minnorm: bool
           ) -> tuple[Problem, np.ndarray]:
    """(problem, initial state) of a run, after validating the data and the start."""
    X = validation.finite_matrix("X", X)
    widths = network_widths(weights0, "weights0")
    if widths[0] != X.shape[1]:
        raise ValueError(f"weights0: W_1 has {widths[0]} columns but X has {X.shape[1]} "
                         f"(features)")
    P, K = X.shape[0], int(widths[-1])
    task, T, labels = _targets(y, P, K)
    state = pack(weights0)
    if minnorm:
        params[ALGORITHM] = MARGIN_MINNORM if task == CLASSIFICATION else EQUALITY_MINNORM
        check_feasible(X, T, labels, task)
        lam = (np.zeros((P, K)) if lambda0 is None
               else validation.finite_matrix("lambda0", lambda0))
        if lam.shape != (P, K):
            raise ValueError(f"lambda0 must have shape {(P, K)} (examples x outputs), got "
                             f"{lam.shape}")
        if task == CLASSIFICATION and (np.any(lam < 0.0) or np.any(lam[np.arange(P), labels])):
            raise ValueError("lambda0 must be non-negative and 0 at each example's true class")
        state = np.ascontiguousarray(np.concatenate((state, lam.ravel())))
    else:
        params[ALGORITHM] = CROSS_ENTROPY if task == CLASSIFICATION else SQUARED
    n_weights = int(layer_offsets(widths)[-1])
    args = (X, T, labels, widths, params)
    problem = Problem(LOOPS, args, lambda s: field_numpy(s, *args),
                      lambda s: project_numpy(s, n_weights, params), ReluTrajectory,
                      {"widths": tuple(int(w) for w in widths)})
    return problem, state


def _params(eta_w: float, eta_lambda: float, beta: float, c: float) -> np.ndarray:
    return np.array([0.0, eta_w, eta_lambda, beta, c])


# --------------------------------------------------------------------------- solvers


def gradient_descent(X, y, weights0, *, lr: float, steps, **options) -> ReluTrajectory:
    """Full-batch gradient descent W_l <- W_l + lr G_l^T H_{l-1} on the mean cross-entropy
    (1-D labels y in 0..N_o-1) or half the mean squared error (2-D targets y, P x N_o).

    Parameters
    ----------
    X : array_like, shape (P, N_i)
        Samples as rows.
    y : array_like, shape (P,) of class labels, or (P, N_o) of regression targets
    weights0 : list of arrays [W_1, ..., W_L], W_l of shape (n_l, n_{l-1}), L >= 2
    lr : float
        Step size > 0.
    steps : array_like of int
        Step indices at which to sample.
    **options
        ``stop_tol``, ``max_steps``, ``backend``: see :mod:`theory.solve`.
    """
    params = _params(validation.positive_scalar("lr", lr), 0.0, 0.0, 1.0)
    return solve.discrete(*_start(X, y, weights0, params, None, False), steps, **options)


def gradient_flow(X, y, weights0, *, times, eta: float = 1.0, **options) -> ReluTrajectory:
    """Gradient flow dW_l/dt = eta G_l^T H_{l-1} of the same losses as
    :func:`gradient_descent`. ``**options``: the integration options of
    :func:`theory.solve.flow`. The field jumps where a hidden pre-activation changes sign
    (relu' does), so adaptive steps shrink at every crossing: prefer a fixed step ``dt``."""
    params = _params(validation.positive_scalar("eta", eta), 0.0, 0.0, 1.0)
    return solve.flow(*_start(X, y, weights0, params, None, False), times, **options)


def l2_descent(X, y, weights0, *, beta: float, lr: float, steps,
               **options) -> ReluTrajectory:
    """L2-regularized gradient descent: the step of :func:`gradient_descent` minus
    lr beta W_l (the loss plus beta/2 sum_l ||W_l||^2). Options as there."""
    params = _params(validation.positive_scalar("lr", lr), 0.0,
                     validation.nonnegative_scalar("beta", beta), 1.0)
    return solve.discrete(*_start(X, y, weights0, params, None, False), steps, **options)


def minnorm_descent(X, y, weights0, *, c: float, lr_w: float, lr_lambda: float, steps,
                    lambda0=None, **options) -> ReluTrajectory:
    """Discrete Minnorm(c) (module docstring), the Jacobi update from the old
    (W, lambda) of docs/minnorm.md §0c:

        W_l <- W_l - lr_w (W_l - G_l^T H_{l-1}),
        lambda <- lambda + lr_lambda r                       (regression),
        lambda <- max(0, lambda + lr_lambda (1 - m))         (classification),

    G_L from the multipliers and the damping c (module docstring). ``lambda0``: shape
    (P, N_o), default 0 (classification: non-negative, 0 at the true class). Raises
    ValueError if the constraints are infeasible for a network without biases
    (:func:`check_feasible`). Options as in :func:`gradient_descent`.
    """
    params = _params(validation.positive_scalar("lr_w", lr_w),
                     validation.positive_scalar("lr_lambda", lr_lambda), 1.0,
                     validation.nonnegative_scalar("c", c))
    return solve.discrete(*_start(X, y, weights0, params, lambda0, True), steps, **options)


def minnorm_flow(X, y, weights0, *, c: float, times, eta_w: float = 1.0,
                 eta_lambda: float = 1.0, lambda0=None, **options) -> ReluTrajectory:
    """Minnorm(c) flow (module docstring), multipliers of classification projected onto
    lambda >= 0 after every (accepted) step. Options as in :func:`gradient_flow`."""
    params = _params(validation.positive_scalar("eta_w", eta_w),
                     validation.positive_scalar("eta_lambda", eta_lambda), 1.0,
                     validation.nonnegative_scalar("c", c))
    return solve.flow(*_start(X, y, weights0, params, lambda0, True), times, **options)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "gradient_flow": gradient_flow,
    "l2_descent": l2_descent,
    "minnorm_descent": minnorm_descent,
    "minnorm_flow": minnorm_flow,
}
"""Every solver of this setting, by name."""


def small_classification(n_samples: int = 12, n_in: int = 5, n_classes: int = 3,
                         seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): Gaussian rows and labels drawn uniformly from 0..n_classes-1 (almost surely
    feasible: no two rows on one ray)."""
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    X = rng.standard_normal((validation.count("n_samples", n_samples),
                             validation.count("n_in", n_in)))
    return X, rng.integers(0, validation.count("n_classes", n_classes, minimum=2), n_samples)


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    X, y = small_classification()
    weights0 = gaussian_init([5, 4, 3], np.sqrt(2.0), seed=2)
    Xr, Yr, _ = teacher_student(4, 3, 2, 6, seed=3)
    regression0 = gaussian_init([4, 5, 3, 2], np.sqrt(2.0), seed=4)
    discrete, flow = {"steps": [5, 40]}, {"times": [0.5, 2.0]}
    return {"gradient_descent": ((X, y, weights0), {"lr": 0.5, **discrete}),
            "gradient_flow": ((Xr, Yr, regression0), {"method": "rk4", "dt": 0.01, **flow}),
            "l2_descent": ((X, y, weights0), {"lr": 0.5, "beta": 0.01, **discrete}),
            "minnorm_descent": ((X, y, weights0), {"c": 0.5, "lr_w": 0.1, "lr_lambda": 0.02,
                                                   **discrete}),
            "minnorm_flow": ((Xr, Yr, regression0), {"c": 1.0, "eta_lambda": 0.5,
                                                     "method": "rk4", "dt": 0.01, **flow})}


# --------------------------------------------------------------------------- the digits protocol


@dataclass(frozen=True)
class DigitsProtocol:
    """How the three methods are trained on :func:`digits_split` (docs/relu_network.md
    §5d), fixed before any comparison was run: widths (64, ``hidden``, 10), He start,
    ``steps`` full-batch steps for every method, states sampled every ``sample_every``
    steps.

    - gradient descent at step size ``lr``, stopped at the sample of best validation
      accuracy (the earliest among ties);
    - L2 at step size ``lr`` for each beta of ``betas``; the beta of best validation
      accuracy at the last step is kept (the smallest among ties);
    - Minnorm(c = ``minnorm_c``) with lr_w = ``minnorm_lr_w`` and lr_lambda =
      ``minnorm_lr_lambda_sum`` / P (the multipliers' total step is independent of the
      training-set size P: each of the P (K - 1) constraints adds its own term to the
      weights' field), its last iterate kept: no validation set.
    """

    hidden: int = 32
    steps: int = 2000
    sample_every: int = 10
    lr: float = 1.0
    betas: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 3e-2)
    minnorm_c: float = 0.0
    minnorm_lr_w: float = 0.01
    minnorm_lr_lambda_sum: float = 0.12

    @property
    def sampled_steps(self) -> np.ndarray:
        """The sampled steps, ``sample_every``, 2 ``sample_every``, ..., ``steps``."""
        return np.arange(self.sample_every, self.steps + 1, self.sample_every)

    def widths(self, n_classes: int = 10) -> list[int]:
        """(64, hidden, n_classes): 8 x 8 pixels in."""
        return [64, self.hidden, n_classes]


@dataclass(frozen=True)
class DigitsRuns:
    """The three methods of a :class:`DigitsProtocol` trained on one split.

    ``early_stop`` indexes the sample of ``gradient_descent`` kept by early stopping;
    ``l2`` is the run of the selected ``beta``. Every run is sampled at the protocol's
    steps.
    """

    split: Split
    y_train: np.ndarray
    gradient_descent: ReluTrajectory
    early_stop: int
    l2: ReluTrajectory
    beta: float
    minnorm: ReluTrajectory

    def kept_weights(self) -> dict[str, list[np.ndarray]]:
        """The weights each method keeps: early-stopped GD, selected L2, last Minnorm."""
        return {"gradient descent": self.gradient_descent.weights_at(self.early_stop),
                "L2": self.l2.weights_at(-1), "Minnorm": self.minnorm.weights_at(-1)}

    def test_accuracies(self) -> dict[str, float]:
        """Test accuracy of :meth:`kept_weights`, per method."""
        return {name: accuracy(self.split.X_test, self.split.y_test, weights)
                for name, weights in self.kept_weights().items()}


def _check_run(traj: ReluTrajectory, name: str) -> ReluTrajectory:
    if not traj.success:
        raise RuntimeError(f"{name} on the digits: {traj.message}")
    return traj


def _training_labels(split: Split, y_train) -> np.ndarray:
    if y_train is None:
        return split.y_train
    return class_labels("y_train", y_train, split.X_train.shape[0], 10)


def early_stopped_descent(split: Split, weights0, protocol: DigitsProtocol = DigitsProtocol(),
                          y_train=None) -> tuple[ReluTrajectory, int]:
    """Gradient descent of ``protocol`` on ``split`` from ``weights0`` (``y_train``
    replaces the training labels, e.g. :func:`flip_labels`), and the index of the sample
    that early stopping keeps. Raises RuntimeError if the run diverges."""
    gd = _check_run(gradient_descent(split.X_train, _training_labels(split, y_train), weights0,
                                     lr=protocol.lr, steps=protocol.sampled_steps),
                    "gradient descent")
    scores = [accuracy(split.X_val, split.y_val, gd.weights_at(i)) for i in range(len(gd.times))]
    return gd, int(np.argmax(scores))


def selected_l2_descent(split: Split, weights0, protocol: DigitsProtocol = DigitsProtocol(),
                        y_train=None) -> tuple[ReluTrajectory, float]:
    """The L2 run of ``protocol`` whose beta the validation set selects, and that beta
    (arguments as in :func:`early_stopped_descent`)."""
    y = _training_labels(split, y_train)
    best = None
    for beta in sorted(protocol.betas):
        traj = _check_run(l2_descent(split.X_train, y, weights0, beta=beta, lr=protocol.lr,
                                     steps=protocol.sampled_steps), f"L2 (beta = {beta:g})")
        score = accuracy(split.X_val, split.y_val, traj.weights_at(-1))
        if best is None or score > best[0]:
            best = (score, traj, beta)
    return best[1], best[2]


def protocol_minnorm(split: Split, weights0, protocol: DigitsProtocol = DigitsProtocol(),
                     y_train=None) -> ReluTrajectory:
    """The Minnorm run of ``protocol`` (arguments as in :func:`early_stopped_descent`)."""
    P = split.X_train.shape[0]
    return _check_run(minnorm_descent(
        split.X_train, _training_labels(split, y_train), weights0, c=protocol.minnorm_c,
        lr_w=protocol.minnorm_lr_w, lr_lambda=protocol.minnorm_lr_lambda_sum / P,
        steps=protocol.sampled_steps), "Minnorm")


def train_on_digits(split: Split, weights0, protocol: DigitsProtocol = DigitsProtocol(),
                    y_train=None) -> DigitsRuns:
    """All three methods of ``protocol`` (arguments as in :func:`early_stopped_descent`)."""
    gd, early_stop = early_stopped_descent(split, weights0, protocol, y_train)
    l2, beta = selected_l2_descent(split, weights0, protocol, y_train)
    return DigitsRuns(split, _training_labels(split, y_train), gd, early_stop, l2, beta,
                      protocol_minnorm(split, weights0, protocol, y_train))


def flip_labels(y, fraction: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, flipped): round(fraction P) labels, chosen uniformly, each moved to a
    class drawn uniformly from the other n_classes - 1; ``flipped`` marks them."""
    fraction = validation.positive_scalar("fraction", fraction)
    if fraction >= 1.0:
        raise ValueError(f"fraction must be below 1, got {fraction}")
    y = class_labels("y", y, np.size(y), n_classes)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    chosen = rng.choice(y.size, int(round(fraction * y.size)), replace=False)
    flipped = np.zeros(y.size, dtype=bool)
    flipped[chosen] = True
    labels = y.copy()
    labels[chosen] = (y[chosen] + rng.integers(1, n_classes, chosen.size)) % n_classes
    return labels, flipped


def norm_at_unit_margin(X, y, weights) -> float:
    """sum_l ||W_l||^2 after scaling every layer by the same a > 0 so that the smallest
    pairwise margin is 1: f is positively homogeneous of degree L in that scaling, so
    this is sum_l ||W_l||^2 / m_min^(2/L). Compares networks that fit the data at
    different scales; requires m_min > 0 (zero training error)."""
    smallest = float(margins(X, y, weights).min())
    if not smallest > 0.0:
        raise ValueError(f"weights must classify every example correctly (smallest margin "
                         f"{smallest:.3g})")
    return squared_norm(weights) / smallest ** (2.0 / len(weights))
