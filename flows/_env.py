"""Prefect settings applied before prefect is imported: project-local home, lean start-up."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["configure_prefect", "project_root"]


def project_root() -> Path:
    """The checkout holding pyproject.toml (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def configure_prefect() -> None:
    """Keep runs out of the user's home and cut what the embedded API does at start-up.

    Every value is a default: an explicit environment variable (a real server's
    PREFECT_API_URL, say) wins.
    """
    defaults = {
        "PREFECT_HOME": str(project_root() / ".prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # the per-run API is stopped right after the flow: its event consumers, cancelled
        # mid-flush, would print tracebacks about events of a database nobody reads
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "DASK_LOGGING__DISTRIBUTED": "warning",
        # per-sample vectors are small; parallelism comes from workers, not BLAS threads
        "OPENBLAS_NUM_THREADS": "1",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    # PETSc's own SIGINT/SIGTERM handlers abort the process (exit -6); the CLI's handlers
    # stop a run cleanly with exit 130 instead
    petsc = os.environ.get("PETSC_OPTIONS", "")
    if "-no_signal_handler" not in petsc:
        os.environ["PETSC_OPTIONS"] = f"{petsc} -no_signal_handler".strip()
