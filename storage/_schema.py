"""The dataset layout of DESIGN.md ("zarr dataset"): arrays, dtypes, chunking and checks.

Every array is chunked along ``sample`` by the flow's task size and spans the whole grid,
so a task's block is exactly its own chunks and concurrent writers never share one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from ._errors import InterruptedGrowth, StorageError

PENDING, DONE, FAILED = 0, 1, 2
MARKER = "pdeforge_version"  # written last at creation: its absence means an unfinished store
GROWING = "growing_to"  # present only while a dataset grows along sample (see grow_dataset)
# family_path/family_version/inputs_dtype: absent from stores made before they were recorded
IDENTITY_KEYS = ("family", "family_path", "family_version", "grid", "seed", "n",
                 "family_options", "inputs_dtype")
STATS = {"iterations": "int32", "residual": "float64", "seconds": "float64"}
GRID_DIMS = ("x", "y", "z")
SAMPLE = "sample"
# Byte shuffling before zstd roughly halves float fields on smooth PDE data.
_CODEC = BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")


def to_json(value: Any) -> Any:
    """Normalise to what the attrs will hold (tuples -> lists, numpy scalars -> Python)."""
    return json.loads(json.dumps(value, default=_numpy_to_python))


def _numpy_to_python(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"attribute value {value!r} is not JSON serialisable")


@dataclass(frozen=True)
class Layout:
    """The arrays of one dataset, validated against each other."""

    inputs: Mapping[str, zarr.Array]
    solution: zarr.Array
    params: Mapping[str, zarr.Array]
    stats: Mapping[str, zarr.Array]
    source_index: zarr.Array
    status: zarr.Array

    @property
    def n(self) -> int:
        return self.status.shape[0]

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(self.solution.shape[1:])

    @property
    def chunk(self) -> int:
        return self.status.chunks[0]


def create_layout(
    root: zarr.Group,
    *,
    n: int,
    grid: tuple[int, ...],
    fields: Sequence[str],
    params: Sequence[str],
    chunk: int,
    source_index: np.ndarray,
    solution_dtype: str,
    inputs_dtype: str = "float32",
) -> None:
    """Create every array (nothing written but source_index) in an empty root group."""
    grid_dims = (SAMPLE, *GRID_DIMS[: len(grid)])

    def add(path: str, dtype: str, fill: float | int, dims: tuple[str, ...]) -> zarr.Array:
        shape = (n, *grid) if len(dims) > 1 else (n,)
        return root.create_array(
            path,
            shape=shape,
            chunks=(chunk, *shape[1:]),
            dtype=dtype,
            fill_value=fill,
            dimension_names=dims,
            compressors=_CODEC,
        )

    for group in ("inputs", "params", "stats"):
        root.create_group(group)
    for field in fields:
        add(f"inputs/{field}", inputs_dtype, np.nan, grid_dims)
    add("solution", solution_dtype, np.nan, grid_dims)
    for name in params:
        add(f"params/{name}", "float64", np.nan, (SAMPLE,))
    for name, dtype in STATS.items():
        add(f"stats/{name}", dtype, -1 if dtype == "int32" else np.nan, (SAMPLE,))
    add("source_index", "int64", -1, (SAMPLE,))[:] = source_index
    add("status", "uint8", PENDING, (SAMPLE,))


def read_layout(root: zarr.Group, url: str) -> Layout:
    """Collect and cross-check the arrays; any inconsistency is a StorageError."""
    attrs = root.attrs.asdict()
    layout = collect_layout(root, attrs, url)
    if GROWING in attrs:
        raise InterruptedGrowth(url, attrs["n"], attrs[GROWING], layout.chunk)
    _check_consistent(layout, attrs, url)
    return layout


def collect_layout(root: zarr.Group, attrs: Mapping[str, Any], url: str) -> Layout:
    """The arrays the attrs name, unchecked (a growth in progress has mixed lengths)."""
    if MARKER not in attrs:
        raise StorageError(
            f"{url} is not a complete pdeforge dataset (no {MARKER!r} attribute); "
            "delete it to start over"
        )
    try:
        return Layout(
            inputs={name: root[f"inputs/{name}"] for name in attrs["input_names"]},
            solution=root["solution"],
            params={name: root[f"params/{name}"] for name in attrs["param_names"]},
            stats={name: root[f"stats/{name}"] for name in STATS},
            source_index=root["source_index"],
            status=root["status"],
        )
    except KeyError as exc:
        raise StorageError(f"{url} has a corrupt layout: {exc.args[0]} is missing") from exc


def _check_consistent(layout: Layout, attrs: Mapping[str, Any], url: str) -> None:
    if attrs.get("n") != layout.n or attrs.get("grid") != list(layout.grid):
        raise StorageError(f"{url} has a corrupt layout: attrs n/grid disagree with the arrays")
    grid_shape = (layout.n, *layout.grid)
    for name, array in all_arrays(layout):
        shape = grid_shape if array.ndim > 1 else (layout.n,)
        if not isinstance(array, zarr.Array) or array.shape != shape:
            raise StorageError(f"{url} has a corrupt layout: {name} should have shape {shape}")
        if array.chunks[0] != layout.chunk:
            raise StorageError(f"{url} has a corrupt layout: {name} is chunked unlike status")


def all_arrays(layout: Layout) -> list[tuple[str, zarr.Array]]:
    return [
        *((f"inputs/{k}", a) for k, a in layout.inputs.items()),
        ("solution", layout.solution),
        *((f"params/{k}", a) for k, a in layout.params.items()),
        *((f"stats/{k}", a) for k, a in layout.stats.items()),
        ("source_index", layout.source_index),
        ("status", layout.status),
    ]


def attrs_difference(
    stored_attrs: Mapping[str, Any], requested_attrs: Mapping[str, Any]
) -> str | None:
    """The first identity attribute (family, grid, seed, ...) present in both that differs."""
    for key in (*IDENTITY_KEYS, "input_names", "param_names"):
        if key in stored_attrs and key in requested_attrs:
            if stored_attrs[key] != requested_attrs[key]:
                return f"{key} {stored_attrs[key]!r}, not {requested_attrs[key]!r}"
    return None


def identity_difference(
    layout: Layout,
    stored_attrs: Mapping[str, Any],
    requested_attrs: Mapping[str, Any],
    *,
    chunk: int,
    solution_dtype: str,
    source_index: np.ndarray,
    inputs_dtype: str = "float32",
) -> str | None:
    """Describe the first way a stored dataset differs from the requested one, or None."""
    difference = attrs_difference(stored_attrs, requested_attrs)
    if difference:
        return difference
    if layout.chunk != chunk:
        return f"chunk {layout.chunk}, not {chunk}"
    if layout.solution.dtype != np.dtype(solution_dtype):
        return f"solution dtype {str(layout.solution.dtype)!r}, not {solution_dtype!r}"
    for name, array in layout.inputs.items():
        if array.dtype != np.dtype(inputs_dtype):
            return f"inputs dtype {str(array.dtype)!r} ({name}), not {inputs_dtype!r}"
    if not np.array_equal(layout.source_index[:], source_index):
        return "another sample order (source_index differs)"
    return None
