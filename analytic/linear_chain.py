"""Closed forms for the linear chain y_hat = p x, p = w_1 ... w_L (docs/linear_chain.md).

Every formula here is derived with sympy from the model's vector field (see
``theory.linear_chain``) the first time it is needed, cached, and exposed twice:
as a sympy expression (``*_expr`` functions) and as a numeric function. Nothing is
typed in as a finished formula; the derivations are:

- the min-norm interpolant: stationarity of 1/2 sum w_i^2 - lambda (prod w - p*)
  gives w_i^2 = lambda p for every i, then ``solve`` m^L = p*;
- the imbalance dynamics d/dt (w_i^2 - w_j^2) from the vector field, then ``dsolve``;
- the gradient-descent limit from the conserved imbalances (``solve`` for L = 2);
- the L2 fixed points on the balanced line, their stability from the full Jacobian,
  the product bias by implicit differentiation (``idiff``), the existence threshold
  by maximizing the fixed-point equation;
- the Minnorm fixed point (``solve``), the eigenvalues of its linearization (the
  2x2 symmetric block and the imbalance modes), and the damping threshold (``solve``
  trace = 0).

The derivations' results are stored in ``analytic._generated`` (``python -m
analytic.generate`` re-derives and writes them; ``.derive()`` on a ``*_expr`` function, or
``analytic.live()``, derives with sympy). Importing this module does not import sympy, and
the numeric functions do not either: they run generated NumPy code.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np

from analytic import stored
from theory import validation

SETTING = "linear_chain"
Algorithm = Literal["gd", "l2", "minnorm"]
ALGORITHMS: tuple[str, ...] = ("gd", "l2", "minnorm")
STORED_DEPTHS: tuple[int, ...] = tuple(range(1, 9))
"""Depths whose depth-specific forms are stored; other depths are derived on first use."""


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols used in every expression of this module, by name."""
    import sympy as sp

    return {
        "L": sp.Symbol("L", positive=True, integer=True),
        "p_star": sp.Symbol("p_star", positive=True),
        "sigma": sp.Symbol("sigma", positive=True),
        "eta": sp.Symbol("eta", positive=True),
        "eta_w": sp.Symbol("eta_w", positive=True),
        "eta_lambda": sp.Symbol("eta_lambda", positive=True),
        "beta": sp.Symbol("beta", nonnegative=True),
        "c": sp.Symbol("c", nonnegative=True),
        "lr": sp.Symbol("lr", positive=True),
        "t": sp.Symbol("t", nonnegative=True),
    }


def _positive_p_star(p_star: float) -> float:
    p = validation.finite_scalar("p_star", p_star)
    if p <= 0.0:
        raise ValueError(f"p_star must be positive here, got {p} (for p* < 0 flip the sign "
                         "of w_1: the dynamics are symmetric under w_1 -> -w_1, p* -> -p*)")
    return p


# --------------------------------------------------------------------------- min-norm point


@stored.expression(SETTING)
def min_norm_expr() -> dict:
    """Derivation of the min-norm interpolant (p* > 0).

    Returns sympy expressions: ``stationary_weights`` (the roots w_i of the
    stationarity condition, +-sqrt(lambda p)), ``magnitude`` |w_i| = p*^(1/L),
    ``multiplier`` lambda* and ``norm_squared`` ||w||^2.
    """
    import sympy as sp

    s = symbols()
    L, p_star = s["L"], s["p_star"]
    w_i, lam, prod = sp.Symbol("w_i", real=True), sp.Symbol("lambda"), sp.Symbol("p", positive=True)
    # d/dw_i [1/2 sum w^2 - lambda (prod w - p*)] = w_i - lambda prod / w_i = 0
    stationary = sp.solve(sp.Eq(w_i - lam * prod / w_i, 0), w_i)
    # every w_i^2 equals lambda p, so all |w_i| are equal: m^L = p*
    m = sp.Symbol("m", positive=True)
    magnitude = sp.solve(sp.Eq(m ** L, p_star), m)[0]
    multiplier = sp.solve(sp.Eq(magnitude ** 2, lam * p_star), lam)[0]
    return {"stationary_weights": stationary, "magnitude": magnitude,
            "multiplier": sp.simplify(multiplier), "norm_squared": sp.simplify(L * magnitude ** 2)}


def _depth_samples() -> list[tuple]:
    return [(0.3, 1), (2.0, 3), (1.7, 5)]


