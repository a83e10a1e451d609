"""What a run record holds besides its counts: the solver's resolved options, the
versions of the packages that made the data, and the checkout's git revision."""

from __future__ import annotations

import importlib.metadata
import subprocess
from typing import Any

from ._env import project_root

__all__ = ["PACKAGES", "git_revision", "jsonable", "package_versions", "run_provenance"]

PACKAGES = ("pdeforge", "torch", "petsc4py", "zarr", "prefect")


def run_provenance(solver: Any) -> dict[str, Any]:
    """The provenance fields of a run record (git_revision only where there is one)."""
    record = {"solver_options": jsonable(solver.options()), "versions": package_versions()}
    revision = git_revision()
    if revision:
        record["git_revision"] = revision
    return record


def package_versions() -> dict[str, str | None]:
    """Installed version of each of PACKAGES (None: not installed)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision() -> str | None:
    """The checkout's commit (with ``-dirty`` for uncommitted changes), None outside git."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                              capture_output=True, cwd=project_root(), text=True, timeout=5,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def jsonable(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON takes them (anything else by its str)."""
    return {k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)
            for k, v in options.items()}
