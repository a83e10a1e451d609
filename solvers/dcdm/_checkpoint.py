"""DCDM checkpoints: plain tensors, numbers, strings, lists and dicts (``weights_only=True``).

A checkpoint says which family, grid and options it was trained on, the network's shape,
the training settings and figures, and the torch version; the solvers and the trainer refuse
one made for another family or spatial dimension.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from learning import CheckpointError, load_state, save_state

from .._base import SolverError
from ._network import DirectionNet

__all__ = ["FORMAT", "check_model", "load_model", "network_from", "network_settings",
           "save_model"]

FORMAT = 1


def save_model(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename): an interrupted save never corrupts a model."""
    return save_state(path, {**state, "format": FORMAT, "torch": str(torch.__version__)})


def load_model(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint at ``path``; SolverError (bad input) if it is missing or not a DCDM model."""
    path = Path(path)
    if not path.is_file():
        raise SolverError(f"no DCDM model at {path} (train one with `pdeforge train-dcdm`)")
    try:
        state = load_state(path)
    except CheckpointError as exc:
        raise SolverError(f"{exc}: not a DCDM model") from None
    if state.get("format") != FORMAT or "network" not in state:
        raise SolverError(f"{path} is not a DCDM model (format {FORMAT})")
    return state


def check_model(state: dict[str, Any], path: str | os.PathLike, family: str | None = None,
                ndim: int | None = None, fields: set[str] | None = None) -> None:
    """Refuse a model made for another family, spatial dimension or set of input fields."""
    made = f"{path} was trained on {state['family']} ({state['ndim']}-D)"
    if family is not None and family != state["family"]:
        raise SolverError(f"{made}, not {family}")
    if ndim is not None and ndim != state["ndim"]:
        raise SolverError(f"{made}, not on a {ndim}-D grid")
    if fields is not None and fields != set(state["fields"]):
        raise SolverError(f"{made}: these systems have fields {', '.join(sorted(fields))}, "
                          f"not {', '.join(state['fields'])}")


def network_settings(network: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's network settings as ``DirectionNet`` takes them: one from before the
    ``base`` option says ``spectral`` (True: the DST base, False: none) instead."""
    settings = dict(network)
    if "base" not in settings:
        settings["base"] = "spectral" if settings.pop("spectral", True) else "none"
    return settings


def network_from(state: dict[str, Any], device: torch.device | str = "cpu") -> DirectionNet:
    """The checkpoint's network with its weights, in eval mode on ``device``."""
    net = DirectionNet(state["ndim"], **network_settings(state["network"]))
    net.load_state_dict(state["model"])
    return net.to(device).eval()
