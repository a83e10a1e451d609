"""Fixtures for the storage tests: a tiny dataset on a local path or in fsspec memory."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import fsspec
import numpy as np
import pytest

import storage

N, GRID, CHUNK = 10, (4, 5), 4
FIELDS, PARAMS = ("coefficient", "forcing"), ("kappa",)
SOURCE = np.arange(N, dtype=np.int64)[::-1].copy()
IDENTITY = {"family": "darcy", "seed": 7, "n": N, "grid": GRID, "family_options": {"alpha": 2.5}}


@pytest.fixture(params=["local", "memory"])
def url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "local":
        yield str(tmp_path / "data.zarr")
        return
    name = f"{uuid.uuid4().hex}.zarr"
    yield f"memory://{name}"
    memory = fsspec.filesystem("memory")
    if memory.exists(name):
        memory.rm(name, recursive=True)


@pytest.fixture
def make() -> Callable[..., storage.Dataset]:
    """create_dataset with the test identity; keyword arguments override it."""

    def make(url: str, attrs: dict[str, Any] | None = None, **kwargs: Any) -> storage.Dataset:
        arguments = dict(
            n=N, grid=GRID, fields=FIELDS, params=PARAMS, chunk=CHUNK, source_index=SOURCE
        )
        attrs = {**IDENTITY, "solver": "skr", **(attrs or {})}
        return storage.create_dataset(url, **{**arguments, **kwargs, "attrs": attrs})

    return make


@pytest.fixture
def block() -> Callable[[int, int], dict[str, Any]]:
    """Deterministic write_block keyword arguments for samples [start, stop)."""

    def block(start: int, stop: int) -> dict[str, Any]:
        rng = np.random.default_rng(start)
        m = stop - start
        return dict(
            inputs={name: rng.random((m, *GRID)) for name in FIELDS},
            solution=rng.random((m, *GRID)),
            params={name: rng.random(m) for name in PARAMS},
            iterations=rng.integers(1, 100, m),
            residual=rng.random(m) * 1e-8,
            seconds=rng.random(m),
            status=np.full(m, storage.DONE),
        )

    return block
