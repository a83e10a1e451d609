"""Input checks the CLI runs before any work: names and option keys with a "did you mean",
strict grids, a writable ``--out``, and whether the run fits in memory and on disk.

Every check raises SpecError (exit 2, one line) and touches nothing.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._errors import SpecError

__all__ = ["available_memory", "check_fits", "check_keys", "check_name",
           "check_solver_options", "check_writable",
           "did_you_mean", "estimate_bytes", "parse_grids", "solver_option_keys"]

_GRID = re.compile(r"^\d+(x\d+){0,2}$")
FLOAT = 8  # bytes of a float64 solver vector
VECTORS = 4  # what any solver holds per lane at least: x, r, b and one direction


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'batch'?"`` for the closest known word, else ``""``."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_name(kind: str, name: str, known: Iterable[str]) -> None:
    """Unknown ``kind`` (family, solver, ...) ``name``: SpecError with the closest one."""
    known = list(known)
    if name not in known:
        hint = did_you_mean(name, known) or f"; known: {', '.join(known)}"
        raise SpecError(f"unknown {kind} {name!r}{hint}")


def check_keys(given: Iterable[str], known: Iterable[str], owner: str) -> None:
    """Option keys that ``owner`` does not take: SpecError naming the first, with a hint."""
    known = sorted(set(known))
    for key in given:
        if key not in known:
            hint = did_you_mean(key, known) or f"; known: {', '.join(known)}"
            raise SpecError(f"unknown option {key!r} for {owner}{hint}")


def solver_option_keys(solver: Any) -> set[str]:
    """Keys a solver's constructor takes: its resolved options and its signature (up the
    class hierarchy while constructors pass ``**kwargs`` on)."""
    keys = set(solver.options())
    for cls in type(solver).__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        keys |= {p.name for p in parameters
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return keys


def check_solver_options(name: str, base: dict[str, Any], given: dict[str, Any]) -> None:
    """Option keys the solver ``name`` does not take: SpecError with a "did you mean".

    The solver is built with the given options (keys its constructor rejects are dropped
    one by one, to build one whose options can be listed), so a solver that needs an
    option (dcdm's model) is judged with it.
    """
    import solvers

    options, rejected = dict(given), []
    while True:
        try:
            solver = solvers.get(name, **base, **options)
            break
        except TypeError as exc:
            key = _unexpected_keyword(exc)
            if key not in options:
                raise
            options.pop(key)
            rejected.append(key)
        except solvers.SolverError:
            if rejected:  # cannot be built without the rejected key: no list to suggest from
                raise SpecError(f"unknown option {rejected[0]!r} for solver {name}") from None
            raise
    check_keys(given, solver_option_keys(solver), f"solver {name}")


def _unexpected_keyword(exc: TypeError) -> str | None:
    match = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
    return match.group(1) if match else None


def parse_grids(value: str) -> list[list[int]]:
    """``64``, ``64x48`` or ``32x32x32`` -> one grid; ``64,128,256`` -> a resolution ladder
    (one grid per comma); anything else is SpecError."""
    grids = []
    for rung in value.strip().lower().split(","):
        if not _GRID.match(rung.strip()):
            raise SpecError(f"--grid must be N, NxM or NxMxK with whole numbers, or a ladder "
                            f"N1,N2,..., got {value!r}")
        grid = [int(v) for v in rung.strip().split("x")]
        grids.append(grid * 2 if len(grid) == 1 else grid)
    return grids


def check_writable(out: str) -> None:
    """A local ``--out`` whose nearest existing path is not a folder one can write in (a
    read-only file system, no permission, a file): SpecError. Tried, not guessed from mode
    bits, which say nothing for root or a read-only mount."""
    if "://" in out and not out.startswith("file://"):
        return
    target = _existing_parent(Path(out.removeprefix("file://")).absolute())
    try:
        with tempfile.TemporaryFile(dir=target, prefix=".pdeforge-probe-"):
            pass
    except OSError as exc:
        raise SpecError(f"--out {out}: cannot write in {target} "
                        f"({exc.strerror or exc})") from None


def estimate_bytes(grid: list[int], n: int, chunk: int, fields: int,
                   solver_options: dict[str, Any], blocks: int) -> tuple[int, int]:
    """(memory, disk) a run needs at least, in bytes.

    Memory: ``blocks`` blocks in flight, each holding its samples' inputs and solution
    (float64 until stored) and the solver's lanes x unknowns x vectors (lanes and Krylov
    vectors as given in ``solver_options``, else one lane of four vectors: a lower bound).
    Disk: the float32 solution and inputs of every sample, before compression.
    """
    unknowns = math.prod(grid)
    given = {k: v for k, v in solver_options.items() if isinstance(v, int) and v > 0}
    lanes = given.get("batch", 1)
    vectors = VECTORS + sum(given.get(key, 0) for key in ("m", "k", "restart"))
    block = chunk * unknowns * (fields + 1) * FLOAT + lanes * unknowns * vectors * FLOAT
    return blocks * block, n * unknowns * (fields + 1) * 4


def check_fits(out: str, memory: int, disk: int, blocks: int = 1) -> None:
    """Refuse (SpecError) a run whose estimate exceeds the available memory or free disk."""
    free_memory = available_memory()
    if free_memory is not None and memory > free_memory:
        raise SpecError(f"{blocks} solve block(s) in flight need about {_size(memory)} of "
                        f"memory, {_size(free_memory)} is available; use a smaller --grid or "
                        "--chunk")
    if "://" in out and not out.startswith("file://"):
        return
    folder = _existing_parent(Path(out.removeprefix("file://")).absolute())
    free_disk = shutil.disk_usage(folder).free
    if disk > free_disk:
        raise SpecError(f"the store needs about {_size(disk)} on disk, {folder} has "
                        f"{_size(free_disk)} free; use a smaller --grid or --n")


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (no check)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PiB"
