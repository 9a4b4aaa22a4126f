"""The stored closed forms (``analytic/_generated``) against a fresh sympy derivation.

Every ``*_expr`` result stored as srepr text must equal what its derivation gives now
(structurally, or ``simplify(stored - derived) == 0``), and every generated numeric function
must agree with the live derivation lambdified by sympy at sample points. Both files must
hold exactly the registered forms. A failure here means: run ``python -m analytic.generate``.
"""
import importlib

import numpy as np
import pytest
import sympy as sp

from analytic import stored
from theory.registry import SETTINGS

MODULES = {setting: importlib.import_module(f"analytic.{setting}") for setting in SETTINGS}
STORED = [(setting, name, args) for setting in SETTINGS
          for name, function in stored.EXPRESSIONS[setting].items() for args in function.stored]
NUMERIC = [(setting, name, args) for setting in SETTINGS  # a setting may have no numeric form
           for name, numeric in stored.NUMERIC.get(setting, {}).items()
           for args in numeric.stored]


def assert_same(stored, derived, where: str) -> None:
    """Containers of the same shape with equal sympy leaves (structurally, else by
    ``simplify`` of the difference)."""
    if isinstance(derived, dict):
        assert isinstance(stored, dict) and set(stored) == set(derived), where
        for key in derived:
            assert_same(stored[key], derived[key], f"{where}[{key!r}]")
    elif isinstance(derived, (list, tuple)):
        assert type(stored) is type(derived) and len(stored) == len(derived), where
        for i, (a, b) in enumerate(zip(stored, derived)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(derived, sp.MatrixBase):
        assert stored.shape == derived.shape, where
        assert stored == derived or sp.simplify(stored - derived).is_zero_matrix, where
    else:
        assert stored == derived or sp.simplify(stored - derived) == 0, \
            f"{where}: stored {stored} != derived {derived}"


@pytest.mark.parametrize("setting,name,args", STORED,
                         ids=[f"{s}.{n}{a!r}" for s, n, a in STORED])
def test_stored_form_equals_its_derivation(setting, name, args):
    function = stored.EXPRESSIONS[setting][name]
    assert_same(function(*args), function.derive(*args), f"{setting}.{name}{args!r}")


@pytest.mark.parametrize("setting,name,args", NUMERIC,
                         ids=[f"{s}.{n}{a!r}" for s, n, a in NUMERIC])
def test_generated_function_equals_the_lambdified_derivation(setting, name, args):
    numeric = stored.NUMERIC[setting][name]
    generated = stored.generated_function(setting, name, args)
    assert generated is not None, f"{setting}.{name}{args!r} is not generated"
    with stored.live():
        derived = numeric.get(*args)
    samples = numeric.samples(*args)
    assert samples, f"{name} has no samples"
    for sample in samples:
        expected = np.asarray(derived(*sample))
        assert np.all(np.isfinite(expected)), (name, sample)
        np.testing.assert_allclose(generated(*sample), expected, rtol=1e-12, atol=0,
                                   err_msg=f"{setting}.{name}{args!r} at {sample}")


@pytest.mark.parametrize("setting", SETTINGS)
def test_generated_modules_hold_exactly_the_registered_forms(setting):
    assert set(stored.generated_forms(setting)) == {
        (name,) + tuple(args) for s, name, args in STORED if s == setting}
    assert stored.generated_function_names(setting) == {
        stored.function_name(name, args) for s, name, args in NUMERIC if s == setting}


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_public_expression_is_registered(setting):
    """Each public ``*_expr`` goes through the store (or, like the support-set family of
    max_margin, is registered with nothing stored), and has its live derivation."""
    public = {n for n in vars(MODULES[setting]) if n.endswith("_expr") and not n.startswith("_")}
    assert public == set(stored.EXPRESSIONS[setting])
    for name in public:
        assert callable(getattr(MODULES[setting], name).derive)


def test_live_derivations_are_cached_apart_from_the_stored_forms():
    from analytic import linear_chain as exact

    loaded = exact.minnorm_linearization_expr()
    derived = exact.minnorm_linearization_expr.derive()
    assert derived is not loaded
    assert exact.minnorm_linearization_expr() is loaded
    with stored.live():
        assert exact.minnorm_linearization_expr() is derived


def test_a_depth_that_is_not_stored_is_derived():
    from analytic import deep_linear as exact

    depth = max(exact.STORED_DEPTHS) + 1
    assert ("saxe_mode_expr", depth) not in stored.generated_forms("deep_linear")
    integral = exact.saxe_mode_expr(depth) / exact.symbols()["tau"]
    v = integral.limits[0][0]
    assert sp.simplify(integral.function - v ** (1 - depth) / (exact.symbols()["s"] - v ** depth)) == 0
    # and the numeric path lambdifies it: t(u) against a quadrature of the mode equation
    from scipy.integrate import quad

    s, u0, u_final = 1.5, 0.05, 1.0
    reference = quad(lambda u: 1.0 / (depth * u ** (2 - 2 / depth) * (s - u)), u0, u_final,
                     epsabs=0, epsrel=1e-13)[0]
    assert exact.saxe_learning_time(s, u0, u_final, depth) == pytest.approx(reference, rel=1e-10)
