"""What a ``solve`` run is asked to do (another tool's sparse systems into a store),
validated before any Prefect machinery starts; the flow itself is in ``solve_flow``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import storage

from .spec import SpecError, default_chunk

__all__ = ["EXTERNAL", "SolveSpec"]

EXTERNAL = "external"  # the store's family: systems that came with no PDE family
# the systems validate() read, for the flow in this process: (folder, digest) -> (names,
# LinearSystems)
_READ: dict[tuple[str, str], tuple[list[str], list[Any]]] = {}


@dataclass
class SolveSpec:
    """Flow parameters of ``solve`` (JSON-serialisable: the systems are re-read by path)."""

    systems: str
    out: str
    solver: str = "skr"
    tol: float = 1e-8
    order: str = "greedy"
    chunk: int = 0  # systems per zarr chunk (the resume grain); 0: automatic
    solver_options: dict[str, Any] = field(default_factory=dict)
    digest: str = ""  # of the systems' files, filled by validate

    def validate(self) -> SolveSpec:
        """Raise SpecError/StorageError/SolverError on the first bad input, touching nothing:
        unreadable or mixed-size systems, a bad solver, a store made from other files."""
        if not (self.tol > 0 and math.isfinite(self.tol)):
            raise SpecError(f"--tol must be a positive number, got {self.tol}")
        if self.order not in ("greedy", "none", "hilbert"):
            raise SpecError(f"--order must be greedy, hilbert or none, got {self.order!r}")
        _READ.clear()
        systems = storage.read_systems(self.systems)
        sizes = sorted({s.rhs.size for s in systems})
        if len(sizes) > 1:
            raise SpecError(f"{self.systems}: systems of mixed sizes ({sizes[0]} to "
                            f"{sizes[-1]} unknowns); a store and the sequence solvers need "
                            "one size")
        self.solver_object()
        self.digest = storage.systems_digest(self.systems)
        _READ[self.systems, self.digest] = _linear(systems)
        existing = storage.existing_dataset(self.out, self.identity(len(systems), sizes[0]))
        if self.chunk <= 0:
            self.chunk = existing.chunk if existing else default_chunk(len(systems), 1)
        return self

    def identity(self, n: int, size: int) -> dict[str, Any]:
        """What makes a store this run's store: the systems' files (digest), n and size."""
        return {"family": EXTERNAL, "grid": [size], "seed": 0, "n": n,
                "family_options": {"systems_sha256": self.digest}}

    def linear_systems(self) -> tuple[list[str], list[Any]]:
        """Names and ``LinearSystem``s of the folder, in name order: those ``validate`` read
        in this process, else read now."""
        if (self.systems, self.digest) not in _READ:
            _READ.clear()
            _READ[self.systems, self.digest] = _linear(storage.read_systems(self.systems))
        return _READ[self.systems, self.digest]

    def solver_object(self):
        import solvers

        return solvers.get(self.solver, tol=self.tol, **self.solver_options)


def _linear(external: list[storage.ExternalSystem]) -> tuple[list[str], list[Any]]:
    from pdes import LinearSystem

    return ([e.name for e in external],
            [LinearSystem.from_csr(e.matrix, e.rhs) for e in external])
