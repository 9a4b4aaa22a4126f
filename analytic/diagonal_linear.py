"""Closed forms for diagonal linear networks x = u^L - v^L (docs/diagonal_linear.md).

Setting: u = v = alpha 1 at t = 0 (so x(0) = 0), loss 1/2 ||A x - y||^2 with A of shape
M x N, M < N, gradient flow u' = -L u^(L-1) g, v' = L v^(L-1) g with g = A^T (A x - y).
Each formula is derived with sympy the first time it is needed, cached, and exposed as a
sympy expression (``*_expr``) and as a numeric function:

- Woodworth et al. (2020), arXiv:1906.05827 (docs/diagonal_linear.md §4b): the potential
  q(z) = integral_0^z arcsinh(s/2) ds (``integrate``), its small-z series (the l2 limit)
  and its large-|z| asymptote (the l1 limit, by successive limits at infinity); the
  depth-D potential q_D = integral of h_D^{-1}; the convex dual of argmin Q_alpha
  subject to A z = y (``solve`` of the stationarity for one coordinate, then the
  conjugate), solved numerically by damped Newton in a log-safe form.
- Conserved quantities of gradient flow (u v for L = 2, u^(2-L) + v^(2-L) for any L) and
  of per-coordinate weight normalization (Chou, Rauhut & Ward, arXiv:2305.05448;
  docs/diagonal_linear.md §4c.1): r^2/2 + kappa F_L(theta), with d/dt = 0 checked symbolically.
- The weight-normalization implicit-bias potential for L = 2: Phi'(z) = -h(X^{-1}(z)).

Numerical evaluations that must not overflow or cancel (q at |z| up to 1e300, the dual at
alpha down to 1e-12, X^{-1} when sin(psi) underflows) use rewritten forms; the rewrites are
either checked symbolically against the derived expression here or checked numerically
against the lambdified derivation in the tests.

The derivations' results are stored in ``analytic._generated`` (``python -m
analytic.generate`` re-derives and writes them; ``.derive()`` on a ``*_expr`` function, or
``analytic.live()``, derives with sympy). Importing this module does not import sympy or
scipy, and the numeric functions do not import sympy: they run generated NumPy code.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytic import _arrays, stored
from theory import validation

SETTING = "diagonal_linear"
STORED_DEPTHS: tuple[int, ...] = tuple(range(2, 9))
"""Depths whose depth-specific forms are stored; other depths are derived on first use."""

_NEWTON_MAX_ITER = 500
_RESIDUAL_TOL = 1e-12
_WN_RESIDUAL_TOL = 1e-10
_LN_HALF_PI = float(np.log(np.pi / 2.0))
# below this log-angle, sin(psi) = psi and cos(psi) = 1 to double precision
_SMALL_LOG_ANGLE = -20.0


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols used in every expression of this module, by name."""
    import sympy as sp

    table = {name: sp.Symbol(name, real=True) for name in ("z", "s", "mu", "w", "g")}
    table.update({name: sp.Symbol(name, positive=True)
                  for name in ("alpha", "u", "v", "r", "r0", "kappa", "eta_r", "eta_theta",
                               "psi")})
    table["L"] = sp.Symbol("L", positive=True, integer=True)
    table["theta"] = sp.Symbol("theta", positive=True)
    return table


def _depth_at_least_two(depth: int) -> int:
    D = validation.depth(depth)
    if D < 2:
        raise ValueError(f"depth must be >= 2 for a diagonal network, got {D}")
    return D


def _depth_key(depth: int = 2) -> tuple[int]:
    return (_depth_at_least_two(depth),)


_BY_DEPTH = tuple((d,) for d in STORED_DEPTHS)


# --------------------------------------------------------------------------- q (depth 2)


@stored.expression(SETTING)
def q_expr():
    """q(z) = integral_0^z arcsinh(s/2) ds = 2 - sqrt(4 + z^2) + z asinh(z/2) (``integrate``).

    Source: Woodworth et al. (2020), arXiv:1906.05827, Theorem 1; docs/diagonal_linear.md §4b.1.
    """
    import sympy as sp

    s = symbols()
    return sp.integrate(sp.asinh(s["s"] / 2), (s["s"], 0, s["z"]))


@stored.expression(SETTING)
def q_stable_expr():
    """q(z) = z (asinh(z/2) - z / (2 + sqrt(4 + z^2))), free of cancellation and of z^2.

    Obtained from :func:`q_expr` by 2 - sqrt(4 + z^2) = -z^2 / (2 + sqrt(4 + z^2)); the
    identity is checked with ``radsimp``. Evaluated with hypot(2, z) for sqrt(4 + z^2), it
    does not overflow for |z| up to the largest double.
    """
    import sympy as sp

    z = symbols()["z"]
    root = sp.sqrt(z ** 2 + 4)
    stable = z * (sp.asinh(z / 2) - z / (2 + root))
    if sp.simplify(sp.radsimp(stable - q_expr())) != 0:
        raise ArithmeticError("the stable form of q does not match its derivation")
    return stable


@stored.numeric(SETTING, samples=lambda: [(0.0,), (1e-8,), (-0.5,), (2.0,), (1e300,)])
def _q() -> stored.Form:
    import sympy as sp

    z = symbols()["z"]
    hypot = sp.Function("hypot")
    expr = q_stable_expr().subs(sp.sqrt(z ** 2 + 4), hypot(2, z))
    return stored.Form((z,), expr, functions=(("hypot", "numpy.hypot"),))


def q(z) -> np.ndarray:
    """q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z/2), elementwise (any shape).

    Uses the form of :func:`q_stable_expr` with hypot, accurate for small |z| (no
    cancellation) and finite for |z| up to 1e300 and beyond.
    """
    z_arr = validation.finite_array("z", z)
    return _arrays.shaped(np.ravel(_q()(z_arr)), z_arr.shape)


@stored.expression(SETTING, stored=((6,),),
                    canonical=lambda order=6: (validation.count("order", order, minimum=1),))
