"""Geometric multigrid on the lanes: a symmetric V/W-cycle as the preconditioner of lane PCG.

Cell-centred coarsening: 2^d fine cells (pairs along each axis; a single cell at the end of
an odd axis) form one coarse cell, the residual is summed into it (R = P^T) and its
correction copied back (P piecewise constant). Every level is a ``StencilOperator`` (faces
and reaction per lane), so the cycle is matrix-free and batched on any device.

Coarse faces (``coarsening``; measured in docs/multigrid.md: ``galerkin`` is the robust
default, ``harmonic`` the best on smooth lognormal media but 5-15x worse on threshold ones):

- ``harmonic`` (operator-dependent, Wesseling's cell-centred coarse-grid approximation):
  along each fine row crossing a coarse face, the path between the two coarse centres is
  three fine faces in series (half of each aggregate's inner face, the face itself), so its
  conductance is their harmonic combination; the rows across the face add up in parallel.
  A barrier inside an aggregate (a tiny inner face) blocks the coarse flux as it blocks
  the fine one.
- ``arithmetic``: the same three faces averaged arithmetically (blind to barriers).
- ``galerkin``: P^T A P with the piecewise-constant P (the coarse face is the sum of the
  fine faces on it; twice the harmonic value for smooth coefficients).

Smoother: red-black Gauss-Seidel (red then black before the coarse correction, black then
red after), so the cycle is symmetric and, as every sweep converges in the energy norm,
positive definite: a valid PCG preconditioner. Coarsest level: its dense inverse per lane
(from a Cholesky factor).
Decoupled cells (no diffusion: ``obstacles``' solids, identity rows) are handled as the
spectral preconditioner handles them: they take r / diag, and P is zero on them, so no
coarse correction leaks in or out; an aggregate of solids alone is decoupled on its level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._operators import StencilOperator

__all__ = ["COARSENINGS", "CYCLES", "MultigridPreconditioner"]

COARSENINGS = ("harmonic", "arithmetic", "galerkin")
CYCLES = ("V", "W")
# coarsest level: at most this many unknowns per lane (dense inverse), per dimension; 64
# rather than 256 (2-D) or 512 (3-D): the inverse's set-up and batched products cost more
# than one more level (threshold 1e4, skr: 64^2 6.3 -> 4.5 ms, 48^3 623 -> 560 ms per sample)
COARSEST = {1: 64, 2: 64, 3: 64}
# a W-cycle's second coarse visit only where the coarse level has at least this many
# unknowns per lane: below it a level's sweeps cost their dispatch, not their cells
# (threshold 1e4 at 256^2: 10% less time, the same iterations; docs/multigrid.md)
W_MIN_UNKNOWNS = 4096


def _pairs(x: torch.Tensor, axis: int, fill: float = 0.0) -> torch.Tensor:
    """x with ``axis`` of even length (one slice of ``fill`` appended if odd), split in pairs:
    ``axis`` becomes (n/2, 2)."""
    n = x.shape[axis]
    if n % 2:
        pad = x.narrow(axis, 0, 1).new_full(x.narrow(axis, 0, 1).shape, fill)
        x = torch.cat([x, pad], dim=axis)
    return x.unflatten(axis, (x.shape[axis] // 2, 2))


def restrict(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """Sum of each aggregate (R = P^T) over the last ``ndim`` axes of (B, *grid)."""
    for axis in range(1, ndim + 1):
        x = _pairs(x, axis).sum(axis + 1)
    return x


def prolong(x: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """Each coarse value copied to its aggregate's fine cells (P), cut to ``grid``."""
    for axis, n in enumerate(grid, start=1):
        x = x.repeat_interleave(2, dim=axis).narrow(axis, 0, n)
    return x


def _series(face: torch.Tensor, axis: int, coarsening: str) -> torch.Tensor:
    """Per fine row, the conductance across each coarse face normal to ``axis`` (length nc+1).

    Fine face 2J is coarse face J; faces 2J-1 and 2J+1 are the inner faces of the two
    aggregates it joins (absent at a wall, or in a single-cell aggregate of an odd axis).
    """
    n = face.shape[axis] - 1
    if coarsening == "galerkin":
        coarse = face.narrow(axis, 0, n + 1)[(slice(None),) * axis + (slice(0, None, 2),)]
        if n % 2:  # the wall face of the single-cell aggregate
            coarse = torch.cat([coarse, face.narrow(axis, n, 1)], dim=axis)
        return coarse
    if n % 2:  # a virtual last cell behind a perfect conductor: the aggregate {n-1}
        conductor = face.narrow(axis, 0, 1).new_full(face.narrow(axis, 0, 1).shape, math.inf)
        face = torch.cat([face.narrow(axis, 0, n), conductor, face.narrow(axis, n, 1)], axis)
        n += 1
    index = (slice(None),) * axis
    outer = face[index + (slice(0, None, 2),)]  # nc + 1 coarse faces
    inner = face[index + (slice(1, None, 2),)]  # nc inner faces, one per aggregate
    shape = list(outer.shape)
    shape[axis] = 1
    if coarsening == "harmonic":
        none = outer.new_full(shape, math.inf)  # no inner face beyond a wall
        left = torch.cat([none, inner], dim=axis)
        right = torch.cat([inner, none], dim=axis)
        return 1.0 / (1.0 / outer + 0.5 / left + 0.5 / right)  # a zero face: inf, so 0
    # arithmetic: the mean of the three conductances, an absent or perfect one counting as
    # the coarse face's own; scaled so a constant coefficient gives the harmonic result
    left = torch.cat([outer.narrow(axis, 0, 1), inner], dim=axis)
    right = torch.cat([inner, outer.narrow(axis, outer.shape[axis] - 1, 1)], dim=axis)
    left = torch.where(torch.isinf(left), outer, left)
    right = torch.where(torch.isinf(right), outer, right)
    return (0.5 * left + outer + 0.5 * right) / 4.0


