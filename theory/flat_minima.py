"""Flat minima by neighborhood region smoothing (NRS, Zhao & Zhang 2022, arXiv:2201.06064):
softmax regression and a small softmax MLP trained by gradient descent with and without the
penalty alpha D(theta) (docs/flat_minima.md).

The training loss is the mean cross-entropy plus an L2 term (docs/flat_minima.md §10a.1),

    L_beta(theta) = (1/P) sum_mu CE(p_theta(x_mu), y_mu) + (beta/2) ||theta||^2,

and the NRS penalty is the mean KL divergence from the model's outputs to those of a
neighbour theta + delta (docs/flat_minima.md §10a.2),

    D(theta) = E_delta (1/P) sum_mu KL(p_theta(x_mu) || p_{theta+delta}(x_mu)).

The paper's text leaves the neighbourhood open; each solver names the objective it
optimizes, and its gradient is exact for that objective (docs/flat_minima.md §10a.3):

======================  =====================================================================
solver                  objective, field
======================  =====================================================================
gradient_descent        L_beta; unit Euler steps of -lr grad L_beta
nrs_descent             L_beta + alpha D_S, D_S the mean over a fixed sample of S neighbours
                        (:class:`Neighbourhood`: ``gaussian_neighbours``, delta ~ N(0, sigma^2
                        I), or ``ball_neighbours``, delta uniform in the ball of radius r),
                        drawn once from a seed; both arguments of the KL are differentiated
nrs_flow                the gradient flow of the same objective, rate eta
adversarial_descent     L_beta + alpha KL(p_theta || p_{theta + r v/|v|}) with the probe v
                        held fixed (stop-gradient, as in virtual adversarial training); the
                        state carries v, which takes one power-iteration step v <- F v / |F v|
                        of the Fisher matrix F(theta) per step (a warm-started probe of the
                        direction maximizing the KL's quadratic model; coupled with the
                        penalty it can settle on a lower eigenvector, docs/flat_minima.md
                        §C10.7)
======================  =====================================================================

Models (:class:`Model`, docs/flat_minima.md §10a.1), the parameters theta flat, row-major:
``softmax_regression(X, y, n_classes)``: logits z = W x, theta = W (K x d);
``softmax_mlp(X, y, n_classes, hidden)``: z = W_2 tanh(W_1 x), theta = (W_1, W_2). Samples
are the rows of X; y holds integer labels 0..K-1.

The Fisher matrix F = (1/P) sum_mu J_mu^T (diag p_mu - p_mu p_mu^T) J_mu, J_mu = dz/dtheta,
is the Gauss-Newton matrix of the cross-entropy, label-free; for softmax regression it is
the cross-entropy's Hessian (docs/flat_minima.md §10b.1, §10b.3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import solve, validation
from theory.elementary import exp, tanh
from theory.linalg import times_transpose_into, weight_times, weight_transpose_times
from theory.numba_options import jit, jit_inline, jit_sum
from theory.results import Trajectory
from theory.solve import Problem, compile_loops

LINEAR, MLP = range(2)
"""Model kinds of the kernel."""
KIND, N_IN, HIDDEN, N_CLASSES, SIZE = range(5)
"""Slots of the kernel's integer dimension vector."""
SCALE, BETA, ALPHA, RADIUS, MODE = range(5)
"""Slots of the kernel's parameter vector (:func:`field`)."""
PLAIN, SAMPLED, ADVERSARIAL = range(3)
"""Penalty modes of the kernel: none, a fixed sample of neighbours, the adversarial probe."""


@dataclass(frozen=True)
class Model:
    """A softmax classifier on fixed data (module docstring).

    Attributes
    ----------
    kind : int
        :data:`LINEAR` or :data:`MLP`.
    X : ndarray
        Inputs in column form (d x P).
    y : ndarray of int64
        Labels 0..K-1, one per sample.
    dims : ndarray of int64
        (kind, d, hidden (0 for softmax regression), K, number of parameters).
    """

    kind: int
    X: np.ndarray
    y: np.ndarray
    dims: np.ndarray

    @property
    def size(self) -> int:
        """Number of parameters."""
        return int(self.dims[SIZE])

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return int(self.dims[N_CLASSES])

    @property
    def n_samples(self) -> int:
        """Number of samples P."""
        return int(self.X.shape[1])


