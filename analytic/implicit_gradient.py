"""Closed forms of implicit gradient regularization (docs/implicit_gradient.md).

Derived with sympy (the results stored in ``analytic._generated``):

- the modified loss E + (h/4) ||grad E||^2: the flow d theta/dt = -grad E + h f_1 whose
  time-h map, a Lie series in h, matches one gradient-descent step to O(h^3); ``solve``
  gives f_1 = -(1/2) Hess(E) grad E, and f_1 = -grad(kappa ||grad E||^2) gives kappa = 1/4
  (:func:`modified_loss_expr`, docs/implicit_gradient.md §11b.1);
- for a quadratic E = lam theta^2 / 2 per eigendirection: the rate mu of the flow whose
  time-h map is exactly one step, exp(mu h) = 1 - h lam, so mu = log(1 - h lam) / h, and
  its series in h, whose first two terms are the modified flow's
  (:func:`quadratic_rate_expr`, :func:`quadratic_rate_series_expr`, docs/implicit_gradient.md
  §11b.2); the local errors of both flows against one step, as series in h
  (:func:`local_error_series_expr`, docs/implicit_gradient.md §11b.3);
- the ab-model's balancing identity: one GD step multiplies a^2 - b^2 by 1 - h^2 r^2
  (r = ab - y), the modified flow decays it at rate h r^2, the plain flow conserves it
  (:func:`balancing_expr`, docs/implicit_gradient.md §11b.4); and at ab = y the Hessian's
  eigenvalues are 0 and sqrt((a^2 - b^2)^2 + 4 y^2) (:func:`balanced_sharpness_expr`,
  docs/implicit_gradient.md §11b.5).

Importing this module does not import sympy or scipy; the numeric functions run generated
NumPy code.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytic import stored
from theory import validation

SETTING = "implicit_gradient"


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols of this module's expressions, by name."""
    import sympy as sp

    table = {name: sp.Symbol(name, real=True) for name in ("a", "b", "y", "p", "q", "D")}
    table.update({name: sp.Symbol(name, positive=True) for name in ("h", "lam", "s")})
    table["t"] = sp.Symbol("t", nonnegative=True)
    return table


# --------------------------------------------------------------------------- modified loss


def _lie_series(field, coordinates, s, order: int):
    """The time-s map of d theta/dt = field as its Lie series sum_k s^k/k! L^k theta up to
    k = ``order``, with L phi = sum_i field_i d phi / d theta_i."""
    import sympy as sp

    terms = list(coordinates)
    result = [c for c in coordinates]
    factorial = 1
    for k in range(1, order + 1):
        terms = [sum(f * sp.diff(term, c) for f, c in zip(field, coordinates)) for term in terms]
        factorial *= k
        result = [r + s ** k / factorial * term for r, term in zip(result, terms)]
    return result


@stored.expression(SETTING)
def modified_loss_expr():
    """The modified loss E + (h/4) (E_p^2 + E_q^2) of gradient descent with step h on a
    generic E(p, q), derived by matching (docs/implicit_gradient.md §11b.1).

    The flow d theta/dt = -grad E + h f_1 with unknown f_1 = (U, V): its time-h map to
    O(h^3) (:func:`_lie_series`, order 2, then ``series`` in h) against the step
    theta - h grad E; the h^2 coefficients give U, V (``solve``), and f_1 = -grad(kappa
    ||grad E||^2) gives kappa (``solve``, both components consistent).

    Source: Barrett & Dherin 2021 (arXiv:2009.11162), Theorem 3.1.
    """
    import sympy as sp

    sym = symbols()
    p, q, h = sym["p"], sym["q"], sym["h"]
    E = sp.Function("E")(p, q)
    grad = [sp.diff(E, p), sp.diff(E, q)]
    U, V = sp.Function("U")(p, q), sp.Function("V")(p, q)
    field = [-grad[0] + h * U, -grad[1] + h * V]
    flow = _lie_series(field, (p, q), h, 2)
    step = [p - h * grad[0], q - h * grad[1]]
    u, v = sp.symbols("u v")
    equations = []
    for f, g in zip(flow, step):
        difference = sp.series(sp.expand(f - g), h, 0, 3).removeO()
        equations.append(sp.expand(difference.coeff(h, 2)).subs({U: u, V: v}))
    solution = sp.solve(equations, [u, v], dict=True)
    if len(solution) != 1:
        raise ArithmeticError(f"expected one correction field, got {solution}")
    correction = [solution[0][u], solution[0][v]]
    kappa = sp.Symbol("kappa")
    squared = grad[0] ** 2 + grad[1] ** 2
    conditions = [sp.expand(c + kappa * sp.diff(squared, x)) for c, x in zip(correction, (p, q))]
    values = sp.solve(conditions, kappa, dict=True)
    if len(values) != 1:
        raise ArithmeticError(f"the correction field is not a gradient of kappa |grad E|^2: "
                              f"{correction}")
    return E + h * values[0][kappa] * squared


