"""Claims, their evidence, and loading them from the settings of :mod:`theory.registry`."""
from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from theory import registry

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
        ``check(rng) -> Evidence``; ``rng`` is seeded per claim (:func:`claim_rng`).
        A claim about a failing regime states the failure; its check passes when the
        failure is observed as predicted.
    """

    id: str
    setting: str
    statement: str
    source: str
    regime: str
    tolerance: str
    check: Callable[[np.random.Generator], Evidence] = field(repr=False)


def claim_rng(root_seed: int, claim_id: str) -> np.random.Generator:
    """The generator of one claim: seeded by (root seed, claim id), not by run order or worker."""
    return np.random.default_rng(np.random.SeedSequence([root_seed, zlib.crc32(claim_id.encode())]))


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
