"""Exit codes a script can trust (0 done, 1 failure, 2 bad input with one line and a
"did you mean", 130 interrupted), refused sizes, and what a run records."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import storage
from flows import GenerateSpec, run_generate


@pytest.fixture
def tiny_store(tmp_path) -> str:
    url = str(tmp_path / "tiny.zarr")
    ds = storage.create_dataset(url, n=4, grid=(8, 8), fields=["coefficient"], params=[],
                                chunk=4, source_index=np.arange(4), attrs={"family": "darcy"})
    ds.write_block(0, inputs={"coefficient": np.ones((4, 8, 8))}, solution=np.ones((4, 8, 8)),
                   params={}, iterations=np.ones(4), residual=np.zeros(4),
                   seconds=np.zeros(4), status=np.ones(4))
    return url


USAGE = {  # arguments -> what the one line says ({tmp}: the test's folder, {store}: a store)
    "flag": (["generate", "--famly", "darcy"], "did you mean '--family'?"),
    "another flag": (["generate", "--grids", "32"], "did you mean '--grid'?"),
    "family": (["generate", "--family", "darcey"], "did you mean 'darcy'?"),
    "solver": (["generate", "--solver", "rgc"], "did you mean 'rcg'?"),
    "solver option": (["generate", "--solver", "skr", "-s", "bacth=4"],
                      "unknown option 'bacth' for solver skr; did you mean 'batch'?"),
    "family option": (["generate", "-o", "coeficient=threshold"],
                      "unknown option 'coeficient' for family darcy; did you mean 'coefficient'?"),
    "model option": (["train", "--data", "{store}", "--out", "{tmp}/m", "-m", "n_mdes=4"],
                     "did you mean 'n_modes'?"),
    "loose grid": (["generate", "--grid", "32x"], "--grid must be"),
    "zero budget": (["train", "--data", "{store}", "--out", "{tmp}/m", "--max-minutes", "0"],
                    "--max-minutes must be positive"),
    "beyond memory": (["generate", "--grid", "100000", "--n", "5"], "of memory"),
    "unwritable out": (["generate", "--out", "{tmp}/a-file/data.zarr"], "cannot write in"),
}


@pytest.mark.parametrize(("args", "says"), USAGE.values(), ids=USAGE.keys())
def test_usage_errors_exit_2_with_one_line(cli_main, tmp_path, tiny_store, args,
                                           says):
    (tmp_path / "a-file").write_text("not a folder")
    args = [a.format(tmp=tmp_path, store=tiny_store) for a in args]
    if "--out" not in args:
        args += ["--out", tmp_path / "new.zarr"]
    tic = time.perf_counter()
    code, _, err = cli_main(*args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    assert says in lines[0], lines[0]
    # nothing created for rejected input: no store, no lock file
    assert not (tmp_path / "new.zarr").exists() and not list(tmp_path.glob("*.lock"))
    if "100000" in args:
        print(f"refused in {time.perf_counter() - tic:.2f} s")


def test_a_read_only_folder_is_refused_with_one_line(cli_main, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        pass
    else:
        pytest.skip("this user writes in a read-only folder (root)")
    code, _, err = cli_main("generate", "--out", folder / "d.zarr")
    assert code == 2 and "cannot write in" in err and len(err.strip().splitlines()) == 1


def test_records_provenance_once_and_a_complete_store_adds_no_empty_run(
        prefect_harness, cli_main, tmp_path):
    out = str(tmp_path / "p.zarr")
    args = dict(family="darcy", grid=[8, 8], n=4, tol=1e-10, chunk=2, out=out)
    run_generate(GenerateSpec(**args, solver="petsc:cg+icc"), progress=False)
    run_generate(GenerateSpec(**args, solver="petsc:lu"), progress=False)  # nothing to do
    runs = storage.open_dataset(out).attrs["runs"]
    assert len(runs) == 1 and runs[0]["solved"] == 4
    record = runs[0]
    assert record["solver_options"]["tol"] == 1e-10  # resolved, defaults written out
    assert {"max_iterations", "method"} <= set(record["solver_options"])
    assert set(record["versions"]) == {"pdeforge", "torch", "petsc4py", "zarr", "prefect"}
    assert record["versions"]["zarr"] and record["git_revision"]  # the tests run in a checkout
    assert 0 < record["solve_seconds"] <= record["seconds"]  # blocks' wall time, inside the run
    assert not storage.lock_path(out).exists()  # the run's lock file went with the run

    storage.open_dataset(out, mode="r+").status[2:] = storage.PENDING
    code, text, _ = cli_main("info", out)
    assert code == 0 and "2 of 4 samples pending: run the same generate command again" in text


def test_samples_that_fail_exit_1(prefect_harness, cli_main, tmp_path):
    code, out, err = cli_main("generate", "--grid", "8", "--n", "2", "--chunk", "2",
                              "--solver", "petsc:richardson+none", "-s", "max_iterations=1",
                              "--fallback", "none", "--out", tmp_path / "f.zarr")
    assert code == 1 and "2 failed" in out, (code, out, err)


def test_sigint_to_a_running_generate_exits_130_and_keeps_a_resumable_store(exe, cli_env,
                                                                           tmp_path):
    out = tmp_path / "s.zarr"
    # slow samples (Richardson: thousands of iterations each), so the run is still going
    args = ["generate", "--grid", "32", "--n", "200", "--chunk", "4", "--tol", "1e-6",
            "--solver", "petsc:richardson+jacobi", "--fallback", "none", "--out", out]
    proc = subprocess.Popen([str(exe), *map(str, args)], stderr=subprocess.PIPE, text=True,
                            env=cli_env)
    try:
        seen = ""
        while "sample/s" not in seen:  # the progress bar: blocks are solving
            char = proc.stderr.read(1)
            assert char, seen
            seen += char
        proc.send_signal(signal.SIGINT)
        err = proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: ") and "of 200 done; run the same command again" in last
    done = int(last.split()[1])
    summary = storage.open_dataset(str(out)).summary()
    assert summary["done"] == done < 200 and summary["pending"] == 200 - done
    assert not list(Path(out).rglob("*.partial")) and not storage.lock_path(str(out)).exists()
