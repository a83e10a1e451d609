"""Training a DCDM network: unsupervised loss, per-epoch checkpoints, resume, fixed seeds.

Loss (Kaneda et al. 2023): for unit b, ||b - c A f(b)||^2 with c = f^T b / f^T A f, the
residual left by one optimal step along the network's direction. Each epoch draws its
right-hand sides from a generator seeded by (seed, epoch), so a resumed run draws exactly
what an uninterrupted one would have.

Mixed resolutions (``grids``): one training set per grid, step s of the run drawing its batch
from grid s mod len(grids), so the network sees every scale of the grids it will meet.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

import pdes
from learning import epoch_generator, lr_factor

from .._base import SolverError, solver_device
from .._threads import single_threaded
from ..batched import StencilOperator, lane_dot, lane_norm
from ._checkpoint import check_model, load_model, network_from, save_model
from ._data import TrainingSet, cg_residuals, low_modes
from ._network import BASES, SHAPES, DirectionNet
from ._solver import solve_on_lanes

__all__ = ["DEFAULTS", "build_training_set", "dcdm_loss", "train_model", "training_state"]

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "shape": "linear", "channels": 8, "levels": 2, "base": "multigrid", "loss": "energy",
    "epochs": 30, "epoch_size": 512, "batch_size": 16, "lr": 1e-3, "matrices": 4,
    "modes": 4096, "lanczos_steps": 400, "residuals": False, "validate": 2,
    "validate_tol": 1e-6, "seed": 0, "grids": [],
}
LOSSES = ("residual", "energy")
VALIDATE_MAX_ITERATIONS = 300
RESIDUAL_EVERY = 4


def dcdm_loss(net: DirectionNet, op: StencilOperator, b: torch.Tensor,
              energy: torch.Tensor | None = None) -> torch.Tensor:
    """Batch mean of the paper's ||b - c A f(b)||^2, c = f^T b / f^T A f (b of unit norm);
    with ``energy`` = b^T A^-1 b, the energy left by that step instead,
    1 - (f^T b)^2 / (f^T A f b^T A^-1 b), the quantity a conjugate-direction step reduces."""
    f = net(b, net.context(op))
    af = op(f)
    fb, faf = lane_dot(f, b), lane_dot(f, af)
    if energy is not None:
        return (1 - fb**2 / (faf * energy)).mean()
    c = fb / faf
    return (lane_norm(b - c.reshape((-1,) + (1,) * (b.dim() - 1)) * af) ** 2).mean()


def build_training_set(family: pdes.Family, config: dict[str, Any], device: torch.device
                       ) -> TrainingSet:
    """Systems 0..matrices-1 of the seed's data set, their low modes and (optionally) the
    residuals of plain CG solves of their own right-hand sides."""
    systems = [family.sample(i, config["seed"]) for i in range(config["matrices"])]
    rng = np.random.default_rng(config["seed"])
    modes = [low_modes(s, config["modes"], config["lanczos_steps"], rng) for s in systems]
    residuals = ([cg_residuals(s, config["validate_tol"], RESIDUAL_EVERY) for s in systems]
                 if config["residuals"] else [])
    return TrainingSet(systems, modes, residuals, device)


def training_state(family: str, grid: tuple[int, ...], out: str | os.PathLike,
                   family_options: dict[str, Any] | None = None, device: str = "auto",
                   **options: Any) -> dict[str, Any]:
    """Where training at ``out`` starts: its checkpoint (of ``family`` and of ``grid``'s
    dimension, else SolverError) or a fresh, validated state. Cheap: no training data."""
    solver_device(device)
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise SolverError(f"unknown DCDM training option(s) {', '.join(unknown)}; "
                          f"known: {', '.join(DEFAULTS)}")
    if Path(out).exists():
        state = load_model(out)
        check_model(state, out, family=family, ndim=len(grid))
        return state
    return _fresh_state(family, grid, family_options or {}, {**DEFAULTS, **options})


def train_model(family: str, grid: tuple[int, ...], out: str | os.PathLike, *,
                family_options: dict[str, Any] | None = None, epochs: int | None = None,
                max_minutes: float | None = None, device: str = "auto", progress: bool = True,
                **options: Any) -> dict[str, Any]:
    """Train (or resume) the model at ``out``; returns the checkpoint's figures.

    A checkpoint already at ``out`` must be of ``family`` and of ``grid``'s dimension; its
    settings win, and training continues to ``epochs``. Stops after the epoch that would
    overrun ``max_minutes``.
    """
    started = time.perf_counter()
    target = solver_device(device)
    out = Path(out)
    state = training_state(family, grid, out, family_options, device, **options)
    if state["epoch"]:
        log.info("resuming %s at epoch %d", out, state["epoch"])
    config = state["training"]
    epochs = config["epochs"] if epochs is None else int(epochs)
    if epochs < 1:
        raise SolverError(f"epochs must be >= 1, got {epochs}")
    config["epochs"] = max(epochs, state["epoch"])
    fam = pdes.get(state["family"], grid=tuple(state["grid"]), **state["family_options"])
    if state["epoch"] >= epochs:
        return _figures(state)

    tic = time.perf_counter()
    data = [build_training_set(pdes.get(state["family"], grid=tuple(g), **state["family_options"]),
                               config, target) for g in config.get("grids") or [state["grid"]]]
    state["data_seconds"] = state.get("data_seconds", 0.0) + time.perf_counter() - tic
    validation = [fam.sample(config["matrices"] + i, config["seed"])
                  for i in range(config["validate"])]
    net = network_from(state, target).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=config["lr"])
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    with single_threaded(target):  # tiny convolutions: threads only spin on a shared CPU
        _epochs(state, net, optimizer, data, validation, out, epochs, started, max_minutes,
                target, progress)
    return _figures(state)


def _epochs(state: dict[str, Any], net: DirectionNet, optimizer: torch.optim.Optimizer,
            data: list[TrainingSet], validation: list, out: Path, epochs: int, started: float,
            max_minutes: float | None, target: torch.device, progress: bool) -> None:
    """Epochs state["epoch"]..epochs-1, a checkpoint after each; step s of the run draws
    from ``data[s % len(data)]`` (one training set per grid)."""
    config, history = state["training"], state["history"]
    steps = max(1, config["epoch_size"] // config["batch_size"])
    for epoch in range(state["epoch"], epochs):
        if max_minutes is not None and history["seconds"] and (
                time.perf_counter() - started + history["seconds"][-1] > 60 * max_minutes):
            break
        tic = time.perf_counter()
        generator = epoch_generator(config["seed"], epoch, target)
        net.train()
        total = 0.0
        bar = tqdm(range(steps), desc=f"dcdm epoch {epoch + 1}/{epochs}", leave=False,
                   disable=not progress)
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = config["lr"] * lr_factor("cosine", epoch * steps + step,
                                                       epochs * steps)
            grid = data[(epoch * steps + step) % len(data)]
            lanes, b, energy = grid.draw(config["batch_size"], generator)
            loss = dcdm_loss(net, grid.op.select(lanes), b,
                             energy if config["loss"] == "energy" else None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        net.eval()
        history["loss"].append(total / steps)
        history["val_iterations"].append(_validate(net, validation, config, target))
        history["seconds"].append(time.perf_counter() - tic)
        state.update(epoch=epoch + 1, model=_cpu(net.state_dict()),
                     optimizer=optimizer.state_dict(), history=history, device=str(target))
        save_model(out, state)
        log.info("dcdm epoch %d loss %.4g, validation iterations %.1f", epoch + 1,
                 history["loss"][-1], history["val_iterations"][-1])


def _fresh_state(family: str, grid: tuple[int, ...], family_options: dict[str, Any],
                 config: dict[str, Any]) -> dict[str, Any]:
    if config["shape"] not in SHAPES:
        raise SolverError(f"network shape must be one of {', '.join(SHAPES)}, "
                          f"got {config['shape']!r}")
    if config["loss"] not in LOSSES:
        raise SolverError(f"loss must be one of {', '.join(LOSSES)}, got {config['loss']!r}")
    if config["base"] not in BASES:
        raise SolverError(f"base must be one of {', '.join(BASES)}, got {config['base']!r}")
    config["grids"] = training_grids(config["grids"], len(grid))
    for key in ("channels", "epoch_size", "batch_size", "matrices", "modes", "lanczos_steps",
                "levels", "validate"):
        low = 0 if key in ("levels", "validate") else 1
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < low:
            raise SolverError(f"{key} must be an int >= {low}, got {config[key]!r}")
    fam = pdes.get(family, grid=grid, **family_options)  # bad family/grid/option: PDEError
    torch.manual_seed(config["seed"])
    network = {k: config[k] for k in ("channels", "shape", "levels", "base")}
    net = DirectionNet(len(grid), **network)
    return {
        "family": family, "grid": list(fam.grid), "ndim": len(fam.grid),
        "family_options": fam.options(), "fields": list(fam.field_names),
        "network": network,
        "training": dict(config), "epoch": 0, "model": _cpu(net.state_dict()),
        "history": {"loss": [], "val_iterations": [], "seconds": []},
        "parameters": sum(p.numel() for p in net.parameters()),
    }


def training_grids(grids: Any, ndim: int) -> list[list[int]]:
    """``grids`` (sides or full grids; empty: the model's grid only) as lists of ``ndim``
    sizes; SolverError if one is not."""
    out = []
    for grid in grids or []:
        sizes = [grid] * ndim if isinstance(grid, int) else list(grid)
        if len(sizes) != ndim or not all(isinstance(n, int) and not isinstance(n, bool)
                                         and n >= 2 for n in sizes):
            raise SolverError(f"grids must hold sides >= 2 or {ndim}-D grids, got {grid!r}")
        out.append(sizes)
    return out


def _validate(net: DirectionNet, systems: list, config: dict[str, Any],
              device: torch.device) -> float:
    """Mean DCDM iterations to ``validate_tol`` on held-out systems (capped): the figure
    that matters, tracked per epoch."""
    if not systems:
        return math.nan
    solved = solve_on_lanes(net, systems, config["validate_tol"],
                            max_iterations=VALIDATE_MAX_ITERATIONS, device=device)
    return float(np.mean([iterations for _, iterations in solved]))


def _figures(state: dict[str, Any]) -> dict[str, Any]:
    history = state["history"]
    return {"family": state["family"], "grid": state["grid"], "epoch": state["epoch"],
            "loss": history["loss"][-1] if history["loss"] else None,
            "val_iterations": history["val_iterations"][-1] if history["val_iterations"]
            else None, "train_seconds": float(sum(history["seconds"])),
            "data_seconds": float(state.get("data_seconds", 0.0)),
            "parameters": state["parameters"], "history": history}


def _cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in tensors.items()}
