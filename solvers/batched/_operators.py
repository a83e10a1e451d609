"""Matrix-free stencil operators for a batch of B systems on one grid (one lane each).

The shared core of the batched solvers (Krylov lanes, DCDM, SOR bandits): the faces of
``pdes.Stencil`` stacked over lanes, applied with shifted slices, float64 on any device.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pdes import Stencil

__all__ = ["StencilOperator", "lane_dot", "lane_norm"]


def lane_dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-lane inner products of (B, *grid) tensors: shape (B,)."""
    return (u * v).flatten(1).sum(1)


def lane_norm(u: torch.Tensor) -> torch.Tensor:
    """Per-lane 2-norms of a (B, *grid) tensor: shape (B,)."""
    return torch.linalg.vector_norm(u.flatten(1), dim=1)


class StencilOperator:
    """A_j u_j = -sum_d D_d^T (F_jd D_d u_j) + c_j u_j for every lane j, on (B, *grid) tensors.

    ``faces[d]`` is (B, *grid) with axis d one longer (boundary faces included), as in
    ``pdes.Stencil``; ``reaction`` is (B, *grid). Lanes are independent, so a lane's system
    can be replaced in place (``load``) while the others keep iterating.
    """

    def __init__(self, faces: Sequence[torch.Tensor], reaction: torch.Tensor):
        self.faces = list(faces)
        self.reaction = reaction
        self.ndim = len(self.faces)
        self.grid = tuple(int(s) for s in reaction.shape[1:])
        self._refresh()

    @classmethod
    def from_stencils(cls, stencils: Sequence[Stencil], device: torch.device | str = "cpu",
                      dtype: torch.dtype = torch.float64) -> StencilOperator:
        """Stack the stencils of B systems (same grid) onto ``device``: a few arrays per lane."""
        grid = stencils[0].grid
        if any(s.grid != grid for s in stencils):
            raise ValueError("every lane of a StencilOperator must share one grid")
        faces = [torch.as_tensor(np.stack([s.faces[d] for s in stencils]), dtype=dtype,
                                 device=device) for d in range(len(grid))]
        reaction = torch.as_tensor(
            np.stack([np.broadcast_to(s.reaction, grid) for s in stencils]), dtype=dtype,
            device=device)
        return cls(faces, reaction)

    @property
    def batch(self) -> int:
        return int(self.reaction.shape[0])

    @property
    def device(self) -> torch.device:
        return self.reaction.device

    @property
    def dtype(self) -> torch.dtype:
        return self.reaction.dtype

    def _refresh(self) -> None:
        """Derived per-lane data: the diagonal and the interior faces (coupling weights)."""
        diagonal = self.reaction.clone()
        self.inner = []
        for d, face in enumerate(self.faces):
            n = face.shape[d + 1]
            diagonal += face.narrow(d + 1, 0, n - 1) + face.narrow(d + 1, 1, n - 1)
            self.inner.append(face.narrow(d + 1, 1, n - 2))
        self.diagonal = diagonal

    def load(self, lane: int, stencil: Stencil) -> None:
        """Put ``stencil`` into ``lane`` (the slot of a converged system)."""
        for d, face in enumerate(self.faces):
            face[lane] = torch.as_tensor(stencil.faces[d], dtype=self.dtype)
        self.reaction[lane] = torch.as_tensor(np.broadcast_to(stencil.reaction, self.grid),
                                              dtype=self.dtype)
        self._refresh()

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
        return StencilOperator([f[lanes] for f in self.faces], self.reaction[lanes])
