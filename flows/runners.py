"""Which Prefect task runner a run uses: in-process threads, a LocalCluster, or a scheduler."""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from .spec import GenerateSpec

__all__ = ["IN_PROCESS_BLOCKS", "local_cluster_runner", "runner_label", "task_runner_for"]

IN_PROCESS_BLOCKS = 2  # blocks in flight in one process (see task_runner_for)


def task_runner_for(spec: GenerateSpec):
    """Threads for one worker (no cluster start-up); Dask processes for more or for an address.

    In process, two blocks are in flight, so one block's sampling and zarr write overlap
    the other's solve and the device stays busy; the torch (lane) solvers release the GIL,
    so on the 2-core CPU two blocks also solve at once (darcy 100^2, n = 256: 16.7 against
    24.9 ms/sample with one thread). Solve blocks hold the GIL in PETSc calls, so parallel
    PETSc solving needs processes: a ``distributed.LocalCluster`` with one thread per
    worker, or an existing scheduler.
    """
    if spec.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=spec.dask_address)
    if spec.workers > 1:
        return local_cluster_runner(spec.workers)
    return ThreadPoolTaskRunner(max_workers=IN_PROCESS_BLOCKS)


def runner_label(spec: GenerateSpec) -> str:
    """Where a run's blocks solve, in words (recorded with the run in the store)."""
    if spec.dask_address:
        return f"dask scheduler {spec.dask_address}"
    if spec.workers > 1:
        return f"LocalCluster of {spec.workers} workers"
    return f"in process ({IN_PROCESS_BLOCKS} blocks in flight)"


def local_cluster_runner(workers: int):
    """A ``distributed.LocalCluster`` of single-thread worker processes, made per flow run;
    each worker imports the numerics as it starts (``flows._warmup``)."""
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None,
                                          "preload": ["flows._warmup"]})
