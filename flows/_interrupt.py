"""SIGINT/SIGTERM during a run: stop at the next sample, keep what is stored, exit 130.

The signal only sets ``STOP``; solve blocks look at it between samples and return
without writing, blocks not started yet are cancelled, and the run ends through its
normal path (writer lock released, run recorded). A second signal stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STOP", "Interrupted", "stop_on_signals", "stop_requested"]

STOP = threading.Event()  # set by a signal; read by the solve blocks of this process


def stop_requested() -> bool:
    """Whether a signal asked this process's run to stop (tasks call this, not ``STOP``: a
    task pickled by value for a Dask worker cannot carry an Event's lock)."""
    return STOP.is_set()


class Interrupted(Exception):
    """A run stopped by SIGINT/SIGTERM; the CLI exits 130 with this message."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"interrupted: {done} of {total} done; run the same command again "
                         "to resume")
        self.done, self.total = done, total


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Route SIGINT and SIGTERM to ``STOP`` while the block runs (main thread only: signal
    handlers cannot be set elsewhere, and there the signal was never ours to take)."""
    STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return

    def handler(signum: int, frame) -> None:
        if STOP.is_set():
            raise KeyboardInterrupt
        STOP.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield STOP
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
