"""The registered ``batched`` solver: a sorted sequence solved B lanes at a time on a device."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from pdes import LinearSystem

from .._base import Solver, SolverError, SolveResult, solver_device
from .._preconditioners import check_preconditioner
from .._threads import single_threaded
from ._choice import lane_preconditioner
from ._driver import drive
from ._krylov import GMRES, Direct, FlexiblePCG
from ._lanes import Lanes, host_loader, make_chains
from ._multigrid import MultigridPreconditioner
from ._spectral import SpectralPreconditioner

__all__ = ["LANE_PRECONDITIONERS", "BatchedSolver", "LaneIdentity", "LaneJacobi", "default_batch"]

log = logging.getLogger(__name__)
METHODS = ("auto", "cg", "gmres")
# float64 vectors a lane holds at once: PCG's x, r, z, p, q, b, faces, reaction, temporaries;
# GMRES(m) twice as many per basis vector when the complex shift is on.
_PCG_VECTORS = 16


def default_batch(device: torch.device, unknowns: int, n: int) -> int:
    """Lanes at once: fill a GPU (~2^24 unknowns in flight); a few on the CPU.

    On the 2-core CPU the batch only amortises per-iteration Python work (memory-bound
    kernels gain nothing from more lanes), so 8 lanes suffice.
    """
    if device.type == "cpu":
        return max(1, min(n, 8))
    return max(1, min(n, 1024, (1 << 24) // max(unknowns, 1)))


class LaneIdentity:
    """No preconditioner (M = I): the comparison row of plain CG/GMRES on lanes."""

    def __init__(self, op) -> None:
        self.op = op

    def update(self, lanes) -> None:
        """Nothing per lane."""

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return r.clone()  # PCG updates r in place: z must not alias it


class LaneJacobi(LaneIdentity):
    """M = diag(A) per lane."""

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return r / self.op.diagonal


# the names of solvers.PRECONDITIONERS this engine applies, and their lane factories
_FACTORIES = {"spectral": SpectralPreconditioner, "jacobi": LaneJacobi, "none": LaneIdentity,
              "mg": MultigridPreconditioner}
LANE_PRECONDITIONERS = tuple(_FACTORIES)


class BatchedSolver(Solver):
    """B lanes at once, matrix-free on the grid, each lane walking a chain of the sorted order.

    ``method="auto"``: PCG for SPD systems, GMRES(``restart``) otherwise. The ``spectral``
    preconditioner is the DST inverse of the lane's constant-coefficient part (exact for
    poisson and heat: one iteration), diagonally scaled for variable coefficients, with the
    complex shift ``shift`` * k^2 for indefinite (Helmholtz) lanes. ``batch=0`` picks the
    lane count from the device; on CUDA it is capped by the free memory (logged).
    """

    name = "batched"

    def __init__(self, tol: float = 1e-8, max_iterations: int = 10000, device: str = "auto",
                 batch: int = 0, preconditioner: str = "auto", method: str = "auto",
                 restart: int = 60, shift: float = 0.25, check_every: int = 0,
                 warm_start: bool = True):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device)
        if not isinstance(batch, int) or batch < 0:
            raise SolverError(f"batch must be an int >= 0 (0: automatic), got {batch!r}")
        check_preconditioner(preconditioner, ("auto", *LANE_PRECONDITIONERS), self.name)
        if method not in METHODS:
            raise SolverError(f"method must be one of {METHODS}, got {method!r}")
        if restart < 1 or check_every < 0 or not shift >= 0:
            raise SolverError("need restart >= 1, check_every >= 0 and shift >= 0")
        self.batch = batch
        self.preconditioner = preconditioner
        self.method = method
        self.restart = int(restart)
        self.shift = float(shift)
        self.check_every = int(check_every)
        self.warm_start = bool(warm_start)
        solver_device(device)

    def options(self) -> dict[str, Any]:
        keys = ("batch", "preconditioner", "method", "restart", "shift", "check_every",
                "warm_start")
        return {**super().options(), **{k: getattr(self, k) for k in keys}}

    def _solve(self, system: LinearSystem, x0: np.ndarray | None) -> tuple[np.ndarray, int, dict]:
        result = next(iter(self._run([system], x0)))
        return result.x, result.iterations, result.info

    def solve_sequence(self, systems: Iterable[LinearSystem]) -> Iterator[SolveResult]:
        """Solve the whole (sorted) sequence in lanes; yield results in input order."""
        systems = list(systems)
        for system, result in zip(systems, self._run(systems, None), strict=True):
            yield _checked(system, result, self.tol)

    def solve_samples(self, family, indices: Sequence[int], seed: int
                      ) -> Iterator[tuple[SolveResult, dict[str, np.ndarray], dict[str, float]]]:
        """Samples ``indices`` assembled on the device (``family.sample_batch``) as lanes need
        them: no CSR matrix, a few arrays per refill. The residual of each result is the TRUE
        one, ||b - A x|| / ||b|| with the matrix-free operator (equal to the CSR's to rounding)
        in float64 on the device."""
        if not len(indices):
            return
        device = solver_device(self.device)
        stored: dict[int, tuple[dict, dict]] = {}

        def load(items: Sequence[int]):
            batch = family.sample_batch([indices[i] for i in items], seed, device)
            for lane, item in enumerate(items):
                stored[item] = ({k: v[lane].cpu().numpy() for k, v in batch.fields.items()},
                                {k: float(v[lane]) for k, v in batch.params.items()})
            return list(batch.faces), batch.reaction, batch.rhs

        probe = family.sample_batch([indices[0]], seed, device)
        results = self._solve_lanes(len(indices), load, probe.symmetric, probe.definite,
                                    probe.grid, device)
        for i, result in enumerate(results):
            result.converged = bool(np.isfinite(result.residual) and result.residual <= self.tol)
            yield (result, *stored.pop(i))

    def _run(self, systems: Sequence[LinearSystem], x0: np.ndarray | None) -> list[SolveResult]:
        return self._run_with(systems, x0)

    def _run_with(self, systems: Sequence[LinearSystem], x0: np.ndarray | None,
                  **hooks) -> list[SolveResult]:
        """Host systems (with stencils) into lanes; ``hooks`` go to ``Lanes``."""
        if not systems:
            return []
        device = solver_device(self.device)
        load = host_loader(systems, device)

        first = systems[0]
        x0 = None if x0 is None else torch.as_tensor(x0.reshape(first.grid), device=device)
        return self._solve_lanes(len(systems), load, first.symmetric, first.definite,
                                 first.grid, device, x0, **hooks)

    def _solve_lanes(self, n: int, load, symmetric: bool, definite: bool,
                     grid: tuple[int, ...], device: torch.device,
                     x0: torch.Tensor | None = None, **hooks) -> list[SolveResult]:
        """Positions 0..n-1 (``load`` gives their operators and rhs) solved in lanes;
        ``hooks`` (on_load, on_result) go to ``Lanes``."""
        start = time.perf_counter()
        method = self._method(symmetric and definite)
        unknowns = int(np.prod(grid))
        batch = self.batch or default_batch(device, unknowns, n)
        batch = _fit_memory(device, batch, unknowns, method, self.restart)
        chains = make_chains(n, batch, "contiguous" if method == "cg" else "interleaved")
        lanes = Lanes(chains, load, self.tol, self.warm_start, self.max_iterations, **hooks)
        self.preconditioner_, choice = self._preconditioner_for(lanes, symmetric and definite)
        if x0 is not None:
            lanes.x[0] = x0
        check = self.check_every or (1 if device.type == "cpu" else 4)
        with single_threaded(device):
            method = self._iterate(lanes, method, check)
        seconds = (time.perf_counter() - start) / n
        info = {"method": method, "preconditioner": self.preconditioner_, "lanes": len(chains),
                "device": str(device), **({"choice": choice} if choice else {})}
        return [SolveResult(lanes.results[i].x.numpy().reshape(-1), lanes.results[i].iterations,
                            lanes.results[i].residual, seconds, False, dict(info))
                for i in range(n)]

    def _iterate(self, lanes: Lanes, method: str, check: int) -> str:
        """Run ``method`` on the lanes until every chain is done; returns what ran."""
        factory = self._factory(method)
        if method == "gmres":
            drive(lanes, GMRES(factory, self.restart, check))
            return method
        if self.preconditioner_ == "spectral":
            drive(lanes, Direct(factory))
            method = "direct" if lanes.results else method
        drive(lanes, FlexiblePCG(factory), check)  # what the direct solves left (usually none)
        return method

    def _method(self, spd: bool) -> str:
        if self.method != "auto":
            return self.method
        return "cg" if spd else "gmres"

    def _preconditioner_for(self, lanes: Lanes, spd: bool) -> tuple[str, str]:
        """The lane preconditioner of this sequence and, for ``auto``, why: chosen from the
        first lane's coefficients (``lane_preconditioner``)."""
        if self.preconditioner != "auto":
            return self.preconditioner, ""
        faces = [face[0].cpu().numpy() for face in lanes.op.faces]
        name, why = lane_preconditioner(faces, spd)
        return name, f"{name}: {why}"

    def _factory(self, method: str):
        if self.preconditioner_ == "spectral" and method == "gmres":
            return lambda op: SpectralPreconditioner(op, shift=self.shift)
        return _FACTORIES[self.preconditioner_]


def _checked(system: LinearSystem, result: SolveResult, tol: float) -> SolveResult:
    """The TRUE residual from the system's own CSR matrix decides ``converged``."""
    result.residual = system.relative_residual(result.x)
    result.converged = bool(np.isfinite(result.residual) and result.residual <= tol)
    return result


def _fit_memory(device: torch.device, batch: int, unknowns: int, method: str,
                restart: int) -> int:
    """Shrink ``batch`` to what the device's free memory holds (CUDA only), and say so."""
    if device.type != "cuda":
        return batch
    vectors = _PCG_VECTORS if method == "cg" else 2 * (restart + 8)
    free, _ = torch.cuda.mem_get_info(device)
    fits = max(1, int(0.6 * free) // (8 * vectors * unknowns))
    if fits < batch:
        log.warning("batch of %d lanes does not fit in %.1f GiB free on %s: using %d",
                    batch, free / 2**30, device, fits)
    return min(batch, fits)
