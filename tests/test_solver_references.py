"""Every solver of every setting has an independent check (issue 11, item 1).

The checks live in ``tests/test_<setting>_references.py`` and register themselves with
``solver_references.references`` when their module is imported (imported here, so this
file can run alone). This test enumerates ``theory.registry.SETTINGS`` and each setting's
``SOLVERS`` and fails when a solver has no registered independent check, or when one of
its result-changing parameters (read from its signature: step sizes, time scales, sigma,
beta, c, depth, loss; for flows every method with a fixed step, adaptive steps and
``stop_tol``; for discrete solvers ``stop_tol``) is never exercised by a registered check.
"""
from __future__ import annotations

import importlib

import pytest

import solver_references as refs
from theory.registry import SETTINGS, setting_module

REFERENCE_MODULES = {s: importlib.import_module(f"test_{s}_references") for s in SETTINGS}
"""Importing each setting's reference tests fills ``refs.REGISTRY``."""


def _solvers() -> list[tuple[str, str]]:
    return [(s, name) for s in SETTINGS for name in setting_module("theory", s).SOLVERS]


@pytest.mark.parametrize("setting,solver", _solvers())
def test_every_solver_and_parameter_has_an_independent_check(setting, solver):
    entries = refs.REGISTRY.get((setting, solver), [])
    assert entries, f"{setting}.{solver} has no registered independent check"
    assert all(e.reference in refs.REFERENCE_KINDS for e in entries)
    exercised = set().union(*(refs.exercised_tokens(setting, solver, e.kwargs)
                              for e in entries))
    missing = refs.required_tokens(setting, solver) - exercised
    assert not missing, f"{setting}.{solver}: never varied by a registered check: {sorted(missing)}"


def test_registry_names_only_existing_solvers():
    known = set(_solvers())
    assert set(refs.REGISTRY) <= known, set(refs.REGISTRY) - known


def test_coverage_rules_see_the_signatures():
    """The rules are read from the signatures: a check at the defaults exercises nothing
    but the default loss/method, and one that varies everything exercises everything."""
    assert refs.required_tokens("linear_chain", "l2_flow") == {
        "eta", "sigma", "beta", "adaptive", "dt", "stop_tol",
        "method=euler", "method=heun", "method=rk4", "method=dopri5"}
    assert refs.required_tokens("max_margin", "gradient_descent") == {
        "lr", "loss=logistic", "loss=exponential", "stop_tol"}
    assert refs.exercised_tokens("linear_chain", "l2_flow", {"beta": 0.1, "eta": 1.0}) == {
        "beta", "adaptive"}
    assert refs.exercised_tokens("linear_chain", "l2_flow", {
        "beta": 0.3, "eta": 1.5, "sigma": 2.0, "method": "heun", "dt": 0.1,
        "stop_tol": 1e-6}) == {"beta", "eta", "sigma", "dt", "method=heun", "stop_tol"}


def test_a_check_that_does_not_run_its_registered_case_fails():
    """The registry cannot be filled by declaration alone: the decorator's wrapper fails
    a test that did not call the solver with the registered arguments, or whose stop case
    did not converge (the registry is restored afterwards, so this test adds no coverage)."""
    saved = {key: list(entries) for key, entries in refs.REGISTRY.items()}
    try:
        idle = refs.Case("linear_chain", "gradient_flow", (2.0, [1.5, 0.3]),
                         {"times": [1.0], "eta": 1.5}, "idle")
        other = refs.Case("linear_chain", "gradient_flow", (2.0, [1.5, 0.3]),
                          {"times": [1.0], "eta": 1.2}, "other")
        never_stops = refs.Case("linear_chain", "gradient_flow", (2.0, [1.5, 0.3]),
                                {"times": [0.1], "stop_tol": 1e-12}, "never_stops")

        @refs.references("solve_ivp", [idle])
        def runs_another_case():
            other.run()

        @refs.references("solve_ivp", [never_stops])
        def runs_without_converging():
            never_stops.run()

        for test in (runs_another_case, runs_without_converging):
            with pytest.raises(AssertionError, match="did not run them as registered"):
                test()
    finally:
        refs.REGISTRY.clear()
        refs.REGISTRY.update(saved)
