"""verify.sweep and verify.maps: product order, per-point seeds independent of the executor
(serial, a reversed executor, a process pool, a Dask LocalCluster), streaming and resuming
(a sweep killed with SIGKILL), error rows, the progress bar only on a terminal, bad grids,
the command line, and the map declarations."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
import pytest

from theory import registry
from verify import sweep as sw
from verify.claims import load_claims
from verify.maps import Map, load_maps, transitions
from verify.linear_chain_maps import DAMPING
from verify.runner import worker_environment

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
GRID = {"a": (1, 2, 3), "b": ("x", "y")}


def noisy_point(point: dict, rng: np.random.Generator) -> dict:
    """A point function that uses its generator: a row depends on the point's seed."""
    return {"draw": float(rng.standard_normal()), "label": f"{point['a']}{point['b']}",
            "twice": 2 * point["a"]}


def slow_point(point: dict, rng: np.random.Generator) -> dict:
    time.sleep(0.05)
    return noisy_point(point, rng)


def failing_point(point: dict, rng: np.random.Generator) -> dict:
    if point["a"] == 2:
        raise ZeroDivisionError(f"no value at a = {point['a']}")
    if point["b"] == "y" and point["a"] == 3:
        return {"array": np.zeros(2)}
    return noisy_point(point, rng)


