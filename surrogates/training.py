"""Training loop: AdamW + a schedule sized to the budget, symmetry augmentation, per-epoch
checkpoints with the best validation weights, resume."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from neuralop.losses import H1Loss, LpLoss
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from learning import SCHEDULES, BudgetPlan, epoch_generator, lr_factor
from pdes import resolve_device
from storage import ChunkShuffleSampler, ZarrFieldDataset, split_positions

from .augment import AUGMENTATIONS, coarsened, symmetry_augment
from .checkpoint import (
    checkpoint_path,
    load_checkpoint,
    model_from_checkpoint,
    new_model,
    save_checkpoint,
    store_identity,
)
from .errors import SurrogateError
from .growth import adopt_growth, is_growth
from .models import NormalizedOperator, parameter_count
from .normalization import fit_normalizers
from .recipe import DEFAULT_EPOCHS, TRAIN_DEFAULTS, default_model_options
from .threads import ThreadChooser

__all__ = ["check_recipe", "epoch_line", "make_loss", "train"]

log = logging.getLogger(__name__)
_D = TRAIN_DEFAULTS


def make_loss(name: str, dim: int) -> LpLoss | H1Loss:
    """Relative L2 or H1 over the grid, averaged over the batch; fields are not periodic."""
    if name == "l2":
        return LpLoss(d=dim, p=2, reduction="mean")
    if name == "h1":
        flags = {f"periodic_in_{axis}": False for axis in "xyz"}
        return H1Loss(d=dim, reduction="mean", **flags)
    raise SurrogateError(f"unknown loss {name!r}; known: 'h1', 'l2'")


def train(
    data: str,
    out: str | os.PathLike,
    *,
    model: str = _D["model"],
    model_options: dict[str, Any] | None = None,
    epochs: int | None = _D["epochs"],
    max_minutes: float | None = _D["max_minutes"],
    batch_size: int = _D["batch_size"],
    lr: float = _D["lr"],
    weight_decay: float = _D["weight_decay"],
    loss: str = _D["loss"],
    schedule: str = _D["schedule"],
    augment: str = _D["augment"],
    coarsen: float = _D["coarsen"],
    fractions: tuple[float, float, float] | list[float] = tuple(_D["fractions"]),
    seed: int = _D["seed"],
    amp: bool = _D["amp"],
    device: str = "auto",
    num_workers: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a neural operator on the done samples of ``data``; checkpoints go to ``out``.

    ``coarsen`` is mixed-resolution training: that share of the training batches is taken
    at every other grid point (half the resolution, a quarter of the cost in 2-D); the
    network is resolution-free, so the cheap batches teach the same operator.
    ``max_minutes`` without ``epochs``: the schedule is sized from measured epochs to end
    with the budget (wall time of this call and any earlier calls of the same run). With
    ``epochs`` the schedule spans them and the budget only caps. Neither: 50 epochs.
    ``model_options`` not given take the measured defaults for the data's grid. If ``out``
    holds a checkpoint, training resumes it (its recipe, split and normalisers win over the
    arguments, except ``epochs``/``max_minutes``). The saved model is the best on validation.
    A checkpoint of this store before it grew (``generate --extend``, ``serve --grow``)
    fine-tunes on the grown store for ``epochs`` more epochs (default: as many as it had
    trained), its test error before and after recorded in ``history["growths"]``.
    """
    started = time.perf_counter()
    out = Path(out)
    target = resolve_device(device)
    growth = None
    if checkpoint_path(out).exists():
        state = load_checkpoint(out)
        if _check_same_store(state, data):
            growth = adopt_growth(state, data)
            epochs = state["epoch"] + max(1, epochs or state["epoch"])
            log.info("fine-tuning %s on %s grown to %d samples", out, data, growth["n_after"])
        log.info("resuming %s at epoch %d", out, state["epoch"])
    else:
        config = {
            "model": model, "model_options": dict(model_options or {}), "loss": loss,
            "schedule": schedule, "augment": augment, "coarsen": float(coarsen),
            "batch_size": batch_size, "lr": lr,
            "weight_decay": weight_decay, "fractions": list(fractions), "seed": seed,
            "amp": bool(amp), "data": str(data),
        }
        _check_config(config)
        state = _initial_state(data, config)
        out.mkdir(parents=True, exist_ok=True)
    config = state["config"]
    split = {name: positions.numpy() for name, positions in state["split"].items()}
    train_set = ZarrFieldDataset(data, split["train"], config["fields"], config["params"])
    val_set = ZarrFieldDataset(data, split["val"], config["fields"], config["params"])
    sampler = ChunkShuffleSampler(train_set, seed=config["seed"])
    loader = DataLoader(train_set, config["batch_size"], sampler=sampler, num_workers=num_workers)

    net = model_from_checkpoint(state, best=False).to(target)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
    )
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    plan = BudgetPlan(
        epochs if epochs is not None or max_minutes is not None else DEFAULT_EPOCHS,
        None if max_minutes is None else 60.0 * max_minutes,
    )
    criterion = make_loss(config["loss"], len(config["grid"]))
    val_metric = make_loss("l2", len(config["grid"]))
    history = state["history"]
    if growth is not None:
        growth["test_rel_l2_before"] = _test_error(net, data, state, val_metric, target)
    spent_before = float(state.get("spent_seconds", 0.0))
    threads = ThreadChooser(target)  # probed once, outside the budget; resumes reuse it
    state["threads"] = threads.choose(
        lambda: _probe_step(net, train_set, criterion, config, target), state.get("threads"))

    def spent() -> float:
        return spent_before + time.perf_counter() - started - threads.seconds

    def position() -> tuple[float, float | None]:
        """Where the schedule stands: steps of the planned epochs, or a budget-only run's
        seconds of its budget (so the decay ends when the budget does)."""
        if plan.epochs is None:
            return spent(), plan.budget_seconds
        return state["step"], plan.epochs * len(loader)

    bar = tqdm(total=None, unit="step", desc="train", disable=None if progress else True,
               dynamic_ncols=True)  # one bar for the run; off where stderr is not a terminal
    try:
        while (stopped := plan.stop_reason(state["epoch"], spent(), history["seconds"])) is None:
            epoch = state["epoch"]
            total = plan.total_epochs(epoch, spent(), history["seconds"])
            sampler.set_epoch(epoch)
            if total is not None:
                bar.total = total * len(loader)
            bar.set_description(f"epoch {epoch + 1}/{total or '?'}")
            tic = time.perf_counter()
            deadline = None if plan.budget_seconds is None else (
                time.perf_counter() + plan.budget_seconds - spent())
            history["train_loss"].append(_train_epoch(
                net, loader, bar, criterion, optimizer, config, state, position, target,
                # per epoch, so a resumed run draws what an uninterrupted one would
                epoch_generator(config["seed"], epoch), deadline,
            ))
            history["val_rel_l2"].append(_mean_metric(net, val_set, val_metric, config, target))
            history["seconds"].append(time.perf_counter() - tic)
            history.setdefault("lr", []).append(optimizer.param_groups[0]["lr"])
            state.update(epoch=epoch + 1, model=net.state_dict(),
                         optimizer=optimizer.state_dict(), history=history,
                         planned_epochs=total, spent_seconds=spent())
            _keep_best(state, history["val_rel_l2"][-1])
            save_checkpoint(out, state)
            if progress:
                bar.write(epoch_line(state, plan.budget_seconds, total), file=sys.stderr)
    finally:
        bar.close()
        threads.close()
    if growth is not None:
        best = model_from_checkpoint(state, best=True).to(target)  # the model a user loads
        growth["test_rel_l2_after"] = _test_error(best, data, state, val_metric, target)
        save_checkpoint(out, state)

    metrics = {
        "epoch": state["epoch"], "step": state["step"], "stopped": stopped,
        "planned_epochs": state.get("planned_epochs"),
        "train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "val_rel_l2": history["val_rel_l2"][-1] if history["val_rel_l2"] else None,
        "best_epoch": state["best"]["epoch"] if state.get("best") else None,
        "best_val_rel_l2": state["best"]["val_rel_l2"] if state.get("best") else None,
        "train_seconds": float(sum(history["seconds"])),
        "spent_seconds": float(state.get("spent_seconds", 0.0)),
        "budget_seconds": plan.budget_seconds, "threads": state["threads"],
        "thread_probe_seconds": threads.seconds,
        "n_train": len(split["train"]), "n_val": len(split["val"]), "n_test": len(split["test"]),
        "parameters": parameter_count(net.net), "device": str(target), "config": config,
        "history": history,
    }
    (out / "training.json").write_text(json.dumps(metrics, indent=2, default=str))
    return metrics


