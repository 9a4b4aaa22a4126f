"""Closed forms for weight conditioning (docs/conditioning.md).

Derived with sympy (the results stored in ``analytic._generated``):

- van der Sluis' constant: the Frobenius norm of a row-equilibrated m x n matrix is
  sqrt(m) whatever its entries, which bounds ||D_R A||_2 and gives
  kappa_2(D_R A) <= sqrt(m) min_D kappa_2(D A), and sqrt(n) for columns
  (:func:`van_der_sluis_expr`, docs/conditioning.md §7b.1);
- the Gauss-Newton block of one layer of a deep linear network under the squared loss:
  ``sympy.hessian`` of the loss in the entries of W for symbolic factors A (after the
  layer) and Z = B X_c (before it) is (A^T A) kron (Z Z^T / P) (:func:`gauss_newton_block_expr`);
  the mixed-product rule makes kron(U, V) diagonalize it, so its eigenvalues are the
  products a_i z_j and its condition number kappa(A)^2 kappa(Z)^2
  (:func:`kronecker_spectrum_expr`, docs/conditioning.md §7b.2);
- gradient descent on a quadratic with spectrum in [mu, L]: the step that minimizes the
  contraction max |1 - eta lambda|, the contraction (kappa - 1)/(kappa + 1), the
  iterations ln(1/eps) / ln(1/rho) and their large-kappa form (kappa/2) ln(1/eps)
  (:func:`gd_iterations_expr`, docs/conditioning.md §7b.3).

The numeric functions evaluate these on matrices through their factors' eigenvalues and
singular values (NumPy), never forming the Kronecker product; :func:`optimal_diagonal_scaling`
estimates min_D kappa(D A) by a multi-start quasi-Newton search (docs/conditioning.md §7b.1).
Importing this module does not import sympy or scipy.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytic import stored
from theory import validation

SETTING = "conditioning"


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols of this module's expressions, by name."""
    import sympy as sp

    table = {name: sp.Symbol(name, positive=True)
             for name in ("kappa", "kappa_star", "eps", "mu", "L", "eta", "a_max", "a_min",
                          "z_max", "z_min")}
    table.update({name: sp.Symbol(name, positive=True, integer=True) for name in ("m", "n", "P")})
    return table


# --------------------------------------------------------------------------- van der Sluis


@stored.expression(SETTING)
def van_der_sluis_expr() -> dict:
    """van der Sluis' bounds (docs/conditioning.md §7b.1).

    ``frobenius_sq``: ||D_R A||_F^2 for a symbolic 3 x 2 matrix, each row divided by its
    norm, simplified (3, the number of rows), and for m rows the sum over rows of
    ||a_i||^2/||a_i||^2 (m). Since ||D_R A||_2 <= ||D_R A||_F and every row of D_R A has
    norm 1, ``row_bound`` = sqrt(frobenius_sq) kappa_star bounds kappa_2(D_R A) for
    kappa_star = min_D kappa_2(D A) (the chain of inequalities is in the note);
    ``column_bound`` is the same for A D_C with sqrt(n).
    """
    import sympy as sp

    sym = symbols()
    entries = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"a{i}{j}", real=True))
    rows = [entries.row(i) / sp.sqrt(sum(x ** 2 for x in entries.row(i))) for i in range(3)]
    small = sp.simplify(sum(sum(x ** 2 for x in row) for row in rows))
    if small != 3:
        raise ArithmeticError(f"a row-equilibrated 3 x 2 matrix has ||.||_F^2 = {small}")
    i = sp.Symbol("i", positive=True, integer=True)
    norm_sq = sp.Function("r")(i)  # ||a_i||^2 of row i, any positive value
    frobenius_sq = sp.summation(sp.simplify(norm_sq / norm_sq), (i, 1, sym["m"]))
    columns_sq = frobenius_sq.subs(sym["m"], sym["n"])
    return {"frobenius_sq": frobenius_sq,
            "row_bound": sp.sqrt(frobenius_sq) * sym["kappa_star"],
            "column_bound": sp.sqrt(columns_sq) * sym["kappa_star"]}


@stored.numeric(SETTING, samples=lambda: [(3.0, 4), (1.0, 12), (250.0, 7)])
def _row_bound() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["kappa_star"], sym["m"]), van_der_sluis_expr()["row_bound"])


