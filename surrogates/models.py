"""Neural-operator architectures by name, wrapped so they work in physical units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from neuralop.models import FNO
from torch import nn

from .normalization import ChannelNormalizer

__all__ = ["MODELS", "NormalizedOperator", "build_model", "register_model", "resolve_device"]

Builder = Callable[..., nn.Module]
MODELS: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register ``builder(grid, in_channels, out_channels, **options)`` under ``name``."""

    def decorate(builder: Builder) -> Builder:
        MODELS[name] = builder
        return builder

    return decorate


@register_model("fno")
def build_fno(
    grid: tuple[int, ...],
    in_channels: int,
    out_channels: int,
    *,
    n_modes: int | tuple[int, ...] = 12,
    hidden_channels: int = 32,
    n_layers: int = 4,
) -> nn.Module:
    """neuraloperator's FNO; the dimension (2-D or 3-D) follows the grid.

    Modes are capped at the grid size: more modes than grid points do not exist.
    """
    modes = (n_modes,) * len(grid) if isinstance(n_modes, int) else tuple(n_modes)
    return FNO(
        n_modes=tuple(min(m, s) for m, s in zip(modes, grid, strict=True)),
        in_channels=in_channels,
        out_channels=out_channels,
        hidden_channels=hidden_channels,
        n_layers=n_layers,
    )


def build_model(
    name: str, grid: tuple[int, ...], in_channels: int, out_channels: int, **options: Any
) -> nn.Module:
    """Build a registered architecture; unknown names fail with the list of known ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](tuple(grid), in_channels, out_channels, **options)


class NormalizedOperator(nn.Module):
    """Maps physical inputs to physical outputs: encode -> network -> decode.

    The network sees unit-scale data; losses and predictions are in physical units,
    and the normalisers travel in the state dict with the weights.
    """

    def __init__(
        self, net: nn.Module, in_normalizer: ChannelNormalizer, out_normalizer: ChannelNormalizer
    ) -> None:
        super().__init__()
        self.net = net
        self.in_normalizer = in_normalizer
        self.out_normalizer = out_normalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_normalizer.decode(self.net(self.in_normalizer.encode(x)))

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Tensors only: neuraloperator adds a "_metadata" entry of init kwargs (functions
        among them) that would stop checkpoints loading with ``weights_only=True``."""
        state = super().state_dict(*args, **kwargs)
        state.pop("_metadata", None)
        return state


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
