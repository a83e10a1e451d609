"""Data augmentation by the symmetries of the square (cube): flips and axis swaps.

Every pdeforge family is isotropic on the unit square with the same boundary condition on
each side, so a flip or a 90-degree rotation of all input fields maps the solution to the
same flip or rotation of the solution; on a uniform grid this holds exactly for the
discrete systems too. Scalar params (constant channels) are invariant. A family with a
preferred direction would need ``augment="none"``.
"""

from __future__ import annotations

import torch

__all__ = ["AUGMENTATIONS", "coarsened", "symmetry_augment"]

AUGMENTATIONS = ("d4", "none")


def symmetry_augment(x: torch.Tensor, y: torch.Tensor,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one random element of the grid's symmetry group to each sample of a batch.

    Axes of equal size may be permuted (a transpose: with flips, all 8 elements of D4 in
    2-D); every axis may be flipped. Inputs ``(B, C, *grid)`` and outputs move together.
    """
    batch, dims = x.shape[0], x.dim() - 2
    flips = torch.rand(batch, dims, generator=generator) < 0.5
    if len(set(x.shape[2:])) == 1:
        orders = torch.rand(batch, dims, generator=generator).argsort(dim=1)
    else:
        orders = torch.arange(dims).expand(batch, dims)
    pairs = []
    for i in range(batch):  # per sample, on (C, *grid): spatial axes are 1..dims
        flipped = [1 + k for k in range(dims) if flips[i, k]]
        order = [0, *(1 + int(k) for k in orders[i])]
        pairs.append((x[i].flip(flipped).permute(order), y[i].flip(flipped).permute(order)))
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def coarsened(fields: torch.Tensor) -> torch.Tensor:
    """Every other grid point per axis of ``(B, C, *grid)``, both ends kept when the size is
    odd: the same fields at half the resolution (mixed-resolution training)."""
    return fields[(slice(None), slice(None), *[slice(None, None, 2)] * (fields.dim() - 2))]
