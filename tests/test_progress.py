"""Progress bars: drawn only on a terminal, never when disabled or under verify --json."""
import io
import subprocess
import sys

from theory import progress


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
