"""Closed forms for the two-layer WeightNorm network (docs/weightnorm_hessian.md).

Derived with sympy (the results stored in ``analytic._generated``):

- the Hessian of one neuron's term a phi(u), u = w . x / |w|, in (w, a), differentiated
  directly in R^3 and matched to the structured form a (phi'' g g^T + phi' grad^2 u),
  phi' g (:func:`neuron_hessian_expr`, docs/weightnorm_hessian.md §8b.1); in the frame
  w = rho e_1, x = u e_1 + q e_2 the same derivative gives the block's eigenvalues in
  closed form (:func:`block_eigenvalues_expr`,
  docs/weightnorm_hessian.md §8b.2);
- the bound on |grad^2 f| in m, |a_k|, |x|, rho_k and the suprema of |phi'| and |phi''|
  (:func:`hessian_bound_expr`, :func:`activation_sup_expr`,
  docs/weightnorm_hessian.md §8b.3);
- the homogeneity H_ww(cW) = H_ww(W)/c^2, H_wa(cW) = H_wa(W)/c (:func:`homogeneity_expr`,
  docs/weightnorm_hessian.md §8b.1);
- the orthogonality w . grad_w u = 0 and what it does to rho = |w|: under gradient descent
  rho^2 gains exactly lr^2 |grad_w L|^2 per step (less the weight decay's shrinking), under
  gradient flow rho(t) = rho(0) exp(-eta lambda t) (:func:`norm_dynamics_expr`,
  docs/weightnorm_hessian.md §8b.4).

The numeric functions evaluate the generated code with NumPy; :func:`sphere_supremum`
maximizes the closed-form block norm over a grid of u (with q^2 = |x|^2 - u^2). Importing
this module does not import sympy or numba.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytic import stored
from theory import validation

SETTING = "weightnorm_hessian"
SMOOTH = ("tanh", "softplus")
"""The activations of :func:`activation_sup_expr` (those with a Hessian)."""


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols of this module's expressions, by name."""
    import sympy as sp

    return {
        "u": sp.Symbol("u", real=True),
        "q": sp.Symbol("q", nonnegative=True),
        "rho": sp.Symbol("rho", positive=True),
        "a": sp.Symbol("a", real=True),
        "phi1": sp.Symbol("phi1", real=True),
        "phi2": sp.Symbol("phi2", real=True),
        "m": sp.Symbol("m", positive=True),
        "r": sp.Symbol("r", positive=True),
        "c": sp.Symbol("c", positive=True),
        "z": sp.Symbol("z", real=True),
        "S1": sp.Symbol("S1", positive=True),
        "S2": sp.Symbol("S2", positive=True),
        "lr": sp.Symbol("lr", positive=True),
        "lam": sp.Symbol("lam", nonnegative=True),
        "eta": sp.Symbol("eta", positive=True),
        "t": sp.Symbol("t", nonnegative=True),
        "rho2": sp.Symbol("rho2", positive=True),
        "g2": sp.Symbol("g2", nonnegative=True),
        "a_abs": sp.Symbol("a_abs", nonnegative=True),
        "rho0": sp.Symbol("rho0", positive=True),
    }


# --------------------------------------------------------------------------- the block


def _vectors():
    import sympy as sp

    w = sp.Matrix(sp.symbols("w1:4", real=True))
    x = sp.Matrix(sp.symbols("x1:4", real=True))
    return w, x


def _phi_derivatives_as_symbols(expr):
    """phi(u), phi'(u), phi''(u) (sympy's Subs of derivatives of an undefined phi) replaced
    by the symbols phi0, phi1, phi2."""
    import sympy as sp

    sym = symbols()
    names = {1: sym["phi1"], 2: sym["phi2"]}

    def is_derivative(e):
        return isinstance(e, sp.Subs) and isinstance(e.expr, sp.Derivative)

    expr = expr.replace(is_derivative, lambda e: names[e.expr.derivative_count])
    return expr.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef),
                        lambda e: sp.Symbol("phi0", real=True))


