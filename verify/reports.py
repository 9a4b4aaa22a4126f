"""The reports of a verification run, as JSON and as Markdown, and the safe writing of them.

Both formats carry the versions, the seed(s), a summary (passed / failed / errors, wall
time, time in the checks and in numba compilation) and, per claim, its text, verdict,
measured and predicted values, note and seconds.

Markdown tables hold only short cells (id, verdict, seconds, values); the long texts
(statement, source, regime, tolerance, note, error) follow the table, one section per
claim. Every text is escaped so that it renders as written (:func:`markdown_text`).

A report path is checked before any claim runs (:func:`check_report_path`), and the file
is written atomically (:func:`write_atomic`): a reader never sees a half-written report,
and an interrupted write leaves the previous file in place.
"""
from __future__ import annotations

import json
import platform
import re
from importlib import metadata
from pathlib import Path

import numpy as np

from theory.output_files import file_problem, write_atomic
from verify import __version__
from verify.claims import Claim
from verify.runner import (Outcome, SeedSummary, format_spread, format_values, seeds_line,
                           seeds_summary_fields, summary, summary_fields)

# --------------------------------------------------------------------------- files


def check_report_path(path: Path) -> None:
    """Raise ValueError (a one-line message) if a report cannot be written to ``path``
    (:func:`theory.output_files.file_problem`)."""
    problem = file_problem(path)
    if problem is not None:
        raise ValueError(problem)


# --------------------------------------------------------------------------- shared


def versions() -> dict[str, str]:
    """Python, this package and the dependencies, with their versions."""
    found = {"python": platform.python_version(), "overparam-theory": __version__}
    for name in ("numpy", "scipy", "sympy", "numba", "matplotlib", "jinja2"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _plain(values: dict | None) -> dict | None:
    """JSON-ready copy: numbers become Python floats, anything else (e.g. "finite") a string."""
    if values is None:
        return None
    return {k: float(v) if isinstance(v, (int, float, np.number)) else str(v)
            for k, v in values.items()}


def _error_line(outcome: Outcome) -> str:
    """The last line of a check's traceback (the exception and its message)."""
    return outcome.error.strip().splitlines()[-1] if outcome.error.strip() else ""


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>|~$&])")
"""The characters that Markdown (GitHub flavour: tables, strikethrough, math) would
interpret inside a line; all are ASCII punctuation, which a backslash makes literal."""


def markdown_text(text: str) -> str:
    """``text`` as inline Markdown that renders as written, also inside a table cell.

    Runs of whitespace (newlines included) become one space, and :data:`_MARKDOWN_PUNCTUATION`
    is backslash-escaped (CommonMark: any ASCII punctuation may be escaped; GitHub tables
    split cells at every unescaped ``|``).
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def markdown_code(text: str, in_table: bool = False) -> str:
    """``text`` as an inline code span on one line (empty text gives an empty string).

    The fence is one backtick longer than the longest run of backticks in ``text``. In a
    table cell ``|`` is escaped as ``\\|`` (GitHub removes the backslash before rendering
    the span); outside tables a code span shows every character as is.
    """
    flat = " ".join(text.split())
    if not flat:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat[0] == "`" or flat[-1] == "`" else ""
    span = f"{fence}{pad}{flat}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


def markdown_block(text: str) -> list[str]:
    """``text`` (e.g. a traceback) as a fenced code block, lines kept as they are."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return [fence, *text.rstrip("\n").splitlines(), fence]


def table_row(cells: list[str]) -> str:
    """A Markdown table row of cells already escaped for a table."""
    return "| " + " | ".join(cells) + " |"


def _header(title: str, summary_line: str) -> list[str]:
    return [f"# {title}", "", "Versions: " + markdown_text(", ".join(
        f"{k} {v}" for k, v in versions().items())), "",
        f"**Summary:** {markdown_text(summary_line)}", ""]


