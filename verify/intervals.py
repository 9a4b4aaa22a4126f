"""Confidence intervals for claims that hold in expectation over drawn instances."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_DRAWS = 20
"""Fewest independent instances an in-expectation claim averages over."""


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` draws and its two-sided confidence interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    def as_measured(self, name: str) -> dict[str, float]:
        """``{name: mean, name 95% low: low, name 95% high: high}`` for an Evidence."""
        level = f"{100 * self.confidence:g}%"
        return {f"{name} mean": self.mean, f"{name} {level} low": self.low,
                f"{name} {level} high": self.high}


def t_interval(samples, confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean of independent draws.

    Parameters
    ----------
    samples : array_like
        At least :data:`MIN_DRAWS` finite values, one per independently drawn instance.
    confidence : float
        Two-sided coverage, in (0, 1).

    Raises
    ------
    ValueError
        With fewer than :data:`MIN_DRAWS` samples or a non-finite sample.
    """
    from scipy import stats

    x = np.asarray(samples, dtype=float).ravel()
    if x.size < MIN_DRAWS:
        raise ValueError(f"samples: an expectation needs at least {MIN_DRAWS} draws, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Interval(mean, mean - half, mean + half, int(x.size), confidence)

