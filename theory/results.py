"""The result every solver returns: a sampled trajectory and how the run ended."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

# Integer status codes returned by the jitted kernels (numba cannot return enums).
CODE_CONVERGED = 0
CODE_MAX_STEPS = 1
CODE_DIVERGED = 2
CODE_BUDGET = 3


class Status(enum.Enum):
    """How a run ended."""

    CONVERGED = "converged"
    """The vector field fell below the requested tolerance: a fixed point was reached."""
    MAX_STEPS = "max_steps"
    """The last requested time was reached without meeting the tolerance."""
    DIVERGED = "diverged"
    """The state became non-finite or left the bound; ``diverged_at`` holds the step."""
    STEP_BUDGET = "step_budget"
    """An adaptive run used its step budget before the last requested time; only the
    samples reached are kept."""

    @classmethod
    def from_code(cls, code: int) -> "Status":
        return {CODE_CONVERGED: cls.CONVERGED, CODE_MAX_STEPS: cls.MAX_STEPS,
                CODE_DIVERGED: cls.DIVERGED, CODE_BUDGET: cls.STEP_BUDGET}[int(code)]


class DivergenceError(RuntimeError):
    """Raised by :meth:`Trajectory.raise_if_diverged`."""


@dataclass(frozen=True)
class Trajectory:
    """A trajectory sampled at the requested times.

    Attributes
    ----------
    times : ndarray, shape (n,)
        Sample times (step indices for discrete algorithms). If the run diverged,
        only the samples before the divergence are kept: no NaN is ever returned.
    states : ndarray, shape (n, dim)
        The state at each sample time. After convergence the remaining samples hold
        the converged state (the vector field is below ``tol`` there).
    status : Status
    steps : int
        Number of integrator steps taken.
    diverged_at : int or None
        Index of the step at which the state became non-finite or left the bound.
    """

    times: np.ndarray
    states: np.ndarray
    status: Status
    steps: int
    diverged_at: int | None = None

    @property
    def final(self) -> np.ndarray:
        """The last valid state."""
        return self.states[-1]

    def raise_if_diverged(self) -> "Trajectory":
        """Return ``self``, or raise :class:`DivergenceError` naming the step."""
        if self.status is Status.DIVERGED:
            raise DivergenceError(f"run diverged at step {self.diverged_at} "
                                  f"(last finite sample at t={self.times[-1]:g})")
        return self
