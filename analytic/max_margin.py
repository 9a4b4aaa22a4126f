"""Closed forms for the shallow max-margin setting (docs/max_margin.md).

- The hard-margin SVM without bias, w_hat = argmin 1/2 |w|^2 s.t. Z w >= 1: the support
  set S is found numerically (an LP for feasibility, then non-negative least squares, a
  finite active-set method), and on S the solution follows from the sympy derivation
  (:func:`support_solution_expr`): stationarity of the Lagrangian gives
  w = Z_S^T alpha_S, the active constraints Z_S w = 1 then give K_SS alpha_S = 1, solved
  in float64 (or, on request, in exact rational arithmetic). The result is certified by
  checking every KKT condition. Non-separable data raise :class:`NotSeparableError` with
  a Gordan/Farkas certificate (alpha >= 0, sum alpha = 1, Z^T alpha = 0).
- Soudry et al. (2018) Thm 3: gradient descent w(t) = w_hat ln t + w_tilde + o(1), with
  eta exp(-z_mu . w_tilde) = alpha_hat_mu on S; the part of w_tilde in span(z_S) is fixed
  by these equations (:func:`soudry_offset`).
- Minnorm linearized at (w_hat, alpha_hat): per eigenvalue kappa of K_SS the pair
  mu^2 + eta_w mu + eta_w eta_lambda kappa = 0 (continuous) or
  nu^2 - (2 - a) nu + (1 - a + a b kappa) = 0 (discrete, a = lr_w, b = lr_lambda), both
  derived with sympy from the linearized system; mu = -eta_w (nu = 1 - a) on span(z_S)^perp.

Importing this module does not import sympy, scipy or numba (it does not import the
simulator ``theory.max_margin``); the numeric functions do not import sympy.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from analytic import stored
from theory import validation

SETTING = "max_margin"


class NotSeparableError(ValueError):
    """The data cannot be separated through the origin.

    ``certificate`` is alpha >= 0 with sum alpha = 1 and Z^T alpha = 0 (Gordan's
    alternative): no w can have every y_mu x_mu . w > 0.
    """

    def __init__(self, message: str, certificate: np.ndarray):
        super().__init__(message)
        self.certificate = certificate


class _Solution(NamedTuple):
    w: np.ndarray
    alpha: np.ndarray
    support: np.ndarray


class MaxMargin(_Solution):
    """The hard-margin solution: a named tuple ``(w, alpha, support)`` (it unpacks and
    indexes as one) with its certificate of optimality as further attributes.

    Attributes
    ----------
    w : ndarray (d,)
    alpha : ndarray (P,)  dual variables, zero off the support
    support : ndarray of int  indices with alpha > 0
    margin : float  1 / |w|, the geometric margin
    kkt : dict  the largest violation of each KKT condition (see :func:`max_margin`)
    exact : bool  whether (w, alpha) come from the exact rational solve on the support
    """

    def __new__(cls, w: np.ndarray, alpha: np.ndarray, support: np.ndarray, *, kkt: dict,
                exact: bool):
        solution = super().__new__(cls, w, alpha, support)
        solution.__dict__.update(kkt=kkt, exact=exact)
        return solution

    @property
    def margin(self) -> float:
        """1 / |w|, the geometric margin."""
        return float(1.0 / np.linalg.norm(self.w))

    def _replace(self, **fields) -> MaxMargin:
        """A copy with some of (w, alpha, support) replaced, keeping kkt and exact."""
        values = self._asdict() | fields
        return MaxMargin(**values, kkt=self.kkt, exact=self.exact)

    def __reduce__(self):
        return (_rebuild, (tuple(self), self.kkt, self.exact))


def _rebuild(fields: tuple, kkt: dict, exact: bool) -> MaxMargin:
    return MaxMargin(*fields, kkt=kkt, exact=exact)


def separability_certificate(X, y) -> np.ndarray | None:
    """alpha >= 0, sum alpha = 1, Z^T alpha = 0 if one exists (data not separable), else None."""
    return _certificate(validation.signed_data(X, y))


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


def _support_key(n_support: int, dim: int) -> tuple[int, int]:
    return validation.count("n_support", n_support), validation.count("dim", dim)


@stored.expression(SETTING, stored=(), canonical=_support_key, shown=((2, 2),))
def support_solution_expr(n_support: int, dim: int) -> dict:
    """Sympy derivation on a support set of size s in dimension d, with symbolic data.

    Returns ``w`` (stationarity of L = 1/2|w|^2 - sum_S alpha_mu (z_mu . w - 1), solved
    for w: Z_S^T alpha) and ``alpha_equations`` (the active constraints with w substituted:
    K_SS alpha - 1 = 0), in symbols ``z{mu}_{j}`` and ``alpha{mu}``. One form per size, so
    none is stored: each is derived on first use (the catalog shows s = d = 2).
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


