"""``python -m benchmarks``: every solver of every setting, measured one way.

For each setting of :data:`theory.registry.SETTINGS` (its ``benchmarks.<setting>`` module provides
``cases(quick)`` and ``races()``, see :mod:`benchmarks.harness`):

- every solver at a small size (the one ``verify`` uses) and a large one: jitted seconds
  per step (marginal: call overhead excluded and reported; the fastest of repeated,
  alternating timings, see :func:`benchmarks.harness.seconds_per_step`), the NumPy twin's,
  their ratio, and the fraction of the roofline bound max(flops / dense-matmul rate,
  bytes / streaming bandwidth) reached, both rates the best measured in this run;
- every flow raced against ``scipy.integrate.solve_ivp`` (RK45, DOP853) to the same
  accuracy at the same final time;
- the hot kernels that are not solvers, for settings whose module provides
  ``kernels(quick)`` (:class:`benchmarks.harness.Kernel`; ``--quick``: its smaller
  sizes): seconds per call jitted, of the NumPy twin and of JAX when installed, their
  ratios and the relative difference of their values;
- compile cost: numba compilation during the timings (the cold cost on a clean
  checkout, zero with a warm cache); without ``--quick`` also the first call of every
  solver in fresh processes, cold (empty temporary cache) and from that cache;
- ``import analytic, theory, verify`` and every module of every setting; each cached
  sympy derivation (first and second call);
- without ``--quick``: ``python -m verify`` wall time with a warm cache, -j 1 and -j 2;
- without ``--quick``: the JAX peer (:mod:`benchmarks.jax_peer`, when JAX is installed:
  ``pip install '.[bench]'``): fifteen gradient-descent cases timed against ``jax.jit`` +
  ``lax.scan`` in float64 on the CPU, with default thread pools and with one thread; the
  target is a ratio JAX time / our time above 1 on every case.

``--quick`` is the overview that fits in QUICK_SECONDS on the 2-core reference machine
(shared with other work): every solver at the small size, jitted and twin; at the large
size only the first solver of each setting (gradient descent), jitted; one race per
setting (its first flow, gradient flow), with one refinement of the searches; imports and
derivations. No fresh-process compile timing, no ``verify`` timing, no JAX peer (``python
-m benchmarks.jax_peer --quick`` runs it alone).

Every row is measured on its own and printed as soon as it is measured. A case, race or
section that raises is reported in its row (``status`` "error" and the message) and the
run goes on; a case whose timings stay noisy, or whose fraction of the bound exceeds 1
(the machine rates measured in this run too low), has ``status`` "noisy" and a ``note``.
With ``--json`` and ``--markdown`` both reports are rewritten (atomically: a temporary
file, then a rename) after every row, with ``"complete": false`` until the run ends, so an
interrupted run (Ctrl-C) leaves valid reports of what it measured. Both paths are checked
before any work.

Targets (issue 6) are checked at the end; a miss is printed with its size. Exit status:
0; 1 if any row or section is an error; 2 for a bad command line or output path; 130 if
interrupted.

Run from the repository root::

    python -m benchmarks [--quick] [--json PATH] [--markdown PATH] [--setting NAME]
"""
from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from benchmarks import harness as h
from benchmarks import jax_peer
from benchmarks.common import (ROOT, add_version_argument, check_output_paths, description,
                               machine_info, package_version)
from benchmarks.report import TARGETS, Report, compile_summary, misses, problems, summary
from theory.numba_options import CompileClock
from theory.registry import SETTINGS

QUICK_SECONDS = 180
"""What ``--quick`` promises (its help): the whole run within this many seconds."""
BACKENDS = ("numba", "numpy")


