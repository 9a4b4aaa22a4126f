"""Closed forms for the shallow max-margin setting (docs/max_margin.md).

- The hard-margin SVM without bias, w_hat = argmin 1/2 |w|^2 s.t. Z w >= 1: the support
  set S is found numerically (an LP for feasibility, SLSQP for a start, then an exact
  active-set iteration), and on S the solution is derived with sympy in exact rational
  arithmetic: stationarity of the Lagrangian gives w = Z_S^T alpha_S, the active
  constraints Z_S w = 1 then give K_SS alpha_S = 1. The result is certified by checking
  every KKT condition. Non-separable data raise :class:`NotSeparableError` with a
  Gordan/Farkas certificate (alpha >= 0, sum alpha = 1, Z^T alpha = 0).
- Soudry et al. (2018) Thm 3: gradient descent w(t) = w_hat ln t + w_tilde + o(1), with
  eta exp(-z_mu . w_tilde) = alpha_hat_mu on S; the part of w_tilde in span(z_S) is fixed
  by these equations (:func:`soudry_offset`).
- Minnorm linearized at (w_hat, alpha_hat): per eigenvalue kappa of K_SS the pair
  mu^2 + eta_w mu + eta_w eta_lambda kappa = 0 (continuous) or
  nu^2 - (2 - a) nu + (1 - a + a b kappa) = 0 (discrete, a = lr_w, b = lr_lambda), both
  derived with sympy from the linearized system; mu = -eta_w (nu = 1 - a) on span(z_S)^perp.

Importing this module does not import sympy or scipy.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from theory import validation
from theory.max_margin import signed_data


class NotSeparableError(ValueError):
    """The data cannot be separated through the origin.

    ``certificate`` is alpha >= 0 with sum alpha = 1 and Z^T alpha = 0 (Gordan's
    alternative): no w can have every y_mu x_mu . w > 0.
    """

    def __init__(self, message: str, certificate: np.ndarray):
        super().__init__(message)
        self.certificate = certificate


@dataclass(frozen=True)
class MaxMargin:
    """The hard-margin solution and its certificate of optimality.

    Attributes
    ----------
    w : ndarray (d,)
    alpha : ndarray (P,)  dual variables, zero off the support
    support : ndarray of int  indices with alpha > 0
    margin : float  1 / |w|, the geometric margin
    kkt : dict  the largest violation of each KKT condition
    """

    w: np.ndarray
    alpha: np.ndarray
    support: np.ndarray
    margin: float
    kkt: dict

    def __iter__(self):
        """Unpacks as ``w, alpha, support = max_margin(X, y)``."""
        return iter((self.w, self.alpha, self.support))


def separability_certificate(X, y) -> np.ndarray | None:
    """alpha >= 0, sum alpha = 1, Z^T alpha = 0 if one exists (data not separable), else None."""
    return _certificate(signed_data(X, y))


def _certificate(Z: np.ndarray) -> np.ndarray | None:
    from scipy.optimize import linprog

    n = Z.shape[0]
    feasible = linprog(np.zeros(Z.shape[1]), A_ub=-Z, b_ub=-np.ones(n), bounds=(None, None),
                       method="highs")
    if feasible.status == 0:
        return None
    dual = linprog(np.zeros(n), A_eq=np.vstack((Z.T, np.ones(n))),
                   b_eq=np.append(np.zeros(Z.shape[1]), 1.0), bounds=(0, None), method="highs")
    if dual.status != 0:
        raise ArithmeticError(f"neither a separator nor a certificate found: {dual.message}")
    return dual.x


@lru_cache(maxsize=None)
def support_solution_expr(n_support: int, dim: int) -> dict:
    """Sympy derivation on a support set of size s in dimension d, with symbolic data.

    Returns ``w`` (stationarity of L = 1/2|w|^2 - sum_S alpha_mu (z_mu . w - 1), solved
    for w: Z_S^T alpha) and ``alpha_equations`` (the active constraints with w substituted:
    K_SS alpha - 1 = 0), in symbols ``z{mu}_{j}`` and ``alpha{mu}``.
    """
    import sympy as sp

    z = sp.Matrix(n_support, dim, lambda i, j: sp.Symbol(f"z{i}_{j}", real=True))
    alpha = sp.Matrix(n_support, 1, lambda i, _: sp.Symbol(f"alpha{i}", real=True))
    w = sp.Matrix(dim, 1, lambda j, _: sp.Symbol(f"w{j}", real=True))
    lagrangian = (w.T * w)[0] / 2 - sum(alpha[i] * ((z[i, :] * w)[0] - 1) for i in range(n_support))
    stationary = sp.solve([sp.diff(lagrangian, wj) for wj in w], list(w), dict=True)[0]
    w_of_alpha = w.subs(stationary)
    equations = sp.expand(z * w_of_alpha - sp.ones(n_support, 1))
    return {"z": z, "alpha": alpha, "w": w_of_alpha, "alpha_equations": equations}


def _exact_on_support(Z: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha_S, w) from the sympy derivation, evaluated in exact rational arithmetic."""
    import sympy as sp

    forms = support_solution_expr(support.size, Z.shape[1])
    Z_S = sp.Matrix([[sp.Rational(float(v)) for v in row] for row in Z[support]])
    values = {forms["z"][i, j]: Z_S[i, j] for i in range(support.size) for j in range(Z.shape[1])}
    equations = forms["alpha_equations"].subs(values)
    A, b = sp.linear_eq_to_matrix(list(equations), list(forms["alpha"]))
    if A.rank() < support.size:
        raise ArithmeticError("degenerate support set: K_SS is singular, so the multipliers "
                              "are not unique (docs/max_margin.md §1b.1)")
    alpha = A.LUsolve(b)
    w = forms["w"].subs(values).subs(dict(zip(forms["alpha"], alpha)))
    return (np.array([float(a) for a in alpha]), np.array([float(v) for v in w]))


