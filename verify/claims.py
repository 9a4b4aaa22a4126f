"""Claims, their evidence, and loading them from the settings of :mod:`theory.registry`."""
from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from theory import registry

PREDICTION_METHODS: dict[str, str] = {
    "sympy closed form": "an expression derived with sympy (solve, dsolve, a Jacobian or a "
                         "series) and evaluated numerically",
    "sympy + root finder": "a sympy-derived equation solved numerically (scipy brentq)",
    "sympy + quadrature": "a sympy-derived integral evaluated by scipy quad (and inverted by "
                          "brentq where a time is turned into a state)",
    "sympy + eigenvalues": "a sympy-derived characteristic equation evaluated over numerical "
                           "eigenvalues of a data matrix",
    "hand-derived closed form": "an exact value derived by hand in the claim's source (a "
                                "conserved quantity, a rate, a bound), not by sympy",
    "pseudo-inverse": "numpy pinv (min-norm maps and solutions)",
    "SVD closed form": "a closed form in the singular value decomposition of a matrix (numpy "
                       "svd): the polar factor, the Procrustes optimum",
    "linear program": "scipy linprog (l1 minimization, separability certificates)",
    "quadratic program": "the hard-margin SVM: an SLSQP start, then the KKT system solved on "
                         "the active set, its residuals certified",
    "convex dual (Newton)": "the dual of a strictly convex program solved by Newton's method",
    "quasi-Newton minimizer": "scipy BFGS on a smooth convex loss",
    "multi-start minimizer": "scipy BFGS from several starts on a non-convex objective: "
                             "the smallest value found, an upper estimate of the minimum",
    "Monte Carlo": "an expectation estimated from independent draws, with its interval",
    "finite differences": "central differences of an independently computed function (an "
                          "output or a gradient), with a step chosen against its truncation "
                          "and round-off errors",
    "simulation (ordering between runs)": "no number is predicted: the claim orders "
                                          "simulations of different algorithms or settings",
}
"""The vocabulary of :attr:`Claim.prediction`: how a claim's prediction was computed."""


@dataclass(frozen=True)
class Evidence:
    """What a check measured, what the theory predicts, and whether they agree.

    ``measured`` and ``predicted`` map the same quantity names to numbers (a quantity
    may appear in only one of them when it is a pass condition, e.g. a lower bound; a
    prediction that is not a number, such as "finite", is a string).
    """

    measured: dict[str, float]
    predicted: dict[str, float]
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """A statement about a setting, where it comes from, where it holds, and its check.

    Attributes
    ----------
    id : str
        Unique, ``<setting>.<topic>.<name>``.
    setting : str
    statement : str
        The claim, in words, with the quantity compared.
    source : str
        Paper and section, or "derived here" with the derivation named.
    regime : str
        Where the claim holds (and, for a failing-regime claim, where it fails).
    tolerance : str
        The tolerance and why it is what it is.
    check : callable
        ``check(rng) -> Evidence``; ``rng`` is seeded per claim (:func:`claim_rng`) and
        every instance the check uses (data, teacher, initialization, target) is drawn
        from it, as the regime states. A claim about a failing regime states the
        failure; its check passes when the failure is observed as predicted.
    prediction : str
        How the prediction was computed: one or more terms of
        :data:`PREDICTION_METHODS`, separated by ``"; "``.
    failing_regime : bool
        True for a claim that checks where a statement does not hold (the paper's, or
        another claim's, outside its regime): its statement says so ("Failing regime",
        "Failing part", "does not hold", "not supported") and its check passes when the
        failure is observed as stated. Claims that check a holding part and a failing
        part in one check are marked too.
    """

    id: str
    setting: str
    statement: str
    source: str
    regime: str
    tolerance: str
    check: Callable[[np.random.Generator], Evidence] = field(repr=False)
    prediction: str
    failing_regime: bool = False

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in PREDICTION_METHODS]
        if not self.methods or unknown:
            raise ValueError(f"claim {self.id}: prediction must name methods of "
                             f"PREDICTION_METHODS separated by '; ', got {self.prediction!r}")

    @property
    def methods(self) -> list[str]:
        """The terms of :attr:`prediction`."""
        return [m for m in self.prediction.split("; ") if m]


def claim_rng(root_seed: int, claim_id: str) -> np.random.Generator:
    """The generator of one claim: seeded by (root seed, claim id), not by run order or worker."""
    return np.random.default_rng(np.random.SeedSequence([root_seed, zlib.crc32(claim_id.encode())]))


def draw_seed(rng: np.random.Generator) -> int:
    """A seed for the seeded instance constructors of ``theory`` (``seed: int``), drawn
    from a claim's generator: the instance then changes with the root seed."""
    return int(rng.integers(2 ** 31))


def load_claims(setting: str | None = None) -> list[Claim]:
    """All claims (the ``CLAIMS`` of every ``verify.<setting>``), or those of one setting,
    in registry order."""
    if setting is not None and setting not in registry.SETTINGS:
        raise KeyError(setting)
    names = [setting] if setting is not None else list(registry.SETTINGS)
    claims: list[Claim] = []
    for name in names:
        claims.extend(importlib.import_module(f"verify.{name}").CLAIMS)
    ids = [c.id for c in claims]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate claim ids: {sorted(i for i in ids if ids.count(i) > 1)}")
    return claims
