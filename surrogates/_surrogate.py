"""Inference: a trained operator behind a numpy-in, numpy-out interface."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import torch

from pdes import resolve_device

from .checkpoint import load_checkpoint, model_from_checkpoint
from .models import NormalizedOperator

__all__ = ["Surrogate", "load"]


class Surrogate:
    """Predicts solution fields in physical units from input fields and params."""

    def __init__(
        self,
        model: NormalizedOperator,
        fields: list[str],
        params: list[str],
        grid: tuple[int, ...],
        device: torch.device,
    ) -> None:
        self.model = model
        self.fields = fields
        self.params = params
        self.grid = grid
        self.device = device

    def predict(self, fields: Mapping[str, np.ndarray | float] | np.ndarray) -> np.ndarray:
        """One sample -> array of the grid's shape; a batch (leading axis) -> (B, *grid).

        ``fields`` maps each input field to an array of the grid's shape (or a batch
        of them) and each param to a scalar (or one per sample); an array is taken
        as channels already stacked, (C, *grid) or (B, C, *grid).
        """
        x = self._stack(fields)
        single = x.ndim == len(self.grid) + 1
        batch = torch.from_numpy(x[None] if single else x).to(self.device)
        with torch.no_grad():
            y = self.model(batch)[:, 0].cpu().numpy()
        return y[0] if single else y

    def _stack(self, fields: Mapping[str, np.ndarray | float] | np.ndarray) -> np.ndarray:
        if not isinstance(fields, Mapping):
            return np.asarray(fields, dtype=np.float32)
        needed = self.fields + self.params
        missing = [name for name in needed if name not in fields]
        if missing:
            raise ValueError(f"missing inputs {missing}; the surrogate needs {needed}")
        arrays = [np.asarray(fields[name], dtype=np.float32) for name in self.fields]
        batch_shape = arrays[0].shape[: arrays[0].ndim - len(self.grid)] if arrays else ()
        for name in self.params:
            value = np.asarray(fields[name], dtype=np.float32)
            value = value.reshape(value.shape + (1,) * len(self.grid))
            arrays.append(np.broadcast_to(value, batch_shape + self.grid))
        return np.stack(arrays, axis=len(batch_shape))


def load(path: str | os.PathLike, device: str = "auto") -> Surrogate:
    """Load a trained surrogate from its model directory (or checkpoint file)."""
    state = load_checkpoint(path)
    target = resolve_device(device)
    model = model_from_checkpoint(state).to(target).eval()
    config = state["config"]
    return Surrogate(model, list(config["fields"]), list(config["params"]),
                     tuple(config["grid"]), target)
