"""Sparse direct factorisations applied as preconditioners (always on the host)."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

__all__ = ["BACKENDS", "Factor", "resolve_backend", "same_matrix"]

BACKENDS = ("auto", "scipy", "petsc")


def same_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """Bitwise equality of two CSR matrices: a fixed operator reuses its factor exactly."""
    if a is b:
        return True
    return (
        a.shape == b.shape
        and a.nnz == b.nnz
        and np.array_equal(a.data, b.data)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.indptr, b.indptr)
    )


def resolve_backend(backend: str) -> str:
    """``"auto"``: PETSc when petsc4py imports (its LU solves are ~1.4x SuperLU's), else SciPy."""
    if backend not in BACKENDS:
        raise ValueError(f"factor backend must be one of {BACKENDS}, got {backend!r}")
    if backend != "auto":
        return backend
    try:
        import petsc4py  # noqa: F401
    except ImportError:
        return "scipy"
    return "petsc"


class Factor:
    """LU of one matrix; ``solve`` takes and returns device tensors (or NumPy arrays).

    The triangular solves run on the CPU: on CUDA each application costs one
    device -> host -> device round trip of the vector (n doubles each way).
    ``backend="scipy"`` is SuperLU with minimum-degree ordering on A^T + A (symmetric
    mode for symmetric matrices); ``backend="petsc"`` is PETSc's native LU with
    nested-dissection ordering. PETSc's native Cholesky was measured slower than its LU
    (2-D, n = 1e4: factor 24 vs 19 ms, solve 0.69 vs 0.38 ms), so symmetric matrices use
    LU too.
    """

    def __init__(self, matrix: sp.csr_matrix, symmetric: bool, backend: str = "auto"):
        start = time.perf_counter()
        backend = resolve_backend(backend)
        if backend == "scipy":
            options = {"SymmetricMode": True} if symmetric else {}
            self._lu = spla.splu(
                sp.csc_matrix(matrix),
                permc_spec="MMD_AT_PLUS_A",
                diag_pivot_thresh=0.0 if symmetric else 1.0,
                options=options,
            )
            self.solve_numpy = self._lu.solve
        else:
            self.solve_numpy = _PETScLU(matrix)
        self.backend = backend
        self.seconds = time.perf_counter() - start

    def refactor(self, matrix: sp.csr_matrix) -> bool:
        """Factorise ``matrix`` in place, reusing the ordering and symbolic factorisation.

        Only for the PETSc backend and a matrix with the same sparsity pattern (the
        rule along a sequence from one PDE family on one grid): a numeric-only LU costs
        about half a full one (2-D, n = 1e4: 11 vs 23 ms). Returns False (nothing done)
        when it does not apply; the caller then builds a new ``Factor``.
        """
        if self.backend != "petsc" or not self.solve_numpy.same_pattern(matrix):
            return False
        start = time.perf_counter()
        self.solve_numpy.refactor(matrix)
        self.seconds = time.perf_counter() - start
        return True

    def solve(self, v: torch.Tensor) -> torch.Tensor:
        out = self.solve_numpy(np.ascontiguousarray(v.detach().cpu().numpy()))
        return torch.from_numpy(np.asarray(out)).to(v.device)


class _PETScLU:
    """PETSc LU (ordering nd) behind a NumPy ``solve``; Vecs wrap preallocated arrays."""

    def __init__(self, matrix: sp.csr_matrix):
        from ..petsc import petsc, petsc_matrix

        PETSc = petsc()
        m = sp.csr_matrix(matrix, dtype=np.float64)
        self._indptr = m.indptr.astype(PETSc.IntType)
        self._indices = m.indices.astype(PETSc.IntType)
        self.mat = petsc_matrix(m)
        self.pc = PETSc.PC().create(comm=PETSc.COMM_SELF)
        self.pc.setType("lu")
        self.pc.setFactorOrdering("nd")
        self.pc.setOperators(self.mat)
        self.pc.setUp()
        self._check()
        n = m.shape[0]
        self._b = np.zeros(n)
        self._x = np.zeros(n)
        self._bv = PETSc.Vec().createWithArray(self._b, comm=PETSc.COMM_SELF)
        self._xv = PETSc.Vec().createWithArray(self._x, comm=PETSc.COMM_SELF)

    def same_pattern(self, matrix: sp.csr_matrix) -> bool:
        return (
            sp.isspmatrix_csr(matrix)
            and matrix.shape == self.mat.getSize()
            and matrix.nnz == len(self._indices)
            and matrix.has_sorted_indices
            and np.array_equal(matrix.indptr, self._indptr)
            and np.array_equal(matrix.indices, self._indices)
        )

    def refactor(self, matrix: sp.csr_matrix) -> None:
        """New values, same pattern: PCSetUp redoes only the numeric factorisation."""
        self._data = np.ascontiguousarray(matrix.data, dtype=np.float64)
        self.mat.setValuesCSR(self._indptr, self._indices, self._data)
        self.mat.assemble()
        self.pc.setUp()
        self._check()

    def _check(self) -> None:
        reason = self.pc.getFailedReason()
        if int(reason) != 0:
            raise RuntimeError(f"PETSc LU failed (PCFailedReason {reason})")

    def __call__(self, v: np.ndarray) -> np.ndarray:
        if v.ndim == 2:
            return np.column_stack([self(c) for c in v.T]) if v.shape[1] else v.copy()
        self._b[:] = v
        self.pc.apply(self._bv, self._xv)
        return self._x.copy()

    def __del__(self):
        for obj in ("_bv", "_xv", "pc", "mat"):
            if hasattr(self, obj):
                getattr(self, obj).destroy()
