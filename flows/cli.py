"""The ``pdeforge`` command line (Typer). Bad input: one line on stderr, exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from ._env import configure_prefect

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Generate, solve fast, store and learn parametric PDE datasets.")


class BadInput(Exception):
    """Wraps every bad-input error class the packages raise (exit code 2)."""


def _bad_input_types() -> tuple[type[BaseException], ...]:
    from pdes import PDEError
    from solvers import SolverError
    from storage import StorageError
    from surrogates.errors import SurrogateError

    from .spec import SpecError

    return (PDEError, SolverError, StorageError, SpecError, SurrogateError, BadInput)


def _parse_key_values(pairs: list[str], what: str) -> dict:
    """``["k=v", ...]`` -> dict, values parsed as JSON where they parse (numbers, booleans)."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"{what} must be key=value, got {pair!r}")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


def _grid(value: str) -> list[int]:
    try:
        grid = [int(v) for v in value.lower().replace("x", ",").split(",") if v]
    except ValueError:
        raise BadInput(f"--grid must be N or NxM[xK], got {value!r}") from None
    return grid * 2 if len(grid) == 1 else grid


@app.command()
def generate(
    family: Annotated[str, typer.Option(help="darcy, poisson, helmholtz or heat")] = "darcy",
    grid: Annotated[str, typer.Option(help="unknowns per axis: 64 or 64x64 or 32x32x32")] = "64",
    n: Annotated[int, typer.Option(help="number of samples")] = 16,
    seed: Annotated[int, typer.Option(help="seed; sample i is reproducible from (seed, i)")] = 0,
    solver: Annotated[str, typer.Option(help="skr, gcrodr, rcg, petsc:<ksp>+<pc>, ...")] = "skr",
    tol: Annotated[float, typer.Option(help="relative tolerance on the TRUE residual")] = 1e-8,
    out: Annotated[str, typer.Option(help="zarr store path or fsspec URL")] = "data.zarr",
    workers: Annotated[int, typer.Option(help="Dask LocalCluster workers (1: in-process)")] = 1,
    dask_address: Annotated[str | None, typer.Option(help="tcp://host:port of a scheduler")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (torch solvers)")] = "auto",
    petsc_options: Annotated[str | None, typer.Option(help='e.g. "-ksp_gmres_restart 40"')] = None,
    order: Annotated[str, typer.Option(help="greedy, hilbert or none")] = "greedy",
    chunk: Annotated[int, typer.Option(help="samples per task/zarr chunk (0: automatic)")] = 0,
    family_option: Annotated[list[str] | None, typer.Option(
        "--family-option", "-o", help="family option key=value (repeatable)")] = None,
    solver_option: Annotated[list[str] | None, typer.Option(
        "--solver-option", "-s", help="solver option key=value (repeatable)")] = None,
    extend: Annotated[bool, typer.Option(
        help="grow a smaller store of the same spec to --n samples")] = False,
    fallback: Annotated[str, typer.Option(
        help="solver that redoes a sample missing --tol once (none: off)")] = "petsc:lu",
) -> None:
    """Generate N solved samples of a PDE family into a zarr store (resumes a partial one)."""
    from .spec import GenerateSpec

    solver_options = _parse_key_values(solver_option or [], "--solver-option")
    if petsc_options:
        if not solver.startswith("petsc:"):
            raise BadInput("--petsc-options applies only to petsc:<ksp>+<pc> solvers")
        solver_options["petsc_options"] = petsc_options
    spec = GenerateSpec(family=family, grid=_grid(grid), n=n, seed=seed, solver=solver, tol=tol,
                        out=out, family_options=_parse_key_values(family_option or [],
                                                                  "--family-option"),
                        solver_options=solver_options, order=order, chunk=chunk,
                        workers=workers, dask_address=dask_address, device=device,
                        extend=extend, fallback=None if fallback == "none" else fallback
                        ).validate()
    from .generate import run_generate  # Prefect loads only once the input is known good

    summary = run_generate(spec)
    typer.echo(_format_summary(spec.out, summary))
    if summary["failed"]:
        raise typer.Exit(1)


@app.command()
def info(
    store: Annotated[str, typer.Argument(help="zarr store path or URL, or a model folder")],
    card: Annotated[bool, typer.Option(
        help="write README.md and training-split stats into the store")] = False,
) -> None:
    """Summarise a store (family, size, done/failed, residuals) or a trained model (recipe)."""
    import storage

    if Path(store, "checkpoint.pt").is_file() or store.endswith(".pt"):  # no torch for stores
        from surrogates.checkpoint import describe_model

        typer.echo(describe_model(store))
        return
    typer.echo(_format_summary(store, storage.open_dataset(store).summary()))
    if card:
        from surrogates import write_card

        counts = write_card(store)["split"]["counts"]
        typer.echo(f"  card: {store.rstrip('/')}/README.md and attrs['training_stats'] "
                   f"(train {counts['train']}, val {counts['val']}, test {counts['test']})")


def _format_summary(store: str, s: dict) -> str:
    lines = [f"{store}: {s['family']} grid {'x'.join(map(str, s['grid']))}, n={s['n']}: "
             f"{s['done']} done, {s['failed']} failed, {s['pending']} pending"]
    if s.get("done"):
        lines.append(f"  true residual max {s['residual_max']:.2e} median "
                     f"{s['residual_median']:.2e}; iterations mean {s['iterations_mean']:.1f} "
                     f"max {s['iterations_max']}")
    if s.get("last_run"):
        r = s["last_run"]
        lines.append(f"  last run: {r['solved']} samples in {r['seconds']:.1f} s = "
                     f"{r['solved'] / max(r['seconds'], 1e-9):.1f} samples/s (solving "
                     f"{r['solve_seconds']:.1f} s), solver {r['solver']} on "
                     f"{', '.join(r['devices']) or '-'}, {r['task_runner']}")
    if s.get("failures_by_reason") or s.get("fallbacks"):
        reasons = ", ".join(f"{count} {reason}" for reason, count in
                            sorted(s["failures_by_reason"].items())) or "none"
        lines.append(f"  failures: {reasons}; {s['fallbacks']} samples solved by the fallback "
                     "solver after a failed first attempt")
    return "\n".join(lines)


@app.command()
def bench(
    suite: Annotated[str, typer.Option(
        help="quick, full, gpu, sor, l2r, dcdm, surrogate or surrogate-variants")] = "quick",
    case: Annotated[list[str] | None, typer.Option(help="run only these cases")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("bench"),
    solver: Annotated[list[str] | None, typer.Option(help="run only these solvers")] = None,
) -> None:
    """Run every solver on the same systems; write results.json, results.md and plots."""
    from benchmarks import run_suite
    from benchmarks.cases import select

    try:
        select(suite, case or None)
    except ValueError as exc:  # unknown case or suite: bad input, not a failure
        raise BadInput(str(exc)) from None
    rows = run_suite(suite=suite, cases=case or None, solvers=solver or None, out=out)
    typer.echo(f"{len(rows)} rows -> {out / 'results.md'}")


@app.command()
def train(
    data: Annotated[str, typer.Option(help="zarr store to learn from (done samples only)")],
    out: Annotated[str, typer.Option(help="model folder (resumes its checkpoint)")] = "model",
    model: Annotated[str | None, typer.Option(help="fno (default), tfno or uno")] = None,
    model_option: Annotated[list[str] | None, typer.Option(
        "--model-option", "-m", help="model option key=value (repeatable): n_modes, "
        "hidden_channels, n_layers, padding, ...")] = None,
    config: Annotated[Path | None, typer.Option(help="recipe file (TOML, or YAML)")] = None,
    epochs: Annotated[int | None, typer.Option(
        help="epochs in all (default: fill --max-minutes, else 50)")] = None,
    max_minutes: Annotated[float | None, typer.Option(
        help="time budget: the schedule is sized to end with it")] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option()] = None,
    loss: Annotated[str | None, typer.Option(help="l2 (default) or h1")] = None,
    augment: Annotated[str | None, typer.Option(
        help="d4 (flips, rotations; default) or none")] = None,
    coarsen: Annotated[float | None, typer.Option(
        help="share of batches trained at half resolution (mixed-resolution)")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Train a neural-operator surrogate on a store; checkpoints every epoch, resumes."""
    import storage
    import surrogates
    from surrogates.training import check_recipe

    from .pipeline import train_flow

    storage.open_dataset(data)  # a missing store is bad input, found before Prefect starts
    recipe = surrogates.merge_recipes(
        surrogates.load_recipe(config) if config else {},
        {"model": model, "epochs": epochs, "max_minutes": max_minutes, "batch_size": batch_size,
         "lr": lr, "loss": loss, "augment": augment, "coarsen": coarsen, "seed": seed},
        {"model_options": _parse_key_values(model_option or [], "--model-option")},
    )
    check_recipe(data, out, recipe)
    metrics = train_flow(data, out, {**recipe, "device": device})
    typer.echo(f"trained {metrics['epoch']} epochs ({metrics['stopped']}), best validation "
               f"rel. L2 {metrics['best_val_rel_l2']:.4f} at epoch {metrics['best_epoch']} "
               f"-> {out}")


@app.command("train-dcdm")
def train_dcdm(
    family: Annotated[str, typer.Option(help="the family the model serves")] = "obstacles",
    grid: Annotated[str, typer.Option(help="training grid: 64 or 32x32x32")] = "64",
    out: Annotated[str, typer.Option(help="checkpoint (resumed)")] = "models/dcdm-obstacles64.pt",
    epochs: Annotated[int, typer.Option(help="epochs in all (a resumed run continues)")] = 30,
    max_minutes: Annotated[float | None, typer.Option(help="training time budget")] = None,
    shape: Annotated[str, typer.Option(help="network: linear (NPSDO) or relu (DCDM)")] = "linear",
    channels: Annotated[int, typer.Option()] = 16,
    levels: Annotated[int, typer.Option(help="levels incl. the full one (0: down to 4)")] = 3,
    spectral: Annotated[bool, typer.Option(help="feed the network the box-DST solve")] = True,
    matrices: Annotated[int, typer.Option(help="training matrices of the family")] = 4,
    residuals: Annotated[bool, typer.Option(help="add residuals of real CG solves")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    family_option: Annotated[list[str] | None, typer.Option(
        "--family-option", "-o", help="family option key=value (repeatable)")] = None,
) -> None:
    """Train a DCDM network for a family (solvers dcdm and fcg-dcdm); resumes ``--out``."""
    from solvers.dcdm import training_state

    options = {"shape": shape, "channels": channels, "levels": levels, "spectral": spectral,
               "matrices": matrices, "residuals": residuals, "seed": seed}
    family_options = _parse_key_values(family_option or [], "--family-option")
    training_state(family, tuple(_grid(grid)), out, family_options, device, **options)
    from .dcdm import train_dcdm_flow

    figures = train_dcdm_flow(family, _grid(grid), out, family_options,
                              {**options, "epochs": epochs, "max_minutes": max_minutes,
                               "device": device})
    typer.echo(f"{out}: {figures['epoch']} epochs, loss {figures['loss']:.4f}, validation "
               f"iterations {figures['val_iterations']:.1f}, training "
               f"{figures['train_seconds'] + figures['data_seconds']:.0f} s")


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="model folder written by `pdeforge train`")],
    data: Annotated[str | None, typer.Option(help="store (default: the training store)")] = None,
    out: Annotated[str | None, typer.Option(help="where metrics.json and PNGs go")] = None,
) -> None:
    """Relative L2/H1 errors on held-out data (the test split, or another store: an unseen
    seed, another resolution), figures and metrics.json."""
    from surrogates.checkpoint import load_checkpoint
    from surrogates.evaluation import evaluation_positions

    from .pipeline import evaluate_flow

    state = load_checkpoint(model)  # no model, another family/inputs/dimension: exit 2 here
    evaluation_positions(state, data or state["config"]["data"])
    metrics = evaluate_flow(model, data, out)
    typer.echo(f"{metrics['n_test']} samples ({metrics['scope']}, grid "
               f"{'x'.join(map(str, metrics['grid']))}): relative L2 mean "
               f"{metrics['rel_l2_mean']:.4f} worst {metrics['rel_l2_worst']:.4f} "
               f"(mean-prediction baseline {metrics['baseline_rel_l2_mean']:.4f})")


@app.command()
def export(
    store: Annotated[str, typer.Argument(help="zarr store path or URL")],
    out: Annotated[Path, typer.Argument(help="file to write, e.g. darcy.h5")],
    format: Annotated[str, typer.Option(help="pdebench (PDEBench's Darcy HDF5)")] = "pdebench",
    overwrite: Annotated[bool, typer.Option(help="replace an existing file")] = False,
) -> None:
    """Write a store's done samples in another tool's layout (split recorded per sample)."""
    from surrogates.export import FORMATS, export_pdebench

    if format not in FORMATS:
        raise BadInput(f"unknown format {format!r}; known: {list(FORMATS)}")
    count = export_pdebench(store, out, overwrite=overwrite)
    typer.echo(f"{count} samples -> {out}")


@app.command()
def run(
    out: Annotated[str, typer.Option(help="run folder: data, model, report")] = "runs/default",
    n: Annotated[int | None, typer.Option(help="samples (default: the embedded default)")] = None,
    grid: Annotated[str | None, typer.Option(help="grid (default: the embedded default)")] = None,
    epochs: Annotated[int | None, typer.Option()] = None,
    max_minutes: Annotated[float | None, typer.Option()] = None,
    solver: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The whole pipeline on a small default: generate -> train -> evaluate -> report."""
    from .pipeline import DEFAULT_RUN, run_pipeline
    from .spec import GenerateSpec

    d = DEFAULT_RUN
    spec = GenerateSpec(family=d["family"], grid=_grid(grid) if grid else d["grid"],
                        n=n or d["n"], seed=d["seed"], solver=solver or d["solver"],
                        tol=d["tol"], family_options=d["family_options"],
                        out=str(Path(out) / "data.zarr")).validate()
    report = run_pipeline(out, spec, {"epochs": epochs or d["epochs"],
                                      "max_minutes": max_minutes or d["max_minutes"]})
    typer.echo(f"report: {report}")


@app.command()
def serve(
    cron: Annotated[str | None, typer.Option(help="schedule, cron syntax")] = "0 2 * * *",
    interval: Annotated[float | None, typer.Option(help="schedule every N s (not cron)")] = None,
    grow: Annotated[int, typer.Option(help="each run adds N samples (0: finish --n)")] = 0,
    family: Annotated[str, typer.Option()] = "darcy",
    grid: Annotated[str, typer.Option()] = "64",
    n: Annotated[int, typer.Option(help="samples of the first run")] = 1000,
    seed: Annotated[int, typer.Option()] = 0,
    solver: Annotated[str, typer.Option()] = "skr",
    tol: Annotated[float, typer.Option()] = 1e-8,
    out: Annotated[str, typer.Option()] = "data.zarr",
    chunk: Annotated[int, typer.Option(help="samples per task (0: automatic)")] = 0,
    workers: Annotated[int, typer.Option()] = 1,
    dask_address: Annotated[str | None, typer.Option()] = None,
    family_option: Annotated[list[str] | None, typer.Option(
        "--family-option", "-o", help="family option key=value (repeatable)")] = None,
) -> None:
    """Serve generate on a schedule (needs `make server` and PREFECT_API_URL); blocks."""
    import os

    from .spec import GenerateSpec

    if not os.environ.get("PREFECT_API_URL"):
        raise BadInput("schedules need a Prefect server: run `make server` and export "
                       "PREFECT_API_URL=http://127.0.0.1:4200/api")
    if grow < 0:
        raise BadInput(f"--grow must be >= 0, got {grow}")
    spec = GenerateSpec(family=family, grid=_grid(grid), n=n, seed=seed, solver=solver, tol=tol,
                        out=out, chunk=chunk, workers=workers, dask_address=dask_address,
                        family_options=_parse_key_values(family_option or [], "--family-option"),
                        extend=grow > 0)
    from prefect import serve as serve_deployments

    from .schedule import next_size, scheduled_deployment

    spec.n = next_size(spec, 0)  # a store already larger than --n is served as it stands
    spec.validate()
    serve_deployments(scheduled_deployment(spec, cron=None if interval else cron,
                                           interval=interval, grow=grow))


def main() -> None:
    """Console entry point: maps bad input to exit 2 with one line, failures to exit 1."""
    configure_prefect()
    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the CLI's one place that reports errors
        code = 2 if isinstance(exc, _bad_input_types()) else 1
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)
