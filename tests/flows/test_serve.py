"""`pdeforge serve` against a real Prefect server: the schedule fires and a run completes."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

import storage

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _completed_runs(api: str) -> list[dict]:
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}},  # not subflows
                          "parent_task_run_id": {"is_null_": True}}}
    return httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()


def test_serve_registers_a_schedule_and_a_scheduled_run_completes(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_UI_ENABLED="false",
               PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",  # schedule at once
               PREFECT_RUNNER_POLL_FREQUENCY="1", PYTHONWARNINGS="ignore")
    server = _start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                     str(port)], env, tmp_path / "server.log")
    served = None
    out = tmp_path / "scheduled.zarr"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        served = _start([str(BIN / "pdeforge"), "serve", "--cron", "* * * * * */5", "--family",
                         "darcy", "--grid", "8", "--n", "4", "--solver", "petsc:cg+icc",
                         "--out", str(out)], {**env, "PREFECT_API_URL": api},
                        tmp_path / "serve.log")
        runs: list[dict] = []
        while time.time() < deadline + 60 and not runs and served.poll() is None:
            time.sleep(1)
            runs = _completed_runs(api)
        log = (tmp_path / "serve.log").read_text()
        assert runs, f"no scheduled run completed; serve log:\n{log[-3000:]}"
        assert runs[0]["auto_scheduled"] and runs[0]["deployment_id"]
    finally:
        for proc in (served, server):
            if proc is not None:
                _stop(proc)
    ds = storage.open_dataset(str(out))
    # one line per scheduled run on serve's output
    assert f"{out}: 4 of 4 samples done, 0 failed" in (tmp_path / "serve.log").read_text()
    assert (np.asarray(ds.status[:]) == storage.DONE).all()
    assert float(np.max(ds.stats["residual"][:])) <= 1e-8