def _direct_hessian(w, x):
    """The Hessian of a phi(w . x / |w|) in (w_1, w_2, w_3, a), phi undefined, with its
    derivatives as the symbols phi1, phi2."""
    import sympy as sp

    a = symbols()["a"]
    phi = sp.Function("phi")
    u = (w.T * x)[0] / sp.sqrt((w.T * w)[0])
    H = sp.hessian(a * phi(u), list(w) + [a])
    return H.applyfunc(_phi_derivatives_as_symbols), u


@stored.expression(SETTING)
def neuron_hessian_expr() -> dict:
    """The Hessian of one neuron's term a phi(u), u = w . x / rho, rho = |w|, in (w, a),
    derived in R^3 (docs/weightnorm_hessian.md §8b.1).

    ``direct``: sympy's Hessian (4 x 4, phi' and phi'' at u as the symbols phi1, phi2).
    ``u_gradient``: grad_w u, and ``u_gradient_along_w`` = w . grad_w u, which simplifies
    to 0 (u is homogeneous of degree 0 in w, Euler). ``structured``: the matrix form
    [[a (phi'' g g^T + phi' Hu), phi' g], [phi' g^T, 0]] with w^ = w/rho, P = I - w^ w^T,
    p = P x, g = p/rho and Hu = -(w^ p^T + p w^T + u P)/rho^2, and ``difference`` =
    direct - structured, which simplifies to the zero matrix (checked here; the
    derivation raises otherwise).
    """
    import sympy as sp

    w, x = _vectors()
    a, phi1, phi2 = (symbols()[n] for n in ("a", "phi1", "phi2"))
    H, u = _direct_hessian(w, x)
    rho = sp.sqrt((w.T * w)[0])
    w_hat = w / rho
    p = x - u * w_hat
    g = p / rho
    Hu = -(w_hat * p.T + p * w_hat.T + u * (sp.eye(3) - w_hat * w_hat.T)) / rho ** 2
    structured = sp.zeros(4, 4)
    structured[:3, :3] = a * (phi2 * g * g.T + phi1 * Hu)
    structured[:3, 3] = phi1 * g
    structured[3, :3] = (phi1 * g).T
    difference = (H - structured).applyfunc(sp.simplify)
    if not difference.is_zero_matrix:
        raise ArithmeticError(f"the structured Hessian differs from sympy's: {difference}")
    gradient = sp.Matrix([sp.diff(u, wi) for wi in w])
    along = sp.simplify((w.T * gradient)[0])
    if along != 0:
        raise ArithmeticError(f"w . grad_w u = {along}, not 0")
    return {"direct": H, "structured": structured, "difference": difference,
            "u_gradient": gradient.applyfunc(sp.simplify), "u_gradient_along_w": along}


def _frame_hessian():
    """The direct Hessian at w = rho e_1, x = u e_1 + q e_2 (any (w, x) is rotated there:
    the block transforms as Q H Q^T, which keeps its eigenvalues), times m^(-1/2)."""
    import sympy as sp

    sym = symbols()
    w, x = _vectors()
    H, _ = _direct_hessian(w, x)
    frame = {w[0]: sym["rho"], w[1]: 0, w[2]: 0, x[0]: sym["u"], x[1]: sym["q"], x[2]: 0}
    return (H.subs(frame) / sp.sqrt(sym["m"])).applyfunc(sp.simplify)


