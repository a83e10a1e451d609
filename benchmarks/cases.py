"""The benchmark cases of docs/benchmarks.md and the solvers each one runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CASES", "SUITES", "Case", "bench_row", "petsc_solvers", "select"]

GMRES40 = "-ksp_gmres_restart 40"
SUITES = ("quick", "full", "gpu", "sor", "surrogate", "surrogate-variants", "dcdm", "l2r",
          "integrity", "external", "contrast", "startup")
# the contrast suite (docs/multigrid.md): samples per case by grid side
CONTRAST_N = {64: 16, 128: 8, 256: 8, 512: 4, 1024: 2}


@dataclass(frozen=True)
class Case:
    """One set of systems that every solver of the case solves, in one process."""

    name: str
    family: str
    grid: tuple[int, ...]
    n: int
    tol: float
    family_options: dict[str, Any] = field(default_factory=dict)
    suites: tuple[str, ...] = ("full",)
    order: str = "greedy"  # "none" for sequences by nature (a heat trajectory)
    kind: str = "solvers"  # "surrogate": generate, train under a time budget, evaluate
    n_cpu: int = 0  # samples when no GPU is present (the gpu suite's CPU rows); 0: n


CASES: dict[str, Case] = {c.name: c for c in (
    Case("darcy-100", "darcy", (100, 100), 50, 1e-8, suites=("quick", "full")),
    Case("darcy-200", "darcy", (200, 200), 100, 1e-8),
    Case("darcy-400", "darcy", (400, 400), 20, 1e-8),
    # the gpu suite (issue 7): samples/s of every engine per device; smaller n on a CPU
    Case("darcy-256", "darcy", (256, 256), 1024, 1e-8, suites=("gpu",), n_cpu=32),
    Case("darcy-512", "darcy", (512, 512), 256, 1e-8, suites=("gpu",), n_cpu=8),
    Case("darcy-1024", "darcy", (1024, 1024), 64, 1e-8, suites=("gpu",), n_cpu=4),
    Case("helmholtz-256", "helmholtz", (256, 256), 256, 1e-7, suites=("gpu",), n_cpu=16),
    Case("poisson-512", "poisson", (512, 512), 256, 1e-10, suites=("gpu",), n_cpu=16),
    Case("heat-256", "heat", (256, 256), 1024, 1e-8,
         {"kappa": "schedule", "trajectory": True, "dt": 5e-3}, suites=("gpu",), order="none",
         n_cpu=64),
    Case("helmholtz-100", "helmholtz", (100, 100), 50, 1e-7, suites=("quick", "full")),
    Case("poisson-128", "poisson", (128, 128), 50, 1e-10, suites=("quick", "full")),
    Case("heat-100", "heat", (100, 100), 200, 1e-8,
         {"kappa": "schedule", "trajectory": True, "dt": 5e-3}, suites=("quick", "full"),
         order="none"),
    # T5: bandits choosing SOR's omega over a shifted-Laplacian and a heat sequence
    Case("sor-sequence", "heat", (32, 32), 1000, 1e-8, suites=("full", "sor"), kind="sor"),
    # the Learning-to-Relax heat benchmark (h2d.m) at nx = 50 and 100: its first 1000 steps
    Case("l2r-heat", "h2d", (99, 99), 1000, 1e-8, suites=("l2r",), kind="l2r"),
    # T4: a DCDM model trained at the case's grid, applied at larger grids (benchmarks/dcdm.py)
    Case("dcdm-scaling", "obstacles", (64, 64), 20, 1e-6, {"solids": "grf", "fraction": 0.3},
         suites=("dcdm",), kind="dcdm"),
    Case("dcdm-darcy", "darcy", (64, 64), 4, 1e-6, {"coefficient": "threshold",
                                                     "contrast": 1e3}, suites=("dcdm",),
         kind="dcdm"),
    Case("dcdm-3d", "obstacles", (32, 32, 32), 2, 1e-6, {"solids": "grf", "fraction": 0.3},
         suites=("dcdm",), kind="dcdm"),
    # the CLI's start-up: --help, rejected input and a small generate against their targets
    Case("cli-startup", "darcy", (32, 32), 16, 1e-8, suites=("startup",), kind="startup"),
    # T7: samples/s of the generate flow on a LocalCluster of 1 and of 2 workers
    Case("dask-scaling", "darcy", (100, 100), 1024, 1e-8, suites=("full",), kind="dask"),
    # T6: 1000 samples of FNO-style Darcy (seed 1), `pdeforge train --max-minutes 30`, scored
    # on 100 of seed 424242; the variants: each recipe for the same 5 minutes on that data
    Case("surrogate-darcy64", "darcy", (64, 64), 1000, 1e-8, {"coefficient": "threshold"},
         suites=("surrogate",), kind="surrogate"),
    Case("surrogate-variants", "darcy", (64, 64), 1000, 1e-8, {"coefficient": "threshold"},
         suites=("surrogate-variants",), kind="surrogate-variants"),
    # `pdeforge verify` read rate and --residuals samples/s; the CRC32C write cost (I1)
    Case("verify-darcy64", "darcy", (64, 64), 1000, 1e-8, suites=("integrity",),
         kind="integrity"),
    # T9: a nonsymmetric general-level family; run with --suite full for skr's pieces
    Case("convection-diffusion-128", "convection-diffusion", (128, 128), 200, 1e-8,
         {"peclet": 100.0}),
    # T10: 100 scikit-fem P1 systems (32,513 unknowns, disc mesh refined 7 times) through
    # `pdeforge solve`, every solver a run of its own (benchmarks/external.py)
    Case("skfem-sequence", "external", (32513,), 100, 1e-8, {"refine": 7},
         suites=("external",), kind="external"),
    # T11/C2: threshold contrast 1e2-1e6 and lognormal log-variance 1-9 (sigma 1-3)
    *(Case(f"darcy-t{c:.0e}-{s}".replace("+0", ""), "darcy", (s, s), CONTRAST_N[s], 1e-8,
           {"coefficient": "threshold", "contrast": c}, suites=("contrast",))
      for c in (1e2, 1e4, 1e6) for s in CONTRAST_N),
    *(Case(f"darcy-s{sigma}-{s}", "darcy", (s, s), CONTRAST_N[s], 1e-8, {"sigma": float(sigma)},
           suites=("contrast",)) for sigma in (1, 2, 3) for s in CONTRAST_N),
    Case("darcy-t1e4-48c", "darcy", (48, 48, 48), 4, 1e-8,
         {"coefficient": "threshold", "contrast": 1e4}, suites=("contrast",)),
)}


def bench_row(case: Case, suite: str, solver: str, *, ms_per_sample: float,
              iterations_mean: float, max_residual: float, converged_all: bool, device: str,
              extra: dict[str, Any], n: int | None = None) -> dict[str, Any]:
    """One row of results.json (the schema docs/benchmarks.md describes; spelled only here)."""
    return {"suite": suite, "case": case.name, "family": case.family, "grid": list(case.grid),
            "n": case.n if n is None else n, "tol": case.tol, "solver": solver,
            "ms_per_sample": float(ms_per_sample),
            "iterations_mean": float(iterations_mean), "max_residual": float(max_residual),
            "converged_all": bool(converged_all), "device": device, "extra": extra}


def petsc_solvers(symmetric: bool, definite: bool) -> list[tuple[str, dict[str, Any]]]:
    """The PETSc reference rows valid for a matrix with these flags."""
    rows: list[tuple[str, dict[str, Any]]] = [
        ("petsc:gmres+none", {"petsc_options": GMRES40}),
        ("petsc:gmres+ilu", {"petsc_options": GMRES40}),
        ("petsc:gmres+sor", {"petsc_options": GMRES40}),
    ]
    if symmetric and definite:
        rows += [("petsc:cg+none", {}), ("petsc:cg+icc", {}), ("petsc:cg+gamg", {})]
    if symmetric:
        rows.append(("petsc:minres+none", {}))
    else:
        rows.append(("petsc:gmres+asm", {"petsc_options": GMRES40}))
    rows.append(("petsc:lu", {}))
    if symmetric and definite:
        rows.append(("petsc:cholesky", {}))
    return rows


def select(suite: str, names: list[str] | None) -> list[Case]:
    """Cases of a suite, or the named ones (whatever their suite)."""
    if names:
        unknown = [n for n in names if n not in CASES]
        if unknown:
            raise ValueError(f"unknown bench case {unknown[0]!r}; choose from {', '.join(CASES)}")
        return [CASES[n] for n in names]
    if suite not in SUITES:
        raise ValueError(f"--suite must be one of {', '.join(SUITES)}, got {suite!r}")
    return [c for c in CASES.values() if suite in c.suites]
