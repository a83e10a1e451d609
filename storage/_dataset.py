"""Create, open, resume and write a pdeforge dataset (one writer per chunk)."""

from __future__ import annotations

import copy
import importlib.metadata
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import zarr
from numpy.typing import ArrayLike

from ._checked import has_checksums
from ._errors import StorageError
from ._ladder import LADDER
from ._schema import (
    BACKUP,
    DONE,
    FAILED,
    MARKER,
    PENDING,
    Layout,
    all_arrays,
    attrs_difference,
    create_layout,
    identity_difference,
    read_layout,
    to_json,
)
from ._stores import create_root, exists, open_root


class Dataset:
    """A pdeforge zarr dataset: its arrays, attrs, and the resume bookkeeping.

    Pickles as (url, mode) and reopens, so it can be shipped to Dask workers.
    """

    def __init__(self, url: str, root: zarr.Group, layout: Layout, mode: str) -> None:
        self._url = url
        self._root = root
        self._layout = layout
        self._mode = mode

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open_dataset, (self._url, self._mode)

    def __len__(self) -> int:
        return self._layout.n

    def __repr__(self) -> str:
        return f"Dataset({self._url!r}, n={len(self)}, grid={self.grid}, chunk={self.chunk})"

    @property
    def url(self) -> str:
        return self._url

    @property
    def grid(self) -> tuple[int, ...]:
        return self._layout.grid

    @property
    def chunk(self) -> int:
        return self._layout.chunk

    @property
    def checksums(self) -> bool:
        """Whether every array keeps a CRC32C of each chunk (stores made before: False)."""
        return all(has_checksums(array.array) for _, array in all_arrays(self._layout))

    @property
    def inputs(self) -> Mapping[str, zarr.Array]:
        return MappingProxyType(self._layout.inputs)

    @property
    def solution(self) -> zarr.Array:
        return self._layout.solution

    @property
    def params(self) -> Mapping[str, zarr.Array]:
        return MappingProxyType(self._layout.params)

    @property
    def stats(self) -> Mapping[str, zarr.Array]:
        return MappingProxyType(self._layout.stats)

    @property
    def status(self) -> zarr.Array:
        return self._layout.status

    @property
    def source_index(self) -> zarr.Array:
        return self._layout.source_index

    @property
    def attrs(self) -> dict[str, Any]:
        """A copy, so callers cannot alter the store's metadata by accident."""
        return copy.deepcopy(self._root.attrs.asdict())

    def done_mask(self) -> np.ndarray:
        return self.status[:] == DONE

    def pending(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Positions in [start, stop) still to solve (pending or failed): what a resume redoes."""
        stop = len(self) if stop is None else stop
        return start + np.flatnonzero(self.status[start:stop] != DONE)

    def write_block(
        self,
        start: int,
        *,
        inputs: Mapping[str, ArrayLike],
        solution: ArrayLike,
        params: Mapping[str, ArrayLike],
        iterations: ArrayLike,
        residual: ArrayLike,
        seconds: ArrayLike,
        status: ArrayLike,
    ) -> None:
        """Write samples start..start+len(solution)-1 of one task.

        The block must lie in one chunk or be a chunk-aligned run, so that it never
        touches another writer's chunk. Everything is validated before anything is
        written, and status is written last: a crash never marks a sample done
        without its data.
        """
        if self._mode == "r":
            raise StorageError(f"{self._url} was opened read-only")
        solution = np.asarray(solution)
        stop = start + len(solution)
        self._check_block(start, stop)
        m, grid = stop - start, self.grid
        _same_names("inputs", inputs, self._layout.inputs)
        _same_names("params", params, self._layout.params)
        status = _block("status", status, (m,), np.int64)
        if not np.isin(status, (PENDING, DONE, FAILED)).all():
            raise ValueError(f"status values must be {PENDING}, {DONE} or {FAILED}")
        data = [
            *(
                (a, _block(f"inputs[{k!r}]", inputs[k], (m, *grid), a.dtype))
                for k, a in self._layout.inputs.items()
            ),
            (self.solution, _block("solution", solution, (m, *grid), self.solution.dtype)),
            *(
                (a, _block(f"params[{k!r}]", params[k], (m,), a.dtype))
                for k, a in self._layout.params.items()
            ),
        ]
        stats = {"iterations": iterations, "residual": residual, "seconds": seconds}
        data += [(a, _block(k, stats[k], (m,), a.dtype)) for k, a in self._layout.stats.items()]
        for array, values in data:
            array[start:stop] = values
        self.status[start:stop] = status.astype(np.uint8)

    def _check_block(self, start: int, stop: int) -> None:
        n, c = len(self), self.chunk
        if not 0 <= start < stop <= n:
            raise ValueError(f"block [{start}, {stop}) is empty or outside [0, {n})")
        in_one_chunk = start // c == (stop - 1) // c
        aligned = start % c == 0 and (stop % c == 0 or stop == n)
        if not (in_one_chunk or aligned):
            raise ValueError(
                f"block [{start}, {stop}) straddles a chunk boundary (chunk {c}); "
                "a writer must stay inside the chunks it owns"
            )

    def record_failures(self, failures: Mapping[int, str]) -> None:
        """Merge failure reasons into attrs["failures"]; reasons of samples now done are dropped.

        Not safe to call concurrently: the flow calls it once, from its finalize step.
        """
        done = self.done_mask()
        self._merge_reasons("failures", failures, keep=lambda p: not done[p])

    def record_fallbacks(self, fallbacks: Mapping[int, str]) -> None:
        """Merge into attrs["fallbacks"] why a done sample needed the fallback solver (its
        first attempt's failure): the stored solution and stats are the fallback's."""
        self._merge_reasons("fallbacks", fallbacks, keep=lambda p: True)

    def _merge_reasons(self, key: str, reasons: Mapping[int, str], keep) -> None:
        if self._mode == "r":
            raise StorageError(f"{self._url} was opened read-only")
        for position in reasons:
            if not 0 <= int(position) < len(self):
                raise ValueError(f"{key} position {position} is outside [0, {len(self)})")
        merged = {
            **self._root.attrs.get(key, {}),
            **{str(int(p)): str(reason) for p, reason in reasons.items()},
        }
        self._root.attrs[key] = {p: r for p, r in merged.items() if keep(int(p))}

    def record_run(self, run: Mapping[str, Any]) -> None:
        """Append one run's record (wall seconds, samples solved, solver, devices, ...) to
        attrs["runs"], for `pdeforge info`; the flow's finalize step is the one caller."""
        if self._mode == "r":
            raise StorageError(f"{self._url} was opened read-only")
        self._root.attrs["runs"] = to_json([*self._root.attrs.get("runs", []), dict(run)])

    def to_xarray(self) -> Any:
        """Every array in one lazy (dask-backed) ``xarray.Dataset``, for analysis at scale.

        Root arrays keep their names; group members become ``input_<name>``,
        ``param_<name>`` and ``stat_<name>``, all on the shared ``sample`` dimension.
        """
        import xarray as xr

        def group(name: str | None) -> Any:
            return xr.open_zarr(self._root.store, group=name, consolidated=False)

        parts = [group(None)]
        for name, prefix in (("inputs", "input_"), ("params", "param_"), ("stats", "stat_")):
            part = group(name)
            parts.append(part.rename({v: prefix + str(v) for v in part.data_vars}))
        return xr.merge(parts, combine_attrs="override")

    def summary(self) -> dict[str, Any]:
        """Counts and solve statistics over done samples, for `pdeforge info`."""
        status = self.status[:]
        done = status == DONE
        residual = self.stats["residual"][:][done]
        iterations = self.stats["iterations"][:][done]
        attrs = self._root.attrs
        return {
            "url": self._url,
            "family": attrs.get("family"),
            "grid": list(self.grid),
            "n": len(self),
            "checksums": self.checksums,
            "done": int(done.sum()),
            "failed": int((status == FAILED).sum()),
            "pending": int((status == PENDING).sum()),
            "fallbacks": len(attrs.get("fallbacks", {})),
            "residual_max": float(residual.max()) if done.any() else None,
            "residual_median": float(np.median(residual)) if done.any() else None,
            "iterations_mean": float(iterations.mean()) if done.any() else None,
            "iterations_max": int(iterations.max()) if done.any() else None,
            "failures_by_reason": dict(Counter(
                reason.split(": ", 1)[0] for reason in attrs.get("failures", {}).values())),
            "last_run": (attrs.get("runs") or [None])[-1],
        }


def _same_names(what: str, given: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    if set(given) != set(stored):
        raise ValueError(f"{what} must have exactly the keys {sorted(stored)}, not {sorted(given)}")


def _block(name: str, value: ArrayLike, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Cast to the stored dtype; a scalar fills a 1-D block (e.g. status=DONE)."""
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0 and len(shape) == 1:
        array = np.full(shape, array)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
    return array


def open_dataset(url: str, mode: str = "r") -> Dataset:
    """Open an existing dataset ("r" read-only, "r+" to write); StorageError if there is none."""
    root = open_root(url, mode)
    if LADDER in root.attrs:
        rungs = root.attrs[LADDER]["rungs"]
        raise StorageError(f"{url} is a resolution ladder ({', '.join(rungs)}): open one "
                           f"rung, e.g. {url.rstrip('/')}/{rungs[0]} (--resolution {rungs[0]})")
    return Dataset(url, root, read_layout(root, url), mode)


def existing_dataset(url: str, attrs: Mapping[str, Any]) -> Dataset | None:
    """Pre-flight check before a run: the store at ``url`` if one exists, else None.

    Raises StorageError, touching nothing, when the existing store was made for another
    identity (family, grid, seed, n, family options) or its status or sample order is
    damaged, so bad input fails before any work.
    """
    try:
        dataset = open_dataset(url)
    except StorageError:
        if not exists(url):
            return None
        raise
    difference = attrs_difference(dataset.attrs, to_json(dict(attrs)))
    if difference:
        raise StorageError(f"store {url} was made for {difference}")
    dataset.status[:], dataset.source_index[:]  # what a resume reads: damage stops it here
    return dataset


def create_dataset(
    url: str,
    *,
    n: int,
    grid: tuple[int, ...],
    fields: Sequence[str],
    params: Sequence[str],
    chunk: int,
    source_index: np.ndarray,
    attrs: Mapping[str, Any],
    solution_dtype: str = "float32",
    checksums: bool = True,
    inputs_dtype: str = "float32",
) -> Dataset:
    """Create the dataset, or reopen it for resume if it exists with the same identity.

    New stores keep a CRC32C checksum of every chunk (``checksums=False`` writes the
    layout of stores made before they existed, for tests and the bench).

    An existing store made for another identity (attrs family, grid, seed, n,
    family_options; the fields, params, chunk, solution and inputs dtypes, source_index) raises a
    StorageError naming the difference and is left untouched.
    """
    source_index = np.asarray(source_index)
    _check_arguments(n, grid, fields, params, chunk, source_index,
                     (solution_dtype, inputs_dtype))
    requested = _full_attrs(attrs, n=n, grid=grid, fields=fields, params=params)
    try:
        root = open_root(url, "r+")
    except StorageError:
        root = None
    if root is not None:
        layout = read_layout(root, url)
        difference = identity_difference(
            layout,
            root.attrs.asdict(),
            requested,
            chunk=chunk,
            solution_dtype=solution_dtype,
            source_index=source_index,
            inputs_dtype=inputs_dtype,
        )
        if difference:
            raise StorageError(f"store {url} was made for {difference}")
        return Dataset(url, root, layout, "r+")
    root = create_root(url)
    create_layout(
        root,
        n=n,
        grid=tuple(grid),
        fields=fields,
        params=params,
        chunk=chunk,
        source_index=source_index,
        solution_dtype=solution_dtype,
        checksums=checksums,
        inputs_dtype=inputs_dtype,
    )
    # a second copy of the identity, from which a damaged root zarr.json is rebuilt
    root["status"].attrs[BACKUP] = {**requested, "solution_dtype": solution_dtype}
    root.attrs.update(requested)  # MARKER is among these: written last
    return Dataset(url, root, read_layout(root, url), "r+")


def _check_arguments(
    n: int,
    grid: tuple[int, ...],
    fields: Sequence[str],
    params: Sequence[str],
    chunk: int,
    source_index: np.ndarray,
    dtypes: tuple[str, ...],
) -> None:
    if n < 1 or chunk < 1:
        raise ValueError(f"n and chunk must be positive, not {n} and {chunk}")
    if not 1 <= len(grid) <= 3 or min(grid) < 1:
        raise ValueError(f"grid must have 1 to 3 positive sizes, not {grid}")
    for what, names in (("fields", fields), ("params", params)):
        if len(set(names)) != len(names) or any(not k or "/" in k for k in names):
            raise ValueError(f"{what} must be distinct non-empty names without '/': {names}")
    if source_index.shape != (n,) or source_index.dtype.kind not in "iu":
        raise ValueError(
            f"source_index must be {n} integers, not {source_index.dtype} "
            f"of shape {source_index.shape}"
        )
    for dtype in dtypes:
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"solution and inputs dtypes must be float32 or float64, not "
                             f"{dtype!r}")


def _full_attrs(
    attrs: Mapping[str, Any],
    *,
    n: int,
    grid: tuple[int, ...],
    fields: Sequence[str],
    params: Sequence[str],
) -> dict[str, Any]:
    """The caller's attrs plus those storage owns; a caller value may not contradict them."""
    own = to_json(
        {
            "n": n,
            "grid": grid,
            "input_names": fields,
            "param_names": params,
            "failures": {},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            MARKER: _version(),
        }
    )
    given = to_json(dict(attrs))
    for key in own.keys() & given.keys():
        if given[key] != own[key]:
            raise ValueError(f"attrs[{key!r}] = {given[key]!r} contradicts the value storage sets")
    return {**given, **own}


def _version() -> str:
    try:
        return importlib.metadata.version("pdeforge")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
