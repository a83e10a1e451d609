"""The Solver shell shared by the recycling solvers: options, sequence state, dispatch."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from pdes import LinearSystem

from .._base import Solver, SolverError, solver_device
from .._threads import single_threaded
from ._gcrodr import gcrodr
from ._precond import PreconditionerPolicy
from ._rcg import deflated_cg
from ._torch_sparse import MatrixOperator, to_tensor

__all__ = ["RecyclingSolver"]

KERNELS = {"cg": deflated_cg, "gcrodr": gcrodr}


def _direct(A: MatrixOperator, b: torch.Tensor, M, tol: float) -> torch.Tensor | None:
    """x = M^-1 b when M is an exact factor of A; None if it misses ``tol`` (then iterate)."""
    x = M.apply(b)
    nb = float(torch.linalg.norm(b)) or 1.0
    return x if float(torch.linalg.norm(b - A(x))) <= tol * nb else None


class RecyclingSolver(Solver):
    """Krylov solver that carries a recycled space, the last solution and a factor.

    Subclasses choose the Krylov method per system (``_method``). State learned along
    a sequence (``recycled_``, ``x_``, ``policy_``) is reset by ``_begin_sequence``.
    """

    name = "recycling"

    def __init__(
        self,
        tol: float = 1e-8,
        max_iterations: int = 10000,
        device: str = "auto",
        m: int = 40,
        k: int = 20,
        preconditioner: str = "none",
        reuse: int = 0,
        rescale: bool = True,
        factor_backend: str = "auto",
        warm_start: bool = True,
        recycle: bool | str = True,
    ):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device)
        if not 0 <= k < m:
            raise SolverError(f"need 0 <= k < m, got m={m}, k={k}")
        self.m = int(m)
        self.k = int(k)
        self.preconditioner = preconditioner
        self.reuse = int(reuse)
        self.rescale = bool(rescale)
        self.factor_backend = factor_backend
        self.warm_start = bool(warm_start)
        if recycle not in (True, False, "auto"):
            raise SolverError(f"recycle must be True, False or 'auto', got {recycle!r}")
        self.recycle = recycle
        PreconditionerPolicy(preconditioner, reuse, rescale, factor_backend)  # validates
        solver_device(device)

    def options(self) -> dict[str, Any]:
        keys = ("m", "k", "preconditioner", "reuse", "rescale", "factor_backend")
        extra = {key: getattr(self, key) for key in (*keys, "warm_start", "recycle")}
        return {**super().options(), **extra}

    def _method(self, system: LinearSystem) -> str:
        raise NotImplementedError

    def _recycles(self, method: str) -> bool:
        return self.recycle

    def _begin_sequence(self) -> None:
        self.recycled_: dict[str, Any] = {}
        self.x_: np.ndarray | None = None
        self.policy_ = PreconditionerPolicy(
            self.preconditioner, self.reuse, self.rescale, self.factor_backend
        )

    def _initial_guess(self, system: LinearSystem) -> np.ndarray | None:
        if self.warm_start and self.x_ is not None and self.x_.shape == (system.size,):
            return self.x_
        return None

    def _end_solve(self, system: LinearSystem, result) -> None:
        self.x_ = result.x

    def _solve(self, system: LinearSystem, x0: np.ndarray | None) -> tuple[np.ndarray, int, dict]:
        if not hasattr(self, "policy_"):
            self._begin_sequence()
        device = solver_device(self.device)
        with single_threaded(device):
            return self._solve_on(system, x0, device)

    def _solve_on(
        self, system: LinearSystem, x0: np.ndarray | None, device: torch.device
    ) -> tuple[np.ndarray, int, dict]:
        A = MatrixOperator(system.matrix, device)
        b = to_tensor(system.rhs, device)
        x = to_tensor(x0, device) if x0 is not None else b.new_zeros(b.shape)
        M, info = self.policy_.get(A, system.symmetric)
        method = self._method(system)
        recycle = self._recycles(method)
        U = self.recycled_.get(method) if recycle else None
        if U is not None and U.shape[0] != system.size:
            U = None
        start = time.perf_counter()
        direct = _direct(A, b, M, self.tol) if info.get("exact") else None
        if direct is not None:  # the factor is this matrix's own: one solve did it
            x, iterations = direct, 1
        else:
            x, iterations, U = KERNELS[method](
                A, b, x, M, U, self.tol, self.max_iterations, self.m, self.k if recycle else 0
            )
        self.policy_.record(iterations, time.perf_counter() - start)
        self.recycled_ = {method: U} if U is not None else {}
        info.update(
            direct=direct is not None,
            method=method,
            recycle_size=0 if U is None else int(U.shape[1]),
            warm_start=x0 is not None,
            device=str(device),
        )
        return x.cpu().numpy(), iterations, info
