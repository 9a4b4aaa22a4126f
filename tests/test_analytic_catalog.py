"""The catalog of closed forms and ``python -m analytic``: every registered ``*_expr``
function of every setting is listed and has a LaTeX and a MathML form; bad names exit 2."""
import importlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import sympy as sp

from analytic import catalog, stored
from analytic.__main__ import main
from theory.registry import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def registered(setting: str) -> dict:
    importlib.import_module(f"analytic.{setting}")
    return stored.EXPRESSIONS.get(setting, {})


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_registered_form_is_listed(setting, capsys):
    names = set(registered(setting))
    assert names, f"{setting} registers no *_expr function"
    assert all(registered(setting)[n].shown for n in names), "a form shown at no arguments"
    assert {f.name for f in catalog.forms(setting)} == names
    assert main([setting, "--list"]) == 0
    listed = set(re.findall(r"^  (\w+_expr)\(", capsys.readouterr().out, re.M))
    assert listed == names


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_part_has_latex_and_mathml(setting):
    for form in catalog.forms(setting):
        assert form.summary and form.sources, form.label
        assert all(s.startswith("docs/") for s in form.sources)
        for key, value in form.parts():
            assert catalog.latex(value).strip(), (form.label, key)
            element = ElementTree.fromstring(catalog.mathml(value))
            assert element.tag == "math" and len(element), (form.label, key)


def test_latex_is_the_expression_written_independently(capsys):
    """The chain's min-norm magnitude is p*^(1/L) (the interpolant's norm per layer)."""
    assert main(["linear_chain", "--latex", "--form", "min_norm_expr"]) == 0
    lines = capsys.readouterr().out.splitlines()
    p_star = sp.Symbol("p_star", positive=True)
    L = sp.Symbol("L", positive=True, integer=True)
    index = lines.index("% linear_chain.min_norm_expr()[magnitude]")
    assert lines[index + 1] == sp.latex(p_star ** (1 / L))


def test_sympy_text_parses_back_to_the_form(capsys):
    assert main(["deep_linear", "--sympy", "--form", "expected_excess_error_gd_expr"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    name, _, text = line.partition(" = ")
    assert name == "expected_excess_error_gd_expr()"
    form = stored.EXPRESSIONS["deep_linear"]["expected_excess_error_gd_expr"]()
    assert sp.simplify(sp.sympify(text, locals={s.name: s for s in form.free_symbols})
                       - form) == 0


def test_citations_keep_sections():
    text = "See docs/linear_chain.md §2b.2, §C2.1 and docs/max_margin.md."
    assert catalog.citations(text) == ("docs/linear_chain.md §2b.2, §C2.1",
                                       "docs/max_margin.md")


@pytest.mark.parametrize("argv,message", [
    (["not_a_setting"], "invalid choice"),
    (["linear_chain", "--form", "no_such_expr"], "unknown form"),
    (["linear_chain", "--latex", "--sympy"], "not allowed"),
])
def test_bad_names_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_listing_imports_no_sympy():
    code = ("import sys\nfrom analytic import catalog\nfrom theory.registry import SETTINGS\n"
            "n = sum(len(catalog.forms(s)) for s in SETTINGS)\n"
            "print(n > 0, 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]


def test_readme_example_is_how_the_output_begins():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Closed forms as LaTeX"):]
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    out = subprocess.run([sys.executable, "-m", "analytic", "linear_chain", "--latex"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(shown)