def _ab_loss():
    sym = symbols()
    return (sym["a"] * sym["b"] - sym["y"]) ** 2 / 2


@stored.numeric(SETTING, samples=lambda: [(2.0, 0.4, 1.0, 0.1), (-0.3, 1.7, 0.5, 0.02)])
def _modified_loss_ab() -> stored.Form:
    """The modified loss of :func:`modified_loss_expr` for E = (ab - y)^2 / 2."""
    import sympy as sp

    sym = symbols()
    generic = modified_loss_expr()
    (E,) = generic.atoms(sp.core.function.AppliedUndef)  # E(p, q), the only one
    concrete = generic.subs(E, _ab_loss().subs({sym["a"]: sym["p"], sym["b"]: sym["q"]})).doit()
    return stored.Form((sym["a"], sym["b"], sym["y"], sym["h"]),
                       sp.expand(concrete.subs({sym["p"]: sym["a"], sym["q"]: sym["b"]})))


def modified_loss_ab(a, b, y: float, h: float):
    """E + (h/4) ||grad E||^2 for E = (ab - y)^2 / 2 (:func:`modified_loss_expr`)."""
    return _modified_loss_ab()(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               validation.finite_scalar("y", y),
                               validation.positive_scalar("h", h))


# --------------------------------------------------------------------------- quadratics


@stored.expression(SETTING)
def quadratic_rate_expr():
    """mu(lam, h) = log(1 - h lam) / h: the rate of the flow d theta/dt = mu theta whose
    time-h map is one gradient-descent step theta <- (1 - h lam) theta, from ``solve`` of
    exp(mu h) = 1 - h lam (real for h lam < 1; docs/implicit_gradient.md §11b.2). Per
    eigendirection of A it is the all-orders modified flow h^-1 log(I - h A) theta."""
    import sympy as sp

    sym = symbols()
    mu = sp.Symbol("mu", real=True)
    roots = sp.solve(sp.Eq(sp.exp(mu * sym["h"]), 1 - sym["h"] * sym["lam"]), mu)
    if len(roots) != 1:
        raise ArithmeticError(f"expected one real rate, got {roots}")
    return roots[0]


@stored.expression(SETTING, stored=((4,),))
def quadratic_rate_series_expr(order: int = 4):
    """The series of :func:`quadratic_rate_expr` in h up to h^(order-1) (``series``):
    -lam - h lam^2/2 - h^2 lam^3/3 - ...; its radius of convergence is h lam = 1
    (docs/implicit_gradient.md §11b.2)."""
    import sympy as sp

    order = validation.count("order", order)
    return sp.series(quadratic_rate_expr(), symbols()["h"], 0, order).removeO()


