"""Closed forms for the deep linear network M = W_D ... W_1 in teacher-student regression
(docs/deep_linear.md).

Conventions as in ``theory.deep_linear``: X is P x N_i and Y is P x N_o (samples as rows);
the formulas use their column forms X_c = X^T, Y_c = Y^T: loss (1/2P) ||Y_c - M X_c||_F^2,
Sigma_xx = X_c X_c^T / P, Sigma_yx = Y_c X_c^T / P, tau = 1/eta, Gaussian initialization with entries
N(0, sigma0^2 / fan_in). Each formula is derived with sympy the first time it is needed,
cached, and exposed as a sympy expression (``*_expr``) and as a numeric function:

- Saxe modes (Saxe, McClelland & Ganguli 2013, arXiv:1312.6120): for whitened input and a
  balanced decoupled start each mode obeys tau du/dt = D u^(2-2/D) (s - u). For D = 2
  ``dsolve`` (Bernoulli) gives u(t) and ``solve`` the learning time; for D != 2 separation
  of variables in the per-layer strength v = u^(1/D) gives t(u) as an integral, evaluated by
  quadrature and inverted by root finding.
- Balance matrices D_l = W_{l+1}^T W_{l+1} - W_l W_l^T: with noncommutative matrix symbols,
  the unified field dW_l/dt = eta (B_l - beta W_l) gives dD_l/dt = -2 eta beta D_l.
- The shallow flow dM/dt = eta (Sigma_yx - M Sigma_xx), one eigendirection of
  Sigma_xx at a time (``dsolve``): its trajectory and its limit Y_c X_c^+ + W0 P_perp.
- Expected test errors for x ~ N(0, I): the gradient-descent excess over the min-norm map
  from the initialization's null-space part, and the min-norm error for Gaussian X.

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

SETTING = "deep_linear"
STORED_DEPTHS: tuple[int, ...] = tuple(range(1, 9))
"""Depths whose depth-specific forms are stored; other depths are derived on first use."""


@lru_cache(maxsize=None)
def symbols() -> dict:
    """The sympy symbols used in every expression of this module, by name."""
    import sympy as sp

    positive = ("s", "u0", "u", "u_final", "tau", "v", "eta", "sigma", "sigma0", "noise_var",
                "W_bar_norm_sq")
    table = {name: sp.Symbol(name, positive=True) for name in positive}
    table.update({name: sp.Symbol(name, positive=True, integer=True)
                  for name in ("n_in", "n_out", "P")})
    table.update({name: sp.Symbol(name, real=True) for name in ("b", "c", "m0")})
    table["t"] = sp.Symbol("t", nonnegative=True)
    table["beta"] = sp.Symbol("beta", nonnegative=True)
    return table


# --------------------------------------------------------------------------- Saxe modes


def _mode_rate(u, depth: int):
    """The right side D u^(2-2/D) (s - u) of tau du/dt for one Saxe mode."""
    import sympy as sp

    return depth * u ** (2 - sp.Rational(2, depth)) * (symbols()["s"] - u)


def _depth_key(depth: int = 2) -> tuple[int]:
    return (validation.depth(depth),)


_BY_DEPTH = tuple((d,) for d in STORED_DEPTHS)


@stored.expression(SETTING, stored=_BY_DEPTH, canonical=_depth_key)
def saxe_mode_expr(depth: int = 2):
    """One Saxe mode from a balanced decoupled start, tau du/dt = D u^(2-2/D) (s - u).

    D = 2: u(t) = s e^(2st/tau) / (e^(2st/tau) - 1 + s/u0), from ``dsolve`` (Bernoulli) with
    u(0) = u0. D != 2: the time to reach strength u,
    t(u) = tau * Integral(v^(1-D) / (s - v^D), (v, u0^(1/D), u^(1/D))), by separation of
    variables in the per-layer equation tau dv/dt = v^(D-1) (s - v^D); the substitution
    u = v^D is checked to give the mode equation. The integral is left unevaluated (sympy's
    antiderivative drops terms at D = 3, docs/deep_linear.md §3b.7).

    Source: Saxe, McClelland & Ganguli (2013), arXiv:1312.6120; docs/deep_linear.md §3b.7.
    """
    import sympy as sp

    D = validation.depth(depth)
    s = symbols()
    t, tau, u0, v = s["t"], s["tau"], s["u0"], s["v"]
    if D == 2:
        u = sp.Function("u")
        ode = sp.Eq(tau * u(t).diff(t), _mode_rate(u(t), D))
        return sp.dsolve(ode, u(t), hint="Bernoulli", ics={u(0): u0}).rhs
    layer_rate = v ** (D - 1) * (s["s"] - v ** D)
    if sp.simplify(D * v ** (D - 1) * layer_rate - _mode_rate(v ** D, D)) != 0:
        raise ArithmeticError(f"u = v^{D} does not map the per-layer equation to the mode equation")
    # tau dv / layer_rate = dt, integrated from v(0) = u0^(1/D)
    return tau * sp.Integral(1 / layer_rate, (v, u0 ** sp.Rational(1, D),
                                              s["u"] ** sp.Rational(1, D)))


@stored.expression(SETTING, stored=_BY_DEPTH, canonical=_depth_key)
def saxe_learning_time_expr(depth: int = 2):
    """Time for one Saxe mode to grow from u0 to u_final.

    D = 2: the real root of u(t) = u_final from ``solve``,
    t = tau / (2s) ln(u_final (s - u0) / (u0 (s - u_final))). D != 2: the integral of
    :func:`saxe_mode_expr` at u = u_final.

    Source: Saxe, McClelland & Ganguli (2013), arXiv:1312.6120; docs/deep_linear.md §3b.7.
    """
    import sympy as sp

    s = symbols()
    if validation.depth(depth) != 2:
        return saxe_mode_expr(depth).subs(s["u"], s["u_final"])
    roots = sp.solve(sp.Eq(saxe_mode_expr(2), s["u_final"]), s["t"])
    sample = {s["s"]: 2, s["u0"]: sp.Rational(1, 2), s["u_final"]: 1, s["tau"]: 1}
    real = [root for root in roots if root.subs(sample).is_real]
    if len(real) != 1:
        raise ArithmeticError(f"expected one real learning time, got {roots}")
    return real[0]


@stored.numeric(SETTING, samples=lambda: [(2.0, 0.01, 0.7, 1.0), (0.7, 0.05, 3.0, 2.5),
                                              (3.0, 1e-3, 40.0, 0.4)])
def _saxe_mode_two() -> stored.Form:
    """u(s, u0, t, tau) for D = 2, rewritten in q = e^(-2st/tau) so that large t gives s
    instead of inf / inf."""
    import sympy as sp

    s = symbols()
    mode = saxe_mode_expr(2)
    (growth,) = mode.atoms(sp.exp)
    q = sp.Symbol("q", positive=True)
    decaying = sp.cancel(mode.subs(growth, 1 / q)).subs(q, 1 / growth)
    return stored.Form((s["s"], s["u0"], s["t"], s["tau"]), decaying)


@stored.numeric(SETTING, samples=lambda: [(2.0, 0.01, 1.0, 1.0), (1.5, 0.02, 1.2, 0.8)])
def _saxe_learning_time_two() -> stored.Form:
    """t_learn(s, u0, u_final, tau) for D = 2."""
    s = symbols()
    return stored.Form((s["s"], s["u0"], s["u_final"], s["tau"]), saxe_learning_time_expr(2))


_BY_DEPTH_NOT_TWO = tuple((d,) for d in STORED_DEPTHS if d != 2)


def _integrand_samples(depth: int) -> list[tuple]:
    return [(0.3, 1.2), (1e-3, 0.9), (1.1, 1.3)]


@stored.numeric(SETTING, stored=_BY_DEPTH_NOT_TWO, samples=_integrand_samples)
def _saxe_smooth(depth: int) -> stored.Form:
    """smooth(v, v_star) of :func:`_saxe_integrand`."""
    v, v_star, _, smooth, _, _ = _saxe_integrand(depth, stored.is_live())
    return stored.Form((v, v_star), smooth, printer="math")


@stored.numeric(SETTING, stored=_BY_DEPTH_NOT_TWO, samples=lambda depth: [(1.2,), (0.4,)])
def _saxe_pole(depth: int) -> stored.Form:
    """kappa(v_star) of :func:`_saxe_integrand`."""
    _, v_star, _, _, kappa, _ = _saxe_integrand(depth, stored.is_live())
    return stored.Form((v_star,), kappa, printer="math")


@stored.numeric(SETTING, stored=_BY_DEPTH_NOT_TWO,
                 samples=lambda depth: [(0.1, 0.5, 1.2), (1e-3, 0.9, 1.0)])
def _saxe_origin(depth: int) -> stored.Form:
    """origin(v0, v, v_star) of :func:`_saxe_integrand`."""
    v, v_star, v0, _, _, origin = _saxe_integrand(depth, stored.is_live())
    return stored.Form((v0, v, v_star), origin, printer="math")


@lru_cache(maxsize=None)
def _saxe_integrand(depth: int, live: bool) -> tuple:
    """(v, v_star, v0, smooth, kappa, origin): the integrand of :func:`saxe_mode_expr`
    (D != 2) with s = v_star^D, split as smooth + kappa / (v_star - v) + v^(1-D)/s, in
    symbols v, v_star, v0 (``live``: from the live derivation, a separate cache entry).

    t(u) diverges logarithmically as u -> s through the simple pole at v_star = s^(1/D),
    and like v0^(2-D) as u0 -> 0 through the origin term. Both are integrated exactly
    (``origin`` is the sympy integral of the origin term from v0 to v; the pole gives
    kappa ln((v_star - v0) / (v_star - v))), so quadrature sees a smooth integrand.
    """
    import sympy as sp

    s = symbols()
    v, v_star = s["v"], sp.Symbol("v_star", positive=True)
    v0 = sp.Symbol("v0", positive=True)
    integrand = (saxe_mode_expr(depth) / s["tau"]).function.subs(s["s"], v_star ** depth)
    kappa = sp.cancel((v_star - v) * integrand).subs(v, v_star)
    origin = v ** (1 - depth) * sp.limit(integrand * v ** (depth - 1), v, 0)
    smooth = sp.cancel(integrand - kappa / (v_star - v) - origin)
    if sp.denom(smooth).subs(v, v_star) == 0 or sp.denom(smooth).subs(v, 0) == 0:
        raise ArithmeticError(f"the singular parts did not cancel: {smooth}")
    origin_integral = sp.integrate(origin.subs(v, s["v"]), (v, v0, s["v"]))
    return v, v_star, v0, smooth, kappa, origin_integral


def _saxe_time(s: float, v0: float, v: float, depth: int, tau: float) -> float:
    """t at per-layer strength v (from v0) of :func:`saxe_mode_expr`, D != 2: quadrature of
    the smooth part (relative error 1e-13) plus the pole's logarithm."""
    from scipy.integrate import quad

    smooth, kappa, origin = _saxe_smooth(depth), _saxe_pole(depth), _saxe_origin(depth)
    v_star = s ** (1.0 / depth)
    value, error = quad(smooth, v0, v, args=(v_star,), epsabs=1e-14, epsrel=1e-13, limit=200)
    if error > 1e-9 * max(1.0, abs(value)):
        raise ArithmeticError(f"quadrature of t(u) failed (error estimate {error:.2e})")
    return tau * (value + kappa(v_star) * np.log((v_star - v0) / (v_star - v))
                  + origin(v0, v, v_star))


