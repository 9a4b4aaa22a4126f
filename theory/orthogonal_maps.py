"""The orthogonalizers of the ``orthogonal`` setting and their pullbacks.

Each maps an unconstrained square A to an orthogonal matrix, as in the OPT code
(docs/orthogonal.md §6a.3): :func:`gram_schmidt` (the rows, in order: A = L Q),
:func:`householder` (Q = H_1 ... H_(d-1): A = Q R), :func:`lowdin` (the polar factor
A (A^T A)^(-1/2) = U W^T) and :func:`cayley` ((I + S)(I - S)^-1 with S the skew part built
from the strict upper triangle of A). The learners of :mod:`theory.orthogonal` call the
jitted :func:`orthogonalize_kernel` and :func:`pullback_kernel` (the gradient in A of a
loss with gradient G in Q = map(A), docs/orthogonal.md §6b.5) on scratch from their
workspace, allocating nothing; each has a NumPy twin (:func:`orthogonalize_numpy`,
:func:`pullback_numpy`).
"""
from __future__ import annotations

import numpy as np

from theory import validation
from theory.linalg import matmul, solve_in_place
from theory.numba_options import jit, jit_sum

GRAM_SCHMIDT, HOUSEHOLDER, LOWDIN, CAYLEY = range(4)
"""Orthogonalizer codes passed to the kernel."""
ORTHOGONALIZERS: dict[str, int] = {"gram_schmidt": GRAM_SCHMIDT, "householder": HOUSEHOLDER,
                                   "lowdin": LOWDIN, "cayley": CAYLEY}
"""The orthogonalizers of the OPT code by name."""


def orthogonality_defect(Q) -> float:
    """|Q^T Q - I|_F."""
    Q = validation.finite_matrix("Q", Q)
    return float(np.linalg.norm(Q.T @ Q - np.eye(Q.shape[1])))


# --------------------------------------------------------------------------- map kernels


@jit
def _gram_schmidt(A, Q, L, modified):
    """Rows of ``A`` orthonormalized in order into ``Q``, A = L Q with L lower triangular
    (positive diagonal). Classical: each row's coefficients from the original row;
    ``modified``: from the row as it is being reduced."""
    d = A.shape[0]
    for i in range(d):
        for k in range(d):
            Q[i, k] = A[i, k]
        for j in range(i):
            c = 0.0
            for k in range(d):
                c += Q[j, k] * (Q[i, k] if modified else A[i, k])
            L[i, j] = c
            if modified:
                for k in range(d):
                    Q[i, k] -= c * Q[j, k]
        if not modified:
            for j in range(i):
                c = L[i, j]
                for k in range(d):
                    Q[i, k] -= c * Q[j, k]
        r = 0.0
        for k in range(d):
            r += Q[i, k] * Q[i, k]
        r = np.sqrt(r)
        L[i, i] = r
        for j in range(i + 1, d):
            L[i, j] = 0.0
        for k in range(d):
            Q[i, k] /= r


@jit
def _householder(A, Q, R, v):
    """Q = H_1 ... H_(d-1), H_c = I - 2 v v^T/|v|^2 with v = x - |x| e_c on the trailing block
    of column c (so that A = Q R, r_cc = |x| >= 0 for c < d - 1); v_c by the cancellation-free
    form -|x_(c+1:)|^2/(x_c + |x|) when x_c > 0; a column already of that form (v = 0) gets
    no reflection."""
    d = A.shape[0]
    for i in range(d):
        for j in range(d):
            R[i, j] = A[i, j]
            Q[i, j] = 1.0 if i == j else 0.0
    for c in range(d - 1):
        tail = 0.0
        for i in range(c + 1, d):
            tail += R[i, c] * R[i, c]
        x0 = R[c, c]
        norm = np.sqrt(x0 * x0 + tail)
        if tail == 0.0 and x0 >= 0.0:
            continue
        v[c] = x0 - norm if x0 <= 0.0 else -tail / (x0 + norm)
        vv = v[c] * v[c]
        for i in range(c + 1, d):
            v[i] = R[i, c]
            vv += v[i] * v[i]
        beta = 2.0 / vv
        R[c, c] = norm
        for i in range(c + 1, d):
            R[i, c] = 0.0
        for j in range(c + 1, d):
            w = 0.0
            for i in range(c, d):
                w += v[i] * R[i, j]
            w *= beta
            for i in range(c, d):
                R[i, j] -= w * v[i]
        for i in range(d):
            w = 0.0
            for k in range(c, d):
                w += Q[i, k] * v[k]
            w *= beta
            for k in range(c, d):
                Q[i, k] -= w * v[k]


