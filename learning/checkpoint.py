"""Checkpoint files: plain tensors, numbers, strings, lists and dicts, written atomically so
an interrupted save never corrupts one, and read back with ``weights_only=True``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from storage import atomic_path

__all__ = ["CheckpointError", "load_state", "save_state"]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (the caller says what it expected)."""


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save`` to a temporary file renamed over ``path``."""
    target = Path(path)
    with atomic_path(target) as partial:
        torch.save(state, partial)
    return target


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """The state saved at ``path`` on the CPU; CheckpointError if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same bad input
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}: "
                              f"{exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a pdeforge checkpoint (no state dict)")
    return state
