"""The command lines: python -m verify (exit codes, reports) and python -m figures."""
import hashlib
import importlib
from pathlib import Path
import json
import re
import subprocess
import sys
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from figures.style import FORMATS, save
from verify import __main__ as verify_cli
from theory import registry as theory_registry
from verify import claims as registry
from verify.claims import Claim, Evidence

FAST_CLAIM = "linear_chain.minnorm.discrete_contraction"


def test_list_prints_every_claim(capsys):
    assert verify_cli.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(c.id in out for c in registry.load_claims("linear_chain"))


@pytest.mark.parametrize("argv", [["--setting", "nope"], ["--claim", "nope"], ["--bogus"]])
def test_usage_errors_exit_with_two(argv):
    with pytest.raises(SystemExit) as exit_info:
        verify_cli.main(argv)
    assert exit_info.value.code == 2


def test_json_and_markdown_reports(tmp_path, capsys):
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    code = verify_cli.main(["--claim", FAST_CLAIM, "--json", str(json_path),
                            "--markdown", str(md_path), "--seed", "7"])
    assert code == 0 and "PASS" in capsys.readouterr().out
    report = json.loads(json_path.read_text())
    assert report["seed"] == 7 and "numba" in report["versions"]
    (entry,) = report["claims"]
    for key in ("id", "setting", "statement", "source", "regime", "prediction",
                "failing_regime", "passed", "measured", "predicted", "tolerance", "seconds"):
        assert key in entry
    claim = {c.id: c for c in registry.load_claims("linear_chain")}[FAST_CLAIM]
    assert entry["prediction"] == claim.prediction and entry["failing_regime"] is False
    assert entry["id"] == FAST_CLAIM and entry["passed"] is True
    assert FAST_CLAIM in md_path.read_text()


def _fake_setting(monkeypatch, passed: bool, raises: bool = False) -> None:
    def check(rng):
        if raises:
            raise RuntimeError("boom")
        return Evidence({"x": float(rng.uniform())}, {"x": 0.0}, passed)

    module = types.ModuleType("fake_setting")
    module.CLAIMS = [Claim("fake.claim", "fake", "s", "src", "r", "tol", check, "Monte Carlo")]
    monkeypatch.setitem(sys.modules, "verify.fake", module)
    monkeypatch.setattr(theory_registry, "SETTINGS", ("fake",))


@pytest.mark.parametrize("passed,raises,code", [(True, False, 0), (False, False, 1),
                                                 (True, True, 1)])
def test_exit_status_follows_the_verdicts(monkeypatch, capsys, passed, raises, code):
    _fake_setting(monkeypatch, passed, raises)
    assert verify_cli.main([]) == code
    assert ("ERROR" if raises else ("PASS" if passed else "FAIL")) in capsys.readouterr().out


def test_seeds_report_pass_fractions_and_exit_on_any_failing_seed(monkeypatch, capsys,
                                                                   tmp_path):
    def check(rng):  # passes on some root seeds only
        x = float(rng.uniform())
        return Evidence({"x": x}, {"x": 0.5}, x < 0.5)

    module = types.ModuleType("fake_setting")
    module.CLAIMS = [Claim("fake.claim", "fake", "s", "src", "r", "tol", check, "Monte Carlo")]
    monkeypatch.setitem(sys.modules, "verify.fake", module)
    monkeypatch.setattr(theory_registry, "SETTINGS", ("fake",))
    verdicts = [check(registry.claim_rng(seed, "fake.claim")).passed for seed in range(3, 11)]
    assert any(verdicts) and not all(verdicts)  # the fake claim fails on some seeds
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    assert verify_cli.main(["--seeds", "8", "--seed", "3", "--json", str(json_path),
                            "--markdown", str(md_path)]) == 1
    out = capsys.readouterr().out
    assert f"{sum(verdicts)}/8 seeds" in out and "x in [" in out and "Monte Carlo" in out
    (entry,) = json.loads(json_path.read_text())["claims"]
    assert entry["pass_fraction"] == sum(verdicts) / 8
    assert entry["failed_seeds"] == [3 + i for i, v in enumerate(verdicts) if not v]
    assert [run["seed"] for run in entry["runs"]] == list(range(3, 11))
    assert f"{sum(verdicts)}/8" in md_path.read_text()


def test_seeds_pass_only_when_every_seed_passes(monkeypatch, capsys):
    _fake_setting(monkeypatch, passed=True)
    assert verify_cli.main(["--seeds", "3"]) == 0
    assert "3/3 seeds" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        verify_cli.main(["--seeds", "0"])
    assert exit_info.value.code == 2


