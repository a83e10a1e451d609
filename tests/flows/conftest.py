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


def _pdeforge(*args, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed CLI as a user would."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


@pytest.fixture(scope="session")
def pdeforge():
    """The ``pdeforge`` command line, called as a function."""
    return _pdeforge


@pytest.fixture(scope="session")
def exe() -> Path:
    return EXE
