"""Functions and solvers of theory.flat_minima against independent computations: central
differences of the objective and the gradient, the Fisher matrix formed from explicit
Jacobians, numpy eigvalsh; the jitted field against its twin; divergence; bad input."""
import numpy as np
import pytest

from theory import flat_minima as fm
from theory.results import Status


def _models():
    return {"linear": fm.instance("linear", 3, n_samples=30),
            "mlp": fm.instance("mlp", 4, n_samples=30)}


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_gradient_and_hessian_against_central_differences(kind):
    model = _models()[kind]
    theta = fm.initial_weights(model, 1.0, 1)
    ball = fm.ball_neighbours(model, 0.5, 3, 2)
    eps = 1e-6  # truncation eps^2 |third derivatives| ~ 1e-12, rounding 1e-16 / eps
    f = lambda t: fm.objective(model, t, alpha=1.3, neighbours=ball, beta=0.02)
    fd = [(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(model.size)]
    np.testing.assert_allclose(fm.gradient(model, theta, beta=0.02, alpha=1.3,
                                           deltas=ball.deltas), fd, atol=1e-8)
    v = np.random.default_rng(0).standard_normal(model.size)
    fd_hv = (fm.gradient(model, theta + eps * v) - fm.gradient(model, theta - eps * v)) / (2 * eps)
    np.testing.assert_allclose(fm.hessian_vector_product(model, theta, v), fd_hv, atol=1e-7)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_logit_derivatives_against_central_differences_of_the_logits(kind):
    """a, b, c (first to third directional derivatives of the logits) against central
    differences of the logits z(theta + h v) written out here from docs/flat_minima.md
    §10a.1."""
    model = _models()[kind]
    theta = fm.initial_weights(model, 1.0, 1)
    v = np.random.default_rng(2).standard_normal(model.size)
    v /= np.linalg.norm(v)
    d, hidden, k = (int(model.dims[i]) for i in (fm.N_IN, fm.HIDDEN, fm.N_CLASSES))

    def z(h):
        w = theta + h * v
        if kind == "linear":
            return w.reshape(k, d) @ model.X
        return w[hidden * d:].reshape(k, hidden) @ np.tanh(w[:hidden * d].reshape(hidden, d)
                                                          @ model.X)

    a, b = fm.logit_derivatives(model, theta, v)
    c = fm.logit_third_derivative(model, theta, v)
    h = 1e-3  # truncation h^2 |z^(5)| / 4 ~ 1e-6, rounding 1e-16 / h^3 ~ 1e-7
    scale = max(1.0, np.abs(c).max())
    np.testing.assert_allclose((z(h) - z(-h)) / (2 * h), a, atol=1e-6 * max(1.0, np.abs(a).max()))
    np.testing.assert_allclose((z(h) - 2 * z(0.0) + z(-h)) / h ** 2, b, atol=1e-5 * scale)
    third = (z(2 * h) - 2 * z(h) + 2 * z(-h) - z(-2 * h)) / (2 * h ** 3)
    np.testing.assert_allclose(third, c, atol=1e-5 * scale)
    if kind == "linear":
        assert not b.any() and not c.any()


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_fisher_is_the_jacobian_sandwich(kind):
    """F = (1/P) sum J_mu^T (diag p - p p^T) J_mu with J by central differences of the
    logits (log-probabilities plus their log-sum-exp, written here)."""
    model = _models()[kind]
    theta = fm.initial_weights(model, 1.0, 5)
    eps = 1e-6

    def logits(t):
        logp = np.log(fm.probabilities(model, t))
        return logp - logp[:1]  # softmax ignores shifts: compare J after fixing class 0

    J = np.stack([(logits(theta + eps * e) - logits(theta - eps * e)) / (2 * eps)
                  for e in np.eye(model.size)], axis=-1)  # K x P x p
    p = fm.probabilities(model, theta)
    F = np.zeros((model.size, model.size))
    for mu in range(model.n_samples):
        M = np.diag(p[:, mu]) - np.outer(p[:, mu], p[:, mu])
        F += J[:, mu].T @ M @ J[:, mu]
    np.testing.assert_allclose(fm.fisher(model, theta), F / model.n_samples, atol=1e-8)


def test_power_probe_finds_the_top_eigenvalue():
    model = _models()["linear"]
    theta = fm.initial_weights(model, 1.0, 2)
    v, rayleigh = fm.power_probe(model, theta, 400, 3)
    lam = np.linalg.eigvalsh(fm.fisher(model, theta))
    assert rayleigh == pytest.approx(lam[-1], rel=1e-9)
    assert np.linalg.norm(v) == pytest.approx(1.0)


def test_adversarial_probe_converges_to_the_top_fisher_direction_at_the_end():
    model = _models()["linear"]
    theta0 = fm.initial_weights(model, 0.1, 2)
    run = fm.adversarial_descent(model, theta0, lr=0.5, alpha=2.0, radius=0.3, beta=1e-2,
                                 steps=[3000])
    F = fm.fisher(model, run.theta[-1])
    lam, Q = np.linalg.eigh(F)
    assert abs(run.probe[-1] @ Q[:, -1]) > 1 - 1e-8
    assert run.theta.shape == (2, model.size) and run.probe.shape == (2, model.size)


def test_kl_to_itself_is_zero_and_penalty_is_the_mean():
    model = _models()["mlp"]
    theta = fm.initial_weights(model, 1.0, 6)
    assert fm.kl_divergences(model, theta, np.zeros(model.size))[0] == 0.0
    gauss = fm.gaussian_neighbours(model, 0.3, 4, 7)
    assert fm.penalty(model, theta, gauss) == pytest.approx(
        fm.kl_divergences(model, theta, gauss.deltas).mean(), rel=1e-15)


def test_ball_neighbours_lie_in_the_ball_and_gaussian_ones_have_scale_sigma():
    model = _models()["linear"]
    ball = fm.ball_neighbours(model, 0.7, 500, 1)
    assert np.all(np.linalg.norm(ball.deltas, axis=1) <= 0.7)
    gauss = fm.gaussian_neighbours(model, 0.3, 500, 1)
    assert gauss.deltas.std() == pytest.approx(0.3, rel=0.03)  # 7500 draws: std error 0.8 %


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_jitted_and_numpy_backends_agree(kind):
    model = _models()[kind]
    theta0 = fm.initial_weights(model, 1.0, 8)
    ball = fm.ball_neighbours(model, 0.3, 2, 9)
    for solver, kwargs in (("nrs_descent", {"lr": 0.3, "alpha": 1.5, "neighbours": ball,
                                            "steps": [3, 30]}),
                           ("adversarial_descent", {"lr": 0.3, "alpha": 1.5, "radius": 0.2,
                                                    "steps": [3, 30]})):
        fast = fm.SOLVERS[solver](model, theta0, **kwargs)
        slow = fm.SOLVERS[solver](model, theta0, backend="numpy", **kwargs)
        np.testing.assert_allclose(fast.states, slow.states, rtol=1e-12, atol=1e-14)


def test_divergence_is_reported_with_its_step():
    """lr beta = 3 > 2: the L2 term multiplies theta by 1 - lr beta = -2 per step (the
    cross-entropy's gradient is bounded), so |theta| passes 1e100 after about 330 steps."""
    model = _models()["linear"]
    theta0 = fm.initial_weights(model, 1.0, 1)
    run = fm.gradient_descent(model, theta0, lr=3.0, beta=1.0, steps=[2000])
    assert run.status is Status.DIVERGED and 300 < run.diverged_at < 360
    assert np.all(np.isfinite(run.states))
    with pytest.raises(RuntimeError, match="diverged at step"):
        run.raise_if_diverged()


BAD = [
    (lambda m, t, n: fm.nrs_descent(m, t, lr=0.1, alpha=-1.0, neighbours=n, steps=[3]), "alpha"),
    (lambda m, t, n: fm.nrs_flow(m, t, alpha=np.nan, neighbours=n, times=[1.0]), "alpha"),
    (lambda m, t, n: fm.adversarial_descent(m, t, lr=0.1, alpha=-0.5, radius=0.1, steps=[3]),
     "alpha"),
    (lambda m, t, n: fm.adversarial_descent(m, t, lr=0.1, alpha=1.0, radius=0.0, steps=[3]),
     "radius"),
    (lambda m, t, n: fm.adversarial_descent(m, t, lr=0.1, alpha=1.0, radius=-1.0, steps=[3]),
     "radius"),
    (lambda m, t, n: fm.ball_neighbours(m, 0.0, 3, 0), "radius"),
    (lambda m, t, n: fm.gaussian_neighbours(m, -0.1, 3, 0), "sigma"),
    (lambda m, t, n: fm.gaussian_neighbours(m, np.inf, 3, 0), "sigma"),
    (lambda m, t, n: fm.gaussian_neighbours(m, 0.1, 0, 0), "samples"),
    (lambda m, t, n: fm.gradient_descent(m, t, lr=0.0, steps=[3]), "lr"),
    (lambda m, t, n: fm.gradient_descent(m, t, lr=0.1, beta=-1e-3, steps=[3]), "beta"),
    (lambda m, t, n: fm.nrs_flow(m, t, alpha=1.0, neighbours=n, eta=0.0, times=[1.0]), "eta"),
    (lambda m, t, n: fm.gradient_descent(m, t[:-1], lr=0.1, steps=[3]), "theta0"),
    (lambda m, t, n: fm.gradient_descent(m, np.full_like(t, np.nan), lr=0.1, steps=[3]),
     "theta0"),
    (lambda m, t, n: fm.gradient_descent("model", t, lr=0.1, steps=[3]), "model"),
    (lambda m, t, n: fm.nrs_descent(m, t, lr=0.1, alpha=1.0, neighbours=n.deltas, steps=[3]),
     "neighbours"),
    (lambda m, t, n: fm.nrs_descent(m, t, lr=0.1, alpha=1.0,
                                    neighbours=fm.Neighbourhood("ball", 1.0, np.ones((2, 3))),
                                    steps=[3]), "neighbours"),
    (lambda m, t, n: fm.kl_divergences(m, t, np.ones((2, m.size + 1))), "deltas"),
    (lambda m, t, n: fm.fisher_vector_product(m, t, np.ones(m.size - 1)), "v"),
    (lambda m, t, n: fm.logit_third_derivative(m, t, np.full(m.size, np.nan)), "v"),
    (lambda m, t, n: fm.logit_third_derivative(m, t[:-1], np.ones(m.size)), "theta"),
]


@pytest.mark.parametrize("call,name", BAD, ids=[f"{i}-{n}" for i, (_, n) in enumerate(BAD)])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    model = _models()["mlp"]
    theta0 = fm.initial_weights(model, 1.0, 0)
    neighbours = fm.gaussian_neighbours(model, 0.2, 2, 0)
    with pytest.raises(ValueError, match=name):
        call(model, theta0, neighbours)


def test_bad_data_raise_value_error_naming_the_argument():
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match="y"):
        fm.softmax_regression(X, [0, 1, 2, 3], 3)  # label out of range
    with pytest.raises(ValueError, match="y"):
        fm.softmax_regression(X, [0, 1, 0.5, 1], 2)  # not an integer
    with pytest.raises(ValueError, match="y"):
        fm.softmax_regression(X, [0, 1, 1], 2)  # wrong length
    with pytest.raises(ValueError, match="X"):
        fm.softmax_regression(np.full((4, 2), np.nan), [0, 1, 0, 1], 2)
    with pytest.raises(ValueError, match="X"):
        fm.softmax_mlp(np.ones(4), [0, 1, 0, 1], 2, 3)
    with pytest.raises(ValueError, match="n_classes"):
        fm.softmax_regression(X, [0, 0, 0, 0], 1)
    with pytest.raises(ValueError, match="hidden"):
        fm.softmax_mlp(X, [0, 1, 0, 1], 2, 0)
    with pytest.raises(ValueError, match="kind"):
        fm.instance("relu", 0)
