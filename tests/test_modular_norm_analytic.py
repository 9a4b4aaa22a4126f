"""The sympy recursions of analytic.modular_norm against the paper's formulas, brute-force
maxima and the exact second derivatives of theory.modular_norm's jets."""
import math

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from analytic import modular_norm as exact
from theory import modular_norm as sim


def test_composition_rule_equals_the_paper_recursion():
    """The derived rule against the recursion as the paper writes it (Large et al.,
    sharpness of a composite): alpha = [mu2^2 alpha2 + 2 mu1 mu2 beta2/nu2 + mu1^2 (alpha1/nu2
    + gamma2/nu2^2)]/mu^2, beta = [mu1 beta1 + mu1 nu1 gamma2/nu2 + mu2 nu1 beta2]/mu,
    gamma = nu2 gamma1 + nu1^2 gamma2."""
    s = exact.symbols()
    mu1, mu2, nu1, nu2 = s["mu1"], s["mu2"], s["nu1"], s["nu2"]
    a1, a2, b1, b2, g1, g2 = (s[k] for k in ("alpha1", "alpha2", "beta1", "beta2", "gamma1",
                                             "gamma2"))
    mu = mu1 + mu2
    paper = {"alpha": (mu2 ** 2 * a2 + 2 * mu1 * mu2 * b2 / nu2
                       + mu1 ** 2 * (a1 / nu2 + g2 / nu2 ** 2)) / mu ** 2,
             "beta": (mu1 * b1 + mu1 * nu1 * g2 / nu2 + mu2 * nu1 * b2) / mu,
             "gamma": nu2 * g1 + nu1 ** 2 * g2}
    rules = exact.composition_rules_expr()
    for name, expected in paper.items():
        assert sp.simplify(rules[name] - expected) == 0, name


def test_chain_closed_form_and_induction():
    forms = exact.chain_closed_form_expr()
    L = exact.symbols()["L"]
    assert sp.simplify(forms["alpha"] - (L - 1) / L) == 0
    assert forms["beta"] == 1 and forms["gamma"] == 0 and forms["mass"] == L
    for key in ("induction_alpha", "induction_beta", "induction_gamma", "base_alpha",
                "base_beta", "base_gamma"):
        assert forms[key] == 0, key


@pytest.mark.parametrize("depth", [1, 2, 3, 7, 12])
def test_rule_walked_over_the_tree_gives_the_closed_form(depth):
    mass, nu, alpha, beta, gamma = exact.sharpness(sim.linear_chain([3] * (depth + 1)))
    assert (mass, nu, beta, gamma) == (depth, 1.0, pytest.approx(1.0), 0.0)
    assert alpha == pytest.approx(exact.chain_alpha(depth), rel=1e-14)
    assert exact.chain_alpha(depth) == pytest.approx((depth - 1) / depth, rel=1e-15)


def test_gelu_largest_slope_matches_a_numerical_maximum():
    def negative_slope(z):
        return -(ndtr(z) + z * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))

    found = minimize_scalar(negative_slope, bounds=(0.0, 4.0), method="bounded",
                            options={"xatol": 1e-10})
    assert exact.gelu_max_slope() == pytest.approx(-found.fun, rel=1e-12)
    assert found.x == pytest.approx(math.sqrt(2.0), abs=1e-6)


def test_residual_linear_network_respects_its_sharpness_bound():
    """A linear network with residual blocks (no GELU): the rule's alpha bounds the
    exact second derivative for drawn orthogonal weights (inside the unit ball), unit-RMS
    inputs and directions normalized to modular norm 1."""
    n = 6
    block = sim.Compose(sim.Linear(n, n), sim.Linear(n, n))
    net = sim.Compose(sim.Linear(2, n), sim.Compose(sim.residual(block, 3),
                                                  sim.Linear(n, 4)))
    alpha = exact.sharpness(net)[2]
    rng = np.random.default_rng(5)
    for seed in range(10):
        W = sim.orthogonal_init(net, seed)
        x = rng.standard_normal(4)
        x *= 2.0 / np.linalg.norm(x)
        d, _ = net.normalize([rng.standard_normal(w.shape) for w in W])
        _, _, d2 = net.jet(W, x, d)
        assert sim.rms(d2) <= alpha + 1e-12


def test_sharpness_refuses_gelu_and_relu():
    with pytest.raises(ValueError, match="module"):
        exact.sharpness(sim.residual_mlp(3, 4, 2, 2))


def test_chain_alpha_rejects_bad_depth():
    with pytest.raises(ValueError, match="depth"):
        exact.chain_alpha(0)
