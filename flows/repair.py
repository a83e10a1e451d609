"""``pdeforge verify --repair``: regenerate every damaged sample with the store's own spec.

Under the writer lock: metadata rebuilt from the identity, chunks that do not decode
rewritten whole, the damaged samples marked pending, then only the pending positions
solved again (each run of them one ``solve_block`` task, as ``generate`` writes), so
every sample that was not damaged keeps its bytes. A repair killed midway leaves pending
samples: the next repair (or a ``generate`` resume) solves them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prefect import flow

import storage

from ._api import shared_prefect_api
from .generate import finalize, solve_block
from .runners import runner_label, task_runner_for
from .spec import GenerateSpec
from .verify import intact, store_spec, verify

__all__ = ["recover_order", "regenerate", "repair_store", "run_verify"]


@flow(name="pdeforge-repair", log_prints=False)
def regenerate(spec: GenerateSpec, runs: list[tuple[int, int]]) -> dict[str, Any]:
    """Solve the positions [a, b) of each run again and write them; record the run."""
    started, clock = datetime.now(UTC), time.perf_counter()
    order = storage.open_dataset(spec.out).source_index[:].tolist()
    futures = [solve_block.submit(spec, a, order[a:b]) for a, b in runs]
    reports = [future.result() for future in futures]
    run = {"started": started.isoformat(timespec="seconds"),
           "seconds": time.perf_counter() - clock, "solver": spec.solver,
           "task_runner": runner_label(spec), "repair": True}
    return finalize(spec, reports, run)


def recover_order(spec: GenerateSpec, report: storage.VerifyReport) -> None:
    """Write back the damaged chunks of ``source_index``: the order generate computed, from
    the samples' features (each run of positions, the first one and each extension, ordered
    on its own), accepted only where it reproduces every intact chunk."""
    import solvers

    lost = sorted({f.chunk for f in report.findings
                   if f.path == "source_index" and f.chunk is not None})
    if not lost:
        return
    dataset = storage.open_dataset(spec.out, "r+")
    stored, intact_ok = intact(dataset.source_index)
    extensions = dataset.attrs.get("extensions", [])
    bounds = [0, *(e["from"] for e in extensions), len(dataset)]
    family, order = spec.family_object(), []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        if spec.order == "none" or stop - start == 1:
            order += range(start, stop)
            continue
        features = np.stack([family.features(i, spec.seed) for i in range(start, stop)])
        order += [start + int(i) for i in solvers.order(features, method=spec.order)]
    order = np.asarray(order, dtype=np.int64)
    for index in lost:
        intact_ok[dataset.source_index.samples_of(index).start:
                  dataset.source_index.samples_of(index).stop] = False
    if not np.array_equal(order[intact_ok], stored[intact_ok]):
        raise storage.StorageError(
            f"{spec.out}/source_index: the damaged chunks {lost} cannot be recovered (the "
            "order computed again differs from the intact chunks); regenerate the store")
    for index in lost:
        samples = dataset.source_index.samples_of(index)
        dataset.source_index[samples.start:samples.stop] = order[samples.start:samples.stop]


def repair_store(url: str, residuals: bool = False
                 ) -> tuple[storage.VerifyReport, dict[str, Any], storage.VerifyReport]:
    """(the damage found, what was done, the store checked again afterwards)."""
    with storage.writer_lock(url):
        storage.remove_partial_writes(url)
        before = verify(url, residuals)
        actions: dict[str, Any] = {"metadata": storage.rebuild_metadata(url, before)}
        report = verify(url, residuals) if actions["metadata"] else before
        actions["chunks"] = storage.rewrite_broken_chunks(url, report)
        owed = storage.mark_pending(url, report.damaged())
        actions["regenerated"] = len(owed)
        if len(owed):
            spec = store_spec(url)
            recover_order(spec, report)
            runs = storage.contiguous_runs(owed, spec.chunk)
            with shared_prefect_api():
                regenerate.with_options(task_runner=task_runner_for(spec))(spec, runs)
            storage.finish_repair(url)
        return before, actions, verify(url, residuals)


def run_verify(url: str, *, repair: bool, residuals: bool,
               echo: Callable[[str], None] = print) -> int:
    """What `pdeforge verify` prints and its exit code: 0 clean, 1 damaged."""
    if not repair:
        report = verify(url, residuals)
        echo("\n".join(report.lines()))
        if not report.clean:
            echo(f"to regenerate the damaged samples: pdeforge verify --repair {url}")
        return 0 if report.clean else 1
    before, actions, after = repair_store(url, residuals)
    echo("\n".join(before.lines()))
    echo(f"repair: {len(actions['metadata'])} metadata files rebuilt, "
         f"{len(actions['chunks'])} chunks rewritten, {actions['regenerated']} samples "
         "regenerated; checked again:")
    echo("\n".join(after.lines()))
    return 0 if after.clean else 1
