"""The batched lane engine: stencil operator = CSR, exact DST solves, PCG/GMRES on lanes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

import pdes
import solvers
from solvers.batched import (
    Lanes,
    SpectralPreconditioner,
    StencilOperator,
    dst,
    make_chains,
    pcg_lanes,
    stack_stencils,
)

# every test runs on the CPU, and on CUDA too where torch sees a GPU (no skips)
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
GRIDS = {2: {"darcy": (9, 7), "poisson": (8, 6), "helmholtz": (7, 8), "heat": (6, 9),
             "obstacles": (12, 10)},
         3: {"darcy": (5, 4, 6), "poisson": (4, 5, 3), "helmholtz": (5, 3, 4), "heat": (3, 4, 5),
             "obstacles": (7, 6, 8)}}


def _stack(systems, device):
    return torch.as_tensor(np.stack([s.rhs.reshape(s.grid) for s in systems]), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("name", pdes.FAMILIES)
def test_stencil_operator_equals_the_csr_product(name, ndim, device):
    family = pdes.get(name, grid=GRIDS[ndim][name])
    systems = [family.sample(i, 3) for i in range(3)]
    op = StencilOperator.from_stencils([s.stencil for s in systems], device)
    u = np.random.default_rng(1).standard_normal((3, *family.grid))
    Au = op(torch.as_tensor(u, device=device)).cpu().numpy()
    for j, s in enumerate(systems):
        expected = s.matrix @ u[j].ravel()
        assert np.abs(Au[j].ravel() - expected).max() <= 1e-13 * np.abs(expected).max()
    assert np.allclose(op.diagonal.cpu().numpy().reshape(3, -1),
                       np.stack([s.matrix.diagonal() for s in systems]), rtol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
def test_dst_is_orthonormal_and_matches_scipy_on_long_axes(device, monkeypatch):
    import scipy.fft

    from solvers.batched import _spectral

    x = torch.rand(2, 11, 13, dtype=torch.float64, device=device)
    expected = scipy.fft.dstn(x.cpu().numpy(), type=1, norm="ortho", axes=(1, 2))
    assert np.abs(dst(x, 2).cpu().numpy() - expected).max() < 1e-13
    monkeypatch.setitem(_spectral.DENSE_MAX, device, 4)  # force the FFT path
    assert np.abs(dst(x, 2).cpu().numpy() - expected).max() < 1e-13
    assert torch.allclose(dst(dst(x, 2), 2), x, atol=1e-13)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,grid", [("poisson", (24, 20)), ("heat", (20, 24)),
                                       ("poisson", (8, 9, 10)), ("heat", (9, 8, 7))])
def test_dst_solve_is_exact_for_constant_coefficients(name, grid, device):
    family = pdes.get(name, grid=grid)
    systems = [family.sample(i, 0) for i in range(4)]
    op = StencilOperator.from_stencils([s.stencil for s in systems], device)
    M = SpectralPreconditioner(op)
    assert bool(M.exact.all())
    x = M(_stack(systems, device)).cpu().numpy()
    for j, s in enumerate(systems):
        assert s.relative_residual(x[j].ravel()) < 1e-12


def test_chains_cover_every_position_once():
    for layout in ("contiguous", "interleaved"):
        chains = make_chains(10, 4, layout)
        assert sorted(i for c in chains for i in c) == list(range(10)) and len(chains) == 4
    assert make_chains(10, 3)[0] == [0, 1, 2]  # contiguous runs: sorted neighbours in a lane
    assert make_chains(10, 3, "interleaved")[0] == [0, 3, 6, 9]
    assert len(make_chains(2, 8)) == 2


@pytest.mark.parametrize("device", DEVICES)
def test_batched_pcg_reaches_the_true_residual_on_every_lane(device):
    family = pdes.get("darcy", grid=(20, 16))
    systems = [family.sample(i, 0) for i in range(7)]
    solver = solvers.get("batched", tol=1e-9, device=device, batch=3)
    results = list(solver.solve_sequence(systems))
    assert len(results) == 7
    for system, result in zip(systems, results, strict=True):
        assert result.converged and result.residual <= 1e-9
        assert system.relative_residual(result.x) == result.residual
        exact = spla.spsolve(system.matrix.tocsc(), system.rhs)
        assert np.linalg.norm(result.x - exact) <= 1e-6 * np.linalg.norm(exact)
        assert 3 <= result.iterations <= 40  # preconditioned: grid-independent, not 1


@pytest.mark.parametrize("device", DEVICES)
def test_a_lane_that_converges_early_is_left_undisturbed(device):
    """Lane 0 holds a constant-coefficient system (exact preconditioner: one iteration);
    it is recorded at once and refilled while lane 1 keeps iterating on a hard medium."""
    family = pdes.get("darcy", grid=(16, 16))
    easy = family.assemble(coefficient=2.0)
    hard = family.assemble(coefficient=np.exp(3 * np.random.default_rng(0).random((16, 16))))
    systems = [easy, easy, hard]

    def load(items):
        faces, reaction = stack_stencils([systems[i].stencil for i in items], device)
        return faces, reaction, _stack([systems[i] for i in items], device)

    lanes = Lanes([[0, 1], [2]], load, tol=1e-10, warm_start=True, max_iterations=500)
    pcg_lanes(lanes, lambda op: SpectralPreconditioner(op, basis="node", precision="float64"))
    exact = spla.spsolve(easy.matrix.tocsc(), easy.rhs)
    assert lanes.results[0].iterations == 1 and lanes.results[1].iterations <= 1
    assert np.abs(lanes.results[0].x.numpy().ravel() - exact).max() < 1e-10 * np.abs(exact).max()
    assert lanes.results[2].iterations > 5
    for i, system in enumerate(systems):
        assert system.relative_residual(lanes.results[i].x.numpy().ravel()) <= 1e-10


@pytest.mark.parametrize("device", DEVICES)
def test_batched_agrees_with_one_at_a_time(device):
    family = pdes.get("darcy", grid=(18, 18), coefficient="threshold")
    systems = [family.sample(i, 5) for i in range(6)]
    together = list(solvers.get("batched", tol=1e-10, device=device, batch=6)
                    .solve_sequence(systems))
    alone = [solvers.get("batched", tol=1e-10, device=device, batch=1).solve(s) for s in systems]
    for a, b in zip(together, alone, strict=True):
        assert a.converged and b.converged
        assert np.linalg.norm(a.x - b.x) <= 1e-8 * np.linalg.norm(b.x)


@pytest.mark.parametrize("device", DEVICES)
def test_batched_gmres_solves_helmholtz_with_the_shifted_laplacian(device):
    family = pdes.get("helmholtz", grid=(24, 24))
    systems = [family.sample(i, 0) for i in range(4)]
    results = list(solvers.get("batched", tol=1e-7, device=device, batch=2)
                   .solve_sequence(systems))
    assert all(r.converged and r.info["method"] == "gmres" for r in results)
    assert max(r.residual for r in results) <= 1e-7


def test_skr_engines_give_the_same_solutions_in_input_order():
    family = pdes.get("darcy", grid=(20, 20))
    systems = [family.sample(i, 1) for i in range(5)]
    batched = list(solvers.get("skr", tol=1e-9, device="cpu", engine="batched", batch=2)
                   .solve_sequence(systems))
    factor = list(solvers.get("skr", tol=1e-9, device="cpu", engine="factor")
                  .solve_sequence(systems))
    assert all(r.info["engine"] == "batched" for r in batched)
    for system, a, b in zip(systems, batched, factor, strict=True):
        assert a.converged and b.converged and a.residual == system.relative_residual(a.x)
        assert np.linalg.norm(a.x - b.x) <= 1e-7 * np.linalg.norm(b.x)


def test_bad_batched_options_are_solver_errors():
    with pytest.raises(solvers.SolverError, match="batch"):
        solvers.get("batched", batch=-1)
    with pytest.raises(solvers.SolverError, match="engine"):
        solvers.get("skr", engine="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(solvers.SolverError, match="no CUDA"):
            solvers.get("batched", device="cuda")


def test_cli_rejects_cuda_without_gpu_and_bad_batch(tmp_path):
    exe = Path(sys.executable).with_name("pdeforge")
    store = tmp_path / "d.zarr"
    bad = [["--solver", "skr", "-s", "batch=-2"]]
    if not torch.cuda.is_available():
        bad.append(["--device", "cuda"])
    for extra in bad:
        run = subprocess.run([str(exe), "generate", "--grid", "8", "--n", "2", "--out",
                              str(store), *extra], capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and run.stderr.startswith("error:")
        assert not store.exists()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["darcy", "heat"])
def test_solve_samples_on_the_device_matches_the_host_path(name, device):
    """What the generate flow stores: same inputs, same solutions, TRUE residuals, in order."""
    family = pdes.get(name, grid=(16, 12))
    indices = [5, 0, 3, 9, 2]
    on_device = list(solvers.get("batched", tol=1e-9, device=device, batch=2)
                     .solve_samples(family, indices, seed=4))
    on_host = list(solvers.get("petsc:lu", tol=1e-9).solve_samples(family, indices, seed=4))
    assert len(on_device) == len(on_host) == len(indices)
    for i, (a, b) in zip(indices, zip(on_device, on_host, strict=True), strict=True):
        (ra, fa, pa), (rb, fb, pb) = a, b
        system = family.sample(i, 4)
        assert ra.converged and abs(ra.residual - system.relative_residual(ra.x)) < 1e-12
        assert np.linalg.norm(ra.x - rb.x) <= 1e-7 * np.linalg.norm(rb.x)
        assert set(fa) == set(fb) and all(np.allclose(fa[k], fb[k], rtol=1e-12) for k in fa)
        assert pa == pytest.approx(pb, rel=1e-12)


def test_unpreconditioned_lanes_are_conjugate_gradients_not_steepest_descent():
    """M = I must not alias the residual (PCG updates it in place): CG's iteration count."""
    system = pdes.get("darcy", grid=(24, 24)).sample(0, 0)
    result = solvers.get("batched", preconditioner="none", tol=1e-8, device="cpu").solve(system)
    reference = solvers.get("petsc:cg+none", tol=1e-8).solve(system)
    assert result.converged and result.iterations <= 1.2 * reference.iterations + 5


@pytest.mark.parametrize("device", DEVICES)
def test_spectral_lanes_keep_solid_cells_out_of_the_search_directions(device):
    """On obstacles the box-DST sees the fluid block only (residual zero-extended into the
    solids, identity rows kept apart): several times fewer iterations than CG, and the
    solids' values stay 0. Before, directions leaked into the solids: 260-500
    iterations at 64^2, more than CG's 200-235."""
    family = pdes.get("obstacles", grid=(64, 64), solids="grf", fraction=0.3)
    systems = [family.sample(i, 0) for i in range(3)]
    solver = solvers.get("batched", tol=1e-6, device=device)
    reference = solvers.get("petsc:cg+none", tol=1e-6)
    for system, result in zip(systems, solver.solve_sequence(systems), strict=True):
        cg = reference.solve(system)
        solid = system.fields["mask"].ravel() == 1
        assert result.converged and result.residual <= 1e-6
        assert result.iterations * 4 < cg.iterations
        assert np.abs(result.x[solid]).max() <= 1e-8 * np.abs(result.x).max()
