"""The Dask case (T7): the generate flow's samples/s on LocalClusters of 1 and 2 workers."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from .cases import Case, bench_row

__all__ = ["SOLVER", "run_scaling_case"]

SOLVER = "petsc:cg+icc"


def run_scaling_case(case: Case, suite: str, out: Path, only: list[str] | None = None
                 ) -> list[dict[str, Any]]:
    """LocalClusters of 1 and 2 workers, like with like (and the in-process default).

    Wall time of the whole flow, cluster start-up included: what a user waits for. One
    Prefect API serves all rows (as `make server` would); its start is reported apart.
    The steady-state rate counts only the solve blocks: workers x samples / solve seconds.
    """
    import numpy as np
    from prefect.task_runners import ThreadPoolTaskRunner

    import storage
    from flows import shared_prefect_api
    from flows.generate import generate
    from flows.runners import local_cluster_runner
    from flows.spec import GenerateSpec

    runners = {"in-process": (1, lambda: ThreadPoolTaskRunner(max_workers=1)),
               "1 dask worker": (1, lambda: local_cluster_runner(1)),
               "2 dask workers": (2, lambda: local_cluster_runner(2))}
    rows: list[dict[str, Any]] = []
    api_start = time.perf_counter()
    with shared_prefect_api():
        api_seconds = time.perf_counter() - api_start
        for label, (workers, runner) in runners.items():
            store = Path(out) / f"{case.name}.zarr"
            shutil.rmtree(store, ignore_errors=True)
            spec = GenerateSpec(family=case.family, grid=list(case.grid), n=case.n,
                                tol=case.tol, solver=SOLVER, out=str(store),
                                chunk=case.n // 16).validate()
            start = time.perf_counter()
            summary = generate.with_options(task_runner=runner())(spec, progress=False)
            seconds = time.perf_counter() - start
            solve = float(np.sum(storage.open_dataset(str(store)).stats["seconds"][:]))
            shutil.rmtree(store, ignore_errors=True)
            rows.append(bench_row(
                case, suite, f"generate {SOLVER}, {label}", ms_per_sample=1e3 * seconds / case.n,
                iterations_mean=summary["iterations_mean"], max_residual=summary["residual_max"],
                converged_all=summary["failed"] == 0, device="cpu",
                extra={"samples_per_second": case.n / seconds,
                       "steady_samples_per_second": workers * case.n / solve,
                       "prefect_api_start_seconds": api_seconds}))
    rows[2]["extra"]["speedup_2_vs_1_worker"] = (rows[2]["extra"]["samples_per_second"]
                                                 / rows[1]["extra"]["samples_per_second"])
    return rows
