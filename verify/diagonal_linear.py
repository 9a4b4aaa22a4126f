"""Claims about diagonal linear networks x = u^L - v^L (docs/diagonal_linear.md): adaptive
simulations of ``theory.diagonal_linear`` against ``analytic.diagonal_linear``.

Instances are drawn from the claim's generator: ``sparse_instance(N, M, 3, seed)`` with a
drawn seed, at the sizes of ``theory.diagonal_linear.INSTANCES``: (N, M) = (30, 12) for the
limit (Woodworth et al.), (40, 20) for weight normalization (Chou, Rauhut, Ward); A ~ N(0,
1/M), x* with 3 nonzeros of magnitude U[1, 2] and random signs at random positions, y = A x*.
"""
from __future__ import annotations

import numpy as np

from analytic import diagonal_linear as exact
from theory import diagonal_linear as sim
from theory.measure import first_crossing_time
from verify import diagonal_linear_maps
from verify.claims import Claim, Evidence, draw_seed

SETTING = "diagonal_linear"
SOURCE_WOODWORTH = "Woodworth et al. 2020 (arXiv:1906.05827), Thm 1 and Section 4"
SOURCE_CRW = ("Chou, Rauhut, Ward (arXiv:2305.05448) abstract; the weight-normalized model is "
              "reconstructed (docs/diagonal_linear.md §4c [R]): the claims test that model")


LIMIT_REGIME = ("drawn: A, x* of sparse_instance(30, 12, 3, seed) (A ~ N(0, 1/12), three "
                "nonzeros of magnitude U[1, 2], random signs and positions) with a drawn seed")
WN_REGIME = ("drawn: A, x* of sparse_instance(40, 20, 3, seed) (A ~ N(0, 1/20), three "
             "nonzeros of magnitude U[1, 2], random signs and positions) with a drawn seed")


def _woodworth(rng: np.random.Generator) -> tuple:
    """(A, y, x*) at the size of the "implicit_bias" instance, drawn from ``rng``."""
    n, m, sparsity, _ = sim.INSTANCES["implicit_bias"]
    return sim.sparse_instance(n, m, sparsity, draw_seed(rng))


def _wn_instance(rng: np.random.Generator) -> tuple:
    """(A, y, x*) at the size of the "recovery" instance, drawn from ``rng``."""
    n, m, sparsity, _ = sim.INSTANCES["recovery"]
    return sim.sparse_instance(n, m, sparsity, draw_seed(rng))


def _endpoint(A, y, alpha: float) -> np.ndarray:
    """x at the end of gradient flow from alpha (depth 2), run to t = min(1e4, 3e3/alpha^2):
    ten times the horizon of ``theory.diagonal_linear.gradient_flow_endpoint``, which on a
    drawn instance (root seed 1) left x 2e-6 from its limit at alpha = 1e-2 (loss 5e-12)."""
    traj = sim.gradient_flow(A, y, alpha=alpha, times=[min(1e4, 3e3 / alpha ** 2)])
    return traj.raise_if_diverged().x[-1]


def _entropy_term(z: np.ndarray) -> float:
    """H(z) = sum |z_i| (ln |z_i| - 1) over the nonzero z_i (the alpha-free term of Q_alpha)."""
    a = np.abs(z[z != 0.0])
    return float(np.sum(a * (np.log(a) - 1.0)))


def _check_limit(rng: np.random.Generator) -> Evidence:
    A, y, _ = _woodworth(rng)
    alphas = (0.01, 0.1, 1.0, 3.0, 10.0)
    deviations = {f"alpha={a:g}": float(np.abs(_endpoint(A, y, a)
                                               - exact.implicit_bias_limit(A, y, a)).max())
                  for a in alphas}
    return Evidence(measured=deviations, predicted={k: 0.0 for k in deviations},
                    passed=max(deviations.values()) <= 1e-8,
                    note="max |x_GF(T) - argmin_{Az=y} Q_alpha(z)|")


L2_ALPHAS = (3.0, 5.0, 10.0)
"""Initialization scales of the l2-rate claim (simulated)."""


