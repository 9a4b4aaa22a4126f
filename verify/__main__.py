"""``python -m verify``: check every claim and print a verdict for each.

On a terminal a line on standard error counts the claims done (claim k of n, elapsed
time); piped or redirected, standard error stays empty and standard output is the same.

Exit status: 0 when every selected claim passes (with ``--seeds N``: on every one of the
N root seeds), 1 when any fails, 2 on a usage error (including a report path that cannot
be written, found before any claim runs).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from theory import progress, registry
from theory.output_files import directory_problem
from verify import __version__
from verify.claims import load_claims
from verify.html_report import seeds_to_html, to_html
from verify.reports import (check_report_path, seeds_to_json, seeds_to_markdown, to_json,
                            to_markdown)
from verify.runner import (row, run_claims, run_seeds, seeds_line, seeds_row, summarize_seeds,
                           summary)

PROG = "python -m verify"

DESCRIPTION = """\
Check every claim of the theory by computation: print a verdict for each (PASS,
FAIL or ERROR) with the measured and predicted values, then a summary line."""

EPILOG = """\
exit status:
  0  every selected claim passed (with --seeds N: on every seed)
  1  a claim failed or raised an error
  2  usage error, e.g. a report path that cannot be written (checked before any claim runs)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--setting", choices=registry.SETTINGS, help="only this setting's claims")
    parser.add_argument("--claim", action="append", metavar="ID",
                        help="only this claim (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the claims and exit")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write a JSON report (summary, and per claim its texts, verdict, "
                             "values, note and seconds)")
    parser.add_argument("--markdown", type=Path, metavar="PATH",
                        help="write a Markdown report (a summary, a table of verdicts and "
                             "values, then each claim's texts, note and seconds)")
    parser.add_argument("--html", type=Path, metavar="PATH",
                        help="write a self-contained HTML report: summary, then per setting "
                             "the claims, the failing-regime claims, the closed forms "
                             "(MathML) and the figures (drawn for the settings that ran: "
                             "tens of minutes for every setting; see --figures-dir and "
                             "--no-figures)")
    parser.add_argument("--no-figures", action="store_true",
                        help="with --html: leave the figures out (the report is then written "
                             "in seconds after the claims)")
    parser.add_argument("--figures-dir", type=Path, metavar="DIR",
                        help="with --html: take the figures found in DIR as PNG (python -m "
                             "figures --out DIR writes them) and draw the missing ones into "
                             "it, to be reused by the next report (created if missing)")
    parser.add_argument("--seed", type=int, default=0,
                        help="root seed (default 0); every claim draws its instance from a "
                             "generator seeded by (root seed, claim id)")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="run every claim on the N root seeds K..K+N-1 (K = --seed) and "
                             "report per claim the pass fraction and the range of each "
                             "measured value; exit 0 only if every claim passes on every seed")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="run the claims in N worker processes (default 1: in this "
                             "process); results do not depend on N")
    return parser


def _check_report_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with status 2 and a one-line message if a report cannot be written."""
    paths = {"--json": args.json, "--markdown": args.markdown, "--html": args.html}
    for option, path in paths.items():
        if path is None:
            continue
        try:
            check_report_path(path)
        except ValueError as exc:
            parser.exit(2, f"{PROG}: error: {option} {path}: {exc}\n")
    given = [(option, path) for option, path in paths.items() if path is not None]
    for i, (first, path) in enumerate(given):
        for second, other in given[i + 1:]:
            if path.resolve() == other.resolve():
                parser.exit(2, f"{PROG}: error: {first} and {second} name the same file "
                               f"{path}\n")


def _running(claims: list, done: int) -> str:
    """The progress line's label: the claim that runs next (outcomes come in list order)."""
    return f"running {claims[done].id}" if done < len(claims) else ""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j/--jobs must be >= 1, got {args.jobs}")
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    for option, value in (("--no-figures", args.no_figures), ("--figures-dir", args.figures_dir)):
        if value and args.html is None:
            parser.error(f"{option} applies to --html only")
    if args.no_figures and args.figures_dir is not None:
        parser.error("--no-figures and --figures-dir exclude each other")
    if not args.list:
        _check_report_paths(parser, args)
        if args.figures_dir is not None:
            problem = directory_problem(args.figures_dir)
            if problem is not None:
                parser.exit(2, f"{PROG}: error: --figures-dir {args.figures_dir}: {problem}\n")
    claims = load_claims(args.setting)
    if args.claim:
        known = {c.id for c in claims}
        unknown = [i for i in args.claim if i not in known]
        if unknown:
            parser.error(f"unknown claim id(s) {unknown}; see --list")
        claims = [c for c in claims if c.id in args.claim]
    if args.list:
        for c in claims:
            print(f"{c.id}  [{c.setting}]  {c.statement}")
        return 0
    if args.json is not None:  # machine-read runs draw no progress bars
        os.environ[progress.ENVIRONMENT_VARIABLE] = "0"
    if args.seeds is not None:
        return _main_seeds(claims, list(range(args.seed, args.seed + args.seeds)), args)
    start = time.perf_counter()
    outcomes = []
    with progress.counter(len(claims), "claim", _running(claims, 0)) as done:
        for outcome in run_claims(claims, args.seed, args.jobs):
            outcomes.append(outcome)
            done.write(row(outcome))
            done.advance(_running(claims, len(outcomes)))
    wall = time.perf_counter() - start
    print(summary(outcomes, wall), flush=True)
    if args.json:
        to_json(outcomes, args.seed, args.json, wall)
    if args.markdown:
        to_markdown(outcomes, args.seed, args.markdown, wall)
    if args.html:
        to_html(outcomes, args.seed, args.html, wall, with_figures=not args.no_figures,
                figures_folder=args.figures_dir)
    return 0 if all(o.passed for o in outcomes) else 1


def _main_seeds(claims: list, seeds: list[int], args: argparse.Namespace) -> int:
    """``--seeds N``: every claim on every seed, one block per claim once its seeds are done."""
    start = time.perf_counter()
    outcomes, summaries = [], []
    tasks = [c for c in claims for _ in seeds]
    with progress.counter(len(tasks), "run", _running(tasks, 0)) as runs:
        for outcome in run_seeds(claims, seeds, args.jobs):
            outcomes.append(outcome)
            runs.advance(_running(tasks, len(outcomes)))
            if len(outcomes) % len(seeds) == 0:
                (done,) = summarize_seeds(outcomes[-len(seeds):])
                summaries.append(done)
                runs.write(seeds_row(done))
    wall = time.perf_counter() - start
    print(seeds_line(summaries, wall), flush=True)
    if args.json:
        seeds_to_json(summaries, seeds, args.json, wall)
    if args.markdown:
        seeds_to_markdown(summaries, seeds, args.markdown, wall)
    if args.html:
        seeds_to_html(summaries, seeds, args.html, wall, with_figures=not args.no_figures,
                      figures_folder=args.figures_dir)
    return 0 if all(s.passed for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
