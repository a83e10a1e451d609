"""Neural-operator surrogates trained from pdeforge zarr datasets.

Knows only arrays and stores: no solver, PDE or Prefect imports.
"""

from ._surrogate import Surrogate, load
from .evaluation import evaluate
from .report import write_report
from .training import train

__all__ = ["Surrogate", "evaluate", "load", "train", "write_report"]
