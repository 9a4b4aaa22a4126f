"""The one place where numba options are decided.

Every kernel in ``theory`` is compiled with :func:`jit`:

- ``nopython=True``: no Python objects inside kernels;
- ``fastmath=False``: ``nnan``/``ninf`` would break the non-finite checks that report
  divergence, and reassociation would let LLVM reorder any arithmetic; the one
  exception is :func:`jit_sum`, for pure sums of products (dot products), where
  reassociation only lets LLVM split the sum over vector lanes, as BLAS does;
- ``error_model="numpy"``: division by zero gives inf/nan (caught by the
  divergence check) instead of raising inside the time loop;
- ``cache``: on by default, off with ``OVERPARAM_NUMBA_CACHE=0``. numba checks a
  cached kernel only against the stamp of its own source file, but a kernel carries
  the code of every jitted function it calls and the constants it reads, from other
  modules too (``theory.linalg``, ``theory.elementary``, ``theory.loops``, a setting's
  part modules): an edit of one of those would leave the cached kernel stale. So each
  module's kernels are cached in a directory named by a hash of its source and of
  every ``theory`` module it imports, directly or through others
  (:func:`cache_directory`, :func:`source_key`): an edit recompiles exactly the kernels
  that may depend on it. The directories sit under ``NUMBA_CACHE_DIR`` when it is set
  (set it to relocate the cache), otherwise in ``theory/__pycache__`` (or numba's
  user-wide cache directory if that is not writable). Directories of old sources are
  not removed. Concurrent processes may share the cache: numba writes each cache file
  under a unique temporary name and renames it into place (``os.replace``), so readers
  never see a partial file.

Signatures are lazy: wrappers cast inputs to float64/int64 C-contiguous arrays so
that each kernel compiles exactly once.

Parallel kernels (:func:`jit_parallel`) run on numba's OpenMP threads when numba has that
layer. Importing this module sets ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is
already set: idle threads then sleep instead of spinning between parallel regions. On a
machine whose cores are busy with other work a spinning thread takes a core from the
thread that has work, and a parallel step came out slower than the serial one; sleeping
threads cost a wake-up of microseconds per region, against regions of a millisecond
(:data:`theory.linalg.PARALLEL_MIN_ENTRIES`). The variable is read when the OpenMP runtime
starts, so it must be set before the first parallel call, as here.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import os
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

import numba
from numba.misc.appdirs import AppDirs

F = TypeVar("F", bound=Callable)

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CACHE: bool = os.environ.get("OVERPARAM_NUMBA_CACHE", "1") != "0"
OPTIONS: dict = {"nopython": True, "cache": CACHE, "fastmath": False, "error_model": "numpy"}

PACKAGE_DIRECTORY = Path(__file__).resolve().parent
"""The directory of the ``theory`` package, whose modules :func:`source_key` follows."""


def package_imports(source_file: str | os.PathLike) -> set[Path]:
    """The modules of the package beside ``source_file`` that it imports, anywhere in its
    source (inside functions too): ``<package>/<name>.py`` for ``import <package>.<name>``,
    ``from <package>.<name> import ...``, ``from <package> import <name>`` and their
    relative forms, and ``<package>/__init__.py`` for a name taken from the package itself."""
    path = Path(source_file)
    directory, package = path.parent, path.parent.name
    modules: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            dotted = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = [package] if node.level == 1 else []
            base += node.module.split(".") if node.module else []
            dotted = [base + [alias.name] for alias in node.names]
        else:
            continue
        for parts in dotted:
            if len(parts) < 2 or parts[0] != package:
                continue
            module = directory / f"{parts[1]}.py"
            modules.add(module if module.exists() else directory / "__init__.py")
    return modules


@functools.lru_cache(maxsize=None)
def source_key(source_file: str | os.PathLike) -> str:
    """Hash of a module's source and of every module of its package that it imports,
    directly or through others (:func:`package_imports`): every source its kernels can
    inline or read a constant from. File names and contents enter the hash, not paths, so
    a copy of the package has the same keys."""
    closure: set[Path] = set()
    pending = [Path(source_file).resolve()]
    while pending:
        path = pending.pop()
        if path not in closure:
            closure.add(path)
            pending.extend(package_imports(path) - closure)
    digest = hashlib.sha256()
    for path in sorted(closure):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError:
        return False
    return True


def cache_directory(source_file: str | os.PathLike) -> Path | None:
    """Where numba caches the kernels of ``source_file``: ``<root>/<module>-<key>`` with
    the :func:`source_key` of the module, under the first writable root of
    ``NUMBA_CACHE_DIR`` (if set), the package's ``__pycache__`` and numba's user-wide
    cache directory; ``None`` if none is writable."""
    return _first_writable(f"{Path(source_file).stem}-{source_key(source_file)}",
                           numba.config.CACHE_DIR)


@functools.lru_cache(maxsize=None)
def _first_writable(name: str, user_root: str) -> Path | None:
    roots = [Path(user_root)] if user_root else []
    roots += [PACKAGE_DIRECTORY / "__pycache__",
              Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)]
    return next((root / name for root in roots if _writable(root / name)), None)


def _compile(options: dict, function: F) -> F:
    """``numba.jit(**options)(function)``, cached in :func:`cache_directory` of the
    function's source file: numba picks a dispatcher's cache directory when it is created,
    from ``numba.config.CACHE_DIR``, which is set for that moment only."""
    directory = cache_directory(inspect.getfile(function)) if options["cache"] else None
    if directory is None:
        return numba.jit(**{**options, "cache": False})(function)
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(directory)
    try:
        return numba.jit(**options)(function)
    finally:
        numba.config.CACHE_DIR = saved


SUM_OPTIONS: dict = {**OPTIONS, "fastmath": {"reassoc"}}
"""The options of :func:`jit_sum`: those of :func:`jit` plus reassociation, and no other
fast-math flag (non-finite values propagate as without it)."""


def jit(function: F) -> F:
    """Compile ``function`` with the package's numba options (see module docstring)."""
    return _compile(OPTIONS, function)


