"""One Crank-Nicolson step of the heat equation u_t = kappa lap u + f per sample."""

from __future__ import annotations

import math
from functools import cached_property
from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .._errors import PDEError
from .._grid import as_field
from .._random_fields import decaying_coefficients, sine_basis, sine_series
from .._spectral import laplacian_eigenvalues, sine_transform
from .._stencils import Stencil, diffusion_faces, laplacian, stencil_matrix
from .._system import LinearSystem
from ._base import DEFAULT_GRID
from ._levels import StencilFamily

if TYPE_CHECKING:
    import torch

    from .._batch import SystemBatch

__all__ = ["Heat"]

KAPPA_FLOOR = 1e-3
CHECKPOINT_EVERY = 32


def kappa_schedule(time: float) -> float:
    """max(0.1 sin 2 pi t, -10 sin 2 pi t) (Khodak et al.), floored at KAPPA_FLOOR.

    The formula is 0 at integer and half-integer t; the floor keeps the step matrix SPD.
    """
    s = math.sin(2 * math.pi * time)
    return max(0.1 * s, -10.0 * s, KAPPA_FLOOR)


class Heat(StencilFamily):
    """(I + dt/2 kappa L) u+ = (I - dt/2 kappa L) u + dt f with L = -lap (SPD for kappa > 0):
    a stencil-level family with constant faces.

    ``kappa="schedule"``: kappa(t) at t = index * dt; ``"random"``: kappa ~ U(kappa_min,
    kappa_max) per sample. ``trajectory=True``: sample i starts from sample i-1's solution
    (sample 0 from a random smooth state), computed here by exact spectral steps and cached, so
    ``sample(i)`` after ``sample(i - 1)`` costs one step; otherwise every sample starts from
    its own random smooth state. Features: [kappa, t].
    """

    name = "heat"
    version = "1"  # bumped when its samples change: a store resumes only its own
    defaults: ClassVar[dict[str, Any]] = {
        "dt": 1e-3,
        "kappa": "schedule",
        "kappa_min": 0.1,
        "kappa_max": 2.0,
        "trajectory": True,
        "forcing": 1.0,
        "modes": 4,
    }
    field_names = ("initial",)
    param_names = ("kappa", "time")

    def __init__(self, grid: int | tuple[int, ...] = DEFAULT_GRID, **options: Any) -> None:
        super().__init__(grid, **options)
        self._checkpoints: dict[tuple[int, int], np.ndarray] = {}  # (seed, step) -> DST coeffs
        self._latest: dict[int, tuple[int, np.ndarray]] = {}  # seed -> (step, DST coeffs)

    def check(self) -> None:
        self._number("dt", 0.0)
        self._number("forcing")
        self._integer("modes", 1)
        self._choice("kappa", ("schedule", "random"))
        self._choice("trajectory", (True, False))
        self._number("kappa_max", self._number("kappa_min", 0.0), strict=False)

    @cached_property
    def laplacian(self) -> sp.csr_matrix:
        return laplacian(self._grid)

    @cached_property
    def unit_faces(self) -> tuple[np.ndarray, ...]:
        """The Laplacian's faces (1/h^2): the step's stencil scales them by dt/2 kappa."""
        return diffusion_faces(self._grid, np.ones(self.grid))

    def features(self, index: int, seed: int) -> np.ndarray:
        """[kappa, t] straight from the parameters: no trajectory stepping."""
        kappa, time, _ = self._parameters(index, seed)
        return self.featurise({"kappa": kappa, "time": time})

    def _parameters(self, index: int, seed: int) -> tuple[float, float, np.random.Generator]:
        """kappa, t and the sample's generator, positioned after kappa's draw."""
        rng = self._rng(index, seed)
        return *self._kappa_time(rng, index), rng

    def _kappa_time(self, rng: np.random.Generator, index: int) -> tuple[float, float]:
        time = index * self._options["dt"]
        if self._options["kappa"] == "random":
            return rng.uniform(self._options["kappa_min"], self._options["kappa_max"]), time
        return kappa_schedule(time), time

    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        """A step from a random smooth state (every sample without ``trajectory``)."""
        kappa, time = self._kappa_time(rng, index)
        return {"initial": self._random_state(rng), "kappa": kappa, "time": time}

    def _draw(self, index: int, seed: int) -> dict[str, Any]:
        """Along a trajectory, sample i > 0 starts from the state sample i - 1 reached."""
        if not (self._options["trajectory"] and index > 0):
            return super()._draw(index, seed)
        kappa, time, _ = self._parameters(index, seed)
        return {"initial": self._state(index, seed), "kappa": kappa, "time": time}

    def _random_state(self, rng: np.random.Generator) -> np.ndarray:
        c = decaying_coefficients(rng, self._options["modes"], len(self.grid), first=1)
        return sine_series(c, *self._grid.coordinates)

    def _state(self, index: int, seed: int) -> np.ndarray:
        """State before step ``index``, stepped from the nearest cached state.

        The step matrices share the Laplacian's sine eigenbasis, so each step is an exact
        diagonal solve in DST space (the same discrete system as ``sample``, O(N log N)).
        The cache holds DST coefficients, so results are bitwise independent of call order.
        """
        start, coefficients = self._nearest_cached(index, seed)
        dt = self._options["dt"]
        eigenvalues = laplacian_eigenvalues(self._grid)
        source = dt * sine_transform(np.full(self.grid, self._options["forcing"]))
        for i in range(start, index):
            half = 0.5 * dt * self._parameters(i, seed)[0] * eigenvalues
            coefficients = ((1 - half) * coefficients + source) / (1 + half)
            if (i + 1) % CHECKPOINT_EVERY == 0:
                self._checkpoints[(seed, i + 1)] = coefficients
        self._latest[seed] = (index, coefficients)
        return sine_transform(coefficients)

    def _nearest_cached(self, index: int, seed: int) -> tuple[int, np.ndarray]:
        """(step, DST coefficients of the state there) closest below ``index``."""
        cached = [(i, c) for (s, i), c in self._checkpoints.items() if s == seed and i <= index]
        if seed in self._latest and self._latest[seed][0] <= index:
            cached.append(self._latest[seed])
        if cached:
            return max(cached, key=lambda item: item[0])
        return 0, sine_transform(self._random_state(self._parameters(0, seed)[2]))

    def _sample_batch(self, indices: np.ndarray, seed: int, device: torch.device
                      ) -> SystemBatch:
        """States continued along the trajectory come from the host cache (exact spectral
        steps); random states, the step's faces and its Crank-Nicolson rhs are made on the
        device."""
        from .. import _batch

        kappa, time, states, coefficients = [], [], {}, {}
        for lane, index in enumerate(int(i) for i in indices):
            k, t, rng = self._parameters(index, seed)
            kappa.append(k)
            time.append(t)
            if self._options["trajectory"] and index > 0:
                states[lane] = self._state(index, seed)
            else:
                coefficients[lane] = decaying_coefficients(
                    rng, self._options["modes"], len(self.grid), first=1
                )
        params = {"kappa": _batch.to_device(np.array(kappa), device),
                  "time": _batch.to_device(np.array(time), device)}
        u = params["kappa"].new_zeros((len(indices), *self.grid))
        if states:
            u[list(states)] = _batch.to_device(np.stack(list(states.values())), device)
        if coefficients:
            u[list(coefficients)] = _batch.basis_series(
                np.stack(list(coefficients.values())), self._grid, sine_basis, device
            )
        scale = (0.5 * self._options["dt"] * params["kappa"]).reshape(-1, *[1] * len(self.grid))
        rhs = u - scale * _batch.negative_laplacian(u, self._grid)
        rhs += self._options["dt"] * self._options["forcing"]
        return _batch.SystemBatch(
            faces=tuple(scale * _batch.to_device(f, device) for f in self.unit_faces),
            reaction=u.new_ones(()).expand_as(u),
            rhs=rhs,
            fields={"initial": u},
            params=params,
            indices=indices,
            seed=seed,
            features=np.column_stack([kappa, time]).astype(np.float64),
        )

    def _assemble(self, *, initial: Any, kappa: Any, time: Any = 0.0) -> LinearSystem:
        u = as_field(initial, self._grid, "initial")
        kappa, time = _scalar("kappa", kappa, positive=True), _scalar("time", time)
        scale = 0.5 * self._options["dt"] * kappa
        stencil = Stencil(tuple(scale * f for f in self.unit_faces), reaction=1.0)
        rhs = u.ravel() - scale * (self.laplacian @ u.ravel())
        rhs += self._options["dt"] * self._options["forcing"]
        params = {"kappa": kappa, "time": time}
        return LinearSystem(
            matrix=stencil_matrix(stencil),
            stencil=stencil,
            rhs=rhs,
            grid=self.grid,
            fields={"initial": u},
            params=params,
            features=self.featurise(params),
        )

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        return np.array([inputs["kappa"], inputs["time"]], dtype=np.float64)


def _scalar(name: str, value: Any, positive: bool = False) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0):
        rule = "a finite number > 0" if positive else "a finite number"
        raise PDEError(f"heat {name} must be {rule}, got {value!r}")
    return float(value)