def _data(X, y, n_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    X = validation.finite_matrix("X", X)
    n_classes = validation.count("n_classes", n_classes, minimum=2)
    labels = validation.class_labels("y", y, X.shape[0], n_classes)
    return np.ascontiguousarray(X.T), labels, n_classes


def softmax_regression(X, y, n_classes: int) -> Model:
    """Logits z = W x, W of K x d (docs/flat_minima.md §10a.1); X (P x d) with samples as
    rows, ``y`` integer labels in 0..n_classes-1."""
    X, labels, k = _data(X, y, n_classes)
    d = X.shape[0]
    return Model(LINEAR, X, labels, np.array([LINEAR, d, 0, k, k * d], dtype=np.int64))


def softmax_mlp(X, y, n_classes: int, hidden: int) -> Model:
    """Logits z = W_2 tanh(W_1 x), W_1 of hidden x d, W_2 of K x hidden
    (docs/flat_minima.md §10a.1)."""
    X, labels, k = _data(X, y, n_classes)
    hidden = validation.count("hidden", hidden)
    d = X.shape[0]
    return Model(MLP, X, labels,
                 np.array([MLP, d, hidden, k, hidden * (d + k)], dtype=np.int64))


# --------------------------------------------------------------------------- instances

INSTANCE: dict = {"n_samples": 120, "n_in": 5, "n_classes": 3, "hidden": 6, "spread": 1.5,
                  "beta": 1e-3}
"""Sizes of the named instances (docs/flat_minima.md §10a.4): P samples of a Gaussian
mixture, one unit-variance cluster per class with centres N(0, spread^2 I_d), and the L2
strength of the claims' training loss."""


def mixture_data(n_samples: int, n_in: int, n_classes: int, spread: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): P samples, labels cycling through the classes, x = c_y + N(0, I_d) with class
    centres c_k ~ N(0, spread^2 I_d) (all from ``seed``)."""
    n_samples = validation.count("n_samples", n_samples)
    n_in = validation.count("n_in", n_in)
    n_classes = validation.count("n_classes", n_classes, minimum=2)
    spread = validation.positive_scalar("spread", spread)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    centres = spread * rng.standard_normal((n_classes, n_in))
    y = np.arange(n_samples) % n_classes
    return centres[y] + rng.standard_normal((n_samples, n_in)), y


def instance(kind: str, seed: int, n_samples: int | None = None) -> Model:
    """A model of :data:`INSTANCE` on :func:`mixture_data` from ``seed``; ``kind`` is
    "linear" (softmax regression) or "mlp"."""
    s = INSTANCE
    X, y = mixture_data(n_samples or s["n_samples"], s["n_in"], s["n_classes"], s["spread"],
                        seed)
    if kind == "linear":
        return softmax_regression(X, y, s["n_classes"])
    if kind == "mlp":
        return softmax_mlp(X, y, s["n_classes"], s["hidden"])
    raise ValueError(f"kind must be 'linear' or 'mlp', got {kind!r}")


def initial_weights(model: Model, scale: float, seed: int) -> np.ndarray:
    """theta0 with every layer N(0, scale^2 / fan-in) (from ``seed``)."""
    model = _model(model)
    scale = validation.positive_scalar("scale", scale)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    d, hidden, k = (int(model.dims[i]) for i in (N_IN, HIDDEN, N_CLASSES))
    if model.kind == LINEAR:
        return rng.standard_normal(k * d) * scale / np.sqrt(d)
    return np.concatenate((rng.standard_normal(hidden * d) * scale / np.sqrt(d),
                           rng.standard_normal(k * hidden) * scale / np.sqrt(hidden)))


@dataclass(frozen=True)
class Neighbourhood:
    """A fixed sample of S neighbour offsets delta_s (rows of ``deltas``), drawn once from a
    seed: ``name`` is "gaussian" (delta ~ N(0, scale^2 I), scale = sigma) or "ball"
    (uniform in the ball of radius scale = r) (docs/flat_minima.md §10a.3)."""

    name: str
    scale: float
    deltas: np.ndarray


def gaussian_neighbours(model: Model, sigma: float, samples: int, seed: int) -> Neighbourhood:
    """S = ``samples`` offsets delta ~ N(0, sigma^2 I_p) (from ``seed``)."""
    model = _model(model)
    sigma = validation.positive_scalar("sigma", sigma)
    samples = validation.count("samples", samples)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    return Neighbourhood("gaussian", sigma, sigma * rng.standard_normal((samples, model.size)))


def ball_neighbours(model: Model, radius: float, samples: int, seed: int) -> Neighbourhood:
    """S = ``samples`` offsets uniform in the p-dimensional ball of radius ``radius``: a
    uniform direction (a normalized Gaussian) times r U^(1/p), U ~ U(0, 1) (from ``seed``)."""
    model = _model(model)
    radius = validation.positive_scalar("radius", radius)
    samples = validation.count("samples", samples)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    g = rng.standard_normal((samples, model.size))
    u = rng.uniform(size=samples) ** (1.0 / model.size)
    return Neighbourhood("ball", radius,
                         radius * u[:, None] * g / np.linalg.norm(g, axis=1, keepdims=True))


# --------------------------------------------------------------------------- kernels


THIN_WEIGHTS = 64
"""Layers with at most this many weights are multiplied with the K x P or hidden x P data by
loops over the samples (innermost, vectorized), larger ones by
:mod:`theory.linalg` (BLAS): a BLAS call's fixed cost exceeds such a product's arithmetic
(``python -m benchmarks.jax_peer --case nrs_mlp_P120``)."""


@jit_inline
def layer_times(w, offset, B, out):
    """out = W B, W the out.shape[0] x B.shape[0] layer stored row-major in w from
    ``offset``."""
    m, k, n = out.shape[0], B.shape[0], B.shape[1]
    if m * k > THIN_WEIGHTS:
        weight_times(w, offset, B, out)
        return
    for i in range(m):
        for j in range(n):
            out[i, j] = 0.0
        for p in range(k):
            c = w[offset + i * k + p]
            for j in range(n):
                out[i, j] += c * B[p, j]


@jit_inline
def layer_transpose_times(w, offset, B, out):
    """out = W^T B, W the B.shape[0] x out.shape[0] layer stored row-major in w from
    ``offset``."""
    m, k, n = out.shape[0], B.shape[0], B.shape[1]
    if m * k > THIN_WEIGHTS:
        weight_transpose_times(w, offset, B, out)
        return
    for i in range(m):
        for j in range(n):
            out[i, j] = 0.0
    for p in range(k):
        for i in range(m):
            c = w[offset + p * m + i]
            for j in range(n):
                out[i, j] += c * B[p, j]


@jit_sum
def add_thin_times_transpose(A, B, grad, offset):
    """grad[offset:] += A B^T row-major, a sum over the samples per weight."""
    nb = B.shape[0]
    for i in range(A.shape[0]):
        for j in range(nb):
            acc = 0.0
            for mu in range(A.shape[1]):
                acc += A[i, mu] * B[j, mu]
            grad[offset + i * nb + j] += acc


@jit_inline
def add_times_transpose(A, B, grad, offset, part):
    """grad[offset:] += A B^T row-major: :func:`add_thin_times_transpose` for a thin layer,
    else BLAS into ``part`` and added."""
    size = A.shape[0] * B.shape[0]
    if size <= THIN_WEIGHTS:
        add_thin_times_transpose(A, B, grad, offset)
        return
    times_transpose_into(A, B, part, offset)
    for i in range(offset, offset + size):
        grad[i] += part[i]


@jit
def forward_into(w, X, dims, hid, logits):
    """Logits of the network with flat weights ``w`` into ``logits`` (K x P); for the MLP
    tanh(W_1 X) into ``hid``."""
    if dims[KIND] == LINEAR:
        layer_times(w, 0, X, logits)
        return
    layer_times(w, 0, X, hid)
    for i in range(hid.shape[0]):
        for mu in range(hid.shape[1]):
            hid[i, mu] = tanh(hid[i, mu])
    layer_times(w, dims[HIDDEN] * dims[N_IN], hid, logits)


@jit
def softmax_in_place(z, prob, top, total):
    """z <- log softmax(z) and prob <- softmax(z) per column (the largest logit subtracted
    first); ``top`` and ``total`` (size P) are scratch. Loops over the samples innermost, so
    that the vectorizable :func:`theory.elementary.exp` runs over a column of samples."""
    K, P = z.shape
    for mu in range(P):
        top[mu] = z[0, mu]
        total[mu] = 0.0
    for k in range(1, K):
        for mu in range(P):
            top[mu] = max(top[mu], z[k, mu])
    for k in range(K):
        for mu in range(P):
            e = exp(z[k, mu] - top[mu])
            prob[k, mu] = e
            total[mu] += e
    for mu in range(P):
        top[mu] += np.log(total[mu])
        total[mu] = 1.0 / total[mu]
    for k in range(K):
        for mu in range(P):
            z[k, mu] -= top[mu]
            prob[k, mu] *= total[mu]


@jit
def backward_add(w, X, dims, hid, dlogits, grad, back, part):
    """grad += J(w)^T dlogits summed over the samples: the backpropagation of the logit
    gradients ``dlogits`` (K x P) through the network with weights ``w`` (hid from
    :func:`forward_into` at w); ``back`` (hidden x P) and ``part`` (size p) are scratch."""
    if dims[KIND] == LINEAR:
        add_times_transpose(dlogits, X, grad, 0, part)
        return
    o2 = dims[HIDDEN] * dims[N_IN]
    add_times_transpose(dlogits, hid, grad, o2, part)
    layer_transpose_times(w, o2, dlogits, back)
    for i in range(back.shape[0]):
        for mu in range(back.shape[1]):
            back[i, mu] *= 1.0 - hid[i, mu] * hid[i, mu]
    add_times_transpose(back, X, grad, 0, part)


@jit
def kl_logit_gradients(logp, prob, logq, qprob, weight, dz, dzq, mean):
    """For KL(p || q) per column (log-probabilities and probabilities of both): dz +=
    weight d KL/d z_p = weight p (a - p^T a), a = logp - logq, and dzq = weight d KL/d z_q =
    weight (q - p) (docs/flat_minima.md §10a.3); ``mean`` (size P) is scratch."""
    K, P = logp.shape
    for mu in range(P):
        mean[mu] = 0.0
    for k in range(K):
        for mu in range(P):
            mean[mu] += prob[k, mu] * (logp[k, mu] - logq[k, mu])
    for k in range(K):
        for mu in range(P):
            dz[k, mu] += weight * prob[k, mu] * (logp[k, mu] - logq[k, mu] - mean[mu])
            dzq[k, mu] = weight * (qprob[k, mu] - prob[k, mu])


@jit
def fisher_vector_into(w, v, X, dims, hid, prob, out, u, back, part, mean):
    """out = F(w) v = (1/P) sum_mu J_mu^T (diag p - p p^T) J_mu v, exactly (forward-mode
    J v, then backpropagation), with hid and the probabilities ``prob`` from the forward
    pass at w (docs/flat_minima.md §10b.1); ``mean`` (size P) is scratch."""
    P = X.shape[1]
    if dims[KIND] == LINEAR:
        layer_times(v, 0, X, u)
    else:
        o2 = dims[HIDDEN] * dims[N_IN]
        layer_times(v, 0, X, back)  # Zdot = V_1 X, then s'(Z) Zdot
        for i in range(back.shape[0]):
            for mu in range(P):
                back[i, mu] *= 1.0 - hid[i, mu] * hid[i, mu]
        layer_times(w, o2, back, u)  # W_2 (s'(Z) Zdot) + V_2 s(Z)
        for k in range(u.shape[0]):
            for mu in range(P):
                acc = 0.0
                for i in range(hid.shape[0]):
                    acc += v[o2 + k * hid.shape[0] + i] * hid[i, mu]
                u[k, mu] += acc
    for mu in range(P):  # (diag p - p p^T) u / P
        mean[mu] = 0.0
    for k in range(u.shape[0]):
        for mu in range(P):
            mean[mu] += prob[k, mu] * u[k, mu]
    for k in range(u.shape[0]):
        for mu in range(P):
            u[k, mu] = prob[k, mu] * (u[k, mu] - mean[mu]) / P
    for i in range(out.size):
        out[i] = 0.0
    backward_add(w, X, dims, hid, u, out, back, part)


@jit
def field(y, args, out, work):
    """F(y) = -scale grad(L_beta + alpha D) (module docstring; docs/flat_minima.md §10a.3);
    ``args`` = (X, labels, dims, deltas, params); in the adversarial mode y = (theta, v)
    and the probe part of F is F(theta) v / |F(theta) v| - v."""
    X, labels, dims, deltas, params = args[0], args[1], args[2], args[3], args[4]
    grad, wq, part, hid, hidq, logp, logq, dz, dzq, back = (
        work[0], work[1], work[2], work[3], work[4], work[5], work[6], work[7], work[8],
        work[9])
    prob, qprob, top, total = work[10], work[11], work[12], work[13]
    p_size = dims[SIZE]
    P = X.shape[1]
    scale, beta, alpha, mode = params[SCALE], params[BETA], params[ALPHA], params[MODE]
    theta = y[:p_size]
    forward_into(theta, X, dims, hid, logp)
    softmax_in_place(logp, prob, top, total)
    for k in range(logp.shape[0]):  # cross-entropy: (p - onehot(y)) / P
        for mu in range(P):
            dz[k, mu] = prob[k, mu] / P
    for mu in range(P):
        dz[labels[mu], mu] -= 1.0 / P
    for i in range(p_size):
        grad[i] = beta * theta[i]
    if mode != PLAIN and alpha != 0.0:
        count = deltas.shape[0]
        norm = 1.0
        if mode == ADVERSARIAL:
            count = 1
            norm = 0.0
            for i in range(p_size):
                norm += y[p_size + i] * y[p_size + i]
            norm = np.sqrt(norm)
        weight = alpha / (count * P)
        for s in range(count):
            for i in range(p_size):
                if mode == SAMPLED:
                    wq[i] = theta[i] + deltas[s, i]
                else:
                    wq[i] = theta[i] + params[RADIUS] * y[p_size + i] / norm
            forward_into(wq, X, dims, hidq, logq)
            softmax_in_place(logq, qprob, top, total)
            kl_logit_gradients(logp, prob, logq, qprob, weight, dz, dzq, top)
            backward_add(wq, X, dims, hidq, dzq, grad, back, part)
    backward_add(theta, X, dims, hid, dz, grad, back, part)
    for i in range(p_size):
        out[i] = -scale * grad[i]
    if mode == ADVERSARIAL:
        probe = y[p_size:]
        fisher_vector_into(theta, probe, X, dims, hid, prob, wq, dz, back, part, top)
        norm = 0.0
        for i in range(p_size):
            norm += wq[i] * wq[i]
        norm = np.sqrt(norm)
        for i in range(p_size):
            out[p_size + i] = (wq[i] / norm - probe[i]) if norm > 0.0 else 0.0


@jit
def project(y, args):
    """No constraint to project onto (the probe is normalized by its own update)."""


@jit
def workspace(y, args):
    """Scratch of :func:`field`: the gradient, the neighbour's weights, a partial product
    (size p each); tanh(W_1 X) at theta and at the neighbour and the backpropagated error
    (hidden x P); log p and log q and their logit gradients, p and q (K x P); two vectors of
    size P."""
    X, dims = args[0], args[2]
    P = X.shape[1]
    p_size, hidden, k = dims[SIZE], max(dims[HIDDEN], 1), dims[N_CLASSES]
    return (np.empty(p_size), np.empty(p_size), np.empty(p_size), np.empty((hidden, P)),
            np.empty((hidden, P)), np.empty((k, P)), np.empty((k, P)), np.empty((k, P)),
            np.empty((k, P)), np.empty((hidden, P)), np.empty((k, P)), np.empty((k, P)),
            np.empty(P), np.empty(P))


LOOPS = compile_loops(field, project, workspace)


# --------------------------------------------------------------------------- NumPy twins


def _model(model) -> Model:
    if not isinstance(model, Model):
        raise ValueError(f"model must be a Model (softmax_regression, softmax_mlp), got "
                         f"{type(model).__name__}")
    return model


def _theta(model: Model, theta, name: str = "theta") -> np.ndarray:
    return validation.finite_vector(name, theta, size=_model(model).size)


def _layers(model: Model, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d, hidden, k = (int(model.dims[i]) for i in (N_IN, HIDDEN, N_CLASSES))
    if model.kind == LINEAR:
        return np.zeros((0, d)), theta.reshape(k, d)
    return theta[:hidden * d].reshape(hidden, d), theta[hidden * d:].reshape(k, hidden)


def _forward(model: Model, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hidden activations or X, log-probabilities), both in column form."""
    W1, W2 = _layers(model, theta)
    H = model.X if model.kind == LINEAR else np.tanh(W1 @ model.X)
    z = W2 @ H
    z = z - z.max(axis=0)
    return H, z - np.log(np.exp(z).sum(axis=0))


def _backward(model: Model, theta: np.ndarray, H: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """J^T dz summed over the samples (H from :func:`_forward`)."""
    W1, W2 = _layers(model, theta)
    if model.kind == LINEAR:
        return (dz @ model.X.T).ravel()
    back = (W2.T @ dz) * (1.0 - H * H)
    return np.concatenate(((back @ model.X.T).ravel(), (dz @ H.T).ravel()))


def _jvp(model: Model, theta: np.ndarray, H: np.ndarray, v: np.ndarray) -> np.ndarray:
    """J v per sample (K x P): the logits' directional derivative."""
    W1, W2 = _layers(model, theta)
    V1, V2 = _layers(model, v)
    if model.kind == LINEAR:
        return V2 @ model.X
    return V2 @ H + W2 @ ((1.0 - H * H) * (V1 @ model.X))


def logit_derivatives(model: Model, theta, v) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with z(theta + eps v) = z + eps a + (eps^2/2) b + O(eps^3) per sample (K x P
    each): a = J v and b = the second directional derivative, 2 V_2 (s'(Z) V_1 X) +
    W_2 (s''(Z) (V_1 X)^2) for the MLP, 0 for softmax regression (docs/flat_minima.md
    §10b.1)."""
    theta = _theta(model, theta)
    v = validation.finite_vector("v", v, size=model.size)
    H = _forward(model, theta)[0]
    a = _jvp(model, theta, H, v)
    if model.kind == LINEAR:
        return a, np.zeros_like(a)
    W1, W2 = _layers(model, theta)
    V1, V2 = _layers(model, v)
    zdot = V1 @ model.X
    slope = 1.0 - H * H
    return a, 2.0 * V2 @ (slope * zdot) + W2 @ (-2.0 * H * slope * zdot * zdot)


def logit_third_derivative(model: Model, theta, v) -> np.ndarray:
    """c with z(theta + eps v) = z + eps a + (eps^2/2) b + (eps^3/6) c + O(eps^4) per sample
    (K x P; a, b of :func:`logit_derivatives`): 3 V_2 (t2(Z) (V_1 X)^2) + W_2 (t3(Z)
    (V_1 X)^3) for the MLP, with t2 = tanh'' = -2 tanh (1 - tanh^2) and t3 = tanh''' =
    (1 - tanh^2)(6 tanh^2 - 2); 0 for softmax regression (docs/flat_minima.md §10b.1)."""
    theta = _theta(model, theta)
    v = validation.finite_vector("v", v, size=model.size)
    H = _forward(model, theta)[0]
    if model.kind == LINEAR:
        return np.zeros((model.n_classes, model.n_samples))
    W2 = _layers(model, theta)[1]
    V1, V2 = _layers(model, v)
    zdot = V1 @ model.X
    slope = 1.0 - H * H
    return (3.0 * V2 @ (-2.0 * H * slope * zdot ** 2)
            + W2 @ (slope * (6.0 * H * H - 2.0) * zdot ** 3))


def probabilities(model: Model, theta) -> np.ndarray:
    """p_theta(x_mu) in column form (K x P)."""
    theta = _theta(model, theta)
    return np.exp(_forward(model, theta)[1])


def cross_entropy(model: Model, theta) -> float:
    """(1/P) sum_mu -log p_theta(y_mu | x_mu), the data term of L_beta."""
    theta = _theta(model, theta)
    logp = _forward(model, theta)[1]
    return float(-logp[model.y, np.arange(model.n_samples)].mean())


def training_loss(model: Model, theta, beta: float = 0.0) -> float:
    """L_beta(theta) = cross-entropy + (beta/2) ||theta||^2 (docs/flat_minima.md §10a.1)."""
    beta = validation.nonnegative_scalar("beta", beta)
    theta = _theta(model, theta)
    return cross_entropy(model, theta) + beta / 2 * float(theta @ theta)


def kl_divergences(model: Model, theta, deltas) -> np.ndarray:
    """(1/P) sum_mu KL(p_theta(x_mu) || p_{theta+delta}(x_mu)) for every row delta of
    ``deltas`` (S x p, or one offset of p entries)."""
    theta = _theta(model, theta)
    deltas = np.atleast_2d(validation.finite_array("deltas", deltas))
    if deltas.ndim != 2 or deltas.shape[1] != model.size:
        raise ValueError(f"deltas must have {model.size} columns, got shape {deltas.shape}")
    logp = _forward(model, theta)[1]
    p = np.exp(logp)
    out = np.empty(deltas.shape[0])
    for s, delta in enumerate(deltas):
        logq = _forward(model, theta + delta)[1]
        out[s] = float(np.sum(p * (logp - logq)) / model.n_samples)
    return out


def penalty(model: Model, theta, neighbours: Neighbourhood) -> float:
    """D_S(theta): the mean of :func:`kl_divergences` over the fixed neighbours."""
    return float(kl_divergences(model, theta, _neighbours(model, neighbours).deltas).mean())


def objective(model: Model, theta, *, alpha: float, neighbours: Neighbourhood,
              beta: float = 0.0) -> float:
    """L_beta + alpha D_S, the objective of :func:`nrs_descent` and :func:`nrs_flow`."""
    alpha = validation.nonnegative_scalar("alpha", alpha)
    return training_loss(model, theta, beta) + alpha * penalty(model, theta, neighbours)


def gradient(model: Model, theta, *, beta: float = 0.0, alpha: float = 0.0,
             deltas=None) -> np.ndarray:
    """grad (L_beta + alpha mean_s KL(p_theta || p_{theta + delta_s})) over the rows of
    ``deltas`` (NumPy twin of the kernel's gradient; no penalty when ``deltas`` is None)."""
    theta = _theta(model, theta)
    beta = validation.nonnegative_scalar("beta", beta)
    alpha = validation.nonnegative_scalar("alpha", alpha)
    P = model.n_samples
    H, logp = _forward(model, theta)
    p = np.exp(logp)
    dz = p.copy()
    dz[model.y, np.arange(P)] -= 1.0
    dz /= P
    grad = beta * theta
    if deltas is not None and alpha != 0.0:
        deltas = np.atleast_2d(deltas)
        weight = alpha / (deltas.shape[0] * P)
        for delta in deltas:
            Hq, logq = _forward(model, theta + delta)
            a = logp - logq
            dz += weight * p * (a - (p * a).sum(axis=0))
            grad = grad + _backward(model, theta + delta, Hq, weight * (np.exp(logq) - p))
    return grad + _backward(model, theta, H, dz)


def fisher_vector_product(model: Model, theta, v) -> np.ndarray:
    """F(theta) v, exactly (NumPy twin of :func:`fisher_vector_into`)."""
    theta = _theta(model, theta)
    v = validation.finite_vector("v", v, size=model.size)
    H, logp = _forward(model, theta)
    p = np.exp(logp)
    u = _jvp(model, theta, H, v)
    return _backward(model, theta, H, p * (u - (p * u).sum(axis=0)) / model.n_samples)


def fisher(model: Model, theta) -> np.ndarray:
    """The dense Fisher matrix, column j = F e_j."""
    theta = _theta(model, theta)
    return np.column_stack([fisher_vector_product(model, theta, e) for e in np.eye(model.size)])


def hessian_vector_product(model: Model, theta, v) -> np.ndarray:
    """Hess(cross-entropy)(theta) v, exactly: the directional derivative of the gradient
    along v (forward mode over the backward pass, docs/flat_minima.md §10a.3); for softmax
    regression it equals F v (docs/flat_minima.md §10b.3)."""
    theta = _theta(model, theta)
    v = validation.finite_vector("v", v, size=model.size)
    P = model.n_samples
    H, logp = _forward(model, theta)
    p = np.exp(logp)
    u = _jvp(model, theta, H, v)
    gdot = p * (u - (p * u).sum(axis=0)) / P
    if model.kind == LINEAR:
        return (gdot @ model.X.T).ravel()
    G = p.copy()
    G[model.y, np.arange(P)] -= 1.0
    G /= P
    W1, W2 = _layers(model, theta)
    V1, V2 = _layers(model, v)
    slope = 1.0 - H * H
    zdot = V1 @ model.X
    hdot = slope * zdot
    out2 = gdot @ H.T + G @ hdot.T
    bdot = (V2.T @ G + W2.T @ gdot) * slope + (W2.T @ G) * (-2.0 * H * slope) * zdot
    return np.concatenate(((bdot @ model.X.T).ravel(), out2.ravel()))


def hessian(model: Model, theta) -> np.ndarray:
    """The dense Hessian of the cross-entropy (without the L2 term), column j = H e_j."""
    theta = _theta(model, theta)
    H = np.column_stack([hessian_vector_product(model, theta, e) for e in np.eye(model.size)])
    return (H + H.T) / 2


def flatness(model: Model, theta) -> tuple[float, float]:
    """(lambda_max, trace) of the cross-entropy's Hessian (numpy eigvalsh of
    :func:`hessian`): the flatness measures of docs/flat_minima.md §10a.5."""
    H = hessian(model, theta)
    return float(np.linalg.eigvalsh(H)[-1]), float(np.trace(H))


def power_probe(model: Model, theta, iterations: int, seed: int) -> tuple[np.ndarray, float]:
    """(unit v, v^T F v) after ``iterations`` power-iteration steps v <- F v / |F v| from a
    normalized Gaussian start (from ``seed``): the adversarial direction's probe."""
    theta = _theta(model, theta)
    iterations = validation.count("iterations", iterations)
    v = np.random.default_rng(validation.count("seed", seed, minimum=0)).standard_normal(
        model.size)
    v /= np.linalg.norm(v)
    for _ in range(iterations):
        w = fisher_vector_product(model, theta, v)
        v = w / np.linalg.norm(w)
    return v, float(v @ fisher_vector_product(model, theta, v))


def field_numpy(y: np.ndarray, model: Model, params: np.ndarray,
                deltas: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`."""
    p_size = model.size
    theta = y[:p_size]
    mode = int(params[MODE])
    if mode == PLAIN:
        g = gradient(model, theta, beta=params[BETA])
        return -params[SCALE] * g
    if mode == SAMPLED:
        g = gradient(model, theta, beta=params[BETA], alpha=params[ALPHA], deltas=deltas)
        return -params[SCALE] * g
    v = y[p_size:]
    delta = params[RADIUS] * v / np.linalg.norm(v)
    g = gradient(model, theta, beta=params[BETA], alpha=params[ALPHA], deltas=delta[None, :])
    fv = fisher_vector_product(model, theta, v)
    norm = np.linalg.norm(fv)
    return np.concatenate((-params[SCALE] * g, fv / norm - v if norm > 0 else 0.0 * v))


# --------------------------------------------------------------------------- solvers


@dataclass(frozen=True)
class ProbedTrajectory(Trajectory):
    """The trajectory of :func:`adversarial_descent`: states (theta, v)."""

    size: int = 0

    @property
    def theta(self) -> np.ndarray:
        """theta at every sample (n x p)."""
        return self.states[:, :self.size]

    @property
    def probe(self) -> np.ndarray:
        """The probe direction v at every sample (n x p)."""
        return self.states[:, self.size:]


def _neighbours(model: Model, neighbours) -> Neighbourhood:
    if not isinstance(neighbours, Neighbourhood):
        raise ValueError(f"neighbours must be a Neighbourhood (gaussian_neighbours, "
                         f"ball_neighbours), got {type(neighbours).__name__}")
    if neighbours.deltas.ndim != 2 or neighbours.deltas.shape[1] != model.size:
        raise ValueError(f"neighbours must have offsets of {model.size} entries (the model's "
                         f"parameters), got shape {neighbours.deltas.shape}")
    return neighbours


def _problem(model: Model, y0: np.ndarray, scale: float, beta: float, alpha: float,
             mode: int, deltas: np.ndarray, radius: float = 0.0,
             trajectory: type[Trajectory] = Trajectory, extra: dict | None = None) -> Problem:
    params = np.array([scale, beta, alpha, radius, float(mode)])
    deltas = np.ascontiguousarray(deltas, dtype=np.float64)
    return Problem(LOOPS, (model.X, model.y, model.dims, deltas, params),
                   lambda y: field_numpy(y, model, params, deltas),
                   trajectory=trajectory, extra=extra or {})


def gradient_descent(model: Model, theta0, *, lr: float, beta: float = 0.0, steps,
                     **options) -> Trajectory:
    """theta <- theta - lr grad L_beta(theta), no penalty (docs/flat_minima.md §10a.3).

    ``steps``: sample step indices; ``**options``: ``stop_tol``, ``max_steps``, ``backend``
    (:mod:`theory.solve`). A run that leaves the bound 1e100 ends diverged with its step.
    """
    model = _model(model)
    theta0 = _theta(model, theta0, "theta0")
    lr = validation.positive_scalar("lr", lr)
    beta = validation.nonnegative_scalar("beta", beta)
    problem = _problem(model, theta0, lr, beta, 0.0, PLAIN, np.zeros((1, model.size)))
    return solve.discrete(problem, theta0, steps, **options)


def nrs_descent(model: Model, theta0, *, lr: float, alpha: float, neighbours: Neighbourhood,
                beta: float = 0.0, steps, **options) -> Trajectory:
    """theta <- theta - lr grad(L_beta + alpha D_S)(theta), D_S over the fixed sample
    ``neighbours`` (docs/flat_minima.md §10a.3); options as :func:`gradient_descent`."""
    model = _model(model)
    theta0 = _theta(model, theta0, "theta0")
    lr = validation.positive_scalar("lr", lr)
    alpha = validation.nonnegative_scalar("alpha", alpha)
    beta = validation.nonnegative_scalar("beta", beta)
    neighbours = _neighbours(model, neighbours)
    problem = _problem(model, theta0, lr, beta, alpha, SAMPLED, neighbours.deltas)
    return solve.discrete(problem, theta0, steps, **options)


def nrs_flow(model: Model, theta0, *, alpha: float, neighbours: Neighbourhood,
             beta: float = 0.0, eta: float = 1.0, times, **options) -> Trajectory:
    """d theta/dt = -eta grad(L_beta + alpha D_S) (docs/flat_minima.md §10a.3);
    ``**options``: the integration options of :func:`theory.solve.flow`."""
    model = _model(model)
    theta0 = _theta(model, theta0, "theta0")
    alpha = validation.nonnegative_scalar("alpha", alpha)
    beta = validation.nonnegative_scalar("beta", beta)
    eta = validation.positive_scalar("eta", eta)
    neighbours = _neighbours(model, neighbours)
    problem = _problem(model, theta0, eta, beta, alpha, SAMPLED, neighbours.deltas)
    return solve.flow(problem, theta0, times, **options)


def adversarial_descent(model: Model, theta0, *, lr: float, alpha: float, radius: float,
                        beta: float = 0.0, probe_seed: int = 0, steps,
                        **options) -> ProbedTrajectory:
    """theta <- theta - lr grad_theta(L_beta(theta) + alpha KL(p_theta || p_{theta+delta}))
    with delta = radius v / |v| held fixed, and v <- F(theta) v / |F(theta) v|
    (docs/flat_minima.md §10a.3); v starts as a normalized Gaussian from ``probe_seed``.
    Options as :func:`gradient_descent`; the states are (theta, v)."""
    model = _model(model)
    theta0 = _theta(model, theta0, "theta0")
    lr = validation.positive_scalar("lr", lr)
    alpha = validation.nonnegative_scalar("alpha", alpha)
    radius = validation.positive_scalar("radius", radius)
    beta = validation.nonnegative_scalar("beta", beta)
    v0 = np.random.default_rng(validation.count("probe_seed", probe_seed, minimum=0)
                               ).standard_normal(model.size)
    y0 = np.concatenate((theta0, v0 / np.linalg.norm(v0)))
    problem = _problem(model, y0, lr, beta, alpha, ADVERSARIAL, np.zeros((1, model.size)),
                       radius, ProbedTrajectory, {"size": model.size})
    return solve.discrete(problem, y0, steps, **options)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "nrs_descent": nrs_descent,
    "nrs_flow": nrs_flow,
    "adversarial_descent": adversarial_descent,
}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    model = instance("mlp", seed=1, n_samples=30)
    theta0 = initial_weights(model, 1.0, seed=2)
    ball = ball_neighbours(model, 0.3, 3, seed=3)
    args = (model, theta0)
    return {"gradient_descent": (args, {"lr": 0.5, "beta": 1e-3, "steps": [5, 40]}),
            "nrs_descent": (args, {"lr": 0.5, "alpha": 2.0, "neighbours": ball,
                                   "steps": [5, 40]}),
            "nrs_flow": (args, {"alpha": 2.0, "neighbours": ball, "times": [0.5, 2.0]}),
            "adversarial_descent": (args, {"lr": 0.5, "alpha": 2.0, "radius": 0.3,
                                           "steps": [5, 40]})}
