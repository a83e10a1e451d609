"""Evaluation figures. matplotlib's object API (no pyplot), so no GUI backend is touched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from storage import ZarrFieldDataset

from ._surrogate import Surrogate

__all__ = ["plot_error_vs_contrast", "plot_samples", "plot_training_curve"]


def plot_samples(
    surrogate: Surrogate,
    dataset: ZarrFieldDataset,
    rows: Mapping[str, int],
    errors: np.ndarray,
    path: Path,
) -> Path:
    """One row per named sample (best, median, worst: name -> dataset index) of input /
    truth / prediction / |error|; 3-D fields show their middle z-slice."""
    fig = Figure(figsize=(13, 3.2 * len(rows)), layout="tight")
    axes = fig.subplots(len(rows), 4, squeeze=False)
    for row, (name, index) in zip(axes, rows.items(), strict=True):
        sample = dataset[index]
        x, y = sample["x"].numpy(), sample["y"][0].numpy()
        pred = surrogate.predict(x)
        label = dataset.fields[0] if dataset.fields else dataset.params[0]
        panels = [(x[0], f"{name}: input {label}"), (y, "truth"), (pred, "prediction"),
                  (np.abs(pred - y), f"|error| (rel L2 {errors[index]:.3g})")]
        for ax, (image, title) in zip(row, panels, strict=True):
            shown = ax.imshow(_slice(image), origin="lower", cmap="viridis")
            ax.set_title(f"{title}\nsample {int(dataset.positions[index])}", fontsize=9)
            ax.set_axis_off()
            fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.savefig(path, dpi=110)
    return path


def plot_training_curve(history: Mapping[str, Sequence[float]], path: Path) -> Path:
    """Training loss and validation relative L2 per epoch, log scale."""
    fig = Figure(figsize=(5.5, 3.5), layout="tight")
    ax = fig.subplots()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax.semilogy(epochs, history["train_loss"], marker="o", label="train loss")
    ax.semilogy(epochs, history["val_rel_l2"], marker="s", label="validation rel. L2")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative L2 (train loss: the recipe's loss)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=110)
    return path


def plot_error_vs_contrast(contrast: Sequence[Mapping[str, float]], errors: np.ndarray,
                           path: Path) -> Path:
    """Relative L2 per sample against its coefficient's max/min contrast and its spread
    (std/mean): where the surrogate struggles."""
    keys = [("contrast", "coefficient max/min"), ("spread", "coefficient std/mean")]
    fig = Figure(figsize=(10, 3.6), layout="tight")
    for ax, (key, label) in zip(fig.subplots(1, 2, squeeze=False)[0], keys, strict=True):
        values = np.asarray([row.get(key) or np.nan for row in contrast], dtype=float)
        ax.scatter(values, errors, s=12, alpha=0.7)
        ax.set_xlabel(label)
        ax.set_ylabel("relative L2")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=110)
    return path


def _slice(image: np.ndarray) -> np.ndarray:
    return image[..., image.shape[-1] // 2] if image.ndim == 3 else image
