"""Every setting of theory.registry provides every column, each with its contract.

- theory.<s>: ``SOLVERS`` (name -> solver), the jitted ``field``/``project``/``workspace``
  with their compiled ``LOOPS``, ``field_numpy``, and ``examples()`` (a small call of every
  solver), on which the jitted solver and its NumPy twin agree;
- analytic.<s>: sympy expressions (``*_expr``) and numeric functions; importing it does not
  import sympy (derivations are lazy);
- verify.<s>: ``CLAIMS``, ids ``<s>.*``, every field filled;
- figures.<s>: ``figures()``, name -> function(out_dir, fmt) drawing that figure;
- benchmarks.<s>: ``cases(quick)`` with every solver at a small and a large size, and
  ``races()`` (flows against solve_ivp); optionally ``kernels(quick)``, hot kernels that
  are not solvers, whose backends compute the same value.
"""
import importlib
import inspect
import subprocess
import sys

import numpy as np
import pytest

from theory.registry import COLUMNS, SETTINGS, setting_module
from theory.results import Status, Trajectory


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("setting", SETTINGS)
def test_every_column_has_a_module_for_every_setting(setting, column):
    assert setting_module(column, setting).__name__ == f"{column}.{setting}"


def _solver_cases():
    return [(s, name) for s in SETTINGS
            for name in importlib.import_module(f"theory.{s}").SOLVERS]


@pytest.mark.parametrize("setting,solver", _solver_cases())
def test_every_solver_has_an_example_on_which_it_matches_its_twin(setting, solver):
    module = setting_module("theory", setting)
    assert callable(module.field_numpy) and module.LOOPS.fixed_step is not None
    for kernel in (module.field, module.project, module.workspace):
        assert hasattr(kernel, "py_func"), f"{kernel} is not jitted"
    assert set(module.examples()) == set(module.SOLVERS)
    args, kwargs = module.examples()[solver]
    fast = module.SOLVERS[solver](*args, **kwargs)
    slow = module.SOLVERS[solver](*args, backend="numpy", **kwargs)
    assert isinstance(fast, Trajectory) and fast.status is Status.COMPLETED
    assert type(fast) is type(slow) and fast.stats == slow.stats
    np.testing.assert_allclose(fast.states, slow.states, rtol=1e-12, atol=1e-14)
    assert "backend" in inspect.signature(module.SOLVERS[solver]).parameters or \
        "options" in inspect.signature(module.SOLVERS[solver]).parameters


@pytest.mark.parametrize("setting", SETTINGS)
def test_analytic_exposes_sympy_expressions_and_imports_without_sympy(setting):
    module = setting_module("analytic", setting)
    expressions = [n for n, f in vars(module).items()
                   if n.endswith("_expr") and callable(f) and not n.startswith("_")]
    assert expressions, f"analytic.{setting} has no *_expr function"
    code = f"import sys, analytic.{setting}; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("setting", SETTINGS)
def test_verify_lists_complete_claims_of_its_setting(setting):
    claims = setting_module("verify", setting).CLAIMS
    assert claims
    for claim in claims:
        assert claim.setting == setting and claim.id.startswith(f"{setting}.")
        assert all([claim.statement, claim.source, claim.regime, claim.tolerance])
        assert callable(claim.check) and claim.methods


@pytest.mark.parametrize("setting", SETTINGS)
def test_figures_module_draws(setting):
    registry = setting_module("figures", setting).figures()
    assert registry
    for function in registry.values():
        assert list(inspect.signature(function).parameters) == ["out_dir", "fmt"]


@pytest.mark.parametrize("setting", SETTINGS)
def test_benchmarks_cover_every_solver_at_two_sizes_and_race_the_flows(setting):
    module = setting_module("benchmarks", setting)
    solvers = set(setting_module("theory", setting).SOLVERS)
    cases = module.cases(quick=True)
    covered = {(c.solver.split("/")[0], c.size) for c in cases}
    assert covered == {(s, size) for s in solvers for size in ("small", "large")}
    assert all(c.flops > 0 and c.bytes >= c.working_set > 0 for c in cases)
    races = module.races()
    raced = {r.solver.split("/")[0] for r in races}
    assert raced and raced <= {s for s in solvers if s.endswith("_flow")}
    for race in races:  # solve_ivp's field and ours start from the same state and agree
        field = np.asarray(race.vector_field(0.0, race.y0))
        assert field.shape == race.y0.shape and np.all(np.isfinite(field))
        coarse = race.ours(race.coarse)
        assert coarse.shape == race.y0.shape and np.all(np.isfinite(coarse))


def _settings_with_kernel_rows():
    return [s for s in SETTINGS if hasattr(setting_module("benchmarks", s), "kernels")]


def test_the_orthogonal_energy_kernel_has_benchmark_rows():
    assert "orthogonal" in _settings_with_kernel_rows()


@pytest.mark.parametrize("setting", _settings_with_kernel_rows())
def test_kernel_rows_name_their_setting_and_their_backends_agree(setting):
    from benchmarks.harness import Kernel

    module = setting_module("benchmarks", setting)
    kernels = module.kernels(quick=True)
    assert kernels and len(module.kernels(quick=False)) >= len(kernels)
    for kernel in kernels:
        assert isinstance(kernel, Kernel) and kernel.setting == setting
        assert {"numba", "numpy"} <= set(kernel.runs) <= {"numba", "numpy", "jax"}
        values = {backend: run() for backend, run in kernel.runs.items()}
        # float64 sums of up to N^2/2 pair terms in different orders (JAX: from the Gram
        # matrix, whose close pairs lose digits): well within 1e-10 of each other
        for value in values.values():
            assert value == pytest.approx(values["numba"], rel=1e-10)
