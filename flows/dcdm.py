"""The ``train-dcdm`` flow: train (or resume) a DCDM model; the numerics live in solvers.dcdm."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

__all__ = ["train_dcdm_flow"]


@task(name="train-dcdm", cache_policy=NO_CACHE)
def _train(family: str, grid: list[int], out: str, family_options: dict[str, Any],
           options: dict[str, Any]) -> dict[str, Any]:
    from solvers.dcdm import train_model

    return train_model(family, tuple(grid), out, family_options=family_options, **options)


@flow(name="pdeforge-train-dcdm")
def train_dcdm_flow(family: str, grid: list[int], out: str, family_options: dict[str, Any],
                    options: dict[str, Any]) -> dict[str, Any]:
    """Training vectors from the family's matrices, then epochs of the unsupervised loss;
    the checkpoint at ``out`` is written after every epoch (a re-run resumes it)."""
    return _train(family, grid, out, family_options, options)
