"""The mathematics is in the repository: every section reference points inside it.

Code and text cite the notes in ``docs/`` as ``docs/<file>.md``, the section sign, and the
section's id (several ids may follow one file, separated by commas or "and"); inside
``docs/`` a section sign with an id alone means the same file, and ``<file>.md`` (or
``[<file>.md](<file>.md)``) followed by the sign and an id another note. A section's id
is the first word of its heading (``### 1b.4. ...``, ``### C1.1. ...``). :func:`problems`
lists every reference that does not resolve, every section sign that is not part of such a
reference (a paper's sections are written "Section 3"), every claim label (C1.1, ...) that
is not a heading, and every mention of the notes that used to live outside the
repository. The last test feeds it a made-up repository to show that it fails.
"""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = "docs"
SCANNED_SUFFIXES = {".py", ".md", ".cfg", ".toml", ".txt", ".rst", ".ini", ".yml", ".yaml"}
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist",
                ".venv", "venv", "node_modules"}
SECTION = "\u00a7"
ID = r"C\d+\.\d+|\d+[a-z]?(?:\.\d+)?"
REFERENCE = re.compile(
    r"(?P<file>(?:docs/)?[\w-]+\.md)(?:\]\([^)\s]*\))?(?:[ \t]+|[ \t]*\n[ \t]*)"
    rf"(?P<ids>{SECTION}(?:{ID})(?:(?:,\s*|\s+and\s+){SECTION}(?:{ID}))*)")
BARE = re.compile(rf"{SECTION}(?P<id>{ID})")
HEADING = re.compile(r"^#+[ \t]+(?P<id>\S+)")
CLAIM_LABEL = re.compile(r"\bC\d+\.\d+\b")
# the notes that used to live next to the repository, spelled so that this file does not
# match itself
FORMER_NOTES = ("core" + "-settings", "seed" + "-systems", "shared" + "/theory",
                ".." + "/shared")


def scanned_files(root: Path) -> list[Path]:
    """Every text file of the repository that can hold a reference."""
    files = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in parts):
            continue
        if path.is_file() and (path.suffix in SCANNED_SUFFIXES or parts[0] == ".ci"):
            files.append(path)
    return sorted(files)


def heading_ids(note: Path) -> set[str]:
    """The ids of a note's headings: the first word, without its final period."""
    ids = set()
    for line in note.read_text(encoding="utf-8").splitlines():
        match = HEADING.match(line)
        if match:
            ids.add(match["id"].rstrip("."))
    return ids


def _resolve(root: Path, note_name: str, ids: list[str], where: str,
             cache: dict[str, set[str] | None]) -> list[str]:
    if note_name not in cache:
        note = root / DOCS / note_name
        cache[note_name] = heading_ids(note) if note.is_file() else None
    headings = cache[note_name]
    if headings is None:
        return [f"{where}: docs/{note_name} does not exist"]
    return [f"{where}: docs/{note_name} has no heading {SECTION}{i}" for i in ids
            if i not in headings]


def problems(root: Path) -> list[str]:
    """Every broken reference, stray section sign, unknown claim label and mention of the
    former notes in the repository at ``root`` (empty when all is well)."""
    found: list[str] = []
    cache: dict[str, set[str] | None] = {}
    docs_dir = root / DOCS
    notes = sorted(docs_dir.glob("*.md")) if docs_dir.is_dir() else []
    all_headings = set().union(*(heading_ids(n) for n in notes)) if notes else set()
    for path in scanned_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(root).as_posix()
        in_docs = rel.startswith(DOCS + "/")
        flat = re.sub(r"[\s\"'#]", "", text)
        found += [f"{rel}: mentions {name}, which is not part of the repository"
                  for name in FORMER_NOTES if name in flat]
        covered = set()
        for match in REFERENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            name = match["file"]
            if name.startswith(DOCS + "/"):
                name = name[len(DOCS) + 1:]
            elif not in_docs:
                found.append(f"{rel}:{line}: {match.group(0)!r} must name docs/{name}")
                covered.update(range(match.start("ids"), match.end("ids")))
                continue
            ids = BARE.findall(match["ids"])
            found += _resolve(root, name, ids, f"{rel}:{line}", cache)
            covered.update(range(match.start("ids"), match.end("ids")))
        for match in re.finditer(rf"\b{DOCS}/(?P<file>[\w-]+\.md)", text):
            if not (docs_dir / match["file"]).is_file():
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{rel}:{line}: docs/{match['file']} does not exist")
        for index in (i for i, ch in enumerate(text) if ch == SECTION and i not in covered):
            line = text.count("\n", 0, index) + 1
            bare = BARE.match(text, index)
            if in_docs and bare:
                found += _resolve(root, path.name, [bare["id"]], f"{rel}:{line}", cache)
            else:
                found.append(f"{rel}:{line}: a section sign that is not a docs/ reference "
                             f"({text[index:index + 12]!r})")
        if not in_docs:
            found += [f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: claim label "
                      f"{m.group(0)} is not a heading in docs/"
                      for m in CLAIM_LABEL.finditer(text) if m.group(0) not in all_headings]
    return list(dict.fromkeys(found))  # a missing note cited with a section: reported once


def test_every_reference_points_inside_the_repository():
    assert problems(REPO) == []


def test_the_notes_exist_and_the_readme_points_to_them():
    for name in ("README.md", "minnorm.md", "max_margin.md", "linear_chain.md",
                 "deep_linear.md", "diagonal_linear.md", "relu_network.md"):
        assert heading_ids(REPO / DOCS / name), name
    assert "docs/README.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_a_made_up_reference_is_found(tmp_path):
    """A repository with good references and every kind of bad one: each bad one is
    reported once, and nothing else is."""
    sign = SECTION
    (tmp_path / DOCS).mkdir()
    (tmp_path / DOCS / "note.md").write_text(
        f"# Note\n\n## 1a. Setting\n\n### C1.1. A claim\n\n"
        f"See {sign}1a and other.md {sign}2b; {sign}9z here.\n", encoding="utf-8")
    (tmp_path / DOCS / "other.md").write_text("## 2b. Closed forms\n", encoding="utf-8")
    unknown_label = "C7" + ".7"
    former = "core" + "-"
    (tmp_path / "module.py").write_text(
        f'"""Good: {DOCS}/note.md {sign}1a, {sign}C1.1 and C1.1; {DOCS}/other.md.\n'
        f"Made up: {DOCS}/note.md {sign}1b; {DOCS}/missing.md {sign}1a; {DOCS}/gone.md; "
        f"note.md {sign}1a; a paper {sign}3; claim {unknown_label}.\n"
        f'The {former}"\n    "settings notes and ..{"/"}shared."""\n', encoding="utf-8")
    expected = [
        f"{DOCS}/note.md:7: {DOCS}/note.md has no heading {sign}9z",
        f"module.py: mentions {former}settings, which is not part of the repository",
        f"module.py: mentions ..{'/'}shared, which is not part of the repository",
        f"module.py:2: {DOCS}/note.md has no heading {sign}1b",
        f"module.py:2: {DOCS}/missing.md does not exist",
        f"module.py:2: {DOCS}/gone.md does not exist",
        f"module.py:2: 'note.md {sign}1a' must name {DOCS}/note.md",
        f"module.py:2: a section sign that is not a docs/ reference ('{sign}3; claim C7')",
        f"module.py:2: claim label {unknown_label} is not a heading in docs/",
    ]
    assert sorted(problems(tmp_path)) == sorted(expected)
