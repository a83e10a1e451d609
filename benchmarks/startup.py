"""The start-up case: wall seconds of short CLI commands against their targets.

Each command runs as a user runs it (a subprocess of the installed ``pdeforge``, no
Prefect server configured), three times; the median is reported with the machine's load
average, since a shared machine's figures say as much about its other jobs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .cases import Case, bench_row

__all__ = ["COMMANDS", "run_startup_case"]

# label -> (arguments, target wall seconds); {out} is a fresh store path per repeat
COMMANDS: dict[str, tuple[list[str], float]] = {
    "pdeforge --help": (["--help"], 0.5),
    "bad input (--grid 32x)": (["generate", "--grid", "32x", "--out", "{out}"], 1.0),
    "bad input (--family darcey)": (["generate", "--family", "darcey", "--out", "{out}"], 1.0),
    "generate --grid 32 --n 16": (["generate", "--grid", "32", "--n", "16", "--out", "{out}"],
                                  3.0),
}


def run_startup_case(case: Case, suite: str, out: Path, only: list[str] | None = None,
                     repeats: int = 3) -> list[dict[str, Any]]:
    exe = Path(sys.executable).with_name("pdeforge")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    rows = []
    for label, (args, target) in COMMANDS.items():
        seconds, codes = [], set()
        for _ in range(repeats):
            folder = Path(tempfile.mkdtemp(prefix="pdeforge-startup-"))
            command = [str(exe), *(a.format(out=folder / "d.zarr") for a in args)]
            tic = time.perf_counter()
            codes.add(subprocess.run(command, capture_output=True, env=env).returncode)
            seconds.append(time.perf_counter() - tic)
            shutil.rmtree(folder, ignore_errors=True)
        wall = statistics.median(seconds)
        rows.append(bench_row(
            case, suite, label, n=1, ms_per_sample=1e3 * wall, iterations_mean=0.0,
            max_residual=0.0, converged_all=True, device="cpu",
            extra={"wall_seconds": wall, "all_seconds": seconds, "target_seconds": target,
                   "meets_target": wall <= target, "exit_codes": sorted(codes),
                   "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count()}))
    return rows
