"""The random stream of one epoch, seeded by (seed, epoch) alone: a run resumed at epoch e
draws exactly what an uninterrupted run draws there."""

from __future__ import annotations

import torch

__all__ = ["epoch_generator"]


def epoch_generator(seed: int, epoch: int, device: torch.device | str = "cpu"
                    ) -> torch.Generator:
    """A generator on ``device`` seeded from ``seed`` and ``epoch``."""
    return torch.Generator(device=device).manual_seed(int(seed) * 100_003 + int(epoch))
