"""Our jitted gradient-descent solvers against the loop a researcher would write in JAX.

For each case of :data:`CASES` (gradient descent and its relatives in discrete steps, in
eight settings, and the modified flow by fixed-step rk4) the same dynamics run two ways,
in float64 on the CPU, from the same start with the same step size and the same number
of steps:

- ours: the public solver ``theory.<setting>.gradient_descent(..., steps=[n])`` (the
  orthogonal setting: ``parametrized_descent``, ``orthogonal_descent``; modular_norm also
  ``normalized_descent``; implicit_gradient also ``modified_flow(..., times=[n dt],
  method="rk4", dt=dt)``), the whole call
  (validation, packing, the numba time loop, building the trajectory);
- JAX, two variants, each one ``jax.jit``-compiled ``run(state0, data, n)`` with ``n``
  static whose ``lax.fori_loop`` holds the whole step: ``grad``, gradient descent on the
  loss by ``jax.grad`` (what a JAX user writes first), and ``hand``, the update written
  out with the same products as our kernel, A^T r and Z^T s written as ``r @ A`` and
  ``s @ Z`` (XLA's CPU backend compiles ``A.T @ r`` to a transposed copy of A in every
  step). XLA's speed depends on such details in both directions, so the faster variant
  is taken as JAX's time. The data arrays are arguments of ``run`` (not constants baked
  into the compiled program), hyperparameters are Python floats, and the result is
  waited for with ``block_until_ready``.

Both sides are warmed up first: numba loads (or compiles) its kernel and XLA compiles
``run`` for both step counts used. The warm-up run of ``n`` steps is also the check: our
run must neither diverge nor end subnormal (:func:`benchmarks.common.check_trajectory`),
and each JAX final state must agree with ours, max |ours - JAX| <= TOLERANCE max |ours|;
the larger relative difference is reported (the sides sum products in different orders,
and ``grad`` also differs in arithmetic, so it is round-off, usually not zero).

Time per step is marginal, ``(t(n) - t(n // SHORT)) / (n - n // SHORT)``, where t is the
best (minimum) of ROUNDS timed calls; ours and the JAX variants are interleaved (the
side that goes first rotates between rounds). Each side's fixed cost per call (our validation and
trajectory, JAX's dispatch and transfers) cancels in the difference, and nothing else is
subtracted. Wall time (``time.perf_counter``) and process CPU time (``time.process_time``:
every thread of the process, so a thread pool's work counts) are both measured; the
ratios are JAX time / our time, so > 1 means ours is faster.

Cases (their step counts, full and ``--quick``, are in ``_CASES``: a full run of ``n``
steps takes a fraction of a second to about a second on the slower side):

1-2. ``chain_L3``, ``chain_L6``: :func:`theory.linear_chain.gradient_descent`, depth L,
     p* = 2, sigma = 1, lr = 1e-3, w0 = p*^(1/L) (1 + 0.1 t) with t evenly spaced in
     [-1, 1] (near the solution manifold: the run settles on it and stays normal).
3-6. ``deep_N4`` ... ``deep_N256``: :func:`theory.deep_linear.gradient_descent`, depth 3,
     every width N and P = N samples as rows: X ~ N(0, 1) (P x N), Y = X W_bar^T with
     W_bar ~ N(0, 1/N), start ``gaussian_init([N] * 4, 0.5)``, lr = 0.01.
7-8. ``diagonal_N40``, ``diagonal_N4000``: :func:`theory.diagonal_linear.gradient_descent`,
     depth 2, ``sparse_instance(N, N / 2, sparsity, seed=0)`` (sparsity 3 and 30),
     alpha = 0.1, lr = 0.01.
9-10. ``margin_P30``, ``margin_P3000``: :func:`theory.max_margin.gradient_descent`,
     logistic loss, ``separable_data(P, d, 0.5, seed=1)`` with d = 5 and d = 50, w0 = 0,
     lr = 1 / lambda_max(Z^T Z).
11-12. ``opt_cayley_d8``, ``opt_cayley_d64``: :func:`theory.orthogonal.parametrized_descent`
     through the Cayley map (heavy ball, lr = 0.2, mu = 0.5) on the Procrustes task of
     :mod:`benchmarks.orthogonal` at its two sizes (d, N) = (8, 32), (64, 256), from its
     A0; JAX solves with ``jnp.linalg.solve`` (``grad``: through the map by ``jax.grad``;
     ``hand``: the kernel's pullback).
13-14. ``ogd_d8``, ``ogd_d64``: :func:`theory.orthogonal.orthogonal_descent` with the exact
     Cayley retraction (lr = 0.05, mu = 0.9) from R = I on the same tasks; ``grad`` takes
     the Euclidean gradient by ``jax.grad``. Its tolerance is :data:`OGD_TOLERANCE`.
15. ``conditioned_N16``: :func:`theory.conditioning.gradient_descent` with every layer
     row-equilibrated, the data, start and step of ``deep_N16``.
16-17. ``modular_gd_n32``, ``modular_gd_n512``: :func:`theory.modular_norm.gradient_descent`
     on the GELU/linear residual MLP (2 blocks) at the problem of
     :mod:`benchmarks.modular_norm` (teacher 16 -> 4, P = 32, orthogonal start) at width
     32 (the transfer claims' size) and 512, lr = :data:`MODULAR_GD_LR`; GELU is exact
     (erf) on both sides.
18. ``modular_nd_n32``: :func:`theory.modular_norm.normalized_descent` with one power step
     per layer (``norm="power"``) at width 32, lr = :data:`MODULAR_ND_LR`; the state is the
     weights and the power vectors (``grad``: the gradient by ``jax.grad``, the power step
     and the targets' scaling as in ``hand``).
19-20. ``implicit_gd_small``, ``implicit_gd_large``:
     :func:`theory.implicit_gradient.gradient_descent` on the tanh network of
     :mod:`benchmarks.implicit_gradient` (3-4-2 with P = 8, the size ``verify`` uses, and
     32-64-8 with P = 256), lr = 0.05, theta flat on both sides.
21-22. ``implicit_mf_small``, ``implicit_mf_large``:
     :func:`theory.implicit_gradient.modified_flow` (theta' = -grad E - (h/2) Hess(E) grad E,
     h = :data:`MODIFIED_LR`) by fixed-step rk4, dt = :data:`MODIFIED_DT`, on the same
     networks; JAX ``grad`` takes the Hessian-vector product as ``jax.jvp`` of
     ``jax.grad``, ``hand`` writes gradient and product out (docs/implicit_gradient.md
     §11a.3).
23-24. ``nrs_mlp_P120``, ``nrs_mlp_P512``: :func:`theory.flat_minima.nrs_descent` on the tanh
     MLP of :mod:`benchmarks.flat_minima` (``small``: d = 5, 6 hidden, K = 3, P = 120;
     ``P512``: d = 16, 32 hidden, K = 10, P = 512, a Gaussian mixture), beta 1e-3, alpha 1,
     a fixed Gaussian sample of S = 4 neighbours (sigma 0.1), lr 0.1; ``grad`` differentiates
     L_beta + alpha D_S (``jax.nn.log_softmax``, the neighbours batched), ``hand`` is the
     kernel's exact gradient (docs/flat_minima.md §10a.3) written with batched products.

``--threads N`` re-executes the benchmark in a subprocess whose environment limits every
thread pool before NumPy, numba and JAX are imported: OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and NUMBA_NUM_THREADS = N, and XLA_FLAGS (appended
to any already set) ``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``
for N = 1 (``=true`` and N otherwise). XLA's CPU client does not keep its matrix products
to one thread under these flags (its process CPU time exceeds its wall time); it sizes
its thread pool by the CPUs the process may run on, so on Linux the subprocess is also
confined to the first N of them (CPU affinity, as ``taskset`` does). Without
``--threads`` every library keeps its default.

JAX is imported only when a case is measured, so this module imports without it; without
JAX the command prints ``JAX not installed: peer skipped`` and exits with status 0.

Run from the repository root::

    python -m benchmarks.jax_peer [--quick] [--case NAME ...] [--threads N] [--json PATH]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.common import (ROOT, THREAD_VARIABLES, add_version_argument, blas_kernels,
                               check_output_paths, check_trajectory, description, machine_info)
from theory import (conditioning, deep_linear, diagonal_linear, flat_minima, implicit_gradient,
                    linear_chain, max_margin, modular_norm, orthogonal)
from theory.output_files import write_atomic
from theory.results import Trajectory

TOLERANCE = 1e-12
"""Largest accepted max |ours - JAX| / max |ours| of the final states (the default of
:class:`Case`)."""
OGD_TOLERANCE = 1e-10
"""The OGD cases' tolerance: R is a product of one orthogonal factor per step, which
carries every earlier rounding error along unchanged instead of contracting it, so the two
sides' difference walks, about sqrt(n) eps per entry times a factor of order d (measured:
1e-12 after 2e5 steps at d = 8); 1e-10 leaves a margin of about 100."""
SHORT = 5
"""The short run has n // SHORT steps (time per step = difference of the two runs)."""
ROUNDS, QUICK_ROUNDS = 5, 3
"""Timed calls per side and step count (the best counts)."""