@stored.expression(SETTING)
def block_eigenvalues_expr() -> dict:
    """The eigenvalues of a block H_k of grad^2 f = m^(-1/2) sum_k (Hessian of a_k
    phi(u_k)) (docs/weightnorm_hessian.md §8b.2).

    In the frame w = rho e_1, x = u e_1 + q e_2 (q = |P x| >= 0) the block is ``frame``
    (in the order e_1, e_2, e_3, a; sympy's Hessian at that point). Its eigenvalues
    (sympy ``eigenvals``) are ``complement`` = -a phi' u / (sqrt(m) rho^2) (on every
    direction orthogonal to w and x, d - 2 of them in R^d), 0 (on the combination of w^
    and the a-direction that the block annihilates), and ``pair`` = (B +- sqrt(B^2 + 4 s^2))
    / 2 with B = a (phi'' q^2 - phi' u) / (sqrt(m) rho^2) and s^2 = phi'^2 q^2 (a^2 + rho^2)
    / (m rho^4). ``norm``: the spectral norm max(|complement|, (|B| + sqrt(B^2 + 4 s^2))/2)
    (the largest |eigenvalue|; for d = 2 the complement is absent).
    """
    import sympy as sp

    frame = _frame_hessian()
    eigenvalues = [sp.simplify(e) for e, k in frame.eigenvals().items() for _ in range(k)]
    sym = symbols()
    u, q, rho, a, phi1, phi2, m = (sym[n] for n in ("u", "q", "rho", "a", "phi1", "phi2", "m"))
    complement = sp.simplify(frame[2, 2])
    rest = [e for e in eigenvalues if sp.simplify(e - complement) != 0 and e != 0]
    if len(rest) != 2 or complement not in eigenvalues or 0 not in eigenvalues:
        raise ArithmeticError(f"unexpected eigenvalues {eigenvalues}")
    B = sp.simplify(rest[0] + rest[1])  # the trace of the pair
    s2 = sp.simplify(-rest[0] * rest[1])  # minus its determinant
    norm_pair = (sp.Abs(B) + sp.sqrt(B ** 2 + 4 * s2)) / 2
    return {"frame": frame, "eigenvalues": eigenvalues, "complement": complement,
            "pair": rest, "pair_trace": B, "pair_coupling": s2,
            "norm": sp.Max(sp.Abs(complement), norm_pair)}


def _block_samples() -> list[tuple]:
    return [(0.3, 0.8, 1.0, 1.0, 0.9, -0.5, 16.0), (-1.2, 0.1, 0.4, -2.0, 0.2, 0.3, 1.0),
            (0.0, 1.0, 2.0, 0.5, 1.0, 0.0, 100.0)]


@stored.numeric(SETTING, samples=_block_samples)
def _block_spectrum() -> stored.Form:
    """[complement, pair_trace, pair_coupling] of :func:`block_eigenvalues_expr`."""
    sym = symbols()
    forms = block_eigenvalues_expr()
    return stored.Form(tuple(sym[n] for n in ("u", "q", "rho", "a", "phi1", "phi2", "m")),
                       [forms["complement"], forms["pair_trace"], forms["pair_coupling"]])


def block_spectrum(u, q, rho, a, phi1, phi2, m) -> tuple[np.ndarray, np.ndarray]:
    """(complement, pair) of the block eigenvalues (:func:`block_eigenvalues_expr`):
    ``complement`` (-a phi' u/(sqrt(m) rho^2)) and ``pair`` (shape (..., 2), ascending);
    the remaining eigenvalue is 0. Arguments broadcast; q = |x - u w^| >= 0."""
    complement, trace, coupling = (np.asarray(v, dtype=np.float64) for v in _block_spectrum()(
        *(np.asarray(v, dtype=np.float64) for v in (u, q, rho, a, phi1, phi2, m))))
    root = np.sqrt(trace ** 2 + 4.0 * coupling)
    return complement, np.stack(((trace - root) / 2, (trace + root) / 2), axis=-1)


def _neuron_terms(W, a, x, activation: str) -> tuple:
    """(u, q, rho, phi', phi'') of every neuron, by NumPy."""
    W = validation.finite_matrix("W", W)
    a = validation.finite_vector("a", a, size=W.shape[0])
    x = validation.finite_vector("x", x, size=W.shape[1])
    if activation not in SMOOTH:
        raise ValueError(f"activation must be one of {SMOOTH} (twice differentiable), "
                         f"got {activation!r}")
    rho = np.sqrt(np.sum(W * W, axis=1))
    if np.any(rho == 0.0):
        raise ValueError("W: a row is zero (rho_k = 0)")
    u = W @ x / rho
    q = np.sqrt(np.maximum(x @ x - u * u, 0.0))
    if activation == "tanh":
        t = np.tanh(u)
        phi1, phi2 = 1.0 - t * t, -2.0 * t * (1.0 - t * t)
    else:
        sigma = 0.5 * (1.0 + np.tanh(u / 2))
        phi1, phi2 = sigma, sigma * (1.0 - sigma)
    return W, a, u, q, rho, phi1, phi2


