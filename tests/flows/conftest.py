import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("pdeforge")


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for every in-process flow test (start-up is costly)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def cli_env(prefect_harness) -> dict[str, str]:
    """The environment a user with `make server` running has: the CLI runs of the tests use
    the harness's API instead of each starting one (tests/flows/test_api.py covers that)."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PYTHONWARNINGS": "ignore", "PREFECT_API_URL": PREFECT_API_URL.value()}


@pytest.fixture(scope="session")
def pdeforge(cli_env):
    """The ``pdeforge`` command line, called as a function, as a user would."""

    def run(*args, timeout=600, api=True, **kwargs) -> subprocess.CompletedProcess:
        """``api=False``: as a user without any Prefect server configured."""
        env = cli_env if api else {k: v for k, v in cli_env.items() if k != "PREFECT_API_URL"}
        return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=env, **kwargs)

    return run


@pytest.fixture(scope="session")
def exe() -> Path:
    return EXE
