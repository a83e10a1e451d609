"""Lanes: B systems solved at once, lane j walking chain j of a sorted sequence.

``Lanes`` owns what every batched method shares: the stacked operator, right-hand sides and
iterates of the B slots, the chain each slot walks, refilling a slot whose system is done
with the next system of its chain (warm-started from the solution it leaves), compacting
the batch when chains run dry, and the TRUE residual check that decides "done".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pdes import LinearSystem

from .._base import SolverError
from ._operators import StencilOperator, lane_norm, stack_stencils

__all__ = ["STALLED_MISSES", "LaneResult", "Lanes", "Loader", "host_loader", "make_chains"]

# a lane whose TRUE residual missed this many checks in a row without halving is at its
# rounding floor (the recursive residual goes on falling, the true one does not): it stops,
# recorded as failed, instead of running to max_iterations (docs/multigrid.md, T11)
STALLED_MISSES = 4

# loader(items) -> (faces per axis stacked (k, ...), reaction (k, *grid), rhs (k, *grid))
Loader = Callable[[Sequence[int]], tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]]


def host_loader(systems: Sequence[LinearSystem], device: torch.device | str) -> Loader:
    """``Loader`` of host systems: their stencils and right-hand sides stacked onto ``device``."""
    if any(s.stencil is None for s in systems):
        raise SolverError("lane solvers need systems that carry their stencil (pdes families)")

    def load(items: Sequence[int]):
        faces, reaction = stack_stencils([systems[i].stencil for i in items], device)
        rhs = torch.as_tensor(np.stack([systems[i].rhs.reshape(systems[i].grid)
                                        for i in items]), device=device)
        return faces, reaction, rhs

    return load


def make_chains(n: int, lanes: int, layout: str = "contiguous") -> list[list[int]]:
    """Cut positions 0..n-1 of a sorted sequence into ``lanes`` chains.

    ``contiguous``: lane j walks a contiguous run, so every system warm-starts from its
    sorted neighbour (asynchronous methods such as PCG, whose lanes refill independently).
    ``interleaved``: lane j takes positions j, j+B, ..., so the B systems in flight at once
    are neighbours (lock-step methods such as restarted GMRES waste less on waiting lanes).
    """
    lanes = max(1, min(lanes, n))
    if layout == "interleaved":
        return [list(range(j, n, lanes)) for j in range(lanes)]
    if layout != "contiguous":
        raise ValueError(f"chain layout must be contiguous or interleaved, got {layout!r}")
    bounds = [round(j * n / lanes) for j in range(lanes + 1)]
    return [list(range(bounds[j], bounds[j + 1])) for j in range(lanes)]


@dataclass
class LaneResult:
    """One system's outcome: solution on the host, iterations, TRUE relative residual."""

    x: torch.Tensor
    iterations: int
    residual: float


