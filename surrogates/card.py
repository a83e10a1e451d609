"""Dataset cards: a Markdown card beside a store and training-split statistics in its attrs.

The card is a file next to the store (``darcy.zarr`` -> ``darcy.card.md``), not inside it:
zarr readers (xarray) take every key of a store for a node of its hierarchy.

The statistics (mean, std, rms of every input field, param and the solution) are over the
training split only, and the split is the seed-derived rule of `storage._torch.split_indices`,
so a surrogate trained elsewhere normalises with the same numbers and holds out the same
samples as `pdeforge train`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import fsspec
import numpy as np
import zarr

import storage
from storage import SPLITS, split_positions

from .recipe import TRAIN_DEFAULTS

__all__ = ["CARD_ATTR", "card_path", "write_card", "training_stats"]

CARD_ATTR = "training_stats"


def training_stats(store: Any, positions: np.ndarray) -> dict[str, dict[str, float]]:
    """mean/std/rms per input field, param and the solution over ``positions`` (float64 sums)."""
    sums: dict[str, np.ndarray] = {}
    for name, values in _columns(store, np.sort(positions)):
        values = values.astype(np.float64)
        sums[name] = sums.get(name, np.zeros(3)) + (values.size, values.sum(),
                                                    np.square(values).sum())
    stats = {}
    for name, (count, total, squares) in sums.items():
        mean, mean_sq = total / count, squares / count
        stats[name] = {"mean": float(mean), "std": float(np.sqrt(max(mean_sq - mean**2, 0.0))),
                       "rms": float(np.sqrt(mean_sq)), "values": int(count)}
    return stats


def write_card(
    source: str | os.PathLike,
    fractions: tuple[float, float, float] | list[float] = tuple(TRAIN_DEFAULTS["fractions"]),
    seed: int = TRAIN_DEFAULTS["seed"],
) -> dict[str, Any]:
    """Write the card beside the store (``card_path``) and the ``training_stats`` attribute
    into it; returns the attribute. No array of the store is touched."""
    url = str(source)
    store = storage.open_dataset(url)
    split = split_positions(store, tuple(fractions), seed)
    card = {
        "split": {"rule": "u(seed, store seed, source_index) < cumulative fractions, "
                          "u = splitmix64 hash (storage._torch.split_indices)",
                  "fractions": list(fractions), "seed": seed,
                  "store_seed": int(store.attrs.get("seed") or 0),
                  "counts": {name: len(split[name]) for name in SPLITS}},
        "stats": training_stats(store, split["train"]),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    zarr.open_group(store=url, mode="r+", zarr_format=3).attrs[CARD_ATTR] = card
    with fsspec.open(card_path(url), "w") as handle:
        handle.write(_markdown(url, store, card))
    return card


def card_path(url: str) -> str:
    """Where a store's card goes: ``<store without .zarr>.card.md`` beside it."""
    base = url.rstrip("/")
    return base.removesuffix(".zarr") + ".card.md"


def _columns(store: Any, positions: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """(name, values of ``positions``) chunk by chunk, for every input, param and solution."""
    chunk = store.chunk
    arrays = {**{f"inputs/{k}": v for k, v in store.inputs.items()},
              **{f"params/{k}": v for k, v in store.params.items()}, "solution": store.solution}
    for chunk_id in np.unique(positions // chunk):
        rows = positions[positions // chunk == chunk_id] - chunk_id * chunk
        block = slice(chunk_id * chunk, (chunk_id + 1) * chunk)
        for name, array in arrays.items():
            yield name, np.asarray(array[block])[rows]


def _markdown(url: str, store: Any, card: dict[str, Any]) -> str:
    attrs, summary = store.attrs, store.summary()
    grid = "x".join(map(str, store.grid))
    lines = [
        f"# {os.path.basename(url.rstrip('/'))}: pdeforge dataset card", "",
        f"Family **{attrs.get('family')}** on a {grid} grid (unit square/cube, interior "
        f"unknowns, spacing {attrs.get('spacing')}), {summary['n']} samples: "
        f"{summary['done']} done, {summary['failed']} failed, {summary['pending']} pending.",
        "",
        "| property | value |", "| --- | --- |",
        *(f"| {key} | {_cell(attrs.get(key))} |" for key in (
            "family_options", "seed", "solver", "solver_options", "tolerance", "order_method",
            "created", "git_revision", "pdeforge_version")),
        f"| true relative residual, max / median | {_cell(summary['residual_max'])} / "
        f"{_cell(summary['residual_median'])} |",
        f"| inputs (surrogate channels) | {', '.join(sorted(store.inputs))} |",
        f"| params (constant channels) | {', '.join(sorted(store.params)) or '-'} |",
        "",
        "## Split",
        "",
        f"Seed-derived, never positional: a sample (store seed {card['split']['store_seed']}, "
        f"source_index i) is train if u < {card['split']['fractions'][0]}, val if "
        f"u < {sum(card['split']['fractions'][:2]):g}, else test, where u is the splitmix64 "
        f"hash of (split seed {card['split']['seed']}, store seed, i) scaled to [0, 1) "
        "(`storage._torch.split_indices`). Counts: "
        + ", ".join(f"{k} {v}" for k, v in card["split"]["counts"].items()) + ".",
        "",
        "## Statistics over the training split",
        "",
        "| array | mean | std | rms |", "| --- | --- | --- | --- |",
        *(f"| {name} | {s['mean']:.6g} | {s['std']:.6g} | {s['rms']:.6g} |"
          for name, s in card["stats"].items()),
        "",
        f"Also in the store's attributes as `{CARD_ATTR}`.",
        "",
        "## Loading",
        "",
        "```python",
        "import storage                       # pdeforge",
        f"ds = storage.open_dataset({url!r})",
        "ds.inputs['coefficient'], ds.solution, ds.params, ds.status  # zarr arrays",
        "```",
        f"`pdeforge export {url} --format pdebench OUT.h5` writes PDEBench's Darcy HDF5 layout; "
        "`pdeforge train --data` trains a neural operator on the same split.",
    ]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "-" if value is None else str(value).replace("|", "\\|")
