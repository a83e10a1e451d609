"""Held-out evaluation: relative L2/H1 errors on the test split, figures, metrics.json.

Figures use matplotlib's object API (no pyplot), so no GUI backend is ever touched.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.utils.data import DataLoader

from storage._torch import ZarrFieldDataset

from ._surrogate import Surrogate, load
from .checkpoint import load_checkpoint
from .training import make_loss

__all__ = ["evaluate", "plot_samples", "plot_training_curve"]


def evaluate(
    model_dir: str | os.PathLike,
    data: str | None = None,
    out: str | os.PathLike | None = None,
    *,
    device: str = "auto",
    batch_size: int = 32,
) -> dict[str, Any]:
    """Errors on the test split recorded at training time (``data`` defaults to the training store).

    Also reports the error of predicting the training-mean solution, the baseline
    a useful surrogate must beat. Writes metrics.json and PNGs into ``out``
    (default ``model_dir``).
    """
    state = load_checkpoint(model_dir)
    config = state["config"]
    out = Path(out if out is not None else model_dir)
    out.mkdir(parents=True, exist_ok=True)
    surrogate = load(model_dir, device=device)
    test_set = ZarrFieldDataset(
        data or config["data"], state["split"]["test"].numpy(), config["fields"], config["params"]
    )
    if not len(test_set):
        raise ValueError("the test split is empty; train on more samples")
    l2, h1 = make_loss("l2", len(config["grid"])), make_loss("h1", len(config["grid"]))
    baseline = state["mean_solution"][None].to(surrogate.device)
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
    order = np.argsort(errors)
    shown = sorted({int(order[0]), int(order[len(order) // 2]), int(order[-1])})
    figures = {
        "samples": str(plot_samples(surrogate, test_set, shown, errors, out / "samples.png")),
        "training_curve": str(plot_training_curve(state["history"], out / "training_curve.png")),
    }
    metrics = {
        "n_test": len(test_set),
        "rel_l2_mean": float(errors.mean()),
        "rel_l2_median": float(np.median(errors)),
        "rel_l2_worst": float(errors.max()),
        "worst_position": int(test_set.positions[order[-1]]),
        "rel_h1_mean": float(np.mean(rows["rel_h1"])),
        "baseline_rel_l2_mean": float(np.mean(rows["baseline_rel_l2"])),
        "inference_seconds_per_sample": seconds / len(test_set),
        "epochs": state["epoch"],
        "train_seconds": float(sum(state["history"]["seconds"])),
        "device": str(surrogate.device),
        "per_sample": [
            {"position": int(p), "rel_l2": a, "rel_h1": b}
            for p, a, b in zip(test_set.positions, rows["rel_l2"], rows["rel_h1"], strict=True)
        ],
        "figures": figures,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def plot_samples(
    surrogate: Surrogate,
    dataset: ZarrFieldDataset,
    indices: list[int],
    errors: np.ndarray,
    path: Path,
) -> Path:
    """Rows of input / truth / prediction / |error|; 3-D fields show their middle z-slice."""
    fig = Figure(figsize=(13, 3.2 * len(indices)), layout="tight")
    axes = fig.subplots(len(indices), 4, squeeze=False)
    for row, index in zip(axes, indices, strict=True):
        sample = dataset[index]
        x, y = sample["x"].numpy(), sample["y"][0].numpy()
        pred = surrogate.predict(x)
        label = dataset.fields[0] if dataset.fields else dataset.params[0]
        panels = [(x[0], f"input: {label}"), (y, "truth"), (pred, "prediction"),
                  (np.abs(pred - y), f"|error| (rel L2 {errors[index]:.3g})")]
        for ax, (image, title) in zip(row, panels, strict=True):
            shown = ax.imshow(_slice(image), origin="lower", cmap="viridis")
            ax.set_title(f"{title}\nsample {int(dataset.positions[index])}", fontsize=9)
            ax.set_axis_off()
            fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.savefig(path, dpi=110)
    return path


def plot_training_curve(history: dict[str, list[float]], path: Path) -> Path:
    """Training loss and validation relative L2 per epoch, log scale."""
    fig = Figure(figsize=(5.5, 3.5), layout="tight")
    ax = fig.subplots()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax.semilogy(epochs, history["train_loss"], marker="o", label="train loss")
    ax.semilogy(epochs, history["val_rel_l2"], marker="s", label="validation rel. L2")
    ax.set_xlabel("epoch")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=110)
    return path


def _slice(image: np.ndarray) -> np.ndarray:
    return image[..., image.shape[-1] // 2] if image.ndim == 3 else image
