"""Prefect flows and the ``pdeforge`` CLI: wiring only, the numerics live elsewhere.

Prefect is imported on first use, after ``configure_prefect`` has pointed PREFECT_HOME
into the project, so ``pdeforge info`` and bad-input errors stay fast.
"""

from importlib import import_module

from ._env import configure_prefect

configure_prefect()

__all__ = ["GenerateSpec", "SpecError", "configure_prefect", "generate", "run_generate",
           "shared_prefect_api"]

_LAZY = {"generate": ".generate", "run_generate": ".generate", "GenerateSpec": ".spec",
         "SpecError": ".spec", "shared_prefect_api": "._api"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'flows' has no attribute {name!r}")