def describe(exc: BaseException) -> str:
    """One line naming an exception: its type and message."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def guarded(compute: Callable[[], Any]) -> Any:
    """``compute()``, or ``{"error": message}`` if it raised an exception."""
    try:
        return compute()
    except Exception as exc:
        return {"error": describe(exc)}


def _number(value: float | None, spec: str, width: int) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{spec}}"


def case_identity(case: h.Case) -> dict:
    """What a case row says about its case: names, size and work model."""
    return {"setting": case.setting, "solver": case.solver, "size": case.size,
            "label": case.label, "flops": case.flops, "bytes": case.bytes,
            "working_set": case.working_set}


def measure_case(case: h.Case, quick: bool) -> dict:
    """One row of the case table: per backend :func:`benchmarks.harness.seconds_per_step`
    (``--quick`` skips the twin at the large size), their ratio, the roofline (measured
    again at once if the fraction exceeds 1), ``seconds`` spent; ``status`` "ok",
    "noisy" (with ``note``) or "error" (with ``error``, and what was measured)."""
    start = time.perf_counter()
    row: dict = case_identity(case)
    backends = BACKENDS[:1] if quick and case.size == "large" else BACKENDS
    try:
        for backend in backends:
            row[backend] = h.seconds_per_step(case, backend, quick)
        jit = row["numba"]["s_per_step"]
        twin = row["numpy"]["s_per_step"] if "numpy" in row else None
        row["ratio"] = twin / jit if jit is not None and twin is not None else None
        update_roofline(row)
        if row["fraction"] is not None and row["fraction"] > 1.0:
            h.RATES.remeasure([case.working_set])
            update_roofline(row)
    except Exception as exc:
        row.update(status="error", error=describe(exc))
    row["seconds"] = time.perf_counter() - start
    return row


def update_roofline(row: dict) -> None:
    """(Re)compute a measured case row's roofline from the current rates
    (:data:`benchmarks.harness.RATES`), and its ``status`` and ``note``."""
    row.update(h.roofline(row["flops"], row["bytes"], row["working_set"],
                          row["numba"]["s_per_step"]))
    notes = [f"{backend}: {row[backend]['note']}" for backend in BACKENDS
             if backend in row and row[backend]["status"] == "noisy"]
    if row["fraction"] is not None and row["fraction"] > 1.0:
        notes.append(f"{row['fraction']:.0%} of the bound: the machine rates of this run "
                     "were measured too low")
    row["status"] = "noisy" if notes else "ok"
    row.pop("note", None)
    if notes:
        row["note"] = "; ".join(notes)


CASE_HEADER = (f"{'setting':<16}{'solver':<29}{'size':<6}{'numba':>10}{'numpy':>10}"
               f"{'ratio':>8}{'bound':>7} {'limit':<7}{'call s':>9}")


def case_line(row: dict) -> str:
    """The printed line of a case row."""
    head = f"{row['setting']:<16}{row['solver']:<29}{row['size']:<6}"
    if row["status"] == "error":
        return f"{head}  ERROR {row['error']}"
    twin = row.get("numpy", {}).get("s_per_step")
    line = (f"{head}{_number(row['numba']['s_per_step'], '.3g', 10)}"
            f"{_number(twin, '.3g', 10)}{_number(row['ratio'], '.1f', 8)}"
            f"{_number(row['fraction'], '.0%', 7)} {row['limit']:<7}"
            f"{row['numba']['call_s']:>9.2g}  {row['label']}")
    return line + (f"  NOISY ({row['note']})" if row["status"] == "noisy" else "")


def measure_race(race: h.Race, quick: bool) -> dict:
    """One row of the race table (:func:`benchmarks.harness.run_race`), ``status`` "ok"
    or "error" (with ``error``)."""
    row = {"setting": race.setting, "solver": race.solver, "label": race.label, "T": race.T}
    try:
        row.update(h.run_race(race, quick), status="ok")
    except Exception as exc:
        row.update(status="error", error=describe(exc))
    return row


def race_line(row: dict) -> str:
    """The printed line of a race row."""
    head = f"{row['setting']:<16}{row['solver']:<29}T={row['T']:<6g}"
    if row["status"] == "error":
        return f"{head}  ERROR {row['error']}"
    speed = "".join(f"{row[m]['speedup']:>9.1f}x" if row[m]["reached"] else f"{'n/a':>10}"
                    for m in h.IVP_METHODS)
    return (f"{head}{row['ours']['time_s']:>10.3g}{speed}  ours at "
            f"{row['ours']['knob']:.3g}, {row['label']}")


KERNEL_HEADER = (f"{'setting':<16}{'kernel':<29}{'size':<8}{'numba s':>10}{'numpy s':>10}"
                 f"{'ratio':>8}{'jax s':>10}{'ratio':>8}{'rel. diff':>10}")


def measure_kernel(kernel: h.Kernel, quick: bool) -> dict:
    """One row of the kernel table (:func:`benchmarks.harness.time_kernel`), ``status``
    "ok" or "error" (with ``error``)."""
    row = {"setting": kernel.setting, "kernel": kernel.kernel, "size": kernel.size,
           "label": kernel.label}
    try:
        row.update(h.time_kernel(kernel, quick), status="ok")
    except Exception as exc:
        row.update(status="error", error=describe(exc))
    return row


def kernel_line(row: dict) -> str:
    """The printed line of a kernel row."""
    head = f"{row['setting']:<16}{row['kernel']:<29}{row['size']:<8}"
    if row["status"] == "error":
        return f"{head}  ERROR {row['error']}"
    jax = row.get("jax", {}).get("s")
    difference = max(row[b]["relative_difference"] for b in ("numba", "numpy", "jax") if b in row)
    return (f"{head}{row['numba']['s']:>10.3g}{row['numpy']['s']:>10.3g}"
            f"{row['numpy_ratio']:>8.1f}{_number(jax, '.3g', 10)}"
            f"{_number(row.get('jax_ratio'), '.2f', 8)}{difference:>10.1e}  {row['label']}")


def measure_kernels(report: Report, name: str, quick: bool) -> None:
    """Every kernel row of setting ``name`` (none if its module has no ``kernels``), each
    added to the report as it is measured (numba compilation meanwhile is added to
    ``compile_in_run_s``); a setting whose kernels cannot be built gets one error row."""
    with CompileClock() as clock:
        try:
            module = setting_module(name)
            items = module.kernels(quick) if hasattr(module, "kernels") else []
        except Exception as exc:
            items = []
            row = {"setting": name, "kernel": "(all)", "size": "", "label": "",
                   "status": "error", "error": describe(exc)}
            report.add("kernels", row)
            print(kernel_line(row), flush=True)
        for item in items:
            row = measure_kernel(item, quick)
            report.add("kernels", row)
            print(kernel_line(row), flush=True)
    spent = report.data["compile_in_run_s"].get(name, 0.0)
    report.set("compile_in_run_s", name, spent + clock.seconds)


def setting_module(name: str) -> ModuleType:
    """``benchmarks.<name>``, the setting's cases and races."""
    return importlib.import_module(f"benchmarks.{name}")


