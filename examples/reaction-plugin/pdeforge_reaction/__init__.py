"""Reaction-diffusion -div(a grad u) + c u = f, u = g on the boundary: a pdeforge plugin.

A stencil-level family: it only draws the random inputs of each sample; pdeforge assembles
the finite-volume operator, solves, sorts and stores.
"""

from typing import Any, ClassVar

import numpy as np

import pdes


class ReactionDiffusion(pdes.StencilFamily):
    """a = exp(GRF), c = ``reaction`` x exp(GRF) (>= 0: SPD), a smooth random forcing f
    and smooth random Dirichlet data g. Options: the GRF's ``alpha``/``tau``, ``reaction``
    and ``modes`` (terms per axis of the forcing and boundary series)."""

    name = "reaction-diffusion"
    field_names = ("coefficient", "reaction", "forcing", "boundary")
    defaults: ClassVar[dict[str, Any]] = {"alpha": 2.5, "tau": 7.0, "reaction": 50.0,
                                          "modes": 3}

    def check(self) -> None:
        self._number("alpha", 0.0)
        self._number("tau", 0.0)
        self._number("reaction", 0.0, strict=False)
        self._integer("modes", 1)

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        o, d = self.options(), len(self.grid)
        x = self.coordinates
        medium = pdes.gaussian_random_field(self.grid, rng, o["alpha"], o["tau"])
        uptake = pdes.gaussian_random_field(self.grid, rng, o["alpha"], o["tau"])
        forcing = pdes.decaying_coefficients(rng, o["modes"], d, first=1)
        boundary = pdes.decaying_coefficients(rng, o["modes"], d, first=0)
        return {
            "coefficient": np.exp(medium),
            "reaction": o["reaction"] * np.exp(uptake),
            "forcing": 10.0 * pdes.sine_series(forcing, *x),
            "boundary": self.boundary_field(lambda *p: pdes.chebyshev_series(boundary, *p)),
        }
