"""Solver names -> classes, imported lazily so a PETSc-only run never loads torch."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from ._base import Solver, SolverError

__all__ = ["accepts", "available", "get"]

# name -> "module:Class"; the PETSc family is handled by prefix ("petsc:<ksp>+<pc>").
_SOLVERS: dict[str, str] = {
    "batched": "solvers.batched:BatchedSolver",
    "dcdm": "solvers.dcdm:DCDM",
    "fcg-dcdm": "solvers.dcdm:FlexibleDCDM",
    "gcrodr": "solvers.recycling:GCRODR",
    "rcg": "solvers.recycling:RecycledCG",
    "skr": "solvers.recycling:SKR",
    "sor": "solvers.relaxation:SOR",
    "ssor-pcg": "solvers.relaxation:SSORPCG",
    "sor-bandit": "solvers.relaxation:SORBandit",
    "ssor-pcg-bandit": "solvers.relaxation:SSORPCGBandit",
    "sor-bandit-contextual": "solvers.relaxation:SORBanditContextual",
    "sor-bandit-smooth": "solvers.relaxation:SORBanditSmooth",
    "ssor-pcg-bandit-smooth": "solvers.relaxation:SSORPCGBanditSmooth",
    "ssor-pcg-bandit-contextual": "solvers.relaxation:SSORPCGBanditContextual",
    "auto": "solvers.recycling:SKR",
}


def available() -> list[str]:
    """Registered solver names (PETSc ones are any ``petsc:<ksp>+<pc>``)."""
    return ["petsc:<ksp>+<pc>", "petsc:lu", "petsc:cholesky", *sorted(_SOLVERS)]


def solver_class(name: str) -> type[Solver]:
    """The class registered as ``name`` (``petsc:...`` names: ``PETScSolver``)."""
    if name.startswith("petsc:"):
        from .petsc import PETScSolver

        return PETScSolver
    if name not in _SOLVERS:
        raise SolverError(f"unknown solver {name!r}; choose from {', '.join(available())}")
    module, cls = _SOLVERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def accepts(name: str, option: str) -> bool:
    """Whether solver ``name`` takes the constructor option ``option``."""
    return option in inspect.signature(solver_class(name)).parameters


def get(name: str, **options: Any) -> Solver:
    """Build the solver called ``name`` with ``options`` (tol, max_iterations, device, ...)."""
    if name.startswith("petsc:"):
        return solver_class(name)(method=name.split(":", 1)[1], **options)
    return solver_class(name)(**options)
