"""CPU thread count by measurement: on a shared machine one torch thread can beat two.

On this project's 2-core machine, with other jobs running, an FNO training step took
0.8 s with one torch thread and 7.9 s with two (OpenMP threads waiting on each other
for a core); on an idle machine two threads win. So training times a few steps with
each candidate count once, before its time budget starts, and a resumed run reuses the
choice its checkpoint recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["ThreadChooser"]


class ThreadChooser:
    """Picks torch's intra-op thread count for CPU training; restores it on ``close``."""

    def __init__(self, device: torch.device, trials: int = 2) -> None:
        self.original = torch.get_num_threads()
        self.candidates = sorted({1, self.original}) if device.type == "cpu" else []
        self.trials = trials
        self.choice: int | None = None
        self.seconds = 0.0  # time spent probing (kept out of a training budget)

    def choose(self, step: Callable[[], None], cached: int | None = None) -> int | None:
        """Time ``step`` with each candidate and keep the fastest, unless ``cached`` (an
        earlier run's choice) is one of them; returns the count in use."""
        if cached in self.candidates:
            self.choice = cached
        elif len(self.candidates) >= 2:
            tic = time.perf_counter()
            self.choice = self._fastest(step)
            self.seconds = time.perf_counter() - tic
        if self.choice is not None:
            torch.set_num_threads(self.choice)
        return self.choice

    def _fastest(self, step: Callable[[], None]) -> int:
        seconds: dict[int, float] = {}
        for threads in self.candidates:  # one thread first: the cheap one to measure
            torch.set_num_threads(threads)
            step()  # warm-up: first use of a thread pool size
            tic, steps = time.perf_counter(), 0
            while steps < self.trials:
                step()
                steps += 1
                if seconds and time.perf_counter() - tic > 1.5 * steps * min(seconds.values()):
                    break  # already slower: a contended pool costs seconds per step
            seconds[threads] = (time.perf_counter() - tic) / steps
        return min(seconds, key=seconds.__getitem__)

    def close(self) -> None:
        torch.set_num_threads(self.original)