def q_series_expr(order: int = 6):
    """Taylor series of q at 0 up to (excluding) z^order: z^2/4 - z^4/192 + z^6/2560 - ...

    The leading term z^2/4 gives Q_alpha(z) ~ ||z||^2 / (4 alpha^2): the l2 limit
    alpha -> infinity (docs/diagonal_linear.md §4b.1).
    """
    import sympy as sp

    n = validation.count("order", order, minimum=1)
    return sp.series(q_expr(), symbols()["z"], 0, n).removeO()


@stored.expression(SETTING)
def q_asymptotic_expr():
    """q(z) = |z| ln|z| - |z| + 2 + o(1) as |z| -> infinity (q is even).

    Derived by successive limits at infinity for z > 0: c1 = lim q / (z ln z),
    c2 = lim (q - c1 z ln z) / z, c3 = lim (q - c1 z ln z - c2 z). It gives
    Q_alpha(z) ~ ln(alpha^-2) ||z||_1 + sum |z_i| (ln|z_i| - 1): the l1 limit alpha -> 0.
    Returned in terms of |z| with z the real symbol.
    """
    import sympy as sp

    z = symbols()["z"]
    x = sp.Symbol("x", positive=True)
    qx = q_expr().subs(z, x)
    c1 = sp.limit(qx / (x * sp.log(x)), x, sp.oo)
    c2 = sp.limit((qx - c1 * x * sp.log(x)) / x, x, sp.oo)
    c3 = sp.limit(qx - c1 * x * sp.log(x) - c2 * x, x, sp.oo)
    return (c1 * x * sp.log(x) + c2 * x + c3).subs(x, sp.Abs(z))


# --------------------------------------------------------------------------- depth D >= 3


@stored.expression(SETTING, stored=_BY_DEPTH, canonical=_depth_key)
def h_expr(depth: int):
    """h_D(w) = (1 - w)^(-D/(D-2)) - (1 + w)^(-D/(D-2)) for D >= 3 and 2 sinh(w) for D = 2.

    x = alpha^D h_D(w) with w in range(A^T) along gradient flow (docs/diagonal_linear.md §4b.2; the
    invariant u^(2-D) + v^(2-D) = 2 alpha^(2-D) of :func:`invariant_expr` gives it). q_D is
    defined by q_D' = h_D^{-1}, q_D(0) = 0; for D = 2, h_2^{-1}(z) = asinh(z/2) = q'(z).
    """
    import sympy as sp

    D = _depth_at_least_two(depth)
    w = symbols()["w"]
    if D == 2:
        return 2 * sp.sinh(w)
    p = sp.Rational(D, D - 2)
    return (1 - w) ** (-p) - (1 + w) ** (-p)


@stored.expression(SETTING, stored=_BY_DEPTH, canonical=_depth_key)
def dual_expr(depth: int = 2) -> dict:
    """Dual of argmin_z alpha^D sum q_D(z_i / alpha^D) subject to A z = y, per coordinate.

    With multiplier nu and mu = (A^T nu)_i, the stationarity in z_i of
    alpha^D q_D(z_i / alpha^D) - mu z_i is q_D'(z_i / alpha^D) = mu. For D = 2 it is derived
    (``diff`` of alpha^2 q(z / alpha^2)) as asinh(z / (2 alpha^2)) = mu and ``solve``d:
    z = 2 alpha^2 sinh(mu); the conjugate mu z - alpha^2 q(z / alpha^2) there simplifies to
    2 alpha^2 (cosh(mu) - 1). For D >= 3, q_D' = h_D^{-1} gives z = alpha^D h_D(mu) and,
    integrating by parts, the conjugate alpha^D H_D(mu) with H_D = ``integrate`` h_D. The dual
    is max_nu nu^T y - sum conjugate((A^T nu)_i), and x = primal(A^T nu).

    Returns ``stationarity`` (D = 2 only), ``primal`` z(mu), ``conjugate`` and ``curvature``
    dz/dmu, in the symbols mu and alpha.
    """
    import sympy as sp

    D = _depth_at_least_two(depth)
    s = symbols()
    mu, alpha, z, w = s["mu"], s["alpha"], s["z"], s["w"]
    out = {}
    if D == 2:
        potential = alpha ** 2 * q_expr().subs(z, z / alpha ** 2)
        stationarity = sp.simplify(sp.diff(potential, z))
        (primal,) = sp.solve(sp.Eq(stationarity, mu), z)
        conjugate = mu * primal - potential.subs(z, primal)
        # asinh(sinh(mu)) = mu for real mu
        conjugate = sp.simplify(conjugate.replace(sp.asinh(sp.sinh(mu)), mu))
        out["stationarity"] = stationarity
    else:
        h = h_expr(D)
        primal = alpha ** D * h.subs(w, mu)
        conjugate = alpha ** D * sp.simplify(sp.integrate(h.subs(w, s["s"]), (s["s"], 0, mu)))
    out.update({"primal": primal, "conjugate": conjugate,
                "curvature": sp.simplify(sp.diff(primal, mu))})
    return out


def dual_terms(w: np.ndarray, log_alpha: float, depth: int):
    """(x, dx/dw, conjugate) of :func:`dual_expr` at w = A^T nu, evaluated log-safely.

    D = 2: alpha^2 e^|w| = exp(|w| + 2 ln alpha), so x = sign(w) exp(|w| + 2 ln alpha)
    (1 - e^(-2|w|)), dx/dw = exp(|w| + 2 ln alpha) (1 + e^(-2|w|)) and the conjugate
    2 alpha^2 (cosh w - 1) = (exp(|w|/2 + ln alpha) (1 - e^(-|w|)))^2 (expm1 for the last
    factor). D >= 3: alpha^D (1 -+ |w|)^(-p) = exp(D ln alpha - p log1p(-+|w|)), and
    (1 -+ |w|)^(-k) - 1 = expm1(-k log1p(-+|w|)) with p = D/(D-2), k = 2/(D-2). Outside
    |w| < 1 (D >= 3) the conjugate is +inf. Overflow gives inf, which the line search rejects.
    """
    a = np.abs(w)
    sign = np.sign(w)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if depth == 2:
            big = np.exp(a + 2.0 * log_alpha)
            x = sign * big * -np.expm1(-2.0 * a)
            slope = big * (1.0 + np.exp(-2.0 * a))
            conjugate = (np.exp(0.5 * a + log_alpha) * -np.expm1(-a)) ** 2
            return x, slope, conjugate
        if np.any(a >= 1.0):
            inf = np.full_like(w, np.inf)
            return inf, inf, inf
        p, k = depth / (depth - 2.0), 2.0 / (depth - 2.0)
        scale = depth * log_alpha
        lo, hi = np.log1p(-a), np.log1p(a)
        x = sign * (np.exp(scale - p * lo) - np.exp(scale - p * hi))
        slope = p * (np.exp(scale - (p + 1.0) * lo) + np.exp(scale - (p + 1.0) * hi))
        conjugate = np.exp(scale) * (depth - 2.0) / 2.0 * (np.expm1(-k * lo) + np.expm1(-k * hi))
        return x, slope, conjugate


