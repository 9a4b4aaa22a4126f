"""No package reaches into another's private names: whatever a package (or the tests)
needs from another is public in a public module."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "analytic", "verify", "figures", "benchmarks")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def crossings(path: Path) -> list[str]:
    """Private names of other packages used in ``path``: ``from pkg.mod import _x``,
    ``import pkg._mod``, ``alias._x`` on an imported module of another package."""
    own = path.relative_to(ROOT).parts[0]
    tree = ast.parse(path.read_text())
    modules, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top in PACKAGES and top != own:
                if any(_private(part) for part in node.module.split(".")):
                    found.append(f"from {node.module} import ...")
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"from {node.module} import {alias.name}")
                    modules[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in PACKAGES and top != own:
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"import {alias.name}")
                    modules[alias.asname or top] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in modules):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


FILES = sorted(p for top in (*PACKAGES, "tests") for p in (ROOT / top).glob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_private_names_cross_package_boundaries(path):
    assert crossings(path) == []