def van_der_sluis_bound(kappa_star: float, rows: int) -> float:
    """sqrt(rows) kappa_star: the bound on kappa_2(D_R A) of :func:`van_der_sluis_expr`
    (``rows``: m for row equilibration, n for columns)."""
    kappa_star = validation.positive_scalar("kappa_star", kappa_star)
    return float(_row_bound()(kappa_star, validation.count("rows", rows)))


def _scaled_condition(log_d: np.ndarray, A: np.ndarray) -> tuple[float, np.ndarray]:
    """(log kappa_2(D A), its gradient in log d) with D = diag(e^log_d), kappa over the
    r = min(m, n) singular values: sigma = u^T D A v gives d sigma / d log d_i =
    u_i (D A v)_i = sigma u_i^2, so the gradient is u_1^2 - u_r^2 (left singular vectors;
    simple singular values). It sums to zero (D and cD give the same kappa); log d is
    centred before scaling so that no overflow occurs along that direction."""
    centred = np.clip(log_d - log_d.mean(), -LOG_SCALE_RANGE, LOG_SCALE_RANGE)
    scaled = np.exp(centred)[:, None] * A
    U, sigma, _ = np.linalg.svd(scaled, full_matrices=False)
    with np.errstate(divide="ignore"):  # a row scaled to zero: kappa = inf
        return float(np.log(sigma[0]) - np.log(sigma[-1])), U[:, 0] ** 2 - U[:, -1] ** 2


LOG_SCALE_RANGE = 300.0
"""log d_i (centred) is clipped to +-LOG_SCALE_RANGE before scaling, so that a long trial
step of the line search cannot overflow (kappa is then huge, and the step is refused)."""


def optimal_diagonal_scaling(A, starts: int = 3, seed: int = 0) -> tuple[float, np.ndarray]:
    """An estimate of min over positive diagonal D of kappa_2(D A) (rows scaled; for
    columns pass A^T), A of full rank, kappa over its min(m, n) singular values, and the
    D attaining it, largest entry 1 (docs/conditioning.md §7b.1).

    scipy BFGS on log kappa(D A) in log d (gradient of :func:`_scaled_condition`) from
    D = I, from D = D_R (row equilibration) and from ``starts`` - 2 random starts drawn from
    ``seed``; the smallest value found. kappa^2(D A) is quasi-convex in D^2 but not convex
    in log d, so the result is an upper estimate of the minimum (every D tried is a
    feasible point), never below it.
    """
    from scipy.optimize import minimize

    A = validation.finite_matrix("A", A)
    if np.linalg.matrix_rank(A) < min(A.shape):
        raise ValueError(f"A must have full rank, got rank {np.linalg.matrix_rank(A)} for "
                         f"shape {A.shape}")
    if np.any(np.all(A == 0.0, axis=1)):
        raise ValueError("A has a zero row")
    starts = validation.count("starts", starts, minimum=2)
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    candidates = [np.zeros(A.shape[0]), -np.log(np.linalg.norm(A, axis=1))]
    candidates += [rng.normal(0.0, 1.0, A.shape[0]) for _ in range(starts - 2)]
    best = (np.inf, None)
    for start in candidates:
        result = minimize(_scaled_condition, start, args=(A,), jac=True, method="BFGS",
                          options={"gtol": 1e-9, "maxiter": 200})
        for point in (start, result.x):
            value = _scaled_condition(point, A)[0]
            if value < best[0]:
                best = (value, point)
    return float(np.exp(best[0])), np.exp(best[1] - best[1].max())


# --------------------------------------------------------------------------- Gauss-Newton


