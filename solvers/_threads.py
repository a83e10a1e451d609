"""Thread policy of the torch solvers on the CPU."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["single_threaded"]


@contextmanager
def single_threaded(device: torch.device) -> Iterator[None]:
    """Run torch's CPU ops on one thread for the duration of a solve.

    The Krylov loops make many small (n ~ 1e4) vector operations: threading them buys
    nothing, and on a loaded 2-core machine the OpenMP hand-offs and spin-waits made
    them 7x slower (and slowed BLAS calls made right after). CUDA solves are untouched.
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
