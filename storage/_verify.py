"""Read every chunk of every array and check the metadata against the schema.

What a store can tell about itself without solving anything: metadata that does not
parse or disagrees with the schema, chunks that do not decode (a CRC32C mismatch, a
truncated or garbled file), chunks missing under samples marked written, and values that
no written sample can hold (a done sample with NaN in its fields, an unknown status). The
checks that need the PDE (true residuals, regenerated inputs) belong to ``flows.verify``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr
from zarr.core.sync import sync

from ._checked import CheckedArray, DamagedChunk, DamagedMetadata, has_checksums
from ._errors import InterruptedGrowth, StorageError
from ._schema import (
    DONE,
    FAILED,
    GRID_DIMS,
    GROWING,
    PENDING,
    SAMPLE,
    array_schema,
    require_marker,
)
from ._stores import open_root

__all__ = ["Finding", "VerifyReport", "verify_store"]

GROUPS = ("inputs", "params", "stats")
BATCH_BYTES = 2**28  # decoded bytes read at once: a few hundred MB whatever the store's size


@dataclass(frozen=True)
class Finding:
    """One thing found wrong: why, where (a file, an array's chunk) and the samples it hits."""

    reason: str  # metadata, unreadable chunk, checksum, missing chunk, invalid values, ...
    where: str
    samples: tuple[int, ...] = ()
    path: str | None = None  # the array, when one chunk (or its metadata) is at fault
    chunk: int | None = None
    detail: str = ""


@dataclass
class VerifyReport:
    """What `pdeforge verify` found in one store."""

    url: str
    n: int = 0
    checksums: bool | None = None  # None: unknown (the metadata did not read)
    counts: dict[str, int] = field(default_factory=dict)  # done / failed / pending
    findings: list[Finding] = field(default_factory=list)
    bytes_read: int = 0  # stored (compressed) bytes of the chunks read
    chunks_read: int = 0
    seconds: float = 0.0
    residuals_checked: int = 0
    residual_seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.findings

    def damaged(self) -> np.ndarray:
        """Positions of every damaged sample, sorted."""
        return np.unique(np.fromiter(
            (p for f in self.findings for p in f.samples), dtype=np.int64))

    def broken_chunks(self) -> list[tuple[str, int]]:
        """(array, chunk) pairs that must be rewritten whole: they do not decode."""
        return sorted({(f.path, f.chunk) for f in self.findings
                       if f.chunk is not None and f.reason in ("checksum", "unreadable chunk")})

    def broken_metadata(self) -> list[str]:
        return sorted({f.path or "" for f in self.findings if f.reason == "metadata"})

    def raise_for_damage(self) -> None:
        """A StorageError naming the first damaged file: for commands that must not start
        (a training run, an evaluation) on a store they would fail on midway."""
        if self.findings:
            first = self.findings[0]
            more = f" (and {len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
            raise StorageError(
                f"{self.url}/{first.where.split(' ')[0]} is damaged ({first.reason}): "
                f"{describe_samples(first.samples)}{more}; run `pdeforge verify --repair "
                f"{self.url}`")

    def lines(self) -> list[str]:
        """The human report: a summary, then each finding under its reason."""
        c = self.counts
        gb = self.bytes_read / 1e9
        lines = [f"{self.url}: n={self.n}: {c.get('done', 0)} done, {c.get('failed', 0)} "
                 f"failed, {c.get('pending', 0)} pending; {self.chunks_read} chunks "
                 f"({self.bytes_read / 1e6:.1f} MB) read in {self.seconds:.2f} s "
                 f"({gb / max(self.seconds, 1e-9):.2f} GB/s); checksums: "
                 + {True: "crc32c", False: "none (a store made before checksums)",
                    None: "unknown"}[self.checksums]]
        if self.residuals_checked:
            lines.append(f"  true residuals of {self.residuals_checked} done samples "
                         f"recomputed in {self.residual_seconds:.1f} s "
                         f"({self.residuals_checked / max(self.residual_seconds, 1e-9):.1f} "
                         "samples/s)")
        if self.clean:
            lines.append("  clean: every chunk reads, metadata matches the schema")
            return lines
        lines.append(f"  damaged: {len(self.damaged())} samples")
        for reason in dict.fromkeys(f.reason for f in self.findings):
            found = [f for f in self.findings if f.reason == reason]
            lines.append(f"  {reason}: {len(found)}")
            lines += [f"    {f.where}: {describe_samples(f.samples)}"
                      + (f" ({f.detail})" if f.detail else "") for f in found[:20]]
            if len(found) > 20:
                lines.append(f"    ... and {len(found) - 20} more")
        return lines


def describe_samples(samples: tuple[int, ...]) -> str:
    if not samples:
        return "no sample lost (metadata only)"
    runs, start = [], samples[0]
    for previous, current in zip(samples, (*samples[1:], None), strict=True):
        if current != previous + 1:
            runs.append(f"{start}" if start == previous else f"{start}..{previous}")
            start = current
    return "samples " + ", ".join(runs)


def verify_store(url: str) -> VerifyReport:
    """Read every chunk of every array of the store at ``url``; what is wrong, by reason.

    Raises StorageError only for what is not a damaged pdeforge store (nothing there, a
    store another tool made, a growth cut short).
    """
    clock = time.perf_counter()
    report = VerifyReport(url)
    try:
        root = open_root(url, "r")
    except DamagedMetadata as exc:
        report.findings.append(Finding("metadata", "zarr.json", detail=exc.reason, path=""))
        report.seconds = time.perf_counter() - clock
        return report
    attrs = root.attrs.asdict()
    require_marker(attrs, url)
    if GROWING in attrs:
        raise InterruptedGrowth(url, attrs["n"], attrs[GROWING], int(attrs.get("chunk") or 0))
    arrays = _open_arrays(root, attrs, url, report)
    status = arrays.pop("status", None)
    report.n = int(attrs["n"])
    if arrays:
        report.checksums = all(has_checksums(a.array) for a in arrays.values())
    if status is not None:
        written, done = _read_status(status, report)
        for path, array in arrays.items():
            _read_array(path, array, written, done, report)
    report.seconds = time.perf_counter() - clock
    return report


def _open_arrays(root: zarr.Group, attrs: dict[str, Any], url: str, report: VerifyReport
                 ) -> dict[str, CheckedArray]:
    """Each array of the schema whose metadata reads and matches; findings for the rest."""
    arrays: dict[str, CheckedArray] = {}
    schema = array_schema(attrs.get("input_names", []), attrs.get("param_names", []),
                          "float32", attrs.get("inputs_dtype") or "float32")
    for group in GROUPS:
        try:
            root[group]
        except Exception as exc:  # noqa: BLE001 - missing or garbled group metadata
            report.findings.append(Finding("metadata", f"{group}/zarr.json", path=group,
                                           detail=_reason(exc)))
    for path, (dtype, fill, on_grid) in schema.items():
        try:
            array = root[path]
            if not isinstance(array, zarr.Array):
                raise TypeError("a group, not an array")
        except Exception as exc:  # noqa: BLE001 - missing or garbled array metadata
            report.findings.append(Finding("metadata", f"{path}/zarr.json", path=path,
                                           detail=_reason(exc)))
            continue
        if path == "solution" and array.dtype in (np.float32, np.float64):
            dtype = str(array.dtype)
        shape = (int(attrs["n"]), *attrs["grid"]) if on_grid else (int(attrs["n"]),)
        dims = (SAMPLE, *GRID_DIMS[: len(attrs["grid"])]) if on_grid else (SAMPLE,)
        wrong = _schema_difference(array, dtype, fill, shape, dims)
        if wrong:
            report.findings.append(Finding("metadata", f"{path}/zarr.json", path=path,
                                           detail=wrong))
            continue
        arrays[path] = CheckedArray(array, url, path)
    chunks = {a.chunks[0] for a in arrays.values()}
    if len(chunks) > 1:
        report.findings.append(Finding("metadata", "zarr.json", detail="arrays chunked "
                                       f"differently along sample: {sorted(chunks)}", path=""))
    return arrays


def _schema_difference(array: zarr.Array, dtype: str, fill: Any, shape: tuple[int, ...],
                       dims: tuple[str, ...]) -> str | None:
    if array.dtype != np.dtype(dtype):
        return f"dtype {array.dtype}, not {dtype}"
    if array.shape != shape:
        return f"shape {array.shape}, not {shape}"
    if tuple(array.chunks[1:]) != shape[1:]:
        return f"chunks {array.chunks} do not span the grid"
    if tuple(array.metadata.dimension_names or ()) != dims:
        return f"dimension names {array.metadata.dimension_names}, not {dims}"
    stored = np.asarray(array.fill_value, dtype=np.float64)
    if not np.array_equal(stored, np.asarray(fill, dtype=np.float64), equal_nan=True):
        return f"fill value {array.fill_value}, not {fill}"
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "missing"
    return f"damaged ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"


def _read_status(status: CheckedArray, report: VerifyReport) -> tuple[np.ndarray, np.ndarray]:
    """(written: done or failed, done) per sample; a damaged status chunk counts as written.

    A missing status chunk is a chunk never marked: its samples are pending (a run killed
    between a block's data and its status leaves exactly that, and a resume redoes them).
    """
    values = np.full(status.shape[0], PENDING, dtype=np.uint8)
    written = np.zeros(status.shape[0], dtype=bool)
    for index, chunk in _chunks(status, report, lambda samples: ()):
        samples = status.samples_of(index)
        if chunk is None:
            written[samples.start:samples.stop] = True
            continue
        values[samples.start:samples.stop] = chunk
        bad = samples.start + np.flatnonzero(~np.isin(chunk, (PENDING, DONE, FAILED)))
        if len(bad):
            report.findings.append(Finding("invalid values", f"status chunk {index}",
                                           tuple(bad.tolist()), "status", index,
                                           "a status that is not pending, done or failed"))
        written[samples.start:samples.stop] |= chunk != PENDING
    report.counts = {"done": int((values == DONE).sum()), "failed": int((values == FAILED).sum()),
                     "pending": int((values == PENDING).sum())}
    return written, values == DONE


def _read_array(path: str, array: CheckedArray, written: np.ndarray, done: np.ndarray,
                report: VerifyReport) -> None:
    """Every chunk of one array; a done sample may hold neither the fill value nor NaN."""
    every = path == "source_index"  # written at creation for every sample

    def hit(samples: range) -> np.ndarray:
        positions = np.arange(samples.start, samples.stop)
        return positions if every else positions[written[samples.start:samples.stop]]

    for index, values in _chunks(array, report, hit):
        if values is None:
            continue
        samples = array.samples_of(index)
        flat = values.reshape(len(samples), -1)
        unset = ~np.isfinite(flat).all(axis=1) if flat.dtype.kind == "f" else (
            flat == array.fill_value).any(axis=1)
        checked = np.ones_like(unset) if every else done[samples.start:samples.stop]
        bad = samples.start + np.flatnonzero(checked & unset)
        if len(bad):
            report.findings.append(Finding("invalid values", f"{path} chunk {index}",
                                           tuple(bad.tolist()), path, index,
                                           "NaN or unset values in a done sample"))


def _chunks(array: CheckedArray, report: VerifyReport, hit: Callable[[range], Any]
            ) -> Iterator[tuple[int, np.ndarray | None]]:
    """(chunk index, its values or None) for every chunk, with findings for the damaged.

    Chunks are read a batch at a time (zarr decodes a batch's chunks concurrently) and one
    by one only where a batch fails. A chunk never written reads as the fill value; it is
    missing only when samples ``hit(samples)`` (those marked written) put data there.
    """
    store = array.array.store_path.store
    prefix = f"{array.path}/c/"
    present = set(sync(_listed(store, prefix)))
    report.bytes_read += int(sync(store.getsize_prefix(prefix))) if present else 0
    size = array.chunks[0]
    per_chunk = size * int(np.prod(array.shape[1:])) * array.dtype.itemsize
    batch = max(1, BATCH_BYTES // per_chunk)
    for first in range(0, array.nchunks, batch):
        indices = range(first, min(first + batch, array.nchunks))
        try:
            block = array.array[first * size : indices[-1] * size + size]
        except Exception:  # noqa: BLE001 - a damaged chunk in the batch: one by one
            block = None
        for index in indices:
            samples, key = array.samples_of(index), array.key(index)
            if key not in present:
                lost = hit(samples)
                if len(lost):
                    report.findings.append(Finding(
                        "missing chunk", f"{key} ({array.path} chunk {index})",
                        tuple(int(p) for p in lost), array.path, index))
                    yield index, None
                    continue
            if block is not None:
                values = block[samples.start - first * size : samples.stop - first * size]
            else:
                try:
                    values = array.chunk(index)
                except DamagedChunk as exc:
                    report.findings.append(Finding(
                        exc.reason, f"{key} ({array.path} chunk {index})", tuple(samples),
                        array.path, index))
                    yield index, None
                    continue
            report.chunks_read += key in present
            yield index, values


async def _listed(store: Any, prefix: str) -> list[str]:
    return [key async for key in store.list_prefix(prefix)]
