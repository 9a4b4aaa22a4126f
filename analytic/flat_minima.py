"""Closed forms of neighborhood region smoothing (docs/flat_minima.md §10b).

Derived with sympy (the results stored in ``analytic._generated``):

- the KL divergence to a neighbour as a series in the offset's size:
  KL(p || softmax(z + eps a + eps^2 b / 2 + eps^3 c / 6 + ...)) = eps^2 Var_p(a) / 2
  + eps^3 (kappa_3(a) / 6 + Cov_p(a, b) / 2) + eps^4 (quartic, with c) + O(eps^5), for any
  number of classes, by ``series`` of the cumulant generating function (:func:`kl_series_expr`,
  docs/flat_minima.md §10b.1); Var_p(a) = a^T (diag p - p p^T) a, so the quadratic term is
  (1/2) delta^T F delta with F the Fisher matrix, label-free;
- the Hessian of the cross-entropy in the logits, diag p - p p^T for every label
  (``hessian``; :func:`logit_hessian_expr`, docs/flat_minima.md §10b.2), and of softmax regression in its
  weights, (diag p - p p^T) kron x x^T = F (:func:`softmax_regression_hessian_expr`, docs/flat_minima.md §10b.3);
- the neighbourhood expectations of the quadratic term: (sigma^2/2) tr F for delta ~
  N(0, sigma^2 I) (``integrate`` of the Gaussian's second moment), r^2/(2(p+2)) tr F for
  the uniform ball (``integrate`` of the radial density), (r^2/2) lambda_max(F) for the
  adversarial offset (``solve`` of the Lagrange condition on the sphere)
  (:func:`neighbourhood_expectations_expr`, docs/flat_minima.md §10b.4);
- the penalty lemma's identity alpha (D_a - D_0) = (O_a - O_0) - (L_a - L_0), O = L + alpha
  D (:func:`penalty_lemma_expr`, docs/flat_minima.md §10b.5).

Importing this module does not import sympy or scipy; the numeric functions run generated
NumPy code.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytic import stored
from theory import validation

SETTING = "flat_minima"
MOMENTS = ("m10", "m20", "m30", "m01", "m11")
"""Moments E_p[a^i b^j] of the logit offsets under p, named m_ij (the cubic coefficient's)."""
QUARTIC_MOMENTS = ("m10", "m20", "m30", "m40", "m01", "m11", "m21", "m02", "m001", "m101")
"""The quartic coefficient's moments; m_ijk = E_p[a^i b^j c^k] with c the third
directional derivative of the logits."""
NEIGHBOURHOODS = ("gaussian", "ball", "adversarial")


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols of this module's expressions, by name."""
    import sympy as sp

    table = {name: sp.Symbol(name, real=True)
             for name in QUARTIC_MOMENTS + ("a", "b", "c", "eps")}
    table.update({name: sp.Symbol(name, positive=True) for name in ("sigma", "r", "rho")})
    table["p"] = sp.Symbol("p", integer=True, positive=True)
    return table


# --------------------------------------------------------------------------- KL series


@stored.expression(SETTING)
def kl_series_expr() -> dict:
    """KL(p || softmax(z + u)) with u = eps a + eps^2 b / 2 + eps^3 c / 6 (a, b, c per
    class), as a series in eps through eps^4 in the moments m_ij = E_p[a^i b^j] and
    m_ijk = E_p[a^i b^j c^k] (docs/flat_minima.md §10b.1).

    With z = log p (softmax ignores shifts), KL = log E_p[exp(u)] - E_p[u]: the cumulant
    generating function of u minus its mean. ``series`` of exp(u) in eps, each monomial
    a^i b^j c^k replaced by its moment (linearity of E_p), then ``series`` of the logarithm.
    Returns ``quadratic``, ``cubic`` and ``quartic``, the coefficients of eps^2, eps^3 and
    eps^4; c enters the quartic one only (checked)."""
    import sympy as sp

    sym = symbols()
    a, b, c, eps = sym["a"], sym["b"], sym["c"], sym["eps"]
    u = eps * a + eps ** 2 * b / 2 + eps ** 3 * c / 6
    expansion = sp.expand(sp.series(sp.exp(u), eps, 0, 5).removeO())
    mgf = 0
    for term in sp.Add.make_args(expansion):
        powers = sp.Poly(term, a, b, c).monoms()[0]
        coefficient = term / (a ** powers[0] * b ** powers[1] * c ** powers[2])
        mgf += coefficient * (sym[_moment_name(powers)] if any(powers) else 1)
    mean = eps * sym["m10"] + eps ** 2 * sym["m01"] / 2 + eps ** 3 * sym["m001"] / 6
    kl = sp.expand(sp.series(sp.log(mgf) - mean, eps, 0, 5).removeO())
    if sp.simplify(kl.coeff(eps, 1)) != 0 or sp.simplify(kl.coeff(eps, 0)) != 0:
        raise ArithmeticError(f"KL must start at eps^2, got {kl}")
    cubic = sp.expand(kl.coeff(eps, 3))
    if cubic.has(sym["m001"]):
        raise ArithmeticError(f"the third logit derivative must cancel at eps^3: {cubic}")
    return {"quadratic": sp.factor(kl.coeff(eps, 2)), "cubic": cubic,
            "quartic": sp.expand(kl.coeff(eps, 4))}


def _moment_name(powers: tuple[int, int, int]) -> str:
    """m_ij for E_p[a^i b^j], m_ijk for E_p[a^i b^j c^k] with k > 0."""
    i, j, k = powers
    return f"m{i}{j}{k}" if k else f"m{i}{j}"


@stored.numeric(SETTING, samples=lambda: [(0.3, 1.2), (-0.5, 0.25)])
def _kl_quadratic() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["m10"], sym["m20"]), kl_series_expr()["quadratic"])


