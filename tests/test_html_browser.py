"""The HTML report in a real browser: headless Chromium (driven by Playwright) loads a small
report of one real claim, one real figure and the setting's closed forms, and every image
decodes, every formula has a size, the console stays clean; a screenshot is saved in the
test's temporary folder. Skipped only when no Chromium is installed (``.ci/run`` installs
Debian's)."""
import os
import shutil
from pathlib import Path

import pytest

from verify import html_report
from verify.claims import load_claims
from verify.runner import run_claims

CLAIM = "linear_chain.minnorm.discrete_contraction"
FIGURE = ("linear_chain", "distance")


def chromium() -> str | None:
    """A Chromium executable: ``$CHROMIUM``, Debian's binary (``/usr/bin/chromium`` is a
    shell wrapper around it), another on the PATH, or None."""
    candidates = [os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser"),
                  shutil.which("google-chrome")]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)),
                None)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    (claim,) = [c for c in load_claims(FIGURE[0]) if c.id == CLAIM]
    outcomes = list(run_claims([claim], seed=0))
    setting, name = FIGURE
    page = html_report.html(outcomes, 0, 1.0, html_report.closed_forms([setting]),
                            html_report.draw_figures([setting], only={setting: [name]}))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


@pytest.mark.skipif(chromium() is None, reason="no Chromium installed")
def test_the_report_renders_in_headless_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    messages = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
            page.on("requestfailed", lambda r: messages.append(f"request failed: {r.url}"))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate("""() => [...document.images].map(i =>
                [i.alt, i.complete, i.naturalWidth, i.naturalHeight])""")
            maths = page.evaluate("""() => [...document.querySelectorAll('math')].map(m => {
                const box = m.getBoundingClientRect();
                return [m.namespaceURI, box.width, box.height];
            })""")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert images == [[f"{FIGURE[0]}_{FIGURE[1]}", True, *images[0][2:]]]
    assert images[0][2] > 0 and images[0][3] > 0
    assert len(maths) == report.read_text().count("<math") > 0
    for namespace, width, height in maths:
        assert namespace == "http://www.w3.org/1998/Math/MathML"
        assert width > 0 and height > 0
    assert messages == []
    assert (tmp_path / "report.png").stat().st_size > 0