def jit_inline(function: F) -> F:
    """Compile a small helper that numba inlines into each caller (numba does not inline
    across jitted functions otherwise, and a call costs more than a few products)."""
    return _compile({**OPTIONS, "inline": "always"}, function)


PARALLEL_OPTIONS: dict = {**OPTIONS, "parallel": True}
"""The options of :func:`jit_parallel`: those of :func:`jit` plus numba's ``parallel``."""


def jit_parallel(function: F) -> F:
    """Compile a kernel whose ``numba.prange`` loop runs on numba's threads (as many as
    ``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads` allow). Such kernels split their
    work into a fixed number of parts and combine the parts in a fixed order, so that the
    result does not depend on the number of threads."""
    return _compile(PARALLEL_OPTIONS, function)


def jit_sum(function: F) -> F:
    """Compile a function that only sums products (a dot product), letting LLVM reorder
    the sum into vector lanes: the result moves by round-off, as with BLAS."""
    return _compile(SUM_OPTIONS, function)


class CompileClock:
    """Context manager measuring the seconds numba spends compiling inside it.

    It listens to numba's ``numba:compile`` event, which fires only for real
    compilations: a signature loaded from the on-disk cache costs no compile time
    (loading takes ~0.1-0.3 s per kernel and is not counted). Nested compilations
    (a kernel compiling the helpers it calls) are counted once, by their outermost event.

    Examples
    --------
    >>> with CompileClock() as clock:
    ...     run_something()
    >>> clock.seconds
    """

    def __init__(self) -> None:
        from numba.core import event

        self.seconds = 0.0
        self._listener = event.TimingListener()

    def __enter__(self) -> "CompileClock":
        from numba.core import event

        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc) -> None:
        from numba.core import event

        event.unregister("numba:compile", self._listener)
        self.seconds = self._listener.duration if self._listener.done else 0.0
