"""The linear system one PDE sample produces: what solvers consume and storage records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._stencils import Stencil

__all__ = ["LinearSystem"]


@dataclass
class LinearSystem:
    """A @ x = rhs on a structured grid, with the fields a surrogate learns from.

    ``fields`` maps input-field names to arrays of shape ``grid``; ``params`` holds the
    sample's scalar parameters; ``features`` is a short vector that sorts similar systems
    next to each other (SKR ordering); ``symmetric``/``definite`` tell ``solvers.get("auto")``
    which Krylov method applies. ``stencil`` is the matrix-free form of ``matrix`` (same
    faces), what the batched solvers apply on the grid; None for an arbitrary matrix.
    """

    matrix: sp.csr_matrix
    rhs: np.ndarray
    grid: tuple[int, ...]
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    features: np.ndarray = field(default_factory=lambda: np.zeros(0))
    symmetric: bool = True
    definite: bool = True
    index: int = -1
    seed: int = -1
    stencil: Stencil | None = None

    @classmethod
    def from_csr(cls, matrix: sp.spmatrix, rhs: np.ndarray) -> LinearSystem:
        """A system from any square sparse matrix (another tool's): a 1-D "grid" of its
        unknowns, ``symmetric`` tested to rounding, ``definite`` assumed for a symmetric
        matrix with a positive diagonal (what CG needs; GCRO-DR serves the rest)."""
        matrix = sp.csr_matrix(matrix, dtype=np.float64)
        rhs = np.asarray(rhs, dtype=np.float64).reshape(-1)
        scale = abs(matrix).max() if matrix.nnz else 0.0
        asymmetry = abs(matrix - matrix.T).max() if matrix.nnz else 0.0
        symmetric = bool(asymmetry <= 1e-12 * scale)
        definite = symmetric and bool(np.all(matrix.diagonal() > 0))
        return cls(matrix, rhs, (matrix.shape[0],), symmetric=symmetric, definite=definite)

    @property
    def size(self) -> int:
        return int(self.rhs.shape[0])

    def relative_residual(self, x: np.ndarray) -> float:
        """True ||b - A x|| / ||b|| in float64 (0-rhs systems use ||A x||)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        r = self.rhs - self.matrix @ x
        nb = _norm(self.rhs)
        return _norm(r) / (nb if nb > 0 else 1.0)


def _norm(v: np.ndarray) -> float:
    """2-norm without BLAS: threaded BLAS on one short vector costs ms on busy cores."""
    return math.sqrt(float(np.einsum("i,i->", v, v)))
