"""Ordering features: a short vector whose distances track distances between systems."""

from __future__ import annotations

import numpy as np

from ._grid import Grid
from ._spectral import laplacian_eigenvalues, sine_transform

__all__ = ["laplace_solution_modes", "low_mode_features"]


def low_mode_features(field: np.ndarray, modes: int = 4) -> np.ndarray:
    """Real and imaginary parts of the lowest Fourier modes of ``field`` (mean included).

    Scaled by 1/N so, by Parseval, distances approximate the L2 distance between the
    low-pass filtered fields and do not depend on the resolution.
    """
    m = min(modes, (min(field.shape) + 1) // 2)
    spectrum = np.fft.rfftn(field) / field.size
    signed = np.r_[0:m, -m + 1 : 0]
    low = spectrum[np.ix_(*([signed] * (field.ndim - 1)), np.arange(m))]
    return np.concatenate([low.real.ravel(), low.imag.ravel()])


def laplace_solution_modes(rhs: np.ndarray, grid: Grid, modes: int = 4) -> np.ndarray:
    """Lowest sine modes of the discrete solution of -lap u = rhs: one fast sine transform.

    Needs no matrix, and distances between these features approximate distances between
    the solutions' smooth parts: what a warm start cares about.
    """
    low = tuple(slice(0, modes) for _ in rhs.shape)
    solution = sine_transform(rhs)[low] / laplacian_eigenvalues(grid)[low]
    return solution.ravel() / np.sqrt(rhs.size)
