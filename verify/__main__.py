"""``python -m verify``: check every claim and print a verdict for each.

Exit status: 0 when every selected claim passes, 1 when any fails, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from theory import registry
from verify.claims import load_claims
from verify.runner import row, run_claims, summary, to_json, to_markdown


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__.split("\n")[0])
    parser.add_argument("--setting", choices=registry.SETTINGS, help="only this setting's claims")
    parser.add_argument("--claim", action="append", metavar="ID",
                        help="only this claim (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the claims and exit")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="write a Markdown report")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="run the claims in N worker processes (default 1: in this "
                             "process); results do not depend on N")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j/--jobs must be >= 1, got {args.jobs}")
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
    start = time.perf_counter()
    outcomes = []
    for outcome in run_claims(claims, args.seed, args.jobs):
        outcomes.append(outcome)
        print(row(outcome), flush=True)
    print(summary(outcomes, time.perf_counter() - start))
    if args.json:
        to_json(outcomes, args.seed, args.json)
    if args.markdown:
        to_markdown(outcomes, args.seed, args.markdown)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
