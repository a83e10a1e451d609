"""Per-channel Gaussian normalisation fitted on the training split only."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["ChannelNormalizer", "fit_normalizers"]


class ChannelNormalizer(nn.Module):
    """(x - mean) / std per channel; statistics are buffers so they save with the model."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self._shape(self.mean, x)) / self._shape(self.std, x)

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._shape(self.std, x) + self._shape(self.mean, x)

    @staticmethod
    def _shape(stat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return stat.view(1, -1, *([1] * (x.dim() - 2)))


def fit_normalizers(
    batches: Iterable[dict[str, torch.Tensor]],
) -> tuple[ChannelNormalizer, ChannelNormalizer, torch.Tensor]:
    """Stream once over training batches: input/output normalisers and the mean solution.

    Sums are accumulated in float64 so large stores do not lose precision; a
    constant channel gets a tiny positive std instead of a division by zero. The
    mean solution field is the trivial predictor evaluation compares against.
    """
    sums: dict[str, torch.Tensor] = {}
    count = 0
    for batch in batches:
        x, y = batch["x"].double(), batch["y"].double()
        axes = [0, *range(2, x.dim())]
        parts = {
            "x": x.sum(axes), "xx": (x * x).sum(axes),
            "y": y.sum(axes), "yy": (y * y).sum(axes), "field": y.sum(0),
        }
        for key, value in parts.items():
            sums[key] = sums[key] + value if key in sums else value
        count += x.shape[0]
    if not count:
        raise ValueError("cannot fit normalisers on an empty training split")
    cells = count * sums["field"][0].numel()
    return (
        _normalizer(sums["x"] / cells, sums["xx"] / cells),
        _normalizer(sums["y"] / cells, sums["yy"] / cells),
        (sums["field"] / count).float(),
    )


def _normalizer(mean: torch.Tensor, mean_sq: torch.Tensor) -> ChannelNormalizer:
    std = (mean_sq - mean**2).clamp_min(0).sqrt()
    std = torch.maximum(std, 1e-6 * mean.abs()).clamp_min(1e-12)
    return ChannelNormalizer(mean.float(), std.float())
