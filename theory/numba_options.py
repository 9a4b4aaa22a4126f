"""The one place where numba options are decided.

Every kernel in ``theory`` is compiled with :func:`jit`:

- ``nopython=True``: no Python objects inside kernels;
- ``fastmath=False``: ``nnan``/``ninf`` would break the non-finite checks that report
  divergence, and reassociation would let LLVM reorder any arithmetic; the one
  exception is :func:`jit_sum`, for pure sums of products (dot products), where
  reassociation only lets LLVM split the sum over vector lanes, as BLAS does;
- ``error_model="numpy"``: division by zero gives inf/nan (caught by the
  divergence check) instead of raising inside the time loop;
- ``cache``: on by default, off with ``OVERPARAM_NUMBA_CACHE=0``. The cache
  directory is numba's own ``NUMBA_CACHE_DIR`` (set it to relocate the cache);
  without it numba writes next to the sources in ``__pycache__``. Concurrent processes
  may share it: numba writes each cache file under a unique temporary name and renames
  it into place (``os.replace``), so readers never see a partial file.

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

import os
from typing import Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable)

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CACHE: bool = os.environ.get("OVERPARAM_NUMBA_CACHE", "1") != "0"
OPTIONS: dict = {"nopython": True, "cache": CACHE, "fastmath": False, "error_model": "numpy"}


SUM_OPTIONS: dict = {**OPTIONS, "fastmath": {"reassoc"}}
"""The options of :func:`jit_sum`: those of :func:`jit` plus reassociation, and no other
fast-math flag (non-finite values propagate as without it)."""


def jit(function: F) -> F:
    """Compile ``function`` with the package's numba options (see module docstring)."""
    return numba.jit(**OPTIONS)(function)


def jit_inline(function: F) -> F:
    """Compile a small helper that numba inlines into each caller (numba does not inline
    across jitted functions otherwise, and a call costs more than a few products)."""
    return numba.jit(inline="always", **OPTIONS)(function)


PARALLEL_OPTIONS: dict = {**OPTIONS, "parallel": True}
"""The options of :func:`jit_parallel`: those of :func:`jit` plus numba's ``parallel``."""


def jit_parallel(function: F) -> F:
    """Compile a kernel whose ``numba.prange`` loop runs on numba's threads (as many as
    ``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads` allow). Such kernels split their
    work into a fixed number of parts and combine the parts in a fixed order, so that the
    result does not depend on the number of threads."""
    return numba.jit(**PARALLEL_OPTIONS)(function)


def jit_sum(function: F) -> F:
    """Compile a function that only sums products (a dot product), letting LLVM reorder
    the sum into vector lanes: the result moves by round-off, as with BLAS."""
    return numba.jit(**SUM_OPTIONS)(function)


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
