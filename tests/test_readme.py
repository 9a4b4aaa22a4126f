"""The README's "Using the solvers" snippet runs as a script and prints what the README
shows."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snippet_and_output() -> tuple[str, str]:
    """The first ``python`` block after "## Using the solvers" and the ``text`` block after it."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using the solvers"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section[code.end():], re.S)
    return code.group(1), shown.group(1)


def test_using_the_solvers_prints_what_the_readme_shows():
    code, shown = snippet_and_output()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
