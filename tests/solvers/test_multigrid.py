"""Geometric multigrid on the lanes: an SPD preconditioner, grid-independent, robust at contrast."""

import numpy as np
import pytest
import torch

import pdes
import solvers
from solvers.batched import MultigridPreconditioner, StencilOperator

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def _operator(grid, device, contrast=1e4, lanes=2):
    family = pdes.get("darcy", grid=grid, coefficient="threshold", contrast=contrast)
    return StencilOperator.from_stencils([family.sample(i, 5).stencil for i in range(lanes)],
                                         device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("cycle", "coarsening"), [("W", "galerkin"), ("V", "galerkin"),
                                                   ("V", "harmonic"), ("V", "arithmetic")])
@pytest.mark.parametrize("grid", [(37, 30), (20, 17, 18)])
def test_the_cycle_is_symmetric_and_positive(grid, cycle, coarsening, device):
    """<M u, v> = <u, M v> and <M u, u> > 0 per lane, odd axes and a 3-D grid included
    (float64 cycle: symmetric to rounding)."""
    op = _operator(grid, device)
    M = MultigridPreconditioner(op, cycle=cycle, coarsening=coarsening, precision="float64")
    assert len(M.levels_) >= 3
    gen = torch.Generator().manual_seed(0)
    u, v = (torch.randn(2, *grid, generator=gen, dtype=torch.float64).to(device)
            for _ in range(2))
    Mu, Mv = M(u), M(v)
    left, right = (Mu * v).flatten(1).sum(1), (u * Mv).flatten(1).sum(1)
    assert torch.allclose(left, right, rtol=1e-11, atol=0)
    assert bool(((Mu * u).flatten(1).sum(1) > 0).all())


def _solve(family, n, batch=0, tol=1e-8):
    systems = [family.sample(i, 2) for i in range(n)]
    solver = solvers.get("batched", tol=tol, preconditioner="mg", batch=batch)
    results = list(solver.solve_sequence(systems))
    for system, result in zip(systems, results, strict=True):  # the TRUE residual
        assert result.converged and system.relative_residual(result.x) <= tol
    return results


@pytest.mark.parametrize("options", [{"coefficient": "threshold", "contrast": 1e4},
                                     {"coefficient": "lognormal", "sigma": 2.0}])
def test_high_contrast_iterations_stay_low_as_the_grid_grows(options):
    """Grid independence: at 32^2 and 128^2 alike, under 30 multigrid-preconditioned CG
    iterations reach 1e-8 (12-24 measured; the DST preconditioner needs 150-300 here)."""
    for n in (32, 128):
        results = _solve(pdes.get("darcy", grid=(n, n), **options), 2)
        assert max(r.iterations for r in results) <= 30


def test_lanes_of_different_contrast_in_one_batch_each_converge():
    systems = [pdes.get("darcy", grid=(48, 48), coefficient="threshold", contrast=c).sample(0, 1)
               for c in (1e2, 1e6)]
    systems.append(pdes.get("darcy", grid=(48, 48), sigma=3.0).sample(0, 1))
    systems.append(pdes.get("darcy", grid=(48, 48)).sample(0, 1))
    solver = solvers.get("batched", tol=1e-9, preconditioner="mg", batch=len(systems))
    for system, result in zip(systems, solver.solve_sequence(systems), strict=True):
        assert result.converged and system.relative_residual(result.x) <= 1e-9
        assert result.iterations <= 30


def test_obstacles_and_3d_converge_with_the_solids_left_at_zero():
    family = pdes.get("obstacles", grid=(64, 64), solids="grf", fraction=0.3)
    systems = [family.sample(i, 0) for i in range(2)]
    solver = solvers.get("batched", tol=1e-8, preconditioner="mg")
    for system, result in zip(systems, solver.solve_sequence(systems), strict=True):
        solid = system.fields["mask"].ravel() == 1
        assert result.converged and system.relative_residual(result.x) <= 1e-8
        assert result.iterations <= 25
        assert np.abs(result.x[solid]).max() <= 1e-8 * np.abs(result.x).max()
    _solve(pdes.get("darcy", grid=(24, 24, 24), coefficient="threshold", contrast=1e4), 2)


def test_darcy_sigma_sets_the_log_variance():
    family = pdes.get("darcy", grid=(64, 64), sigma=2.0)
    logs = np.stack([np.log(family.sample(i, 0).fields["coefficient"]) for i in range(16)])
    assert 2.5 <= logs.var() <= 5.5  # sigma^2 = 4, up to sampling noise of 16 smooth fields
    on_device = family.sample_batch([3], 0, "cpu").fields["coefficient"][0].numpy()
    assert np.allclose(on_device, family.sample(3, 0).fields["coefficient"], rtol=1e-10)
    with pytest.raises(pdes.PDEError):
        pdes.get("darcy", grid=(8, 8), sigma=-1.0)


def test_a_w_cycle_without_galerkin_operators_is_refused():
    with pytest.raises(ValueError, match="galerkin"):
        MultigridPreconditioner(_operator((16, 16), "cpu"), cycle="W", coarsening="harmonic")


def test_skr_chooses_multigrid_at_high_contrast_and_says_why():
    """skr's engine auto: multigrid lanes for a contrast-1e4 medium, the DST preconditioner
    for the smooth default one; the reason goes with every result."""
    high = pdes.get("darcy", grid=(64, 64), coefficient="threshold", contrast=1e4)
    smooth = pdes.get("darcy", grid=(64, 64))
    for family, chosen in ((high, "batched+mg"), (smooth, "batched+spectral")):
        systems = [family.sample(i, 0) for i in range(2)]
        for system, result in zip(systems, solvers.get("skr").solve_sequence(systems),
                                  strict=True):
            assert result.info["choice"].startswith(chosen) and "contrast" in result.info["choice"]
            assert result.converged and system.relative_residual(result.x) <= 1e-8


def test_batched_by_default_takes_multigrid_at_high_contrast_and_the_dst_where_smooth():
    """``batched``'s default ``preconditioner="auto"``: the rule skr uses, per sequence."""
    rough = [pdes.get("darcy", grid=(24, 24), coefficient="threshold", contrast=1e4
                      ).sample(i, 0) for i in range(3)]
    smooth = [pdes.get("poisson", grid=(24, 24)).sample(i, 0) for i in range(3)]
    for systems, expected, method in ((rough, "mg", "cg"), (smooth, "spectral", "direct")):
        results = list(solvers.get("batched", tol=1e-8, device="cpu").solve_sequence(systems))
        assert all(r.converged and r.residual <= 1e-8 for r in results)
        assert {r.info["preconditioner"] for r in results} == {expected}
        assert {r.info["method"] for r in results} == {method}
        assert results[0].info["choice"].startswith(f"{expected}: face contrast")
    plain = solvers.get("batched", tol=1e-8, device="cpu", preconditioner="spectral")
    assert [r.info["preconditioner"] for r in plain.solve_sequence(rough)] == ["spectral"] * 3
