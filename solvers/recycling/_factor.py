"""Sparse direct factorisations applied as preconditioners (always on the host)."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

__all__ = ["Factor", "same_matrix"]

BACKENDS = ("scipy", "petsc")


def same_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """Bitwise equality of two CSR matrices: a fixed operator reuses its factor exactly."""
    return (
        a.shape == b.shape
        and a.nnz == b.nnz
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


class Factor:
    """LU (or Cholesky) of one matrix; ``solve`` takes and returns device tensors.

    The triangular solves run on the CPU: on CUDA each application costs one
    device -> host -> device round trip of the vector (n doubles each way).
    ``backend="scipy"`` is SuperLU with minimum-degree ordering on A^T + A;
    ``backend="petsc"`` is PETSc's native LU/Cholesky with nested-dissection ordering.
    """

    def __init__(self, matrix: sp.csr_matrix, symmetric: bool, backend: str = "scipy"):
        start = time.perf_counter()
        if backend == "scipy":
            options = {"SymmetricMode": True} if symmetric else {}
            self._lu = spla.splu(
                sp.csc_matrix(matrix),
                permc_spec="MMD_AT_PLUS_A",
                diag_pivot_thresh=0.0 if symmetric else 1.0,
                options=options,
            )
            self._solve = self._lu.solve
        elif backend == "petsc":
            self._solve = _petsc_factor(matrix, symmetric)
        else:
            raise ValueError(f"factor backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self.seconds = time.perf_counter() - start

    def solve(self, v: torch.Tensor) -> torch.Tensor:
        out = self._solve(np.ascontiguousarray(v.detach().cpu().numpy()))
        return torch.from_numpy(np.asarray(out)).to(v.device)


def _petsc_factor(matrix: sp.csr_matrix, symmetric: bool):
    """PETSc LU (Cholesky for symmetric matrices), ordering nd; returns a NumPy solve."""
    from petsc4py import PETSc

    m = sp.csr_matrix(matrix)
    mat = PETSc.Mat().createAIJ(m.shape, csr=(m.indptr, m.indices, m.data), comm=PETSc.COMM_SELF)
    mat.assemble()
    row, col = mat.getOrdering(PETSc.Mat.OrderingType.ND)
    if symmetric:
        mat.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    fact = mat.getFactorMatrix("petsc", "cholesky" if symmetric else "lu")
    if symmetric:
        fact.factorSymbolicCholesky(mat, row)
        fact.factorNumericCholesky(mat)
    else:
        fact.factorSymbolicLU(mat, row, col)
        fact.factorNumericLU(mat)
    bvec, xvec = mat.createVecs()

    def solve(v: np.ndarray) -> np.ndarray:
        if v.ndim == 2:
            return np.column_stack([solve(c) for c in v.T])
        bvec.setArray(v)
        fact.solve(bvec, xvec)
        return xvec.getArray().copy()

    solve.keep = (mat, fact, bvec, xvec)  # type: ignore[attr-defined]
    return solve
