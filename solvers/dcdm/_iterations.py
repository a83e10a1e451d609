"""DCDM's conjugate directions as a lane method: one network call per step serves every lane.

The residual is b - A x every step (a stencil product costs ~1% of a network call), so the
direction and the stopping test always see the TRUE residual; the lane driver
(``solvers.batched.drive``) confirms it, records the done lanes and refills them. The
flexible-CG variant (``fcg-dcdm``) is the lane engine's ``FlexiblePCG`` with the network as
preconditioner, on the true residual, falling back to r where a direction has no energy.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..batched import (
    LaneMethod,
    Lanes,
    StencilOperator,
    lane_column,
    lane_dot,
    lane_norm,
    safe_direction,
)

__all__ = ["ConjugateDirections", "Direction", "DirectionFactory", "a_orthogonalize"]

# factory(op) -> object with __call__(r) -> direction (B, *grid) and update(lanes) after a refill
Direction = Callable[[torch.Tensor], torch.Tensor]
DirectionFactory = Callable[[StencilOperator], Direction]
Kept = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (p, A p, p^T A p) per lane


def a_orthogonalize(q: torch.Tensor, kept: list[Kept]) -> torch.Tensor:
    """q minus its A-projections on the kept directions (p, A p, p^T A p), modified Gram-Schmidt.

    A lane whose kept slot is empty (p = 0, p^T A p = 1) is left as it is.
    """
    for p, ap, pap in kept:
        q = q - lane_column(lane_dot(q, ap) / pap, q) * p
    return q


class ConjugateDirections(LaneMethod):
    """DCDM (Kaneda et al. 2023): q = f(r / |r|) A-orthogonalised against the last ``keep``
    directions, x += (q^T r / q^T A q) q."""

    def __init__(self, factory: DirectionFactory, keep: int = 2):
        self.factory, self.keep = factory, keep

    def start(self, lanes: Lanes) -> None:
        self.f = self.factory(lanes.op)
        self.kept: list[Kept] = []
        self.r = lanes.residual()

    def step(self, lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, int]:
        r = self.r
        q, aq, qaq = safe_direction(lanes.op, a_orthogonalize(self.f(r), self.kept), r)
        alpha = torch.where(active, lane_dot(q, r) / qaq, torch.zeros_like(qaq))
        lanes.x.add_(lane_column(alpha, q) * q)
        self.kept = [*self.kept, (q, aq, qaq)][-self.keep:] if self.keep else []
        self.r = lanes.residual()
        return lane_norm(self.r), 1

    def settled(self, lanes: Lanes, refilled: torch.Tensor, lagging: torch.Tensor) -> None:
        if refilled.numel():  # a new system starts with no kept directions
            self.f.update(refilled)
            self.kept = [(_set(p, refilled, 0.0), _set(ap, refilled, 0.0),
                          _set(pap, refilled, 1.0)) for p, ap, pap in self.kept]

    def compact(self, lanes: Lanes, index: torch.Tensor) -> None:
        self.kept = [(p[index], ap[index], pap[index]) for p, ap, pap in self.kept]
        self.r = self.r[index]
        self.f = self.factory(lanes.op)

    def restart(self, lanes: Lanes, restart: torch.Tensor) -> None:
        self.r[restart] = lanes.residual(restart)


def _set(t: torch.Tensor, lanes: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t[lanes] = value
    return t
