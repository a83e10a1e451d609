"""The DCDM network: a fully convolutional map from a residual to a direction ~ A^-1 r.

Skeleton (Kaneda et al. 2023 and their NPSDO follow-up, arXiv 2310.00177): blocks at full
resolution, average-pooled coarser levels, each upsampled back and added (a skip) with a
learned gain, a pointwise linear output. The coarse levels share one set of weights, so
one model runs on any grid. Two shapes:

- ``linear`` (NPSDO's): linear in the residual; the image (mask, coefficient) only sets
  spatially varying gates, i.e. learned stencils. A fixed linear operator per system.
- ``relu`` (DCDM's): residual blocks with ReLU on [residual, image] features.

``base`` is the fixed solve the network is fed besides the residual, and starts from
(identity on it), so the untrained network is that preconditioner's conjugate-direction
method and training only learns a correction:

- ``multigrid`` (the default): one float32 W-cycle of the lane multigrid
  (``MultigridPreconditioner``), grid-independent and robust to solids and to any
  coefficient contrast, so the iterations stay flat across grids before any training;
- ``spectral``: the box-DST solve (``SpectralPreconditioner``, O(n log n)); its iterations
  grow with the grid and with contrast (what older checkpoints use);
- ``none``: no base; initialised as BPX, pooling down to ~4 cells (measured: it did not
  transfer from the training grid to 4x larger ones).

The image is what the operator itself says about each node (``stencil_image``), so the
mask and the coefficient enter without family-specific code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..batched import MultigridPreconditioner, SpectralPreconditioner, StencilOperator

__all__ = ["BASES", "SHAPES", "Context", "DirectionNet", "NetworkDirection", "image_channels",
           "stencil_image"]

SHAPES = ("linear", "relu")
BASES = ("multigrid", "spectral", "none")
COARSEST = 4  # levels=0 pools while every axis keeps >= 2 * COARSEST cells
BPX_GAIN = 4.0  # A ~ h^-2: a level twice as coarse needs a 4x larger correction
SPECTRAL_BASIS = "cell"  # pinned: a trained model must see the transform it was trained on


def image_channels(ndim: int) -> int:
    """Channels of ``stencil_image``: coupled, log-diagonal, the 2 * ndim face ratios."""
    return 2 + 2 * ndim


def stencil_image(op: StencilOperator) -> torch.Tensor:
    """Per-node description of each lane's operator, grid- and scale-free, (B, C, *grid).

    Channel 0 is 1 on coupled nodes and 0 on decoupled ones (a solid cell: identity row);
    channel 1 the log10 of the diagonal over its lane's geometric mean (the coefficient's
    level, 0 on solids); then, per axis, the lower and upper face over the diagonal (zero
    across a solid face, unequal across a coefficient jump).
    """
    coupled = (op.diagonal - op.reaction) > 0
    diagonal = torch.where(coupled, op.diagonal, torch.ones_like(op.diagonal))
    count = coupled.flatten(1).sum(1).clamp(min=1)
    log_diagonal = torch.where(coupled, torch.log10(diagonal), torch.zeros_like(diagonal))
    mean = log_diagonal.flatten(1).sum(1) / count
    centred = torch.where(coupled, log_diagonal - mean.reshape((-1,) + (1,) * op.ndim), 0.0)
    channels = [coupled.to(diagonal.dtype), centred]
    for d, face in enumerate(op.faces):
        n = face.shape[d + 1]
        channels += [face.narrow(d + 1, 0, n - 1) / diagonal,
                     face.narrow(d + 1, 1, n - 1) / diagonal]
    return torch.stack(channels, dim=1)


class Context(NamedTuple):
    """What one application needs from the operator, computed once per system.

    ``weight`` (B, 1, *grid): diag^-1/2 over its lane's geometric mean on coupled nodes, 0 on
    decoupled ones (symmetric Jacobi scaling, and the mask); ``coupled`` the mask itself;
    ``reads[l]``: level l's gates (linear shape) or the raw image (relu shape, full level
    only; None below); ``base`` the lanes' base preconditioner (None without one).
    """

    weight: torch.Tensor
    coupled: torch.Tensor
    reads: list[torch.Tensor | None]
    base: MultigridPreconditioner | SpectralPreconditioner | None


class DirectionNet(nn.Module):
    """f(r) -> direction for a batch of lanes: r (B, *grid) -> (B, *grid), 0 on decoupled nodes.

    ``context(op)`` precomputes what depends on the operator only (once per system);
    ``forward(r, context)`` is one application. ``levels`` counts the full one (0: pool down
    to ~4 cells). Every block starts as the identity, so training starts from the base
    preconditioner's solve (``base``) or, without one, from BPX (coarse level l weighted 4^l).
    """

    def __init__(self, ndim: int, channels: int = 8, shape: str = "linear", levels: int = 2,
                 base: str = "multigrid"):
        super().__init__()
        if ndim not in (2, 3):
            raise ValueError(f"DirectionNet works in 2-D or 3-D, got ndim={ndim}")
        if shape not in SHAPES:
            raise ValueError(f"network shape must be one of {SHAPES}, got {shape!r}")
        if base not in BASES:
            raise ValueError(f"network base must be one of {BASES}, got {base!r}")
        self.ndim, self.shape, self.levels_wanted, self.base = ndim, shape, levels, base
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        linear = shape == "linear"
        image = image_channels(ndim)
        based = int(base != "none")
        inputs = 1 + based + (0 if linear else image)
        self.lift = conv(inputs, channels, 3, padding=1, bias=not linear)
        self.levels = nn.ModuleList([_Level(conv, channels, image, linear) for _ in range(2)])
        self.gain = nn.Parameter(torch.tensor(0.0 if based else BPX_GAIN))
        self.out = conv(channels, 1, 1, bias=False)
        with torch.no_grad():  # the identity path: base solve (or r) -> channel 0 -> output
            self.lift.weight.zero_()
            self.lift.weight[(0, based, *[1] * ndim)] = 1.0
            if self.lift.bias is not None:
                self.lift.bias.zero_()
            self.out.weight.zero_()
            self.out.weight[(0, 0, *[0] * ndim)] = 1.0

    def context(self, op: StencilOperator) -> Context:
        """The operator-only part of an application, for every lane of ``op``."""
        dtype = self.out.weight.dtype
        image = stencil_image(op).to(dtype)
        coupled = image[:, :1]
        weight = coupled * torch.pow(10.0, -0.5 * image[:, 1:2])
        depth = _depth(op.grid) if self.levels_wanted == 0 else min(self.levels_wanted,
                                                                    _depth(op.grid))
        reads: list[torch.Tensor | None] = []
        for level in range(depth):
            if self.shape == "linear":
                reads.append(self.levels[min(level, 1)].reader(image))
                image = _pool(self.ndim)(image)
            else:
                reads.append(image if level == 0 else None)
        return Context(weight, coupled, reads, self._base(op))

    def _base(self, op: StencilOperator) -> MultigridPreconditioner | SpectralPreconditioner | None:
        if self.base == "multigrid":  # the lane engine's cycle, in float32 (an input, not PCG)
            return MultigridPreconditioner(op, precision="float32")
        if self.base == "spectral":
            return SpectralPreconditioner(
                op if op.dtype == torch.float64 else
                StencilOperator([f.double() for f in op.faces], op.reaction.double()),
                basis=SPECTRAL_BASIS, precision="float32")
        return None

    def base_solve(self, r: torch.Tensor, context: Context) -> torch.Tensor:
        """The base preconditioner's solve of ``r`` in the precision it takes (the DST in
        float64, the multigrid cycle in the network's): no weights, nothing to differentiate."""
        with torch.no_grad():
            return context.base(r.double() if self.base == "spectral"
                                else r.to(self.out.weight.dtype))

    def forward(self, r: torch.Tensor, context: Context) -> torch.Tensor:
        dtype = self.out.weight.dtype
        x = r.to(dtype).unsqueeze(1) * context.weight
        scale = _rms(x, context.coupled)
        inputs = [x / scale]
        if context.base is not None:
            s = self.base_solve(r, context).to(dtype).unsqueeze(1) * context.coupled
            inputs.append(s / _rms(s, context.coupled))
        if self.shape == "relu":  # DCDM reads [residual, image]; the linear shape gates instead
            inputs.append(context.reads[0])
        x = self._cycle(self.lift(torch.cat(inputs, 1)), context.reads, 0)
        mask = context.coupled if context.base is not None else context.weight
        return (self.out(x) * mask * scale).squeeze(1).to(r.dtype)

    def _cycle(self, x: torch.Tensor, reads: list, depth: int) -> torch.Tensor:
        level = self.levels[min(depth, 1)]
        x = level.pre(x, reads[depth])
        if depth + 1 < len(reads):
            coarse = self._cycle(_pool(self.ndim)(x), reads, depth + 1)
            x = x + self.gain * F.interpolate(coarse, size=x.shape[2:], mode="nearest")
        return level.post(x, reads[depth])


