"""``python -m benchmarks``: every solver of every setting, measured one way.

For each setting of :data:`theory.registry.SETTINGS` (its ``benchmarks.<setting>`` module provides
``cases(quick)`` and ``races()``, see :mod:`benchmarks.harness`):

- every solver at a small size (the one ``verify`` uses) and a large one: jitted seconds
  per step (marginal: call overhead excluded and reported), the NumPy twin's, their
  ratio, and the fraction of the roofline bound max(flops / dense-matmul rate, bytes /
  streaming bandwidth) reached, both rates measured in this run;
- every flow raced against ``scipy.integrate.solve_ivp`` (RK45, DOP853) to the same
  accuracy at the same final time;
- compile cost: numba compilation during the timings (the cold cost on a clean
  checkout, zero with a warm cache); without ``--quick`` also the first call of every
  solver in fresh processes, cold (empty temporary cache) and from that cache;
- ``import analytic, theory, verify`` and every module of every setting; each cached
  sympy derivation (first and second call);
- without ``--quick``: ``python -m verify`` wall time with a warm cache, -j 1 and -j 2;
- the JAX peer (:mod:`benchmarks.jax_peer`, when JAX is installed: ``pip install
  '.[bench]'``): ten gradient-descent cases timed against ``jax.jit`` + ``lax.scan`` in
  float64 on the CPU, with default thread pools and (full mode) one thread; the target is
  a ratio JAX time / our time above 1 on every case.

Targets (issue 6) are checked at the end; a miss is printed with its size.

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

from benchmarks import harness as h
from benchmarks import jax_peer
from benchmarks.common import ROOT, machine_info
from theory.numba_options import CompileClock
from theory.registry import SETTINGS

TARGETS = {"small_ratio": 20.0, "large_ratio": 1.0, "large_fraction": 0.5,
           "race_speedup": 10.0, "verify_warm_s": 60.0, "import_s": 1.5,
           "derivation_s": 2.0, "jax_ratio": 1.0}
"""Issue 6 targets: jitted/twin ratio at small sizes, at large sizes; fraction of the
bound at large sizes; speed-up over solve_ivp; verify wall time with a warm cache;
import time; one sympy derivation."""


def measure_cases(module, quick: bool) -> list[dict]:
    rows = []
    for case in module.cases(quick):
        jit = h.seconds_per_step(case, "numba", quick)
        twin = h.seconds_per_step(case, "numpy", quick)
        row = {"setting": case.setting, "solver": case.solver, "size": case.size,
               "label": case.label, "flops": case.flops, "bytes": case.bytes,
               "numba": jit, "numpy": twin, "ratio": twin["s_per_step"] / jit["s_per_step"],
               **h.roofline(case, jit["s_per_step"])}
        rows.append(row)
        print(f"{case.setting:<16}{case.solver:<29}{case.size:<6}{jit['s_per_step']:>10.3g}"
              f"{twin['s_per_step']:>10.3g}{row['ratio']:>8.1f}{row['fraction']:>7.0%} "
              f"{row['limit']:<7}{jit['call_s']:>9.2g}  {case.label}", flush=True)
    return rows


def measure_races(module, quick: bool) -> list[dict]:
    rows = []
    for race in module.races():
        r = h.run_race(race, quick)
        r.update(setting=race.setting, solver=race.solver)
        rows.append(r)
        speed = "".join(f"{r[m]['speedup']:>9.1f}x" if r[m]["reached"] else f"{'n/a':>10}"
                        for m in h.IVP_METHODS)
        print(f"{race.setting:<16}{race.solver:<29}T={race.T:<6g}{r['ours']['time_s']:>10.3g}"
              f"{speed}  ours at {r['ours']['knob']:.3g}, {race.label}", flush=True)
    return rows


def measure_jax_peer(quick: bool) -> dict[str, list[dict]]:
    """The JAX peer's rows by thread setting ("default", and "1" in full mode, measured in
    a subprocess limited to one thread); empty without JAX."""
    if not jax_peer.jax_available():
        print("\nJAX not installed (pip install '.[bench]'): JAX peer skipped")
        return {}
    print("\nJAX peer (jax.jit + lax.scan, float64, CPU): ns per step, ratio JAX / ours (> 1: "
          "ours faster)")
    print(jax_peer.HEADER)
    rows = {"default": []}
    for name in jax_peer.CASES:
        rows["default"].append(jax_peer.measure(name, quick))
        print(jax_peer.row(rows["default"][-1]), flush=True)
    if not quick:
        print("one thread:")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "peer.json"
            jax_peer.main(["--threads", "1", "--json", str(path)])
            rows["1"] = json.loads(path.read_text())["results"]
    return rows


def verify_seconds(jobs: int) -> dict:
    """Wall time and closing line (with its compile time) of ``python -m verify -j jobs``;
    the caller warms the numba cache first."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "verify", "-j", str(jobs)], cwd=ROOT,
                          capture_output=True, text=True)
    return {"wall_s": time.perf_counter() - start, "exit": proc.returncode,
            "summary": proc.stdout.strip().splitlines()[-1]}


