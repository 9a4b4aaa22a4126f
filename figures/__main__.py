"""Draw the figures: ``python -m figures [--only NAME] [--out DIR] [--format png|pdf|svg]``.

Prints the path of every file written. The files are byte-for-byte reproducible.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from figures import load
from figures.style import FORMATS
from theory.registry import SETTINGS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line (``--only`` an unknown setting exits with status 2)."""
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    parser.add_argument("--only", choices=SETTINGS, metavar="NAME",
                        help=f"draw one setting only, one of: {', '.join(SETTINGS)}")
    parser.add_argument("--out", type=Path, default=Path("figures-out"),
                        help="output directory (default: figures-out/)")
    parser.add_argument("--format", choices=FORMATS, default="png", dest="fmt",
                        help="file format (default: png)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Draw the selected settings into ``--out`` and print each written path."""
    args = parse_args(argv)
    for name in [args.only] if args.only else SETTINGS:
        for path in load(name).draw(args.out, args.fmt):
            print(path)


if __name__ == "__main__":
    main()
