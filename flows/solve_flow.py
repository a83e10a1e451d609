"""The ``solve`` flow: another tool's sparse systems, sorted, solved as one sequence, stored.

Reading lives in storage (``read_systems``), sorting and solving in solvers
(``sequence_features``, ``solve_in_order``); this module wires them as a Prefect flow that
writes a pdeforge store (one position per system, ``status`` and ``stats`` as ``generate``
writes them), resumes a partial one and holds the store's writer lock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

import storage

from ._api import shared_prefect_api
from .solve import SolveSpec
from .spec import task_blocks

__all__ = ["run_solve", "solve_runs", "solve_systems"]


@task(name="solve-systems", cache_policy=NO_CACHE)
def solve_runs(spec: SolveSpec, order: list[int], runs: list[tuple[int, int]]
               ) -> dict[str, Any]:
    """Solve the positions of ``runs`` as one sorted sequence; write each run (inside one
    chunk) once its last system is solved, data first and status last."""
    import solvers

    began = time.time()
    _, systems = spec.linear_systems()
    dataset = storage.open_dataset(spec.out, mode="r+")
    chain = [systems[order[p]] for a, b in runs for p in range(a, b)]
    results = solvers.solve_in_order(chain, spec.solver_object())
    failures: dict[int, str] = {}
    iterations = seconds = 0.0
    devices: set[str] = set()
    for a, b in runs:
        block = [next(results) for _ in range(a, b)]
        for position, result in enumerate(block, start=a):
            if not result.converged:
                failures[position] = _reason(spec, result)
            devices.add(str(result.info.get("device", "cpu")))
        dataset.write_block(
            a, inputs={}, params={}, solution=np.stack([r.x for r in block]),
            iterations=[r.iterations for r in block], residual=[r.residual for r in block],
            seconds=[r.seconds for r in block],
            status=[storage.DONE if r.converged else storage.FAILED for r in block])
        iterations += sum(r.iterations for r in block)
        seconds += sum(r.seconds for r in block)
    return {"count": len(chain), "failures": failures, "fallbacks": {},
            "iterations": int(iterations), "seconds": seconds,
            "device": ",".join(sorted(devices)) or "cpu", "interval": (began, time.time())}


def _reason(spec: SolveSpec, result) -> str:
    if "reason" in result.info:
        return result.info["reason"]
    return (f"not converged: {spec.solver} stopped at true relative residual "
            f"{result.residual:.3e} > tol {spec.tol:g} after {result.iterations} iterations")


@flow(name="pdeforge-solve", log_prints=False)
def solve_systems(spec: SolveSpec) -> dict[str, Any]:
    """Solve the folder's systems into ``spec.out`` (resuming what a store holds)."""
    import solvers

    from ._provenance import run_provenance
    from .generate import finalize

    started, clock = datetime.now(UTC), time.perf_counter()
    with storage.writer_lock(spec.out):
        storage.remove_partial_writes(spec.out)
        names, systems = spec.linear_systems()
        identity = spec.identity(len(systems), systems[0].size)
        existing = storage.existing_dataset(spec.out, identity)
        if existing is not None:
            order = existing.source_index[:].tolist()
        else:
            features = solvers.sequence_features(systems)
            order = [int(i) for i in solvers.order(features, method=spec.order)]
        provenance = run_provenance(spec.solver_object())
        attrs = {**identity, "system_names": names, "systems": spec.systems,
                 "solver": spec.solver, "solver_options": spec.solver_options,
                 "tolerance": spec.tol, "order_method": spec.order, "chunk": spec.chunk,
                 **{k: v for k, v in provenance.items() if k == "git_revision"}}
        dataset = storage.create_dataset(
            spec.out, n=len(systems), grid=(systems[0].size,), fields=(), params=(),
            chunk=spec.chunk, source_index=np.asarray(order), attrs=attrs,
            solution_dtype="float64")
        runs = []
        for a, b in task_blocks(len(systems), spec.chunk):
            pending = dataset.pending(a, b)
            if len(pending):
                runs.append((int(pending[0]), b))
        reports = [solve_runs(spec, order, runs)] if runs else []
        run = {"started": started.isoformat(timespec="seconds"),
               "seconds": time.perf_counter() - clock, "solver": spec.solver,
               "task_runner": "in-process", **provenance}
        return finalize(spec, reports, run)


def run_solve(spec: SolveSpec) -> dict[str, Any]:
    """Validate, take the writer lock (a second run fails at once), then run the flow."""
    spec.validate()
    with storage.writer_lock(spec.out), shared_prefect_api():
        return solve_systems(spec)
