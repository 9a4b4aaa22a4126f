"""``python -m analytic``: list the closed forms of a setting, or print them as sympy
expressions or LaTeX.

Exit status 0, or 2 on a usage error (an unknown setting or form name).
"""
from __future__ import annotations

import argparse
import os
import sys

from analytic import __version__, catalog
from theory.registry import SETTINGS

PROG = "python -m analytic"

DESCRIPTION = """\
The closed forms of the settings (the registered *_expr functions of
analytic.<setting>, derived with sympy): list them with what each is and the
docs section it is derived in, or print them as sympy expressions or LaTeX."""

EPILOG = """\
examples:
  python -m analytic                          every setting's closed forms
  python -m analytic linear_chain --latex     the chain's closed forms as LaTeX
  python -m analytic deep_linear --sympy --form saxe_mode_expr"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("setting", nargs="?", choices=SETTINGS, metavar="SETTING",
                        help=f"one of: {', '.join(SETTINGS)} (default: every setting)")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--list", action="store_const", const="list", dest="show",
                       help="list the forms: name, what it is, source, parts (the default)")
    shown.add_argument("--latex", action="store_const", const="latex", dest="show",
                       help="print every part as LaTeX (sympy.latex), each after a "
                            "%% comment naming it")
    shown.add_argument("--sympy", action="store_const", const="sympy", dest="show",
                       help="print every part as a sympy expression")
    parser.add_argument("--form", action="append", metavar="NAME",
                        help="only this *_expr function (repeatable)")
    parser.set_defaults(show="list")
    return parser


def _part_name(form: catalog.ClosedForm, key: str) -> str:
    return f"{form.label}[{key}]" if key else form.label


def _print_list(form: catalog.ClosedForm) -> None:
    print(f"  {form.label}")
    print(f"      {form.summary}")
    print(f"      source: {'; '.join(form.sources) or 'not cited'}")
    keys = [key for key, _ in form.parts() if key]
    if keys:
        print(f"      parts: {', '.join(keys)}")


def _print_values(form: catalog.ClosedForm, show: str) -> None:
    for key, value in form.parts():
        if show == "latex":
            print(f"% {form.setting}.{_part_name(form, key)}")
            print(catalog.latex(value))
        else:
            print(f"{_part_name(form, key)} = {catalog.sympy_text(value)}")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = [args.setting] if args.setting else list(SETTINGS)
    selected = {s: catalog.forms(s) for s in settings}
    if args.form:
        known = {f.name for listed in selected.values() for f in listed}
        unknown = [name for name in args.form if name not in known]
        if unknown:
            parser.error(f"unknown form(s) {unknown}; see {PROG} {args.setting or ''} --list")
        selected = {s: [f for f in listed if f.name in args.form]
                    for s, listed in selected.items()}
    for setting, listed in selected.items():
        if not listed:
            continue
        if args.show == "list":
            print(f"{setting}: {len(listed)} closed form{'s' if len(listed) != 1 else ''}")
            for form in listed:
                _print_list(form)
        else:
            if args.show == "latex":
                print(f"% ---- {setting}")
            for form in listed:
                _print_values(form, args.show)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader stopped early (e.g. `| head`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
