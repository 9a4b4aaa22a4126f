"""The modular norm (Large et al., NeurIPS 2024, arXiv:2405.14813; docs/modular_norm.md).

Two parts.

**Modules** (NumPy, docs/modular_norm.md §9a): a network is a tree of modules, each with a
mass mu and a sensitivity nu. Atoms: :class:`Linear` (forward sqrt(out/in) W x, orthogonal
initialization, norm ||W||_2). Bonds, without weights: :class:`Bond` (GELU, ReLU, identity;
nu = 1/sqrt(2) for GELU and ReLU as in the reference implementation). Compounds:
:class:`Compose` (M2 after M1), :class:`Concat` (a tuple of modules on one input, outputs
summed: the paper's tuple followed by its Add bond), :class:`Scale` (the Mul(c) bond after a
module) and :func:`residual` ((1 - 1/L) Id + (1/L) block). Every module gives its modular
norm (:meth:`Module.norm`, recursive, docs/modular_norm.md §9a.2), the per-atom factors of
the normalized update (:meth:`Module.targets`, docs/modular_norm.md §9a.3), and Taylor jets
of its output along a direction of weights and input (:meth:`Module.jet`: f, Df and
D^2 f/2 exactly, docs/modular_norm.md §9a.4).

**Training** (jitted, docs/modular_norm.md §9a.5): a GELU/linear residual MLP

    h_0 = sqrt(n/d) W_0 x,  h_b = (1 - 1/B) h_{b-1} + (1/B) W_b gelu(h_{b-1})  (b = 1..B),
    f(x) = sqrt(o/n) W_{B+1} h_B,

on the loss (1/2P) sum_mu ||f(x_mu) - y_mu||^2, trained by gradient descent, its flow, and
normalized descent W_l <- W_l - lr t_l G_l / ||G_l||_2 with t_l the targets of the module
tree (:func:`residual_mlp`) and the spectral norm estimated by one power-iteration step
(the reference implementation's) or iterated to convergence. Samples are rows (X: P x d,
Y: P x o); the kernel works on the column forms. The state is the flat concatenation of
the weights and, for normalized descent, one power vector per layer (its in-dimension).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import uint64

from theory import solve, validation
from theory.layers import LayeredTrajectory
from theory.elementary import exp
from theory.linalg import (blas_block_times_transpose_into, blas_block_weight_times,
                           blas_block_weight_transpose_times, is_tiny,
                           tiny_block_times_transpose_into, tiny_block_weight_times,
                           tiny_block_weight_transpose_times)
from theory.numba_options import jit, jit_inline
from theory.solve import Problem, compile_loops

GELU_SENSITIVITY = 1.0 / math.sqrt(2.0)
"""The sensitivity the reference implementation gives GELU and ReLU (docs/modular_norm.md
§9a.1): a typical gain, not a Lipschitz bound (GELU' reaches 1.129)."""


def rms(v: np.ndarray) -> float:
    """||v||_RMS = ||v||_2 / sqrt(dim v)."""
    v = np.asarray(v, dtype=np.float64)
    return float(np.linalg.norm(v) / math.sqrt(v.size))


def gelu(z):
    """gelu(z) = z Phi(z)."""
    from scipy.special import ndtr

    return z * ndtr(z)


def gelu_derivatives(z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gelu, gelu', gelu'') at z: z Phi, Phi + z phi, phi (2 - z^2)."""
    from scipy.special import ndtr

    phi = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    Phi = ndtr(z)
    return z * Phi, Phi + z * phi, phi * (2.0 - z * z)


# --------------------------------------------------------------------------- modules


class Module:
    """A module: ``mass``, ``sensitivity``, its atoms (the :class:`Linear` layers, in the
    order their weights are listed), the modular norm, the targets of normalized updates
    and Taylor jets (docs/modular_norm.md §9a)."""

    mass: float
    sensitivity: float

    def atoms(self) -> list["Linear"]:
        raise NotImplementedError

    @property
    def n_atoms(self) -> int:
        return len(self.atoms())

    def norm_of(self, norms: list[float]) -> float:
        """The modular norm from the atoms' norms (docs/modular_norm.md §9a.2)."""
        raise NotImplementedError

    def target_factors(self) -> list[float]:
        """Per atom, the norm an update must have for a modular norm of 1
        (docs/modular_norm.md §9a.3)."""
        raise NotImplementedError

    def jet_of(self, weights: list, direction: list, c0, c1, c2) -> tuple:
        raise NotImplementedError

    # public, validating wrappers --------------------------------------------------------

    def check_weights(self, name: str, weights) -> list[np.ndarray]:
        """``weights`` as a list of finite matrices of the atoms' shapes (ValueError
        naming ``name[i]`` otherwise)."""
        atoms = self.atoms()
        if isinstance(weights, np.ndarray) or len(weights) != len(atoms):
            raise ValueError(f"{name} must be a list of {len(atoms)} matrices, one per Linear "
                             f"atom")
        out = []
        for i, (atom, w) in enumerate(zip(atoms, weights)):
            m = validation.finite_matrix(f"{name}[{i}]", w)
            if m.shape != atom.shape:
                raise ValueError(f"{name}[{i}] must have shape {atom.shape}, got {m.shape}")
            out.append(m)
        return out

    def norm(self, weights, exact: bool = True) -> float:
        """The modular norm ||w||_M (docs/modular_norm.md §9a.2), each atom's ||W||_2 exact
        (LAPACK) or, with ``exact=False``, the one-step power estimate from a ones vector."""
        weights = self.check_weights("weights", weights)
        norms = [spectral_norm(w) if exact else power_step(w, np.ones(w.shape[1]))[0]
                 for w in weights]
        return self.norm_of(norms)

    def targets(self) -> np.ndarray:
        """The factors t_i of :meth:`normalize` (target 1)."""
        return np.array(self.target_factors())

    def normalize(self, direction, target: float = 1.0, method: str = "exact",
                  vectors=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The normalized update (docs/modular_norm.md §9a.3): each atom's direction
        scaled to norm ``target`` t_i, so that an exact normalization has modular norm
        ``target``. ``method``: ``"exact"`` (||D||_2 by LAPACK) or ``"power"`` (one power
        step from ``vectors``, default ones, as the reference implementation).

        Returns (the scaled directions, the updated power vectors). A zero direction
        stays zero."""
        direction = self.check_weights("direction", direction)
        target = validation.positive_scalar("target", target)
        if method not in ("exact", "power"):
            raise ValueError(f"method must be 'exact' or 'power', got {method!r}")
        if vectors is None:
            vectors = [np.ones(d.shape[1]) for d in direction]
        out, new_vectors = [], []
        for i, (d, t) in enumerate(zip(direction, self.target_factors())):
            u = validation.finite_vector(f"vectors[{i}]", vectors[i], size=d.shape[1])
            if method == "exact":
                sigma, u_new = spectral_norm(d), u
            else:
                sigma, u_new = power_step(d, u)
            out.append(d * (target * t / sigma) if sigma > 0.0 else np.zeros_like(d))
            new_vectors.append(u_new)
        return out, new_vectors

    def jet(self, weights, x, direction=None, dx=None) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """(f, Df, D^2 f) of f(w + s dw, x + s dx) at s = 0, exactly (Taylor jets,
        docs/modular_norm.md §9a.4); ``x``: one input or P inputs as rows."""
        weights = self.check_weights("weights", weights)
        direction = ([np.zeros_like(w) for w in weights] if direction is None
                     else self.check_weights("direction", direction))
        x = validation.finite_array("x", x)
        n_in = self.atoms()[0].shape[1] if self.atoms() else x.shape[-1]
        if x.ndim not in (1, 2) or x.shape[-1] != n_in:
            raise ValueError(f"x must have {n_in} entries (or rows of {n_in}), got shape "
                             f"{x.shape}")
        dx = np.zeros_like(x) if dx is None else validation.finite_array("dx", dx)
        if dx.shape != x.shape:
            raise ValueError(f"dx must have the shape of x {x.shape}, got {dx.shape}")
        c0, c1, c2 = self.jet_of(weights, direction, x.T, dx.T, np.zeros_like(x.T))
        return c0.T, c1.T, 2.0 * c2.T


def spectral_norm(W: np.ndarray) -> float:
    """||W||_2, the largest singular value (LAPACK)."""
    return float(np.linalg.norm(W, 2))


def power_step(W: np.ndarray, u: np.ndarray) -> tuple[float, np.ndarray]:
    """One power-iteration step of the reference implementation (docs/modular_norm.md
    §9a.3): v = W u / ||W u||, u' = W^T v; returns (||u'||, u'/||u'||). ||u'|| <= ||W||_2."""
    v = W @ u
    nv = np.linalg.norm(v)
    if nv == 0.0:
        return 0.0, u
    u_new = W.T @ (v / nv)
    sigma = float(np.linalg.norm(u_new))
    return sigma, u_new / sigma


@dataclass(frozen=True)
class Linear(Module):
    """x -> sqrt(out/in) W x; mass ``mass`` (> 0), sensitivity 1, norm ||W||_2."""

    out: int
    inp: int
    mass: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", validation.count("out", self.out))
        object.__setattr__(self, "inp", validation.count("inp", self.inp))
        object.__setattr__(self, "mass", validation.positive_scalar("mass", self.mass))

    sensitivity = 1.0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.out, self.inp)

    @property
    def scale(self) -> float:
        return math.sqrt(self.out / self.inp)

    def atoms(self):
        return [self]

    def norm_of(self, norms):
        return norms[0]

    def target_factors(self):
        return [1.0]

    def jet_of(self, weights, direction, c0, c1, c2):
        W, D = weights[0], direction[0]
        s = self.scale
        return s * (W @ c0), s * (W @ c1 + D @ c0), s * (W @ c2 + D @ c1)


@dataclass(frozen=True)
class Bond(Module):
    """A module without weights: ``"gelu"``, ``"relu"`` (nu = 1/sqrt(2)) or
    ``"identity"`` (nu = 1); mass 0."""

    kind: str = "gelu"
    mass = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("gelu", "relu", "identity"):
            raise ValueError(f"kind must be 'gelu', 'relu' or 'identity', got {self.kind!r}")

    @property
    def sensitivity(self) -> float:
        return 1.0 if self.kind == "identity" else GELU_SENSITIVITY

    def atoms(self):
        return []

    def norm_of(self, norms):
        return 0.0

    def target_factors(self):
        return []

    def jet_of(self, weights, direction, c0, c1, c2):
        if self.kind == "identity":
            return c0, c1, c2
        if self.kind == "relu":
            slope = (c0 > 0.0).astype(np.float64)
            return np.maximum(c0, 0.0), slope * c1, slope * c2
        g, g1, g2 = gelu_derivatives(c0)
        return g, g1 * c1, g1 * c2 + 0.5 * g2 * c1 * c1


@dataclass(frozen=True)
class Compose(Module):
    """outer after inner: mu = mu_1 + mu_2, nu = nu_1 nu_2, ||(w_1, w_2)|| =
    max(nu_2 (mu/mu_1) ||w_1||, (mu/mu_2) ||w_2||) (docs/modular_norm.md §9a.2)."""

    outer: Module
    inner: Module

    @cached_property
    def mass(self) -> float:
        return self.inner.mass + self.outer.mass

    @cached_property
    def sensitivity(self) -> float:
        return self.inner.sensitivity * self.outer.sensitivity

    def atoms(self):
        return self.inner.atoms() + self.outer.atoms()

    def _split(self, values):
        k = self.inner.n_atoms
        return values[:k], values[k:]

    def norm_of(self, norms):
        inner, outer = self._split(norms)
        terms = []
        if self.inner.mass > 0.0:
            terms.append(self.outer.sensitivity * self.mass / self.inner.mass
                         * self.inner.norm_of(inner))
        if self.outer.mass > 0.0:
            terms.append(self.mass / self.outer.mass * self.outer.norm_of(outer))
        return max(terms, default=0.0)

    def target_factors(self):
        inner = [t * self.inner.mass / (self.mass * self.outer.sensitivity)
                 for t in self.inner.target_factors()]
        outer = [t * self.outer.mass / self.mass for t in self.outer.target_factors()]
        return inner + outer

    def jet_of(self, weights, direction, c0, c1, c2):
        k = self.inner.n_atoms
        c = self.inner.jet_of(weights[:k], direction[:k], c0, c1, c2)
        return self.outer.jet_of(weights[k:], direction[k:], *c)


@dataclass(frozen=True)
class Concat(Module):
    """Modules on one input, outputs summed (the tuple module and its Add bond): mu =
    sum mu_i, nu = sum nu_i, ||w|| = max_i (mu/mu_i) ||w_i|| (docs/modular_norm.md §9a.2)."""

    parts: tuple

    @cached_property
    def mass(self) -> float:
        return sum(p.mass for p in self.parts)

    @cached_property
    def sensitivity(self) -> float:
        return sum(p.sensitivity for p in self.parts)

    def atoms(self):
        return [a for p in self.parts for a in p.atoms()]

    def _pieces(self, values):
        out, start = [], 0
        for p in self.parts:
            out.append(values[start:start + p.n_atoms])
            start += p.n_atoms
        return out

    def norm_of(self, norms):
        return max((self.mass / p.mass * p.norm_of(v)
                    for p, v in zip(self.parts, self._pieces(norms)) if p.mass > 0.0),
                   default=0.0)

    def target_factors(self):
        return [t * p.mass / self.mass for p in self.parts for t in p.target_factors()]

    def jet_of(self, weights, direction, c0, c1, c2):
        total = [0.0, 0.0, 0.0]
        for p, w, d in zip(self.parts, self._pieces(weights), self._pieces(direction)):
            for j, c in enumerate(p.jet_of(w, d, c0, c1, c2)):
                total[j] = total[j] + c
        return tuple(total)


@dataclass(frozen=True)
class Scale(Module):
    """c times a module (the Mul(c) bond after it): mu unchanged, nu = |c| nu."""

    factor: float
    module: Module

    def __post_init__(self) -> None:
        value = validation.finite_scalar("factor", self.factor)
        if value == 0.0:
            raise ValueError("factor must be nonzero")
        object.__setattr__(self, "factor", value)

    @property
    def mass(self) -> float:
        return self.module.mass

    @property
    def sensitivity(self) -> float:
        return abs(self.factor) * self.module.sensitivity

    def atoms(self):
        return self.module.atoms()

    def norm_of(self, norms):
        return abs(self.factor) * self.module.norm_of(norms)

    def target_factors(self):
        return [t / abs(self.factor) for t in self.module.target_factors()]

    def jet_of(self, weights, direction, c0, c1, c2):
        return tuple(self.factor * c for c in self.module.jet_of(weights, direction, c0, c1, c2))


def residual(block: Module, depth: int) -> Module:
    """(1 - 1/depth) Id + (1/depth) block (docs/modular_norm.md §9a.2)."""
    depth = validation.depth(depth)
    if depth == 1:
        return Scale(1.0, block)
    return Concat((Scale(1.0 - 1.0 / depth, Bond("identity")), Scale(1.0 / depth, block)))


def linear_chain(widths, masses=None) -> Module:
    """W_L ... W_1 as Linear atoms (widths (n_0, ..., n_L)), unit masses by default."""
    widths = [validation.count("widths", w) for w in np.atleast_1d(widths)]
    if len(widths) < 2:
        raise ValueError("widths must list at least the input and output sizes")
    L = len(widths) - 1
    masses = [1.0] * L if masses is None else list(np.atleast_1d(masses))
    if len(masses) != L:
        raise ValueError(f"masses must have {L} entries, one per layer, got {len(masses)}")
    module: Module = Linear(widths[1], widths[0], masses[0])
    for l in range(1, L):
        module = Compose(Linear(widths[l + 1], widths[l], masses[l]), module)
    return module


def linear_chain_gradient(weights, x, r) -> list[np.ndarray]:
    """d<r, f(x)>/dW_l of the linear chain f = s W_L ... W_1 x (s = prod sqrt(out/in) =
    sqrt(n_L/n_0)): s (W_L ... W_{l+1})^T r (W_{l-1} ... W_1 x)^T."""
    weights = linear_chain([np.shape(weights[0])[1]] + [np.shape(w)[0] for w in weights]
                           ).check_weights("weights", weights)
    x = validation.finite_vector("x", x, size=weights[0].shape[1])
    r = validation.finite_vector("r", r, size=weights[-1].shape[0])
    scale = math.sqrt(weights[-1].shape[0] / weights[0].shape[1])
    below = [x]
    for W in weights[:-1]:
        below.append(W @ below[-1])
    above = [r]
    for W in reversed(weights[1:]):
        above.append(W.T @ above[-1])
    above.reverse()
    return [scale * np.outer(above[l], below[l]) for l in range(len(weights))]


def residual_mlp(n_in: int, width: int, n_out: int, depth: int,
                 blocks_mass: float = 1.0) -> Module:
    """The network of the module docstring: Linear(width, n_in) of mass 1, ``depth``
    residual blocks (1 - 1/depth) Id + (1/depth) Linear(width, width) o GELU of mass
    ``blocks_mass``/depth each (the reference implementation's ``tare``: the blocks
    together weigh ``blocks_mass`` at every depth), Linear(n_out, width) of mass 1."""
    depth = validation.depth(depth)
    block_mass = validation.positive_scalar("blocks_mass", blocks_mass) / depth
    module: Module = Linear(width, n_in)
    for _ in range(depth):
        block = Compose(Linear(width, width, block_mass), Bond("gelu"))
        module = Compose(residual(block, depth), module)
    return Compose(Linear(n_out, width), module)


def orthogonal_init(module: Module, seed: int) -> list[np.ndarray]:
    """Each atom's W: a Haar-random semi-orthogonal matrix (orthonormal columns if
    out >= in, else orthonormal rows), from ``default_rng(seed)``."""
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    out = []
    for atom in module.atoms():
        m, k = atom.shape
        q, r = np.linalg.qr(rng.standard_normal((max(m, k), min(m, k))))
        q = q * np.sign(np.diag(r))
        out.append(np.ascontiguousarray(q if m >= k else q.T))
    return out


def unit_rms_rows(X) -> np.ndarray:
    """Rows scaled to RMS norm 1 (||x||_2 = sqrt(d))."""
    X = validation.finite_matrix("X", X)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0.0):
        raise ValueError("X must have no zero rows")
    return X * (math.sqrt(X.shape[1]) / norms)


