"""Map a path or fsspec URL to a zarr store and open the dataset's root group."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import zarr
import zarr.errors
from zarr.storage import FsspecStore, LocalStore

from ._checked import DamagedMetadata
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


def writable_store(url: str) -> zarr.abc.store.Store:
    """The store at ``url`` opened for writing keys directly (metadata repair)."""
    return _store(url, read_only=False)


def open_root(url: str, mode: str) -> zarr.Group:
    """Open the existing root group; a missing or non-group store becomes a StorageError."""
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+', not {mode!r}")
    try:  # read-only first: a writable LocalStore would create a missing folder
        root = zarr.open_group(_store(url, read_only=True), mode="r", zarr_format=3)
    except (FileNotFoundError, zarr.errors.BaseZarrError) as exc:
        raise StorageError(f"no pdeforge dataset at {url}") from exc
    except ValueError as exc:  # a cut-short or garbled zarr.json (a JSON error)
        raise DamagedMetadata(url, "", f"damaged ({type(exc).__name__}: {exc})") from exc
    if mode == "r":
        return root
    return zarr.open_group(_store(url, read_only=False), mode="r+", zarr_format=3)


def create_root(url: str) -> zarr.Group:
    """Create an empty root group, refusing to overwrite anything already there."""
    try:
        return zarr.open_group(_store(url, read_only=False), mode="w-", zarr_format=3)
    except FileExistsError as exc:
        raise StorageError(f"{url} already holds data that is not a pdeforge dataset") from exc


# zarr >= 3.1.3 writes a local key to "<key minus suffix>.<uuid4 hex>.partial", then renames it
_PARTIAL = re.compile(r"\.[0-9a-f]{32}\.partial$")


def local_path(url: str) -> Path | None:
    """The folder of a plain path or file:// URL; None for other URL schemes."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    return None if "://" in url else Path(url)


def remove_partial_writes(url: str) -> list[str]:
    """Delete the temporary files of writes that a killed process left behind; their names.

    Only safe while no one writes the store: the flow calls it holding the writer lock,
    before its tasks start. A store behind another URL scheme has none to remove.
    """
    folder = local_path(url)
    if folder is None or not folder.is_dir():
        return []
    removed = []
    for path in folder.rglob("*.partial"):
        if _PARTIAL.search(path.name) and path.is_file():
            path.unlink()
            removed.append(str(path.relative_to(folder)))
    return sorted(removed)


def exists(url: str) -> bool:
    """Whether anything at all is stored at ``url`` (a pdeforge dataset or not)."""
    folder = local_path(url)
    if folder is not None:
        return folder.exists()
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.exists(path))
