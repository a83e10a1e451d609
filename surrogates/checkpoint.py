"""Checkpoint files: plain tensors, lists and dicts, so ``weights_only=True`` loads them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

import storage
from learning import CheckpointError, load_state, save_state
from storage import IDENTITY_KEYS

from .errors import SurrogateError
from .models import NormalizedOperator, build_model
from .normalization import ChannelNormalizer

__all__ = ["CHECKPOINT_NAME", "checkpoint_path", "load_checkpoint", "model_from_checkpoint",
           "describe_model", "new_model", "save_checkpoint", "store_identity"]

CHECKPOINT_NAME = "checkpoint.pt"


def checkpoint_path(path: str | os.PathLike) -> Path:
    """A model directory (existing or not) or a ``.pt`` checkpoint file -> the checkpoint file."""
    path = Path(path)
    return path if path.suffix == ".pt" else path / CHECKPOINT_NAME


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so an interrupted save never corrupts a run."""
    return save_state(checkpoint_path(path), state)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The saved state; a missing or unreadable checkpoint is bad input."""
    target = checkpoint_path(path)
    if not target.is_file():
        raise SurrogateError(f"no trained model at {path}")
    try:
        return load_state(target)
    except CheckpointError as exc:
        raise SurrogateError(str(exc)) from None


def model_from_checkpoint(state: dict[str, Any], best: bool = True) -> NormalizedOperator:
    """Rebuild the architecture from the saved config and load weights and normalisers:
    the best validation epoch's (the model a run delivers) or the latest (to resume)."""
    model = new_model(state["config"])
    weights = state["best"]["model"] if best and state.get("best") else state["model"]
    model.load_state_dict(weights)
    return model


def store_identity(source: Any) -> dict[str, Any]:
    """What makes two stores hold the same samples: storage's identity attrs."""
    store = storage.open_dataset(source) if isinstance(source, str | os.PathLike) else source
    attrs = store.attrs
    return {key: attrs.get(key) for key in IDENTITY_KEYS}


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


def describe_model(path: str | os.PathLike) -> str:
    """`pdeforge info MODEL`: the recipe stored in the checkpoint and how far training got."""
    state = load_checkpoint(path)
    config, history = state["config"], state["history"]
    best = state.get("best") or {}
    recipe = {k: v for k, v in config.items()
              if k not in ("model_options", "fields", "params", "grid", "store")}
    lines = [
        f"{path}: {config['model']} on {config.get('store', {}).get('family')} "
        f"{'x'.join(map(str, config['grid']))}, inputs {config['fields'] + config['params']}",
        f"  model options: {config['model_options']}",
        f"  recipe: {recipe}",
        f"  trained {state['epoch']} epochs ({sum(history['seconds']) / 60:.1f} min of epochs), "
        f"best validation rel. L2 {best.get('val_rel_l2', float('nan')):.4g} at epoch "
        f"{best.get('epoch')}",
    ]
    return "\n".join(lines)
