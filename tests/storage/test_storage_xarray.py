"""One lazy xarray view of a whole store: names, dimensions and values."""

import numpy as np

import storage


def test_to_xarray_holds_every_array_lazily(tmp_path):
    n, grid = 6, (4, 5)
    ds = storage.create_dataset(
        str(tmp_path / "x.zarr"), n=n, grid=grid, fields=["coefficient"], params=["k"], chunk=3,
        source_index=np.arange(n)[::-1], attrs={"family": "darcy", "seed": 0})
    rng = np.random.default_rng(0)
    coefficient, solution = rng.random((n, *grid)), rng.random((n, *grid))
    ds.write_block(0, inputs={"coefficient": coefficient}, solution=solution,
                   params={"k": np.arange(n, dtype=float)}, iterations=np.arange(n),
                   residual=np.full(n, 1e-9), seconds=np.ones(n), status=np.ones(n, np.uint8))
    view = storage.open_dataset(str(tmp_path / "x.zarr")).to_xarray()
    assert set(view.data_vars) >= {"solution", "status", "source_index", "input_coefficient",
                                   "param_k", "stat_iterations", "stat_residual"}
    assert view["solution"].dims == ("sample", "x", "y")
    assert view["input_coefficient"].chunks[0] == (3, 3)  # dask-backed, store chunks
    np.testing.assert_allclose(view["solution"].values, solution.astype(np.float32))
    np.testing.assert_array_equal(view["param_k"].values, np.arange(n))
    np.testing.assert_array_equal(view["source_index"].values, np.arange(n)[::-1])
    assert view.attrs["family"] == "darcy"
