"""Resolution ladders: one store, one complete dataset (group) per resolution.

The root group holds only attrs: the ladder's grids, its rungs' group names and the
identity they share (family, seed, family options; each rung records its own n, which
``--extend`` grows). Each rung ``<store>/<name>`` is an
ordinary pdeforge dataset, so every reader (``open_dataset``, train, evaluate, export)
takes a rung's path as it takes any store's; the samples of all rungs share identities
(seed, source index), so a split by identity holds the same samples out at every rung.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import zarr
import zarr.errors

from ._errors import StorageError
from ._schema import to_json
from ._stores import create_root, exists, open_root

__all__ = ["LADDER", "create_ladder", "ladder_rung", "ladder_rungs", "rung_name"]

LADDER = "resolution_ladder"  # root attr: {"grids": [...], "rungs": [...]}


def rung_name(grid: Sequence[int]) -> str:
    """The group of a grid: "64" for 64x64 (or 64^3), "64x32" when the axes differ."""
    return str(grid[0]) if len(set(grid)) == 1 else "x".join(map(str, grid))


def ladder_rungs(url: str) -> dict[str, str] | None:
    """Rung name -> rung URL (coarse to fine) of the ladder at ``url``; None when ``url``
    holds no ladder (a single dataset, or nothing)."""
    try:
        attrs = open_root(url, "r").attrs.asdict()
    except StorageError:
        return None
    if LADDER not in attrs:
        return None
    return {name: f"{url.rstrip('/')}/{name}" for name in attrs[LADDER]["rungs"]}


def ladder_rung(url: str, resolution: str) -> str:
    """The URL of rung ``resolution`` ("64" or "64x32") of the ladder at ``url``."""
    rungs = ladder_rungs(url)
    if rungs is None:
        raise StorageError(f"{url} is not a resolution ladder (no rung {resolution!r})")
    if str(resolution) not in rungs:
        raise StorageError(f"{url} has no resolution {resolution!r}; its rungs: "
                           f"{', '.join(rungs)}")
    return rungs[str(resolution)]


def create_ladder(url: str, grids: Sequence[Sequence[int]], attrs: Mapping[str, Any]
                  ) -> dict[str, str]:
    """Create the ladder's root (or reopen it to resume); its rungs' URLs. A store at
    ``url`` made for other grids or another identity raises StorageError, untouched."""
    requested = to_json({**attrs, LADDER: {"grids": [list(g) for g in grids],
                                           "rungs": [rung_name(g) for g in grids]}})
    if exists(url):
        try:
            stored = open_root(url, "r").attrs.asdict()
        except StorageError:
            stored = {}
        if LADDER not in stored:
            raise StorageError(f"{url} already holds data that is not a resolution ladder")
        for key, value in requested.items():
            if key in stored and stored[key] != value:
                raise StorageError(f"store {url} was made for {key} {stored[key]!r}, "
                                   f"not {value!r}")
    else:
        try:
            create_root(url).attrs.update(requested)
        except (zarr.errors.BaseZarrError, OSError) as exc:
            raise StorageError(f"cannot create {url}: {exc}") from exc
    return ladder_rungs(url)
