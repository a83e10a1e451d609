"""The registered recycling solvers: ``gcrodr``, ``rcg`` and the flagship ``skr``."""

from __future__ import annotations

from pdes import LinearSystem

from ._common import RecyclingSolver

__all__ = ["GCRODR", "SKR", "RecycledCG"]


class GCRODR(RecyclingSolver):
    """GCRO-DR(m, k) for nonsymmetric or indefinite systems (right preconditioning)."""

    name = "gcrodr"

    def _method(self, system: LinearSystem) -> str:
        return "gcrodr"


class RecycledCG(RecyclingSolver):
    """Deflated PCG for SPD systems; ``m`` directions feed the Ritz vectors, ``k`` recycled."""

    name = "rcg"

    def __init__(
        self,
        tol: float = 1e-8,
        max_iterations: int = 10000,
        device: str = "auto",
        m: int = 40,
        k: int = 10,
        **options,
    ):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device, m=m, k=k, **options)

    def _method(self, system: LinearSystem) -> str:
        return "cg"


class SKR(RecyclingSolver):
    """Sorted Krylov recycling for a sequence of similar systems.

    Recycled CG for SPD systems, GCRO-DR otherwise; warm start from the previous
    (sorted-neighbour) solution; a sparse factor reused, rescaled, across the sequence
    and refreshed when iterations grow (see ``PreconditionerPolicy``). ``recycle="auto"``
    recycles only without a factor: with the rescaled factor Darcy needs ~11 PCG and
    Helmholtz ~12 GCRO-DR iterations, and harvesting Ritz vectors (k preconditioner
    solves per system to rebuild C = A M U for GCRO-DR) cost more than it saved.
    """

    name = "skr"

    def __init__(
        self,
        tol: float = 1e-8,
        max_iterations: int = 10000,
        device: str = "auto",
        m: int = 40,
        k: int = 20,
        preconditioner: str = "factor",
        recycle: bool | str = "auto",
        **options,
    ):
        super().__init__(
            tol=tol,
            max_iterations=max_iterations,
            device=device,
            m=m,
            k=k,
            preconditioner=preconditioner,
            recycle=recycle,
            **options,
        )

    def _recycles(self, method: str) -> bool:
        if self.recycle == "auto":
            return self.preconditioner != "factor"
        return bool(self.recycle)

    def _method(self, system: LinearSystem) -> str:
        return "cg" if system.symmetric and system.definite else "gcrodr"
