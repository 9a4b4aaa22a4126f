"""The HTML report of python -m verify --html: texts escaped, figures embedded as drawn,
closed forms as MathML, deterministic apart from timings and versions, paths checked
before any work, the template shipped with the package."""
import base64
import configparser
import fnmatch
import re
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from matplotlib.figure import Figure

from analytic import stored
from figures.style import save
from theory import registry as theory_registry
from verify import __main__ as verify_cli
from verify import html_report
from verify.claims import Claim, Evidence
from verify.runner import Outcome

ROOT = Path(__file__).resolve().parents[1]

NASTY = "a < b && c > d <br> <script>alert(1)</script> \"quoted\" 'single' &amp;"


class Texts(HTMLParser):
    """The page's text content, and the ``src`` of every image."""

    def __init__(self):
        super().__init__()
        self.text, self.images = [], []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def parse(page: str) -> Texts:
    texts = Texts()
    texts.feed(page)
    return texts


def mask(page: str) -> str:
    """The page with every volatile value (timings, versions, platform) blanked."""
    return re.sub(r'(<span class="volatile">)[^<]*(</span>)', r"\1\2", page)


def _claim(claim_id: str, setting: str = "fake", failing: bool = False) -> Claim:
    return Claim(claim_id, setting, NASTY, NASTY, NASTY, NASTY, lambda rng: None,
                 "Monte Carlo; pseudo-inverse", failing_regime=failing)


def _outcomes(setting: str = "fake") -> list[Outcome]:
    return [Outcome(_claim(f"{setting}.pass", setting), Evidence({"x": 1.5}, {"x": 1.5}, True,
                                                                 note=NASTY), 0.25),
            Outcome(_claim(f"{setting}.fail", setting, failing=True),
                    Evidence({"y": 2.0}, {"y": 1.0}, False), 1.5),
            Outcome(_claim(f"{setting}.error", setting), None, 0.75,
                    "Traceback (most recent call last):\nRuntimeError: <bad>\n")]


def _draw_square(out_dir: Path, fmt: str) -> Path:
    """A small test figure.

    More text that is not the caption."""
    fig = Figure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1], [0, 1])
    return save(fig, out_dir, "fake_square", fmt)


@pytest.fixture
def fake_setting(monkeypatch) -> list:
    """One fake setting with a claim and a figure; the list records each run of the check."""
    runs = []

    def check(rng):
        runs.append(rng)
        return Evidence({"x": 1.0}, {"x": 1.0}, True)

    claims = types.ModuleType("verify_fake")
    claims.CLAIMS = [Claim("fake.claim", "fake", "s", "src", "r", "tol", check, "Monte Carlo")]
    drawings = types.ModuleType("figures_fake")
    drawings.figures = lambda: {"square": _draw_square}
    forms = types.ModuleType("analytic_fake", "Fake closed forms (docs/linear_chain.md).")

    def square_expr():
        """x squared (docs/linear_chain.md §2b.1)."""
        return sp.Symbol("x") ** 2

    square_expr.shown = ((),)
    monkeypatch.setitem(stored.EXPRESSIONS, "fake", {"square_expr": square_expr})
    monkeypatch.setitem(sys.modules, "analytic.fake", forms)
    monkeypatch.setitem(sys.modules, "verify.fake", claims)
    monkeypatch.setitem(sys.modules, "figures.fake", drawings)
    monkeypatch.setattr(theory_registry, "SETTINGS", ("fake",))
    return runs


def test_texts_are_escaped_and_shown_as_written():
    page = html_report.html(_outcomes(), seed=3)
    assert "<script>" not in page and "<br>" not in page
    text = " ".join(parse(page).text)
    assert text.count(NASTY) >= 4 * 3  # statement, source, regime, tolerance of each claim
    assert "RuntimeError: <bad>" in text


def test_summary_and_claims_carry_verdicts_methods_and_failing_regimes():
    page = html_report.html(_outcomes(), seed=3, wall_seconds=2.5)
    text = " ".join(" ".join(parse(page).text).split())
    assert "3 claims: 1 passed, 1 failed, 1 errors" in text
    assert "Root seed 3" in text
    for verdict in ("PASS", "FAIL", "ERROR"):
        assert f'class="{verdict}">{verdict}<' in page
    assert text.count("Monte Carlo; pseudo-inverse") == 3
    failing = page[page.index("Where it is known to fail"):page.index("Closed forms")]
    assert "fake.fail" in failing and "fake.pass" not in failing


def test_closed_forms_and_figures_are_embedded(tmp_path):
    forms = html_report.closed_forms(["linear_chain"])
    drawn = {"linear_chain": [html_report.EmbeddedFigure(
        "fake_square", "A small test figure.",
        base64.b64encode(_draw_square(tmp_path, "png").read_bytes()).decode())]}
    page = html_report.html(_outcomes("linear_chain"), 0, 1.0, forms, drawn)
    assert page.count("<math") == sum(len(f.parts) for f in forms["linear_chain"]) > 0
    (src,) = parse(page).images
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == (tmp_path / "fake_square.png").read_bytes()
    assert "http://" not in page and "https://" not in page  # nothing from the network
    maps = page[page.index("Regime maps"):page.index("Closed forms")]
    assert "linear_chain_damping" in maps and "linear_chain.map.damping" in maps