def coarsen(op: StencilOperator, coupled: torch.Tensor, coarsening: str
            ) -> tuple[StencilOperator, torch.Tensor]:
    """The next level's operator and its coupled cells (an aggregate with any coupled cell).

    Faces: the series conductance per fine row (``_series``), summed over the rows across
    the face; reaction: summed over the aggregate's coupled cells (Galerkin's rule), and 1
    on a decoupled coarse cell so that its row stays regular.
    """
    ndim = op.ndim
    faces = []
    for d, face in enumerate(op.faces):
        rows = _series(face, d + 1, coarsening)
        for axis in range(1, ndim + 1):
            if axis != d + 1:
                rows = _pairs(rows, axis).sum(axis + 1)
        faces.append(rows.contiguous())
    reaction = restrict(torch.where(coupled, op.reaction, 0.0), ndim)
    coarse_coupled = restrict(coupled.to(op.dtype), ndim) > 0
    reaction = torch.where(coarse_coupled, reaction, 1.0).contiguous()
    return StencilOperator(faces, reaction), coarse_coupled


def dense(op: StencilOperator) -> torch.Tensor:
    """The lanes' matrices (B, N, N), N = prod(grid): the operator applied to the identity."""
    B, N = op.batch, math.prod(op.grid)
    wide = StencilOperator([f.repeat_interleave(N, 0) for f in op.faces],
                           op.reaction.repeat_interleave(N, 0),
                           op.diagonal.repeat_interleave(N, 0))
    eye = torch.eye(N, dtype=op.dtype, device=op.device).reshape(1, N, *op.grid)
    return wide(eye.expand(B, -1, *op.grid).reshape(B * N, *op.grid)).reshape(B, N, N)


def _inverse(op: StencilOperator) -> torch.Tensor:
    """The coarsest lanes' inverses (B, N, N) from their Cholesky factors, in float64: one
    batched product per visit instead of two triangular solves (3-4x faster at N = 256)."""
    return torch.cholesky_inverse(torch.linalg.cholesky(dense(op).to(torch.float64)))


