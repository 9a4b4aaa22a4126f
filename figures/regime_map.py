"""The drawing every regime map shares (:mod:`verify.maps`): the measured regime of each
grid point as a coloured cell, the theory's boundary drawn over it.

A setting's figure module runs its map (``Map.run``) and passes the table to :func:`draw`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from figures.style import save
from verify.maps import Map
from verify.sweep import Table

PALETTE = ("#4daf4a", "#ff9f1c", "#e41a1c", "#377eb8", "#984ea3", "#a65628")
"""Regime colours, in the order of ``Map.regimes``; errors are grey."""
ERROR_COLOR = "#9e9e9e"


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around sorted grid values: midpoints inside, half a step outside."""
    if values.size == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    middle = (values[1:] + values[:-1]) / 2
    return np.concatenate(([2 * values[0] - middle[0]], middle, [2 * values[-1] - middle[-1]]))


def regime_plane(map_: Map, table: Table) -> np.ndarray:
    """The regime names as a 2-D array indexed [y, x] (``map_.axes``); the other
    parameters have one value each."""
    regimes = map_.regime_grid(table)
    names = list(table.grid)
    x_axis, y_axis = (names.index(a) for a in map_.axes)
    others = tuple(i for i in range(len(names)) if i not in (x_axis, y_axis))
    plane = np.moveaxis(regimes, (y_axis, x_axis), (-2, -1))
    return plane.reshape(plane.shape[-2:]) if others else plane


def draw(map_: Map, table: Table, out_dir: Path, fmt: str, stem: str, title: str) -> Path:
    """The map as a figure: cells coloured by measured regime, the theory's boundary
    (``map_.boundary``) as a black line with markers; saved as ``out_dir/stem.fmt``."""
    plane = regime_plane(map_, table)
    names = list(map_.regimes) + ["error"]
    colors = list(PALETTE[:len(map_.regimes)]) + [ERROR_COLOR]
    codes = np.vectorize(names.index, otypes=[int])(plane)
    x = np.asarray(table.grid[map_.axes[0]], dtype=float)
    y = np.asarray(table.grid[map_.axes[1]], dtype=float)
    fig = Figure(figsize=(7.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.pcolormesh(_edges(x), _edges(y), codes, cmap=ListedColormap(colors), vmin=-0.5,
                  vmax=len(names) - 0.5, shading="flat")
    bx, by = map_.boundary(table.grid)
    ax.plot(bx, by, "k-o", ms=3.5, lw=1.6, label=f"theory: {map_.boundary_label}")
    counts = {name: int(np.sum(plane == name)) for name in names}
    handles = [Patch(color=color, label=f"{name} ({counts[name]})")
               for name, color in zip(names, colors) if counts[name] or name != "error"]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set(xlabel=map_.axes[0], ylabel=map_.axes[1], title=title)
    ax.grid(False)
    return save(fig, out_dir, stem, fmt)
