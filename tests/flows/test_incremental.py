"""Extending a store: new samples appended along `sample`, earlier ones byte-identical."""

from pathlib import Path

import numpy as np
import pytest

import pdes
import storage
from flows import GenerateSpec, SpecError, run_generate


def _chunks(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.name != "zarr.json"}


def test_extend_appends_new_samples_and_keeps_the_stored_ones(prefect_harness, tmp_path):
    out = tmp_path / "grow.zarr"
    base = dict(family="darcy", grid=[10, 10], seed=2, solver="petsc:cg+icc", tol=1e-9,
                out=str(out), chunk=3)
    run_generate(GenerateSpec(**base, n=8), progress=False)  # last chunk [6, 9) half full
    before = storage.open_dataset(str(out))
    arrays = {"solution": before.solution[:], "status": before.status[:],
              **{k: a[:] for k, a in before.inputs.items()},
              **{k: a[:] for k, a in before.stats.items()}}
    full_chunks = {k: v for k, v in _chunks(out).items()  # chunks 0 and 1: positions 0..5
                   if k.split("/c/")[1].split("/")[0] in ("0", "1")}

    with pytest.raises(SpecError, match="holds 8 samples, not --n 12; add --extend"):
        GenerateSpec(**base, n=12).validate()
    summary = run_generate(GenerateSpec(**base, n=12, extend=True), progress=False)

    assert summary["done"] == 12 and summary["n"] == 12
    after = storage.open_dataset(str(out))
    for name, values in arrays.items():  # every earlier sample, every array: same values
        stored = {"solution": after.solution, "status": after.status, **after.inputs,
                  **after.stats}[name]
        np.testing.assert_array_equal(stored[:8], values)
    assert {k: _chunks(out)[k] for k in full_chunks} == full_chunks  # chunks never rewritten
    source = after.source_index[:]
    assert sorted(source[:8].tolist()) == list(range(8))
    assert sorted(source[8:].tolist()) == list(range(8, 12))  # the new index range
    assert [(e["from"], e["to"]) for e in after.attrs["extensions"]] == [(8, 12)]
    assert after.attrs["runs"][-1]["solved"] == 4  # only the new positions were solved
    family = pdes.get("darcy", grid=(10, 10))
    for position in range(8, 12):  # the new samples solve THEIR systems
        system = family.sample(int(source[position]), seed=2)
        x = np.asarray(after.solution[position], dtype=np.float64).reshape(-1)
        assert system.relative_residual(x) < 1e-5


def test_each_scheduled_grow_run_adds_samples(prefect_harness, tmp_path):
    from flows.schedule import scheduled_generate

    spec = GenerateSpec(family="poisson", grid=[8, 8], n=4, solver="petsc:cg+icc", tol=1e-9,
                        out=str(tmp_path / "sched.zarr"), chunk=2)
    assert scheduled_generate(spec, grow=3)["n"] == 4  # the first run makes --n samples
    summary = scheduled_generate(spec, grow=3)  # the same parameters, as a schedule passes
    assert summary["n"] == summary["done"] == 7
    assert sorted(storage.open_dataset(spec.out).source_index[:].tolist()) == list(range(7))
