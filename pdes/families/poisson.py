"""Poisson -lap u = f with random smooth forcing and Dirichlet data: one fixed operator."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .._features import laplace_solution_modes
from .._grid import as_field
from .._random_fields import (
    chebyshev_basis,
    chebyshev_series,
    decaying_coefficients,
    sine_basis,
    sine_series,
)
from .._stencils import Stencil, diffusion_faces, stencil_matrix
from .._system import LinearSystem
from ._levels import StencilFamily

if TYPE_CHECKING:
    import torch

    from .._batch import SystemBatch

__all__ = ["Poisson"]

FORCING_SCALE = 2 * np.pi**2  # makes the forcing's share of u as large as the boundary data's


class Poisson(StencilFamily):
    """A stencil-level family whose samples share one matrix OBJECT (multiple right-hand
    sides): treat it read-only.

    Forcing: a sine series with ``modes`` terms per axis. Dirichlet data g: a Chebyshev
    series on the closed cube, stored as the ``boundary`` field = sum over each node's
    boundary neighbours of g (weighted mean_h2 / h_d^2 on anisotropic grids), zero inside;
    rhs = forcing + boundary / mean_h2. Features: the solution's lowest sine modes.
    """

    name = "poisson"
    version = "1"  # bumped when its samples change: a store resumes only its own
    defaults: ClassVar[dict[str, Any]] = {"modes": 4}
    field_names = ("forcing", "boundary")

    def check(self) -> None:
        self._integer("modes", 1)

    @cached_property
    def stencil(self) -> Stencil:
        return Stencil(diffusion_faces(self._grid, np.ones(self.grid)))

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        return stencil_matrix(self.stencil)

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        m, d = self._options["modes"], len(self.grid)
        forcing = decaying_coefficients(rng, m, d, first=1)
        boundary = decaying_coefficients(rng, m, d, first=0)
        return {
            "forcing": FORCING_SCALE * sine_series(forcing, *self._grid.coordinates),
            "boundary": self.boundary_field(lambda *x: chebyshev_series(boundary, *x)),
        }

    def _sample_batch(self, indices: np.ndarray, seed: int, device: torch.device
                      ) -> SystemBatch:
        """``_draw``'s coefficients on the host; series, boundary field and rhs on the device.

        The one operator is shared: its faces are broadcast over the lanes, not copied.
        """
        from .. import _batch

        m, d = self._options["modes"], len(self.grid)
        draws = []
        for index in indices:
            rng = self._rng(int(index), seed)
            draws.append((decaying_coefficients(rng, m, d, first=1),
                          decaying_coefficients(rng, m, d, first=0)))
        forcing = FORCING_SCALE * _batch.basis_series(
            np.stack([f for f, _ in draws]), self._grid, sine_basis, device
        )
        boundary = self._grid.mean_h2 * _batch.dirichlet_rhs(
            np.stack([b for _, b in draws]), self._grid, chebyshev_basis, device
        )
        fields = {"forcing": forcing, "boundary": boundary}
        rhs = self._rhs(fields)
        return _batch.SystemBatch(
            faces=tuple(_batch.to_device(f, device).expand(len(indices), *f.shape)
                        for f in self.stencil.faces),
            reaction=rhs.new_zeros(()).expand_as(rhs),
            rhs=rhs,
            fields=fields,
            params={},
            indices=indices,
            seed=seed,
            features=_batch.laplace_solution_modes(rhs, self._grid),
        )

    def _assemble(self, *, forcing: Any, boundary: Any = 0.0) -> LinearSystem:
        fields = {
            "forcing": as_field(forcing, self._grid, "forcing"),
            "boundary": as_field(boundary, self._grid, "boundary"),
        }
        return LinearSystem(
            matrix=self.matrix,
            rhs=self._rhs(fields).ravel(),
            grid=self.grid,
            fields=fields,
            features=self.featurise(fields),
            stencil=self.stencil,
        )

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        return laplace_solution_modes(self._rhs(inputs), self._grid)

    def _rhs(self, fields: dict[str, Any]) -> np.ndarray:
        return fields["forcing"] + fields["boundary"] / self._grid.mean_h2