class ReversedExecutor(Executor):
    """Holds the calls until the ``expected``-th is submitted, then runs them all in
    reverse order: a completion order unlike any serial run."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.calls: list[tuple[Future, tuple]] = []

    def submit(self, fn, *args, **kwargs):
        future = Future()
        self.calls.append((future, (fn, args, kwargs)))
        if len(self.calls) == self.expected:
            for held, (f, a, k) in reversed(self.calls):
                held.set_result(f(*a, **k))
        return future


def _drop_seconds(table: sw.Table) -> list[dict]:
    return table.records()


# --------------------------------------------------------------------------- order, seeds


def test_product_order_last_parameter_fastest():
    points = sw.grid_points(GRID)
    assert points == [{"a": a, "b": b} for a in (1, 2, 3) for b in ("x", "y")]
    table = sw.sweep(noisy_point, GRID)
    assert [r.index for r in table.rows] == list(range(6))
    assert table.shape == (3, 2)
    assert table.grid_of("twice").tolist() == [[2, 2], [4, 4], [6, 6]]
    assert table.grid_of("b")[:, 1].tolist() == ["y", "y", "y"]


def test_rows_depend_on_the_seed_and_index_not_on_the_order_of_completion():
    serial = sw.sweep(noisy_point, GRID, seed=7)
    reversed_ = sw.sweep(noisy_point, GRID, seed=7, executor=ReversedExecutor(6))
    batched = sw.sweep(noisy_point, GRID, seed=7, executor=ReversedExecutor(2), batch=4)
    assert _drop_seconds(serial) == _drop_seconds(reversed_) == _drop_seconds(batched)
    draws = serial.column("draw")
    assert len(set(draws)) == len(draws)  # every point its own stream
    assert sw.sweep(noisy_point, GRID, seed=8).column("draw") != draws


def test_a_grid_that_shares_a_prefix_keeps_the_prefix_rows():
    short = sw.sweep(noisy_point, {"a": (1, 2), "b": ("x", "y")}, seed=3)
    long = sw.sweep(noisy_point, GRID, seed=3)
    assert _drop_seconds(short) == _drop_seconds(long)[:4]


# --------------------------------------------------------------------------- executors


def _dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


SMALL_DAMPING = {"p_star": (1.5,), "depth": (3, 4), "c": (0.1, 0.3)}


@pytest.mark.slow
def test_identical_rows_and_files_serial_process_pool_and_dask(tmp_path):
    """The toy function and the real map, serially, on 2 spawned processes and on a Dask
    LocalCluster: the same records, and the same bytes in the completed files."""
    from distributed import Client, LocalCluster
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack this module
    runs = {}
    with worker_environment(), sw.process_pool(2) as pool:
        runs["pool"] = [sw.sweep(noisy_point, GRID, seed=5, executor=pool, out=tmp_path / "p.jsonl",
                                 batch=4),
                        DAMPING.run(grid=SMALL_DAMPING, executor=pool, out=tmp_path / "pd.jsonl")]
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        executor = client.get_executor()
        runs["dask"] = [sw.sweep(noisy_point, GRID, seed=5, executor=executor,
                                 out=tmp_path / "d.jsonl"),
                        DAMPING.run(grid=SMALL_DAMPING, executor=executor,
                                    out=tmp_path / "dd.jsonl")]
    runs["serial"] = [sw.sweep(noisy_point, GRID, seed=5, out=tmp_path / "s.jsonl"),
                      DAMPING.run(grid=SMALL_DAMPING, out=tmp_path / "sd.jsonl")]
    for name in ("pool", "dask"):
        for table, reference in zip(runs[name], runs["serial"]):
            assert table.records() == reference.records()
    assert (tmp_path / "p.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes() \
        == (tmp_path / "d.jsonl").read_bytes()
    assert (tmp_path / "pd.jsonl").read_bytes() == (tmp_path / "sd.jsonl").read_bytes() \
        == (tmp_path / "dd.jsonl").read_bytes()
    assert {r.values["regime"] for r in runs["serial"][1].rows} == {"converged", "diverged"}


# --------------------------------------------------------------------------- files, resume


def test_the_file_holds_the_records_sorted_and_the_timings_apart(tmp_path):
    out = tmp_path / "run.jsonl"
    table = sw.sweep(noisy_point, GRID, seed=2, out=out, executor=ReversedExecutor(6))
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == table.records()
    assert all("seconds" not in json.loads(line) for line in lines)
    timings = [json.loads(line) for line in sw.timings_path(out).read_text().splitlines()]
    assert [t["index"] for t in timings] == list(range(6))
    assert all(t["seconds"] >= 0 for t in timings)


def test_resume_runs_only_the_missing_points(tmp_path):
    out = tmp_path / "run.jsonl"
    full = sw.sweep(noisy_point, GRID, seed=1, out=out)
    complete = out.read_bytes()
    lines = complete.decode().splitlines(keepends=True)
    out.write_text(lines[4] + lines[1])  # as if two points had finished, out of order
    called = []

    def recording(point, rng):
        called.append(dict(point))
        return noisy_point(point, rng)

    resumed = sw.sweep(recording, GRID, seed=1, out=out)
    assert called == [p for i, p in enumerate(sw.grid_points(GRID)) if i not in (1, 4)]
    assert resumed.records() == full.records()
    assert out.read_bytes() == complete


def test_a_torn_last_line_is_dropped_and_its_point_rerun(tmp_path):
    out = tmp_path / "run.jsonl"
    sw.sweep(noisy_point, GRID, out=out)
    complete = out.read_bytes()
    out.write_bytes(complete[:len(complete) // 2])  # killed mid-line
    sw.sweep(noisy_point, GRID, out=out)
    assert out.read_bytes() == complete


def test_a_different_grid_or_seed_in_the_file_is_refused(tmp_path):
    out = tmp_path / "run.jsonl"
    sw.sweep(noisy_point, GRID, seed=1, out=out)
    with pytest.raises(ValueError, match="different sweep"):
        sw.sweep(noisy_point, {"a": (1, 5), "b": ("x", "y")}, seed=1, out=out)
    with pytest.raises(ValueError, match="seed 1"):
        sw.sweep(noisy_point, GRID, seed=2, out=out)
    fresh = sw.sweep(noisy_point, GRID, seed=2, out=out, resume=False)
    assert [json.loads(line) for line in out.read_text().splitlines()] == fresh.records()


def test_a_sweep_killed_midway_resumes(tmp_path):
    """A real process sweeping slowly into ``out`` is killed with SIGKILL; the rerun
    evaluates only the points the file does not hold and ends with the same file as an
    uninterrupted sweep."""
    out = tmp_path / "killed.jsonl"
    grid = {"a": tuple(range(12)), "b": ("x", "y")}
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from test_sweep import slow_point
        from verify.sweep import sweep
        sweep(slow_point, {grid!r}, seed=4, out={str(out)!r})
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 5:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the sweep ended before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    recorded = {json.loads(line)["index"] for line in out.read_text().splitlines()
                if line.endswith("}")}
    assert 5 <= len(recorded) < 24
    called = []

    def recording(point, rng):
        called.append(sw.grid_points(grid).index(point))
        return noisy_point(point, rng)

    resumed = sw.sweep(recording, grid, seed=4, out=out)
    assert sorted(called) == sorted(set(range(24)) - recorded)
    reference = sw.sweep(noisy_point, grid, seed=4, out=tmp_path / "whole.jsonl")
    assert resumed.records() == reference.records()
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def _stopped(child: subprocess.Popen) -> bool:
    """Stop ``child`` (SIGSTOP) and wait until it is stopped: True, or False when it has
    exited instead (left for ``child`` to reap)."""
    child.send_signal(signal.SIGSTOP)
    info = os.waitid(os.P_PID, child.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
    return info.si_code == os.CLD_STOPPED


def _interrupted_midway(command: list[str], env: dict, out: Path, rows: int) -> subprocess.Popen:
    """Start ``command`` and send it SIGINT while it is frozen with 20 <= finished rows
    < ``rows``: it runs in 5 ms slices between SIGSTOPs and the rows are counted while it
    is stopped, so the signal cannot land after the sweep's loop. Only when the test
    process is descheduled for the whole remaining sweep does the child finish first;
    then the attempt is repeated on a fresh file, at most 3 times."""
    for _ in range(3):
        out.unlink(missing_ok=True)
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _stopped(child):
            finished = out.read_text().count("\n") if out.exists() else 0
            if 20 <= finished < rows:
                child.send_signal(signal.SIGINT)
                child.send_signal(signal.SIGCONT)
                return child
            child.send_signal(signal.SIGCONT)
            time.sleep(0.005)
        child.kill()
        child.communicate()
    pytest.fail("the sweep ended three times before it could be interrupted")


@pytest.mark.slow
def test_the_command_interrupted_by_ctrl_c_resumes(tmp_path):
    """``python -m verify.sweep`` gets SIGINT (Ctrl-C) midway: it exits with 130 and says
    how to resume; the same command then completes the file, which equals an
    uninterrupted run's."""
    out = tmp_path / "interrupted.jsonl"
    command = [sys.executable, "-m", "verify.sweep", "linear_chain_damping", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = len(sw.grid_points(DAMPING.grids["coarse"]))
    child = _interrupted_midway(command, env, out, rows)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130 and "resume" in stderr
    assert 20 <= len(out.read_text().splitlines()) < rows
    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    DAMPING.run("coarse", out=tmp_path / "whole.jsonl")
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


# --------------------------------------------------------------------------- errors


def test_a_point_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path):
    table = sw.sweep(failing_point, GRID, out=tmp_path / "e.jsonl")
    status = {(r.point["a"], r.point["b"]): r.status for r in table.rows}
    assert status == {(1, "x"): "ok", (1, "y"): "ok", (2, "x"): "error", (2, "y"): "error",
                      (3, "x"): "ok", (3, "y"): "error"}
    errors = {r.index: r.error for r in table.errors}
    assert errors[2] == errors[3] == "ZeroDivisionError: no value at a = 2"
    assert errors[5].startswith("TypeError: value 'array'")
    assert all(r.values == {} for r in table.errors)
    assert len((tmp_path / "e.jsonl").read_text().splitlines()) == 6