def _check_l2_rate(rng: np.random.Generator) -> Evidence:
    A, y, _ = _woodworth(rng)
    x_l2 = exact.l2_min(A, y)
    constant = exact.l2_rate_constant(A, y)
    alphas = np.array(L2_ALPHAS)
    distances = np.array([np.linalg.norm(_endpoint(A, y, a) - x_l2) for a in alphas])
    scaled = alphas ** 4 * distances
    # next relative term O(max x_l2^2 / alpha^4); the flow's floor ~1e-12 alpha^2 per entry
    tolerance = np.max(x_l2 ** 2) / alphas ** 4 + L2_FLOOR * alphas ** 2 * np.sqrt(A.shape[1]) / (
        constant / alphas ** 4)
    deviation = np.abs(scaled / constant - 1)
    slope = float(np.polyfit(np.log(alphas), np.log(distances), 1)[0])
    centred = np.log(alphas) - np.log(alphas).mean()
    band = float(np.sum(np.abs(centred) * np.log1p(tolerance)) / np.sum(centred ** 2))
    return Evidence(
        measured={f"alpha^4 |x_GF - x_l2| (alpha={a:g})": float(v) for a, v in zip(alphas, scaled)}
        | {f"relative deviation (alpha={a:g})": float(d) for a, d in zip(alphas, deviation)}
        | {"log-log slope of |x_GF - x_l2| in alpha": slope},
        predicted={"lim alpha^4 |x_alpha - x_l2| = |P_null(x_l2^3)|/24": constant}
        | {f"tolerance (alpha={a:g})": float(t) for a, t in zip(alphas, tolerance)}
        | {"log-log slope": -4.0, "slope band (derived)": band},
        passed=bool(np.all(deviation <= tolerance) and abs(slope + 4.0) <= band),
        note="x_GF: gradient flow from alpha to t = min(1e4, 3e3/alpha^2); x_l2 = A^+ y; the "
             "constant k |P_null(x_l2^3)|, k = -2 c4/c2 = 1/24 from the series of q")


L2_FLOOR = 1e-12
"""Relative accuracy of x = u^2 - v^2 from the flow (rtol 1e-12 on u, v of size alpha): an
absolute floor ~1e-12 alpha^2 per entry, sqrt(N) of them in the norm."""


L1_ALPHAS = np.array([1e-2, 1e-4, 1e-6, 1e-8, 1e-10])
"""Initialization scales of the l1 claim; the exponent is fitted over the last three."""

L1_EXPONENT_TOL = 0.03
"""Absolute tolerance on the fitted exponent of the l1 gap over alpha in [1e-10, 1e-6]: the
prefactors of alpha^(2 c_j) vary slowly with alpha (the local exponent still moved by ~0.01
from 1e-6 to 1e-10 on drawn instances), a judgement, not a derived bound; a 1/ln(1/alpha)
decay has fitted exponent ~0.1 there and a pure power law its own exponent."""


L1_MIN_EXPONENT = 0.3
"""Smallest 2 s* of an instance of the l1 claim: below it the local exponent is still far
from 2 s* at alpha = 1e-10 (0.10 against 0.12 on a drawn instance) and a power law is hard
to tell from a 1/ln(1/alpha) decay (local exponent 1/ln(1/alpha) = 0.05 at 1e-8)."""


def _check_l1_log(rng: np.random.Generator) -> Evidence:
    for redraws in range(1000):
        A, y, _ = _woodworth(rng)
        predicted = 2.0 * exact.l1_dual_slack(A, y)
        if predicted >= L1_MIN_EXPONENT:
            break
    else:
        raise RuntimeError("no instance with 2 s* >= 0.3 in 1000 draws")
    x_l1 = exact.l1_min(A, y)
    l1 = np.abs(x_l1).sum()
    alphas = L1_ALPHAS
    limits = [exact.implicit_bias_limit(A, y, a) for a in alphas]
    gaps = np.array([np.abs(x).sum() - l1 for x in limits])
    exponents = np.diff(np.log(gaps)) / np.diff(np.log(alphas))  # local power of alpha
    fitted = float(np.polyfit(np.log(alphas[2:]), np.log(gaps[2:]), 1)[0])
    logs = np.log(1 / alphas ** 2)
    # Q_alpha(x_alpha) <= Q_alpha(x_l1), with ln(1/a^2)|z| + |z|(ln|z| - 1) <= a^2 q(z/a^2)
    # <= the same + a^4/|z| + 2 a^2 termwise
    support = np.abs(x_l1[x_l1 != 0.0])
    bounds = np.array([_entropy_term(x_l1) - _entropy_term(x)
                       + np.sum(a ** 4 / support + 2 * a ** 2) for a, x in zip(alphas, limits)])
    simulated_gap = np.abs(_endpoint(A, y, 1e-2)).sum() - l1
    return Evidence(
        measured={f"l1 gap (alpha={a:g})": float(g) for a, g in zip(alphas, gaps)}
        | {f"local exponent {alphas[i]:g}-{alphas[i + 1]:g}": float(e)
           for i, e in enumerate(exponents)}
        | {"fitted exponent (alpha in [1e-10, 1e-6])": fitted,
           "simulated gap (alpha=0.01)": float(simulated_gap)},
        predicted={"exponent 2 s*": predicted}
        | {f"bound on gap ln(1/alpha^2) (alpha={a:g})": float(b)
           for a, b in zip(alphas, bounds)}
        | {"simulated gap (alpha=0.01)": float(gaps[0])},
        passed=bool(np.all(gaps > 0) and np.all(np.diff(gaps) < 0)
                    and np.all(gaps * logs <= bounds + L1_BOUND_SLACK)
                    and abs(fitted - predicted) <= L1_EXPONENT_TOL
                    and abs(simulated_gap - gaps[0]) <= 1e-8 * 30),
        note="gap = ||argmin Q_alpha||_1 - ||x_l1||_1 from the log-safe dual; s* = the largest "
             "smallest off-support slack 1 - |A_j^T nu| over the l1-optimal duals (LP); the "
             "bound ln(1/alpha^2) gap <= H(x_l1) - H(x_alpha) + sum_S (alpha^4/|x_l1,i| + 2 "
             f"alpha^2), H(z) = sum |z_i|(ln|z_i| - 1), is kept as a second check; {redraws} "
             "redraws for 2 s* >= 0.3")