CHAIN_P_STAR, CHAIN_SIGMA, CHAIN_LR = 2.0, 1.0, 1e-3
DEEP_DEPTH, DEEP_SIGMA0, DEEP_LR, DEEP_SEED = 3, 0.5, 0.01, 0
DIAGONAL_ALPHA, DIAGONAL_LR = 0.1, 0.01
MARGIN_VALUE, MARGIN_SEED = 0.5, 1
OPT_CAYLEY_LR, OPT_CAYLEY_MOMENTUM = 0.2, 0.5
OGD_LR, OGD_MOMENTUM = 0.05, 0.9
"""As :data:`benchmarks.orthogonal.SOLVER_ARGS`."""
MODULAR_GD_LR = 0.25
"""Half of :data:`benchmarks.modular_norm.SOLVER_ARGS`' 0.5 (the time per step does not
depend on it): at 0.5 the width-32 run passes an unstable stretch (steps 150 to 200, past
the stability edge) that multiplies round-off about a thousandfold, so that two JAX
variants end 3e-12 apart; at 0.25 the run contracts round-off all along (ours and JAX
within 5e-15 after 1e4 steps)."""
MODULAR_ND_LR = 0.003
"""Normalized descent takes steps of fixed modular length, so once the loss is low they
overshoot and the run bounces chaotically about the minimum, which amplifies round-off
to O(1e-3) (at lr = 0.01 after 700 steps, at 0.3 from step 15 on). At 0.003 the 1000
steps of the case end before that (ours and JAX within 4e-16; 1e-14 at 2000 steps)."""
MODIFIED_LR, MODIFIED_DT = 0.05, 0.0625
"""The modified flow's step size h and rk4's time step: h as
:data:`benchmarks.implicit_gradient.SOLVER_ARGS`, dt = 2^-4 (near its 0.05) so that n dt
/ n = dt exactly and both sides take the same steps."""
NRS_LR, NRS_BETA, NRS_ALPHA, NRS_SIGMA, NRS_SAMPLES = 0.1, 1e-3, 1.0, 0.1, 4
"""As :mod:`benchmarks.flat_minima`."""


@dataclass(frozen=True)
class Setup:
    """One case, built: every side as a function of the number of steps.

    Attributes
    ----------
    ours : callable
        ``ours(n)``: our public solver run for ``n`` steps; returns its trajectory.
    ours_final : callable
        The final state of such a trajectory, flat, in the layout of the JAX state.
    peers : dict
        ``peers[variant](n)`` for each of :data:`VARIANTS`: the jitted JAX loop run for
        ``n`` steps; returns its final state (an array or a tuple of arrays), computed
        (``block_until_ready``).
    """

    ours: Callable[[int], Trajectory]
    ours_final: Callable[[Trajectory], np.ndarray]
    peers: dict[str, Callable[[int], object]]


@dataclass(frozen=True)
class Case:
    """A benchmark case: its size label, step counts, how to build it, and the largest
    accepted relative difference of the final states (:data:`TOLERANCE` unless the
    dynamics do not contract round-off)."""

    size: str
    steps: int
    quick_steps: int
    build: Callable[[], Setup]
    tolerance: float = TOLERANCE


