"""Neural-operator surrogates trained from pdeforge zarr datasets.

Knows only arrays and stores: no solver, PDE or Prefect imports.
"""

from ._surrogate import Surrogate, load
from .card import card_path, write_card
from .errors import SurrogateError
from .evaluation import evaluate
from .export import export_pdebench
from .models import MODELS, register_model
from .recipe import TRAIN_DEFAULTS, load_recipe, merge_recipes
from .report import write_report
from .training import train

__all__ = ["MODELS", "TRAIN_DEFAULTS", "Surrogate", "SurrogateError", "card_path", "evaluate",
           "export_pdebench", "load", "load_recipe", "merge_recipes", "register_model", "train",
           "write_card", "write_report"]
