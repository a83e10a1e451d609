"""The generate flow end to end: real Prefect run, real PETSc solves, real zarr store."""

import os
import signal
import subprocess
import time

import numpy as np

import pdes
import storage
from flows import GenerateSpec, run_generate


def test_generate_flow_under_prefect_harness(prefect_harness, tmp_path):
    out = str(tmp_path / "darcy.zarr")
    spec = GenerateSpec(family="darcy", grid=[12, 12], n=10, seed=3, solver="petsc:cg+icc",
                        tol=1e-9, out=out, chunk=4)
    summary = run_generate(spec, progress=False)
    assert summary["done"] == 10 and summary["failed"] == 0
    ds = storage.open_dataset(out)
    assert sorted(np.asarray(ds.source_index[:]).tolist()) == list(range(10))
    family = pdes.get("darcy", grid=(12, 12))
    for position in (0, 5, 9):  # each stored sample solves ITS system to the tolerance
        system = family.sample(int(ds.source_index[position]), seed=3)
        x = np.asarray(ds.solution[position], dtype=np.float64).reshape(-1)
        assert np.allclose(ds.inputs["coefficient"][position], system.fields["coefficient"],
                           rtol=1e-6)
        assert ds.stats["residual"][position] <= 1e-9
        # float32 storage limits the re-checked residual, not the solve
        assert system.relative_residual(x) < 1e-5
    assert ds.attrs["solver"] == "petsc:cg+icc" and ds.attrs["seed"] == 3
    assert ds.attrs["git_revision"] not in ("", "unknown")


def test_missed_samples_are_retried_once_by_the_direct_fallback(prefect_harness, tmp_path):
    out = str(tmp_path / "fallback.zarr")
    spec = GenerateSpec(family="darcy", grid=[16, 16], n=3, solver="petsc:cg+none", tol=1e-10,
                        out=out, solver_options={"max_iterations": 3})
    summary = run_generate(spec, progress=False)
    assert summary["done"] == 3 and summary["failed"] == 0 and summary["fallbacks"] == 3
    ds = storage.open_dataset(out)
    family = pdes.get("darcy", grid=(16, 16))
    for position in range(3):  # the attempt is recorded, the stored solve is the fallback's
        assert "petsc:cg+none stopped at true relative residual" in ds.attrs["fallbacks"][
            str(position)] and "fallback petsc:lu" in ds.attrs["fallbacks"][str(position)]
        assert ds.stats["residual"][position] <= 1e-10
        system = family.sample(int(ds.source_index[position]), seed=0)
        x = np.asarray(ds.solution[position], dtype=np.float64).reshape(-1)
        assert system.relative_residual(x) < 1e-5


def test_failed_solves_are_marked_with_a_reason(prefect_harness, tmp_path):
    out = str(tmp_path / "fail.zarr")  # a tolerance no solver meets: the fallback fails too
    spec = GenerateSpec(family="darcy", grid=[16, 16], n=3, solver="petsc:cg+none", tol=1e-18,
                        out=out, solver_options={"max_iterations": 3})
    summary = run_generate(spec, progress=False)
    assert summary["failed"] == 3 and summary["done"] == 0
    ds = storage.open_dataset(out)
    assert (np.asarray(ds.status[:]) == storage.FAILED).all()
    assert all(float(r) > 1e-18 for r in ds.stats["residual"][:])
    assert "true relative residual" in ds.attrs["failures"]["0"]
    assert "fallback petsc:lu" in ds.attrs["failures"]["0"]


def test_sigkill_midway_then_resume_keeps_earlier_samples(exe, cli_env, tmp_path):
    out = tmp_path / "killed.zarr"
    args = [str(exe), "generate", "--family", "darcy", "--grid", "40", "--n", "40", "--chunk",
            "4", "--solver", "petsc:gmres+none", "--tol", "1e-10", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=cli_env)
    deadline = time.time() + 240
    done = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            done = int((np.asarray(storage.open_dataset(str(out)).status[:]) == 1).sum())
        except (storage.StorageError, ValueError, OSError, KeyError):
            done = 0
        if done >= 8:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 8 <= done < 40, f"could not catch the run midway ({done} done)"
    before = storage.open_dataset(str(out))
    status_before = np.asarray(before.status[:])
    seconds_before = np.asarray(before.stats["seconds"][:])
    solution_before = np.asarray(before.solution[:])
    assert status_before.sum() < 40

    p = subprocess.run(args, capture_output=True, text=True, timeout=400, env=cli_env)
    assert p.returncode == 0, p.stderr
    after = storage.open_dataset(str(out))
    assert (np.asarray(after.status[:]) == 1).all()
    kept = status_before == 1
    # samples done before the kill were not solved again (their timings are unchanged)
    assert np.array_equal(np.asarray(after.stats["seconds"][:])[kept], seconds_before[kept])
    assert np.array_equal(np.asarray(after.solution[:])[kept], solution_before[kept])
    assert sorted(np.asarray(after.source_index[:]).tolist()) == list(range(40))