class _Level(nn.Module):
    """The blocks of one level (before and after the coarse correction) and, for the linear
    shape, the reader that turns the image into the blocks' gates."""

    def __init__(self, conv: Callable[..., nn.Module], c: int, image: int, linear: bool):
        super().__init__()
        self.c, self.linear = c, linear
        if linear:  # gates from the image: two convolutions with a ReLU between
            self.reader = nn.Sequential(conv(image, c, 3, padding=1), nn.ReLU(),
                                        conv(c, 2 * c, 3, padding=1))
        self.blocks = nn.ModuleList([_Block(conv, c, linear) for _ in range(2)])

    def pre(self, x: torch.Tensor, read: torch.Tensor | None) -> torch.Tensor:
        return self.blocks[0](x, read[:, : self.c] if self.linear else None)

    def post(self, x: torch.Tensor, read: torch.Tensor | None) -> torch.Tensor:
        return self.blocks[1](x, read[:, self.c :] if self.linear else None)


class _Block(nn.Module):
    """x + conv(g * conv(x)) (linear, g from the image) or x + conv(relu(conv(relu(x)))).

    The outer convolution starts at zero: every block starts as the identity.
    """

    def __init__(self, conv: Callable[..., nn.Module], c: int, linear: bool):
        super().__init__()
        self.linear = linear
        self.a = conv(c, c, 3, padding=1, bias=not linear)
        self.b = conv(c, c, 3, padding=1, bias=not linear)
        with torch.no_grad():
            self.b.weight.zero_()
            if self.b.bias is not None:
                self.b.bias.zero_()

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        if self.linear:
            return x + self.b(gate * self.a(x))
        return x + self.b(F.relu(self.a(F.relu(x))))


