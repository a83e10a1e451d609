"""Family names -> classes: the single entry point ``get``."""

from __future__ import annotations

from typing import Any

from ._errors import PDEError
from .families import Darcy, Family, Heat, Helmholtz, Obstacles, Poisson

__all__ = ["FAMILIES", "get"]

_CLASSES: dict[str, type[Family]] = {
    f.name: f for f in (Darcy, Poisson, Helmholtz, Heat, Obstacles)
}
FAMILIES: tuple[str, ...] = tuple(_CLASSES)


def get(family: str, **options: Any) -> Family:
    """``get("darcy", grid=(64, 64), coefficient="threshold")``; see each family's options."""
    if family not in _CLASSES:
        raise PDEError(f"unknown PDE family {family!r}; known: {', '.join(FAMILIES)}")
    return _CLASSES[family](**options)
