"""Run claims and report them as a table, JSON and Markdown."""
from __future__ import annotations

import json
import platform
import time
import traceback
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from verify.claims import Claim, Evidence, claim_rng


@dataclass(frozen=True)
class Outcome:
    """A claim and the result of its check (``error`` holds a traceback if the check raised)."""

    claim: Claim
    evidence: Evidence | None
    seconds: float
    error: str = ""

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
    try:
        evidence = claim.check(claim_rng(seed, claim.id))
    except Exception:  # reported, and counted as a failure
        return Outcome(claim, None, time.perf_counter() - start, traceback.format_exc())
    return Outcome(claim, evidence, time.perf_counter() - start)


def format_values(values: dict[str, float]) -> str:
    """Compact ``name=value`` list with 4 significant digits."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items())


def row(o: Outcome) -> str:
    """One claim's block: verdict, id, setting, seconds, measured, predicted, tolerance."""
    lines = [f"{o.verdict:5}  {o.claim.id}  [{o.claim.setting}]  ({o.seconds:.2f} s)"]
    if o.evidence is not None:
        lines.append(f"       measured:  {format_values(o.evidence.measured)}")
        lines.append(f"       predicted: {format_values(o.evidence.predicted)}")
        if o.evidence.note:
            lines.append(f"       note:      {o.evidence.note}")
    else:
        lines.append("       " + o.error.strip().splitlines()[-1])
    lines.append(f"       tolerance: {o.claim.tolerance}")
    return "\n".join(lines)


def summary(outcomes: list[Outcome]) -> str:
    """The closing line: how many claims passed."""
    return f"{sum(o.passed for o in outcomes)}/{len(outcomes)} claims passed"


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
                       "source": c.source, "regime": c.regime, "passed": bool(o.passed),
                       "verdict": o.verdict,
                       "measured": _plain(e.measured) if e else None,
                       "predicted": _plain(e.predicted) if e else None,
                       "note": e.note if e else "", "error": o.error,
                       "tolerance": c.tolerance, "seconds": round(o.seconds, 4)})
    report = {"versions": _versions(), "platform": platform.platform(), "seed": seed,
              "passed": bool(all(o.passed for o in outcomes)), "claims": claims}
    path.write_text(json.dumps(report, indent=2, allow_nan=True) + "\n")


def to_markdown(outcomes: list[Outcome], seed: int, path: Path) -> None:
    """Write a Markdown table of the outcomes, then each claim's statement, source and regime."""
    rows = ["| claim | setting | verdict | measured | predicted | tolerance |",
            "|---|---|---|---|---|---|"]
    for o in outcomes:
        e = o.evidence
        rows.append(f"| `{o.claim.id}` | {o.claim.setting} | {o.verdict} | "
                    f"{format_values(e.measured) if e else o.error.strip().splitlines()[-1]} | "
                    f"{format_values(e.predicted) if e else ''} | {o.claim.tolerance} |")
    details = []
    for o in outcomes:
        c = o.claim
        details += [f"### `{c.id}`", "", f"- **Statement:** {c.statement}",
                    f"- **Source:** {c.source}", f"- **Regime:** {c.regime}", ""]
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    path.write_text("\n".join([f"# Verification report (seed {seed})", "", versions, ""]
                              + rows + [""] + details))
