"""The one preconditioner vocabulary: every ``-s preconditioner=NAME`` means the same thing
in every solver that takes it. An engine supports the names it can apply (the lane engine
works on stencils, the CSR engines on matrices) and refuses the others with the list."""

from __future__ import annotations

from collections.abc import Iterable

from ._base import SolverError

__all__ = ["PRECONDITIONERS", "check_preconditioner"]

PRECONDITIONERS: dict[str, str] = {
    "none": "no preconditioner (M = I)",
    "jacobi": "the diagonal of A (M = diag A)",
    "spectral": "the DST inverse of the lane's constant-coefficient part, diagonally scaled "
                "(exact for constant coefficients); lane engine",
    "mg": "geometric multigrid (Galerkin coarse operators, red-black smoothing, W-cycle) on "
          "the lanes; robust at any coefficient contrast; lane engine",
    "auto": "the lane engine picks spectral or mg from the first system's face contrast, "
            "jumps and solids (solvers.batched.lane_preconditioner)",
    "factor": "a sparse LU/Cholesky factor reused along the sorted sequence (rescaled to "
              "each matrix's diagonal); CSR engines",
}


def check_preconditioner(name: str, supported: Iterable[str], solver: str) -> str:
    """``name`` if ``solver`` supports it; else a SolverError naming what it supports."""
    supported = tuple(supported)
    if name not in supported:
        known = "" if name in PRECONDITIONERS else " (unknown name)"
        raise SolverError(f"{solver}: preconditioner must be one of {', '.join(supported)}, "
                          f"got {name!r}{known}")
    return name
