"""The surrogate case (T6): generate FNO-style Darcy, train under a CPU budget, evaluate."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from .cases import Case, bench_row

__all__ = ["TRAIN_MINUTES", "run_surrogate_case"]

TRAIN_MINUTES = 30.0
T6_TARGET = 0.010


def run_surrogate_case(case: Case, suite: str, out: Path,
                       minutes: float = TRAIN_MINUTES) -> list[dict[str, Any]]:
    """One row: held-out relative L2 of an FNO trained on ``case.n`` generated samples."""
    import surrogates
    from flows.generate import run_generate
    from flows.spec import GenerateSpec

    work = Path(out) / case.name
    shutil.rmtree(work, ignore_errors=True)
    spec = GenerateSpec(family=case.family, grid=list(case.grid), n=case.n, seed=0,
                        solver="skr", tol=case.tol, family_options=dict(case.family_options),
                        out=str(work / "data.zarr"), workers=1).validate()
    start = time.perf_counter()
    summary = run_generate(spec, progress=False)
    generate_seconds = time.perf_counter() - start
    held_out = min(100, case.n // 10) / case.n  # 100 validation + 100 test of 1200
    training = surrogates.train(  # the CLI's defaults: the schedule sized to the budget
        spec.out, work / "model", max_minutes=minutes,
        fractions=(1 - 2 * held_out, held_out, held_out), progress=False)
    metrics = surrogates.evaluate(work / "model", spec.out, work / "evaluation")
    return [bench_row(
        case, suite, "fno", ms_per_sample=1e3 * metrics["inference_seconds_per_sample"],
        iterations_mean=metrics["epochs"], max_residual=summary["residual_max"],
        converged_all=summary["failed"] == 0, device=metrics["device"],
        extra={"rel_l2_mean": metrics["rel_l2_mean"], "rel_l2_worst": metrics["rel_l2_worst"],
               "rel_h1_mean": metrics["rel_h1_mean"],
               "baseline_rel_l2_mean": metrics["baseline_rel_l2_mean"],
               "train_minutes": training["train_seconds"] / 60,
               "stopped_by": training["stopped"],
               "generate_seconds": generate_seconds, "n_test": metrics["n_test"],
               "T6_target": T6_TARGET, "T6_met": metrics["rel_l2_mean"] <= T6_TARGET})]
