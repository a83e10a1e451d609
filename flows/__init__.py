"""Prefect flows: wiring only, the numerics live elsewhere (the ``cli`` package drives them).

Prefect is imported on first use, after ``configure_prefect`` has pointed PREFECT_HOME
into the project, so ``pdeforge info`` and bad-input errors stay fast.
"""

from importlib import import_module

from ._env import configure_prefect

configure_prefect()

__all__ = ["GenerateSpec", "Interrupted", "SpecError", "configure_prefect", "did_you_mean",
           "generate", "parse_grids", "run_generate", "shared_prefect_api", "start_api_early"]

_LAZY = {"generate": ".generate", "run_generate": ".generate", "GenerateSpec": ".spec",
         "SpecError": "._errors", "shared_prefect_api": "._api", "start_api_early": "._api",
         "did_you_mean": "._checks", "parse_grids": "._checks", "Interrupted": "._interrupt"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'flows' has no attribute {name!r}")
