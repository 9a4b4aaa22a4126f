"""Property tests of the modular norm over random widths, depths, masses and directions."""
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic import modular_norm as exact
from theory import modular_norm as sim

PROPERTY_EXAMPLES = 25
"""Examples per property (each a few jets and SVDs of matrices up to 24 x 24)."""


@st.composite
def chains(draw):
    depth = draw(st.integers(1, 6))
    widths = [draw(st.integers(1, 24)) for _ in range(depth + 1)]
    masses = [draw(st.floats(0.1, 5.0)) for _ in range(depth)]
    return sim.linear_chain(widths, masses), draw(st.integers(0, 2 ** 31))


@settings(max_examples=PROPERTY_EXAMPLES)
@given(chains(), st.floats(1e-3, 1e3))
def test_normalize_gives_the_target_norm_and_the_norm_is_homogeneous(chain, target):
    net, seed = chain
    rng = np.random.default_rng(seed)
    d = [rng.standard_normal(a.shape) for a in net.atoms()]
    update, _ = net.normalize(d, target=target)
    assert abs(net.norm(update) - target) <= 1e-12 * target
    assert abs(net.norm([3.0 * u for u in update]) - 3.0 * target) <= 1e-12 * target


@settings(max_examples=PROPERTY_EXAMPLES)
@given(st.integers(1, 6), st.integers(1, 24), st.integers(1, 12), st.integers(1, 12),
       st.integers(0, 2 ** 31))
def test_well_normed_on_orthogonal_chains(depth, width, n_in, n_out, seed):
    """Random directions stay below the bound; the normalized gradient direction attains
    it when the chain preserves norms (n_in <= width, n_out <= width)."""
    net = sim.linear_chain([n_in] + [width] * (depth - 1) + [n_out]) if depth > 1 else \
        sim.linear_chain([n_in, n_out])
    rng = np.random.default_rng(seed)
    W = sim.orthogonal_init(net, seed)
    x = rng.standard_normal(n_in)
    x *= math.sqrt(n_in) / np.linalg.norm(x)
    d, _ = net.normalize([rng.standard_normal(w.shape) for w in W])
    assert sim.rms(net.jet(W, x, d)[1]) <= net.norm(d) * (1 + 1e-12)
    r = rng.standard_normal(n_out)
    g, _ = net.normalize(sim.linear_chain_gradient(W, x, r))
    ratio = sim.rms(net.jet(W, x, g)[1]) / net.norm(g)
    assert ratio <= 1 + 1e-12
    norm_preserving = depth == 1 and n_out >= n_in or depth > 1 and n_in <= width >= n_out
    if norm_preserving and (depth == 1 or n_out <= width):
        assert abs(ratio - 1.0) <= 1e-11


@settings(max_examples=PROPERTY_EXAMPLES)
@given(st.integers(2, 6), st.integers(2, 16), st.integers(0, 2 ** 31))
def test_second_derivative_below_alpha_on_orthogonal_chains(depth, width, seed):
    net = sim.linear_chain([width] * (depth + 1))
    rng = np.random.default_rng(seed)
    W = sim.orthogonal_init(net, seed)
    x = rng.standard_normal(width)
    x *= math.sqrt(width) / np.linalg.norm(x)
    d, _ = net.normalize([rng.standard_normal(w.shape) for w in W])
    _, _, d2 = net.jet(W, x, d)
    assert sim.rms(d2) <= exact.chain_alpha(depth) + 1e-12


@settings(max_examples=PROPERTY_EXAMPLES)
@given(st.integers(1, 4), st.integers(2, 12), st.floats(0.2, 3.0), st.integers(0, 2 ** 31))
def test_targets_split_the_norm_between_residual_blocks(depth, width, blocks_mass, seed):
    """Each atom's factor t_i scales a unit-norm direction to modular norm 1 exactly,
    whatever the masses: the target recursion and the norm recursion agree."""
    net = sim.residual_mlp(3, width, 2, depth, blocks_mass=blocks_mass)
    rng = np.random.default_rng(seed)
    d = [rng.standard_normal(a.shape) for a in net.atoms()]
    scaled = [t * u / np.linalg.norm(u, 2) for t, u in zip(net.targets(), d)]
    assert abs(net.norm(scaled) - 1.0) <= 1e-12


@settings(max_examples=PROPERTY_EXAMPLES)
@given(st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf"))),
       st.integers(1, 5), st.integers(0, 3))
def test_non_positive_or_non_finite_masses_are_rejected_by_name(mass, depth, position):
    """Any Linear mass <= 0, NaN or inf raises ValueError naming ``mass`` (at whatever
    layer of the chain it sits)."""
    masses = [1.0] * depth
    masses[position % depth] = mass
    with pytest.raises(ValueError, match="mass"):
        sim.linear_chain([3] * (depth + 1), masses)


@settings(max_examples=PROPERTY_EXAMPLES)
@given(st.integers(1, 4), st.integers(2, 8), st.integers(0, 6), st.integers(0, 6))
def test_weights_of_the_wrong_shape_are_rejected_by_position(depth, width, extra_rows, index):
    net = sim.residual_mlp(3, width, 2, depth)
    weights = sim.orthogonal_init(net, 0)
    position = index % len(weights)
    m, k = weights[position].shape
    weights[position] = np.ones((m + extra_rows + 1, k))
    with pytest.raises(ValueError, match=re.escape(f"weights[{position}]")):
        net.norm(weights)