# --------------------------------------------------------------------------- JAX


def jax_available() -> bool:
    """Whether JAX (and its jaxlib) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("jax", "jaxlib"))


def _jax():
    """The ``jax`` module, set to float64 on the CPU."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    return jax


def _peer(step: Callable, state0, data: tuple) -> Callable[[int], object]:
    """``peer(n)`` running ``n`` steps ``state <- step(state, data)`` from ``state0`` in one
    jitted ``run(state0, data, n)`` (``n`` static: one compilation per step count)."""
    jax = _jax()

    def run(state, arrays, n):
        return jax.lax.fori_loop(0, n, lambda _, current: step(current, arrays), state)

    run = jax.jit(run, static_argnums=2)
    state0 = jax.device_put(state0)
    data = jax.device_put(data)
    return lambda n: jax.block_until_ready(run(state0, data, n))


def _peers(loss: Callable, step: Callable, lr: float, state0,
           data: tuple) -> dict[str, Callable[[int], object]]:
    """The two JAX variants of a case: ``grad``, gradient descent on ``loss(state, data)``
    with ``jax.grad``; ``hand``, the update ``step(state, data)`` written out."""
    jax = _jax()

    def descent(state, arrays):
        gradient = jax.grad(loss)(state, arrays)
        return jax.tree_util.tree_map(lambda s, g: s - lr * g, state, gradient)

    return {"grad": _peer(descent, state0, data), "hand": _peer(step, state0, data)}


def _flat(state) -> np.ndarray:
    """A JAX state (array or tuple of arrays) as one flat NumPy array."""
    jax = _jax()
    return np.concatenate([np.ravel(np.asarray(leaf))
                           for leaf in jax.tree_util.tree_leaves(state)])


# --------------------------------------------------------------------------- cases


def _chain(depth: int) -> Setup:
    """Linear chain of ``depth`` weights (module docstring)."""
    jnp = _jax().numpy
    w0 = CHAIN_P_STAR ** (1.0 / depth) * (1.0 + 0.1 * np.linspace(-1.0, 1.0, depth))

    def loss(w, _):
        return 0.5 * CHAIN_SIGMA * (CHAIN_P_STAR - jnp.prod(w)) ** 2

    def step(w, _):
        prefix = jnp.concatenate((jnp.ones(1), jnp.cumprod(w[:-1])))
        suffix = jnp.concatenate((jnp.cumprod(w[:0:-1])[::-1], jnp.ones(1)))
        r = CHAIN_P_STAR - prefix[-1] * w[-1]
        return w + CHAIN_LR * (CHAIN_SIGMA * r * (prefix * suffix))

    return Setup(lambda n: linear_chain.gradient_descent(CHAIN_P_STAR, w0, lr=CHAIN_LR, steps=[n],
                                                         sigma=CHAIN_SIGMA),
                 lambda traj: traj.weights[-1], _peers(loss, step, CHAIN_LR, w0, ()))


def _deep(width: int) -> Setup:
    """Deep linear network, depth 3, every width and the number of samples ``width``."""
    jnp = _jax().numpy
    rng = np.random.default_rng(DEEP_SEED)
    X = rng.standard_normal((width, width))
    Y = X @ (rng.standard_normal((width, width)) / np.sqrt(width)).T
    weights0 = deep_linear.gaussian_init([width] * (DEEP_DEPTH + 1), DEEP_SIGMA0, DEEP_SEED + 1)

    def loss(weights, data):
        inputs, targets = data
        outputs = inputs
        for W in weights:
            outputs = outputs @ W.T
        return 0.5 * jnp.sum((targets - outputs) ** 2) / inputs.shape[0]

    def step(weights, data):
        inputs, targets = data
        acts = [inputs]
        for W in weights:
            acts.append(acts[-1] @ W.T)
        G = (targets - acts[-1]) / inputs.shape[0]
        new = []
        for l in range(len(weights) - 1, -1, -1):
            new.append(weights[l] + DEEP_LR * (G.T @ acts[l]))
            if l > 0:
                G = G @ weights[l]
        return tuple(reversed(new))

    return Setup(lambda n: _ours_deep(X, Y, weights0, DEEP_LR, n),
                 lambda traj: np.concatenate([W.ravel() for W in traj.weights_at(-1)]),
                 _peers(loss, step, DEEP_LR, tuple(weights0), (X, Y)))


def _ours_deep(X: np.ndarray, Y: np.ndarray, weights0: list[np.ndarray], lr: float,
               steps: int) -> Trajectory:
    """Our deep-linear gradient descent on data with the samples as rows (X: P x N_i,
    Y: P x N_o), the convention of :mod:`theory.deep_linear`. The one place that passes
    data to it: with square data a convention mismatch would not fail the shape checks,
    only the comparison of the final states."""
    return deep_linear.gradient_descent(X, Y, weights0, lr=lr, steps=[steps])


def _conditioned(width: int) -> Setup:
    """Deep linear network with every layer row-equilibrated in the forward pass, depth 3,
    every width and the number of samples ``width`` (the data and start of :func:`_deep`)."""
    jnp = _jax().numpy
    rng = np.random.default_rng(DEEP_SEED)
    X = rng.standard_normal((width, width))
    Y = X @ (rng.standard_normal((width, width)) / np.sqrt(width)).T
    weights0 = deep_linear.gaussian_init([width] * (DEEP_DEPTH + 1), DEEP_SIGMA0, DEEP_SEED + 1)

    def loss(weights, data):
        inputs, targets = data
        outputs = inputs
        for W in weights:
            outputs = outputs @ (W / jnp.sqrt(jnp.sum(W * W, axis=1, keepdims=True))).T
        return 0.5 * jnp.sum((targets - outputs) ** 2) / inputs.shape[0]

    def step(weights, data):
        inputs, targets = data
        norms = [jnp.sqrt(jnp.sum(W * W, axis=1, keepdims=True)) for W in weights]
        units = [W / r for W, r in zip(weights, norms)]
        acts = [inputs]
        for U in units:
            acts.append(acts[-1] @ U.T)
        G = (targets - acts[-1]) / inputs.shape[0]
        new = []
        for l in range(len(weights) - 1, -1, -1):
            g = G.T @ acts[l]  # -dL/dC(W_l), pulled back: (g - (g . u) u) / |w|
            along = jnp.sum(g * units[l], axis=1, keepdims=True)
            new.append(weights[l] + DEEP_LR * (g - along * units[l]) / norms[l])
            if l > 0:
                G = G @ units[l]
        return tuple(reversed(new))

    return Setup(lambda n: conditioning.gradient_descent(X, Y, weights0, lr=DEEP_LR, steps=[n],
                                                         conditioner="row"),
                 lambda traj: np.concatenate([W.ravel() for W in traj.weights_at(-1)]),
                 _peers(loss, step, DEEP_LR, tuple(weights0), (X, Y)))


