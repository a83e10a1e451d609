"""Thread policy of the torch solvers on the CPU."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["single_threaded"]

_lock = threading.Lock()
_inside = 0  # solves in flight (the generate flow may run two blocks on two threads)
_saved = 1


@contextmanager
def single_threaded(device: torch.device) -> Iterator[None]:
    """Run torch's CPU ops on one thread for the duration of a solve.

    The Krylov loops make many small (n ~ 1e4) vector operations: threading them buys
    nothing, and on a loaded 2-core machine the OpenMP hand-offs and spin-waits made
    them 7x slower (and slowed BLAS calls made right after). CUDA solves are untouched.
    """
    global _inside, _saved
    if device.type != "cpu":
        yield
        return
    with _lock:  # torch's thread count is per process: the first solve in sets, the last restores
        if _inside == 0:
            _saved = torch.get_num_threads()
            torch.set_num_threads(1)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                torch.set_num_threads(_saved)
