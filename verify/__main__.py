"""``python -m verify``: check every claim and print a verdict for each.

Exit status: 0 when every selected claim passes, 1 when any fails, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verify.claims import SETTINGS, load_claims
from verify.runner import row, run_claim, summary, to_json, to_markdown


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__.split("\n")[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), help="only this setting's claims")
    parser.add_argument("--claim", action="append", metavar="ID",
                        help="only this claim (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the claims and exit")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="write a Markdown report")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
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
    outcomes = []
    for claim in claims:
        outcome = run_claim(claim, args.seed)
        outcomes.append(outcome)
        print(row(outcome), flush=True)
    print(summary(outcomes))
    if args.json:
        to_json(outcomes, args.seed, args.json)
    if args.markdown:
        to_markdown(outcomes, args.seed, args.markdown)
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
