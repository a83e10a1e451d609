"""A batch of B systems assembled on a torch device: what the batched (lane) solvers consume.

The random draws stay on the host, in the order ``Family.sample`` makes them, so lane j is
the same system as ``family.sample(indices[j], seed)`` to rounding; only the O(N) noise
arrays and a few tables shared by the batch cross to the device, where the fields, face
coefficients and right-hand sides are computed in float64. No CSR matrix is ever built.
Importing this module imports torch, so ``pdes`` loads it lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._device import resolve_device
from ._errors import PDEError
from ._grid import Grid
from ._random_fields import sine_basis
from ._spectral import laplacian_eigenvalues
from ._stencils import FACE_MEANS, Stencil, stencil_matrix
from ._system import LinearSystem

__all__ = [
    "SystemBatch",
    "basis_series",
    "diffusion_faces",
    "dirichlet_rhs",
    "gaussian_random_fields",
    "host_buffer",
    "laplace_solution_modes",
    "low_mode_features",
    "negative_laplacian",
    "to_device",
]

Basis = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class SystemBatch:
    """B systems of one family on one grid, as float64 tensors on one device (lane j = row j).

    ``faces[d]`` (B, *grid with axis d one longer) and ``reaction`` (B, *grid) are the lanes'
    ``pdes.Stencil``s stacked; ``rhs`` is (B, *grid); ``fields`` and ``params`` hold the
    stored inputs, (B, *grid) and (B,). ``features`` (B, k) numpy float64 sorts the lanes.
    Lanes sharing one operator (poisson) hold broadcast views: treat the tensors read-only.
    """

    faces: tuple[torch.Tensor, ...]
    reaction: torch.Tensor
    rhs: torch.Tensor
    fields: dict[str, torch.Tensor]
    params: dict[str, torch.Tensor]
    indices: np.ndarray
    seed: int
    features: np.ndarray
    symmetric: bool = True
    definite: bool = True

    @property
    def batch(self) -> int:
        return int(self.rhs.shape[0])

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.rhs.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.rhs.device

    @classmethod
    def from_systems(cls, systems: Sequence[LinearSystem], device: torch.device | str = "cpu"
                     ) -> SystemBatch:
        """Host systems (one family, one seed, each with its stencil) stacked onto ``device``."""
        first = systems[0]
        if any(s.stencil is None for s in systems):
            raise PDEError("SystemBatch.from_systems needs systems that carry their stencil")
        device = resolve_device(device)
        ndim = len(first.grid)
        return cls(
            faces=tuple(to_device(np.stack([s.stencil.faces[d] for s in systems]), device)
                        for d in range(ndim)),
            reaction=to_device(np.stack([np.broadcast_to(s.stencil.reaction, s.grid)
                                         for s in systems]), device),
            rhs=to_device(np.stack([s.rhs.reshape(s.grid) for s in systems]), device),
            fields={name: to_device(np.stack([s.fields[name] for s in systems]), device)
                    for name in first.fields},
            params={name: to_device(np.array([s.params[name] for s in systems]), device)
                    for name in first.params},
            indices=np.array([s.index for s in systems], dtype=np.int64),
            seed=first.seed,
            features=np.stack([s.features for s in systems]).astype(np.float64),
            symmetric=first.symmetric,
            definite=first.definite,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[SystemBatch]) -> SystemBatch:
        """One batch holding the lanes of ``parts`` (one family and seed) in order."""
        first = parts[0]
        return cls(
            faces=tuple(torch.cat([p.faces[d] for p in parts]) for d in range(len(first.faces))),
            reaction=torch.cat([p.reaction for p in parts]),
            rhs=torch.cat([p.rhs for p in parts]),
            fields={name: torch.cat([p.fields[name] for p in parts]) for name in first.fields},
            params={name: torch.cat([p.params[name] for p in parts]) for name in first.params},
            indices=np.concatenate([p.indices for p in parts]),
            seed=first.seed,
            features=np.concatenate([p.features for p in parts]),
            symmetric=first.symmetric,
            definite=first.definite,
        )

    def system(self, lane: int) -> LinearSystem:
        """Lane ``lane`` back on the host as the SciPy path builds it (CSR included)."""
        stencil = Stencil(tuple(_host(f[lane]) for f in self.faces), _host(self.reaction[lane]))
        return LinearSystem(
            matrix=stencil_matrix(stencil),
            rhs=_host(self.rhs[lane]).ravel(),
            grid=self.grid,
            fields={name: _host(v[lane]) for name, v in self.fields.items()},
            params={name: float(v[lane]) for name, v in self.params.items()},
            features=self.features[lane].copy(),
            symmetric=self.symmetric,
            definite=self.definite,
            index=int(self.indices[lane]),
            seed=self.seed,
            stencil=stencil,
        )


def to_device(array: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """One float64 host array onto ``device`` (the batch's host-to-device traffic); a pinned
    ``host_buffer`` is copied asynchronously."""
    if isinstance(array, torch.Tensor):
        return array.to(device, non_blocking=array.is_pinned())
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64), device=device)


def host_buffer(shape: tuple[int, ...], device: torch.device) -> tuple[np.ndarray, torch.Tensor]:
    """A float64 host array to draw a batch's noise into in place (no stacking copy), and the
    same memory as a tensor, pinned when bound for a GPU so its transfer overlaps."""
    staged = torch.empty(shape, dtype=torch.float64, pin_memory=device.type == "cuda")
    return staged.numpy(), staged


def gaussian_random_fields(noise: torch.Tensor, spectrum: np.ndarray, device: torch.device
                           ) -> torch.Tensor:
    """B GRFs from host noise (B, 2, *grid) and ``grf_spectrum``: ``gaussian_random_field``'s
    filter and inverse FFT, on the device."""
    noise = to_device(noise, device)
    axes = tuple(range(1, noise.ndim - 1))
    filtered = to_device(spectrum, device) * torch.complex(noise[:, 0], noise[:, 1])
    return torch.fft.ifftn(filtered, dim=axes).real


def basis_series(coefficients: np.ndarray | torch.Tensor, grid: Grid, basis: Basis,
                 device: torch.device, at: dict[int, float] | None = None) -> torch.Tensor:
    """B separable series sum_j c_j prod_i basis(j_i, x_i) on the grid's nodes (B, *grid).

    The host series (``sine_series``, ``chebyshev_series``) evaluated from 1-D tables: the
    O(modes * s) tables are made on the host by the same ``basis``, the contraction runs on
    the device. ``at`` pins axes to one coordinate (that axis then has length 1): the
    boundary faces where Dirichlet data live.
    """
    c = coefficients if isinstance(coefficients, torch.Tensor) else to_device(coefficients,
                                                                               device)
    at = at or {}
    points = [np.array([at[axis]]) if axis in at else x for axis, x in enumerate(_axes(grid))]
    return _contract(c, _tables(basis, c.shape[1:], points, device), to_grid=True)


def dirichlet_rhs(coefficients: np.ndarray, grid: Grid, basis: Basis, device: torch.device
                  ) -> torch.Tensor:
    """``pdes.dirichlet_rhs`` of B separable boundary data g = series(coefficients, basis):
    each node next to the boundary gets its boundary neighbours' g / h_d^2. (B, *grid)."""
    c = to_device(coefficients, device)
    rhs = c.new_zeros((c.shape[0], *grid.shape))
    for axis, h in enumerate(grid.spacing):
        for start, position in ((0, 0.0), (grid.shape[axis] - 1, 1.0)):
            values = basis_series(c, grid, basis, device, at={axis: position})
            rhs.narrow(axis + 1, start, 1).add_(values / h**2)
    return rhs


def laplace_solution_modes(rhs: torch.Tensor, grid: Grid, modes: int = 4) -> np.ndarray:
    """``pdes._features.laplace_solution_modes`` of B right-hand sides: the lowest orthonormal
    DST-I coefficients by projection on the sine tables (no full transform), (B, k) numpy."""
    kept = [min(modes, s) for s in grid.shape]
    tables = _tables(sine_basis, kept, _axes(grid), rhs.device)
    norms = to_device(np.sqrt(2 * np.array(grid.spacing)), rhs.device)  # orthonormal DST-I
    tables = [t * norm for t, norm in zip(tables, norms, strict=True)]
    low = tuple(slice(0, m) for m in kept)
    eigenvalues = to_device(laplacian_eigenvalues(grid)[low], rhs.device)
    solution = _contract(rhs, tables, to_grid=False) / eigenvalues
    return (solution.flatten(1) / math.sqrt(grid.size)).cpu().numpy()


def low_mode_features(fields: torch.Tensor, modes: int = 4) -> np.ndarray:
    """``pdes._features.low_mode_features`` of B fields (B, *grid) at once: (B, k) numpy."""
    grid = fields.shape[1:]
    m = min(modes, (min(grid) + 1) // 2)
    axes = tuple(range(1, fields.ndim))
    low = torch.fft.rfftn(fields, dim=axes) / math.prod(grid)
    for axis in axes[:-1]:
        signed = [k % grid[axis - 1] for k in (*range(m), *range(-m + 1, 0))]
        low = low.index_select(axis, torch.tensor(signed, device=fields.device))
    low = low.narrow(-1, 0, m)
    return torch.cat([low.real.flatten(1), low.imag.flatten(1)], dim=1).cpu().numpy()


def diffusion_faces(grid: Grid, coefficient: torch.Tensor, mean: str = "harmonic"
                    ) -> tuple[torch.Tensor, ...]:
    """``pdes.diffusion_faces`` of B coefficients (B, *grid): interior faces take the ``mean``
    of the two node values, boundary faces the node's value, all divided by h_d^2."""
    faces = []
    for axis, h in enumerate(grid.spacing, start=1):
        n = coefficient.shape[axis]
        lo, hi = coefficient.narrow(axis, 0, n - 1), coefficient.narrow(axis, 1, n - 1)
        first, last = coefficient.narrow(axis, 0, 1), coefficient.narrow(axis, n - 1, 1)
        faces.append(torch.cat([first, FACE_MEANS[mean](lo, hi), last], dim=axis) / h**2)
    return tuple(faces)


def negative_laplacian(u: torch.Tensor, grid: Grid) -> torch.Tensor:
    """-lap u (``pdes.laplacian(grid) @ u``) of B grid functions (B, *grid), zero Dirichlet."""
    out = torch.zeros_like(u)
    for axis, h in enumerate(grid.spacing, start=1):
        n = u.shape[axis]
        out += (2 / h**2) * u
        out.narrow(axis, 1, n - 1).sub_(u.narrow(axis, 0, n - 1) / h**2)
        out.narrow(axis, 0, n - 1).sub_(u.narrow(axis, 1, n - 1) / h**2)
    return out


def _contract(values: torch.Tensor, tables: list[torch.Tensor], to_grid: bool) -> torch.Tensor:
    """Apply 1-D tables (m_i, s_i) along every axis of (B, ...): modes -> grid or back."""
    modes, nodes = "abc"[: len(tables)], "xyz"[: len(tables)]
    pairs = ",".join(f"{m}{x}" for m, x in zip(modes, nodes, strict=True))
    source, target = (modes, nodes) if to_grid else (nodes, modes)
    return torch.einsum(f"n{source},{pairs}->n{target}", values, *tables)


def _tables(basis: Basis, modes: Sequence[int], points: Sequence[np.ndarray],
            device: torch.device) -> list[torch.Tensor]:
    """basis(j, x) for j < m on each axis's points: (m, len(points)) tables on the device."""
    return [to_device(basis(np.arange(m)[:, None], x[None, :]), device)
            for m, x in zip(modes, points, strict=True)]


def _axes(grid: Grid) -> list[np.ndarray]:
    """The 1-D node coordinates of each axis, read off ``Grid.coordinates``."""
    return [np.moveaxis(c, axis, 0).reshape(grid.shape[axis], -1)[:, 0]
            for axis, c in enumerate(grid.coordinates)]


def _host(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64, copy=True)
