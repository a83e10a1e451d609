"""Markdown report of one generate -> train -> evaluate run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_report"]

_HEADLINE = (
    ("rel_l2_mean", "relative L2, mean"),
    ("rel_l2_median", "relative L2, median"),
    ("rel_l2_worst", "relative L2, worst"),
    ("rel_h1_mean", "relative H1, mean"),
    ("baseline_rel_l2_mean", "relative L2 of the training-mean predictor"),
    ("n_test", "test samples"),
    ("epochs", "epochs"),
    ("train_seconds", "training seconds"),
    ("inference_seconds_per_sample", "inference seconds per sample"),
    ("device", "device"),
)


def write_report(
    out_dir: str | os.PathLike,
    metrics: Mapping[str, Any],
    figures: Mapping[str, str | os.PathLike],
    generation_summary: Mapping[str, Any],
) -> Path:
    """Write out_dir/report.md: data generation, surrogate accuracy, figures; returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# pdeforge run report", "", "## Data generation", ""]
    lines += _table(generation_summary.items())
    lines += ["", "## Surrogate (held-out test split)", ""]
    lines += _table((label, metrics[key]) for key, label in _HEADLINE if key in metrics)
    lines += ["", "## Figures", ""]
    for name, path in figures.items():
        lines += [f"### {name.replace('_', ' ')}", "", f"![{name}]({_relative(path, out)})", ""]
    target = out / "report.md"
    target.write_text("\n".join(lines).rstrip() + "\n")
    return target


def _table(rows: Any) -> list[str]:
    body = [f"| {key} | {_format(value)} |" for key, value in rows]
    return ["| quantity | value |", "| --- | --- |", *body] if body else ["(none)"]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _relative(path: str | os.PathLike, base: Path) -> str:
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()