def epoch_line(state: dict[str, Any], budget: float | None, total: int | None) -> str:
    """One log line per epoch: losses, learning rate, time used and what the budget has left."""
    h = state["history"]
    spent = state["spent_seconds"]
    left = "" if budget is None else f", budget left {max(budget - spent, 0):.0f} s"
    return (f"epoch {state['epoch']}/{total or '?'}: train loss {h['train_loss'][-1]:.4g}, "
            f"val rel L2 {h['val_rel_l2'][-1]:.4g}, lr {h['lr'][-1]:.3g}, "
            f"elapsed {spent:.0f} s{left}")


def check_recipe(data: str, out: str | os.PathLike, recipe: dict[str, Any]) -> None:
    """What `train` would reject, found before any work (the CLI calls it before Prefect
    starts): a checkpoint of another store, unknown recipe values, model options the
    architecture does not take."""
    if checkpoint_path(out).exists():
        _check_same_store(load_checkpoint(out), data)
        return
    config = {**TRAIN_DEFAULTS, **{k: v for k, v in recipe.items() if k in TRAIN_DEFAULTS}}
    _check_config(config)
    probe = ZarrFieldDataset(data)
    options = {**default_model_options(config["model"], probe.grid),
               **(config["model_options"] or {})}
    new_model({**config, "fields": probe.fields, "params": probe.params,
               "grid": list(probe.grid), "model_options": options})


