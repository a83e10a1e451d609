"""A Prefect API server kept between runs, so that a short run does not pay a server start.

The first run that needs an API starts this module as a process of its own session; its
address is written to ``$PREFECT_HOME/pdeforge-api.json`` and later runs reuse it. Every
run holds a shared lock on ``pdeforge-api.lease`` while it uses the server; the server
exits once it has seen no request for ``PDEFORGE_API_IDLE_MINUTES`` (default 10) and no
run holds the lease. ``PDEFORGE_API_IDLE_MINUTES=0``: no kept server, one per run.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["free_port", "idle_minutes", "kept_api", "serve"]


def idle_minutes() -> float:
    """How long a kept server waits for the next run; 0: keep none."""
    try:
        return max(0.0, float(os.environ.get("PDEFORGE_API_IDLE_MINUTES", "10")))
    except ValueError:
        return 10.0


def _home() -> Path:
    from ._env import project_root

    home = Path(os.environ.get("PREFECT_HOME") or project_root() / ".prefect")
    home.mkdir(parents=True, exist_ok=True)
    return home


@contextmanager
def kept_api(healthy, timeout: float = 120.0) -> Iterator[str]:
    """Yield the kept server's URL (started if none answers), holding the run's lease."""
    home = _home()
    lease = os.open(home / "pdeforge-api.lease", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lease, fcntl.LOCK_SH)  # taken before the check: the server cannot quit
        url = _recorded(home)
        if not (url and healthy(url)):
            url = _start(home, healthy, timeout)
        yield url
    finally:
        os.close(lease)


def _recorded(home: Path) -> str | None:
    with suppress(OSError, ValueError, KeyError):
        return json.loads((home / "pdeforge-api.json").read_text())["url"]
    return None


def _start(home: Path, healthy, timeout: float) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    with open(home / "pdeforge-api.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows._kept_api", str(port), str(60 * idle_minutes())],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)  # outlives this command; not killed by its Ctrl-C
    deadline = time.monotonic() + timeout
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the Prefect API server did not start; see "
                               f"{home / 'pdeforge-api.log'}")
        time.sleep(0.05)
    (home / "pdeforge-api.json").write_text(json.dumps({"url": url, "pid": process.pid}))
    return url


def serve(port: int, idle_seconds: float) -> None:
    """Serve the Prefect API on ``port`` until idle for ``idle_seconds`` with no lease held."""
    import uvicorn
    from prefect.server.api.server import create_app

    app = create_app(ephemeral=True, final=True)
    last = [time.monotonic()]

    async def tracked(scope, receive, send):
        last[0] = time.monotonic()
        await app(scope, receive, send)

    server = uvicorn.Server(uvicorn.Config(tracked, host="127.0.0.1", port=port,
                                           log_level="error", lifespan="on"))
    lease_path = _home() / "pdeforge-api.lease"

    def watch() -> None:
        while True:
            time.sleep(min(5.0, idle_seconds))
            if time.monotonic() - last[0] < idle_seconds:
                continue
            lease = os.open(lease_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no run holds it
            except BlockingIOError:
                os.close(lease)
                continue
            with suppress(OSError):
                (_home() / "pdeforge-api.json").unlink()
            server.should_exit = True  # the lease file closes with this process
            return

    threading.Thread(target=watch, daemon=True).start()
    server.run()


if __name__ == "__main__":
    serve(int(sys.argv[1]), float(sys.argv[2]))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
