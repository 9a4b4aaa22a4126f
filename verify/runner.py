"""Run claims and report them as a table, JSON and Markdown."""
from __future__ import annotations

import json
import multiprocessing
import os
import platform
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from theory.numba_options import CompileClock
from verify.claims import Claim, Evidence, claim_rng, load_claims

SINGLE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS")
"""Environment variables set to 1 in worker processes: one thread per worker for BLAS
(also the BLAS that jitted kernels call through np.dot) and numba."""


@dataclass(frozen=True)
class Outcome:
    """A claim and the result of its check (``error`` holds a traceback if the check raised).

    ``seconds`` is the check's wall time, ``compile_seconds`` the part of it numba spent
    compiling (zero when every kernel came from the cache or was compiled by an earlier
    claim in the same process).
    """

    claim: Claim
    evidence: Evidence | None
    seconds: float
    error: str = ""
    compile_seconds: float = 0.0
    seed: int = 0

    @property
    def passed(self) -> bool:
        return self.evidence is not None and bool(self.evidence.passed)

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        return "PASS" if self.passed else "FAIL"


def run_claim(claim: Claim, seed: int) -> Outcome:
    """Check one claim with its own seeded generator; an exception becomes an ERROR outcome."""
    start = time.perf_counter()
    evidence, error = None, ""
    with CompileClock() as clock:
        try:
            evidence = claim.check(claim_rng(seed, claim.id))
        except Exception:  # reported, and counted as a failure
            error = traceback.format_exc()
    return Outcome(claim, evidence, time.perf_counter() - start, error, clock.seconds, seed)


@lru_cache(maxsize=None)
def _claims_by_id(setting: str) -> dict[str, Claim]:
    return {c.id: c for c in load_claims(setting)}


def _run_in_worker(setting: str, claim_id: str, seed: int) -> tuple:
    """Worker side of :func:`run_claims`: look the claim up by id and run it; only the
    result travels back (evidence, seconds, error, compile seconds), never the check."""
    o = run_claim(_claims_by_id(setting)[claim_id], seed)
    return o.evidence, o.seconds, o.error, o.compile_seconds


def run_claims(claims: list[Claim], seed: int, jobs: int = 1) -> Iterator[Outcome]:
    """Run ``claims`` on the root seed ``seed`` and yield their outcomes in the order given
    (:func:`run_seeds` with one seed)."""
    yield from run_seeds(claims, [seed], jobs)


def run_seeds(claims: list[Claim], seeds: list[int], jobs: int = 1) -> Iterator[Outcome]:
    """Run every claim on every root seed; yield the outcomes claim by claim, each claim's
    seeds in the order given.

    With ``jobs > 1`` the (claim, seed) pairs run in that many fresh worker processes
    (spawned, each with one BLAS/numba thread, :data:`SINGLE_THREAD_ENV`). Every claim
    draws from its own generator seeded by (seed, claim id), so the outcomes do not depend
    on ``jobs`` or on which worker ran which claim. Workers share the numba cache directory; numba writes
    cache files atomically (temporary file, then rename), so concurrent writers are safe.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    tasks = [(claim, seed) for claim in claims for seed in seeds]
    if jobs == 1:
        for claim, seed in tasks:
            yield run_claim(claim, seed)
        return
    saved = {name: os.environ.get(name) for name in SINGLE_THREAD_ENV}
    os.environ.update({name: "1" for name in SINGLE_THREAD_ENV})
    try:
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_in_worker, c.setting, c.id, seed) for c, seed in tasks]
            for (claim, seed), future in zip(tasks, futures):
                yield Outcome(claim, *future.result(), seed=seed)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def format_values(values: dict[str, float]) -> str:
    """Compact ``name=value`` list with 4 significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items())


def row(o: Outcome) -> str:
    """One claim's block: verdict, id, setting, seconds, measured, predicted, tolerance."""
    lines = [f"{o.verdict:5}  {o.claim.id}  [{o.claim.setting}]  ({o.seconds:.2f} s, "
             f"compiling {o.compile_seconds:.2f} s)"]
    if o.evidence is not None:
        lines.append(f"       measured:  {format_values(o.evidence.measured)}")
        lines.append(f"       predicted: {format_values(o.evidence.predicted)}")
        lines.append(f"       by:        {o.claim.prediction}")
        if o.evidence.note:
            lines.append(f"       note:      {o.evidence.note}")
    else:
        lines.append("       " + o.error.strip().splitlines()[-1])
    lines.append(f"       tolerance: {o.claim.tolerance}")
    return "\n".join(lines)