def test_a_function_that_returns_no_mapping_gives_error_rows():
    table = sw.sweep(lambda point, rng: [1.0], {"a": (1,)})
    assert table.rows[0].status == "error" and "mapping" in table.rows[0].error


def test_numpy_values_are_written_as_json_numbers(tmp_path):
    out = tmp_path / "n.jsonl"
    sw.sweep(lambda point, rng: {"x": np.float64(0.1), "n": np.int64(3), "inf": math.inf},
             {"a": (np.int64(1),)}, out=out)
    record = json.loads(out.read_text())
    assert record["values"] == {"x": 0.1, "n": 3, "inf": math.inf}
    assert record["point"] == {"a": 1}


# --------------------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("OVERPARAM_PROGRESS", raising=False)
    sw.sweep(noisy_point, GRID, description="toy sweep")
    assert capsys.readouterr().err == ""  # pytest's capture is not a terminal
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    sw.sweep(noisy_point, GRID, description="toy sweep")
    assert "toy sweep" in terminal.getvalue()
    monkeypatch.setenv("OVERPARAM_PROGRESS", "0")  # as in worker processes
    sw.sweep(noisy_point, GRID, description="toy sweep")
    assert terminal.getvalue().count("toy sweep") == 1
    sw.sweep(noisy_point, GRID, description="forced sweep", show_progress=True)
    assert "forced sweep" in terminal.getvalue()


