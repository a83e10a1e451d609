"""Linear solvers for sequences of similar systems: PETSc reference, recycling, ordering.

``solvers.get(name, **options)`` is the one-call entry point (pyamg's ``blackbox`` role).
"""

from ._base import Solver, SolverError, SolveResult, solver_device
from ._preconditioners import PRECONDITIONERS, check_preconditioner
from ._registry import accepts, available, get, solver_class
from ._sequence import sequence_features, solve_in_order, solve_sequence

__all__ = ["PRECONDITIONERS", "SolveResult", "Solver", "SolverError", "accepts", "available",
           "check_preconditioner", "get", "order", "sequence_features", "solve_in_order",
           "solve_sequence", "solver_class", "solver_device"]


def order(features, method: str = "greedy"):
    """Permutation that puts similar systems next to each other (see ``solvers.ordering``)."""
    from .ordering import order as _order

    return _order(features, method=method)
