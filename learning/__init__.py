"""What DCDM and the surrogates share to train a network: the learning-rate schedule and its
time-budget plan, atomic checkpoint files, and the seeded per-epoch random stream that makes
a resumed run draw exactly what an uninterrupted one would."""

from .checkpoint import CheckpointError, load_state, save_state
from .epochs import epoch_generator
from .schedule import SCHEDULES, BudgetPlan, lr_factor

__all__ = ["SCHEDULES", "BudgetPlan", "CheckpointError", "epoch_generator", "load_state",
           "lr_factor", "save_state"]