def block_norms_closed_form(W, a, x, activation: str = "tanh") -> np.ndarray:
    """|H_k|_2 of every block from the closed-form eigenvalues (docs/weightnorm_hessian.md
    §8b.2; the complement eigenvalue counts only for d >= 3)."""
    W, a, u, q, rho, phi1, phi2 = _neuron_terms(W, a, x, activation)
    complement, pair = block_spectrum(u, q, rho, a, phi1, phi2, W.shape[0])
    norm = np.abs(pair).max(axis=-1)
    return np.maximum(norm, np.abs(complement)) if W.shape[1] >= 3 else norm


def hessian_norm_closed_form(W, a, x, activation: str = "tanh") -> float:
    """|grad^2_theta f(theta; x)|_2 = max_k |H_k|_2 from the closed form."""
    return float(block_norms_closed_form(W, a, x, activation).max())


# --------------------------------------------------------------------------- the bound


@stored.expression(SETTING, stored=tuple((name,) for name in SMOOTH))
def activation_sup_expr(activation: str) -> dict:
    """sup |phi'| and sup |phi''| over the real line (docs/weightnorm_hessian.md §8b.3):
    the largest |value| among the critical points (sympy ``solve`` of the next derivative
    = 0) and the limits at +-infinity. Returns ``phi``, ``sup_phi1``, ``sup_phi2`` and the
    critical points ``critical1``, ``critical2``."""
    import sympy as sp

    if activation not in SMOOTH:
        raise ValueError(f"activation must be one of {SMOOTH}, got {activation!r}")
    z = symbols()["z"]
    phi = sp.tanh(z) if activation == "tanh" else sp.log(1 + sp.exp(z))
    result = {"phi": phi}
    for order in (1, 2):
        derivative = sp.simplify(sp.diff(phi, z, order))
        critical = sp.solve(sp.diff(derivative, z), z)
        critical = [c for c in critical if c.is_real]
        values = [sp.Abs(derivative.subs(z, c)) for c in critical]
        values += [sp.Abs(sp.limit(derivative, z, sp.oo)), sp.Abs(sp.limit(derivative, z, -sp.oo))]
        result[f"sup_phi{order}"] = sp.nsimplify(sp.simplify(sp.Max(*values)))
        result[f"critical{order}"] = critical
    return result


@stored.numeric(SETTING, stored=tuple((name,) for name in SMOOTH), samples=lambda *a: [()])
def _activation_sups(activation: str) -> stored.Form:
    forms = activation_sup_expr(activation)
    return stored.Form((), [forms["sup_phi1"], forms["sup_phi2"]])


def activation_sups(activation: str) -> tuple[float, float]:
    """(sup |phi'|, sup |phi''|) of a smooth activation (:func:`activation_sup_expr`):
    tanh (1, 4/(3 sqrt 3)), softplus (1, 1/4)."""
    if activation not in SMOOTH:
        raise ValueError(f"activation must be one of {SMOOTH} (twice differentiable), "
                         f"got {activation!r}")
    s1, s2 = _activation_sups(activation)()
    return float(s1), float(s2)


