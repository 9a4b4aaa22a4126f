"""Every OPT solver against an independent reference (issue 11, item 1).

The references are written from docs/orthogonal.md §6a.3 and §6a.4 with complex-safe
operations, so that the complex step differentiates them exactly (no abs, no conjugation):

- the maps: classical Gram-Schmidt on the rows (q_i = a_i - sum_j (q_j . a_i) q_j, then
  q_i / sqrt(q_i . q_i)); the Householder product with v = x - sqrt(x . x) e_1; Löwdin's
  polar factor by Newton's iteration X <- (X + X^-T)/2 (which converges to the polar factor
  of a nonsingular real matrix); Cayley (I + S)(I - S)^-1;
- the losses 1/2 sum (R V - T)^2 and, for the penalty, mu sqrt(sum (R R^T - I)^2);
- the updates: heavy-ball momentum, OGD's projected momentum and Cayley retraction (solved
  exactly or by the two fixed-point iterations), S-OPT's episodes with subsets drawn as the
  docs say (``default_rng(seed).choice(d, e, replace=False)`` per episode).

Discrete solvers are compared with the hand-iterated step, the flow with solve_ivp
(DOP853, rtol 1e-12).
"""
from __future__ import annotations

import numpy as np
import pytest

from solver_references import (Case, check_discrete, check_stop, complex_step_gradient,
                               references, register_generic_tests)
from theory import orthogonal as sim
from theory import orthogonal_maps as maps
from theory.integrators import TABLEAUX

SETTING = "orthogonal"
D = 4
V, T, _ = sim.procrustes_instance(D, 10, 0.4, seed=2)
A0 = sim.haar_orthogonal(D, 14) + 0.3 * np.random.default_rng(15).standard_normal((D, D))
"""A start from which Gram-Schmidt can reach its optimum (r*_d . a_d(0) = 0.77 > 0,
docs/orthogonal.md §6b.7): from others its flow runs into a singular A, where adaptive steps
shrink without end."""
R0 = np.random.default_rng(5).standard_normal((D, D))
STEPS = [1, 5, 40, 200]
TIMES = np.linspace(0.1, 1.2, 12)
MAPS = ("gram_schmidt", "householder", "lowdin", "cayley")
COUNTER_UNIT = 2.0 ** -60
"""docs/orthogonal.md §6a.5: S-OPT's counter is stored in units of 2^-60."""

FIXED_DT = {"euler": 1e-3, "heun": 5e-3, "rk4": 2e-2, "dopri5": 4e-2}
"""Fixed steps of the order checks: errors between ~1e-3 and ~1e-10."""


def case(solver: str, label: str, args: tuple, **kwargs) -> Case:
    return Case(SETTING, solver, args, kwargs, label)


# --------------------------------------------------------------------------- references


def reference_map(name: str, A: np.ndarray) -> np.ndarray:
    """map(A) written from docs/orthogonal.md §6a.3 (complex-safe)."""
    d = A.shape[0]
    eye = np.eye(d)
    if name == "gram_schmidt":
        rows = []
        for i in range(d):
            q = A[i] - sum((r @ A[i]) * r for r in rows) if rows else A[i]
            rows.append(q / np.sqrt(q @ q))
        return np.array(rows)
    if name == "householder":
        R, Q = A.astype(complex), eye.astype(complex)
        for c in range(d - 1):
            v = np.zeros(d, dtype=complex)
            v[c:] = R[c:, c]
            v[c] -= np.sqrt(R[c:, c] @ R[c:, c])
            H = eye - 2.0 * np.outer(v, v) / (v @ v)
            R, Q = H @ R, Q @ H
        return Q
    if name == "lowdin":
        X = A.astype(complex)
        for _ in range(30):
            X = 0.5 * (X + np.linalg.inv(X).T)
        return X
    S = np.triu(A, 1) - np.triu(A, 1).T
    return (eye + S) @ np.linalg.inv(eye - S)


def procrustes_loss(R):
    return 0.5 * np.sum((R @ V - T) ** 2)


def gradient(loss, x: np.ndarray) -> np.ndarray:
    """d loss / d x of a matrix x by the complex step (loss called per perturbed state)."""
    shape = x.shape
    return complex_step_gradient(
        lambda batch: np.array([loss(b.reshape(shape)) for b in batch]), x.ravel()
    ).reshape(shape)


def heavy_ball(g: np.ndarray, M: np.ndarray, lr: float, mu: float) -> np.ndarray:
    """Increment of (P, M): M+ = mu M - g, P+ = P + lr M+."""
    m = mu * M - g
    return np.concatenate(((lr * m).ravel(), (m - M).ravel()))


