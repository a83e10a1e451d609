"""Finite-volume stencils shared by every family: one assembly, any dimension."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ._errors import PDEError
from ._grid import Grid

__all__ = ["FACE_MEANS", "diffusion_matrix", "dirichlet_rhs", "laplacian"]

FACE_MEANS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "harmonic": lambda a, b: 2 * a * b / (a + b),
    "arithmetic": lambda a, b: 0.5 * (a + b),
}


def diffusion_matrix(grid: Grid, coefficient: np.ndarray, mean: str = "harmonic") -> sp.csr_matrix:
    """-div(a grad u) with homogeneous Dirichlet data: the symmetric 5-/7-point FV stencil.

    Face coefficients are the ``mean`` of the two neighbouring node values; a boundary face
    takes its node's value. SPD for positive ``coefficient``.
    """
    if mean not in FACE_MEANS:
        raise PDEError(f"unknown face mean {mean!r}; known: {', '.join(FACE_MEANS)}")
    index = np.arange(grid.size).reshape(grid.shape)
    diagonal = np.zeros(grid.shape)
    rows, cols, values = [], [], []
    for axis, h in enumerate(grid.spacing):
        lo, hi, first, last = (
            _along(axis, grid.ndim, s) for s in ((0, -1), (1, None), (0, 1), (-1, None))
        )
        face = FACE_MEANS[mean](coefficient[lo], coefficient[hi]) / h**2
        diagonal[lo] += face
        diagonal[hi] += face
        diagonal[first] += coefficient[first] / h**2
        diagonal[last] += coefficient[last] / h**2
        rows += [index[lo].ravel(), index[hi].ravel()]
        cols += [index[hi].ravel(), index[lo].ravel()]
        values += [-face.ravel(), -face.ravel()]
    rows.append(index.ravel())
    cols.append(index.ravel())
    values.append(diagonal.ravel())
    matrix = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(grid.size, grid.size),
    )
    matrix.sort_indices()
    return matrix


def laplacian(grid: Grid) -> sp.csr_matrix:
    """-lap with homogeneous Dirichlet data (the unit-coefficient diffusion matrix)."""
    return diffusion_matrix(grid, np.ones(grid.shape))


def dirichlet_rhs(grid: Grid, boundary: Callable[..., np.ndarray]) -> np.ndarray:
    """What Dirichlet data g(x) on the boundary nodes adds to the rhs of -lap u = f.

    Each node next to the boundary gets sum over its boundary neighbours of g / h_d^2.
    """
    rhs = np.zeros(grid.shape)
    for axis, h in enumerate(grid.spacing):
        for ends, position in (((0, 1), 0.0), ((-1, None), 1.0)):
            side = _along(axis, grid.ndim, ends)
            points = [c[side] for c in grid.coordinates]
            points[axis] = np.full_like(points[axis], position)
            rhs[side] += boundary(*points) / h**2
    return rhs


def _along(axis: int, ndim: int, ends: tuple[int | None, int | None]) -> tuple[slice, ...]:
    """Index selecting ``slice(*ends)`` along ``axis`` and everything along the others."""
    return tuple(slice(*ends) if a == axis else slice(None) for a in range(ndim))