def teacher(n_in: int, n_out: int, n_samples: int, seed: int, hidden: int = 16
            ) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): X of unit-RMS rows (Gaussian directions), Y = V gelu(U x) sqrt(2 hidden)/
    ||...|| scaled to unit RMS over the set, U (hidden x n_in) and V (n_out x hidden)
    Gaussian (docs/modular_norm.md §9a.5). Same seed, same data."""
    rng = np.random.default_rng(validation.count("seed", seed, minimum=0))
    n_in, n_out = validation.count("n_in", n_in), validation.count("n_out", n_out)
    n_samples = validation.count("n_samples", n_samples)
    hidden = validation.count("hidden", hidden)
    X = unit_rms_rows(rng.standard_normal((n_samples, n_in)))
    U = rng.standard_normal((hidden, n_in)) / math.sqrt(n_in)
    V = rng.standard_normal((n_out, hidden))
    Y = gelu(X @ U.T) @ V.T
    return X, np.ascontiguousarray(Y / math.sqrt(np.mean(Y * Y)))


# --------------------------------------------------------------------------- kernels

NONE, POWER, EXACT = 0, 1, 2
"""Normalization of the update (kernel parameter NORM): none, one power step, converged."""
LR, NORM, DEPTH, BASE = range(4)
"""Slots of the kernel's parameter vector."""

