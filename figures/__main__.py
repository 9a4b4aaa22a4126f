"""``python -m figures``: draw the figures of every setting (or of one setting, or chosen
figures) into a directory.

Prints one line per file as soon as it is written (its path and the seconds it took),
then the total. The files are byte-for-byte reproducible. Exit status 2 on a usage
error, including an output directory that cannot be created or written (checked before
anything is drawn).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from figures import __version__, draw, load
from theory.output_files import directory_problem
from figures.style import FORMATS
from theory.registry import SETTINGS

PROG = "python -m figures"

DESCRIPTION = """\
Draw the figures of the theory checks (all settings, one setting, or chosen
figures) into a directory. Prints each file's path and the seconds it took as
soon as it is written. The same command draws the same bytes."""


def stems() -> dict[str, tuple[str, str]]:
    """Every figure's file stem -> (setting, figure name), in registry order."""
    return {f"{setting}_{name}": (setting, name)
            for setting in SETTINGS for name in load(setting).figures()}


def check_out_dir(out: Path) -> None:
    """Raise ValueError (a one-line message) if figures cannot be written into ``out``
    (:func:`theory.output_files.directory_problem`; ``out`` is created with its parents)."""
    problem = directory_problem(out)
    if problem is not None:
        raise ValueError(problem)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line (an unknown setting or figure, or an unusable --out, exits with status 2)."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--only", choices=SETTINGS, metavar="NAME",
                        help=f"draw one setting only, one of: {', '.join(SETTINGS)}")
    parser.add_argument("--figure", action="append", metavar="STEM",
                        help="draw only this figure (its file name without extension, e.g. "
                             "linear_chain_phase_plane; repeatable; see --list)")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    parser.add_argument("--out", type=Path, default=Path("figures-out"), metavar="DIR",
                        help="output directory, created if missing (default: figures-out)")
    parser.add_argument("--format", choices=FORMATS, default="png", dest="fmt",
                        help="file format (default: png)")
    args = parser.parse_args(argv)
    if not args.list:
        try:
            check_out_dir(args.out)
        except ValueError as exc:
            parser.exit(2, f"{PROG}: error: --out {args.out}: {exc}\n")
    known = stems()
    for stem in args.figure or ():
        if stem not in known:
            parser.error(f"unknown figure {stem!r}; --list shows the {len(known)} figures")
    return args


def main(argv: list[str] | None = None) -> int:
    """Draw the selected figures into ``--out``, printing each written path with its time."""
    args = parse_args(argv)
    known = stems()
    if args.list:
        for stem in known:
            print(stem)
        return 0
    chosen: dict[str, list[str] | None] = {}
    if args.figure:
        for stem in args.figure:
            setting, name = known[stem]
            chosen.setdefault(setting, []).append(name)
    else:
        chosen = {name: None for name in ([args.only] if args.only else SETTINGS)}
    start = last = time.perf_counter()
    written = 0
    for setting, names in chosen.items():
        for path in draw(setting, args.out, args.fmt, only=names):
            now = time.perf_counter()
            print(f"{path}  ({now - last:.1f} s)", flush=True)
            last, written = now, written + 1
    print(f"{written} {'figure' if written == 1 else 'figures'} in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