def max_margin(X, y, tol: float = 1e-9) -> MaxMargin:
    """The hard-margin SVM through the origin, certified by its KKT conditions.

    Raises
    ------
    NotSeparableError
        With a certificate, if no w separates the data.
    ArithmeticError
        If the support set is degenerate or the KKT conditions fail by more than ``tol``.

    Solutions are cached by the data's bytes (the derived quantities of this module all
    start from it); the returned arrays are read-only.
    """
    Z = signed_data(X, y)
    tol = validation.positive_scalar("tol", tol)
    return _max_margin_cached(Z.tobytes(), Z.shape, tol)


@lru_cache(maxsize=64)
def _max_margin_cached(z_bytes: bytes, shape: tuple[int, int], tol: float) -> MaxMargin:
    from scipy.optimize import minimize

    Z = np.frombuffer(z_bytes, dtype=np.float64).reshape(shape)
    certificate = _certificate(Z)
    if certificate is not None:
        raise NotSeparableError("the data are not separable through the origin", certificate)
    start = minimize(lambda w: 0.5 * w @ w, np.ones(Z.shape[1]), jac=lambda w: w, method="SLSQP",
                     constraints={"type": "ineq", "fun": lambda w: Z @ w - 1.0,
                                  "jac": lambda w: Z},
                     options={"ftol": 1e-15, "maxiter": 2000}).x
    support = np.flatnonzero(Z @ start <= 1.0 + 1e-6)
    for _ in range(4 * Z.shape[0]):  # active-set iteration from the SLSQP guess
        alpha_s, w = _exact_on_support(Z, support)
        if np.any(alpha_s <= 0.0):
            support = np.delete(support, np.argmin(alpha_s))
            continue
        margins = Z @ w
        worst = int(np.argmin(margins))
        if margins[worst] < 1.0 - tol:
            support = np.sort(np.append(support, worst))
            continue
        break
    else:
        raise ArithmeticError("the active-set iteration did not settle")
    alpha = np.zeros(Z.shape[0])
    alpha[support] = alpha_s
    margins = Z @ w
    kkt = {"stationarity": float(np.abs(w - Z.T @ alpha).max()),
           "primal_feasibility": float(max(0.0, 1.0 - margins.min())),
           "dual_feasibility": float(max(0.0, -alpha.min())),
           "complementary_slackness": float(np.abs(alpha * (margins - 1.0)).max())}
    if max(kkt.values()) > tol:
        raise ArithmeticError(f"KKT conditions violated: {kkt}")
    for array in (w, alpha, support):
        array.setflags(write=False)
    return MaxMargin(w=w, alpha=alpha, support=support, margin=float(1 / np.linalg.norm(w)),
                     kkt=kkt)


