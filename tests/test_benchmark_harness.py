"""The benchmark harness (``benchmarks.harness``), the compile clock and parallel verify."""
import json
import math
import subprocess
import sys

import numba
import numpy as np
import pytest

from benchmarks import harness as h
from benchmarks import linear_chain as chain_bench
from theory.numba_options import CompileClock

PARALLEL_CLAIMS = ["linear_chain.gd.imbalance_conserved", "linear_chain.minnorm.rate",
                   "linear_chain.minnorm.discrete_contraction"]


def test_compile_clock_counts_a_compilation_and_nothing_after_it():
    @numba.njit(cache=False)
    def fresh(x):
        return x * 2.0 + 1.0

    with CompileClock() as first:
        fresh(1.0)
    with CompileClock() as second:
        fresh(2.0)
    assert first.seconds > 0.0
    assert second.seconds == 0.0


def test_fewest_steps_finds_the_threshold():
    # accurate from 300 steps on: doubling from 8 overshoots to 512, bisection comes back
    found = h.fewest_steps(lambda n: n >= 300, 8, refine=10)
    assert found == 300
    assert h.fewest_steps(lambda n: False, 8, cap=1000) is None


def test_loosest_tolerance_refines_towards_the_threshold():
    rtols = [1e-4, 1e-6, 1e-8]
    found = h.loosest_tolerance(lambda r: r <= 3e-6, rtols, refine=20)
    assert found <= 3e-6 and found == pytest.approx(3e-6, rel=1e-4)
    assert h.loosest_tolerance(lambda r: False, rtols) is None


def test_error_is_relative_above_one_and_infinite_for_a_run_that_gave_up():
    assert h.error(np.array([10.0, 0.0]), np.array([20.0, 0.0])) == pytest.approx(0.5)
    assert h.error(np.array([1e-9]), np.array([0.0])) == pytest.approx(1e-9)
    assert math.isinf(h.error(None, np.zeros(2)))


def _decay_race(rate: float) -> h.Race:
    def ours(n):
        y, dt = 1.0, 1.0 / n
        for _ in range(n):  # second-order Taylor step: error ~ rate^3 e^-rate / (6 n^2)
            y *= 1.0 - rate * dt + 0.5 * (rate * dt) ** 2
        return np.array([y])

    return h.Race("toy", "taylor2", "y' = -a y", ours, 2, lambda t, y: -rate * y,
                  np.array([1.0]), 1.0)


def test_race_reaches_the_accuracy_on_both_sides():
    result = h.run_race(_decay_race(1.0), quick=True)
    assert result["ours"]["error"] <= h.ACCURACY
    # needs about sqrt(e^-1 / (6 * 1e-8)) ~ 2.5e3 steps: the search must find that order
    assert 1e3 < result["ours"]["knob"] < 5e3
    for method in h.IVP_METHODS:
        assert result[method]["reached"] and result[method]["error"] <= h.ACCURACY


def test_ivp_gives_up_at_its_evaluation_budget(monkeypatch):
    monkeypatch.setattr(h, "IVP_MAX_NFEV", 50)
    assert h.ivp(_decay_race(1.0), "RK45", 1e-12) is None


def test_a_chain_case_runs_on_both_backends():
    case = chain_bench.cases(quick=True)[0]
    assert case.run("numba", 10) == 10 and case.run("numpy", 10) == 10


@pytest.mark.slow
def test_parallel_verify_matches_the_serial_run(tmp_path):
    args = [arg for claim in PARALLEL_CLAIMS for arg in ("--claim", claim)]
    reports = {}
    for jobs in (1, 2):
        path = tmp_path / f"j{jobs}.json"
        proc = subprocess.run([sys.executable, "-m", "verify", *args, "-j", str(jobs),
                               "--json", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "numba compilation" in proc.stdout.splitlines()[-1]
        reports[jobs] = json.loads(path.read_text())
    serial, parallel = reports[1]["claims"], reports[2]["claims"]
    assert [c["id"] for c in serial] == [c["id"] for c in parallel] == PARALLEL_CLAIMS
    for a, b in zip(serial, parallel):
        assert a["measured"] == b["measured"] and a["predicted"] == b["predicted"]
        assert "compile_seconds" in a


def test_verify_rejects_a_non_positive_job_count():
    proc = subprocess.run([sys.executable, "-m", "verify", "-j", "0"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "jobs" in proc.stderr


def test_benchmark_report_lists_misses_and_renders_markdown():
    from benchmarks.report import misses, to_markdown

    case = {"setting": "toy", "solver": "loop", "size": "large", "label": "n=1",
            "numba": {"s_per_step": 2.0, "call_s": 0.1}, "numpy": {"s_per_step": 1.0},
            "ratio": 0.5, "fraction": 0.25, "limit": "memory", "bandwidth_bytes_per_s": 1e10,
            "status": "ok"}
    race = {"setting": "toy", "solver": "flow", "label": "n=1", "T": 1.0, "status": "ok",
            "ours": {"knob": 100, "time_s": 1.0},
            "RK45": {"reached": True, "rtol": 1e-8, "time_s": 5.0, "speedup": 5.0},
            "DOP853": {"reached": False}}
    report = {"machine": {"platform": "p", "cpu_count": 2, "python": "3", "numpy": "2",
                          "numba": "0"}, "quick": True, "matmul_flops_per_s": 1e11,
              "seconds": 1.0, "cases": [case], "races": [race],
              "compile_in_run_s": {"toy": 0.0},
              "imports": {"packages_s": 0.1, "all_modules_s": 2.0},
              "derivations": {"toy": {"x_expr": {"first_s": 3.0, "second_s": 1e-7}}},
              "jax_peer": {"default": [{"case": "toy_N4", "size": "N=4", "ours_ns_per_step": 2.0,
                                        "jax_ns_per_step": 1.0, "jax_variant": "grad",
                                        "ratio_wall": 0.5, "ratio_cpu": 0.5,
                                        "status": "ok"}]},
              "complete": True}
    report["misses"] = misses(report)
    text = " ".join(report["misses"])
    for fragment in ("slower than the twin (0.50x)", "25% of the memory bound",
                     "5.0x faster than RK45", "all_modules_s", "x_expr: 3.00 s",
                     "JAX peer toy_N4 (N=4, threads default): JAX takes 0.50x our time"):
        assert fragment in text
    markdown = to_markdown(report)
    assert "| toy | loop | large: n=1 |" in markdown and "not reached" in markdown
    assert "| toy_N4 | N=4 | default | 2 | 1 (grad) | 0.50 | 0.50 |" in markdown
    assert f"Targets missed: {len(report['misses'])}" in markdown


def test_jax_peer_covers_the_twenty_four_cases_and_skips_without_jax(monkeypatch, capsys):
    from benchmarks import jax_peer

    assert len(jax_peer.CASES) == 24
    assert {c.split("_")[0] for c in jax_peer.CASES} == {"chain", "deep", "diagonal", "margin",
                                                        "opt", "ogd", "conditioned",
                                                        "modular", "implicit", "nrs"}
    added = {"modular_gd_n32", "modular_gd_n512", "modular_nd_n32", "implicit_gd_small",
             "implicit_gd_large", "implicit_mf_small", "implicit_mf_large"}
    assert {c for c in jax_peer.CASES if c.split("_")[0] in ("modular", "implicit")} == added
    assert all(f"``{name}``" in jax_peer.__doc__ for name in added)
    monkeypatch.setattr(jax_peer, "jax_available", lambda: False)
    assert jax_peer.main(["--quick"]) == 0
    assert "JAX not installed" in capsys.readouterr().out
