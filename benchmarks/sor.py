"""The ``sor-sequence`` case (T5): bandits choosing SOR's omega over >= 1000 systems.

Two sequences, as in Khodak et al. (ICLR 2024): Laplacians with random diagonal shifts
(context: log10 of the shift over the Laplacian's smallest eigenvalue) and the heat
family's Crank-Nicolson steps with kappa(t) (context: kappa). Each policy solves the same
sequence in lanes with the CLI's defaults; the rows carry total iterations and, in
``extra``, the best fixed omega in hindsight (every arm run) and Young's instance-optimal
omega; a PNG plots cumulative iterations against instances.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

import pdes
import solvers
from solvers.relaxation import DEFAULT_ARMS

from .cases import Case, bench_row

__all__ = ["heat_sequence", "run_sor_case", "shifted_sequence"]

HEAT = {"kappa": "schedule", "trajectory": True, "dt": 5e-3}


def shifted_sequence(grid: tuple[int, ...], n: int, seed: int = 0) -> list[pdes.LinearSystem]:
    """A = L + s I, s = lambda_min(L) 10^u with u ~ U(-1, 2.5): Young's omega spans 1.1-1.8."""
    g = pdes.make_grid(grid)
    faces = pdes.diffusion_faces(g, np.ones(g.shape))
    lam = sum(4 * math.sin(0.5 * math.pi / (m + 1)) ** 2 / h**2
              for m, h in zip(g.shape, g.spacing, strict=True))
    rng = np.random.default_rng(seed)
    forcing = pdes.sine_series(pdes.decaying_coefficients(rng, 4, g.ndim, first=1),
                               *g.coordinates).ravel()
    systems = []
    for u in rng.uniform(-1.0, 2.5, n):
        stencil = pdes.Stencil(faces, reaction=lam * 10**u)
        systems.append(pdes.LinearSystem(pdes.stencil_matrix(stencil), forcing, g.shape,
                                         params={"log_shift": float(u)}, stencil=stencil))
    return systems


def heat_sequence(grid: tuple[int, ...], n: int, seed: int = 0) -> list[pdes.LinearSystem]:
    family = pdes.get("heat", grid=grid, **HEAT)
    return [family.sample(i, seed) for i in range(n)]


SEQUENCES = {"shifted": (shifted_sequence, "log_shift", -1.0, 2.5),
             "heat": (heat_sequence, "kappa", 0.0, 10.0)}


def _policies(context: str, low: float, high: float) -> list[tuple[str, str, dict]]:
    bandit = [("sor-bandit", "sor-bandit", {}),
              ("sor-bandit[B=1]", "sor-bandit", {"batch": 1}),
              ("sor-bandit-contextual", "sor-bandit-contextual",
               {"context": context, "low": low, "high": high}),
              ("ssor-pcg-bandit", "ssor-pcg-bandit", {}),
              ("gauss-seidel", "sor", {"omega": 1.0}),
              ("sor[young]", "sor", {"omega": "young"})]
    arms = [(f"sor[{w:.2f}]", "sor", {"omega": w}) for w in DEFAULT_ARMS]
    arms += [(f"ssor-pcg[{w:.2f}]", "ssor-pcg", {"omega": w}) for w in DEFAULT_ARMS]
    return bandit + arms


def run_sor_case(case: Case, suite: str, out: Path) -> list[dict[str, Any]]:
    """Both sequences, every policy; rows per policy, totals against the comparators."""
    rows: list[dict[str, Any]] = []
    for label, (build, context, low, high) in SEQUENCES.items():
        sub = Case(f"{case.name}-{label}", "heat" if label == "heat" else "shifted-laplacian",
                   case.grid, case.n, case.tol, suites=case.suites, kind=case.kind)
        systems = build(case.grid, case.n)
        curves: dict[str, np.ndarray] = {}
        measured = []
        for name, solver, options in _policies(context, low, high):
            start = time.perf_counter()
            results = list(solvers.get(solver, tol=case.tol, device="cpu", **options)
                           .solve_sequence(systems))
            elapsed = time.perf_counter() - start
            iterations = np.array([r.iterations for r in results])
            curves[name] = np.cumsum(iterations)
            measured.append((name, solver, results, elapsed, iterations))
        best = {m: min((c[-1], k) for k, c in curves.items() if k.startswith(f"{m}[")
                       and k[len(m) + 1].isdigit()) for m in ("sor", "ssor-pcg")}
        optimal = int(curves["sor[young]"][-1])
        for name, solver, results, elapsed, iterations in measured:
            method = "ssor-pcg" if solver.startswith("ssor") else "sor"
            total = int(iterations.sum())
            extra = {"total_iterations": total,
                     "best_fixed_total_iterations": int(best[method][0]),
                     "best_fixed_omega": best[method][1],
                     "vs_best_fixed": total / best[method][0],
                     "instance_optimal_total_iterations": optimal if method == "sor" else None,
                     "vs_instance_optimal": total / optimal if method == "sor" else None,
                     "omega_last_100": float(np.mean([r.info["omega"] for r in results[-100:]])),
                     "measured": len(results), "failed": int(sum(not r.converged
                                                                 for r in results))}
            rows.append(bench_row(
                sub, suite, name, ms_per_sample=1e3 * elapsed / len(results),
                iterations_mean=float(iterations.mean()),
                max_residual=max(r.residual for r in results),
                converged_all=all(r.converged for r in results), device="cpu", extra=extra))
        _plot(curves, best, out / f"sor-sequence-{label}.png", sub.name)
    return rows


def _plot(curves: dict[str, np.ndarray], best: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["sor-bandit", "sor-bandit-contextual", "gauss-seidel", "sor[young]",
             best["sor"][1], "ssor-pcg-bandit", best["ssor-pcg"][1]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in dict.fromkeys(shown):
        label = f"{name} (best fixed)" if name in (best["sor"][1], best["ssor-pcg"][1]) else name
        ax.plot(np.arange(1, len(curves[name]) + 1), curves[name], label=label)
    ax.set_xlabel("instance")
    ax.set_ylabel("cumulative iterations")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
