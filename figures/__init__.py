"""Figures of the theory checks, one module per setting.

Each setting module (``figures.linear_chain``, ...) has a function ``figures()`` mapping
each figure's name to the function ``(out_dir: Path, fmt: str) -> Path`` that draws it
into ``out_dir/<setting>_<name>.<fmt>``; the settings are those of
:mod:`theory.registry`. :func:`draw` draws a setting's figures, yielding each file as it
is written; ``python -m figures`` (see ``figures.__main__``) draws them all.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

from theory import __version__  # noqa: F401  (one version for every package)


def load(name: str) -> ModuleType:
    """Import and return the figure module of setting ``name`` (one of
    :data:`theory.registry.SETTINGS`)."""
    return importlib.import_module(f"figures.{name}")


def draw(setting: str, out_dir: Path, fmt: str,
         only: Iterable[str] | None = None) -> Iterator[Path]:
    """Draw every figure of ``setting`` (or those named in ``only``) into ``out_dir`` in
    format ``fmt``, one at a time, yielding each file's path as soon as it is written."""
    registry = load(setting).figures()
    chosen = registry if only is None else {name: registry[name] for name in only}
    for draw_one in chosen.values():
        yield draw_one(out_dir, fmt)
