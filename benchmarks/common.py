"""Helpers shared by the benchmarks: checked runs, median timing, first-call probes of a
kernel in fresh subprocesses, machine information, and the command lines' common parts
(``--version``, output paths checked before any work, atomic writes)."""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numba
import numpy as np

import theory
from theory.output_files import file_problem, write_atomic
from theory.results import Status, Trajectory

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")
"""Environment variables that size the thread pools of NumPy's BLAS and numba."""


def check_trajectory(traj: Trajectory, label: str) -> None:
    """Raise if a timed run is not usable.

    Raises
    ------
    RuntimeError
        If the run diverged (the timing would then cover fewer steps than asked), or
        ended in a subnormal state (the timing would measure denormal arithmetic).
    """
    if traj.status is Status.DIVERGED:
        raise RuntimeError(f"{label} diverged at step {traj.diverged_at}")
    final = np.abs(traj.final)
    if np.any((final > 0.0) & (final < np.finfo(np.float64).tiny)):
        raise RuntimeError(f"{label} ended in a subnormal state {traj.final}")


def median_rate(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """Median steps per second of ``run`` over ``repeats`` timed calls after one warm-up call.

    ``run`` performs one run and returns the number of steps it took.

    Returns
    -------
    rate : float
        Steps taken divided by the median wall time.
    taken : int
        Steps taken per run (from the warm-up call).
    """
    taken = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return taken / statistics.median(times), taken


def print_probe(start: float, imported: float, first: float, kernel) -> None:
    """Print (JSON, one line) a fresh process's first-call report for the numba ``kernel``.

    ``start``, ``imported`` and ``first`` are ``time.perf_counter()`` values taken before
    the imports, after them, and after the kernel's first call.
    """
    stats = kernel.stats
    print(json.dumps({"import_s": imported - start, "first_call_s": first - imported,
                      "cache_hits": sum(stats.cache_hits.values()),
                      "cache_misses": sum(stats.cache_misses.values()),
                      "signatures": len(kernel.signatures)}))


def compile_times(module: str) -> dict[str, dict]:
    """Run ``module.probe(t)`` in fresh subprocesses: cold, cache write, cache load.

    ``probe`` must print its report as the last line of stdout (see :func:`print_probe`).
    Cold runs with ``OVERPARAM_NUMBA_CACHE=0``; the other two share a temporary
    ``NUMBA_CACHE_DIR``, empty for the write.
    """
    code = f"import time; t = time.perf_counter(); import {module} as b; b.probe(t)"
    results = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        for label, cache in (("cold", "0"), ("cache_write", "1"), ("cache_load", "1")):
            env = dict(os.environ, OVERPARAM_NUMBA_CACHE=cache, NUMBA_CACHE_DIR=cache_dir)
            proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                                  capture_output=True, text=True, check=True)
            results[label] = json.loads(proc.stdout.splitlines()[-1])
    return results


def machine_info() -> dict[str, str | int | None]:
    """Platform, Python, NumPy and numba versions, CPU count, and the kernels each BLAS
    library runs (:func:`blas_kernels`)."""
    return {"platform": platform.platform(), "machine": platform.machine(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "cpu_count": os.cpu_count(),
            "blas": blas_kernels()}


BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables that make OpenBLAS run other kernels than it would choose for the CPU. Some
machines set them for old OpenBLAS builds that fail on their processors, which slows the
current ones (their AVX2 kernels on an AVX-512 CPU): benchmark with both unset
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks ...``), and read in
the report which kernels ran."""


def blas_kernels() -> str:
    """The BLAS libraries loaded (SciPy's is the one numba's ``np.dot`` calls, loaded here
    if it is not yet), their versions and the kernels they chose (``threadpoolctl``), and
    any of :data:`BLAS_VARIABLES` that is set, e.g. ``"scipy_openblas 0.3.30 SkylakeX,
    scipy_openblas64_ 0.3.31 SkylakeX"``."""
    import scipy.linalg  # noqa: F401  (loads SciPy's OpenBLAS)
    import threadpoolctl

    libraries = [f"{Path(info['filepath']).name.split('-')[0].removeprefix('lib')} "
                 f"{info.get('version')} {info.get('architecture')}"
                 for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    forced = [f"{name}={os.environ[name]}" for name in BLAS_VARIABLES if name in os.environ]
    return ", ".join(libraries) + (f" (set: {', '.join(forced)})" if forced else "")


DISTRIBUTION = "overparam-theory"


def package_version() -> str:
    """The package's version: ``theory.__version__``, else the installed distribution's
    metadata; "unknown" when neither is available (a checkout that was never installed)."""
    version = getattr(theory, "__version__", None)
    if version is not None:
        return version
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def description(doc: str) -> str:
    """The first line of a module docstring as plain text for ``--help`` (reST roles and
    literals reduced to their text)."""
    line = doc.strip().splitlines()[0]
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", line).replace("``", "")


def add_version_argument(parser: argparse.ArgumentParser) -> None:
    """``--version``: print the program name and :func:`package_version`, then exit."""
    parser.add_argument("--version", action="version",
                        version=f"{parser.prog} {package_version()}")


def check_output_paths(parser: argparse.ArgumentParser, **paths: Path | None) -> None:
    """Exit with status 2 and a one-line message on stderr if any of ``paths`` (option name
    -> path, None for an option not given) cannot be written; called before any work."""
    for option, path in paths.items():
        reason = None if path is None else file_problem(path)
        if reason is not None:
            print(f"{parser.prog}: error: --{option} {path}: {reason}", file=sys.stderr)
            sys.exit(2)




def detail_command(prog: str, doc: str, argv: list[str] | None, quick_help: str = "short runs",
                   configure: Callable[[argparse.ArgumentParser], None] | None = None
                   ) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line of a setting's detailed benchmark (``python -m
    benchmarks.<setting>``): ``--quick`` (help ``quick_help``), ``--json PATH``,
    ``--version`` and whatever ``configure(parser)`` adds; the output path is checked
    before any work (:func:`check_output_paths`). Returns the parser and the arguments."""
    parser = argparse.ArgumentParser(prog=prog, description=description(doc))
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the report here")
    if configure is not None:
        configure(parser)
    add_version_argument(parser)
    args = parser.parse_args(argv)
    check_output_paths(parser, json=args.json)
    return parser, args


def twin_rates(run: Callable[[str, int], int], steps: dict[str, int], label: str,
               unit: str = "steps", repeats: int = 3) -> dict[str, float]:
    """Rates of a solver jitted and as its NumPy twin: ``run(backend, n)`` runs ``n``
    steps on ``backend`` and returns the steps taken; ``steps`` maps each backend to its
    ``n``. Returns ``{"<backend>_<unit>_per_s": median rate, ..., "ratio": numba / numpy}``
    and prints it as one line headed by ``label``."""
    entry = {f"{backend}_{unit}_per_s": median_rate(lambda: run(backend, n), repeats)[0]
             for backend, n in steps.items()}
    entry["ratio"] = entry[f"numba_{unit}_per_s"] / entry[f"numpy_{unit}_per_s"]
    print(f"{label:28s} numba {entry[f'numba_{unit}_per_s']:10.1f}/s  numpy "
          f"{entry[f'numpy_{unit}_per_s']:9.1f}/s  ratio {entry['ratio']:6.1f}", flush=True)
    return entry


def write_json_report(path: Path | None, report: dict) -> None:
    """Write ``report`` as indented JSON to ``path`` atomically (nothing when None; NumPy
    scalars as floats)."""
    if path is not None:
        write_atomic(path, json.dumps(report, indent=2, default=float) + "\n")
