"""SOR and SSOR sweeps on lanes: red-black (parallel on a GPU) for stencils, lexicographic CSR.

On a 5-/7-point stencil the nodes split into two colours whose updates do not couple, so a
Gauss-Seidel half-sweep over one colour is one vectorised update: u += omega (b - A u) / d on
that colour. Red-black ordering is consistently ordered, so Young's theory (the optimal
omega from the Jacobi spectral radius) applies to it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from ..batched import StencilOperator

__all__ = ["check_omega", "colours", "sor_sweep", "sor_sweep_csr", "ssor_apply"]


def check_omega(omega: float) -> float:
    """SOR converges only for 0 < omega < 2 (SPD): anything else is a clear error."""
    from .._base import SolverError

    value = float(omega)
    if not 0.0 < value < 2.0:
        raise SolverError(f"omega must lie in (0, 2) for SOR to converge, got {omega!r}")
    return value


def colours(grid: tuple[int, ...], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(red, black) masks of the grid as float64 0/1 tensors: parity of the index sum."""
    index = sum(torch.arange(n, device=device).reshape([-1 if a == d else 1
                                                       for a in range(len(grid))])
                for d, n in enumerate(grid))
    red = (index % 2 == 0).to(torch.float64)
    return red, 1.0 - red


def sor_sweep(op: StencilOperator, u: torch.Tensor, r: torch.Tensor, omega: torch.Tensor,
              order: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """One SOR sweep over the colours in ``order`` on every lane; ``omega`` is (B,).

    Carries the residual r = b - A u: each colour's update is read off r and r is updated
    by one operator product of the change, so a sweep with its residual costs one product
    per colour (recomputing b - A u before each colour and after the sweep costs one more).
    """
    scale = omega.reshape((-1,) + (1,) * op.ndim) / op.diagonal
    for mask in order:
        delta = scale * mask * r
        u, r = u + delta, r - op(delta)
    return u, r


def ssor_apply(op: StencilOperator, r: torch.Tensor, omega: torch.Tensor,
               masks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """M_SSOR^-1 r: a red-black forward then black-red backward sweep from zero (symmetric).

    The last half-sweep's residual is never read, so it is not formed (3 products, not 4).
    """
    red, black = masks
    u, rest = sor_sweep(op, torch.zeros_like(r), r, omega, (red, black, black))
    scale = omega.reshape((-1,) + (1,) * op.ndim) / op.diagonal
    return u + scale * red * rest


def sor_sweep_csr(matrix: sp.csr_matrix, u: np.ndarray, b: np.ndarray, omega: float
                  ) -> np.ndarray:
    """One lexicographic SOR sweep for any CSR matrix (the fallback without a stencil):
    (D / omega + L) u+ = b - (U - (1 / omega - 1) D) u, one sparse triangular solve."""
    diagonal = matrix.diagonal()
    lower = sp.tril(matrix, k=-1, format="csr") + sp.diags(diagonal / omega)
    upper = sp.triu(matrix, k=1, format="csr")
    rhs = b - upper @ u + (1.0 / omega - 1.0) * diagonal * u
    return spla.spsolve_triangular(lower, rhs, lower=True)
