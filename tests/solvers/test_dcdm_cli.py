"""DCDM on the command line: train-dcdm trains and resumes through its Prefect flow,
generate uses a model, and a missing or mismatched model exits 2 with one line, nothing
stored touched."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import storage
from cli import main
from solvers.dcdm import load_model, train_model

EXE = Path(sys.executable).with_name("pdeforge")
TRAIN = ["--family", "obstacles", "--grid", "12", "-o", "solids=grf", "-o", "fraction=0.3"]


def _run(*args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env)


def _cli(monkeypatch, capsys, *args: object) -> tuple[int, list[str]]:
    """The CLI in this process (bad input is answered before Prefect starts)."""
    monkeypatch.setattr(sys, "argv", ["pdeforge", *map(str, args)])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, [line for line in capsys.readouterr().err.splitlines() if line]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """One epoch in this process, then resumed to two by the CLI (its Prefect flow)."""
    out = tmp_path_factory.mktemp("dcdm-cli") / "model.pt"
    train_model("obstacles", (12, 12), out, family_options={"solids": "grf", "fraction": 0.3},
                epochs=1, matrices=1, channels=4, progress=False)
    p = _run("train-dcdm", *TRAIN, "--out", out, "--epochs", "2")
    assert p.returncode == 0, p.stderr
    assert f"{out}: 2 epochs" in p.stdout
    state = load_model(out)
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    assert state["network"]["channels"] == 4  # the checkpoint's settings won on resume
    return out


def test_generate_solves_with_a_trained_model(model, tmp_path):
    store = tmp_path / "obstacles.zarr"
    p = _run("generate", "--family", "obstacles", "--grid", "12", "--n", "3", "--solver", "dcdm",
             "-s", f"model={model}", "--tol", "1e-7", "--out", store, "-o", "solids=grf",
             "-o", "fraction=0.3")
    assert p.returncode == 0, p.stderr
    data = storage.open_dataset(str(store))
    assert np.all(np.asarray(data.status[:]) == storage.DONE)
    assert np.asarray(data.stats["residual"][:]).max() <= 1e-7
    assert data.attrs["solver_options"]["model"] == str(model)


@pytest.mark.parametrize(("args", "message"), [
    (["--family", "darcy", "--grid", "12"], "trained on obstacles"),
    (["--family", "obstacles", "--grid", "6x6x6"], "not on a 3-D grid"),
])
def test_train_dcdm_refuses_a_mismatched_checkpoint(model, monkeypatch, capsys, args, message):
    before = _digest(model)
    code, err = _cli(monkeypatch, capsys, "train-dcdm", *args, "--out", model)
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert _digest(model) == before


@pytest.mark.parametrize(("solver_option", "message"), [
    ("model={model}", "trained on obstacles"),
    ("model={missing}", "no DCDM model"),
])
def test_generate_refuses_a_missing_or_mismatched_model(model, tmp_path, monkeypatch, capsys,
                                                        solver_option, message):
    store = tmp_path / "darcy.zarr"
    option = solver_option.format(model=model, missing=tmp_path / "none.pt")
    code, err = _cli(monkeypatch, capsys, "generate", "--family", "darcy", "--grid", "12",
                     "--n", "2", "--solver", "dcdm", "-s", option, "--out", store)
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not store.exists()  # refused before anything was stored
