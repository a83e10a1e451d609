"""DCDM and flexible CG on lanes: one network call per iteration serves every lane.

Both take the residual from b - A x every iteration (a stencil product costs ~1% of a
network call), so the direction and the stopping test always see the TRUE residual;
``Lanes.settle`` confirms it, records the done lanes and refills them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..batched._lanes import Lanes
from ..batched._operators import StencilOperator, lane_dot, lane_norm

__all__ = ["Direction", "DirectionFactory", "Monitor", "a_orthogonalize", "dcdm_lanes",
           "fcg_lanes"]

# factory(op) -> object with __call__(r) -> direction (B, *grid) and update(lanes) after a refill
Direction = Callable[[torch.Tensor], torch.Tensor]
DirectionFactory = Callable[[StencilOperator], Direction]
Monitor = Callable[[Lanes], None]


def a_orthogonalize(q: torch.Tensor, kept: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
                    ) -> torch.Tensor:
    """q minus its A-projections on the kept directions (p, A p, p^T A p), modified Gram-Schmidt.

    A lane whose kept slot is empty (p = 0, p^T A p = 1) is left as it is.
    """
    for p, ap, pap in kept:
        q = q - _lanes_shape(lane_dot(q, ap) / pap, q) * p
    return q


def dcdm_lanes(lanes: Lanes, factory: DirectionFactory, keep: int = 2,
               monitor: Monitor | None = None) -> None:
    """DCDM (Kaneda et al. 2023): q = f(r / |r|) A-orthogonalised against the last ``keep``
    directions, x += (q^T r / q^T A q) q, until every chain is done (results in ``lanes``).
    ``monitor(lanes)`` runs after every step (residual histories)."""
    f = factory(lanes.op)
    kept: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    active = ~lanes.finished()
    while bool(active.any()):
        r = lanes.residual()
        q, aq, qaq = _safe_direction(lanes.op, a_orthogonalize(f(r), kept), r)
        alpha = torch.where(active, lane_dot(q, r) / qaq, torch.zeros_like(qaq))
        lanes.x.add_(_lanes_shape(alpha, q) * q)
        lanes.iterations += active.long()
        if monitor is not None:
            monitor(lanes)
        kept = [*kept, (q, aq, qaq)][-keep:] if keep else []
        refilled, index = _check(lanes, active)
        if refilled.numel():  # a new system starts with no kept directions
            f.update(refilled)
            kept = [(_set(p, refilled, 0.0), _set(ap, refilled, 0.0), _set(pap, refilled, 1.0))
                    for p, ap, pap in kept]
        if index is not None:
            kept = [(p[index], ap[index], pap[index]) for p, ap, pap in kept]
            f = factory(lanes.op)
        active = ~lanes.finished()


def fcg_lanes(lanes: Lanes, factory: DirectionFactory, monitor: Monitor | None = None
              ) -> None:
    """Flexible PCG (Golub & Ye's Polak-Ribiere beta) with the network as a variable
    preconditioner z = f(r): p = z + beta p, beta = z^T (r - r_old) / z_old^T r_old."""
    f = factory(lanes.op)
    r = lanes.residual()
    p = f(r)
    rz = lane_dot(r, p)
    active = ~lanes.finished()
    while bool(active.any()):
        p, _, pap = _safe_direction(lanes.op, p, r)
        alpha = torch.where(active, lane_dot(p, r) / pap, torch.zeros_like(pap))
        lanes.x.add_(_lanes_shape(alpha, p) * p)
        lanes.iterations += active.long()
        if monitor is not None:
            monitor(lanes)
        refilled, index = _check(lanes, active)
        if refilled.numel():  # a new system restarts with p = z
            f.update(refilled)
            p = _set(p, refilled, 0.0)
        if index is not None:
            p, rz, r = p[index], rz[index], r[index]
            f = factory(lanes.op)
        active = ~lanes.finished()
        r_new = lanes.residual()
        z = f(r_new)
        beta = lane_dot(z, r_new - r) / torch.where(rz != 0, rz, torch.ones_like(rz))
        p = z + _lanes_shape(torch.where(active, beta, torch.zeros_like(beta)), z) * p
        r, rz = r_new, lane_dot(r_new, z)


def _check(lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """TRUE-residual check of the lanes at the tolerance (or out of iterations): record and
    refill the done ones, and compact the batch once half of it has run dry.

    Returns (refilled lanes, the kept lanes' indices if the batch was compacted, else None).
    """
    near = active & ((lane_norm(lanes.residual()) <= lanes.target)
                     | (lanes.iterations >= lanes.max_iterations))
    if not bool(near.any()):
        return near.nonzero().flatten(), None
    refilled, _ = lanes.settle(near)
    live = ~lanes.finished()
    if bool(live.any()) and int(live.sum()) <= lanes.batch // 2:
        index = live.nonzero().flatten()
        lanes.compact(live)
        return refilled, index
    return refilled, None


def _set(t: torch.Tensor, lanes: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t[lanes] = value
    return t


def _safe_direction(op: StencilOperator, q: torch.Tensor, r: torch.Tensor):
    """(q, A q, q^T A q); a lane whose q has no positive energy (a zero or NaN network output)
    falls back to the steepest-descent direction r."""
    aq = op(q)
    qaq = lane_dot(q, aq)
    bad = ~(qaq > 0)
    if bool(bad.any()):
        q = torch.where(_lanes_shape(bad, q), r, q)
        aq = op(q)
        qaq = lane_dot(q, aq)
    return q, aq, torch.where(qaq > 0, qaq, torch.ones_like(qaq))


def _lanes_shape(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape((-1,) + (1,) * (like.dim() - 1))
