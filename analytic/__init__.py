"""Closed forms derived with sympy, one module per setting (``analytic.linear_chain``, ...).

Each module exposes sympy expressions (``*_expr``) and numeric functions. The derivations'
results are stored in the package (``analytic/_generated``, written by ``python -m
analytic.generate``), so first use does not wait for sympy: importing a module does not
import sympy, a numeric function runs generated NumPy code, and a ``*_expr`` function parses
its stored form. ``f.derive(...)`` on a ``*_expr`` function ``f``, or any call inside
``with analytic.live():``, derives with sympy instead.
"""

from theory import __version__  # noqa: F401  (one version for every package)
from analytic.stored import live

__all__ = ["live", "__version__"]