@stored.expression(SETTING)
def hessian_bound_expr() -> dict:
    """The bound on |grad^2 f| (docs/weightnorm_hessian.md §8b.3).

    ``u_hessian_eigenvalues``: the eigenvalues of grad^2_w u in the frame (sympy), -u/rho^2
    and (-u +- sqrt(u^2 + 4 q^2))/(2 rho^2); with q^2 = r^2 - u^2 (r = |x|) the largest
    |eigenvalue| (|u| + sqrt(4 r^2 - 3 u^2))/(2 rho^2) is maximal where its u-derivative
    vanishes, u = r/sqrt(3) (``u_critical``), so |grad^2 u| <= ``u_hessian_sup`` =
    2 r/(sqrt(3) rho^2). With |g| = q/rho <= r/rho, |[[A, b], [b^T, 0]]| <= |A| + |b| and
    |phi'| <= S1, |phi''| <= S2 every block obeys |H_k| <= ``block_bound`` =
    m^(-1/2) (|a_k| (S2 r^2 + 2 S1 r/sqrt(3))/rho_k^2 + S1 r/rho_k), and |grad^2 f| is at
    most its maximum over k.
    """
    import sympy as sp

    sym = symbols()
    u, q, rho, r, m, S1, S2, a_abs = (sym[n] for n in ("u", "q", "rho", "r", "m", "S1", "S2",
                                                       "a_abs"))
    w, x = _vectors()
    u_of_w = (w.T * x)[0] / sp.sqrt((w.T * w)[0])
    frame = {w[0]: rho, w[1]: 0, w[2]: 0, x[0]: u, x[1]: q, x[2]: 0}
    Hu = sp.hessian(u_of_w, list(w)).subs(frame).applyfunc(sp.simplify)
    eigenvalues = [sp.simplify(e) for e, k in Hu.eigenvals().items() for _ in range(k)]
    v = sp.Symbol("v", nonnegative=True)  # |u|, on [0, r]
    largest = (v + sp.sqrt(v ** 2 + 4 * (r ** 2 - v ** 2))) / (2 * rho ** 2)
    critical = [c for c in sp.solve(sp.diff(largest, v), v) if c.is_nonnegative]
    candidates = [largest.subs(v, c) for c in critical + [sp.Integer(0), r]]
    sup = sp.simplify(sp.Max(*[sp.simplify(c) for c in candidates]))
    block_bound = ((a_abs * (S2 * r ** 2 + S1 * sup * rho ** 2) / rho ** 2 + S1 * r / rho)
                   / sp.sqrt(m))
    return {"u_hessian_eigenvalues": eigenvalues, "u_critical": critical,
            "u_hessian_sup": sup, "block_bound": sp.expand(block_bound)}


@stored.numeric(SETTING, samples=lambda: [(1.0, 1.0, 1.0, 1.0, 0.77, 16.0),
                                          (2.0, 0.5, 0.1, 1.0, 0.25, 1.0)])
def _block_bound() -> stored.Form:
    sym = symbols()
    return stored.Form(tuple(sym[n] for n in ("a_abs", "r", "rho", "S1", "S2", "m")),
                       hessian_bound_expr()["block_bound"])


def block_bounds(W, a, x, activation: str = "tanh") -> np.ndarray:
    """The bound of :func:`hessian_bound_expr` on every block |H_k|, shape (m,)."""
    W, a, _, _, rho, _, _ = _neuron_terms(W, a, x, activation)
    s1, s2 = activation_sups(activation)
    r = float(np.linalg.norm(x))
    return np.asarray(_block_bound()(np.abs(a), r, rho, s1, s2, float(W.shape[0])), dtype=float)


def hessian_bound(W, a, x, activation: str = "tanh") -> float:
    """m^(-1/2) max_k (|a_k| (S2 |x|^2 + 2 S1 |x|/sqrt(3))/rho_k^2 + S1 |x|/rho_k) >=
    |grad^2_theta f(theta; x)|_2 (docs/weightnorm_hessian.md §8b.3)."""
    return float(block_bounds(W, a, x, activation).max())


