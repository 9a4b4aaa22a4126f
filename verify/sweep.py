"""Sweeps: one function evaluated at every point of a parameter grid, on any executor.

:func:`sweep` runs ``fn(point, rng)`` over the product of a grid's values (the regime
maps of :mod:`verify.maps` are sweeps) serially, on a process pool, or on a Dask cluster
(``dask.distributed.Client.get_executor()``), and returns a :class:`Table`.

Product order: the grid's parameters in the mapping's order, the last one varying fastest
(``itertools.product``, C order); a point's index is its position in that order, and
:meth:`Table.grid` reshapes a column to the grid's shape.

Determinism: point ``i`` gets the generator ``default_rng(SeedSequence(seed,
spawn_key=(i,)))``, so a row depends on ``fn``, the point, its index and the seed only,
never on the executor, the number of workers or the order of completion.

Files: with ``out``, every finished point is appended to ``out`` as one JSON line (its
deterministic record: index, point, seed, status, values, error) and its wall time to the
timing file :func:`timings_path` (``{"index": i, "seconds": s}``). When the sweep
completes, both files are rewritten sorted by index, so a completed ``out`` has the same
bytes whatever executor, worker count or resumption produced it; the timings, which vary
from run to run, stay out of it. A rerun with the same ``out`` skips the points already
recorded (resume after a crash, a killed process or Ctrl-C); a torn last line (a process
killed while writing) is dropped and its point rerun. Values are written with Python's
``json`` (``NaN`` and ``Infinity`` as Python writes and reads them).

A point whose ``fn`` raises is recorded with status ``"error"`` and its exception as
``"Type: message"``; the sweep goes on. Failures of the executor itself (a worker process
killed, a cluster lost) stop the sweep; the points finished so far stay in ``out``.

Command line (``python -m verify.sweep``): the maps of :func:`verify.maps.load_maps`;
``--help`` lists the options.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from theory import progress
from theory.output_files import file_problem, write_atomic

Scalar = bool | int | float | str | None
Point = dict[str, Scalar]
PointFunction = Callable[[Point, np.random.Generator], Mapping[str, Any]]

OK, ERROR = "ok", "error"
"""The statuses of a row: ``fn`` returned, or raised."""

DEFAULT_BATCH = 8
"""Points per task from the command line: a point of a map takes milliseconds, a task on
a Dask cluster costs about a millisecond of scheduling."""

DASK_EXTRA = "pip install 'overparam-theory[dask]'"
"""How to install the optional Dask support (``--scheduler``)."""


# --------------------------------------------------------------------------- grids


def _grid_value(name: str, value: Any) -> int | float | str:
    """One grid value as a JSON scalar (NumPy scalars converted); finite numbers only."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"grid[{name!r}]: values must be numbers or strings, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"grid[{name!r}]: values must be finite, got {value!r}")
    return value


