"""Pressure Poisson around random solid obstacles: where a fast Poisson preconditioner is not
exact (DCDM's home ground).

Every cell is an unknown, so all solvers work on grid-shaped vectors: a solid cell is
decoupled by an identity row (reaction 1, its faces 0, rhs 0) and its value is 0, and the
fluid block is exactly the fluid-only system: -lap p = -div u* on the fluid cells, zero flux
through solid faces, p = 0 on the outer boundary. A fluid pocket that solids cut off from the
boundary would be a singular pure-Neumann block, so it is filled (turned solid): the matrix
is SPD.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.ndimage

from .._errors import PDEError
from .._features import low_mode_features
from .._grid import Grid, as_field
from .._random_fields import chebyshev_series, decaying_coefficients, gaussian_random_field
from .._stencils import Stencil, stencil_matrix
from .._system import LinearSystem
from ._levels import StencilFamily

__all__ = ["Obstacles", "fill_pockets", "fluid_faces"]

SOLIDS = ("discs", "boxes", "grf")
MAX_FRACTION = 0.9
MAX_SHAPES = 10_000  # discs/boxes drawn at most per sample (a tiny radius never loops forever)


class Obstacles(StencilFamily):
    """Solids: random ``discs`` (balls), axis-aligned ``boxes`` or a thresholded GRF (``grf``,
    maze-like) covering about ``fraction`` of the cells before pockets are filled.

    Disc radii (box half-widths) are uniform in [0.5, 1.5] x ``radius`` (unit-square lengths);
    the GRF is GRF(``alpha``, ``tau``) above its (1 - fraction) quantile. The rhs is the
    finite-volume -div u* of a smooth random velocity u* (Chebyshev series with ``modes``
    terms per axis, zero through solid faces). Input fields: ``mask`` (1 solid, 0 fluid; the
    filled one) and ``divergence`` (the rhs, 0 on solids). A stencil-level family whose
    faces come from the mask (zero through solid faces), not from a coefficient's mean.
    """

    name = "obstacles"
    version = "1"  # bumped when its samples change: a store resumes only its own
    field_names = ("mask", "divergence")

    @property
    def resolution_independent(self) -> bool:
        """Whether sample i has the same solids at every grid (a resolution ladder): discs and
        boxes are drawn in unit-square lengths; the GRF is drawn as FFT noise on the grid."""
        return self._options["solids"] != "grf"
    defaults: ClassVar[dict[str, Any]] = {
        "solids": "discs",
        "fraction": 0.2,
        "radius": 0.05,
        "alpha": 2.5,
        "tau": 7.0,
        "modes": 4,
    }

    def check(self) -> None:
        self._choice("solids", SOLIDS)
        fraction = self._number("fraction", 0.0, strict=False)
        if fraction >= MAX_FRACTION:
            raise PDEError(f"obstacles option fraction must be < {MAX_FRACTION}, got {fraction}")
        self._number("radius", 0.0)
        self._number("alpha", 0.0)
        self._number("tau", 0.0)
        self._integer("modes", 1)

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        solid = self._solids(rng)
        d = len(self.grid)
        velocity = [decaying_coefficients(rng, self._options["modes"], d, first=0)
                    for _ in range(d)]
        mask = fill_pockets(solid)
        return {"mask": mask.astype(np.float64),
                "divergence": _divergence(self._grid, mask, velocity)}

    def _solids(self, rng: np.random.Generator) -> np.ndarray:
        o, grid = self._options, self._grid
        if o["fraction"] == 0:
            return np.zeros(grid.shape, dtype=bool)
        if o["solids"] == "grf":
            field = gaussian_random_field(grid.shape, rng, o["alpha"], o["tau"])
            return field >= np.quantile(field, 1 - o["fraction"])
        solid = np.zeros(grid.shape, dtype=bool)
        for _ in range(MAX_SHAPES):
            if solid.mean() >= o["fraction"]:
                break
            centre = rng.uniform(0, 1, grid.ndim)
            size = o["radius"] * rng.uniform(0.5, 1.5, 1 if o["solids"] == "discs" else grid.ndim)
            offsets = [x - c for x, c in zip(grid.coordinates, centre, strict=True)]
            if o["solids"] == "discs":
                solid |= sum(x**2 for x in offsets) <= size[0] ** 2
            else:
                solid |= np.logical_and.reduce(
                    [np.abs(x) <= s for x, s in zip(offsets, size, strict=True)])
        return solid

    def _assemble(self, *, mask: Any, divergence: Any) -> LinearSystem:
        solid = as_field(mask, self._grid, "mask")
        if not np.all((solid == 0) | (solid == 1)):
            raise PDEError("field 'mask' must hold only 0 (fluid) and 1 (solid)")
        solid = fill_pockets(solid.astype(bool))
        rhs = np.where(solid, 0.0, as_field(divergence, self._grid, "divergence"))
        fields = {"mask": solid.astype(np.float64), "divergence": rhs}
        stencil = Stencil(fluid_faces(self._grid, ~solid), reaction=fields["mask"])
        return LinearSystem(
            matrix=stencil_matrix(stencil), rhs=rhs.ravel(), grid=self.grid, fields=fields,
            features=self.featurise(fields), stencil=stencil,
        )

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        return low_mode_features(inputs["mask"])


def fill_pockets(solid: np.ndarray) -> np.ndarray:
    """``solid`` plus every fluid region (face-connected) that touches no outer boundary face.

    Such a region has zero flux all round: its block would be a singular Neumann Laplacian.
    """
    labels, count = scipy.ndimage.label(~solid)
    if count == 0:
        return solid.copy()
    edge = np.zeros(solid.shape, dtype=bool)
    for axis in range(solid.ndim):
        edge[_index(axis, solid.ndim, 0)] = edge[_index(axis, solid.ndim, -1)] = True
    reaching = np.unique(labels[edge & ~solid])
    return solid | ~np.isin(labels, reaching)


def fluid_faces(grid: Grid, fluid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Face coefficients / h^2 (``pdes.Stencil`` layout): 1 / h_d^2 on a face between two fluid
    cells or between a fluid cell and the outer boundary (Dirichlet), 0 on any solid face."""
    inside = np.pad(fluid.astype(np.float64), 1, constant_values=1.0)
    faces = []
    for axis, h in enumerate(grid.spacing):
        core = tuple(slice(None) if a == axis else slice(1, -1) for a in range(grid.ndim))
        padded = inside[core]
        lo = padded[_index(axis, grid.ndim, slice(0, -1))]
        hi = padded[_index(axis, grid.ndim, slice(1, None))]
        faces.append(lo * hi / h**2)
    return tuple(faces)


