"""The layout opens with xarray and dask, and through file:// as well as plain paths."""

import dask.array as da
import numpy as np
import xarray as xr

import storage


def test_xarray_opens_every_group(url, make, block):
    data = block(0, 4)
    make(url).write_block(0, **data)

    root = xr.open_zarr(url, consolidated=False)
    assert set(root.data_vars) == {"solution", "status", "source_index"}
    assert root["solution"].dims == ("sample", "x", "y")
    assert dict(root.sizes) == {"sample": 10, "x": 4, "y": 5}
    assert root["status"].dtype == np.uint8  # the zarr v3 fill value does not mask status 0
    np.testing.assert_array_equal(root["status"].values, [1] * 4 + [0] * 6)
    np.testing.assert_array_equal(root["solution"][:4].values, data["solution"].astype(np.float32))
    assert root.attrs["family"] == "darcy"

    inputs = xr.open_zarr(url, group="inputs", consolidated=False)
    assert set(inputs.data_vars) == {"coefficient", "forcing"}
    assert inputs["forcing"].dims == ("sample", "x", "y")
    stats = xr.open_zarr(url, group="stats", consolidated=False)
    np.testing.assert_array_equal(stats["iterations"][:4].values, data["iterations"])
    params = xr.open_zarr(url, group="params", consolidated=False)
    assert params["kappa"].dims == ("sample",)


def test_dask_reads_chunks_as_tasks(url, make, block):
    data = block(4, 8)
    make(url).write_block(4, **data)
    solution = da.from_zarr(url, component="solution")
    assert solution.shape == (10, 4, 5) and solution.chunks == ((4, 4, 2), (4,), (5,))
    np.testing.assert_array_equal(solution[4:8].compute(), data["solution"].astype(np.float32))
    forcing = da.from_zarr(url, component="inputs/forcing")
    assert float(forcing[4:8].sum().compute()) == np.float32(data["inputs"]["forcing"]).sum()


def test_file_url_and_plain_path_are_the_same_store(tmp_path, make, block):
    path = tmp_path / "d.zarr"
    make(path.as_uri()).write_block(0, **block(0, 4))
    np.testing.assert_array_equal(storage.open_dataset(str(path)).pending(), np.arange(4, 10))
