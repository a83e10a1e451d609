"""What every benchmark case measures with: a solver run over a set of systems, one row.

A leaf of the package: the case modules import it, it imports none of them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import pdes
import solvers

from .cases import Case, bench_row

__all__ = ["SolverRun", "log", "measure", "run_solver"]

log = logging.getLogger("benchmarks")


@dataclass(frozen=True)
class SolverRun:
    """A row of the table: a solver, its options, and whether it sees the sorted order."""

    label: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    sorted_order: bool = False


def run_solver(run: SolverRun, tol: float) -> solvers.Solver:
    """The solver a row runs: a registered one, or a bench-only pyamg row."""
    from .amg import AMG_SOLVERS, make_solver

    if run.name in AMG_SOLVERS:
        return make_solver(run.name, tol=tol, **run.options)
    return solvers.get(run.name, tol=tol, **run.options)


def measure(case: Case, suite: str, run: SolverRun, systems: list[pdes.LinearSystem],
            features: np.ndarray, budget: float) -> dict[str, Any]:
    """One row: ``run`` over ``systems`` (in sorted order when the run sees it), wall time
    per sample with the solver's set-up, stopped after ``budget`` seconds."""
    start = time.perf_counter()
    solver = run_solver(run, case.tol)
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
               **({"choice": results[0].info["choice"]} if "choice" in results[0].info else {}),
               "options": {k: str(v) for k, v in run.options.items()}})