def _mode_args(s: float, u0: float, depth: int, tau: float) -> tuple[float, float, int, float]:
    s = validation.positive_scalar("s", s)
    u0 = validation.positive_scalar("u0", u0)
    if u0 >= s:
        raise ValueError(f"u0 must be smaller than s = {s} (a mode grows from u0 towards s), "
                         f"got {u0}")
    return s, u0, validation.depth(depth), validation.positive_scalar("tau", tau)


def saxe_mode(s: float, u0: float, t, depth: int = 2, tau: float = 1.0) -> np.ndarray:
    """Strength u(t) of one Saxe mode (whitened input, balanced decoupled start).

    Solves tau du/dt = D u^(2-2/D) (s - u), u(0) = u0: the closed form of
    :func:`saxe_mode_expr` for D = 2; for D != 2 the quadrature t(u) inverted by ``brentq``
    (u = s is returned once t exceeds the time to come within one rounding unit of s).

    Parameters
    ----------
    s : float
        Singular value of Sigma_yx for this mode (> 0).
    u0 : float
        Initial strength, 0 < u0 < s.
    t : float or array_like
        Non-negative times, any shape.
    depth : int
        Number of layers D >= 1.
    tau : float
        Time constant 1/eta.

    Returns
    -------
    float or ndarray
        u at each time, with the shape of ``t`` (a scalar for a scalar ``t``).

    Source: Saxe, McClelland & Ganguli (2013), arXiv:1312.6120; docs/deep_linear.md §3b.7.
    """
    s, u0, D, tau = _mode_args(s, u0, depth, tau)
    times = validation.nonnegative_array("t", t)
    t = times.ravel()
    if D == 2:
        u = np.asarray(_saxe_mode_two()(s, u0, t, tau), dtype=np.float64)
        return _arrays.shaped(np.broadcast_to(u, t.shape), times.shape)
    from scipy.optimize import brentq

    v0, v_top = u0 ** (1.0 / D), np.nextafter(s ** (1.0 / D), 0.0)
    t_top = _saxe_time(s, v0, v_top, D, tau)

    def strength(target: float) -> float:
        if target >= t_top:
            return s
        v = brentq(lambda x: _saxe_time(s, v0, x, D, tau) - target, v0, v_top,
                   xtol=1e-300, rtol=4 * np.finfo(float).eps)
        return v ** D

    return _arrays.shaped(np.array([strength(float(x)) for x in t], dtype=np.float64),
                          times.shape)