def test_every_claim_says_how_its_prediction_was_computed():
    for claim in registry.load_claims():
        assert claim.methods and all(m in registry.PREDICTION_METHODS for m in claim.methods)
    with pytest.raises(ValueError, match="prediction"):
        Claim("fake.claim", "fake", "s", "src", "r", "tol", lambda rng: None, "by eye")


FAILING_WORDS = ("failing regime", "failing part", "does not hold", "not supported")
"""How a claim's statement or regime says that it checks a failure."""


def test_failing_regime_claims_are_marked_and_say_so():
    """A claim whose texts name a failing regime or part is marked ``failing_regime``,
    and a marked claim's texts say what fails."""
    claims = registry.load_claims()
    for claim in claims:
        text = " ".join((claim.statement + " " + claim.regime).lower().split())
        if "failing regime" in text or "failing part" in text:
            assert claim.failing_regime, claim.id
        if claim.failing_regime:
            assert any(word in text for word in FAILING_WORDS), claim.id
    assert {c.setting for c in claims if c.failing_regime} == set(theory_registry.SETTINGS)


def test_every_check_uses_its_generator():
    """A check that never reads ``rng`` would give every root seed the same instance
    (static: the body must use ``rng`` beyond its signature)."""
    import inspect

    for claim in registry.load_claims():
        body = inspect.getsource(claim.check).split("\n", 1)[1]  # after the signature line
        assert "rng" in body, claim.id


def test_t_interval_covers_the_mean_and_needs_twenty_draws():
    from verify.intervals import MIN_DRAWS, t_interval

    draws = np.random.default_rng(0).normal(1.0, 2.0, size=400)
    interval = t_interval(draws)
    assert interval.low < 1.0 < interval.high and interval.n == 400
    assert interval.high - interval.low == pytest.approx(2 * 1.966 * draws.std(ddof=1) / 20,
                                                         rel=1e-3)
    with pytest.raises(ValueError, match="at least"):
        t_interval(draws[:MIN_DRAWS - 1])


