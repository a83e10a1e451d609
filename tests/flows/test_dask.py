"""Generation on real Dask clusters: a LocalCluster and an existing scheduler's workers."""

import os
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


def test_local_cluster_with_two_workers_and_a_plugin_family(cli_env, tmp_path):
    """Worker processes import the family (general level, nonsymmetric) from the path the
    run records: ``--family module:Class``, the module found on PYTHONPATH only."""
    out = tmp_path / "local.zarr"
    env = {**cli_env, "PYTHONPATH": os.pathsep.join(
        p for p in (str(Path(__file__).parent), cli_env.get("PYTHONPATH", "")) if p)}
    p = subprocess.run([str(Path(sys.executable).with_name("pdeforge")), "generate", "--family",
                        "plugin_families:Tilted", "--grid", "20", "--n", "12", "--chunk", "3",
                        "--workers", "2", "--solver", "gcrodr", "--tol", "1e-10", "--out",
                        str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    _check_store(out, 12)
    attrs = storage.open_dataset(str(out)).attrs
    assert (attrs["family_path"], attrs["family_version"]) == ("plugin_families:Tilted", "2")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A dask scheduler and two single-thread worker processes on the loopback, shared by
    the module's tests as a long-lived cluster is by runs (the worker-killing test is last:
    the nanny restarts its worker)."""
    tmp_path = tmp_path_factory.mktemp("dask")
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


def test_sigkilled_worker_loses_no_sample(pdeforge, cli_env, scheduler, tmp_path):
    """T8: one of two workers SIGKILLed mid-run; every sample ends done (or failed with a
    reason), each once, and each done one solves ITS system (regenerated from the seed)."""
    import os
    import signal

    from distributed import Client
    from scipy.sparse.linalg import spsolve

    import pdes

    out = tmp_path / "killed.zarr"
    args = ["generate", "--family", "darcy", "--grid", "40", "--n", "32", "--chunk", "4",
            "--dask-address", scheduler, "--solver", "petsc:gmres+none", "--tol", "1e-10",
            "--out", out]
    with Client(scheduler, timeout=30) as client:
        pids = list(client.run(os.getpid).values())
    run = subprocess.Popen([str(DASK.with_name("pdeforge")), *map(str, args)], env=cli_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done, deadline = 0, time.time() + 240
    while time.time() < deadline and run.poll() is None and done < 4:
        try:
            done = int((np.asarray(storage.open_dataset(str(out)).status[:]) == 1).sum())
        except (storage.StorageError, ValueError, OSError, KeyError):
            done = 0
        time.sleep(0.05)
    os.kill(pids[0], signal.SIGKILL)
    run.wait(timeout=400)
    assert 4 <= done < 32, f"could not catch the run midway ({done} done)"
    if run.returncode != 0:  # the flow may give up on the lost task: a re-run resumes
        p = pdeforge(*args)
        assert p.returncode == 0, p.stderr
    ds = storage.open_dataset(str(out))
    status = np.asarray(ds.status[:])
    failures = ds.attrs["failures"]
    assert all(s == storage.DONE or (s == storage.FAILED and str(i) in failures)
               for i, s in enumerate(status))
    source = np.asarray(ds.source_index[:])
    assert sorted(source.tolist()) == list(range(32))  # no sample twice, none missing
    family = pdes.get("darcy", grid=(40, 40))
    for position in np.flatnonzero(status == storage.DONE):
        system = family.sample(int(source[position]), seed=0)
        np.testing.assert_allclose(ds.inputs["coefficient"][position],
                                   system.fields["coefficient"], rtol=1e-6)
        x = np.asarray(ds.solution[position], dtype=np.float64).reshape(-1)
        # float32 storage limits the re-check: as good as the rounded exact solution
        rounded = spsolve(system.matrix.tocsc(), system.rhs).astype(np.float32)
        assert system.relative_residual(x) <= 2 * system.relative_residual(rounded)