JACOBI_SWEEPS = 60
"""At most this many sweeps of :func:`_lowdin`'s Jacobi iteration (it converges
quadratically, in well under 20 sweeps for the sizes used here)."""


@jit_sum
def _row_product(B, p, q):
    """b_p . b_q for rows p, q of ``B`` (vectorized by reassociation)."""
    total = 0.0
    for k in range(B.shape[1]):
        total += B[p, k] * B[q, k]
    return total


@jit
def _lowdin(A, Q, W, sigma, B):
    """The polar factor Q = U W^T of A = U Sigma W^T (singular values into ``sigma``, the
    right singular vectors as the columns of ``W``) by one-sided Jacobi (Hestenes), in
    place on scratch ``B``: the rows of B = A^T are rotated in pairs until they are
    orthogonal, the rows of Z = W^T (kept in ``Q`` meanwhile) by the same rotations; then
    A W = B^T has orthogonal columns sigma_i u_i, and Q = sum_i u_i z_i^T. A pair (p, q)
    is rotated while |b_p . b_q| > eps |b_p| |b_q|. Allocates nothing (LAPACK's SVD
    allocates its outputs), and has high relative accuracy (Demmel & Veselic 1992)."""
    d = A.shape[0]
    for i in range(d):
        for j in range(d):
            B[i, j] = A[j, i]
            Q[i, j] = 1.0 if i == j else 0.0
    tolerance = np.finfo(np.float64).eps
    for _ in range(JACOBI_SWEEPS):
        for i in range(d):  # |b_i|^2, recomputed every sweep, updated after each rotation
            sigma[i] = _row_product(B, i, i)
        rotated = False
        for p in range(d - 1):
            for q in range(p + 1, d):
                gamma = _row_product(B, p, q)
                alpha, beta = sigma[p], sigma[q]
                if abs(gamma) <= tolerance * np.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = (1.0 if zeta >= 0.0 else -1.0) / (abs(zeta) + np.sqrt(1.0 + zeta * zeta))
                c = 1.0 / np.sqrt(1.0 + t * t)
                s = c * t
                sigma[p] = alpha - t * gamma  # the rotation zeroes b_p . b_q (Rutishauser)
                sigma[q] = beta + t * gamma
                for k in range(d):
                    bp, bq = B[p, k], B[q, k]
                    B[p, k] = c * bp - s * bq
                    B[q, k] = s * bp + c * bq
                    zp, zq = Q[p, k], Q[q, k]
                    Q[p, k] = c * zp - s * zq
                    Q[q, k] = s * zp + c * zq
        if not rotated:
            break
    for i in range(d):
        sigma[i] = np.sqrt(_row_product(B, i, i))
        for j in range(d):
            W[j, i] = Q[i, j]
    for a in range(d):
        for b in range(d):
            Q[a, b] = 0.0
    for i in range(d):
        scale = 1.0 / sigma[i]
        for a in range(d):
            u = B[i, a] * scale
            for b in range(d):
                Q[a, b] += u * W[b, i]


@jit
def _cayley(A, Q, plus, minus):
    """Q = (I - S)^-1 (I + S), S = triu(A, 1) - triu(A, 1)^T; ``plus`` receives I + S,
    ``minus`` (scratch) I - S and then its LU factors."""
    d = A.shape[0]
    for i in range(d):
        plus[i, i] = 1.0
        minus[i, i] = 1.0
        for j in range(i + 1, d):
            plus[i, j] = A[i, j]
            plus[j, i] = -A[i, j]
            minus[i, j] = -A[i, j]
            minus[j, i] = A[i, j]
    for i in range(d):
        for j in range(d):
            Q[i, j] = plus[i, j]
    solve_in_place(minus, Q)