def _divergence(grid: Grid, solid: np.ndarray, velocity: list[np.ndarray]) -> np.ndarray:
    """-div u* by finite volumes: u*_d at the faces normal to d, 0 through solid faces."""
    open_faces = fluid_faces(grid, ~solid)
    rhs = np.zeros(grid.shape)
    for axis, (h, coefficients) in enumerate(zip(grid.spacing, velocity, strict=True)):
        points = [_pad_axis(c, axis) for c in grid.coordinates]
        shape = [-1 if a == axis else 1 for a in range(grid.ndim)]
        points[axis] = np.broadcast_to(
            ((np.arange(grid.shape[axis] + 1) + 0.5) * h).reshape(shape), points[axis].shape)
        flux = chebyshev_series(coefficients, *points) * (open_faces[axis] > 0)
        rhs -= (flux[_index(axis, grid.ndim, slice(1, None))]
                - flux[_index(axis, grid.ndim, slice(0, -1))]) / h
    return np.where(solid, 0.0, rhs)


def _pad_axis(values: np.ndarray, axis: int) -> np.ndarray:
    """``values`` with one more entry along ``axis`` (copies the last), for face-shaped points."""
    return np.concatenate([values, values[_index(axis, values.ndim, slice(-1, None))]], axis=axis)


def _index(axis: int, ndim: int, item: int | slice) -> tuple[int | slice, ...]:
    return tuple(item if a == axis else slice(None) for a in range(ndim))
