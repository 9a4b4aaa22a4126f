"""Stored results of the sympy derivations, so that first use does not wait for sympy.

Every derivation of ``analytic.<setting>`` is written as a function that derives its result
with sympy; two decorators register it here:

- :func:`expression` for the public ``*_expr`` functions. Their results for the argument
  values listed in the decorator are stored as ``sympy.srepr`` text in
  ``analytic/_generated/<setting>_forms.py`` and parsed back (``sympy.parse_expr``) on
  first use; other argument values (a depth not stored) are derived.
- :func:`numeric` for the numeric functions built from the derivations. Each returns a
  :class:`Form` (arguments and expression); the expression is printed once as NumPy (or
  ``math``) source into ``analytic/_generated/<setting>.py``, a plain module that imports
  numpy and math only. Argument values not stored are lambdified from the (stored or
  derived) expressions.

``python -m analytic.generate`` re-derives everything and writes both files; the test
``tests/test_analytic_stored_forms.py`` re-derives everything and compares. Inside
``with live():`` every registered function derives with sympy instead of loading (each
also has ``.derive(...)``, the same for one call). Importing this module imports neither
sympy nor the generated modules.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import keyword
from dataclasses import dataclass
from typing import Callable, Iterator

_LIVE = False

EXPRESSIONS: dict[str, dict[str, Callable]] = {}
"""setting -> name -> registered ``*_expr`` function (in definition order)."""

NUMERIC: dict[str, dict[str, "Numeric"]] = {}
"""setting -> name -> registered numeric form (in definition order)."""

PRINTERS = ("numpy", "math")
"""The code printers of numeric forms: NumPy (arrays) or the ``math`` module (scalars,
fast inside ``scipy.integrate.quad``)."""


@contextlib.contextmanager
def live() -> Iterator[None]:
    """Within this block every registered derivation is derived with sympy (cached apart
    from the stored forms) and numeric forms are lambdified from the live derivations."""
    global _LIVE
    previous, _LIVE = _LIVE, True
    try:
        yield
    finally:
        _LIVE = previous


def is_live() -> bool:
    """True inside :func:`live`."""
    return _LIVE


def _bind(function: Callable) -> Callable[..., tuple]:
    """The argument values of a call as a tuple, defaults applied (the cache key)."""
    signature = inspect.signature(function)

    def key(*args, **kwargs) -> tuple:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    return key


@functools.lru_cache(maxsize=None)
def _generated(setting: str, suffix: str = ""):
    return importlib.import_module(f"analytic._generated.{setting}{suffix}")


def generated_forms(setting: str) -> dict[tuple, str]:
    """The stored forms of ``setting``: (name, *args) -> ``sympy.srepr`` text."""
    return _generated(setting, "_forms").FORMS


def generated_function(setting: str, name: str, args: tuple = ()) -> Callable | None:
    """The generated function of the numeric form ``name`` at ``args``, or None."""
    return getattr(_generated(setting), function_name(name, args), None)


def generated_function_names(setting: str) -> set[str]:
    """Names of every function defined in the generated module of ``setting``."""
    module = _generated(setting)
    return {n for n, f in vars(module).items()
            if inspect.isfunction(f) and f.__module__ == module.__name__}


def parse(text: str):
    """A stored form: the ``sympy.srepr`` text evaluated by ``sympy.parse_expr`` with no
    transformations (dicts, lists and tuples of sympy objects come back as such)."""
    import sympy as sp

    return sp.parse_expr(text, transformations=())


def expression(setting: str, stored: tuple[tuple, ...] = ((),),
               canonical: Callable[..., tuple] | None = None,
               shown: tuple[tuple, ...] | None = None) -> Callable:
    """Register a derivation as a stored ``*_expr`` function of ``analytic.<setting>``.

    Parameters
    ----------
    setting : str
        The module's setting name.
    stored : tuple of tuples
        The argument values (after ``canonical``) whose results are stored.
    canonical : callable, optional
        Maps the call's arguments to the canonical tuple (validating them, so that bad
        input raises ValueError before sympy is imported); default: the bound arguments
        with defaults applied.
    shown : tuple of tuples, optional
        The argument values whose results the catalog lists and prints
        (:mod:`analytic.catalog`, ``python -m analytic``); default: ``stored``.
    """
    def decorate(derive: Callable) -> Callable:
        key = canonical or _bind(derive)

        @functools.lru_cache(maxsize=None)
        def derived(*args):
            return derive(*args)

        @functools.lru_cache(maxsize=None)
        def loaded(*args):
            text = generated_forms(setting).get((derive.__name__,) + args)
            return derive(*args) if text is None else parse(text)

        @functools.wraps(derive)
        def function(*args, **kwargs):
            values = key(*args, **kwargs)
            return derived(*values) if _LIVE else loaded(*values)

        def derive_now(*args, **kwargs):
            with live():
                return function(*args, **kwargs)

        def cache_clear() -> None:
            loaded.cache_clear()
            derived.cache_clear()

        function.cache_info = loaded.cache_info
        function.cache_clear = cache_clear
        function.derive = derive_now
        function.stored = tuple(stored)
        function.shown = tuple(stored if shown is None else shown)
        EXPRESSIONS.setdefault(setting, {})[derive.__name__] = function
        return function

    return decorate


@dataclass(frozen=True)
class Form:
    """A numeric form: ``arguments`` (sympy symbols, or tuples of symbols for an argument
    unpacked from a sequence), the sympy ``expression`` (an expression, a list or a
    Matrix), the code ``printer`` (one of :data:`PRINTERS`) and ``functions``: names of
    undefined sympy functions in the expression -> the dotted name of the function to
    call (e.g. ``{"hypot": "numpy.hypot"}``)."""

    arguments: tuple
    expression: object
    printer: str = "numpy"
    functions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Numeric:
    """A registered numeric form: ``build(*args)`` returns its :class:`Form`; ``stored``
    lists the argument values printed into the generated module; ``samples(*args)`` gives
    argument tuples at which the stored function is compared with the live derivation."""

    setting: str
    name: str
    build: Callable[..., Form]
    stored: tuple[tuple, ...]
    samples: Callable[..., list[tuple]]
    get: Callable


def function_name(name: str, args: tuple) -> str:
    """Name of the generated function for the numeric form ``name`` at ``args``."""
    return "_".join([name.lstrip("_")] + [str(a) for a in args])


def lambdify(form: Form) -> Callable:
    """The form as a function, by ``sympy.lambdify`` (the live and not-stored path)."""
    import numpy as np
    import sympy as sp

    namespace = {name: _resolve(target, np) for name, target in form.functions}
    return sp.lambdify(form.arguments, form.expression, [namespace, form.printer])


def _resolve(dotted: str, np):
    module, _, attribute = dotted.partition(".")
    if module != "numpy":
        raise ValueError(f"functions must come from numpy, got {dotted!r}")
    return getattr(np, attribute)


def numeric(setting: str, stored: tuple[tuple, ...] = ((),),
            samples: Callable[..., list[tuple]] | None = None) -> Callable:
    """Register a numeric form of ``analytic.<setting>``: the decorated ``build(*args)``
    returns a :class:`Form`; the decorator returns ``get(*args)``, the function (generated
    source if stored, else lambdified; lambdified from the live derivation inside
    :func:`live`). ``samples(*args)`` lists argument tuples for the comparison test."""
    def decorate(build: Callable[..., Form]) -> Callable:
        @functools.lru_cache(maxsize=None)
        def derived(*args):
            return lambdify(build(*args))

        @functools.lru_cache(maxsize=None)
        def loaded(*args):
            generated = generated_function(setting, build.__name__, args)
            return lambdify(build(*args)) if generated is None else generated

        @functools.wraps(build)
        def get(*args):
            return derived(*args) if _LIVE else loaded(*args)

        NUMERIC.setdefault(setting, {})[build.__name__] = Numeric(
            setting, build.__name__, build, tuple(stored), samples or (lambda *args: []), get)
        return get

    return decorate


# --------------------------------------------------------------------------- source


def _identifier(name: str) -> str:
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"{name}_"


def source(name: str, form: Form) -> str:
    """Python source of ``def name(...)`` evaluating ``form`` with the printer of
    ``form.printer``: NumPy's (``numpy.sqrt``, ``numpy.array`` for matrices) or Python's
    (``math.sqrt``), names fully qualified."""
    import sympy as sp
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import PythonCodePrinter

    if form.printer not in PRINTERS:
        raise ValueError(f"printer must be one of {PRINTERS}, got {form.printer!r}")
    settings = {"fully_qualified_modules": True, "allow_unknown_functions": True,
                "user_functions": {n: n for n, _ in form.functions}}
    printer = NumPyPrinter(settings) if form.printer == "numpy" else PythonCodePrinter(settings)
    renamed, parameters, unpacking = {}, [], []
    for i, argument in enumerate(form.arguments):
        if isinstance(argument, (tuple, list)):
            parameters.append(f"_arg{i}")
            names = [_identifier(a.name) for a in argument]
            unpacking.append(f"    [{', '.join(names)}] = _arg{i}")
            members = argument
        else:
            parameters.append(_identifier(argument.name))
            members = (argument,)
        for symbol in members:
            renamed[symbol] = sp.Symbol(_identifier(symbol.name))
    expression = form.expression
    leaves = expression if isinstance(expression, (list, tuple)) else [expression]
    free = set().union(*(sp.sympify(leaf).free_symbols for leaf in leaves))
    if not free <= set(renamed):
        raise ValueError(f"{name}: free symbols {free - set(renamed)} are not arguments")
    if isinstance(expression, (list, tuple)):
        body = "[" + ", ".join(printer.doprint(sp.sympify(e).xreplace(renamed))
                               for e in expression) + "]"
    else:
        body = printer.doprint(sp.sympify(expression).xreplace(renamed))
    lines = [f"def {name}({', '.join(parameters)}):", *unpacking, f"    return {body}"]
    return "\n".join(lines) + "\n"
