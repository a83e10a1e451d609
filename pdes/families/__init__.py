"""The PDE families; ``pdes.get`` is the way in."""

from ._base import Family
from .darcy import Darcy
from .heat import Heat
from .helmholtz import Helmholtz
from .obstacles import Obstacles
from .poisson import Poisson

__all__ = ["Darcy", "Family", "Heat", "Helmholtz", "Obstacles", "Poisson"]
