"""What every PDE family shares: grid, validated options, deterministic sampling."""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .._errors import PDEError
from .._features import low_mode_features
from .._grid import as_field, make_grid
from .._system import LinearSystem

if TYPE_CHECKING:  # torch loads only when a batch is asked for
    import torch

    from .._batch import SystemBatch

__all__ = ["Family", "finish_system", "finite_number"]

DEFAULT_GRID = 64
CPU_CHUNK = 1 << 19  # grid values per lane chunk on the CPU: ~4 MB tensors stay in cache


class Family(ABC):
    """A parametric PDE family on a grid: sample i -> LinearSystem, deterministic in (seed, i).

    The engine under both plugin levels (``StencilFamily``, ``SystemFamily``): subclasses
    declare ``name``, ``field_names``, ``param_names``, ``defaults`` (the family options) and
    ``version``, and implement ``check`` (option validation), ``draw`` (the random inputs
    of sample i from its own generator, cheap), ``featurise`` (inputs -> ordering features)
    and an assembly (``_assemble``, or ``assemble`` itself at the general level).
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, Any]] = {}
    version: ClassVar[str | None] = None  # None: the version of the distribution shipping it

    def __init__(self, grid: int | tuple[int, ...] = DEFAULT_GRID, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            known = ", ".join(["grid", *self.defaults])
            raise PDEError(
                f"unknown option(s) {', '.join(unknown)} for {self.name}; known: {known}"
            )
        self._grid = make_grid(grid)
        self._options = {**self.defaults, **options}
        self.check()

    @property
    def grid(self) -> tuple[int, ...]:
        return self._grid.shape

    @property
    def spacing(self) -> tuple[float, ...]:
        return self._grid.spacing

    @property
    def coordinates(self) -> tuple[np.ndarray, ...]:
        """Node coordinates: one array of the grid's shape per axis (``indexing="ij"``)."""
        return self._grid.coordinates

    @property
    @abstractmethod
    def field_names(self) -> tuple[str, ...]:
        """Input fields stored with each sample (the surrogate's inputs)."""

    def options(self) -> dict[str, Any]:
        """Family options (grid excluded): ``get(name, grid=g, **options())`` rebuilds it."""
        return dict(self._options)

    def sample(self, index: int, seed: int) -> LinearSystem:
        """The system of sample ``index`` of the data set drawn with ``seed`` (checked: a
        plugin's wrong shape, NaN/Inf or mismatched sizes raise PDEError here)."""
        _check_identity(index, seed)
        inputs = self._draw(index, seed)
        system = finish_system(self, self.assemble(**inputs), inputs)
        system.index, system.seed = int(index), int(seed)
        return system

    def sample_batch(self, indices: Sequence[int] | np.ndarray, seed: int,
                     device: str | torch.device = "cpu") -> SystemBatch:
        """Samples ``indices`` of the ``seed`` data set as one ``SystemBatch`` on ``device``.

        Lane j equals ``sample(indices[j], seed)`` to rounding (same host draws). Families
        that assemble on the device override ``_sample_batch``; any other family gets its
        host samples stacked, which is correct but builds a CSR matrix per sample. On the
        CPU the lanes are built in chunks of about ``CPU_CHUNK`` grid values, then joined.
        """
        from .._batch import SystemBatch
        from .._device import resolve_device

        if len(indices) == 0:
            raise PDEError("sample_batch needs at least one index")
        for index in indices:
            _check_identity(index, seed)
        indices, device = np.asarray(indices, dtype=np.int64), resolve_device(device)
        step = len(indices) if device.type != "cpu" else max(1, CPU_CHUNK // self._grid.size)
        parts = [self._sample_batch(indices[i : i + step], int(seed), device)
                 for i in range(0, len(indices), step)]
        return parts[0] if len(parts) == 1 else SystemBatch.concatenate(parts)

    def _sample_batch(self, indices: np.ndarray, seed: int, device: torch.device
                      ) -> SystemBatch:
        from .._batch import SystemBatch

        return SystemBatch.from_systems([self.sample(int(i), seed) for i in indices], device)

    def features(self, index: int, seed: int) -> np.ndarray:
        """``sample(index, seed).features`` without assembling the matrix (used to sort all N)."""
        _check_identity(index, seed)
        return self.featurise(self._draw(index, seed))

    def assemble(self, **inputs: Any) -> LinearSystem:
        """The system for explicit inputs (arrays of the grid's shape or scalars)."""
        try:
            inspect.signature(self._assemble).bind(**inputs)
        except TypeError as exc:
            raise PDEError(f"{self.name}.assemble: {exc}") from None
        return self._assemble(**inputs)

    def check(self) -> None:  # noqa: B027 - optional hook: a family without options
        """Validate ``self._options`` (the ``_number``/``_integer``/``_choice`` helpers)."""

    @abstractmethod
    def draw(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        """The random inputs of sample ``index``, drawn from ``rng`` only (seeded by (seed,
        index)): every ``field_names`` array and ``param_names`` scalar."""

    def featurise(self, inputs: dict[str, Any]) -> np.ndarray:
        """Ordering features of a sample's inputs: by default the lowest Fourier modes of
        every stored field (of log a for a ``coefficient``), then the params."""
        parts = [low_mode_features(np.log(inputs[name]) if name == "coefficient"
                                   else np.asarray(inputs[name], dtype=np.float64))
                 for name in self.field_names]
        parts.append(np.array([float(inputs[name]) for name in self.param_names]))
        return np.concatenate(parts)

    def _draw(self, index: int, seed: int) -> dict[str, Any]:
        return self.draw(self._rng(index, seed), index)

    def _rng(self, index: int, seed: int) -> np.random.Generator:
        return np.random.default_rng([seed, index])

    # option checks shared by the families ------------------------------------------------
    def _number(self, name: str, low: float = -math.inf, strict: bool = True) -> float:
        """Option ``name`` as a finite float > low (>= low unless ``strict``)."""
        value = self._options[name]
        ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < low or (strict and value == low):
            bound = f" {'>' if strict else '>='} {low:g}" if low > -math.inf else ""
            raise PDEError(
                f"{self.name} option {name} must be a finite number{bound}, got {value!r}"
            )
        self._options[name] = float(value)
        return float(value)

    def _integer(self, name: str, low: int) -> int:
        value = self._options[name]
        if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
            raise PDEError(f"{self.name} option {name} must be an int >= {low}, got {value!r}")
        self._options[name] = int(value)
        return int(value)

    def _choice(self, name: str, choices: Iterable[Any]) -> Any:
        choices = tuple(choices)
        value = self._options[name]
        if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
            known = ", ".join(map(repr, choices))
            raise PDEError(f"{self.name} option {name} must be one of {known}, got {value!r}")
        return value


def _check_identity(index: object, seed: object) -> None:
    for label, value in (("index", index), ("seed", seed)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 0:
            raise PDEError(f"sample {label} must be an int >= 0, got {value!r}")


def finish_system(family: Family, system: Any, inputs: dict[str, Any]) -> LinearSystem:
    """``system`` checked against the family (a CSR matrix of the grid's size, a finite
    rhs of that size) and completed: stored fields, params and features from ``inputs``
    when the assembly left them out."""
    label = f"{family.name} sample"
    if not isinstance(system, LinearSystem):
        raise PDEError(f"{label}: assemble must return a pdes.LinearSystem, got "
                       f"{type(system).__name__}")
    size = int(np.prod(family.grid))
    if not sp.issparse(system.matrix) or system.matrix.shape != (size, size):
        shape = getattr(system.matrix, "shape", None)
        raise PDEError(f"{label}: matrix must be a sparse {size}x{size} matrix (grid "
                       f"{family.grid}), got shape {shape}")
    rhs = np.asarray(system.rhs, dtype=np.float64).reshape(-1)
    if rhs.size != size:
        raise PDEError(f"{label}: the rhs has {rhs.size} entries, the matrix {size} rows")
    if not (np.all(np.isfinite(rhs)) and np.all(np.isfinite(system.matrix.data))):
        raise PDEError(f"{label}: the matrix or the rhs contains NaN or inf")
    if not isinstance(system.matrix, sp.csr_matrix):  # shared operators stay one object
        system.matrix = sp.csr_matrix(system.matrix)
    system.rhs, system.grid = rhs, family.grid
    if not system.fields:
        system.fields = {name: as_field(_required(inputs, name, label), family._grid, name)
                         for name in family.field_names}
    if not system.params:
        system.params = {name: finite_number(_required(inputs, name, label),
                                             f"{label}: param {name!r}")
                         for name in family.param_names}
    if system.features.size == 0:
        system.features = np.asarray(family.featurise(inputs), dtype=np.float64)
    return system


def _required(inputs: dict[str, Any], name: str, label: str) -> Any:
    if name not in inputs:
        raise PDEError(f"{label}: draw returned no {name!r} (inputs: {', '.join(inputs)})")
    return inputs[name]


def finite_number(value: Any, what: str) -> float:
    """``value`` as a float, or PDEError "<what> must be a finite number"."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise PDEError(f"{what} must be a finite number, got {value!r}")
    return float(value)