@stored.numeric(SETTING, samples=lambda: [(0.3, 1.2, 0.5, 0.1, -0.2)])
def _kl_cubic() -> stored.Form:
    sym = symbols()
    return stored.Form(tuple(sym[m] for m in MOMENTS), kl_series_expr()["cubic"])


@stored.numeric(SETTING, samples=lambda: [(0.3, 1.2, 0.5, 2.1, 0.1, -0.2, 0.4, 0.9, -0.3,
                                           0.7)])
def _kl_quartic() -> stored.Form:
    sym = symbols()
    return stored.Form(tuple(sym[m] for m in QUARTIC_MOMENTS), kl_series_expr()["quartic"])


def _distribution(name: str, p) -> np.ndarray:
    """Probabilities in column form (K x P): non-negative, each column summing to one."""
    p = validation.nonnegative_array(name, p)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2 or p.shape[0] < 2:
        raise ValueError(f"{name} must be K x P probabilities (K >= 2 classes), got shape "
                         f"{p.shape}")
    if not np.allclose(p.sum(axis=0), 1.0, rtol=0.0, atol=1e-10):
        raise ValueError(f"{name}: the probabilities of every sample must sum to one, got "
                         f"sums {p.sum(axis=0)}")
    return p


def kl_series_coefficients(p, a, b=None) -> tuple[float, float]:
    """The eps^2 and eps^3 coefficients of (1/P) sum_mu KL(p_mu || softmax(log p_mu + eps a_mu
    + eps^2 b_mu / 2)) (:func:`kl_series_expr`), from the moments of the columns of ``a`` and
    ``b`` (K x P, b = 0 if None) under the probabilities ``p`` (K x P, columns summing to
    one)."""
    p = _distribution("p", p)
    a = validation.finite_array("a", a).reshape(p.shape) if np.size(a) == p.size else None
    if a is None:
        raise ValueError(f"a must have the shape of p {p.shape}")
    b = np.zeros_like(a) if b is None else validation.finite_array("b", b)
    if b.shape != a.shape:
        raise ValueError(f"b must have the shape of a {a.shape}, got {b.shape}")
    m = {"m10": (p * a).sum(0), "m20": (p * a * a).sum(0), "m30": (p * a ** 3).sum(0),
         "m01": (p * b).sum(0), "m11": (p * a * b).sum(0)}
    quadratic = _kl_quadratic()(m["m10"], m["m20"])
    cubic = _kl_cubic()(*(m[name] for name in MOMENTS))
    return float(np.mean(quadratic)), float(np.mean(cubic))


def kl_quartic_coefficient(p, a, b=None, c=None) -> float:
    """The eps^4 coefficient of (1/P) sum_mu KL(p_mu || softmax(log p_mu + eps a_mu + eps^2
    b_mu / 2 + eps^3 c_mu / 6)) (:func:`kl_series_expr`), from the moments of the columns of
    ``a``, ``b`` and ``c`` (K x P; b, c = 0 if None) under the probabilities ``p`` (K x P,
    columns summing to one)."""
    p = _distribution("p", p)
    a = validation.finite_array("a", a).reshape(p.shape) if np.size(a) == p.size else None
    if a is None:
        raise ValueError(f"a must have the shape of p {p.shape}")
    b = np.zeros_like(a) if b is None else validation.finite_array("b", b)
    c = np.zeros_like(a) if c is None else validation.finite_array("c", c)
    for name, value in (("b", b), ("c", c)):
        if value.shape != a.shape:
            raise ValueError(f"{name} must have the shape of a {a.shape}, got {value.shape}")
    m = {"m10": a, "m20": a ** 2, "m30": a ** 3, "m40": a ** 4, "m01": b, "m11": a * b,
         "m21": a * a * b, "m02": b * b, "m001": c, "m101": a * c}
    quartic = _kl_quartic()(*((p * m[name]).sum(0) for name in QUARTIC_MOMENTS))
    return float(np.mean(quartic))


