"""Undo what verify_store found, short of solving: metadata rebuilt from the identity,
broken chunks rewritten whole, damaged samples marked pending for a run to regenerate.

Only safe under the writer lock (the repair flow holds it). Every sample outside the
findings keeps its bytes: a chunk is rewritten only when it does not decode at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import MemoryStore

from ._checked import has_checksums
from ._errors import StorageError
from ._schema import BACKUP, PENDING, add_array, array_schema
from ._stores import open_root, writable_store
from ._verify import GROUPS, VerifyReport

__all__ = ["contiguous_runs", "finish_repair", "mark_pending", "rebuild_metadata",
           "rewrite_broken_chunks"]

REPAIRING = "repairing"  # positions a repair marked pending and has not yet regenerated


def rebuild_metadata(url: str, report: VerifyReport) -> list[str]:
    """Write afresh each ``zarr.json`` the report found damaged; the files written.

    The root's attrs come from the copy of the creation attrs that the status array keeps
    (the run history and failure reasons are lost with it); an array's metadata comes from
    the schema and the identity (n, grid, chunk, the solution dtype, the checksum codec).
    """
    broken = report.broken_metadata()
    if not broken:
        return []
    store = writable_store(url)
    template = zarr.open_group(MemoryStore(), mode="w", zarr_format=3)
    if "" in broken:
        template.attrs.put(_root_attrs(store, url))
    else:
        template.attrs.put(open_root(url, "r").attrs.asdict())
    attrs = template.attrs.asdict()
    readable = [a for a in _arrays(store, attrs) if a is not None]
    status = next((a for a in readable if a.path == "status"), None)
    dtype = (status.attrs.get(BACKUP, {}) if status is not None else {}).get(
        "solution_dtype", "float32")
    chunk = readable[0].chunks[0] if readable else int(attrs["chunk"])
    checksums = any(has_checksums(a) for a in readable) or not readable
    schema = array_schema(attrs["input_names"], attrs["param_names"], dtype,
                          attrs.get("inputs_dtype") or "float32")
    for group in GROUPS:
        template.create_group(group)
    for path in broken:
        if path in schema:
            add_array(template, path, schema[path], n=int(attrs["n"]),
                      grid=tuple(attrs["grid"]), chunk=chunk, checksums=checksums)
    written = []
    for path in broken:
        key = f"{path}/zarr.json" if path else "zarr.json"
        value = sync(template.store.get(key, prototype=default_buffer_prototype()))
        sync(store.set(key, value))
        written.append(key)
    return written


def _root_attrs(store, url: str) -> dict:
    try:
        status = zarr.open_array(store, path="status", mode="r", zarr_format=3)
        attrs = dict(status.attrs[BACKUP])
    except Exception as exc:  # noqa: BLE001 - no second copy to rebuild from
        raise StorageError(f"{url}/zarr.json is damaged and status/zarr.json holds no copy "
                           "of the identity: the store cannot be rebuilt") from exc
    attrs.pop("solution_dtype", None)
    attrs["n"] = status.shape[0]
    attrs["rebuilt"] = datetime.now(UTC).isoformat(timespec="seconds")
    return attrs


def _arrays(store, attrs: dict) -> list[zarr.Array | None]:
    arrays = []
    for path in array_schema(attrs["input_names"], attrs["param_names"], "float32"):
        try:
            arrays.append(zarr.open_array(store, path=path, mode="r", zarr_format=3))
        except Exception:  # noqa: BLE001 - damaged: rebuilt from the others
            arrays.append(None)
    return arrays


def rewrite_broken_chunks(url: str, report: VerifyReport) -> list[str]:
    """Replace every chunk that does not decode by one of fill values (whole, so nothing
    is read); the chunks rewritten. Their samples are among ``report.damaged()``."""
    root = open_root(url, "r+")
    rewritten = []
    for path, index in report.broken_chunks():
        array = root[path]
        size = array.chunks[0]
        start, stop = index * size, min((index + 1) * size, array.shape[0])
        array[start:stop] = np.full((stop - start, *array.shape[1:]), array.fill_value,
                                    dtype=array.dtype)
        rewritten.append(f"{path} chunk {index}")
    return rewritten


def mark_pending(url: str, positions: np.ndarray) -> np.ndarray:
    """Set ``positions`` pending (after rewrite_broken_chunks: their status chunks decode);
    every position a repair still owes, these and those of a repair cut short, sorted.

    The positions are recorded in attrs[REPAIRING] first, so that a repair killed before
    it regenerates them is finished by the next one, which solves only them.
    """
    root = open_root(url, "r+")
    owed = np.union1d(np.asarray(root.attrs.get(REPAIRING, []), dtype=np.int64),
                      np.asarray(positions, dtype=np.int64))
    if len(owed):
        root.attrs[REPAIRING] = owed.tolist()
    status = root["status"]
    for start, stop in contiguous_runs(positions):
        status[start:stop] = PENDING
    return owed


def finish_repair(url: str) -> None:
    """Drop the record of owed positions once they are regenerated."""
    root = open_root(url, "r+")
    if REPAIRING in root.attrs:
        del root.attrs[REPAIRING]


def contiguous_runs(positions: np.ndarray, chunk: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) runs of consecutive positions (cut at chunk boundaries when given)."""
    runs: list[tuple[int, int]] = []
    for p in np.unique(np.asarray(positions, dtype=np.int64)).tolist():
        joins = runs and runs[-1][1] == p and (chunk is None or p % chunk)
        runs[-1:] = [(runs[-1][0], p + 1)] if joins else [*runs[-1:], (p, p + 1)]
    return runs