def sphere_supremum(activation: str = "tanh", x_norm: float = 1.0, rho: float = 1.0,
                    a_abs: float = 1.0, points: int = 200_001) -> float:
    """sup over unit directions w^ of sqrt(m) |H_k|_2 for neurons with |w_k| = rho and
    |a_k| = a_abs at an input of norm ``x_norm`` (d >= 3): the closed-form block norm
    (docs/weightnorm_hessian.md §8b.2) maximized over u in [-|x|, |x|] with
    q = sqrt(|x|^2 - u^2), on a grid of ``points`` values of u refined by a bounded scalar
    maximizer (scipy) around the best one
    (docs/weightnorm_hessian.md §8b.3). Every neuron of a sphere initialization of radius
    rho has sqrt(m) |H_k| at most this, whatever m."""
    from scipy.optimize import minimize_scalar

    r = validation.positive_scalar("x_norm", x_norm)
    rho = validation.positive_scalar("rho", rho)
    a_abs = validation.nonnegative_scalar("a_abs", a_abs)
    if activation not in SMOOTH:
        raise ValueError(f"activation must be one of {SMOOTH}, got {activation!r}")

    def norm(u):
        u = np.asarray(u, dtype=float)
        q = np.sqrt(np.maximum(r * r - u * u, 0.0))
        if activation == "tanh":
            t = np.tanh(u)
            phi1, phi2 = 1.0 - t * t, -2.0 * t * (1.0 - t * t)
        else:
            sigma = 0.5 * (1.0 + np.tanh(u / 2))
            phi1, phi2 = sigma, sigma * (1.0 - sigma)
        complement, pair = block_spectrum(u, q, rho, a_abs, phi1, phi2, 1.0)
        return np.maximum(np.abs(pair).max(axis=-1), np.abs(complement))

    grid = np.linspace(-r, r, validation.count("points", points, minimum=3))
    values = norm(grid)
    best = int(np.argmax(values))
    step = grid[1] - grid[0]
    refined = minimize_scalar(lambda u: -float(norm(u)), method="bounded",
                              bounds=(max(-r, grid[best] - step), min(r, grid[best] + step)),
                              options={"xatol": 1e-14})
    return float(max(values[best], -refined.fun))


# --------------------------------------------------------------------------- homogeneity


@stored.expression(SETTING)
def homogeneity_expr() -> dict:
    """How the block scales with w (docs/weightnorm_hessian.md §8b.1): the direct Hessian
    of :func:`neuron_hessian_expr` at c w against that at w. ``ww_factor`` and
    ``wa_factor``: the ratios H(cw)/H(w) of the w-w and w-a parts (1/c^2 and 1/c,
    obtained from one nonzero entry and checked on all: H_ww(cw) - ww_factor H_ww(w) and
    H_wa(cw) - wa_factor H_wa(w) simplify to zero), ``aa`` = H_aa = 0."""
    import sympy as sp

    c = symbols()["c"]
    w, x = _vectors()
    H, _ = _direct_hessian(w, x)
    scaled = H.subs({wi: c * wi for wi in w}, simultaneous=True)
    ww_factor = sp.simplify(scaled[0, 1] / H[0, 1])
    wa_factor = sp.simplify(scaled[0, 3] / H[0, 3])
    ww = (scaled[:3, :3] - ww_factor * H[:3, :3]).applyfunc(sp.simplify)
    wa = (scaled[:3, 3] - wa_factor * H[:3, 3]).applyfunc(sp.simplify)
    if not (ww.is_zero_matrix and wa.is_zero_matrix and H[3, 3] == 0):
        raise ArithmeticError("the block does not scale as one factor per part")
    return {"ww_factor": ww_factor, "wa_factor": wa_factor, "aa": H[3, 3]}


# --------------------------------------------------------------------------- norm dynamics


