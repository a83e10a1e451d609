"""DCDM: loss, A-orthogonal directions, true residuals on held-out systems, unseen grids,
checkpoints. One tiny model (obstacles at 16x16, a few seconds of training) serves them all."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

import pdes
import solvers
from solvers._threads import single_threaded
from solvers.batched._operators import StencilOperator, lane_dot
from solvers.dcdm import (
    DirectionNet,
    _iterations,
    build_training_set,
    dcdm_loss,
    load_model,
    network_from,
    network_settings,
    solve_on_lanes,
    train_model,
)
from solvers.dcdm._data import lanczos_ritz

OPTIONS = {"solids": "grf", "fraction": 0.3}
TINY = {"epochs": 2, "epoch_size": 48, "batch_size": 8, "channels": 8, "matrices": 2,
        "validate": 1}


@pytest.fixture(scope="session")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("dcdm") / "obstacles16.pt"
    figures = train_model("obstacles", (16, 16), path, family_options=OPTIONS, progress=False,
                          device="cpu", **TINY)
    assert figures["epoch"] == 2 and len(figures["history"]["loss"]) == 2
    return path


def _held_out(grid, n=3):
    family = pdes.get("obstacles", grid=grid, **OPTIONS)
    return [family.sample(i, seed=1) for i in range(n)]  # training used seed 0


def _cg_iterations(system, tol):
    count = [0]
    spla.cg(system.matrix, system.rhs, rtol=tol, maxiter=5000,
            callback=lambda _: count.__setitem__(0, count[0] + 1))
    return count[0]


def test_loss_decreases_on_a_small_problem():
    torch.manual_seed(0)
    family = pdes.get("obstacles", grid=12, **OPTIONS)
    config = {"matrices": 2, "modes": 4096, "lanczos_steps": 50, "residuals": False,
              "seed": 0, "validate_tol": 1e-6}
    data = build_training_set(family, config, torch.device("cpu"))
    lanes, b, energy = data.draw(8, torch.Generator().manual_seed(0))
    op = data.op.select(lanes)
    net = DirectionNet(2, channels=8, base="spectral")  # at 12^2 the multigrid base is exact
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    with torch.no_grad():
        first = dcdm_loss(net, op, b, energy).item()
    with single_threaded(torch.device("cpu")):  # tiny convolutions: threads only spin
        for _ in range(25):
            loss = dcdm_loss(net, op, b, energy)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        assert dcdm_loss(net, op, b, energy).item() < 0.7 * first
        assert dcdm_loss(net, op, b).item() >= 0  # the paper's residual form evaluates too


def test_energy_of_training_vectors_is_exact():
    family = pdes.get("obstacles", grid=10, **OPTIONS)
    config = {"matrices": 1, "modes": 4096, "lanczos_steps": 50, "residuals": True,
              "seed": 0, "validate_tol": 1e-6}
    data = build_training_set(family, config, torch.device("cpu"))
    lanes, b, energy = data.draw(4, torch.Generator().manual_seed(1))  # 2 eigen, 2 CG residuals
    A = family.sample(0, 0).matrix.tocsc()
    for vector, value in zip(b.double().numpy(), energy.numpy(), strict=True):
        exact = vector.ravel() @ spla.spsolve(A, vector.ravel())
        assert np.linalg.norm(vector) == pytest.approx(1, rel=1e-5)
        assert value == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_directions_are_a_orthogonal_to_the_kept_ones(model, monkeypatch, k):
    seen = []
    original = _iterations.safe_direction

    def recording(op, q, r):
        out = original(op, q, r)
        seen.append(out[:2])
        return out

    monkeypatch.setattr(_iterations, "safe_direction", recording)
    systems = _held_out((24, 24), n=2)  # 16^2 is the multigrid's coarsest level: exact
    solve_on_lanes(network_from(load_model(model)), systems, 1e-13, k=k, max_iterations=8,
                   batch=2)
    assert len(seen) == 8
    for i, (q, aq) in enumerate(seen):
        for p, ap in seen[max(0, i - k):i]:
            cosine = lane_dot(q, ap) / torch.sqrt(lane_dot(q, aq) * lane_dot(p, ap))
            assert float(cosine.abs().max()) < 1e-10


@pytest.mark.parametrize("name", ["dcdm", "fcg-dcdm"])
def test_reaches_the_true_residual_on_held_out_systems(model, name):
    systems = _held_out((16, 16), n=5)
    solver = solvers.get(name, model=str(model), tol=1e-8, batch=2, device="cpu")
    results = list(solver.solve_sequence(systems))
    assert [r.x.shape for r in results] == [(256,)] * 5
    for system, result in zip(systems, results, strict=True):
        assert result.converged and result.residual <= 1e-8
        assert system.relative_residual(result.x) == result.residual  # TRUE residual
        assert not result.x[system.fields["mask"].ravel() == 1].any()  # solids hold 0


def test_unseen_grid_runs_and_cuts_iterations_against_cg(model):
    systems = _held_out((40, 40), n=2)
    results = list(solvers.get("dcdm", model=str(model), tol=1e-6).solve_sequence(systems))
    for system, result in zip(systems, results, strict=True):
        assert result.converged
        assert result.iterations < _cg_iterations(system, 1e-6) / 3


def test_a_model_trained_at_one_resolution_converges_at_four_times_it(model):
    """Trained at 16x16, applied at 64x64 (16x the unknowns): the iterations grow by a
    bounded factor, far below CG's growth (the multigrid base carries the global coupling)."""
    solver = solvers.get("dcdm", model=str(model), tol=1e-6, device="cpu")
    counts = {}
    for grid in ((16, 16), (64, 64)):
        systems = _held_out(grid, n=2)
        results = list(solver.solve_sequence(systems))
        assert all(r.converged and r.residual <= 1e-6 for r in results)
        counts[grid] = max(r.iterations for r in results)
        cg = min(_cg_iterations(s, 1e-6) for s in systems)
    assert counts[(64, 64)] <= 2 * counts[(16, 16)] + 10 and counts[(64, 64)] < cg / 4