@stored.expression(SETTING)
def gauss_newton_block_expr() -> dict:
    """The Hessian of L(W) = (1/2P) ||Y - A W Z||_F^2 in the entries of W (row-major),
    for symbolic A (2 x 2), W (2 x 2), Z (2 x 3, P = 3) and Y (docs/conditioning.md §7b.2).

    L is quadratic in W, so its Hessian is the Gauss-Newton matrix J^T J / P whatever
    the residual. Returns ``hessian`` (from ``sympy.hessian``) and ``kronecker`` =
    (A^T A) kron (Z Z^T / P); ArithmeticError if they differ.
    """
    import sympy as sp

    A = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"A{i}{j}", real=True))
    W = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W{i}{j}", real=True))
    Z = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"Z{i}{j}", real=True))
    Y = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"Y{i}{j}", real=True))
    P = Z.shape[1]
    R = Y - A * W * Z
    loss = sum(x ** 2 for x in R) / (2 * P)
    hessian = sp.hessian(loss, list(W)).applyfunc(sp.expand)
    kronecker = sp.kronecker_product(A.T * A, Z * Z.T / P).applyfunc(sp.expand)
    if (hessian - kronecker).applyfunc(sp.expand) != sp.zeros(4, 4):
        raise ArithmeticError("the Hessian block is not (A^T A) kron (Z Z^T / P)")
    return {"hessian": hessian, "kronecker": kronecker}


@stored.expression(SETTING)
def kronecker_spectrum_expr() -> dict:
    """Eigenvalues and condition number of (A^T A) kron (Z Z^T / P) (docs/conditioning.md §7b.2).

    With A^T A = U diag(p) U^T and Z Z^T / P = V diag(s) V^T, the mixed-product rule
    kron(U, V) kron(diag p, diag s) kron(U, V)^T = kron(U diag p U^T, V diag s V^T) is
    checked for generic symbolic 2 x 2 U, V, and kron(U, V) is orthogonal when U and V are
    (kron(U^T U, V^T V) = I), so ``eigenvalues`` are the diagonal of kron(diag p, diag s),
    the products p_i s_j. The largest over the smallest of them, with p = sigma(A)^2 and
    s = sigma(Z)^2 / P ordered by offsets, is ``condition`` =
    (a_max z_max / (a_min z_min))^2 = kappa(A)^2 kappa(Z)^2.
    """
    import sympy as sp

    sym = symbols()
    U = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"U{i}{j}", real=True))
    V = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"V{i}{j}", real=True))
    p = sp.symbols("p1 p2", positive=True)
    s = sp.symbols("s1 s2", positive=True)
    left = (sp.kronecker_product(U, V) * sp.kronecker_product(sp.diag(*p), sp.diag(*s))
            * sp.kronecker_product(U, V).T)
    right = sp.kronecker_product(U * sp.diag(*p) * U.T, V * sp.diag(*s) * V.T)
    if (left - right).applyfunc(sp.expand) != sp.zeros(4, 4):
        raise ArithmeticError("the mixed-product rule failed")
    eigenvalues = list(sp.kronecker_product(sp.diag(*p), sp.diag(*s)).diagonal())
    # order: p_1 = a_max^2 >= p_2 = a_min^2, s_1 = z_max^2 / P >= s_2 = z_min^2 / P
    gap_a, gap_z = sp.symbols("gap_a gap_z", nonnegative=True)
    ordered = {p[0]: sym["a_min"] ** 2 + gap_a, p[1]: sym["a_min"] ** 2,
               s[0]: (sym["z_min"] ** 2 + gap_z) / sym["P"], s[1]: sym["z_min"] ** 2 / sym["P"]}
    values = [sp.expand(e.subs(ordered)) for e in eigenvalues]
    largest, smallest = sp.Max(*values), sp.Min(*values)
    if largest != values[0] or smallest != values[-1]:
        raise ArithmeticError(f"could not order the products: {largest}, {smallest}")
    condition = sp.simplify((largest / smallest).subs(
        {gap_a: sym["a_max"] ** 2 - sym["a_min"] ** 2, gap_z: sym["z_max"] ** 2 - sym["z_min"] ** 2}))
    return {"eigenvalues": eigenvalues, "condition": condition}


@stored.numeric(SETTING, samples=lambda: [(3.0, 1.0, 2.0, 0.5), (1.0, 1.0, 1.0, 1.0),
                                          (40.0, 0.01, 7.0, 0.3)])
def _gauss_newton_condition() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["a_max"], sym["a_min"], sym["z_max"], sym["z_min"]),
                       kronecker_spectrum_expr()["condition"])


def _factors(A, Z) -> tuple[np.ndarray, np.ndarray]:
    A = validation.finite_matrix("A", A)
    Z = validation.finite_matrix("Z", Z)
    return A, Z