def _check_config(config: dict[str, Any]) -> None:
    """Bad recipe values fail before any data is read."""
    for key, known in (("schedule", SCHEDULES), ("augment", AUGMENTATIONS),
                       ("loss", ("h1", "l2"))):
        if config[key] not in known:
            raise SurrogateError(f"unknown {key} {config[key]!r}; known: {list(known)}")
    if not 0.0 <= config["coarsen"] < 1.0:
        raise SurrogateError(f"coarsen is a share of the batches in [0, 1), "
                             f"not {config['coarsen']}")
    if config["batch_size"] < 1 or not config["lr"] > 0:
        raise SurrogateError("batch_size and lr must be positive")
    fractions = config["fractions"]
    if len(fractions) != 3 or min(fractions) < 0 or not math.isclose(sum(fractions), 1.0):
        raise SurrogateError(f"fractions must be three non-negative numbers summing to 1, "
                             f"not {fractions}")


def _train_epoch(
    net: NormalizedOperator,
    batches: DataLoader,
    bar: tqdm,
    criterion: LpLoss | H1Loss,
    optimizer: torch.optim.Optimizer,
    config: dict[str, Any],
    state: dict[str, Any],
    position: Callable[[], tuple[float, float | None]],
    device: torch.device,
    rng: torch.Generator,
    deadline: float | None,
) -> float:
    """One pass over the training batches; returns the sample-weighted mean loss.

    The pass ends early at ``deadline`` (perf_counter seconds): the budget's end, which
    an epoch longer than the estimate (or the first one, before any estimate) may reach.
    """
    net.train()
    total, count = 0.0, 0
    for batch in batches:
        if deadline is not None and count and time.perf_counter() > deadline:
            break
        x, y = batch["x"], batch["y"]
        if config["augment"] == "d4":
            x, y = symmetry_augment(x, y, rng)
        if config.get("coarsen") and torch.rand((), generator=rng) < config["coarsen"]:
            x, y = coarsened(x), coarsened(y)
        x, y = x.to(device), y.to(device)
        for group in optimizer.param_groups:
            group["lr"] = config["lr"] * lr_factor(config["schedule"], *position())
        optimizer.zero_grad(set_to_none=True)
        with _autocast(config, device):
            value = criterion(net(x), y)
        value.backward()
        optimizer.step()
        state["step"] += 1
        total += value.item() * len(x)
        count += len(x)
        bar.update()
        bar.set_postfix(loss=f"{value.item():.4f}", refresh=False)
    return total / count


