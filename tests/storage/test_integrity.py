"""Fault injection on a store: flipped bytes, truncated and deleted chunks, cut-short
zarr.json, a full disk. Each is found by name, and storage's own repair steps (metadata
rebuilt, broken chunks rewritten, samples marked pending) leave every other sample as it was."""

import json
from pathlib import Path

import numpy as np
import pytest

import storage

N, CHUNK = 10, 4  # the conftest dataset's size and chunk


def _store(tmp_path, make, block, checksums=True) -> Path:
    path = tmp_path / "d.zarr"
    dataset = make(str(path), checksums=checksums)
    for start in range(0, N, CHUNK):
        dataset.write_block(start, **block(start, min(start + CHUNK, N)))
    return path


def _values(path: Path) -> dict[str, np.ndarray]:
    dataset = storage.open_dataset(str(path))
    arrays = {"solution": dataset.solution, "status": dataset.status,
              "source_index": dataset.source_index,
              **{f"inputs/{k}": a for k, a in dataset.inputs.items()},
              **{f"params/{k}": a for k, a in dataset.params.items()},
              **{f"stats/{k}": a for k, a in dataset.stats.items()}}
    return {name: np.asarray(array[:]) for name, array in arrays.items()}


def _flip(path: Path, offset: int = 20) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def _repair_storage_side(path: Path) -> storage.VerifyReport:
    report = storage.verify_store(str(path))
    storage.rebuild_metadata(str(path), report)
    report = storage.verify_store(str(path))
    storage.rewrite_broken_chunks(str(path), report)
    storage.mark_pending(str(path), report.damaged())
    return report


def _assert_kept(before: dict, after: dict, damaged) -> None:
    """Every sample outside ``damaged`` holds exactly its old values, in every array."""
    kept = np.setdiff1d(np.arange(N), damaged)
    for name, values in before.items():
        np.testing.assert_array_equal(after[name][kept], values[kept], err_msg=name)


@pytest.mark.parametrize("checksums, reason", [(True, "checksum"), (False, "unreadable chunk")])
def test_flipped_bytes_name_the_chunk_and_repair_keeps_the_rest(tmp_path, make, block,
                                                                checksums, reason):
    path = _store(tmp_path, make, block, checksums)
    before = _values(path)
    assert storage.verify_store(str(path)).clean
    _flip(path / "solution" / "c" / "1" / "0" / "0")

    dataset = storage.open_dataset(str(path))
    assert dataset.summary()["checksums"] is checksums  # old stores still open
    with pytest.raises(storage.DamagedChunk) as caught:
        dataset.solution[:]
    message = str(caught.value)
    assert "solution/c/1/0/0" in message and "samples 4..7" in message
    assert f"({reason})" in message and "pdeforge verify --repair" in message
    np.testing.assert_array_equal(dataset.solution[:4], before["solution"][:4])  # others read
    with pytest.raises(storage.StorageError, match=r"solution/c/1/0/0 is damaged .*4\.\.7"):
        storage.verify_store(str(path)).raise_for_damage()  # what train/evaluate check first

    report = _repair_storage_side(path)
    assert [(f.reason, f.path, f.chunk, f.samples) for f in report.findings] == [
        (reason, "solution", 1, (4, 5, 6, 7))]
    after = _values(path)
    assert (after["status"][4:8] == storage.PENDING).all()
    assert np.isnan(after["solution"][4:8]).all()  # rewritten whole, to the fill value
    _assert_kept(before, after, [4, 5, 6, 7])
    assert storage.verify_store(str(path)).clean


def test_truncated_chunk_is_found(tmp_path, make, block):
    path = _store(tmp_path, make, block)
    before = _values(path)
    chunk = path / "inputs" / "forcing" / "c" / "2" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[:10])
    with pytest.raises(storage.DamagedChunk, match=r"inputs/forcing/c/2/0/0 .*samples 8\.\.9"):
        storage.open_dataset(str(path)).inputs["forcing"][9]
    report = _repair_storage_side(path)
    assert report.damaged().tolist() == [8, 9]
    _assert_kept(before, _values(path), [8, 9])
    assert storage.verify_store(str(path)).clean


def test_deleted_chunk_under_done_samples_is_missing_but_a_missing_status_chunk_is_pending(
        tmp_path, make, block):
    path = _store(tmp_path, make, block)
    before = _values(path)
    (path / "stats" / "residual" / "c" / "0").unlink()
    report = storage.verify_store(str(path))
    assert [(f.reason, f.samples) for f in report.findings] == [("missing chunk", (0, 1, 2, 3))]
    _repair_storage_side(path)
    _assert_kept(before, _values(path), [0, 1, 2, 3])

    (path / "status" / "c" / "1").unlink()  # as a run killed between data and status
    report = storage.verify_store(str(path))
    assert report.clean and report.counts["pending"] == 8


@pytest.mark.parametrize("member", ["stats/residual", "solution", "inputs", ""])
def test_truncated_zarr_json_is_named_and_rebuilt_from_the_identity(tmp_path, make, block,
                                                                    member):
    path = _store(tmp_path, make, block)
    before, attrs = _values(path), storage.open_dataset(str(path)).attrs
    meta = path / member / "zarr.json"
    meta.write_text(meta.read_text()[:12])
    if member != "inputs":  # a group's own zarr.json is read by verify only
        with pytest.raises(storage.StorageError) as caught:
            storage.open_dataset(str(path))
        assert f"{meta} is damaged" in str(caught.value)
        assert "pdeforge verify --repair" in str(caught.value)

    report = storage.verify_store(str(path))
    assert {f.reason for f in report.findings} == {"metadata"}
    assert report.damaged().size == 0  # no sample is lost with a metadata file
    rebuilt = storage.rebuild_metadata(str(path), report)
    assert rebuilt == [f"{member}/zarr.json" if member else "zarr.json"]
    assert storage.verify_store(str(path)).clean
    _assert_kept(before, _values(path), [])
    restored = storage.open_dataset(str(path)).attrs
    assert {k: restored[k] for k in ("family", "grid", "seed", "n", "family_options",
                                     "input_names", "param_names")} == {
        k: attrs[k] for k in ("family", "grid", "seed", "n", "family_options", "input_names",
                              "param_names")}
    json.loads(meta.read_text())


def test_full_disk_during_a_block_write_fails_clearly_and_loses_nothing(tmp_path, make, block,
                                                                        full_disk):
    path = tmp_path / "d.zarr"
    dataset = make(str(path))
    dataset.write_block(0, **block(0, CHUNK))
    before = _values(path)
    full_disk("solution/c/1")
    with pytest.raises(storage.WriteFailed, match="ENOSPC.*run again to resume"):
        dataset.write_block(CHUNK, **block(CHUNK, 2 * CHUNK))
    full_disk(None)
    after = _values(path)
    _assert_kept(before, after, np.arange(CHUNK, N))  # samples 0..3 intact
    # the inputs of the failed block may be there; its status (written last) is not
    assert (after["status"][CHUNK:] == storage.PENDING).all()
    assert storage.verify_store(str(path)).clean
    storage.open_dataset(str(path), "r+").write_block(CHUNK, **block(CHUNK, 2 * CHUNK))
    assert storage.verify_store(str(path)).counts["done"] == 2 * CHUNK
