"""The ``generate`` flow: sample + order, one solve task per contiguous block, finalize.

Numerics live in pdes/solvers/storage; this module only wires them as Prefect tasks.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

import storage

from ._api import shared_prefect_api
from ._interrupt import Interrupted, stop_on_signals, stop_requested
from ._provenance import jsonable, run_provenance
from .runners import runner_label, task_runner_for
from .spec import GenerateSpec, task_blocks

__all__ = ["block_features", "busy_seconds", "fall_back", "generate", "order_features",
           "pending_runs", "plan_order", "run_generate", "solve_block", "store_order"]


@task(name="features", cache_policy=NO_CACHE)
def block_features(spec: GenerateSpec, start: int, stop: int) -> np.ndarray:
    """Ordering features of samples start..stop-1 (cheap: no assembly), on any worker."""
    family = spec.family_object()
    return np.stack([family.features(i, spec.seed) for i in range(start, stop)])


@task(name="order", cache_policy=NO_CACHE)
def order_features(features: np.ndarray, method: str) -> list[int]:
    """The solve order: similar systems next to each other (SKR's sort)."""
    import solvers

    return [int(i) for i in solvers.order(features, method=method)]


def plan_order(spec: GenerateSpec, start: int = 0) -> list[int]:
    """The solve order of samples start..n-1: features computed in parallel (two tasks per
    worker: each task run has a fixed Prefect cost on a worker), then ordered in one task."""
    count = spec.n - start
    if spec.order == "none" or count == 1:
        return list(range(start, spec.n))
    size = -(-count // (2 * spec.workers))
    futures = [block_features.submit(spec, a, b) for a, b in task_blocks(spec.n, size, start)]
    local = order_features(np.concatenate([f.result() for f in futures]), spec.order)
    return [start + i for i in local]


def store_order(spec: GenerateSpec) -> list[int] | None:
    """The order a store already holds (grown by the new samples' own order on ``extend``:
    the stored samples keep their positions); None when there is no store yet."""
    stored = spec.stored()
    if stored is None:
        return None
    if stored[0] < spec.n:  # validate() allowed this only with extend
        return storage.grow_dataset(spec.out, np.asarray(plan_order(spec, stored[0]))
                                    ).source_index[:].tolist()
    return storage.open_dataset(spec.out).source_index[:].tolist()


@task(name="solve-block", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def solve_block(spec: GenerateSpec, start: int, source: list[int]) -> dict[str, Any]:
    """Solve positions start.. of the order as one sequence and write their zarr chunk.

    The solver's recycled space / warm start / bandit state lives across the block; the
    block is written in one go, data first and status last (storage guarantees that).
    A sample that misses ``tol`` is solved once more by ``spec.fallback`` (direct).
    """
    began = time.time()  # wall clock: blocks on other workers are on the same time line
    family = spec.family_object()
    solver = spec.solver_object()
    dataset = storage.open_dataset(spec.out, mode="r+")
    inputs: dict[str, list] = {name: [] for name in family.field_names}
    params: dict[str, list] = {name: [] for name in (*family.param_names, *solver.param_names)}
    solution, iterations, residual, seconds, status = [], [], [], [], []
    failures: dict[int, str] = {}
    fallbacks: dict[int, str] = {}  # first attempt's reason of samples the fallback solved
    samples = solver.solve_samples(family, source, spec.seed)  # in order; lanes assemble on
    for offset, (first, fields, values) in enumerate(samples):  # the device, no CSR there
        if stop_requested():  # interrupted: write nothing, the block stays pending
            return {"start": start, "count": 0, "failures": {}, "fallbacks": {},
                    "iterations": 0, "seconds": 0.0, "device": "-", "interval": None}
        result = first
        if not first.converged:
            result, reason = fall_back(spec, family, source[offset], first)
            (fallbacks if result.converged else failures)[start + offset] = reason
        for name in inputs:
            inputs[name].append(fields[name])
        for name in family.param_names:
            params[name].append(values[name])
        for name in solver.param_names:  # what the solver chose per sample (SOR's omega)
            params[name].append(first.info[name])
        solution.append(result.x.reshape(family.grid))
        iterations.append(result.iterations)
        residual.append(result.residual)
        seconds.append(result.seconds)
        status.append(1 if result.converged else 2)
    dataset.write_block(
        start,
        inputs={k: np.stack(v) for k, v in inputs.items()},
        solution=np.stack(solution),
        params={k: np.asarray(v, dtype=np.float64) for k, v in params.items()},
        iterations=np.asarray(iterations), residual=np.asarray(residual),
        seconds=np.asarray(seconds), status=np.asarray(status, dtype=np.uint8))
    device = first.info.get("device", "cpu")
    get_run_logger().info(
        "block %d..%d: %d iterations, %.2f s solving on %s, %d by fallback, %d failed",
        start, start + len(source) - 1, sum(iterations), sum(seconds), device, len(fallbacks),
        len(failures))
    return {"start": start, "count": len(source), "failures": failures, "fallbacks": fallbacks,
            "iterations": int(np.sum(iterations)), "seconds": float(np.sum(seconds)),
            "device": device, "choice": first.info.get("choice", ""),
            "interval": (began, time.time())}


def fall_back(spec: GenerateSpec, family, index: int, first) -> tuple[Any, str]:
    """Solve sample ``index`` once more with the fallback solver: (the result to store, the
    first attempt's reason and the fallback's outcome)."""
    reason = (f"not converged: {spec.solver} stopped at true relative residual "
              f"{first.residual:.3e} > tol {spec.tol:g} after {first.iterations} iterations")
    if not spec.fallback or spec.fallback == spec.solver:
        return first, reason
    try:
        result = spec.fallback_object().solve(family.sample(int(index), spec.seed))
    except Exception as exc:  # noqa: BLE001 - a failed sample must not fail its block
        return first, f"fallback error: {reason}; fallback {spec.fallback} raised {exc!r}"
    return result, f"{reason}; fallback {spec.fallback}: residual {result.residual:.3e}"


@task(name="finalize", cache_policy=NO_CACHE)
def finalize(spec: GenerateSpec, reports: list[dict[str, Any]], run: dict[str, Any]
             ) -> dict[str, Any]:
    """Record failure reasons, fallbacks and the run (the single writer of attrs) and
    summarise the store."""
    dataset = storage.open_dataset(spec.out, mode="r+")
    failures = {k: v for r in reports for k, v in r["failures"].items()}
    if failures:
        dataset.record_failures(failures)
    fallbacks = {k: v for r in reports for k, v in r["fallbacks"].items()}
    if fallbacks:
        dataset.record_fallbacks(fallbacks)
    solved = [r for r in reports if r["count"]]
    if solved:  # a run that solved nothing (a complete store) leaves no record
        dataset.record_run({**run, "solved": sum(r["count"] for r in solved),
                            "failed": len(failures), "fallbacks": len(fallbacks),
                            # wall seconds with a block at work (blocks overlap: two
                            # in process, one per worker), and the samples' own seconds
                            "solve_seconds": busy_seconds([r["interval"] for r in solved]),
                            "sample_seconds": sum(r["seconds"] for r in solved),
                            "iterations": sum(r["iterations"] for r in solved),
                            "devices": sorted({r["device"] for r in solved}),
                            "choices": sorted({r["choice"] for r in solved if r.get("choice")})})
    return dataset.summary()


@flow(name="pdeforge-generate", log_prints=False)
def generate(spec: GenerateSpec, progress: bool = True) -> dict[str, Any]:
    """Generate ``spec.n`` solved samples into ``spec.out`` (resuming what is done, growing
    a smaller store of the same spec with ``spec.extend``)."""
    logger = get_run_logger()
    started, clock = datetime.now(UTC), time.perf_counter()
    spec = spec.validate()
    with storage.writer_lock(spec.out):  # one writing run per store (held by this process)
        removed = storage.remove_partial_writes(spec.out)
        if removed:
            logger.warning("removed %d partial files a killed writer left: %s", len(removed),
                           ", ".join(removed[:5]))
        family = spec.family_object()
        solver = spec.solver_object()
        provenance = run_provenance(solver)
        order = store_order(spec) or plan_order(spec)
        attrs = {**spec.identity(), "spacing": list(family.spacing), "solver": spec.solver,
                 "solver_options": jsonable(solver.options()), "tolerance": spec.tol,
                 "order_method": spec.order, "chunk": spec.chunk,
                 **{k: v for k, v in provenance.items() if k == "git_revision"}}
        dataset = storage.create_dataset(
            spec.out, n=spec.n, grid=tuple(spec.grid), fields=family.field_names,
            params=(*family.param_names, *solver.param_names), chunk=spec.chunk,
            source_index=np.asarray(order), attrs=attrs, inputs_dtype=spec.inputs_dtype)
        todo = pending_runs(dataset, spec)
        logger.info("%d of %d blocks to solve (%s, %d samples, solver %s)", len(todo),
                    len(task_blocks(spec.n, spec.chunk)), spec.family, spec.n, spec.solver)
        with stop_on_signals() as stop:
            futures = [solve_block.submit(spec, a, order[a:b]) for a, b in todo]
            reports = list(_progress(futures, total=sum(b - a for a, b in todo),
                                     enabled=progress, stop=stop))
        run = {"started": started.isoformat(timespec="seconds"),
               "seconds": time.perf_counter() - clock, "solver": spec.solver,
               "task_runner": runner_label(spec), "interrupted": stop.is_set(),
               **provenance}
        return {**finalize(spec, reports, run), "interrupted": stop.is_set()}


def busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of (start, end) intervals: wall time with any block at work."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def pending_runs(dataset: storage.Dataset, spec: GenerateSpec) -> list[tuple[int, int]]:
    """Per task block, the run from its first position not done to its end: what a resume
    (or a grown store's last old chunk) still solves; done samples before it keep their bytes."""
    runs = []
    for a, b in task_blocks(spec.n, spec.chunk):
        pending = dataset.pending(a, b)
        if len(pending):
            runs.append((int(pending[0]), b))
    return runs


def run_generate(spec: GenerateSpec, progress: bool = True) -> dict[str, Any]:
    """Run ``generate`` on the task runner the spec asks for (threads, LocalCluster, scheduler).

    The store's writer lock is taken first, so a second run on the same store fails at
    once (StorageError) before any Prefect start-up; then one Prefect API serves the run.
    """
    with storage.writer_lock(spec.out), shared_prefect_api():
        summary = generate.with_options(task_runner=task_runner_for(spec))(
            spec, progress=progress)
    if summary.pop("interrupted", False):
        raise Interrupted(summary["done"], summary["n"])
    return summary


def _progress(futures, total: int, enabled: bool, stop):
    """Yield block reports as they finish, with a samples progress bar on stderr; once
    ``stop`` is set, blocks not started are cancelled and running ones end early."""
    from prefect.futures import wait
    from tqdm import tqdm

    pending = list(futures)
    with tqdm(total=total, unit="sample", desc="solve", disable=not enabled, leave=False) as bar:
        while pending:
            finished, _ = wait(pending, timeout=0.25)
            for future in finished:
                pending.remove(future)
                report = future.result()
                # a Dask future kept after its result is read is recomputed when its worker
                # dies (PrefectHQ/prefect#15442): release it, so only in-flight blocks rerun
                getattr(future.wrapped_future, "release", lambda: None)()
                bar.update(report["count"])
                yield report
            if stop.is_set():
                pending = [f for f in pending if not f.wrapped_future.cancel()]