def _diagonal(n: int, sparsity: int) -> Setup:
    """Diagonal linear network, depth 2, N = ``n`` unknowns and M = n / 2 samples."""
    jnp = _jax().numpy
    A, b, _ = diagonal_linear.sparse_instance(n, n // 2, sparsity, seed=0)

    def loss(state, data):
        u, v = state
        matrix, target = data
        return 0.5 * jnp.sum((matrix @ (u ** 2 - v ** 2) - target) ** 2)

    def step(state, data):
        u, v = state
        matrix, target = data
        g = (matrix @ (u ** 2 - v ** 2) - target) @ matrix  # A^T r without transposing A
        return u - 2.0 * DIAGONAL_LR * u * g, v + 2.0 * DIAGONAL_LR * v * g

    u0 = np.full(n, DIAGONAL_ALPHA)
    return Setup(lambda steps: diagonal_linear.gradient_descent(
                     A, b, alpha=DIAGONAL_ALPHA, lr=DIAGONAL_LR, steps=[steps], depth=2),
                 lambda traj: traj.final, _peers(loss, step, DIAGONAL_LR, (u0, u0), (A, b)))


def _margin(n_samples: int, dim: int) -> Setup:
    """Logistic gradient descent on ``separable_data(n_samples, dim)`` from w = 0."""
    jax = _jax()
    X, y = max_margin.separable_data(n_samples, dim, MARGIN_VALUE, MARGIN_SEED)
    Z = max_margin.signed_data(X, y)
    lr = float(1.0 / np.linalg.eigvalsh(Z.T @ Z)[-1])

    def loss(w, data):
        (signed,) = data
        return jax.numpy.sum(jax.nn.softplus(-(signed @ w)))

    def step(w, data):
        (signed,) = data
        return w + lr * (jax.nn.sigmoid(-(signed @ w)) @ signed)  # Z^T s without transposing Z

    return Setup(lambda steps: max_margin.gradient_descent(X, y, lr=lr, steps=[steps],
                                                           loss="logistic"),
                 lambda traj: traj.final, _peers(loss, step, lr, np.zeros(dim), (Z,)))


def _orthogonal_problem(dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, T, A0) at ``dim`` x 4 ``dim`` neurons, as :mod:`benchmarks.orthogonal` builds
    them (its two sizes are d = 8 and d = 64)."""
    from benchmarks import orthogonal as bench

    return bench.problem(dim, 4 * dim)


def _cayley_jax(A):
    """(Q, I + S): the Cayley map (I - S)^-1 (I + S), S = triu(A, 1) - triu(A, 1)^T."""
    jnp = _jax().numpy
    upper = jnp.triu(A, 1)
    S = upper - upper.T
    eye = jnp.eye(A.shape[0])
    return jnp.linalg.solve(eye - S, eye + S), eye + S


def _heavy_ball(state, gradient, lr: float, mu: float):
    """(P, M) <- (P + lr M+, M+), M+ = mu M - gradient."""
    P, M = state
    M = mu * M - gradient
    return P + lr * M, M


def _opt_cayley(dim: int) -> Setup:
    """OPT by the Cayley map: :func:`theory.orthogonal.parametrized_descent` with
    ``orthogonalizer='cayley'`` and heavy-ball momentum, on the Procrustes task of
    :mod:`benchmarks.orthogonal`; the state is (A, M)."""
    jax = _jax()
    jnp = jax.numpy
    V, T, A0 = _orthogonal_problem(dim)
    lr, mu = OPT_CAYLEY_LR, OPT_CAYLEY_MOMENTUM

    def loss(A, data):
        neurons, targets = data
        return 0.5 * jnp.sum((_cayley_jax(A)[0] @ neurons - targets) ** 2)

    def by_grad(state, data):
        return _heavy_ball(state, jax.grad(loss)(state[0], data), lr, mu)

    def by_hand(state, data):  # the kernel's pullback (docs/orthogonal.md §6b.5)
        VV, TV = data
        Q, plus = _cayley_jax(state[0])
        G = Q @ VV - TV
        K = jnp.linalg.solve(plus.T, (G + Q.T @ G).T).T
        return _heavy_ball(state, jnp.triu(K - K.T, 1), lr, mu)

    state0 = (A0, np.zeros_like(A0))
    return Setup(lambda n: orthogonal.parametrized_descent(V, T, A0, lr=lr, momentum=mu,
                                                           orthogonalizer="cayley", steps=[n]),
                 lambda traj: traj.states[-1],
                 {"grad": _peer(by_grad, state0, (V, T)),
                  "hand": _peer(by_hand, state0, (V @ V.T, T @ V.T))})


def _ogd(dim: int) -> Setup:
    """OGD with the exact Cayley retraction (:func:`theory.orthogonal.orthogonal_descent`,
    heavy-ball momentum) from R = I on the Procrustes task of :mod:`benchmarks.orthogonal`;
    the state is (R, M). ``grad`` takes the Euclidean gradient by ``jax.grad``, ``hand``
    as R V V^T - T V^T."""
    jax = _jax()
    jnp = jax.numpy
    V, T, _ = _orthogonal_problem(dim)
    lr, mu = OGD_LR, OGD_MOMENTUM

    def loss(R, data):
        neurons, targets = data
        return 0.5 * jnp.sum((R @ neurons - targets) ** 2)

    def update(state, G):  # docs/orthogonal.md §6a.4
        R, M = state
        M = mu * M - G
        W_hat = M @ R.T - 0.5 * R @ (R.T @ M @ R.T)
        W = W_hat - W_hat.T
        alpha = jnp.minimum(lr, 1.0 / (jnp.linalg.norm(W) + orthogonal.OGD_EPSILON))
        eye = jnp.eye(R.shape[0])
        return jnp.linalg.solve(eye - 0.5 * alpha * W, (eye + 0.5 * alpha * W) @ R), W @ R

    def by_grad(state, data):
        return update(state, jax.grad(loss)(state[0], data))

    def by_hand(state, data):
        VV, TV = data
        return update(state, state[0] @ VV - TV)

    state0 = (np.eye(dim), np.zeros((dim, dim)))
    return Setup(lambda n: orthogonal.orthogonal_descent(V, T, lr=lr, momentum=mu,
                                                         retraction="cayley", steps=[n]),
                 lambda traj: traj.states[-1],
                 {"grad": _peer(by_grad, state0, (V, T)),
                  "hand": _peer(by_hand, state0, (V @ V.T, T @ V.T))})


def _gelu_jax(z):
    """gelu(z) = z Phi(z) = (z/2) (1 + erf(z / sqrt 2)), exact (no tanh approximation)."""
    erf = _jax().scipy.special.erf
    return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))


def _gelu_slope_jax(z):
    """gelu'(z) = Phi(z) + z phi(z)."""
    jnp = _jax().numpy
    erf = _jax().scipy.special.erf
    return (0.5 * (1.0 + erf(z / math.sqrt(2.0)))
            + z * jnp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi))


