"""A second run on a store that a running flow holds exits 2 with one line; nothing changes."""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import storage
from flows import GenerateSpec, run_generate

HOLD = "import sys, time, storage\nwith storage.writer_lock(sys.argv[1]):\n" \
       "    print('held', flush=True)\n    time.sleep(600)\n"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_concurrent_second_writer_exits_2_and_the_store_is_unchanged(prefect_harness, pdeforge,
                                                                     tmp_path):
    out = tmp_path / "locked.zarr"
    args = dict(family="darcy", grid=[8, 8], n=6, solver="petsc:cg+icc", tol=1e-9, chunk=3)
    half = GenerateSpec(**args, out=str(out))
    run_generate(half, progress=False)
    # half done: a second run would have work to do
    storage.open_dataset(str(out), mode="r+").status[3:] = storage.PENDING
    before = _digest(out)

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        p = pdeforge("generate", "--family", "darcy", "--grid", "8", "--n", "6", "--chunk", "3",
                     "--solver", "petsc:cg+icc", "--tol", "1e-9", "--out", out, timeout=120)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "being written by another run" in lines[0], p.stderr
    assert _digest(out) == before