def quick_subset(cases: list[h.Case]) -> list[h.Case]:
    """What ``--quick`` times of a setting's cases: every small one, and the first large
    one (gradient descent)."""
    large = [case for case in cases if case.size == "large"]
    return [case for case in cases if case.size == "small"] + large[:1]


def measure_setting(report: Report, name: str, section: str, quick: bool) -> None:
    """Every case (``section`` "cases") or race ("races") of setting ``name``, each added
    to the report as it is measured; numba compilation meanwhile is added to
    ``compile_in_run_s``. A setting whose cases or races cannot be built gets one error
    row."""
    with CompileClock() as clock:
        try:
            module = setting_module(name)
            items = (quick_subset(module.cases(quick)) if quick else module.cases(quick)
                     ) if section == "cases" else module.races()[:1 if quick else None]
        except Exception as exc:
            items = None
            row = {"setting": name, "solver": "(all)", "size": "", "label": "", "T": 0.0,
                   "status": "error", "error": describe(exc)}
            report.add(section, row)
            print(case_line(row) if section == "cases" else race_line(row), flush=True)
        for item in items or []:
            if section == "cases":
                row = measure_case(item, quick)
                line = case_line(row)
            else:
                row = measure_race(item, quick)
                line = race_line(row)
            report.add(section, row)
            print(line, flush=True)
    spent = report.data["compile_in_run_s"].get(name, 0.0)
    report.set("compile_in_run_s", name, spent + clock.seconds)


def rates_summary() -> dict:
    """The machine rates of this run (:data:`benchmarks.harness.RATES`) for the report."""
    return {"matmul_flops_per_s": dict(h.RATES.matmul),
            "bandwidth_bytes_per_s_by_matrix_side": {
                str(n): rates for n, rates in sorted(h.RATES.bandwidth.items())}}


def refresh_rooflines(report: Report) -> dict:
    """Measure the machine rates again (:meth:`benchmarks.harness.MachineRates.remeasure`)
    and recompute every measured case row's roofline with the best rates of the run."""
    h.RATES.remeasure()
    for row in report.data.get("cases", []):
        if row["status"] != "error":
            update_roofline(row)
    report.set("rates", rates_summary())
    report.set("matmul_flops_per_s", h.RATES.matmul_rate())
    return {}