def _residual_mlp_jax(depth: int, n_in: int, width: int, n_out: int):
    """(loss, gradients) of the residual MLP of :mod:`theory.modular_norm` (its module
    docstring) on data with samples as rows (X: P x d, Y: P x o), the weights a tuple
    (W_0, W_1..W_B, W_{B+1}): ``loss`` the (1/2P) sum of squared errors, ``gradients``
    the backward pass written out (docs/modular_norm.md §9a.5)."""
    jnp = _jax().numpy
    a, c = 1.0 - 1.0 / depth, 1.0 / depth
    s_in, s_out = math.sqrt(width / n_in), math.sqrt(n_out / width)

    def loss(weights, data):
        inputs, targets = data
        H = s_in * inputs @ weights[0].T
        for b in range(depth):
            H = a * H + c * _gelu_jax(H) @ weights[b + 1].T
        R = s_out * H @ weights[-1].T - targets
        return 0.5 * jnp.sum(R * R) / inputs.shape[0]

    def gradients(weights, data):
        inputs, targets = data
        H = [s_in * inputs @ weights[0].T]
        Z = []
        for b in range(depth):
            Z.append(_gelu_jax(H[-1]))
            H.append(a * H[-1] + c * Z[-1] @ weights[b + 1].T)
        E = (s_out * H[-1] @ weights[-1].T - targets) / inputs.shape[0]
        grads = [None] * (depth + 2)
        grads[-1] = s_out * E.T @ H[-1]
        G = s_out * E @ weights[-1]
        for b in range(depth - 1, -1, -1):
            grads[b + 1] = c * G.T @ Z[b]
            G = a * G + c * (G @ weights[b + 1]) * _gelu_slope_jax(H[b])
        grads[0] = s_in * G.T @ inputs
        return tuple(grads)

    return loss, gradients


def _modular_gd(width: int) -> Setup:
    """Gradient descent (lr = :data:`MODULAR_GD_LR`) on the residual MLP of
    :mod:`theory.modular_norm` at the problem of :mod:`benchmarks.modular_norm` of this
    width."""
    from benchmarks import modular_norm as bench

    X, Y, weights0 = bench.problem(width)
    lr = MODULAR_GD_LR
    loss, gradients = _residual_mlp_jax(bench.DEPTH, X.shape[1], width, Y.shape[1])

    def step(weights, data):
        return tuple(W - lr * G for W, G in zip(weights, gradients(weights, data)))

    return Setup(lambda n: modular_norm.gradient_descent(X, Y, weights0, depth=bench.DEPTH,
                                                         lr=lr, steps=[n]),
                 lambda traj: traj.states[-1],
                 _peers(loss, step, lr, tuple(weights0), (X, Y)))


def _modular_normalized(width: int) -> Setup:
    """Normalized descent (one power step per layer, lr = :data:`MODULAR_ND_LR`) on the
    residual MLP of :mod:`theory.modular_norm` at the problem of
    :mod:`benchmarks.modular_norm` of this width; the state is (weights, power vectors)."""
    from benchmarks import modular_norm as bench

    jax = _jax()
    jnp = jax.numpy
    X, Y, weights0 = bench.problem(width)
    lr = MODULAR_ND_LR
    depth = bench.DEPTH
    targets = tuple(float(t) for t in modular_norm.residual_mlp(
        X.shape[1], width, Y.shape[1], depth).targets())
    loss, gradients = _residual_mlp_jax(depth, X.shape[1], width, Y.shape[1])

    def normalized(state, grads):  # docs/modular_norm.md §9a.3: one power step per layer
        weights, vectors = state
        new_weights, new_vectors = [], []
        for W, u, G, t in zip(weights, vectors, grads, targets):
            v = G @ u
            v = v / jnp.sqrt(v @ v)
            u_new = v @ G  # G^T v without transposing G
            sigma = jnp.sqrt(u_new @ u_new)
            new_weights.append(W - (lr * t / sigma) * G)
            new_vectors.append(u_new / sigma)
        return tuple(new_weights), tuple(new_vectors)

    def by_grad(state, data):
        return normalized(state, jax.grad(loss)(state[0], data))

    def by_hand(state, data):
        return normalized(state, gradients(state[0], data))

    state0 = (tuple(weights0), tuple(np.ones(W.shape[1]) / math.sqrt(W.shape[1])
                                     for W in weights0))
    return Setup(lambda n: modular_norm.normalized_descent(X, Y, weights0, depth=depth, lr=lr,
                                                           steps=[n], norm="power"),
                 lambda traj: traj.states[-1],
                 {"grad": _peer(by_grad, state0, (X, Y)),
                  "hand": _peer(by_hand, state0, (X, Y))})