# --------------------------------------------------------------------------- Hessians


def _softmax_symbols(n_classes: int):
    import sympy as sp

    z = sp.symbols(f"z0:{n_classes}", real=True)
    total = sum(sp.exp(zk) for zk in z)
    return z, [sp.exp(zk) / total for zk in z]


@stored.expression(SETTING, stored=((3,),))
def logit_hessian_expr(n_classes: int = 3):
    """The Hessian of CE = -log softmax_y(z) in the logits z, the same for every label y:
    sympy ``hessian`` for each y, checked equal (``simplify``) to diag p - p p^T with p =
    softmax(z) (docs/flat_minima.md §10b.2). Returned in z."""
    import sympy as sp

    n_classes = validation.count("n_classes", n_classes, minimum=2)
    z, p = _softmax_symbols(n_classes)
    fisher = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
    for label in range(n_classes):
        ce = -sp.log(p[label])
        difference = (sp.hessian(ce, z) - fisher).applyfunc(sp.simplify)
        if difference != sp.zeros(n_classes, n_classes):
            raise ArithmeticError(f"the Hessian depends on the label {label}: {difference}")
    return fisher


@stored.expression(SETTING, stored=((2, 2),))
def softmax_regression_hessian_expr(n_classes: int = 2, n_in: int = 2):
    """The Hessian of CE(softmax(W x), y) in the weights W (K x d, row-major), for every
    label: sympy ``hessian``, checked equal to (diag p - p p^T) kron x x^T, which is the
    Fisher matrix J^T (diag p - p p^T) J of J = I_K kron x^T (docs/flat_minima.md §10b.3).
    Returned in W and x."""
    import sympy as sp

    n_classes = validation.count("n_classes", n_classes, minimum=2)
    n_in = validation.count("n_in", n_in)
    W = sp.Matrix(n_classes, n_in, lambda i, j: sp.Symbol(f"w{i}{j}", real=True))
    x = sp.Matrix(n_in, 1, lambda i, _: sp.Symbol(f"x{i}", real=True))
    z = W * x
    total = sum(sp.exp(zk) for zk in z)
    p = sp.Matrix([sp.exp(zk) / total for zk in z])
    flat = list(W)
    jacobian = z.jacobian(flat)
    fisher = jacobian.T * (sp.diag(*p) - p * p.T) * jacobian
    for label in range(n_classes):
        difference = (sp.hessian(-sp.log(p[label]), flat) - fisher).applyfunc(sp.simplify)
        if difference != sp.zeros(len(flat), len(flat)):
            raise ArithmeticError(f"H != F for label {label}: {difference}")
    return fisher


# --------------------------------------------------------------------------- neighbourhoods


