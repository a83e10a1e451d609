"""Resolution ladders: every sample at every grid of ``--grid 64,128,256`` into one store.

Each rung is an ordinary generate run into ``<store>/<rung>`` (resumable, locked, verified);
the rungs share the family, seed, n and options, so sample i has the same random inputs at
every resolution as long as the family draws them resolution-independently: series in the
coordinates (poisson, heat), or the GRF drawn by wavenumber (darcy and helmholtz with
``grf_modes``, which the ladder sets to the finest grid's Nyquist number unless given).
A family whose ``resolution_independent`` property is False (obstacles' GRF solids) is
refused; a family without the property is taken at its word.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import storage

from .spec import GenerateSpec, SpecError

__all__ = ["evaluate_ladder", "ladder_specs", "run_ladder"]


def ladder_specs(spec: GenerateSpec, grids: list[list[int]]) -> list[GenerateSpec]:
    """One validated generate spec per rung, coarse to fine (bad input before any work)."""
    if len({len(g) for g in grids}) > 1:
        raise SpecError(f"--grid ladder rungs must have one number of axes, got {grids}")
    grids = sorted(grids, key=lambda g: (min(g), g))
    names = [storage.rung_name(g) for g in grids]
    if len(set(names)) < len(names):
        raise SpecError(f"--grid ladder lists a resolution twice: {', '.join(names)}")
    if storage.ladder_rungs(spec.out) is None and storage.existing_dataset(spec.out, {}):
        raise SpecError(f"{spec.out} holds one dataset, not a resolution ladder")
    options = dict(spec.family_options)
    family = dataclasses.replace(spec, grid=grids[-1]).family_object()
    if "grf_modes" in family.options() and not options.get("grf_modes"):
        options["grf_modes"] = min(grids[-1]) // 2  # one field, sampled at every rung
    rungs = [dataclasses.replace(spec, grid=list(g), family_options=options,
                                 out=f"{spec.out.rstrip('/')}/{name}").validate()
             for g, name in zip(grids, names, strict=True)]
    if not getattr(rungs[0].family_object(), "resolution_independent", True):
        raise SpecError(f"{spec.family} with these options draws its inputs on each grid, so "
                        "the rungs of a ladder would not share them")
    return rungs


def run_ladder(spec: GenerateSpec, grids: list[list[int]], progress: bool = True
               ) -> list[dict[str, Any]]:
    """Generate every rung (coarse to fine) under the root's writer lock; their summaries."""
    from ._api import shared_prefect_api
    from .generate import run_generate

    rungs = ladder_specs(spec, grids)
    identity = {k: v for k, v in rungs[0].identity().items() if k not in ("grid", "n")}
    with storage.writer_lock(spec.out):
        storage.create_ladder(spec.out, [r.grid for r in rungs], identity)  # or refuse
        with shared_prefect_api():
            return [run_generate(rung, progress=progress) for rung in rungs]


def evaluate_ladder(model_dir: str, data: str, out: str | None = None) -> list[dict[str, Any]]:
    """The model's errors at every rung of a ladder (zero-shot super-resolution on the same
    inputs): one metrics.json per rung under ``out``, the table in ``out/ladder.json``."""
    import json

    from .pipeline import evaluate_flow

    out_dir = Path(out if out is not None else model_dir)
    rows = []
    for name, url in storage.ladder_rungs(data).items():
        metrics = evaluate_flow(model_dir, url, str(out_dir / f"rung-{name}"))
        rows.append({"resolution": name, **{k: metrics[k] for k in (
            "grid", "trained_grid", "scope", "n_test", "rel_l2_mean", "rel_l2_worst",
            "rel_h1_mean", "baseline_rel_l2_mean")}})
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ladder.json").write_text(json.dumps(rows, indent=2))
    return rows
