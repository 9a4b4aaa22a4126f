"""The closed forms of every setting, listed and printed: ``python -m analytic`` and the
HTML report of ``python -m verify --html``.

A closed form is one registered ``*_expr`` function of ``analytic.<setting>``
(:data:`analytic.stored.EXPRESSIONS`) at one of the argument values it is shown at (its
``shown`` values: by default those it is stored at). Its summary is the first paragraph
of its docstring, its sources the sections of ``docs/`` that docstring cites (else those
its module's docstring cites). Its value (a sympy expression, or a dict of them) is split
into parts, one per dict key (nested keys joined by ``.``), each printable as sympy text,
LaTeX (``sympy.latex``) or presentation MathML (``sympy.printing.mathml``).

Listing the catalog imports no sympy; evaluating a form parses its stored derivation
(sympy).
"""
from __future__ import annotations

import html
import html.entities
import importlib
import inspect
import re
from dataclasses import dataclass
from typing import Callable

from analytic import stored
from theory import registry

_SECTION_SIGN = "\u00a7"
_SECTION = rf"{_SECTION_SIGN}[\w.]+"
_CITATION = re.compile(rf"docs/[\w.]+\.md(?:\s+{_SECTION}(?:,\s*{_SECTION})*)?")
"""A cited docs page with its sections, e.g. ``docs/linear_chain.md §2b.4, §C2.1``."""


@dataclass(frozen=True)
class ClosedForm:
    """One registered ``*_expr`` function of a setting at one argument tuple.

    Attributes
    ----------
    setting : str
    name : str
        The ``*_expr`` function's name in ``analytic.<setting>``.
    arguments : tuple
        The argument values it is evaluated at.
    summary : str
        What it is: the first paragraph of its docstring, on one line.
    sources : tuple of str
        The sections of ``docs/`` its docstring cites (else its module's).
    """

    setting: str
    name: str
    arguments: tuple
    summary: str
    sources: tuple[str, ...]

    @property
    def label(self) -> str:
        """``name(arguments)``, the call that gives the form."""
        return f"{self.name}({', '.join(repr(a) for a in self.arguments)})"

    @property
    def function(self) -> Callable:
        """The registered ``*_expr`` function."""
        return stored.EXPRESSIONS[self.setting][self.name]

    def value(self):
        """The form's sympy value (an expression, a container of them, or a dict)."""
        return self.function(*self.arguments)

    def parts(self) -> list[tuple[str, object]]:
        """The value split at dict keys: (key path, sympy value) pairs; a value that is not
        a dict is one part with an empty key."""
        return list(_flatten("", self.value()))


def _flatten(prefix: str, value) -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [part for key, item in value.items()
                for part in _flatten(f"{prefix}.{key}" if prefix else str(key), item)]
    return [(prefix, value)]


def _paragraph(text: str | None) -> str:
    """The first paragraph of a docstring, whitespace collapsed."""
    first = inspect.cleandoc(text or "").split("\n\n")[0]
    return " ".join(first.split())


def citations(text: str | None) -> tuple[str, ...]:
    """The citations of ``docs/`` pages in ``text`` (a page and the sections named after
    it), in order, without repeats."""
    found = [" ".join(c.split()) for c in _CITATION.findall(text or "")]
    return tuple(dict.fromkeys(found))


def forms(setting: str) -> list[ClosedForm]:
    """The closed forms of ``setting`` (one of :data:`theory.registry.SETTINGS`), in the
    order the module defines its ``*_expr`` functions, each at its shown arguments."""
    if setting not in registry.SETTINGS:
        raise ValueError(f"setting must be one of {registry.SETTINGS}, got {setting!r}")
    module = importlib.import_module(f"analytic.{setting}")
    fallback = citations(module.__doc__)
    listed = []
    for name, function in stored.EXPRESSIONS.get(setting, {}).items():
        sources = citations(function.__doc__) or fallback
        for arguments in function.shown:
            listed.append(ClosedForm(setting, name, tuple(arguments),
                                     _paragraph(function.__doc__), sources))
    return listed


# --------------------------------------------------------------------------- printing


def sympy_text(value) -> str:
    """``value`` as sympy prints it (``str``)."""
    return str(value)


def latex(value) -> str:
    """``value`` as LaTeX (``sympy.latex``; lists and tuples as bracketed lists)."""
    import sympy as sp

    return sp.latex(value)


def mathml(value) -> str:
    """``value`` as one presentation-MathML ``<math>`` element (``sympy.printing.mathml``
    with ``printer="presentation"``; a list or tuple as a bracketed, comma-separated row),
    for a browser to render without scripts. Named entities beyond XML's five (sympy
    writes ``&InvisibleTimes;``, ``&pi;``, ...) become numeric character references, so
    the element is well-formed XML as well as HTML."""
    row = _NAMED_ENTITY.sub(_numeric_reference, _mathml_row(value))
    return f'<math display="block">{row}</math>'


_NAMED_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|apos);)([A-Za-z][A-Za-z0-9]*);")


def _numeric_reference(match: re.Match) -> str:
    characters = html.entities.html5.get(match.group(1) + ";")
    if characters is None:
        raise ValueError(f"unknown entity {match.group(0)} in sympy's MathML")
    return "".join(f"&#x{ord(c):X};" for c in characters)


def _mathml_row(value) -> str:
    import sympy as sp
    from sympy.printing.mathml import mathml as print_mathml

    if isinstance(value, (list, tuple)):
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        items = "<mo>,</mo>".join(_mathml_row(item) for item in value)
        return f"<mrow><mo>{opening}</mo>{items}<mo>{closing}</mo></mrow>"
    if isinstance(value, str):
        return f"<mtext>{html.escape(value)}</mtext>"
    return print_mathml(sp.sympify(value), printer="presentation")
