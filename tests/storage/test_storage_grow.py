"""Growing a store along ``sample``: earlier samples keep their bytes; a cut growth finishes."""

from pathlib import Path

import numpy as np
import pytest

import storage

N, CHUNK = 10, 4  # the conftest dataset's size and chunk
SOURCE = np.arange(N)[::-1]  # and its sample order


def chunk_bytes(root: Path) -> dict[str, bytes]:
    """Every stored data chunk: not the zarr.json metadata, nor source_index (both of which
    a growth writes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and p.name != "zarr.json" and p.parts[-3] != "source_index"}


def new_source(extra: int) -> np.ndarray:
    return np.arange(N, N + extra)[::-1]


def test_growth_appends_pending_samples_and_keeps_earlier_bytes(tmp_path, make, block):
    path = tmp_path / "d.zarr"
    ds = make(str(path))
    for start in range(0, N, CHUNK):
        ds.write_block(start, **block(start, min(start + CHUNK, N)))
    before, solution = chunk_bytes(path), ds.solution[:]

    grown = storage.grow_dataset(str(path), new_source(5))
    assert len(grown) == N + 5 and grown.attrs["n"] == N + 5
    assert [(e["from"], e["to"]) for e in grown.attrs["extensions"]] == [(N, N + 5)]
    assert chunk_bytes(path) == before  # no chunk rewritten, only metadata
    np.testing.assert_array_equal(grown.source_index[:], np.concatenate([SOURCE, new_source(5)]))
    np.testing.assert_array_equal(grown.pending(), np.arange(N, N + 5))
    assert np.isnan(grown.solution[N:]).all()

    grown.write_block(N, **block(N, 12))  # the rest of the last old chunk [8, 12)
    grown.write_block(12, **block(12, N + 5))
    again = storage.open_dataset(str(path))
    np.testing.assert_array_equal(again.solution[:N], solution)
    assert again.done_mask().all()


def test_growth_in_memory_and_to_the_same_size(url, make, block):
    make(url).write_block(0, **block(0, CHUNK))
    assert len(storage.grow_dataset(url, new_source(0))) == N  # nothing to grow: unchanged
    grown = storage.grow_dataset(url, new_source(2))
    assert len(grown) == N + 2 and grown.pending(0, CHUNK).size == 0


def test_interrupted_growth_is_refused_then_finished(tmp_path, make, block):
    path = str(tmp_path / "d.zarr")
    ds = make(path)
    ds.write_block(0, **block(0, CHUNK))
    # a growth to 14 killed after its mark and two resizes
    root = ds._root
    root.attrs["growing_to"] = N + 4
    ds.solution.resize((N + 4, *ds.grid))
    ds.status.resize((N + 4,))
    with pytest.raises(storage.InterruptedGrowth, match="from 10 to 14 samples") as caught:
        storage.open_dataset(path)
    assert (caught.value.target, caught.value.chunk) == (N + 4, CHUNK)
    with pytest.raises(storage.StorageError, match="growing to 14; it cannot grow to 16"):
        storage.grow_dataset(path, new_source(6))

    grown = storage.grow_dataset(path, new_source(4))
    assert "growing_to" not in grown.attrs and len(grown) == N + 4
    np.testing.assert_array_equal(grown.pending(), np.arange(CHUNK, N + 4))


def test_partial_writes_of_a_killed_writer_are_removed(tmp_path, make):
    path = tmp_path / "d.zarr"
    make(str(path))
    leftover = path / "solution" / "c" / f"0.{'ab' * 16}.partial"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a chunk")
    unrelated = path / "notes.partial"
    unrelated.write_text("not zarr's")
    assert storage.remove_partial_writes(str(path)) == [f"solution/c/0.{'ab' * 16}.partial"]
    assert not leftover.exists() and unrelated.exists()
    assert storage.remove_partial_writes("memory://elsewhere.zarr") == []
    assert len(storage.open_dataset(str(path))) == N


def test_runs_and_failure_reasons_in_the_summary(tmp_path, make, block):
    ds = make(str(tmp_path / "d.zarr"))
    values = block(0, CHUNK)
    values["status"] = np.array([storage.DONE, storage.FAILED, storage.FAILED, storage.DONE])
    ds.write_block(0, **values)
    ds.record_failures({1: "not converged: cg at 1e-3", 2: "fallback error: singular"})
    ds.record_run({"seconds": 2.0, "solved": 4, "solver": "skr", "devices": ["cpu"]})
    ds.record_run({"seconds": 1.0, "solved": 2, "solver": "skr", "devices": ["cpu"]})
    summary = storage.open_dataset(ds.url).summary()
    assert summary["failures_by_reason"] == {"not converged": 1, "fallback error": 1}
    assert summary["last_run"]["solved"] == 2 and len(ds.attrs["runs"]) == 2
    with pytest.raises(storage.StorageError, match="read-only"):
        storage.open_dataset(ds.url).record_run({})
