"""``solve_sequence``: any CSR systems sorted by similarity and solved as one sequence.

For systems that come with no PDE family (another tool's matrices): ordering features are
a seeded random sketch of each matrix's diagonal and right-hand side (distances between
sketches approximate distances between the vectors, Johnson-Lindenstrauss), so neighbours
in the order share a factor and a warm start. A system that raises (a singular factor) or
yields a non-finite solution is a failed result with its reason; the sequence restarts
after it, so one bad system never poisons the warm start of the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from pdes import LinearSystem

from ._base import Solver, SolverError, SolveResult
from ._registry import get

__all__ = ["sequence_features", "solve_in_order", "solve_sequence"]

SKETCH = 8  # sketch rows per vector (diagonal, right-hand side)


def sequence_features(systems: Sequence[LinearSystem]) -> np.ndarray:
    """(N, d) ordering features: each system's own ``features`` when all have them, else
    the sketch of diagonal and right-hand side, standardised per column."""
    if all(s.features.size for s in systems) and len({s.features.size for s in systems}) == 1:
        return np.stack([s.features for s in systems])
    sizes = {s.size for s in systems}
    if len(sizes) > 1:  # no common sketch: sort by size, then by name order
        return np.array([[s.size] for s in systems], dtype=np.float64)
    n = sizes.pop()
    sketch = np.random.default_rng(0).standard_normal((SKETCH, n)) / np.sqrt(n)
    raw = np.stack([np.concatenate([sketch @ s.matrix.diagonal(), sketch @ s.rhs])
                    for s in systems])
    spread = raw.std(axis=0)
    return (raw - raw.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def solve_in_order(systems: Sequence[LinearSystem], solver: Solver
                   ) -> Iterator[SolveResult]:
    """One result per system, in the given order; a failure (exception, non-finite solution)
    is a non-converged result with ``info["reason"]``, and the sequence restarts after it.
    A sequence that mixes SPD and other systems is solved as nonsymmetric throughout."""
    sizes = {s.size for s in systems}
    if len(sizes) > 1 and not solver.name.startswith("petsc"):
        raise SolverError(f"systems of mixed sizes ({min(sizes)} to {max(sizes)} unknowns): "
                          f"solver {solver.name} carries one vector space along the "
                          "sequence; use a petsc:<ksp>+<pc> solver or one size")
    if len({(s.symmetric, s.definite) for s in systems}) > 1:  # one Krylov method for all: a
        systems = [replace(s, symmetric=False, definite=False) for s in systems]  # reused
    position = 0  # factor of a nonsymmetric neighbour is no preconditioner for CG
    while position < len(systems):
        end = position + 1  # a new size starts a new sequence (no state crosses sizes)
        while end < len(systems) and systems[end].size == systems[position].size:
            end += 1
        try:
            for result in solver.solve_sequence(systems[position:end]):
                position += 1
                if np.all(np.isfinite(result.x)):
                    yield result
                    continue
                result.info["reason"] = "singular or breakdown: non-finite solution"
                yield result
                break  # restart: no warm start or factor from a non-finite solve
        except (ArithmeticError, RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
            yield _failure(systems[position], exc)
            position += 1


def solve_sequence(systems: Sequence[LinearSystem], solver: str | Solver = "skr", *,
                   tol: float = 1e-8, order: str = "greedy", **options: Any
                   ) -> list[SolveResult]:
    """Solve ``systems`` (any CSR matrices) sorted by similarity; results in input order.

    ``solver`` is a name for ``solvers.get`` (built with ``tol`` and ``options``) or a
    solver object. Each result carries its TRUE relative residual and ``converged``.
    """
    systems = list(systems)
    if not systems:
        return []
    if isinstance(solver, str):
        solver = get(solver, tol=tol, **options)
    from .ordering import order as sort

    perm = sort(sequence_features(systems), method=order)
    results: list[SolveResult | None] = [None] * len(systems)
    for index, result in zip(perm, solve_in_order([systems[i] for i in perm], solver),
                             strict=True):
        results[int(index)] = result
    return results


def _failure(system: LinearSystem, exc: BaseException) -> SolveResult:
    x = np.full(system.size, np.nan)
    reason = f"solver error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return SolveResult(x, 0, float("nan"), 0.0, False, {"reason": reason})