GRADIENT, SIGN = 0, 1
"""The base direction (kernel parameter BASE): the gradient G, or its signs sign(G) (the
limit of Adam without momentum, whose entries all have size 1; docs/modular_norm.md
§9a.5)."""

BASES = {"gradient": GRADIENT, "sign": SIGN}

EXACT_TOL = 1e-13
"""Converged power iteration stops when sigma grows by <= EXACT_TOL sigma in a step."""
EXACT_MAX_ITERATIONS = 20_000


@jit_inline
def normal_cdf(z):
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2; gelu(z) = z Phi(z)."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@jit_inline
def gelu_slope(z, cdf):
    """gelu'(z) = Phi(z) + z phi(z), given ``cdf`` = Phi(z) (the forward pass keeps it, so
    that each entry needs one erf, libm's scalar call, per field evaluation); phi by the
    vectorizable :func:`theory.elementary.exp`, so that the backward pass over the samples
    runs in vector lanes."""
    return cdf + z * exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


@jit
def power_iteration(out, start, m, k, y, u_off, v, u_new, iterations):
    """sigma of the m x k matrix stored row-major in ``out`` from ``start`` by power
    iteration from the unit vector y[u_off:u_off + k]: ``iterations`` steps (1: the
    reference implementation's step), or, if 0, until sigma grows by <= EXACT_TOL sigma.
    Leaves the last unit u in ``u_new``; returns sigma (0 for a zero matrix)."""
    for j in range(k):
        u_new[j] = y[u_off + j]
    sigma = 0.0
    it = 0
    while True:
        nv = 0.0
        for i in range(m):
            acc = 0.0
            row = start + i * k
            for j in range(k):
                acc += out[row + j] * u_new[j]
            v[i] = acc
            nv += acc * acc
        nv = math.sqrt(nv)
        if nv == 0.0:
            return 0.0
        for j in range(k):
            u_new[j] = 0.0
        for i in range(m):
            vi = v[i] / nv
            row = start + i * k
            for j in range(k):
                u_new[j] += out[row + j] * vi
        nu = 0.0
        for j in range(k):
            nu += u_new[j] * u_new[j]
        nu = math.sqrt(nu)
        for j in range(k):
            u_new[j] /= nu
        it += 1
        converged = nu - sigma <= EXACT_TOL * nu
        sigma = nu
        if (iterations > 0 and it >= iterations) or (iterations == 0 and (
                converged or it >= EXACT_MAX_ITERATIONS)):
            return sigma