L1_BOUND_SLACK = 1e-9
"""Absolute slack on the l1 bound: the dual Newton solve leaves x_alpha within ~1e-12, which
moves H(x_alpha) by at most ~1e-12 |ln 1e-12| N < 1e-9."""


def _check_invariants(rng: np.random.Generator) -> Evidence:
    A, y, _ = _wn_instance(rng)
    measured = {}
    for depth in (2, 3):
        traj = sim.gradient_flow(A, y, alpha=0.3, depth=depth, times=np.linspace(0, 50, 26)[1:])
        invariant = np.array([exact.gf_invariant(*np.split(s, 2), depth) for s in traj.states])
        measured[f"GF L={depth}"] = float(np.abs(invariant - invariant[0]).max()
                                          / np.abs(invariant[0]).max())
        kappa = 7.0
        wn = sim.wn_flow(A, y, alpha=0.3, depth=depth, eta_radius=kappa, eta_direction=1.0,
                         times=np.linspace(0, 50, 26)[1:])
        invariant = np.array([exact.wn_invariant(*np.split(s, 2), kappa, depth)
                              for s in wn.states])
        measured[f"WN L={depth}"] = float(np.abs(invariant - invariant[0]).max()
                                          / max(1.0, np.abs(invariant[0]).max()))
    return Evidence(measured=measured, predicted={k: 0.0 for k in measured},
                    passed=max(measured.values()) <= 1e-9,
                    note="GF: u v = alpha^2 (L = 2), u^(2-L) + v^(2-L) (L = 3); WN: r^2/2 + kappa "
                         "F_L(theta); relative drift over t in [0, 50], alpha = 0.3, kappa = 7")


WN_HORIZON = 1e4
"""Horizon of the weight-normalization endpoints (every form). The runs stop once every
component of the vector field is <= :data:`WN_STOP_TOL`, so the horizon only has to be
generous: the converged time depends on the instance (per-coordinate WN, kappa = 1,
alpha = 0.5 stopped at t = 135 on ``sparse_instance(40, 20, 3, 4065)``, whose loss was
still 1.1e-15 at t = 100, the former fixed horizon), and 1e4 is ~70 times the slowest
stop seen on drawn instances. A run that reaches the horizon without stopping is still
accepted if it interpolates (the loss check), and checked against its prediction."""

WN_STOP_TOL = 1e-10
"""stop_tol of the weight-normalization endpoints: two orders above the round-off floor of
the field (5e-13 to 1.6e-12 near the limit at unit rates, from g = A^T A x - A^T y with
|x| ~ 2), so the stop is reached. The radial rate kappa multiplies that floor (2e-12 kappa
to 7e-12 kappa measured at kappa = 100, where 1e-10 was never reached by t = 1e4), so the
WN runs stop at 1e-10 max(1, kappa / 10): 1e-9 at kappa = 100, where the loss is then
<= 1e-22 (the radial component is kappa times a gradient of ~1e-11). A run whose field
stays above its stop_tol goes on to the horizon (slower, not wrong). Near the limit
x - x_lim ~ field / (slowest rate): measured at most 8.3e-10 at kappa = 1, 10 and 1.5e-9 at
kappa = 100 over eight instances (alpha = 0.5, 1; the limit from
``analytic.diagonal_linear.wn_bias_limit``), 7 times below :data:`WN_LIMIT_TOL`."""


