"""DCDM: a trained CNN gives the search directions of a conjugate-direction solver.

Kaneda et al., "A Deep Conjugate Direction Method for Iteratively Solving Linear Systems"
(ICML 2023), in PyTorch, 2-D and 3-D, batched over lanes: ``dcdm`` (directions
A-orthogonalised against the last k) and ``fcg-dcdm`` (the network as the flexible
preconditioner of flexible CG). Models come from ``train_model`` (``pdeforge train-dcdm``).
"""

from ._checkpoint import check_model, load_model, network_from, network_settings, save_model
from ._iterations import ConjugateDirections, a_orthogonalize
from ._network import BASES, SHAPES, DirectionNet, NetworkDirection, stencil_image
from ._solver import DCDM, FlexibleDCDM, solve_on_lanes
from ._training import DEFAULTS, build_training_set, dcdm_loss, train_model, training_state

__all__ = [
    "BASES",
    "DCDM",
    "DEFAULTS",
    "SHAPES",
    "ConjugateDirections",
    "DirectionNet",
    "FlexibleDCDM",
    "NetworkDirection",
    "a_orthogonalize",
    "build_training_set",
    "check_model",
    "dcdm_loss",
    "load_model",
    "network_from",
    "network_settings",
    "save_model",
    "solve_on_lanes",
    "stencil_image",
    "train_model",
    "training_state",
]