@stored.numeric(SETTING, samples=_depth_samples)
def _min_norm_magnitude() -> stored.Form:
    s = symbols()
    return stored.Form((s["p_star"], s["L"]), min_norm_expr()["magnitude"])


@stored.numeric(SETTING, samples=_depth_samples)
def _min_norm_multiplier() -> stored.Form:
    s = symbols()
    return stored.Form((s["p_star"], s["L"]), min_norm_expr()["multiplier"])


def min_norm_solution(p_star: float, depth: int) -> np.ndarray:
    """The min-norm interpolant: argmin 1/2 ||w||^2 subject to prod_i w_i = p*.

    |w_i| = |p*|^(1/L) for every i (balanced). The sign pattern is canonical: all
    positive for p* > 0; w_1 negative for p* < 0 (every pattern with an odd number of
    negative weights is an equally good minimizer). p* = 0 gives w = 0.
    """
    p = validation.finite_scalar("p_star", p_star)
    L = validation.depth(depth)
    w = np.full(L, float(_min_norm_magnitude()(abs(p), L)) if p != 0.0 else 0.0)
    if p < 0.0:
        w[0] = -w[0]
    return w


def min_norm_multiplier(p_star: float, depth: int) -> float:
    """lambda* = p*^(2/L - 1), the Lagrange multiplier at the min-norm point (p* > 0)."""
    p, L = _positive_p_star(p_star), validation.depth(depth)
    return float(_min_norm_multiplier()(p, L))


def distance_to_min_norm(w, p_star: float) -> np.ndarray:
    """||w - w_MN|| for each row of ``w`` (shape (n, L) or (L,)).

    w_MN has the canonical signs of :func:`min_norm_solution` (all positive for p* > 0);
    for other sign patterns flip the signs of ``w`` first.
    """
    w = validation.finite_array("w", w)
    if w.ndim == 0:
        raise ValueError("w must have at least one dimension (the weights are its last axis)")
    target = min_norm_solution(p_star, w.shape[-1])
    return np.linalg.norm(w - target, axis=-1)


# --------------------------------------------------------------------------- imbalances


@lru_cache(maxsize=None)
def _pair_field():
    """The vector field of two weights w_i, w_j with Q = product of the others (any L)."""
    import sympy as sp

    s = symbols()
    w_i, w_j, Q, lam = sp.symbols("w_i w_j Q lambda", real=True)
    r = s["p_star"] - w_i * w_j * Q
    error = lam + s["c"] * s["sigma"] * r
    dw_i = s["eta_w"] * (error * w_j * Q - s["beta"] * w_i)
    dw_j = s["eta_w"] * (error * w_i * Q - s["beta"] * w_j)
    return w_i, w_j, Q, lam, dw_i, dw_j


def _specialize(expr, algorithm: Algorithm):
    """Substitute the algorithm's parameters into a unified-field expression."""
    s = symbols()
    if algorithm == "gd":
        return expr.subs({s["beta"]: 0, s["c"]: 1}).subs(s["eta_w"], s["eta"])
    if algorithm == "l2":
        return expr.subs(s["c"], 1).subs(s["eta_w"], s["eta"])
    if algorithm == "minnorm":
        return expr.subs(s["beta"], 1)
    raise ValueError(f"algorithm must be 'gd', 'l2' or 'minnorm', got {algorithm!r}")


def _algorithm(algorithm: Algorithm) -> tuple[str]:
    """(algorithm,) if it is one of :data:`ALGORITHMS`, else ValueError."""
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be 'gd', 'l2' or 'minnorm', got {algorithm!r}")
    return (algorithm,)


_BY_ALGORITHM = tuple((a,) for a in ALGORITHMS)


@stored.expression(SETTING, stored=_BY_ALGORITHM, canonical=_algorithm)
def imbalance_rate_expr(algorithm: Algorithm):
    """k such that d/dt (w_i^2 - w_j^2) = k (w_i^2 - w_j^2), exactly, for every L.

    Derived from the vector field: 0 (GD), -2 eta beta (L2), -2 eta_w (Minnorm, any c).
    """
    import sympy as sp

    w_i, w_j, _, _, dw_i, dw_j = _pair_field()
    derivative = 2 * w_i * dw_i - 2 * w_j * dw_j
    rate = sp.simplify(sp.cancel(derivative / (w_i ** 2 - w_j ** 2)))
    if rate.has(w_i) or rate.has(w_j):
        raise ArithmeticError(f"imbalance dynamics are not closed: {rate}")
    return sp.simplify(_specialize(rate, algorithm))