def _tanh_net_jax(n_in: int, hidden: int, n_out: int):
    """(loss, gradient, hessian_vector) of the tanh network f(x) = W_2 tanh(W_1 x) of
    :mod:`theory.implicit_gradient` on a flat theta = (W_1, W_2 row-major) and data with
    samples as rows (X: P x N_in, Y: P x N_out): ``loss`` E = ||f(X) - Y||^2 / (2P), the
    gradient and the exact Hessian-vector product written out (docs/implicit_gradient.md
    §11a.3)."""
    jnp = _jax().numpy
    split = hidden * n_in

    def layers(theta):
        return theta[:split].reshape(hidden, n_in), theta[split:].reshape(n_out, hidden)

    def loss(theta, data):
        inputs, targets = data
        W1, W2 = layers(theta)
        R = jnp.tanh(inputs @ W1.T) @ W2.T - targets
        return 0.5 * jnp.sum(R * R) / inputs.shape[0]

    def forward(theta, data):
        inputs, targets = data
        W1, W2 = layers(theta)
        S = jnp.tanh(inputs @ W1.T)
        return W1, W2, S, 1.0 - S * S, S @ W2.T - targets

    def gradient(theta, data):
        inputs = data[0]
        _, W2, S, dS, R = forward(theta, data)
        P = inputs.shape[0]
        return jnp.concatenate(((((R @ W2) * dS).T @ inputs).ravel() / P,
                                (R.T @ S).ravel() / P))

    def hessian_vector(theta, v, data):
        inputs = data[0]
        _, W2, S, dS, R = forward(theta, data)
        V1, V2 = layers(v)
        P = inputs.shape[0]
        Zdot = inputs @ V1.T
        Sdot = dS * Zdot
        Rdot = S @ V2.T + Sdot @ W2.T
        Edot = (R @ V2 + Rdot @ W2) * dS - 2.0 * (R @ W2) * S * dS * Zdot
        return jnp.concatenate(((Edot.T @ inputs).ravel() / P,
                                (Rdot.T @ S + R.T @ Sdot).ravel() / P))

    return loss, gradient, hessian_vector


def _implicit_problem(size: str):
    """(model, theta0, X, Y) of :mod:`benchmarks.implicit_gradient` at ``size``, the data
    with samples as rows."""
    from benchmarks import implicit_gradient as bench

    model, theta0 = bench.problem(size)
    return model, theta0, np.ascontiguousarray(model.X.T), np.ascontiguousarray(model.Y.T)


def _implicit_gd(size: str) -> Setup:
    """Gradient descent on the tanh network of :mod:`benchmarks.implicit_gradient` at
    ``size`` (its lr)."""
    from benchmarks import implicit_gradient as bench

    model, theta0, X, Y = _implicit_problem(size)
    lr = bench.SOLVER_ARGS["gradient_descent"]["lr"]
    loss, gradient, _ = _tanh_net_jax(*(int(model.dims[i]) for i in (1, 2, 3)))

    def step(theta, data):
        return theta - lr * gradient(theta, data)

    return Setup(lambda n: implicit_gradient.gradient_descent(model, theta0, lr=lr, steps=[n]),
                 lambda traj: traj.states[-1], _peers(loss, step, lr, theta0, (X, Y)))


def _implicit_modified(size: str) -> Setup:
    """The modified flow theta' = -grad E - (h/2) Hess(E) grad E (h = :data:`MODIFIED_LR`)
    on the tanh network of :mod:`benchmarks.implicit_gradient` at ``size``, by fixed-step
    rk4 with dt = :data:`MODIFIED_DT`: ours ``modified_flow(..., times=[n dt],
    method="rk4", dt=dt)``; JAX ``grad``: the Hessian-vector product as ``jax.jvp`` of
    ``jax.grad``, ``hand``: both written out."""
    jax = _jax()
    model, theta0, X, Y = _implicit_problem(size)
    loss, gradient, hessian_vector = _tanh_net_jax(*(int(model.dims[i]) for i in (1, 2, 3)))
    c, h = MODIFIED_LR / 2.0, MODIFIED_DT

    def rk4(field):
        def step(theta, data):  # the stage sums of theory.integrators, in their order
            k1 = field(theta, data)
            k2 = field(theta + h * (0.5 * k1), data)
            k3 = field(theta + h * (0.5 * k2), data)
            k4 = field(theta + h * k3, data)
            return theta + h * (k1 / 6.0 + k2 / 3.0 + k3 / 3.0 + k4 / 6.0)
        return step

    def by_grad(theta, data):
        g, hg = jax.jvp(lambda t: jax.grad(loss)(t, data), (theta,),
                        (jax.grad(loss)(theta, data),))
        return -(g + c * hg)

    def by_hand(theta, data):
        g = gradient(theta, data)
        return -(g + c * hessian_vector(theta, g, data))

    return Setup(lambda n: implicit_gradient.modified_flow(model, theta0, lr=MODIFIED_LR,
                                                           times=[n * h], method="rk4", dt=h),
                 lambda traj: traj.states[-1],
                 {"grad": _peer(rk4(by_grad), theta0, (X, Y)),
                  "hand": _peer(rk4(by_hand), theta0, (X, Y))})