def saxe_learning_time(s: float, u0: float, u_final: float, depth: int = 2,
                       tau: float = 1.0) -> float:
    """Time for one Saxe mode to grow from u0 to u_final (0 < u0 < u_final < s).

    D = 2: tau / (2s) ln(u_final (s - u0) / (u0 (s - u_final))) (:func:`saxe_learning_time_expr`);
    D != 2: tau * int_{u0^(1/D)}^{u_final^(1/D)} v^(1-D) / (s - v^D) dv by quadrature.

    Source: Saxe, McClelland & Ganguli (2013), arXiv:1312.6120; docs/deep_linear.md §3b.7.
    """
    s, u0, D, tau = _mode_args(s, u0, depth, tau)
    u_final = validation.finite_scalar("u_final", u_final)
    if not u0 < u_final < s:
        raise ValueError(f"u_final must lie strictly between u0 = {u0} and s = {s}, "
                         f"got {u_final}")
    if D == 2:
        return float(_saxe_learning_time_two()(s, u0, u_final, tau))
    return _saxe_time(s, u0 ** (1.0 / D), u_final ** (1.0 / D), D, tau)


def saxe_plateau_time(s: float, u0: float, depth: int, tau: float = 1.0) -> float:
    """Time for one Saxe mode to grow from u0 to s/2 (requires u0 < s/2).

    :func:`saxe_learning_time` with u_final = s/2; for small u0 and D >= 3 it approaches
    tau u0^(-(1-2/D)) / ((D-2) s) (docs/deep_linear.md §3b.7).
    """
    s = validation.positive_scalar("s", s)
    if validation.positive_scalar("u0", u0) >= s / 2:
        raise ValueError(f"u0 must be smaller than s/2 = {s / 2} for a plateau, got {u0}")
    return saxe_learning_time(s, u0, s / 2, depth, tau)


