"""Regime maps: where a claim holds and where it breaks, as a sweep over two parameters.

A :class:`Map` is declared by its setting in ``verify/<setting>_maps.py`` (``MAPS``, a list)
with everything that makes it: its grids (``coarse`` for the verification suite, seconds;
``fine`` for the command line), the point function that simulates one point and classifies
it into one of the map's measured ``regimes``, the theory's boundary, the claim that checks
the measured boundary against the theory's (listed in the setting's ``CLAIMS``), and the
name of its figure in ``figures.<setting>`` (the theory's boundary drawn over the measured
regimes). :func:`load_maps` collects them, by setting, in registry order; ``python -m
verify.sweep NAME`` computes one (:mod:`verify.sweep`).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

from theory import registry
from verify.claims import Claim
from verify.sweep import PointFunction, Scalar, Table, check_grid, sweep

GRID_SIZES = ("coarse", "fine")
REGIME = "regime"
"""The value every map's point function returns: the point's measured regime."""

Boundary = Callable[[Mapping[str, tuple]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Map:
    """A regime map (module docstring).

    Attributes
    ----------
    name : str
        Unique, ``<setting>_<what>``: the command line's NAME.
    setting : str
    title : str
        What is mapped, in words (axes -> regimes, against which theory).
    grids : mapping
        ``"coarse"`` and ``"fine"`` -> grid (:func:`verify.sweep.check_grid`), with the
        same parameter names; parameters other than ``axes`` have one value each.
    axes : (str, str)
        The parameters drawn along x and y.
    point : callable
        ``point(point, rng) -> values`` (module-level, picklable), with ``values["regime"]``
        one of ``regimes``.
    regimes : mapping
        Regime name -> how it is measured (the classification), in drawing order.
    boundary : callable
        ``boundary(grid) -> (x, y)``: the theory's boundary as a polyline in the axes'
        coordinates over the grid's range.
    boundary_label : str
        The boundary's formula, for the figure's legend.
    claim : Claim
        The claim that checks the measured boundary against ``boundary`` on the coarse grid.
    figure : str
        The map's figure name in ``figures.<setting>.figures()``.
    """

    name: str
    setting: str
    title: str
    grids: Mapping[str, Mapping[str, tuple]]
    axes: tuple[str, str]
    point: PointFunction
    regimes: Mapping[str, str]
    boundary: Boundary
    boundary_label: str
    claim: Claim
    figure: str

    def __post_init__(self) -> None:
        if set(self.grids) != set(GRID_SIZES):
            raise ValueError(f"map {self.name}: grids must be {GRID_SIZES}, got {list(self.grids)}")
        names = [list(check_grid(g)) for g in self.grids.values()]
        if any(n != names[0] for n in names):
            raise ValueError(f"map {self.name}: the grids' parameter names differ: {names}")
        for size, grid in self.grids.items():
            fixed = [p for p in grid if p not in self.axes and len(grid[p]) != 1]
            if fixed:
                raise ValueError(f"map {self.name}: {size} grid sweeps {fixed}, not an axis")
        if not set(self.axes) <= set(names[0]) or len(set(self.axes)) != 2:
            raise ValueError(f"map {self.name}: axes {self.axes} must be two of {names[0]}")
        if not self.regimes:
            raise ValueError(f"map {self.name}: regimes must not be empty")
        if self.claim.setting != self.setting:
            raise ValueError(f"map {self.name}: claim {self.claim.id} is not of {self.setting}")

    @property
    def parameters(self) -> list[str]:
        """The grid's parameter names, in product order."""
        return list(self.grids["coarse"])

    def grid(self, size: str) -> dict[str, tuple]:
        """The ``coarse`` or ``fine`` grid."""
        if size not in GRID_SIZES:
            raise ValueError(f"grid_size must be one of {GRID_SIZES}, got {size!r}")
        return check_grid(self.grids[size])

    def check_grid(self, grid: Mapping[str, Iterable]) -> dict[str, tuple]:
        """``grid`` validated, with exactly this map's parameters (:attr:`parameters`)."""
        checked = check_grid(grid)
        unknown = [p for p in checked if p not in self.parameters]
        missing = [p for p in self.parameters if p not in checked]
        if unknown or missing:
            raise ValueError(f"grid for map {self.name}: unknown parameters {unknown}, missing "
                             f"{missing} (parameters: {self.parameters})")
        return checked

    def run(self, grid_size: str = "coarse", *, grid: Mapping[str, Iterable] | None = None,
            executor: Executor | None = None, seed: int = 0,
            out: str | os.PathLike | None = None, resume: bool = True,
            batch: int = 1, show_progress: bool | None = None) -> Table:
        """Sweep the map on its ``grid_size`` grid (or on ``grid``, checked against its
        parameters); the rest as :func:`verify.sweep.sweep`."""
        chosen = self.grid(grid_size) if grid is None else self.check_grid(grid)
        return sweep(self.point, chosen, executor=executor, seed=seed, out=out, resume=resume,
                     batch=batch, description=self.name, show_progress=show_progress)

    def regime_grid(self, table: Table) -> np.ndarray:
        """The measured regime of every point as an array of the grid's shape ("error"
        where the point raised).

        Raises
        ------
        ValueError
            If a point returned a regime not in :attr:`regimes`.
        """
        column = ["error" if r.status != "ok" else r.values.get(REGIME) for r in table.rows]
        unknown = sorted({str(c) for c in column if c != "error" and c not in self.regimes})
        if unknown:
            raise ValueError(f"map {self.name}: regimes {unknown} are not among {list(self.regimes)}")
        return np.array(column, dtype=object).reshape(table.shape)