def wn_stop_tol(kappa: float) -> float:
    """stop_tol of a weight-normalization endpoint with radial rate ``kappa`` (eta_theta = 1):
    :data:`WN_STOP_TOL` max(1, kappa / 10), since the field's round-off floor grows with kappa.

    Parameters
    ----------
    kappa : float
        eta_r / eta_theta (0 or 1 for plain gradient flow).

    Returns
    -------
    float
        The largest field component at which the run may stop.
    """
    return WN_STOP_TOL * max(1.0, kappa / 10.0)


def _wn_endpoint(A, y, alpha: float, kappa: float, form: str) -> np.ndarray:
    """x at the end of plain gradient flow (``form="gf"``), per-coordinate WN
    (``"polar"``, eta_theta = 1, eta_r = kappa) or global WN (``"global"``), each run until
    the field is <= :data:`WN_STOP_TOL` or t = :data:`WN_HORIZON`; ArithmeticError unless
    the run interpolates (loss <= 1e-16)."""
    run = {"times": [WN_HORIZON], "stop_tol": wn_stop_tol(kappa)}
    if form == "gf":
        traj = sim.gradient_flow(A, y, alpha=alpha, **run)
    elif form == "polar":
        traj = sim.wn_flow(A, y, alpha=alpha, eta_radius=kappa, eta_direction=1.0, **run)
    else:
        traj = sim.global_wn_flow(A, y, alpha=alpha, eta_radius=kappa, eta_direction=1.0,
                                  **run)
    x = traj.raise_if_diverged().x[-1]
    if sim.loss(x, A, y) > 1e-16:
        raise ArithmeticError(f"{form} run at alpha={alpha}, kappa={kappa} did not interpolate "
                              f"({traj.message})")
    return x


def _wn_error(instance: tuple, alpha: float, kappa: float, form: str) -> float:
    A, y, x_star = instance
    return float(np.linalg.norm(_wn_endpoint(A, y, alpha, kappa, form) - x_star))


def _predicted_limit(A, y, alpha: float, kappa: float, form: str) -> np.ndarray:
    """The predicted limit: argmin Q_alpha (``"gf"``) or argmin sum Phi_{r0, kappa} with
    r0 = alpha sqrt 2 (``"polar"``), subject to A z = y."""
    if form == "gf":
        return exact.implicit_bias_limit(A, y, alpha)
    return exact.wn_bias_limit(A, y, np.sqrt(2.0) * alpha, kappa)


WN_LIMIT_TOL = 1e-8
"""Tolerance on max |x_WN(T) - argmin Phi|: the Newton solve for argmin Phi stops at
||A z - y|| <= 1e-10 ||y|| (Phi' is a quadrature, accurate to ~1e-13), which leaves z within
~1e-10 |y|/sigma_min; the flow stops at field <= WN_STOP_TOL max(1, kappa / 10), which
leaves x within ~1e-9 of its limit (measured <= 1.5e-9); 1e-8 is 7 times above that."""


def _check_wn_limit(rng: np.random.Generator) -> Evidence:
    A, y, _ = _wn_instance(rng)
    measured = {}
    for alpha in (0.5, 1.0):
        for kappa in (1.0, 10.0, 100.0):
            x = _wn_endpoint(A, y, alpha, kappa, "polar")
            measured[f"alpha={alpha:g}, kappa={kappa:g}"] = float(
                np.abs(x - _predicted_limit(A, y, alpha, kappa, "polar")).max())
    return Evidence(measured=measured, predicted={k: 0.0 for k in measured},
                    passed=max(measured.values()) <= WN_LIMIT_TOL,
                    note="max |x_WN(T) - argmin_{Az=y} sum Phi(z_i)|, T: field <= stop_tol, "
                         "r0 = alpha sqrt 2, "
                         "eta_theta = 1, eta_r = kappa; every run interpolates (loss <= 1e-16)")


