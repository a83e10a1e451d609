"""``pdeforge solve``: a scikit-fem sequence in every format, TRUE residuals, failures with
their reasons, resumption, the writer lock and bad input."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import storage
from benchmarks.external import skfem_sequence, write_sequence
from flows.solve import SolveSpec
from flows.solve_flow import run_solve

TOL = 1e-9


@pytest.fixture(scope="module")
def sequence():
    """Six P1 systems on a jittered disc mesh (113 unknowns), random coefficient each."""
    return skfem_sequence(refine=3, n=6, seed=0)


def _true_residuals(out: str, sequence) -> np.ndarray:
    """Recomputed from the original matrices, by each position's stored name."""
    dataset = storage.open_dataset(out)
    names = dataset.attrs["system_names"]
    residuals = []
    for position, source in enumerate(dataset.source_index[:]):
        A, b = sequence[int(names[source].removeprefix("sys"))]
        x = dataset.solution[position]
        residuals.append(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
    return np.array(residuals)


def test_skfem_sequence_in_every_format_through_the_cli(pdeforge, sequence, tmp_path):
    folder, out = tmp_path / "systems", str(tmp_path / "solved.zarr")
    write_sequence(folder, sequence)  # .mtx, .npz, .petsc in turn
    assert {p.suffix for p in folder.iterdir()} >= {".mtx", ".npz", ".petsc", ".npy"}
    p = pdeforge("solve", "--systems", folder, "--out", out, "--tol", TOL, "--chunk", 4)
    assert p.returncode == 0, p.stderr
    dataset = storage.open_dataset(out)
    assert dataset.done_mask().all() and sorted(dataset.source_index[:]) == list(range(6))
    assert dataset.attrs["family"] == "external" and dataset.grid == (sequence[0][1].size,)
    true = _true_residuals(out, sequence)
    assert true.max() <= TOL
    np.testing.assert_allclose(dataset.stats["residual"][:], true, rtol=1e-6, atol=1e-15)
    assert (dataset.stats["iterations"][:] >= 1).all()
    assert "6 done, 0 failed" in pdeforge("info", out).stdout


def test_singular_system_fails_with_its_reason_and_a_crash_resumes(prefect_harness, sequence,
                                                                   tmp_path):
    folder, out = tmp_path / "systems", str(tmp_path / "solved.zarr")
    systems = list(sequence)
    singular = sp.lil_matrix(systems[3][0])
    singular[5, :] = 0.0
    singular[:, 5] = 0.0
    systems[3] = (sp.csr_matrix(singular), systems[3][1])
    write_sequence(folder, systems, (".npz",))
    summary = run_solve(SolveSpec(systems=str(folder), out=out, tol=TOL, chunk=2))
    dataset = storage.open_dataset(out)
    names = dataset.attrs["system_names"]
    failed = [names[s] for s in dataset.source_index[:][dataset.status[:] == storage.FAILED]]
    assert summary["failed"] == 1 and failed == ["sys0003"]
    reason = next(iter(dataset.attrs["failures"].values()))
    assert reason.startswith(("solver error", "not converged", "singular")), reason
    done = dataset.done_mask()
    assert _true_residuals(out, systems)[done].max() <= TOL

    # a run killed after its first chunk: the rest is pending again, its data gone
    writable = storage.open_dataset(out, mode="r+")
    writable.status[2:] = storage.PENDING
    writable.solution[2:] = np.nan
    kept = np.flatnonzero(done[:2])
    seconds = dataset.stats["seconds"][:2][kept]
    run_solve(SolveSpec(systems=str(folder), out=out, tol=TOL, chunk=2))
    dataset = storage.open_dataset(out)
    np.testing.assert_array_equal(dataset.stats["seconds"][:2][kept], seconds)  # kept as is
    assert dataset.done_mask().sum() == 5
    assert _true_residuals(out, systems)[dataset.done_mask()].max() <= TOL

    # other files (same names, another matrix), same store: refused
    storage.write_system(folder, "sys0000", *systems[1], ".npz")
    with pytest.raises(storage.StorageError, match="systems_sha256"):
        run_solve(SolveSpec(systems=str(folder), out=out, tol=TOL))


def test_a_store_being_written_is_refused(prefect_harness, sequence, tmp_path):
    folder, out = tmp_path / "systems", str(tmp_path / "solved.zarr")
    write_sequence(folder, sequence[:2], (".npz",))
    hold = ("import sys, time, storage\nwith storage.writer_lock(sys.argv[1]):\n"
            "    print('held', flush=True)\n    time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, out], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(storage.StorageError, match="being written by another run"):
            run_solve(SolveSpec(systems=str(folder), out=out))
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert not os.path.exists(out)


def test_bad_systems_folders_are_bad_input(pdeforge, sequence, tmp_path):
    cases = {"empty": ("no readable systems", lambda f: f.mkdir()),
             "unknown": ("unknown format", lambda f: (f.mkdir(), (f / "a.csv").write_text("1"))),
             "mismatch": ("does not match", lambda f: storage.write_system(
                 f, "a", sequence[0][0], sequence[0][1][:-1], ".npz")),
             "no-rhs": ("no right-hand side", lambda f: (
                 f.mkdir(), sp.save_npz(f / "a.npz", sequence[0][0])))}
    for name, (message, make) in cases.items():
        make(tmp_path / name)
        with pytest.raises((storage.StorageError, ValueError), match=message):
            SolveSpec(systems=str(tmp_path / name), out=str(tmp_path / "x.zarr")).validate()
    mixed = tmp_path / "mixed"
    write_sequence(mixed, sequence[:1] + skfem_sequence(refine=2, n=1), (".npz",))
    p = pdeforge("solve", "--systems", mixed, "--out", tmp_path / "mixed.zarr")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "mixed sizes" in p.stderr
    assert not (tmp_path / "mixed.zarr").exists()