@dataclass(frozen=True)
class Transition:
    """Where a regime set is entered along one parameter, the others fixed.

    ``last_outside``: the largest value (in the grid's order) whose regime is outside the
    set; ``first_inside``: the next value (None if there is none); ``single``: outside
    below and inside from ``first_inside`` on (one transition, no island).
    """

    fixed: dict[str, Scalar]
    last_outside: Scalar
    first_inside: Scalar
    single: bool

    def brackets(self, value: float) -> bool:
        """Whether ``value`` lies in the closed cell [last_outside, first_inside] (a
        missing end counts as unbounded)."""
        low = -np.inf if self.last_outside is None else self.last_outside
        high = np.inf if self.first_inside is None else self.first_inside
        return bool(low <= value <= high)


def transitions(map_: Map, table: Table, along: str, inside: Iterable[str]) -> list[Transition]:
    """The measured transition into the regimes ``inside`` along the parameter ``along``,
    one per combination of the other parameters (in product order)."""
    regimes = map_.regime_grid(table)
    names = list(table.grid)
    axis = names.index(along)
    inside = set(inside)
    values = table.grid[along]
    moved = np.moveaxis(regimes, axis, -1)
    others = [n for n in names if n != along]
    found = []
    for position in np.ndindex(moved.shape[:-1]):
        flags = [r in inside for r in moved[position]]
        outside = [i for i, flag in enumerate(flags) if not flag]
        k = outside[-1] + 1 if outside else 0
        found.append(Transition(
            fixed={n: table.grid[n][i] for n, i in zip(others, position)},
            last_outside=values[k - 1] if k > 0 else None,
            first_inside=values[k] if k < len(values) else None,
            single=not any(flags[:k])))
    return found


def load_maps() -> dict[str, Map]:
    """Every map (the ``MAPS`` of every ``verify.<setting>_maps``), by name, in registry
    order."""
    maps: dict[str, Map] = {}
    for setting in registry.SETTINGS:
        module = f"verify.{setting}_maps"
        if importlib.util.find_spec(module) is None:
            continue
        for map_ in importlib.import_module(module).MAPS:
            if map_.name in maps:
                raise RuntimeError(f"duplicate map name {map_.name}")
            maps[map_.name] = map_
    return maps
