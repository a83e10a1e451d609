"""A grown store refreshes its surrogate: the last checkpoint fine-tunes on the grown store.

A store grown by ``generate --extend`` (or ``serve --grow``) keeps every identity attr but
``n``. Its split comes from the sample-identity hash, so the earlier samples keep their
parts (the test set of the earlier samples stays the test set) and the new ones join
train, validation or test by the same rule. Each growth appends to the checkpoint's
history: the sizes, the epoch, and the test error just before and just after fine-tuning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from storage import ZarrFieldDataset, split_positions

from .checkpoint import store_identity

__all__ = ["adopt_growth", "is_growth"]


def is_growth(saved: dict[str, Any] | None, given: dict[str, Any]) -> bool:
    """Whether store identity ``given`` is the checkpoint's store ``saved`` grown."""
    if saved is None or saved == given:
        return False
    same = {**saved, "n": None} == {**given, "n": None}
    return same and int(given["n"]) > int(saved["n"])


def adopt_growth(state: dict[str, Any], data: str) -> dict[str, Any]:
    """The checkpoint state moved onto the grown store ``data``: the identity split of every
    done sample, the new store identity, a growth record; the best-on-validation weights
    are chosen anew (the validation set changed). Returns the growth record."""
    config = state["config"]
    store = ZarrFieldDataset(data).store
    split = split_positions(store, tuple(config["fractions"]), config["seed"])
    growth = {"n_before": int(config["store"]["n"]), "n_after": len(store),
              "epoch": int(state["epoch"]), "n_train": len(split["train"]),
              "n_test": len(split["test"])}
    state["split"] = {name: torch.from_numpy(np.asarray(p)) for name, p in split.items()}
    config["store"] = store_identity(store)
    state.pop("best", None)
    state["spent_seconds"] = 0.0  # a time budget counts the fine-tuning
    state["history"].setdefault("growths", []).append(growth)
    return growth
