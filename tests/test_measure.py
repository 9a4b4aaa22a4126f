"""Shared trajectory measurements."""
import numpy as np
import pytest

from theory.measure import first_crossing_time, time_to_accuracy, fitted_rate, log_slope, loglog_slope


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
