"""The lane driver: the one loop every lane solver runs in.

A lane method (PCG, GMRES, the direct DST solve, DCDM's conjugate directions, red-black
SOR) only says how to take one step on every lane at once. The driver owns the lane
invariant around it: every ``check_every`` steps the lanes whose estimate meets the
tolerance (or whose iterations ran out, or whose residual diverged) are settled on the
TRUE residual by ``Lanes.settle``; a done lane is refilled with the next system of its
chain and its method state is restarted; a lane whose recursive residual drifted from the
true one restarts too; once half of the batch has run dry the batch is compacted.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._lanes import Lanes

__all__ = ["DIVERGED", "LaneMethod", "Monitor", "drive"]

DIVERGED = 1e8  # a lane whose residual grows past this times ||b|| stops, marked failed
Monitor = Callable[[Lanes], None]


class LaneMethod:
    """One iteration of a lane solver; ``drive`` calls it until every chain is done.

    ``step`` advances every lane once and returns each lane's residual-norm estimate (B,)
    and the iterations that step counts. ``settled`` refreshes per-lane state (a
    preconditioner) for the lanes that took a new system (``refilled``) after a check and
    sees the lanes that missed on the true residual (``lagging``), ``compact`` keeps only the lanes
    ``index`` (the operator in ``lanes`` is already the compacted one), ``restart`` makes
    the given lanes start over from their TRUE residual. A method sets ``stopped`` to hand
    the remaining systems to another method (the direct solve when it is no longer exact).
    """

    stopped = False

    def start(self, lanes: Lanes) -> None:
        """State for the first batch."""

    def step(self, lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, int]:
        raise NotImplementedError

    def settled(self, lanes: Lanes, refilled: torch.Tensor, lagging: torch.Tensor) -> None:
        """Nothing per lane by default."""

    def compact(self, lanes: Lanes, index: torch.Tensor) -> None:
        """Nothing to re-index by default."""

    def restart(self, lanes: Lanes, restart: torch.Tensor) -> None:
        """Nothing to restart by default (methods that read the true residual each step)."""


def drive(lanes: Lanes, method: LaneMethod, check_every: int = 1,
          monitor: Monitor | None = None) -> None:
    """Run ``method`` on ``lanes`` until every chain is done (or the method stops).

    Results accumulate in ``lanes.results``; ``monitor(lanes)`` runs after every step.
    """
    method.start(lanes)
    active = ~lanes.finished()
    steps = 0
    while bool(active.any()) and not method.stopped:
        estimate, counted = method.step(lanes, active)
        lanes.iterations += counted * active.long()
        steps += 1
        if monitor is not None:
            monitor(lanes)
        spent = lanes.iterations >= lanes.max_iterations
        if steps % check_every and not bool(spent.any()):
            continue
        diverged = ~torch.isfinite(estimate) | (estimate > DIVERGED * lanes.target / lanes.tol)
        lanes.iterations[diverged & active] = lanes.max_iterations
        near = active & ((estimate <= lanes.target) | diverged | spent)
        if not bool(near.any()):
            continue
        refilled, lagging = lanes.settle(near)
        active = ~lanes.finished()
        method.settled(lanes, refilled, lagging)
        restart = torch.cat([refilled, lagging])
        if bool(active.any()) and int(active.sum()) <= lanes.batch // 2:
            index = active.nonzero().flatten()
            (active,) = lanes.compact(active, active)
            method.compact(lanes, index)
            restart = torch.arange(lanes.batch, device=active.device)
        if restart.numel():
            method.restart(lanes, restart)
