"""Figures of the theory checks, one module per setting.

Each setting module (``figures.linear_chain``, ...) has a function
``draw(out_dir: Path, fmt: str) -> list[Path]`` that writes its figures and returns their
paths; the settings are those of :mod:`theory.registry`. Run everything with
``python -m figures`` (see ``figures.__main__``).
"""
from __future__ import annotations

import importlib
from types import ModuleType


def load(name: str) -> ModuleType:
    """Import and return the figure module of setting ``name`` (one of
    :data:`theory.registry.SETTINGS`)."""
    return importlib.import_module(f"figures.{name}")
