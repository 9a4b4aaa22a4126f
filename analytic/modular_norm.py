"""The modular norm's recursions (docs/modular_norm.md §9b), derived with sympy.

Derived (sympy):

- :func:`composition_rules_expr`: mass, sensitivity and the sharpness constants (alpha,
  beta, gamma) of M2 after M1, from the chain rule of the second derivative, each term
  bounded by the parts' constants and the weight norms that the modular norm allows
  (docs/modular_norm.md §9b.1);
- :func:`concatenation_rules_expr`: the same for a tuple of two modules on one input with
  summed outputs (docs/modular_norm.md §9b.2);
- :func:`chain_closed_form_expr`: the L-layer linear chain with unit masses: the
  recursions solved with their summing factor (sympy ``product`` and ``summation``):
  alpha_L = (L - 1)/L, beta_L = 1, gamma_L = 0; and the induction step checked
  symbolically: the recursion maps the closed form at L to the closed form at L + 1
  (docs/modular_norm.md §9b.3);
- :func:`gelu_slope_expr`: the largest slope of GELU, at z = sqrt(2) (solve gelu'' = 0):
  the Lipschitz constant that the sensitivity 1/sqrt(2) undercuts
  (docs/modular_norm.md §9b.4).

Numeric: :func:`sharpness` walks a module tree of :mod:`theory.modular_norm` with the
generated rules. Importing this module does not import sympy.
"""
from __future__ import annotations

import numpy as np

from analytic import stored
from theory import validation

SETTING = "modular_norm"


def symbols() -> dict:
    """The sympy symbols of the derivations (positive masses and sensitivities,
    non-negative sharpness constants)."""
    import sympy as sp

    pos = {"positive": True}
    nonneg = {"nonnegative": True}
    out = {name: sp.Symbol(name, **pos) for name in ("mu1", "mu2", "nu1", "nu2", "L")}
    out.update({name: sp.Symbol(name, **nonneg)
                for name in ("alpha1", "alpha2", "beta1", "beta2", "gamma1", "gamma2")})
    return out


@stored.expression(SETTING)
def composition_rules_expr() -> dict:
    """(mu, nu, alpha, beta, gamma) of M = M2 o M1 (docs/modular_norm.md §9b.1).

    With w = (w1, w2), ||w||_M = max(nu2 (mu/mu1) ||w1||, (mu/mu2) ||w2||), the norm of
    a part is at most its share: ||w1|| <= mu1/(mu nu2) ||w||_M, ||w2|| <= mu2/mu ||w||_M.
    The second derivative of f2(f1(x, w1), w2) in the weights has five terms: f2's own
    (alpha2 ||w2||^2), two mixed (beta2 ||w2|| ||Df1 dw1||), f2's input curvature through
    f1's first derivative (gamma2 ||Df1 dw1||^2) and f1's curvature through f2
    (nu2 alpha1 ||w1||^2), with ||Df1 dw1|| <= ||dw1|| (well-normed). Substituting the
    shares and dividing by ||w||_M^2 gives alpha; the mixed and input derivatives give
    beta and gamma the same way (input perturbations pass f1 with gain nu1).
    """
    import sympy as sp

    s = symbols()
    mu1, mu2, nu1, nu2 = s["mu1"], s["mu2"], s["nu1"], s["nu2"]
    a1, a2, b1, b2, g1, g2 = (s[k] for k in ("alpha1", "alpha2", "beta1", "beta2", "gamma1",
                                             "gamma2"))
    mu = mu1 + mu2
    share1, share2 = mu1 / (mu * nu2), mu2 / mu  # ||w_i|| per unit ||w||_M
    ww = a2 * share2 ** 2 + 2 * b2 * share2 * share1 + g2 * share1 ** 2 + nu2 * a1 * share1 ** 2
    wx = b2 * share2 * nu1 + g2 * share1 * nu1 + nu2 * b1 * share1
    xx = g2 * nu1 ** 2 + nu2 * g1
    return {"mass": mu, "sensitivity": nu1 * nu2, "alpha": sp.factor(sp.simplify(ww)),
            "beta": sp.simplify(wx), "gamma": xx}


@stored.expression(SETTING)
def concatenation_rules_expr() -> dict:
    """(mu, nu, alpha, beta, gamma) of two modules on one input, outputs summed
    (docs/modular_norm.md §9b.2): ||w||_M = max_i (mu/mu_i) ||w_i||, so ||w_i|| <=
    (mu_i/mu) ||w||_M, and every derivative is the sum of the parts'."""
    s = symbols()
    mu1, mu2 = s["mu1"], s["mu2"]
    mu = mu1 + mu2
    shares = (mu1 / mu, mu2 / mu)
    return {"mass": mu, "sensitivity": s["nu1"] + s["nu2"],
            "alpha": s["alpha1"] * shares[0] ** 2 + s["alpha2"] * shares[1] ** 2,
            "beta": s["beta1"] * shares[0] + s["beta2"] * shares[1],
            "gamma": s["gamma1"] + s["gamma2"]}


