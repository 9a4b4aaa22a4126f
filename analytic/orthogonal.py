"""Closed forms for orthogonal over-parameterized training (docs/orthogonal.md).

Derived with sympy (the results stored in ``analytic._generated``):

- the Riesz mean I_s(d) = E |u - v|^-s of independent uniform u, v on S^(d-1): the law of
  t = u . v, the substitution t = 1 - 2x that turns the integral into a Beta integral
  (evaluated by ``integrate`` and ``hyperexpand``), its logarithmic limit and its large-d
  series (:func:`riesz_mean_expr`, docs/orthogonal.md §6b.2);
- the simplex bound on the energy of n unit vectors: the pair-sum identity
  sum_{i<j} |u_i - u_j|^2 = n^2 - |sum u_i|^2, the convexity of the pair potential in the
  squared distance, and the regular simplex's Gram matrix (:func:`simplex_energy_expr`,
  docs/orthogonal.md §6b.2);
- the SO(2) Procrustes problem, maximized over the angle (:func:`procrustes_two_expr`,
  docs/orthogonal.md §6b.3), which checks the singular-value rule of
  :func:`procrustes_optimum` in the plane;
- the two-iteration Cayley update of OGD as a polynomial P(W) in the skew generator, and
  its orthogonality defect P(W)^T P(W) - I (:func:`ogd_iteration_expr`,
  docs/orthogonal.md §6b.6).

:func:`procrustes_optimum` and :func:`nearest_orthogonal` evaluate the singular-value
closed forms with NumPy's SVD. Importing this module does not import sympy or numba.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytic import stored
from theory import validation

SETTING = "orthogonal"


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols of this module's expressions, by name."""
    import sympy as sp

    return {
        "s": sp.Symbol("s", positive=True),
        "d": sp.Symbol("d", positive=True),
        "n": sp.Symbol("n", positive=True, integer=True),
        "t": sp.Symbol("t", real=True),
        "x": sp.Symbol("x", positive=True),
        "alpha": sp.Symbol("alpha", positive=True),
        "w": sp.Symbol("w"),
        "lam": sp.Symbol("lam", nonnegative=True),
        "eps": sp.Symbol("epsilon", positive=True),
    }


# --------------------------------------------------------------------------- Riesz mean


def _beta_integral(a, b):
    """int_0^1 x^(a-1) (1-x)^(b-1) dx for a, b > 0, by sympy (a hypergeometric result
    expanded by Gauss's summation)."""
    import sympy as sp

    x = symbols()["x"]
    p, q = sp.Symbol("p", positive=True), sp.Symbol("q", positive=True)
    value = sp.hyperexpand(sp.integrate(x ** (p - 1) * (1 - x) ** (q - 1), (x, 0, 1),
                                        conds="none"))
    return sp.gammasimp(value.subs({p: a, q: b}))


def _in_beta_form(integrand, a, b):
    """The constant c with integrand = c x^(a-1) (1-x)^(b-1) on 0 < x < 1, checked to be
    free of x: x = z/(1 + z) with z > 0 makes every base positive, so sympy may split
    powers of products."""
    import sympy as sp

    x = symbols()["x"]
    z = sp.Symbol("z", positive=True)
    ratio = (integrand / (x ** (a - 1) * (1 - x) ** (b - 1))).subs(x, z / (1 + z))
    ratio = ratio.replace(lambda e: e.is_Pow, lambda e: sp.factor(e.base) ** e.exp)
    ratio = sp.simplify(sp.powsimp(sp.expand_power_base(ratio, force=True), force=True))
    if z in ratio.free_symbols:
        raise ArithmeticError(f"the integrand is not of Beta form: ratio {ratio}")
    return ratio


def _log_gamma_form(expr):
    """log(expr) with every Gamma(x) written exp(log Gamma(x)) and the logarithm expanded:
    a sum of log-Gammas, logarithms and constants (no overflow at large arguments, and the
    form whose series at d = oo sympy knows, by Stirling's)."""
    import sympy as sp

    exponential = expr.replace(sp.gamma, lambda argument: sp.exp(sp.loggamma(argument)))
    return sp.expand_log(sp.log(exponential), force=True)


