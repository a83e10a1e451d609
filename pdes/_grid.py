"""Grid convention: unit square/cube, ``shape`` interior unknowns per axis, h = 1/(s+1)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from numbers import Integral, Real

import numpy as np

from ._errors import PDEError

__all__ = ["Grid", "as_field", "make_grid"]

MIN_POINTS = 3


@dataclass(frozen=True)
class Grid:
    """Interior nodes x_i = (i + 1) h of the unit square (cube); homogeneous Dirichlet outside."""

    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> tuple[float, ...]:
        return tuple(1.0 / (s + 1) for s in self.shape)

    @property
    def mean_h2(self) -> float:
        """Harmonic mean of h_d^2: equals h^2 on isotropic grids, scales boundary data."""
        return self.ndim / sum(h**-2 for h in self.spacing)

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """The nodes' coordinates along each axis (1-D)."""
        return tuple((np.arange(s) + 1.0) * h for s, h in zip(self.shape, self.spacing,
                                                              strict=True))

    @cached_property
    def coordinates(self) -> tuple[np.ndarray, ...]:
        """Node coordinates, one full array of ``shape`` per axis (``indexing="ij"``)."""
        return tuple(np.meshgrid(*self.axes, indexing="ij"))


def make_grid(grid: int | tuple[int, ...] | Grid) -> Grid:
    """Validate ``grid`` (int s -> (s, s); tuple of 2 or 3 ints, each >= 3)."""
    if isinstance(grid, Grid):
        return grid
    if _is_int(grid):
        grid = (grid, grid)
    if not isinstance(grid, tuple | list) or not all(_is_int(s) for s in grid):
        raise PDEError(f"grid must be an int or a tuple of 2 or 3 ints, got {grid!r}")
    if len(grid) not in (2, 3):
        raise PDEError(f"grid must have 2 or 3 axes, got {len(grid)}: {tuple(grid)}")
    if min(grid) < MIN_POINTS:
        raise PDEError(f"grid needs >= {MIN_POINTS} unknowns per axis, got {tuple(grid)}")
    return Grid(tuple(int(s) for s in grid))


def as_field(value: object, grid: Grid, name: str, positive: bool = False) -> np.ndarray:
    """A fresh float64 array of the grid's shape from a scalar or array, checked finite (> 0)."""
    if isinstance(value, Real) and not isinstance(value, bool):
        array = np.full(grid.shape, float(value))
    else:
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise PDEError(f"field {name!r} must be a number or an array, got {value!r}") from None
        if array.shape != grid.shape:
            raise PDEError(f"field {name!r} has shape {array.shape}, expected {grid.shape}")
    if not np.all(np.isfinite(array)):
        raise PDEError(f"field {name!r} contains NaN or inf")
    if positive and not np.all(array > 0):
        raise PDEError(f"field {name!r} must be > 0 everywhere (min {array.min():.3g})")
    return array


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)
