import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("pdeforge")


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for every in-process flow test (start-up is costly).

    Its teardown is bounded: the queued logs and events are sent with a timeout first (the
    harness's own drain has none, and once kept its exit waiting for more than ten minutes),
    then the harness stops its server in this thread, where it set its settings context.
    """
    from prefect.testing.utilities import prefect_test_harness

    from flows._api import drain_prefect_clients

    with prefect_test_harness(server_startup_timeout=120):
        yield
        drain_prefect_clients(timeout=60)


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    """The environment of a user with no Prefect server configured: each CLI run starts its
    own API and stops it (sharing the harness's API left its teardown hanging after a
    SIGKILLed client; tests/flows/test_api.py covers the one-API-per-run behaviour)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PREFECT_API_URL", None)
    return env


@pytest.fixture(scope="session")
def pdeforge(cli_env):
    """The ``pdeforge`` command line, called as a function, as a user would."""

    def run(*args, timeout=600, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=cli_env, **kwargs)

    return run


@pytest.fixture(scope="session")
def exe() -> Path:
    return EXE
