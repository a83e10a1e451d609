"""The integrity case: what `pdeforge verify` costs, and what the chunk checksums cost.

On a store the generate flow writes (darcy 64x64, n samples): verify's read rate (stored
GB/s) against what `pdeforge info` reads (status and stats) and against plain zarr reads
of every array; samples/s with --residuals; and generate's block writes with and without
the CRC32C codec (the same blocks, the best of three), as a share of generate's time.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from .cases import Case, bench_row

__all__ = ["SOLVER", "run_integrity_case"]

SOLVER = "petsc:cg+icc"
REPEATS = 3


def run_integrity_case(case: Case, suite: str, out: Path, only: list[str] | None = None
                      ) -> list[dict[str, Any]]:
    import storage
    from flows import GenerateSpec, run_generate
    from flows.verify import verify

    store = Path(out) / f"{case.name}.zarr"
    shutil.rmtree(store, ignore_errors=True)
    spec = GenerateSpec(family=case.family, grid=list(case.grid), n=case.n, tol=case.tol,
                        solver=SOLVER, out=str(store))
    start = time.perf_counter()
    summary = run_generate(spec.validate(), progress=False)
    generate_seconds = time.perf_counter() - start
    url = str(store)

    def row(label: str, seconds: float, clean: bool = True, **extra: Any) -> dict[str, Any]:
        return bench_row(case, suite, label, ms_per_sample=1e3 * seconds / case.n,
                         iterations_mean=summary["iterations_mean"],
                         max_residual=summary["residual_max"], converged_all=clean,
                         device="cpu", extra={"seconds": seconds, **extra})

    report = _best(lambda: storage.verify_store(url))
    info_seconds, info_bytes = _best_seconds(lambda: storage.open_dataset(url).summary()), \
        _stored_bytes(store, ("status", "stats/residual", "stats/iterations"))
    read_seconds = _best_seconds(lambda: _read_everything(url))
    residuals = verify(url, residuals=True)
    writes = _write_seconds(url, Path(out))
    extra_write = writes[True] - writes[False]
    shutil.rmtree(store, ignore_errors=True)
    return [
        row("verify (every chunk)", report.seconds, report.clean,
            stored_gb_per_s=report.bytes_read / 1e9 / report.seconds,
            stored_bytes=report.bytes_read, chunks=report.chunks_read),
        row("info (status + stats)", info_seconds,
            stored_gb_per_s=info_bytes / 1e9 / info_seconds, stored_bytes=info_bytes),
        row("zarr read of every array", read_seconds,
            stored_gb_per_s=report.bytes_read / 1e9 / read_seconds),
        row("verify --residuals", residuals.seconds + residuals.residual_seconds,
            residuals.clean, samples_per_s=residuals.residuals_checked
            / residuals.residual_seconds),
        row("generate (crc32c)", generate_seconds, summary["failed"] == 0,
            samples_per_s=case.n / generate_seconds),
        row("block writes, crc32c", writes[True],
            checksum_seconds=extra_write,
            checksum_share_of_writes=extra_write / writes[False],
            checksum_share_of_generate=extra_write / generate_seconds),
        row("block writes, no checksum", writes[False]),
    ]


def _best(measure):
    """The fastest of REPEATS runs' results (each carries its own ``seconds``)."""
    return min((measure() for _ in range(REPEATS)), key=lambda r: r.seconds)


def _best_seconds(work) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _stored_bytes(store: Path, paths: tuple[str, ...]) -> int:
    return sum(p.stat().st_size for name in paths for p in (store / name / "c").rglob("*")
               if p.is_file())


def _read_everything(url: str) -> None:
    import storage

    dataset = storage.open_dataset(url)
    for array in (*dataset.inputs.values(), dataset.solution, *dataset.params.values(),
                  *dataset.stats.values(), dataset.source_index, dataset.status):
        array[:]


def _write_seconds(url: str, out: Path) -> dict[bool, float]:
    """Seconds to write the store's blocks into a fresh store, with and without CRC32C."""
    import storage

    source = storage.open_dataset(url)
    blocks = [dict(inputs={k: a[s:s + source.chunk] for k, a in source.inputs.items()},
                   solution=source.solution[s:s + source.chunk],
                   params={k: a[s:s + source.chunk] for k, a in source.params.items()},
                   **{k: a[s:s + source.chunk] for k, a in source.stats.items()},
                   status=source.status[s:s + source.chunk])
              for s in range(0, len(source), source.chunk)]
    attrs = {k: source.attrs[k] for k in ("family", "seed", "family_options")}
    best = {True: np.inf, False: np.inf}
    for _ in range(REPEATS):
        for checksums in (True, False):
            target = out / "integrity-writes.zarr"
            shutil.rmtree(target, ignore_errors=True)
            dataset = storage.create_dataset(
                str(target), n=len(source), grid=source.grid, fields=list(source.inputs),
                params=list(source.params), chunk=source.chunk,
                source_index=source.source_index[:], attrs=attrs, checksums=checksums)
            start = time.perf_counter()
            for index, block in enumerate(blocks):
                dataset.write_block(index * source.chunk, **block)
            best[checksums] = min(best[checksums], time.perf_counter() - start)
            shutil.rmtree(target, ignore_errors=True)
    return best