def parametrized_field(case: Case):
    """(y0, F) of parametrized_descent / parametrized_flow."""
    kw = case.kwargs
    name = kw.get("orthogonalizer", "gram_schmidt")

    def grad(A):
        return gradient(lambda B: procrustes_loss(reference_map(name, B)), A)

    if case.solver == "parametrized_flow":
        eta = kw.get("eta", 1.0)
        return A0.ravel(), lambda y: -eta * grad(y.reshape(D, D)).ravel()
    lr, mu = kw["lr"], kw.get("momentum", 0.0)
    y0 = np.concatenate((A0.ravel(), np.zeros(D * D)))
    return y0, lambda y: heavy_ball(grad(y[:D * D].reshape(D, D)), y[D * D:].reshape(D, D),
                                    lr, mu)


def penalty_field(case: Case):
    kw = case.kwargs
    penalty, lr, mu = kw.get("penalty", 0.1), kw["lr"], kw.get("momentum", 0.0)

    def loss(R):
        X = R @ R.T - np.eye(D)
        return procrustes_loss(R) + penalty * np.sqrt(np.sum(X * X))

    y0 = np.concatenate((R0.ravel(), np.zeros(D * D)))
    return y0, lambda y: heavy_ball(gradient(loss, y[:D * D].reshape(D, D)),
                                    y[D * D:].reshape(D, D), lr, mu)


def ogd_field(case: Case):
    kw = case.kwargs
    lr, mu = kw["lr"], kw.get("momentum", 0.0)
    exact = kw.get("retraction", "cayley") == "cayley"
    eye = np.eye(D)

    def step(y):
        R, M = y[:D * D].reshape(D, D), y[D * D:].reshape(D, D)
        M_new = mu * M - gradient(procrustes_loss, R)
        W_hat = M_new @ R.T - 0.5 * R @ (R.T @ M_new @ R.T)
        W = W_hat - W_hat.T
        M_new = W @ R
        alpha = min(lr, 1.0 / (np.sqrt(np.sum(W * W)) + 1e-8))
        if exact:
            R_new = np.linalg.solve(eye - alpha / 2 * W, (eye + alpha / 2 * W) @ R)
        else:
            Y = R + alpha * M_new
            for _ in range(2):
                Y = R + alpha / 2 * W @ (R + Y)
            R_new = Y
        return np.concatenate(((R_new - R).ravel(), (M_new - M).ravel()))

    return np.concatenate((eye.ravel(), np.zeros(D * D))), step


