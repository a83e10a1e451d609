"""Which Prefect task runner a run uses: in-process threads, a LocalCluster, or a scheduler."""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from .spec import GenerateSpec

__all__ = ["task_runner_for"]


def task_runner_for(spec: GenerateSpec):
    """Threads for one worker (no cluster start-up); Dask processes for more or for an address.

    Solve blocks hold the GIL in PETSc calls, so parallel solving needs processes: a
    ``distributed.LocalCluster`` with one thread per worker, or an existing scheduler.
    """
    if spec.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=spec.dask_address)
    if spec.workers > 1:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                              cluster_kwargs={"n_workers": spec.workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    return ThreadPoolTaskRunner(max_workers=1)
