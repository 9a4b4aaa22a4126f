"""Shared trajectory measurements."""
import numpy as np
import pytest

from theory.measure import (first_crossing_time, fitted_rate, fitted_step_spectrum, log_slope,
                            loglog_slope, time_to_accuracy)


def test_first_crossing_interpolates_between_samples():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([0.0, 0.2, 0.6, 1.0])
    assert first_crossing_time(times, values, 0.4) == pytest.approx(1.5)
    assert first_crossing_time(times, values, -1.0) == 0.0
    assert first_crossing_time(times, values, 2.0) == np.inf


def test_time_to_accuracy_is_the_last_exit_interpolated_in_log_distance():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    distances = np.array([1.0, 1e-3, 1e-1, 1e-5])  # dips below 1e-2 once, then leaves again
    assert time_to_accuracy(times, distances, 1e-2) == pytest.approx(2.25)
    assert time_to_accuracy(times, np.array([1.0, 1.0, 1.0, 1.0]), 0.5) == np.inf


@pytest.mark.parametrize("argument,call", [
    ("values", lambda: first_crossing_time([0.0, 1.0], [0.0, np.nan], 0.5)),
    ("same shape", lambda: first_crossing_time([0.0, 1.0], [0.0], 0.5)),
    ("level", lambda: first_crossing_time([0.0, 1.0], [0.0, 1.0], np.inf)),
    ("eps", lambda: time_to_accuracy([0.0, 1.0], [1.0, 0.1], 0.0)),
])
def test_bad_input(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


def test_log_slopes_recover_exact_rates_and_exponents():
    t = np.linspace(0.0, 5.0, 30)
    assert log_slope(t, 3.0 * np.exp(-0.7 * t)) == pytest.approx(-0.7, rel=1e-12)
    x = np.geomspace(0.1, 100.0, 20)
    assert loglog_slope(x, 2.0 * x ** -1.5) == pytest.approx(-1.5, rel=1e-12)


def test_fitted_rate_reads_only_its_window():
    """Two modes: e^-t dominates above 1e-3, then a floor of 1e-9 (round-off-like); the
    window [1e-8, 1e-1] holds only the single-mode part, so the rate is exactly 1."""
    t = np.linspace(0.0, 40.0, 4001)
    d = np.maximum(np.exp(-t), 1e-9) + 5.0 * (t < 0.5)
    assert fitted_rate(t, d, 1e-1, 1e-8) == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(ArithmeticError, match="window"):
        fitted_rate(t, d, 1e-12, 1e-13)


@pytest.mark.parametrize("call", [lambda: log_slope([0.0, 1.0], [1.0, -1.0]),
                                  lambda: log_slope([0.0], [1.0]),
                                  lambda: loglog_slope([0.0, 1.0], [1.0, 2.0]),
                                  lambda: log_slope([0.0, 1.0, 2.0], [1.0, 2.0]),
                                  lambda: fitted_rate([0.0, 1.0], [1.0, np.nan], 1.0, 0.1)])
def test_fits_reject_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_fitted_step_spectrum_recovers_the_excited_eigenvalues():
    """A 5-dimensional linear step with a complex pair, two real modes and one unexcited
    direction (the iterates stay in a 4-dimensional invariant subspace): the fit returns
    exactly the four excited eigenvalues, compared with numpy's eigvals of the true map."""
    rng = np.random.default_rng(0)
    block = np.zeros((5, 5))
    block[:2, :2] = 0.9 * np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    block[2, 2], block[3, 3], block[4, 4] = 0.95, -0.5, 0.7
    basis = rng.standard_normal((5, 5))
    step = basis @ block @ np.linalg.inv(basis)
    state = basis @ np.array([1.0, 0.0, 1e-3, 1.0, 0.0])  # the 0.7 mode not excited
    samples = [state]
    for _ in range(60):
        samples.append(step @ samples[-1])
    samples = np.array(samples)
    fitted = fitted_step_spectrum(samples[:-1], samples[1:])
    excited = np.linalg.eigvals(step)
    excited = excited[~np.isclose(excited, 0.7)]
    assert fitted.size == 4
    assert np.allclose(np.sort_complex(fitted), np.sort_complex(excited), rtol=0, atol=1e-9)
    assert abs(fitted[0]) == pytest.approx(0.95, rel=1e-9)  # largest modulus first


@pytest.mark.parametrize("argument,call", [
    ("same shape", lambda: fitted_step_spectrum(np.ones((3, 2)), np.ones((2, 2)))),
    ("after", lambda: fitted_step_spectrum(np.ones((3, 2)), np.full((3, 2), np.nan))),
    ("nonzero", lambda: fitted_step_spectrum(np.zeros((3, 2)), np.zeros((3, 2)))),
    ("rank_tol", lambda: fitted_step_spectrum(np.ones((3, 2)), np.ones((3, 2)), 0.0)),
])
def test_fitted_step_spectrum_rejects_bad_input(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


def test_roc_auc_is_the_fraction_of_correctly_ordered_pairs():
    from theory.measure import roc_auc

    rng = np.random.default_rng(2)
    scores = rng.integers(0, 6, 40).astype(float)  # many ties
    positive = rng.random(40) < 0.3
    pos, neg = scores[positive], scores[~positive]
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    assert roc_auc(scores, positive) == pytest.approx(pairs.mean(), rel=1e-14)
    assert roc_auc([3.0, 2.0, 1.0], [True, False, False]) == 1.0
    assert roc_auc([1.0, 2.0, 3.0], [True, False, False]) == 0.0
    with pytest.raises(ValueError, match="positive"):
        roc_auc([1.0, 2.0], [True, True])
    with pytest.raises(ValueError, match="scores"):
        roc_auc([1.0, np.nan], [True, False])