@stored.expression(SETTING)
def neighbourhood_expectations_expr() -> dict:
    """The neighbourhood expectations of (1/2) delta^T F delta as coefficients of tr F
    (Gaussian, ball) or lambda_max(F) (adversarial) (docs/flat_minima.md §10b.4):

    - ``gaussian``: E delta_i delta_j = sigma^2 [i = j] (``integrate`` of t^2 against the
      N(0, sigma^2) density), so (sigma^2/2) tr F;
    - ``ball``: uniform in the p-ball of radius r, |delta| has density p rho^(p-1) / r^p,
      E |delta|^2 by ``integrate``; by symmetry E delta delta^T = E|delta|^2 / p I, so
      r^2 / (2 (p + 2)) tr F;
    - ``adversarial``: max over |delta| = r; the Lagrange condition of (1/2) delta^T F delta
      - (mu/2)(|delta|^2 - r^2) for a symmetric 2 x 2 F (``solve``) gives F delta = mu delta
      with value mu r^2 / 2 at every stationary point, largest at mu = lambda_max:
      (r^2/2) lambda_max(F).
    """
    import sympy as sp

    sym = symbols()
    sigma, r, rho, p = sym["sigma"], sym["r"], sym["rho"], sym["p"]
    t = sp.Symbol("t", real=True)
    density = sp.exp(-t ** 2 / (2 * sigma ** 2)) / sp.sqrt(2 * sp.pi * sigma ** 2)
    second = sp.simplify(sp.integrate(t ** 2 * density, (t, -sp.oo, sp.oo)))
    radial = sp.simplify(sp.integrate(rho ** 2 * p * rho ** (p - 1) / r ** p, (rho, 0, r),
                                      conds="none"))
    f11, f12, f22, mu = sp.symbols("f11 f12 f22 mu", real=True)
    d1, d2 = sp.symbols("d1 d2", real=True)
    F = sp.Matrix([[f11, f12], [f12, f22]])
    delta = sp.Matrix([d1, d2])
    lagrangian = (delta.T * F * delta)[0] / 2 - mu / 2 * ((delta.T * delta)[0] - r ** 2)
    values = set()
    for solution in sp.solve([sp.diff(lagrangian, v) for v in (d1, d2, mu)], [d1, d2, mu],
                             dict=True):
        value = sp.simplify((delta.T * F * delta)[0].subs(solution) / 2)
        values.add(sp.simplify(value / solution[mu]))
    if len(values) != 1:
        raise ArithmeticError(f"the stationary values are not mu times one constant: {values}")
    return {"gaussian": second / 2, "ball": sp.factor(radial / p / 2),
            "adversarial": values.pop()}


@stored.numeric(SETTING, samples=lambda: [(0.3,), (1.7,)])
def _gaussian_coefficient() -> stored.Form:
    return stored.Form((symbols()["sigma"],), neighbourhood_expectations_expr()["gaussian"])


@stored.numeric(SETTING, samples=lambda: [(0.3, 15), (2.0, 3)])
def _ball_coefficient() -> stored.Form:
    sym = symbols()
    return stored.Form((sym["r"], sym["p"]), neighbourhood_expectations_expr()["ball"])


@stored.numeric(SETTING, samples=lambda: [(0.3,), (2.0,)])
def _adversarial_coefficient() -> stored.Form:
    return stored.Form((symbols()["r"],), neighbourhood_expectations_expr()["adversarial"])


def neighbourhood_expectation(name: str, scale: float, fisher_matrix) -> float:
    """The quadratic model of the expected KL over a neighbourhood (docs/flat_minima.md
    §10b.4): (sigma^2/2) tr F (``"gaussian"``, scale sigma), r^2/(2(p+2)) tr F (``"ball"``,
    scale r), (r^2/2) lambda_max(F) (``"adversarial"``, scale r; numpy eigvalsh), for the
    symmetric p x p Fisher matrix ``fisher_matrix``."""
    if name not in NEIGHBOURHOODS:
        raise ValueError(f"name must be one of {NEIGHBOURHOODS}, got {name!r}")
    if name == "gaussian":
        scale = validation.positive_scalar("sigma", scale)
    else:
        scale = validation.positive_scalar("radius", scale)
    F = validation.square_matrix("fisher_matrix", fisher_matrix)
    if name == "gaussian":
        return float(_gaussian_coefficient()(scale) * np.trace(F))
    if name == "ball":
        return float(_ball_coefficient()(scale, F.shape[0]) * np.trace(F))
    return float(_adversarial_coefficient()(scale) * np.linalg.eigvalsh((F + F.T) / 2)[-1])


# --------------------------------------------------------------------------- penalty lemma


@stored.expression(SETTING)
def penalty_lemma_expr() -> dict:
    """The penalty lemma (docs/flat_minima.md §10b.5): with O = L + alpha D, the identity
    alpha (D_a - D_0) = (O_a - O_0) - (L_a - L_0) (``expand`` checks it). If w_0 minimizes L
    (L_a - L_0 >= 0) and w_a minimizes O (O_a - O_0 <= 0), the right side is <= 0, so
    D_a <= D_0 and L_a >= L_0. Returns ``identity`` (zero) and ``bound`` = D_0 + ((O_a - O_0)
    - (L_a - L_0)) / alpha, which equals D_a."""
    import sympy as sp

    L0, La, D0, Da = sp.symbols("L0 La D0 Da", real=True)
    alpha = sp.Symbol("alpha", positive=True)
    O0, Oa = L0 + alpha * D0, La + alpha * Da
    identity = sp.expand(alpha * (Da - D0) - ((Oa - O0) - (La - L0)))
    if identity != 0:
        raise ArithmeticError(f"the lemma's identity fails: {identity}")
    return {"identity": identity, "bound": sp.simplify(D0 + ((Oa - O0) - (La - L0)) / alpha)}
