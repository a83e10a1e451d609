"""The dataset layout of docs/data.md (the zarr store): arrays, dtypes, chunking and checks.

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
from zarr.codecs import BloscCodec, Crc32cCodec

from ._checked import CheckedArray, DamagedMetadata
from ._errors import InterruptedGrowth, StorageError

PENDING, DONE, FAILED = 0, 1, 2
MARKER = "pdeforge_version"  # written last at creation: its absence means an unfinished store
BACKUP = "pdeforge_identity"  # status's attrs: the creation attrs, to rebuild the root's
GROWING = "growing_to"  # present only while a dataset grows along sample (see grow_dataset)
# family_path/family_version/inputs_dtype: absent from stores made before they were recorded
IDENTITY_KEYS = ("family", "family_path", "family_version", "grid", "seed", "n",
                 "family_options", "inputs_dtype")
STATS = {"iterations": "int32", "residual": "float64", "seconds": "float64"}
GRID_DIMS = ("x", "y", "z")
SAMPLE = "sample"
# Byte shuffling before zstd roughly halves float fields on smooth PDE data; a CRC32C of
# the compressed bytes lets a reader tell a damaged chunk from a valid one.
_CODECS = (BloscCodec(cname="zstd", clevel=3, shuffle="shuffle"), Crc32cCodec())


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

    inputs: Mapping[str, CheckedArray]
    solution: CheckedArray
    params: Mapping[str, CheckedArray]
    stats: Mapping[str, CheckedArray]
    source_index: CheckedArray
    status: CheckedArray

    @property
    def n(self) -> int:
        return self.status.shape[0]

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(self.solution.shape[1:])

    @property
    def chunk(self) -> int:
        return self.status.chunks[0]


def array_schema(fields: Sequence[str], params: Sequence[str], solution_dtype: str,
                 inputs_dtype: str = "float32") -> dict[str, tuple[str, float | int, bool]]:
    """Every array's path -> (dtype, fill value, whether it spans the grid)."""
    return {
        **{f"inputs/{field}": (inputs_dtype, np.nan, True) for field in fields},
        "solution": (solution_dtype, np.nan, True),
        **{f"params/{name}": ("float64", np.nan, False) for name in params},
        **{f"stats/{name}": (dtype, -1 if dtype == "int32" else np.nan, False)
           for name, dtype in STATS.items()},
        "source_index": ("int64", -1, False),
        "status": ("uint8", PENDING, False),
    }


def add_array(root: zarr.Group, path: str, kind: tuple[str, float | int, bool], *, n: int,
              grid: tuple[int, ...], chunk: int, checksums: bool) -> zarr.Array:
    """Create one array of the schema (``kind`` from array_schema), chunked along sample."""
    dtype, fill, on_grid = kind
    shape = (n, *grid) if on_grid else (n,)
    return root.create_array(
        path,
        shape=shape,
        chunks=(chunk, *shape[1:]),
        dtype=dtype,
        fill_value=fill,
        dimension_names=(SAMPLE, *GRID_DIMS[: len(grid)]) if on_grid else (SAMPLE,),
        compressors=_CODECS if checksums else _CODECS[:1],
    )


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
    checksums: bool = True,
    inputs_dtype: str = "float32",
) -> None:
    """Create every array (nothing written but source_index) in an empty root group;
    ``checksums=False`` makes the layout of stores written before checksums existed."""
    for group in ("inputs", "params", "stats"):
        root.create_group(group)
    for path, kind in array_schema(fields, params, solution_dtype, inputs_dtype).items():
        array = add_array(root, path, kind, n=n, grid=grid, chunk=chunk, checksums=checksums)
        if path == "source_index":
            array[:] = source_index


def read_layout(root: zarr.Group, url: str) -> Layout:
    """Collect and cross-check the arrays; any inconsistency is a StorageError."""
    attrs = root.attrs.asdict()
    layout = collect_layout(root, attrs, url)
    if GROWING in attrs:
        raise InterruptedGrowth(url, attrs["n"], attrs[GROWING], layout.chunk)
    _check_consistent(layout, attrs, url)
    return layout


def require_marker(attrs: Mapping[str, Any], url: str) -> None:
    """StorageError unless the attrs carry the marker written last at creation."""
    if MARKER not in attrs:
        raise StorageError(
            f"{url} is not a complete pdeforge dataset (no {MARKER!r} attribute); "
            "delete it to start over"
        )


def collect_layout(root: zarr.Group, attrs: Mapping[str, Any], url: str) -> Layout:
    """The arrays the attrs name, unchecked (a growth in progress has mixed lengths)."""
    require_marker(attrs, url)

    def array(path: str) -> CheckedArray:
        try:
            found = root[path]
        except KeyError:
            raise DamagedMetadata(url, path, "missing") from None
        except Exception as exc:  # noqa: BLE001 - a cut-short or garbled zarr.json
            raise DamagedMetadata(url, path, f"damaged ({type(exc).__name__}: {exc})") from exc
        if not isinstance(found, zarr.Array):
            raise DamagedMetadata(url, path, "a group, not an array")
        return CheckedArray(found, url, path)

    return Layout(
        inputs={name: array(f"inputs/{name}") for name in attrs["input_names"]},
        solution=array("solution"),
        params={name: array(f"params/{name}") for name in attrs["param_names"]},
        stats={name: array(f"stats/{name}") for name in STATS},
        source_index=array("source_index"),
        status=array("status"),
    )


def _check_consistent(layout: Layout, attrs: Mapping[str, Any], url: str) -> None:
    if attrs.get("n") != layout.n or attrs.get("grid") != list(layout.grid):
        raise StorageError(f"{url} has a corrupt layout: attrs n/grid disagree with the arrays")
    grid_shape = (layout.n, *layout.grid)
    for name, array in all_arrays(layout):
        shape = grid_shape if array.ndim > 1 else (layout.n,)
        if array.shape != shape:
            raise StorageError(f"{url} has a corrupt layout: {name} should have shape {shape}")
        if array.chunks[0] != layout.chunk:
            raise StorageError(f"{url} has a corrupt layout: {name} is chunked unlike status")


def all_arrays(layout: Layout) -> list[tuple[str, CheckedArray]]:
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