@pytest.mark.parametrize(("name", "options"), [
    ("obstacles", OPTIONS), ("darcy", {"coefficient": "threshold", "contrast": 1e3})])
def test_untrained_multigrid_base_is_multigrid_pcg_and_stays_flat(name, options):
    """Untrained, the network returns the lane multigrid's cycle: its conjugate directions
    take PCG's iterations with that cycle (``batched`` with mg), on solids and at contrast
    1e3 alike, and they do not grow with the grid."""
    net = DirectionNet(2).eval()
    pcg = solvers.get("batched", preconditioner="mg", tol=1e-6, device="cpu")
    counts = {}
    for side in (32, 128):
        systems = [pdes.get(name, grid=side, **options).sample(i, seed=1) for i in range(2)]
        solved = solve_on_lanes(net, systems, 1e-6, max_iterations=100)
        reference = list(pcg.solve_sequence(systems))
        for system, (x, iterations), result in zip(systems, solved, reference, strict=True):
            assert system.relative_residual(x) <= 1e-6
            assert abs(iterations - result.iterations) <= 1
        counts[side] = max(iterations for _, iterations in solved)
    assert counts[128] <= counts[32] + 2 <= 14


def test_mixed_resolution_training_resumes_exactly(tmp_path):
    """Steps alternate between the grids; a run stopped by its time budget after one epoch
    and resumed ends where two uninterrupted epochs do."""
    recipe = {"family_options": OPTIONS, "progress": False, "device": "cpu", "grids": [8, 12],
              "epoch_size": 16, "batch_size": 4, "channels": 4, "matrices": 1, "validate": 0}
    straight = train_model("obstacles", (12, 12), tmp_path / "straight.pt", epochs=2, **recipe)
    stopped = train_model("obstacles", (12, 12), tmp_path / "resumed.pt", epochs=2,
                          max_minutes=1e-9, **recipe)
    assert stopped["epoch"] == 1
    resumed = train_model("obstacles", (12, 12), tmp_path / "resumed.pt", epochs=2, **recipe)
    assert straight["history"]["loss"] == resumed["history"]["loss"]
    a, b = load_model(tmp_path / "straight.pt"), load_model(tmp_path / "resumed.pt")
    assert a["training"]["grids"] == [[8, 8], [12, 12]] and a["network"]["base"] == "multigrid"
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    with pytest.raises(solvers.SolverError, match="grids"):
        train_model("obstacles", (12, 12), tmp_path / "bad.pt", grids=[[8, 8, 8]], **{
            k: v for k, v in recipe.items() if k != "grids"})


