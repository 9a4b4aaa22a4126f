"""Figures of the theory checks, one module per setting.

Each setting module (``figures.linear_chain``, ...) has a function
``draw(out_dir: Path, fmt: str) -> list[Path]`` that writes its figures and returns their
paths. :data:`SETTINGS` registers them; a new setting is one line there. Run everything
with ``python -m figures`` (see ``figures.__main__``).
"""
from __future__ import annotations

import importlib
from types import ModuleType

SETTINGS: dict[str, str] = {
    "deep_linear": "figures.deep_linear",
    "diagonal_linear": "figures.diagonal_linear",
    "linear_chain": "figures.linear_chain",
    "max_margin": "figures.max_margin",
}
"""Setting name -> module path of its figure module (imported lazily by :func:`load`)."""


def load(name: str) -> ModuleType:
    """Import and return the figure module of setting ``name`` (a key of :data:`SETTINGS`)."""
    return importlib.import_module(SETTINGS[name])
