"""The ``sor-sequence`` case (T5): bandits choosing SOR's omega over >= 1000 systems.

Two sequences, as in Khodak et al. (ICLR 2024): Laplacians with random diagonal shifts
(context: log10 of the shift over the Laplacian's smallest eigenvalue) and the heat
family's Crank-Nicolson steps with kappa(t) (context: kappa). Every policy solves the same
sequence in the same 8 lanes (contiguous chains, warm starts along each chain). The rows
carry total iterations and, in ``extra``, the best fixed omega in hindsight (every arm run)
and the instance-optimal omega (Young's formula: both sequences have constant
coefficients); a PNG plots cumulative iterations against instances.

The fixed arms are one lane run: the sequence once per arm, each copy tagged with its
omega (``sor -s omega=param``) and cut into the same 8 chains, so every (instance, arm)
costs what a run of that arm alone costs, for a twentieth of the per-sweep overhead.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import pdes
import solvers
from solvers.batched import make_chains
from solvers.relaxation import DEFAULT_ARMS, load_bandit, young_omega

from .cases import Case, bench_row

__all__ = ["draw_order", "fixed_arm_runs", "heat_sequence", "run_sor_case", "shifted_sequence"]

HEAT = {"kappa": "schedule", "trajectory": True, "dt": 5e-3}
LANES = 8  # the CPU default of every lane solver, spelled out so all policies share it


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


def fixed_arm_runs(method: str, systems: list[pdes.LinearSystem],
                   omegas: dict[str, list[float]], tol: float
                   ) -> dict[str, tuple[list[solvers.SolveResult], float]]:
    """Each label's omegas (one per system) on the sequence, all labels in one lane run.

    Returns label -> (results in input order, seconds): the run's time split by the
    label's share of the sweeps (the lanes advance in lock step).
    """
    tagged = [dataclasses.replace(s, params={**s.params, "omega": w})
              for label in omegas for s, w in zip(systems, omegas[label], strict=True)]
    start = time.perf_counter()
    results = list(solvers.get(method, omega="param", tol=tol, device="cpu",
                               batch=LANES * len(omegas)).solve_sequence(tagged))
    elapsed = time.perf_counter() - start
    n, sweeps = len(systems), sum(r.iterations for r in results)
    runs = {}
    for k, label in enumerate(omegas):
        own = results[k * n:(k + 1) * n]
        runs[label] = (own, elapsed * sum(r.iterations for r in own) / sweeps)
    return runs


def _bandit_runs(systems, context: str, low: float, high: float, tol: float):
    """The learned policies; ``[B=1]`` isolates the delay of B lanes, ``[second pass]``
    reloads the first run's saved bandit state over the same sequence (a scheduled rerun)."""
    policies = [("sor-bandit", "sor-bandit", {}),
                ("sor-bandit[B=1]", "sor-bandit", {"batch": 1}),
                ("sor-bandit-smooth", "sor-bandit-smooth", {}),
                ("sor-bandit-smooth[no context]", "sor-bandit-smooth", {"context": "none"}),
                ("sor-bandit-contextual", "sor-bandit-contextual",
                 {"context": context, "low": low, "high": high}),
                ("ssor-pcg-bandit", "ssor-pcg-bandit", {})]
    runs, delays = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, solver, options in policies:
            state = str(Path(tmp) / f"{name}.json")
            for label in [name] if "[" in name else [name, f"{name}[second pass]"]:
                run = solvers.get(solver, tol=tol, device="cpu", state=state,
                                  **{"batch": LANES, **options})
                start = time.perf_counter()
                results = list(run.solve_sequence(systems))
                runs[label] = (results, time.perf_counter() - start)
                # draws made between a draw and its feedback, this pass only
                delays[label] = [h["delay"] for h in load_bandit(state).history_[-len(systems):]]
    return runs, delays