def _errors(instance: tuple, runs: list[tuple[float, float, str]]) -> tuple[dict, dict, float]:
    """Simulated and predicted ||x - x*|| per (alpha, kappa, form), and the largest
    |x_simulated - x_predicted|."""
    A, y, x_star = instance
    simulated, predicted, gap = {}, {}, 0.0
    for alpha, kappa, form in runs:
        name = f"GF alpha={alpha:g}" if form == "gf" else f"WN k={kappa:g} alpha={alpha:g}"
        x = _wn_endpoint(A, y, alpha, kappa, form)
        z = _predicted_limit(A, y, alpha, kappa, form)
        simulated[name] = float(np.linalg.norm(x - x_star))
        predicted[name] = float(np.linalg.norm(z - x_star))
        gap = max(gap, float(np.abs(x - z).max()))
    return simulated, predicted, gap


def _check_robust_sparsity(rng: np.random.Generator) -> Evidence:
    instance = _wn_instance(rng)
    A, y, x_star = instance
    l2_error = float(np.linalg.norm(exact.l2_min(A, y) - x_star))
    runs = [(alpha, kappa, form) for alpha in (0.5, 1.0)
            for kappa, form in ((0.0, "gf"), (10.0, "polar"), (100.0, "polar"))]
    simulated, predicted, gap = _errors(instance, runs)
    ok = gap <= WN_LIMIT_TOL
    for errors in (simulated, predicted):
        for alpha in (0.5, 1.0):
            ok &= (errors[f"WN k=100 alpha={alpha:g}"] < errors[f"WN k=10 alpha={alpha:g}"]
                   < errors[f"GF alpha={alpha:g}"])
    ok &= simulated["GF alpha=1"] >= 0.95 * l2_error
    return Evidence(measured=simulated | {"max |x_sim - x_predicted|": gap},
                    predicted=predicted | {"l2 error": l2_error,
                                           "max |x_sim - x_predicted|": 0.0},
                    passed=bool(ok),
                    note="||x - x*||; predicted: the minimizers of sum Phi_{r0, kappa} (WN) and "
                         "Q_alpha (GF) under A z = y; the order WN k=100 < WN k=10 < GF must "
                         "hold for both; every run interpolates (loss <= 1e-16)")


def _check_no_robustness(rng: np.random.Generator) -> Evidence:
    measured = {}
    instance = _wn_instance(rng)
    for alpha in (0.5, 1.0):
        gf = _wn_error(instance, alpha, 0.0, "gf")
        measured[f"GF alpha={alpha:g}"] = gf
        measured[f"WN k=1 alpha={alpha:g}"] = _wn_error(instance, alpha, 1.0, "polar")
        measured[f"global k=100 alpha={alpha:g}"] = _wn_error(instance, alpha, 100.0, "global")
    gf_at_1 = measured["GF alpha=1"]
    passed = (abs(measured["global k=100 alpha=1"] / gf_at_1 - 1) <= 0.02
              and measured["global k=100 alpha=0.5"] >= 0.95 * measured["GF alpha=0.5"])
    return Evidence(measured=measured, predicted={"global / GF at alpha=1": 1.0,
                                                  "global / GF at alpha=0.5": ">= 0.95"},
                    passed=bool(passed),
                    note="global WN: beta^2 = R_inf^2/(2N) e^{(R0^2 - R_inf^2)/kappa} magnifies "
                         "the bias only if R grows, and R0^2 = 2N alpha^2 is large; the "
                         "per-coordinate kappa = 1 errors are reported, not required (claim "
                         "kappa_one_is_not_gradient_flow)")


def _check_kappa_one(rng: np.random.Generator) -> Evidence:
    instance = _wn_instance(rng)
    runs = [(alpha, kappa, form) for alpha in (0.5, 1.0)
            for kappa, form in ((0.0, "gf"), (1.0, "polar"))]
    simulated, predicted, gap = _errors(instance, runs)
    passed = (gap <= WN_LIMIT_TOL and simulated["WN k=1 alpha=0.5"] < simulated["GF alpha=0.5"]
              and predicted["WN k=1 alpha=0.5"] < predicted["GF alpha=0.5"])
    return Evidence(measured=simulated | {"max |x_sim - x_predicted|": gap},
                    predicted=predicted | {"order at alpha=0.5": "WN k=1 < GF",
                                           "max |x_sim - x_predicted|": 0.0},
                    passed=bool(passed),
                    note="||x - x*||; predicted: argmin sum Phi_{r0, 1} (r0^2 = 2 alpha^2 = 0.5 "
                         "< kappa: Phi is l1-like beyond z_c = 2 sqrt 2 r0^3) against argmin "
                         "Q_alpha; alpha = 1 is reported, not required")


def _time_to_loss(traj: sim.DiagonalTrajectory, A, y, level: float = 1e-8) -> float:
    losses = np.array([sim.loss(x, A, y) for x in traj.x])
    return first_crossing_time(traj.times, -np.log10(np.maximum(losses, 1e-300)), -np.log10(level))


