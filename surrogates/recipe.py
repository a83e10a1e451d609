"""Training recipes: the measured defaults, recipe files (TOML, or YAML), and their merging.

A recipe is a flat dict of `surrogates.train` keyword arguments, with the architecture's
options in ``model_options``. Precedence, lowest first: the defaults for the data's grid,
a recipe file, explicit arguments, ``-m key=value`` model options.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import SurrogateError

__all__ = ["TRAIN_DEFAULTS", "default_model_options", "load_recipe", "merge_recipes"]

# How these were chosen: docs/benchmarks.md, "Surrogate recipes" (equal-budget runs, Darcy 64x64).
TRAIN_DEFAULTS: dict[str, Any] = {
    "model": "fno", "model_options": {}, "epochs": None, "max_minutes": None,
    "batch_size": 16, "lr": 3e-3, "weight_decay": 1e-4, "loss": "l2", "schedule": "cosine",
    "augment": "d4", "coarsen": 0.0, "fractions": [0.9, 0.05, 0.05], "seed": 0,
    "amp": False,
}
# epochs when neither epochs nor a time budget is given
DEFAULT_EPOCHS = 50


def default_model_options(model: str, grid: tuple[int, ...]) -> dict[str, Any]:
    """The measured best options at 64x64, with the modes scaled to other grids.

    ``n_modes`` is a quarter of the grid per axis (16 at 64: 0.0178 against 0.0196 for 24 in
    equal 5-minute runs), never fewer than 12 (``make run``'s measured 32x32 setting) nor
    more than the grid.
    """
    modes = min(min(grid), max(12, round(min(grid) / 4)))
    options: dict[str, Any] = {"n_modes": modes, "hidden_channels": 32}
    if model in ("fno", "tfno"):
        options["n_layers"] = 4
    return options


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """Read a recipe file: TOML (``.toml``), or YAML (``.yaml``/``.yml``, needs PyYAML).

    Top-level keys are `surrogates.train` arguments; ``[model_options]`` holds the
    architecture's. Unknown keys are bad input, so a typo never trains silently with a default.
    """
    path = Path(path)
    if not path.is_file():
        raise SurrogateError(f"no recipe file at {path}")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            recipe = yaml.safe_load(path.read_text()) or {}
        else:
            recipe = tomllib.loads(path.read_text())
    except Exception as exc:  # noqa: BLE001 - any parse error of the user's file is bad input
        raise SurrogateError(f"cannot read recipe {path}: {exc}") from None
    if not isinstance(recipe, dict):
        raise SurrogateError(f"recipe {path} must be a table of options")
    unknown = sorted(set(recipe) - set(TRAIN_DEFAULTS))
    if unknown:
        raise SurrogateError(f"recipe {path}: unknown keys {unknown}; known: "
                             f"{sorted(TRAIN_DEFAULTS)}")
    if not isinstance(recipe.get("model_options", {}), dict):
        raise SurrogateError(f"recipe {path}: model_options must be a table")
    return recipe


def merge_recipes(*recipes: Mapping[str, Any]) -> dict[str, Any]:
    """Later recipes win; ``model_options`` merge key by key; None values mean "not given"."""
    merged: dict[str, Any] = {}
    for recipe in recipes:
        for key, value in recipe.items():
            if key == "model_options":
                merged["model_options"] = {**merged.get("model_options", {}), **(value or {})}
            elif value is not None:
                merged[key] = value
    return merged