def measure_jax_peer(report: Report) -> None:
    """The JAX peer's rows by thread setting ("default", and "1" measured in a subprocess
    limited to one thread), each added as it is measured; none without JAX."""
    report.set("jax_peer", {})
    if not jax_peer.jax_available():
        print("\nJAX not installed (pip install '.[bench]'): JAX peer skipped")
        return
    print("\nJAX peer (jax.jit + lax.scan, float64, CPU): ns per step, ratio JAX / ours (> 1: "
          "ours faster)")
    print(jax_peer.HEADER)
    for name in jax_peer.CASES:
        try:
            row = {**jax_peer.measure(name, quick=False), "status": "ok"}
            line = jax_peer.row(row)
        except Exception as exc:
            row = {"case": name, "status": "error", "error": describe(exc)}
            line = f"{name:<32}ERROR {row['error']}"
        report.add("jax_peer", "default", row)
        print(line, flush=True)
    print("one thread:")
    report.set("jax_peer", "1", guarded(one_thread_peer))


def one_thread_peer() -> list[dict]:
    """The JAX peer's rows with every thread pool limited to one (a subprocess)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peer.json"
        status = jax_peer.main(["--threads", "1", "--json", str(path)])
        if status != 0:
            raise RuntimeError(f"python -m benchmarks.jax_peer --threads 1 exited with {status}")
        return [{**row, "status": "ok"} for row in json.loads(path.read_text())["results"]]


def verify_seconds(jobs: int) -> dict:
    """Wall time and closing line (with its compile time) of ``python -m verify -j jobs``;
    the caller warms the numba cache first."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "verify", "-j", str(jobs)], cwd=ROOT,
                          capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    return {"wall_s": time.perf_counter() - start, "exit": proc.returncode,
            "summary": lines[-1] if lines else proc.stderr.strip()[-300:]}