def _first_order(rhs, x, k, x1):
    """The solution of x(k + 1) = rhs = p(k) x(k) + q(k) with x(1) = x1, by the summing
    factor: x(k) = P(k) (x1 + sum_{j=1}^{k-1} q(j)/P(j + 1)), P(k) = prod_{j=1}^{k-1} p(j)."""
    import sympy as sp

    j = sp.Symbol("j", integer=True, positive=True)
    p = sp.simplify(sp.diff(rhs, x))
    q = sp.simplify(rhs - p * x)
    if q.has(x):
        raise ValueError("the recursion is not linear in x(k)")
    P = sp.simplify(sp.product(p.subs(k, j), (j, 1, k - 1)))
    total = sp.summation(sp.simplify(q.subs(k, j) / P.subs(k, j + 1)), (j, 1, k - 1))
    return sp.simplify(P * (x1 + total))


@stored.expression(SETTING)
def chain_closed_form_expr() -> dict:
    """The L-layer linear chain with unit masses (docs/modular_norm.md §9b.3): M_L =
    Linear o M_{L-1}, Linear (mu, nu, alpha, beta, gamma) = (1, 1, 0, 1, 0). The rules of
    :func:`composition_rules_expr` give first-order linear recursions in L, solved from
    M_1 = Linear with their summing factor. Returns the closed forms ``alpha``, ``beta``,
    ``gamma``, ``mass``, ``sensitivity`` (functions of L), ``alpha_recursion`` (the rule
    with a(L) for alpha_L), and ``induction_alpha``,
    ``induction_beta``, ``induction_gamma``: rule(closed form at L) - closed form at
    L + 1, simplified (zero), and the base cases minus Linear's constants (zero).
    """
    import sympy as sp

    s = symbols()
    L = s["L"]
    k = sp.Symbol("k", integer=True, positive=True)
    rules = composition_rules_expr()
    linear = {s["mu2"]: 1, s["nu2"]: 1, s["alpha2"]: 0, s["beta2"]: 1, s["gamma2"]: 0}

    def step(mass, sens, alpha, beta, gamma):
        values = {**linear, s["mu1"]: mass, s["nu1"]: sens, s["alpha1"]: alpha,
                  s["beta1"]: beta, s["gamma1"]: gamma}
        return {name: sp.simplify(rules[name].xreplace(values)) for name in rules}

    a, b, g, m = (sp.Function(n) for n in ("a", "b", "g", "m"))
    # M_{k+1} = Linear o M_k: the mass recursion first, then gamma, beta, alpha (each
    # recursion uses the ones solved before it)
    mass = _first_order(step(m(k), 1, 0, 0, 0)["mass"], m(k), k, 1)
    gamma = _first_order(step(mass, 1, a(k), b(k), g(k))["gamma"], g(k), k, 0)
    beta = _first_order(step(mass, 1, a(k), b(k), gamma)["beta"], b(k), k, 1)
    rec = step(mass, 1, a(k), beta, gamma)
    alpha = _first_order(rec["alpha"], a(k), k, 0)
    closed = {name: sp.simplify(v.subs(k, L)) for name, v in
              (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("mass", mass))}
    after = step(closed["mass"], 1, closed["alpha"], closed["beta"], closed["gamma"])
    return {**closed, "sensitivity": sp.Integer(1),
            "alpha_recursion": sp.simplify(rec["alpha"].subs(k, L)),
            "induction_alpha": sp.simplify(after["alpha"] - closed["alpha"].subs(L, L + 1)),
            "induction_beta": sp.simplify(after["beta"] - closed["beta"].subs(L, L + 1)),
            "induction_gamma": sp.simplify(after["gamma"] - closed["gamma"].subs(L, L + 1)),
            "base_alpha": closed["alpha"].subs(L, 1), "base_beta": closed["beta"].subs(L, 1) - 1,
            "base_gamma": closed["gamma"].subs(L, 1)}


@stored.expression(SETTING)
def gelu_slope_expr() -> dict:
    """GELU's slope gelu'(z) = Phi(z) + z phi(z), its critical points (solve gelu''(z) =
    phi(z)(2 - z^2) = 0: z = +-sqrt(2)) and its largest value gelu'(sqrt(2)), the Lipschitz
    constant of GELU (docs/modular_norm.md §9b.4)."""
    import sympy as sp

    z = sp.Symbol("z", real=True)
    gelu = z * (1 + sp.erf(z / sp.sqrt(2))) / 2
    slope = sp.diff(gelu, z)
    curvature = sp.simplify(sp.diff(slope, z))
    critical = sorted(sp.solve(curvature, z), key=lambda r: float(r))
    top = max(critical, key=lambda r: float(slope.subs(z, r)))
    return {"slope": sp.simplify(slope), "curvature": curvature, "critical": critical,
            "max_slope": sp.simplify(slope.subs(z, top))}


# --------------------------------------------------------------------------- numeric