@stored.numeric(SETTING, samples=lambda: [(1.0, 0.1), (3.0, 0.2), (0.5, 1.5)])
def _modified_rate() -> stored.Form:
    """The first-order modified flow's rate: the terms h^0 and h^1 of the series."""
    sym = symbols()
    return stored.Form((sym["lam"], sym["h"]), quadratic_rate_series_expr(2))


@stored.expression(SETTING)
def local_error_series_expr() -> dict:
    """One GD step minus the time-h map, per unit of theta along an eigendirection lam, as
    series in h to O(h^5) (docs/implicit_gradient.md §11b.3): ``plain``:
    (1 - h lam) - exp(-h lam); ``modified``: (1 - h lam) - exp(h mu_1) with mu_1 the
    first-order modified rate (:func:`quadratic_rate_series_expr` of order 2)."""
    import sympy as sp

    sym = symbols()
    h, lam = sym["h"], sym["lam"]
    step = 1 - h * lam
    mu_1 = quadratic_rate_series_expr(2)
    return {"plain": sp.series(step - sp.exp(-h * lam), h, 0, 5).removeO(),
            "modified": sp.series(step - sp.exp(h * mu_1), h, 0, 5).removeO()}


@stored.numeric(SETTING, samples=lambda: [(1.0, 0.01), (3.0, 0.002), (0.5, 0.1)])
def _plain_local_error() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["lam"], sym["h"]), local_error_series_expr()["plain"])


@stored.numeric(SETTING, samples=lambda: [(1.0, 0.01), (3.0, 0.002), (0.5, 0.1)])
def _modified_local_error() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["lam"], sym["h"]), local_error_series_expr()["modified"])


def quadratic_local_errors(A, theta0, h: float) -> dict[str, np.ndarray]:
    """One GD step of size h on E = theta^T A theta / 2 minus the time-h map of the plain
    flow and of the first-order modified flow, from the series of
    :func:`local_error_series_expr` (through h^4) per eigendirection of A (numpy eigh):
    the leading terms are -(h^2/2) A^2 theta0 and -(h^3/3) A^3 theta0."""
    A = validation.square_matrix("A", A)
    theta0 = validation.finite_vector("theta0", theta0, size=A.shape[0])
    h = validation.positive_scalar("h", h)
    lam, Q = np.linalg.eigh((A + A.T) / 2)
    c = Q.T @ theta0
    return {"plain": Q @ (_plain_local_error()(lam, h) * c),
            "modified": Q @ (_modified_local_error()(lam, h) * c)}


def quadratic_exact_errors(A, theta0, h: float, steps: int) -> dict[str, np.ndarray]:
    """GD after ``steps`` steps of size h on E = theta^T A theta / 2 minus the plain flow
    and minus the first-order modified flow at t = steps h, exactly, per eigendirection
    of A (numpy eigh): (1 - h lam)^n - exp(-n h lam) and (1 - h lam)^n - exp(n h mu_1(lam, h))
    (mu_1: :func:`quadratic_rate_series_expr` of order 2, generated code)."""
    A = validation.square_matrix("A", A)
    theta0 = validation.finite_vector("theta0", theta0, size=A.shape[0])
    h = validation.positive_scalar("h", h)
    n = validation.count("steps", steps)
    lam, Q = np.linalg.eigh((A + A.T) / 2)
    c = Q.T @ theta0
    gd = (1.0 - h * lam) ** n
    t = n * h
    return {"plain": Q @ ((gd - np.exp(-t * lam)) * c),
            "modified": Q @ ((gd - np.exp(t * _modified_rate()(lam, h))) * c)}


# --------------------------------------------------------------------------- ab-model


def _ab_gradient():
    sym = symbols()
    E = _ab_loss()
    return [E.diff(sym["a"]), E.diff(sym["b"])]