@jit
def orthogonalize_kernel(code, A, Q, aux, sigma, v, scratch):
    """Q = map(A) for the map ``code``; ``aux`` keeps what its pullback needs (L, R, W or
    I + S), ``sigma`` the singular values (Löwdin); ``scratch`` (d x d) is overwritten."""
    if code == GRAM_SCHMIDT:
        _gram_schmidt(A, Q, aux, False)
    elif code == HOUSEHOLDER:
        _householder(A, Q, aux, v)
    elif code == LOWDIN:
        _lowdin(A, Q, aux, sigma, scratch)
    else:
        _cayley(A, Q, aux, scratch)


@jit
def _strict_lower_antisymmetric(K):
    """K <- tril(K - K^T, -1) in place."""
    d = K.shape[0]
    for i in range(d):
        for j in range(i):
            K[i, j] = K[i, j] - K[j, i]
    for i in range(d):
        for j in range(i, d):
            K[i, j] = 0.0


@jit
def _qr_pullback(Q, R, G, grad, K):
    """The gradient in A of a loss with gradient G in Q, for A = Q R (Householder: R upper
    triangular and invertible, the signs of its diagonal fixed): grad = Q B R^-T,
    B = tril(Q^T G - G^T Q, -1) (docs/orthogonal.md §6b.5)."""
    d = Q.shape[0]
    matmul(Q.T, G, K)
    _strict_lower_antisymmetric(K)
    matmul(Q, K, grad)
    for i in range(d):  # grad <- grad R^-T: x R^T = row, back substitution (R upper)
        for j in range(d - 1, -1, -1):
            acc = grad[i, j]
            for k in range(j + 1, d):
                acc -= grad[i, k] * R[j, k]
            grad[i, j] = acc / R[j, j]


@jit
def _row_qr_pullback(Q, L, G, grad, K):
    """The same for rows, A = L Q (Gram-Schmidt, L lower triangular): A^T = Q^T L^T gives
    grad = L^-T B'^T Q with B' = tril(Q G^T - G Q^T, -1) (docs/orthogonal.md §6b.5). The last
    row of B'^T is zero, and so is the last row of grad (docs/orthogonal.md §6b.7)."""
    d = Q.shape[0]
    matmul(Q, G.T, K)
    _strict_lower_antisymmetric(K)
    matmul(K.T, Q, grad)
    # grad <- L^-T grad: back substitution with L^T (upper), a whole row at a time (the
    # loop over columns is contiguous; each entry sees the same operations as column-wise)
    for i in range(d - 1, -1, -1):
        for k in range(i + 1, d):
            factor = L[k, i]
            for c in range(d):
                grad[i, c] -= factor * grad[k, c]
        pivot = L[i, i]
        for c in range(d):
            grad[i, c] /= pivot


@jit
def _lowdin_pullback(Q, W, sigma, G, grad, t1, t2):
    """grad = Q W Y W^T, Y_ij = (M_ij - M_ji)/(sigma_i + sigma_j), M = W^T Q^T G W: the
    gradient through the polar factor (docs/orthogonal.md §6b.5)."""
    d = Q.shape[0]
    matmul(Q.T, G, t1)
    matmul(W.T, t1, t2)
    matmul(t2, W, t1)
    for i in range(d):
        for j in range(d):
            t2[i, j] = (t1[i, j] - t1[j, i]) / (sigma[i] + sigma[j])
    matmul(W, t2, t1)
    matmul(t1, W.T, t2)
    matmul(Q, t2, grad)


@jit
def _cayley_pullback(Q, G, grad, t1, t2):
    """grad = triu(K - K^T, 1), K = (I + Q^T) G (I + S)^-1: the gradient through the Cayley
    map (docs/orthogonal.md §6b.5), with (I + S)^-1 = (I + Q^T)/2 (Q = 2 (I - S)^-1 - I),
    so K = (I + Q^T) G (I + Q^T)/2: two products, no solve."""
    d = Q.shape[0]
    matmul(Q.T, G, t1)
    for i in range(d):
        for j in range(d):
            t1[i, j] += G[i, j]
            t2[i, j] = Q[j, i]
        t2[i, i] += 1.0
    matmul(t1, t2, grad)  # 2 K
    for i in range(d):  # each pair read before written
        grad[i, i] = 0.0
        for j in range(i + 1, d):
            upper = 0.5 * (grad[i, j] - grad[j, i])
            grad[i, j] = upper
            grad[j, i] = 0.0