@jit
def weight_times_block(y, offset, B, b_row, k, S, row, m):
    """S[row:row + m] = W B[b_row:b_row + k], W the m x k layer stored in y from
    ``offset``: loops for tiny sides, else BLAS (:mod:`theory.linalg`'s block products)."""
    if is_tiny(m, k, B.shape[1]):
        tiny_block_weight_times(y, offset, B, b_row, k, S, row, m)
    else:
        blas_block_weight_times(y, offset, B, b_row, k, S, row, m)


@jit
def weight_transpose_times_block(y, offset, S, b_row, k, row, m):
    """S[row:row + m] = W^T S[b_row:b_row + k], W the k x m layer stored in y from
    ``offset`` (as :func:`weight_times_block`)."""
    if is_tiny(m, k, S.shape[1]):
        tiny_block_weight_transpose_times(y, offset, S, b_row, k, S, row, m)
    else:
        blas_block_weight_transpose_times(y, offset, S, b_row, k, S, row, m)


@jit
def times_transpose_block(S, a_row, m, B, b_row, n, out, offset):
    """out[offset:] = S[a_row:a_row + m] B[b_row:b_row + n]^T row-major (as
    :func:`weight_times_block`)."""
    if is_tiny(m, S.shape[1], n):
        tiny_block_times_transpose_into(S, a_row, m, B, b_row, n, out, offset)
    else:
        blas_block_times_transpose_into(S, a_row, m, B, b_row, n, out, offset)