@stored.expression(SETTING, stored=_BY_ALGORITHM, canonical=_algorithm)
def imbalance_solution_expr(algorithm: Algorithm):
    """D(t) = w_i(t)^2 - w_j(t)^2 from ``dsolve`` with D(0) = D0."""
    import sympy as sp

    s = symbols()
    D, D0 = sp.Function("D"), sp.Symbol("D0", real=True)
    ode = sp.Eq(D(s["t"]).diff(s["t"]), imbalance_rate_expr(algorithm) * D(s["t"]))
    return sp.dsolve(ode, D(s["t"]), ics={D(0): D0}).rhs


def _imbalance_samples(algorithm: Algorithm) -> list[tuple]:
    return [(0.7, 0.0, 1.3, 0.2), (-1.1, 2.5, 0.4, 0.0), (2.0, 0.3, 1.0, 1.5)]


@stored.numeric(SETTING, stored=_BY_ALGORITHM, samples=_imbalance_samples)
def _imbalance(algorithm: Algorithm) -> stored.Form:
    import sympy as sp

    s = symbols()
    rate = "eta_w" if algorithm == "minnorm" else "eta"
    return stored.Form((sp.Symbol("D0", real=True), s["t"], s[rate], s["beta"]),
                        imbalance_solution_expr(algorithm))


def imbalances(w0, t, algorithm: Algorithm = "gd", eta: float = 1.0,
               beta: float = 0.0) -> np.ndarray:
    """w_i(t)^2 - w_1(t)^2 for i = 1..L along the flow of ``algorithm``.

    ``t`` is a time or an array of times; the result has shape ``t.shape + (L,)`` (a
    scalar time gives shape (L,)). ``eta`` is eta for GD and L2 and eta_w for Minnorm;
    ``beta`` is used by L2 only.
    """
    w0 = validation.finite_vector("w0", w0)
    times = validation.finite_array("t", t)
    flat = times.ravel()
    eta = validation.positive_scalar("eta", eta)
    beta = validation.nonnegative_scalar("beta", beta)
    (algorithm,) = _algorithm(algorithm)
    d0 = w0 ** 2 - w0[0] ** 2
    values = _imbalance(algorithm)(d0[None, :], flat[:, None], eta, beta)
    values = np.broadcast_to(values, (flat.size, w0.size)).astype(np.float64)
    return values.reshape(times.shape + (w0.size,))


@stored.expression(SETTING)
def gd_discrete_imbalance_increment_expr():
    """Change of w_i^2 - w_j^2 in one gradient-descent step of size ``lr`` (docs/linear_chain.md §2b.1).

    Expanding (w_i + lr sigma r g_i)^2 - (w_j + lr sigma r g_j)^2 with w_i g_i = w_j g_j = p
    leaves lr^2 sigma^2 r^2 (g_i^2 - g_j^2): discrete GD does not conserve the imbalances.
    """
    import sympy as sp

    s = symbols()
    w_i, w_j, Q, lam, dw_i, dw_j = _pair_field()
    step_i = _specialize(dw_i, "gd").subs(s["eta"], s["lr"]).subs(lam, 0)
    step_j = _specialize(dw_j, "gd").subs(s["eta"], s["lr"]).subs(lam, 0)
    change = (w_i + step_i) ** 2 - (w_j + step_j) ** 2 - (w_i ** 2 - w_j ** 2)
    return sp.factor(sp.expand(change))


def _increment_samples() -> list[tuple]:
    return [(1.2, 0.5, 0.9, 0.1, 1.3, 2.0), (-0.7, 1.1, 2.0, 0.02, 0.5, -1.0)]


@stored.numeric(SETTING, samples=_increment_samples)
def _increment() -> stored.Form:
    expr = gd_discrete_imbalance_increment_expr()
    free = {s.name: s for s in expr.free_symbols}
    names = ("w_i", "w_j", "Q", "lr", "sigma", "p_star")
    return stored.Form(tuple(free[n] for n in names), expr)


