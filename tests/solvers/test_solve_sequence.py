"""``solvers.solve_sequence`` on CSR systems with no PDE family: sorted, solved, results in
input order with TRUE residuals; mixed sizes only where the solver allows them."""

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from pdes import LinearSystem


def _convection_diffusion(n: int, velocity: float) -> sp.csr_matrix:
    """1-D upwind convection-diffusion: nonsymmetric, nonsingular."""
    main = np.full(n, 2.0 + velocity)
    return sp.diags([-(1.0 + velocity) * np.ones(n - 1), main, -np.ones(n - 1)], [-1, 0, 1],
                    format="csr")


def test_nonsymmetric_csr_sequence_in_input_order():
    rng = np.random.default_rng(0)
    velocities = rng.permutation(np.linspace(0.0, 2.0, 6))
    systems = [LinearSystem.from_csr(_convection_diffusion(200, v), rng.standard_normal(200))
               for v in velocities]
    assert not systems[0].symmetric or velocities[0] == 0
    results = solvers.solve_sequence(systems, "skr", tol=1e-10)
    for system, result in zip(systems, results, strict=True):
        true = np.linalg.norm(system.rhs - system.matrix @ result.x) / np.linalg.norm(system.rhs)
        assert result.converged and true <= 1e-10 and np.isclose(result.residual, true)


def test_mixed_sizes_need_a_solver_without_a_carried_space():
    systems = [LinearSystem.from_csr(_convection_diffusion(n, 0.5), np.ones(n))
               for n in (50, 80)]
    with pytest.raises(solvers.SolverError, match="mixed sizes"):
        solvers.solve_sequence(systems, "skr")
    assert all(r.converged for r in solvers.solve_sequence(systems, "petsc:lu"))


def test_a_singular_system_fails_and_the_others_go_on():
    good = _convection_diffusion(40, 1.0)
    singular = good.tolil()
    singular[3, :] = 0.0
    systems = [LinearSystem.from_csr(m, np.ones(40)) for m in (good, singular.tocsr(), good)]
    results = solvers.solve_sequence(systems, "skr", tol=1e-10, order="none")
    assert [r.converged for r in results] == [True, False, True]
    assert results[1].residual > 1e-10 or not np.isfinite(results[1].residual)
