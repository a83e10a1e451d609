"""The one rule that turns a device name into a torch device, for every package."""

from __future__ import annotations

import torch

from ._errors import PDEError

__all__ = ["resolve_device"]


def resolve_device(device: torch.device | str) -> torch.device:
    """``"cpu"``, ``"cuda[:k]"``, ``"auto"`` (the GPU when there is one) or a torch.device."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise PDEError(f"unknown device {device!r}; use cpu, cuda or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PDEError("device cuda requested but no CUDA GPU is available")
    if device.type not in ("cpu", "cuda"):
        raise PDEError(f"unsupported device {device!r}; use cpu, cuda or auto")
    return device
