"""The torch reader: done-only indexing, bounded chunk cache, seed-derived splits, sampling."""

import numpy as np
import pytest
import torch

import storage
from storage._torch import ChunkShuffleSampler, ZarrFieldDataset, split_indices, split_positions
from surrogates.augment import symmetry_augment


def test_split_is_by_identity_deterministic_disjoint_complete_and_stable_as_a_store_grows():
    identity = np.arange(4000)
    first, again = split_indices(identity, seed=3), split_indices(identity, seed=3)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(first[name], again[name])
    joined = np.sort(np.concatenate([first["train"], first["val"], first["test"]]))
    np.testing.assert_array_equal(joined, identity)  # disjoint and complete
    counts = np.array([len(first[k]) for k in ("train", "val", "test")])
    assert np.all(np.abs(counts - [3600, 200, 200]) < 4 * np.sqrt([360, 190, 190]))
    assert np.ptp(first["test"]) > len(first["test"])  # not one contiguous run
    grown = split_indices(np.arange(8000), seed=3)  # twice the samples: nobody moves
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(grown[name][grown[name] < 4000], first[name])
    assert not np.array_equal(split_indices(identity, seed=4)["test"], first["test"])
    other_store = split_indices(identity, seed=3, store_seed=1)
    assert not np.array_equal(other_store["test"], first["test"])


def test_split_follows_samples_not_positions():
    """The same samples stored in another order land in the same parts."""
    identity = np.random.default_rng(0).permutation(500)
    shuffled = split_indices(identity, seed=1)
    straight = split_indices(np.arange(500), seed=1)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(np.sort(identity[shuffled[name]]), straight[name])


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
    parts = split_positions(url, (0.5, 0.25, 0.25))
    assert sum(len(p) for p in parts.values()) == 28
    assert all(status[p].tolist() == [storage.DONE] * len(p) for p in parts.values())


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


def test_symmetry_augmentation_maps_solutions_to_solutions(smoother):
    """`smooth` is isotropic, so smooth(g x) = g smooth(x) for every flip/rotation g."""
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.standard_normal((16, 2, 12, 12)).astype(np.float32))
    y = torch.from_numpy(smoother(x[:, :1].numpy()))
    gx, gy = symmetry_augment(x, y, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(gy.numpy(), smoother(gx[:, :1].numpy()), atol=1e-5)
    seen = {tuple(np.round(gx[i, 0, :2, :2].flatten().numpy(), 4)) for i in range(16)}
    assert len(seen) > 4  # several group elements, not one
    rect = torch.zeros(3, 1, 4, 6)
    assert symmetry_augment(rect, rect, torch.Generator())[0].shape == rect.shape  # flips only
