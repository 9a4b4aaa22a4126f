"""The reports of python -m verify: Markdown that renders as written, the summary in every
format, paths checked before any work, atomic writes."""
import json
import os
import re
import stat
import sys
import tempfile
import types
from theory import output_files
from pathlib import Path

import pytest

from theory import registry as theory_registry
from verify import __main__ as verify_cli
from verify import reports
from verify.claims import Claim, Evidence
from verify.runner import Outcome, summarize_seeds, summary

NASTY = ("|lambda - alpha_hat| <= 1e-12 | a*b* and _c_ [link](x) <br> `code` ```fence``` "
         "$x$ ~~y~~ &amp; \\ back\\slash\nsecond line\r\n\tthird | end |")
"""Text with every character that could break a table row or render as markup."""

TRACEBACK = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
             "    check(```)\nRuntimeError: bad | value\n")


def _claim(claim_id: str, text: str = NASTY) -> Claim:
    return Claim(claim_id, "fake", text, text, text, text, lambda rng: None, "Monte Carlo")


def _outcomes() -> list[Outcome]:
    """A pass, a fail and an error, with markup everywhere the report shows text."""
    return [Outcome(_claim("fake.pass"), Evidence({"a|b": 1.5, "c": "finite"}, {"a|b": 1.5},
                                                  True, note=NASTY), 0.25, "", 0.125, 0),
            Outcome(_claim("fake.fail"), Evidence({"x": 2.0}, {"x`|`": 1.0}, False), 1.5,
                    "", 0.0, 0),
            Outcome(_claim("fake.error"), None, 0.75, TRACEBACK, 0.5, 0)]


def split_row(line: str) -> list[str]:
    """The cells of a GitHub table row: split at every ``|`` not escaped by a backslash."""
    cells, cell, escaped = [], "", False
    for char in line.strip():
        if escaped:
            cell, escaped = cell + char, False
        elif char == "\\":
            cell, escaped = cell + char, True
        elif char == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += char
    cells.append(cell)
    return cells[1:-1]  # the row starts and ends with a separator


def table(markdown: str) -> list[str]:
    """The lines of the report's table: from its header to the first blank line."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| claim |"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start:end]


def assert_table_intact(markdown: str, rows: int) -> None:
    lines = table(markdown)
    assert len(lines) == rows + 2  # header, separator, one line per claim
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    widths = [len(split_row(line)) for line in lines]
    assert widths == [widths[0]] * len(lines), lines


def unescape(text: str) -> str:
    """Markdown inline text with its backslash escapes resolved (CommonMark)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def item(markdown: str, label: str, after: str) -> str:
    """The text of the list item ``- **label:**`` in the section headed by ``after``."""
    section = markdown.split(after, 1)[1]
    return re.search(rf"^- \*\*{label}:\*\* (.*)$", section, re.M).group(1)


def test_markdown_table_rows_keep_their_cells_whatever_the_text():
    markdown = reports.markdown(_outcomes(), seed=0, wall_seconds=3.0)
    assert_table_intact(markdown, rows=3)
    assert "| PASS |" in markdown and "| FAIL |" in markdown and "| ERROR |" in markdown


def test_markdown_texts_render_as_written():
    markdown = reports.markdown(_outcomes(), seed=0)
    flat = " ".join(NASTY.split())
    for label in ("Statement", "Source", "Regime", "Tolerance", "Note"):
        text = item(markdown, label, "### `fake.pass`")
        assert unescape(text) == flat, label
        # every markup character is escaped: none acts as markup
        assert not re.search(r"(?<!\\)[|*_`\[\]<>~$&]", re.sub(r"\\.", "", text)), label


def test_markdown_has_note_and_seconds_of_every_claim():
    outcomes = _outcomes()
    markdown = reports.markdown(outcomes, seed=0)
    for o in outcomes:
        (cells,) = [split_row(line) for line in table(markdown) if f"`{o.claim.id}`" in line]
        assert cells[1:4] == [f" {o.verdict} ", f" {o.seconds:.2f} ", f" {o.compile_seconds:.2f} "]
        verdict = item(markdown, "Verdict", f"### `{o.claim.id}`")
        assert verdict.startswith(f"{o.verdict} in {o.seconds:.2f} s")
    assert item(markdown, "Note", "### `fake.fail`") == "none"
    error_section = markdown.split("### `fake.error`", 1)[1]
    assert "````\n" + TRACEBACK + "````" in error_section  # fence longer than the ``` inside


