"""The look shared by every figure and the one function that saves them.

Importing this module selects the non-interactive Agg backend, so drawing never needs a
display even if something imports pyplot. Figures are built as
:class:`matplotlib.figure.Figure` objects directly (no pyplot state).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (after the backend is chosen)

P = ParamSpec("P")
R = TypeVar("R")

FORMATS: tuple[str, ...] = ("png", "pdf", "svg")

RC: dict[str, object] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
}
"""rcParams applied while a setting draws (see :func:`styled`)."""

_METADATA: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None},
    "svg": {"Date": None},
}
"""Per format, the metadata entries that would change between runs, removed."""

_SVG_HASH_SALT = "overparam-theory"
"""Fixed salt for the ids matplotlib writes into SVG files (random by default)."""


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``draw`` with :data:`RC` in effect (restored afterwards)."""
    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(RC):
            return draw(*args, **kwargs)
    return wrapper


def save(fig: Figure, out_dir: Path, name: str, fmt: str) -> Path:
    """Write ``fig`` to ``out_dir/name.fmt`` with the same bytes on every run, atomically
    (into a temporary file in the same directory, then renamed over the target).

    Parameters
    ----------
    fig : Figure
    out_dir : Path
        Created if missing.
    name : str
        File name without extension.
    fmt : {'png', 'pdf', 'svg'}

    Returns
    -------
    Path
        The file written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.{fmt}"
    temporary = out_dir / f".{name}.{fmt}.{os.getpid()}.tmp"  # then renamed: atomic
    try:
        with matplotlib.rc_context({"svg.hashsalt": _SVG_HASH_SALT}):
            fig.savefig(temporary, format=fmt, metadata=_METADATA[fmt])
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
