"""The ``l2r-heat`` case: the 2-D heat benchmark of Learning to Relax (Khodak et al., ICLR 2024).

Their ``scripts/h2d.m``: Crank-Nicolson steps (I - kappa dt/2 lap) u+ = (I + kappa dt/2 lap) u
+ dt f on the unit square, nx - 1 interior points per axis, kappa(t) = max(0.1 sin 2 pi t,
-10 sin 2 pi t) at the half step, a bump forcing 32 bump(x; c(t), 1/8) whose centre c(t)
circles (0.5, 0.5) at radius 1/4 eight times per unit time, a bump initial state
bump(x; (0.5, 0.5), 1/4), dt = 1e-3, tolerance 1e-8, and SSOR-preconditioned CG whose omega
is one of 20 arms in [1, 1.95], warm-started from the previous step. Here the trajectory is
stepped exactly (the step matrices are diagonal in the sine basis), so every policy solves
the same systems; the case runs ``case.n`` steps (the paper: 5000) at nx = grid + 1 and half
of it (50 and 100 for the 99 x 99 case), in 8 lanes along contiguous chains, and our SSOR is
red-black rather than lexicographic.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft

import pdes
import solvers
from solvers.relaxation import DEFAULT_ARMS

from .cases import Case, bench_row
from .sor import LANES, draw_order, fixed_arm_runs

__all__ = ["h2d_sequence", "kappa", "run_l2r_case"]

DT = 1e-3


def kappa(t: float) -> float:
    """h2d.m's diffusion coefficient (0 at integer and half-integer t)."""
    s = math.sin(2 * math.pi * t)
    return max(0.1 * s, -10.0 * s)


