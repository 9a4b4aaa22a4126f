"""Files the command lines write (reports, figures, generated modules): checked before any
work, written atomically. One place for every package."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _probe(directory: Path) -> str | None:
    """Why no file can be created in the existing ``directory`` (tried and removed), or
    None; this catches read-only file systems too, for any user."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return f"cannot write in directory {directory}: {exc.strerror}"
    return None


def file_problem(path: Path) -> str | None:
    """Why a file cannot be written at ``path`` (by :func:`write_atomic`), or None: the path
    is a directory, its directory does not exist or is not a directory, or no file can be
    created there."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a directory"
    directory = path.parent
    if not directory.exists():
        return f"directory {directory} does not exist"
    if not directory.is_dir():
        return f"{directory} is not a directory"
    return _probe(directory)


def directory_problem(path: Path) -> str | None:
    """Why files cannot be written into the directory ``path`` (created with its parents
    if missing), or None: it exists and is not a directory, its nearest existing ancestor
    is not a directory, or no file can be created there."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{path} exists and is not a directory"
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    return _probe(existing)


def _kept_mode(path: Path) -> int:
    """The mode ``path`` keeps (if it exists) or gets (as a new file under the umask)."""
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: into a temporary file in the same directory,
    flushed to disk, then renamed over ``path`` (:func:`os.replace`), so a reader sees the
    old file or the new one, never a part. An existing file keeps its mode; a new one gets
    that of a newly created file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _kept_mode(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