def run(report: Report, settings: list[str], quick: bool) -> None:
    """Measure everything (module docstring) into ``report``."""
    start = time.perf_counter()
    sections: dict[str, float] = {}
    report.data.update(version=package_version(), machine=machine_info(), quick=quick,
                       complete=False, interrupted=False, targets=TARGETS, cases=[],
                       races=[], kernels=[], compile_in_run_s={}, section_seconds=sections)
    report.save()

    def section_done(name: str, begin: float) -> None:
        report.set("section_seconds", name, time.perf_counter() - begin)

    begin = time.perf_counter()
    rates = guarded(lambda: {"matmul_flops_per_s": h.RATES.matmul_rate()})
    report.set("rates", rates_summary() if "error" not in rates else rates)
    if "error" in rates:
        print(f"dense matmul rate not measured: {rates['error']}")
    else:
        report.set("matmul_flops_per_s", rates["matmul_flops_per_s"])
        print("dense matmul (1024^2, float64): " + ", ".join(
            f"{k.replace('_', ' ')} {v / 1e9:.1f}" for k, v in h.RATES.matmul.items())
            + " GFLOP/s")
    section_done("rates", begin)

    print("seconds per step (jitted, twin), ratio, fraction of the roofline bound, "
          "fixed cost of one jitted call")
    print(CASE_HEADER)
    begin = time.perf_counter()
    for name in settings:
        measure_setting(report, name, "cases", quick)
    section_done("cases", begin)

    begin = time.perf_counter()
    before = h.RATES.matmul_rate() if h.RATES.matmul else None
    refreshed = guarded(lambda: refresh_rooflines(report))
    if "error" in refreshed:
        print(f"machine rates not measured again: {refreshed['error']}")
        report.set("rates", "error", refreshed["error"])
    else:
        print(f"machine rates measured again, the best of the run kept (dense matmul "
              f"{_number(before and before / 1e9, '.1f', 0)} -> "
              f"{h.RATES.matmul_rate() / 1e9:.1f} GFLOP/s); fractions recomputed")
    section_done("rates again", begin)

    print(f"\nflows to equal accuracy {h.ACCURACY:g}: our time, speed-up over "
          + ", ".join(h.IVP_METHODS))
    begin = time.perf_counter()
    for name in settings:
        measure_setting(report, name, "races", quick)
    section_done("races", begin)
    print("\nkernels that are not solvers: seconds per call (jitted, twin, JAX), ratios to "
          "the jitted, largest relative difference of the values")
    print(KERNEL_HEADER)
    begin = time.perf_counter()
    for name in settings:
        measure_kernels(report, name, quick)
    section_done("kernels", begin)
    print("\nnumba compilation during the timings, races and kernels above (0 with a warm "
          "cache): "
          + ", ".join(f"{k} {v:.1f} s" for k, v in report.data["compile_in_run_s"].items()))

    if not quick:
        begin = time.perf_counter()
        print("first call of every solver in a fresh process (s): cold compile / from cache")
        for name in settings:
            c = guarded(lambda: h.compile_report(name))
            report.set("compile", name, c)
            if "error" in c:
                print(f"  {name:<16} ERROR {c['error']}")
                continue
            s = compile_summary(c)
            print(f"  {name:<16} cold {s['cold']:6.2f} (compiling {s['compiling']:.2f})   "
                  f"cached {s['cached']:5.2f}")
        section_done("compile", begin)

    begin = time.perf_counter()
    modules_all = [f"{pkg}.{name}" for pkg in ("theory", "analytic", "verify")
                   for name in SETTINGS] + ["verify.claims"]
    imports = guarded(lambda: {"packages_s": h.import_seconds(["analytic", "theory", "verify"]),
                               "all_modules_s": h.import_seconds(modules_all)})
    report.set("imports", imports)
    print("\n" + (f"import analytic, theory, verify: {imports['packages_s']:.3f} s; every "
                  f"setting's modules: {imports['all_modules_s']:.3f} s" if "error" not in imports
                  else f"imports not measured: {imports['error']}"))
    section_done("imports", begin)

    begin = time.perf_counter()
    for name in SETTINGS:
        report.set("derivations", name, guarded(lambda: h.derivation_report(name)))
    derivations = report.data["derivations"]
    measured = [(d["first_s"], f"{m}.{n}") for m, ds in derivations.items()
                for n, d in ds.items() if n != "error"]
    if measured:
        slowest = max(measured)
        cached = max(d["second_s"] for ds in derivations.values() for n, d in ds.items()
                     if n != "error")
        derive = max((d["derive_s"], f"{m}.{n}") for m, ds in derivations.items()
                     for n, d in ds.items() if n != "error")
        print(f"closed forms: {len(measured)}, slowest first call (stored form) {slowest[1]} "
              f"{slowest[0]:.2f} s, slowest cached call {cached:.1e} s, slowest live sympy "
              f"derivation {derive[1]} {derive[0]:.2f} s")
    for m, ds in derivations.items():
        if "error" in ds:
            print(f"derivations of analytic.{m} not measured: {ds['error']}")
    section_done("derivations", begin)

    if not quick:
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-m", "verify"], cwd=ROOT, capture_output=True)
        for jobs in (1, 2):
            v = guarded(lambda: verify_seconds(jobs))
            report.set("verify", str(jobs), v)
            print(f"python -m verify -j {jobs} (warm cache): " + (
                f"ERROR {v['error']}" if "error" in v else
                f"{v['wall_s']:.1f} s wall; {v['summary']}"))
        section_done("verify", begin)

    if not quick:
        begin = time.perf_counter()
        measure_jax_peer(report)
        section_done("jax_peer", begin)

    report.data["misses"] = misses(report.data)
    report.data["seconds"] = time.perf_counter() - start
    report.data["complete"] = True
    report.save()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=description(__doc__))
    parser.add_argument("--quick", action="store_true",
                        help=f"an overview in < {QUICK_SECONDS // 60} min on 2 cores: every "
                             "solver at the small size; at the large size and in the races "
                             "one solver per setting; no compile, verify or JAX timing")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the report here (rewritten after every row)")
    parser.add_argument("--markdown", type=Path, metavar="PATH",
                        help="write the tables in Markdown here (rewritten after every row)")
    parser.add_argument("--setting", action="append", choices=SETTINGS,
                        help="only this setting (repeatable)")
    add_version_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_output_paths(parser, json=args.json, markdown=args.markdown)
    report = Report(args.json, args.markdown)
    start = time.perf_counter()
    try:
        run(report, args.setting or list(SETTINGS), args.quick)
    except KeyboardInterrupt:
        report.data.update(interrupted=True, seconds=time.perf_counter() - start)
        report.save()
        print(summary(report.data))
        print("interrupted: the reports hold the rows measured so far", file=sys.stderr)
        return 130
    print(summary(report.data))
    return 1 if problems(report.data)["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