@stored.expression(SETTING)
def norm_dynamics_expr() -> dict:
    """rho = |w| under training (docs/weightnorm_hessian.md §8b.4).

    The loss depends on w only through u = w . x/|w| (for every sample), so grad_w L is a
    combination of the grad_w u and orthogonal to w (:func:`neuron_hessian_expr`). A step
    w+ = (1 - lr lam) w - lr G (weight decay lam, G = grad_w L) has |w+|^2 =
    ``gd_expanded`` (sympy, in R^3); with G . w = 0 it is ``gd_next`` = (1 - lr lam)^2
    rho^2 + lr^2 |G|^2: without decay rho^2 grows by exactly lr^2 |G|^2 per step
    (``gd_increment``); with decay it falls iff |G|^2 < ``decrease_threshold`` =
    lam (2 - lr lam) rho^2 / lr. Under the flow dw/dt = -eta (G + lam w),
    d rho^2/dt = -2 eta lam rho^2, solved by ``dsolve``: ``flow_norm`` =
    rho0 exp(-eta lam t) (constant without decay).
    """
    import sympy as sp

    sym = symbols()
    lr, lam, eta, t, rho2, g2 = (sym[n] for n in ("lr", "lam", "eta", "t", "rho2", "g2"))
    w = sp.Matrix(sp.symbols("w1:4", real=True))
    G = sp.Matrix(sp.symbols("G1:4", real=True))
    w_next = (1 - lr * lam) * w - lr * G
    expanded = sp.expand((w_next.T * w_next)[0])
    gw, ww, gg = sp.Symbol("Gw", real=True), sp.Symbol("ww", positive=True), sp.Symbol("GG")
    in_products = (1 - lr * lam) ** 2 * ww - 2 * lr * (1 - lr * lam) * gw + lr ** 2 * gg
    check = sp.expand(in_products.subs({ww: (w.T * w)[0], gw: (G.T * w)[0], gg: (G.T * G)[0]})
                      - expanded)
    if check != 0:
        raise ArithmeticError(f"|w+|^2 is not the inner-product form: {check}")
    gd_next = in_products.subs({gw: 0, ww: rho2, gg: g2})
    increment = sp.simplify(gd_next.subs(lam, 0) - rho2)
    threshold = sp.solve(sp.Eq(gd_next, rho2), g2)[0]
    R = sp.Function("R")  # rho^2(t)
    rho0 = sym["rho0"]
    # d/dt |w|^2 = 2 w . dw/dt = -2 eta (w . G + lam |w|^2), with w . G = 0
    solution = sp.dsolve(sp.Eq(R(t).diff(t), -2 * eta * lam * R(t)), R(t),
                         ics={R(0): rho0 ** 2}).rhs
    return {"gd_expanded": expanded, "gd_next": gd_next, "gd_increment": increment,
            "decrease_threshold": sp.factor(threshold),
            "flow_norm": sp.simplify(sp.sqrt(solution))}


@stored.numeric(SETTING, samples=lambda: [(1.0, 0.5, 0.1, 0.0), (2.0, 0.01, 0.5, 0.05)])
def _gd_next() -> stored.Form:
    sym = symbols()
    return stored.Form(tuple(sym[n] for n in ("rho2", "g2", "lr", "lam")),
                       norm_dynamics_expr()["gd_next"])


@stored.numeric(SETTING, samples=lambda: [(1.0, 1.0, 0.0, 3.0), (0.7, 0.5, 0.05, 10.0)])
def _flow_norm() -> stored.Form:
    sym = symbols()
    return stored.Form(tuple(sym[n] for n in ("rho0", "eta", "lam", "t")),
                       norm_dynamics_expr()["flow_norm"])


def gd_norm_squared_next(rho2, grad2, lr: float, weight_decay: float = 0.0) -> np.ndarray:
    """rho_k^2 after one gradient-descent step from rho_k^2 = ``rho2`` with
    |dL/dw_k|^2 = ``grad2``: (1 - lr lam)^2 rho^2 + lr^2 |G|^2 (docs/weightnorm_hessian.md
    §8b.4; sympy: :func:`norm_dynamics_expr`)."""
    lr = validation.positive_scalar("lr", lr)
    lam = validation.nonnegative_scalar("weight_decay", weight_decay)
    rho2 = validation.nonnegative_array("rho2", rho2)
    grad2 = validation.nonnegative_array("grad2", grad2)
    return np.asarray(_gd_next()(rho2, grad2, lr, lam), dtype=float)


def flow_norm(rho0, eta: float, weight_decay: float, t) -> np.ndarray:
    """rho_k(t) = rho_k(0) exp(-eta lam t) under gradient flow (docs/weightnorm_hessian.md
    §8b.4; sympy ``dsolve``: :func:`norm_dynamics_expr`)."""
    eta = validation.positive_scalar("eta", eta)
    lam = validation.nonnegative_scalar("weight_decay", weight_decay)
    rho0 = validation.nonnegative_array("rho0", rho0)
    t = validation.nonnegative_array("t", t)
    return np.asarray(_flow_norm()(rho0, eta, lam, t), dtype=float)
