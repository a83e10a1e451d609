"""Grow a dataset along ``sample``: new pending positions after the stored ones.

Only each array's metadata changes (zarr ``resize``); no stored chunk is rewritten, so
every earlier sample keeps its bytes. The growth is marked in the attrs first and the new
``n`` is written last (one attrs write that also drops the mark): a growth cut short is
refused on open (InterruptedGrowth) and finished by growing again to the same size.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from ._dataset import Dataset, open_dataset
from ._errors import StorageError
from ._schema import GROWING, all_arrays, collect_layout
from ._stores import open_root

__all__ = ["grow_dataset"]


def grow_dataset(url: str, new_source_index: np.ndarray) -> Dataset:
    """Append ``len(new_source_index)`` pending positions to the dataset at ``url`` for the
    samples ``new_source_index`` (same identity otherwise); returns it reopened."""
    root = open_root(url, "r+")
    attrs = root.attrs.asdict()
    layout = collect_layout(root, attrs, url)
    old = int(attrs["n"])
    new = old + len(new_source_index)
    if attrs.get(GROWING, new) != new:
        raise StorageError(f"{url} holds {old} samples growing to {attrs[GROWING]}; it cannot "
                           f"grow to {new}")
    if new == old:
        return open_dataset(url, "r+")
    root.attrs[GROWING] = new
    for _, array in all_arrays(layout):
        array.resize((new, *array.shape[1:]))
    layout.source_index[old:new] = new_source_index
    grown = {key: value for key, value in attrs.items() if key != GROWING}
    grown["n"] = new
    grown["extensions"] = [*attrs.get("extensions", []), {
        "from": old, "to": new, "at": datetime.now(UTC).isoformat(timespec="seconds")}]
    root.attrs.put(grown)
    return open_dataset(url, "r+")
