"""Learning-rate schedules and the time-budget plan that sizes them.

With a time budget and no epoch count, the schedule runs on the budget's clock (the
share of the budget spent, not of a step count guessed from epoch times), so the cosine
decay ends when the budget does; the last epoch is cut at the budget's end. The plan's
inputs (budget, time spent, epoch durations) live in the checkpoint, so a resumed run
continues the same schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["SCHEDULES", "BudgetPlan", "lr_factor"]

SCHEDULES = ("cosine", "constant")


def lr_factor(schedule: str, step: float, total_steps: float | None) -> float:
    """Factor on the base learning rate at ``step`` of ``total_steps`` (optimizer steps, or
    seconds of a budget); ``total_steps=None`` is the schedule's start."""
    if schedule == "constant" or total_steps is None:
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    raise ValueError(f"unknown schedule {schedule!r}; known: {list(SCHEDULES)}")


@dataclass
class BudgetPlan:
    """How many epochs a run gets: a fixed count, a time budget, or both (the budget caps).

    ``spent`` is the wall time the run has used so far, across resumed calls; the next
    epoch is estimated as the slowest of the last three (a shared machine's epochs vary).
    Another epoch starts while at least half of one fits: it is cut at the budget's end,
    where the budget-clock schedule reaches its floor.
    """

    epochs: int | None
    budget_seconds: float | None

    def estimate(self, durations: list[float]) -> float | None:
        return max(durations[-3:]) if durations else None

    def total_epochs(self, done: int, spent: float, durations: list[float]) -> int | None:
        """Epochs the schedule spans; None while a budget-only run has no timing yet."""
        if self.epochs is not None:
            return self.epochs
        estimate = self.estimate(durations)
        if estimate is None:
            return None
        return done + max(0, round((self.budget_seconds - spent) / estimate))

    def stop_reason(self, done: int, spent: float, durations: list[float]) -> str | None:
        """Why no further epoch runs ("epochs", "time", "budget"), or None to go on."""
        if self.epochs is not None and done >= self.epochs:
            return "epochs"
        estimate = self.estimate(durations)
        if self.budget_seconds is not None and estimate is not None and (
            spent + 0.5 * estimate > self.budget_seconds
        ):
            return "time" if self.epochs is not None else "budget"
        return None