# --------------------------------------------------------------------------- bad grids


@pytest.mark.parametrize("grid, match", [
    ({}, "non-empty mapping"),
    ([("a", (1, 2))], "non-empty mapping"),
    ({"a": ()}, "grid\\['a'\\] must be a non-empty"),
    ({"a": (1.0, math.nan)}, "finite"),
    ({"a": (1.0, -math.inf)}, "finite"),
    ({"a": (np.float64("inf"),)}, "finite"),
    ({"a": (True, False)}, "numbers or strings"),
    ({"a": (None,)}, "numbers or strings"),
    ({"a": "abc"}, "sequence of values"),
    ({"a": 3}, "sequence of values"),
    ({"a": ((1, 2), (3, 4))}, "flat sequence"),
    ({"a": (1, 1)}, "repeated"),
    ({"": (1,)}, "non-empty strings"),
])
def test_bad_grids_raise(grid, match):
    with pytest.raises(ValueError, match=match):
        sw.sweep(noisy_point, grid)


def test_bad_seed_and_out_raise(tmp_path):
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            sw.sweep(noisy_point, GRID, seed=seed)
    with pytest.raises(ValueError, match="out"):
        sw.sweep(noisy_point, GRID, out=tmp_path)  # a directory
    with pytest.raises(ValueError, match="out"):
        sw.sweep(noisy_point, GRID, out=tmp_path / "missing" / "x.jsonl")
    with pytest.raises(ValueError, match="jobs"):
        sw.process_pool(0)
    for batch in (0, 2.0):
        with pytest.raises(ValueError, match="batch"):
            sw.sweep(noisy_point, GRID, batch=batch)


def test_a_map_refuses_unknown_or_missing_parameters():
    with pytest.raises(ValueError, match="unknown parameters \\['L'\\]"):
        DAMPING.run(grid={"p_star": (1.5,), "L": (3,), "c": (0.1,)})
    with pytest.raises(ValueError, match="missing \\['p_star'\\]"):
        DAMPING.run(grid={"depth": (3,), "c": (0.1,)})
    with pytest.raises(ValueError, match="grid_size"):
        DAMPING.run("medium")


# --------------------------------------------------------------------------- maps


def test_every_map_is_declared_completely():
    maps = load_maps()
    assert "linear_chain_damping" in maps
    for name, map_ in maps.items():
        assert name.startswith(map_.setting + "_") and map_.setting in registry.SETTINGS
        assert map_.claim.id in {c.id for c in load_claims(map_.setting)}
        from figures import load

        assert map_.figure in load(map_.setting).figures()
        assert pickle.loads(pickle.dumps(map_.point)) is map_.point  # runs on workers
        for size in ("coarse", "fine"):
            assert list(map_.grid(size)) == map_.parameters


def _table(regimes: list[list[str]], xs=(0.0, 1.0, 2.0)) -> sw.Table:
    grid = {"y": tuple(range(len(regimes))), "x": tuple(xs)}
    rows = [sw.Row(i, point, "ok", {"regime": regimes[point["y"]][xs.index(point["x"])]})
            for i, point in enumerate(sw.grid_points(grid))]
    return sw.Table(grid, tuple(rows), 0)


