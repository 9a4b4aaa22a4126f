"""Weight matrices of a layered network stored as one flat state, shared by the settings
whose state is a list [W_1, ..., W_L] (W_l of shape n_l x n_{l-1}, widths (n_0, ..., n_L))."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import validation
from theory.results import Trajectory


def layer_offsets(widths) -> np.ndarray:
    """Start of each W_l in the flat state; the last entry is the end."""
    widths = np.asarray(widths, dtype=np.int64)
    return np.concatenate(([0], np.cumsum(widths[1:] * widths[:-1]))).astype(np.int64)


def unpack(state: np.ndarray, widths) -> list[np.ndarray]:
    """The weight matrices [W_1, ..., W_L] (views) of a flat state."""
    widths = np.asarray(widths, dtype=np.int64)
    offsets = layer_offsets(widths)
    return [state[offsets[l]:offsets[l + 1]].reshape(widths[l + 1], widths[l])
            for l in range(widths.size - 1)]


def pack(weights) -> np.ndarray:
    """Flat state of [W_1, ..., W_L] (their shapes must chain: W_l is n_l x n_{l-1})."""
    for l in range(1, len(weights)):
        if np.shape(weights[l])[1] != np.shape(weights[l - 1])[0]:
            raise ValueError(f"weights: W_{l + 1} has {np.shape(weights[l])[1]} columns but "
                             f"W_{l} has {np.shape(weights[l - 1])[0]} rows")
    return np.ascontiguousarray(np.concatenate([np.ravel(w) for w in weights]), dtype=np.float64)


def network_widths(weights, name: str = "weights") -> np.ndarray:
    """(N_i, n_1, ..., N_o) of a list of at least two finite matrices whose shapes chain."""
    if isinstance(weights, np.ndarray) or len(weights) < 2:
        raise ValueError(f"{name} must be a list of at least two matrices [W_1, ..., W_L] "
                         f"(at least one hidden layer)")
    mats = [validation.finite_matrix(f"{name}[{i}]", w) for i, w in enumerate(weights)]
    for l in range(1, len(mats)):
        if mats[l].shape[1] != mats[l - 1].shape[0]:
            raise ValueError(f"{name}: W_{l + 1} has {mats[l].shape[1]} columns but W_{l} has "
                             f"{mats[l - 1].shape[0]} rows")
    return np.array([mats[0].shape[1]] + [w.shape[0] for w in mats], dtype=np.int64)


def gaussian_weights(widths: np.ndarray, sigma0: float, seed: int) -> list[np.ndarray]:
    """W_l with iid N(0, sigma0^2 / n_{l-1}) entries, from ``default_rng(seed)`` (the
    arguments already validated by the setting)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((widths[l + 1], widths[l])) * sigma0 / np.sqrt(widths[l])
            for l in range(widths.size - 1)]


@dataclass(frozen=True)
class LayeredTrajectory(Trajectory):
    """A :class:`~theory.results.Trajectory` whose states start with the flat weights;
    ``widths`` = (n_0, ..., n_L)."""

    widths: tuple = ()

    @property
    def weights(self) -> tuple[np.ndarray, ...]:
        """(W_1(t), ..., W_L(t)): layer l at every sample, shape (n, n_l, n_{l-1})."""
        widths = np.asarray(self.widths)
        offsets = layer_offsets(widths)
        return tuple(self.states[:, offsets[l]:offsets[l + 1]].reshape(
            -1, widths[l + 1], widths[l]) for l in range(widths.size - 1))

    def weights_at(self, index: int = -1) -> list[np.ndarray]:
        """[W_1, ..., W_L] at sample ``index`` (the last by default)."""
        return unpack(self.states[index], self.widths)

    def multiplier_block(self) -> np.ndarray:
        """The states after the weights (the multipliers of a Minnorm run), shape (n, m).

        Raises
        ------
        ValueError
            If the run has no multipliers.
        """
        n_weights = int(layer_offsets(self.widths)[-1])
        if self.states.shape[1] == n_weights:
            raise ValueError("this trajectory has no multipliers (not a Minnorm run)")
        return self.states[:, n_weights:]