def summary(outcomes: list[Outcome], wall_seconds: float | None = None) -> str:
    """The closing line: how many claims passed, and where the time went.

    ``wall_seconds`` is the whole run's wall time (with ``-j N`` less than the sum of the
    claims' times).
    """
    checks = sum(o.seconds for o in outcomes)
    compiling = sum(o.compile_seconds for o in outcomes)
    line = f"{sum(o.passed for o in outcomes)}/{len(outcomes)} claims passed"
    timing = f"checks {checks:.1f} s, of which numba compilation {compiling:.1f} s"
    if wall_seconds is not None:
        timing = f"wall {wall_seconds:.1f} s; " + timing
    return f"{line} ({timing})"


def _plain(values: dict | None) -> dict | None:
    """JSON-ready copy: numbers become Python floats, anything else (e.g. "finite") a string."""
    if values is None:
        return None
    return {k: float(v) if isinstance(v, (int, float, np.number)) else str(v)
            for k, v in values.items()}


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("overparam-theory", "numpy", "scipy", "sympy", "numba", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def to_json(outcomes: list[Outcome], seed: int, path: Path) -> None:
    """Write versions, seed and every claim (id, setting, statement, source, regime, passed,
    measured, predicted, tolerance, seconds) as JSON."""
    claims = []
    for o in outcomes:
        c, e = o.claim, o.evidence
        claims.append({"id": c.id, "setting": c.setting, "statement": c.statement,
                       "source": c.source, "regime": c.regime, "prediction": c.prediction,
                       "passed": bool(o.passed),
                       "verdict": o.verdict,
                       "measured": _plain(e.measured) if e else None,
                       "predicted": _plain(e.predicted) if e else None,
                       "note": e.note if e else "", "error": o.error,
                       "tolerance": c.tolerance, "seconds": round(o.seconds, 4),
                       "compile_seconds": round(o.compile_seconds, 4)})
    report = {"versions": _versions(), "platform": platform.platform(), "seed": seed,
              "passed": bool(all(o.passed for o in outcomes)), "claims": claims}
    path.write_text(json.dumps(report, indent=2, allow_nan=True) + "\n")


def to_markdown(outcomes: list[Outcome], seed: int, path: Path) -> None:
    """Write a Markdown table of the outcomes, then each claim's statement, source and regime."""
    rows = ["| claim | setting | verdict | measured | predicted | prediction by | tolerance |",
            "|---|---|---|---|---|---|---|"]
    for o in outcomes:
        e = o.evidence
        rows.append(f"| `{o.claim.id}` | {o.claim.setting} | {o.verdict} | "
                    f"{format_values(e.measured) if e else o.error.strip().splitlines()[-1]} | "
                    f"{format_values(e.predicted) if e else ''} | {o.claim.prediction} | "
                    f"{o.claim.tolerance} |")
    details = []
    for o in outcomes:
        c = o.claim
        details += [f"### `{c.id}`", "", f"- **Statement:** {c.statement}",
                    f"- **Source:** {c.source}", f"- **Regime:** {c.regime}",
                    f"- **Prediction computed by:** {c.prediction}", ""]
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    path.write_text("\n".join([f"# Verification report (seed {seed})", "", versions, ""]
                              + rows + [""] + details))


# --------------------------------------------------------------------------- several seeds


@dataclass(frozen=True)
class SeedSummary:
    """One claim checked on several root seeds: its outcomes, in seed order."""

    claim: Claim
    outcomes: tuple[Outcome, ...]

    @property
    def seeds(self) -> list[int]:
        return [o.seed for o in self.outcomes]

    @property
    def passes(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def passed(self) -> bool:
        """Whether the claim passed on every seed (a per-instance law must)."""
        return self.passes == len(self.outcomes)

    @property
    def failed_seeds(self) -> list[int]:
        return [o.seed for o in self.outcomes if not o.passed]

    def spread(self) -> dict[str, tuple[float, float]]:
        """(min, max) over the seeds of every numeric measured quantity."""
        values: dict[str, list[float]] = {}
        for o in self.outcomes:
            if o.evidence is None:
                continue
            for name, value in o.evidence.measured.items():
                if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                    values.setdefault(name, []).append(float(value))
        return {name: (min(v), max(v)) for name, v in values.items()}


def summarize_seeds(outcomes: list[Outcome]) -> list[SeedSummary]:
    """Group outcomes by claim (in the order the claims first appear)."""
    by_claim: dict[str, list[Outcome]] = {}
    claims: dict[str, Claim] = {}
    for o in outcomes:
        by_claim.setdefault(o.claim.id, []).append(o)
        claims[o.claim.id] = o.claim
    return [SeedSummary(claims[i], tuple(by_claim[i])) for i in by_claim]


def seeds_row(summary_: SeedSummary) -> str:
    """One claim's block over seeds: pass fraction, failing seeds, each measured quantity's
    range, the prediction of the first seed and how it was computed."""
    n = len(summary_.outcomes)
    verdict = "PASS" if summary_.passed else "FAIL"
    seconds = sum(o.seconds for o in summary_.outcomes)
    lines = [f"{verdict:5}  {summary_.passes}/{n} seeds  {summary_.claim.id}  "
             f"[{summary_.claim.setting}]  ({seconds:.2f} s)"]
    if summary_.failed_seeds:
        lines.append(f"       failed on seeds: {summary_.failed_seeds}")
    spread = ", ".join(f"{k} in [{lo:.4g}, {hi:.4g}]" for k, (lo, hi) in summary_.spread().items())
    lines.append(f"       measured:  {spread}")
    first = next((o.evidence for o in summary_.outcomes if o.evidence is not None), None)
    if first is not None:
        lines.append(f"       predicted: {format_values(first.predicted)} (seed "
                     f"{summary_.outcomes[0].seed})")
    lines.append(f"       by:        {summary_.claim.prediction}")
    for o in summary_.outcomes:
        if o.error:
            lines.append(f"       seed {o.seed}: " + o.error.strip().splitlines()[-1])
    return "\n".join(lines)


def seeds_line(summaries: list[SeedSummary], wall_seconds: float | None = None) -> str:
    """The closing line over seeds: how many claims passed on every seed, and the time."""
    n_seeds = max((len(s.outcomes) for s in summaries), default=0)
    every = [o for s in summaries for o in s.outcomes]
    timing = summary(every, wall_seconds).split(" (", 1)[1]
    return (f"{sum(s.passed for s in summaries)}/{len(summaries)} claims passed on every one "
            f"of {n_seeds} seeds ({timing}")


def seeds_to_json(summaries: list[SeedSummary], seeds: list[int], path: Path) -> None:
    """Write versions, the seeds and, per claim, the pass fraction, the failing seeds, the
    measured ranges and every seed's measured and predicted values."""
    claims = []
    for s in summaries:
        c = s.claim
        claims.append({"id": c.id, "setting": c.setting, "statement": c.statement,
                       "source": c.source, "regime": c.regime, "prediction": c.prediction,
                       "tolerance": c.tolerance, "passed": bool(s.passed),
                       "pass_fraction": s.passes / len(s.outcomes),
                       "failed_seeds": s.failed_seeds,
                       "measured_range": {k: list(v) for k, v in s.spread().items()},
                       "runs": [{"seed": o.seed, "verdict": o.verdict,
                                 "measured": _plain(o.evidence.measured) if o.evidence else None,
                                 "predicted": _plain(o.evidence.predicted) if o.evidence else None,
                                 "note": o.evidence.note if o.evidence else "",
                                 "error": o.error, "seconds": round(o.seconds, 4)}
                                for o in s.outcomes]})
    report = {"versions": _versions(), "platform": platform.platform(), "seeds": seeds,
              "passed": bool(all(s.passed for s in summaries)), "claims": claims}
    path.write_text(json.dumps(report, indent=2, allow_nan=True) + "\n")


def seeds_to_markdown(summaries: list[SeedSummary], seeds: list[int], path: Path) -> None:
    """Write a Markdown table: per claim the pass fraction, failing seeds, measured ranges
    and how the prediction was computed."""
    rows = ["| claim | passed seeds | failed on | measured (min, max over seeds) | "
            "prediction by |", "|---|---|---|---|---|"]
    for s in summaries:
        spread = ", ".join(f"{k} [{lo:.4g}, {hi:.4g}]" for k, (lo, hi) in s.spread().items())
        rows.append(f"| `{s.claim.id}` | {s.passes}/{len(s.outcomes)} | "
                    f"{s.failed_seeds or ''} | {spread} | {s.claim.prediction} |")
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    path.write_text("\n".join([f"# Verification report (seeds {seeds[0]}..{seeds[-1]})", "",
                               versions, ""] + rows) + "\n")