@stored.expression(SETTING)
def balancing_expr() -> dict:
    """The imbalance D = a^2 - b^2 of E = (ab - y)^2 / 2 (docs/implicit_gradient.md §11b.4):
    ``gd_factor`` = D after one step of size h over D before (``factor`` of the expanded
    ratio: 1 - h^2 r^2), ``modified_rate`` = (dD/dt)/D under the modified flow
    (-h r^2), ``plain_rate`` = (dD/dt)/D under the gradient flow (0); r = ab - y."""
    import sympy as sp

    sym = symbols()
    a, b, h = sym["a"], sym["b"], sym["h"]
    g = _ab_gradient()
    D = a ** 2 - b ** 2
    a1, b1 = a - h * g[0], b - h * g[1]
    gd_factor = sp.factor(sp.cancel(sp.expand(a1 ** 2 - b1 ** 2) / D))
    hessian = sp.hessian(_ab_loss(), (a, b))
    hg = hessian * sp.Matrix(g)
    modified = [-g[0] - h / 2 * hg[0], -g[1] - h / 2 * hg[1]]
    rate = lambda f: sp.factor(sp.cancel(sp.expand(2 * a * f[0] - 2 * b * f[1]) / D))
    return {"gd_factor": gd_factor, "modified_rate": rate(modified),
            "plain_rate": rate([-g[0], -g[1]])}


@stored.numeric(SETTING, samples=lambda: [(2.0, 0.4, 1.0, 0.1), (0.3, -1.2, 0.7, 0.5)])
def _balancing_factor() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["a"], sym["b"], sym["y"], sym["h"]), balancing_expr()["gd_factor"])


def balancing_factor(a, b, y: float, h: float):
    """1 - h^2 (ab - y)^2: the factor one GD step of size h applies to a^2 - b^2
    (:func:`balancing_expr`)."""
    return _balancing_factor()(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               validation.finite_scalar("y", y),
                               validation.positive_scalar("h", h))


@stored.expression(SETTING)
def balanced_sharpness_expr() -> dict:
    """The Hessian of E = (ab - y)^2 / 2 on the minimum set ab = y
    (docs/implicit_gradient.md §11b.5): ``eigenvalues`` (sympy ``eigenvals`` at b = y/a:
    0 and a^2 + y^2/a^2), and ``lambda_max`` in the imbalance D = a^2 - b^2: the nonzero
    eigenvalue is positive and its square minus D^2 simplifies to a constant c (4 y^2),
    so lambda_max = sqrt(D^2 + c)."""
    import sympy as sp

    sym = symbols()
    a, y, D = sym["a"], sym["y"], sym["D"]
    on_minima = sp.hessian(_ab_loss(), (a, sym["b"])).subs(sym["b"], y / a)
    eigenvalues = list(on_minima.eigenvals())
    nonzero = [e for e in eigenvalues if sp.simplify(e) != 0]
    if len(nonzero) != 1:
        raise ArithmeticError(f"expected one nonzero eigenvalue, got {eigenvalues}")
    constant = sp.simplify(nonzero[0] ** 2 - (a ** 2 - y ** 2 / a ** 2) ** 2)
    if constant.has(a):
        raise ArithmeticError(f"lambda^2 - D^2 depends on a: {constant}")
    return {"eigenvalues": eigenvalues, "lambda_max": sp.sqrt(D ** 2 + constant)}


@stored.numeric(SETTING, samples=lambda: [(3.84, 1.0), (0.0, 0.5), (-2.0, 1.3)])
def _balanced_sharpness() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["D"], sym["y"]), balanced_sharpness_expr()["lambda_max"])


def balanced_sharpness(imbalance, y: float):
    """lambda_max of the Hessian at the minimum with a^2 - b^2 = ``imbalance`` and ab = y:
    sqrt(D^2 + 4 y^2) (:func:`balanced_sharpness_expr`)."""
    return _balanced_sharpness()(np.asarray(imbalance, dtype=float),
                                 validation.finite_scalar("y", y))