def test_summary_counts_passed_failed_and_errors_in_every_format(tmp_path):
    outcomes = _outcomes()
    line = summary(outcomes, wall_seconds=3.0)
    assert line.startswith("3 claims: 1 passed, 1 failed, 1 error;")
    assert "wall 3.0 s" in line and "checks 2.5 s" in line and "compilation 0.6 s" in line
    reports.to_json(outcomes, 0, tmp_path / "r.json", wall_seconds=3.0)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"] == {"claims": 3, "passed": 1, "failed": 1, "errors": 1,
                                 "wall_seconds": 3.0, "check_seconds": 2.5,
                                 "compile_seconds": 0.625}
    assert [c["verdict"] for c in report["claims"]] == ["PASS", "FAIL", "ERROR"]
    assert [c["note"] for c in report["claims"]] == [NASTY, "", ""]
    assert [c["seconds"] for c in report["claims"]] == [0.25, 1.5, 0.75]
    assert f"**Summary:** {reports.markdown_text(line)}" in reports.markdown(outcomes, 0, 3.0)


def _seed_outcomes() -> list[Outcome]:
    outcomes = []
    for claim_id in ("fake.mixed", "fake.raises"):
        claim = _claim(claim_id)
        for seed in (4, 5, 6):
            if claim_id == "fake.raises" and seed == 5:
                outcomes.append(Outcome(claim, None, 0.5, TRACEBACK, 0.0, seed))
            else:
                outcomes.append(Outcome(claim, Evidence({"m|n": float(seed)}, {"m|n": 5.0},
                                                        seed != 6, note=f"{NASTY} {seed}"),
                                        0.25, "", 0.0, seed))
    return outcomes


def test_seeds_reports_render_and_carry_summary_note_and_seconds(tmp_path):
    summaries = summarize_seeds(_seed_outcomes())
    assert [s.verdict for s in summaries] == ["FAIL", "ERROR"]
    markdown = reports.seeds_markdown(summaries, [4, 5, 6], wall_seconds=2.0)
    assert_table_intact(markdown, rows=2)
    assert "**Summary:** 2 claims on 3 seeds: 0 passed, 1 failed, 1 error" in markdown
    runs = markdown.split("### `fake.mixed`", 1)[1].split("###", 1)[0]
    run_lines = [line for line in runs.splitlines() if line.startswith("  - seed ")]
    assert [line.split(":")[0] for line in run_lines] == ["  - seed 4", "  - seed 5",
                                                          "  - seed 6"]
    for seed, line in zip((4, 5, 6), run_lines):
        assert "in 0.25 s" in line
        assert unescape(line.split("; note: ", 1)[1]) == " ".join(f"{NASTY} {seed}".split())
    reports.seeds_to_json(summaries, [4, 5, 6], tmp_path / "r.json", wall_seconds=2.0)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["runs"] == {"total": 6, "passed": 3, "failed": 2, "errors": 1}
    assert (report["summary"]["passed"], report["summary"]["failed"],
            report["summary"]["errors"]) == (0, 1, 1)
    (mixed, raises) = report["claims"]
    assert mixed["seconds"] == 0.75 and [r["seconds"] for r in mixed["runs"]] == [0.25] * 3
    assert [r["note"] for r in mixed["runs"]] == [f"{NASTY} {s}" for s in (4, 5, 6)]
    assert raises["runs"][1]["error"] == TRACEBACK


# --------------------------------------------------------------------------- files


