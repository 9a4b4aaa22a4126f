"""The report of ``python -m benchmarks``: a dict that grows row by row and is saved
after every change (:class:`Report`), the targets it is checked against (:func:`misses`),
its errors and noisy rows (:func:`problems`), and its renderings: Markdown
(:func:`to_markdown`, the form kept in ``benchmarks/README.md``) and the closing lines of
the console output (:func:`summary`)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from benchmarks import harness as h
from theory.output_files import write_atomic

TARGETS = {"small_ratio": 20.0, "large_ratio": 1.0, "large_fraction": 0.5,
           "race_speedup": 10.0, "verify_warm_s": 60.0, "import_s": 1.5,
           "derivation_s": 2.0, "jax_ratio": 1.0}
"""Issue 6 targets: jitted/twin ratio at small sizes, at large sizes; fraction of the
bound at large sizes; speed-up over solve_ivp; verify wall time with a warm cache;
import time; one sympy derivation; JAX time over ours (the JAX peer and the kernel rows)."""

class Report:
    """The report as it grows: every change is written at once (atomically) to the JSON
    and Markdown paths given, so the files always hold a valid report of what has been
    measured so far."""

    def __init__(self, json_path: Path | None = None, markdown_path: Path | None = None):
        self.data: dict = {}
        self.json_path, self.markdown_path = json_path, markdown_path

    def save(self) -> None:
        """Write the report to its paths."""
        if self.json_path is not None:
            write_atomic(self.json_path, json.dumps(self.data, indent=2, default=float) + "\n")
        if self.markdown_path is not None:
            write_atomic(self.markdown_path, to_markdown(self.data))

    def set(self, *keys_and_value) -> None:
        """``set(k1, ..., kn, value)``: data[k1]...[kn] = value (missing levels created as
        dicts), then save."""
        *keys, value = keys_and_value
        self._parent(keys)[keys[-1]] = value
        self.save()

    def add(self, *keys_and_row) -> None:
        """``add(k1, ..., kn, row)``: append ``row`` to the list data[k1]...[kn] (created if
        missing), then save."""
        *keys, row = keys_and_row
        self._parent(keys).setdefault(keys[-1], []).append(row)
        self.save()

    def _parent(self, keys: list[str]) -> dict:
        level = self.data
        for key in keys[:-1]:
            level = level.setdefault(key, {})
        return level


def compile_summary(c: dict) -> dict:
    """Cold and cached first-call seconds (sums over the solvers) of a compile report."""
    return {"cold": sum(s["first_call_s"] for s in c["cold"]["solvers"].values()),
            "compiling": sum(s["compile_s"] for s in c["cold"]["solvers"].values()),
            "cached": sum(s["first_call_s"] for s in c["cached"]["solvers"].values())}


def misses(report: dict) -> list[str]:
    """Every target missed, with by how much (rows that are errors or lack a value are
    skipped: :func:`problems` lists them)."""
    out = []
    for row in report.get("cases", []):
        if row["status"] == "error":
            continue
        name = f"{row['setting']}/{row['solver']} ({row['size']}, {row['label']})"
        ratio, fraction = row.get("ratio"), row.get("fraction")
        if row["size"] == "small" and ratio is not None and ratio < TARGETS["small_ratio"]:
            out.append(f"{name}: jitted {ratio:.1f}x the twin, target "
                       f"{TARGETS['small_ratio']:g}x")
        if row["size"] == "large":
            if ratio is not None and ratio < TARGETS["large_ratio"]:
                out.append(f"{name}: jitted slower than the twin ({ratio:.2f}x)")
            if fraction is not None and fraction < TARGETS["large_fraction"]:
                out.append(f"{name}: {fraction:.0%} of the {row['limit']} bound, "
                           f"target {TARGETS['large_fraction']:.0%}")
    for r in report.get("races", []):
        if r["status"] == "error":
            continue
        for method in h.IVP_METHODS:
            if r[method]["reached"] and r[method]["speedup"] < TARGETS["race_speedup"]:
                out.append(f"{r['setting']}/{r['solver']}: {r[method]['speedup']:.1f}x "
                           f"faster than {method}, target {TARGETS['race_speedup']:g}x")
    imports = report.get("imports", {})
    for key in ("packages_s", "all_modules_s"):
        if key in imports and imports[key] > TARGETS["import_s"]:
            out.append(f"import ({key}): {imports[key]:.2f} s, target "
                       f"{TARGETS['import_s']:g} s")
    for module, derivations in report.get("derivations", {}).items():
        for name, d in derivations.items():
            if name != "error" and d["first_s"] > TARGETS["derivation_s"]:
                out.append(f"analytic.{module}.{name}: {d['first_s']:.2f} s, target "
                           f"{TARGETS['derivation_s']:g} s")
    for threads, rows in report.get("jax_peer", {}).items():
        for row in rows if isinstance(rows, list) else []:
            if row["status"] == "ok" and row["ratio_wall"] < TARGETS["jax_ratio"]:
                out.append(f"JAX peer {row['case']} ({row['size']}, threads {threads}): JAX takes "
                           f"{row['ratio_wall']:.2f}x our time, target > {TARGETS['jax_ratio']:g}x")
    for row in report.get("kernels", []):
        if row["status"] == "ok" and row.get("jax_ratio", math.inf) < TARGETS["jax_ratio"]:
            out.append(f"kernel {row['setting']}/{row['kernel']} ({row['size']}, "
                       f"{row['label']}): JAX takes {row['jax_ratio']:.2f}x our time, target > "
                       f"{TARGETS['jax_ratio']:g}x")
    for jobs, v in report.get("verify", {}).items():
        if "wall_s" in v and v["wall_s"] > TARGETS["verify_warm_s"]:
            out.append(f"python -m verify -j {jobs}: {v['wall_s']:.0f} s warm, target "
                       f"{TARGETS['verify_warm_s']:g} s")
    return out


def problems(report: dict) -> dict[str, list[str]]:
    """``errors`` (rows and sections that raised) and ``noisy`` (rows whose timings are not
    to be trusted), one line each."""
    errors, noisy = [], []
    for section in ("cases", "races", "kernels"):
        for row in report.get(section, []):
            name = f"{row['setting']}/{row.get('solver', row.get('kernel'))}" + (
                f" ({row['size']})" if row.get("size") else "")
            if row["status"] == "error":
                errors.append(f"{name}: {row['error']}")
            elif row["status"] == "noisy":
                noisy.append(f"{name}: {row['note']}")
    sections = {"imports": report.get("imports", {}), "machine rates": report.get("rates", {}),
                **{f"compile {k}": v for k, v in report.get("compile", {}).items()},
                **{f"derivations {k}": v for k, v in report.get("derivations", {}).items()},
                **{f"verify -j {k}": v for k, v in report.get("verify", {}).items()}}
    for threads, rows in report.get("jax_peer", {}).items():
        if isinstance(rows, dict):
            sections[f"JAX peer (threads {threads})"] = rows
        for row in rows if isinstance(rows, list) else []:
            if row["status"] == "error":
                errors.append(f"JAX peer {row['case']} (threads {threads}): {row['error']}")
    errors += [f"{name}: {value['error']}" for name, value in sections.items()
               if "error" in value]
    return {"errors": errors, "noisy": noisy}


def cell(value: object) -> str:
    """A Markdown table cell: ``|`` escaped, on one line."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _cells(values: list[object]) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def to_markdown(report: dict) -> str:
    """The report's tables in Markdown (the form kept in ``benchmarks/README.md``); a
    report still being written, or of an interrupted run, renders what it holds."""
    m = report.get("machine", {})
    rate = report.get("matmul_flops_per_s")
    state = ("complete" if report.get("complete") else
             "interrupted" if report.get("interrupted") else "in progress")
    lines = [f"Machine: {m.get('platform')}, {m.get('cpu_count')} cores; Python "
             f"{m.get('python')}, NumPy {m.get('numpy')}, numba {m.get('numba')}; "
             f"dense matmul (1024², float64, best of the run) "
             f"{_fmt(rate and rate / 1e9, '.1f')} GFLOP/s; BLAS {m.get('blas')}; "
             f"{'--quick' if report.get('quick') else 'full'} run, {state}, "
             f"{report.get('seconds', 0.0):.0f} s."]
    found = problems(report)
    counted = report.get("cases", []) + report.get("races", []) + report.get("kernels", [])
    lines += ["", f"Cases, races and kernels: {sum(r['status'] == 'ok' for r in counted)} ok, "
              f"{sum(r['status'] == 'noisy' for r in counted)} noisy, "
              f"{sum(r['status'] == 'error' for r in counted)} errors; errors elsewhere: "
              f"{len(found['errors']) - sum(r['status'] == 'error' for r in counted)}; "
              "numba compilation during the timings "
              f"{sum(report.get('compile_in_run_s', {}).values()):.1f} s."]
    lines += ["", "| setting | solver | size | jitted s/step | twin s/step | ratio | "
              "bound | limit | GB/s streamed at that size | call overhead s | status |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report.get("cases", []):
        size = f"{r['size']}: {r['label']}" if r["label"] else r["size"]
        if r["status"] == "error":
            lines.append(_cells([r["setting"], r["solver"], size] + ["–"] * 7
                                + [f"error: {r['error']}"]))
            continue
        bandwidth = r.get("bandwidth_bytes_per_s")
        lines.append(_cells([
            r["setting"], r["solver"], size, _fmt(r["numba"]["s_per_step"], ".3g"),
            _fmt(r.get("numpy", {}).get("s_per_step"), ".3g") if "numpy" in r else "–",
            _fmt(r["ratio"], ".1f"), _fmt(r["fraction"], ".0%"), r["limit"],
            _fmt(None if bandwidth is None else bandwidth / 1e9, ".1f"),
            _fmt(r["numba"]["call_s"], ".2g"),
            "ok" if r["status"] == "ok" else f"noisy: {r['note']}"]))
    lines += ["", f"Flows to accuracy {h.ACCURACY:g} (max error relative to max(1, |y|)) "
              "against a DOP853 reference at rtol 1e-13:", "",
              "| setting | flow | size, T | ours (s) | ours at | "
              + " | ".join(f"{m} (s, rtol, speed-up)" for m in h.IVP_METHODS) + " | status |",
              "|---|---|---|---|---|" + "---|" * len(h.IVP_METHODS) + "---|"]
    for r in report.get("races", []):
        where = f"{r['label']}, T={r['T']:g}" if r["label"] else ""
        if r["status"] == "error":
            lines.append(_cells([r["setting"], r["solver"], where, "–", "–"]
                                + ["–"] * len(h.IVP_METHODS) + [f"error: {r['error']}"]))
            continue
        cells = []
        for method in h.IVP_METHODS:
            x = r[method]
            cells.append(f"{x['time_s']:.3g}, {x['rtol']:.2g}, {x['speedup']:.1f}×"
                         if x["reached"] else "not reached")
        knob = r["ours"]["knob"]
        knob_text = f"rtol {knob:.2g}" if isinstance(knob, float) else f"{knob} steps"
        lines.append(_cells([r["setting"], r["solver"], where, f"{r['ours']['time_s']:.3g}",
                             knob_text] + cells + ["ok"]))
    if report.get("kernels"):
        lines += ["", "Kernels that are not solvers (seconds per call; ratios to the jitted; "
                  "largest relative difference of the values):", "",
                  "| setting | kernel | size | jitted s | twin s | twin ratio | JAX s | "
                  "JAX ratio | rel. diff. | status |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report.get("kernels", []):
        size = f"{r['size']}: {r['label']}" if r["label"] else r["size"]
        if r["status"] == "error":
            lines.append(_cells([r["setting"], r["kernel"], size] + ["–"] * 6
                                + [f"error: {r['error']}"]))
            continue
        jax = r.get("jax")
        difference = max(r[b]["relative_difference"] for b in ("numba", "numpy", "jax")
                         if b in r)
        lines.append(_cells([r["setting"], r["kernel"], size, f"{r['numba']['s']:.3g}",
                             f"{r['numpy']['s']:.3g}", f"{r['numpy_ratio']:.1f}",
                             "–" if jax is None else f"{jax['s']:.3g}",
                             _fmt(r.get("jax_ratio"), ".2f"), f"{difference:.1e}", "ok"]))
    lines += ["", "Compilation (s): " + ", ".join(
        f"{k} {v:.1f}" for k, v in report.get("compile_in_run_s", {}).items())
        + " (during the timings; 0 = warm cache)."]
    for name, c in report.get("compile", {}).items():
        if "error" in c:
            lines.append(f"- {name}: first calls not measured: {c['error']}")
            continue
        s = compile_summary(c)
        lines.append(f"- {name}: first call of every solver, fresh process: cold "
                     f"{s['cold']:.2f} s, from the cache {s['cached']:.2f} s")
    i = report.get("imports", {})
    if "error" in i:
        lines += ["", f"Imports: not measured: {i['error']}"]
    elif i:
        lines += ["", f"Imports: `import analytic, theory, verify` {i['packages_s']:.3f} s; "
                  f"every setting's theory/analytic/verify modules {i['all_modules_s']:.3f} s."]
    derivations = report.get("derivations", {})
    slow = sorted(((d["first_s"], f"{mod}.{n}") for mod, ds in derivations.items()
                   for n, d in ds.items() if n != "error"), reverse=True)[:3]
    if slow:
        lines += ["", "Slowest closed forms at first call (stored forms): " + ", ".join(
            f"`{n}` {t:.2f} s" for t, n in slow) + "."]
    live = sorted(((d["derive_s"], f"{mod}.{n}") for mod, ds in derivations.items()
                   for n, d in ds.items() if n != "error" and "derive_s" in d),
                  reverse=True)[:3]
    if live:
        lines += ["", "Slowest live sympy derivations (`.derive()`, as `python -m "
                  "analytic.generate` runs them): " + ", ".join(
                      f"`{n}` {t:.2f} s" for t, n in live) + "."]
    lines += [f"- derivations of `analytic.{mod}` not measured: {ds['error']}"
              for mod, ds in derivations.items() if "error" in ds]
    peer = {threads: rows for threads, rows in report.get("jax_peer", {}).items()
            if isinstance(rows, list)}
    if peer:
        lines += ["", "JAX peer (ns per step, wall; ratio JAX / ours, > 1: ours faster):", "",
                  "| case | size | threads | ours | JAX | ratio (wall) | ratio (CPU) |",
                  "|---|---|---|---|---|---|---|"]
        for threads, rows in peer.items():
            for r in rows:
                if r["status"] == "error":
                    lines.append(_cells([r["case"], "", threads, "–", "–", "–",
                                         f"error: {r['error']}"]))
                    continue
                lines.append(_cells([r["case"], r["size"], threads,
                                     f"{r['ours_ns_per_step']:.4g}",
                                     f"{r['jax_ns_per_step']:.4g} ({r['jax_variant']})",
                                     f"{r['ratio_wall']:.2f}", f"{r['ratio_cpu']:.2f}"]))
    for jobs, v in report.get("verify", {}).items():
        lines.append(f"- `python -m verify -j {jobs}` (warm cache): "
                     + (f"not measured: {v['error']}" if "error" in v else
                        f"{v['wall_s']:.1f} s wall; {v['summary']}"))
    for kind in ("errors", "noisy"):
        if found[kind]:
            lines += ["", f"{kind.capitalize()}: {len(found[kind])}", ""]
            lines += [f"- {cell(line)}" for line in found[kind]]
    if report.get("complete"):
        lines += ["", f"Targets missed: {len(report['misses'])}", ""]
        lines += [f"- {line}" for line in report["misses"]]
    return "\n".join(lines) + "\n"


def summary(data: dict) -> str:
    """The closing lines: rows by status, errors and noisy rows, targets missed, time."""
    found = problems(data)
    rows = data.get("cases", []) + data.get("races", []) + data.get("kernels", [])
    lines = [f"\nrows: {sum(r['status'] == 'ok' for r in rows)} ok, "
             f"{sum(r['status'] == 'noisy' for r in rows)} noisy, "
             f"{sum(r['status'] == 'error' for r in rows)} errors"]
    for kind in ("errors", "noisy"):
        if found[kind]:
            lines.append(f"{kind}: {len(found[kind])}")
            lines += [f"  {line}" for line in found[kind]]
    if "misses" in data:
        lines.append(f"targets missed: {len(data['misses'])}")
        lines += [f"  {line}" for line in data["misses"]]
    lines.append(f"benchmark took {data.get('seconds', 0.0):.0f} s ("
                 + ", ".join(f"{k} {v:.0f} s" for k, v in data.get("section_seconds", {}).items())
                 + ")")
    return "\n".join(lines)
