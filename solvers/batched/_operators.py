"""Matrix-free stencil operators for a batch of B systems on one grid (one lane each).

The shared core of the batched solvers (Krylov lanes, DCDM, SOR bandits): the faces of
``pdes.Stencil`` stacked over lanes, applied with shifted slices, float64 on any device.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pdes import Stencil, SystemBatch

__all__ = ["StencilOperator", "lane_column", "lane_dot", "lane_norm", "stack_stencils"]


def lane_dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-lane inner products of (B, *grid) tensors: shape (B,)."""
    return (u * v).flatten(1).sum(1)


def lane_column(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-lane values (B,) shaped to broadcast against a (B, *grid) tensor ``like``."""
    return v.reshape((-1,) + (1,) * (like.dim() - 1))


def lane_norm(u: torch.Tensor) -> torch.Tensor:
    """Per-lane 2-norms of a (B, *grid) tensor: shape (B,)."""
    return torch.linalg.vector_norm(u.flatten(1), dim=1)


def stack_stencils(stencils: Sequence[Stencil], device: torch.device | str = "cpu",
                   dtype: torch.dtype = torch.float64) -> tuple[list[torch.Tensor], torch.Tensor]:
    """(faces, reaction) of B host stencils on one grid, stacked on ``device``."""
    grid = stencils[0].grid
    if any(s.grid != grid for s in stencils):
        raise ValueError("every lane of a StencilOperator must share one grid")
    faces = [torch.as_tensor(np.stack([s.faces[d] for s in stencils]), dtype=dtype,
                             device=device) for d in range(len(grid))]
    reaction = torch.as_tensor(np.stack([np.broadcast_to(s.reaction, grid) for s in stencils]),
                               dtype=dtype, device=device)
    return faces, reaction


def _diagonal(faces: Sequence[torch.Tensor], reaction: torch.Tensor) -> torch.Tensor:
    """The operators' diagonals: reaction plus the two faces around each node, per axis."""
    diagonal = reaction.clone()
    for d, face in enumerate(faces):
        n = face.shape[d + 1]
        diagonal += face.narrow(d + 1, 0, n - 1) + face.narrow(d + 1, 1, n - 1)
    return diagonal


class StencilOperator:
    """A_j u_j = -sum_d D_d^T (F_jd D_d u_j) + c_j u_j for every lane j, on (B, *grid) tensors.

    ``faces[d]`` is (B, *grid) with axis d one longer (boundary faces included), as in
    ``pdes.Stencil``; ``reaction`` is (B, *grid). Lanes are independent, so a lane's system
    can be replaced in place (``load``) while the others keep iterating.
    """

    def __init__(self, faces: Sequence[torch.Tensor], reaction: torch.Tensor,
                 diagonal: torch.Tensor | None = None):
        self.faces = list(faces)
        self.reaction = reaction
        self.ndim = len(self.faces)
        self.grid = tuple(int(s) for s in reaction.shape[1:])
        self.inner = [f.narrow(d + 1, 1, f.shape[d + 1] - 2) for d, f in enumerate(self.faces)]
        self.diagonal = _diagonal(self.faces, reaction) if diagonal is None else diagonal

    @classmethod
    def from_stencils(cls, stencils: Sequence[Stencil], device: torch.device | str = "cpu",
                      dtype: torch.dtype = torch.float64) -> StencilOperator:
        """Stack the stencils of B systems (same grid) onto ``device``: a few arrays per lane."""
        return cls(*stack_stencils(stencils, device, dtype))

    @classmethod
    def from_batch(cls, batch: SystemBatch) -> StencilOperator:
        """The operator of a ``pdes.SystemBatch``, already on its device: no host traffic.

        The faces are copied (a batch may hold broadcast views), so refilling a lane with
        ``load`` never alters the batch.
        """
        return cls([f.clone(memory_format=torch.contiguous_format) for f in batch.faces],
                   batch.reaction.clone(memory_format=torch.contiguous_format))

    @property
    def batch(self) -> int:
        return int(self.reaction.shape[0])

    @property
    def device(self) -> torch.device:
        return self.reaction.device

    @property
    def dtype(self) -> torch.dtype:
        return self.reaction.dtype

    def load(self, lanes: torch.Tensor, faces: Sequence[torch.Tensor],
             reaction: torch.Tensor) -> None:
        """Put new systems (stacked ``faces``/``reaction``) into ``lanes``, others untouched.

        How a converged lane's slot is refilled with the next system of its chain.
        """
        faces = [new.to(face) for face, new in zip(self.faces, faces, strict=True)]
        reaction = reaction.to(self.reaction)
        for face, new in zip(self.faces, faces, strict=True):
            face[lanes] = new
        self.reaction[lanes] = reaction
        self.diagonal[lanes] = _diagonal(faces, reaction)

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        """A u for every lane; ``u`` is (B, *grid)."""
        out = self.diagonal * u
        for d, w in enumerate(self.inner):
            n = u.shape[d + 1]
            lo, hi = u.narrow(d + 1, 0, n - 1), u.narrow(d + 1, 1, n - 1)
            out.narrow(d + 1, 1, n - 1).addcmul_(w, lo, value=-1.0)
            out.narrow(d + 1, 0, n - 1).addcmul_(w, hi, value=-1.0)
        return out

    def select(self, lanes: torch.Tensor) -> StencilOperator:
        """The operator of a subset of lanes (a view for a preconditioner or a check)."""
        return StencilOperator([f[lanes] for f in self.faces], self.reaction[lanes],
                               self.diagonal[lanes])
