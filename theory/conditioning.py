"""Weight conditioning: deep linear regression with a normalizer applied to the weights in
the forward pass, recomputed at every step (docs/conditioning.md).

Data X (P x N_i) and targets Y (P x N_o) hold the samples as rows; the kernel works with
their column forms X_c = X^T, Y_c = Y^T. The network is f(x) = C_L(W_L) ... C_1(W_1) x
with loss (1/2P) ||Y_c - C_L(W_L) ... C_1(W_1) X_c||_F^2, where each conditioner C_l is
one of (docs/conditioning.md §7a.1, W of shape n_out x n_in, rows are output units):

===============  ===========================================  =========================
name             C(W)                                         source
===============  ===========================================  =========================
``none``         W
``row``          D_R W, D_R = diag(1 / ||W_i,:||_2)           weight conditioning (WC)
``column``       W D_C, D_C = diag(1 / ||W_:,j||_2)           WC, column form
``weight_norm``  diag(g) D_R W, gains g trained               WeightNorm
``standardize``  rows centred and divided by their RMS spread  weight standardization
===============  ===========================================  =========================

Gradient descent and gradient flow train the raw weights (and WeightNorm's gains) through
the conditioner, by the pullbacks of docs/conditioning.md §7a.2; ``trained_layers``
freezes the others (the Gauss-Newton claims train one layer behind conditioned ones,
docs/conditioning.md §7b.2). The state is the flat concatenation of the W_l (row-major)
followed by the gains of the WeightNorm layers; :class:`ConditionedTrajectory` unpacks
it and records kappa(C_l(W_l)) at every sample. Each solver has ``backend="numba"`` and
``"numpy"``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import uint64

from theory import solve, validation
from theory.layers import LayeredTrajectory, layer_offsets, network_widths, pack, unpack
from theory.linalg import (blas_block_times_transpose_into, blas_block_weight_times,
                           blas_block_weight_transpose_times, is_tiny,
                           tiny_block_times_transpose_into, tiny_block_weight_times,
                           tiny_block_weight_transpose_times)
from theory.numba_options import jit
from theory.solve import Problem, compile_loops

NONE, ROW, COLUMN, WEIGHT_NORM, STANDARDIZE = range(5)
CONDITIONERS: dict[str, int] = {"none": NONE, "row": ROW, "column": COLUMN,
                                "weight_norm": WEIGHT_NORM, "standardize": STANDARDIZE}
"""The conditioners by name (module docstring) and their kernel codes."""

LINEAR, TANH = range(2)
ACTIVATIONS: dict[str, int] = {"linear": LINEAR, "tanh": TANH}
"""The hidden layers' activation by name: ``linear`` (the deep linear network) or ``tanh``
(a small MLP, docs/conditioning.md §7a.2); the output layer is linear."""


# --------------------------------------------------------------------------- conditioners


@jit
def condition_rows(w, offset, n_out, n_in, weight_norm, gains, gain_offset, out, out_offset,
                   scales, scale_offset):
    """:func:`condition_into` for ``row`` and (``weight_norm``) WeightNorm, the conditioners
    of rows. A function of its own: one branch-free body without calls that can raise,
    whose reference counts numba removes (the general function keeps an atomic count per
    array), and indices unsigned (no negative-index wraparound)."""
    for i in range(n_out):
        row = offset + i * n_in
        total = 0.0
        for j in range(n_in):
            total += w[uint64(row + j)] ** 2
        norm = np.sqrt(total)
        scales[uint64(scale_offset + i)] = norm
        gain = gains[uint64(gain_offset + i)] if weight_norm else 1.0
        target = out_offset + i * n_in
        for j in range(n_in):
            out[uint64(target + j)] = gain * w[uint64(row + j)] / norm


@jit
def pull_back_rows(w, offset, n_out, n_in, weight_norm, gains, gain_offset, g, scales,
                   scale_offset, out, out_offset, gain_out):
    """:func:`pull_back_into` for ``row`` and (``weight_norm``) WeightNorm (as
    :func:`condition_rows`)."""
    for i in range(n_out):
        row = out_offset + i * n_in
        source = offset + i * n_in
        along = 0.0
        for j in range(n_in):
            along += g[uint64(row + j)] * w[uint64(source + j)]
        norm = scales[uint64(scale_offset + i)]
        along /= norm  # g_i . u_i
        gain = gains[uint64(gain_offset + i)] if weight_norm else 1.0
        for j in range(n_in):
            unit = w[uint64(source + j)] / norm
            out[uint64(row + j)] = gain * (g[uint64(row + j)] - along * unit) / norm
        if weight_norm:
            gain_out[uint64(gain_offset + i)] = along


@jit
def condition_into(w, offset, n_out, n_in, code, gains, gain_offset, out, out_offset, scales,
                   scale_offset):
    """out[out_offset:] = C(W) row-major, W the n_out x n_in matrix stored row-major in
    ``w`` from ``offset``; ``scales`` receives from ``scale_offset`` the row norms (row,
    weight_norm), the column norms (column) or the rows' RMS spreads (standardize), each
    assumed non-zero (docs/conditioning.md §7a.1).

    A called function, not inlined: it receives its arrays without reference counting
    (an atomic instruction per array an inlined helper receives in a time loop; see the
    block products of :mod:`theory.linalg`)."""
    if code == NONE:
        for k in range(n_out * n_in):
            out[out_offset + k] = w[offset + k]
    elif code == COLUMN:
        for j in range(n_in):
            scales[scale_offset + j] = 0.0
        for i in range(n_out):
            for j in range(n_in):
                scales[scale_offset + j] += w[offset + i * n_in + j] ** 2
        for j in range(n_in):
            scales[scale_offset + j] = np.sqrt(scales[scale_offset + j])
        for i in range(n_out):
            for j in range(n_in):
                out[out_offset + i * n_in + j] = w[offset + i * n_in + j] / scales[scale_offset + j]
    elif code == STANDARDIZE:
        for i in range(n_out):
            row = offset + i * n_in
            mean = 0.0
            for j in range(n_in):
                mean += w[row + j]
            mean /= n_in
            spread = 0.0
            for j in range(n_in):
                spread += (w[row + j] - mean) ** 2
            scales[scale_offset + i] = np.sqrt(spread / n_in)
            for j in range(n_in):
                out[out_offset + i * n_in + j] = (w[row + j] - mean) / scales[scale_offset + i]
    else:
        condition_rows(w, offset, n_out, n_in, code == WEIGHT_NORM, gains, gain_offset, out,
                       out_offset, scales, scale_offset)


@jit
def pull_back_into(w, offset, n_out, n_in, code, gains, gain_offset, effective, g, scales,
                   scale_offset, out, out_offset, gain_out):
    """The gradient with respect to the raw W (into ``out`` from ``out_offset``) and, for
    WeightNorm, the gains (into ``gain_out`` from ``gain_offset``), given g = dL/dC(W)
    row-major from ``out_offset`` in ``g`` and C(W), ``scale`` of :func:`condition_into`
    (docs/conditioning.md §7a.2):

    row: (g_i - (g_i . u_i) u_i) / ||w_i||, u_i = w_i / ||w_i||; WeightNorm: gamma_i times
    that, and g_i . u_i for gamma_i; column: the same on columns; standardize:
    (g_i - mean(g_i) - v_i mean(g_i v_i)) / s_i with v_i the standardized row. Called,
    not inlined (as :func:`condition_into`).
    """
    if code == NONE:
        for k in range(n_out * n_in):
            out[out_offset + k] = g[out_offset + k]
    elif code == COLUMN:
        for j in range(n_in):
            along = 0.0
            for i in range(n_out):
                along += g[out_offset + i * n_in + j] * effective[out_offset + i * n_in + j]
            for i in range(n_out):
                k = out_offset + i * n_in + j
                out[k] = (g[k] - along * effective[k]) / scales[scale_offset + j]
    elif code == STANDARDIZE:
        for i in range(n_out):
            row = out_offset + i * n_in
            mean_g, mean_gv = 0.0, 0.0
            for j in range(n_in):
                mean_g += g[row + j]
                mean_gv += g[row + j] * effective[row + j]
            mean_g /= n_in
            mean_gv /= n_in
            for j in range(n_in):
                out[row + j] = (g[row + j] - mean_g - effective[row + j] * mean_gv) / scales[scale_offset + i]
    else:
        pull_back_rows(w, offset, n_out, n_in, code == WEIGHT_NORM, gains, gain_offset, g,
                       scales, scale_offset, out, out_offset, gain_out)


@jit
def condition_kernel(w, n_out, n_in, code, gains, out, scale):
    """C(W) of one matrix (:func:`condition_into`), for the public conditioners."""
    condition_into(w, 0, n_out, n_in, code, gains, 0, out, 0, scale, 0)


def _matrix(name: str, W, code: int) -> np.ndarray:
    """A finite matrix whose rows (columns for ``column``) are non-zero and, for
    ``standardize``, not constant, with at least two columns."""
    W = validation.finite_matrix(name, W)
    if code == COLUMN:
        zero = np.flatnonzero(np.all(W == 0.0, axis=0))
        if zero.size:
            raise ValueError(f"{name}: column {zero[0]} is zero (column equilibration divides "
                             f"by the column norms)")
    elif code == STANDARDIZE:
        if W.shape[1] < 2:
            raise ValueError(f"{name}: weight standardization needs at least two columns "
                             f"(fan-in), got {W.shape[1]}")
        flat = np.flatnonzero(np.all(W == W[:, :1], axis=1))
        if flat.size:
            raise ValueError(f"{name}: row {flat[0]} is constant (standardization divides by "
                             f"the rows' spread)")
    elif code != NONE:
        zero = np.flatnonzero(np.all(W == 0.0, axis=1))
        if zero.size:
            raise ValueError(f"{name}: row {zero[0]} is zero (row equilibration divides by "
                             f"the row norms)")
    return W


def _apply(W: np.ndarray, code: int, gains: np.ndarray, backend: str) -> np.ndarray:
    if backend == "numpy":
        return condition_numpy(W, code, gains)
    if backend != "numba":
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    out = np.empty(W.size)
    condition_kernel(W.ravel(), W.shape[0], W.shape[1], code, gains, out,
                     np.empty(max(W.shape)))
    return out.reshape(W.shape)


def row_equilibrate(W, *, backend: str = "numba") -> np.ndarray:
    """D_R W with D_R = diag(1/||W_i,:||_2): every row scaled to unit Euclidean norm
    (docs/conditioning.md §7a.1).

    Raises
    ------
    ValueError
        If W is not a finite non-empty matrix (naming ``W``) or has a zero row.
    """
    return _apply(_matrix("W", W, ROW), ROW, np.ones(1), backend)


def column_equilibrate(W, *, backend: str = "numba") -> np.ndarray:
    """W D_C with D_C = diag(1/||W_:,j||_2): every column scaled to unit norm
    (docs/conditioning.md §7a.1). ValueError for a zero column or bad ``W``."""
    return _apply(_matrix("W", W, COLUMN), COLUMN, np.ones(1), backend)


def weight_normalize(W, gains, *, backend: str = "numba") -> np.ndarray:
    """WeightNorm diag(g) D_R W (docs/conditioning.md §7a.1); ``gains`` one per row,
    finite and positive."""
    W = _matrix("W", W, WEIGHT_NORM)
    gains = _gains("gains", gains, W.shape[0])
    return _apply(W, WEIGHT_NORM, gains, backend)


def standardize_weights(W, *, backend: str = "numba") -> np.ndarray:
    """Weight standardization: each row minus its mean, divided by its RMS spread
    sqrt(mean((w - mean w)^2)) (docs/conditioning.md §7a.1)."""
    return _apply(_matrix("W", W, STANDARDIZE), STANDARDIZE, np.ones(1), backend)


def condition_numpy(W: np.ndarray, code: int, gains: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`condition_kernel` (``W`` already validated)."""
    if code == NONE:
        return W.copy()
    if code == COLUMN:
        return W / np.linalg.norm(W, axis=0)
    if code == STANDARDIZE:
        centred = W - W.mean(axis=1, keepdims=True)
        return centred / np.sqrt(np.mean(centred ** 2, axis=1, keepdims=True))
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    return unit * gains[:, None] if code == WEIGHT_NORM else unit


