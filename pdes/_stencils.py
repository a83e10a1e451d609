"""Finite-volume stencils shared by every family: one assembly, any dimension.

A ``Stencil`` is the matrix-free form of a family's operator (face coefficients plus a
diagonal term): the batched torch solvers apply it on the grid; ``stencil_matrix`` turns it
into the CSR matrix PETSc and the sequential solvers use. Both come from the same faces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._errors import PDEError
from ._grid import Grid

__all__ = [
    "FACE_MEANS",
    "Stencil",
    "diffusion_faces",
    "diffusion_matrix",
    "dirichlet_rhs",
    "laplacian",
    "stencil_matrix",
]

FACE_MEANS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "harmonic": lambda a, b: 2 * a * b / (a + b),
    "arithmetic": lambda a, b: 0.5 * (a + b),
}


@dataclass(frozen=True)
class Stencil:
    """A u = -sum_d D_d^T (F_d D_d u) + reaction * u on the grid, homogeneous Dirichlet.

    ``faces[d]`` has the grid's shape with axis d one longer: the flux coefficient (already
    divided by h_d^2) of every face normal to axis d, the two boundary faces included.
    ``reaction`` is a scalar or an array of the grid's shape added to the diagonal.
    """

    faces: tuple[np.ndarray, ...]
    reaction: float | np.ndarray = 0.0

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(f.shape[d] - 1 for d, f in enumerate(self.faces))

    def is_constant(self, rtol: float = 0.0) -> bool:
        """Constant coefficients: the faces along each axis and the reaction are each one
        number (to ``rtol`` of their mean): the sine transforms then diagonalise the operator."""
        return all(np.ptp(a) <= rtol * abs(np.mean(a))
                   for a in (*self.faces, np.asarray(self.reaction)))

    def diagonal(self) -> np.ndarray:
        """The operator's diagonal: the faces around each node plus the reaction."""
        diagonal = np.zeros(self.grid) + self.reaction
        for axis, face in enumerate(self.faces):
            diagonal += _along(axis, face.ndim, (0, -1), face) + _along(axis, face.ndim, (1, None),
                                                                          face)
        return diagonal


def diffusion_faces(grid: Grid, coefficient: np.ndarray, mean: str = "harmonic"
                    ) -> tuple[np.ndarray, ...]:
    """Face coefficients / h^2 of -div(a grad u): interior faces take the ``mean`` of the two
    node values, a boundary face its node's value."""
    if mean not in FACE_MEANS:
        raise PDEError(f"unknown face mean {mean!r}; known: {', '.join(FACE_MEANS)}")
    faces = []
    for axis, h in enumerate(grid.spacing):
        a = np.asarray(coefficient, dtype=np.float64)
        lo, hi = _along(axis, a.ndim, (0, -1), a), _along(axis, a.ndim, (1, None), a)
        first, last = _along(axis, a.ndim, (0, 1), a), _along(axis, a.ndim, (-1, None), a)
        faces.append(np.concatenate([first, FACE_MEANS[mean](lo, hi), last], axis=axis) / h**2)
    return tuple(faces)


def stencil_matrix(stencil: Stencil) -> sp.csr_matrix:
    """The CSR matrix of ``stencil`` (symmetric 5-/7-point), sorted indices."""
    shape = stencil.grid
    size = int(np.prod(shape))
    index = np.arange(size).reshape(shape)
    rows, cols, values = [index.ravel()], [index.ravel()], [stencil.diagonal().ravel()]
    for axis, face in enumerate(stencil.faces):
        inner = _along(axis, face.ndim, (1, -1), face).ravel()
        lo = _along(axis, len(shape), (0, -1), index)
        hi = _along(axis, len(shape), (1, None), index)
        rows += [lo.ravel(), hi.ravel()]
        cols += [hi.ravel(), lo.ravel()]
        values += [-inner, -inner]
    matrix = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )
    matrix.sort_indices()
    return matrix


def diffusion_matrix(grid: Grid, coefficient: np.ndarray, mean: str = "harmonic") -> sp.csr_matrix:
    """-div(a grad u) with homogeneous Dirichlet data: the symmetric 5-/7-point FV stencil.

    SPD for positive ``coefficient``.
    """
    return stencil_matrix(Stencil(diffusion_faces(grid, coefficient, mean)))


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
            side = _slices(axis, grid.ndim, ends)
            points = [c[side] for c in grid.coordinates]
            points[axis] = np.full_like(points[axis], position)
            rhs[side] += boundary(*points) / h**2
    return rhs


def _slices(axis: int, ndim: int, ends: tuple[int | None, int | None]) -> tuple[slice, ...]:
    """Index selecting ``slice(*ends)`` along ``axis`` and everything along the others."""
    return tuple(slice(*ends) if a == axis else slice(None) for a in range(ndim))


def _along(axis: int, ndim: int, ends: tuple[int | None, int | None], array: np.ndarray
           ) -> np.ndarray:
    return array[_slices(axis, ndim, ends)]
