"""Batched, matrix-free solving on lanes: B similar systems at once on one device.

The shared core of pdeforge's torch solvers: ``StencilOperator`` (the families' stencils
stacked over lanes), the DST ``SpectralPreconditioner``, the geometric
``MultigridPreconditioner``, ``Lanes`` (chains of the sorted
order, refill, true-residual checks), the one lane driver ``drive`` and the lane methods
that plug into it (flexible PCG, GMRES, the direct solve).
"""

from ._choice import face_contrast, lane_preconditioner
from ._driver import DIVERGED, LaneMethod, Monitor, drive
from ._krylov import (
    GMRES,
    Direct,
    FlexiblePCG,
    Preconditioner,
    pcg_lanes,
    safe_direction,
)
from ._lanes import STALLED_MISSES, LaneResult, Lanes, Loader, host_loader, make_chains
from ._multigrid import MultigridPreconditioner
from ._operators import StencilOperator, lane_column, lane_dot, lane_norm, stack_stencils
from ._solver import BatchedSolver, default_batch
from ._spectral import SpectralPreconditioner, dst

__all__ = [
    "DIVERGED",
    "GMRES",
    "BatchedSolver",
    "Direct",
    "FlexiblePCG",
    "LaneMethod",
    "LaneResult",
    "Lanes",
    "Loader",
    "Monitor",
    "Preconditioner",
    "MultigridPreconditioner",
    "STALLED_MISSES",
    "SpectralPreconditioner",
    "StencilOperator",
    "default_batch",
    "drive",
    "dst",
    "face_contrast",
    "host_loader",
    "lane_column",
    "lane_dot",
    "lane_norm",
    "lane_preconditioner",
    "make_chains",
    "pcg_lanes",
    "safe_direction",
    "stack_stencils",
]
