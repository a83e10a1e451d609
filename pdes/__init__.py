"""Parametric PDE families -> linear systems (grids, random fields, discretisations)."""

from ._system import LinearSystem

__all__ = ["LinearSystem"]