_DEGENERATE = ("degenerate support set: K_SS is singular, so the multipliers are not unique "
               "(docs/max_margin.md §1b.1)")


def _numeric_rank(rows: np.ndarray) -> int:
    """Rank of ``rows`` by their singular values (cut-off as ``numpy.linalg.matrix_rank``)."""
    if rows.shape[0] == 0:
        return 0
    singular = np.linalg.svd(rows, compute_uv=False)
    return int(np.count_nonzero(singular > max(rows.shape) * np.finfo(float).eps * singular[0]))


def _numeric_on_support(Z: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha_S, w) solving the stationarity w = Z_S^T alpha_S and the active constraints
    Z_S w = 1 in float64, from the SVD Z_S = U diag(s) V^T: w = V s^-1 U^T 1 (the
    minimum-norm solution of Z_S w = 1) and alpha_S = U s^-2 U^T 1 (K_SS alpha_S = 1),
    without forming K_SS (whose condition number is the square of Z_S's)."""
    Z_S = Z[support]
    U, singular, Vt = np.linalg.svd(Z_S, full_matrices=False)
    if singular.size < support.size or (
            singular[-1] <= max(Z_S.shape) * np.finfo(float).eps * singular[0]):
        raise ArithmeticError(_DEGENERATE)
    projected = U.T @ np.ones(support.size)
    return U @ (projected / singular ** 2), Vt.T @ (projected / singular)


def _exact_on_support(Z: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha_S, w) from the sympy derivation, evaluated in exact rational arithmetic."""
    import sympy as sp

    forms = support_solution_expr(support.size, Z.shape[1])
    Z_S = sp.Matrix([[sp.Rational(float(v)) for v in row] for row in Z[support]])
    values = {forms["z"][i, j]: Z_S[i, j] for i in range(support.size) for j in range(Z.shape[1])}
    equations = forms["alpha_equations"].subs(values)
    A, b = sp.linear_eq_to_matrix(list(equations), list(forms["alpha"]))
    if A.rank() < support.size:
        raise ArithmeticError(_DEGENERATE)
    alpha = A.LUsolve(b)
    w = forms["w"].subs(values).subs(dict(zip(forms["alpha"], alpha)))
    return (np.array([float(a) for a in alpha]), np.array([float(v) for v in w]))


def _nnls_support(Z: np.ndarray) -> np.ndarray:
    """The support of the hard-margin SVM by Lawson & Hanson's least-distance programming
    (Solving Least Squares Problems, 1974, ch. 23): min |w| s.t. G w >= 1 through the
    non-negative least squares problem min_{u >= 0} |[G^T; 1^T] u - e_{d+1}|, whose
    solution gives alpha = u / (1 - 1^T u) (G = Z / max_mu |z_mu|, so that |w| >= 1). The
    active-set NNLS (``scipy.optimize.nnls``) sets u_mu to exactly 0 off its passive set,
    which is the support."""
    from scipy.optimize import nnls

    G = Z / np.linalg.norm(Z, axis=1).max()
    target = np.zeros(Z.shape[1] + 1)
    target[-1] = 1.0
    u, _ = nnls(np.vstack((G.T, np.ones(Z.shape[0]))), target)
    return np.flatnonzero(u > 0.0)


def max_margin(X, y, tol: float = 1e-9, exact: bool = False) -> MaxMargin:
    """The hard-margin SVM through the origin, w_hat = argmin 1/2 |w|^2 s.t. Z w >= 1,
    certified by its KKT conditions.

    1. Separability: a linear program (HiGHS) finds a separator or a Gordan certificate.
    2. Support: the NNLS form of the problem (:func:`_nnls_support`), a finite active-set
       method, so the support comes out exactly, not by thresholding an iterative solution.
    3. Polish and certify: on the support S, stationarity w = Z_S^T alpha_S and the active
       constraints Z_S w = 1 are solved (from the SVD of Z_S in float64, or with
       ``exact=True`` in exact rational arithmetic from the sympy derivation
       :func:`support_solution_expr`); a multiplier <= 0 leaves S, a margin below 1 - tol
       joins it, until neither happens. Then every KKT condition is measured: stationarity
       max|w - Z^T alpha| / max(1, max|w|), primal feasibility max(0, 1 - min margin), dual
       feasibility max(0, -min alpha), complementary slackness
       max|alpha (margin - 1)| / max(1, max alpha); each must be <= ``tol``.

    The exact solve costs time growing steeply with |S| and d (sympy): it is done only
    with ``exact=True``; the float64 solve agrees with it to round-off.

    Raises
    ------
    NotSeparableError
        With a certificate, if no w separates the data.
    ArithmeticError
        If the multipliers are not unique (the active samples, margin within ``tol`` of 1,
        are linearly dependent) or the KKT conditions fail by more than ``tol``.

    Solutions are cached by the data's bytes (the derived quantities of this module all
    start from it); the returned arrays are read-only.
    """
    Z = validation.signed_data(X, y)
    tol = validation.positive_scalar("tol", tol)
    if not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact must be True or False, got {exact!r}")
    return _max_margin_cached(Z.tobytes(), Z.shape, tol, bool(exact))


@lru_cache(maxsize=64)
def _max_margin_cached(z_bytes: bytes, shape: tuple[int, int], tol: float,
                       exact: bool) -> MaxMargin:
    Z = np.frombuffer(z_bytes, dtype=np.float64).reshape(shape)
    certificate = _certificate(Z)
    if certificate is not None:
        raise NotSeparableError("the data are not separable through the origin", certificate)
    on_support = _exact_on_support if exact else _numeric_on_support
    support = _nnls_support(Z)
    for _ in range(4 * Z.shape[0]):  # active-set corrections (none when NNLS is exact)
        alpha_s, w = on_support(Z, support)
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
    active = np.flatnonzero(margins <= 1.0 + tol)
    if active.size > support.size and _numeric_rank(Z[active]) < active.size:
        raise ArithmeticError(_DEGENERATE)
    alpha = np.zeros(Z.shape[0])
    alpha[support] = alpha_s
    kkt = {"stationarity": float(np.abs(w - Z.T @ alpha).max() / max(1.0, np.abs(w).max())),
           "primal_feasibility": float(max(0.0, 1.0 - margins.min())),
           "dual_feasibility": float(max(0.0, -alpha.min())),
           "complementary_slackness": float(np.abs(alpha * (margins - 1.0)).max()
                                            / max(1.0, alpha.max()))}
    if max(kkt.values()) > tol:
        raise ArithmeticError(f"KKT conditions violated: {kkt}")
    for array in (w, alpha, support):
        array.setflags(write=False)
    return MaxMargin(w, alpha, support, kkt=kkt, exact=exact)


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
    Z = validation.signed_data(X, y)
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
    Z_S = validation.signed_data(X, y)[solution.support]
    return np.linalg.pinv(Z_S) @ np.log(eta / solution.alpha[solution.support])


# --------------------------------------------------------------------------- Minnorm


@stored.expression(SETTING)
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


def _mode_samples(discrete: bool) -> list[tuple]:
    return [(0.3 + 0j, 0.05 + 0j, 2.0 + 0j), (0.9 + 0j, 1.2 + 0j, 0.1 + 0j)]


@stored.numeric(SETTING, stored=((False,), (True,)), samples=_mode_samples)
def _mode_roots(discrete: bool) -> stored.Form:
    """The roots of :func:`minnorm_mode_expr` in (eta_w, eta_lambda, kappa)."""
    forms = minnorm_mode_expr()
    return stored.Form(forms["symbols"], forms["discrete" if discrete else "continuous"])


@stored.expression(SETTING)
def minnorm_stable_step_expr() -> dict:
    """The largest stable lr_lambda b of discrete Minnorm linearized at (w_hat, alpha_hat),
    per eigenvalue kappa of K_SS, for 0 < lr_w = a < 2 (docs/max_margin.md §1b.5).

    The roots of the discrete polynomial p(nu) of :func:`minnorm_mode_expr` leave the unit
    disc, as b grows from 0, where a root crosses the unit circle: at nu = 1 (p(1) = 0), at
    nu = -1 (p(-1) = 0), or as a complex pair with |nu|^2 = nu nu_bar = p(0) = 1. Each is
    solved for b (``crossings``); with a = 2u/(1 + u), u > 0 (every a in (0, 2)), sympy
    decides the sign of each solution, and the one positive crossing is ``lr_lambda_max``
    (1/kappa). The complement span(z_S)^perp has nu = 1 - a, inside the disc for every b.
    """
    import sympy as sp

    forms = minnorm_mode_expr()
    a, b, kappa = forms["symbols"]
    nu = sp.Symbol("nu")
    polynomial = forms["discrete_polynomial"].subs(sp.Symbol("nu"), nu)
    equations = {"nu=1": polynomial.subs(nu, 1), "nu=-1": polynomial.subs(nu, -1),
                 "|nu|=1": polynomial.subs(nu, 0) - 1}
    crossings = {name: sp.solve(equation, b) for name, equation in equations.items()}
    u = sp.Symbol("u", positive=True)
    positive = [s for roots in crossings.values() for s in roots
                if sp.simplify(s.subs(a, 2 * u / (1 + u))).is_positive]
    if len(positive) != 1:
        raise ArithmeticError(f"expected one positive crossing for 0 < a < 2, got {crossings}")
    return {"symbols": (a, b, kappa), "crossings": crossings, "lr_lambda_max": positive[0]}


@stored.numeric(SETTING, samples=lambda: [(0.2, 2.0), (1.5, 0.3)])
def _stable_step() -> stored.Form:
    """lr_lambda_max(a, kappa) of :func:`minnorm_stable_step_expr`."""
    forms = minnorm_stable_step_expr()
    a, _, kappa = forms["symbols"]
    return stored.Form((a, kappa), forms["lr_lambda_max"])


def minnorm_largest_stable_lr_lambda(X, y, lr_w: float) -> float:
    """The largest lr_lambda at which discrete Minnorm is stable near (w_hat, alpha_hat):
    the smallest over kappa in spec(K_SS) of :func:`minnorm_stable_step_expr`'s bound
    (1/kappa_max(K_SS)). A necessary condition for convergence from a generic start, not a
    sufficient one: the transient can cycle between active sets below it
    (docs/max_margin.md §1b.5, §C1.9).

    Raises
    ------
    ValueError
        If lr_w is not in (0, 2), where the complement's multiplier 1 - lr_w leaves the disc.
    """
    lr_w = validation.positive_scalar("lr_w", lr_w)
    if lr_w >= 2.0:
        raise ValueError(f"lr_w must be in (0, 2) for a stable step, got {lr_w!r}")
    solution = max_margin(X, y)
    Z_S = validation.signed_data(X, y)[solution.support]
    kappas = np.linalg.eigvalsh(Z_S @ Z_S.T)
    return float(np.min(_stable_step()(np.full(kappas.shape, lr_w), kappas)))


def minnorm_eigenvalues(X, y, eta_w: float, eta_lambda: float,
                        discrete: bool = False) -> np.ndarray:
    """Spectrum of Minnorm linearized at (w_hat, alpha_hat): 2|S| modes from K_SS and
    d - |S| modes on span(z_S)^perp (-eta_w, or 1 - a for discrete). Non-support
    multipliers are not included: they reach 0 in finite time and stay there.

    Returns
    -------
    ndarray
        Shape (2|S| + d - |S|,): float64 when every eigenvalue is real, complex128 when a
        pair is complex (eta_w < 4 eta_lambda kappa for the flow), as
        ``numpy.linalg.eigvals``.
    """
    eta_w = validation.positive_scalar("eta_w", eta_w)
    eta_lambda = validation.positive_scalar("eta_lambda", eta_lambda)
    if not isinstance(discrete, (bool, np.bool_)):
        raise ValueError(f"discrete must be True or False, got {discrete!r}")
    solution = max_margin(X, y)
    Z_S = validation.signed_data(X, y)[solution.support]
    kappas = np.linalg.eigvalsh(Z_S @ Z_S.T)
    roots = _mode_roots(bool(discrete))
    pairs = np.array([roots(complex(eta_w), complex(eta_lambda), complex(k)) for k in kappas],
                     dtype=np.complex128).ravel()
    complement = np.full(Z_S.shape[1] - solution.support.size,
                         (1.0 - eta_w) if discrete else -eta_w, dtype=np.complex128)
    eigenvalues = np.concatenate((pairs, complement))
    return eigenvalues.real.copy() if np.all(eigenvalues.imag == 0.0) else eigenvalues


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
    Z = validation.signed_data(X, y)
    Z_S = Z[solution.support]
    gram = Z_S @ Z_S.T  # M's nonzero spectrum is that of D^(1/2) Z_S Z_S^T D^(1/2)
    root = np.sqrt(solution.alpha[solution.support])
    support = np.sort(np.linalg.eigvalsh(root[:, None] * gram * root[None, :]))
    non_support = np.sort(np.delete(Z @ solution.w, solution.support) - 1.0)
    gamma = float(min(support.min(), non_support.min(initial=np.inf)))
    return {"support": support, "non_support": non_support, "gamma": gamma}
