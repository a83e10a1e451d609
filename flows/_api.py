"""One Prefect API for a whole run, shared by the flow process and every Dask worker.

Without ``PREFECT_API_URL`` each process that runs a task (every Dask worker) would start a
temporary server of its own on its first task (seconds each, and left running in a
long-lived worker). The flow process starts one instead, and the settings context that
Prefect ships with each task points the workers at it; it is stopped when the run ends.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["drain_prefect_clients", "shared_prefect_api"]


@contextmanager
def shared_prefect_api() -> Iterator[str]:
    """Yield the API URL the run uses: a configured server's, else one started for the run."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    if configured:  # `make server`, a Prefect Cloud workspace, or a test harness
        yield configured
        return
    server = SubprocessASGIServer(port=_free_port())
    server.start()
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                drain_prefect_clients()
    finally:
        server.stop()


def drain_prefect_clients(timeout: float = 30.0) -> None:
    """Send the logs and events still queued for the run's server before it stops.

    Items left queued for a stopped server are retried at interpreter exit, and that
    exit then waits on them without end (seen: a test process hung after its last test).
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout, at_exit=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
