"""Which Prefect task runner a run uses: in-process threads, a LocalCluster, or a scheduler."""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from .spec import GenerateSpec

__all__ = ["local_cluster_runner", "task_runner_for"]


def task_runner_for(spec: GenerateSpec):
    """Threads for one worker (no cluster start-up); Dask processes for more or for an address.

    Solve blocks hold the GIL in PETSc calls, so parallel solving needs processes: a
    ``distributed.LocalCluster`` with one thread per worker, or an existing scheduler.
    """
    if spec.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=spec.dask_address)
    if spec.workers > 1:
        return local_cluster_runner(spec.workers)
    return ThreadPoolTaskRunner(max_workers=1)


def local_cluster_runner(workers: int):
    """A ``distributed.LocalCluster`` of single-thread worker processes, made per flow run."""
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})
