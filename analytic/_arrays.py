"""Results of array arguments of any shape (NumPy's convention: the result has the
argument's shape, a scalar gives a scalar); the arguments are checked by
:func:`theory.validation.finite_array`."""
from __future__ import annotations

import numpy as np


def shaped(values: np.ndarray, shape: tuple[int, ...]):
    """``values`` (computed on the flattened argument) in ``shape``; a numpy scalar for
    shape ()."""
    out = np.asarray(values).reshape(shape + np.shape(values)[1:])
    return out[()] if out.ndim == 0 else out
