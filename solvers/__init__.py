"""Linear solvers for sequences of similar systems: PETSc reference, recycling, ordering.

``solvers.get(name, **options)`` is the one-call entry point (pyamg's ``blackbox`` role).
"""

from ._base import Solver, SolverError, SolveResult
from ._registry import available, get
from ._sequence import sequence_features, solve_in_order, solve_sequence

__all__ = ["SolveResult", "Solver", "SolverError", "available", "get", "order",
           "sequence_features", "solve_in_order", "solve_sequence"]


def order(features, method: str = "greedy"):
    """Permutation that puts similar systems next to each other (see ``solvers.ordering``)."""
    from .ordering import order as _order

    return _order(features, method=method)