def _colours(grid: Sequence[int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Red (even index sum) and black masks of the grid."""
    parity = sum(torch.arange(n, device=device).reshape([-1 if i == d else 1
                                                         for i in range(len(grid))])
                 for d, n in enumerate(grid)) % 2
    return parity == 0, parity == 1


class _Level:
    """One level: its operator, coupled cells and 1 / diagonal on each colour (0 elsewhere)."""

    def __init__(self, op: StencilOperator, coupled: torch.Tensor):
        self.op, self.coupled = op, coupled
        self.red, self.black = _colours(op.grid, op.device)
        self.refresh(slice(None))

    def refresh(self, lanes: torch.Tensor | slice) -> None:
        inverse = 1.0 / self.op.diagonal[lanes]
        if isinstance(lanes, slice):
            self.on_red, self.on_black = inverse * self.red, inverse * self.black
        else:
            self.on_red[lanes], self.on_black[lanes] = inverse * self.red, inverse * self.black

    def residual(self, x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """b - A x in as few passes as the operator itself."""
        out = b.addcmul(self.op.diagonal, x, value=-1.0)
        for d, w in enumerate(self.op.inner):
            n = x.shape[d + 1]
            out.narrow(d + 1, 1, n - 1).addcmul_(w, x.narrow(d + 1, 0, n - 1))
            out.narrow(d + 1, 0, n - 1).addcmul_(w, x.narrow(d + 1, 1, n - 1))
        return out

    def sweep(self, x: torch.Tensor | None, b: torch.Tensor, forward: bool) -> torch.Tensor:
        """One red-black Gauss-Seidel sweep (``forward``: red first); x None: from zero."""
        first, second = (self.on_red, self.on_black) if forward else (self.on_black, self.on_red)
        x = b * first if x is None else x.addcmul_(self.residual(x, b), first)
        return x.addcmul_(self.residual(x, b), second)


def _low(op: StencilOperator, dtype: torch.dtype) -> StencilOperator:
    """``op`` in ``dtype`` (a copy, also when the dtype is the same: levels own their data)."""
    return StencilOperator([f.to(dtype, copy=True) for f in op.faces],
                           op.reaction.to(dtype, copy=True), op.diagonal.to(dtype, copy=True))


class MultigridPreconditioner:
    """M^-1 r = one symmetric multigrid cycle on A z = r from z = 0, per lane.

    ``cycle`` "V" or "W" (W: two visits to each coarse level of at least
    ``W_MIN_UNKNOWNS`` unknowns, one below; needs Galerkin coarse operators to stay positive
    definite); ``smoothing`` red-black Gauss-Seidel sweeps before and
    after each coarse correction; ``coarsening`` one of ``COARSENINGS``; ``correction``
    scales each coarse correction (piecewise-constant interpolation under-corrects smooth
    errors by about 2; any factor in (0, 2) keeps M positive definite); ``precision`` of
    the cycle (float32, the default, halves the memory traffic of a bandwidth-bound cycle:
    1.4-1.6x faster solves at the same iterations from 64^2 to 512^2, docs/multigrid.md; the
    coarsest inverse and PCG's vectors stay float64).
    ``update(lanes)`` rebuilds the hierarchy of refilled lanes; ``reuse=True`` keeps their
    coarse levels (a sorted neighbour's) and only the finest level follows the new system
    (measured harmful on threshold media: docs/multigrid.md).
    """

    def __init__(self, op: StencilOperator, cycle: str = "W", smoothing: int = 2,
                 coarsening: str = "galerkin", correction: float = 1.8,
                 precision: str = "float32", reuse: bool = False):
        if cycle not in CYCLES or coarsening not in COARSENINGS or smoothing < 1:
            raise ValueError(f"cycle must be one of {CYCLES}, coarsening one of {COARSENINGS}"
                             f" and smoothing >= 1")
        if cycle == "W" and coarsening != "galerkin":
            raise ValueError("a W-cycle needs coarsening='galerkin' to stay positive definite")
        if not 0 < correction < 2 or precision not in ("float32", "float64"):
            raise ValueError("need 0 < correction < 2 and precision float32 or float64")
        self.op = op
        self.cycle = cycle
        self.smoothing = int(smoothing)
        self.coarsening = coarsening
        self.correction = float(correction)
        self.precision = precision
        self.reuse = bool(reuse)
        self.levels_ = self._hierarchy(op)
        self.inverse_ = _inverse(self.levels_[-1].op)

    def _hierarchy(self, op: StencilOperator) -> list[_Level]:
        """The levels of ``op``'s lanes, from the finest (a copy in ``precision``) down."""
        coupled = (op.diagonal - op.reaction) > 0
        levels = [_Level(_low(op, getattr(torch, self.precision)), coupled)]
        limit = COARSEST.get(op.ndim, 512)
        while math.prod(op.grid) > limit and min(op.grid) > 2:
            op, coupled = coarsen(op, coupled, self.coarsening)
            levels.append(_Level(_low(op, getattr(torch, self.precision)), coupled))
        return levels

    def update(self, lanes: torch.Tensor) -> None:
        """Refresh the refilled ``lanes`` (after ``op.load``)."""
        fresh = (self._hierarchy(self.op.select(lanes)) if not self.reuse
                 else [_Level(_low(self.op.select(lanes), getattr(torch, self.precision)),
                              (self.op.diagonal[lanes] - self.op.reaction[lanes]) > 0)])
        for level, new in zip(self.levels_, fresh, strict=False):
            for face, new_face in zip(level.op.faces, new.op.faces, strict=True):
                face[lanes] = new_face
            level.op.reaction[lanes] = new.op.reaction
            level.op.diagonal[lanes] = new.op.diagonal
            level.coupled[lanes] = new.coupled
            level.refresh(lanes)
        if not self.reuse:
            self.inverse_[lanes] = _inverse(fresh[-1].op)

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        if r.is_complex():
            return torch.complex(self(r.real.contiguous()), self(r.imag.contiguous()))
        fine = self.levels_[0]
        b = torch.where(fine.coupled, r, 0.0).to(fine.op.dtype)
        z = self._cycle(0, b).to(r.dtype)
        return torch.where(fine.coupled, z, r / self.op.diagonal)

    def _cycle(self, k: int, b: torch.Tensor) -> torch.Tensor:
        level = self.levels_[k]
        if k == len(self.levels_) - 1:
            x = torch.bmm(self.inverse_, b.flatten(1).unsqueeze(-1).to(self.inverse_.dtype))
            return x.reshape(b.shape).to(b.dtype)
        x = None
        for _ in range(self.smoothing):
            x = level.sweep(x, b, forward=True)
        coarse = restrict(torch.where(level.coupled, level.residual(x, b), 0.0), level.op.ndim)
        e = self._cycle(k + 1, coarse)
        if (self.cycle == "W" and k + 1 < len(self.levels_) - 1
                and math.prod(self.levels_[k + 1].op.grid) >= W_MIN_UNKNOWNS):
            e = e + self._cycle(k + 1, self.levels_[k + 1].residual(e, coarse))
        x.add_(torch.where(level.coupled, prolong(e, level.op.grid), 0.0),
               alpha=self.correction)
        for _ in range(self.smoothing):
            x = level.sweep(x, b, forward=False)
        return x
