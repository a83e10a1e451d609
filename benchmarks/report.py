"""Tables and plots from bench rows; speed-ups are derived from rows, never typed in."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

__all__ = ["best_petsc", "write_markdown", "write_plots"]


def best_petsc(rows: list[dict]) -> dict[str, dict]:
    """Per case, the fastest PETSc row that converged on every sample."""
    best: dict[str, dict] = {}
    for r in rows:
        if r["solver"].startswith("petsc:") and r["converged_all"]:
            if r["case"] not in best or r["ms_per_sample"] < best[r["case"]]["ms_per_sample"]:
                best[r["case"]] = r
    return best


def write_markdown(rows: list[dict], path: Path) -> None:
    best = best_petsc(rows)
    lines = ["| case | solver | device | ms/sample | iterations | max true residual | converged "
             "| vs best PETSc |", "|---|---|---|---:|---:|---:|---|---:|"]
    for r in rows:
        ref = best.get(r["case"])
        ratio = (f"{ref['ms_per_sample'] / r['ms_per_sample']:.2f}x ({ref['solver']})"
                 if ref and r["converged_all"] else "—")
        stopped = (f", stopped at {r['extra']['measured']}"
                   if r["extra"].get("stopped_by_budget") else "")
        failed = r["extra"].get("failed", 0)
        status = "yes" if r["converged_all"] else f"no ({failed} failed{stopped})"
        lines.append(f"| {r['case']} | {r['solver']} | {r['device']} | {r['ms_per_sample']:.1f} | "
                     f"{r['iterations_mean']:.1f} | {r['max_residual']:.1e} | {status} | {ratio} |")
    surrogate_rows = [r for r in rows if "rel_l2_mean" in r["extra"]]
    if surrogate_rows:
        lines += ["", "| case | model | held-out rel. L2 mean (worst) | mean-predictor rel. L2 | "
                  "training minutes | epochs | target T6 <= 0.015 |",
                  "|---|---|---:|---:|---:|---:|---|"]
        for r in surrogate_rows:
            e = r["extra"]
            lines.append(f"| {r['case']} | {r['solver']} | {e['rel_l2_mean']:.4f} "
                         f"({e['rel_l2_worst']:.4f}) | {e['baseline_rel_l2_mean']:.4f} | "
                         f"{e['train_minutes']:.1f} | {r['iterations_mean']:.0f} | "
                         f"{'met' if e['T6_met'] else 'not met'} |")
    path.write_text("\n".join(lines) + "\n")


def write_plots(rows: list[dict], out: Path) -> None:
    """One bar chart per case: ms/sample (log scale), failed solvers hatched; for surrogate
    cases the held-out relative L2 error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_case: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_case[r["case"]].append(r)
    for case, case_rows in by_case.items():
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(case_rows) + 1.2))
        labels = [r["solver"] for r in case_rows]
        # surrogate rows: the held-out error is the figure that counts, not inference time
        accuracy = all("rel_l2_mean" in r["extra"] for r in case_rows)
        values = [r["extra"]["rel_l2_mean"] if accuracy else r["ms_per_sample"]
                  for r in case_rows]
        bars = ax.barh(labels, values, color=["tab:blue" if r["converged_all"] else "lightgray"
                                               for r in case_rows])
        for bar, r in zip(bars, case_rows, strict=True):
            if not r["converged_all"]:
                bar.set_hatch("//")
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("relative L2 error on the unseen test samples" if accuracy
                      else "ms per sample (gray: missed the tolerance)")
        ax.set_title(f"{case} ({case_rows[0]['device']})")
        fig.tight_layout()
        fig.savefig(out / f"{case}.png", dpi=110)
        plt.close(fig)