@stored.expression(SETTING)
def riesz_mean_expr() -> dict:
    """E |u - v|^-s for independent uniform u, v on S^(d-1) (docs/orthogonal.md §6b.2).

    The inner product t = u . v has density proportional to (1 - t^2)^((d-3)/2) on [-1, 1]
    (the slice of the sphere at height t), and |u - v|^2 = 2 - 2t. With t = 1 - 2x both the
    normalization and the moment become Beta integrals. Returns ``density`` (normalized, in
    t), ``mean`` I_s(d) (valid for 0 < s < d - 1, where the integral converges at t = 1),
    ``log_mean`` E log(1/|u - v|) = dI_s/ds at s = 0, and ``large_d`` (the series of
    I_s(d) 2^(s/2) in 1/d to second order, as a polynomial in s and 1/d).
    """
    import sympy as sp

    sym = symbols()
    s, d, t, x, eps = sym["s"], sym["d"], sym["t"], sym["x"], sym["eps"]
    weight = (1 - t ** 2) ** ((d - 3) / 2)
    moment = (2 - 2 * t) ** (-s / 2) * weight

    def integral(integrand_t, a, b):
        integrand_x = integrand_t.subs(t, 1 - 2 * x) * 2  # |dt/dx| = 2, x from 0 to 1
        return _in_beta_form(integrand_x, a, b) * _beta_integral(a, b)

    normalization = integral(weight, (d - 1) / 2, (d - 1) / 2)
    mean = sp.gammasimp(sp.combsimp(integral(moment, (d - 1 - s) / 2, (d - 1) / 2)
                                    / normalization))
    log_mean = sp.simplify(sp.diff(mean, s).subs(s, 0))
    log_scaled = _log_gamma_form(mean * 2 ** (s / 2))
    series = sp.series(sp.exp(sp.series(log_scaled.subs(d, 1 / eps), eps, 0, 3).removeO()),
                       eps, 0, 3).removeO()
    return {"density": sp.simplify(weight / normalization), "mean": mean,
            "log_mean": log_mean, "large_d": sp.expand(series.subs(eps, 1 / d))}


def _riesz_samples() -> list[tuple]:
    return [(1.0, 3.0), (2.0, 10.0), (0.5, 2.0), (2.0, 1000.0), (3.5, 7.0)]


@stored.numeric(SETTING, samples=_riesz_samples)
def _riesz_mean() -> stored.Form:
    """I_s(d) as exp of log-Gammas (no overflow at large d), for the ``math`` printer."""
    import sympy as sp

    sym = symbols()
    mean = riesz_mean_expr()["mean"]
    return stored.Form((sym["s"], sym["d"]), sp.exp(_log_gamma_form(mean)), printer="math")


@stored.numeric(SETTING, samples=_riesz_samples)
def _riesz_large_d() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["s"], sym["d"]), riesz_mean_expr()["large_d"] * 2 ** (-sym["s"] / 2))


def _riesz_arguments(s: float, d: float) -> tuple[float, int]:
    d = validation.count("d", d, minimum=2)
    s = validation.positive_scalar("s", s)
    if s >= d - 1:
        raise ValueError(f"s must be below d - 1 = {d - 1} (the mean is infinite for "
                         f"s >= d - 1), got {s}")
    return s, d


def riesz_mean_energy(s: float, d: int) -> float:
    """I_s(d) = E |u - v|^-s for independent uniform u, v on S^(d-1) (docs/orthogonal.md
    §6b.2):

        I_s(d) = 2^(d-2-s) Gamma(d/2) Gamma((d-1-s)/2) / (sqrt(pi) Gamma(d-1-s/2)),

    for 0 < s < d - 1 and an integer d >= 2 (sympy: :func:`riesz_mean_expr`), evaluated
    through log-Gammas.
    """
    s, d = _riesz_arguments(s, d)
    return float(_riesz_mean()(s, d))


def riesz_mean_energy_large_d(s: float, d: int) -> float:
    """The large-d series of I_s(d) to second order: 2^(-s/2) (1 + s(s+2)/(8d) +
    s(s+2)(s^2+10s+24)/(128 d^2)) (sympy, :func:`riesz_mean_expr`; docs/orthogonal.md
    §6b.2). Arguments as in :func:`riesz_mean_energy`."""
    s, d = _riesz_arguments(s, d)
    return float(_riesz_large_d()(s, d))


def mean_random_energy(n: int, s: float, d: int) -> float:
    """E E_s of n iid isotropic neurons in R^d: n(n-1)/2 I_s(d) (the energy over unordered
    pairs, as :func:`theory.orthogonal.hyperspherical_energy`; docs/orthogonal.md §6b.2)."""
    n = validation.count("n", n, minimum=2)
    return 0.5 * n * (n - 1) * riesz_mean_energy(s, d)


# --------------------------------------------------------------------------- simplex bound