def check_grid(grid: Mapping[str, Iterable]) -> dict[str, tuple]:
    """``grid`` validated: a non-empty mapping of parameter names (non-empty strings) to
    non-empty sequences of distinct finite numbers or strings.

    Raises
    ------
    ValueError
        Naming the parameter at fault.
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping of parameter name to values, "
                         f"got {grid!r}")
    checked: dict[str, tuple] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"grid: parameter names must be non-empty strings, got {name!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"grid[{name!r}] must be a sequence of values, got {values!r}")
        array = np.asarray(list(values), dtype=object)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty flat sequence of values")
        row = tuple(_grid_value(name, v) for v in array)
        if len(set(row)) != len(row):
            raise ValueError(f"grid[{name!r}] holds repeated values: {row}")
        checked[name] = row
    return checked


def grid_points(grid: Mapping[str, Iterable]) -> list[Point]:
    """Every point of ``grid`` in product order (module docstring): a list of dicts."""
    checked = check_grid(grid)
    names = list(checked)
    return [dict(zip(names, values)) for values in itertools.product(*checked.values())]


def point_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of point ``index``: keyed by the root seed and the index only."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """One evaluated point: its index, parameters, status, measured values (``{}`` after
    an error), the error (``""`` when ok) and the wall seconds of ``fn``."""

    index: int
    point: Point
    status: str
    values: dict[str, Scalar]
    error: str = ""
    seconds: float = math.nan

    def record(self, seed: int) -> dict:
        """The deterministic part of the row, as written to the JSON-lines file."""
        return {"index": self.index, "point": self.point, "seed": seed,
                "status": self.status, "values": self.values, "error": self.error}


def _value(name: str, value: Any) -> Scalar:
    if isinstance(value, np.generic):
        value = value.item()
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise TypeError(f"value {name!r} must be a number, string, bool or None, got "
                        f"{type(value).__name__}")
    return value


def _values(returned: Any) -> dict[str, Scalar]:
    if not isinstance(returned, Mapping):
        raise TypeError(f"the point function must return a mapping of name to value, got "
                        f"{type(returned).__name__}")
    return {str(name): _value(str(name), value) for name, value in returned.items()}


def evaluate(fn: PointFunction, index: int, point: Point, seed: int) -> Row:
    """Run ``fn`` at one point with its generator (:func:`point_rng`); an exception
    becomes an error row. This is what executors run."""
    start = time.perf_counter()
    try:
        values, status, error = _values(fn(dict(point), point_rng(seed, index))), OK, ""
    except Exception as exc:  # recorded in the row; the sweep goes on
        values, status, error = {}, ERROR, f"{type(exc).__name__}: {exc}"
    return Row(index, dict(point), status, values, error, time.perf_counter() - start)


# --------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Table:
    """A sweep's result: one row per grid point, sorted by index (product order).

    Attributes
    ----------
    grid : dict
        Parameter name -> its values (checked), in product order.
    rows : tuple of Row
    seed : int
    """

    grid: dict[str, tuple]
    rows: tuple[Row, ...]
    seed: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.status == ERROR]

    @property
    def seconds(self) -> float:
        """The points' summed wall time (NaN for rows resumed without a timing)."""
        return float(sum(r.seconds for r in self.rows))

    def column(self, name: str) -> list[Scalar]:
        """A parameter's or a measured value's column (None where a row lacks it)."""
        if name in self.grid:
            return [r.point[name] for r in self.rows]
        return [r.values.get(name) for r in self.rows]

    def grid_of(self, name: str) -> np.ndarray:
        """:meth:`column` as an object array of the grid's shape (axis k: parameter k)."""
        column = np.empty(len(self.rows), dtype=object)
        column[:] = self.column(name)
        return column.reshape(self.shape)

    def records(self) -> list[dict]:
        """The deterministic records (what ``out`` holds), in index order."""
        return [r.record(self.seed) for r in self.rows]


# --------------------------------------------------------------------------- files


def timings_path(out: Path) -> Path:
    """The file of a sweep's wall times: ``run.jsonl`` -> ``run.seconds.jsonl``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.seconds{out.suffix or '.jsonl'}")


def _line(record: dict) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


def _read_lines(path: Path) -> list[dict]:
    """The JSON objects of ``path``; a torn last line (no newline) is dropped."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    elif lines:
        lines.pop()  # torn: the process was killed while writing it
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"out: {path} line {number} is not JSON ({exc.msg})") from None
    return records


def _resumed(out: Path, points: list[Point], seed: int) -> dict[int, Row]:
    """The rows already in ``out``, checked against this sweep's grid and seed."""
    seconds = {}
    for record in _read_lines(timings_path(out)):
        seconds[record.get("index")] = record.get("seconds", math.nan)
    rows: dict[int, Row] = {}
    for number, record in enumerate(_read_lines(out), 1):
        try:
            index, point = record["index"], record["point"]
            status, values, error = record["status"], record["values"], record["error"]
            recorded_seed = record["seed"]
        except (KeyError, TypeError):
            raise ValueError(f"out: {out} line {number} is not a sweep record") from None
        if not isinstance(index, int) or not 0 <= index < len(points) or point != points[index]:
            raise ValueError(f"out: {out} line {number} holds point {point} at index {index}, "
                             f"which is not this grid's: a different sweep (another file, or "
                             f"resume=False / --fresh to start over)")
        if recorded_seed != seed:
            raise ValueError(f"out: {out} line {number} was computed with seed "
                             f"{recorded_seed}, this sweep has seed {seed}")
        rows[index] = Row(index, point, status, values, error, seconds.get(index, math.nan))
    return rows


class _Writer:
    """Appends records and timings as points finish, each line flushed at once."""

    def __init__(self, out: Path | None, seed: int) -> None:
        self.out, self.seed = out, seed
        self.files: list = []
        if out is not None:
            self.files = [open(out, "a", encoding="utf-8"),
                          open(timings_path(out), "a", encoding="utf-8")]

    def write(self, row: Row) -> None:
        if not self.files:
            return
        records, timings = self.files
        records.write(_line(row.record(self.seed)))
        records.flush()
        timings.write(_line({"index": row.index, "seconds": row.seconds}))
        timings.flush()

    def close(self) -> None:
        for file in self.files:
            file.close()