def test_transitions_bracket_the_measured_boundary():
    toy = Map(name="linear_chain_toy", setting="linear_chain", title="toy",
              grids={"coarse": {"y": (0,), "x": (0.0,)}, "fine": {"y": (0,), "x": (0.0,)}},
              axes=("x", "y"), point=noisy_point, regimes={"in": "", "out": ""},
              boundary=lambda grid: (np.zeros(1), np.zeros(1)), boundary_label="",
              claim=DAMPING.claim, figure="none")
    found = transitions(toy, _table([["out", "in", "in"], ["out", "out", "out"],
                                     ["in", "out", "in"], ["in", "in", "in"]]), "x", {"in"})
    assert [(t.fixed, t.last_outside, t.first_inside, t.single) for t in found] == [
        ({"y": 0}, 0.0, 1.0, True), ({"y": 1}, 2.0, None, True), ({"y": 2}, 1.0, 2.0, False),
        ({"y": 3}, None, 0.0, True)]
    assert found[0].brackets(0.5) and found[0].brackets(1.0) and not found[0].brackets(1.01)
    assert found[1].brackets(5.0) and not found[1].brackets(1.5)
    assert found[3].brackets(-7.0)
    with pytest.raises(ValueError, match="not among"):
        toy.regime_grid(_table([["in", "sideways", "in"]]))


# --------------------------------------------------------------------------- command line


def test_cli_lists_the_maps(capsys):
    assert sw.main(["--list"]) == 0
    assert "linear_chain_damping" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["no_such_map"], "unknown map"),
    ([], "give a map name"),
    (["linear_chain_damping", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclude"),
    (["linear_chain_damping", "--jobs", "0"], "jobs"),
    (["linear_chain_damping", "--jobs", "2", "--batch", "0"], "batch"),
])
def test_cli_usage_errors(argv, message, capsys, tmp_path):
    assert sw.main(argv + ["--out", str(tmp_path / "x.jsonl")]) == 2
    assert message in capsys.readouterr().err


def test_cli_scheduler_without_dask_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    assert sw.main(["linear_chain_damping", "--scheduler", "tcp://127.0.0.1:8786",
                    "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "pip install 'overparam-theory[dask]'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_jobs_and_a_dask_cluster_write_identical_lines(tmp_path, capsys):
    """The issue's done-when: ``python -m verify.sweep linear_chain_damping --jobs 2`` (a
    real command, so its functions reach the workers from ``python -m``) and the same map
    through a Dask LocalCluster (``--scheduler``) write the same JSON lines."""
    from distributed import LocalCluster

    jobs, dask = tmp_path / "jobs.jsonl", tmp_path / "dask.jsonl"
    result = subprocess.run([sys.executable, "-m", "verify.sweep", "linear_chain_damping",
                             "--jobs", "2", "--out", str(jobs)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "175 points" in result.stdout
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        assert sw.main(["linear_chain_damping", "--scheduler", cluster.scheduler_address,
                        "--out", str(dask)]) == 0
    assert jobs.read_bytes() == dask.read_bytes()
    assert len(jobs.read_text().splitlines()) == 175
    assert "175 points" in capsys.readouterr().out


def test_cli_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "verify.sweep", "--list"], cwd=tmp_path,
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and "linear_chain_damping" in result.stdout


def test_the_damping_map_places_c_min_in_its_cells_and_a_wrong_threshold_not():
    """The coarse map brackets c_min(L, p* = 1.5) at every depth; the threshold at another
    p* (1, where c_min = (L-2)/L) or without the depth dependence (c_min(8) everywhere)
    misses cells, so the claim's check can fail."""
    from analytic import linear_chain as exact

    found = transitions(DAMPING, DAMPING.run("coarse"), "c", {"converged"})
    assert all(t.single for t in found)
    assert all(t.brackets(exact.minnorm_damping_threshold(1.5, t.fixed["depth"])) for t in found)
    assert sum(not t.brackets(exact.minnorm_damping_threshold(1.0, t.fixed["depth"]))
               for t in found) >= 5
    assert sum(not t.brackets(exact.minnorm_damping_threshold(1.5, 8)) for t in found) >= 5