def h_inverse(z: float, depth: int) -> float:
    """w with h_D(w) = z for D >= 3 (brentq; in t = 1 - |w| when |w| > 1/2 for accuracy)."""
    z = validation.finite_scalar("z", z)
    if _depth_at_least_two(depth) < 3:
        raise ValueError(f"depth must be >= 3 here (h_2^-1(z) = asinh(z/2)), got {depth}")
    from scipy.optimize import brentq

    p = depth / (depth - 2.0)
    target = abs(z)
    if target == 0.0:
        return 0.0
    half = 2.0 ** p - (2.0 / 3.0) ** p  # h_D(1/2)
    if target <= half:
        w = brentq(lambda w_: (1.0 - w_) ** -p - (1.0 + w_) ** -p - target, 0.0, 0.5,
                   xtol=1e-300, rtol=4 * np.finfo(float).eps)
    else:
        lower = (target + 1.0) ** (-1.0 / p)
        t = brentq(lambda t_: t_ ** -p - (2.0 - t_) ** -p - target, lower, 0.5,
                   xtol=1e-300, rtol=4 * np.finfo(float).eps)
        w = 1.0 - t
    return float(np.copysign(w, z))


def q_depth(z, depth: int) -> np.ndarray:
    """q_D(z) = integral_0^z h_D^{-1}(s) ds, elementwise; q_2 = :func:`q`.

    For D >= 3 it is evaluated through the Legendre identity (integration by parts)
    q_D(z) = z w - H_D(w) with w = h_D^{-1}(z) found by brentq and H_D the conjugate of
    :func:`dual_expr` (alpha = 1), not by quadrature; the tests compare with quad.
    """
    D = _depth_at_least_two(depth)
    z_arr = validation.finite_array("z", z)
    if D == 2:
        return q(z_arr)
    flat = z_arr.ravel()
    w = np.array([h_inverse(v, D) for v in flat])
    _, _, conjugate = dual_terms(w, 0.0, D)
    return _arrays.shaped(flat * w - conjugate, z_arr.shape)


def Q(z, alpha: float, depth: int = 2) -> float:
    """Q^D_alpha(z) = alpha^D sum_i q_D(z_i / alpha^D); for D = 2, alpha^2 sum q(z_i / alpha^2).

    The implicit-bias potential of gradient flow from u = v = alpha 1 (Woodworth et al. 2020,
    arXiv:1906.05827; docs/diagonal_linear.md §4b.1, §4b.2).
    """
    z = validation.finite_vector("z", z)
    a = validation.positive_scalar("alpha", alpha)
    D = _depth_at_least_two(depth)
    scale = a ** D
    return float(scale * np.sum(q_depth(z / scale, D)))


# --------------------------------------------------------------------------- limits