def test_claim_seeds_depend_on_claim_id_not_order():
    a = registry.claim_rng(0, "x.y").uniform(size=3)
    b = registry.claim_rng(0, "x.y").uniform(size=3)
    c = registry.claim_rng(0, "x.z").uniform(size=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fmt", FORMATS)
def test_saved_figures_are_byte_for_byte_reproducible(tmp_path, fmt):
    digests = []
    for run in range(2):
        fig = Figure()
        fig.add_subplot().plot(np.arange(5), np.random.default_rng(3).normal(size=5), label="a")
        fig.axes[0].legend()
        path = save(fig, tmp_path / str(run), "probe", fmt)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


EXPECTED_FIGURES = {
    "deep_linear": ["deep_linear_error_vs_scale.png", "deep_linear_error_vs_time.png",
                    "deep_linear_saxe.png", "deep_linear_init_depth_map.png"],
    "diagonal_linear": ["diagonal_linear_kernel_to_rich.png", "diagonal_linear_loss_vs_time.png",
                        "diagonal_linear_paths_2d.png", "diagonal_linear_wn_robustness.png",
                        "diagonal_linear_alpha_kappa_map.png"],
    "linear_chain": ["linear_chain_damping_map.png", "linear_chain_distance.png",
                     "linear_chain_phase_plane.png", "linear_chain_t_epsilon.png"],
    "max_margin": ["max_margin_angle.png", "max_margin_gd_norm_loss.png",
                   "max_margin_multipliers.png", "max_margin_separators_2d.png",
                   "max_margin_step_gap_map.png"],
    "relu_network": ["relu_network_minnorm_training.png", "relu_network_multipliers.png",
                     "relu_network_digits_accuracy.png", "relu_network_digits_training.png",
                     "relu_network_digits_flipped.png"],
    "orthogonal": ["orthogonal_defect_vs_condition.png", "orthogonal_energy.png",
                   "orthogonal_procrustes.png", "orthogonal_random_over_minimum.png"],
    "conditioning": ["conditioning_iterations.png", "conditioning_mlp_training.png",
                     "conditioning_training.png"],
    "weightnorm_hessian": ["weightnorm_hessian_width.png", "weightnorm_hessian_norms.png"],
    "implicit_gradient": ["implicit_gradient_orders.png", "implicit_gradient_balancing.png",
                          "implicit_gradient_step_curvature_map.png"],
    "flat_minima": ["flat_minima_sharpness.png"],
    "modular_norm": ["modular_norm_lr_transfer.png", "modular_norm_alpha_depth.png"],
}


def test_every_figure_is_registered_under_its_file_name():
    from figures.__main__ import stems

    assert sorted(stems()) == sorted(Path(name).stem for names in EXPECTED_FIGURES.values()
                                     for name in names)


CHEAP_FIGURES = ["linear_chain_phase_plane", "max_margin_separators_2d", "deep_linear_saxe",
                 "diagonal_linear_paths_2d", "relu_network_multipliers",
                 "orthogonal_defect_vs_condition", "conditioning_iterations",
                 "weightnorm_hessian_width",
                 "implicit_gradient_balancing", "modular_norm_alpha_depth"]
"""One figure per setting, the cheapest: the command end to end in seconds, not minutes
(``python -m figures`` draws all of them; each figure's computations are those of the
claims, which ``verify`` and the property tests check)."""


def test_figures_command_draws_the_chosen_figures(tmp_path):
    command = [sys.executable, "-m", "figures", "--out", str(tmp_path)]
    for stem in CHEAP_FIGURES:
        command += ["--figure", stem]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{stem}.png" for stem in CHEAP_FIGURES)
    for stem in CHEAP_FIGURES:  # one line per figure: its path and seconds
        assert re.search(rf"^{re.escape(str(tmp_path / stem))}\.png  \(\d+\.\d s\)$",
                         out.stdout, re.M), out.stdout
    assert re.search(rf"^{len(CHEAP_FIGURES)} figures in \d+\.\d s$", out.stdout, re.M)


def test_figures_command_rejects_an_unknown_figure():
    result = subprocess.run([sys.executable, "-m", "figures", "--figure", "nope"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--list" in result.stderr


def test_figures_command_rejects_an_unknown_setting():
    result = subprocess.run([sys.executable, "-m", "figures", "--only", "nope"],
                            capture_output=True, text=True)
    assert result.returncode == 2


# --------------------------------------------------------------------------- --version, --help


RST_MARKUP = re.compile(r"``|:(func|mod|class|data|attr|meth|obj|ref):`")


@pytest.mark.parametrize("module", ["verify", "figures", "analytic", "analytic.generate"])
def test_version_and_help_are_plain(module):
    version = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                             text=True, check=True)
    package = importlib.import_module(module.split(".")[0])
    assert version.stdout == f"python -m {module} {package.__version__}\n"
    help_text = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                               text=True, check=True).stdout
    assert help_text.startswith(f"usage: python -m {module}")
    assert not RST_MARKUP.search(help_text), help_text
    assert "--version" in help_text


# --------------------------------------------------------------------------- figures output


def test_figures_rejects_an_unusable_out_directory_before_drawing(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for out in (a_file, a_file / "sub"):
        result = subprocess.run([sys.executable, "-m", "figures", "--out", str(out)],
                                capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and str(out) in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_figures_are_reported_one_by_one_as_they_are_written(tmp_path, monkeypatch, capsys):
    """Each figure's line (path and seconds) is printed before the next figure is drawn."""
    import figures.__main__ as figures_cli

    printed_before = {}

    def drawing(name):
        def draw_one(out_dir: Path, fmt: str) -> Path:
            printed_before[name] = capsys.readouterr().out
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"fake_{name}.{fmt}"
            path.write_text(name)
            return path
        return draw_one

    module = types.ModuleType("fake_figures")
    module.figures = lambda: {name: drawing(name) for name in ("one", "two", "three")}
    monkeypatch.setitem(sys.modules, "figures.fake", module)
    monkeypatch.setattr(figures_cli, "SETTINGS", ("fake",))
    out = tmp_path / "new" / "dir"
    assert figures_cli.main(["--out", str(out)]) == 0
    rest = capsys.readouterr().out
    assert printed_before["one"] == ""
    line = r"{}  \(\d+\.\d s\)\n"
    assert re.fullmatch(line.format(re.escape(str(out / "fake_one.png"))), printed_before["two"])
    assert re.fullmatch(line.format(re.escape(str(out / "fake_two.png"))),
                        printed_before["three"])
    assert re.fullmatch(line.format(re.escape(str(out / "fake_three.png")))
                        + r"3 figures in \d+\.\d s\n", rest)


def test_a_figure_is_written_atomically_and_leaves_no_temporary(tmp_path):
    """figures.style.save writes a temporary file beside the target and renames it: the
    target holds the whole figure, and nothing else is left in the directory."""
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    (tmp_path / "line.png").write_bytes(b"old")
    path = save(fig, tmp_path, "line", "png")
    assert path == tmp_path / "line.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.png"]
