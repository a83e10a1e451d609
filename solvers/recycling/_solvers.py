"""The registered recycling solvers: ``gcrodr``, ``rcg`` and the flagship ``skr``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain

import numpy as np

from pdes import LinearSystem

from .._base import SolverError, SolveResult, solver_device
from ._common import RecyclingSolver

__all__ = ["ENGINES", "GCRODR", "SKR", "RecycledCG", "batched_wins"]

ENGINES = ("auto", "factor", "batched")
# Measured on the 2-core CPU (docs/benchmarks.md, "Batched lanes"): DST-preconditioned CG on
# lanes beats the reused sparse factor for variable-coefficient SPD systems from 64^2 unknowns
# on (they tie at 32^2); a heat step (constant coefficients) is one DST pair at any size; a fixed
# operator (poisson) is one triangular solve with the factor, faster than a DST pair below
# 256^2 (2.6 vs 3.3-4.2 ms at 128^2; 23 vs 16 ms at 256^2).
BATCHED_MIN_UNKNOWNS = 64 * 64
FIXED_OPERATOR_FACTOR_BELOW = 256 * 256


def batched_wins(system: LinearSystem, device: str) -> bool:
    """Whether ``skr``'s engine ``auto`` solves sequences like ``system`` in batched lanes.

    Always on a GPU (the factor lives on the host), never without a stencil; on the CPU
    for SPD systems by the measured thresholds above. Indefinite systems keep the factor on
    the CPU: complex-shifted GMRES needs 12-33 iterations there (k = 5-15).
    """
    if system.stencil is None:
        return False
    if solver_device(device).type != "cpu":
        return True
    if not (system.symmetric and system.definite):
        return False
    if _fixed_laplacian(system):
        return system.size >= FIXED_OPERATOR_FACTOR_BELOW
    return system.size >= BATCHED_MIN_UNKNOWNS or system.stencil.is_constant()


def _fixed_laplacian(system: LinearSystem) -> bool:
    """A scaled Laplacian with no reaction: what a family with one matrix for all samples has."""
    return system.stencil.is_constant() and not np.any(system.stencil.reaction)


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
        engine: str = "auto",
        batch: int = 0,
        **options,
    ):
        if engine not in ENGINES:
            raise SolverError(f"engine must be one of {ENGINES}, got {engine!r}")
        if not isinstance(batch, int) or batch < 0:
            raise SolverError(f"batch must be an int >= 0 (0: automatic), got {batch!r}")
        self.engine = engine
        self.batch = batch
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

    def options(self) -> dict:
        return {**super().options(), "engine": self.engine, "batch": self.batch}

    def solve_sequence(self, systems: Iterable[LinearSystem]) -> Iterator[SolveResult]:
        """Batched lanes where they win (``batched_wins``), else the reused-factor chain."""
        systems = iter(systems)
        first = next(systems, None)
        if first is None:
            return
        systems = chain([first], systems)
        lanes = self._lanes_for(first)
        if lanes is None:
            yield from super().solve_sequence(systems)
            return
        for result in lanes.solve_sequence(systems):
            result.info["engine"] = "batched"
            yield result

    def solve_samples(self, family, indices, seed: int):
        """As ``solve_sequence``; on the lanes the samples are assembled on the device."""
        indices = list(indices)
        lanes = self._lanes_for(family.sample(int(indices[0]), seed)) if indices else None
        if lanes is None:
            yield from super().solve_samples(family, indices, seed)
            return
        for result, fields, params in lanes.solve_samples(family, indices, seed):
            result.info["engine"] = "batched"
            yield result, fields, params

    def _lanes_for(self, system: LinearSystem):
        """The batched solver to use for sequences like ``system`` (None: the factor chain)."""
        engine = self.engine
        if engine == "auto":
            engine = "batched" if batched_wins(system, self.device) else "factor"
        if engine == "factor":
            return None
        from ..batched import BatchedSolver

        return BatchedSolver(tol=self.tol, max_iterations=self.max_iterations,
                             device=self.device, batch=self.batch, warm_start=self.warm_start)

    def _recycles(self, method: str) -> bool:
        if self.recycle == "auto":
            return self.preconditioner != "factor"
        return bool(self.recycle)

    def _method(self, system: LinearSystem) -> str:
        return "cg" if system.symmetric and system.definite else "gcrodr"