@stored.expression(SETTING)
def simplex_energy_expr() -> dict:
    """The minimum energy of n unit vectors when n <= d + 1 (docs/orthogonal.md §6b.2).

    With S = sum_{i<j} u_i . u_j: sum_{i<j} |u_i - u_j|^2 = n(n-1) - 2S and
    |sum u_i|^2 = n + 2S, so the pair sum is n^2 - |sum u_i|^2 <= n^2 (``pair_sum``,
    ``pair_sum_identity`` = 0). The potential phi(r2) = r2^(-s/2) (and -log(r2)/2 for s = 0)
    is decreasing and convex in the squared distance (``phi_prime``, ``phi_second``), so by
    Jensen E_s >= n(n-1)/2 phi(mean r2) >= n(n-1)/2 phi(2n/(n-1)), with equality iff every
    squared distance is 2n/(n-1) and sum u_i = 0: the regular simplex, Gram matrix
    (n I - 1 1^T)/(n-1), which needs n <= d + 1. Returns those and ``distance_squared``,
    ``energy``, ``log_energy`` (s = 0).
    """
    import sympy as sp

    sym = symbols()
    n, s = sym["n"], sym["s"]
    S, r2 = sp.Symbol("S", real=True), sp.Symbol("r2", positive=True)
    pair_sum = n * (n - 1) - 2 * S
    sum_squared = n + 2 * S
    identity = sp.simplify(pair_sum - (n ** 2 - sum_squared))
    phi = r2 ** (-s / 2)
    pairs = n * (n - 1) / 2
    mean_bound = sp.simplify((n ** 2) / pairs)
    gram_off_diagonal = -1 / (n - 1)  # (n I - 1 1^T)/(n - 1) off the diagonal
    simplex_r2 = sp.simplify(2 - 2 * gram_off_diagonal)
    simplex_sum = sp.simplify(n + n * (n - 1) * gram_off_diagonal)  # 1^T G 1 = |sum u|^2
    if sp.simplify(simplex_r2 - mean_bound) != 0 or simplex_sum != 0:
        raise ArithmeticError("the simplex does not attain the mean bound")
    return {"pair_sum": n ** 2 - sp.Symbol("sum_squared", nonnegative=True),
            "pair_sum_identity": identity,
            "phi_prime": sp.simplify(sp.diff(phi, r2)),
            "phi_second": sp.simplify(sp.diff(phi, r2, 2)),
            "distance_squared": simplex_r2,
            "energy": sp.simplify(pairs * phi.subs(r2, simplex_r2)),
            "log_energy": sp.simplify(pairs * (-sp.log(r2) / 2).subs(r2, simplex_r2))}


def _simplex_samples() -> list[tuple]:
    return [(2, 1.0), (4, 2.0), (8, 1.0), (64, 0.5)]


@stored.numeric(SETTING, samples=_simplex_samples)
def _simplex_energy() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["n"], sym["s"]), simplex_energy_expr()["energy"])


@stored.numeric(SETTING, samples=lambda: [(2,), (5,), (100,)])
def _simplex_log_energy() -> stored.Form:
    return stored.Form((symbols()["n"],), simplex_energy_expr()["log_energy"])


def simplex_energy_bound(n: int, s: float) -> float:
    """The lower bound n(n-1)/2 (2n/(n-1))^(-s/2) on the energy of n unit vectors (s = 0:
    -n(n-1)/4 log(2n/(n-1))), attained, and so the minimum, exactly when n <= d + 1 by the
    regular simplex (docs/orthogonal.md §6b.2; sympy: :func:`simplex_energy_expr`). Holds in
    every dimension; for n > d + 1 it is not attained."""
    n = validation.count("n", n, minimum=2)
    s = validation.nonnegative_scalar("s", s)
    if s == 0.0:
        return float(_simplex_log_energy()(n))
    return float(_simplex_energy()(n, s))


def random_to_minimum_ratio(n: int, s: float, d: int) -> float:
    """E E_s(random) / E_min = I_s(d) (2n/(n-1))^(s/2) for n <= d + 1 (docs/orthogonal.md
    §6b.2); for n > d + 1 the ratio to the (unattained) simplex bound."""
    n = validation.count("n", n, minimum=2)
    return mean_random_energy(n, s, d) / simplex_energy_bound(n, s)


def simplex_gram(n: int) -> np.ndarray:
    """The Gram matrix (n I - 1 1^T)/(n - 1) of the regular simplex of n unit vectors."""
    n = validation.count("n", n, minimum=2)
    return (n * np.eye(n) - np.ones((n, n))) / (n - 1)