@jit
def gradient_into(y, args, out, work):
    """The loss gradients of the residual MLP (module docstring) into ``out`` at each
    layer's offset, each still lacking its layer's factor (s_in, 1/B or s_out), which
    :func:`step_into` applies. ``args`` = (X_c, Y_c, dims, params, targets, offsets): column
    forms (d x P, o x P), dims = (d, n, o), params (:data:`LR`, :data:`NORM`,
    :data:`DEPTH`, :data:`BASE`), the per-layer targets and :func:`state_offsets` (the
    B + 3 layer offsets, then the ends of the B + 2 power vectors). ``work`` = (S, v, u):
    S the scratch matrix of P columns (:func:`workspace`), v and u vectors of length
    max(n, d, o).

    S holds, as blocks of n rows, H_0..H_B (the block inputs and the last output, from
    row b n), Z_b = gelu(H_b) (from (B + 1 + b) n), C_b = Phi(H_b) (gelu' in the
    backward pass, from (2B + 1 + b) n), the backward error G and a scratch block T
    (from (3B + 1) n and (3B + 2) n), then the output error (o rows): blocks addressed by
    their first row and passed to called products, no list item or view, each of which
    costs an atomic reference count per use in the time loop (as
    :func:`theory.deep_linear.field`).
    """
    X, Y, dims, params, offsets = args[0], args[1], args[2], args[3], args[5]
    S = work[0]
    d, n, o = dims[0], dims[1], dims[2]
    B = int(params[DEPTH])
    P = X.shape[1]
    a, c = 1.0 - 1.0 / B, 1.0 / B
    s_in, s_out = math.sqrt(n / d), math.sqrt(o / n)
    z0, c0, g, t, e = (B + 1) * n, (2 * B + 1) * n, (3 * B + 1) * n, (3 * B + 2) * n, \
        (3 * B + 3) * n
    # forward
    weight_times_block(y, offsets[0], X, 0, d, S, 0, n)
    for i in range(n):
        for mu in range(P):
            S[uint64(i), uint64(mu)] *= s_in
    for b in range(B):
        h, z, cb = b * n, z0 + b * n, c0 + b * n
        for i in range(n):
            for mu in range(P):
                x = S[uint64(h + i), uint64(mu)]
                cdf = normal_cdf(x)
                S[uint64(cb + i), uint64(mu)] = cdf
                S[uint64(z + i), uint64(mu)] = x * cdf  # = 0.5 z (1 + erf) exactly
        weight_times_block(y, offsets[b + 1], S, z, n, S, h + n, n)
        for i in range(n):
            for mu in range(P):
                S[uint64(h + n + i), uint64(mu)] = (a * S[uint64(h + i), uint64(mu)]
                                                    + c * S[uint64(h + n + i), uint64(mu)])
    weight_times_block(y, offsets[B + 1], S, B * n, n, S, e, o)
    for i in range(o):
        for mu in range(P):
            S[uint64(e + i), uint64(mu)] = ((s_out * S[uint64(e + i), uint64(mu)]
                                             - Y[uint64(i), uint64(mu)]) / P)  # error E
    # backward: gradients written into out at each layer's offset
    times_transpose_block(S, e, o, S, B * n, n, out, offsets[B + 1])
    weight_transpose_times_block(y, offsets[B + 1], S, e, o, g, n)
    for i in range(n):
        for mu in range(P):
            S[uint64(g + i), uint64(mu)] *= s_out
    for b in range(B - 1, -1, -1):
        h, z, cb = b * n, z0 + b * n, c0 + b * n
        times_transpose_block(S, g, n, S, z, n, out, offsets[b + 1])
        weight_transpose_times_block(y, offsets[b + 1], S, g, n, t, n)
        for i in range(n):
            for mu in range(P):
                S[uint64(g + i), uint64(mu)] = (
                    a * S[uint64(g + i), uint64(mu)] + c * S[uint64(t + i), uint64(mu)]
                    * gelu_slope(S[uint64(h + i), uint64(mu)], S[uint64(cb + i), uint64(mu)]))
    times_transpose_block(S, g, n, X, 0, d, out, offsets[0])


