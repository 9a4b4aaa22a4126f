"""The WeightNorm closed forms against independent computations: NumPy's eigenvalues of the
formed blocks and of grad^2 u (itself by finite differences), activation derivatives on a
grid, a rotation field integrated by solve_ivp, explicit descent steps, random directions
on the sphere; the derived expressions; bad input."""
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

from analytic import weightnorm_hessian as exact
from theory import weightnorm_hessian as wn


@pytest.mark.parametrize("activation", exact.SMOOTH)
@pytest.mark.parametrize("dim", [2, 3, 7])
def test_closed_form_block_norms_equal_numpy_eigenvalues(activation, dim):
    rng = np.random.default_rng(dim)
    W = rng.standard_normal((40, dim)) * np.exp(rng.uniform(-1, 1, (40, 1)))
    a = rng.standard_normal(40) * 3
    x = 2.0 * rng.standard_normal(dim)
    blocks = wn.hessian_blocks(W, a, x, activation=activation, backend="numpy")
    reference = np.abs(np.linalg.eigvalsh(blocks)).max(axis=1)
    np.testing.assert_allclose(exact.block_norms_closed_form(W, a, x, activation), reference,
                               rtol=1e-12)
    assert exact.hessian_norm_closed_form(W, a, x, activation) == pytest.approx(
        reference.max(), rel=1e-12)