def gd_discrete_imbalance_increment(w, p_star: float, lr: float,
                                    sigma: float = 1.0) -> np.ndarray:
    """Change of w_i^2 - w_1^2 (i = 1..L) in one gradient-descent step from ``w``.

    ``w`` has shape (L,) or (n, L); the result has the same shape (first column 0).
    Evaluates :func:`gd_discrete_imbalance_increment_expr` with Q = p / (w_i w_1).
    """
    w = validation.finite_array("w", w)
    if w.ndim == 0 or w.shape[-1] < 2 or np.any(w == 0.0):
        raise ValueError("w must be finite and nonzero, with at least 2 weights")
    lr = validation.positive_scalar("lr", lr)
    sigma = validation.positive_scalar("sigma", sigma)
    p_star = validation.finite_scalar("p_star", p_star)
    p = np.prod(w, axis=-1, keepdims=True)
    w_1 = w[..., :1]
    out = np.array(_increment()(w, w_1, p / (w * w_1), lr, sigma, p_star), dtype=np.float64)
    out[..., 0] = 0.0
    return out


# --------------------------------------------------------------------------- GD limit


@stored.expression(SETTING)
def gd_limit_expr():
    """w_1^2 at the GD limit for L = 2, with C = w_2(0)^2 - w_1(0)^2 conserved.

    ``solve`` s (s + C) = p*^2 for s = w_1^2 and keep the root with s >= max(0, -C).
    """
    import sympy as sp

    s_, C = sp.Symbol("s", real=True), sp.Symbol("C", real=True)
    roots = sp.solve(sp.Eq(s_ * (s_ + C), symbols()["p_star"] ** 2), s_)
    # the admissible root is the one that is positive at C = 0
    return next(r for r in roots if r.subs({C: 0, symbols()["p_star"]: 1}) > 0)


@stored.numeric(SETTING, samples=lambda: [(0.5, 2.0), (-1.2, 0.7), (0.0, 1.0)])
def _gd_limit_two() -> stored.Form:
    import sympy as sp

    return stored.Form((sp.Symbol("C", real=True), symbols()["p_star"]), gd_limit_expr())


