"""Another tool's sequence through ``pdeforge solve`` (T10): scikit-fem P1 systems, each
solver a ``solve`` run into a store of its own, PETSc's rows beside ``skr``'s.

The systems: -div(a grad u) = 1 on the unit disc, u = 0 on its boundary, P1 elements on an
unstructured triangle mesh (scikit-fem's disc mesh, interior nodes jittered), with the
random coefficient a = exp(sum_jk c_jk cos(pi j x) cos(pi k y) / 2) of sample i.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

import solvers
import storage

from .cases import Case, bench_row, petsc_solvers

__all__ = ["run_external_case", "skfem_sequence", "write_sequence"]

COEFFICIENT_MODES = 3
FORMATS = (".mtx", ".npz", ".petsc")
# the SPD-preconditioned and direct PETSc rows (unpreconditioned CG needs ~1600 iterations
# here, GMRES+ILU ~740)
PETSC_ROWS = ("petsc:cg+icc", "petsc:cg+gamg", "petsc:lu", "petsc:cholesky")


def skfem_sequence(refine: int, n: int, seed: int = 0
                   ) -> list[tuple[sp.csr_matrix, np.ndarray]]:
    """``n`` condensed (interior) P1 systems on the disc mesh refined ``refine`` times."""
    from skfem import Basis, BilinearForm, ElementTriP1, LinearForm, MeshTri, asm, condense
    from skfem.helpers import dot, grad

    rng = np.random.default_rng(seed)
    mesh = MeshTri.init_circle(refine)
    edge = np.linalg.norm(np.diff(mesh.p[:, mesh.facets], axis=1), axis=0).mean()
    points = mesh.p.copy()
    interior = np.setdiff1d(np.arange(mesh.nvertices), mesh.boundary_nodes())
    points[:, interior] += 0.15 * edge * rng.uniform(-1, 1, (2, len(interior)))
    mesh = MeshTri(points, mesh.t)
    basis = Basis(mesh, ElementTriP1())
    rhs = asm(LinearForm(lambda v, w: v), basis)
    systems = []
    for _ in range(n):
        c = rng.standard_normal((COEFFICIENT_MODES, COEFFICIENT_MODES))

        def stiffness(u, v, w, c=c):
            x, y = w.x
            log_a = sum(c[j, k] * np.cos(np.pi * j * x) * np.cos(np.pi * k * y)
                        for j in range(COEFFICIENT_MODES) for k in range(COEFFICIENT_MODES))
            return np.exp(0.5 * log_a) * dot(grad(u), grad(v))

        A, b, *_ = condense(asm(BilinearForm(stiffness), basis), rhs, D=basis.get_dofs())
        systems.append((sp.csr_matrix(A), np.asarray(b)))
    return systems


def write_sequence(folder: str | Path, systems: list[tuple[sp.csr_matrix, np.ndarray]],
                   formats: tuple[str, ...] = FORMATS) -> list[str]:
    """Write system i as ``sys{i:04d}`` in ``formats[i % len(formats)]``; the names."""
    names = []
    for i, (matrix, rhs) in enumerate(systems):
        names.append(f"sys{i:04d}")
        storage.write_system(folder, names[-1], matrix, rhs, formats[i % len(formats)])
    return names


def run_external_case(case: Case, suite: str, out: Path, only: list[str] | None = None
                      ) -> list[dict[str, Any]]:
    """Every solver solves the case's sequence through the ``solve`` flow (one shared
    Prefect API): wall time per system of the run, reading and sorting included."""
    from flows import shared_prefect_api
    from flows.solve import SolveSpec
    from flows.solve_flow import run_solve

    systems = skfem_sequence(case.family_options["refine"], case.n)
    runs = [(label, label, options) for label, options in petsc_solvers(True, True)
            if label in PETSC_ROWS]
    runs += [("skr", "skr", {}), ("skr[+recycling]", "skr", {"recycle": True})]
    runs = [run for run in runs if not only or run[0] in only]
    for _, name, options in runs:  # warm-up: module imports (torch, PETSc) are per process
        solvers.get(name, tol=case.tol, **options)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, shared_prefect_api():
        folder = Path(tmp, "systems")
        write_sequence(folder, systems, (".petsc",))
        for label, name, options in runs:
            spec = SolveSpec(systems=str(folder), out=str(Path(tmp, f"{label}.zarr")),
                             solver=name, tol=case.tol, solver_options=options)
            start = time.perf_counter()
            summary = run_solve(spec)
            elapsed = time.perf_counter() - start
            dataset = storage.open_dataset(spec.out)
            done = dataset.done_mask()
            residual = dataset.stats["residual"][:]
            rows.append(bench_row(
                case, suite, label, ms_per_sample=1e3 * elapsed / case.n,
                iterations_mean=float(np.mean(dataset.stats["iterations"][:])),
                max_residual=float(np.nanmax(residual)), converged_all=bool(done.all()),
                device=",".join(summary["last_run"]["devices"]),
                extra={"unknowns": int(systems[0][1].size),
                       "solve_ms_per_sample": 1e3 * float(np.sum(dataset.stats["seconds"][:]))
                       / case.n, "failed": int((~done).sum()),
                       "options": {k: str(v) for k, v in options.items()}}))
    return rows