def simplex_vectors(n: int, d: int) -> np.ndarray:
    """n unit vectors in R^d (the columns, d >= n - 1) with Gram matrix :func:`simplex_gram`,
    from its eigendecomposition."""
    n = validation.count("n", n, minimum=2)
    d = validation.count("d", d)
    if n > d + 1:
        raise ValueError(f"n must be at most d + 1 = {d + 1} for a regular simplex, got {n}")
    values, vectors = np.linalg.eigh(simplex_gram(n))
    keep = values > 0.5  # the eigenvalue n/(n - 1), n - 1 times; the other one is 0
    root = (vectors[:, keep] * np.sqrt(values[keep])).T
    out = np.zeros((d, n))
    out[:root.shape[0]] = root
    return out


# --------------------------------------------------------------------------- Procrustes


@stored.expression(SETTING)
def procrustes_two_expr() -> dict:
    """max over R in SO(2) of tr(R^T M), M = T V^T (docs/orthogonal.md §6b.3): with
    R(theta) the rotation, tr(R^T M) = (m11 + m22) cos theta + (m21 - m12) sin theta;
    at ``angle`` theta* = atan2(m21 - m12, m11 + m22) its derivative vanishes and its second
    derivative is minus its value, so ``max_trace`` = sqrt((m11 + m22)^2 + (m21 - m12)^2);
    ``singular_identity`` = max_trace^2 - (|M|_F^2 + 2 det M) simplifies to 0: the maximum
    is sigma_1 + sign(det M) sigma_2, the rule of :func:`procrustes_optimum` in the plane.
    """
    import sympy as sp

    theta = sp.Symbol("theta", real=True)
    m = sp.Matrix(2, 2, sp.symbols("m11 m12 m21 m22", real=True))
    rotation = sp.Matrix([[sp.cos(theta), -sp.sin(theta)], [sp.sin(theta), sp.cos(theta)]])
    trace = sp.expand((rotation.T * m).trace())
    a, b = m[0, 0] + m[1, 1], m[1, 0] - m[0, 1]
    if sp.simplify(trace - (a * sp.cos(theta) + b * sp.sin(theta))) != 0:
        raise ArithmeticError("unexpected form of tr(R^T M)")
    # cos(theta*) = a/r, sin(theta*) = b/r, r = sqrt(a^2 + b^2): stationary, and a maximum
    r = sp.sqrt(a ** 2 + b ** 2)
    at_angle = {sp.cos(theta): a / r, sp.sin(theta): b / r}
    slope = sp.simplify(sp.diff(trace, theta).subs(at_angle))
    curvature = sp.simplify(sp.diff(trace, theta, 2).subs(at_angle))
    maximum = sp.simplify(trace.subs(at_angle))
    if slope != 0 or sp.simplify(curvature + maximum) != 0:
        raise ArithmeticError("theta* is not the maximizer of tr(R^T M)")
    identity = sp.simplify(sp.expand(maximum ** 2 - (sum(v ** 2 for v in m) + 2 * m.det())))
    return {"trace": trace, "angle": sp.atan2(b, a), "max_trace": maximum,
            "singular_identity": identity}


def procrustes_optimum(V, T, special: bool = False, *, determinant: int | None = None
                       ) -> tuple[np.ndarray, float]:
    """(R*, value) of min over R in O(d) of 1/2 |R V - T|_F^2 (docs/orthogonal.md §6b.3).

    With T V^T = U Sigma W^T: 1/2 |R V - T|^2 = 1/2 (|V|^2 + |T|^2) - tr(R^T T V^T), and
    tr(R^T U Sigma W^T) = sum sigma_i z_ii with Z = W^T R^T U orthogonal, so R* = U W^T and
    value = 1/2 (|V|^2 + |T|^2) - sum sigma_i. Restricted to det R = +1 (``special``, SO(d))
    or to ``determinant`` = -1: if det(U W^T) has the other sign the smallest singular
    direction is flipped, R* = U diag(1, ..., 1, -1) W^T and the value grows by 2 sigma_min.
    The SVD is NumPy's; with a repeated sigma_min under a flip, R* is not unique.
    """
    V = validation.finite_matrix("V", V)
    T = validation.finite_matrix("T", T)
    if V.shape != T.shape:
        raise ValueError(f"V and T must have the same shape (d x N), got {V.shape} and {T.shape}")
    if special and determinant not in (None, 1):
        raise ValueError(f"special=True means determinant=1, got determinant={determinant!r}")
    if determinant not in (None, 1, -1):
        raise ValueError(f"determinant must be None, 1 or -1, got {determinant!r}")
    sign = 1 if special else determinant
    U, sigma, Wt = np.linalg.svd(T @ V.T)
    flips = np.ones(sigma.size)
    if sign is not None and np.sign(np.linalg.det(U) * np.linalg.det(Wt)) != sign:
        flips[-1] = -1.0
    R = (U * flips) @ Wt
    value = 0.5 * (np.sum(V ** 2) + np.sum(T ** 2)) - float(flips @ sigma)
    return R, float(value)


