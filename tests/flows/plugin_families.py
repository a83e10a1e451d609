"""Families the plugin tests import by path (``plugin_families:Name``): one general-level
family and the bad plugins pdeforge must refuse."""

from typing import Any

import numpy as np
import scipy.sparse as sp

import pdes


class Tilted(pdes.SystemFamily):
    """-lap u + t du/dx = f (central differences: nonsymmetric), t ~ U(0, 20)."""

    name = "tilted"
    version = "2"
    field_names = ("forcing",)
    param_names = ("tilt",)

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        c = pdes.decaying_coefficients(rng, 3, len(self.grid), first=1)
        return {"forcing": pdes.sine_series(c, *self.coordinates), "tilt": rng.uniform(0, 20)}

    def assemble(self, *, forcing: Any, tilt: float) -> pdes.LinearSystem:
        n, h = self.grid[0], self.spacing[0]
        dx = sp.diags([-1.0, 1.0], [-1, 1], shape=(n, n)) / (2 * h)
        convection = sp.kron(dx, sp.identity(int(np.prod(self.grid[1:]))))
        matrix = sp.csr_matrix(pdes.laplacian(pdes.make_grid(self.grid)) + tilt * convection)
        return pdes.LinearSystem(matrix=matrix, rhs=np.ravel(forcing), grid=self.grid,
                                 symmetric=False, definite=False)


class WrongShape(pdes.StencilFamily):
    name = "wrong-shape"

    def draw(self, rng, index):
        return {"coefficient": np.ones((3, 3)), "forcing": 1.0}


class NotFinite(pdes.StencilFamily):
    name = "not-finite"

    def draw(self, rng, index):
        forcing = np.ones(self.grid)
        forcing[1, 1] = np.nan
        return {"coefficient": 1.0, "forcing": forcing}


class NonPositive(pdes.StencilFamily):
    name = "non-positive"

    def draw(self, rng, index):
        return {"coefficient": -np.ones(self.grid), "forcing": 1.0}


class SizeMismatch(Tilted):
    name = "size-mismatch"

    def assemble(self, *, forcing: Any, tilt: float) -> pdes.LinearSystem:
        system = super().assemble(forcing=forcing, tilt=tilt)
        system.rhs = system.rhs[:-1]
        return system


NOT_A_FAMILY = 42