def gd_limit(w0, p_star: float, sigma: float = 1.0) -> np.ndarray:
    """The limit of gradient flow from ``w0`` (docs/linear_chain.md §2b.2, §C2.1).

    The imbalances C_i = w_i^2 - w_1^2 are conserved (:func:`imbalance_rate_expr`), so the
    limit is w_i^2 = s + C_i with prod_i w_i^2 = p*^2: exact (``solve``) for L = 2, the
    unique root of sum_i log(s + C_i) = 2 log|p*| for L >= 3. A weight can change sign
    only if it is the unique smallest in magnitude; if the initial sign pattern has the
    wrong product sign and the smallest weight is not unique, the flow does not reach p*
    and ValueError is raised. ``sigma`` > 0 rescales time only and does not change the limit.
    For discrete GD this is the small-step limit (each step adds lr^2 drift).
    """
    w0 = validation.finite_vector("w0", w0)
    p = validation.finite_scalar("p_star", p_star)
    validation.positive_scalar("sigma", sigma)
    if p == 0.0:
        raise ValueError("p_star must be nonzero (the limit set p = 0 is not a single point)")
    if w0.size >= 2 and np.count_nonzero(w0 == 0.0) >= 2:
        raise ValueError("w0 has two or more zero weights: the gradient vanishes there, and "
                         "gradient flow stays at this saddle")
    signs = np.where(w0 < 0.0, -1.0, 1.0)
    if np.prod(signs) != np.sign(p):
        smallest = np.flatnonzero(np.abs(w0) == np.abs(w0).min())
        if smallest.size != 1:
            raise ValueError("gradient flow from this w0 does not reach p*: the product has the "
                             "wrong sign and no weight is uniquely smallest to cross zero")
        signs[smallest[0]] *= -1.0
    C = w0 ** 2 - w0[0] ** 2
    if w0.size == 1:
        return np.array([p])
    if w0.size == 2:
        s = float(_gd_limit_two()(C[1], abs(p)))
    else:
        # s >= -min C keeps every w_i^2 = s + C_i >= 0; the log-sum increases monotonically in s
        lower = -C.min()
        def gap(s_: float) -> float:
            return float(np.sum(np.log(s_ + C))) - 2.0 * np.log(abs(p))
        start = lower + max(1e-300, 1e-15 * lower)
        upper = lower + 1.0
        while gap(upper) < 0.0:
            upper = lower + 2.0 * (upper - lower)
        from scipy.optimize import brentq

        s = brentq(gap, start, upper, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    return signs * np.sqrt(s + C)


# --------------------------------------------------------------------------- L2


@stored.expression(SETTING)
def l2_balanced_equation_expr() -> dict:
    """The balanced L2 fixed points p = v^L (docs/linear_chain.md §2b.4).

    Returns ``equation`` (sigma (p* - p) p^(1 - 2/L) - beta, zero at a nonzero balanced
    fixed point, from the vector field on w_i = v), ``p_peak`` (where its left side peaks,
    from ``solve``), ``beta_max`` (the peak value; no nonzero fixed point above it), and
    ``bias_first_order`` (p* - p_beta to first order in beta, by ``idiff``).
    """
    import sympy as sp

    s = symbols()
    L, p_star, sigma, beta = s["L"], s["p_star"], s["sigma"], s["beta"]
    v, p = sp.Symbol("v", positive=True), sp.Symbol("p", positive=True)
    w_i, w_j, Q, lam, dw_i, _ = _pair_field()
    balanced = sp.simplify(_specialize(dw_i, "l2").subs({w_i: v, w_j: v, Q: v ** (L - 2),
                                                          lam: 0}))
    # balanced field / (eta v) with v^L = p
    equation = sp.simplify(sp.expand_power_base(balanced / (s["eta"] * v)).subs(v, p ** (1 / L)))
    drive = equation + beta
    peaks = sp.solve(sp.diff(drive, p), p)
    p_peak = peaks[0] if peaks else sp.Integer(0)
    bias = sp.simplify(-sp.idiff(equation, p, beta).subs(p, p_star))
    return {"balanced_field": balanced, "equation": equation, "p_peak": p_peak,
            "beta_max": sp.simplify(drive.subs(p, p_peak)), "bias_first_order": bias * beta}


def _jacobian_samples(depth: int) -> list[tuple]:
    rng = np.random.default_rng(depth)
    return [(rng.uniform(0.2, 1.5, depth), 2.0, 0.3, 1.1, 0.7),
            (rng.uniform(-1.0, 1.0, depth), 0.5, 0.0, 0.4, 1.0)]


@stored.numeric(SETTING, stored=tuple((d,) for d in STORED_DEPTHS), samples=_jacobian_samples)
def _l2_jacobian(depth: int) -> stored.Form:
    """Numeric full Jacobian of the L2 field at any w, from sympy's ``jacobian``."""
    import sympy as sp

    s = symbols()
    w = sp.symbols(f"w1:{depth + 1}", real=True)
    p = sp.Mul(*w)
    field = [s["eta"] * (s["sigma"] * (s["p_star"] - p) * sp.Mul(*(w[:i] + w[i + 1:]))
                         - s["beta"] * w[i]) for i in range(depth)]
    J = sp.Matrix(field).jacobian(w)
    return stored.Form((w, s["p_star"], s["beta"], s["sigma"], s["eta"]), J)


def _l2_samples() -> list[tuple]:
    return [(0.4, 2.0, 3, 0.1, 1.3), (1.5, 2.0, 2, 0.0, 0.7), (1e-3, 0.8, 5, 0.2, 1.0)]


@stored.numeric(SETTING, samples=_l2_samples)
def _l2_equation() -> stored.Form:
    import sympy as sp

    s, e = symbols(), l2_balanced_equation_expr()
    args = (sp.Symbol("p", positive=True), s["p_star"], s["L"], s["beta"], s["sigma"])
    # expanded to -beta + sigma p* p^(1-2/L) - sigma p^(2-2/L): no p^(2/L) denominator to underflow
    return stored.Form(args, sp.powsimp(sp.expand(e["equation"])))


@stored.numeric(SETTING, samples=lambda: [row[1:] for row in _l2_samples()])
def _l2_peak() -> stored.Form:
    s = symbols()
    return stored.Form((s["p_star"], s["L"], s["beta"], s["sigma"]),
                        l2_balanced_equation_expr()["p_peak"])


def l2_beta_max(p_star: float, depth: int, sigma: float = 1.0) -> float:
    """Largest beta with a nonzero balanced L2 fixed point: sigma p* (L = 2),
    sigma p_m^(1-2/L) (p* - p_m) at p_m = (L-2) p* / (2(L-1)) (L >= 3), inf (L = 1)."""
    p, L = _positive_p_star(p_star), validation.depth(depth)
    sigma = validation.positive_scalar("sigma", sigma)
    if L == 1:
        return np.inf
    p_m = float(_l2_peak()(p, L, 0.0, sigma))
    return float(_l2_equation()(p_m, p, L, 0.0, sigma)) if p_m > 0 else sigma * p


def l2_fixed_points(p_star: float, beta: float, depth: int, sigma: float = 1.0) -> list[dict]:
    """Every balanced fixed point of L2 gradient flow, with its stability.

    Returns dicts with ``product`` p, ``weights`` (balanced, positive), ``eigenvalues`` of
    the full L x L Jacobian (sympy-derived, eta = 1; real and ascending: the Jacobian is
    minus the Hessian of sigma/2 (p* - p)^2 + beta/2 |w|^2, symmetric) and ``stable``
    (all eigenvalues < 0).
    The origin is included when it is a fixed point (L >= 2).
    """
    p, L = _positive_p_star(p_star), validation.depth(depth)
    beta = validation.positive_scalar("beta", beta)
    sigma = validation.positive_scalar("sigma", sigma)
    from scipy.optimize import brentq

    equation = _l2_equation()

    def f(x: float) -> float:
        return float(equation(np.float64(x), p, L, beta, sigma))

    products = []
    p_m = max(float(_l2_peak()(p, L, beta, sigma)), 0.0) if L >= 3 else 0.0
    tiny = p * 1e-250
    left = p_m if L != 1 else tiny  # L = 1: the left side blows up at p -> 0
    if f(left) > 0.0:  # one root on the decreasing branch (p_m, p*): the larger product
        products.append(brentq(f, left, p, xtol=1e-300, rtol=4 * np.finfo(float).eps))
        if L >= 3 and f(tiny) < 0.0:  # and one on the increasing branch (0, p_m)
            products.append(brentq(f, tiny, p_m, xtol=1e-300, rtol=4 * np.finfo(float).eps))
    if L >= 2:
        products.append(0.0)
    jacobian = _l2_jacobian(L)
    points = []
    for prod in products:
        w = np.full(L, prod ** (1.0 / L))
        J = np.array(jacobian(w, p, beta, sigma, 1.0), dtype=np.float64)
        if np.abs(J - J.T).max() > 1e-12 * max(1.0, np.abs(J).max()):
            raise ArithmeticError(f"the L2 Jacobian is not symmetric: {J}")
        eig = np.linalg.eigvalsh(J)
        points.append({"product": prod, "weights": w, "eigenvalues": eig,
                       "stable": bool(np.all(eig < 0.0))})
    return points


def l2_fixed_point(p_star: float, beta: float, depth: int, sigma: float = 1.0) -> np.ndarray:
    """The stable balanced fixed point of L2 gradient flow with the largest product, as weights.

    This is the limit from balanced-enough starts in its basin. It is the origin when
    beta >= :func:`l2_beta_max` (the shrinkage collapses the product); for L >= 3 the
    origin is also stable, and starts near it stay there.
    """
    stable = [pt for pt in l2_fixed_points(p_star, beta, depth, sigma) if pt["stable"]]
    if not stable:
        raise ArithmeticError("no stable balanced fixed point found")
    return max(stable, key=lambda pt: pt["product"])["weights"]


def l2_product_bias(p_star: float, beta: float, depth: int, sigma: float = 1.0) -> float:
    """p* - p_beta at the stable fixed point of :func:`l2_fixed_point` (> 0 for beta > 0)."""
    return float(p_star - np.prod(l2_fixed_point(p_star, beta, depth, sigma)))


def l2_distance_to_min_norm(p_star: float, beta: float, depth: int,
                            sigma: float = 1.0) -> float:
    """d_beta = ||w_beta - w_MN|| = sqrt(L) |p_beta^(1/L) - p*^(1/L)|, the irreducible distance."""
    w_beta = l2_fixed_point(p_star, beta, depth, sigma)
    return float(np.linalg.norm(w_beta - min_norm_solution(p_star, depth)))


def l2_beta_for_distance(p_star: float, eps: float, depth: int, sigma: float = 1.0) -> float:
    """The weight decay beta whose irreducible distance :func:`l2_distance_to_min_norm` is
    ``eps``: the largest beta from which L2 can still come within eps of w_MN.

    d_beta increases with beta (from 0 at beta = 0); the root is bracketed between
    beta_max (1 - 1e-9) (:func:`l2_beta_max`; for L = 1, the first power of ten above the
    root) and decades below it until d_beta < eps, and found by Brent's method to full
    float64 precision.

    Raises
    ------
    ValueError
        If eps is not positive or no beta reaches it (eps above the distance at beta_max).
    """
    eps = validation.positive_scalar("eps", eps)
    L = validation.depth(depth)
    _positive_p_star(p_star)
    validation.positive_scalar("sigma", sigma)
    from scipy.optimize import brentq

    def excess(beta: float) -> float:
        return l2_distance_to_min_norm(p_star, beta, L, sigma) - eps

    high = l2_beta_max(p_star, L, sigma)
    if np.isfinite(high):
        high *= 1.0 - 1e-9
    else:
        high = 1.0
        while excess(high) < 0.0 and high < 1e300:
            high *= 10.0
    if excess(high) < 0.0:
        raise ValueError(f"eps = {eps:g} exceeds the largest irreducible distance "
                         f"{eps + excess(high):g} (at beta = {high:g})")
    low = high
    while excess(low) >= 0.0:
        low /= 10.0
        if low < 1e-300:
            raise ArithmeticError("no beta below the bracket reaches d_beta < eps")
    return float(brentq(excess, low, high, xtol=1e-300, rtol=4 * np.finfo(float).eps))


# --------------------------------------------------------------------------- Minnorm


@stored.expression(SETTING)
def minnorm_linearization_expr() -> dict:
    """Minnorm(c) fixed point and linearization, any depth L (docs/linear_chain.md §2b.5).

    The symmetric subspace w_i = v is invariant; on (v, lambda) the field is
    dv/dt = -eta_w [v - (lambda + c sigma (p* - v^L)) v^(L-1)], dlambda/dt = eta_lambda sigma (p* - v^L).
    Returns ``fixed_point`` (from ``solve``), ``jacobian`` (the 2x2 Jacobian in (v, lambda)
    there), its ``trace`` and ``determinant``, ``symmetric_eigenvalues`` (roots of
    mu^2 - T mu + D), the
    ``imbalance_eigenvalue`` (the field of a pair w_i = v + e, w_j = v - e, differentiated
    in e, which it maps to mu e) and ``c_min`` (``solve`` trace = 0).
    """
    import sympy as sp

    s = symbols()
    L, p_star, sigma, c = s["L"], s["p_star"], s["sigma"], s["c"]
    eta_w, eta_lambda = s["eta_w"], s["eta_lambda"]
    v, lam, mu = sp.Symbol("v", positive=True), sp.Symbol("lambda", positive=True), sp.Symbol("mu")
    r = p_star - v ** L
    field = sp.Matrix([-eta_w * (v - (lam + c * sigma * r) * v ** (L - 1)),
                       eta_lambda * sigma * r])
    fixed = sp.solve(list(field), [v, lam], dict=True)[0]
    J = field.jacobian([v, lam]).subs(fixed)
    trace, det = sp.simplify(J.trace()), sp.simplify(J.det())
    sym_eigs = sp.solve(mu ** 2 - trace * mu + det, mu)
    w_i, w_j, Q, lam_pair, dw_i, _ = _pair_field()
    e = sp.Symbol("e", real=True)
    pair = _specialize(dw_i, "minnorm").subs({w_i: v + e, w_j: v - e, Q: v ** (L - 2),
                                              lam_pair: lam})
    imbalance = sp.simplify(sp.diff(pair, e).subs(e, 0).subs(fixed))
    return {"fixed_point": fixed, "v": v, "lambda": lam, "jacobian": sp.simplify(J),
            "trace": trace, "determinant": det,
            "symmetric_eigenvalues": sym_eigs, "imbalance_eigenvalue": imbalance,
            "c_min": sp.solve(sp.Eq(trace, 0), c)[0]}


def _minnorm_form(key: str) -> stored.Form:
    s = symbols()
    args = (s["p_star"], s["L"], s["c"], s["eta_w"], s["eta_lambda"], s["sigma"])
    return stored.Form(args, minnorm_linearization_expr()[key])


def _minnorm_samples() -> list[tuple]:
    return [(2.0, 3, 1.0, 1.0, 1.0, 1.0), (1.7, 2, 0.0, 0.8, 1.3, 1.1), (0.6, 5, 0.4, 0.3, 2.0, 0.9)]


def _complex_samples() -> list[tuple]:
    return [tuple(complex(a) for a in row) for row in _minnorm_samples()]


@stored.numeric(SETTING, samples=_complex_samples)
def _minnorm_symmetric_eigenvalues() -> stored.Form:
    return _minnorm_form("symmetric_eigenvalues")


@stored.numeric(SETTING, samples=_minnorm_samples)
def _minnorm_imbalance_eigenvalue() -> stored.Form:
    return _minnorm_form("imbalance_eigenvalue")


@stored.numeric(SETTING, samples=_minnorm_samples)
def _minnorm_damping_threshold() -> stored.Form:
    return _minnorm_form("c_min")


@stored.numeric(SETTING, samples=_minnorm_samples)
def _minnorm_jacobian() -> stored.Form:
    return _minnorm_form("jacobian")


def _minnorm_args(p_star, depth, c, eta_w, eta_lambda, sigma):
    return (_positive_p_star(p_star), validation.depth(depth), validation.nonnegative_scalar("c", c),
            validation.positive_scalar("eta_w", eta_w),
            validation.positive_scalar("eta_lambda", eta_lambda),
            validation.positive_scalar("sigma", sigma))


def minnorm_eigenvalues(p_star: float, depth: int, c: float, eta_w: float = 1.0,
                        eta_lambda: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """The L + 1 eigenvalues of the Minnorm(c) flow linearized at its fixed point.

    L - 1 imbalance modes (-2 eta_w) and the two roots of mu^2 - T mu + D = 0 with
    T = -eta_w (2 - L + c sigma L p*^(2 - 2/L)), D = eta_w eta_lambda sigma L p*^(2 - 2/L),
    symmetric pair last. For discrete Minnorm with rates (lr_w, lr_lambda), the
    multipliers are 1 + mu evaluated at eta_w = lr_w, eta_lambda = lr_lambda.

    Returns
    -------
    ndarray
        Shape (L + 1,): float64 when every eigenvalue is real (T^2 >= 4 D), complex128
        when the symmetric pair is a complex-conjugate pair (as ``numpy.linalg.eigvals``).
    """
    args = _minnorm_args(p_star, depth, c, eta_w, eta_lambda, sigma)
    pair = np.array(_minnorm_symmetric_eigenvalues()(*(complex(a) for a in args)),
                    dtype=np.complex128)
    modes = np.full(args[1] - 1, float(_minnorm_imbalance_eigenvalue()(*args)))
    eigenvalues = np.concatenate((modes, pair))
    return eigenvalues.real.copy() if np.all(eigenvalues.imag == 0.0) else eigenvalues


def minnorm_symmetric_jacobian(p_star: float, depth: int, c: float, eta_w: float = 1.0,
                               eta_lambda: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """The 2x2 Jacobian of the Minnorm(c) flow on the balanced subspace (v, lambda) at its
    fixed point (``minnorm_linearization_expr()["jacobian"]``).

    A balanced perturbation (dv, ..., dv, dlambda) evolves as exp(J t) (dv, dlambda) in the
    linear regime; its eigenvalues are the symmetric pair of :func:`minnorm_eigenvalues`.
    """
    args = _minnorm_args(p_star, depth, c, eta_w, eta_lambda, sigma)
    return np.array(_minnorm_jacobian()(*args), dtype=np.float64)


def minnorm_rate(p_star: float, depth: int, c: float, eta_w: float = 1.0,
                 eta_lambda: float = 1.0, sigma: float = 1.0) -> float:
    """-max Re(mu): the exponential rate of convergence (negative if unstable)."""
    return float(-np.max(minnorm_eigenvalues(p_star, depth, c, eta_w, eta_lambda, sigma).real)) + 0.0


def minnorm_contraction(p_star: float, depth: int, c: float, lr_w: float, lr_lambda: float,
                        sigma: float = 1.0) -> float:
    """rho = max |1 + mu| of discrete Minnorm (forward Euler): per-step contraction factor."""
    mu = minnorm_eigenvalues(p_star, depth, c, lr_w, lr_lambda, sigma)
    return float(np.max(np.abs(1.0 + mu)))


def minnorm_damping_threshold(p_star: float, depth: int, sigma: float = 1.0) -> float:
    """c_min = (L - 2) / (sigma L p*^(2 - 2/L)): Minnorm(c) is asymptotically stable iff c > c_min.

    c_min = 0 at L = 2, where c = 0 is a center; c_min < 0 at L = 1 (a convex problem: any
    c >= 0 is stable). The threshold does not depend on eta_w or eta_lambda.
    """
    p, L = _positive_p_star(p_star), validation.depth(depth)
    sigma = validation.positive_scalar("sigma", sigma)
    return float(_minnorm_damping_threshold()(p, L, 0.0, 1.0, 1.0, sigma))
