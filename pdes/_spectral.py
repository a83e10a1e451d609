"""The Dirichlet Laplacian's eigenbasis: DST-I diagonalises it, so solves cost O(N log N)."""

from __future__ import annotations

import numpy as np
import scipy.fft

from ._grid import Grid

__all__ = ["laplacian_eigenvalues", "sine_transform"]


def sine_transform(values: np.ndarray) -> np.ndarray:
    """Orthonormal DST-I over every axis: its own inverse."""
    return scipy.fft.dstn(values, type=1, norm="ortho")


def laplacian_eigenvalues(grid: Grid) -> np.ndarray:
    """Eigenvalues of ``laplacian(grid)`` laid out as ``sine_transform``'s coefficients."""
    axes = [
        4 / h**2 * np.sin(0.5 * np.pi * (np.arange(n) + 1) * h) ** 2
        for n, h in zip(grid.shape, grid.spacing, strict=True)
    ]
    return sum(np.meshgrid(*axes, indexing="ij", sparse=True))
