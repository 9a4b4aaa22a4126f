"""Closed forms derived with sympy, one module per setting (``analytic.linear_chain``, ...).

Each module exposes sympy expressions (``*_expr``) and numeric functions. Derivations are
lazy and cached: importing a module does not import sympy.
"""

from theory import __version__  # noqa: F401  (one version for every package)
