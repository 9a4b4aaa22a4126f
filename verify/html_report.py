"""The HTML report of a verification run: one self-contained page to open or send.

``python -m verify --html PATH`` writes it: a summary (per setting the claims passed,
failed and in error; the run's time, versions and root seed or seeds; the prediction
methods),
then per setting the claims table (verdict, statement, source, regime, tolerance, note,
measured and predicted values, prediction method, seconds), the failing-regime claims
(:attr:`verify.claims.Claim.failing_regime`) and regime maps (:mod:`verify.maps`: each
with its claim and figure), the closed forms of the setting
(:mod:`analytic.catalog`, as presentation MathML, which browsers render without scripts)
and its figures (drawn by :mod:`figures`, embedded as base64 PNG). Nothing is loaded from
the network.

The page is rendered from the Jinja2 template ``verify/templates/report.html.j2``. Apart
from timings, versions and the platform (each inside ``<span class="volatile">``), the
same outcomes, forms and figures give the same bytes.
"""
from __future__ import annotations

import base64
import contextlib
import inspect
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from theory import progress, registry
from theory.output_files import write_atomic
from verify.claims import PREDICTION_METHODS, Claim
from verify.reports import versions
from verify.runner import (Outcome, SeedSummary, counts, format_spread, format_values,
                           seeds_summary_fields, summary_fields)

TEMPLATE = "report.html.j2"
"""The template's file name in the package folder ``verify/templates``."""


@dataclass(frozen=True)
class EmbeddedFigure:
    """A drawn figure: its file stem, caption (the drawing function's docstring summary)
    and PNG bytes as base64 text."""

    stem: str
    caption: str
    png_base64: str


@dataclass(frozen=True)
class FormPart:
    """One part of a closed form: its key (empty for a form that is not a dict) and its
    MathML."""

    key: str
    mathml: str


@dataclass(frozen=True)
class FormView:
    """A closed form of :mod:`analytic.catalog` ready to show."""

    label: str
    summary: str
    sources: tuple[str, ...]
    parts: tuple[FormPart, ...]


def _summary_paragraph(text: str | None) -> str:
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


def draw_figures(settings: list[str], only: dict[str, list[str]] | None = None,
                 folder: Path | None = None) -> dict[str, list[EmbeddedFigure]]:
    """The figures of ``settings`` (or, for a setting in ``only``, the named ones) as
    embedded PNG, per setting.

    A figure is drawn into a temporary folder; with ``folder``, a figure already there
    (``<setting>_<name>.png``, as ``python -m figures --out folder`` writes it) is taken
    as it is and a missing one is drawn into it, so that the next report reuses it (the
    files are byte-for-byte reproducible, but a folder drawn before the figures' code
    changed holds the old figures). What the drawing functions print goes to standard
    error; a progress bar shows on a terminal.
    """
    import figures

    chosen = [(setting, name, function) for setting in settings
              for name, function in figures.load(setting).figures().items()
              if only is None or setting not in only or name in only[setting]]
    drawn: dict[str, list[EmbeddedFigure]] = {setting: [] for setting in settings}
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        for setting, name, function in progress.progress(chosen, "figures"):
            path = folder / f"{setting}_{name}.png"
            if not path.is_file():
                path = function(folder, "png")
            drawn[setting].append(EmbeddedFigure(
                path.stem, _summary_paragraph(function.__doc__),
                base64.b64encode(path.read_bytes()).decode("ascii")))
    return drawn


def closed_forms(settings: list[str]) -> dict[str, list[FormView]]:
    """The closed forms of ``settings`` (:func:`analytic.catalog.forms`) with every part
    as MathML."""
    from analytic import catalog

    return {setting: [FormView(form.label, form.summary, form.sources,
                               tuple(FormPart(key, catalog.mathml(value))
                                     for key, value in form.parts()))
                      for form in catalog.forms(setting)]
            for setting in settings}


def ran_settings(claims: list[Claim]) -> list[str]:
    """The settings of ``claims``, in registry order."""
    present = {c.setting for c in claims}
    return [s for s in registry.SETTINGS if s in present] + sorted(
        present - set(registry.SETTINGS))


def _last_line(error: str) -> str:
    return error.strip().splitlines()[-1] if error.strip() else ""


def _claim_view(c: Claim, verdict: str, seconds: float) -> dict:
    return {"id": c.id, "verdict": verdict, "statement": c.statement, "source": c.source,
            "regime": c.regime, "tolerance": c.tolerance, "prediction": c.prediction,
            "failing_regime": c.failing_regime, "seconds": seconds, "seeds": ""}


def _outcome_view(o: Outcome) -> dict:
    e = o.evidence
    return {**_claim_view(o.claim, o.verdict, o.seconds),
            "measured": format_values(e.measured) if e else "",
            "predicted": format_values(e.predicted) if e else "",
            "note": e.note.strip() if e else "", "error": o.error,
            "error_line": _last_line(o.error)}


