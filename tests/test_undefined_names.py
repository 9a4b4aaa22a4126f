"""Every name a module of the four packages and ``benchmarks`` reads is bound somewhere in
that module or is a builtin: a cheap guard against a renamed helper left behind in code that
the tests do not run (``python -m benchmarks.<setting>`` once called a removed
``_compile_times``)."""
from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("theory", "analytic", "verify", "figures", "benchmarks")
MODULE_NAMES = {"__file__", "__name__", "__doc__", "__spec__", "__package__", "__path__",
                "__builtins__", "__loader__", "__annotations__", "__dict__", "__module__",
                "__qualname__", "__class__"}


def _bound(tree: ast.AST) -> set[str]:
    """Every name the module binds, at any scope."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return names


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_name_read_is_bound(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    known = _bound(tree) | set(dir(builtins)) | MODULE_NAMES
    unbound = sorted({node.id for node in ast.walk(tree)
                      if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                      and node.id not in known})
    assert not unbound, f"{path.relative_to(ROOT)} reads names bound nowhere: {unbound}"