def _rule_samples() -> list[tuple]:
    return [(1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0),
            (2.0, 0.7, 0.3, 0.9, 0.2, 0.5, 1.3, 0.1, 0.4, 0.6)]


def _rule_arguments():
    s = symbols()
    return tuple(s[k] for k in ("mu1", "nu1", "alpha1", "beta1", "gamma1",
                                "mu2", "nu2", "alpha2", "beta2", "gamma2"))


@stored.numeric(SETTING, samples=_rule_samples)
def _compose_rule() -> stored.Form:
    rules = composition_rules_expr()
    return stored.Form(_rule_arguments(), [rules[k] for k in
                                           ("mass", "sensitivity", "alpha", "beta", "gamma")],
                       printer="math")


@stored.numeric(SETTING, samples=_rule_samples)
def _concat_rule() -> stored.Form:
    rules = concatenation_rules_expr()
    return stored.Form(_rule_arguments(), [rules[k] for k in
                                           ("mass", "sensitivity", "alpha", "beta", "gamma")],
                       printer="math")


@stored.numeric(SETTING, samples=lambda: [(1.0,), (4.0,), (37.0,)])
def _chain_alpha() -> stored.Form:
    return stored.Form((symbols()["L"],), chain_closed_form_expr()["alpha"], printer="math")


@stored.numeric(SETTING, samples=lambda: [()])
def _gelu_max_slope() -> stored.Form:
    return stored.Form((), gelu_slope_expr()["max_slope"], printer="math")


def chain_alpha(depth: int) -> float:
    """alpha_L = (L - 1)/L of the L-layer linear chain with unit masses
    (docs/modular_norm.md §9b.3; sympy: :func:`chain_closed_form_expr`)."""
    return float(_chain_alpha()(float(validation.depth(depth))))


def gelu_max_slope() -> float:
    """max_z gelu'(z) = gelu'(sqrt(2)) (docs/modular_norm.md §9b.4)."""
    return float(_gelu_max_slope()())


def sharpness(module: modules.Module) -> tuple[float, float, float, float, float]:
    """(mass, sensitivity, alpha, beta, gamma) of a module tree by the sympy-derived rules
    (docs/modular_norm.md §9b.1 and §9b.2): Linear is (mu, 1, 0, 1, 0), the identity and
    Mul(c) (:class:`~theory.modular_norm.Scale`) have mass 0, sensitivity 1 and |c| and
    no curvature. GELU and ReLU have no sharpness constants in the RMS norm (ReLU is not
    differentiable; GELU's elementwise curvature, measured in RMS norms, grows like
    sqrt(width)), so trees holding them raise ValueError."""
    from theory import modular_norm as modules  # here: importing analytic needs no numba

    if isinstance(module, modules.Linear):
        return (module.mass, 1.0, 0.0, 1.0, 0.0)
    if isinstance(module, modules.Bond):
        if module.kind != "identity":
            raise ValueError(f"module: a {module.kind} bond has no sharpness constants in the "
                             f"RMS norm")
        return (0.0, 1.0, 0.0, 0.0, 0.0)
    if isinstance(module, modules.Scale):
        mass, nu, alpha, beta, gamma = sharpness(module.module)
        c = abs(module.factor)
        # Mul(c) after the module: a composition with (0, c, 0, 0, 0)
        return (mass, c * nu, alpha / c, beta, c * gamma)
    if isinstance(module, modules.Compose):
        inner, outer = sharpness(module.inner), sharpness(module.outer)
        if inner[0] == 0.0 or outer[0] == 0.0:
            return _compose_massless(inner, outer)
        return tuple(float(v) for v in _compose_rule()(*inner, *outer))
    if isinstance(module, modules.Concat):
        parts = [sharpness(p) for p in module.parts]
        total = parts[0]
        for part in parts[1:]:
            if total[0] == 0.0 or part[0] == 0.0:
                total = (total[0] + part[0], total[1] + part[1], total[2] + part[2],
                         total[3] + part[3], total[4] + part[4])
            else:
                total = tuple(float(v) for v in _concat_rule()(*total, *part))
        return total
    raise ValueError(f"module: unknown module type {type(module).__name__}")


def _compose_massless(inner: tuple, outer: tuple) -> tuple:
    """The composition rule when one part has no weights (mass 0): the massless part's
    share of the norm is nothing, the weighted part takes all of it (the limits
    mu1 -> 0 or mu2 -> 0 of the rule)."""
    mu1, nu1, a1, b1, g1 = inner
    mu2, nu2, a2, b2, g2 = outer
    if mu1 == 0.0 and mu2 == 0.0:
        return (0.0, nu1 * nu2, 0.0, 0.0, g2 * nu1 ** 2 + nu2 * g1)
    if mu1 == 0.0:  # weights only in the outer part
        return (mu2, nu1 * nu2, a2, b2 * nu1, g2 * nu1 ** 2 + nu2 * g1)
    return (mu1, nu1 * nu2, a1 / nu2 + g2 / nu2 ** 2, b1 + nu1 * g2 / nu2,
            g2 * nu1 ** 2 + nu2 * g1)