# --------------------------------------------------------------------------- balance


@stored.expression(SETTING)
def balance_rate_expr():
    """k such that dD_l/dt = k D_l exactly, for D_l = W_{l+1}^T W_{l+1} - W_l W_l^T.

    With noncommutative matrix symbols, G the backpropagated error at the output of layer
    l+1 and A the input of layer l, the gradient parts are B_{l+1} = G (W_l A)^T and
    B_l = W_{l+1}^T G A^T, and the unified field is dW_l/dt = eta (B_l - beta W_l). The
    product rule gives dD_l/dt; the coefficient of every distinct matrix product in
    dD_l/dt - k D_l must vanish, and ``solve`` gives k = -2 eta beta: conserved under GD
    (beta = 0) [S], -2 eta beta under L2, -2 eta_w under Minnorm (beta = 1, eta = eta_w) [D].

    Raises
    ------
    ArithmeticError
        If the coefficients cannot all vanish (the gradient terms do not cancel).

    Source: Arora, Cohen & Hazan (2018), arXiv:1802.06509 (beta = 0); docs/deep_linear.md §3b.2.
    """
    import sympy as sp

    s = symbols()
    eta, beta, k = s["eta"], s["beta"], sp.Symbol("k")
    n, h, m, P = sp.symbols("n h m P", positive=True, integer=True)
    W_l, W_next = sp.MatrixSymbol("W_l", h, n), sp.MatrixSymbol("W_l1", m, h)
    G, A = sp.MatrixSymbol("G", m, P), sp.MatrixSymbol("A", n, P)
    dW_next = eta * (G * (W_l * A).T - beta * W_next)
    dW_l = eta * (W_next.T * G * A.T - beta * W_l)
    balance = W_next.T * W_next - W_l * W_l.T
    derivative = dW_next.T * W_next + W_next.T * dW_next - dW_l * W_l.T - W_l * dW_l.T
    residual = (derivative - k * balance).doit().expand()
    coefficients: dict = {}
    for term in sp.Add.make_args(residual):
        scalar, matrix = term.as_coeff_mmul()
        coefficients[matrix] = coefficients.get(matrix, 0) + scalar
    solution = sp.solve(list(coefficients.values()), k, dict=True)
    if len(solution) != 1:
        raise ArithmeticError(f"dD_l/dt is not a multiple of D_l: residual {residual}")
    return solution[0][k]


def balance_matrices(weights) -> list[np.ndarray]:
    """[D_1, ..., D_{L-1}] with D_l = W_{l+1}^T W_{l+1} - W_l W_l^T for weights [W_1, ..., W_L].

    W_l has shape n_l x n_{l-1}; D_l is n_l x n_l. Constant under gradient flow, decaying as
    exp(k t) with k = :func:`balance_rate_expr` otherwise (docs/deep_linear.md §3b.2).
    """
    if len(weights) == 0:
        raise ValueError("weights must hold at least one matrix")
    weights = [validation.finite_matrix(f"weights[{i}]", w) for i, w in enumerate(weights)]
    for l in range(1, len(weights)):
        if weights[l].shape[1] != weights[l - 1].shape[0]:
            raise ValueError(f"weights: W_{l + 1} has {weights[l].shape[1]} columns but W_{l} "
                             f"has {weights[l - 1].shape[0]} rows")
    return [weights[l + 1].T @ weights[l + 1] - weights[l] @ weights[l].T
            for l in range(len(weights) - 1)]