def run_sor_case(case: Case, suite: str, out: Path, only: list[str] | None = None
                 ) -> list[dict[str, Any]]:
    """Both sequences, every policy; rows per policy, totals against the comparators."""
    rows: list[dict[str, Any]] = []
    for label, (build, context, low, high) in SEQUENCES.items():
        sub = Case(f"{case.name}-{label}", "heat" if label == "heat" else "shifted-laplacian",
                   case.grid, case.n, case.tol, suites=case.suites, kind=case.kind)
        systems = build(case.grid, case.n)
        n = len(systems)
        sor_arms = {f"sor[{w:.2f}]": [w] * n for w in DEFAULT_ARMS}
        sor_arms["sor[optimal]"] = [young_omega(s.stencil) for s in systems]
        learned, delays = _bandit_runs(systems, context, low, high, case.tol)
        runs = {**fixed_arm_runs("sor", systems, sor_arms, case.tol),
                **fixed_arm_runs("ssor-pcg", systems,
                                 {f"ssor-pcg[{w:.2f}]": [w] * n for w in DEFAULT_ARMS},
                                 case.tol),
                **learned}
        runs["gauss-seidel"] = runs["sor[1.00]"]
        costs = {k: np.array([r.iterations for r in results]) for k, (results, _) in runs.items()}
        best = {m: min((int(c.sum()), k) for k, c in costs.items()
                       if k.startswith(f"{m}[") and k[len(m) + 1].isdigit())
                for m in ("sor", "ssor-pcg")}
        optimal = int(costs["sor[optimal]"].sum())
        for name, (results, elapsed) in runs.items():
            method = "ssor-pcg" if name.startswith("ssor") else "sor"
            iterations = costs[name]
            total, (best_total, best_name) = int(iterations.sum()), best[method]
            # the last fifth of the draws: what the policy has learned
            late = draw_order(n, 1 if "[B=1]" in name else LANES)[-n // 5:]
            extra = {"total_iterations": total,
                     "best_fixed_total_iterations": best_total,
                     "best_fixed_omega": best_name,
                     "vs_best_fixed": total / best_total,
                     "vs_best_fixed_last_fifth": iterations[late].sum()
                     / costs[best_name][late].sum(),
                     "instance_optimal_total_iterations": optimal if method == "sor" else None,
                     "vs_instance_optimal": total / optimal if method == "sor" else None,
                     "omega_mean_last_fifth": float(np.mean([results[i].info["omega"]
                                                            for i in late])),
                     "lanes": 1 if "[B=1]" in name else LANES,
                     "failed": int(sum(not r.converged for r in results))}
            if name in delays:
                extra.update(delay_mean=float(np.mean(delays[name])),
                             delay_max=int(np.max(delays[name])))
            rows.append(bench_row(
                sub, suite, name, ms_per_sample=1e3 * elapsed / n,
                iterations_mean=float(iterations.mean()),
                max_residual=max(r.residual for r in results),
                converged_all=all(r.converged for r in results), device="cpu", extra=extra))
        # not <case>.png: the runner's per-case bar chart takes that name
        _plot(costs, best, out / f"{sub.name}-cumulative.png", sub.name)
    return rows


def draw_order(n: int, lanes: int) -> np.ndarray:
    """Positions 0..n-1 in the order lanes take them (round robin over the contiguous
    chains: exact when the systems cost alike), the time axis of a learning curve."""
    chains = make_chains(n, lanes)
    return np.array([c[k] for k in range(max(map(len, chains))) for c in chains if k < len(c)])


def _plot(costs: dict[str, np.ndarray], best: dict, path: Path, title: str) -> None:
    """Cumulative iterations per policy (log) in the order the lanes draw the systems, and
    each learned policy's cumulative total over its best fixed arm's in the same order
    (1.05: target T5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["gauss-seidel", best["sor"][1], "sor[optimal]", "sor-bandit", "sor-bandit[B=1]",
             "sor-bandit-smooth", "sor-bandit-contextual", best["ssor-pcg"][1], "ssor-pcg-bandit"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    n = len(costs["gauss-seidel"])
    draws, order = np.arange(1, n + 1), {LANES: draw_order(n, LANES), 1: draw_order(n, 1)}
    for name in dict.fromkeys(shown):
        fixed = name in (best["sor"][1], best["ssor-pcg"][1])
        left.plot(draws, np.cumsum(costs[name][order[LANES if "B=1" not in name else 1]]),
                  label=f"{name} (best fixed)" if fixed else name)
    colours: dict[str, str] = {}
    for name in costs:
        if "bandit" in name:
            method = "ssor-pcg" if name.startswith("ssor") else "sor"
            policy = name.removesuffix("[second pass]")
            colour = colours.setdefault(policy, f"C{len(colours)}")
            index = order[1 if "B=1" in name else LANES]
            ratio = np.cumsum(costs[name][index]) / np.cumsum(costs[best[method][1]][index])
            right.plot(draws, ratio, label=name, color=colour,
                       linestyle="--" if policy != name else "-")
    right.axhline(1.05, color="black", linewidth=0.8)
    left.set_yscale("log")
    left.set_ylabel("cumulative iterations")
    right.set_ylabel("cumulative iterations / best fixed arm's")
    right.set_ylim(0.4, 2.5)
    for ax in (left, right):
        ax.set_xlabel("systems drawn (the order the lanes take them)")
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}: {n} systems, {LANES} lanes, omega arms "
                 f"{DEFAULT_ARMS[0]:.2f}..{DEFAULT_ARMS[-1]:.2f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
