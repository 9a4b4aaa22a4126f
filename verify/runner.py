"""Run claims and print their verdicts (the reports are written by :mod:`verify.reports`)."""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

import numpy as np

from theory import progress
from theory.numba_options import CompileClock
from verify.claims import Claim, Evidence, claim_rng, load_claims

SINGLE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS")
"""Environment variables set to 1 in worker processes: one thread per worker for BLAS
(also the BLAS that jitted kernels call through np.dot) and numba."""
WORKER_ENV = {**{name: "1" for name in SINGLE_THREAD_ENV},
              progress.ENVIRONMENT_VARIABLE: "0"}
"""The environment of worker processes: one thread each, and no progress bars
(:mod:`theory.progress`: bars of several processes would interleave)."""


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
    (spawned, each with one BLAS/numba thread and no progress bar, :data:`WORKER_ENV`). Every claim
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
    with worker_environment(), ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_run_in_worker, c.setting, c.id, seed) for c, seed in tasks]
        for (claim, seed), future in zip(tasks, futures):
            yield Outcome(claim, *future.result(), seed=seed)


@contextlib.contextmanager
def worker_environment() -> Iterator[None]:
    """Set :data:`WORKER_ENV` (one BLAS/numba thread, no progress bars) for worker
    processes started inside the block, and restore the environment after."""
    saved = {name: os.environ.get(name) for name in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    try:
        yield
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


def counts(verdicts: Iterable[str]) -> dict[str, int]:
    """How many of ``verdicts`` are PASS, FAIL and ERROR (keys passed, failed, errors)."""
    verdicts = list(verdicts)
    return {"passed": verdicts.count("PASS"), "failed": verdicts.count("FAIL"),
            "errors": verdicts.count("ERROR")}


def timing(outcomes: list[Outcome], wall_seconds: float | None = None) -> dict:
    """Where the time went: the run's wall time (``None`` when not measured; with ``-j N``
    less than the sum of the checks), the checks' summed wall time, and the part of it
    numba spent compiling."""
    return {"wall_seconds": None if wall_seconds is None else round(wall_seconds, 4),
            "check_seconds": round(sum(o.seconds for o in outcomes), 4),
            "compile_seconds": round(sum(o.compile_seconds for o in outcomes), 4)}


def _counts_text(tally: dict) -> str:
    return (f"{tally['passed']} passed, {tally['failed']} failed, "
            f"{_plural(tally['errors'], 'error')}")


def _timing_text(times: dict) -> str:
    text = (f"checks {times['check_seconds']:.1f} s, of which numba compilation "
            f"{times['compile_seconds']:.1f} s")
    if times["wall_seconds"] is not None:
        text = f"wall {times['wall_seconds']:.1f} s, " + text
    return text


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary_fields(outcomes: list[Outcome], wall_seconds: float | None = None) -> dict:
    """The run in numbers: claims, passed, failed, errors, and the :func:`timing`."""
    return {"claims": len(outcomes), **counts(o.verdict for o in outcomes),
            **timing(outcomes, wall_seconds)}


def summary(outcomes: list[Outcome], wall_seconds: float | None = None) -> str:
    """The closing line: :func:`summary_fields` in words."""
    fields = summary_fields(outcomes, wall_seconds)
    return f"{_plural(fields['claims'], 'claim')}: {_counts_text(fields)}; {_timing_text(fields)}"


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
    def verdict(self) -> str:
        """PASS on every seed; ERROR if the check raised on any seed; FAIL otherwise."""
        if self.passed:
            return "PASS"
        return "ERROR" if any(o.error for o in self.outcomes) else "FAIL"

    @property
    def failed_seeds(self) -> list[int]:
        return [o.seed for o in self.outcomes if not o.passed]

    @property
    def seconds(self) -> float:
        """The checks' summed wall time over the seeds."""
        return sum(o.seconds for o in self.outcomes)

    @property
    def compile_seconds(self) -> float:
        return sum(o.compile_seconds for o in self.outcomes)

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


def format_spread(spread: dict[str, tuple[float, float]]) -> str:
    """``name in [min, max]`` list with 4 significant digits."""
    return ", ".join(f"{k} in [{lo:.4g}, {hi:.4g}]" for k, (lo, hi) in spread.items())


def seeds_row(summary_: SeedSummary) -> str:
    """One claim's block over seeds: pass fraction, failing seeds, each measured quantity's
    range, the prediction of the first seed and how it was computed."""
    n = len(summary_.outcomes)
    lines = [f"{summary_.verdict:5}  {summary_.passes}/{n} seeds  {summary_.claim.id}  "
             f"[{summary_.claim.setting}]  ({summary_.seconds:.2f} s, compiling "
             f"{summary_.compile_seconds:.2f} s)"]
    if summary_.failed_seeds:
        lines.append(f"       failed on seeds: {summary_.failed_seeds}")
    lines.append(f"       measured:  {format_spread(summary_.spread())}")
    first = next((o for o in summary_.outcomes if o.evidence is not None), None)
    if first is not None:
        lines.append(f"       predicted: {format_values(first.evidence.predicted)} (seed "
                     f"{first.seed})")
    lines.append(f"       by:        {summary_.claim.prediction}")
    for o in summary_.outcomes:
        if o.error:
            lines.append(f"       seed {o.seed}: " + o.error.strip().splitlines()[-1])
    return "\n".join(lines)


def seeds_summary_fields(summaries: list[SeedSummary],
                         wall_seconds: float | None = None) -> dict:
    """A run over seeds in numbers: claims and seeds; passed (on every seed), failed and
    errors counted over claims (:attr:`SeedSummary.verdict`); the same over single runs
    (``runs``); and the :func:`timing` of every run."""
    every = [o for s in summaries for o in s.outcomes]
    return {"claims": len(summaries),
            "seeds": max((len(s.outcomes) for s in summaries), default=0),
            **counts(s.verdict for s in summaries),
            "runs": {"total": len(every), **counts(o.verdict for o in every)},
            **timing(every, wall_seconds)}


def seeds_line(summaries: list[SeedSummary], wall_seconds: float | None = None) -> str:
    """The closing line over seeds: :func:`seeds_summary_fields` in words."""
    fields = seeds_summary_fields(summaries, wall_seconds)
    runs = fields["runs"]
    return (f"{_plural(fields['claims'], 'claim')} on {_plural(fields['seeds'], 'seed')}: "
            f"{_counts_text(fields)} (passed = on every seed); "
            f"{_plural(runs['total'], 'run')}: {_counts_text(runs)}; {_timing_text(fields)}")