def _seeds_view(s: SeedSummary) -> dict:
    """A claim over several seeds: measured ranges, the first seed's prediction and note,
    the pass fraction and failing seeds, the first error."""
    first = next((o for o in s.outcomes if o.evidence is not None), None)
    error = next((o for o in s.outcomes if o.error), None)
    failed = f"; failed on seeds {', '.join(map(str, s.failed_seeds))}" if s.failed_seeds else ""
    return {**_claim_view(s.claim, s.verdict, s.seconds),
            "seeds": f"passed on {s.passes} of {len(s.outcomes)} seeds{failed}",
            "measured": format_spread(s.spread()),
            "predicted": (f"{format_values(first.evidence.predicted)} (seed {first.seed})"
                          if first else ""),
            "note": (f"seed {first.seed}: {first.evidence.note.strip()}"
                     if first and first.evidence.note.strip() else ""),
            "error": f"seed {error.seed}:\n{error.error}" if error else "",
            "error_line": _last_line(error.error) if error else ""}


def _render(title: str, seed_text: str, totals: dict, rows: list[tuple[Claim, dict]],
            forms: dict[str, list[FormView]] | None,
            drawn: dict[str, list[EmbeddedFigure]] | None) -> str:
    """The page: ``rows`` pairs each claim with its view (:func:`_outcome_view`,
    :func:`_seeds_view`)."""
    import jinja2
    from markupsafe import Markup

    environment = jinja2.Environment(loader=jinja2.PackageLoader("verify", "templates"),
                                     autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True)
    from verify.maps import load_maps

    forms, drawn = forms or {}, drawn or {}
    maps = list(load_maps().values())
    settings = []
    for name in ran_settings([c for c, _ in rows]):
        claims = [view for c, view in rows if c.setting == name]
        ran = {c["id"] for c in claims}
        views = [FormView(f.label, f.summary, f.sources,
                          tuple(FormPart(p.key, Markup(p.mathml)) for p in f.parts))
                 for f in forms.get(name, [])]
        settings.append({"name": name, "claims": claims,
                         "failing": [c for c in claims if c["failing_regime"]],
                         "counts": {"claims": len(claims),
                                    **counts(c["verdict"] for c in claims)},
                         "seconds": sum(c["seconds"] for c in claims),
                         "forms": views, "figures": drawn.get(name, []),
                         "maps": [{"name": m.name, "title": m.title, "claim": m.claim.id,
                                   "claim_ran": m.claim.id in ran,
                                   "figure": f"{name}_{m.figure}"}
                                  for m in maps if m.setting == name]})
    used = [m for c, _ in rows for m in c.methods]
    methods = [{"name": m, "description": d, "count": used.count(m)}
               for m, d in PREDICTION_METHODS.items() if m in used]
    return environment.get_template(TEMPLATE).render(
        title=title, seed_text=seed_text, totals=totals, versions=versions(),
        platform=platform.platform(), methods=methods, settings=settings)


def html(outcomes: list[Outcome], seed: int, wall_seconds: float | None = None,
         forms: dict[str, list[FormView]] | None = None,
         drawn: dict[str, list[EmbeddedFigure]] | None = None) -> str:
    """The report page of ``outcomes`` (one root seed) with the closed forms ``forms``
    (:func:`closed_forms`) and the figures ``drawn`` (:func:`draw_figures`) of their
    settings; a setting missing from either says so on the page."""
    return _render(f"Verification report (seed {seed})", f"Root seed {seed}",
                   summary_fields(outcomes, wall_seconds),
                   [(o.claim, _outcome_view(o)) for o in outcomes], forms, drawn)


def seeds_html(summaries: list[SeedSummary], seeds: list[int],
               wall_seconds: float | None = None,
               forms: dict[str, list[FormView]] | None = None,
               drawn: dict[str, list[EmbeddedFigure]] | None = None) -> str:
    """:func:`html` over several root seeds: a claim passes when it passes on every seed;
    its row shows the pass fraction, the failing seeds, each measured value's range and
    the first seed's prediction."""
    span = f"{seeds[0]}..{seeds[-1]}"
    return _render(f"Verification report (seeds {span})", f"Root seeds {span}",
                   seeds_summary_fields(summaries, wall_seconds),
                   [(s.claim, _seeds_view(s)) for s in summaries], forms, drawn)


def _parts(claims: list[Claim], with_figures: bool, figures_folder: Path | None) -> tuple:
    known = [s for s in ran_settings(claims) if s in registry.SETTINGS]
    drawn = draw_figures(known, folder=figures_folder) if with_figures else {}
    return closed_forms(known), drawn


def to_html(outcomes: list[Outcome], seed: int, path: Path, wall_seconds: float | None = None,
            with_figures: bool = True, figures_folder: Path | None = None) -> None:
    """Write :func:`html` to ``path`` (atomically), with the closed forms and, unless
    ``with_figures`` is false, the figures of the settings that ran (reused from and
    drawn into ``figures_folder`` if given: :func:`draw_figures`)."""
    forms, drawn = _parts([o.claim for o in outcomes], with_figures, figures_folder)
    write_atomic(path, html(outcomes, seed, wall_seconds, forms, drawn))


def seeds_to_html(summaries: list[SeedSummary], seeds: list[int], path: Path,
                  wall_seconds: float | None = None, with_figures: bool = True,
                  figures_folder: Path | None = None) -> None:
    """Write :func:`seeds_html` to ``path`` (atomically), with closed forms and figures as
    :func:`to_html`."""
    forms, drawn = _parts([s.claim for s in summaries], with_figures, figures_folder)
    write_atomic(path, seeds_html(summaries, seeds, wall_seconds, forms, drawn))
