"""Reads and writes that name what failed: the damaged chunk, the unreadable metadata file.

zarr reports a damaged chunk as whatever its codec raises (a blosc ``RuntimeError``, a
checksum ``ValueError``) and a cut-short ``zarr.json`` as a JSON error, naming neither the
array nor the file. A :class:`CheckedArray` turns a failed read into :class:`DamagedChunk`
(the array, the chunk, the samples it holds, the way out), and a failed write into
:class:`WriteFailed`; both are StorageErrors, so the CLI reports one line and exits 2.
"""

from __future__ import annotations

import errno
from typing import Any

import numpy as np
import zarr
from zarr.codecs import Crc32cCodec

from ._errors import StorageError

__all__ = ["CheckedArray", "DamagedChunk", "DamagedMetadata", "WriteFailed", "has_checksums"]

REPAIR_HINT = "run `pdeforge verify --repair {url}`"


class DamagedChunk(StorageError):
    """A chunk that cannot be decoded (checksum mismatch, truncated, not the codec's bytes)."""

    def __init__(self, url: str, key: str, chunk: int, samples: range, reason: str) -> None:
        self.url, self.key, self.chunk, self.samples, self.reason = (
            url, key, chunk, samples, reason)
        self.path = key.split("/c/")[0]
        super().__init__(
            f"{url}/{key} is damaged ({reason}): chunk {chunk} of {self.path}, samples "
            f"{samples.start}..{samples.stop - 1}; " + REPAIR_HINT.format(url=url))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # crosses Dask and Prefect intact
        return type(self), (self.url, self.key, self.chunk, self.samples, self.reason)


class DamagedMetadata(StorageError):
    """A ``zarr.json`` that cannot be parsed, or that disagrees with the dataset's schema."""

    def __init__(self, url: str, path: str, reason: str) -> None:
        self.url, self.path, self.reason = url, path, reason
        name = f"{url}/{path}/zarr.json" if path else f"{url}/zarr.json"
        super().__init__(f"{url} has a corrupt layout: {name} is {reason}; "
                         + REPAIR_HINT.format(url=url))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), (self.url, self.path, self.reason)


class WriteFailed(StorageError):
    """A block write the storage refused (full disk, permissions): nothing done was lost."""


def chunk_reason(exc: BaseException) -> str:
    """'checksum' when the CRC32C codec refused the bytes, else 'unreadable chunk'."""
    return "checksum" if "checksum" in str(exc).lower() else "unreadable chunk"


def has_checksums(array: zarr.Array) -> bool:
    return any(isinstance(codec, Crc32cCodec) for codec in array.compressors)


class CheckedArray:
    """A zarr array (every attribute passes through) whose failed reads name their chunk."""

    def __init__(self, array: zarr.Array, url: str, path: str) -> None:
        self.array, self.url, self.path = array, url, path

    def __getattr__(self, name: str) -> Any:
        return getattr(self.array, name)

    def __len__(self) -> int:
        return len(self.array)

    def __repr__(self) -> str:
        return f"CheckedArray({self.url!r}, {self.path!r}, shape={self.array.shape})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self[...], dtype=dtype)

    def __getitem__(self, key: Any) -> Any:
        try:
            return self.array[key]
        except Exception:
            self._locate(key)  # raises DamagedChunk for the first chunk that fails alone
            raise

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            self.array[key] = value
        except OSError as exc:
            reason = errno.errorcode.get(exc.errno or 0, "") or type(exc).__name__
            raise WriteFailed(
                f"{self.url}: writing {self.path} failed ({reason}: {exc.strerror or exc}); "
                "samples already done are intact: free the space and run again to resume"
            ) from exc
        except Exception:
            self._locate(key)  # a partial-chunk write reads the chunk first
            raise

    def chunk(self, index: int) -> np.ndarray:
        """Chunk ``index`` along ``sample`` decoded, or DamagedChunk."""
        samples = self.samples_of(index)
        try:
            return self.array[samples.start : samples.stop]
        except Exception as exc:  # noqa: BLE001 - any decode failure is a damaged chunk
            raise DamagedChunk(self.url, self.key(index), index, samples,
                               chunk_reason(exc)) from exc

    def key(self, index: int) -> str:
        """The store key of chunk ``index`` along sample (every chunk spans the grid)."""
        return f"{self.path}/c/{index}" + "/0" * (self.array.ndim - 1)

    def samples_of(self, index: int) -> range:
        size = self.array.chunks[0]
        return range(index * size, min((index + 1) * size, self.array.shape[0]))

    def _locate(self, key: Any) -> None:
        first = key[0] if isinstance(key, tuple) and key else key
        n, size = self.array.shape[0], self.array.chunks[0]
        if isinstance(first, int | np.integer):
            indices = [(int(first) % n) // size] if n else []
        elif isinstance(first, slice):
            start, stop, _ = first.indices(n)
            indices = list(range(start // size, -(-stop // size))) if stop > start else []
        else:
            indices = list(range(-(-n // size)))
        for index in indices:
            self.chunk(index)
