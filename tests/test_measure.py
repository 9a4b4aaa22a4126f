"""Shared trajectory measurements."""
import numpy as np
import pytest

from theory.measure import first_crossing_time, time_to_accuracy


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
