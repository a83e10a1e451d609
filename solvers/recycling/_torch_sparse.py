"""Matrices and vectors on a torch device: the Krylov loops only see ``MatrixOperator``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["MatrixOperator", "to_tensor"]


def to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """float64 tensor on ``device`` (zero-copy on the CPU when possible)."""
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64)).to(device)


class MatrixOperator:
    """``y = A v`` for torch vectors or blocks of vectors.

    On the CPU the product goes through SciPy's CSR kernel on zero-copy NumPy views:
    torch's CPU sparse CSR product is 2-10x slower here (and thread-contention prone).
    On CUDA the matrix lives on the device as a torch ``sparse_csr`` tensor.
    """

    def __init__(self, matrix: sp.csr_matrix, device: torch.device):
        self.matrix = sp.csr_matrix(matrix, dtype=np.float64)
        self.device = device
        self.shape = self.matrix.shape
        if device.type != "cpu":
            m = self.matrix
            self.tensor_ = torch.sparse_csr_tensor(
                torch.as_tensor(m.indptr, dtype=torch.int64),
                torch.as_tensor(m.indices, dtype=torch.int64),
                torch.as_tensor(m.data),
                size=m.shape,
                device=device,
            )

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cpu":
            return torch.from_numpy(np.asarray(self.matrix @ v.numpy()))
        if v.ndim == 1:
            return torch.mv(self.tensor_, v)
        return self.tensor_ @ v

    def diagonal(self) -> torch.Tensor:
        return to_tensor(self.matrix.diagonal(), self.device)
