"""What a generate run is asked to do, validated before any Prefect machinery starts."""

from __future__ import annotations

import math
import socket
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

from ._errors import SpecError

__all__ = ["GenerateSpec", "SpecError", "check_dask_address", "task_blocks"]


@dataclass
class GenerateSpec:
    """Flow parameters of ``generate`` (all JSON-serialisable, as Prefect wants)."""

    family: str
    grid: list[int]
    n: int
    out: str
    seed: int = 0
    solver: str = "skr"
    tol: float = 1e-8
    family_options: dict[str, Any] = field(default_factory=dict)
    solver_options: dict[str, Any] = field(default_factory=dict)
    order: str = "greedy"
    chunk: int = 0  # samples per task; 0 picks one from n and the workers
    workers: int = 1
    dask_address: str | None = None
    device: str = "auto"
    extend: bool = False  # grow a smaller store of the same spec to n (new positions only)
    fallback: str | None = "petsc:lu"  # solves a sample again once when it misses tol
    inputs_dtype: str = "float32"  # float64: stored inputs re-assemble the exact systems
    family_path: str | None = None  # "module:Class" the family resolves to (set by validate)

    def validate(self) -> GenerateSpec:
        """Raise SpecError/PDEError/SolverError on the first bad input; fill in the chunk."""
        if self.n <= 0:
            raise SpecError(f"--n must be positive, got {self.n}")
        if self.workers <= 0:
            raise SpecError(f"--workers must be positive, got {self.workers}")
        if not (self.tol > 0 and math.isfinite(self.tol)):
            raise SpecError(f"--tol must be a positive number, got {self.tol}")
        if self.order not in ("greedy", "none", "hilbert"):
            raise SpecError(f"--order must be greedy, hilbert or none, got {self.order!r}")
        if self.inputs_dtype not in ("float32", "float64"):
            raise SpecError(f"--inputs-dtype must be float32 or float64, got "
                            f"{self.inputs_dtype!r}")
        self._check_names()
        self._resolve_family()  # bad grid or family option value -> PDEError
        self.sample_check()
        # bad solver option value, or a model for another family -> SolverError
        self.solver_object().setup().check_problem(self.family, tuple(self.grid))
        if self.fallback:
            self.fallback_object()
        if self.dask_address:
            check_dask_address(self.dask_address)
        self._adopt_store()
        return self

    def _resolve_family(self) -> None:
        """Pin the family to its class's import path (what Dask workers import), its name,
        and its options with every default written out (a store made with the same
        options spelled otherwise, e.g. ``{}`` before defaults were recorded, keeps its)."""
        import pdes
        import storage

        cls = pdes.resolve(self.family_path or self.family)
        self.family, self.family_path = cls.name, pdes.family_path(cls)
        resolved = storage.to_json(self.family_object().options())
        self.family_options = resolved
        attrs = self._stored_attrs()
        if attrs.get("family") == self.family and attrs.get("family_options") != resolved:
            try:
                stored = pdes.get(cls, grid=tuple(self.grid), **attrs["family_options"])
            except (pdes.PDEError, TypeError):
                return
            if storage.to_json(stored.options()) == resolved:
                self.family_options = attrs["family_options"]

    def sample_check(self) -> None:
        """Assemble the first sample: a plugin's wrong shape, NaN/Inf, non-positive
        coefficient or mismatched sizes is bad input before anything is stored."""
        self.family_object().sample(0, self.seed)

    def _stored_attrs(self) -> dict[str, Any]:
        import storage

        try:
            return storage.open_dataset(self.out).attrs
        except storage.StorageError:
            return {}

    def _check_names(self) -> None:
        """Family, solver and option names, with a "did you mean", and whether the run fits
        in memory and on disk: before the family allocates anything of its size, and the
        cheap checks before the solver check imports its backend (torch: seconds)."""
        import pdes
        import solvers

        from ._checks import check_keys, check_name, check_solver_options

        family = self.family_path or self.family  # resolved: the class's import path
        if ":" not in family:  # a module:Class path is checked by importing it
            check_name("family", family, pdes.available())
        probe = pdes.get(family, grid=(3,) * len(self.grid))  # option names, fields
        check_keys(self.family_options, ["grid", *probe.options()], f"family {self.family}")
        for name in (self.solver, self.fallback):
            if name and not name.startswith("petsc:"):
                check_name("solver", name, [s for s in solvers.available() if "<" not in s])
        self._check_fits(len(probe.field_names))
        options = {"tol": self.tol, **({} if self.solver.startswith("petsc:") else
                                       {"device": self.device})}
        check_solver_options(self.solver, options, self.solver_options)

    def _check_fits(self, fields: int) -> None:
        from ._checks import check_fits, check_writable, estimate_bytes

        check_writable(self.out)
        chunk = self.chunk if self.chunk > 0 else default_chunk(self.n, self.workers)
        # blocks in flight on this machine: two in process, one per local worker
        blocks = 1 if self.dask_address else max(2, self.workers)
        memory, disk = estimate_bytes(self.grid, self.n, chunk, fields, self.solver_options,
                                      blocks=blocks)
        check_fits(self.out, memory, disk, blocks)

    def _adopt_store(self) -> None:
        """Refuse a store of another identity or size (a smaller one only with ``extend``);
        resume with its chunking (task boundaries)."""
        stored = self.stored()
        if stored is not None and stored[0] != self.n:
            if stored[0] > self.n or not self.extend:
                hint = "a store never shrinks" if stored[0] > self.n else "add --extend to grow it"
                raise SpecError(f"store {self.out} holds {stored[0]} samples, not --n {self.n}; "
                                f"{hint}")
        if self.chunk <= 0:
            self.chunk = stored[1] if stored else default_chunk(self.n, self.workers)

    def stored(self) -> tuple[int, int] | None:
        """(samples, chunk) of the store of this spec already at ``out``; None if there is
        none. A growth cut short counts as its old size when ``extend`` finishes it."""
        import storage

        without_n = {k: v for k, v in self.identity().items() if k != "n"}
        try:
            existing = storage.existing_dataset(self.out, without_n)
        except storage.InterruptedGrowth as exc:
            if not (self.extend and exc.target == self.n):
                raise
            return exc.n, exc.chunk
        return None if existing is None else (len(existing), existing.chunk)

    def family_object(self):
        import pdes

        return pdes.get(self.family_path or self.family, grid=tuple(self.grid),
                        **self.family_options)

    def solver_object(self):
        import solvers

        options = {"tol": self.tol, **self.solver_options}
        if not self.solver.startswith("petsc:"):
            options.setdefault("device", self.device)
        if solvers.accepts(self.solver, "state") and "://" not in self.out:
            # a bandit keeps learning next to the store: across blocks, runs and schedules
            options.setdefault("state", f"{self.out.rstrip('/')}.bandit.json")
        return solvers.get(self.solver, **options)

    def fallback_object(self):
        """The direct solver that redoes a sample the run's solver left above ``tol``."""
        import solvers

        return solvers.get(self.fallback, tol=self.tol)

    def identity(self) -> dict[str, Any]:
        """The attrs that make a store this spec's store (resume only into a matching one)."""
        import pdes

        if self.family_path is None:  # not validated yet (a schedule sizing its next run)
            self._resolve_family()
        cls = pdes.resolve(self.family_path)
        return {"family": self.family, "family_path": pdes.family_path(cls),
                "family_version": pdes.family_version(cls), "grid": list(self.grid),
                "seed": self.seed, "n": self.n, "family_options": self.family_options,
                "inputs_dtype": self.inputs_dtype}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_chunk(n: int, workers: int) -> int:
    """About four tasks per worker (load balance), at most 64 samples per task (resume grain)."""
    return max(1, min(64, math.ceil(n / (4 * workers))))


def task_blocks(n: int, chunk: int, first: int = 0) -> list[tuple[int, int]]:
    """Contiguous [start, stop) runs of positions first..n-1: one task and (from 0) one zarr
    chunk each."""
    return [(start, min(start + chunk, n)) for start in range(first, n, chunk)]


def check_dask_address(address: str, timeout: float = 3.0) -> None:
    """Fail fast (SpecError) when nothing listens at a tcp://host:port scheduler address."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if parsed.scheme not in ("tcp", "tls") or not parsed.hostname or not parsed.port:
        raise SpecError(f"--dask-address must look like tcp://host:port, got {address!r}")
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or exc
        raise SpecError(f"cannot reach Dask scheduler at {address}: {reason}") from None
