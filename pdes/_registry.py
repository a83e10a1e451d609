"""Family names and import paths -> classes: ``get``, ``resolve``, ``register``.

A family is found, in this order, as an import path ``"package.module:ClassName"``, a name
``register``ed from Python (the built-in families are registered this way), or a name an
installed distribution declares in the ``pdeforge.families`` entry-point group. A store
records the class's import path, so a Dask worker (another process) resolves the same class.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from typing import Any

from ._errors import PDEError
from .families import BUILTIN, Family

__all__ = [
    "ENTRY_POINTS",
    "FAMILIES",
    "available",
    "family_help",
    "family_path",
    "family_version",
    "get",
    "register",
    "resolve",
]

ENTRY_POINTS = "pdeforge.families"
_REGISTERED: dict[str, type[Family]] = {}


def register(cls: type[Family], name: str | None = None) -> type[Family]:
    """Make ``cls`` known as ``name`` (default ``cls.name``); usable as a class decorator."""
    _check_family(cls, repr(cls))
    _REGISTERED[name or cls.name] = cls
    return cls



def available() -> tuple[str, ...]:
    """Every family name ``get`` accepts: registered ones, then installed entry points."""
    return (*_REGISTERED, *sorted(set(_entry_points()) - set(_REGISTERED)))


def resolve(family: str | type[Family]) -> type[Family]:
    """The family class of a name, an import path ``"module:Class"`` or a class."""
    if isinstance(family, type):
        return _check_family(family, repr(family))
    if not isinstance(family, str) or not family:
        raise PDEError(f"a family is a name or 'module:Class', got {family!r}")
    if ":" in family:
        return _import(family)
    if family in _REGISTERED:
        return _REGISTERED[family]
    points = _entry_points()
    if family in points:
        return _import(points[family], f"entry point {family!r} ")
    raise PDEError(f"unknown PDE family {family!r}; known: {', '.join(available())} "
                   "(or give a plugin as package.module:ClassName)")


def get(family: str | type[Family], **options: Any) -> Family:
    """``get("darcy", grid=(64, 64), coefficient="threshold")``; ``get("pkg.mod:Class")``."""
    return resolve(family)(**options)


def family_path(cls: type[Family]) -> str:
    """``"module:QualName"``: what a store records so any process imports the same class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def family_version(cls: type[Family]) -> str:
    """The class's ``version``, else the version of the distribution that ships its module."""
    if getattr(cls, "version", None):
        return str(cls.version)
    top = cls.__module__.partition(".")[0]
    for dist in importlib.metadata.packages_distributions().get(top, ()):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINTS)}


def _import(path: str, what: str = "") -> type[Family]:
    module_name, _, attribute = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except Exception as exc:  # noqa: BLE001 - any import failure of a plugin is bad input
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PDEError(f"cannot import family {what}{path!r}: {reason}") from None
    return _check_family(target, f"{what}{path!r}")


def _check_family(target: Any, label: str) -> type[Family]:
    if not (isinstance(target, type) and issubclass(target, Family)):
        raise PDEError(f"{label} is not a PDE family (a subclass of pdes.Family)")
    if inspect.isabstract(target) or not isinstance(getattr(target, "name", None), str):
        raise PDEError(f"{label} is not a complete PDE family (abstract, or no name)")
    return target


for _builtin in BUILTIN:
    register(_builtin)
# the built-in stencil-level families (every lane engine applies to them)
FAMILIES: tuple[str, ...] = ("darcy", "poisson", "helmholtz", "heat", "obstacles")


def family_help() -> str:
    """The families for a CLI help text (entry points listed by name, none imported)."""
    return f"{', '.join(available())}, or package.module:ClassName"
