"""Progress bars for long loops, shown only to a person watching a terminal.

A bar (tqdm, on standard error) appears when standard error is a terminal and the
environment variable ``OVERPARAM_PROGRESS`` is not ``"0"``; otherwise the loop runs
unchanged and prints nothing. :func:`progress` wraps a loop; :func:`counter` counts
tasks done ("claim k of n", elapsed time) while lines are printed to standard output
above it (without a bar, they are printed as ``print`` would). ``python -m verify`` sets
the variable to ``"0"`` under ``--json`` and in its worker processes (``-j``), where bars
of several processes would interleave.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

ENVIRONMENT_VARIABLE = "OVERPARAM_PROGRESS"

TICK_SECONDS = 1.0
"""How often :class:`Counter` redraws its line (the elapsed time)."""


def enabled() -> bool:
    """Whether :func:`progress` draws a bar (module docstring)."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "1") != "0" and sys.stderr.isatty()


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterable[T]:
    """``items`` with a progress bar labelled ``description`` when :func:`enabled`, else
    ``items`` itself. The bar disappears when the loop ends."""
    if not enabled():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, total=total, leave=False, file=sys.stderr)


class Counter:
    """Tasks done out of a total: :meth:`write` prints a line to standard output,
    :meth:`advance` counts one task done. With a bar (:func:`enabled`) the line
    ``<unit> k of n, elapsed m:ss, <label>`` is kept on standard error below the printed
    lines; without one, :meth:`write` is ``print`` (flushed) and :meth:`advance` does
    nothing."""

    def __init__(self, total: int, unit: str, label: str = "") -> None:
        self._bar = None
        if enabled():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, leave=False, dynamic_ncols=True,
                             mininterval=0, miniters=1,
                             bar_format=unit + " {n_fmt} of {total_fmt}, elapsed {elapsed}"
                                              "{postfix}")
            self._bar.set_postfix_str(label)
            self._stop = threading.Event()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        """Redraw the line every second, so that the elapsed time runs during a long task
        (tqdm's lock keeps the redraws apart from :meth:`write`)."""
        while not self._stop.wait(TICK_SECONDS):
            self._bar.refresh()

    def write(self, text: str) -> None:
        """Print ``text`` (a line, or several) to standard output."""
        if self._bar is None:
            print(text, flush=True)
            return
        from tqdm import tqdm

        tqdm.write(text, file=sys.stdout)
        sys.stdout.flush()

    def advance(self, label: str = "") -> None:
        """One more task done; ``label`` names it on the bar."""
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._stop.set()
            self._ticker.join()
            self._bar.close()


@contextlib.contextmanager
def counter(total: int, unit: str, label: str = "") -> Iterator[Counter]:
    """A :class:`Counter` of ``total`` tasks called ``unit`` ("claim"), showing ``label``
    at first, closed at the end."""
    done = Counter(total, unit, label)
    try:
        yield done
    finally:
        done.close()
