"""Map a path or fsspec URL to a zarr store and open the dataset's root group."""

from __future__ import annotations

from urllib.parse import urlparse
from urllib.request import url2pathname

import zarr
import zarr.errors
from zarr.storage import FsspecStore, LocalStore

from ._errors import StorageError


def _store(url: str, *, read_only: bool) -> zarr.abc.store.Store:
    """LocalStore for plain paths and file:// (zarr's native: makes its folders, fastest);
    FsspecStore for any other URL scheme."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(url2pathname(parsed.path), read_only=read_only)
    if "://" in url:
        return FsspecStore.from_url(url, read_only=read_only)
    return LocalStore(url, read_only=read_only)


def open_root(url: str, mode: str) -> zarr.Group:
    """Open the existing root group; a missing or non-group store becomes a StorageError."""
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+', not {mode!r}")
    try:  # read-only first: a writable LocalStore would create a missing folder
        root = zarr.open_group(_store(url, read_only=True), mode="r", zarr_format=3)
    except (FileNotFoundError, zarr.errors.BaseZarrError) as exc:
        raise StorageError(f"no pdeforge dataset at {url}") from exc
    if mode == "r":
        return root
    return zarr.open_group(_store(url, read_only=False), mode="r+", zarr_format=3)


def create_root(url: str) -> zarr.Group:
    """Create an empty root group, refusing to overwrite anything already there."""
    try:
        return zarr.open_group(_store(url, read_only=False), mode="w-", zarr_format=3)
    except FileExistsError as exc:
        raise StorageError(f"{url} already holds data that is not a pdeforge dataset") from exc


def exists(url: str) -> bool:
    """Whether anything at all is stored at ``url`` (a pdeforge dataset or not)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        from pathlib import Path

        return Path(url2pathname(parsed.path) if parsed.scheme else url).exists()
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.exists(path))
