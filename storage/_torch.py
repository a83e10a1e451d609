"""PyTorch reader for pdeforge zarr datasets.

Reads whole sample-axis chunks (the store's unit of I/O) into a small LRU cache,
so a store larger than RAM streams; only samples marked done are ever indexed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import Sampler

from ._schema import DONE

__all__ = ["SPLITS", "ChunkShuffleSampler", "ZarrFieldDataset", "split_indices", "split_positions",
           "split_uniforms"]


SPLITS = ("train", "val", "test")


def split_indices(
    source_index: Sequence[int] | np.ndarray,
    fractions: tuple[float, float, float] = (0.9, 0.05, 0.05),
    seed: int = 0,
    store_seed: int = 0,
) -> dict[str, np.ndarray]:
    """Seeded train/val/test split by sample identity, never by position.

    A sample is (store seed, source index), which fixes its inputs whatever order it
    was solved and stored in. It goes to train if u < f_train, to val if u < f_train +
    f_val, else to test, where u in [0, 1) is a hash (splitmix64) of (seed, store seed,
    source index). So any tool that knows this rule sees the same split, a store that
    grows never moves a sample between parts, and the parts hold about the fractions
    given (exactly, as n grows). Returns sorted indices into ``source_index`` per part.
    """
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1: {fractions}")
    u = split_uniforms(source_index, seed, store_seed)
    part = np.searchsorted(np.cumsum(fractions[:2]), u, side="right")
    return {name: np.flatnonzero(part == k) for k, name in enumerate(SPLITS)}


def split_uniforms(source_index: Sequence[int] | np.ndarray, seed: int = 0,
                   store_seed: int = 0) -> np.ndarray:
    """The split's u in [0, 1) of each sample (see `split_indices`)."""
    key = _splitmix64(_splitmix64(np.full(1, seed % 2**64, np.uint64)) ^ np.uint64(
        store_seed % 2**64))
    h = _splitmix64(key ^ np.asarray(source_index, dtype=np.int64).astype(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) / 2.0**53


def split_positions(
    store: Any,
    fractions: tuple[float, float, float] = (0.9, 0.05, 0.05),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """`split_indices` of a store's done samples, as store positions per part."""
    store = _open(store)
    done = np.flatnonzero(np.asarray(store.status[:]) == DONE)
    identity = np.asarray(store.source_index[:])[done]
    parts = split_indices(identity, fractions, seed, int(store.attrs.get("seed") or 0))
    return {name: done[index] for name, index in parts.items()}


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """Steele, Lea and Flood's 64-bit mixer: consecutive integers -> independent bits."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class ZarrFieldDataset(TorchDataset):
    """Samples {"x": (C, *grid), "y": (1, *grid)} float32 tensors from a pdeforge store.

    Channels of ``x`` are the input fields in ``fields`` order, then the scalar
    params in ``params`` order broadcast as constant channels (both default to
    sorted names). ``positions`` (store indices) default to every sample whose
    status was done when the dataset was built; pending or failed samples are
    never indexed, so a store that is still being extended is safe to train on.
    """

    def __init__(
        self,
        source: Any,
        positions: Sequence[int] | np.ndarray | None = None,
        fields: Sequence[str] | None = None,
        params: Sequence[str] | None = None,
        cache_bytes: int = 256 * 2**20,
    ) -> None:
        self.store = _open(source)
        status = np.asarray(self.store.status[:])
        done = np.flatnonzero(status == DONE)
        if positions is None:
            self.positions = done
        else:
            self.positions = np.asarray(positions, dtype=np.int64)
            if not np.isin(self.positions, done).all():
                raise ValueError("positions include samples that are not done")
        self.fields = list(fields) if fields is not None else sorted(self.store.inputs)
        self.params = list(params) if params is not None else sorted(self.store.params)
        if not self.fields and not self.params:
            raise ValueError("the dataset has no input fields or params to learn from")
        self.chunk = int(self.store.chunk)
        self.grid = tuple(self.store.solution.shape[1:])
        self.cache_chunks = max(1, cache_bytes // self._chunk_bytes())
        self._cache: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()

    @property
    def in_channels(self) -> int:
        return len(self.fields) + len(self.params)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        position = int(self.positions[index])
        block = self._chunk_of(position // self.chunk)
        row = position % self.chunk
        channels = [block[name][row] for name in self.fields]
        channels += [np.full(self.grid, block[name][row], np.float32) for name in self.params]
        x = np.stack(channels).astype(np.float32, copy=False)
        y = np.array(block["__solution__"][row][None], dtype=np.float32)  # copy: cache intact
        return {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}

    def _chunk_bytes(self) -> int:
        per_sample = 4 * int(np.prod(self.grid)) * (len(self.fields) + 1)
        return per_sample * self.chunk

    def _chunk_of(self, chunk_id: int) -> dict[str, np.ndarray]:
        """Return one chunk's arrays, reading it (all fields at once) on a cache miss."""
        if chunk_id in self._cache:
            self._cache.move_to_end(chunk_id)
            return self._cache[chunk_id]
        rows = slice(chunk_id * self.chunk, (chunk_id + 1) * self.chunk)
        block = {name: np.asarray(self.store.inputs[name][rows]) for name in self.fields}
        block.update({name: np.asarray(self.store.params[name][rows]) for name in self.params})
        block["__solution__"] = np.asarray(self.store.solution[rows])
        self._cache[chunk_id] = block
        while len(self._cache) > self.cache_chunks:
            self._cache.popitem(last=False)
        return block


class ChunkShuffleSampler(Sampler[int]):
    """Shuffles within windows of chunks so each chunk is read once per epoch.

    A window holds as many chunks as the dataset caches, and samples of the window's
    chunks are interleaved: batches mix several solve-order neighbourhoods while
    I/O stays one read per chunk. The order depends only on (seed, epoch), so a
    resumed run sees the same batches as an uninterrupted one.
    """

    def __init__(self, dataset: ZarrFieldDataset, seed: int = 0) -> None:
        self.dataset = dataset
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng((self.seed, self.epoch))
        chunk_ids = self.dataset.positions // self.dataset.chunk
        chunks = rng.permutation(np.unique(chunk_ids))
        window = self.dataset.cache_chunks
        for start in range(0, len(chunks), window):
            members = np.flatnonzero(np.isin(chunk_ids, chunks[start : start + window]))
            yield from (int(i) for i in rng.permutation(members))


def _open(source: Any) -> Any:
    """Open a path/URL with storage.open_dataset; pass an opened Dataset through."""
    if isinstance(source, str) or hasattr(source, "__fspath__"):
        from . import open_dataset

        return open_dataset(str(source))
    return source