def test_a_checkpoint_without_base_is_spectral():
    assert network_settings({"channels": 4, "spectral": True})["base"] == "spectral"
    assert network_settings({"channels": 4, "spectral": False}) == {"channels": 4,
                                                                     "base": "none"}
    assert DirectionNet(2, base="spectral").lift.in_channels == 2
    assert DirectionNet(2, base="none").lift.in_channels == 1


def test_checkpoint_round_trips(model):
    state = torch.load(model, weights_only=True)
    assert state["family"] == "obstacles" and state["grid"] == [16, 16] and state["ndim"] == 2
    assert state["torch"] == str(torch.__version__) and state["epoch"] == 2
    assert state["family_options"]["solids"] == "grf"
    assert set(state["history"]) == {"loss", "val_iterations", "seconds"}
    net, again = network_from(load_model(model)), network_from(load_model(model))
    op = StencilOperator.from_stencils([s.stencil for s in _held_out((16, 16), n=2)])
    r = torch.randn(2, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(net(r, net.context(op)), again(r, again.context(op)))
    resumed = train_model("obstacles", (16, 16), model, epochs=2)  # already there: no-op
    assert resumed["epoch"] == 2 and torch.load(model, weights_only=True)["epoch"] == 2


def test_model_of_another_family_or_dimension_is_refused(model):
    darcy = pdes.get("darcy", grid=16).sample(0, seed=0)
    solver = solvers.get("dcdm", model=str(model))
    with pytest.raises(solvers.SolverError, match="trained on obstacles"):
        solver.solve(darcy)
    with pytest.raises(solvers.SolverError, match="3-D"):
        solver.check_problem("obstacles", (8, 8, 8))
    with pytest.raises(solvers.SolverError, match="trained on obstacles"):
        train_model("darcy", (16, 16), model)


def test_missing_model_is_bad_input(tmp_path):
    solver = solvers.get("dcdm", model=str(tmp_path / "nothing.pt"))  # constructors only store
    with pytest.raises(solvers.SolverError, match="no DCDM model"):
        solver.setup()
    with pytest.raises(solvers.SolverError, match="model=PATH"):
        solvers.get("fcg-dcdm")


def test_lanczos_ritz_pairs_with_full_reorthogonalisation():
    """Above DENSE_LIMIT (3-D training grids) Ritz pairs replace eigenpairs: n steps are exact."""
    system = pdes.get("obstacles", grid=(5, 4, 6), **OPTIONS).sample(0, seed=0)
    fluid = np.flatnonzero(system.fields["mask"].ravel() == 0)
    A = system.matrix[fluid][:, fluid]  # the coupled block, as training passes it
    values, vectors = lanczos_ritz(A, A.shape[0], np.random.default_rng(0))
    assert np.allclose(values, np.linalg.eigvalsh(A.toarray()), rtol=1e-8, atol=1e-8)
    assert np.allclose(vectors @ vectors.T, np.eye(A.shape[0]), atol=1e-8)
    assert np.allclose(A @ vectors.T, vectors.T * values, atol=1e-6 * values.max())


def test_training_set_from_ritz_pairs_above_the_dense_limit(monkeypatch):
    from solvers.dcdm import _data

    monkeypatch.setattr(_data, "DENSE_LIMIT", 10)  # force the Lanczos path on a small 3-D grid
    family = pdes.get("obstacles", grid=(6, 5, 6), **OPTIONS)
    config = {"matrices": 2, "modes": 4096, "lanczos_steps": 30, "residuals": False,
              "seed": 0, "validate_tol": 1e-6}
    data = build_training_set(family, config, torch.device("cpu"))
    assert data.modes.shape == (2, 30, 180)
    lanes, b, energy = data.draw(4, torch.Generator().manual_seed(0))
    assert b.shape == (4, 6, 5, 6) and bool((energy > 0).all())