def _claim_text(c: Claim) -> list[str]:
    """A claim's texts as Markdown list items."""
    return [f"- **Setting:** {markdown_text(c.setting)}",
            f"- **Statement:** {markdown_text(c.statement)}",
            f"- **Source:** {markdown_text(c.source)}",
            f"- **Regime:** {markdown_text(c.regime)}",
            f"- **Prediction computed by:** {markdown_text(c.prediction)}",
            f"- **Failing regime:** {'yes' if c.failing_regime else 'no'}",
            f"- **Tolerance:** {markdown_text(c.tolerance)}"]


def _dump(report: dict, path: Path) -> None:
    write_atomic(path, json.dumps(report, indent=2, allow_nan=True) + "\n")


# --------------------------------------------------------------------------- one seed


def to_json(outcomes: list[Outcome], seed: int, path: Path,
            wall_seconds: float | None = None) -> None:
    """Write versions, seed, the summary (:func:`verify.runner.summary_fields`) and every
    claim (id, setting, statement, source, regime, prediction, failing regime, verdict,
    measured, predicted, note, error, tolerance, seconds, compile seconds) as JSON."""
    claims = []
    for o in outcomes:
        c, e = o.claim, o.evidence
        claims.append({"id": c.id, "setting": c.setting, "statement": c.statement,
                       "source": c.source, "regime": c.regime, "prediction": c.prediction,
                       "failing_regime": c.failing_regime,
                       "passed": bool(o.passed), "verdict": o.verdict,
                       "measured": _plain(e.measured) if e else None,
                       "predicted": _plain(e.predicted) if e else None,
                       "note": e.note if e else "", "error": o.error,
                       "tolerance": c.tolerance, "seconds": round(o.seconds, 4),
                       "compile_seconds": round(o.compile_seconds, 4)})
    _dump({"versions": versions(), "platform": platform.platform(), "seed": seed,
           "passed": bool(all(o.passed for o in outcomes)),
           "summary": summary_fields(outcomes, wall_seconds), "claims": claims}, path)


def markdown(outcomes: list[Outcome], seed: int, wall_seconds: float | None = None) -> str:
    """The Markdown report: summary, a table (claim, verdict, seconds, compiling, measured,
    predicted), then per claim its texts, values, note and error."""
    lines = _header(f"Verification report (seed {seed})", summary(outcomes, wall_seconds))
    lines += [table_row(["claim", "verdict", "seconds", "compiling (s)", "measured",
                         "predicted"]), table_row(["---"] * 6)]
    for o in outcomes:
        e = o.evidence
        measured = (markdown_code(format_values(e.measured), in_table=True) if e
                    else markdown_text(_error_line(o)))
        predicted = markdown_code(format_values(e.predicted), in_table=True) if e else ""
        lines.append(table_row([markdown_code(o.claim.id, in_table=True), o.verdict,
                                f"{o.seconds:.2f}", f"{o.compile_seconds:.2f}", measured,
                                predicted]))
    lines += ["", "## Claims", ""]
    for o in outcomes:
        e = o.evidence
        lines += [f"### {markdown_code(o.claim.id)}", "",
                  f"- **Verdict:** {o.verdict} in {o.seconds:.2f} s (numba compilation "
                  f"{o.compile_seconds:.2f} s)"]
        lines += _claim_text(o.claim)
        if e is not None:
            lines += [f"- **Measured:** {markdown_code(format_values(e.measured))}",
                      f"- **Predicted:** {markdown_code(format_values(e.predicted))}",
                      f"- **Note:** {markdown_text(e.note) if e.note.strip() else 'none'}"]
        lines.append("")
        if o.error:
            lines += ["The check raised:", "", *markdown_block(o.error), ""]
    return "\n".join(lines)


def to_markdown(outcomes: list[Outcome], seed: int, path: Path,
                wall_seconds: float | None = None) -> None:
    """Write :func:`markdown` to ``path`` (atomically)."""
    write_atomic(path, markdown(outcomes, seed, wall_seconds))


# --------------------------------------------------------------------------- several seeds


