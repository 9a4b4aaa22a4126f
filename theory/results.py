"""The result every solver returns: a sampled trajectory, how the run ended, and its cost."""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

# Integer status codes returned by the jitted loops (numba cannot return enums).
CODE_COMPLETED = 0
CODE_CONVERGED = 1
CODE_STEP_BUDGET = 2
CODE_DIVERGED = 3
CODE_PAUSED = 4
"""Not an ending: the loop returned after its share of steps so that the caller can take
Ctrl-C, and is called again (:mod:`theory.solve`)."""


class Status(enum.Enum):
    """How a run ended (the names follow SciPy's ``solve_ivp`` and diffrax)."""

    COMPLETED = "completed"
    """The last requested time (or step) was reached: normal completion."""
    CONVERGED = "converged"
    """The vector field fell to ``stop_tol`` or below: a fixed point was reached; the
    remaining samples hold the state at which the run stopped."""
    STEP_BUDGET = "step_budget"
    """``max_steps`` steps were attempted before the last requested time; only the samples
    reached are kept."""
    DIVERGED = "diverged"
    """The state became non-finite or left the bound; ``diverged_at`` holds the step."""

    @classmethod
    def from_code(cls, code: int) -> "Status":
        return _BY_CODE[int(code)]

    @property
    def success(self) -> bool:
        """True for the two normal endings (completed, converged)."""
        return self in (Status.COMPLETED, Status.CONVERGED)


_BY_CODE = {CODE_COMPLETED: Status.COMPLETED, CODE_CONVERGED: Status.CONVERGED,
            CODE_STEP_BUDGET: Status.STEP_BUDGET, CODE_DIVERGED: Status.DIVERGED}


class DivergenceError(RuntimeError):
    """Raised by :meth:`Trajectory.raise_if_diverged`."""


@dataclass(frozen=True)
class Stats:
    """What a run cost.

    Attributes
    ----------
    accepted : int
        Steps taken (for discrete algorithms: iterations).
    rejected : int
        Adaptive steps rejected by the error control (0 for fixed steps).
    evaluations : int
        Vector-field evaluations.
    """

    accepted: int
    rejected: int
    evaluations: int


@dataclass(frozen=True)
class Trajectory:
    """A trajectory sampled at the requested times.

    Attributes
    ----------
    times : ndarray, shape (n,)
        Sample times (step indices for discrete algorithms), t = 0 first. If the run
        diverged or ran out of steps, only the samples reached are kept: no NaN is ever
        returned.
    states : ndarray, shape (n, dim)
        The state at each sample time.
    status : Status
    stats : Stats
    message : str
        How the run ended, in words.
    diverged_at : int or None
        The step at which the state became non-finite or left the bound.
    """

    times: np.ndarray
    states: np.ndarray
    status: Status
    stats: Stats
    message: str = ""
    diverged_at: int | None = None

    @property
    def steps(self) -> int:
        """Steps taken (``stats.accepted``)."""
        return self.stats.accepted

    @property
    def success(self) -> bool:
        """True if the run completed or converged."""
        return self.status.success

    @property
    def final(self) -> np.ndarray:
        """The last valid state."""
        return self.states[-1]

    def raise_if_diverged(self) -> "Trajectory":
        """Return ``self``, or raise :class:`DivergenceError` naming the step."""
        if self.status is Status.DIVERGED:
            raise DivergenceError(self.message)
        return self