def misses(report: dict) -> list[str]:
    """Every target missed, with by how much."""
    out = []
    for row in report["cases"]:
        name = f"{row['setting']}/{row['solver']} ({row['size']}, {row['label']})"
        if row["size"] == "small" and row["ratio"] < TARGETS["small_ratio"]:
            out.append(f"{name}: jitted {row['ratio']:.1f}x the twin, target "
                       f"{TARGETS['small_ratio']:g}x")
        if row["size"] == "large":
            if row["ratio"] < TARGETS["large_ratio"]:
                out.append(f"{name}: jitted slower than the twin ({row['ratio']:.2f}x)")
            if row["fraction"] < TARGETS["large_fraction"]:
                out.append(f"{name}: {row['fraction']:.0%} of the {row['limit']} bound, "
                           f"target {TARGETS['large_fraction']:.0%}")
    for r in report["races"]:
        for method in h.IVP_METHODS:
            if r[method]["reached"] and r[method]["speedup"] < TARGETS["race_speedup"]:
                out.append(f"{r['setting']}/{r['solver']}: {r[method]['speedup']:.1f}x "
                           f"faster than {method}, target {TARGETS['race_speedup']:g}x")
    for key in ("packages_s", "all_modules_s"):
        if report["imports"][key] > TARGETS["import_s"]:
            out.append(f"import ({key}): {report['imports'][key]:.2f} s, target "
                       f"{TARGETS['import_s']:g} s")
    for module, derivations in report["derivations"].items():
        for name, d in derivations.items():
            if d["first_s"] > TARGETS["derivation_s"]:
                out.append(f"analytic.{module}.{name}: {d['first_s']:.2f} s, target "
                           f"{TARGETS['derivation_s']:g} s")
    for threads, rows in report.get("jax_peer", {}).items():
        for row in rows:
            if row["ratio_wall"] < TARGETS["jax_ratio"]:
                out.append(f"JAX peer {row['case']} ({row['size']}, threads {threads}): JAX takes "
                           f"{row['ratio_wall']:.2f}x our time, target > {TARGETS['jax_ratio']:g}x")
    for jobs, v in report.get("verify", {}).items():
        if v["wall_s"] > TARGETS["verify_warm_s"]:
            out.append(f"python -m verify -j {jobs}: {v['wall_s']:.0f} s warm, target "
                       f"{TARGETS['verify_warm_s']:g} s")
    return out