def nearest_orthogonal(A) -> tuple[np.ndarray, float]:
    """(Q*, |A - Q*|_F) for Q* = argmin over O(d) of |A - Q|_F: the polar factor U W^T of
    A = U Sigma W^T, at distance sqrt(sum (sigma_i - 1)^2) (docs/orthogonal.md §6b.3; the
    Procrustes problem with V = I, T = A)."""
    A = validation.square_matrix("A", A)
    U, sigma, Wt = np.linalg.svd(A)
    return U @ Wt, float(np.sqrt(np.sum((sigma - 1.0) ** 2)))


# --------------------------------------------------------------------------- OGD iteration


@stored.expression(SETTING)
def ogd_iteration_expr() -> dict:
    """The OGD update of the OPT code as a polynomial in the skew generator W
    (docs/orthogonal.md §6b.6). With M+ = W R, Y_0 = R + alpha M+ and Y_(k+1) = R +
    alpha/2 W (R + Y_k), R+ = Y_2 = P(W) R (``polynomial``, in a scalar w standing for W:
    every term is a power of W times R). Since W^T = -W, P(W)^T = P(-W), so R+^T R+ =
    R^T P(-W) P(W) R and ``defect`` = P(-w) P(w) - 1. The exact Cayley retraction
    C(w) = (1 + alpha w/2)/(1 - alpha w/2) has C(-w) C(w) = 1 (``cayley_defect`` = 0).
    ``defect_in_lam``: the defect on an eigenvector of W^T W = -W^2 with eigenvalue lam.
    """
    import sympy as sp

    sym = symbols()
    alpha, w, lam = sym["alpha"], sym["w"], sym["lam"]
    Y = 1 + alpha * w
    for _ in range(2):
        Y = sp.expand(1 + alpha / 2 * w * (1 + Y))
    defect = sp.expand(Y.subs(w, -w) * Y - 1)
    cayley = (1 + alpha * w / 2) / (1 - alpha * w / 2)
    cayley_defect = sp.simplify(cayley.subs(w, -w) * cayley - 1)
    in_lam = sp.expand(defect.subs(w ** 2, -lam).subs(w, sp.sqrt(-lam)))
    return {"polynomial": Y, "defect": defect, "cayley_defect": cayley_defect,
            "defect_in_lam": in_lam}


@stored.numeric(SETTING, samples=lambda: [(0.1, 2.0), (1e-3, 40.0), (0.5, 4.0)])
def _ogd_defect() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["alpha"], sym["lam"]), ogd_iteration_expr()["defect_in_lam"])


def iterative_ogd_defect(W, alpha) -> np.ndarray:
    """P(W)^T P(W) - I of the two-iteration OGD update with skew generator ``W`` and step
    ``alpha`` (docs/orthogonal.md §6b.6): -alpha^4/4 W^4 - alpha^6/16 W^6, computed as
    g(W^T W) with g(lam) = -alpha^4 lam^2/4 + alpha^6 lam^3/16 (sympy,
    :func:`ogd_iteration_expr`). So one step from an orthogonal R leaves the defect
    |R+^T R+ - I|_F = |g(W^T W)|_F = O((alpha |W|)^4)."""
    W = validation.square_matrix("W", W)
    if not np.allclose(W, -W.T, rtol=0.0, atol=1e-12 * max(1.0, np.abs(W).max())):
        raise ValueError("W must be skew-symmetric")
    alpha = validation.positive_scalar("alpha", alpha)
    values, vectors = np.linalg.eigh(W.T @ W)
    g = _ogd_defect()(alpha, np.maximum(values, 0.0))
    return (vectors * g) @ vectors.T


def iterative_ogd_defect_norm(W, alpha) -> float:
    """|P(W)^T P(W) - I|_F (:func:`iterative_ogd_defect`)."""
    return float(np.linalg.norm(iterative_ogd_defect(W, alpha)))

