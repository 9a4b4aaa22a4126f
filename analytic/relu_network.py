"""The KKT conditions of the min-norm problem for a ReLU network without biases
(docs/relu_network.md §5b), derived and as numeric residuals.

Derived (sympy, :func:`euler_identity_expr`): Euler's identity for a network that is
positively homogeneous of degree 1 in each layer, sum_{ik} (W_l)_{ik} df/d(W_l)_{ik} = f,
on a symbolic network with a fixed activation pattern, and z relu'(z) = relu(z) on both
sides of the kink; from it and stationarity W_l = sum lambda dm/dW_l, the layer balance
||W_l||^2 = sum lambda m = sum lambda at a KKT point (docs/relu_network.md §5b.2).

Measured (:func:`kkt_residuals`): how far a state (weights, multipliers) is from the KKT
system of docs/relu_network.md §5b.1 and from the balance identity, computed in plain
NumPy from per-example Jacobians (not from the solvers' backpropagation kernel).
Importing this module does not import sympy.
"""
from __future__ import annotations

import numpy as np

from analytic import stored
from theory import validation
from theory.layers import network_widths
from theory.validation import class_labels

SETTING = "relu_network"


def _euler_identity_key(n_in: int = 2, hidden: int = 2, n_out: int = 2) -> tuple[int, int, int]:
    """The validated sizes (the margin identity needs two outputs)."""
    return (validation.count("n_in", n_in), validation.count("hidden", hidden),
            validation.count("n_out", n_out, minimum=2))


@stored.expression(SETTING, stored=((2, 2, 2),), canonical=_euler_identity_key)
def euler_identity_expr(n_in: int = 2, hidden: int = 2, n_out: int = 2) -> dict:
    """Euler's identity on a symbolic network f = W_2 D W_1 x with D = diag(d_1..d_h) the
    activation pattern (d_i symbols, relu(z_i) = d_i z_i on a fixed pattern).

    Returns a dict of sympy expressions, each identically zero (after ``expand``):
    ``layer_1`` and ``layer_2``, the vectors sum_{ik} (W_l)_{ik} df/d(W_l)_{ik} - f;
    ``kink_positive`` and ``kink_negative``, z Heaviside(z) - Max(0, z) for z > 0 and
    z < 0 (so z relu'(z) = relu(z) whatever the pattern, docs/relu_network.md §5b.2);
    ``margin``, the same identity for a margin f_1 - f_2 and layer 1;
    ``balance``, ||W_l||^2 - sum_c lambda_c m_c after substituting stationarity
    W_l = sum_c lambda_c dm_c/dW_l for two symbolic constraints m_1 = f_1 - f_2 and
    m_2 = f_2 - f_1 into one layer's inner product (a linear identity in the lambdas).
    """
    import sympy as sp

    x = sp.Matrix(sp.symbols(f"x1:{n_in + 1}", real=True))
    W1 = sp.Matrix(hidden, n_in, lambda i, k: sp.Symbol(f"a{i}{k}", real=True))
    W2 = sp.Matrix(n_out, hidden, lambda j, i: sp.Symbol(f"b{j}{i}", real=True))
    D = sp.diag(*sp.symbols(f"d1:{hidden + 1}", real=True))
    f = W2 * D * W1 * x

    def euler(F, W):
        return sp.Matrix([sp.expand(sum(W[i, k] * sp.diff(F[j], W[i, k])
                                        for i in range(W.rows) for k in range(W.cols)) - F[j])
                          for j in range(F.rows)])

    z_pos = sp.Symbol("z", positive=True)
    z_neg = sp.Symbol("z", negative=True)
    relu = lambda z: sp.Max(0, z)  # noqa: E731 (the activation, for its derivative)
    kink = lambda z: sp.simplify(z * sp.diff(relu(z), z) - relu(z))  # noqa: E731
    margin = sp.Matrix([f[0] - f[1]])
    lam = sp.symbols("lambda1:3", real=True)
    margins = [f[0] - f[1], f[1] - f[0]]
    stationary = sum((lam[c] * sp.Matrix(W1.rows, W1.cols,
                                         lambda i, k: sp.diff(margins[c], W1[i, k]))
                      for c in range(2)), sp.zeros(W1.rows, W1.cols))
    inner = sum(W1[i, k] * stationary[i, k] for i in range(W1.rows) for k in range(W1.cols))
    balance = sp.expand(inner - sum(lam[c] * margins[c] for c in range(2)))
    return {"layer_1": euler(f, W1), "layer_2": euler(f, W2),
            "kink_positive": kink(z_pos), "kink_negative": kink(z_neg),
            "margin": euler(margin, W1), "balance": balance}


