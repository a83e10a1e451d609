"""Darcy flow -div(a grad u) = f with a random log-normal or thresholded medium a."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._errors import PDEError
from .._features import low_mode_features
from .._random_fields import (
    decaying_coefficients,
    gaussian_random_field,
    grf_modes,
    grf_series,
    grf_spectrum,
    sine_basis,
    sine_series,
)
from .._stencils import FACE_MEANS
from ._levels import StencilFamily

if TYPE_CHECKING:
    import torch

    from .._batch import SystemBatch

__all__ = ["Darcy"]

THRESHOLD_HIGH = 12.0  # FNO paper: a = 12 where GRF >= 0, else 3 (contrast 4)
RANDOM_FORCING_MODES = 4


class Darcy(StencilFamily):
    """Medium a = exp(GRF(alpha, tau)) ("lognormal") or, by the GRF's sign ("threshold"),
    12 and 12 / ``contrast`` (12/3 by default; e.g. contrast=1e3 for high-contrast media).
    ``sigma`` rescales the GRF to that standard deviation (log a has variance sigma^2:
    sigma=2 spans ~1e5 between the extremes of a 256^2 lognormal medium); None keeps the
    FNO normalisation (std ~0.3 in 2-D).

    ``grf_modes`` = K > 0 draws the GRF by wavenumber (``grf_modes``, |k_i| <= K) instead of
    as FFT noise on the grid: the same field at every resolution (resolution ladders).
    ``forcing`` is a constant or "random" (a smooth sine series, then stored as a field);
    ``assemble(coefficient=a[, forcing=f])``. A stencil-level family: matrix SPD, finite
    volumes with ``face_mean`` face coefficients.
    """

    name = "darcy"
    version = "1"  # bumped when its samples change: a store resumes only its own
    defaults: ClassVar[dict[str, Any]] = {
        "coefficient": "lognormal",
        "alpha": 2.5,
        "tau": 7.0,
        "forcing": 1.0,
        "face_mean": "harmonic",
        "contrast": 4.0,
        "grf_modes": 0,
        "sigma": None,
    }

    @property
    def field_names(self) -> tuple[str, ...]:
        return ("coefficient", "forcing") if self._random_forcing else ("coefficient",)

    @property
    def face_mean(self) -> str:
        return self._options["face_mean"]

    @property
    def resolution_independent(self) -> bool:
        """Whether sample i has the same medium at every grid: with ``grf_modes`` only."""
        return bool(self._options["grf_modes"])

    @property
    def _random_forcing(self) -> bool:
        return self._options["forcing"] == "random"

    def check(self) -> None:
        self._choice("coefficient", ("lognormal", "threshold"))
        self._choice("face_mean", tuple(FACE_MEANS))
        self._number("alpha", 0.0)
        self._number("tau", 0.0)
        self._number("contrast", 0.0)
        self._integer("grf_modes", 0)
        if self._options["sigma"] is not None:
            self._number("sigma", 0.0)
            if self._options["grf_modes"]:
                raise PDEError("darcy: sigma scales the grid's GRF; it does not combine with "
                               "grf_modes (a ladder's resolution-free draw)")
        if not self._random_forcing:
            self._number("forcing")

    @property
    def _grf_scale(self) -> float:
        """Factor taking the GRF to standard deviation ``sigma`` (1 without one): its
        variance is sum(spectrum^2) / N^2 (the inverse FFT of unit complex noise)."""
        sigma = self._options["sigma"]
        if sigma is None:
            return 1.0
        o = self._options
        spectrum = grf_spectrum(self.grid, o["alpha"], o["tau"])
        return float(sigma) * spectrum.size / float(np.sqrt(np.sum(spectrum**2)))

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        """Random inputs in a fixed order (medium, then forcing) so subclasses can extend."""
        o = self._options
        if o["grf_modes"]:
            modes = grf_modes(rng, o["grf_modes"], len(self.grid), o["alpha"], o["tau"])
            grf = grf_series(modes, *self._grid.axes)
        else:
            grf = gaussian_random_field(self.grid, rng, o["alpha"], o["tau"]) * self._grf_scale
        if o["coefficient"] == "lognormal":
            coefficient = np.exp(grf)
        else:
            coefficient = np.where(grf >= 0, THRESHOLD_HIGH, THRESHOLD_HIGH / o["contrast"])
        inputs: dict[str, Any] = {"coefficient": coefficient}
        if self._random_forcing:
            c = decaying_coefficients(rng, RANDOM_FORCING_MODES, len(self.grid), first=1)
            inputs["forcing"] = sine_series(c, *self._grid.coordinates)
        return inputs

    def _raw_draws(self, rng: np.random.Generator, noise: np.ndarray) -> dict[str, Any]:
        """``draw``'s random numbers in its order, untransformed (the device path): the
        GRF's complex noise into ``noise`` (2, *grid), the others returned."""
        rng.standard_normal(out=noise)
        raw: dict[str, Any] = {}
        if self._random_forcing:
            raw["forcing"] = decaying_coefficients(
                rng, RANDOM_FORCING_MODES, len(self.grid), first=1
            )
        return raw

    def _sample_batch(self, indices: np.ndarray, seed: int, device: torch.device
                      ) -> SystemBatch:
        if self._options["grf_modes"]:  # the wavenumber draw: host samples, stacked
            return super()._sample_batch(indices, seed, device)
        from .._batch import host_buffer

        noise, staged = host_buffer((len(indices), 2, *self.grid), device)
        draws = [self._raw_draws(self._rng(int(i), seed), noise[lane])
                 for lane, i in enumerate(indices)]
        return self._batch_from(staged, draws, indices, seed, device)

    def _batch_from(self, noise: torch.Tensor, draws: list[dict[str, Any]], indices: np.ndarray,
                    seed: int, device: torch.device) -> SystemBatch:
        """The media's systems assembled on the device (subclasses add their terms)."""
        from .. import _batch

        o = self._options
        grf = _batch.gaussian_random_fields(
            noise, grf_spectrum(self.grid, o["alpha"], o["tau"]), device
        ) * self._grf_scale
        if o["coefficient"] == "lognormal":
            a = grf.exp()
        else:
            a = grf.new_full(grf.shape, THRESHOLD_HIGH).where(
                grf >= 0, THRESHOLD_HIGH / o["contrast"]
            )
        fields = {"coefficient": a}
        if self._random_forcing:
            coefficients = np.stack([d["forcing"] for d in draws])
            fields["forcing"] = _batch.basis_series(coefficients, self._grid, sine_basis, device)
        return _batch.SystemBatch(
            faces=_batch.diffusion_faces(self._grid, a, o["face_mean"]),
            reaction=a.new_zeros(()).expand_as(a),
            rhs=fields["forcing"] if self._random_forcing else a.new_full(a.shape, o["forcing"]),
            fields=fields,
            params={},
            indices=indices,
            seed=seed,
            features=_batch.low_mode_features(a.log()),
        )

    def terms(self, **inputs: Any) -> dict[str, Any]:
        return {"coefficient": inputs["coefficient"],
                "forcing": inputs.get("forcing", self._options["forcing"])}

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        return low_mode_features(np.log(inputs["coefficient"]))
