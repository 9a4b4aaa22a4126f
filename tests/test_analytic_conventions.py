"""Conventions every analytic module keeps: it imports without numba, its numeric functions
run without sympy and check their arguments first, array arguments follow NumPy's shape
conventions (a scalar in gives a scalar out), real results come back real, and results
that unpack as tuples also index as tuples."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

from analytic import deep_linear, diagonal_linear, linear_chain, max_margin
from theory.registry import SETTINGS

BLOCK_NUMBA = """
import importlib, importlib.abc, sys

class BlockNumba(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numba" or name.startswith("numba."):
            raise ImportError(f"{name} is blocked")
        return None

sys.meta_path.insert(0, BlockNumba())
"""


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_every_analytic_module_imports_and_computes_without_numba():
    code = BLOCK_NUMBA + f"""
try:
    import theory.max_margin
except ImportError:
    print("blocked")
for setting in {SETTINGS!r}:
    importlib.import_module("analytic." + setting)
import numpy as np
from analytic import max_margin, linear_chain
X = np.array([[2.0, 0.5], [1.0, -1.5], [-1.0, -2.0], [0.5, 2.5]])
y = np.array([1.0, 1.0, -1.0, 1.0])
print(max_margin.max_margin(X, y).support.size > 0,
      linear_chain.minnorm_eigenvalues(2.0, 3, 1.0).size, "numba" in sys.modules)
"""
    assert run(code) == ["blocked", "True", "4", "False"]


def test_numeric_functions_run_without_sympy_and_check_arguments_first():
    code = """
import sys
import numpy as np
from analytic import linear_chain, deep_linear, diagonal_linear, max_margin
try:
    linear_chain.minnorm_damping_threshold(2, depth=0)
except ValueError as error:
    print("depth" in str(error))
linear_chain.minnorm_eigenvalues(2.0, 3, 1.0)
linear_chain.l2_fixed_points(2.0, 0.1, 3)
linear_chain.imbalances([1.0, 2.0, 0.5], [0.0, 1.0], "l2", beta=0.1)
deep_linear.saxe_mode(2.0, 0.1, [1.0, 2.0], depth=3)
deep_linear.expected_min_norm_error(1.0, 10, 2, 3, 0.1)
diagonal_linear.q([0.5, 2.0])
diagonal_linear.wn_invariant([1.0], [0.5], 0.3, depth=3)
X = np.array([[2.0, 0.5], [1.0, -1.5], [-1.0, -2.0], [0.5, 2.5]])
max_margin.minnorm_eigenvalues(X, np.array([1.0, 1.0, -1.0, 1.0]), 0.3, 0.05)
print("sympy" in sys.modules)
"""
    assert run(code) == ["True", "False"]


# --------------------------------------------------------------------------- shapes


def _check_shapes(function, scalar, **kwargs):
    """f(scalar) is a scalar equal to the matching entry of f(array); a 2-D argument keeps
    its shape."""
    grid = np.array([[scalar, 1.5 * scalar], [2.0 * scalar, 0.5 * scalar]])
    single = function(scalar, **kwargs)
    assert np.ndim(single) == 0 and isinstance(single, (float, np.floating))
    many = function(grid, **kwargs)
    assert np.shape(many) == grid.shape
    assert many[0, 0] == single
    assert function(grid.ravel(), **kwargs).shape == (4,)


@pytest.mark.parametrize("depth", [2, 3])
def test_saxe_mode_keeps_the_shape_of_t(depth):
    _check_shapes(lambda t: deep_linear.saxe_mode(2.0, 0.1, t, depth=depth), 0.7)


@pytest.mark.parametrize("function,scalar", [
    (diagonal_linear.q, 0.8),
    (lambda z: diagonal_linear.q_depth(z, 3), 0.8),
    (lambda z: diagonal_linear.wn_potential_derivative(z, 1.2, 0.5), 0.8),
    (lambda u: diagonal_linear.gf_invariant(u, 2 * u, 2), 0.8),
    (lambda u: diagonal_linear.gf_invariant(u, 2 * u, 3), 0.8),
    (lambda r: diagonal_linear.wn_invariant(r, 0.3 + 0 * np.asarray(r), 0.4, 2), 0.8),
    (lambda r: diagonal_linear.wn_invariant(r, 0.3 + 0 * np.asarray(r), 0.4, 3), 0.8),
], ids=["q", "q_depth", "wn_potential_derivative", "gf_invariant2", "gf_invariant3",
        "wn_invariant2", "wn_invariant3"])
def test_elementwise_functions_keep_the_shape_of_their_argument(function, scalar):
    _check_shapes(function, scalar)


def test_imbalances_have_shape_t_shape_plus_depth():
    w0 = [1.2, 0.5, 0.9]
    grid = np.array([[0.0, 1.0], [2.0, 3.0]])
    many = linear_chain.imbalances(w0, grid, "l2", beta=0.2)
    assert many.shape == (2, 2, 3)
    single = linear_chain.imbalances(w0, 2.0, "l2", beta=0.2)
    assert single.shape == (3,)
    np.testing.assert_array_equal(single, many[1, 0])


def test_shallow_trajectory_has_shape_t_shape_plus_map():
    rng = np.random.default_rng(0)
    X, Y, W0 = rng.normal(size=(3, 5)), rng.normal(size=(3, 2)), rng.normal(size=(2, 5))
    single = deep_linear.gd_shallow_trajectory(W0, X, Y, 0.5)
    assert single.shape == (2, 5)
    many = deep_linear.gd_shallow_trajectory(W0, X, Y, [[0.0, 0.5]])
    assert many.shape == (1, 2, 2, 5)
    np.testing.assert_array_equal(many[0, 1], single)
    np.testing.assert_allclose(many[0, 0], W0, rtol=0, atol=1e-14)  # through the eigenbasis


# --------------------------------------------------------------------------- dtypes


def test_chain_eigenvalues_are_real_when_real_and_complex_when_complex():
    real = linear_chain.minnorm_eigenvalues(2.0, depth=3, c=1.0)
    assert real.dtype == np.float64
    # T^2 - 4D from the docstring: T = -(2 - 3 + 3 * 2^(4/3)), D = 3 * 2^(4/3)
    T, D = -(-1.0 + 3.0 * 2 ** (4 / 3)), 3.0 * 2 ** (4 / 3)
    np.testing.assert_allclose(np.sort(real), np.sort(
        [-2.0, -2.0, (T - np.sqrt(T * T - 4 * D)) / 2, (T + np.sqrt(T * T - 4 * D)) / 2]))
    center = linear_chain.minnorm_eigenvalues(2.0, depth=2, c=0.0)  # T = 0: a center
    assert center.dtype == np.complex128
    np.testing.assert_allclose(center[1:].real, 0.0, atol=1e-15)
    assert np.all(np.abs(center[1:].imag) > 0.1)


def test_margin_eigenvalues_are_real_when_real_and_complex_when_complex():
    X = np.array([[2.0, 0.5], [1.0, -1.5], [-1.0, -2.0], [0.5, 2.5]])
    y = np.array([1.0, 1.0, -1.0, 1.0])
    # mu^2 + eta_w mu + eta_w eta_lambda kappa: real roots iff eta_w >= 4 eta_lambda kappa
    assert max_margin.minnorm_eigenvalues(X, y, 1.0, 1e-6).dtype == np.float64
    assert max_margin.minnorm_eigenvalues(X, y, 0.1, 1.0).dtype == np.complex128


# --------------------------------------------------------------------------- results


def test_max_margin_result_indexes_unpacks_and_pickles_as_a_tuple():
    X = np.array([[2.0, 0.5], [1.0, -1.5], [-1.0, -2.0], [0.5, 2.5]])
    y = np.array([1.0, 1.0, -1.0, 1.0])
    result = max_margin.max_margin(X, y)
    assert isinstance(result, tuple) and len(result) == 3
    assert result[0] is result.w and result[1] is result.alpha and result[-1] is result.support
    w, alpha, support = result
    assert w is result.w and result._fields == ("w", "alpha", "support")
    copy = pickle.loads(pickle.dumps(result))
    np.testing.assert_array_equal(copy.w, w)
    assert copy.kkt == result.kkt and copy.exact is False
    assert result._replace(w=2 * w).kkt == result.kkt
    assert result.margin == pytest.approx(1 / np.linalg.norm(w))
