"""Every array survives a write and a reopen, with the dtypes and names of the layout."""

import pickle

import numpy as np
import pytest

import storage


def test_round_trip_every_array(url, make, block):
    ds = make(url)
    written = [block(0, 4), block(4, 8), block(8, 10)]
    written[2]["status"] = np.array([storage.DONE, storage.FAILED])
    for start, data in zip((0, 4, 8), written, strict=True):
        ds.write_block(start, **data)

    back = storage.open_dataset(url)
    assert (len(back), back.grid, back.chunk) == (10, (4, 5), 4)
    assert back.attrs["family"] == "darcy" and back.attrs["solver"] == "skr"
    assert back.attrs["grid"] == [4, 5] and back.attrs["failures"] == {}
    assert back.attrs["created"] and back.attrs["pdeforge_version"]

    def joined(*keys: str) -> np.ndarray:
        """One array over all written blocks of the value at written[i][keys[0]][keys[1]]..."""
        parts = []
        for value in written:
            for key in keys:
                value = value[key]
            parts.append(np.asarray(value))
        return np.concatenate(parts)

    for name in ("coefficient", "forcing"):
        np.testing.assert_array_equal(back.inputs[name][:], joined("inputs", name).astype("f4"))
    np.testing.assert_array_equal(back.solution[:], joined("solution").astype("f4"))
    np.testing.assert_array_equal(back.params["kappa"][:], joined("params", "kappa"))
    for name in ("iterations", "residual", "seconds"):
        np.testing.assert_array_equal(back.stats[name][:], joined(name))
    np.testing.assert_array_equal(back.source_index[:], np.arange(10)[::-1])
    np.testing.assert_array_equal(back.status[:], [1] * 9 + [2])

    dtypes = {
        "solution": back.solution.dtype,
        "input": back.inputs["forcing"].dtype,
        "param": back.params["kappa"].dtype,
        "iterations": back.stats["iterations"].dtype,
        "residual": back.stats["residual"].dtype,
        "source_index": back.source_index.dtype,
        "status": back.status.dtype,
    }
    assert dtypes == {
        "solution": np.float32,
        "input": np.float32,
        "param": np.float64,
        "iterations": np.int32,
        "residual": np.float64,
        "source_index": np.int64,
        "status": np.uint8,
    }
    assert back.solution.metadata.dimension_names == ("sample", "x", "y")
    assert back.status.metadata.dimension_names == ("sample",)
    assert back.solution.chunks == (4, 4, 5) and back.params["kappa"].chunks == (4,)


def test_float64_solution_on_request(tmp_path, make, block):
    ds = make(str(tmp_path / "d.zarr"), solution_dtype="float64")
    data = block(0, 4)
    ds.write_block(0, **data)
    assert ds.solution.dtype == np.float64
    np.testing.assert_array_equal(ds.solution[:4], data["solution"])


def test_summary_and_failures(tmp_path, make, block):
    ds = make(str(tmp_path / "d.zarr"))
    data = block(0, 4)
    data["status"] = np.array([1, 1, 2, 0])
    data["iterations"] = np.array([3, 5, 99, 99])
    data["residual"] = np.array([1e-9, 3e-9, 1.0, 1.0])
    ds.write_block(0, **data)
    ds.record_failures({2: "diverged", 3: "timeout"})
    ds.record_failures({9: "nan"})
    assert ds.attrs["failures"] == {"2": "diverged", "3": "timeout", "9": "nan"}
    ds.write_block(0, **{**data, "status": 1})  # a resume that solved them all
    ds.record_failures({})
    assert ds.attrs["failures"] == {"9": "nan"}
    summary = storage.open_dataset(ds.url).summary()
    assert {k: summary[k] for k in ("family", "grid", "n", "done", "failed", "pending")} == {
        "family": "darcy",
        "grid": [4, 5],
        "n": 10,
        "done": 4,
        "failed": 0,
        "pending": 6,
    }
    assert summary["residual_max"] == 1.0 and summary["iterations_max"] == 99
    assert summary["iterations_mean"] == pytest.approx(51.5)


def test_empty_summary_has_no_statistics(tmp_path, make):
    summary = make(str(tmp_path / "d.zarr")).summary()
    assert summary["pending"] == 10 and summary["residual_max"] is None


def test_write_block_validates_before_writing(tmp_path, make, block):
    ds = make(str(tmp_path / "d.zarr"))
    with pytest.raises(ValueError, match="straddles a chunk boundary"):
        ds.write_block(2, **block(2, 6))
    with pytest.raises(ValueError, match="outside"):
        ds.write_block(8, **block(8, 11))
    bad = block(0, 4)
    bad["params"] = {}
    with pytest.raises(ValueError, match="params must have exactly the keys"):
        ds.write_block(0, **bad)
    bad = block(0, 4)
    bad["seconds"] = np.zeros(3)
    with pytest.raises(ValueError, match="seconds has shape"):
        ds.write_block(0, **bad)
    with pytest.raises(ValueError, match="status values"):
        ds.write_block(0, **{**block(0, 4), "status": -1})
    assert np.isnan(ds.solution[:]).all() and not ds.status[:].any()
    ds.write_block(0, **block(0, 8))  # a chunk-aligned run of two chunks is fine
    ds.write_block(8, **block(8, 10))  # as is the short last chunk
    assert ds.done_mask().all()


def test_read_only_refuses_writes(tmp_path, make, block):
    path = str(tmp_path / "d.zarr")
    make(path)
    with pytest.raises(storage.StorageError, match="read-only"):
        storage.open_dataset(path).write_block(0, **block(0, 4))


def test_pickle_reopens_the_store(tmp_path, make, block):
    ds = make(str(tmp_path / "d.zarr"))
    clone = pickle.loads(pickle.dumps(ds))
    clone.write_block(4, **block(4, 8))
    np.testing.assert_array_equal(ds.pending(), [0, 1, 2, 3, 8, 9])