def test_block_spectrum_lists_every_eigenvalue():
    """In R^5 the block has the complement eigenvalue d - 2 = 3 times, 0 and the pair."""
    rng = np.random.default_rng(1)
    W, a, x = rng.standard_normal((1, 5)), np.array([1.7]), rng.standard_normal(5)
    block = wn.hessian_blocks(W, a, x, activation="tanh", backend="numpy")[0]
    rho = np.linalg.norm(W[0])
    u = W[0] @ x / rho
    q = np.sqrt(x @ x - u * u)
    t = np.tanh(u)
    complement, pair = exact.block_spectrum(u, q, rho, a[0], 1 - t * t, -2 * t * (1 - t * t),
                                            1.0)
    expected = np.sort(np.concatenate(([complement] * 3, [0.0], pair)))
    np.testing.assert_allclose(np.linalg.eigvalsh(block), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("activation", exact.SMOOTH)
def test_activation_suprema_match_a_grid(activation):
    z = np.linspace(-30, 30, 600_001)
    _, phi1, phi2 = wn.activation_values(activation, z)
    s1, s2 = exact.activation_sups(activation)
    assert np.abs(phi1).max() == pytest.approx(s1, rel=1e-9)
    assert np.abs(phi2).max() == pytest.approx(s2, rel=1e-9)
    assert np.abs(phi2).max() <= s2 * (1 + 1e-15)


def test_u_hessian_supremum_against_finite_differences_and_a_scan():
    """|grad^2_w u| from central differences of the gradient of u, maximized over the
    angle between w and x, is 2|x|/(sqrt(3) rho^2), reached at u = |x|/sqrt(3)."""
    rho, r = 1.3, 0.7
    angles = np.linspace(0.0, np.pi, 721)
    norms = []
    for angle in angles:
        w = np.array([rho, 0.0, 0.0])
        x = r * np.array([np.cos(angle), np.sin(angle), 0.0])

        def grad_u(v):
            n = np.linalg.norm(v)
            return x / n - (v @ x) * v / n ** 3

        H = np.array([(grad_u(w + 1e-6 * e) - grad_u(w - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
        norms.append(np.abs(np.linalg.eigvalsh(0.5 * (H + H.T))).max())
    forms = exact.hessian_bound_expr()
    sup = float(forms["u_hessian_sup"].subs({exact.symbols()["r"]: r,
                                             exact.symbols()["rho"]: rho}))
    assert max(norms) == pytest.approx(sup, rel=1e-5)  # grid of 0.25 degrees
    assert max(norms) <= sup * (1 + 1e-8)
    best = angles[int(np.argmax(norms))]
    assert abs(r * np.cos(best)) == pytest.approx(r / np.sqrt(3), abs=5e-3)


@pytest.mark.parametrize("activation", exact.SMOOTH)
def test_bound_holds_and_each_block_stays_below_its_own_bound(activation):
    rng = np.random.default_rng(7)
    for _ in range(20):
        W = rng.standard_normal((30, 6)) * np.exp(rng.uniform(-2, 2, (30, 1)))
        a = rng.standard_normal(30) * np.exp(rng.uniform(-2, 2))
        x = rng.standard_normal(6) * np.exp(rng.uniform(-2, 2))
        norms = np.abs(np.linalg.eigvalsh(wn.hessian_blocks(W, a, x, activation=activation,
                                                            backend="numpy"))).max(axis=1)
        assert np.all(norms <= exact.block_bounds(W, a, x, activation) * (1 + 1e-12))


def test_sphere_supremum_bounds_random_directions_and_is_approached():
    """Many random unit directions at rho = 1.5, |x| = 0.8: the largest sqrt(m)|H_k| is
    below S and within 1e-3 of it (tanh: interior maximizer)."""
    rng = np.random.default_rng(3)
    m, dim = 20_000, 4
    G = rng.standard_normal((m, dim))
    W = 1.5 * G / np.linalg.norm(G, axis=1, keepdims=True)
    x = np.array([0.8, 0.0, 0.0, 0.0])
    scaled = np.sqrt(m) * wn.block_norms(W, np.ones(m), x, activation="tanh")
    S = exact.sphere_supremum("tanh", 0.8, 1.5, 1.0)
    assert scaled.max() <= S * (1 + 1e-12)
    assert scaled.max() >= S * (1 - 1e-3)


def test_homogeneity_factors():
    forms = exact.homogeneity_expr()
    c = exact.symbols()["c"]
    assert sp.simplify(forms["ww_factor"] - c ** -2) == 0
    assert sp.simplify(forms["wa_factor"] - 1 / c) == 0
    assert forms["aa"] == 0


def test_structured_hessian_is_sympys_and_u_gradient_is_orthogonal():
    forms = exact.neuron_hessian_expr()
    assert forms["difference"].is_zero_matrix
    assert forms["u_gradient_along_w"] == 0
    assert forms["direct"][3, 3] == 0


def test_descent_step_of_a_norm_matches_an_explicit_step():
    rng = np.random.default_rng(4)
    w = rng.standard_normal(6)
    G = rng.standard_normal(6)
    G -= (G @ w) / (w @ w) * w  # orthogonal to w, as grad_w L is
    for lr, decay in ((0.3, 0.0), (0.3, 0.2), (2.0, 0.05)):
        step = (1 - lr * decay) * w - lr * G
        assert exact.gd_norm_squared_next(w @ w, G @ G, lr, decay) == pytest.approx(
            step @ step, rel=1e-14)
    forms = exact.norm_dynamics_expr()
    sym = exact.symbols()
    threshold = forms["decrease_threshold"].subs({sym["lam"]: 0.2, sym["lr"]: 0.3,
                                                   sym["rho2"]: w @ w})
    g2 = float(threshold) * 0.999  # just below: the norm falls
    assert exact.gd_norm_squared_next(w @ w, g2, 0.3, 0.2) < w @ w


def test_flow_norm_matches_a_rotation_field_integrated_by_solve_ivp():
    """dw/dt = -eta (A w + lam w) with A skew (A w is orthogonal to w, as grad_w L is)."""
    rng = np.random.default_rng(5)
    B = rng.standard_normal((5, 5))
    A = B - B.T
    w0 = rng.standard_normal(5)
    eta, lam = 1.3, 0.2
    times = np.linspace(0.0, 4.0, 9)
    solution = solve_ivp(lambda t, w: -eta * (A @ w + lam * w), (0, 4.0), w0, t_eval=times,
                         rtol=1e-12, atol=1e-14, method="DOP853")
    np.testing.assert_allclose(np.linalg.norm(solution.y, axis=0),
                               exact.flow_norm(np.linalg.norm(w0), eta, lam, times), rtol=1e-9)


@pytest.mark.parametrize("call,name", [
    (lambda: exact.activation_sups("relu"), "activation"),
    (lambda: exact.activation_sup_expr("relu"), "activation"),
    (lambda: exact.block_norms_closed_form(np.ones((2, 3)), np.ones(2), np.ones(3), "relu"),
     "activation"),
    (lambda: exact.block_norms_closed_form(np.zeros((2, 3)), np.ones(2), np.ones(3)), "W"),
    (lambda: exact.block_norms_closed_form(np.ones((2, 3)), np.ones(3), np.ones(3)), "a"),
    (lambda: exact.block_norms_closed_form(np.ones((2, 3)), np.ones(2), np.ones(2)), "x"),
    (lambda: exact.gd_norm_squared_next(-1.0, 1.0, 0.1), "rho2"),
    (lambda: exact.gd_norm_squared_next(1.0, np.nan, 0.1), "grad2"),
    (lambda: exact.gd_norm_squared_next(1.0, 1.0, 0.0), "lr"),
    (lambda: exact.flow_norm(1.0, 1.0, -0.1, 1.0), "weight_decay"),
    (lambda: exact.sphere_supremum("tanh", x_norm=0.0), "x_norm"),
])
def test_bad_input_raises_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