def _nrs(size: str) -> Setup:
    """NRS descent on the tanh MLP (case 16-17 of the module docstring)."""
    jax = _jax()
    jnp = jax.numpy
    if size == "small":
        model = flat_minima.instance("mlp", 0)
    else:
        X, y = flat_minima.mixture_data(512, 16, 10, 1.0, 0)
        model = flat_minima.softmax_mlp(X, y, 10, 32)
    theta0 = flat_minima.initial_weights(model, 1.0, 1)
    neighbours = flat_minima.gaussian_neighbours(model, NRS_SIGMA, NRS_SAMPLES, 2)
    d, h, k = (int(model.dims[i]) for i in (flat_minima.N_IN, flat_minima.HIDDEN,
                                            flat_minima.N_CLASSES))
    P, S = model.n_samples, NRS_SAMPLES
    onehot = np.zeros((k, P))
    onehot[model.y, np.arange(P)] = 1.0
    D1 = neighbours.deltas[:, :h * d].reshape(S, h, d)
    D2 = neighbours.deltas[:, h * d:].reshape(S, k, h)
    state0 = (theta0[:h * d].reshape(h, d), theta0[h * d:].reshape(k, h))
    data = (model.X, onehot, D1, D2)
    weight = NRS_ALPHA / (S * P)

    def loss(state, arrays):
        W1, W2 = state
        X, Y, E1, E2 = arrays
        logp = jax.nn.log_softmax(W2 @ jnp.tanh(W1 @ X), axis=0)
        logq = jax.nn.log_softmax((W2 + E2) @ jnp.tanh((W1 + E1) @ X), axis=1)
        kl = jnp.sum(jnp.exp(logp) * (logp - logq)) / (S * P)
        return (-jnp.sum(Y * logp) / P + NRS_BETA / 2 * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))
                + NRS_ALPHA * kl)

    def step(state, arrays):
        W1, W2 = state
        X, Y, E1, E2 = arrays
        H = jnp.tanh(W1 @ X)
        logp = jax.nn.log_softmax(W2 @ H, axis=0)
        p = jnp.exp(logp)
        W2s = W2 + E2
        Hs = jnp.tanh((W1 + E1) @ X)
        logq = jax.nn.log_softmax(W2s @ Hs, axis=1)
        a = logp - logq
        dz = (p - Y) / P + weight * jnp.sum(p * (a - jnp.sum(p * a, axis=1, keepdims=True)),
                                            axis=0)
        dzq = weight * (jnp.exp(logq) - p)
        backs = jnp.einsum("skj,skm->sjm", W2s, dzq) * (1.0 - Hs * Hs)
        g2 = dz @ H.T + jnp.einsum("skm,sjm->kj", dzq, Hs) + NRS_BETA * W2
        g1 = (((W2.T @ dz) * (1.0 - H * H)) @ X.T + jnp.einsum("sjm,im->ji", backs, X)
              + NRS_BETA * W1)
        return W1 - NRS_LR * g1, W2 - NRS_LR * g2

    return Setup(lambda n: flat_minima.nrs_descent(model, theta0, lr=NRS_LR, alpha=NRS_ALPHA,
                                                   neighbours=neighbours, beta=NRS_BETA,
                                                   steps=[n]),
                 lambda traj: traj.final, _peers(loss, step, NRS_LR, state0, data))


_CASES: dict[str, Case] = {
    "chain_L3": Case("L=3", 10_000_000, 1_000_000, lambda: _chain(3)),
    "chain_L6": Case("L=6", 10_000_000, 1_000_000, lambda: _chain(6)),
    "deep_N4": Case("N=P=4", 200_000, 20_000, lambda: _deep(4)),
    "deep_N16": Case("N=P=16", 100_000, 10_000, lambda: _deep(16)),
    "deep_N64": Case("N=P=64", 5_000, 500, lambda: _deep(64)),
    "deep_N256": Case("N=P=256", 60, 10, lambda: _deep(256)),
    "diagonal_N40": Case("N=40, M=20", 500_000, 50_000, lambda: _diagonal(40, 3)),
    "diagonal_N4000": Case("N=4000, M=2000", 100, 10, lambda: _diagonal(4000, 30)),
    "margin_P30": Case("P=30, d=5", 1_000_000, 100_000, lambda: _margin(30, 5)),
    "margin_P3000": Case("P=3000, d=50", 10_000, 1_000, lambda: _margin(3000, 50)),
    "opt_cayley_d8": Case("d=8, N=32", 200_000, 20_000, lambda: _opt_cayley(8)),
    "opt_cayley_d64": Case("d=64, N=256", 2_000, 200, lambda: _opt_cayley(64)),
    "ogd_d8": Case("d=8, N=32", 200_000, 20_000, lambda: _ogd(8), OGD_TOLERANCE),
    "ogd_d64": Case("d=64, N=256", 3_000, 300, lambda: _ogd(64), OGD_TOLERANCE),
    "conditioned_N16": Case("N=P=16, row", 50_000, 5_000, lambda: _conditioned(16)),
    "modular_gd_n32": Case("n=32, B=2, P=32", 10_000, 1_000, lambda: _modular_gd(32)),
    "modular_gd_n512": Case("n=512, B=2, P=32", 30, 10, lambda: _modular_gd(512)),
    "modular_nd_n32": Case("n=32, B=2, P=32", 1_000, 250, lambda: _modular_normalized(32)),
    "implicit_gd_small": Case("3-4-2, P=8", 300_000, 30_000, lambda: _implicit_gd("small")),
    "implicit_gd_large": Case("32-64-8, P=256", 300, 30, lambda: _implicit_gd("large")),
    "implicit_mf_small": Case("3-4-2, P=8", 50_000, 5_000,
                              lambda: _implicit_modified("small")),
    "implicit_mf_large": Case("32-64-8, P=256", 25, 5, lambda: _implicit_modified("large")),
    "nrs_mlp_P120": Case("5-6-3, P=120", 20_000, 2_000, lambda: _nrs("small")),
    "nrs_mlp_P512": Case("16-32-10, P=512", 1_000, 100, lambda: _nrs("mid")),
}
CASES: tuple[str, ...] = tuple(_CASES)
"""Names of the cases, in the order they are measured."""
VARIANTS = ("grad", "hand")
"""The JAX variants of every case (module docstring)."""


# --------------------------------------------------------------------------- measurement