def gauss_newton_eigenvalues(A, Z) -> np.ndarray:
    """The eigenvalues of the Gauss-Newton block (A^T A) kron (Z Z^T / P) of one layer
    (:func:`kronecker_spectrum_expr`), P = Z's columns: the products of the factors'
    eigenvalues (eigh of n x n and k x k matrices; the Kronecker product is never formed),
    in ascending order; row-major vec(W) of W n x k indexes them as i k + j.

    Parameters
    ----------
    A : (n_out, n) array
        The product of the (effective) weights after the layer (the identity for the last).
    Z : (k, P) array
        The layer's input B X_c: the product of the weights before it times the data in
        column form.
    """
    A, Z = _factors(A, Z)
    return np.sort(np.outer(np.linalg.eigvalsh(A.T @ A),
                            np.linalg.eigvalsh(Z @ Z.T / Z.shape[1])).ravel())


def gauss_newton_condition_number(A, Z) -> float:
    """kappa(A)^2 kappa(Z)^2 (:func:`kronecker_spectrum_expr`) from the singular values of
    A and Z; inf if either is rank deficient (A needs full column rank, Z full row rank)."""
    A, Z = _factors(A, Z)
    a = np.linalg.svd(A, compute_uv=False)
    z = np.linalg.svd(Z, compute_uv=False)
    if min(A.shape) < A.shape[1] or min(Z.shape) < Z.shape[0] or a[-1] == 0 or z[-1] == 0:
        return float("inf")
    return float(_gauss_newton_condition()(a[0], a[-1], z[0], z[-1]))


# --------------------------------------------------------------------------- GD iterations


@stored.expression(SETTING)
def gd_iterations_expr() -> dict:
    """Gradient descent on a quadratic with Hessian spectrum in [mu, L]
    (docs/conditioning.md §7b.3).

    Each eigencomponent is multiplied by 1 - eta lambda per step; the contraction
    max(|1 - eta mu|, |1 - eta L|) is smallest where 1 - eta mu = -(1 - eta L), which
    ``solve`` gives as ``step`` = 2/(L + mu); ``contraction`` = 1 - step mu in kappa = L/mu
    is (kappa - 1)/(kappa + 1); ``iterations`` = ln(1/eps)/ln(1/contraction) is the count
    after which every start's error has shrunk by eps; ``asymptotic`` = kappa ln(1/eps)/2
    is its leading term as kappa -> infinity (``series`` in 1/kappa, ``limit`` of the ratio
    checked to be 1).
    """
    import sympy as sp

    sym = symbols()
    eta, mu, L, kappa, eps = sym["eta"], sym["mu"], sym["L"], sym["kappa"], sym["eps"]
    (step,) = sp.solve(sp.Eq(1 - eta * mu, -(1 - eta * L)), eta)
    contraction = sp.simplify((1 - step * mu).subs(L, kappa * mu))
    iterations = sp.log(1 / eps) / sp.log(1 / contraction)
    x = sp.Symbol("x", positive=True)  # 1/kappa
    leading = sp.series(sp.log(1 / contraction).subs(kappa, 1 / x), x, 0, 2).removeO()
    asymptotic = sp.simplify(sp.log(1 / eps) / leading.subs(x, 1 / kappa))
    if sp.simplify(sp.expand_log(sp.limit(iterations / asymptotic, kappa, sp.oo))) != 1:
        raise ArithmeticError("the asymptotic form is not the leading term")
    return {"step": step, "contraction": contraction, "iterations": iterations,
            "asymptotic": asymptotic}


@stored.numeric(SETTING, samples=lambda: [(2.0, 1e-6), (1e4, 1e-8), (1.5, 0.1)])
def _gd_iterations() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["kappa"], sym["eps"]), gd_iterations_expr()["iterations"])


@stored.numeric(SETTING, samples=lambda: [(2.0, 1e-6), (1e4, 1e-8)])
def _gd_asymptotic() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["kappa"], sym["eps"]), gd_iterations_expr()["asymptotic"])


@stored.numeric(SETTING, samples=lambda: [(2.0, 1.0), (1e3, 1e-4)])
def _optimal_step() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["L"], sym["mu"]), gd_iterations_expr()["step"])