def _rewrite(out: Path, rows: Iterable[Row], seed: int) -> None:
    """Both files, sorted by index, written atomically."""
    ordered = sorted(rows, key=lambda r: r.index)
    write_atomic(out, "".join(_line(r.record(seed)) for r in ordered))
    write_atomic(timings_path(out), "".join(
        _line({"index": r.index, "seconds": r.seconds}) for r in ordered))


# --------------------------------------------------------------------------- running


def _serial(fn: PointFunction, tasks: list[tuple[int, Point]], seed: int) -> Iterator[Row]:
    for index, point in tasks:
        yield evaluate(fn, index, point, seed)


def evaluate_batch(fn: PointFunction, tasks: list[tuple[int, Point]], seed: int) -> list[Row]:
    """:func:`evaluate` at several points (one task for an executor)."""
    return [evaluate(fn, index, point, seed) for index, point in tasks]


def _pooled(fn: PointFunction, tasks: list[tuple[int, Point]], seed: int,
            executor: Executor, batch: int) -> Iterator[Row]:
    futures: list[Future] = [executor.submit(evaluate_batch, fn, tasks[i:i + batch], seed)
                             for i in range(0, len(tasks), batch)]
    try:
        for future in as_completed(futures):
            yield from future.result()
    finally:  # on an interruption or an executor failure: drop what has not started
        for future in futures:
            future.cancel()


def _bar(rows: Iterator[Row], description: str, total: int) -> Iterable[Row]:
    """``rows`` with a tqdm bar on standard error (gone when the loop ends)."""
    from tqdm import tqdm

    return tqdm(rows, desc=description, total=total, leave=False, file=sys.stderr)


def sweep(fn: PointFunction, grid: Mapping[str, Iterable], *, executor: Executor | None = None,
          seed: int = 0, out: str | os.PathLike | None = None, resume: bool = True,
          batch: int = 1, description: str = "sweep", show_progress: bool | None = None) -> Table:
    """Evaluate ``fn(point, rng)`` at every point of ``grid`` (module docstring).

    Parameters
    ----------
    fn : callable
        ``fn(point, rng) -> mapping`` of measured values (numbers, strings, bools, None);
        ``point`` is a dict parameter name -> value. Must be picklable (a module-level
        function) to run on a process pool or a cluster.
    grid : mapping
        Parameter name -> values (:func:`check_grid`); the points are their product.
    executor : concurrent.futures.Executor, optional
        Where the points run (``None``: here, one after another, in index order). A
        ``ProcessPoolExecutor`` or ``dask.distributed.Client(...).get_executor()``.
    seed : int
        Root seed of the points' generators (:func:`point_rng`).
    out : path, optional
        JSON-lines file the rows stream to (and its :func:`timings_path`).
    resume : bool
        Keep the rows already in ``out`` and run only the missing points (else ``out``
        is started afresh).
    batch : int
        Points per task sent to ``executor`` (consecutive indices; their rows stream when
        the task ends): larger batches cut the per-task overhead of a cluster's scheduler.
        The rows do not depend on it.
    description : str
        The progress bar's label.
    show_progress : bool, optional
        Whether to draw the bar; None (default): only on a terminal
        (:func:`theory.progress.enabled`, read when the sweep starts).

    Returns
    -------
    Table
        One row per point, sorted by index.

    Raises
    ------
    ValueError
        A bad ``grid`` or ``seed``, an ``out`` that cannot be written, or an ``out`` that
        holds another sweep's rows.
    """
    points = grid_points(grid)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    done: dict[int, Row] = {}
    if out is not None:
        out = Path(out)
        problem = file_problem(out)
        if problem:
            raise ValueError(f"out: {problem}")
        if resume:
            done = _resumed(out, points, seed)
        _rewrite(out, done.values(), seed)  # drops a torn line before appending
    tasks = [(i, p) for i, p in enumerate(points) if i not in done]
    rows = (_serial(fn, tasks, seed) if executor is None
            else _pooled(fn, tasks, seed, executor, int(batch)))
    if show_progress is None:
        show_progress = progress.enabled()
    writer = _Writer(out, seed)
    try:
        for row in (_bar(rows, description, len(tasks)) if show_progress else rows):
            done[row.index] = row
            writer.write(row)
    finally:
        writer.close()
    if out is not None:
        _rewrite(out, done.values(), seed)
    return Table(check_grid(grid), tuple(done[i] for i in range(len(points))), seed)


