"""Measurements on sampled trajectories shared by every setting."""
from __future__ import annotations

import numpy as np

from theory import validation


def time_to_accuracy(times: np.ndarray, distances: np.ndarray, eps: float) -> float:
    """T_eps: the time after which ``distances`` stays at or below ``eps``.

    The last sample above ``eps`` and the next one are interpolated linearly in
    log-distance. 0 if every sample is within ``eps``; inf if the last one is not.
    """
    eps = validation.positive_scalar("eps", eps)
    times = validation.finite_vector("times", times)
    distances = validation.finite_vector("distances", distances)
    if times.shape != distances.shape:
        raise ValueError(f"times and distances must have the same shape, got {times.shape} "
                         f"and {distances.shape}")
    above = np.flatnonzero(distances > eps)
    if above.size == 0:
        return 0.0
    i = above[-1]
    if i == distances.size - 1:
        return float(np.inf)
    d0, d1 = np.log(distances[i]), np.log(max(distances[i + 1], np.finfo(float).tiny))
    fraction = (d0 - np.log(eps)) / (d0 - d1)
    return float(times[i] + fraction * (times[i + 1] - times[i]))


def first_crossing_time(times, values, level: float) -> float:
    """The first time ``values`` reaches ``level`` from below, interpolated linearly between
    samples; inf if it never does, 0 if the first sample is already at or above it."""
    times = validation.finite_vector("times", times)
    values = validation.finite_vector("values", values)
    if times.shape != values.shape:
        raise ValueError(f"times and values must have the same shape, got {times.shape} and "
                         f"{values.shape}")
    level = validation.finite_scalar("level", level)
    above = np.flatnonzero(values >= level)
    if above.size == 0:
        return float(np.inf)
    i = int(above[0])
    if i == 0:
        return float(times[0])
    return float(np.interp(level, values[i - 1:i + 1], times[i - 1:i + 1]))
