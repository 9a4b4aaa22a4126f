"""Progress bars for long loops, shown only to a person watching a terminal.

A bar (tqdm, on standard error) appears when standard error is a terminal and the
environment variable ``OVERPARAM_PROGRESS`` is not ``"0"``; otherwise the loop runs
unchanged and prints nothing. ``python -m verify`` sets the variable to ``"0"`` under
``--json`` and in its worker processes (``-j``), where bars of several processes would
interleave.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

T = TypeVar("T")

ENVIRONMENT_VARIABLE = "OVERPARAM_PROGRESS"


def enabled() -> bool:
    """Whether :func:`progress` draws a bar (module docstring)."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "1") != "0" and sys.stderr.isatty()


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterable[T]:
    """``items`` with a progress bar labelled ``description`` when :func:`enabled`, else
    ``items`` itself. The bar disappears when the loop ends."""
    if not enabled():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, total=total, leave=False, file=sys.stderr)
