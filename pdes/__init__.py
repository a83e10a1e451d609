"""Parametric PDE families -> linear systems (grids, random fields, discretisations)."""

from ._errors import PDEError
from ._grid import Grid, make_grid
from ._random_fields import (
    chebyshev_series,
    decaying_coefficients,
    gaussian_random_field,
    sine_series,
)
from ._registry import (
    ENTRY_POINTS,
    FAMILIES,
    available,
    family_help,
    family_path,
    family_version,
    get,
    register,
    resolve,
)
from ._stencils import (
    Stencil,
    diffusion_faces,
    diffusion_matrix,
    dirichlet_rhs,
    laplacian,
    stencil_matrix,
)
from ._system import LinearSystem
from .families import (
    TERMS,
    ConvectionDiffusion,
    Darcy,
    Family,
    Heat,
    Helmholtz,
    Obstacles,
    Poisson,
    StencilFamily,
    SystemFamily,
)


def __getattr__(name: str) -> object:
    """``pdes.SystemBatch`` and ``pdes.resolve_device`` load on first use: they import torch
    (seconds), ``import pdes`` does not."""
    if name == "SystemBatch":
        from ._batch import SystemBatch

        return SystemBatch
    if name == "resolve_device":
        from ._device import resolve_device

        return resolve_device
    raise AttributeError(f"module 'pdes' has no attribute {name!r}")


__all__ = [
    "ENTRY_POINTS",
    "FAMILIES",
    "TERMS",
    "ConvectionDiffusion",
    "Darcy",
    "Family",
    "Grid",
    "Heat",
    "Helmholtz",
    "LinearSystem",
    "Obstacles",
    "PDEError",
    "Poisson",
    "Stencil",
    "StencilFamily",
    "SystemBatch",
    "SystemFamily",
    "available",
    "family_help",
    "chebyshev_series",
    "decaying_coefficients",
    "diffusion_faces",
    "diffusion_matrix",
    "dirichlet_rhs",
    "family_path",
    "family_version",
    "gaussian_random_field",
    "get",
    "laplacian",
    "make_grid",
    "register",
    "resolve",
    "resolve_device",
    "sine_series",
    "stencil_matrix",
]