@jit_inline
def step_into(y, args, out, work, add):
    """The step from the gradients of :func:`gradient_into` in ``out``: each layer's
    product still lacks its factor (s_in, c or s_out), applied here in the same pass as
    the step's own factor (one pass over the gradient). With ``add`` the step is also
    added to y (a unit step, :func:`unit_step`): for plain gradient descent in that same
    pass, y_i + (-lr (factor g_i)), the sum :func:`theory.loops.add_field` forms."""
    dims, params, targets, offsets = args[2], args[3], args[4], args[5]
    v, u_new = work[1], work[2]
    d, n, o = dims[0], dims[1], dims[2]
    B = int(params[DEPTH])
    s_in, s_out, c = math.sqrt(n / d), math.sqrt(o / n), 1.0 / B
    lr = params[LR]
    norm = int(params[NORM])
    sign = int(params[BASE]) == SIGN
    n_layers = B + 2
    for l in range(n_layers):
        start, stop = offsets[l], offsets[l + 1]
        factor = s_in if l == 0 else (s_out if l == n_layers - 1 else c)
        if norm == NONE and not sign:
            if add:
                for i in range(start, stop):
                    y[i] += -lr * (factor * out[i])
            else:
                for i in range(start, stop):
                    out[i] = -lr * (factor * out[i])
            continue
        for i in range(start, stop):
            out[i] = factor * out[i]
        if sign:
            for i in range(start, stop):
                out[i] = 0.0 if out[i] == 0.0 else (1.0 if out[i] > 0.0 else -1.0)
        if norm == NONE:
            for i in range(start, stop):
                out[i] = -lr * out[i]
            if add:
                for i in range(start, stop):
                    y[i] += out[i]
            continue
        k = d if l == 0 else n
        m = o if l == n_layers - 1 else n
        u_off = offsets[n_layers + l]
        sigma = power_iteration(out, start, m, k, y, u_off, v, u_new,
                                1 if norm == POWER else 0)
        scale = 0.0 if sigma == 0.0 else -lr * targets[l] / sigma
        for i in range(start, stop):
            out[i] = scale * out[i]
        for j in range(k):
            out[u_off + j] = (u_new[j] if sigma > 0.0 else y[u_off + j]) - y[u_off + j]
        if add:
            for i in range(start, stop):
                y[i] += out[i]
            for j in range(k):
                y[u_off + j] += out[u_off + j]


@jit
def field(y, args, out, work):
    """Write F(y) into ``out``: minus lr times the (normalized) gradient of the loss of
    the residual MLP (module docstring), and for normalized descent the change of each
    power vector (:func:`gradient_into`, :func:`step_into`; ``args`` and ``work`` as
    there)."""
    gradient_into(y, args, out, work)
    step_into(y, args, out, work, False)


@jit
def unit_step(y, args, k, work):
    """y <- y + F(y) in place (a discrete algorithm's step, :mod:`theory.loops`), ``k``
    scratch of y's size: plain gradient descent adds each step in the pass that forms it,
    which saves a pass over the weights (a large layer's gradient does not stay in the
    cache between two passes)."""
    gradient_into(y, args, k, work)
    step_into(y, args, k, work, True)


@jit
def project(y, args):
    """No constraint to project onto."""


@jit
def workspace(y, args):
    """Scratch of :func:`field` (:func:`gradient_into`)."""
    X, dims, params = args[0], args[2], args[3]
    n, P = dims[1], X.shape[1]
    B = int(params[DEPTH])
    size = max(dims[0], dims[1], dims[2])
    return np.empty(((3 * B + 3) * n + dims[2], P)), np.empty(size), np.empty(size)


LOOPS = compile_loops(field, project, workspace, unit_step)


def layer_shapes(n_in: int, width: int, n_out: int, depth: int) -> list[tuple[int, int]]:
    """Shapes of W_0, W_1..W_B, W_{B+1}."""
    return [(width, n_in)] + [(width, width)] * depth + [(n_out, width)]


def state_offsets(shapes: list[tuple[int, int]], vectors: bool) -> np.ndarray:
    """Layer offsets (len(shapes) + 1 entries) and, with ``vectors``, the power vectors'
    offsets after them."""
    sizes = [m * k for m, k in shapes] + ([k for _, k in shapes] if vectors else [])
    ends = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    return ends if vectors else np.append(ends, np.zeros(len(shapes), dtype=np.int64))


