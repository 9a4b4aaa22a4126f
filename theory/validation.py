"""Input checks shared by every setting: each raises ``ValueError`` naming the argument."""
from __future__ import annotations

import numpy as np


def finite_scalar(name: str, value: float) -> float:
    """``value`` as a float, or ValueError if it is not a finite real number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def positive_scalar(name: str, value: float) -> float:
    """A finite float > 0."""
    x = finite_scalar(name, value)
    if x <= 0.0:
        raise ValueError(f"{name} must be positive, got {x}")
    return x


def nonnegative_scalar(name: str, value: float) -> float:
    """A finite float >= 0."""
    x = finite_scalar(name, value)
    if x < 0.0:
        raise ValueError(f"{name} must be non-negative, got {x}")
    return x


def count(name: str, value: int, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (sizes, seeds); integral floats such as 3.0 are accepted."""
    try:
        integral = float(value).is_integer()
    except (TypeError, ValueError):
        integral = False
    if isinstance(value, (bool, np.bool_, str)) or not integral or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def depth(value: int) -> int:
    """A network depth: an integer >= 1."""
    return count("depth", value)


def finite_vector(name: str, value, size: int | None = None, min_size: int = 1) -> np.ndarray:
    """A finite 1-D float64 C-contiguous copy of ``value``, optionally of a given size."""
    try:
        x = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r}") from None
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if size is not None and x.size != size:
        raise ValueError(f"{name} must have {size} entries, got {x.size}")
    if x.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {x}")
    return np.ascontiguousarray(x)


def sample_times(name: str, value) -> np.ndarray:
    """Finite, non-negative, non-decreasing sample times of a flow, with a positive horizon."""
    t = finite_vector(name, np.atleast_1d(value))
    if np.any(t < 0.0):
        raise ValueError(f"{name} must be non-negative")
    if np.any(np.diff(t) < 0.0):
        raise ValueError(f"{name} must be non-decreasing")
    if t[-1] <= 0.0:
        raise ValueError(f"{name}: the horizon (last time) must be positive, got {t[-1]}")
    return t


def sample_steps(name: str, value) -> np.ndarray:
    """Non-negative, non-decreasing integer step indices with a positive horizon."""
    try:
        as_float = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be integer step indices, got {value!r}") from None
    if as_float.ndim != 1 or as_float.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of step indices")
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
        raise ValueError(f"{name} must hold finite integers")
    steps = as_float.astype(np.int64)
    if np.any(steps < 0) or np.any(np.diff(steps) < 0):
        raise ValueError(f"{name} must be non-negative and non-decreasing")
    if steps[-1] <= 0:
        raise ValueError(f"{name}: the horizon (last step) must be positive, got {steps[-1]}")
    return np.ascontiguousarray(steps)


def finite_matrix(name: str, value) -> np.ndarray:
    """A finite 2-D float64 C-contiguous copy of ``value`` with at least one row and column."""
    try:
        x = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a matrix of real numbers") from None
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return np.ascontiguousarray(x)


def square_matrix(name: str, value, min_size: int = 1) -> np.ndarray:
    """:func:`finite_matrix` with as many rows as columns, at least ``min_size`` of each."""
    x = finite_matrix(name, value)
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"{name} must be square, got shape {x.shape}")
    if x.shape[0] < min_size:
        raise ValueError(f"{name} must be at least {min_size} x {min_size}, got shape {x.shape}")
    return x


def labels(name: str, value, size: int) -> np.ndarray:
    """Binary labels: a 1-D array of ``size`` entries, each -1 or +1, as float64."""
    y = finite_vector(name, value, size=size)
    if not np.all(np.abs(y) == 1.0):
        raise ValueError(f"{name} must hold only -1 and +1, got values {np.unique(y)}")
    return y


def class_labels(name: str, value, size: int, n_classes: int) -> np.ndarray:
    """Integer labels 0..n_classes-1, ``size`` of them, as int64."""
    y = finite_vector(name, value)
    if y.size != size:
        raise ValueError(f"{name} must have one label per row of X ({size}), got {y.size}")
    if np.any(y != np.round(y)) or np.any(y < 0) or np.any(y >= n_classes):
        raise ValueError(f"{name} must hold integer class labels in 0..{n_classes - 1} (the "
                         f"network has {n_classes} outputs), got values {np.unique(y)}")
    return y.astype(np.int64)


def paired_samples(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Validated (X, Y): finite matrices with the same number of rows (samples are rows, as
    everywhere in the package)."""
    X = finite_matrix("X", X)
    Y = finite_matrix("Y", Y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must have the same number of rows (samples), got "
                         f"{X.shape[0]} and {Y.shape[0]}")
    return X, Y


def finite_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array of its own shape (0-d for a scalar), or ValueError
    naming ``name`` if it is not real or not finite."""
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r}") from None
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def nonnegative_array(name: str, value) -> np.ndarray:
    """:func:`finite_array` with every entry >= 0."""
    x = finite_array(name, value)
    if np.any(x < 0.0):
        raise ValueError(f"{name} must be non-negative, got {x.min()}")
    return x


def signed_data(X, y) -> np.ndarray:
    """Z with rows z_mu = y_mu x_mu of a finite matrix ``X`` (samples as rows) and labels
    ``y`` in {-1, +1}, after checking both."""
    X = finite_matrix("X", X)
    y = labels("y", y, X.shape[0])
    return np.ascontiguousarray(y[:, None] * X)