def reference_steps(X, y, lr_w: float = 0.2, lambda_fraction: float = 0.5) -> dict:
    """The step sizes used across the package for this setting (docs/max_margin.md §1a.2, §1b.5).

    ``gd``: 1/lambda_max(K), inside the logistic bound 2/(beta sigma_max(Z)^2), beta = 1/4,
    and the exponential loss's bound 2/lambda_max(K) at w = 0; ``lr_w`` as given;
    ``lr_lambda``: lambda_fraction / lambda_max(K), so that b kappa_max(K_AA) < 1 for every
    active set A the transient visits; ``lr_lambda_local``: lambda_fraction / kappa_max(K_SS),
    stable near the solution only (docs/max_margin.md §1b.5; it can cycle between
    active sets: claim max_margin.minnorm.transient_instability).
    """
    lr_w = validation.positive_scalar("lr_w", lr_w)
    lambda_fraction = validation.positive_scalar("lambda_fraction", lambda_fraction)
    solution = max_margin(X, y)
    Z = signed_data(X, y)
    Z_S = Z[solution.support]
    lambda_max = np.linalg.eigvalsh(Z @ Z.T).max()
    return {"gd": 1.0 / lambda_max, "lr_w": lr_w, "lr_lambda": lambda_fraction / lambda_max,
            "lr_lambda_local": lambda_fraction / np.linalg.eigvalsh(Z_S @ Z_S.T).max()}


def soudry_offset(X, y, eta: float = 1.0) -> np.ndarray:
    """The part of w_tilde in span(z_S): z_mu . w_tilde = ln(eta / alpha_hat_mu) on S.

    Gradient descent with step eta (gradient flow: eta = 1) on the exponential loss, or
    asymptotically the logistic loss, follows w(t) = w_hat ln t + w_tilde + o(1) (Soudry
    et al. 2018, Thm 3). The component of w_tilde outside span(z_S) depends on the
    initialization and the transient and is not given here.
    """
    eta = validation.positive_scalar("eta", eta)
    solution = max_margin(X, y)
    Z_S = signed_data(X, y)[solution.support]
    return np.linalg.pinv(Z_S) @ np.log(eta / solution.alpha[solution.support])


# --------------------------------------------------------------------------- Minnorm


@lru_cache(maxsize=None)
def minnorm_mode_expr() -> dict:
    """Characteristic polynomials of Minnorm linearized at (w_hat, alpha_hat), per kappa.

    On an eigen-direction u of K_SS (K_SS u = kappa u), with w = Z_S^T u c / sqrt(kappa) and
    lambda_S = u l, the linearized system dw/dt = -eta_w (w - Z_S^T lambda_S),
    dlambda_S/dt = -eta_lambda Z_S w reduces to the 2x2 matrix
    [[-eta_w, eta_w sqrt(kappa)], [-eta_lambda sqrt(kappa), 0]] acting on (c, l).
    Returns its ``continuous`` eigenvalues, and the ``discrete`` multipliers of the Euler
    map I + J with eta_w = a, eta_lambda = b, with their characteristic polynomials.
    """
    import sympy as sp

    eta_w, eta_lambda, kappa = sp.symbols("eta_w eta_lambda kappa", positive=True)
    mu, nu = sp.symbols("mu nu")
    J = sp.Matrix([[-eta_w, eta_w * sp.sqrt(kappa)], [-eta_lambda * sp.sqrt(kappa), 0]])
    continuous_poly = sp.expand((J - mu * sp.eye(2)).det())
    discrete_poly = sp.expand((sp.eye(2) + J - nu * sp.eye(2)).det())
    return {"symbols": (eta_w, eta_lambda, kappa), "continuous_polynomial": continuous_poly,
            "continuous": sp.solve(continuous_poly, mu),
            "discrete_polynomial": discrete_poly, "discrete": sp.solve(discrete_poly, nu)}


