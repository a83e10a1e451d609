"""``pdeforge verify``: the store's own checks plus those that need the PDE.

``storage.verify_store`` reads every chunk and checks the metadata; with ``residuals``
each done sample's system is assembled again from (family, options, seed, index), its
TRUE residual recomputed from the stored solution and its inputs compared with the
regenerated ones. No Prefect here: checking a store starts no flow machinery.
"""

from __future__ import annotations

import math
import time

import numpy as np

import storage

from .spec import GenerateSpec

__all__ = ["check_samples", "intact", "residual_bound", "store_spec", "verify"]


def verify(url: str, residuals: bool = False) -> storage.VerifyReport:
    """Every chunk read and the metadata checked; with ``residuals`` every done sample's
    true residual and inputs too (samples already found damaged are not re-checked)."""
    report = storage.verify_store(url)
    if residuals and not report.broken_metadata():
        check_samples(url, report)
    return report


def store_spec(url: str) -> GenerateSpec:
    """The generate spec that made the store at ``url`` (its family, options, seed, solver,
    tolerance and chunking), to regenerate samples exactly as they were made."""
    dataset = storage.open_dataset(url)
    attrs = dataset.attrs
    missing = [k for k in ("family", "grid", "seed", "solver", "tolerance") if k not in attrs]
    if missing:
        raise storage.StorageError(f"{url} does not record how it was generated "
                                   f"(no {', '.join(missing)}): it cannot be regenerated")
    stored = {k: v for k, v in (attrs.get("solver_options") or {}).items()
              if k not in ("tol", "device", "method")}
    spec = GenerateSpec(family=attrs["family"], grid=list(attrs["grid"]), n=int(attrs["n"]),
                        out=url, seed=int(attrs["seed"]), solver=attrs["solver"],
                        tol=float(attrs["tolerance"]),
                        family_options=dict(attrs.get("family_options") or {}),
                        solver_options=stored, order=attrs.get("order_method", "greedy"),
                        chunk=dataset.chunk)
    try:
        spec.solver_object()
    except ValueError:  # options recorded as text (a model path, a callable): the defaults
        spec.solver_options = {}
    return spec


def residual_bound(system, x: np.ndarray, tol: float) -> float:
    """The largest true relative residual a sample solved to ``tol`` may show once stored.

    Storing rounds each value by at most half an ulp of the stored dtype, which moves the
    residual by at most ``u * || |A| |x| || / ||b||`` (u the unit roundoff): a float32
    store cannot hold a 1e-8 solution to 1e-8, and must not be called damaged for it.
    """
    u = float(np.finfo(x.dtype).eps) / 2
    x64 = np.abs(np.asarray(x, dtype=np.float64).reshape(-1))
    spread = abs(system.matrix) @ x64
    norm_b = float(np.linalg.norm(system.rhs)) or 1.0
    return tol * (1 + 1e-6) + 2 * u * float(np.linalg.norm(spread)) / norm_b


def check_samples(url: str, report: storage.VerifyReport) -> None:
    """Append residual and input findings for each done sample not already damaged."""
    import pdes

    clock = time.perf_counter()
    dataset = storage.open_dataset(url)
    attrs = dataset.attrs
    family = pdes.get(attrs["family"], grid=tuple(attrs["grid"]),
                      **(attrs.get("family_options") or {}))
    tol, seed = float(attrs.get("tolerance", math.inf)), int(attrs["seed"])
    damaged = set(report.damaged().tolist())
    status, status_ok = intact(dataset.status)
    source, source_ok = intact(dataset.source_index)
    done = (status == storage.DONE) & status_ok & source_ok
    chunk = dataset.chunk
    for start in range(0, len(dataset), chunk):
        stop = min(start + chunk, len(dataset))
        todo = [p for p in range(start, stop) if done[p] and p not in damaged]
        if not todo:
            continue
        solution = np.asarray(dataset.solution[start:stop])
        inputs = {k: np.asarray(a[start:stop]) for k, a in dataset.inputs.items()}
        params = {k: np.asarray(a[start:stop]) for k, a in dataset.params.items()}
        high, differ, worst = [], [], 0.0
        for p in todo:
            system = family.sample(int(source[p]), seed)
            x = solution[p - start]
            residual = system.relative_residual(x)
            if not residual <= residual_bound(system, x, tol):
                high.append(p)
                worst = max(worst, residual) if math.isfinite(residual) else math.inf
            if _inputs_differ(system, {k: v[p - start] for k, v in inputs.items()},
                              {k: v[p - start] for k, v in params.items()}):
                differ.append(p)
            report.residuals_checked += 1
        where = f"chunk {start // chunk}"
        if high:
            report.findings.append(storage.Finding(
                "residual above tolerance", f"solution {where}", tuple(high),
                detail=f"worst true residual {worst:.2e}, tolerance {tol:g}"))
        if differ:
            report.findings.append(storage.Finding(
                "inputs differ from regenerated", f"inputs {where}", tuple(differ)))
    report.residual_seconds = time.perf_counter() - clock


def intact(array) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D array's values, and where its chunks decode (a damaged one is a finding)."""
    values, ok = np.zeros(array.shape, array.dtype), np.ones(array.shape, bool)
    for index in range(array.nchunks):
        samples = array.samples_of(index)
        try:
            values[samples.start:samples.stop] = array.chunk(index)
        except storage.DamagedChunk:
            ok[samples.start:samples.stop] = False
    return values, ok


def _inputs_differ(system, inputs: dict[str, np.ndarray], params: dict[str, float]) -> bool:
    for name, stored in inputs.items():
        if not np.array_equal(stored, np.asarray(system.fields[name], dtype=stored.dtype)):
            return True
    return any(name in system.params and not float(value) == float(system.params[name])
               for name, value in params.items())
