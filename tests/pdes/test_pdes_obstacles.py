"""The obstacles family: SPD, fluid block = fluid-only system, pockets filled, zarr round trip;
darcy's contrast option."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import pdes
import storage


def _fluid_only_matrix(solid: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """-lap on the fluid cells alone, built cell by cell: Dirichlet outside the box, no flux
    into solids. The reference the family's fluid block must equal."""
    cells = [tuple(c) for c in np.argwhere(~solid)]
    number = {c: i for i, c in enumerate(cells)}
    A = np.zeros((len(cells), len(cells)))
    for c, i in number.items():
        for axis, h in enumerate(spacing):
            for step in (-1, 1):
                n = list(c)
                n[axis] += step
                n = tuple(n)
                if not 0 <= n[axis] < solid.shape[axis]:
                    A[i, i] += 1 / h**2
                elif not solid[n]:
                    A[i, i] += 1 / h**2
                    A[i, number[n]] -= 1 / h**2
    return A


@pytest.mark.parametrize(("solids", "grid"), [("discs", 14), ("boxes", 14), ("grf", 14),
                                              ("grf", (7, 6, 8)), ("discs", (6, 7, 6))])
def test_spd_and_fluid_block_is_the_fluid_only_system(solids, grid):
    family = pdes.get("obstacles", grid=grid, solids=solids, fraction=0.35, radius=0.12)
    system = family.sample(1, seed=3)
    solid = system.fields["mask"].astype(bool)
    assert 0.2 < solid.mean() < 0.6
    A = system.matrix.toarray()
    assert np.array_equal(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0  # SPD: no singular pocket survived
    fluid, flat_solid = ~solid.ravel(), solid.ravel()
    assert np.allclose(A[np.ix_(fluid, fluid)], _fluid_only_matrix(solid, family.spacing))
    assert np.array_equal(A[np.ix_(flat_solid, flat_solid)], np.eye(flat_solid.sum()))
    assert not A[np.ix_(fluid, flat_solid)].any()
    assert not system.rhs[flat_solid].any() and np.linalg.norm(system.rhs[fluid]) > 0
    assert np.allclose(pdes.stencil_matrix(system.stencil).toarray(), A)


def test_enclosed_pocket_is_filled():
    mask = np.zeros((12, 12))
    mask[3:9, 3:9] = 1.0
    mask[5:7, 5:7] = 0.0  # fluid cut off from the boundary: a singular Neumann block
    system = pdes.get("obstacles", grid=12).assemble(mask=mask, divergence=1.0)
    assert system.fields["mask"][5:7, 5:7].all() and system.fields["mask"].sum() == 36
    np.linalg.cholesky(system.matrix.toarray())
    assert not system.rhs.reshape(12, 12)[3:9, 3:9].any()


def test_forty_percent_maze_solves_with_cg():
    """The issue's failure case: 40% thresholded GRF solids made CG diverge before filling."""
    system = pdes.get("obstacles", grid=40, solids="grf", fraction=0.4).sample(0, seed=0)
    x, info = spla.cg(system.matrix, system.rhs, rtol=1e-8, maxiter=2000)
    assert info == 0 and system.relative_residual(x) <= 1e-8


def test_mask_and_fluid_cells_round_trip_through_zarr(tmp_path):
    family = pdes.get("obstacles", grid=(10, 9), solids="discs", fraction=0.3, radius=0.15)
    systems = [family.sample(i, seed=5) for i in range(3)]
    solutions = [spla.spsolve(s.matrix.tocsc(), s.rhs).reshape(s.grid) for s in systems]
    url = str(tmp_path / "obstacles.zarr")
    dataset = storage.create_dataset(
        url, n=3, grid=family.grid, fields=family.field_names, params=family.param_names,
        chunk=3, source_index=np.arange(3),
        attrs={"family": "obstacles", "grid": list(family.grid), "seed": 5, "n": 3,
               "family_options": family.options(), "solver": "petsc:lu"})
    dataset.write_block(
        0, inputs={k: np.stack([s.fields[k] for s in systems]) for k in family.field_names},
        solution=np.stack(solutions),
        params={},
        iterations=np.ones(3), residual=np.zeros(3), seconds=np.zeros(3),
        status=np.full(3, storage.DONE))
    stored = storage.open_dataset(url)
    for i, system in enumerate(systems):
        mask = np.asarray(stored.inputs["mask"][i])
        assert np.array_equal(mask, system.fields["mask"])
        again = family.assemble(mask=mask, divergence=np.asarray(stored.inputs["divergence"][i],
                                                                 dtype=np.float64))
        assert (again.matrix != system.matrix).nnz == 0
        u = np.asarray(stored.solution[i], dtype=np.float64)
        assert not u[mask == 1].any()  # solid cells hold 0
        assert again.relative_residual(u) < 1e-5  # the float32 solution solves the fluid cells


@pytest.mark.parametrize("options", [{"fraction": 0.95}, {"solids": "rings"}, {"radius": 0},
                                     {"modes": 0}])
def test_bad_options_are_refused(options):
    with pytest.raises(pdes.PDEError):
        pdes.get("obstacles", grid=8, **options)


def test_mask_must_be_zero_or_one():
    with pytest.raises(pdes.PDEError, match="mask"):
        pdes.get("obstacles", grid=8).assemble(mask=np.full((8, 8), 0.5), divergence=0.0)


def test_darcy_contrast():
    default = pdes.get("darcy", grid=16, coefficient="threshold").sample(0, seed=0)
    assert set(np.unique(default.fields["coefficient"])) == {3.0, 12.0}
    high = pdes.get("darcy", grid=16, coefficient="threshold", contrast=1e3).sample(0, seed=0)
    assert set(np.unique(high.fields["coefficient"])) == {0.012, 12.0}
    assert np.array_equal(high.fields["coefficient"] == 12.0, default.fields["coefficient"] == 12)
    with pytest.raises(pdes.PDEError, match="contrast"):
        pdes.get("darcy", grid=16, contrast=0)
