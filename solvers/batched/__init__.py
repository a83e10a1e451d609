"""Batched, matrix-free solving on lanes: B similar systems at once on one device.

The shared core of pdeforge's torch solvers: ``StencilOperator`` (the families' stencils
stacked over lanes), the DST ``SpectralPreconditioner``, the geometric
``MultigridPreconditioner``, ``Lanes`` (chains of the sorted
order, refill, true-residual checks) and the batched Krylov methods on them.
"""

from ._krylov import gmres_lanes, pcg_lanes
from ._lanes import LaneResult, Lanes, make_chains
from ._multigrid import MultigridPreconditioner
from ._operators import StencilOperator, lane_dot, lane_norm, stack_stencils
from ._solver import BatchedSolver, default_batch
from ._spectral import SpectralPreconditioner, dst

__all__ = [
    "BatchedSolver",
    "LaneResult",
    "Lanes",
    "MultigridPreconditioner",
    "SpectralPreconditioner",
    "StencilOperator",
    "default_batch",
    "dst",
    "gmres_lanes",
    "lane_dot",
    "lane_norm",
    "make_chains",
    "pcg_lanes",
    "stack_stencils",
]
