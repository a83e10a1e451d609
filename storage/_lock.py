"""One writing run per store: an OS file lock held by the run's coordinating process.

``flock`` belongs to the open file, so the kernel drops it when the holder exits, even on
SIGKILL: a killed run never leaves the store locked (no lease to expire, no stale-PID
guessing). The lock file sits next to the store (``<store>.lock``), so taking the lock
never touches the store itself, and the holder removes it when it lets go (a taker that
finds its file unlinked under it takes the lock again on a fresh one). Stores behind
other fsspec URLs have no OS lock to take: for them the lock is a no-op, and one writer
at a time is up to the user.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._errors import StorageError
from ._stores import local_path

__all__ = ["lock_path", "writer_lock"]

_held: dict[Path, list[int]] = {}  # lock file -> [fd, depth]: re-entrant in one process
_guard = threading.Lock()


def lock_path(url: str) -> Path | None:
    """``<store>.lock`` for a local path or file:// URL; None for other URL schemes."""
    store = local_path(url)
    if store is None:
        return None
    store = store.resolve()
    return store.with_name(store.name + ".lock")


@contextmanager
def writer_lock(url: str) -> Iterator[None]:
    """Hold the store's writer lock; StorageError at once if another process holds it.

    Re-entrant in the holding process (the CLI takes it before the flow starts, the flow
    takes it again, so a scheduled run that has no CLI around it is locked too).
    """
    path = lock_path(url)
    if path is None:
        yield
        return
    with _guard:
        if path not in _held:
            _held[path] = [_acquire(path, url), 0]
        _held[path][1] += 1
    try:
        yield
    finally:
        with _guard:
            _held[path][1] -= 1
            if not _held[path][1]:
                fd = _held.pop(path)[0]
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # still holding the flock: no one else owns this file
                os.close(fd)  # closing the file releases the flock


def _acquire(path: Path, url: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StorageError(f"{url} is being written by another run (pid {holder}, lock "
                               f"{path}); wait for it to finish") from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the last holder removed this file as we opened it: take a fresh one
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