@lru_cache(maxsize=None)
def _mode_numeric(discrete: bool):
    import sympy as sp

    forms = minnorm_mode_expr()
    return sp.lambdify(forms["symbols"], forms["discrete" if discrete else "continuous"], "numpy")


def minnorm_eigenvalues(X, y, eta_w: float, eta_lambda: float,
                        discrete: bool = False) -> np.ndarray:
    """Spectrum of Minnorm linearized at (w_hat, alpha_hat): 2|S| modes from K_SS and
    d - |S| modes on span(z_S)^perp (-eta_w, or 1 - a for discrete). Non-support
    multipliers are not included: they reach 0 in finite time and stay there."""
    eta_w = validation.positive_scalar("eta_w", eta_w)
    eta_lambda = validation.positive_scalar("eta_lambda", eta_lambda)
    solution = max_margin(X, y)
    Z_S = signed_data(X, y)[solution.support]
    kappas = np.linalg.eigvalsh(Z_S @ Z_S.T)
    pairs = np.array([_mode_numeric(discrete)(complex(eta_w), complex(eta_lambda), complex(k))
                      for k in kappas], dtype=np.complex128).ravel()
    complement = np.full(Z_S.shape[1] - solution.support.size,
                         (1.0 - eta_w) if discrete else -eta_w, dtype=np.complex128)
    return np.concatenate((pairs, complement))


def minnorm_rate(X, y, eta_w: float, eta_lambda: float) -> float:
    """Local convergence rate of the Minnorm flow: -max Re(mu) over
    :func:`minnorm_eigenvalues` (positive: the flow converges like e^(-rate t))."""
    return float(-np.max(minnorm_eigenvalues(X, y, eta_w, eta_lambda).real)) + 0.0


def minnorm_contraction(X, y, lr_w: float, lr_lambda: float) -> float:
    """Per-step contraction factor of discrete Minnorm near (w_hat, alpha_hat): rho = max |nu|
    over the discrete spectrum (stable iff rho < 1, i.e. 0 < lr_w < 2 and
    0 < lr_lambda kappa_max(K_SS) < 1); the distance shrinks like rho^k."""
    return float(np.max(np.abs(minnorm_eigenvalues(X, y, lr_w, lr_lambda, discrete=True))))


def soudry_remainder_exponents(X, y) -> dict:
    """Decay exponents of the remainder rho(t) = w(t) - w_hat ln t - w_tilde of gradient flow.

    With s = ln t and eta e^(-z_mu . w_tilde) = alpha_hat_mu on S (:func:`soudry_offset`),
    the flow on the exponential loss reads drho/ds = sum_S alpha_hat_mu (e^(-z_mu . rho) - 1)
    z_mu + sum_(mu not in S) e^(-z_mu . w_tilde - z_mu . rho) e^(-(m_mu - 1) s) z_mu, with
    m_mu = z_mu . w_hat the normalized margins (docs/max_margin.md §1b.3, after Soudry et al. 2018).
    Linearized in rho, the support term is -M rho with M = Z_S^T diag(alpha_hat_S) Z_S, and
    each non-support term forces rho like t^-(m_mu - 1). So rho decays like t^-gamma,
    gamma = min(``support``.min(), ``non_support``.min()); the logistic loss adds terms
    of order t^-1, and the quadratic terms order t^-2 gamma.

    Returns
    -------
    dict
        ``support``: the eigenvalues of M on span(z_S) (|S| of them, ascending);
        ``non_support``: m_mu - 1 over the non-support samples (ascending);
        ``gamma``: the smallest of both.
    """
    solution = max_margin(X, y)
    Z = signed_data(X, y)
    Z_S = Z[solution.support]
    gram = Z_S @ Z_S.T  # M's nonzero spectrum is that of D^(1/2) Z_S Z_S^T D^(1/2)
    root = np.sqrt(solution.alpha[solution.support])
    support = np.sort(np.linalg.eigvalsh(root[:, None] * gram * root[None, :]))
    non_support = np.sort(np.delete(Z @ solution.w, solution.support) - 1.0)
    gamma = float(min(support.min(), non_support.min(initial=np.inf)))
    return {"support": support, "non_support": non_support, "gamma": gamma}
