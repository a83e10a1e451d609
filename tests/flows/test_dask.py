"""Generation on real Dask clusters: a LocalCluster and an existing scheduler's workers."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import storage

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_store(out: Path, n: int) -> None:
    ds = storage.open_dataset(str(out))
    assert (np.asarray(ds.status[:]) == storage.DONE).all()
    assert sorted(np.asarray(ds.source_index[:]).tolist()) == list(range(n))
    assert float(np.max(ds.stats["residual"][:])) <= 1e-9


def test_local_cluster_with_two_workers(pdeforge, tmp_path):
    out = tmp_path / "local.zarr"
    p = pdeforge("generate", "--family", "poisson", "--grid", "20", "--n", "12", "--chunk", "3",
                 "--workers", "2", "--solver", "petsc:cg+icc", "--tol", "1e-10", "--out", out)
    assert p.returncode == 0, p.stderr
    _check_store(out, 12)


@pytest.fixture
def scheduler(tmp_path):
    """A dask scheduler and two single-thread worker processes on the loopback."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                               address.rsplit(":", 1)[1], "--no-dashboard"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(2)
    procs.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "2", "--nthreads",
                                   "1", "--no-dashboard"], cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    yield address
    for proc in reversed(procs):
        proc.terminate()
        proc.wait(timeout=30)


def test_existing_scheduler(pdeforge, scheduler, tmp_path):
    out = tmp_path / "remote.zarr"
    p = pdeforge("generate", "--family", "darcy", "--grid", "20", "--n", "10", "--chunk", "5",
                 "--dask-address", scheduler, "--solver", "petsc:cg+icc", "--tol", "1e-10",
                 "--out", out)
    assert p.returncode == 0, p.stderr
    _check_store(out, 10)
