"""CPU thread count by measurement: on a shared machine one torch thread can beat two.

On this project's 2-core machine, with other jobs running, an FNO training step took
0.8 s with one torch thread and 7.9 s with two (OpenMP threads waiting on each other
for a core); on an idle machine two threads win. So training times a few steps with
each candidate count and keeps the fastest, and checks again every few epochs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

__all__ = ["ThreadChooser"]


class ThreadChooser:
    """Picks torch's intra-op thread count for CPU training; restores it on ``close``."""

    def __init__(self, device: torch.device, recheck_epochs: int = 10, trials: int = 2) -> None:
        self.original = torch.get_num_threads()
        self.candidates = sorted({1, self.original}) if device.type == "cpu" else []
        self.recheck_epochs = recheck_epochs
        self.trials = trials
        self.choices: list[int] = []

    def maybe_choose(self, epoch: int, step: Callable[[], None]) -> None:
        """At epoch 0 and every ``recheck_epochs``, time ``step`` with each candidate."""
        if len(self.candidates) < 2 or epoch % self.recheck_epochs:
            return
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
        best = min(seconds, key=seconds.__getitem__)
        torch.set_num_threads(best)
        self.choices.append(best)

    def close(self) -> None:
        torch.set_num_threads(self.original)