def stochastic_field(case: Case):
    kw = case.kwargs
    lr, mu, e = kw["lr"], kw.get("momentum", 0.0), kw["subset_size"]
    episode_steps, name = kw["episode_steps"], kw.get("orthogonalizer", "gram_schmidt")
    rng = np.random.default_rng(kw["seed"])
    episodes = -(-int(kw["steps"][-1]) // episode_steps)
    subsets = [rng.choice(D, e, replace=False) for _ in range(episodes)]
    n, m = D * D, e * e

    def step(y):
        R, A, M = y[:n].reshape(D, D), y[n:n + m].reshape(e, e), y[n + m:n + 2 * m].reshape(e, e)
        k = int(round(y[-1] / COUNTER_UNIT))
        rows = subsets[min(k // episode_steps, episodes - 1)]

        def loss(B):
            effective = R.astype(B.dtype)
            effective[rows] = reference_map(name, B) @ R[rows]
            return procrustes_loss(effective)

        M_new = mu * M - gradient(loss, A)
        A_new = A + lr * M_new
        R_new = R.copy()
        if (k + 1) % episode_steps == 0:
            R_new[rows] = reference_map(name, A_new).real @ R[rows]
            A_new, M_new = np.eye(e), np.zeros((e, e))
        return np.concatenate(((R_new - R).ravel(), (A_new - A).ravel(), (M_new - M).ravel(),
                               [COUNTER_UNIT]))

    y0 = np.concatenate((np.eye(D).ravel(), np.eye(e).ravel(), np.zeros(m), [0.0]))
    return y0, step


FIELDS = {"parametrized_descent": parametrized_field, "parametrized_flow": parametrized_field,
          "penalty_descent": penalty_field, "orthogonal_descent": ogd_field,
          "stochastic_descent": stochastic_field}


def real_field(case: Case):
    y0, field = FIELDS[case.solver](case)
    return y0, (lambda y: np.real(field(y)))


# --------------------------------------------------------------------------- cases


FLOW_ARGS = (V, T, A0)
ADAPTIVE_CASES = [case("parametrized_flow", name, FLOW_ARGS, orthogonalizer=name, eta=0.7,
                       times=TIMES) for name in MAPS]
ORDER_CASES = [case("parametrized_flow", m, FLOW_ARGS, times=[0.6, 1.2], method=m,
                    dt=FIXED_DT[m], eta=1.3) for m in sorted(TABLEAUX)]
DISCRETE_CASES = (
    [case("parametrized_descent", name, (V, T, A0), orthogonalizer=name, lr=0.15,
          momentum=0.5, steps=STEPS) for name in MAPS]
    + [case("penalty_descent", "penalty", (V, T, R0), lr=0.05, penalty=0.3, momentum=0.9,
            steps=STEPS),
       case("orthogonal_descent", "exact", (V, T), lr=0.07, momentum=0.9, steps=STEPS),
       case("orthogonal_descent", "iterative", (V, T), lr=0.3, momentum=0.5,
            retraction="iterative", steps=STEPS),
       case("stochastic_descent", "gram_schmidt", (V, T), lr=0.3, momentum=0.5,
            subset_size=2, episode_steps=7, seed=8, steps=STEPS),
       case("stochastic_descent", "lowdin", (V, T), lr=0.2, subset_size=3, episode_steps=5,
            seed=9, orthogonalizer="lowdin", steps=STEPS)])
STOP_CASES = [
    case("parametrized_descent", "stop", (V, T, A0), orthogonalizer="lowdin", lr=0.3,
         stop_tol=1e-6, steps=[10, 100, 5000]),
    case("penalty_descent", "stop", (V, T, R0), lr=0.05, penalty=0.0, stop_tol=1e-6,
         steps=[10, 100, 20000]),
    case("orthogonal_descent", "stop", (V, T), lr=0.2, stop_tol=1e-6, steps=[10, 100, 20000]),
    case("stochastic_descent", "stop", (V, T), lr=0.3, subset_size=2, episode_steps=7,
         seed=8, stop_tol=1e-7, steps=[10, 100, 20000]),
    case("parametrized_flow", "stop_adaptive", FLOW_ARGS, orthogonalizer="lowdin", eta=0.7,
         stop_tol=1e-4, times=np.geomspace(0.1, 60.0, 60)),
]


register_generic_tests(globals(), real_field, adaptive=ADAPTIVE_CASES, order=ORDER_CASES,
                       discrete=DISCRETE_CASES, stop=STOP_CASES)


def test_the_reference_maps_are_the_package_maps():
    """The references above describe the same maps (a check of the references, not of
    the solvers: each side written independently)."""
    A = np.random.default_rng(10).standard_normal((5, 5))
    for name in MAPS:
        np.testing.assert_allclose(np.real(reference_map(name, A)),
                                   maps.orthogonalize(A, name), atol=1e-12)


# --------------------------------------------------------------------------- network


X_NET, Y_NET, _, _ = sim.mixture_task(12, 1, D, 3, 2.0, seed=6)
V_NET = np.random.default_rng(7).standard_normal((D, 6)) * np.sqrt(2.0 / D)
U_NET = 0.3 * np.random.default_rng(8).standard_normal((6, 3))
ONE_HOT = np.eye(3)[Y_NET]


def network_loss(W, U):
    """Mean cross-entropy of logits relu(X W) U (docs/orthogonal.md §6a.6), complex-safe:
    relu as a selection by the real part, log-sum-exp without a shift (logits are O(1))."""
    hidden = X_NET @ W
    logits = np.where(hidden.real > 0.0, hidden, 0.0) @ U
    return np.mean(np.log(np.sum(np.exp(logits), axis=1)) - np.sum(ONE_HOT * logits, axis=1))


def network_field(case: Case):
    kw = case.kwargs
    name, lr, mu = kw.get("orthogonalizer"), kw["lr"], kw.get("momentum", 0.0)
    P0 = case.args[3]
    size = P0.size

    def loss(x):
        P, U = x[:size].reshape(P0.shape), x[size:].reshape(U_NET.shape)
        W = P if name is None else reference_map(name, P) @ V_NET
        return network_loss(W, U)

    def step(y):
        x, m = y[:y.size // 2], y[y.size // 2:]
        m_new = mu * m - complex_step_gradient(lambda b: np.array([loss(r) for r in b]), x)
        return np.concatenate((lr * m_new, m_new - m))

    return np.concatenate((P0.ravel(), U_NET.ravel(), np.zeros(size + U_NET.size))), step


FIELDS["network_descent"] = network_field
NETWORK_CASES = [
    case("network_descent", "plain", (X_NET, Y_NET, V_NET, V_NET, U_NET), lr=0.3, momentum=0.5,
         steps=STEPS),
    case("network_descent", "lowdin", (X_NET, Y_NET, V_NET, A0, U_NET), lr=0.3, momentum=0.5,
         orthogonalizer="lowdin", steps=STEPS),
    case("network_descent", "gram_schmidt", (X_NET, Y_NET, V_NET, A0, U_NET), lr=0.2,
         orthogonalizer="gram_schmidt", steps=STEPS),
]
NETWORK_STOP = [case("network_descent", "stop", (X_NET, Y_NET, V_NET, A0, U_NET), lr=0.5,
                     orthogonalizer="cayley", stop_tol=5e-4, steps=[10, 100, 20000])]


@references("formula", NETWORK_CASES)
@pytest.mark.parametrize("case", NETWORK_CASES, ids=repr)
def test_network_descent_matches_the_hand_iterated_step(case):
    y0, field = real_field(case)
    check_discrete(case, field, y0)


@references("formula", NETWORK_STOP)
def test_network_descent_stop_tol_branch():
    (case,) = NETWORK_STOP
    y0, field = real_field(case)
    check_stop(case, field, y0)
