"""The ``python -m benchmarks`` runner: a failing case never stops the run, rows reach the
disk as they are measured, output paths are checked before any work, ``--version``; and
the per-step timing of :mod:`benchmarks.harness` against a fake clock (no wall-clock
assertions anywhere)."""
import configparser
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import benchmarks.__main__ as runner
from benchmarks import harness as h
from benchmarks import jax_peer
from theory.registry import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


class FixedRates:
    """Machine rates without measuring anything."""

    def __init__(self, flops_per_s: float = 1e10, bytes_per_s: float = 1e10):
        self.matmul = {"all_threads": flops_per_s}
        self.bandwidth = {16: {"sum": bytes_per_s}}

    def matmul_rate(self) -> float:
        return self.matmul["all_threads"]

    def bandwidth_at(self, nbytes: float) -> float:
        return self.bandwidth[16]["sum"]

    def remeasure(self, working_sets=None) -> None:
        pass


def _case(solver: str, run, size: str = "small") -> h.Case:
    return h.Case("toy", solver, size, "n=1", run, 100.0, 800.0, 800.0)


def _steps(backend: str, steps: int) -> int:
    return steps


def _fails(backend: str, steps: int) -> int:
    raise RuntimeError("diverged at step 3 | of 10")


def _fake_seconds_per_step(case: h.Case, backend: str, quick: bool) -> dict:
    taken = case.run(backend, 2)
    return {"s_per_step": 1e-6, "call_s": 1e-5, "steps": taken, "spread": 0.0,
            "status": "ok"}


def _fake_race(race: h.Race, quick: bool) -> dict:
    race.ours(1)
    reached = {"reached": True, "rtol": 1e-8, "time_s": 1e-3, "error": 1e-9, "speedup": 10.0}
    return {"T": race.T, "label": race.label, "accuracy": h.ACCURACY,
            "ours": {"knob": 8, "error": 1e-9, "time_s": 1e-4},
            **{method: dict(reached) for method in h.IVP_METHODS}}


def _race(solver: str, ours) -> h.Race:
    return h.Race("toy", solver, "n=1", ours, 2, lambda t, y: -y, [1.0], 1.0)


@pytest.fixture
def fake_run(monkeypatch):
    """Replace every measurement of the runner by a fake; ``install(cases, races)`` sets
    what the (single) setting offers."""
    monkeypatch.setattr(h, "RATES", FixedRates())
    monkeypatch.setattr(h, "seconds_per_step", _fake_seconds_per_step)
    monkeypatch.setattr(h, "run_race", _fake_race)
    monkeypatch.setattr(h, "import_seconds", lambda modules: 0.1)
    monkeypatch.setattr(h, "derivation_report",
                        lambda name: {"x_expr": {"first_s": 0.1, "second_s": 1e-7, "derive_s": 0.5}})

    def install(cases, races=(), kernels=None):
        module = SimpleNamespace(cases=lambda quick: list(cases), races=lambda: list(races))
        if kernels is not None:
            module.kernels = lambda quick: list(kernels)
        monkeypatch.setattr(runner, "setting_module", lambda name: module)

    return install


def _table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_a_failing_case_is_reported_in_its_row_and_the_run_goes_on(fake_run, tmp_path, capsys):
    fake_run([_case("first", _steps), _case("broken", _fails), _case("last", _steps)],
             [_race("broken_flow", lambda knob: 1 / 0)])  # --quick races the first flow
    path, markdown = tmp_path / "r.json", tmp_path / "r.md"
    status = runner.main(["--quick", "--setting", SETTINGS[0], "--json", str(path),
                          "--markdown", str(markdown)])
    assert status == 1  # an error row: the run finished, but says so
    report = json.loads(path.read_text())
    assert report["complete"] and not report["interrupted"]
    assert [row["solver"] for row in report["cases"]] == ["first", "broken", "last"]
    assert [row["status"] for row in report["cases"]] == ["ok", "error", "ok"]
    assert "RuntimeError: diverged at step 3" in report["cases"][1]["error"]
    assert [row["status"] for row in report["races"]] == ["error"]
    assert "ZeroDivisionError" in report["races"][0]["error"]
    out = capsys.readouterr().out
    assert "ERROR RuntimeError: diverged at step 3" in out and "errors: 2" in out
    rows = _table_rows(markdown.read_text())
    assert len(rows) == 2 + 3 + 2 + 1  # header and rule of both tables, cases, race
    for table in (rows[:5], rows[5:]):
        assert {_unescaped_pipes(line) for line in table} == {_unescaped_pipes(table[0])}


def test_rows_are_on_disk_while_the_run_goes_on(fake_run, tmp_path):
    path = tmp_path / "r.json"
    seen = []

    def peek(backend: str, steps: int) -> int:
        seen.append(json.loads(path.read_text()))
        return steps

    fake_run([_case("first", _steps), _case("second", peek)])
    assert runner.main(["--quick", "--setting", SETTINGS[0], "--json", str(path)]) == 0
    during = seen[0]
    assert not during["complete"]
    assert [row["solver"] for row in during["cases"]] == ["first"]
    assert [row["solver"] for row in json.loads(path.read_text())["cases"]] == ["first",
                                                                                "second"]


