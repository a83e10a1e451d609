"""The ``generate`` flow: sample + order, one solve task per contiguous block, finalize.

Numerics live in pdes/solvers/storage; this module only wires them as Prefect tasks.
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

import storage

from ._api import shared_prefect_api
from ._env import project_root
from .runners import task_runner_for
from .spec import GenerateSpec, task_blocks

__all__ = ["block_features", "generate", "order_features", "plan_order", "run_generate",
           "scheduled_deployment", "solve_block"]


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


def plan_order(spec: GenerateSpec) -> list[int]:
    """Features computed in parallel (two tasks per worker: each task run has a fixed
    Prefect cost on a worker), then ordered in one task."""
    if spec.order == "none" or spec.n == 1:
        return list(range(spec.n))
    size = -(-spec.n // (2 * spec.workers))
    futures = [block_features.submit(spec, a, b) for a, b in task_blocks(spec.n, size)]
    return order_features(np.concatenate([f.result() for f in futures]), spec.order)


FALLBACK = "petsc:lu"  # a sample the chosen solver misses is retried once by this one


@task(name="solve-block", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def solve_block(spec: GenerateSpec, start: int, source: list[int]) -> dict[str, Any]:
    """Solve positions start.. of the order as one sequence and write their zarr chunk.

    The solver's recycled space / warm start / bandit state lives across the block; the
    block is written in one go, data first and status last (storage guarantees that).
    """
    family = spec.family_object()
    solver = spec.solver_object()
    dataset = storage.open_dataset(spec.out, mode="r+")
    inputs: dict[str, list] = {name: [] for name in family.field_names}
    params: dict[str, list] = {name: [] for name in (*family.param_names, *solver.param_names)}
    solution, iterations, residual, seconds, status = [], [], [], [], []
    failures: dict[int, str] = {}
    fallbacks: dict[int, str] = {}  # done by the fallback: why the first attempt failed
    samples = solver.solve_samples(family, source, spec.seed)  # in order; lanes assemble on
    for offset, (result, fields, values) in enumerate(samples):  # the device, no CSR there
        for name in inputs:
            inputs[name].append(fields[name])
        for name in family.param_names:
            params[name].append(values[name])
        for name in solver.param_names:  # what the solver chose per sample (SOR's omega)
            params[name].append(result.info[name])
        if not result.converged:  # recorded, then retried once by the direct solver
            attempt = (f"{spec.solver} stopped at true relative residual {result.residual:.3e} "
                       f"> tol {spec.tol:g} after {result.iterations} iterations")
            if spec.solver != FALLBACK:
                result = _fallback(spec, family, source[offset])
                attempt += f"; fallback {FALLBACK}: residual {result.residual:.3e}"
            (fallbacks if result.converged else failures)[start + offset] = attempt
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
    return {"start": start, "count": len(source), "failures": failures, "fallbacks": fallbacks,
            "iterations": int(np.sum(iterations)), "seconds": float(np.sum(seconds))}


@task(name="finalize", cache_policy=NO_CACHE)
def finalize(spec: GenerateSpec, reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Record failure and fallback reasons (the single writer of attrs); summarise the store."""
    dataset = storage.open_dataset(spec.out, mode="r+")
    failures = {k: v for r in reports for k, v in r["failures"].items()}
    if failures:
        dataset.record_failures(failures)
    fallbacks = {k: v for r in reports for k, v in r["fallbacks"].items()}
    if fallbacks:
        dataset.record_fallbacks(fallbacks)
    return dataset.summary()


def _fallback(spec: GenerateSpec, family, index: int):
    """The sample solved again by the direct solver (same tolerance on the true residual)."""
    import solvers

    return solvers.get(FALLBACK, tol=spec.tol).solve(family.sample(int(index), spec.seed))


def git_revision() -> str:
    """The checkout's revision (whatever the working directory), for the store's provenance."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              cwd=project_root(), text=True, timeout=5,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@flow(name="pdeforge-generate", log_prints=False)
def generate(spec: GenerateSpec, progress: bool = True) -> dict[str, Any]:
    """Generate ``spec.n`` solved samples into ``spec.out`` (resuming what is done)."""
    logger = get_run_logger()
    spec = spec.validate()
    with storage.writer_lock(spec.out):  # one writing run per store (held by this process)
        family = spec.family_object()
        solver = spec.solver_object()
        order = plan_order(spec)
        attrs = {**spec.identity(), "spacing": list(family.spacing), "solver": spec.solver,
                 "solver_options": _jsonable(solver.options()), "tolerance": spec.tol,
                 "order_method": spec.order, "chunk": spec.chunk, "git_revision": git_revision()}
        dataset = storage.create_dataset(
            spec.out, n=spec.n, grid=tuple(spec.grid), fields=family.field_names,
            params=(*family.param_names, *solver.param_names), chunk=spec.chunk,
            source_index=np.asarray(order), attrs=attrs)
        todo = [(a, b) for a, b in task_blocks(spec.n, spec.chunk) if len(dataset.pending(a, b))]
        logger.info("%d of %d blocks to solve (%s, %d samples, solver %s)", len(todo),
                    len(task_blocks(spec.n, spec.chunk)), spec.family, spec.n, spec.solver)
        futures = [solve_block.submit(spec, a, order[a:b]) for a, b in todo]
        reports = list(_progress(futures, total=sum(b - a for a, b in todo), enabled=progress))
        return finalize(spec, reports)


def scheduled_deployment(spec: GenerateSpec, cron: str):
    """A deployment of ``generate`` for ``spec`` on a cron schedule (served by ``serve``).

    Each scheduled run resumes the same store, so a run cut short is finished by the next.
    """
    flow_ = generate.with_options(task_runner=task_runner_for(spec))
    return flow_.to_deployment(name=f"generate-{spec.family}", cron=cron,
                               parameters={"spec": spec.as_dict(), "progress": False})


def run_generate(spec: GenerateSpec, progress: bool = True) -> dict[str, Any]:
    """Run ``generate`` on the task runner the spec asks for (threads, LocalCluster, scheduler).

    The store's writer lock is taken first, so a second run on the same store fails at
    once (StorageError) before any Prefect start-up; then one Prefect API serves the run.
    """
    with storage.writer_lock(spec.out), shared_prefect_api():
        return generate.with_options(task_runner=task_runner_for(spec))(spec, progress=progress)


def _progress(futures, total: int, enabled: bool):
    """Yield block reports as they finish, with a samples progress bar on stderr."""
    from prefect.futures import as_completed
    from tqdm import tqdm

    with tqdm(total=total, unit="sample", desc="solve", disable=not enabled, leave=False) as bar:
        for future in as_completed(futures):
            report = future.result()
            bar.update(report["count"])
            yield report


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)
            for k, v in options.items()}
