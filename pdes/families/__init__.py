"""The PDE families that ship with pdeforge, written on the public levels; ``pdes.get``
is the way in."""

from ._base import Family
from ._levels import TERMS, StencilFamily, SystemFamily
from .convection_diffusion import ConvectionDiffusion
from .darcy import Darcy
from .heat import Heat
from .helmholtz import Helmholtz
from .obstacles import Obstacles
from .poisson import Poisson

__all__ = [
    "BUILTIN",
    "TERMS",
    "ConvectionDiffusion",
    "Darcy",
    "Family",
    "Heat",
    "Helmholtz",
    "Obstacles",
    "Poisson",
    "StencilFamily",
    "SystemFamily",
]

# registered by name in this order (pdes.available() lists them first)
BUILTIN = (Darcy, Poisson, Helmholtz, Heat, Obstacles, ConvectionDiffusion)