def loss_gradient_numpy(weights: list[np.ndarray], X_c: np.ndarray, Y_c: np.ndarray,
                        depth: int) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of the residual MLP (column forms), plain NumPy."""
    d, n, o = X_c.shape[0], weights[0].shape[0], Y_c.shape[0]
    P, B = X_c.shape[1], depth
    a, c = 1.0 - 1.0 / B, 1.0 / B
    H = [math.sqrt(n / d) * weights[0] @ X_c]
    Z = []
    for b in range(B):
        Z.append(gelu(H[-1]))
        H.append(a * H[-1] + c * weights[b + 1] @ Z[-1])
    R = math.sqrt(o / n) * weights[-1] @ H[-1] - Y_c
    E = R / P
    grads = [None] * (B + 2)
    grads[B + 1] = math.sqrt(o / n) * E @ H[B].T
    G = math.sqrt(o / n) * weights[-1].T @ E
    for b in range(B - 1, -1, -1):
        grads[b + 1] = c * G @ Z[b].T
        _, slope, _ = gelu_derivatives(H[b])
        G = a * G + c * (weights[b + 1].T @ G) * slope
    grads[0] = math.sqrt(n / d) * G @ X_c.T
    return float(0.5 * np.sum(R * R) / P), grads


def field_numpy(y: np.ndarray, X_c: np.ndarray, Y_c: np.ndarray, shapes: list, depth: int,
                lr: float, norm: int, targets: np.ndarray, base: int = GRADIENT) -> np.ndarray:
    """NumPy twin of :func:`field`."""
    offsets = state_offsets(shapes, norm != NONE)
    L = len(shapes)
    weights = [y[offsets[l]:offsets[l + 1]].reshape(shapes[l]) for l in range(L)]
    _, grads = loss_gradient_numpy(weights, X_c, Y_c, depth)
    out = np.zeros_like(y)
    for l, g in enumerate(grads):
        if base == SIGN:
            g = np.sign(g)
        if norm == NONE:
            out[offsets[l]:offsets[l + 1]] = -lr * g.ravel()
            continue
        u = y[offsets[L + l]:offsets[L + l] + shapes[l][1]]
        sigma, u_new = power_step(g, u) if norm == POWER else converged_power(g, u)
        out[offsets[l]:offsets[l + 1]] = 0.0 if sigma == 0.0 else \
            (-lr * targets[l] / sigma) * g.ravel()
        out[offsets[L + l]:offsets[L + l] + shapes[l][1]] = u_new - u
    return out


def converged_power(W: np.ndarray, u: np.ndarray) -> tuple[float, np.ndarray]:
    """Power steps (:func:`power_step`) from ``u`` until sigma grows by at most
    :data:`EXACT_TOL` sigma (at most :data:`EXACT_MAX_ITERATIONS`): the rule of the
    kernel's exact normalization."""
    sigma = 0.0
    for _ in range(EXACT_MAX_ITERATIONS):
        new, u = power_step(W, u)
        if new == 0.0:
            return 0.0, u
        converged = new - sigma <= EXACT_TOL * new
        sigma = new
        if converged:
            break
    return sigma, u


@dataclass(frozen=True)
class MLPTrajectory(LayeredTrajectory):
    """Trajectory of the residual MLP; ``shapes`` of W_0..W_{B+1}; the states start with
    the flat weights (then the power vectors)."""

    shapes: tuple = ()

    def weights_at(self, index: int = -1) -> list[np.ndarray]:
        """[W_0, ..., W_{B+1}] at sample ``index``."""
        offsets = state_offsets(list(self.shapes), False)
        return [self.states[index, offsets[l]:offsets[l + 1]].reshape(s)
                for l, s in enumerate(self.shapes)]


def _start(X, Y, weights0, depth, lr, norm: int, name: str, base: str = "gradient"
           ) -> tuple[Problem, np.ndarray]:
    X, Y = validation.paired_samples(X, Y)
    if base not in BASES:
        raise ValueError(f"base must be one of {tuple(BASES)}, got {base!r}")
    base_code = BASES[base]
    depth = validation.depth(depth)
    lr = validation.positive_scalar(name, lr)
    n_in, n_out = X.shape[1], Y.shape[1]
    if isinstance(weights0, np.ndarray) or len(weights0) != depth + 2:
        raise ValueError(f"weights0 must be a list of depth + 2 = {depth + 2} matrices")
    width = np.shape(weights0[0])[0]
    shapes = layer_shapes(n_in, width, n_out, depth)
    network = residual_mlp(n_in, width, n_out, depth)
    weights0 = network.check_weights("weights0", weights0)
    offsets = state_offsets(shapes, norm != NONE)
    parts = [w.ravel() for w in weights0]
    if norm != NONE:
        parts += [np.ones(k) / math.sqrt(k) for _, k in shapes]
    y0 = np.ascontiguousarray(np.concatenate(parts))
    targets = network.targets()
    X_c, Y_c = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    params = np.array([lr, float(norm), float(depth), float(base_code)])
    dims = np.array([n_in, width, n_out], dtype=np.int64)
    problem = Problem(LOOPS, (X_c, Y_c, dims, params, targets, offsets),
                      lambda y: field_numpy(y, X_c, Y_c, shapes, depth, lr, norm, targets,
                                                    base_code),
                      trajectory=MLPTrajectory,
                      extra={"widths": (n_in, width, n_out), "shapes": tuple(shapes)})
    return problem, y0