def gd_final_imbalance(imbalance0: float, a, b, y: float, h: float) -> float:
    """D_0 prod_k (1 - h^2 r_k^2) over the iterates (a_k, b_k) before each step: the
    imbalance after those steps by :func:`balancing_factor`."""
    return float(validation.finite_scalar("imbalance0", imbalance0)
                 * np.prod(balancing_factor(a, b, y, h)))


# --------------------------------------------------------------------------- step edges


@stored.expression(SETTING)
def step_edges_expr() -> dict:
    """Where gradient descent stops tracking a flow and where it stops converging, at a
    minimum of curvature lam (docs/implicit_gradient.md §11b.2, §11b.6).

    The GD step (a, b) -> (a - h r b, b - h r a) of the ab-model, r = ab - y, has on the
    minimum set ab = y (b = y/a) the Jacobian eigenvalues 1 (along the minimum set) and
    ``step_factor`` nu = 1 - h lam with lam = a^2 + y^2/a^2, the Hessian's nonzero
    eigenvalue there (:func:`balanced_sharpness_expr`; checked); it is the quadratic's
    step factor along an eigendirection lam. The all-orders modified rate log(nu)/h
    (:func:`quadratic_rate_expr`) is real only while nu > 0: its series in h stops at the
    branch point nu = 0, ``radius`` = h there (``solve``: 1/lam); past it GD flips the
    mode's sign every step. The minimum is linearly stable while |nu| < 1: ``edge`` = h at
    nu = -1 (``solve``: 2/lam); nu = 1 gives h = 0 only.
    """
    import sympy as sp

    sym = symbols()
    a, b, y, h, lam = sym["a"], sym["b"], sym["y"], sym["h"], sym["lam"]
    gradient = _ab_gradient()
    step = sp.Matrix([a - h * gradient[0], b - h * gradient[1]])
    jacobian = step.jacobian([a, b]).subs(b, y / a)
    eigenvalues = [sp.simplify(e) for e in jacobian.eigenvals()]
    moving = [e for e in eigenvalues if sp.simplify(e - 1) != 0]
    if len(moving) != 1 or len(eigenvalues) != 2:
        raise ArithmeticError(f"expected the eigenvalues 1 and 1 - h lam, got {eigenvalues}")
    curvature = sp.simplify((1 - moving[0]) / h)
    sharpness = [e for e in balanced_sharpness_expr()["eigenvalues"] if sp.simplify(e) != 0]
    if sp.simplify(curvature - sharpness[0]) != 0:
        raise ArithmeticError(f"1 - nu = h ({curvature}), not h times the sharpness {sharpness}")
    factor = 1 - h * lam
    radius, edge = sp.solve(factor, h), sp.solve(factor + 1, h)
    if len(radius) != 1 or len(edge) != 1 or sp.solve(factor - 1, h):
        raise ArithmeticError(f"unexpected crossings: {radius}, {edge}")
    return {"step_factor": factor, "curvature_at_minimum": curvature,
            "radius": radius[0], "edge": edge[0]}


@stored.numeric(SETTING, samples=lambda: [(1.0,), (3.7,)])
def _series_radius_step() -> stored.Form:
    return stored.Form((symbols()["lam"],), step_edges_expr()["radius"])


@stored.numeric(SETTING, samples=lambda: [(1.0,), (3.7,)])
def _stability_edge_step() -> stored.Form:
    return stored.Form((symbols()["lam"],), step_edges_expr()["edge"])


def step_edges(curvature) -> dict[str, np.ndarray]:
    """The step sizes h at which gradient descent at a minimum of curvature lam (the
    Hessian's largest eigenvalue there) reaches the modified-flow series' radius
    (``radius``: h lam = 1) and the stability edge (``edge``: h lam = 2)
    (:func:`step_edges_expr`)."""
    lam = np.asarray(curvature, dtype=float)
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0.0):
        raise ValueError(f"curvature must be positive and finite, got {curvature!r}")
    return {"radius": _series_radius_step()(lam),
            "edge": _stability_edge_step()(lam)}