def _clock(run: Callable[[int], object], steps: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call ``run(steps)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(steps)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(case_name: str, quick: bool) -> dict:
    """Check and time one case (module docstring).

    Parameters
    ----------
    case_name : str
        One of :data:`CASES`.
    quick : bool
        Fewer steps and rounds (the quick step count of the case).

    Returns
    -------
    dict
        ``case``, ``size`` (label), ``steps`` (n of the long run), ``ours_ns_per_step``
        and ``jax_ns_per_step`` (wall; JAX: its faster variant, named by ``jax_variant``),
        ``ours_cpu_ns_per_step`` and ``jax_cpu_ns_per_step`` (that variant),
        ``ratio_wall`` and ``ratio_cpu`` (JAX / ours), ``max_state_difference`` (max
        |ours - JAX| / max |ours| of the final states after ``steps`` steps, the larger
        over both variants), and ``variants``: per variant ``ns_per_step``,
        ``cpu_ns_per_step`` and ``state_difference``.

    Raises
    ------
    RuntimeError
        If our run diverged or ended subnormal, or a final state differs by more than the
        case's tolerance.
    """
    case = _CASES[case_name]
    setup = case.build()
    long = case.quick_steps if quick else case.steps
    short = long // SHORT
    sides = {"ours": setup.ours, **setup.peers}
    traj = setup.ours(long)
    check_trajectory(traj, f"{case_name}, {long} steps")
    ours_final = setup.ours_final(traj)
    scale = np.max(np.abs(ours_final))
    differences = {}
    for variant, peer in setup.peers.items():
        differences[variant] = float(np.max(np.abs(ours_final - _flat(peer(long)))) / scale)
        if not differences[variant] <= case.tolerance:
            raise RuntimeError(f"{case_name}: the final states of ours and JAX {variant} differ "
                               f"by {differences[variant]:.3g} of the state's largest entry "
                               f"(tolerance {case.tolerance:g})")
    for run in sides.values():
        run(short)
    best = {(side, steps): [math.inf, math.inf] for side in sides for steps in (short, long)}
    names = list(sides)
    for round_index in range(QUICK_ROUNDS if quick else ROUNDS):
        shift = round_index % len(names)
        for steps in (short, long):
            for side in names[shift:] + names[:shift]:
                times = _clock(sides[side], steps)
                best[side, steps] = [min(old, new) for old, new in zip(best[side, steps], times)]
    per_step = {side: [1e9 * (t_long - t_short) / (long - short)
                       for t_long, t_short in zip(best[side, long], best[side, short])]
                for side in sides}
    ours_wall, ours_cpu = per_step["ours"]
    fastest = min(setup.peers, key=lambda variant: per_step[variant][0])
    jax_wall, jax_cpu = per_step[fastest]
    return {"case": case_name, "size": case.size, "steps": long,
            "ours_ns_per_step": ours_wall, "jax_ns_per_step": jax_wall, "jax_variant": fastest,
            "ours_cpu_ns_per_step": ours_cpu, "jax_cpu_ns_per_step": jax_cpu,
            "ratio_wall": jax_wall / ours_wall, "ratio_cpu": jax_cpu / ours_cpu,
            "max_state_difference": max(differences.values()),
            "variants": {variant: {"ns_per_step": per_step[variant][0],
                                   "cpu_ns_per_step": per_step[variant][1],
                                   "state_difference": differences[variant]}
                         for variant in setup.peers}}


# --------------------------------------------------------------------------- CLI


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that limit NumPy's, numba's and XLA's threads to
    ``threads`` (module docstring), XLA_FLAGS appended to the current value."""
    eigen = "false" if threads == 1 else "true"
    flags = f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"
    return {**{name: str(threads) for name in THREAD_VARIABLES},
            "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()}


HEADER = (f"{'case':<19}{'size':<16}{'steps':>10}{'ours':>11}{'JAX grad':>11}{'JAX hand':>11}"
          f"{'JAX/ours wall':>15}{'cpu':>7}{'rel. diff':>10}\n{'':<45}{'(ns per step, wall)':>33}"
          f"{'(faster JAX variant)':>22}")


def row(result: dict) -> str:
    """One table line (:data:`HEADER`) of a :func:`measure` result."""
    jax_times = "".join(f"{result['variants'][variant]['ns_per_step']:>11.4g}"
                        for variant in VARIANTS)
    return (f"{result['case']:<19}{result['size']:<16}{result['steps']:>10}"
            f"{result['ours_ns_per_step']:>11.4g}{jax_times}"
            f"{result['ratio_wall']:>15.2f}{result['ratio_cpu']:>7.2f}"
            f"{result['max_state_difference']:>10.1e}")


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring): measure the chosen cases, print a table row as
    each is measured, optionally write the results as JSON.

    Returns
    -------
    int
        The exit status (0 also when JAX is not installed).
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jax_peer",
                                     description=description(__doc__))
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    parser.add_argument("--case", action="extend", nargs="+", choices=CASES, metavar="NAME",
                        help=f"cases to measure (default: all): {', '.join(CASES)}")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="re-run in a subprocess with every thread pool limited to this")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results to this file")
    add_version_argument(parser)
    args = parser.parse_args(argv)
    check_output_paths(parser, json=args.json)
    if not jax_available():
        print("JAX not installed: peer skipped", flush=True)
        return 0
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be at least 1")
        command = [sys.executable, "-m", "benchmarks.jax_peer"]
        command += ["--quick"] if args.quick else []
        command += ["--case", *args.case] if args.case else []
        command += ["--json", str(args.json.resolve())] if args.json else []
        env = {**os.environ, **thread_environment(args.threads)}
        if not hasattr(os, "sched_setaffinity"):
            return subprocess.run(command, cwd=ROOT, env=env).returncode
        affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, sorted(affinity)[:args.threads])  # the subprocess inherits it
        try:
            return subprocess.run(command, cwd=ROOT, env=env).returncode
        finally:
            os.sched_setaffinity(0, affinity)
    jax = _jax()
    environment = {name: os.environ.get(name) for name in (*THREAD_VARIABLES, "XLA_FLAGS")}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"JAX {jax.__version__}, {jax.devices()[0].platform}; CPUs {cpus} of {os.cpu_count()}; "
          f"thread limits: {', '.join(f'{k}={v}' for k, v in environment.items() if v) or 'none'}"
          f"{'; quick' if args.quick else ''}", flush=True)
    print(f"BLAS: {blas_kernels()}", flush=True)
    print(HEADER, flush=True)
    results = []
    for name in args.case or CASES:
        results.append(measure(name, args.quick))
        print(row(results[-1]), flush=True)
    if args.json:
        report = {"machine": {**machine_info(), "jax": jax.__version__},
                  "environment": environment, "quick": args.quick, "results": results}
        write_atomic(args.json, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
