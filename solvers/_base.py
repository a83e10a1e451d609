"""The Solver protocol (docs/design.md): one system or a stateful sequence of similar ones."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pdes import LinearSystem

__all__ = ["SolveResult", "Solver", "SolverError", "solver_device"]


class SolverError(ValueError):
    """Bad solver name or option: the CLI turns it into exit code 2."""


def solver_device(device: str):
    """``pdes.resolve_device`` (the one device rule), its bad input as a ``SolverError``."""
    import pdes

    try:
        return pdes.resolve_device(device)
    except pdes.PDEError as error:
        raise SolverError(str(error)) from None


@dataclass
class SolveResult:
    """Solution plus its TRUE relative residual ||b - A x|| / ||b|| computed in float64."""

    x: np.ndarray
    iterations: int
    residual: float
    seconds: float
    converged: bool
    info: dict[str, Any] = field(default_factory=dict)


class Solver:
    """Base class: constructors store options, ``setup`` loads what they name (state it
    learns ends in ``_``), ``solve``/``solve_sequence`` do the work.

    Subclasses implement ``_solve(system, x0) -> (x, iterations, info)``; the base class
    times it, computes the true residual and decides ``converged`` against ``tol`` so no
    backend can report its own (preconditioned, recursive) residual by mistake.
    ``solve_sequence`` calls ``_begin_sequence`` once, then solves the systems in the
    given order; stateful solvers (recycling, bandits) keep state on ``self`` between
    systems and reset it in ``_begin_sequence``.
    """

    name = "solver"
    # per-sample choices the solver reports in ``info`` and a dataset stores as params
    param_names: tuple[str, ...] = ()

    def __init__(self, tol: float = 1e-8, max_iterations: int = 10000, device: str = "cpu"):
        if not (tol > 0):
            raise SolverError(f"tol must be > 0, got {tol}")
        if max_iterations <= 0:
            raise SolverError(f"max_iterations must be > 0, got {max_iterations}")
        self.tol = float(tol)
        self.max_iterations = int(max_iterations)
        self.device = device

    # -- what subclasses provide -------------------------------------------------------
    def _solve(self, system: LinearSystem, x0: np.ndarray | None) -> tuple[np.ndarray, int, dict]:
        raise NotImplementedError

    def _begin_sequence(self) -> None:
        """Forget state carried from an earlier sequence."""

    def _initial_guess(self, system: LinearSystem) -> np.ndarray | None:
        """Warm start for the next system of a sequence (None: start from zero)."""
        return None

    def _end_solve(self, system: LinearSystem, result: SolveResult) -> None:
        """Hook after each solve of a sequence (keep x for warm starts, update bandits)."""

    def setup(self) -> Solver:
        """Once, before the first solve: what the options need from outside the constructor
        (a model file, PETSc); bad input raises SolverError. Returns the solver."""
        return self

    def check_problem(self, family: str, grid: tuple[int, ...]) -> None:
        """Raise SolverError if this solver cannot serve ``family`` on ``grid`` (a learned
        solver's model made for another family); checked before a run stores anything."""

    # -- the protocol ----------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """Constructor options, recorded in the dataset's attrs."""
        return {"tol": self.tol, "max_iterations": self.max_iterations, "device": self.device}

    def solve(self, system: LinearSystem, x0: np.ndarray | None = None) -> SolveResult:
        start = time.perf_counter()
        x, iterations, info = self._solve(system, x0)
        seconds = time.perf_counter() - start
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        residual = system.relative_residual(x)
        converged = bool(np.isfinite(residual) and residual <= self.tol)
        return SolveResult(x, int(iterations), residual, seconds, converged, dict(info))

    def solve_samples(self, family, indices: Iterable[int], seed: int
                      ) -> Iterator[tuple[SolveResult, dict[str, np.ndarray], dict[str, float]]]:
        """Samples ``indices`` of ``family`` (drawn with ``seed``) solved as one sequence, in
        order: (result, input fields, params) each, what a dataset stores. Batched solvers
        assemble on their device instead of building each system's CSR matrix here."""
        pulled: deque[LinearSystem] = deque()  # taken by the solver, not yet answered

        def systems() -> Iterator[LinearSystem]:
            for i in indices:
                pulled.append(family.sample(int(i), seed))
                yield pulled[-1]

        for result in self.solve_sequence(systems()):
            system = pulled.popleft()
            yield result, system.fields, system.params

    def solve_sequence(self, systems: Iterable[LinearSystem]) -> Iterator[SolveResult]:
        self._begin_sequence()
        for system in systems:
            result = self.solve(system, self._initial_guess(system))
            self._end_solve(system, result)
            yield result