def _check_problem(A, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate an underdetermined consistent system A z = y (A is M x N with M < N)."""
    A = validation.finite_matrix("A", A)
    M, N = A.shape
    if M >= N:
        raise ValueError(f"A must have fewer rows than columns (M < N), got shape {A.shape}")
    y = validation.finite_vector("y", y, size=M)
    z_ls = np.linalg.lstsq(A, y, rcond=None)[0]
    residual = np.linalg.norm(A @ z_ls - y)
    if residual > 1e-10 * max(np.linalg.norm(y), np.linalg.norm(A) * np.linalg.norm(z_ls)):
        raise ValueError(f"A z = y is inconsistent (least-squares residual {residual:.3g})")
    return A, y


def _safe_norm(v: np.ndarray) -> float:
    """||v||, inf for non-finite or overflowing entries, without warnings."""
    if not np.all(np.isfinite(v)):
        return np.inf
    scale = np.max(np.abs(v), initial=0.0)
    return float(scale * np.linalg.norm(v / scale)) if scale > 0.0 else 0.0


def _newton_step(A: np.ndarray, slope: np.ndarray, residual: np.ndarray) -> np.ndarray:
    H = (A * slope) @ A.T
    try:
        return np.linalg.solve(H, residual)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(H, residual, rcond=None)[0]


def implicit_bias_limit(A, y, alpha: float, depth: int = 2) -> np.ndarray:
    """x_alpha = argmin Q^D_alpha(z) subject to A z = y: the limit of gradient flow from alpha 1.

    Solved through the dual of :func:`dual_expr`, max_nu nu^T y - sum conjugate((A^T nu)_i)
    (for D = 2: nu^T y - 2 alpha^2 sum (cosh(A^T nu) - 1), x = 2 alpha^2 sinh(A^T nu)), by
    Newton's method with a backtracking line search on the dual objective; a step is also
    accepted when the objective no longer resolves the gain but the residual decreases.
    Every term is evaluated log-safely (see ``dual_terms``), so alpha down to 1e-12 works
    for D = 2. For D >= 3, w = A^T nu must approach 1 as alpha -> 0 and 1 - |w| is resolved
    only to ~1e-16 absolute: small alpha (alpha^(D-2) near machine precision) fails.

    Stops when ||A x - y|| <= 1e-12 ||y||; raises ArithmeticError if that is not reached.
    Source: Woodworth et al. (2020), arXiv:1906.05827; docs/diagonal_linear.md §4b.1, §4b.2.
    """
    A, y = _check_problem(A, y)
    a = validation.positive_scalar("alpha", alpha)
    D = _depth_at_least_two(depth)
    log_alpha = float(np.log(a))
    tol = _RESIDUAL_TOL * np.linalg.norm(y)

    def evaluate(nu: np.ndarray):
        x, slope, conjugate = dual_terms(A.T @ nu, log_alpha, D)
        with np.errstate(over="ignore", invalid="ignore"):
            objective = float(nu @ y - np.sum(conjugate))
            residual = y - A @ x
        if not np.isfinite(objective):
            objective = -np.inf
        return objective, x, slope, residual

    nu = np.zeros(A.shape[0])
    objective, x, slope, residual = evaluate(nu)
    for _ in range(_NEWTON_MAX_ITER):
        norm = _safe_norm(residual)
        if norm <= tol:
            return x
        direction = _newton_step(A, slope, residual)
        gain = float(residual @ direction)
        step = 1.0
        while step > 1e-300:
            trial = evaluate(nu + step * direction)
            if trial[0] >= objective + 1e-4 * step * gain or (
                    trial[0] > -np.inf and _safe_norm(trial[3]) < norm):
                break
            step *= 0.5
        else:
            break
        nu = nu + step * direction
        objective, x, slope, residual = trial
    raise ArithmeticError(f"Newton on the dual did not reach ||Ax - y|| <= {tol:.3g} "
                          f"(alpha={a}, depth={D}, residual {np.linalg.norm(residual):.3g})")


def l1_min(A, y) -> np.ndarray:
    """argmin ||z||_1 subject to A z = y, by linprog (HiGHS) on z = z+ - z-, z+- >= 0.

    The alpha -> 0 limit of :func:`implicit_bias_limit` (docs/diagonal_linear.md §4b.1).
    """
    from scipy.optimize import linprog

    A, y = _check_problem(A, y)
    N = A.shape[1]
    res = linprog(np.ones(2 * N), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None),
                  method="highs")
    if not res.success:
        raise ArithmeticError(f"linprog failed: {res.message}")
    return res.x[:N] - res.x[N:]


def l2_min(A, y) -> np.ndarray:
    """argmin ||z||_2 subject to A z = y: A^+ y (the alpha -> infinity limit)."""
    A, y = _check_problem(A, y)
    return np.linalg.pinv(A) @ y


# --------------------------------------------------------------------------- invariants


@stored.expression(SETTING, stored=((None,),) + _BY_DEPTH,
                    canonical=lambda depth=2: (None,) if depth is None else _depth_key(depth))
def invariant_expr(depth: int | None = 2) -> dict:
    """Conserved quantity of gradient flow u' = -L u^(L-1) g, v' = L v^(L-1) g, one coordinate.

    L = 2: u v; L >= 3 (or ``depth=None`` for symbolic L): u^(2-L) + v^(2-L). Returns
    ``invariant`` and ``derivative`` (its d/dt along the field, simplified; 0, else
    ArithmeticError). Source: Woodworth et al. (2020); docs/diagonal_linear.md §4b.1, §4b.2.
    """
    import sympy as sp

    s = symbols()
    u, v, g = s["u"], s["v"], s["g"]
    L = s["L"] if depth is None else _depth_at_least_two(depth)
    invariant = u * v if L == 2 else u ** (2 - L) + v ** (2 - L)
    du, dv = -L * u ** (L - 1) * g, L * v ** (L - 1) * g
    derivative = sp.simplify(sp.diff(invariant, u) * du + sp.diff(invariant, v) * dv)
    if derivative != 0:
        raise ArithmeticError(f"not conserved: d/dt = {derivative}")
    return {"invariant": invariant, "derivative": derivative, "field": (du, dv)}


def _same_shape(name: str, value, like: np.ndarray, like_name: str) -> np.ndarray:
    x = validation.finite_array(name, value)
    if x.shape != like.shape:
        raise ValueError(f"{name} must have the shape of {like_name} {like.shape}, got {x.shape}")
    return x


def gf_invariant(u, v, depth: int = 2) -> np.ndarray:
    """u v (L = 2) or u^(2-L) + v^(2-L) (L >= 3), elementwise; u, v > 0 for L >= 3.

    ``u`` and ``v`` have the same shape, which the result has (a scalar for scalars).
    """
    D = _depth_at_least_two(depth)
    u = validation.finite_array("u", u)
    v = _same_shape("v", v, u, "u")
    if D >= 3 and (np.any(u <= 0.0) or np.any(v <= 0.0)):
        raise ValueError("u and v must be positive for depth >= 3")
    return u * v if D == 2 else u ** (2.0 - D) + v ** (2.0 - D)


@stored.expression(SETTING, stored=_BY_DEPTH, canonical=_depth_key)
def wn_invariant_expr(depth: int = 2) -> dict:
    """Invariant r^2/2 + kappa F_L(theta) of per-coordinate weight normalization.

    u = r cos(theta), v = r sin(theta), x = u^L - v^L, r' = -eta_r dLoss/dr,
    theta' = -eta_theta dLoss/dtheta with dLoss/dx = g; kappa = eta_r / eta_theta and
    F_L(theta) = integral_{pi/4}^{theta} c_L / s_L, c_L = cos^L - sin^L,
    s_L = cos^(L-1) sin + sin^(L-1) cos. The derivative along the field is checked to
    simplify to 0 (with F_L' = c_L / s_L); for L = 2 ``integrate`` gives
    F_2 = ln(sin 2 theta) / 2, i.e. r^2 + kappa ln sin(2 theta) = const.
    Returns ``invariant``, ``F`` (a closed form for L = 2, an unevaluated Integral otherwise),
    ``ratio`` c_L / s_L, ``field`` (r', theta') and ``derivative``.
    Source: Chou, Rauhut & Ward, arXiv:2305.05448; docs/diagonal_linear.md §4c.1.
    """
    import sympy as sp

    L = _depth_at_least_two(depth)
    s = symbols()
    r, theta, g, kappa = s["r"], s["theta"], s["g"], s["kappa"]
    eta_r, eta_theta = s["eta_r"], s["eta_theta"]
    x = (r * sp.cos(theta)) ** L - (r * sp.sin(theta)) ** L
    dr = -eta_r * g * sp.diff(x, r)
    dtheta = -eta_theta * g * sp.diff(x, theta)
    c_L = sp.cos(theta) ** L - sp.sin(theta) ** L
    s_L = sp.cos(theta) ** (L - 1) * sp.sin(theta) + sp.sin(theta) ** (L - 1) * sp.cos(theta)
    ratio = c_L / s_L
    derivative = sp.simplify((r * dr + kappa * ratio * dtheta).subs(kappa, eta_r / eta_theta))
    if derivative != 0:
        raise ArithmeticError(f"not conserved: d/dt = {derivative}")
    phi = sp.Symbol("phi", positive=True)
    if L == 2:
        F = sp.integrate(sp.simplify(ratio.subs(theta, phi)), (phi, sp.pi / 4, theta))
    else:
        F = sp.Integral(ratio.subs(theta, phi), (phi, sp.pi / 4, theta))
    return {"invariant": r ** 2 / 2 + kappa * F, "F": F, "ratio": ratio,
            "field": (dr, dtheta), "derivative": derivative}


@stored.numeric(SETTING, samples=lambda: [(1.3, 0.4, 0.7), (0.2, 1.5, 2.0)])
def _wn_invariant_two() -> stored.Form:
    """The closed form of the L = 2 invariant in (r, theta, kappa)."""
    s = symbols()
    return stored.Form((s["r"], s["theta"], s["kappa"]), wn_invariant_expr(2)["invariant"])


@stored.numeric(SETTING, stored=tuple((d,) for d in STORED_DEPTHS if d != 2),
                 samples=lambda depth: [(0.1,), (0.7,), (1.5,)])
def _wn_ratio(depth: int) -> stored.Form:
    """F_L' = c_L / s_L (a scalar function, for quad)."""
    s = symbols()
    return stored.Form((s["theta"],), wn_invariant_expr(depth)["ratio"], printer="math")


def wn_invariant(r, theta, kappa: float, depth: int = 2) -> np.ndarray:
    """r^2/2 + kappa F_L(theta), elementwise, conserved by weight-normalized gradient flow.

    L = 2: the closed form (r^2 + kappa ln sin 2 theta) / 2; L >= 3: F_L by quad of c_L / s_L.
    theta must lie in (0, pi/2). ``r`` and ``theta`` have the same shape, which the result
    has (a scalar for scalars).
    """
    D = _depth_at_least_two(depth)
    r = validation.finite_array("r", r)
    theta = _same_shape("theta", theta, r, "r")
    k = validation.nonnegative_scalar("kappa", kappa)
    if np.any(theta <= 0.0) or np.any(theta >= np.pi / 2):
        raise ValueError("theta must lie in (0, pi/2)")
    if D == 2:
        return _arrays.shaped(np.ravel(_wn_invariant_two()(r, theta, k)), r.shape)
    from scipy.integrate import quad

    ratio = _wn_ratio(D)
    F = np.array([quad(ratio, np.pi / 4, t, epsabs=1e-14, epsrel=1e-13)[0]
                  for t in theta.ravel()])
    return _arrays.shaped(r.ravel() ** 2 / 2 + k * F, r.shape)


# --------------------------------------------------------------------------- WN bias (L = 2)


@stored.expression(SETTING)
def wn_potential_expr() -> dict:
    """The WN implicit-bias potential for L = 2 (docs/diagonal_linear.md §4c.2), psi = 2 theta.

    X(psi) = (r0^2 - kappa ln sin psi) cos psi is x_i along the flow and
    h'(psi) = 1 / ((r0^2 - kappa ln sin psi) sin psi) with h(pi/2) = 0; Phi'(z) = -h(X^{-1}(z)).
    Returns ``X``, ``h_integrand``, ``dX`` (``diff``) and ``curvature``: dz/dmu for
    mu = Phi'(z), i.e. -X'(psi) / h'(psi), factored. X' < 0 and h' > 0 on (0, pi), so Phi' is
    increasing and odd (X(pi - psi) = -X(psi), h(pi - psi) = -h(psi)).
    Source: Chou, Rauhut & Ward, arXiv:2305.05448 (derived in docs/diagonal_linear.md §4c.2).
    """
    import sympy as sp

    s = symbols()
    psi, r0, kappa = s["psi"], s["r0"], s["kappa"]
    radius = r0 ** 2 - kappa * sp.log(sp.sin(psi))
    X = radius * sp.cos(psi)
    integrand = 1 / (radius * sp.sin(psi))
    dX = sp.diff(X, psi)
    return {"X": X, "h_integrand": integrand, "dX": dX,
            "curvature": sp.factor(sp.simplify(-dX / integrand))}


def _log_sin(s: np.ndarray) -> np.ndarray:
    """ln sin(e^s) for e^s in (0, pi/2], without underflow: s + ln(sinc) for small angles."""
    s = np.asarray(s, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(s < _SMALL_LOG_ANGLE, s, np.log(np.sin(np.exp(s))))


def _wn_X(s, r0sq: float, kappa: float):
    """X(e^s) = (r0^2 - kappa ln sin e^s) cos e^s (log-angle s <= ln(pi/2))."""
    return (r0sq - kappa * _log_sin(s)) * np.cos(np.exp(s))


def _wn_h_tail(s: float, r0sq: float, kappa: float) -> float:
    """-h(e^s) = integral_s^{ln pi/2} ds' / ((r0^2 - kappa ln sin e^s') sinc(e^s')) >= 0.

    Below s' = -20 the integrand is 1 / (r0^2 - kappa s') to double precision and is
    integrated exactly; above, by quad.
    """
    from scipy.integrate import quad

    def integrand(t: float) -> float:
        psi = np.exp(t)
        return psi / ((r0sq - kappa * np.log(np.sin(psi))) * np.sin(psi))

    start = max(s, _SMALL_LOG_ANGLE)
    value = quad(integrand, start, _LN_HALF_PI, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
    if s < _SMALL_LOG_ANGLE:
        value += (np.log1p(-kappa * s / r0sq) - np.log1p(-kappa * _SMALL_LOG_ANGLE / r0sq)) / kappa
    return value


def _wn_log_angle_of_z(z: float, r0sq: float, kappa: float) -> float:
    """s = ln X^{-1}(z) for z >= 0 (brentq on s <= ln(pi/2); X decreases in psi)."""
    from scipy.optimize import brentq

    if z == 0.0:
        return _LN_HALF_PI
    lower = -1.0
    while _wn_X(lower, r0sq, kappa) < z:
        lower *= 2.0
    return brentq(lambda t: _wn_X(t, r0sq, kappa) - z, lower, _LN_HALF_PI,
                  xtol=1e-14, rtol=4 * np.finfo(float).eps)


def _wn_log_angle_of_mu(mu: float, r0sq: float, kappa: float) -> float:
    """s with Phi' = -h(e^s) = mu >= 0 (brentq; -h increases as s decreases)."""
    from scipy.optimize import brentq

    if mu == 0.0:
        return _LN_HALF_PI
    lower = -1.0
    while _wn_h_tail(lower, r0sq, kappa) < mu:
        lower *= 2.0
    return brentq(lambda t: _wn_h_tail(t, r0sq, kappa) - mu, lower, _LN_HALF_PI,
                  xtol=1e-14, rtol=4 * np.finfo(float).eps)


def _wn_params(r0: float, kappa: float) -> tuple[float, float]:
    return (validation.positive_scalar("r0", r0) ** 2, validation.positive_scalar("kappa", kappa))


def wn_potential_derivative(z, r0: float, kappa: float) -> np.ndarray:
    """Phi'(z) = -h(X^{-1}(z)) of :func:`wn_potential_expr`, elementwise (odd, increasing).

    X^{-1} by brentq on the log-angle s = ln psi (psi in (0, pi/2] for z >= 0, so sin psi
    may underflow without harm), h by quad in s (exact below s = -20). kappa > 0.
    """
    r0sq, k = _wn_params(r0, kappa)
    z_arr = validation.finite_array("z", z)
    flat = z_arr.ravel()
    out = np.array([np.copysign(_wn_h_tail(_wn_log_angle_of_z(abs(v), r0sq, k), r0sq, k), v)
                    for v in flat])
    return _arrays.shaped(out, z_arr.shape)


def _wn_primal(mu: np.ndarray, r0sq: float, kappa: float):
    """z = (Phi')^{-1}(mu) and dz/dmu (the ``curvature`` of :func:`wn_potential_expr`)."""
    z, slope = np.empty_like(mu), np.empty_like(mu)
    for i, m in enumerate(mu):
        s = _wn_log_angle_of_mu(abs(m), r0sq, kappa)
        radius = r0sq - kappa * _log_sin(s)
        psi = np.exp(s)
        z[i] = np.copysign(radius * np.cos(psi), m)
        slope[i] = radius * (kappa * np.cos(psi) ** 2 + radius * np.sin(psi) ** 2)
    return z, slope


def wn_bias_limit(A, y, r0: float, kappa: float) -> np.ndarray:
    """argmin sum_i Phi(z_i) subject to A z = y: the WN (L = 2) limit, if the flow interpolates.

    Stationarity Phi'(z_i) = (A^T nu)_i, so z_i = (Phi')^{-1}((A^T nu)_i); nu solves
    A z(nu) = y by Newton's method (Jacobian A diag(dz/dmu) A^T) with backtracking on
    ||A z - y||. Stops at ||A z - y|| <= 1e-10 ||y|| (quadrature accuracy), else
    ArithmeticError. r0 = sqrt(2) alpha at the usual initialization; kappa = eta_r / eta_theta.
    """
    A, y = _check_problem(A, y)
    r0sq, k = _wn_params(r0, kappa)
    tol = _WN_RESIDUAL_TOL * np.linalg.norm(y)
    nu = np.zeros(A.shape[0])
    z, slope = _wn_primal(A.T @ nu, r0sq, k)
    residual = y - A @ z
    for _ in range(_NEWTON_MAX_ITER):
        norm = _safe_norm(residual)
        if norm <= tol:
            return z
        direction = _newton_step(A, slope, residual)
        step = 1.0
        while step > 1e-12:
            z_new, slope_new = _wn_primal(A.T @ (nu + step * direction), r0sq, k)
            residual_new = y - A @ z_new
            if _safe_norm(residual_new) < (1.0 - 1e-4 * step) * norm:
                break
            step *= 0.5
        else:
            break
        nu = nu + step * direction
        z, slope, residual = z_new, slope_new, residual_new
    raise ArithmeticError(f"Newton for the WN bias did not reach ||Az - y|| <= {tol:.3g} "
                          f"(residual {np.linalg.norm(residual):.3g})")


# --------------------------------------------------------------------------- WN plateau limit


@stored.expression(SETTING)
def wn_plateau_expr() -> dict:
    """The large-kappa limit of the WN potential (docs/diagonal_linear.md §4c.2, §4c.5).

    With psi = pi/2 - eps, eps = sqrt(2) r0 e / sqrt(kappa) (e the rescaled angle), the
    limits kappa -> oo (``limit``) of sqrt(kappa) X and of sqrt(kappa) dh/de give
    X -> (z_c/2)(e + e^3) and h -> -sqrt(2) atan(e) / (r0 sqrt(kappa)) (``integrate``), so
    Phi'(z) = plateau * (2/pi) atan(e(z/z_c)): the potential is z_c phi(z/z_c) up to a
    positive factor, and its minimizer subject to A z = y depends on (r0, kappa) only
    through ``z_c`` = 2 sqrt(2) r0^3 / sqrt(kappa) (= 8 alpha^3 / sqrt(kappa) at
    r0 = sqrt(2) alpha). Returns ``X_limit``, ``h_limit``, ``z_c``, ``plateau`` (the limit of
    Phi' as e -> oo), ``z_c_alpha`` (at r0 = sqrt(2) alpha), ``kappa_at_unit_z_c`` (``solve``
    of z_c = 1 for kappa: 64 alpha^6), ``primal`` z(m) = z_c (tan m + tan^3 m)/2 and
    ``slope`` dz/dm with m = atan(e) in (-pi/2, pi/2) the dual variable, and
    ``largest_angle``: eps at a coordinate |z| >> z_c (e ~ (2|z|/z_c)^(1/3)), the size of the
    neglected terms (the limit holds while it is small).
    Source: Chou, Rauhut & Ward, arXiv:2305.05448 (model reconstructed, derived here).
    """
    import sympy as sp

    s = symbols()
    r0, kappa, alpha, z = s["r0"], s["kappa"], s["alpha"], s["z"]
    e, m = sp.Symbol("e", real=True), sp.Symbol("m", real=True)
    psi = sp.pi / 2 - sp.sqrt(2) * r0 * e / sp.sqrt(kappa)
    potential = wn_potential_expr()
    X = potential["X"].subs(s["psi"], psi)
    density = potential["h_integrand"].subs(s["psi"], psi) * sp.diff(psi, e)
    X_limit = sp.factor(sp.limit(X * sp.sqrt(kappa), kappa, sp.oo) / sp.sqrt(kappa))
    h_limit = sp.integrate(sp.limit(density * sp.sqrt(kappa), kappa, sp.oo),
                           (e, 0, e)) / sp.sqrt(kappa)
    z_c = sp.simplify(2 * X_limit / (e + e ** 3))
    if z_c.has(e):
        raise ArithmeticError("the large-kappa limit of X is not z_c (e + e^3) / 2")
    plateau = sp.limit(-h_limit, e, sp.oo)
    z_c_alpha = sp.simplify(z_c.subs(r0, sp.sqrt(2) * alpha))
    (kappa_unit,) = sp.solve(sp.Eq(z_c_alpha, 1), kappa)
    primal = z_c * (sp.tan(m) + sp.tan(m) ** 3) / 2
    largest = sp.simplify((sp.sqrt(2) * r0 * (2 * z / z_c) ** sp.Rational(1, 3)
                           / sp.sqrt(kappa)).subs(r0, sp.sqrt(2) * alpha))
    return {"X_limit": X_limit, "h_limit": h_limit, "z_c": z_c, "plateau": plateau,
            "z_c_alpha": z_c_alpha, "kappa_at_unit_z_c": kappa_unit, "primal": primal,
            "slope": sp.factor(sp.diff(primal, m)), "largest_angle": largest}


@stored.numeric(SETTING, samples=lambda: [(0.5, 1.0), (1.0, 1e3), (2.0, 64.0)])
def _wn_plateau_scale() -> stored.Form:
    s = symbols()
    return stored.Form((s["alpha"], s["kappa"]), wn_plateau_expr()["z_c_alpha"])


@stored.numeric(SETTING, samples=lambda: [(0.5,), (2.0,)])
def _wn_unit_plateau_kappa() -> stored.Form:
    return stored.Form((symbols()["alpha"],), wn_plateau_expr()["kappa_at_unit_z_c"])


@stored.numeric(SETTING, samples=lambda: [(0.0,), (0.7,), (-1.5,)])
def _wn_plateau_primal() -> stored.Form:
    """(z, dz/dm) at z_c = 1: the primal of the plateau potential and its slope."""
    import sympy as sp

    forms = wn_plateau_expr()
    m, z_c = sp.Symbol("m", real=True), forms["z_c"]
    unit = {sp.Symbol("r0", positive=True): 1, sp.Symbol("kappa", positive=True): 8}
    scale = z_c.subs(unit)
    if scale != 1:
        raise ArithmeticError("r0 = 1, kappa = 8 should give z_c = 1")
    return stored.Form((m,), [forms["primal"].subs(unit), forms["slope"].subs(unit)])


def wn_plateau_scale(alpha, kappa) -> np.ndarray:
    """z_c = 8 alpha^3 / sqrt(kappa) (:func:`wn_plateau_expr`, r0 = sqrt(2) alpha), elementwise:
    the only parameter of the WN bias in the large-kappa limit (docs/diagonal_linear.md §4c.5)."""
    a = validation.finite_array("alpha", alpha)
    k = validation.finite_array("kappa", kappa)
    if np.any(a <= 0) or np.any(k <= 0):
        raise ValueError("alpha and kappa must be positive")
    return np.asarray(_wn_plateau_scale()(a, k), dtype=np.float64)


def wn_unit_plateau_kappa(alpha) -> np.ndarray:
    """kappa = 64 alpha^6, where z_c = 1 (:func:`wn_plateau_expr`): the plateau criterion of
    docs/diagonal_linear.md §4c.2 at the scale of unit signal."""
    a = validation.finite_array("alpha", alpha)
    if np.any(a <= 0):
        raise ValueError("alpha must be positive")
    return np.asarray(_wn_unit_plateau_kappa()(a), dtype=np.float64)


def wn_plateau_limit(A, y, z_c: float) -> np.ndarray:
    """argmin sum_i z_c phi(z_i / z_c) subject to A z = y: the large-kappa limit of the WN bias
    (:func:`wn_plateau_expr`; docs/diagonal_linear.md §4c.5).

    Stationarity: z_i = z_c w((A^T nu)_i) with w(m) = (tan m + tan^3 m)/2, |m| < pi/2; nu
    solves A z(nu) = y by Newton's method (Jacobian z_c A diag(w'(m)) A^T), backtracking so
    that |m| < pi/2 and ||A z - y|| decreases. Stops at ||A z - y|| <= 1e-12 ||y||, else
    ArithmeticError.
    """
    A, y = _check_problem(A, y)
    scale = validation.positive_scalar("z_c", z_c)
    primal = _wn_plateau_primal()
    tol = _RESIDUAL_TOL * np.linalg.norm(y)

    def evaluate(nu: np.ndarray):
        m = A.T @ nu
        if np.max(np.abs(m), initial=0.0) >= np.pi / 2:
            return None
        z, slope = (scale * np.asarray(v, dtype=np.float64) * np.ones_like(m)
                    for v in primal(m))
        return z, slope, y - A @ z

    nu = np.zeros(A.shape[0])
    z, slope, residual = evaluate(nu)
    for _ in range(_NEWTON_MAX_ITER):
        norm = _safe_norm(residual)
        if norm <= tol:
            return z
        direction = _newton_step(A, slope, residual)
        step = 1.0
        while step > 1e-14:
            trial = evaluate(nu + step * direction)
            if trial is not None and _safe_norm(trial[2]) < (1.0 - 1e-4 * step) * norm:
                break
            step *= 0.5
        else:
            break
        nu = nu + step * direction
        z, slope, residual = trial
    raise ArithmeticError(f"Newton for the WN plateau limit did not reach ||Az - y|| <= "
                          f"{tol:.3g} (z_c={scale}, residual {np.linalg.norm(residual):.3g})")


def wn_plateau_threshold(A, y, tau: float) -> float:
    """The z_c at which the plateau limit's relative distance to the l1 solution,
    ||argmin_{z_c} - x_l1|| / ||x_l1||, equals ``tau`` (brentq in ln z_c over
    [1e-6, 1e3]; the distance increases with z_c from 0 at z_c -> 0, where the potential
    tends to (pi/2) ||z||_1 / z_c up to a constant). ValueError if tau is not bracketed."""
    from scipy.optimize import brentq

    A, y = _check_problem(A, y)
    tau = validation.positive_scalar("tau", tau)
    target = l1_min(A, y)
    size = np.linalg.norm(target)

    def excess(log_scale: float) -> float:
        return np.linalg.norm(wn_plateau_limit(A, y, np.exp(log_scale)) - target) / size - tau

    low, high = np.log(1e-6), np.log(1e3)
    if not excess(low) < 0.0 < excess(high):
        raise ValueError(f"tau={tau} is not reached by the plateau limit over z_c in [1e-6, 1e3]")
    return float(np.exp(brentq(excess, low, high, xtol=1e-10)))


# --------------------------------------------------------------------------- kernel regime


@stored.expression(SETTING)
def l2_rate_expr() -> dict:
    """The first correction to the l2 limit, from the series of q (:func:`q_series_expr`).

    With q(z) = c2 z^2 + c4 z^4 + O(z^6), Q_alpha(z) = c2 |z|^2 / alpha^2 + c4 sum z_i^4 /
    alpha^6 + .... Write x_alpha = x_l2 + delta with delta in null(A) (A x_alpha = y) and
    x_l2 in range(A^T); the stationarity grad Q_alpha(x_alpha) in range(A^T), projected on
    null(A) and kept to leading order in 1/alpha, is 2 c2 delta / alpha^2 + 4 c4
    P_null(x_l2^3) / alpha^6 = 0 (``solve``d for delta), so

        alpha^4 (x_alpha - x_l2) -> k P_null(x_l2^3),  k = -2 c4 / c2 = 1/24,

    with relative corrections O(max x_l2^2 / alpha^4) (the cubic term at x_l2 + delta and
    the z^6 term). Returns ``c2``, ``c4`` (from the series), ``delta`` (the solved
    correction per coordinate, in the symbols ``alpha`` and ``w`` = P_null(x_l2^3)_i) and
    ``k``.
    """
    import sympy as sp

    s = symbols()
    z, alpha, w = s["z"], s["alpha"], s["w"]
    series = sp.Poly(q_series_expr(6), z)
    c2, c4 = series.coeff_monomial(z ** 2), series.coeff_monomial(z ** 4)
    delta = sp.Symbol("delta", real=True)
    (solution,) = sp.solve(sp.Eq(2 * c2 * delta / alpha ** 2 + 4 * c4 * w / alpha ** 6, 0), delta)
    k = sp.simplify(solution * alpha ** 4 / w)
    return {"c2": c2, "c4": c4, "delta": solution, "k": k}


@stored.numeric(SETTING, samples=lambda: [()])
def _l2_rate_k() -> stored.Form:
    """k of :func:`l2_rate_expr`, a number."""
    return stored.Form((), l2_rate_expr()["k"])


def l2_rate_constant(A, y) -> float:
    """lim alpha^4 ||x_alpha - x_l2|| = k ||P_null(x_l2^3)|| (:func:`l2_rate_expr`, k = 1/24),
    with x_l2 = A^+ y and P_null = I - A^+ A by the pseudo-inverse."""
    A, y = _check_problem(A, y)
    pinv = np.linalg.pinv(A)
    x_l2 = pinv @ y
    cube = x_l2 ** 3
    k = float(_l2_rate_k()())
    return k * float(np.linalg.norm(cube - pinv @ (A @ cube)))


def l1_dual_slack(A, y) -> float:
    """s* = max over l1-optimal duals nu of min_(j off supp x_l1) (1 - |A_j^T nu|), by linprog.

    The optimal duals of min ||z||_1 s.t. A z = y are the nu with nu^T y = ||x_l1||_1,
    sign(x_l1,j) A_j^T nu = 1 on the support and |A_j^T nu| <= 1 off it. As alpha -> 0,
    Q_alpha ~ ln(1/alpha^2) ||z||_1 + sum |z_i| (ln |z_i| - 1) puts e^(-ln(1/alpha^2) c_j) =
    alpha^(2 c_j) on an off-support coordinate of slack c_j, and the entropic term selects
    the dual whose smallest slack is largest (as the max-margin direction in Soudry et al.),
    so the l1 gap ||x_alpha||_1 - ||x_l1||_1 decays like alpha^(2 s*): a power of alpha,
    derived here by hand (docs/diagonal_linear.md §4b.4; a heuristic, checked by the claim
    diagonal_linear.limit.l1_logarithmic, not a theorem of the sources).
    """
    from scipy.optimize import linprog

    A, y = _check_problem(A, y)
    x_l1 = l1_min(A, y)
    scale = np.abs(x_l1).max()
    support = np.abs(x_l1) > 1e-9 * scale
    M = A.shape[0]
    off = A[:, ~support].T
    k = off.shape[0]
    if k == 0:
        raise ValueError("A, y: the l1 solution has no zero coordinate")
    A_ub = np.vstack([np.hstack([off, np.ones((k, 1))]), np.hstack([-off, np.ones((k, 1))])])
    A_eq = np.hstack([(A[:, support] * np.sign(x_l1[support])).T, np.zeros((support.sum(), 1))])
    result = linprog(np.r_[np.zeros(M), -1.0], A_ub=A_ub, b_ub=np.ones(2 * k), A_eq=A_eq,
                     b_eq=np.ones(support.sum()), bounds=(None, None), method="highs")
    if not result.success:
        raise ArithmeticError(f"linprog failed: {result.message}")
    return float(result.x[-1])
