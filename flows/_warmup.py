"""Dask worker preload: import the numerics when a worker starts, not in its first task.

A new worker's first task otherwise pays for importing Prefect's task engine, NumPy,
SciPy, PETSc and torch (seconds on a small machine) while the other workers wait on the
block it holds. LocalClusters made for a run preload it (``flows.runners``), and so do
the workers of ``make cluster`` (``dask worker --preload flows._warmup``).
"""

from __future__ import annotations

import importlib
import logging

__all__ = ["MODULES", "dask_setup"]

MODULES = ("numpy", "scipy.sparse", "zarr", "prefect.task_engine", "pdes", "solvers",
           "storage", "flows.generate", "petsc4py.PETSc", "torch")

log = logging.getLogger(__name__)


def dask_setup(worker) -> None:
    """Called by Dask at the worker's start: import MODULES (a missing optional backend is
    only logged: the task that needs it will say so)."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            log.warning("warm-up: %s not imported: %s", name, exc)
