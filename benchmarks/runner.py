"""``pdeforge bench``: every solver on the same systems, one process, one machine.

Times include what a user pays per sample (solver objects, preconditioner set-up, sorting
amortised over the case); assembling the PDE systems is common to all and not timed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pdes
import solvers

from .cases import Case, bench_row, petsc_solvers, select
from .report import write_markdown, write_plots

__all__ = ["SolverRun", "ablation_runs", "run_case", "run_suite", "solver_runs"]

log = logging.getLogger(__name__)
# A solver that has not finished a case within this budget stops; its row says so.
BUDGET_SECONDS = {"quick": 8.0, "full": 45.0, "gpu": 60.0}
QUICK_PETSC = {"petsc:gmres+ilu", "petsc:cg+icc", "petsc:cg+gamg", "petsc:minres+none",
               "petsc:lu", "petsc:cholesky"}
GPU_PETSC = {"petsc:cg+gamg", "petsc:lu"}  # the CPU references of the gpu suite


@dataclass(frozen=True)
class SolverRun:
    """A row of the table: a solver, its options, and whether it sees the sorted order."""

    label: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    sorted_order: bool = False


def solver_runs(case: Case, sample: pdes.LinearSystem, suite: str) -> list[SolverRun]:
    """PETSc references valid for the case's matrices, then the recycling solvers.

    ``quick`` keeps the strongest PETSc references (preconditioned Krylov, GAMG, direct)
    and leaves the unpreconditioned ones and the ablation to ``full``.
    """
    keep = {"quick": QUICK_PETSC, "gpu": GPU_PETSC}.get(suite)
    runs = [SolverRun(name, name, opts) for name, opts in
            petsc_solvers(sample.symmetric, sample.definite) if keep is None or name in keep]
    if suite != "gpu":
        runs.append(SolverRun("gcrodr", "gcrodr"))
    if sample.symmetric and sample.definite:
        runs.append(SolverRun("rcg", "rcg", sorted_order=True))
    runs.append(SolverRun("batched", "batched", sorted_order=True))
    runs.append(SolverRun("skr", "skr", sorted_order=True))
    runs.append(SolverRun("skr[factor]", "skr", {"engine": "factor"}, sorted_order=True))
    if suite == "full":
        runs += ablation_runs()
    return runs


def ablation_runs() -> list[SolverRun]:
    """One ingredient switched off (or recycling forced on): what each buys, per engine."""
    factor = {"engine": "factor"}
    return [
        SolverRun("skr[factor,unsorted]", "skr", factor),
        SolverRun("skr[factor,no-warm-start]", "skr", {**factor, "warm_start": False},
                  sorted_order=True),
        SolverRun("skr[factor,no-factor-reuse]", "skr", {**factor, "reuse": 1},
                  sorted_order=True),
        SolverRun("skr[factor,+recycling]", "skr", {**factor, "recycle": True},
                  sorted_order=True),
        SolverRun("batched[unsorted]", "batched"),
        SolverRun("batched[no-warm-start]", "batched", {"warm_start": False}, sorted_order=True),
        SolverRun("batched[B=1]", "batched", {"batch": 1}, sorted_order=True),
    ]


def run_case(case: Case, suite: str, only: list[str] | None = None,
             budget: float | None = None) -> list[dict[str, Any]]:
    """Solve the case's systems with every run (or those labelled in ``only``); a row each."""
    family = pdes.get(case.family, grid=case.grid, **case.family_options)
    n = case.n if torch.cuda.is_available() or not case.n_cpu else case.n_cpu
    systems = [family.sample(i, seed=0) for i in range(n)]
    features = np.stack([s.features for s in systems])
    candidates = solver_runs(case, systems[0], "full" if only else suite)
    runs = [r for r in candidates if not only or r.label in only]
    budget = budget if budget is not None else BUDGET_SECONDS.get(suite, 120.0)
    rows = []
    for run in runs:  # warm-up: module imports (torch, PETSc) are per process, not per sample
        solvers.get(run.name, tol=case.tol, **run.options)
    for run in runs:
        rows.append(_measure(case, suite, run, systems, features, budget))
        r = rows[-1]
        log.info("%s %s: %.1f ms/sample, %.1f its, max residual %.1e%s", case.name, run.label,
                 r["ms_per_sample"], r["iterations_mean"], r["max_residual"],
                 "" if r["converged_all"] else " (FAILED)")
    return rows


def _measure(case: Case, suite: str, run: SolverRun, systems, features, budget: float) -> dict:
    start = time.perf_counter()
    solver = solvers.get(run.name, tol=case.tol, **run.options)
    if run.sorted_order and case.order != "none":
        order = solvers.order(features, method=case.order)
    else:
        order = np.arange(len(systems))
    results, devices = [], set()
    for result in solver.solve_sequence(systems[i] for i in order):
        results.append(result)
        devices.add(str(result.info.get("device", "cpu")))
        if time.perf_counter() - start > budget and len(results) < len(systems):
            break
    elapsed = time.perf_counter() - start
    measured = len(results)
    residuals = np.array([r.residual for r in results])
    converged = all(r.converged for r in results) and measured == len(systems)
    return bench_row(
        case, suite, run.label, n=len(systems), ms_per_sample=1e3 * elapsed / measured,
        iterations_mean=np.mean([r.iterations for r in results]),
        max_residual=residuals.max(), converged_all=converged, device=",".join(sorted(devices)),
        extra={"samples_per_s": measured / elapsed, "measured": measured,
               "failed": int(sum(not r.converged for r in results)),
               "stopped_by_budget": measured < len(systems), "budget_s": budget,
               "order": case.order if run.sorted_order else "none",
               "options": {k: str(v) for k, v in run.options.items()}})


def run_suite(suite: str = "quick", cases: list[str] | None = None,
              solvers: list[str] | None = None, out: Path = Path("bench")) -> list[dict]:
    """Run the suite's cases, write results.json, results.md and plots into ``out``."""
    if not log.handlers:  # our progress lines only, not every library's INFO records
        log.addHandler(logging.StreamHandler())
        log.setLevel(logging.INFO)
    rows: list[dict[str, Any]] = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for case in select(suite, cases):
        if case.kind == "surrogate":
            from .surrogate import run_surrogate_case

            rows += run_surrogate_case(case, suite, out)
        elif case.kind == "surrogate-variants":
            from .surrogate import run_variants_case

            rows += run_variants_case(case, suite, out, only=solvers)
        elif case.kind == "sor":
            from .sor import run_sor_case

            rows += run_sor_case(case, suite, out)
        elif case.kind == "l2r":
            from .l2r_heat import run_l2r_case

            rows += run_l2r_case(case, suite, out)
        elif case.kind == "dcdm":
            from .dcdm import run_dcdm_case

            rows += run_dcdm_case(case, suite, out, only=solvers)
        elif case.kind == "dask":
            from .scaling import run_scaling_case

            rows += run_scaling_case(case, suite, out)
        else:
            rows += run_case(case, suite, only=solvers)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    write_markdown(rows, out / "results.md")
    write_plots(rows, out)
    return rows