def condition_number(W) -> float:
    """kappa_2(W) = sigma_max / sigma_min over the min(m, n) singular values (inf if W is
    rank deficient)."""
    s = np.linalg.svd(validation.finite_matrix("W", W), compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0.0 else float("inf")


def _gains(name: str, gains, size: int) -> np.ndarray:
    g = validation.finite_vector(name, gains, size=size)
    if np.any(g <= 0.0):
        raise ValueError(f"{name} must be positive, got {g.min()}")
    return g


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class ConditionedTrajectory(LayeredTrajectory):
    """A :class:`~theory.layers.LayeredTrajectory` of a conditioned deep linear network;
    ``codes`` holds each layer's conditioner code (:data:`CONDITIONERS`), and the gains of
    the WeightNorm layers follow the weights in the state."""

    codes: tuple = ()
    activation: int = LINEAR

    def gains_at(self, index: int = -1) -> list[np.ndarray]:
        """Per layer the WeightNorm gains at sample ``index`` (an empty array elsewhere)."""
        return split_gains(self.states[index], self.widths, self.codes)

    def effective_weights_at(self, index: int = -1) -> list[np.ndarray]:
        """[C_1(W_1), ..., C_L(W_L)] at sample ``index``."""
        return [condition_numpy(W, code, g) for W, code, g in
                zip(self.weights_at(index), self.codes, self.gains_at(index))]

    @property
    def condition_numbers(self) -> np.ndarray:
        """kappa_2(C_l(W_l)) at every sample, shape (n, L)."""
        return np.array([[condition_number(W) for W in self.effective_weights_at(i)]
                         for i in range(len(self.times))])

    def losses(self, X, Y) -> np.ndarray:
        """(1/2P) ||Y - f(X)||_F^2 at every sample (X, Y with samples as rows)."""
        X, Y = validation.paired_samples(X, Y)
        return np.array([network_loss(X, Y, self.effective_weights_at(i), self.activation)
                         for i in range(len(self.times))])


def network_loss(X: np.ndarray, Y: np.ndarray, effective: list[np.ndarray],
                 activation: int = LINEAR) -> float:
    """(1/2P) ||Y_c - f(X_c)||_F^2 for effective weights [W_1, ..., W_L], f = W_L phi(...
    phi(W_1 X_c)) with phi the identity (LINEAR) or tanh (TANH) on the hidden layers."""
    out = X.T
    for l, W in enumerate(effective):
        out = W @ out
        if activation == TANH and l < len(effective) - 1:
            out = np.tanh(out)
    return float(0.5 * np.sum((Y.T - out) ** 2) / X.shape[0])


def gain_offsets(widths, codes) -> np.ndarray:
    """Start of each layer's gains after the weights (n_l entries for a WeightNorm layer,
    none otherwise); the last entry is the end."""
    widths = np.asarray(widths, dtype=np.int64)
    sizes = [int(widths[l + 1]) if codes[l] == WEIGHT_NORM else 0
             for l in range(widths.size - 1)]
    return (int(layer_offsets(widths)[-1]) + np.concatenate(([0], np.cumsum(sizes)))).astype(
        np.int64)


def split_gains(state: np.ndarray, widths, codes) -> list[np.ndarray]:
    """The gains of each layer in a flat state (empty for layers without WeightNorm)."""
    offsets = gain_offsets(widths, codes)
    return [state[offsets[l]:offsets[l + 1]] for l in range(len(codes))]


@jit
def field(y, args, out, work):
    """Write F(y) = -eta dL/d(W, g) into ``out``; ``args`` = (X_c, Y_c, widths, params,
    codes, trained), params = (eta, activation), codes and trained one entry per layer;
    ``work`` (:func:`workspace`) = (offsets, gain offsets, rows, S, C(W) flat, dL/dC(W)
    flat, scales, scale offsets). Forward A_l = phi(C_l(W_l) A_{l-1}) (A_0 = X_c; phi = tanh
    on hidden layers of an MLP, else the identity), output error G_L = (Y_c - A_L) / P,
    backward G_{l-1} = (C_l(W_l)^T G_l) * phi'(.) with tanh' = 1 - A_{l-1}^2;
    dL/dC(W_l) = -G_l A_{l-1}^T, pulled back through the conditioner
    (docs/conditioning.md §7a.2). Frozen layers get a zero field.

    The scratch is one matrix S of P columns, A_l a block of its rows from ``rows[l]``
    and G_l one from ``rows[depth + l]``, and the conditioners' scales one vector, layer l
    from ``scale offsets[l]``: blocks are addressed by their first row and passed to
    called functions (:func:`theory.linalg.tiny_block_weight_times` and its siblings), no
    list item or view, each of which costs an atomic reference count per use in the time
    loop (as :func:`theory.deep_linear.field`).
    """
    X, Y, widths, params, codes, trained = args
    offsets, goffsets, rows, S, effective, grad_eff, scales, soffsets = work
    depth = widths.size - 1
    K = X.shape[1]
    eta = params[0]
    hidden_tanh = params[1] == TANH
    for l in range(depth):
        if codes[l] == ROW or codes[l] == WEIGHT_NORM:
            condition_rows(y, offsets[l], widths[l + 1], widths[l], codes[l] == WEIGHT_NORM,
                           y, goffsets[l], effective, offsets[l], scales, soffsets[l])
        else:
            condition_into(y, offsets[l], widths[l + 1], widths[l], codes[l], y, goffsets[l],
                           effective, offsets[l], scales, soffsets[l])
        m, k, a = widths[l + 1], widths[l], rows[l]
        if l > 0 and is_tiny(m, k, K):
            tiny_block_weight_times(effective, offsets[l], S, rows[l - 1], k, S, a, m)
        elif l > 0:
            blas_block_weight_times(effective, offsets[l], S, rows[l - 1], k, S, a, m)
        elif is_tiny(m, k, K):
            tiny_block_weight_times(effective, offsets[l], X, 0, k, S, a, m)
        else:
            blas_block_weight_times(effective, offsets[l], X, 0, k, S, a, m)
        if hidden_tanh and l < depth - 1:
            for i in range(a, a + m):
                for j in range(K):
                    S[i, j] = np.tanh(S[i, j])
    g, a = rows[2 * depth - 1], rows[depth - 1]
    for i in range(widths[depth]):
        for mu in range(K):
            S[g + i, mu] = (Y[i, mu] - S[a + i, mu]) / K
    for l in range(depth - 1, -1, -1):
        g = rows[depth + l]
        m, k = widths[l + 1], widths[l]
        start, stop = offsets[l], offsets[l + 1]
        if trained[l]:
            if l > 0 and is_tiny(m, K, k):
                tiny_block_times_transpose_into(S, g, m, S, rows[l - 1], k, grad_eff, start)
            elif l > 0:
                blas_block_times_transpose_into(S, g, m, S, rows[l - 1], k, grad_eff, start)
            elif is_tiny(m, K, k):
                tiny_block_times_transpose_into(S, g, m, X, 0, k, grad_eff, start)
            else:
                blas_block_times_transpose_into(S, g, m, X, 0, k, grad_eff, start)
            if codes[l] == ROW or codes[l] == WEIGHT_NORM:
                pull_back_rows(y, start, m, k, codes[l] == WEIGHT_NORM, y, goffsets[l],
                               grad_eff, scales, soffsets[l], out, start, out)
            else:
                pull_back_into(y, start, m, k, codes[l], y, goffsets[l], effective, grad_eff,
                               scales, soffsets[l], out, start, out)
            for i in range(start, stop):
                out[i] *= eta
            for i in range(goffsets[l], goffsets[l + 1]):
                out[i] *= eta
        else:
            for i in range(start, stop):
                out[i] = 0.0
            for i in range(goffsets[l], goffsets[l + 1]):
                out[i] = 0.0
        if l > 0:
            e = rows[depth + l - 1]
            if is_tiny(k, m, K):
                tiny_block_weight_transpose_times(effective, start, S, g, m, S, e, k)
            else:
                blas_block_weight_transpose_times(effective, start, S, g, m, S, e, k)
            if hidden_tanh:
                a = rows[l - 1]
                for i in range(k):
                    for j in range(K):
                        S[e + i, j] *= 1.0 - S[a + i, j] * S[a + i, j]


@jit
def project(y, args):
    """No constraint to project onto."""


@jit
def workspace(y, args):
    """Scratch of :func:`field` (its docstring)."""
    X, widths, codes = args[0], args[2], args[4]
    K = X.shape[1]
    depth = widths.size - 1
    offsets = np.zeros(depth + 1, dtype=np.int64)
    for l in range(depth):
        offsets[l + 1] = offsets[l] + widths[l + 1] * widths[l]
    goffsets = np.zeros(depth + 1, dtype=np.int64)
    goffsets[0] = offsets[depth]
    for l in range(depth):
        goffsets[l + 1] = goffsets[l] + (widths[l + 1] if codes[l] == WEIGHT_NORM else 0)
    rows = np.zeros(2 * depth + 1, dtype=np.int64)
    for r in range(2 * depth):
        rows[r + 1] = rows[r] + widths[r % depth + 1]
    soffsets = np.zeros(depth + 1, dtype=np.int64)
    for l in range(depth):
        soffsets[l + 1] = soffsets[l] + max(widths[l + 1], widths[l])
    return (offsets, goffsets, rows, np.empty((rows[2 * depth], K)), np.empty(offsets[depth]),
            np.empty(offsets[depth]), np.empty(soffsets[depth]), soffsets)


LOOPS = compile_loops(field, project, workspace)


def field_numpy(y: np.ndarray, X: np.ndarray, Y: np.ndarray, widths: np.ndarray,
                params: np.ndarray, codes: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`field`; X and Y in column form, as the kernel's ``args``."""
    weights = unpack(y, widths)
    gains = split_gains(y, widths, codes)
    effective = [condition_numpy(W, c, g) for W, c, g in zip(weights, codes, gains)]
    acts = [X]
    for l, W in enumerate(effective):
        pre = W @ acts[-1]
        acts.append(np.tanh(pre) if params[1] == TANH and l < len(effective) - 1 else pre)
    G = (Y - acts[-1]) / X.shape[1]
    grads, gain_grads = [None] * len(weights), [None] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        g = G @ acts[l].T
        grads[l], gain_grads[l] = _pull_back_numpy(weights[l], codes[l], gains[l],
                                                   effective[l], g)
        if not trained[l]:
            grads[l], gain_grads[l] = 0.0 * grads[l], 0.0 * gain_grads[l]
        G = effective[l].T @ G
        if params[1] == TANH:
            G = G * (1.0 - acts[l] ** 2)  # at l = 0 unused
    return params[0] * np.concatenate([g.ravel() for g in grads] + gain_grads)


def _pull_back_numpy(W, code, gains, effective, g) -> tuple[np.ndarray, np.ndarray]:
    if code == NONE:
        return g, gains[:0]
    if code == COLUMN:
        along = np.sum(g * effective, axis=0)
        return (g - along * effective) / np.linalg.norm(W, axis=0), gains[:0]
    if code == STANDARDIZE:
        spread = np.sqrt(np.mean((W - W.mean(axis=1, keepdims=True)) ** 2, axis=1))
        return (g - g.mean(axis=1, keepdims=True)
                - effective * np.mean(g * effective, axis=1, keepdims=True)) / spread[:, None], \
            gains[:0]
    norms = np.linalg.norm(W, axis=1)
    unit = W / norms[:, None]
    along = np.sum(g * unit, axis=1)
    gain = gains if code == WEIGHT_NORM else np.ones(W.shape[0])
    grad = gain[:, None] * (g - along[:, None] * unit) / norms[:, None]
    return grad, (along if code == WEIGHT_NORM else gains[:0])


# --------------------------------------------------------------------------- wrappers


def _layer_set(name: str, layers, depth: int) -> np.ndarray:
    """A 0/1 mask over the layers from a sequence of 0-based layer indices (None: all)."""
    mask = np.zeros(depth, dtype=np.int64)
    if layers is None:
        mask[:] = 1
        return mask
    for value in np.atleast_1d(layers):
        index = validation.count(name, value, minimum=0)
        if index >= depth:
            raise ValueError(f"{name}: layer {index} does not exist (depth {depth}, layers "
                             f"0..{depth - 1})")
        mask[index] = 1
    return mask


def layer_codes(conditioner: str, conditioned_layers, depth: int) -> np.ndarray:
    """The conditioner code of every layer: ``conditioner`` on ``conditioned_layers``
    (0-based; None: every layer), ``none`` elsewhere."""
    if conditioner not in CONDITIONERS:
        raise ValueError(f"conditioner must be one of {tuple(CONDITIONERS)}, got "
                         f"{conditioner!r}")
    return CONDITIONERS[conditioner] * _layer_set("conditioned_layers", conditioned_layers,
                                                  depth)


def _start(X, Y, weights0, eta: float, conditioner: str, conditioned_layers, trained_layers,
           gains0, activation: str = "linear") -> tuple[Problem, np.ndarray]:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    X, Y = validation.paired_samples(X, Y)
    if isinstance(weights0, np.ndarray) or not weights0:
        raise ValueError("weights0 must be a list of at least one matrix [W_1, ..., W_L]")
    if len(weights0) == 1:
        widths = np.array([np.shape(weights0[0])[1], np.shape(weights0[0])[0]], dtype=np.int64)
        weights0 = [validation.finite_matrix("weights0[0]", weights0[0])]
    else:
        widths = network_widths(weights0, "weights0")
    depth = widths.size - 1
    if widths[0] != X.shape[1] or widths[-1] != Y.shape[1]:
        raise ValueError(f"weights0 map {widths[0]} inputs to {widths[-1]} outputs, but X has "
                         f"{X.shape[1]} columns (features) and Y {Y.shape[1]}")
    codes = layer_codes(conditioner, conditioned_layers, depth)
    trained = _layer_set("trained_layers", trained_layers, depth)
    weights = [_matrix(f"weights0[{l}]", W, int(codes[l])) for l, W in enumerate(weights0)]
    gains = []
    for l, W in enumerate(weights):
        if codes[l] == WEIGHT_NORM:
            gains.append(np.linalg.norm(W, axis=1) if gains0 is None
                         else _gains(f"gains0[{l}]", gains0[l], W.shape[0]))
    if gains0 is not None and not np.any(codes == WEIGHT_NORM):
        raise ValueError("gains0 is only for conditioner='weight_norm'")
    y0 = np.ascontiguousarray(np.concatenate([pack(weights)] + gains))
    params = np.array([eta, ACTIVATIONS[activation]])
    X_c, Y_c = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    problem = Problem(LOOPS, (X_c, Y_c, widths, params, codes, trained),
                      lambda y: field_numpy(y, X_c, Y_c, widths, params, codes, trained),
                      trajectory=ConditionedTrajectory,
                      extra={"widths": tuple(int(w) for w in widths),
                             "codes": tuple(int(c) for c in codes),
                             "activation": ACTIVATIONS[activation]})
    return problem, y0


def gradient_descent(X, Y, weights0, *, lr: float, steps, conditioner: str = "none",
                     conditioned_layers=None, trained_layers=None, gains0=None,
                     activation: str = "linear", **options) -> ConditionedTrajectory:
    """Gradient descent W_l <- W_l - lr dL/dW_l through the conditioners
    (docs/conditioning.md §7a.2) from ``weights0`` = [W_1..W_L], X (P x N_i), Y (P x N_o).

    Parameters
    ----------
    conditioner : str
        One of :data:`CONDITIONERS`, applied to ``conditioned_layers`` (0-based indices;
        None: all layers) in the forward pass of every step.
    trained_layers : sequence of int, optional
        The layers that move (None: all); the others stay at ``weights0``.
    gains0 : list of arrays, optional
        WeightNorm's initial gains, one entry per layer (read for the WeightNorm layers;
        default: the row norms, so that C(W0) = W0).
    activation : {"linear", "tanh"}
        The hidden layers' activation (:data:`ACTIVATIONS`): a deep linear network or a
        small tanh MLP.
    steps, **options
        Sample step indices; ``stop_tol``, ``max_steps``, ``backend`` (:mod:`theory.solve`).
    """
    eta = validation.positive_scalar("lr", lr)
    return solve.discrete(*_start(X, Y, weights0, eta, conditioner, conditioned_layers,
                                  trained_layers, gains0, activation), steps, **options)


def gradient_flow(X, Y, weights0, *, times, eta: float = 1.0, conditioner: str = "none",
                  conditioned_layers=None, trained_layers=None, gains0=None,
                  activation: str = "linear", **options) -> ConditionedTrajectory:
    """Gradient flow dW_l/dt = -eta dL/dW_l through the conditioners (arguments as
    :func:`gradient_descent`; ``**options``: the integration options of
    :func:`theory.solve.flow`)."""
    eta = validation.positive_scalar("eta", eta)
    return solve.flow(*_start(X, Y, weights0, eta, conditioner, conditioned_layers,
                              trained_layers, gains0, activation), times, **options)


def loss_gradient(X, Y, weights, *, conditioner: str = "none", conditioned_layers=None,
                  gains=None, activation: str = "linear") -> np.ndarray:
    """dL/d(W, g) at ``weights`` (the jitted field with eta = 1, negated), flat as the
    solvers' state."""
    problem, y = _start(X, Y, weights, 1.0, conditioner, conditioned_layers, None, gains,
                        activation)
    out = np.empty(y.size)
    field(y, problem.args, out, workspace(y, problem.args))
    return -out


SOLVERS = {"gradient_descent": gradient_descent, "gradient_flow": gradient_flow}
"""Every solver of this setting, by name."""


# --------------------------------------------------------------------------- instances


def scaled_rows(n_out: int, n_in: int, spread: float, seed: int) -> np.ndarray:
    """G with iid N(0, 1/n_in) entries, row i multiplied by e^(u_i), u_i ~ U(-spread,
    spread): the singular-value spread comes mostly from the row scales
    (docs/conditioning.md §7a.3)."""
    n_out, n_in = validation.count("n_out", n_out), validation.count("n_in", n_in)
    spread = validation.nonnegative_scalar("spread", spread)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    G = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    return G * np.exp(rng.uniform(-spread, spread, n_out))[:, None]


def regression_data(n_in: int, n_out: int, n_samples: int, seed: int,
                    noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): X ~ N(0, 1) of n_samples x n_in, Y = X T^T + noise E with a teacher T of
    iid N(0, 1/n_in) entries (docs/conditioning.md §7a.3)."""
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    n_in, n_out = validation.count("n_in", n_in), validation.count("n_out", n_out)
    n_samples = validation.count("n_samples", n_samples)
    X = rng.standard_normal((n_samples, n_in))
    T = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    noise = validation.nonnegative_scalar("noise", noise)
    return X, X @ T.T + noise * rng.standard_normal((n_samples, n_out))


ROW_SCALED: dict[str, float] = {"n_in": 8, "hidden": 16, "n_out": 4, "n_samples": 64,
                                "spread": 1.0, "seed": 0}
"""The named instance of the figures (docs/conditioning.md §7a.3): a depth-3 network
8 -> 16 -> 16 -> 4 whose layers have row-scaled starts (:func:`scaled_rows`)."""


def row_scaled_instance(seed: int | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """(X, Y, weights0) of :data:`ROW_SCALED` (another ``seed`` draws another instance)."""
    s = ROW_SCALED
    seed = int(s["seed"]) if seed is None else validation.count("seed", seed, minimum=0)
    X, Y = regression_data(int(s["n_in"]), int(s["n_out"]), int(s["n_samples"]), seed)
    widths = [int(s["n_in"]), int(s["hidden"]), int(s["hidden"]), int(s["n_out"])]
    weights = [scaled_rows(widths[l + 1], widths[l], s["spread"], seed + 1 + l)
               for l in range(3)]
    return X, Y, weights


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    X, Y = regression_data(4, 2, 6, seed=1)
    weights = [scaled_rows(3, 4, 1.0, 2), scaled_rows(2, 3, 1.0, 3)]
    return {"gradient_descent": ((X, Y, weights), {"lr": 0.1, "steps": [5, 40],
                                                   "conditioner": "weight_norm"}),
            "gradient_flow": ((X, Y, weights), {"times": [0.5, 2.0], "conditioner": "row",
                                                "activation": "tanh"})}
