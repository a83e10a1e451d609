"""One Prefect API for a whole run, shared by the flow process and every Dask worker.

Without ``PREFECT_API_URL`` each process that runs a task (every Dask worker) would start a
temporary server of its own on its first task (seconds each, and left running in a
long-lived worker). The flow process uses, in this order: the configured server; a server
already running at ``PDEFORGE_LOCAL_API`` (default ``make server``'s
http://127.0.0.1:4200/api; empty: never); the server kept between runs (``_kept_api``,
started by the first run, gone after ``PDEFORGE_API_IDLE_MINUTES`` idle); with that set
to 0, a server process of its own, started as early as the input is known good
(``start_api_early``) so that its start-up overlaps the flow process's imports, and
stopped when the run ends. The settings context that Prefect
ships with each task points the workers at it.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from ._kept_api import free_port, idle_minutes, kept_api

__all__ = ["LOCAL_API", "RunAPI", "drain_prefect_clients", "reusable_api",
           "shared_prefect_api", "start_api_early"]

LOCAL_API = "http://127.0.0.1:4200/api"  # where `make server` (prefect server start) listens
_early: RunAPI | None = None


class RunAPI:
    """A Prefect API server process for one run: uvicorn on a free local port.

    Started with ``subprocess.Popen`` (what Prefect's own temporary server runs), so the
    flow process never imports the server's code (FastAPI, SQLAlchemy: seconds).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # the server's stderr, read if it fails

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> RunAPI:
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port",
             str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log)
        atexit.register(self.stop)  # a run that never got to use it still stops it
        return self

    def wait(self, timeout: float = 120.0) -> str:
        """Block until the server answers its health check; its URL."""
        deadline = time.monotonic() + timeout
        while not _healthy(self.url):
            if self.process.poll() is not None:
                self._log.seek(0)
                stderr = self._log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"the Prefect API server exited with code "
                                   f"{self.process.returncode}: {stderr}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Prefect API server did not start in {timeout:.0f} s")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def reusable_api() -> str | None:
    """The API a run should use without starting one: the configured one, else a healthy
    server at ``PDEFORGE_LOCAL_API``; None when there is neither."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or _running_local_api()


def start_api_early() -> None:
    """Start this run's own server now, in the background, when it will need one."""
    global _early
    if _early is None and not idle_minutes() and not _configured() and not _running_local_api():
        _early = RunAPI().start()


def _configured() -> bool:
    """Whether PREFECT_API_URL is set (in a settings context too, once Prefect is loaded:
    importing it only to ask would cost the overlap ``start_api_early`` is for)."""
    settings = sys.modules.get("prefect.settings")
    if settings is not None:
        return bool(settings.PREFECT_API_URL.value())
    return bool(os.environ.get("PREFECT_API_URL"))


def _running_local_api() -> str | None:
    local = os.environ.get("PDEFORGE_LOCAL_API", LOCAL_API)
    return local if local and _healthy(local, timeout=0.5) else None


@contextmanager
def shared_prefect_api() -> Iterator[str]:
    """Yield the API URL the run uses: a configured or running server's, else its own."""
    global _early
    from prefect.settings import PREFECT_API_URL, temporary_settings

    reused = reusable_api()
    if reused:
        yield reused
        return
    with ExitStack() as stack:
        if idle_minutes():
            url = stack.enter_context(kept_api(_healthy))
        else:
            server, _early = _early or RunAPI().start(), None
            stack.callback(server.stop)
            url = server.wait()
        stack.enter_context(temporary_settings({PREFECT_API_URL: url}))
        stack.callback(drain_prefect_clients)
        yield url


def drain_prefect_clients(timeout: float = 30.0) -> None:
    """Send the logs and events still queued for the run's server before it stops.

    Items left queued for a stopped server are retried at interpreter exit, and that
    exit then waits on them without end (seen: a test process hung after its last test).
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout, at_exit=False)


def _healthy(url: str, timeout: float = 2.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local: no proxy
    try:
        with opener.open(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False