def seeds_to_json(summaries: list[SeedSummary], seeds: list[int], path: Path,
                  wall_seconds: float | None = None) -> None:
    """Write versions, the seeds, the summary (:func:`verify.runner.seeds_summary_fields`)
    and, per claim, the verdict, pass fraction, failing seeds, measured ranges, seconds
    and every seed's verdict, measured and predicted values, note, error and seconds."""
    claims = []
    for s in summaries:
        c = s.claim
        claims.append({"id": c.id, "setting": c.setting, "statement": c.statement,
                       "source": c.source, "regime": c.regime, "prediction": c.prediction,
                       "failing_regime": c.failing_regime,
                       "tolerance": c.tolerance, "passed": bool(s.passed),
                       "verdict": s.verdict, "pass_fraction": s.passes / len(s.outcomes),
                       "failed_seeds": s.failed_seeds,
                       "measured_range": {k: list(v) for k, v in s.spread().items()},
                       "seconds": round(s.seconds, 4),
                       "compile_seconds": round(s.compile_seconds, 4),
                       "runs": [{"seed": o.seed, "verdict": o.verdict,
                                 "measured": _plain(o.evidence.measured) if o.evidence else None,
                                 "predicted": _plain(o.evidence.predicted) if o.evidence else None,
                                 "note": o.evidence.note if o.evidence else "",
                                 "error": o.error, "seconds": round(o.seconds, 4),
                                 "compile_seconds": round(o.compile_seconds, 4)}
                                for o in s.outcomes]})
    _dump({"versions": versions(), "platform": platform.platform(), "seeds": seeds,
           "passed": bool(all(s.passed for s in summaries)),
           "summary": seeds_summary_fields(summaries, wall_seconds), "claims": claims}, path)


def seeds_markdown(summaries: list[SeedSummary], seeds: list[int],
                   wall_seconds: float | None = None) -> str:
    """The Markdown report over seeds: summary, a table (claim, verdict, passed seeds,
    failing seeds, seconds, measured ranges), then per claim its texts and every seed's
    verdict, seconds, note and error."""
    lines = _header(f"Verification report (seeds {seeds[0]}..{seeds[-1]})",
                    seeds_line(summaries, wall_seconds))
    lines += [table_row(["claim", "verdict", "passed seeds", "failed on", "seconds",
                         "measured (min, max over seeds)"]), table_row(["---"] * 6)]
    for s in summaries:
        lines.append(table_row([markdown_code(s.claim.id, in_table=True), s.verdict,
                                f"{s.passes}/{len(s.outcomes)}",
                                ", ".join(map(str, s.failed_seeds)), f"{s.seconds:.2f}",
                                markdown_code(format_spread(s.spread()), in_table=True)]))
    lines += ["", "## Claims", ""]
    for s in summaries:
        lines += [f"### {markdown_code(s.claim.id)}", "",
                  f"- **Verdict:** {s.verdict}, passed on {s.passes} of {len(s.outcomes)} "
                  f"seeds in {s.seconds:.2f} s (numba compilation {s.compile_seconds:.2f} s)"]
        lines += _claim_text(s.claim)
        lines.append("- **Runs:**")
        for o in s.outcomes:
            run = f"  - seed {o.seed}: {o.verdict} in {o.seconds:.2f} s"
            if o.evidence is not None:
                run += (f"; measured {markdown_code(format_values(o.evidence.measured))}, "
                        f"predicted {markdown_code(format_values(o.evidence.predicted))}")
                if o.evidence.note.strip():
                    run += f"; note: {markdown_text(o.evidence.note)}"
            if o.error:
                run += f"; raised {markdown_text(_error_line(o))}"
            lines.append(run)
        lines.append("")
    return "\n".join(lines)


def seeds_to_markdown(summaries: list[SeedSummary], seeds: list[int], path: Path,
                      wall_seconds: float | None = None) -> None:
    """Write :func:`seeds_markdown` to ``path`` (atomically)."""
    write_atomic(path, seeds_markdown(summaries, seeds, wall_seconds))
