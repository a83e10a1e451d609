"""Export a 2-D store in PDEBench's Darcy HDF5 layout, so PDEBench-style loaders train on it.

PDEBench's ``2D_DarcyFlow_*.hdf5`` holds ``tensor`` (N, 1, X, Y), the solution; ``nu``
(N, X, Y), the coefficient; ``x-coordinate`` (X,) and ``y-coordinate`` (Y,); attribute
``beta``, the constant forcing. pdeforge adds what that layout has no place for, under names
PDEBench's loader ignores: every other input field and param by its own name, each sample's
``source_index`` and ``split`` (0 train, 1 val, 2 test: the seeded rule of the dataset card),
and the store's attrs as JSON in ``attrs["pdeforge"]``. Only done samples are exported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import storage
from storage import SPLITS, atomic_path, split_positions

from .errors import SurrogateError
from .recipe import TRAIN_DEFAULTS

__all__ = ["FORMATS", "export_pdebench"]

FORMATS = ("pdebench",)


def export_pdebench(
    url: str,
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    fractions: tuple[float, float, float] | list[float] = tuple(TRAIN_DEFAULTS["fractions"]),
    split_seed: int = TRAIN_DEFAULTS["seed"],
) -> int:
    """Write the done samples of the store at ``url`` to ``out``; returns how many.

    The file is written beside ``out`` and renamed into place, so a failed export leaves
    nothing behind. ``nu`` is the input field ``coefficient``, or the store's only field.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise SurrogateError(f"{out} exists (pass --overwrite to replace it)")
    dataset = storage.open_dataset(url)
    if len(dataset.grid) != 2:
        raise SurrogateError(f"the PDEBench Darcy layout is 2-D; {url} has grid {dataset.grid}")
    fields = list(dataset.inputs)
    nu = "coefficient" if "coefficient" in fields else (fields[0] if len(fields) == 1 else None)
    if nu is None:
        raise SurrogateError(f"{url} has input fields {fields} and none is 'coefficient'")
    parts = split_positions(dataset, tuple(fractions), split_seed)
    positions = np.sort(np.concatenate([parts[name] for name in SPLITS]))
    split = np.zeros(len(dataset), np.uint8)
    for code, name in enumerate(SPLITS):
        split[parts[name]] = code
    arrays = {"tensor": dataset.solution, "nu": dataset.inputs[nu],
              **{name: dataset.inputs[name] for name in fields if name != nu},
              **dict(dataset.params)}
    with atomic_path(out) as partial:
        _write(partial, dataset, arrays, positions, split[positions])
    return len(positions)


def _write(path: Path, dataset: Any, arrays: dict[str, Any], positions: np.ndarray,
           split: np.ndarray) -> None:
    """The HDF5 file: arrays copied chunk by chunk in store order, then coordinates."""
    attrs = dataset.attrs
    with h5py.File(path, "w") as handle:
        for name, array in arrays.items():
            shape = (len(positions), *((1,) if name == "tensor" else ()), *array.shape[1:])
            target = handle.create_dataset(name, shape, dtype=np.float32)
            for start in range(0, len(dataset), dataset.chunk):
                rows = positions[(positions >= start) & (positions < start + dataset.chunk)]
                if len(rows):  # positions are sorted: a chunk's rows are one run of the file
                    block = np.asarray(array[start : start + dataset.chunk])[rows - start]
                    first = int(np.searchsorted(positions, rows[0]))
                    target[first : first + len(rows)] = block.reshape(
                        (len(rows), *shape[1:])).astype(np.float32)
        spacing = attrs.get("spacing") or [1.0 / (s + 1) for s in dataset.grid]
        for axis, name in enumerate(("x-coordinate", "y-coordinate")):  # interior unknowns
            handle.create_dataset(name, data=(np.arange(dataset.grid[axis]) + 1) * spacing[axis])
        handle.create_dataset("source_index", data=np.asarray(dataset.source_index[:])[positions])
        handle.create_dataset("split", data=split)
        forcing = (attrs.get("family_options") or {}).get("forcing", 1.0)  # darcy's default
        if attrs.get("family") == "darcy" and isinstance(forcing, int | float):
            handle.attrs["beta"] = float(forcing)
        handle.attrs["pdeforge"] = json.dumps(attrs)
        handle.attrs["split_names"] = json.dumps(list(SPLITS))