def _bump(x: np.ndarray, y: np.ndarray, centre: tuple[float, float], radius: float
          ) -> np.ndarray:
    r2 = np.minimum(1.0, ((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / radius**2)
    with np.errstate(divide="ignore"):
        return np.exp(1.0 - 1.0 / (1.0 - r2))


def h2d_sequence(nx: int, steps: int, dt: float = DT) -> list[pdes.LinearSystem]:
    """The first ``steps`` Crank-Nicolson systems of h2d.m on an nx x nx mesh."""
    g = pdes.make_grid((nx - 1, nx - 1))
    x, y = g.coordinates
    unit = pdes.diffusion_faces(g, np.ones(g.shape))  # -lap's faces, 1/h^2
    h = 1.0 / nx
    i = np.arange(1, nx)
    lam1 = 4.0 / h**2 * np.sin(0.5 * math.pi * i * h) ** 2
    eigenvalues = lam1[:, None] + lam1[None, :]  # of -lap in the sine basis
    minus_lap = pdes.stencil_matrix(pdes.Stencil(unit, reaction=0.0))
    u = _bump(x, y, (0.5, 0.5), 0.25)
    systems = []
    for step in range(steps):
        half = (step + 0.5) * dt
        c = 0.5 * kappa(half) * dt
        centre = (0.5 + math.cos(16 * math.pi * half) / 4,
                  0.5 + math.sin(16 * math.pi * half) / 4)
        forcing = 32.0 * _bump(x, y, centre, 0.125).ravel()
        rhs = u.ravel() - c * (minus_lap @ u.ravel()) + dt * forcing
        stencil = pdes.Stencil(tuple(c * f for f in unit), reaction=1.0)
        systems.append(pdes.LinearSystem(pdes.stencil_matrix(stencil), rhs, g.shape,
                                         params={"kappa": kappa(half), "time": step * dt},
                                         stencil=stencil))
        coefficients = scipy.fft.dstn(rhs.reshape(g.shape), type=1, norm="ortho")
        u = scipy.fft.idstn(coefficients / (1.0 + c * eigenvalues), type=1, norm="ortho")
    return systems


def _policies(systems, tol: float) -> dict[str, tuple[list, float]]:
    """Unpreconditioned CG and the learned SSOR-PCG policies, 8 lanes each."""
    kinds = [("cg", "batched", {"preconditioner": "none", "method": "cg"}),
             ("ssor-pcg-bandit", "ssor-pcg-bandit", {}),
             ("ssor-pcg-bandit-smooth", "ssor-pcg-bandit-smooth", {}),
             ("ssor-pcg-bandit-contextual", "ssor-pcg-bandit-contextual",
              {"context": "kappa", "low": 0.0, "high": 10.0})]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, options in kinds:
            if "bandit" in name:
                options = {**options, "state": str(Path(tmp) / f"{label}.json")}
            solver = solvers.get(name, tol=tol, device="cpu", batch=LANES, **options)
            start = time.perf_counter()
            runs[label] = (list(solver.solve_sequence(systems)), time.perf_counter() - start)
    return runs


def run_l2r_case(case: Case, suite: str, out: Path, only: list[str] | None = None
                ) -> list[dict[str, Any]]:
    """Rows per (nx, policy): total iterations against the best fixed arm and the
    per-step best arm (the instance optimum over the arms); one PNG of the curves."""
    rows: list[dict[str, Any]] = []
    curves: dict[int, dict[str, np.ndarray]] = {}
    finest = case.grid[0] + 1
    for nx in (finest // 2, finest):
        sub = Case(f"{case.name}-nx{nx}", "h2d", (nx - 1, nx - 1), case.n, case.tol,
                   suites=case.suites, kind=case.kind)
        systems = h2d_sequence(nx, case.n)
        n = len(systems)
        runs = {**fixed_arm_runs("ssor-pcg", systems,
                                 {f"ssor-pcg[{w:.2f}]": [w] * n for w in DEFAULT_ARMS},
                                 case.tol),
                **_policies(systems, case.tol)}
        costs = {k: np.array([r.iterations for r in res]) for k, (res, _) in runs.items()}
        arms = np.stack([costs[f"ssor-pcg[{w:.2f}]"] for w in DEFAULT_ARMS], axis=1)
        best_total, best_name = min((int(costs[k].sum()), k) for k in costs if k[9:10].isdigit())
        costs["per-step best arm"] = arms.min(axis=1)
        for name, (results, elapsed) in runs.items():
            total = int(costs[name].sum())
            rows.append(bench_row(
                sub, suite, name, ms_per_sample=1e3 * elapsed / n,
                iterations_mean=float(costs[name].mean()),
                max_residual=max(r.residual for r in results),
                converged_all=all(r.converged for r in results), device="cpu",
                extra={"total_iterations": total, "best_fixed_omega": best_name,
                       "vs_best_fixed": total / best_total,
                       "vs_per_step_best_arm": total / int(costs["per-step best arm"].sum()),
                       "omega_mean": float(np.mean([r.info.get("omega", math.nan)
                                                    for r in results])),
                       "failed": int(sum(not r.converged for r in results))}))
        curves[nx] = {k: costs[k] for k in ("cg", "ssor-pcg[1.00]", "ssor-pcg[1.50]", best_name,
                                            "per-step best arm", "ssor-pcg-bandit",
                                            "ssor-pcg-bandit-smooth",
                                            "ssor-pcg-bandit-contextual")}
    _plot(curves, out / f"{case.name}-curves.png", case.n)
    return rows


def _plot(curves: dict[int, dict[str, np.ndarray]], path: Path, steps: int) -> None:
    """h2d.m's figure (total iterations against the matrix dimension, log-log) beside the
    cumulative iterations along the trajectory at each nx."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(curves), figsize=(6 + 5 * len(curves), 4.5))
    dims = [(nx - 1) ** 2 for nx in curves]
    names = list(dict.fromkeys(k for c in curves.values() for k in c))
    for name in names:
        if all(name in c for c in curves.values()):
            axes[0].loglog(dims, [c[name].sum() for c in curves.values()], "-o", label=name)
    axes[0].set_xlabel("matrix dimension")
    axes[0].set_ylabel(f"iterations over {steps} steps")
    axes[0].legend(fontsize=7)
    for ax, (nx, own) in zip(axes[1:], curves.items(), strict=True):
        order = draw_order(steps, LANES)
        for name, cost in own.items():
            ax.plot(np.arange(1, steps + 1), np.cumsum(cost[order]), label=name)
        ax.set_yscale("log")
        ax.set_title(f"nx = {nx}")
        ax.set_xlabel("steps drawn (the order the lanes take them)")
        ax.set_ylabel("cumulative iterations")
        ax.legend(fontsize=7)
    fig.suptitle("Learning-to-Relax 2-D heat (h2d.m): SSOR-PCG, 20 arms in [1, 1.95]")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