class NetworkDirection:
    """The direction f(r) of every lane of ``op``: one network call for the whole batch.

    The operator-only context is computed once per system and refreshed for refilled lanes
    (``update``), as a preconditioner is.
    """

    def __init__(self, net: DirectionNet, op: StencilOperator):
        self.net, self.op = net, op
        with torch.no_grad():
            self.context = net.context(op)

    def update(self, lanes: torch.Tensor) -> None:
        """Recompute the context of ``lanes`` after ``op.load`` put new systems there."""
        with torch.no_grad():
            fresh = self.net.context(self.op.select(lanes))
            old = [self.context.weight, self.context.coupled, *self.context.reads]
            new = [fresh.weight, fresh.coupled, *fresh.reads]
            for tensor, value in zip(old, new, strict=True):
                if tensor is not None:
                    tensor[lanes] = value
            if self.context.base is not None:
                self.context.base.update(lanes)

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.net(r, self.context)


def _pool(ndim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    pool = F.avg_pool2d if ndim == 2 else F.avg_pool3d
    return lambda x: pool(x, 2, ceil_mode=True)


def _depth(shape: tuple[int, ...]) -> int:
    """Levels (the full one included): halve while every axis keeps >= 2 * COARSEST cells."""
    return 1 + max(0, int(math.floor(math.log2(min(shape) / COARSEST))))


def _rms(x: torch.Tensor, coupled: torch.Tensor) -> torch.Tensor:
    """Per-lane root mean square over the coupled nodes, (B, 1, 1, ...), never zero."""
    count = coupled.flatten(1).sum(1).clamp(min=1)
    rms = torch.sqrt((x * x).flatten(1).sum(1) / count)
    rms = torch.where(rms > 0, rms, torch.ones_like(rms))
    return rms.reshape((-1,) + (1,) * (x.dim() - 1))
