"""Krylov recycling in torch: GCRO-DR, recycled (deflated) CG and SKR.

All Krylov vectors live on the chosen torch device in float64; sparse factors used as
preconditioners run on the host (see ``_factor.Factor``).
"""

from ._common import RecyclingSolver
from ._factor import Factor
from ._gcrodr import gcrodr
from ._precond import MATRIX_PRECONDITIONERS, PreconditionerPolicy
from ._rcg import deflated_cg
from ._solvers import GCRODR, SKR, RecycledCG

__all__ = [
    "GCRODR",
    "MATRIX_PRECONDITIONERS",
    "SKR",
    "Factor",
    "PreconditionerPolicy",
    "RecycledCG",
    "RecyclingSolver",
    "deflated_cg",
    "gcrodr",
]
