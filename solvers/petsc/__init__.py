"""PETSc (petsc4py) backend: the classical reference and production solver."""

from ._ksp import PETScSolver, parse_petsc_options, petsc, petsc_matrix

__all__ = ["PETScSolver", "parse_petsc_options", "petsc", "petsc_matrix"]
