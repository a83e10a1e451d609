"""The public family levels: registration, import paths and the convection-diffusion family."""

import numpy as np
import pytest

import pdes


class Shifted(pdes.StencilFamily):
    """-lap u + c u = f with c ~ U(0, 10): the stencil level's defaults do everything else."""

    name = "shifted-test"
    field_names = ("forcing",)
    param_names = ("reaction",)

    def draw(self, rng, index):
        c = pdes.decaying_coefficients(rng, 2, len(self.grid), first=1)
        return {"forcing": pdes.sine_series(c, *self.coordinates),
                "reaction": rng.uniform(0, 10)}


def test_register_resolve_and_paths():
    assert pdes.register(Shifted) is Shifted and "shifted-test" in pdes.available()
    family = pdes.get("shifted-test", grid=8)
    assert pdes.resolve(pdes.family_path(Shifted)) is Shifted
    assert pdes.resolve("pdes.families.darcy:Darcy") is pdes.Darcy
    assert pdes.family_version(pdes.Darcy) == "1"
    system = family.sample(1, 2)
    expected = pdes.laplacian(pdes.make_grid(8)) + system.params["reaction"] * np.eye(64)
    assert np.abs(system.matrix.toarray() - expected).max() < 1e-9
    assert system.stencil is not None and system.definite
    again = family.assemble(**system.fields, **system.params)
    assert np.array_equal(again.rhs, system.rhs) and np.array_equal(again.features,
                                                                    system.features)


@pytest.mark.parametrize("flux", ["sg", "upwind"])
def test_convection_diffusion_is_conservative_and_nonsymmetric(flux):
    family = pdes.get("convection-diffusion", grid=(12, 10), peclet=50.0, flux=flux)
    system = family.sample(0, 3)
    u, v = family.face_velocities(system.fields["stream"], system.params["angle"])
    h = family.spacing
    divergence = (u[1:] - u[:-1]) / h[0] + (v[:, 1:] - v[:, :-1]) / h[1]
    assert np.abs(divergence).max() < 1e-9 * np.abs(u).max() / h[0]
    # a constant is in the kernel of every interior row: the fluxes of a divergence-free
    # flow and of diffusion cancel (rows next to the boundary see u = 0 outside)
    row_sums = (system.matrix @ np.ones(system.size)).reshape(family.grid)
    assert np.abs(row_sums[1:-1, 1:-1]).max() < 1e-9 * abs(system.matrix).max()
    assert not system.symmetric and abs(system.matrix - system.matrix.T).max() > 1
    assert np.all(system.matrix.diagonal() > 0)


def test_convection_diffusion_without_flow_is_the_diffusion_matrix():
    family = pdes.get("convection-diffusion", grid=9, peclet=0.0)
    system = family.sample(2, 0)
    diffusion = pdes.diffusion_matrix(pdes.make_grid(9), system.fields["coefficient"])
    assert abs(system.matrix - diffusion).max() < 1e-12 * abs(diffusion).max()
    assert system.symmetric
