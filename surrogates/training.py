"""Training loop: AdamW + cosine schedule, per-epoch checkpoints, resume, time budget."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from neuralop.losses import H1Loss, LpLoss
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from storage._torch import ChunkShuffleSampler, ZarrFieldDataset, split_indices

from .checkpoint import (
    checkpoint_path,
    load_checkpoint,
    model_from_checkpoint,
    new_model,
    save_checkpoint,
)
from .models import NormalizedOperator, resolve_device
from .normalization import fit_normalizers

__all__ = ["make_loss", "train"]

log = logging.getLogger(__name__)


def make_loss(name: str, dim: int) -> LpLoss | H1Loss:
    """Relative L2 or H1 over the grid, averaged over the batch; fields are not periodic."""
    if name == "l2":
        return LpLoss(d=dim, p=2, reduction="mean")
    if name == "h1":
        flags = {f"periodic_in_{axis}": False for axis in "xyz"}
        return H1Loss(d=dim, reduction="mean", **flags)
    raise ValueError(f"unknown loss {name!r}; known: 'h1', 'l2'")


def train(
    data: str,
    out: str | os.PathLike,
    *,
    model: str = "fno",
    model_options: dict[str, Any] | None = None,
    epochs: int = 20,
    max_minutes: float | None = None,
    batch_size: int = 16,
    lr: float = 5e-3,
    weight_decay: float = 1e-4,
    loss: str = "h1",
    schedule: str = "cosine",
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    device: str = "auto",
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a neural operator on the done samples of ``data``; checkpoints go to ``out``.

    If ``out`` already holds a checkpoint, training resumes from it (its model,
    split and normalisers win over the arguments) and continues up to ``epochs``.
    ``schedule`` is "cosine" (decays to zero over the ``epochs`` of the current
    call, so extending a run re-opens its tail) or "constant". Training stops
    after ``epochs`` or before an epoch that would overrun ``max_minutes``.
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = resolve_device(device)
    if checkpoint_path(out).exists():
        state = load_checkpoint(out)
        log.info("resuming %s at epoch %d", out, state["epoch"])
    else:
        config = {
            "model": model, "model_options": dict(model_options or {}), "loss": loss,
            "schedule": schedule, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
            "fractions": list(fractions), "seed": seed, "data": str(data),
        }
        state = _initial_state(data, config)
    config = state["config"]
    split = {name: positions.numpy() for name, positions in state["split"].items()}
    train_set = ZarrFieldDataset(data, split["train"], config["fields"], config["params"])
    val_set = ZarrFieldDataset(data, split["val"], config["fields"], config["params"])
    sampler = ChunkShuffleSampler(train_set, seed=config["seed"])
    loader = DataLoader(train_set, config["batch_size"], sampler=sampler, num_workers=num_workers)

    net = model_from_checkpoint(state).to(target)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(config["schedule"], max(epochs * len(loader), 1))
    )
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    criterion = make_loss(config["loss"], len(config["grid"]))
    val_metric = make_loss("l2", len(config["grid"]))
    history = state["history"]

    stopped = "epochs"
    for epoch in range(state["epoch"], epochs):
        elapsed = time.perf_counter() - started
        if max_minutes is not None and history["seconds"] and (
            elapsed + history["seconds"][-1] > 60 * max_minutes
        ):
            stopped = "time"
            break
        tic = time.perf_counter()
        sampler.set_epoch(epoch)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=not progress)
        loss_value = _train_epoch(net, bar, criterion, optimizer, scheduler, target)
        history["train_loss"].append(loss_value)
        history["val_rel_l2"].append(_mean_metric(net, val_set, val_metric, config, target))
        history["seconds"].append(time.perf_counter() - tic)
        state.update(
            epoch=epoch + 1, step=scheduler.last_epoch, model=net.state_dict(),
            optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(), history=history,
        )
        save_checkpoint(out, state)
        log.info("epoch %d train %.4g val rel L2 %.4g", epoch + 1, history["train_loss"][-1],
                 history["val_rel_l2"][-1])

    metrics = {
        "epoch": state["epoch"], "step": state["step"], "stopped": stopped,
        "train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "val_rel_l2": history["val_rel_l2"][-1] if history["val_rel_l2"] else None,
        "train_seconds": float(sum(history["seconds"])),
        "n_train": len(split["train"]), "n_val": len(split["val"]), "n_test": len(split["test"]),
        "device": str(target), "history": history,
    }
    (out / "training.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _train_epoch(
    net: NormalizedOperator,
    batches: tqdm,
    criterion: LpLoss | H1Loss,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
) -> float:
    """One pass over the training batches; returns the sample-weighted mean loss."""
    net.train()
    total, count = 0.0, 0
    for batch in batches:
        x, y = batch["x"].to(device), batch["y"].to(device)
        optimizer.zero_grad(set_to_none=True)
        value = criterion(net(x), y)
        value.backward()
        optimizer.step()
        scheduler.step()
        total += value.item() * len(x)
        count += len(x)
        batches.set_postfix(loss=f"{value.item():.4f}")
    return total / count


def _schedule(name: str, total_steps: int) -> Callable[[int], float]:
    """Learning-rate factor per optimizer step; a closure, so checkpoints store no code."""
    if name == "cosine":
        return lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    if name == "constant":
        return lambda step: 1.0
    raise ValueError(f"unknown schedule {name!r}; known: 'constant', 'cosine'")


def _initial_state(data: str, config: dict[str, Any]) -> dict[str, Any]:
    """Fresh run: split the done samples, fit normalisers on the training split, init weights."""
    probe = ZarrFieldDataset(data)
    split = split_indices(probe.positions, tuple(config["fractions"]), config["seed"])
    config.update(fields=probe.fields, params=probe.params, grid=list(probe.grid))
    train_set = ZarrFieldDataset(data, split["train"], probe.fields, probe.params)
    in_norm, out_norm, mean_solution = fit_normalizers(
        DataLoader(train_set, batch_size=config["batch_size"])
    )
    torch.manual_seed(config["seed"])
    net = new_model(config)
    net.in_normalizer.load_state_dict(in_norm.state_dict())
    net.out_normalizer.load_state_dict(out_norm.state_dict())
    return {
        "format": 1, "config": config, "model": net.state_dict(), "epoch": 0, "step": 0,
        "mean_solution": mean_solution,
        "split": {name: torch.from_numpy(np.asarray(p)) for name, p in split.items()},
        "history": {"train_loss": [], "val_rel_l2": [], "seconds": []},
    }


def _mean_metric(
    net: NormalizedOperator,
    dataset: ZarrFieldDataset,
    metric: LpLoss | H1Loss,
    config: dict[str, Any],
    device: torch.device,
) -> float:
    """Sample-weighted mean of ``metric`` over ``dataset`` (NaN when it is empty)."""
    if not len(dataset):
        return float("nan")
    net.eval()
    total = 0.0
    with torch.no_grad():
        for batch in DataLoader(dataset, config["batch_size"]):
            x, y = batch["x"].to(device), batch["y"].to(device)
            total += metric(net(x), y).item() * len(x)
    return total / len(dataset)
