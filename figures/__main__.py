"""Draw the figures: ``python -m figures [--only NAME] [--figure STEM ...] [--out DIR]
[--format png|pdf|svg] [--list]``.

Prints the path of every file written. The files are byte-for-byte reproducible.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from figures import draw, load
from figures.style import FORMATS
from theory.registry import SETTINGS


def stems() -> dict[str, tuple[str, str]]:
    """Every figure's file stem -> (setting, figure name), in registry order."""
    return {f"{setting}_{name}": (setting, name)
            for setting in SETTINGS for name in load(setting).figures()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line (an unknown setting or figure exits with status 2)."""
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    parser.add_argument("--only", choices=SETTINGS, metavar="NAME",
                        help=f"draw one setting only, one of: {', '.join(SETTINGS)}")
    parser.add_argument("--figure", action="append", metavar="STEM",
                        help="draw only this figure (its file name without extension, e.g. "
                             "linear_chain_phase_plane; repeatable; see --list)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("--out", type=Path, default=Path("figures-out"),
                        help="output directory (default: figures-out/)")
    parser.add_argument("--format", choices=FORMATS, default="png", dest="fmt",
                        help="file format (default: png)")
    args = parser.parse_args(argv)
    known = stems()
    for stem in args.figure or ():
        if stem not in known:
            parser.error(f"unknown figure {stem!r}; --list shows the {len(known)} figures")
    return args


def main(argv: list[str] | None = None) -> None:
    """Draw the selected figures into ``--out`` and print each written path."""
    args = parse_args(argv)
    known = stems()
    if args.list:
        for stem in known:
            print(stem)
        return
    chosen: dict[str, list[str] | None] = {}
    if args.figure:
        for stem in args.figure:
            setting, name = known[stem]
            chosen.setdefault(setting, []).append(name)
    else:
        chosen = {name: None for name in ([args.only] if args.only else SETTINGS)}
    for setting, names in chosen.items():
        for path in draw(setting, args.out, args.fmt, only=names):
            print(path)


if __name__ == "__main__":
    main()
