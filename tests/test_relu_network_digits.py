"""The digits protocol of theory.relu_network: model selection, flipped labels, the
per-example losses and the norm at unit margin, each against an independent computation."""
import numpy as np
import pytest

from theory import relu_network as sim

TINY = sim.DigitsProtocol(hidden=8, steps=60, sample_every=5, betas=(1e-1, 1e-3))
"""A protocol small enough for a test: the selection logic is the same at any size."""


@pytest.fixture(scope="module")
def split():
    return sim.digits_split(60, seed=2)


@pytest.fixture(scope="module")
def weights0():
    return sim.gaussian_init(TINY.widths(), np.sqrt(2.0), seed=3)


def test_early_stopping_keeps_the_first_sample_of_best_validation_accuracy(split, weights0):
    traj, kept = sim.early_stopped_descent(split, weights0, TINY)
    np.testing.assert_array_equal(traj.times, np.r_[0, TINY.sampled_steps])  # with the start
    plain = sim.gradient_descent(split.X_train, split.y_train, weights0, lr=TINY.lr,
                                 steps=TINY.sampled_steps)
    scores = [np.mean(np.argmax(sim.outputs(split.X_val, plain.weights_at(i)), axis=1)
                      == split.y_val) for i in range(len(plain.times))]
    assert kept == next(i for i, s in enumerate(scores) if s == max(scores))


def test_l2_selection_keeps_the_beta_of_best_final_validation_accuracy(split, weights0):
    traj, beta = sim.selected_l2_descent(split, weights0, TINY)
    scores = {b: sim.accuracy(split.X_val, split.y_val, sim.l2_descent(
        split.X_train, split.y_train, weights0, beta=b, lr=TINY.lr,
        steps=[TINY.steps]).weights_at(-1)) for b in TINY.betas}
    best = max(scores.values())
    assert beta == min(b for b, s in scores.items() if s == best)
    assert traj.times[-1] == TINY.steps


def test_minnorm_of_the_protocol_scales_its_multiplier_rate_with_p(split, weights0):
    traj = sim.protocol_minnorm(split, weights0, TINY)
    direct = sim.minnorm_descent(split.X_train, split.y_train, weights0, c=TINY.minnorm_c,
                                 lr_w=TINY.minnorm_lr_w,
                                 lr_lambda=TINY.minnorm_lr_lambda_sum / 60,
                                 steps=TINY.sampled_steps)
    np.testing.assert_array_equal(traj.states, direct.states)


def test_train_on_digits_accepts_replacement_labels(split, weights0):
    labels, flipped = sim.flip_labels(split.y_train, 0.1, 10, seed=4)
    runs = sim.train_on_digits(split, weights0, TINY, labels)
    np.testing.assert_array_equal(runs.y_train, labels)
    assert set(runs.test_accuracies()) == {"gradient descent", "L2", "Minnorm"}
    assert runs.minnorm.multipliers.shape[1:] == (60, 10)
    with pytest.raises(ValueError, match="y_train"):
        sim.train_on_digits(split, weights0, TINY, labels[:-1])


def test_flip_labels_moves_exactly_the_chosen_labels_to_other_classes():
    y = np.arange(200) % 10
    labels, flipped = sim.flip_labels(y, 0.05, 10, seed=7)
    assert flipped.sum() == 10
    assert np.all(labels[flipped] != y[flipped]) and np.all(labels[~flipped] == y[~flipped])
    assert np.all((labels >= 0) & (labels < 10))
    again = sim.flip_labels(y, 0.05, 10, seed=7)
    np.testing.assert_array_equal(again[0], labels)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, np.nan])
def test_flip_labels_rejects_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        sim.flip_labels(np.arange(20) % 10, fraction, 10, seed=1)


def test_example_losses_average_to_the_loss():
    X, y = sim.small_classification(15, 6, 4, seed=3)
    weights = sim.gaussian_init([6, 7, 4], np.sqrt(2.0), seed=4)
    losses = sim.example_losses(X, y, weights)
    F = sim.outputs(X, weights)
    direct = np.log(np.sum(np.exp(F), axis=1)) - F[np.arange(15), y]
    np.testing.assert_allclose(losses, direct, rtol=1e-13)
    assert np.mean(losses) == pytest.approx(sim.loss(X, y, weights), rel=1e-13)


def test_norm_at_unit_margin_is_the_norm_of_the_network_scaled_to_margin_one():
    X, y = sim.small_classification(12, 5, 3, seed=1)
    weights = sim.gaussian_init([5, 40, 3], np.sqrt(2.0), seed=2)
    traj = sim.gradient_descent(X, y, weights, lr=0.5, steps=[3000])
    fitted = traj.weights_at(-1)
    smallest = sim.margins(X, y, fitted).min()
    assert smallest > 0
    scale = smallest ** (-1.0 / len(fitted))  # every layer by a: margins scale by a^L
    scaled = [scale * W for W in fitted]
    assert sim.margins(X, y, scaled).min() == pytest.approx(1.0, rel=1e-12)
    value = sim.norm_at_unit_margin(X, y, fitted)
    assert value == pytest.approx(sim.squared_norm(scaled), rel=1e-12)
    assert sim.norm_at_unit_margin(X, y, [3.0 * W for W in fitted]) == pytest.approx(value,
                                                                                    rel=1e-12)
    with pytest.raises(ValueError, match="weights"):
        sim.norm_at_unit_margin(X, (y + 1) % 3, fitted)


def test_split_keeps_the_raw_training_images():
    from sklearn.datasets import load_digits

    split = sim.digits_split(50, seed=5)
    digits = load_digits()
    rows = [int(np.flatnonzero(np.all(digits.images == image, axis=(1, 2)))[0])
            for image in split.images_train[:5]]
    np.testing.assert_array_equal(digits.target[rows], split.y_train[:5])
    assert split.images_train.shape == (50, 8, 8)
