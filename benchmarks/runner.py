"""``pdeforge bench``: every solver on the same systems, one process, one machine.

Times include what a user pays per sample (solver objects, preconditioner set-up, sorting
amortised over the case); assembling the PDE systems is common to all and not timed.
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

import pdes

from .amg import AMG_SOLVERS
from .cases import Case, petsc_solvers, select
from .measure import SolverRun, log, measure, run_solver
from .report import write_markdown, write_plots

__all__ = ["KINDS", "ablation_runs", "run_case", "run_suite", "solver_runs"]

# A solver that has not finished a case within this budget stops; its row says so.
BUDGET_SECONDS = {"quick": 8.0, "full": 45.0, "gpu": 60.0, "contrast": 20.0}
QUICK_PETSC = {"petsc:gmres+ilu", "petsc:gmres+asm", "petsc:cg+icc", "petsc:cg+gamg",
               "petsc:minres+none", "petsc:lu", "petsc:cholesky"}
GPU_PETSC = {"petsc:cg+gamg", "petsc:lu"}  # the CPU references of the gpu suite
CONTRAST_PETSC = {"petsc:cg+icc", "petsc:cg+gamg", "petsc:cholesky"}
# at 1024^2 and contrast 1e4 the TRUE residual's rounding floor is near 1e-8 (LU: 1.2e-8):
# the contrast suite caps skr's iterations so that a lane at that floor ends its row
CONTRAST_MAX_ITERATIONS = 300
# case kind -> "module:function(case, suite, out, only=...) -> rows", imported when needed
KINDS = {
    "solvers": "benchmarks.runner:run_case",
    "surrogate": "benchmarks.surrogate:run_surrogate_case",
    "surrogate-variants": "benchmarks.surrogate:run_variants_case",
    "sor": "benchmarks.sor:run_sor_case",
    "dcdm": "benchmarks.dcdm:run_dcdm_case",
    "dask": "benchmarks.scaling:run_scaling_case",
    "l2r": "benchmarks.l2r_heat:run_l2r_case",
    "startup": "benchmarks.startup:run_startup_case",
    "external": "benchmarks.external:run_external_case",
    "integrity": "benchmarks.integrity:run_integrity_case",
}


def solver_runs(case: Case, sample: pdes.LinearSystem, suite: str) -> list[SolverRun]:
    """PETSc references valid for the case's matrices, then the recycling solvers.

    ``quick`` keeps the strongest PETSc references (preconditioned Krylov, GAMG, direct)
    and leaves the unpreconditioned ones and the ablation to ``full``.
    """
    keep = {"quick": QUICK_PETSC, "gpu": GPU_PETSC, "contrast": CONTRAST_PETSC}.get(suite)
    runs = [SolverRun(name, name, opts) for name, opts in
            petsc_solvers(sample.symmetric, sample.definite) if keep is None or name in keep]
    if sample.symmetric and sample.definite and suite != "gpu":
        runs += [SolverRun(name, name) for name in amg_rows()]
    if suite not in ("gpu", "contrast"):
        runs.append(SolverRun("gcrodr", "gcrodr"))
    if sample.symmetric and sample.definite and suite != "contrast":
        runs.append(SolverRun("rcg", "rcg", sorted_order=True))
    lanes = sample.stencil is not None  # a general-level family has no lanes
    if lanes and suite != "contrast":
        runs.append(SolverRun("batched", "batched", sorted_order=True))
    capped = {"max_iterations": CONTRAST_MAX_ITERATIONS} if suite == "contrast" else {}
    runs.append(SolverRun("skr", "skr", capped, sorted_order=True))
    if suite != "contrast":
        runs.append(SolverRun("skr[factor]", "skr", {"engine": "factor"}, sorted_order=True))
    if suite == "full":
        runs += [r for r in ablation_runs() if lanes or r.name != "batched"]
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


def run_case(case: Case, suite: str, out: Path | None = None, only: list[str] | None = None,
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
        run_solver(run, case.tol)
    for run in runs:
        rows.append(measure(case, suite, run, systems, features, budget))
        r = rows[-1]
        log.info("%s %s: %.1f ms/sample, %.1f its, max residual %.1e%s", case.name, run.label,
                 r["ms_per_sample"], r["iterations_mean"], r["max_residual"],
                 "" if r["converged_all"] else " (FAILED)")
    return rows


def amg_rows() -> list[str]:
    """The pyamg rows when the bench extra is installed (``pip install pdeforge[bench]``)."""
    try:
        import pyamg  # noqa: F401
    except ImportError:
        return []
    return list(AMG_SOLVERS)


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
        module, function = KINDS[case.kind].split(":")
        rows += getattr(importlib.import_module(module), function)(case, suite, out,
                                                                   only=solvers)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    write_markdown(rows, out / "results.md")
    write_plots(rows, out)
    return rows