def to_markdown(report: dict) -> str:
    """The report's tables in Markdown (the form kept in ``benchmarks/README.md``)."""
    m = report["machine"]
    lines = [f"Machine: {m['platform']}, {m['cpu_count']} cores; Python {m['python']}, "
             f"NumPy {m['numpy']}, numba {m['numba']}; dense matmul (1024², float64) "
             f"{report['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s; "
             f"{'--quick' if report['quick'] else 'full'} run, {report['seconds']:.0f} s.",
             "", "| setting | solver | size | jitted s/step | twin s/step | ratio | "
             "bound | limit | GB/s streamed at that size | call overhead s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["cases"]:
        lines.append(f"| {r['setting']} | {r['solver']} | {r['size']}: {r['label']} | "
                     f"{r['numba']['s_per_step']:.3g} | {r['numpy']['s_per_step']:.3g} | "
                     f"{r['ratio']:.1f} | {r['fraction']:.0%} | {r['limit']} | "
                     f"{r['bandwidth_bytes_per_s'] / 1e9:.1f} | {r['numba']['call_s']:.2g} |")
    lines += ["", f"Flows to accuracy {h.ACCURACY:g} (max error relative to max(1, |y|)) "
              "against a DOP853 reference at rtol 1e-13:", "",
              "| setting | flow | size, T | ours (s) | ours at | "
              + " | ".join(f"{m} (s, rtol, speed-up)" for m in h.IVP_METHODS) + " |",
              "|---|---|---|---|---|" + "---|" * len(h.IVP_METHODS)]
    for r in report["races"]:
        cells = []
        for method in h.IVP_METHODS:
            x = r[method]
            cells.append(f"{x['time_s']:.3g}, {x['rtol']:.2g}, {x['speedup']:.1f}×"
                         if x["reached"] else "not reached")
        knob = r["ours"]["knob"]
        knob_text = f"rtol {knob:.2g}" if isinstance(knob, float) else f"{knob} steps"
        lines.append(f"| {r['setting']} | {r['solver']} | {r['label']}, T={r['T']:g} | "
                     f"{r['ours']['time_s']:.3g} | {knob_text} | " + " | ".join(cells) + " |")
    lines += ["", "Compilation (s): " + ", ".join(
        f"{k} {v:.1f}" for k, v in report["compile_in_run_s"].items())
        + " (during the timings; 0 = warm cache)."]
    for name, c in report.get("compile", {}).items():
        cold = sum(x["first_call_s"] for x in c["cold"]["solvers"].values())
        cached = sum(x["first_call_s"] for x in c["cached"]["solvers"].values())
        lines.append(f"- {name}: first call of every solver, fresh process: cold {cold:.2f} s,"
                     f" from the cache {cached:.2f} s")
    i = report["imports"]
    lines += ["", f"Imports: `import analytic, theory, verify` {i['packages_s']:.3f} s; every "
              f"setting's theory/analytic/verify modules {i['all_modules_s']:.3f} s.", ""]
    slow = sorted(((d["first_s"], f"{mod}.{n}") for mod, ds in report["derivations"].items()
                   for n, d in ds.items()), reverse=True)[:3]
    lines.append("Slowest sympy derivations (first call): " + ", ".join(
        f"`{n}` {t:.2f} s" for t, n in slow) + ".")
    if report.get("jax_peer"):
        lines += ["", "JAX peer (ns per step, wall; ratio JAX / ours, > 1: ours faster):", "",
                  "| case | size | threads | ours | JAX | ratio (wall) | ratio (CPU) |",
                  "|---|---|---|---|---|---|---|"]
        for threads, rows in report["jax_peer"].items():
            lines += [f"| {r['case']} | {r['size']} | {threads} | {r['ours_ns_per_step']:.4g} | "
                      f"{r['jax_ns_per_step']:.4g} ({r['jax_variant']}) | {r['ratio_wall']:.2f} | "
                      f"{r['ratio_cpu']:.2f} |" for r in rows]
    for jobs, v in report.get("verify", {}).items():
        lines.append(f"- `python -m verify -j {jobs}` (warm cache): {v['wall_s']:.1f} s wall; "
                     f"{v['summary']}")
    lines += ["", f"Targets missed: {len(report['misses'])}", ""]
    lines += [f"- {line}" for line in report["misses"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short timed runs, fewer repeats, no verify timing (< 3 min)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the report here")
    parser.add_argument("--markdown", type=Path, metavar="PATH",
                        help="write the tables in Markdown here")
    parser.add_argument("--setting", action="append", choices=SETTINGS,
                        help="only this setting (repeatable)")
    args = parser.parse_args(argv)
    settings = args.setting or list(SETTINGS)
    start = time.perf_counter()

    report: dict = {"machine": machine_info(), "quick": args.quick,
                    "matmul_flops_per_s": h.matmul_rate(), "targets": TARGETS}
    print(f"dense matmul (1024^2, float64): {report['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s")
    print("seconds per step (jitted, twin), ratio, fraction of the roofline bound, "
          "fixed cost of one jitted call")
    print(f"{'setting':<16}{'solver':<29}{'size':<6}{'numba':>10}{'numpy':>10}{'ratio':>8}"
          f"{'bound':>7} {'limit':<7}{'call s':>9}")
    modules = {name: importlib.import_module(f"benchmarks.{name}") for name in settings}
    report["cases"], report["compile_in_run_s"] = [], {}
    for name in settings:
        with CompileClock() as clock:
            report["cases"] += measure_cases(modules[name], args.quick)
        report["compile_in_run_s"][name] = clock.seconds
    print(f"\nflows to equal accuracy {h.ACCURACY:g}: our time, speed-up over "
          + ", ".join(h.IVP_METHODS))
    report["races"] = []
    for name in settings:
        with CompileClock() as clock:
            report["races"] += measure_races(modules[name], args.quick)
        report["compile_in_run_s"][name] += clock.seconds

    print("\nnumba compilation during the timings and races above (0 with a warm cache): "
          + ", ".join(f"{k} {v:.1f} s" for k, v in report["compile_in_run_s"].items()))
    if not args.quick:
        print("first call of every solver in a fresh process (s): cold compile / from cache")
        report["compile"] = {}
        for name in settings:
            c = report["compile"][name] = h.compile_report(name)
            cold = sum(s["first_call_s"] for s in c["cold"]["solvers"].values())
            compiling = sum(s["compile_s"] for s in c["cold"]["solvers"].values())
            cached = sum(s["first_call_s"] for s in c["cached"]["solvers"].values())
            print(f"  {name:<16} cold {cold:6.2f} (compiling {compiling:.2f})   cached "
                  f"{cached:5.2f}")

    modules_all = [f"{pkg}.{name}" for pkg in ("theory", "analytic", "verify")
                   for name in SETTINGS] + ["verify.claims"]
    report["imports"] = {"packages_s": h.import_seconds(["analytic", "theory", "verify"]),
                         "all_modules_s": h.import_seconds(modules_all)}
    print(f"\nimport analytic, theory, verify: {report['imports']['packages_s']:.3f} s; "
          f"every setting's modules: {report['imports']['all_modules_s']:.3f} s")
    report["derivations"] = {name: h.derivation_report(name) for name in SETTINGS}
    slowest = max(((d["first_s"], f"{m}.{n}") for m, ds in report["derivations"].items()
                   for n, d in ds.items()))
    cached = max(d["second_s"] for ds in report["derivations"].values() for d in ds.values())
    print(f"sympy derivations: {sum(len(d) for d in report['derivations'].values())}, "
          f"slowest {slowest[1]} {slowest[0]:.2f} s, slowest cached call {cached:.1e} s")

    if not args.quick:
        subprocess.run([sys.executable, "-m", "verify"], cwd=ROOT, capture_output=True)
        report["verify"] = {str(j): verify_seconds(j) for j in (1, 2)}
        for jobs, v in report["verify"].items():
            print(f"python -m verify -j {jobs} (warm cache): {v['wall_s']:.1f} s wall; "
                  f"{v['summary']}")

    report["jax_peer"] = measure_jax_peer(args.quick)

    report["misses"] = misses(report)
    report["seconds"] = time.perf_counter() - start
    print(f"\ntargets missed: {len(report['misses'])}")
    for line in report["misses"]:
        print("  " + line)
    print(f"benchmark took {report['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
    if args.markdown:
        args.markdown.write_text(to_markdown(report))
    return report


if __name__ == "__main__":
    main()
