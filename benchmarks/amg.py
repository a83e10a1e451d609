"""pyamg rows of the bench: smoothed aggregation and Ruge-Stueben AMG as CG preconditioners.

The Python user's usual algebraic multigrid (``pip install pdeforge[bench]``); each system
pays its own AMG set-up, as PETSc GAMG's rows do. Bench-only: not a registered solver.
"""

from __future__ import annotations

import numpy as np

from pdes import LinearSystem
from solvers import Solver, SolverError
from solvers.batched import DIVERGED

__all__ = ["AMG_SOLVERS", "PyAMGSolver", "make_solver"]

AMG_SOLVERS = ("pyamg:sa", "pyamg:rs")


class _Diverged(Exception):
    """The residual grew past ``DIVERGED`` times its start: the last iterate is the answer."""

    def __init__(self, x: np.ndarray):
        super().__init__("diverged")
        self.x = x


class PyAMGSolver(Solver):
    """CG preconditioned by one V-cycle of a pyamg hierarchy built for each system.

    Stops, as the lanes and PETSc do, once the residual grows past ``DIVERGED`` times its
    start (smoothed aggregation diverges on threshold media at contrast 1e6: 10,000
    iterations and 410 s for one 512^2 system without the guard).
    """

    def __init__(self, tol: float = 1e-8, max_iterations: int = 10000, device: str = "cpu",
                 kind: str = "sa"):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device)
        if kind not in ("sa", "rs"):
            raise SolverError(f"pyamg kind must be sa or rs, got {kind!r}")
        self.kind = kind
        self.name = f"pyamg:{kind}"

    def _solve(self, system: LinearSystem, x0: np.ndarray | None) -> tuple[np.ndarray, int, dict]:
        import pyamg

        build = pyamg.smoothed_aggregation_solver if self.kind == "sa" else pyamg.ruge_stuben_solver
        hierarchy = build(system.matrix.tocsr())
        residuals: list[float] = []

        def guard(x: np.ndarray) -> None:
            if residuals and not residuals[-1] <= DIVERGED * residuals[0]:
                raise _Diverged(x)

        try:
            x = hierarchy.solve(system.rhs, x0=x0, tol=self.tol, maxiter=self.max_iterations,
                                accel="cg", residuals=residuals, callback=guard)
        except _Diverged as stop:
            x = stop.x
        return x, max(len(residuals) - 1, 0), {"levels": len(hierarchy.levels)}


def make_solver(name: str, **options) -> Solver:
    """``pyamg:sa`` or ``pyamg:rs`` with the bench's options."""
    return PyAMGSolver(kind=name.split(":", 1)[1], **options)