def test_write_atomic_replaces_the_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "r.md"
    path.write_text("old")
    path.chmod(0o640)
    output_files.write_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_write_atomic_gives_a_new_file_the_umask_mode(tmp_path):
    umask = os.umask(0o027)
    try:
        output_files.write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o640


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    path.write_text("old")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(output_files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output_files.write_atomic(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def _unwritable_dir() -> Path | None:
    """A directory in which no file can be created, even by root (a read-only /proc)."""
    proc = Path("/proc")
    return proc if proc.is_dir() and not _can_create(proc) else None


def _can_create(directory: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _bad_paths(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    paths = {"missing parent": tmp_path / "nonexistent" / "r.json",
             "a directory": tmp_path, "parent is a file": a_file / "r.json"}
    if _unwritable_dir() is not None:
        paths["unwritable"] = _unwritable_dir() / "r.json"
    return paths


@pytest.fixture
def checks_run(monkeypatch) -> list:
    """Replace the settings by one fake claim; the list records each run of its check."""
    runs = []

    def check(rng):
        runs.append(rng)
        return Evidence({"x": 1.0}, {"x": 1.0}, True)

    module = types.ModuleType("fake_setting")
    module.CLAIMS = [Claim("fake.claim", "fake", "s", "src", "r", "tol", check, "Monte Carlo")]
    monkeypatch.setitem(sys.modules, "verify.fake", module)
    monkeypatch.setattr(theory_registry, "SETTINGS", ("fake",))
    return runs


@pytest.mark.parametrize("option", ["--json", "--markdown"])
@pytest.mark.parametrize("case", ["missing parent", "a directory", "parent is a file",
                                  "unwritable"])
def test_a_bad_report_path_exits_2_before_any_claim_runs(tmp_path, capsys, checks_run,
                                                         option, case):
    paths = _bad_paths(tmp_path)
    if case not in paths:
        pytest.skip("no unwritable directory on this system")
    for extra in ([], ["--seeds", "2"]):
        with pytest.raises(SystemExit) as exit_info:
            verify_cli.main([option, str(paths[case]), *extra])
        assert exit_info.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1 and option in captured.err
        assert str(paths[case]) in captured.err
    assert checks_run == []


def test_json_and_markdown_must_name_different_files(tmp_path, capsys, checks_run):
    with pytest.raises(SystemExit) as exit_info:
        verify_cli.main(["--json", str(tmp_path / "r"), "--markdown", str(tmp_path / "r")])
    assert exit_info.value.code == 2 and "same file" in capsys.readouterr().err
    assert checks_run == []


def test_good_report_paths_are_written(tmp_path, checks_run):
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    assert verify_cli.main(["--json", str(json_path), "--markdown", str(md_path)]) == 0
    assert len(checks_run) == 1
    assert json.loads(json_path.read_text())["summary"]["passed"] == 1
    assert_table_intact(md_path.read_text(), rows=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.md"]


def test_report_paths_need_not_be_writable_to_list(tmp_path, capsys, checks_run):
    assert verify_cli.main(["--list", "--json", str(tmp_path / "no" / "r.json")]) == 0
    assert "fake.claim" in capsys.readouterr().out


FAST_CLAIM = "linear_chain.minnorm.discrete_contraction"


def test_a_real_claim_report_renders_with_note_seconds_and_summary(tmp_path):
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    assert verify_cli.main(["--claim", FAST_CLAIM, "--json", str(json_path),
                            "--markdown", str(md_path)]) == 0
    report, markdown = json.loads(json_path.read_text()), md_path.read_text()
    assert_table_intact(markdown, rows=1)
    (entry,) = report["claims"]
    assert entry["note"]  # this claim explains its numbers
    note = item(markdown, "Note", f"### `{FAST_CLAIM}`")
    assert unescape(note) == " ".join(entry["note"].split())
    (cells,) = [split_row(line) for line in table(markdown)[2:]]
    assert abs(float(cells[2]) - entry["seconds"]) <= 0.0051
    assert report["summary"]["claims"] == 1 and report["summary"]["passed"] == 1
    assert report["summary"]["check_seconds"] == entry["seconds"]
    assert "**Summary:** 1 claim: 1 passed, 0 failed, 0 errors; wall " in markdown


def test_every_claims_texts_render_in_the_report():
    """The texts of the real claims (their checks not run): rows intact, texts as written."""
    from verify.claims import load_claims

    claims = load_claims()
    outcomes = [Outcome(c, Evidence({"q": 1.0}, {"q": 1.0}, True, note=c.regime), 0.0)
                for c in claims]
    markdown = reports.markdown(outcomes, seed=0)
    assert_table_intact(markdown, rows=len(claims))
    for c in claims:
        for label, text in (("Statement", c.statement), ("Source", c.source),
                            ("Regime", c.regime), ("Tolerance", c.tolerance)):
            rendered = item(markdown, label, f"### `{c.id}`\n")
            assert unescape(rendered) == " ".join(text.split()), (c.id, label)
