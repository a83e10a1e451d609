"""The DCDM cases (T4): one model trained on the case's grid and smaller ones (mixed
resolutions), applied at larger grids to systems it has not seen (seed 1; training uses seed
0), against CG, IC-PCG, GAMG, LU and the best non-learned lane solver (``batched``, whose
automatic rule picks multigrid for solids and high contrast) on the same systems, one row
per (grid, solver).

The model is trained once and cached under ``models/`` (a later run resumes or reuses it);
its training time is a one-off cost, reported in each DCDM row's ``extra``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import pdes
import solvers

from .cases import Case
from .measure import SolverRun, log, measure

__all__ = ["DCDM_CASES", "DcdmSetup", "profile_application", "run_dcdm_case"]

UNSEEN_SEED = 1
BUDGET_SECONDS = 300.0
MODELS = Path(__file__).resolve().parents[1] / "models"  # the checkout's models/


@dataclass(frozen=True)
class DcdmSetup:
    """Where a DCDM case's model lives, how it is trained, the grids it is applied on and
    how many systems the largest one gets (PETSc's CG and LU take seconds each there)."""

    model: str
    grids: tuple[tuple[int, ...], ...]
    training: dict[str, Any] = field(default_factory=dict)
    max_iterations: int = 10000  # of the DCDM rows: lanes answer only once all are done
    largest_n: int = 4


# the network corrects one float32 multigrid W-cycle; 4 channels, 2 levels (docs/benchmarks.md)
RECIPE_2D = {"epochs": 8, "epoch_size": 320, "channels": 4, "levels": 2, "base": "multigrid",
             "grids": [32, 64, 128], "matrices": 4}
DCDM_CASES: dict[str, DcdmSetup] = {
    "dcdm-scaling": DcdmSetup("dcdm-obstacles64.pt",
                              ((64, 64), (128, 128), (256, 256), (512, 512)), RECIPE_2D),
    "dcdm-darcy": DcdmSetup("dcdm-darcy64-contrast1e3.pt",
                            ((64, 64), (128, 128), (256, 256), (512, 512)), RECIPE_2D,
                            max_iterations=600),
    "dcdm-3d": DcdmSetup("dcdm-obstacles32x32x32.pt", ((32, 32, 32), (64, 64, 64)),
                         {"epochs": 6, "epoch_size": 160, "batch_size": 8, "channels": 4,
                          "levels": 2, "base": "multigrid", "grids": [16, 32], "matrices": 2,
                          "lanczos_steps": 300}, largest_n=2),
}


def solver_runs(model: Path, untrained: Path, max_iterations: int) -> list[SolverRun]:
    """DCDM, its flexible-CG form, the same iteration with the untrained network (= PCG with
    its base, the float32 multigrid cycle), the PETSc references and the best non-learned
    lane solver (``batched``: its rule picks multigrid here, see ``info["choice"]``)."""
    cap = {"max_iterations": max_iterations}
    return [
        SolverRun("dcdm", "dcdm", {"model": str(model), **cap}),
        SolverRun("fcg-dcdm", "fcg-dcdm", {"model": str(model), **cap}),
        SolverRun("dcdm[untrained: multigrid base]", "dcdm", {"model": str(untrained), **cap}),
        SolverRun("petsc:cg+none", "petsc:cg+none"),
        SolverRun("petsc:cg+icc", "petsc:cg+icc"),
        SolverRun("petsc:cg+gamg", "petsc:cg+gamg"),
        SolverRun("petsc:lu", "petsc:lu"),
        SolverRun("batched", "batched", sorted_order=True),  # auto: multigrid PCG on lanes
    ]


def run_dcdm_case(case: Case, suite: str, out: Path, only: list[str] | None = None
                  ) -> list[dict[str, Any]]:
    """Train (or reuse) the case's model, then every solver on every grid of the case."""
    from solvers.dcdm import save_model, train_model, training_state

    setup = DCDM_CASES[case.name]
    model = MODELS / setup.model
    figures = train_model(case.family, case.grid, model, family_options=case.family_options,
                          progress=False, **setup.training)
    network = {k: v for k, v in setup.training.items() if k in ("channels", "levels", "base")}
    untrained = save_model(Path(out) / f"{case.name}-untrained.pt", training_state(
        case.family, case.grid, Path(out) / "none.pt", case.family_options, **network))
    training = {"model": str(model), "train_grid": list(case.grid), "epochs": figures["epoch"],
                "training_seconds": figures["train_seconds"] + figures["data_seconds"],
                "validation_iterations": figures["val_iterations"]}
    log.info("%s: model %s, %d epochs, %.0f s of training (one-off)", case.name, model,
             figures["epoch"], training["training_seconds"])
    rows = []
    for grid in setup.grids:
        sub = replace(case, name=f"{case.name}-{'x'.join(map(str, grid))}", grid=grid)
        family = pdes.get(case.family, grid=grid, **case.family_options)
        n = setup.largest_n if grid == setup.grids[-1] else case.n
        systems = [family.sample(i, seed=UNSEEN_SEED) for i in range(n)]
        features = np.stack([s.features for s in systems])
        for run in solver_runs(model, untrained, setup.max_iterations):
            if only and run.label not in only:
                continue
            row = measure(sub, suite, run, systems, features, BUDGET_SECONDS)
            if run.options.get("model") == str(model):
                row["extra"].update(training)
            rows.append(row)
            log.info("%s %s: %.1f ms/sample, %.1f its, max residual %.1e%s", sub.name,
                     run.label, row["ms_per_sample"], row["iterations_mean"],
                     row["max_residual"], "" if row["converged_all"] else " (FAILED)")
    if len(case.grid) == 2:
        plot_residuals(systems[0], model, case.tol, out / f"{case.name}-residuals.png")
    return rows


def residual_histories(system: pdes.LinearSystem, model: Path, tol: float
                       ) -> dict[str, np.ndarray]:
    """||b - A x_k|| / ||b|| per iteration of one system: DCDM (TRUE residual), CG and
    IC-PCG (PETSc's unpreconditioned recursive residual)."""
    from solvers.batched import lane_norm
    from solvers.dcdm import load_model, network_from, solve_on_lanes

    dcdm = [1.0]

    def record(lanes) -> None:
        dcdm.append(float(lane_norm(lanes.residual())[0] / lane_norm(lanes.b)[0]))

    solve_on_lanes(network_from(load_model(model)), [system], tol, monitor=record)
    return {"dcdm": np.array(dcdm), "CG (petsc:cg+none)": _petsc_history(system, "none", tol),
            "IC-PCG (petsc:cg+icc)": _petsc_history(system, "icc", tol)}


def _petsc_history(system: pdes.LinearSystem, pc: str, tol: float) -> np.ndarray:
    """The unpreconditioned residual norms PETSc's CG reports, through ``petsc:cg+<pc>``
    (its options prefix and database) with a monitor on its KSP."""
    solver = solvers.get(f"petsc:cg+{pc}", tol=tol, max_iterations=20 * system.size).setup()
    history: list[float] = []
    solver.ksp_.setMonitor(lambda _ksp, _its, norm: history.append(norm))
    solver.solve(system)
    return np.array(history) / np.linalg.norm(system.rhs)


def plot_residuals(system: pdes.LinearSystem, model: Path, tol: float, path: Path) -> Path:
    """The residual histories of ``residual_histories`` on a log scale, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, history in residual_histories(system, model, tol).items():
        its = len(history) - 1
        ax.loglog(np.arange(1, its + 1), history[1:], label=f"{label}: {its} its")
    ax.axhline(tol, color="gray", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("relative residual")
    ax.set_title(f"obstacles {'x'.join(map(str, system.grid))}, seed {system.seed} "
                 f"sample {system.index} (unseen)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def profile_application(model: Path, family: str, grid: tuple[int, ...],
                        family_options: dict[str, Any] | None = None, repeats: int = 5
                        ) -> dict[str, Any]:
    """Where one network application's time goes (torch.profiler, CPU, one lane, one
    thread): milliseconds per application, of them in the base solve it corrects (the
    multigrid cycle or the DST solve, timed alone), one operator product for scale, and per
    ATen operator (self time, with calls per application), largest first."""
    import time

    import torch
    from torch.profiler import ProfilerActivity, profile

    from solvers.batched import StencilOperator
    from solvers.dcdm import NetworkDirection, load_model, network_from

    system = pdes.get(family, grid=grid, **(family_options or {})).sample(0, UNSEEN_SEED)
    net = network_from(load_model(model), "cpu").eval()
    op = StencilOperator.from_stencils([system.stencil], "cpu")
    direction = NetworkDirection(net, op)
    r = torch.from_numpy(system.rhs.reshape(1, *grid))

    def per_call(call: Any) -> float:
        call()  # warm-up: allocations, oneDNN primitives
        tic = time.perf_counter()
        for _ in range(repeats):
            call()
        return 1e3 * (time.perf_counter() - tic) / repeats

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        total = per_call(lambda: direction(r))
        base_ms = (per_call(lambda: net.base_solve(r, direction.context))
                   if direction.context.base is not None else 0.0)
        operator_ms = per_call(lambda: op(r))
        with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                direction(r)
    finally:
        torch.set_num_threads(threads)
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    return {"ms_per_application": total, "base": net.base, "base_ms": base_ms,
            "network_ms": total - base_ms, "operator_ms": operator_ms,
            "parameters": sum(p.numel() for p in net.parameters()),
            "dtype": str(net.out.weight.dtype),
            "operators": [(e.key, e.self_cpu_time_total / repeats / 1e3, e.count // repeats)
                          for e in ops[:10]],
            "profiled_ms": sum(e.self_cpu_time_total for e in ops) / repeats / 1e3}