@jit
def pullback_kernel(code, Q, aux, sigma, G, grad, t1, t2):
    """The gradient in A of a loss with gradient ``G`` in Q = map(A), from the forward
    pass's ``Q``, ``aux`` and ``sigma`` (:func:`orthogonalize_kernel`)."""
    if code == GRAM_SCHMIDT:
        _row_qr_pullback(Q, aux, G, grad, t1)
    elif code == HOUSEHOLDER:
        _qr_pullback(Q, aux, G, grad, t1)
    elif code == LOWDIN:
        _lowdin_pullback(Q, aux, sigma, G, grad, t1, t2)
    else:
        _cayley_pullback(Q, G, grad, t1, t2)


# --------------------------------------------------------------------------- map twins


def _gram_schmidt_numpy(A: np.ndarray, modified: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`_gram_schmidt`: (Q, L)."""
    d = A.shape[0]
    Q, L = np.zeros_like(A), np.zeros_like(A)
    for i in range(d):
        q = A[i].copy()
        if modified:
            for j in range(i):
                L[i, j] = Q[j] @ q
                q -= L[i, j] * Q[j]
        else:
            L[i, :i] = Q[:i] @ A[i]
            q -= L[i, :i] @ Q[:i]
        L[i, i] = np.linalg.norm(q)
        Q[i] = q / L[i, i]
    return Q, L


def _householder_numpy(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`_householder`: (Q, R)."""
    d = A.shape[0]
    R, Q = A.copy(), np.eye(d)
    for c in range(d - 1):
        x = R[c:, c].copy()
        tail = float(x[1:] @ x[1:])
        norm = np.sqrt(x[0] ** 2 + tail)
        if tail == 0.0 and x[0] >= 0.0:
            continue
        x[0] = x[0] - norm if x[0] <= 0.0 else -tail / (x[0] + norm)
        beta = 2.0 / (x @ x)
        R[c, c], R[c + 1:, c] = norm, 0.0
        R[c:, c + 1:] -= beta * np.outer(x, x @ R[c:, c + 1:])
        Q[:, c:] -= beta * np.outer(Q[:, c:] @ x, x)
    return Q, R


def _lowdin_numpy(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy twin of :func:`_lowdin`: (Q, W, sigma)."""
    u, s, vt = np.linalg.svd(A)
    return u @ vt, vt.T, s


def _cayley_numpy(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy twin of :func:`_cayley`: (Q, I + S)."""
    S = np.triu(A, 1) - np.triu(A, 1).T
    eye = np.eye(A.shape[0])
    return np.linalg.solve(eye - S, eye + S), eye + S


def orthogonalize_numpy(code: int, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy twin of :func:`orthogonalize_kernel`: (Q, aux, sigma)."""
    if code == GRAM_SCHMIDT:
        return (*_gram_schmidt_numpy(A), np.zeros(A.shape[0]))
    if code == HOUSEHOLDER:
        return (*_householder_numpy(A), np.zeros(A.shape[0]))
    if code == LOWDIN:
        return _lowdin_numpy(A)
    return (*_cayley_numpy(A), np.zeros(A.shape[0]))


def _qr_pullback_numpy(Q, R, G) -> np.ndarray:
    B = np.tril(Q.T @ G - G.T @ Q, -1)
    return np.linalg.solve(R, (Q @ B).T).T


def pullback_numpy(code: int, Q, aux, sigma, G) -> np.ndarray:
    """NumPy twin of :func:`pullback_kernel`."""
    if code == GRAM_SCHMIDT:
        return _qr_pullback_numpy(Q.T, aux.T, G.T).T
    if code == HOUSEHOLDER:
        return _qr_pullback_numpy(Q, aux, G)
    if code == LOWDIN:
        M = aux.T @ (Q.T @ G) @ aux
        return Q @ aux @ ((M - M.T) / (sigma[:, None] + sigma[None, :])) @ aux.T
    K = np.linalg.solve(aux.T, (G + Q.T @ G).T).T
    return np.triu(K - K.T, 1)


# --------------------------------------------------------------------------- public maps


def _backend(backend: str) -> str:
    if backend not in ("numba", "numpy"):
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    return backend


def nonsingular(A: np.ndarray, map_name: str) -> np.ndarray:
    """``A`` if it has full rank numerically (sigma_min > d eps sigma_max), else ValueError."""
    s = np.linalg.svd(A, compute_uv=False)
    if s[-1] <= A.shape[0] * np.finfo(float).eps * s[0]:
        raise ValueError(f"A must be nonsingular for {map_name} (full rank), got sigma_min/"
                         f"sigma_max = {s[-1] / s[0] if s[0] > 0 else 0.0:.3g}")
    return A


def _map_kernel_call(code: int, A: np.ndarray) -> np.ndarray:
    d = A.shape[0]
    Q, aux, sigma, v = np.empty((d, d)), np.empty((d, d)), np.empty(d), np.empty(d)
    orthogonalize_kernel(code, A, Q, aux, sigma, v, np.empty((d, d)))
    return Q


def gram_schmidt(A, *, modified: bool = False, backend: str = "numba") -> np.ndarray:
    """The rows of ``A`` orthonormalized in order (the OPT code's ``tf_gram_schmidt``):
    A = L Q with L lower triangular with a positive diagonal, so Q = Q_QR(A^T)^T and
    det Q = sign det A (docs/orthogonal.md §6a.3).

    Classical Gram-Schmidt (each row's coefficients from the original row, as in the OPT
    code) loses orthogonality like eps kappa(A)^2; ``modified=True`` (coefficients from the
    partly reduced row) like eps kappa(A) (docs/orthogonal.md §6b.4). ``A`` must be square
    and nonsingular.
    """
    A = nonsingular(validation.square_matrix("A", A), "gram_schmidt")
    if _backend(backend) == "numpy":
        return _gram_schmidt_numpy(A, bool(modified))[0]
    d = A.shape[0]
    Q, L = np.empty((d, d)), np.empty((d, d))
    _gram_schmidt(A, Q, L, bool(modified))
    return Q


def householder(A, *, backend: str = "numba") -> np.ndarray:
    """Q = H_1 ... H_(d-1), the product of the Householder reflections that triangularize
    ``A`` (the OPT code's ``householder``): v = x - |x| e_1 on each trailing block, so
    A = Q R with r_ii >= 0 for i < d and det Q = (-1)^(d-1) when every reflection is proper
    (docs/orthogonal.md §6a.3). Defined for every square ``A``; a column already of the form
    |x| e_1 gets no reflection.
    """
    A = validation.square_matrix("A", A)
    if _backend(backend) == "numpy":
        return _householder_numpy(A)[0]
    return _map_kernel_call(HOUSEHOLDER, A)


def lowdin(A, *, backend: str = "numba") -> np.ndarray:
    """Löwdin's symmetric orthogonalization A (A^T A)^(-1/2) = U W^T for A = U Sigma W^T: the
    polar factor, the orthogonal matrix nearest to ``A`` in the Frobenius norm
    (docs/orthogonal.md §6b.3). ``A`` must be square and nonsingular.
    """
    A = nonsingular(validation.square_matrix("A", A), "lowdin")
    if _backend(backend) == "numpy":
        return _lowdin_numpy(A)[0]
    return _map_kernel_call(LOWDIN, A)


def cayley(A, *, backend: str = "numba") -> np.ndarray:
    """The Cayley transform (I + S)(I - S)^-1 of the skew matrix S = triu(A, 1) - triu(A, 1)^T
    (the OPT code's ``cayley``): a rotation (det +1) without eigenvalue -1, defined for
    every square ``A`` (I - S is always invertible) (docs/orthogonal.md §6a.3).
    """
    A = validation.square_matrix("A", A)
    if _backend(backend) == "numpy":
        return _cayley_numpy(A)[0]
    return _map_kernel_call(CAYLEY, A)


_PUBLIC_MAPS = {"gram_schmidt": gram_schmidt, "householder": householder, "lowdin": lowdin,
                "cayley": cayley}


def orthogonalizer_code(orthogonalizer: str) -> int:
    try:
        return ORTHOGONALIZERS[orthogonalizer]
    except (KeyError, TypeError):
        raise ValueError(f"orthogonalizer must be one of {sorted(ORTHOGONALIZERS)}, got "
                         f"{orthogonalizer!r}") from None


def orthogonalize(A, orthogonalizer: str, *, backend: str = "numba") -> np.ndarray:
    """``orthogonalizer`` (a name of :data:`ORTHOGONALIZERS`) applied to ``A``."""
    orthogonalizer_code(orthogonalizer)
    return _PUBLIC_MAPS[orthogonalizer](A, backend=backend)