SPEED_HORIZON = 3e4
"""Horizon of the speed claim: every time must be reached inside it (a time to accuracy
that is not reached fails the claim; it is never read as the horizon). The fixed-rate form
took 2.3e3-5.9e3 on drawn instances (root seeds 0-5), five times below it; the runs stop
once every component of the field is <= 1e-10 (loss far below 1e-8 by then), so the
stiff tail after convergence costs nothing."""


def _check_speed(rng: np.random.Generator) -> Evidence:
    A, y, _ = _wn_instance(rng)
    alpha = 0.1
    r0_sq = 2 * alpha ** 2
    times = np.geomspace(1e-2, SPEED_HORIZON, 900)
    stop = {"stop_tol": 1e-10}
    gf = _time_to_loss(sim.gradient_flow(A, y, alpha=alpha, times=times, **stop), A, y)
    scaled = {k: _time_to_loss(sim.wn_flow(A, y, alpha=alpha, eta_radius=k,
                                           eta_direction=1 / r0_sq, times=times, **stop), A, y)
              for k in (1.0, 10.0)}
    fixed = _time_to_loss(sim.wn_flow(A, y, alpha=alpha, eta_radius=1.0, eta_direction=1.0,
                                      times=times, **stop), A, y)
    every = [gf, fixed, *scaled.values()]
    passed = (all(np.isfinite(t) for t in every) and all(t <= gf for t in scaled.values())
              and fixed > gf)
    return Evidence(
        measured={"T_GF": gf} | {f"T_WN(eta_radius={k:g}, eta_direction=1/r0^2)": t
                                 for k, t in scaled.items()}
        | {"T_WN(eta_radius=1, eta_direction=1)": fixed, "T_WN(fixed) / T_GF": fixed / gf},
        predicted={"order": "T_WN(scaled) <= T_GF < T_WN(fixed eta_theta), all finite"},
        passed=bool(passed),
        note="time for the loss to fall below 1e-8, alpha = 0.1 (r0^2 = 0.02); every time must "
             "be reached by the horizon t = 3e4 (inf = not reached, a failure)")


