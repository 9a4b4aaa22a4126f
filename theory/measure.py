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


def _fit_inputs(name_x: str, x, name_y: str, y, positive: bool) -> tuple[np.ndarray, np.ndarray]:
    x = validation.finite_vector(name_x, x)
    y = validation.finite_vector(name_y, y)
    if x.shape != y.shape:
        raise ValueError(f"{name_x} and {name_y} must have the same shape, got {x.shape} and "
                         f"{y.shape}")
    if x.size < 2:
        raise ValueError(f"a fit needs at least 2 points, got {x.size}")
    if positive and np.any(y <= 0.0):
        raise ValueError(f"{name_y} must be positive for a logarithmic fit")
    return x, y


def log_slope(x, y) -> float:
    """Least-squares slope of log y against x: the exponential rate r of y ~ C e^(r x)
    (negative for a decay). ``np.polyfit`` of degree 1."""
    x, y = _fit_inputs("x", x, "y", y, positive=True)
    return float(np.polyfit(x, np.log(y), 1)[0])


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x: the exponent a of a power law y ~ C x^a."""
    x, y = _fit_inputs("x", x, "y", y, positive=True)
    if np.any(x <= 0.0):
        raise ValueError("x must be positive for a log-log fit")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def fitted_rate(times, distances, high: float, low: float, min_points: int = 10) -> float:
    """Decay rate of ``distances``: -:func:`log_slope` over the samples with
    low <= distance <= high (the window where a single exponential mode dominates: below
    ``high`` the transients have died, above ``low`` round-off has not set in).

    Raises
    ------
    ArithmeticError
        If fewer than ``min_points`` samples fall in the window.
    """
    times, distances = _fit_inputs("times", times, "distances", distances, positive=False)
    window = (distances <= high) & (distances >= low)
    if window.sum() < min_points:
        raise ArithmeticError(f"only {window.sum()} samples in the fit window [{low}, {high}]")
    return -log_slope(times[window], distances[window])


def fitted_step_spectrum(before, after, rank_tol: float = 1e-10) -> np.ndarray:
    """Eigenvalues of the linear one-step map M fitted to sampled pairs after_k = M before_k.

    With E0, E1 the matrices whose columns are the samples, M is fitted by least squares on
    the span of E0 (exact dynamic mode decomposition, Tu et al. 2014, J. Comput. Dyn. 1,
    391): E0 = U S V^T truncated to the singular values above ``rank_tol`` times the
    largest, and the eigenvalues are those of U^T E1 V S^-1. Unlike a fitted decay rate of
    |e_k|, this resolves every excited mode, complex pairs included (|e_k| of a complex
    pair oscillates with its phase), and needs no window where one mode dominates: on an
    exactly linear step every pair counts.

    Parameters
    ----------
    before, after : array_like of shape (samples, dim)
        Row k of ``after`` is one step of the map applied to row k of ``before``.
    rank_tol : float
        Relative singular-value cutoff; directions below it are unexcited or noise.

    Returns
    -------
    ndarray of complex, shape (rank,)
        The fitted eigenvalues, largest modulus first.
    """
    before = validation.finite_matrix("before", before)
    after = validation.finite_matrix("after", after)
    if before.shape != after.shape:
        raise ValueError(f"before and after must have the same shape, got {before.shape} "
                         f"and {after.shape}")
    rank_tol = validation.positive_scalar("rank_tol", rank_tol)
    U, singular, Vt = np.linalg.svd(before.T, full_matrices=False)
    if singular.size == 0 or singular[0] == 0.0:
        raise ValueError("before must have a nonzero sample")
    rank = int(np.count_nonzero(singular > rank_tol * singular[0]))
    reduced = U[:, :rank].T @ after.T @ Vt[:rank].T / singular[:rank]
    eigenvalues = np.linalg.eigvals(reduced)
    return eigenvalues[np.argsort(-np.abs(eigenvalues), kind="stable")]


def roc_auc(scores, positive) -> float:
    """Area under the ROC curve of ``scores`` as a detector of ``positive``: the
    probability that a positive example scores above a negative one, ties counting 1/2
    (the Mann-Whitney U statistic over n_pos n_neg, from average ranks)."""
    from scipy.stats import rankdata

    scores = validation.finite_vector("scores", scores)
    positive = np.asarray(positive, dtype=bool)
    if positive.shape != scores.shape:
        raise ValueError(f"positive must have the shape of scores {scores.shape}, got "
                         f"{positive.shape}")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("positive must mark at least one positive and one negative example")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
