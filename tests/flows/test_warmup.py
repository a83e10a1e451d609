"""Workers of a run's LocalCluster import the numerics as they start, before any task."""

import sys


def _loaded() -> list[str]:
    return [name for name in ("petsc4py.PETSc", "torch", "solvers", "prefect.task_engine")
            if name in sys.modules]


def test_local_cluster_workers_start_with_the_numerics_imported():
    from distributed import Client, LocalCluster

    from flows.runners import local_cluster_runner

    kwargs = local_cluster_runner(1).cluster_kwargs
    with LocalCluster(**kwargs) as cluster, Client(cluster) as client:
        loaded = list(client.run(_loaded).values())
    assert loaded == [["petsc4py.PETSc", "torch", "solvers", "prefect.task_engine"]]
