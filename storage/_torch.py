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

__all__ = ["ChunkShuffleSampler", "ZarrFieldDataset", "split_indices"]


def split_indices(
    done_positions: Sequence[int] | np.ndarray,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Random, seeded, disjoint train/val/test split of store positions.

    Samples are stored in solve order (similar systems next to each other), so a
    contiguous split would test on a different region of parameter space.
    Each part is returned sorted, which keeps chunk reads sequential.
    """
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1: {fractions}")
    positions = np.unique(np.asarray(done_positions, dtype=np.int64))
    n = len(positions)
    n_val, n_test = (
        max(int(round(f * n)), 1) if f > 0 and n >= 3 else int(round(f * n)) for f in fractions[1:]
    )
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"{n} samples are too few for the split {fractions}")
    shuffled = np.random.default_rng(seed).permutation(positions)
    parts = np.split(shuffled, [n_train, n_train + n_val])
    return {name: np.sort(part) for name, part in zip(("train", "val", "test"), parts, strict=True)}


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