class Lanes:
    """The state of B slots; a Krylov method updates ``x``/``r`` and calls ``settle``."""

    def __init__(self, chains: list[list[int]], load: Loader, tol: float, warm_start: bool,
                 max_iterations: int, on_load: Callable[[list[int]], None] | None = None,
                 on_result: Callable[[int, LaneResult], None] | None = None):
        """``on_load(items)`` runs before new items enter lanes (a bandit picks their omega),
        ``on_result(item, result)`` as each is recorded (the bandit's delayed feedback)."""
        self.on_load = on_load or (lambda items: None)
        self.on_result = on_result or (lambda item, result: None)
        self.chains = [list(c) for c in chains if c]
        self.position = [0] * len(self.chains)
        self.load = load
        self.tol = tol
        self.warm_start = warm_start
        self.max_iterations = max_iterations
        self.results: dict[int, LaneResult] = {}
        self.on_load([c[0] for c in self.chains])
        faces, reaction, b = load([c[0] for c in self.chains])
        # own contiguous copies: a batch may hold broadcast views, and refills write in place
        self.b = b.contiguous()
        self.op = StencilOperator([f.contiguous() for f in faces], reaction.contiguous())
        self.x = torch.zeros_like(self.b)
        self.iterations = torch.zeros(len(self.chains), dtype=torch.int64, device=self.b.device)
        self.misses = [0] * len(self.chains)  # true-residual misses without progress
        self.best = [float("inf")] * len(self.chains)  # the lane's best missed true residual
        self._targets()

    @property
    def batch(self) -> int:
        return len(self.chains)

    def item(self, lane: int) -> int:
        return self.chains[lane][self.position[lane]]

    def _targets(self) -> None:
        norm = lane_norm(self.b)
        self.target = self.tol * torch.where(norm > 0, norm, torch.ones_like(norm))

    def residual(self, lanes: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """TRUE residual b - A x of the given lanes (the whole batch by default)."""
        if isinstance(lanes, slice) or lanes.numel() == self.batch:
            return (self.b - self.op(self.x))[lanes]
        return self.b[lanes] - self.op.select(lanes)(self.x[lanes])

    def settle(self, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Check ``candidates`` (bool (B,)) on the TRUE residual; record and refill the done.

        Returns (refilled lanes, lagging lanes): the caller restarts both from their true
        residual (a new system, or a recursive residual that drifted from the true one).
        A lane past ``max_iterations``, or stalled (``STALLED_MISSES``), is recorded as it
        stands (not converged).
        """
        lanes = candidates.nonzero().flatten()
        if lanes.numel() == 0:
            empty = lanes
            return empty, empty
        true = lane_norm(self.residual(lanes))
        spent = (self.iterations[lanes] >= self.max_iterations) | self._stalled(lanes, true)
        done = (true <= self.target[lanes]) | spent
        finished = lanes[done]
        rel = (true[done] / (self.target[finished] / self.tol)).tolist()
        solutions = self.x[finished].cpu()  # one transfer for every lane recorded now
        iterations = self.iterations[finished].tolist()
        refill, lagging = finished.tolist(), lanes[~done].tolist()
        for k, lane in enumerate(refill):
            self.misses[lane], self.best[lane] = 0, float("inf")
            item = self.item(lane)
            self.results[item] = LaneResult(solutions[k], iterations[k], rel[k])
            self.on_result(item, self.results[item])
            self.position[lane] += 1
        moving = [lane for lane in refill if self.position[lane] < len(self.chains[lane])]
        if moving:
            index = torch.tensor(moving, device=self.b.device)
            self.on_load([self.item(lane) for lane in moving])
            faces, reaction, b = self.load([self.item(lane) for lane in moving])
            self.op.load(index, faces, reaction)
            self.b[index] = b.to(self.b)
            if not self.warm_start:
                self.x[index] = 0
            self.iterations[index] = 0
            self._targets()
        device = self.b.device
        return torch.tensor(moving, dtype=torch.int64, device=device), torch.tensor(
            lagging, dtype=torch.int64, device=device)

    def _stalled(self, lanes: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
        """Count each lane's misses of its target without halving its best true residual;
        True where ``STALLED_MISSES`` are reached."""
        stalled = []
        for lane, norm, target in zip(lanes.tolist(), true.tolist(),
                                      self.target[lanes].tolist(), strict=True):
            if norm <= target:
                stalled.append(False)
                continue
            if norm <= 0.5 * self.best[lane]:
                self.misses[lane], self.best[lane] = 0, norm
            else:
                self.misses[lane] += 1
            stalled.append(self.misses[lane] >= STALLED_MISSES)
        return torch.tensor(stalled, dtype=torch.bool, device=true.device)

    def finished(self) -> torch.Tensor:
        """Lanes whose chain is exhausted (bool (B,))."""
        return torch.tensor([p >= len(c) for p, c in zip(self.position, self.chains,
                                                          strict=True)], device=self.b.device)

    def compact(self, keep: torch.Tensor, *state: torch.Tensor) -> list[torch.Tensor]:
        """Drop exhausted lanes from the batch; returns ``state`` tensors restricted to ``keep``."""
        index = keep.nonzero().flatten()
        kept = index.tolist()
        self.chains = [self.chains[j] for j in kept]
        self.position = [self.position[j] for j in kept]
        self.misses = [self.misses[j] for j in kept]
        self.best = [self.best[j] for j in kept]
        self.op = self.op.select(index)
        self.b, self.x = self.b[index], self.x[index]
        self.iterations, self.target = self.iterations[index], self.target[index]
        return [s[index] for s in state]
