"""Convection-diffusion -div(a grad u) + v . grad u = f: a nonsymmetric general-level family."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .._errors import PDEError
from .._features import low_mode_features
from .._grid import as_field
from .._random_fields import decaying_coefficients, gaussian_random_field, sine_series
from .._stencils import diffusion_faces
from .._system import LinearSystem
from ._levels import SystemFamily

__all__ = ["ConvectionDiffusion", "bernoulli"]

FLUXES = ("sg", "upwind")
STREAM_MODES = 4


class ConvectionDiffusion(SystemFamily):
    """Medium a = exp(GRF(alpha, tau)); velocity v = ``peclet`` (cos t, sin t) + curl psi.

    ``peclet`` is the Péclet number of the mean velocity (|v| L / a with L = 1, a ~ 1);
    the angle t is uniform; the stream function psi (a sine series, zero on the boundary,
    ``swirl`` x ``peclet`` / pi in size) is stored as the ``stream`` field. Finite volumes
    on the 2-D grid, homogeneous Dirichlet data: face velocities are differences of psi at
    the cell corners, so the discrete velocity is exactly divergence-free; face fluxes are
    Scharfetter-Gummel (``flux="sg"``, exponential fitting) or first-order ``upwind``.
    Nonsymmetric once peclet > 0: the CSR engines solve it (GCRO-DR in ``skr``).
    """

    name = "convection-diffusion"
    version = "1"  # bumped when its samples change: a store resumes only its own
    field_names = ("coefficient", "stream")
    param_names = ("angle",)
    defaults: ClassVar[dict[str, Any]] = {
        "peclet": 10.0, "swirl": 0.5, "flux": "sg", "alpha": 2.5, "tau": 7.0, "forcing": 1.0,
    }

    def check(self) -> None:
        if len(self.grid) != 2:
            raise PDEError(f"{self.name} is 2-D (a stream function), got grid {self.grid}")
        self._number("peclet", 0.0, strict=False)
        self._number("swirl", 0.0, strict=False)
        self._choice("flux", FLUXES)
        self._number("alpha", 0.0)
        self._number("tau", 0.0)
        self._number("forcing")

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        o = self._options
        coefficient = np.exp(gaussian_random_field(self.grid, rng, o["alpha"], o["tau"]))
        angle = rng.uniform(0.0, 2 * math.pi)
        c = decaying_coefficients(rng, STREAM_MODES, 2, first=1)
        scale = o["swirl"] * o["peclet"] / math.pi
        return {"coefficient": coefficient, "angle": angle,
                "stream": scale * sine_series(c, *self._grid.coordinates)}

    def assemble(self, *, coefficient: Any, stream: Any, angle: Any) -> LinearSystem:
        a = as_field(coefficient, self._grid, "coefficient", positive=True)
        psi = as_field(stream, self._grid, "stream")
        t = float(angle)
        velocity = self.face_velocities(psi, t)
        matrix = flux_matrix(diffusion_faces(self._grid, a), velocity, self._grid.spacing,
                             self._options["flux"])
        fields = {"coefficient": a, "stream": psi}
        return LinearSystem(
            matrix=matrix, rhs=np.full(a.size, self._options["forcing"]), grid=self.grid,
            fields=fields, params={"angle": t}, features=self.featurise({**fields, "angle": t}),
            symmetric=self._options["peclet"] == 0 and not psi.any(), definite=False,
        )

    def face_velocities(self, stream: np.ndarray, angle: float) -> tuple[np.ndarray, ...]:
        """Normal velocity on every face (``Stencil`` face layout): the mean flow plus the
        curl of psi from its corner values (means of the 4 nodes around, 0 outside)."""
        h = self._grid.spacing
        padded = np.pad(stream, 1)
        corners = 0.25 * (padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:])
        mean = self._options["peclet"] * np.array([math.cos(angle), math.sin(angle)])
        u = mean[0] + (corners[:, 1:] - corners[:, :-1]) / h[1]
        v = mean[1] - (corners[1:, :] - corners[:-1, :]) / h[0]
        return u, v

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        t = float(inputs["angle"])
        scale = max(self._options["peclet"], 1.0)
        return np.concatenate([low_mode_features(np.log(inputs["coefficient"])),
                               low_mode_features(inputs["stream"]) / scale,
                               [math.cos(t), math.sin(t)]])


def bernoulli(x: np.ndarray) -> np.ndarray:
    """B(x) = x / (e^x - 1), B(0) = 1, without cancellation near 0."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-10
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, safe / np.expm1(safe))


def flux_matrix(faces: tuple[np.ndarray, ...], velocity: tuple[np.ndarray, ...],
                spacing: tuple[float, ...], flux: str) -> sp.csr_matrix:
    """CSR matrix of finite-volume face fluxes F = alpha u_low - beta u_high per face.

    ``faces`` are diffusion coefficients / h^2 and ``velocity`` the normal velocities (to
    +axis), both in ``Stencil`` face layout; outside nodes hold u = 0.
    """
    shape = tuple(f.shape[d] - 1 for d, f in enumerate(faces))
    size = math.prod(shape)
    index = np.arange(size).reshape(shape)
    diagonal = np.zeros(shape)
    rows, cols, values = [], [], []
    for axis, (d, w, h) in enumerate(zip(faces, velocity, spacing, strict=True)):
        if flux == "sg":
            peclet = w * h / (d * h * h)
            alpha, beta = d * bernoulli(-peclet), d * bernoulli(peclet)
        else:
            alpha, beta = d + np.maximum(w, 0) / h, d + np.maximum(-w, 0) / h
        n = shape[axis]
        diagonal += alpha.take(range(1, n + 1), axis=axis) + beta.take(range(n), axis=axis)
        low, high = index.take(range(n - 1), axis=axis), index.take(range(1, n), axis=axis)
        inner = range(1, n)
        rows += [low.ravel(), high.ravel()]
        cols += [high.ravel(), low.ravel()]
        values += [-beta.take(inner, axis=axis).ravel(), -alpha.take(inner, axis=axis).ravel()]
    rows.append(index.ravel())
    cols.append(index.ravel())
    values.append(diagonal.ravel())
    matrix = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(size, size))
    matrix.sort_indices()
    return matrix