def _autocast(config: dict[str, Any], device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for the pointwise layers when the recipe asks (spectra stay float32)."""
    if not config.get("amp"):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _probe_step(net: NormalizedOperator, dataset: ZarrFieldDataset, criterion: LpLoss | H1Loss,
                config: dict[str, Any], device: torch.device) -> None:
    """A training step's compute without its update: what the thread choice times."""
    batch = [dataset[i] for i in range(min(len(dataset), config["batch_size"]))]
    x = torch.stack([b["x"] for b in batch]).to(device)
    y = torch.stack([b["y"] for b in batch]).to(device)
    criterion(net(x), y).backward()
    net.zero_grad(set_to_none=True)


def _keep_best(state: dict[str, Any], val_rel_l2: float) -> None:
    """The best validation weights so far (the latest when there is no validation split)."""
    best = state.get("best")
    if best is None or math.isnan(val_rel_l2) or val_rel_l2 <= best["val_rel_l2"]:
        state["best"] = {"epoch": state["epoch"], "val_rel_l2": val_rel_l2,
                         "model": {k: v.detach().clone() for k, v in state["model"].items()}}


def _check_same_store(state: dict[str, Any], data: str) -> bool:
    """Resuming on another store would mix two datasets under one split: bad input. True
    when ``data`` is the checkpoint's store grown (then training fine-tunes on it)."""
    saved, given = state["config"].get("store"), store_identity(data)
    if is_growth(saved, given):
        return True
    if saved is not None and saved != given:
        raise SurrogateError(f"the checkpoint was trained on a store made for {saved}, "
                             f"not {given}; train into a new folder")
    return False


def _test_error(net: NormalizedOperator, data: str, state: dict[str, Any],
                metric: LpLoss | H1Loss, device: torch.device) -> float:
    """Mean relative error on the state's test split of ``data`` (NaN when it is empty)."""
    config = state["config"]
    test = ZarrFieldDataset(data, state["split"]["test"].numpy(), config["fields"],
                            config["params"])
    return _mean_metric(net, test, metric, config, device)


def _initial_state(data: str, config: dict[str, Any]) -> dict[str, Any]:
    """Fresh run: split the done samples, fit normalisers on the training split, init weights."""
    probe = ZarrFieldDataset(data)
    split = split_positions(probe.store, tuple(config["fractions"]), config["seed"])
    if not len(split["train"]):
        raise SurrogateError(f"{data}: no done sample falls in the training split")
    config.update(fields=probe.fields, params=probe.params, grid=list(probe.grid),
                  store=store_identity(probe.store))
    config["model_options"] = {**default_model_options(config["model"], probe.grid),
                               **config["model_options"]}
    train_set = ZarrFieldDataset(data, split["train"], probe.fields, probe.params)
    in_norm, out_norm, mean_solution = fit_normalizers(
        DataLoader(train_set, batch_size=config["batch_size"])
    )
    torch.manual_seed(config["seed"])
    net = new_model(config)
    net.in_normalizer.load_state_dict(in_norm.state_dict())
    net.out_normalizer.load_state_dict(out_norm.state_dict())
    return {
        "format": 2, "config": config, "model": net.state_dict(), "epoch": 0, "step": 0,
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
