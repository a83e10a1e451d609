"""`pdeforge verify [--repair] [--residuals]` on a generated store with faults injected: each
ends clean after at most one repair and one re-run, no undamaged sample changed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import storage
from flows import GenerateSpec, run_generate
from flows.repair import repair_store
from flows.verify import verify

N, CHUNK = 12, 4
BASE = dict(family="darcy", grid=[8, 8], seed=3, solver="petsc:cg+icc", tol=1e-9, chunk=CHUNK)


@pytest.fixture(scope="module")
def generated(prefect_harness, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "v.zarr"
    run_generate(GenerateSpec(**BASE, n=N, out=str(out)), progress=False)
    return out


@pytest.fixture
def store(generated, tmp_path) -> Path:
    """A fresh copy of the generated store for each test to damage."""
    copy = tmp_path / "v.zarr"
    shutil.copytree(generated, copy)
    return copy


def _values(path: Path) -> dict[str, np.ndarray]:
    dataset = storage.open_dataset(str(path))
    arrays = {"solution": dataset.solution, "status": dataset.status,
              "source_index": dataset.source_index, **dataset.inputs,
              **{f"stats/{k}": a for k, a in dataset.stats.items()}}
    return {name: np.asarray(array[:]) for name, array in arrays.items()}


def _assert_kept(before: dict, after: dict, damaged) -> None:
    kept = np.setdiff1d(np.arange(len(before["status"])), damaged)
    for name, values in before.items():
        np.testing.assert_array_equal(after[name][kept], values[kept], err_msg=name)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _perturb(path: Path, array: str, position: int) -> None:
    """Valid bytes (the checksum agrees) holding a wrong value: only --residuals sees it."""
    dataset = storage.open_dataset(str(path), "r+")
    target = dataset.solution if array == "solution" else dataset.inputs[array]
    target[position] = np.asarray(target[position]) * 1.01


FAULTS = {  # name: (inject, reasons verify reports, damaged samples)
    "flipped bytes": (lambda p: _flip(p / "solution/c/1/0/0"), {"checksum"}, range(4, 8)),
    "truncated chunk": (lambda p: (p / "inputs/coefficient/c/2/0/0").write_bytes(b"0123456789"),
                        {"checksum"}, range(8, 12)),
    "status chunk": (lambda p: _flip(p / "status/c/0"), {"checksum"}, range(0, 4)),
    "sample order chunk": (lambda p: _flip(p / "source_index/c/1"), {"checksum"}, range(4, 8)),
    "deleted chunk": (lambda p: (p / "stats/residual/c/0").unlink(), {"missing chunk"},
                      range(0, 4)),
    "truncated zarr.json": (lambda p: (p / "solution/zarr.json").write_text('{"shape": [1'),
                            {"metadata"}, range(0)),
    "wrong solution": (lambda p: _perturb(p, "solution", 5), {"residual above tolerance"}, [5]),
    "wrong inputs": (lambda p: _perturb(p, "coefficient", 9), {"inputs differ from regenerated"},
                     [9]),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_repair_regenerates_only_the_damaged_samples(store, fault):
    inject, reasons, damaged = FAULTS[fault]
    before = _values(store)
    inject(store)

    report = verify(str(store), residuals=True)
    assert {f.reason for f in report.findings} == reasons
    assert report.damaged().tolist() == list(damaged)

    found, actions, after = repair_store(str(store), residuals=True)
    assert after.clean and after.counts["done"] == N, after.lines()
    assert actions["regenerated"] == len(damaged)
    _assert_kept(before, _values(store), list(damaged))
    np.testing.assert_array_equal(_values(store)["source_index"], before["source_index"])
    assert verify(str(store), residuals=True).clean
    if len(damaged):  # the regenerating run is recorded as a repair
        assert storage.open_dataset(str(store)).attrs["runs"][-1]["repair"] is True


def test_full_disk_during_a_block_write_then_the_next_run_resumes(prefect_harness, tmp_path,
                                                                  full_disk):
    out = tmp_path / "full.zarr"
    spec = dict(**BASE, n=N, out=str(out))
    full_disk("solution/c/1")
    with pytest.raises(storage.WriteFailed, match="ENOSPC.*free the space and run again"):
        run_generate(GenerateSpec(**spec), progress=False)
    full_disk(None)
    before = _values(out)
    done = np.flatnonzero(before["status"] == storage.DONE)
    assert 4 not in done

    summary = run_generate(GenerateSpec(**spec), progress=False)
    assert summary["done"] == N
    _assert_kept(before, _values(out), np.setdiff1d(np.arange(N), done))
    assert verify(str(out), residuals=True).clean


def _kill_when(args: list[str], env: dict, ready, deadline: float = 120) -> None:
    """Start ``args``, SIGKILL its process group as soon as ``ready()`` holds."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    stop = time.time() + deadline
    try:
        while time.time() < stop and proc.poll() is None and not ready():
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert ready(), "the process never reached the point to kill it at"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _meta(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # not there yet, or being replaced
        return {}


def _attrs(path: Path) -> dict:
    return _meta(path / "zarr.json").get("attributes", {})


def test_sigkill_during_repair_then_the_next_repair_finishes(store, cli_env):
    before = _values(store)
    _flip(store / "solution/c/1/0/0")
    repair = "import sys, flows.repair; flows.repair.repair_store(sys.argv[1])"
    _kill_when([sys.executable, "-c", repair, str(store)], cli_env,
               lambda: "repairing" in _attrs(store))
    assert verify(str(store)).counts["pending"] == 4  # marked, not yet regenerated

    found, actions, after = repair_store(str(store))
    assert actions["regenerated"] == 4 and after.clean and after.counts["done"] == N
    assert "repairing" not in _attrs(store)
    _assert_kept(before, _values(store), range(4, 8))
    assert verify(str(store), residuals=True).clean


GROW = """import sys, time, numpy as np, zarr, storage
resize = zarr.Array.resize
def slow(self, *args, **kwargs):
    resize(self, *args, **kwargs)
    time.sleep(1)
zarr.Array.resize = slow
storage.grow_dataset(sys.argv[1], np.arange(12, 16))
"""


def test_sigkill_during_extend_then_the_rerun_finishes(store, cli_env):
    before = _values(store)
    _kill_when([sys.executable, "-c", GROW, str(store)], cli_env,
               lambda: "growing_to" in _attrs(store)  # the first array grown, not the rest
               and _meta(store / "inputs/coefficient/zarr.json").get("shape") == [16, 8, 8])
    with pytest.raises(storage.StorageError, match="extend it to 16 again"):
        verify(str(store))

    summary = run_generate(GenerateSpec(**BASE, n=16, out=str(store), extend=True),
                           progress=False)
    assert summary["done"] == 16
    after = _values(store)
    _assert_kept(before, {k: v[:N] for k, v in after.items()}, [])
    assert verify(str(store), residuals=True).clean


def test_cli_exit_codes_and_one_line_errors_on_a_damaged_store(store, pdeforge):
    """Each exit-2 run costs the CLI's error path (~10 s on a busy 2-core machine): one here;
    export, train and evaluate read through the same checked arrays (tests/storage)."""
    _flip(store / "stats/residual/c/1")
    _flip(store / "solution/c/0/0/0")
    info = pdeforge("info", store)
    assert info.returncode == 2 and info.stderr.count("\n") == 1, info.stderr
    assert f"{store}/stats/residual/c/1 is damaged (checksum)" in info.stderr
    assert f"pdeforge verify --repair {store}" in info.stderr

    checked = pdeforge("verify", store)
    assert checked.returncode == 1
    assert "damaged: 8 samples" in checked.stdout and "checksum: 2" in checked.stdout


def test_info_says_when_a_store_has_no_checksums(tmp_path, pdeforge):
    out = tmp_path / "old.zarr"
    storage.create_dataset(str(out), n=2, grid=(4, 4), fields=("coefficient",), params=(),
                           chunk=2, source_index=np.arange(2), checksums=False,
                           attrs={"family": "darcy", "seed": 0, "family_options": {}})
    shown = pdeforge("info", out)
    assert shown.returncode == 0 and "checksums: none" in shown.stdout
