"""Evaluation on held-out data: the test split of the training store, or a whole other store
(an unseen seed, or another resolution: FNO-type models evaluate zero-shot at any grid).

Writes metrics.json (means, per-sample errors with each sample's coefficient contrast) and
PNG figures; the error of predicting the training-mean solution is the baseline a useful
surrogate must beat.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import storage
from storage import ZarrFieldDataset, split_positions

from ._surrogate import load
from .checkpoint import load_checkpoint, store_identity
from .errors import SurrogateError
from .figures import plot_error_vs_contrast, plot_samples, plot_training_curve
from .training import make_loss

__all__ = ["evaluate", "evaluation_positions", "family_option_warnings"]


def evaluate(
    model_dir: str | os.PathLike,
    data: str | None = None,
    out: str | os.PathLike | None = None,
    *,
    device: str = "auto",
    batch_size: int = 32,
    figures: bool = True,
) -> dict[str, Any]:
    """Errors of the trained model on ``data`` (default: its training store's test split).

    A store of the training store's identity (family, grid, seed, n, options) is scored on
    its test split only; any other store of the same family and fields on all its done
    samples. Another family, other input fields or another number of dimensions is a
    SurrogateError. Writes metrics.json and (unless ``figures=False``) PNGs into ``out``
    (default ``model_dir``).
    """
    state = load_checkpoint(model_dir)
    config = state["config"]
    data = str(data or config["data"])
    positions, scope = evaluation_positions(state, data)
    if not len(positions):
        raise SurrogateError(f"no held-out done samples to evaluate in {data}")
    out = Path(out if out is not None else model_dir)
    out.mkdir(parents=True, exist_ok=True)
    surrogate = load(model_dir, device=device)
    test_set = ZarrFieldDataset(data, positions, config["fields"], config["params"])
    dim = len(config["grid"])
    l2, h1 = make_loss("l2", dim), make_loss("h1", dim)
    baseline = _resample(state["mean_solution"], test_set.grid).to(surrogate.device)
    rows: dict[str, list[float]] = {"rel_l2": [], "rel_h1": [], "baseline_rel_l2": []}
    seconds = 0.0
    with torch.no_grad():
        for batch in DataLoader(test_set, batch_size):
            x, y = batch["x"].to(surrogate.device), batch["y"].to(surrogate.device)
            tic = time.perf_counter()
            pred = surrogate.model(x)
            seconds += time.perf_counter() - tic
            for i in range(len(x)):
                rows["rel_l2"].append(l2(pred[i : i + 1], y[i : i + 1]).item())
                rows["rel_h1"].append(h1(pred[i : i + 1], y[i : i + 1]).item())
                rows["baseline_rel_l2"].append(l2(baseline, y[i : i + 1]).item())
    errors = np.asarray(rows["rel_l2"])
    contrast = _contrast(test_set)
    order = np.argsort(errors)
    shown: dict[str, int] = {}  # a sample both best and median (few held out) shows once
    for name, i in (("best", order[0]), ("median", order[len(order) // 2]),
                    ("worst", order[-1])):
        if int(i) not in shown.values():
            shown[name] = int(i)
    paths = {
        "samples": plot_samples(surrogate, test_set, shown, errors, out / "samples.png"),
        "training_curve": plot_training_curve(state["history"], out / "training_curve.png"),
        "error_vs_contrast": plot_error_vs_contrast(contrast, errors,
                                                    out / "error_vs_contrast.png"),
    } if figures else {}
    metrics = {
        "data": data, "scope": scope, "grid": list(test_set.grid),
        "trained_grid": list(config["grid"]), "n_test": len(test_set),
        "rel_l2_mean": float(errors.mean()),
        "rel_l2_median": float(np.median(errors)),
        "rel_l2_worst": float(errors.max()),
        "worst_position": int(test_set.positions[order[-1]]),
        "rel_h1_mean": float(np.mean(rows["rel_h1"])),
        "baseline_rel_l2_mean": float(np.mean(rows["baseline_rel_l2"])),
        "inference_seconds_per_sample": seconds / len(test_set),
        "epochs": state["epoch"],
        "best_epoch": state["best"]["epoch"] if state.get("best") else state["epoch"],
        "train_seconds": float(sum(state["history"]["seconds"])),
        "model": config["model"], "model_options": config["model_options"],
        "device": str(surrogate.device),
        "per_sample": [
            {"position": int(p), "rel_l2": a, "rel_h1": b, **c}
            for p, a, b, c in zip(test_set.positions, rows["rel_l2"], rows["rel_h1"], contrast,
                                  strict=True)
        ],
        "figures": {name: str(path) for name, path in paths.items()},
        "warnings": family_option_warnings(state, data),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    metrics["written"] = [str(out / "metrics.json"), *metrics["figures"].values()]
    return metrics


def family_option_warnings(state: dict[str, Any], data: str) -> list[str]:
    """Why ``data`` is not what the model learned: family options that differ from the
    training store's (the same family made otherwise, a lognormal field for a threshold one)."""
    trained = (state["config"].get("store") or {}).get("family_options") or {}
    given = storage.open_dataset(data).attrs.get("family_options") or {}
    differ = sorted(k for k in {*trained, *given} if trained.get(k) != given.get(k))
    if not differ:
        return []
    return ["family options differ from the training store's: " + ", ".join(
        f"{k} {given.get(k)!r} (trained on {trained.get(k)!r})" for k in differ)]


def evaluation_positions(state: dict[str, Any], data: str) -> tuple[np.ndarray, str]:
    """Store positions the model never trained or validated on, and which rule chose them."""
    config = state["config"]
    store = storage.open_dataset(data)
    attrs = store.attrs
    trained = config.get("store") or {}
    if trained.get("family") != attrs.get("family"):
        raise SurrogateError(f"{data} holds family {attrs.get('family')!r}; the model was "
                             f"trained on {trained.get('family')!r}")
    fields, params = sorted(store.inputs), sorted(store.params)
    if fields != sorted(config["fields"]) or params != sorted(config["params"]):
        raise SurrogateError(f"{data} has inputs {fields} and params {params}; the model takes "
                             f"{config['fields']} and {config['params']}")
    if len(store.grid) != len(config["grid"]):
        raise SurrogateError(f"{data} is {len(store.grid)}-D (grid {list(store.grid)}); the "
                             f"model is {len(config['grid'])}-D")
    identity = store_identity(store)
    # the same samples at the same or another grid (a ladder's rungs): hold out the same ones
    if {**identity, "grid": None} == {**trained, "grid": None}:
        split = split_positions(store, tuple(config["fractions"]), config["seed"])
        return split["test"], ("test split of the training store" if identity == trained
                               else "test split of the training samples at another grid")
    return np.flatnonzero(store.done_mask()), "every done sample of another store"


def _resample(field: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
    """The training-mean solution on another grid (linear interpolation), as (1, 1, *grid)."""
    field = field.reshape(1, 1, *field.shape[-len(grid):])
    if tuple(field.shape[2:]) == tuple(grid):
        return field
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(grid)]
    return F.interpolate(field, size=grid, mode=mode, align_corners=True)


def _contrast(dataset: ZarrFieldDataset) -> list[dict[str, float]]:
    """Per sample: max/min of the coefficient (or first input field) and its std/mean.

    A thresholded coefficient has one max/min for every sample (12/3), so the spread of
    the coefficient (std/mean, i.e. how much of each phase) is reported beside it.
    """
    if not dataset.fields:
        return [{} for _ in range(len(dataset))]
    name = "coefficient" if "coefficient" in dataset.fields else dataset.fields[0]
    channel = dataset.fields.index(name)
    rows = []
    for i in range(len(dataset)):
        a = dataset[i]["x"][channel].double()
        low = float(a.min())
        rows.append({"contrast": float(a.max()) / low if low > 0 else None,
                     "spread": float(a.std() / a.mean().abs().clamp_min(1e-300))})
    return rows
