"""PETSc backend: true residuals at tolerance on every family, options pass through."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import pdes
import solvers

CASES = [  # family, solver, tol
    ("darcy", "petsc:cg+icc", 1e-9),
    ("darcy", "petsc:cg+gamg", 1e-9),  # GAMG's preconditioned norm alone stops near 1e-6
    ("poisson", "petsc:cg+none", 1e-10),
    ("helmholtz", "petsc:gmres+ilu", 1e-8),
    ("helmholtz", "petsc:minres+none", 1e-8),
    ("heat", "petsc:cg+jacobi", 1e-10),
    ("darcy", "petsc:lu", 1e-12),
    ("darcy", "petsc:cholesky", 1e-12),
]


@pytest.mark.parametrize(("family", "name", "tol"), CASES)
def test_true_residual_below_tolerance(family, name, tol):
    system = pdes.get(family, grid=(24, 24)).sample(3, seed=1)
    result = solvers.get(name, tol=tol).solve(system)
    true = np.linalg.norm(system.rhs - system.matrix @ result.x) / np.linalg.norm(system.rhs)
    assert result.converged and result.residual == pytest.approx(true, rel=1e-6)
    assert true <= tol
    reference = spla.spsolve(system.matrix.tocsc(), system.rhs)
    err = np.linalg.norm(result.x - reference) / np.linalg.norm(reference)
    assert err < 1e4 * tol  # forward error within the condition number's reach


def test_non_convergence_is_reported_not_hidden():
    system = pdes.get("darcy", grid=(32, 32)).sample(0, seed=0)
    result = solvers.get("petsc:cg+none", tol=1e-10, max_iterations=5).solve(system)
    assert not result.converged and result.residual > 1e-10
    assert result.iterations <= 5 * 5  # refinements stop at a diverged reason


def test_options_database_reaches_the_ksp():
    system = pdes.get("darcy", grid=(24, 24)).sample(0, seed=0)
    short = solvers.get("petsc:gmres+none", tol=1e-8, petsc_options="-ksp_gmres_restart 5")
    long = solvers.get("petsc:gmres+none", tol=1e-8, petsc_options="-ksp_gmres_restart 200")
    its_short, its_long = short.solve(system).iterations, long.solve(system).iterations
    assert its_long < its_short  # a longer restart needs fewer iterations


def test_sequence_warm_start_saves_iterations():
    family = pdes.get("heat", grid=(24, 24), kappa="schedule", trajectory=True, dt=5e-3)
    systems = [family.sample(i, seed=0) for i in range(40, 46)]  # kappa ~ 5: real work
    cold = solvers.get("petsc:cg+none", tol=1e-10)
    warm = solvers.get("petsc:cg+none", tol=1e-10, warm_start=True)
    cold_its = sum(r.iterations for r in cold.solve_sequence(systems))
    warm_results = list(warm.solve_sequence(systems))
    assert all(r.converged for r in warm_results)
    assert sum(r.iterations for r in warm_results) < cold_its


@pytest.mark.parametrize("name", ["petsc:nosuch+ilu", "petsc:cg+nosuch", "nosuch"])
def test_unknown_solver_names_raise_solver_error(name):
    """An unknown registry name fails at once; PETSc types are checked by ``setup`` (the
    constructor only stores, PETSc is initialised there)."""
    with pytest.raises(solvers.SolverError):
        solvers.get(name).setup()