def _forward(X: np.ndarray, weights: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    acts = [X]
    for W in weights[:-1]:
        acts.append(np.maximum(acts[-1] @ W.T, 0.0))
    return acts, acts[-1] @ weights[-1].T


def output_jacobians(x: np.ndarray, weights: list[np.ndarray]) -> list[np.ndarray]:
    """df_j(x)/dW_l for one input x: a list over layers of arrays (N_o, n_l, n_{l-1}),
    from the explicit product df/dW_l[j] = (B_l[j]) outer h_{l-1}, B_l = W_L D_{L-1} ...
    W_{l+1} D_l (D_k the diagonal activation masks, relu'(0) = 0)."""
    hs = [np.asarray(x, dtype=np.float64)]
    masks = []
    for W in weights[:-1]:
        z = W @ hs[-1]
        masks.append((z > 0.0).astype(np.float64))
        hs.append(np.maximum(z, 0.0))
    L = len(weights)
    jac = [None] * L
    B = np.eye(weights[-1].shape[0])  # d f / d z_L
    for l in range(L - 1, -1, -1):
        jac[l] = B[:, :, None] * hs[l][None, None, :]
        if l > 0:
            B = (B @ weights[l]) * masks[l - 1][None, :]
    return jac


def _clarke_first_layer(X, weights, coefficients, residual, kink_tol):
    """The first layer's stationarity residual minimized over relu'(z) in [0, 1] at every
    pre-activation z_{mu i} with |z| <= kink_tol rms(z) (one hidden layer: the residual is
    affine in those derivatives, row i of W_1 gets s_{mu i} v_{mu i} x_mu with
    v_mu = W_2^T coefficients_mu); bounded least squares per hidden unit. Returns the
    residual and the number of pre-activations treated as kinks."""
    from scipy.optimize import lsq_linear

    W1, W2 = weights
    Z = X @ W1.T
    tol = kink_tol * float(np.sqrt(np.mean(Z * Z)))
    V = coefficients @ W2  # v_{mu i}
    residual = residual.copy()
    n_kinks = 0
    for i in range(W1.shape[0]):
        kinks = np.flatnonzero(np.abs(Z[:, i]) <= tol)
        if kinks.size == 0:
            continue
        n_kinks += kinks.size
        # the plain residual used s = [z > 0] (0 at these kinks, or 1 for tiny z > 0)
        base = residual[i] + ((Z[kinks, i] > 0.0) * V[kinks, i]) @ X[kinks]
        columns = (V[kinks, i][:, None] * X[kinks]).T  # n_0 x k
        solution = lsq_linear(columns, base, bounds=(0.0, 1.0))
        residual[i] = base - columns @ solution.x
    return residual, n_kinks


def kkt_residuals(X, y, weights, multipliers, kink_tol: float = 0.0) -> dict[str, float]:
    """Residuals of the KKT system of docs/relu_network.md §5b.1 and §5b.2 (the layer
    balance) at (weights, multipliers), each relative, 0 at a KKT point.

    Parameters
    ----------
    X : array_like, shape (P, N_i)
    y : array_like, shape (P,) of class labels (margin constraints m_{mu j} >= 1, j != y_mu)
        or (P, N_o) of regression targets (equality constraints f(x_mu) = y_mu)
    weights : list [W_1, ..., W_L]
    multipliers : array_like, shape (P, N_o) (classification: the true-class entries are
        ignored)
    kink_tol : float, default 0
        With one hidden layer, pre-activations with |z| <= kink_tol rms(z) count as
        sitting at the kink, where relu'(z) may be any value in [0, 1] (Clarke's
        subdifferential, docs/relu_network.md §5b.4): the stationarity residual is the
        least one over those values. 0: relu'(0) = 0 everywhere, as in the solvers.

    Returns
    -------
    dict with
    ``stationarity``: max_l ||W_l - sum lambda dc/dW_l||_F / ||W_l||_F (c the constraint
    functions m or f);
    ``kinks``: the number of pre-activations treated as kinks (``kink_tol``);
    ``primal_feasibility``: max(0, max(1 - m)) (classification) or max |Y - F| / max |Y|;
    ``dual_feasibility``: max(0, -min lambda) / max |lambda| (classification; 0 otherwise);
    ``complementary_slackness``: sum |lambda (m - 1)| / sum lambda (classification; 0
    otherwise);
    ``layer_balance``: (max_l ||W_l||^2 - min_l ||W_l||^2) / mean_l ||W_l||^2;
    ``norm_identity``: max_l | ||W_l||^2 - S | / mean_l ||W_l||^2 with S = sum lambda
    (classification) or sum lambda Y (regression).
    """
    X = validation.finite_matrix("X", X)
    widths = network_widths(weights)
    if widths[0] != X.shape[1]:
        raise ValueError(f"weights: W_1 has {widths[0]} columns but X has {X.shape[1]}")
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    P, K = X.shape[0], int(widths[-1])
    lam = validation.finite_matrix("multipliers", multipliers)
    if lam.shape != (P, K):
        raise ValueError(f"multipliers must have shape {(P, K)}, got {lam.shape}")
    kink_tol = validation.nonnegative_scalar("kink_tol", kink_tol)
    classification = np.ndim(y) == 1
    if classification:
        y = class_labels("y", y, P, K)
    elif validation.finite_matrix("y", y).shape != (P, K):
        raise ValueError(f"y (regression targets) must have shape {(P, K)}")
    _, F = _forward(X, weights)
    if classification:
        labels = np.asarray(y, dtype=np.int64)
        rows = np.arange(P)
        m = F[rows, labels][:, None] - F
        lam[rows, labels] = 0.0
        wrong = np.ones((P, K), dtype=bool)
        wrong[rows, labels] = False
        # d m_{mu j} = d f_y - d f_j: the coefficient of d f_k in sum_j lambda_{mu j} d m_{mu j}
        coefficients = -lam
        coefficients[rows, labels] = lam.sum(axis=1)
        violation = np.where(wrong, 1.0 - m, -np.inf)
        primal = max(0.0, float(violation.max()))
        scale = max(float(np.abs(lam).max()), 1e-300)
        dual = max(0.0, -float(lam[wrong].min())) / scale
        total = float(lam[wrong].sum())
        slackness = float(np.abs(lam * np.where(wrong, m - 1.0, 0.0)).sum()) / max(total, 1e-300)
        identity_value = total
    else:
        Y = np.asarray(y, dtype=np.float64)
        coefficients = lam
        primal = float(np.abs(Y - F).max() / max(np.abs(Y).max(), 1e-300))
        dual = slackness = 0.0
        identity_value = float(np.sum(lam * Y))
    combination = [np.zeros_like(W) for W in weights]
    for mu in range(P):
        for l, J in enumerate(output_jacobians(X[mu], weights)):
            combination[l] += np.tensordot(coefficients[mu], J, axes=1)
    residuals = [W - G for W, G in zip(weights, combination)]
    n_kinks = 0
    if len(weights) == 2 and kink_tol > 0.0:
        residuals[0], n_kinks = _clarke_first_layer(X, weights, coefficients, residuals[0],
                                                    kink_tol)
    stationarity = max(float(np.linalg.norm(R) / max(np.linalg.norm(W), 1e-300))
                       for W, R in zip(weights, residuals))
    norms = np.array([np.sum(W * W) for W in weights])
    mean = float(norms.mean())
    return {"stationarity": stationarity, "primal_feasibility": primal,
            "dual_feasibility": dual, "complementary_slackness": slackness,
            "layer_balance": float(norms.max() - norms.min()) / mean,
            "norm_identity": float(np.abs(norms - identity_value).max()) / mean,
            "kinks": float(n_kinks)}
