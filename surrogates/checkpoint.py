"""Checkpoint files: plain tensors, lists and dicts, so ``weights_only=True`` loads them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .models import NormalizedOperator, build_model
from .normalization import ChannelNormalizer

__all__ = ["CHECKPOINT_NAME", "checkpoint_path", "load_checkpoint", "model_from_checkpoint",
           "save_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"


def checkpoint_path(path: str | os.PathLike) -> Path:
    """A model directory (existing or not) or a ``.pt`` checkpoint file -> the checkpoint file."""
    path = Path(path)
    return path if path.suffix == ".pt" else path / CHECKPOINT_NAME


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so an interrupted save never corrupts a run."""
    target = checkpoint_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, target)
    return target


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    return torch.load(checkpoint_path(path), map_location="cpu", weights_only=True)


def model_from_checkpoint(state: dict[str, Any]) -> NormalizedOperator:
    """Rebuild the architecture from the saved config and load weights and normalisers."""
    config = state["config"]
    model = new_model(config)
    model.load_state_dict(state["model"])
    return model


def new_model(config: dict[str, Any]) -> NormalizedOperator:
    """Untrained model for ``config``; normalisers are placeholders until fitted or loaded."""
    channels = len(config["fields"]) + len(config["params"])
    options = config["model_options"]
    net = build_model(config["model"], tuple(config["grid"]), channels, 1, **options)
    return NormalizedOperator(
        net,
        ChannelNormalizer(torch.zeros(channels), torch.ones(channels)),
        ChannelNormalizer(torch.zeros(1), torch.ones(1)),
    )