def _kappa_eps(kappa: float, eps: float) -> tuple[float, float]:
    kappa = validation.finite_scalar("kappa", kappa)
    if kappa <= 1.0:
        raise ValueError(f"kappa must be > 1, got {kappa}")
    eps = validation.positive_scalar("eps", eps)
    if eps >= 1.0:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    return kappa, eps


def gd_iterations(kappa: float, eps: float) -> float:
    """ln(1/eps) / ln((kappa + 1)/(kappa - 1)): gradient descent's iterations with the
    optimal step to shrink any start's error by eps (:func:`gd_iterations_expr`)."""
    return float(_gd_iterations()(*_kappa_eps(kappa, eps)))


def gd_iterations_asymptotic(kappa: float, eps: float) -> float:
    """(kappa / 2) ln(1/eps), the large-kappa form of :func:`gd_iterations`."""
    return float(_gd_asymptotic()(*_kappa_eps(kappa, eps)))


def optimal_step(largest: float, smallest: float) -> float:
    """2 / (L + mu) (:func:`gd_iterations_expr`) for the extreme Hessian eigenvalues."""
    largest = validation.positive_scalar("largest", largest)
    smallest = validation.positive_scalar("smallest", smallest)
    if smallest > largest:
        raise ValueError(f"smallest ({smallest}) must not exceed largest ({largest})")
    return float(_optimal_step()(largest, smallest))


def _error_components(A, Z, E0) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues p_i s_j as a matrix, squared components of E0 in the eigenbasis)."""
    A, Z = _factors(A, Z)
    E0 = validation.finite_matrix("E0", E0)
    if E0.shape != (A.shape[1], Z.shape[0]):
        raise ValueError(f"E0 must be {A.shape[1]} x {Z.shape[0]} (the layer's shape), got "
                         f"{E0.shape}")
    p, U = np.linalg.eigh(A.T @ A)
    s, V = np.linalg.eigh(Z @ Z.T / Z.shape[1])
    return np.outer(p, s), (U.T @ E0 @ V) ** 2


def gd_error(A, Z, E0, lr: float, steps) -> np.ndarray:
    """||E_k||_F of gradient descent on the layer's quadratic from the error E0 = W0 - W*,
    at step counts ``steps``: E_k = sum_ij c_ij (1 - lr p_i s_j)^k u_i v_j^T in the
    factors' eigenbases (docs/conditioning.md §7b.3)."""
    lam, c2 = _error_components(A, Z, E0)
    lr = validation.positive_scalar("lr", lr)
    steps = np.atleast_1d(np.asarray(steps, dtype=np.float64))
    factors = (1.0 - lr * lam) ** 2
    return np.sqrt(np.array([np.sum(c2 * factors ** k) for k in steps]))


def flow_error(A, Z, E0, eta: float, times) -> np.ndarray:
    """||E(t)||_F of gradient flow on the layer's quadratic: the components decay as
    exp(-eta p_i s_j t) (docs/conditioning.md §7b.3)."""
    lam, c2 = _error_components(A, Z, E0)
    eta = validation.positive_scalar("eta", eta)
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    return np.sqrt(np.array([np.sum(c2 * np.exp(-2.0 * eta * lam * t)) for t in times]))


def gd_iterations_to(A, Z, E0, lr: float, eps: float, max_steps: int = 10**8) -> int:
    """The first k with ||E_k||_F <= eps ||E0||_F under :func:`gd_error` (bisection: the
    error falls monotonically when every |1 - lr p_i s_j| < 1)."""
    lam, c2 = _error_components(A, Z, E0)
    lr = validation.positive_scalar("lr", lr)
    eps = validation.positive_scalar("eps", eps)
    factors = (1.0 - lr * lam) ** 2
    if np.any(factors >= 1.0):
        raise ValueError(f"lr = {lr} does not contract every component (lr >= 2/lambda_max)")
    target = eps ** 2 * np.sum(c2)
    low, high = 0, 1
    while np.sum(c2 * factors ** high) > target:
        low, high = high, 2 * high
        if high > max_steps:
            raise ValueError(f"more than max_steps = {max_steps} iterations")
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if np.sum(c2 * factors ** middle) > target else (low, middle)
    return int(high) if np.sum(c2) > target else 0