def gradient_descent(X, Y, weights0, *, depth: int, lr: float, steps, base: str = "gradient",
                     **options) -> MLPTrajectory:
    """W_l <- W_l - lr D_l, D_l = G_l (``base="gradient"``: plain gradient descent on the
    residual MLP of ``depth`` blocks) or sign(G_l) (``base="sign"``); docs/modular_norm.md
    §9a.5. ``**options``: ``stop_tol``, ``max_steps``, ``backend`` (:mod:`theory.solve`)."""
    return solve.discrete(*_start(X, Y, weights0, depth, lr, NONE, "lr", base), steps,
                          **options)


def normalized_descent(X, Y, weights0, *, depth: int, lr: float, steps, norm: str = "power",
                       base: str = "gradient", **options) -> MLPTrajectory:
    """W_l <- W_l - lr t_l D_l / ||D_l||_2 (D_l = G_l, or sign(G_l) with ``base="sign"``)
    with the targets t_l of :func:`residual_mlp`
    (docs/modular_norm.md §9a.3 and §9a.5): ``norm="power"`` estimates ||G_l||_2 by one
    power step from the vector kept in the state (the reference implementation), ``"exact"``
    iterates it to convergence (:func:`converged_power`)."""
    if norm not in ("power", "exact"):
        raise ValueError(f"norm must be 'power' or 'exact', got {norm!r}")
    code = POWER if norm == "power" else EXACT
    return solve.discrete(*_start(X, Y, weights0, depth, lr, code, "lr", base), steps,
                          **options)


def gradient_flow(X, Y, weights0, *, depth: int, times, eta: float = 1.0,
                  **options) -> MLPTrajectory:
    """dW_l/dt = -eta G_l. ``**options``: the integration options of
    :func:`theory.solve.flow`."""
    return solve.flow(*_start(X, Y, weights0, depth, eta, NONE, "eta"), times, **options)


def training_loss(X, Y, weights, depth: int) -> float:
    """(1/2P) sum ||f(x_mu) - y_mu||^2 of the residual MLP."""
    X, Y = validation.paired_samples(X, Y)
    loss, _ = loss_gradient_numpy([np.asarray(w, dtype=np.float64) for w in weights],
                                  X.T, Y.T, validation.depth(depth))
    return loss


def loss_gradient(X, Y, weights, depth: int) -> list[np.ndarray]:
    """Gradients dL/dW_l of the residual MLP's loss (NumPy)."""
    X, Y = validation.paired_samples(X, Y)
    _, grads = loss_gradient_numpy([np.asarray(w, dtype=np.float64) for w in weights],
                                   X.T, Y.T, validation.depth(depth))
    return grads


def best_log2_lr(lrs: np.ndarray, losses: np.ndarray) -> float:
    """log2 of the best learning rate: the grid minimum refined by a parabola through the
    log-losses at it and its neighbours; unrefined when a neighbour diverged (the minimum
    then sits at the edge of stability); NaN if the minimum is at the grid's edge."""
    i = int(np.argmin(losses))
    if i == 0 or i == losses.size - 1 or not np.isfinite(losses[i]):
        return float("nan")
    if not np.all(np.isfinite(losses[i - 1:i + 2])):
        return float(math.log2(lrs[i]))
    a, b, c = np.log(losses[i - 1:i + 2])
    step = math.log2(lrs[i + 1] / lrs[i])
    return float(math.log2(lrs[i]) + step * 0.5 * (a - c) / (a - 2.0 * b + c))


def lr_sweep(X, Y, width: int, depth: int, lrs, normalized: bool, base: str, seeds,
             steps: int = 30) -> np.ndarray:
    """Final training loss after ``steps`` steps per learning rate of ``lrs``, averaged
    over orthogonal starts from ``seeds``, for the residual MLP of ``width`` and ``depth``
    blocks (inf where a run diverged; docs/modular_norm.md §9c.4)."""
    net = residual_mlp(X.shape[1], width, Y.shape[1], depth)
    out = []
    for lr in lrs:
        values = []
        for seed in seeds:
            W0 = orthogonal_init(net, seed)
            solver = normalized_descent if normalized else gradient_descent
            traj = solver(X, Y, W0, depth=depth, lr=float(lr), steps=[steps], base=base)
            values.append(training_loss(X, Y, traj.weights_at(-1), depth)
                          if traj.status.success else np.inf)
        out.append(np.mean(values))
    return np.array(out)


SOLVERS = {
    "gradient_descent": gradient_descent,
    "normalized_descent": normalized_descent,
    "gradient_flow": gradient_flow,
}
"""Every solver of this setting, by name."""


def examples() -> dict[str, tuple[tuple, dict]]:
    """A small call ``(args, kwargs)`` of every solver, for smoke and parity checks."""
    X, Y = teacher(4, 2, 6, seed=1)
    weights0 = orthogonal_init(residual_mlp(4, 5, 2, 2), seed=2)
    args = (X, Y, weights0)
    return {"gradient_descent": (args, {"depth": 2, "lr": 0.1, "steps": [3, 20]}),
            "normalized_descent": (args, {"depth": 2, "lr": 0.1, "steps": [3, 20],
                                          "norm": "power"}),
            "gradient_flow": (args, {"depth": 2, "times": [0.5, 2.0]})}
