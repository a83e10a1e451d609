"""Helmholtz -div(a grad u) - k^2 u = f: the Darcy medium plus a random wavenumber."""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._errors import PDEError
from .darcy import Darcy

if TYPE_CHECKING:
    import torch

    from .._batch import SystemBatch

__all__ = ["Helmholtz"]


class Helmholtz(Darcy):
    """k ~ U(k_min, k_max): symmetric, indefinite once k^2 passes the lowest eigenvalue (~2 pi^2 a).

    Features: the medium's low modes plus k / k_max, so k's range weighs about as much as
    the medium's variation (~0.3) when sorting.
    """

    name = "helmholtz"
    defaults: ClassVar[dict[str, Any]] = {**Darcy.defaults, "k_min": 5.0, "k_max": 15.0}
    param_names = ("wavenumber",)
    definite = False

    def check(self) -> None:
        super().check()
        k_min = self._number("k_min", 0.0, strict=False)
        self._number("k_max", k_min, strict=k_min == 0)  # > 0: features divide by it

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        inputs = super().draw(rng, index)
        inputs["wavenumber"] = rng.uniform(self._options["k_min"], self._options["k_max"])
        return inputs

    def _raw_draws(self, rng: np.random.Generator, noise: np.ndarray) -> dict[str, Any]:
        raw = super()._raw_draws(rng, noise)
        raw["wavenumber"] = rng.uniform(self._options["k_min"], self._options["k_max"])
        return raw

    def _batch_from(self, noise: torch.Tensor, draws: list[dict[str, Any]], indices: np.ndarray,
                    seed: int, device: torch.device) -> SystemBatch:
        from .._batch import to_device

        batch = super()._batch_from(noise, draws, indices, seed, device)
        k = np.array([d["wavenumber"] for d in draws])
        wavenumber = to_device(k, device)
        batch.reaction = (-(wavenumber**2)).reshape(-1, *[1] * len(self.grid)).expand_as(batch.rhs)
        batch.params = {"wavenumber": wavenumber}
        batch.features = np.column_stack([batch.features, k / self._options["k_max"]])
        batch.definite = False
        return batch

    def terms(self, **inputs: Any) -> dict[str, Any]:
        return {**super().terms(**inputs), "reaction": -(_wavenumber(inputs["wavenumber"]) ** 2)}

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        k = _wavenumber(inputs["wavenumber"])
        return np.append(super().featurise(inputs), k / self._options["k_max"])


def _wavenumber(value: Any) -> float:
    if not isinstance(value, Real) or isinstance(value, bool):
        raise PDEError(f"helmholtz wavenumber must be a number, got {value!r}")
    k = float(value)
    if not np.isfinite(k) or k < 0:
        raise PDEError(f"helmholtz wavenumber must be finite and >= 0, got {value!r}")
    return k
