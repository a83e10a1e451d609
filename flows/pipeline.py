"""Flows around the surrogates: train, evaluate, and the full run (generate -> report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from .generate import run_generate
from .spec import GenerateSpec

__all__ = ["DEFAULT_RUN", "evaluate_flow", "run_pipeline", "train_flow"]

# `make run`'s embedded default: FNO-style Darcy (coefficient 12/3 from a thresholded GRF,
# forcing 1), sized to finish in about ten minutes on a 2-core CPU after set-up.
DEFAULT_RUN: dict[str, Any] = {
    "family": "darcy", "grid": [32, 32], "n": 1000, "seed": 0, "solver": "skr", "tol": 1e-8,
    "family_options": {"coefficient": "threshold"}, "epochs": 60, "max_minutes": 8.0,
}


@task(name="train-surrogate", cache_policy=NO_CACHE)
def _train(data: str, out: str, options: dict[str, Any]) -> dict[str, Any]:
    import surrogates

    return surrogates.train(data, out, **options)


@task(name="evaluate-surrogate", cache_policy=NO_CACHE)
def _evaluate(model_dir: str, data: str | None, out: str | None) -> dict[str, Any]:
    import surrogates

    return surrogates.evaluate(model_dir, data, out)


@flow(name="pdeforge-train")
def train_flow(data: str, out: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a surrogate on a store's done samples (resumes from ``out``'s checkpoint)."""
    return _train(data, out, options or {})


@flow(name="pdeforge-evaluate")
def evaluate_flow(model_dir: str, data: str | None = None, out: str | None = None) -> dict:
    """Held-out errors, figures and metrics.json of a trained surrogate."""
    return _evaluate(model_dir, data, out)


@flow(name="pdeforge-run")
def run_pipeline(out: str, spec: GenerateSpec, train_options: dict[str, Any]) -> str:
    """Generate -> train -> evaluate -> report; returns the report's path."""
    import surrogates

    root = Path(out)
    summary = run_generate(spec)
    model_dir = str(root / "model")
    _train(spec.out, model_dir, train_options)
    metrics = _evaluate(model_dir, spec.out, str(root / "evaluation"))
    generation = {"family": spec.family, "grid": "x".join(map(str, spec.grid)),
                  "samples done": summary["done"], "failed": summary["failed"],
                  "solver": spec.solver, "tolerance": spec.tol,
                  "max true residual": summary.get("residual_max"),
                  "mean iterations": summary.get("iterations_mean"), "store": spec.out}
    return str(surrogates.write_report(root, metrics, metrics["figures"], generation))