def test_two_renders_differ_only_in_timings_and_versions(tmp_path, fake_setting, monkeypatch):
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    assert verify_cli.main(["--html", str(first)]) == 0
    real = html_report.versions()
    monkeypatch.setattr(html_report, "versions", lambda: {name: "0.0.0" for name in real})
    assert verify_cli.main(["--html", str(second)]) == 0
    a, b = first.read_text(), second.read_text()
    assert a != b  # the versions differ
    assert mask(a) == mask(b)
    assert len(fake_setting) == 2


def test_cli_writes_the_report_with_the_figures_of_the_settings_that_ran(tmp_path,
                                                                         fake_setting):
    path = tmp_path / "r.html"
    assert verify_cli.main(["--html", str(path)]) == 0
    page = path.read_text()
    (src,) = parse(page).images
    drawn = _draw_square(tmp_path, "png").read_bytes()
    assert base64.b64decode(src.split(",", 1)[1]) == drawn
    assert "A small test figure." in page and "More text" not in page
    assert page.count("<math") == 1 and "square_expr()" in page
    assert "docs/linear_chain.md §2b.1" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake_square.png", "r.html"]
    assert verify_cli.main(["--html", str(path), "--no-figures"]) == 0
    assert parse(path.read_text()).images == []


def test_seeds_report_shows_pass_fractions_and_ranges(tmp_path, fake_setting):
    path = tmp_path / "r.html"
    assert verify_cli.main(["--html", str(path), "--seeds", "3", "--seed", "4",
                            "--no-figures"]) == 0
    text = " ".join(" ".join(parse(path.read_text()).text).split())
    assert "Verification report (seeds 4..6)" in text and "Root seeds 4..6" in text
    assert "1 claims on 3 seeds: 1 passed, 0 failed, 0 errors" in text
    assert "passed on 3 of 3 seeds" in text and "x in [1, 1]" in text
    assert "x=1 (seed 4)" in text and len(fake_setting) == 3


def test_a_figures_folder_is_reused_and_filled(tmp_path, fake_setting):
    folder, path = tmp_path / "figs", tmp_path / "r.html"
    assert verify_cli.main(["--html", str(path), "--figures-dir", str(folder)]) == 0
    drawn = (folder / "fake_square.png").read_bytes()
    (src,) = parse(path.read_text()).images
    assert base64.b64decode(src.split(",", 1)[1]) == drawn
    (folder / "fake_square.png").write_bytes(b"kept as it is")
    assert verify_cli.main(["--html", str(path), "--figures-dir", str(folder)]) == 0
    (src,) = parse(path.read_text()).images
    assert base64.b64decode(src.split(",", 1)[1]) == b"kept as it is"


@pytest.mark.parametrize("argv", [["--html", "{d}/missing/r.html"], ["--html", "{d}"],
                                  ["--html", "{d}/r.html", "--figures-dir", "{d}/r.html"],
                                  ["--html", "{d}/r.html", "--no-figures", "--figures-dir",
                                   "{d}/figs"],
                                  ["--figures-dir", "{d}/figs"],
                                  ["--html", "{d}/r", "--json", "{d}/r"],
                                  ["--no-figures"]])
def test_html_usage_errors_exit_2_before_any_claim_runs(tmp_path, capsys, fake_setting, argv):
    (tmp_path / "r.html").write_text("")  # a file where --figures-dir wants a folder
    with pytest.raises(SystemExit) as exit_info:
        verify_cli.main([a.format(d=tmp_path) for a in argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip()
    assert fake_setting == []


def test_every_template_is_package_data():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = config["options.package_data"]["verify"].split()
    templates = [p.relative_to(ROOT / "verify").as_posix()
                 for p in (ROOT / "verify" / "templates").rglob("*") if p.is_file()]
    assert html_report.TEMPLATE in [Path(t).name for t in templates]
    for template in templates:
        assert any(fnmatch.fnmatch(template, pattern) for pattern in patterns), template


def test_measured_values_render_with_their_names():
    outcome = Outcome(_claim("fake.values"), Evidence({"rate": np.float64(0.125)},
                                                      {"rate": "finite"}, True), 0.1)
    text = " ".join(parse(html_report.html([outcome], 0)).text)
    assert "rate=0.125" in text and "rate=finite" in text


def test_seeds_report_names_the_failing_seeds_and_the_first_error():
    from verify.runner import summarize_seeds

    claim = _claim("fake.flaky")
    outcomes = [Outcome(claim, Evidence({"x": 1.0}, {"x": 1.0}, True), 0.1, seed=0),
                Outcome(claim, Evidence({"x": 3.0}, {"x": 1.0}, False), 0.1, seed=1),
                Outcome(claim, None, 0.1, "Traceback\nValueError: seed two\n", seed=2)]
    page = html_report.seeds_html(summarize_seeds(outcomes), [0, 1, 2])
    text = " ".join(" ".join(parse(page).text).split())
    assert "passed on 1 of 3 seeds; failed on seeds 1, 2" in text
    assert "x in [1, 3]" in text and "ValueError: seed two" in text
    assert 'class="ERROR">ERROR' in page