# --------------------------------------------------------------------------- shallow flow


def _column_forms(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """(X_c, Y_c) = (X^T, Y^T) of validated row-sample data (module docstring)."""
    X, Y = validation.paired_samples(X, Y)
    return X.T, Y.T


def _initial_map(W0, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Validated W0 of shape (N_o, N_i), for column forms X, Y."""
    W0 = validation.finite_matrix("W0", W0)
    if W0.shape != (Y.shape[0], X.shape[0]):
        raise ValueError(f"W0 must have shape (N_o, N_i) = {(Y.shape[0], X.shape[0])}, "
                         f"got {W0.shape}")
    return W0


def _rank_tolerance(X: np.ndarray) -> float:
    """Relative cutoff on singular values: max(N_i, P) * machine epsilon (as ``matrix_rank``)."""
    return max(X.shape) * np.finfo(np.float64).eps


def null_space_projector(X) -> np.ndarray:
    """P_perp = I - X_c X_c^+ (N_i x N_i), the orthogonal projector onto the complement of
    the span of the samples (the rows of X).

    X_c^+ is numpy's pseudo-inverse, with singular values below max(N_i, P) eps s_max
    treated as zero, so the rank is that of ``np.linalg.matrix_rank``. Under gradient
    descent W_1 P_perp is constant (docs/deep_linear.md §3b.1).
    """
    X_c = validation.finite_matrix("X", X).T
    return np.eye(X_c.shape[0]) - X_c @ np.linalg.pinv(X_c, _rank_tolerance(X_c))


def min_norm_map(X, Y) -> np.ndarray:
    """Y_c X_c^+ (N_o x N_i): the minimum-Frobenius-norm least-squares map, the Minnorm limit
    at any depth (docs/deep_linear.md §3b.3)."""
    X, Y = _column_forms(X, Y)
    return Y @ np.linalg.pinv(X, _rank_tolerance(X))


@stored.expression(SETTING)
def gd_shallow_mode_expr() -> dict:
    """One eigendirection of the shallow flow dM/dt = eta (Sigma_yx - M Sigma_xx).

    In the eigenbasis u_k of Sigma_xx = X X^T / P (eigenvalue sigma), each entry of M u_k obeys
    m' = eta (b - sigma m) with b the matching entry of Sigma_yx u_k. Returns ``solution``
    (``dsolve`` with m(0) = m0, sigma > 0), ``limit`` (t -> oo: b / sigma), ``target_form``
    (the solution with b = sigma c: c + (m0 - c) e^(-eta sigma t), regular at sigma = 0) and
    ``null_solution`` (``dsolve`` at sigma = 0: m0 + eta b t; there X^T u_k = 0 so b = 0 and
    m stays m0).
    """
    import sympy as sp

    s = symbols()
    t, eta, sigma, b, c, m0 = s["t"], s["eta"], s["sigma"], s["b"], s["c"], s["m0"]
    m = sp.Function("m")
    solution = sp.dsolve(sp.Eq(m(t).diff(t), eta * (b - sigma * m(t))), m(t), ics={m(0): m0}).rhs
    null = sp.dsolve(sp.Eq(m(t).diff(t), eta * b), m(t), ics={m(0): m0}).rhs
    return {"solution": solution, "limit": sp.limit(solution, t, sp.oo),
            "target_form": sp.expand(solution.subs(b, sigma * c)), "null_solution": null}


@stored.numeric(SETTING, samples=lambda: [(0.7, 1.3), (-2.0, 0.05)])
def _gd_shallow_limit() -> stored.Form:
    s = symbols()
    return stored.Form((s["b"], s["sigma"]), gd_shallow_mode_expr()["limit"])


@stored.numeric(SETTING, samples=lambda: [(0.3, 1.1, 0.8, 1.0, 2.0), (-1.0, 0.2, 0.0, 0.5, 3.0)])
def _gd_shallow_mode() -> stored.Form:
    s = symbols()
    return stored.Form((s["m0"], s["c"], s["sigma"], s["eta"], s["t"]),
                        gd_shallow_mode_expr()["target_form"])


def _eigenbasis(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(U, sigma, B, r): Sigma_xx = U diag(sigma) U^T from the SVD of X (sigma = 0 exactly on
    the N_i - r null directions, same rank rule as :func:`null_space_projector`) and
    B = Sigma_yx U."""
    P = X.shape[1]
    U, singular, _ = np.linalg.svd(X)
    r = int(np.count_nonzero(singular > _rank_tolerance(X) * singular.max()))
    sigma = np.zeros(X.shape[0])
    sigma[:r] = singular[:r] ** 2 / P
    return U, sigma, (Y @ X.T / P) @ U, r


def gd_limit_shallow(W0, X, Y) -> np.ndarray:
    """Limit of the shallow gradient flow from W0: Y_c X_c^+ + W0 P_perp.

    Assembled in the eigenbasis of Sigma_xx from :func:`gd_shallow_mode_expr`: b / sigma on
    the r directions with sigma > 0, the initial value on the null directions.

    Source: docs/deep_linear.md §3b.4 [D].
    """
    X, Y = _column_forms(X, Y)
    W0 = _initial_map(W0, X, Y)
    U, sigma, B, r = _eigenbasis(X, Y)
    modes = W0 @ U
    modes[:, :r] = _gd_shallow_limit()(B[:, :r], sigma[:r])
    return modes @ U.T


def gd_shallow_trajectory(W0, X, Y, t, eta: float = 1.0) -> np.ndarray:
    """M(t) = Y_c X_c^+ + (W0 - Y_c X_c^+) expm(-eta t Sigma_xx) of the shallow gradient flow
    dM/dt = eta (Sigma_yx - M Sigma_xx) (module docstring).

    Evaluated per eigendirection of Sigma_xx with the ``target_form`` of
    :func:`gd_shallow_mode_expr` (c = b / sigma on the range, 0 on the null space).

    Returns
    -------
    ndarray
        Shape ``t.shape + (N_o, N_i)``: (N_o, N_i) for a scalar time.

    Source: docs/deep_linear.md §3b.4 [D].
    """
    X, Y = _column_forms(X, Y)
    W0 = _initial_map(W0, X, Y)
    times = validation.nonnegative_array("t", t)
    t = times.ravel()
    eta = validation.positive_scalar("eta", eta)
    U, sigma, B, r = _eigenbasis(X, Y)
    targets = np.zeros_like(B)
    targets[:, :r] = _gd_shallow_limit()(B[:, :r], sigma[:r])
    modes = _gd_shallow_mode()((W0 @ U)[None], targets[None], sigma[None, None, :], eta,
                               t[:, None, None])
    maps = np.broadcast_to(modes, (t.size,) + W0.shape) @ U.T
    return maps.reshape(times.shape + W0.shape)


# --------------------------------------------------------------------------- test errors


def generalization_error(M, W_bar, noise_var: float = 0.0) -> float:
    """E_g(M) = E ||(M - W_bar) x + e||^2 = ||M - W_bar||_F^2 + N_o noise_var for
    x ~ N(0, I) and label noise e ~ N(0, noise_var I) (docs/deep_linear.md §3a.3)."""
    M = validation.finite_matrix("M", M)
    W_bar = validation.finite_matrix("W_bar", W_bar)
    if W_bar.shape != M.shape:
        raise ValueError(f"W_bar must have the shape of M {M.shape}, got {W_bar.shape}")
    noise_var = validation.nonnegative_scalar("noise_var", noise_var)
    return float(np.sum((M - W_bar) ** 2) + M.shape[0] * noise_var)


@stored.expression(SETTING)
def expected_excess_error_gd_expr():
    """E ||W0 P_perp||_F^2 for W0 with iid N(0, sigma0^2 / n_in) entries and X of full column
    rank P < n_in: (1 - P/n_in) n_out sigma0^2.

    The entry variance E[w^2] comes from ``sympy.stats``. W0 is rotation invariant, so in the
    eigenbasis of P_perp (n_in - P unit eigenvalues) E ||W0 P_perp||^2 sums E[w^2] over n_out
    rows and tr(P_perp) = n_in - P columns. This is the expected excess of shallow GD's test
    error over the min-norm map's (the cross term with W_bar P_perp has mean zero).

    Source: docs/deep_linear.md §3b.5 [D] (entry variance sigma0^2 / n_in, as gaussian_init).
    """
    import sympy as sp
    import sympy.stats

    s = symbols()
    w = sympy.stats.Normal("w", 0, s["sigma0"] / sp.sqrt(s["n_in"]))
    i, j = sp.symbols("i j", positive=True, integer=True)
    total = sp.Sum(sympy.stats.E(w ** 2), (i, 1, s["n_out"]), (j, 1, s["n_in"] - s["P"])).doit()
    return sp.factor(total)


@stored.numeric(SETTING, samples=lambda: [(0.9, 10, 2, 3), (1.5, 7, 1, 6)])
def _excess() -> stored.Form:
    s = symbols()
    return stored.Form((s["sigma0"], s["n_in"], s["n_out"], s["P"]),
                        expected_excess_error_gd_expr())


def _sizes(n_in: int, n_out: int, n_samples: int) -> tuple[int, int, int]:
    n_in = validation.count("n_in", n_in)
    n_samples = validation.count("n_samples", n_samples)
    if n_samples >= n_in:
        raise ValueError(f"n_samples must be smaller than n_in = {n_in} (over-parameterized: "
                         f"X has a null space), got {n_samples}")
    return n_in, validation.count("n_out", n_out), n_samples


def expected_excess_error_gd(sigma0: float, n_in: int, n_out: int, n_samples: int) -> float:
    """E ||W0 P_perp||_F^2 = (1 - P/n_in) n_out sigma0^2 (:func:`expected_excess_error_gd_expr`).

    Parameters
    ----------
    sigma0 : float
        Initialization scale: W0 has iid N(0, sigma0^2 / n_in) entries.
    n_in, n_out, n_samples : int
        N_i, N_o and P < N_i; X of full column rank P.
    """
    sigma0 = validation.nonnegative_scalar("sigma0", sigma0)
    n_in, n_out, P = _sizes(n_in, n_out, n_samples)
    return float(_excess()(sigma0, n_in, n_out, P))


@stored.expression(SETTING)
def expected_min_norm_error_expr():
    """E_g of the min-norm map Y X^+ for Y = W_bar X + E, X (n_in x P) with iid N(0, 1)
    entries, E with iid N(0, noise_var) entries, x ~ N(0, I).

    Y X^+ - W_bar = -W_bar P_perp + E X^+ (the cross term has mean zero). P_perp is a
    projector of rank n_in - P whose law is rotation invariant, so E[P_perp] = a I with
    ``solve`` a n_in = n_in - P, and E ||W_bar P_perp||^2 = a ||W_bar||^2. The noise term is
    E ||E X^+||^2 = noise_var n_out E tr((X^T X)^(-1)) with X^T X ~ Wishart_P(n_in, I), whose
    inverse has mean I / (n_in - P - 1) (inverse-Wishart mean; finite for P < n_in - 1):
    (1 - P/n_in) ||W_bar||^2 + noise_var n_out P / (n_in - P - 1).

    Source: docs/deep_linear.md §3b.6.
    """
    import sympy as sp

    s = symbols()
    n_in, P, a = s["n_in"], s["P"], sp.Symbol("a")
    null_fraction = sp.solve(sp.Eq(a * n_in, n_in - P), a)[0]
    trace_inverse_wishart = P / (n_in - P - 1)  # tr(I_P / (n_in - P - 1))
    return null_fraction * s["W_bar_norm_sq"] + s["noise_var"] * s["n_out"] * trace_inverse_wishart


def _min_norm_error_form(noise: bool) -> stored.Form:
    s, expr = symbols(), expected_min_norm_error_expr()
    args = (s["W_bar_norm_sq"], s["n_in"], s["n_out"], s["P"], s["noise_var"])
    return stored.Form(args, expr if noise else expr.subs(s["noise_var"], 0))


def _min_norm_error_samples() -> list[tuple]:
    return [(2.0, 10, 2, 3, 0.1), (0.5, 7, 3, 5, 0.0)]


@stored.numeric(SETTING, samples=_min_norm_error_samples)
def _min_norm_error_with_noise() -> stored.Form:
    return _min_norm_error_form(noise=True)


@stored.numeric(SETTING, samples=lambda: _min_norm_error_samples() + [(1.0, 6, 2, 5, 0.0)])
def _min_norm_error_noise_free() -> stored.Form:
    """The noise-free form has no pole at P = n_in - 1."""
    return _min_norm_error_form(noise=False)


def expected_min_norm_error(W_bar_norm_sq: float, n_in: int, n_out: int, n_samples: int,
                            noise_var: float = 0.0) -> float:
    """E_g of the min-norm map for X with iid N(0, 1) entries (:func:`expected_min_norm_error_expr`):
    (1 - P/n_in) ||W_bar||_F^2 + noise_var n_out P / (n_in - P - 1).

    The second term is noise_var n_out E tr((X^T X)^(-1)) with the inverse-Wishart mean
    E[(X^T X)^(-1)] = I / (n_in - P - 1); it is infinite for P = n_in - 1, so noise_var > 0
    requires n_samples < n_in - 1.

    Parameters
    ----------
    W_bar_norm_sq : float
        ||W_bar||_F^2 of the teacher.
    n_in, n_out, n_samples : int
        N_i, N_o and P < N_i.
    noise_var : float
        Variance of the iid label noise.

    Source: docs/deep_linear.md §3b.6.
    """
    W_bar_norm_sq = validation.nonnegative_scalar("W_bar_norm_sq", W_bar_norm_sq)
    n_in, n_out, P = _sizes(n_in, n_out, n_samples)
    noise_var = validation.nonnegative_scalar("noise_var", noise_var)
    if noise_var == 0.0:
        return float(_min_norm_error_noise_free()(W_bar_norm_sq, n_in, n_out, P, noise_var))
    if P >= n_in - 1:
        raise ValueError(f"n_samples must be smaller than n_in - 1 = {n_in - 1} with label "
                         f"noise (E tr((X^T X)^-1) is infinite otherwise), got {P}")
    return float(_min_norm_error_with_noise()(W_bar_norm_sq, n_in, n_out, P, noise_var))


# --------------------------------------------------------------------------- Minnorm collapse


@stored.expression(SETTING)
def minnorm_escape_scale_expr() -> dict:
    """The per-layer start v0* below which Minnorm from a zero multiplier collapses to W = 0
    (docs/deep_linear.md §3b.8), for one mode of strength s at depth D >= 3.

    While the weights are small, R = Y_c and Lambda = eta_lambda t Y_c / P, so one mode of a
    balanced decoupled start (per-layer strength v, every layer aligned with the SVD of
    Sigma_yx) obeys the Bernoulli equation
    dv/dt = eta_w (-v + s (c + eta_lambda t / P) v^(D-1)). With z = v^(2-D) it is linear,
    dz/dt = k z - k s (c + b t), k = (D - 2) eta_w, b = eta_lambda / P, solved by ``dsolve``
    with z(0) = z0. v escapes (z reaches 0 in finite time) iff the limit of z e^(-kt) as
    t -> oo, z0 - s (c + b / k) (``limit``), is negative; else z grows and v -> 0 (the
    collapse). ``solve`` for the limit = 0 gives z0*, and v0* = z0*^(-1/(D-2)).

    Returns
    -------
    dict
        ``"z"``: z(t); ``"limit"``: lim z e^(-kt); ``"v0"``: the threshold v0*(s, c, eta_w,
        eta_lambda, P, D).
    """
    import sympy as sp

    s, c, P = symbols()["s"], sp.Symbol("c", positive=True), symbols()["P"]
    t = symbols()["t"]
    eta_w, eta_lambda = sp.symbols("eta_w eta_lambda", positive=True)
    depth, z0 = sp.Symbol("D", positive=True), sp.Symbol("z0", positive=True)
    excess = sp.Symbol("m", positive=True)  # D - 2 > 0
    k, b = excess * eta_w, eta_lambda / P
    z = sp.Function("z")
    solution = sp.dsolve(sp.Eq(z(t).diff(t), k * z(t) - k * s * (c + b * t)), z(t),
                         ics={z(0): z0}).rhs
    limit = sp.simplify(sp.limit(sp.expand(solution * sp.exp(-k * t)), t, sp.oo))
    threshold = sp.solve(sp.Eq(limit, 0), z0)[0]
    v0 = sp.simplify((threshold ** (-1 / excess)).subs(excess, depth - 2))
    return {"z": solution.subs(excess, depth - 2), "limit": limit.subs(excess, depth - 2),
            "v0": v0}


def _escape_samples() -> list[tuple]:
    return [(2.0, 10.0, 1.0, 1.0, 10, 3), (0.7, 2.0, 0.5, 1.5, 4, 5)]


@stored.numeric(SETTING, samples=_escape_samples)
def _escape_scale() -> stored.Form:
    import sympy as sp

    s = symbols()
    args = (s["s"], sp.Symbol("c", positive=True), *sp.symbols("eta_w eta_lambda", positive=True),
            s["P"], sp.Symbol("D", positive=True))
    return stored.Form(args, minnorm_escape_scale_expr()["v0"])


def minnorm_escape_scale(s: float, c: float, depth: int, n_samples: int, eta_w: float = 1.0,
                         eta_lambda: float = 1.0) -> float:
    """v0* = (s (c + eta_lambda / (P (D - 2) eta_w)))^(-1/(D-2)) of
    :func:`minnorm_escape_scale_expr`: a mode of strength s started at per-layer strength
    v0 > v0* escapes the origin under Minnorm(c) flow from Lambda = 0; v0 < v0* collapses.

    Parameters
    ----------
    s : float
        The mode's singular value of Sigma_yx = Y_c X_c^T / P (the largest decides whether
        the network escapes at all).
    c : float
        Damping (>= 0).
    depth : int
        D >= 3 (at D <= 2 the origin does not attract: no collapse, docs/deep_linear.md §3b.8).
    n_samples : int
        P (the multiplier grows as eta_lambda t Y_c / P).
    eta_w, eta_lambda : float
        The rates; discrete Minnorm with lr_w = lr_lambda has ratio 1.

    Source: docs/deep_linear.md §3b.8 [D].
    """
    s = validation.positive_scalar("s", s)
    c = validation.nonnegative_scalar("c", c)
    depth = validation.depth(depth)
    if depth < 3:
        raise ValueError(f"depth must be at least 3 (no collapse at depth <= 2), got {depth}")
    P = validation.count("n_samples", n_samples)
    eta_w = validation.positive_scalar("eta_w", eta_w)
    eta_lambda = validation.positive_scalar("eta_lambda", eta_lambda)
    return float(_escape_scale()(s, c, eta_w, eta_lambda, P, depth))
