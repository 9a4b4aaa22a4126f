"""The settings: the one list that ``verify``, ``figures``, ``benchmarks`` and the tests read.

A setting is a row; the top-level packages are its columns, each holding a module of the
setting's name (``theory.<name>``, ``analytic.<name>``, ...). Adding a setting is adding
its name here and writing those modules (README, "Adding a setting");
``tests/test_setting_contract.py`` checks that every column exports its contract.
"""
from __future__ import annotations

import importlib
from types import ModuleType

SETTINGS: tuple[str, ...] = ("linear_chain", "max_margin", "deep_linear", "diagonal_linear",
                             "relu_network", "orthogonal", "conditioning",
                             "weightnorm_hessian", "modular_norm", "flat_minima",
                             "implicit_gradient")
"""Every setting, in the order reports list them."""

COLUMNS: tuple[str, ...] = ("theory", "analytic", "verify", "figures", "benchmarks")
"""The packages holding one module per setting (``benchmarks`` only in a checkout)."""


def setting_module(column: str, setting: str) -> ModuleType:
    """Import ``<column>.<setting>``, e.g. ``setting_module("verify", "max_margin")``."""
    if column not in COLUMNS:
        raise ValueError(f"column must be one of {COLUMNS}, got {column!r}")
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    return importlib.import_module(f"{column}.{setting}")