CLAIMS = [
    Claim(
        id="diagonal_linear.gf.limit_is_argmin_Q", setting=SETTING,
        statement="Gradient flow from u = v = alpha converges to argmin Q_alpha(z) subject to "
                  "A z = y, Q_alpha = alpha^2 sum q(z_i/alpha^2), q' = arcsinh(z/2).",
        source=SOURCE_WOODWORTH + "; docs/diagonal_linear.md §4b.1",
        regime="depth 2, alpha from 1e-2 to 10; " + LIMIT_REGIME,
        tolerance="1e-8 (the issue's): Dormand-Prince at rtol 1e-12, run to t = min(1e4, "
                  "3e3/alpha^2) (at 1e3, a drawn instance was still 2e-6 away at alpha = 1e-2); "
                  "x = u^2 - v^2 cancels two numbers of size alpha^2, so the floor is ~1e-12 "
                  "alpha^2; the dual Newton solves to a 1e-12 residual",
        check=_check_limit,
        prediction="convex dual (Newton)"),
    Claim(
        id="diagonal_linear.limit.l2_rate", setting=SETTING,
        statement="As alpha grows, gradient flow's limit approaches the min-l2 interpolant at "
                  "rate alpha^-4: alpha^4 ||x_alpha - x_l2|| -> ||P_null(x_l2^3)||/24 (the "
                  "correction -2 c4/c2 P_null(x_l2^3)/alpha^4 of the series q = z^2/4 - "
                  "z^4/192 + ...), measured on simulations.",
        source=SOURCE_WOODWORTH + "; the constant derived here with sympy "
               "(docs/diagonal_linear.md §4b.3; analytic.diagonal_linear.l2_rate_expr)",
        regime="depth 2, alpha = 3, 5, 10 (simulated); " + LIMIT_REGIME,
        tolerance="per alpha, relative deviation from the constant <= max x_l2^2/alpha^4 (the "
                  "order of the next relative term, from the cubic term at x_l2 + delta and "
                  "the z^6 term, with constant 1) + the flow's floor 1e-12 alpha^2 sqrt(N) / "
                  "(constant/alpha^4); log-log slope of ||x_GF - x_l2|| within the band those "
                  "deviations allow (sum |x - mean| log(1 + tol) / sum (x - mean)^2)",
        check=_check_l2_rate,
        prediction="sympy closed form; pseudo-inverse"),
    Claim(
        id="diagonal_linear.limit.l1_logarithmic", setting=SETTING,
        statement="As alpha -> 0 the l1-norm gap ||x_alpha||_1 - ||x_l1||_1 vanishes as a "
                  "power of alpha, not logarithmically: gap ~ alpha^(2 s*), s* the largest "
                  "smallest off-support slack 1 - |A_j^T nu| over the l1-optimal duals nu "
                  "(derived here: the entropic term of Q_alpha ~ ln(1/alpha^2)||z||_1 + sum "
                  "|z_i|(ln|z_i| - 1) puts alpha^(2 c_j) on an off-support coordinate of slack "
                  "c_j). Also ln(1/alpha^2) gap <= H(x_l1) - H(x_alpha) + sum_S (alpha^4/"
                  "|x_l1,i| + 2 alpha^2). The 'only logarithmically' of the claim's first version "
                  "is the worst case of Woodworth et al. (alpha exponentially small in 1/eps "
                  "when s* is small), not the rate on drawn instances; the claim's id is kept.",
        source=SOURCE_WOODWORTH + " (alpha must be exponentially small in 1/eps); the "
               "exponent 2 s* and the bound derived here (docs/diagonal_linear.md §4b.4; "
               "analytic.diagonal_linear.l1_dual_slack)",
        regime="alpha = 1e-2 ... 1e-10 (closed form, log-safe dual); simulated at 1e-2; "
               + LIMIT_REGIME + ", redrawn until 2 s* >= 0.3 (below, e.g. 2 s* = 0.12, the local "
               "exponent at alpha = 1e-10 was still 0.10 and a power is hard to tell from "
               "1/ln(1/alpha): that is Woodworth's slow case)",
        tolerance="fitted exponent of the gap over alpha in [1e-10, 1e-6] within 0.03 of 2 s* "
                  "(L1_EXPONENT_TOL: the prefactors drift slowly with alpha; a judgement); gap "
                  "> 0 and strictly decreasing; the bound up to an absolute 1e-9; simulated gap "
                  "within 3e-7 (N x 1e-8) of the closed form",
        check=_check_l1_log,
        prediction="convex dual (Newton); linear program; hand-derived closed form"),
    Claim(
        id="diagonal_linear.invariants", setting=SETTING,
        statement="The invariants hold along the flows: u_i v_i (L = 2) and u_i^(2-L) + "
                  "v_i^(2-L) (L = 3) for gradient flow; r_i^2/2 + kappa F_L(theta_i) for "
                  "per-coordinate weight normalization (kappa = eta_r/eta_theta).",
        source="derived here with sympy (analytic.diagonal_linear.invariant_expr, "
               "wn_invariant_expr); docs/diagonal_linear.md §4b.1, §4b.2, §4c.1",
        regime="L = 2, 3; alpha = 0.3; kappa = 7; t in [0, 50]; " + WN_REGIME,
        tolerance="relative drift <= 1e-9 (rtol 1e-12 per step over ~1e3 steps)",
        check=_check_invariants,
        prediction="sympy closed form"),
    Claim(
        id="diagonal_linear.wn.robust_sparsity", setting=SETTING,
        statement="At a fixed large initialization, per-coordinate weight normalization "
                  "recovers the sparse x* better as the rate ratio kappa grows, while plain "
                  "gradient flow stays near the l2 error; predicted by the implicit-bias "
                  "potentials (argmin sum Phi_{r0, kappa} for WN, argmin Q_alpha for GF), "
                  "whose minimizers the simulations reach.",
        source=SOURCE_CRW + "; the WN potential derived here (docs/diagonal_linear.md §4c.2) "
               "and with sympy (analytic.diagonal_linear.wn_potential_expr)",
        regime="alpha = 0.5 and 1, kappa = 10 and 100, eta_theta = 1; " + WN_REGIME,
        tolerance="strict ordering of the errors, predicted and simulated; simulated limits "
                  "within 1e-8 of the predicted ones (WN_LIMIT_TOL); GF within 5 % of the l2 "
                  "error at alpha = 1",
        check=_check_robust_sparsity,
        prediction="sympy + quadrature; sympy + root finder; convex dual (Newton); "
                   "pseudo-inverse"),
    Claim(
        id="diagonal_linear.wn.limit_is_argmin_Phi", setting=SETTING,
        statement="Per-coordinate weight-normalized gradient flow (L = 2) from r = alpha sqrt "
                  "2, theta = pi/4 converges to argmin sum_i Phi(z_i) subject to A z = y, "
                  "with Phi'(z) = -h(X^{-1}(z)), X(psi) = (r0^2 - kappa ln sin psi) cos psi, "
                  "h' = 1/((r0^2 - kappa ln sin psi) sin psi), h(pi/2) = 0 (from the invariant "
                  "r^2 + kappa ln sin 2 theta and h(psi(t)) = 4 eta_theta A^T int (A x - y)).",
        source=SOURCE_CRW + "; derived in docs/diagonal_linear.md §4c.2 and with sympy "
               "(analytic.diagonal_linear.wn_potential_expr)",
        regime="alpha = 0.5, 1 (r0 = alpha sqrt 2); kappa = eta_r/eta_theta = 1, 10, 100, "
               "eta_theta = 1, run until every field component is <= 1e-10 max(1, kappa / 10) "
               "(horizon 1e4; each run interpolates); " + WN_REGIME,
        tolerance="max |x_WN - argmin Phi| <= 1e-8 (WN_LIMIT_TOL: the predicted minimizer is "
                  "solved to ||A z - y|| <= 1e-10 ||y||, quadrature-limited; the flow stopped at "
                  "field <= 1e-10 max(1, kappa / 10) is within ~1e-9 of its limit, measured "
                  "<= 1.5e-9)",
        check=_check_wn_limit,
        prediction="sympy + quadrature; sympy + root finder; convex dual (Newton)"),
    Claim(
        id="diagonal_linear.wn.no_robustness", setting=SETTING,
        failing_regime=True,
        statement="Failing regime: the global weight-normalization form (w = R phi over all "
                  "2N weights) gives no robustness: its error equals plain gradient flow's at "
                  "alpha = 1 and is not better at alpha = 0.5. (This claim also said so of the "
                  "per-coordinate form with kappa = 1; on drawn instances that is false: see "
                  "kappa_one_is_not_gradient_flow.)",
        source=SOURCE_CRW + "; global form derived in docs/diagonal_linear.md §4c.4",
        regime="alpha = 0.5, 1; global kappa = 100 (per-coordinate kappa = 1 reported); "
               + WN_REGIME,
        tolerance="within 2 % of GF's error at alpha = 1; not better than 95 % of GF's at "
                  "alpha = 0.5",
        check=_check_no_robustness,
        prediction="simulation (ordering between runs)"),
    Claim(
        id="diagonal_linear.wn.kappa_one_is_not_gradient_flow", setting=SETTING,
        statement="Per-coordinate weight normalization with equal rates (kappa = 1) is not "
                  "plain gradient flow in its bias: at alpha = 0.5 (r0^2 = 0.5 < kappa, so "
                  "Phi is l1-like beyond z_c = 2 sqrt 2 r0^3/sqrt kappa = 1) its potential's "
                  "minimizer is closer to x* than argmin Q_alpha, and the simulations reach "
                  "both minimizers; at alpha = 1 the two errors differ by a few per cent "
                  "either way (reported).",
        source=SOURCE_CRW + "; found here on drawn instances (issue 11: at alpha = 0.5 kappa = 1 "
               "beat GF on every seed tried); explained by the WN potential "
               "(analytic.diagonal_linear.wn_potential_expr)",
        regime="alpha = 0.5 (alpha = 1 reported); per-coordinate kappa = 1, eta_theta = 1; "
               + WN_REGIME,
        tolerance="strict ordering of the errors ||x - x*|| at alpha = 0.5, predicted and "
                  "simulated; simulated limits within 1e-8 of the predicted ones (WN_LIMIT_TOL)",
        check=_check_kappa_one,
        prediction="sympy + quadrature; sympy + root finder; convex dual (Newton)"),
    Claim(
        id="diagonal_linear.wn.speed_depends_on_normalization", setting=SETTING,
        statement="Weight normalization is faster only under the normalization where it equals "
                  "gradient flow at t = 0 (eta_theta = eta/r0^2, eta_r >= eta); with the "
                  "angular rate fixed at eta_theta = 1 it is slower (the speed claim reverses).",
        source=SOURCE_CRW + " (faster convergence in experiments); docs/diagonal_linear.md §4c.3",
        regime="alpha = 0.1; eta_r = 1, 10; " + WN_REGIME,
        tolerance="strict ordering of the times to loss 1e-8 (900 log-spaced samples to "
                  "t = 3e4, interpolated in log loss), each of them reached (finite)",
        check=_check_speed,
        prediction="simulation (ordering between runs)"),
] + [m.claim for m in diagonal_linear_maps.MAPS]
