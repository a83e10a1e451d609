"""The torch reader: done-only indexing, bounded chunk cache, splits, chunk-window sampling."""

import numpy as np
import pytest
import torch

import storage
from storage._torch import ChunkShuffleSampler, ZarrFieldDataset, split_indices


def test_split_is_deterministic_disjoint_complete_and_not_contiguous():
    positions = np.arange(0, 200, 2)  # e.g. the done samples of a half-finished store
    first, again = split_indices(positions, seed=3), split_indices(positions, seed=3)
    other = split_indices(positions, seed=4)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(first[name], again[name])
    assert [len(first[k]) for k in ("train", "val", "test")] == [80, 10, 10]
    joined = np.concatenate([first["train"], first["val"], first["test"]])
    np.testing.assert_array_equal(np.sort(joined), positions)  # disjoint and complete
    ranks = np.searchsorted(positions, first["test"])
    assert np.ptp(ranks) > len(ranks) - 1  # not one contiguous run of the solve order
    assert not np.array_equal(first["test"], other["test"])


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError):
        split_indices(np.arange(10), fractions=(0.8, 0.3, 0.1))


def test_only_done_samples_are_indexed_and_read(make_store):
    status = np.ones(40, np.uint8)
    status[8:16] = storage.PENDING  # a whole chunk another worker has not written yet
    status[[3, 21, 22]] = storage.FAILED
    status[37] = storage.PENDING
    url = make_store(n=40, status=status)
    ds = ZarrFieldDataset(url, cache_bytes=1)  # room for one chunk only
    assert len(ds) == int((status == storage.DONE).sum()) == 28
    assert ds.in_channels == 2 and ds.fields == ["coefficient"] and ds.params == ["scale"]
    reads = []
    original = ds._chunk_of
    ds._chunk_of = lambda chunk_id: reads.append(chunk_id) or original(chunk_id)
    for i in range(len(ds)):
        item = ds[i]
        assert item["x"].shape == (2, 16, 16) and item["y"].shape == (1, 16, 16)
        assert item["x"].dtype == item["y"].dtype == torch.float32
        assert np.isfinite(item["y"].numpy()).all()  # pending/failed samples hold NaN
        assert len(ds._cache) <= ds.cache_chunks == 1
    assert 1 not in reads  # the all-pending chunk is never touched
    with pytest.raises(ValueError, match="not done"):
        ZarrFieldDataset(url, positions=[0, 8])


def test_params_are_constant_channels(make_store):
    url = make_store(n=8)
    ds = ZarrFieldDataset(url)
    scale = storage.open_dataset(url).params["scale"][:]
    item = ds[5]
    np.testing.assert_allclose(item["x"][1].numpy(), scale[5], rtol=1e-6)


def test_sampler_covers_each_sample_once_per_epoch_by_chunk_windows(make_store):
    ds = ZarrFieldDataset(make_store(n=64), cache_bytes=2 * 8 * 16 * 16 * 4 * 2)
    assert ds.cache_chunks == 2
    sampler = ChunkShuffleSampler(ds, seed=1)
    epoch0 = list(sampler)
    assert sorted(epoch0) == list(range(64)) and epoch0 != sorted(epoch0)
    windows = [set(ds.positions[epoch0[i : i + 16]] // 8) for i in range(0, 64, 16)]
    assert all(len(w) == 2 for w in windows)  # each 16-sample run comes from 2 chunks
    assert list(sampler) == epoch0  # deterministic in (seed, epoch)
    sampler.set_epoch(1)
    assert list(sampler) != epoch0
