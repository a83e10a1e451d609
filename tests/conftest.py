"""Shared test set-up: Prefect state under a temporary home, never the user's."""

import os
import sys
import tempfile

import pytest

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="pdeforge-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# each run starts its own Prefect API and stops it: no server kept after a test's command,
# and no `make server` that someone runs on the machine is used (flows._api)
os.environ["PDEFORGE_API_IDLE_MINUTES"] = "0"
os.environ["PDEFORGE_LOCAL_API"] = ""


def pytest_unconfigure(config) -> None:
    """Bound the interpreter's exit after the last test: Prefect's exit hooks retry queued
    logs and events against servers the tests have stopped, once without end (CI hung an
    hour after '302 passed'). The exit status pytest chose is kept."""
    import sys
    import threading
    import time

    status = getattr(config, "_pdeforge_exitstatus", 0)

    def force_exit() -> None:
        time.sleep(60)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

    threading.Thread(target=force_exit, daemon=True).start()


def pytest_sessionfinish(session, exitstatus) -> None:
    session.config._pdeforge_exitstatus = int(exitstatus)


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(prefix)`` makes every write of a store key under ``prefix`` fail as a full
    disk does (ENOSPC); ``full_disk(None)`` frees the space again."""
    import errno

    from zarr.storage import LocalStore

    real_set = LocalStore.set

    def fill(prefix: str | None) -> None:
        async def set_(self, key, value, *args, **kwargs):
            if prefix is not None and key.startswith(prefix):
                raise OSError(errno.ENOSPC, "No space left on device")
            return await real_set(self, key, value, *args, **kwargs)

        monkeypatch.setattr(LocalStore, "set", set_ if prefix is not None else real_set)

    return fill


@pytest.fixture
def cli_main(capsys, monkeypatch):
    """The CLI in the test's process, for commands that start no Prefect flow (rejected
    input, info, export): ``cli_main(*args) -> (exit code, stdout, stderr)``."""

    def run(*args: object) -> tuple[int, str, str]:
        from cli import main

        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["pdeforge", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