# --------------------------------------------------------------------------- executors


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` spawned worker processes (start it inside
    :func:`verify.runner.worker_environment`)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def dask_client(address: str):
    """A ``dask.distributed.Client`` connected to the scheduler at ``address``.

    Raises
    ------
    ValueError
        When Dask is not installed (naming the extra to install).
    """
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(f"--scheduler needs Dask's distributed scheduler: {DASK_EXTRA}") from None
    return Client(address)


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verify.sweep",
        description="Compute a regime map (a sweep over a parameter grid) locally, on a "
                    "process pool or on a Dask cluster; rows stream to a JSON-lines file "
                    "and a rerun resumes it.")
    parser.add_argument("name", nargs="?", help="the map (see --list)")
    parser.add_argument("--grid-size", choices=("coarse", "fine"), default="coarse")
    parser.add_argument("--jobs", type=int, default=1,
                        help="local worker processes (default 1: in this process)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"a running Dask scheduler, e.g. tcp://host:8786 ({DASK_EXTRA})")
    parser.add_argument("--out", type=Path,
                        help="JSON-lines file (default NAME-GRIDSIZE.jsonl); its timings go "
                             "to NAME-GRIDSIZE.seconds.jsonl")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                        help=f"points per task on --jobs or --scheduler (default "
                             f"{DEFAULT_BATCH}; the rows do not depend on it)")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    parser.add_argument("--fresh", action="store_true",
                        help="start over instead of resuming the points already in --out")
    parser.add_argument("--list", action="store_true", help="list the maps and exit")
    return parser


def _summary(table: Table, wall: float, regimes: Iterable[str]) -> str:
    regime_column = table.column("regime")
    tally = ", ".join(f"{regime} {regime_column.count(regime)}" for regime in regimes)
    return (f"{len(table.rows)} points ({tally}; errors {len(table.errors)}); wall "
            f"{wall:.1f} s, points {table.seconds:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: exit 0 when every point ran, 1 when some raised, 2 on a usage
    error (a one-line message on standard error), 130 when interrupted (Ctrl-C)."""
    from verify.maps import load_maps

    args = _parser().parse_args(argv)
    maps = load_maps()
    if args.list:
        for name, map_ in maps.items():
            sizes = ", ".join(f"{size} {len(grid_points(map_.grids[size]))}"
                              for size in map_.grids)
            print(f"{name}  [{map_.setting}]  points: {sizes}\n    {map_.title}")
        return 0
    try:
        if args.name is None:
            raise ValueError("give a map name (see --list)")
        if args.name not in maps:
            raise ValueError(f"unknown map {args.name!r}; maps: {', '.join(maps)}")
        if args.jobs < 1:
            raise ValueError(f"--jobs must be a positive integer, got {args.jobs}")
        if args.batch < 1:
            raise ValueError(f"--batch must be a positive integer, got {args.batch}")
        if args.scheduler is not None and args.jobs != 1:
            raise ValueError("--jobs and --scheduler exclude each other")
        map_ = maps[args.name]
        out = args.out or Path(f"{args.name}-{args.grid_size}.jsonl")
        client = dask_client(args.scheduler) if args.scheduler is not None else None
    except (ValueError, OSError) as exc:
        print(f"python -m verify.sweep: {exc}", file=sys.stderr)
        return 2
    bar = progress.enabled()  # decided here: worker_environment turns bars off
    start = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            executor = None
            if client is not None:
                stack.enter_context(client)
                executor = client.get_executor()
            elif args.jobs > 1:
                from verify.runner import worker_environment

                stack.enter_context(worker_environment())
                executor = stack.enter_context(process_pool(args.jobs))
            table = map_.run(args.grid_size, executor=executor, seed=args.seed, out=out,
                             resume=not args.fresh, batch=args.batch, show_progress=bar)
    except ValueError as exc:
        print(f"python -m verify.sweep: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"python -m verify.sweep: interrupted; the finished points are in {out}: run "
              f"the same command again to resume", file=sys.stderr)
        return 130
    print(f"{args.name} ({args.grid_size}): {_summary(table, time.perf_counter() - start, map_.regimes)}"
          f"\n  rows: {out}\n  timings: {timings_path(out)}")
    for row in table.errors[:5]:
        print(f"  error at {row.point}: {row.error}")
    return 1 if table.errors else 0


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy, so that the functions sent to
    # worker processes are pickled as verify.sweep.* (importable there).
    from verify import sweep as importable

    raise SystemExit(importable.main())
