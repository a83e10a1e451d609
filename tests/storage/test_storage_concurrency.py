"""Writers own distinct chunks, and a sample's status is written only after its data."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import zarr

import storage


def test_concurrent_writers_on_distinct_chunks(url, make, block):
    make(url)
    blocks = [(0, 4), (4, 8), (8, 10)]

    def write(bounds: tuple[int, int]) -> None:
        storage.open_dataset(url, mode="r+").write_block(bounds[0], **block(*bounds))

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(write, blocks))

    ds = storage.open_dataset(url)
    assert ds.done_mask().all()
    for start, stop in blocks:
        expected = block(start, stop)
        np.testing.assert_array_equal(ds.solution[start:stop], expected["solution"].astype("f4"))
        np.testing.assert_array_equal(
            ds.inputs["coefficient"][start:stop], expected["inputs"]["coefficient"].astype("f4")
        )
        np.testing.assert_array_equal(ds.stats["seconds"][start:stop], expected["seconds"])


def test_status_is_written_last(tmp_path, make, block, monkeypatch):
    path = str(tmp_path / "d.zarr")
    ds = make(path)
    written: list[str] = []
    setitem = zarr.Array.__setitem__

    def crash_on_status(array: zarr.Array, key, value) -> None:
        written.append(array.path)
        if array.path == "status":
            raise KeyboardInterrupt("killed between the data and the status")
        setitem(array, key, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", crash_on_status)
    data = block(0, 4)
    with pytest.raises(KeyboardInterrupt):
        ds.write_block(0, **data)
    monkeypatch.undo()

    assert written[-1] == "status" and written.count("status") == 1
    assert set(written[:-1]) == {
        "inputs/coefficient",
        "inputs/forcing",
        "solution",
        "params/kappa",
        "stats/iterations",
        "stats/residual",
        "stats/seconds",
    }
    back = storage.open_dataset(path)
    assert not back.status[:].any()
    np.testing.assert_array_equal(back.pending(), np.arange(10))
    np.testing.assert_array_equal(back.solution[:4], data["solution"].astype(np.float32))
