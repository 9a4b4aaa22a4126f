"""Array arguments of any shape (NumPy's convention: the result has the argument's shape,
a scalar gives a scalar)."""
from __future__ import annotations

import numpy as np


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


def shaped(values: np.ndarray, shape: tuple[int, ...]):
    """``values`` (computed on the flattened argument) in ``shape``; a numpy scalar for
    shape ()."""
    out = np.asarray(values).reshape(shape + np.shape(values)[1:])
    return out[()] if out.ndim == 0 else out