def test_an_interrupted_run_leaves_valid_reports_of_what_it_measured(fake_run, tmp_path):
    def interrupt(backend: str, steps: int) -> int:
        raise KeyboardInterrupt

    fake_run([_case("first", _steps), _case("second", interrupt), _case("third", _steps)])
    path, markdown = tmp_path / "r.json", tmp_path / "r.md"
    status = runner.main(["--quick", "--setting", SETTINGS[0], "--json", str(path),
                          "--markdown", str(markdown)])
    assert status == 130
    report = json.loads(path.read_text())
    assert report["interrupted"] and not report["complete"]
    assert [row["solver"] for row in report["cases"]] == ["first"]
    assert "interrupted" in markdown.read_text() and "| toy | first |" in markdown.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.md"]  # no temporary


@pytest.mark.parametrize("option", ["--json", "--markdown"])
def test_an_unwritable_output_path_exits_2_before_any_work(option, tmp_path, monkeypatch,
                                                           capsys):
    monkeypatch.setattr(runner, "run", lambda *args: pytest.fail("work started"))
    a_file = tmp_path / "file"
    a_file.write_text("")
    for path in (tmp_path / "missing" / "r.json", a_file / "r.json", tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            runner.main([option, str(path)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and option in err and str(path) in err


def test_the_command_line_reports_a_missing_directory_in_one_line(tmp_path):
    for module in ("benchmarks", "benchmarks.linear_chain", "benchmarks.jax_peer"):
        proc = subprocess.run([sys.executable, "-m", module, "--json",
                               str(tmp_path / "missing" / "r.json")], cwd=ROOT,
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr
        assert proc.stdout == ""


def _setup_cfg_version() -> str:
    """The version setup.cfg declares: ``attr: theory.__version__`` read from the source,
    as setuptools does, or a literal."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    version = config["metadata"]["version"]
    if version.startswith("attr:"):
        source = (ROOT / "theory" / "__init__.py").read_text()
        assert version.split(":")[1].strip() == "theory.__version__"
        version = re.search(r'^__version__ = "([^"]+)"$', source, re.MULTILINE).group(1)
    return version


@pytest.mark.parametrize("module", ["benchmarks.__main__", "benchmarks.jax_peer",
                                    *(f"benchmarks.{name}" for name in SETTINGS)])
def test_every_benchmark_command_prints_the_package_version(module, capsys):
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    name = "python -m " + module.removesuffix(".__main__")
    assert capsys.readouterr().out.strip() == f"{name} {_setup_cfg_version()}"


def test_python_m_benchmarks_version():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--version"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.split() == ["python", "-m", "benchmarks", _setup_cfg_version()]


def test_help_shows_no_rest_markup(capsys):
    for main in (runner.main, jax_peer.main,
                 *(importlib.import_module(f"benchmarks.{name}").main for name in SETTINGS)):
        with pytest.raises(SystemExit):
            main(["--help"])
        out = capsys.readouterr().out
        assert "``" not in out and ":mod:" not in out and ":func:" not in out


# --------------------------------------------------------------------------- timing


class FakeClock:
    """``timed`` with a clock of its own: a run of n steps takes ``call + step n`` seconds,
    plus ``stalls[i]`` on the i-th timed call."""

    def __init__(self, call: float, step: float, stalls: dict[int, float] | None = None):
        self.call, self.step, self.stalls, self.calls = call, step, stalls or {}, 0

    def __call__(self, run):
        taken = run()
        seconds = self.call + self.step * taken + self.stalls.get(self.calls, 0.0)
        self.calls += 1
        return seconds, taken


@pytest.mark.parametrize("quick", [True, False])
def test_seconds_per_step_is_the_slope_of_run_time_over_steps(monkeypatch, quick):
    monkeypatch.setattr(h, "timed", FakeClock(call=1e-3, step=2e-6))
    result = h.seconds_per_step(_case("loop", _steps), "numba", quick)
    assert result["status"] == "ok" and "note" not in result
    assert result["s_per_step"] == pytest.approx(2e-6, rel=1e-9)
    assert result["call_s"] == pytest.approx(1e-3 + 2e-6)
    assert result["spread"] == 0.0


def test_a_stall_during_calibration_does_not_make_the_step_count_too_small(monkeypatch):
    # the failure of issue 12: one stalled calibration run left n so small that the
    # n-step runs lasted less than the 1-step run; now the count grows until the steps
    # dominate the call
    clock = FakeClock(call=2e-4, step=3e-7, stalls={5: 0.02, 6: 0.02})  # both timings of
    # the calibration's 20-step trial: it alone would give n = 48, t_n < 2 t_1
    monkeypatch.setattr(h, "timed", clock)
    result = h.seconds_per_step(_case("minnorm", _steps), "numba", quick=True)
    assert result["status"] == "ok"
    assert result["s_per_step"] == pytest.approx(3e-7, rel=1e-6)
    assert result["steps"] * 3e-7 >= (h.DOMINANCE - 1) * result["call_s"]


def test_steps_that_do_not_show_in_the_time_make_a_noisy_row_not_an_exception(monkeypatch):
    monkeypatch.setattr(h, "timed", FakeClock(call=1e-3, step=0.0))
    case = h.Case("toy", "flat", "small", "", _steps, 1.0, 8.0, 8.0, max_steps=64)
    result = h.seconds_per_step(case, "numpy", quick=True)
    assert result["status"] == "noisy" and result["s_per_step"] is None
    assert "less than" in result["note"]


def test_disagreeing_fastest_timings_make_a_noisy_row(monkeypatch):
    growing = {i: 0.01 * i for i in range(5, 100)}  # after the first round's first pair,
    clock = FakeClock(call=1e-3, step=1e-4, stalls=growing)  # no two timings agree
    monkeypatch.setattr(h, "timed", clock)
    monkeypatch.setattr(h, "calibrated_steps", lambda *args: 100)
    result = h.seconds_per_step(_case("jitter", _steps), "numba", quick=True)
    assert result["status"] == "noisy" and "differ by" in result["note"]


def test_a_fraction_above_the_bound_is_flagged(monkeypatch):
    monkeypatch.setattr(h, "RATES", FixedRates(flops_per_s=1e6, bytes_per_s=1e6))
    row = {**runner.case_identity(_case("fast", _steps)),
           "numba": {"s_per_step": 1e-6, "call_s": 1e-5, "status": "ok"}}
    runner.update_roofline(row)
    assert row["fraction"] == pytest.approx(800.0)  # bound 8e-4 s: 800 bytes at 1e6 B/s
    assert row["status"] == "noisy" and "of the bound" in row["note"]


MATRIX_BYTES_AND_STAGES = {
    "diagonal_linear": (8.0 * 2000 * 4000,  # A: M x N
                        lambda module, case: module.STAGES[case.solver]),
    "max_margin": (8.0 * 200_000 * 50,  # Z: P x d
                   lambda module, case: module.STAGES[module.ROWS[case.solver][0]]),
}


@pytest.mark.parametrize("setting", sorted(MATRIX_BYTES_AND_STAGES))
def test_the_blocked_kernels_stream_their_data_matrix_once_per_evaluation(setting):
    """The roofline counts the bytes a step must stream: these kernels read the data
    matrix in blocks that stay in the cache for the second product, so once per field
    evaluation (a model that counted it twice put the rows above 100 %)."""
    module = importlib.import_module(f"benchmarks.{setting}")
    matrix_bytes, stages = MATRIX_BYTES_AND_STAGES[setting]
    for case in module.cases(quick=True):
        if case.size == "large":
            once = matrix_bytes * stages(module, case)
            assert once <= case.bytes <= 1.1 * once, case.solver


def _kernel(name: str, runs: dict) -> h.Kernel:
    return h.Kernel("toy", name, "small", "n=1", runs)


def test_kernel_rows_reach_the_report_and_a_failing_kernel_is_an_error_row(fake_run, tmp_path,
                                                                           capsys):
    def broken():
        raise ValueError("bad | kernel")

    fake_run([_case("first", _steps)], kernels=[
        _kernel("energy", {"numba": lambda: 2.0, "numpy": lambda: 2.0 * (1 + 1e-15),
                           "jax": lambda: 2.0}),
        _kernel("broken", {"numba": broken, "numpy": lambda: 1.0})])
    path, markdown = tmp_path / "r.json", tmp_path / "r.md"
    assert runner.main(["--quick", "--setting", SETTINGS[0], "--json", str(path),
                        "--markdown", str(markdown)]) == 1
    rows = json.loads(path.read_text())["kernels"]
    assert [(r["kernel"], r["status"]) for r in rows] == [("energy", "ok"), ("broken", "error")]
    ok = rows[0]
    assert set(ok) >= {"numba", "numpy", "jax", "numpy_ratio", "jax_ratio"}
    assert ok["numpy"]["relative_difference"] == pytest.approx(1e-15, rel=0.5)
    assert ok["numba"]["relative_difference"] == 0.0 and ok["numba"]["s"] >= 0.0
    assert "ValueError: bad | kernel" in rows[1]["error"]
    out = capsys.readouterr().out
    assert "toy/broken (small): ValueError" in out
    table = [line for line in _table_rows(markdown.read_text()) if "| toy |" in line
             and ("energy" in line or "broken" in line)]
    assert len(table) == 2
    header = next(line for line in _table_rows(markdown.read_text()) if "| kernel |" in line)
    assert {_unescaped_pipes(line) for line in table} == {_unescaped_pipes(header)}


def test_a_setting_without_kernels_adds_no_kernel_rows(fake_run, tmp_path):
    fake_run([_case("first", _steps)])
    path = tmp_path / "r.json"
    assert runner.main(["--quick", "--setting", SETTINGS[0], "--json", str(path)]) == 0
    assert json.loads(path.read_text())["kernels"] == []
