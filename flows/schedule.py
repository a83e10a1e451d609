"""Scheduled runs: a deployment `pdeforge serve` registers, and the flow each run executes.

A run either finishes the store of its spec (resume) or, with ``grow``, extends it by
``grow`` new samples: the next index range of the same family spec, appended along
``sample`` so the stored samples keep their bytes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from .generate import run_generate
from .spec import GenerateSpec

__all__ = ["next_size", "scheduled_deployment", "scheduled_generate"]


def next_size(spec: GenerateSpec, grow: int) -> int:
    """Samples the store should hold after this run: ``spec.n`` at first, then ``grow`` more
    each run (never fewer than it holds)."""
    stored = spec.stored()
    if stored is None:
        return spec.n
    return stored[0] + grow if grow else max(spec.n, stored[0])


@flow(name="pdeforge-scheduled")
def scheduled_generate(spec: GenerateSpec, grow: int = 0, train: str | None = None
                       ) -> dict[str, Any]:
    """One scheduled run: ``generate`` on the spec's task runner, grown by ``grow`` samples;
    then, with ``train`` (a model folder), its surrogate trained or fine-tuned on the store."""
    spec = replace(spec, extend=bool(grow))
    spec = replace(spec, n=next_size(spec, grow))
    started, tic = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    try:
        summary = run_generate(spec, progress=False)
    except Exception as exc:  # one line in the serve log, then Prefect records the failure
        _say(f"{started} {spec.out}: failed after {time.perf_counter() - tic:.1f} s: {exc}")
        raise
    _say(f"{started} {spec.out}: {summary['done']} of {spec.n} samples done, "
         f"{summary['failed']} failed, {time.perf_counter() - tic:.1f} s")
    if train:
        from .pipeline import train_flow

        train_flow(spec.out, train, {"progress": False})
        _say(f"{started} {spec.out}: surrogate {train} fine-tuned on the grown store")
    return summary


def _say(line: str) -> None:
    """One line per scheduled run on the serving process's output (`pdeforge serve`)."""
    print(line, flush=True)


def scheduled_deployment(spec: GenerateSpec, *, cron: str | None = None,
                         interval: float | None = None, grow: int = 0,
                         train: str | None = None):
    """A deployment of ``scheduled_generate`` on a cron or interval schedule, one run at a
    time: a run due while the last still works is cancelled (the next one resumes)."""
    schedule = {"cron": cron} if cron else {"interval": timedelta(seconds=interval or 86400)}
    name = f"{'grow' if grow else 'generate'}-{spec.family}"
    return scheduled_generate.to_deployment(
        name=name, **schedule, parameters={"spec": spec.as_dict(), "grow": grow, "train": train},
        concurrency_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW))
