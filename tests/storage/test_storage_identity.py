"""Resume reopens a store of the same identity; any other store is refused untouched."""

from pathlib import Path

import numpy as np
import pytest
import zarr

import storage


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_resume_after_crash_skips_done_samples(url, make, block):
    first = block(0, 4)
    make(url).write_block(0, **first)  # then the process "crashes": nothing else happens

    ds = make(url)
    np.testing.assert_array_equal(ds.pending(0, 10), [4, 5, 6, 7, 8, 9])
    assert ds.pending(0, 4).size == 0
    np.testing.assert_array_equal(ds.pending(4, 8), [4, 5, 6, 7])
    np.testing.assert_array_equal(ds.solution[:4], first["solution"].astype(np.float32))
    np.testing.assert_array_equal(ds.stats["iterations"][:4], first["iterations"])
    ds.write_block(4, **block(4, 8))
    np.testing.assert_array_equal(storage.open_dataset(url).pending(), [8, 9])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attrs": {"family": "poisson"}}, "family 'darcy', not 'poisson'"),
        ({"attrs": {"grid": [4, 4]}, "grid": (4, 4)}, r"grid \[4, 5\], not \[4, 4\]"),
        ({"attrs": {"seed": 8}}, "seed 7, not 8"),
        ({"attrs": {"family_options": {"alpha": 3}}}, "family_options"),
        ({"chunk": 5}, "chunk 4, not 5"),
        ({"fields": ("coefficient",)}, "input_names"),
        ({"solution_dtype": "float64"}, "solution dtype 'float32', not 'float64'"),
        ({"source_index": np.arange(10)}, r"another sample order \(source_index differs\)"),
    ],
)
def test_other_identity_is_refused_untouched(tmp_path, make, block, change, message):
    path = tmp_path / "d.zarr"
    make(str(path)).write_block(0, **block(0, 4))
    before = snapshot(path)
    with pytest.raises(storage.StorageError, match=f"store .*d.zarr was made for {message}"):
        make(str(path), **change)
    assert snapshot(path) == before


def test_other_identity_is_refused_in_memory(url, make):
    make(url)
    with pytest.raises(storage.StorageError, match="family 'darcy', not 'heat'"):
        make(url, attrs={"family": "heat"})
    assert storage.open_dataset(url).attrs["family"] == "darcy"


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_missing_store_raises_and_creates_nothing(url, mode):
    with pytest.raises(storage.StorageError, match="no pdeforge dataset at"):
        storage.open_dataset(url, mode)
    assert not Path(url).exists()


def test_foreign_and_unfinished_stores_are_refused(tmp_path, make):
    foreign = tmp_path / "foreign.zarr"
    zarr.create_array(str(foreign), shape=(3,), dtype="int8")
    before = snapshot(foreign)
    with pytest.raises(storage.StorageError, match="not a pdeforge dataset"):
        make(str(foreign))
    assert snapshot(foreign) == before

    unfinished = tmp_path / "unfinished.zarr"
    zarr.open_group(str(unfinished), mode="w")  # a creation that died before its attrs
    with pytest.raises(storage.StorageError, match="not a complete pdeforge dataset"):
        storage.open_dataset(str(unfinished))


def test_corrupt_layout_is_refused(tmp_path, make):
    path = tmp_path / "d.zarr"
    make(str(path))
    for part in sorted((path / "stats" / "seconds").rglob("*"), reverse=True):
        part.unlink() if part.is_file() else part.rmdir()
    (path / "stats" / "seconds").rmdir()
    with pytest.raises(storage.StorageError, match="corrupt layout: .*seconds"):
        storage.open_dataset(str(path))


def test_attrs_may_not_contradict_the_arguments(tmp_path, make):
    with pytest.raises(ValueError, match=r"attrs\['n'\]"):
        make(str(tmp_path / "d.zarr"), attrs={"n": 11})
    assert not (tmp_path / "d.zarr").exists()
