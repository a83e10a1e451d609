"""The registered recycling solvers: ``gcrodr``, ``rcg`` and the flagship ``skr``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain

import numpy as np

from pdes import LinearSystem

from .._base import SolverError, SolveResult, solver_device
from ._common import RecyclingSolver

__all__ = ["ENGINES", "GCRODR", "SKR", "RecycledCG", "batched_wins", "lane_plan"]

ENGINES = ("auto", "factor", "batched")
# Measured on the 2-core CPU (docs/benchmarks.md, "Batched lanes"): DST-preconditioned CG on
# lanes beats the reused sparse factor for variable-coefficient SPD systems from 64^2 unknowns
# on (they tie at 32^2); a heat step (constant coefficients) is one DST pair at any size; a fixed
# operator (poisson) is one triangular solve with the factor, faster than a DST pair below
# 256^2 (2.6 vs 3.3-4.2 ms at 128^2; 23 vs 16 ms at 256^2).
BATCHED_MIN_UNKNOWNS = 64 * 64
FIXED_OPERATOR_FACTOR_BELOW = 256 * 256
def lane_plan(system: LinearSystem, device: str) -> tuple[str, str, str]:
    """``skr``'s engine ``auto``: (engine, lane preconditioner, reason), by the measured rules
    above from the first system of a sequence: its family's flags, its size and the contrast
    of its sampled coefficients."""
    if system.stencil is None:
        return "factor", "", "factor: the systems carry no stencil"
    from ..batched import lane_preconditioner

    preconditioner, why = lane_preconditioner(system.stencil.faces,
                                              system.symmetric and system.definite)
    if solver_device(device).type != "cpu":
        return "batched", preconditioner, f"batched+{preconditioner}: on a GPU; {why}"
    if not batched_wins(system, device):
        return "factor", "", f"factor: {system.size} unknowns on the CPU; {why}"
    return "batched", preconditioner, f"batched+{preconditioner}: {system.size} unknowns; {why}"


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

    def __init__(self, k: int = 10, **options):
        super().__init__(k=k, **options)

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

    def __init__(self, preconditioner: str = "factor", recycle: bool | str = "auto",
                 engine: str = "auto", batch: int = 0, **options):
        if engine not in ENGINES:
            raise SolverError(f"engine must be one of {ENGINES}, got {engine!r}")
        if not isinstance(batch, int) or batch < 0:
            raise SolverError(f"batch must be an int >= 0 (0: automatic), got {batch!r}")
        self.engine = engine
        self.batch = batch
        super().__init__(preconditioner=preconditioner, recycle=recycle, **options)

    def options(self) -> dict:
        return {**super().options(), "engine": self.engine, "batch": self.batch}

    def solve_sequence(self, systems: Iterable[LinearSystem]) -> Iterator[SolveResult]:
        """Batched lanes where they win (``lane_plan``), else the reused-factor chain."""
        systems = iter(systems)
        first = next(systems, None)
        if first is None:
            return
        systems = chain([first], systems)
        lanes, choice = self._lanes_for(first)
        results = (super().solve_sequence(systems) if lanes is None
                   else lanes.solve_sequence(systems))
        for result in results:
            yield _chosen(result, lanes, choice)

    def solve_samples(self, family, indices, seed: int):
        """As ``solve_sequence``; on the lanes the samples are assembled on the device."""
        indices = list(indices)
        if not indices:
            return
        lanes, choice = self._lanes_for(family.sample(int(indices[0]), seed))
        samples = (super().solve_samples(family, indices, seed) if lanes is None
                   else lanes.solve_samples(family, indices, seed))
        for result, fields, params in samples:
            yield _chosen(result, lanes, choice), fields, params

    def _lanes_for(self, system: LinearSystem):
        """(the batched solver for sequences like ``system``, None for the factor chain;
        the choice and its reason)."""
        engine, preconditioner, choice = lane_plan(system, self.device)
        if self.engine != "auto":
            engine, preconditioner = self.engine, preconditioner or "spectral"
            choice = f"{engine}: engine={engine} given"
        if engine == "factor":
            return None, choice
        from ..batched import BatchedSolver

        return BatchedSolver(tol=self.tol, max_iterations=self.max_iterations,
                             device=self.device, batch=self.batch, warm_start=self.warm_start,
                             preconditioner=preconditioner), choice

    def _recycles(self, method: str) -> bool:
        if self.recycle == "auto":
            return self.preconditioner != "factor"
        return bool(self.recycle)

    def _method(self, system: LinearSystem) -> str:
        return "cg" if system.symmetric and system.definite else "gcrodr"


def _chosen(result: SolveResult, lanes, choice: str) -> SolveResult:
    """``result`` with the engine and ``skr``'s choice (and why) in its info."""
    result.info["engine"] = "factor" if lanes is None else "batched"
    result.info["choice"] = choice
    return result
