"""Progress bars: drawn only on a terminal, never when disabled or under verify --json."""
import io
import re
import subprocess
import sys

import pytest

from theory import progress
from theory import registry as theory_registry


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_standard_error_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.delenv(progress.ENVIRONMENT_VARIABLE, raising=False)
    items = [1, 2, 3]
    assert progress.progress(items, "x") is items


def test_a_bar_on_a_terminal_unless_disabled(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv(progress.ENVIRONMENT_VARIABLE, raising=False)
    assert list(progress.progress(range(3), "counting")) == [0, 1, 2]
    assert "counting" in terminal.getvalue()
    monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, "0")
    items = [4]
    assert progress.progress(items, "x") is items


def test_verify_workers_draw_no_bars():
    from verify import runner

    assert runner.WORKER_ENV[progress.ENVIRONMENT_VARIABLE] == "0"


def test_verify_json_turns_bars_off(tmp_path):
    code = ("import os; from verify.__main__ import main; "
            f"main(['--claim', 'linear_chain.gd.imbalance_conserved', '--json', "
            f"{str(tmp_path / 'r.json')!r}]); "
            f"print(os.environ['{progress.ENVIRONMENT_VARIABLE}'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"


def _two_fake_claims(monkeypatch) -> None:
    import types

    from verify.claims import Claim, Evidence

    def check(rng):
        return Evidence({"x": 1.0}, {"x": 1.0}, True)

    module = types.ModuleType("fake_setting")
    module.CLAIMS = [Claim(f"fake.{name}", "fake", "s", "src", "r", "tol", check, "Monte Carlo")
                     for name in ("first", "second")]
    monkeypatch.setitem(sys.modules, "verify.fake", module)
    monkeypatch.setattr(theory_registry, "SETTINGS", ("fake",))


def _run_verify(monkeypatch, argv, error_stream) -> tuple[str, str]:
    from verify.__main__ import main

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", error_stream)
    monkeypatch.delenv(progress.ENVIRONMENT_VARIABLE, raising=False)
    assert main(argv) == 0
    monkeypatch.undo()
    return out.getvalue(), error_stream.getvalue()


def _without_timings(text: str) -> str:
    return re.sub(r"\d+\.\d+ s", "_ s", text)


@pytest.mark.parametrize("argv,line", [([], "claim 1 of 2"), (["--seeds", "2"], "run 3 of 4")])
def test_verify_counts_claims_on_a_terminal_and_prints_the_same_when_piped(monkeypatch, argv,
                                                                           line):
    _two_fake_claims(monkeypatch)
    piped_out, piped_err = _run_verify(monkeypatch, argv, io.StringIO())
    assert piped_err == ""
    assert "\r" not in piped_out and "claim 1 of" not in piped_out and "run 1 of" not in piped_out
    assert piped_out.count("fake.first") == 1 and piped_out.count("fake.second") == 1
    _two_fake_claims(monkeypatch)
    terminal_out, terminal_err = _run_verify(monkeypatch, argv, _Terminal())
    assert _without_timings(terminal_out) == _without_timings(piped_out)
    assert line in terminal_err and "elapsed 00:00" in terminal_err
    assert "running fake.second" in terminal_err
