"""The ``pdeforge`` command line (Typer): parsing, exit codes and the wiring to the flows and
the benchmarks. Bad input: one line on stderr, exit 2."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

try:  # Typer >= 0.2x raises the exceptions of the click it vendors
    from typer._click.exceptions import NoSuchOption, UsageError
except ImportError:  # pragma: no cover - older Typer on the real click
    from click.exceptions import NoSuchOption, UsageError

from flows import configure_prefect

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Generate, solve fast, store and learn parametric PDE datasets.")


class BadInput(Exception):
    """Wraps every bad-input error class the packages raise (exit code 2)."""


def _bad_input_types() -> tuple[type[BaseException], ...]:
    """The bad-input error classes of the packages loaded so far (an error class of a
    package never imported cannot have been raised; importing one costs seconds)."""
    from flows.spec import SpecError

    found = [BadInput, SpecError]
    for module, name in (("pdes", "PDEError"), ("solvers", "SolverError"),
                         ("storage", "StorageError"), ("surrogates.errors", "SurrogateError")):
        if module in sys.modules:
            found.append(getattr(sys.modules[module], name))
    return tuple(found)


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


def _family_help() -> str:
    from pdes import family_help

    return family_help()


def _grids(value: str) -> list[list[int]]:
    """``64`` or ``64x32``: one grid; ``64,128,256``: a resolution ladder (one per comma)."""
    from flows import parse_grids

    return parse_grids(value)


def _grid(value: str) -> list[int]:
    grids = _grids(value)
    if len(grids) > 1:
        raise BadInput(f"--grid takes one grid here, got the ladder {value!r}")
    return grids[0]


def _training_grids(value: str) -> list[int | list[int]]:
    """``--grids`` of train-dcdm: a bare side stays a side (the model's dimension decides
    its grid: 32 is 32^3 for a 3-D model), ``16x16x16`` is a full grid; checked as ``--grid``."""
    return [int(token) if token.strip().isdigit() else grid
            for token, grid in zip(value.split(","), _grids(value), strict=True)]


@app.command()
def generate(
    family: Annotated[str, typer.Option(help=_family_help())] = "darcy",
    grid: Annotated[str, typer.Option(help="unknowns per axis: 64 or 64x64 or 32x32x32; "
                                      "64,128,256: a resolution ladder")] = "64",
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
    inputs_dtype: Annotated[str, typer.Option(
        help="float32, or float64: stored inputs re-assemble the exact systems")] = "float32",
) -> None:
    """Generate N solved samples of a PDE family into a zarr store (resumes a partial one)."""
    from flows.spec import GenerateSpec

    solver_options = _parse_key_values(solver_option or [], "--solver-option")
    if petsc_options:
        if not solver.startswith("petsc:"):
            raise BadInput("--petsc-options applies only to petsc:<ksp>+<pc> solvers")
        solver_options["petsc_options"] = petsc_options
    grids = _grids(grid)
    spec = GenerateSpec(family=family, grid=grids[-1], n=n, seed=seed, solver=solver, tol=tol,
                        out=out, family_options=_parse_key_values(family_option or [],
                                                                  "--family-option"),
                        solver_options=solver_options, order=order, chunk=chunk,
                        workers=workers, dask_address=dask_address, device=device,
                        extend=extend, fallback=None if fallback == "none" else fallback,
                        inputs_dtype=inputs_dtype)
    if len(grids) > 1:
        from flows.ladder import run_ladder

        summaries = run_ladder(spec, grids)
    else:
        spec.validate()
        from flows import start_api_early

        start_api_early()  # the API server starts while this process imports Prefect
        from flows.generate import run_generate  # Prefect loads only once the input is known good

        summaries = [run_generate(spec)]
    for summary in summaries:
        typer.echo(_format_summary(summary["url"], summary))
    if any(summary["failed"] for summary in summaries):
        raise typer.Exit(1)


@app.command()
def info(
    store: Annotated[str, typer.Argument(help="zarr store path or URL, or a model folder")],
    card: Annotated[bool, typer.Option(
        help="write the dataset card (<store>.card.md) with training-split stats")] = False,
) -> None:
    """Summarise a store (family, size, done/failed, residuals) or a trained model (recipe)."""
    import storage

    if Path(store, "checkpoint.pt").is_file() or store.endswith(".pt"):  # no torch for stores
        from surrogates.checkpoint import describe_model

        typer.echo(describe_model(store))
        return
    rungs = storage.ladder_rungs(store)
    if rungs:
        typer.echo(f"{store}: resolution ladder, {len(rungs)} rungs ({', '.join(rungs)}), "
                   "the same samples at each")
    for url in rungs.values() if rungs else [store]:
        typer.echo(_format_summary(url, storage.open_dataset(url).summary()))
    if card:
        from surrogates import card_path, write_card

        counts = write_card(store)["split"]["counts"]
        typer.echo(f"  card: {card_path(store)} and attrs['training_stats'] "
                   f"(train {counts['train']}, val {counts['val']}, test {counts['test']})")


@app.command()
def verify(
    store: Annotated[str, typer.Argument(help="zarr store path or URL")],
    repair: Annotated[bool, typer.Option(
        help="regenerate the damaged samples with the store's own spec")] = False,
    residuals: Annotated[bool, typer.Option(
        help="also recompute each done sample's TRUE residual and inputs")] = False,
) -> None:
    """Read every chunk and check the metadata; exit 0 clean, 1 damaged (see docs/integrity.md)."""
    from flows.repair import run_verify

    raise typer.Exit(run_verify(store, repair=repair, residuals=residuals, echo=typer.echo))


def _api():
    """The Prefect API a flow command runs against (flows._api.shared_prefect_api)."""
    from flows import shared_prefect_api

    return shared_prefect_api()


def _format_summary(store: str, s: dict) -> str:
    lines = [f"{store}: {s['family']} grid {'x'.join(map(str, s['grid']))}, n={s['n']}: "
             f"{s['done']} done, {s['failed']} failed, {s['pending']} pending"]
    if s.get("checksums") is False:
        lines.append("  checksums: none (a store made before them): damage shows only as a "
                     "failed read; `pdeforge verify` reads every chunk")
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
        if r.get("choices"):
            lines.append(f"  solver choice: {'; '.join(r['choices'])}")
    if s.get("failures_by_reason") or s.get("fallbacks"):
        reasons = ", ".join(f"{count} {reason}" for reason, count in
                            sorted(s["failures_by_reason"].items())) or "none"
        lines.append(f"  failures: {reasons}; {s['fallbacks']} samples solved by the fallback "
                     "solver after a failed first attempt")
    if s["pending"]:
        lines.append(f"  {s['pending']} of {s['n']} samples pending: run the same generate "
                     "command again to resume")
    return "\n".join(lines)


@app.command()
def solve(
    systems: Annotated[str, typer.Option(help="folder of NAME.mtx / NAME.npz / NAME.petsc")],
    out: Annotated[str, typer.Option(help="zarr store path or fsspec URL")] = "systems.zarr",
    solver: Annotated[str, typer.Option(help="skr, gcrodr, rcg, petsc:<ksp>+<pc>, ...")] = "skr",
    tol: Annotated[float, typer.Option(help="relative tolerance on the TRUE residual")] = 1e-8,
    order: Annotated[str, typer.Option(help="greedy, hilbert or none")] = "greedy",
    chunk: Annotated[int, typer.Option(help="systems per zarr chunk (0: automatic)")] = 0,
    solver_option: Annotated[list[str] | None, typer.Option(
        "--solver-option", "-s", help="solver option key=value (repeatable)")] = None,
) -> None:
    """Solve another tool's sparse systems as one sorted sequence into a store (resumes)."""
    from flows.solve import SolveSpec

    spec = SolveSpec(systems=systems, out=out, solver=solver, tol=tol, order=order,
                     chunk=chunk, solver_options=_parse_key_values(solver_option or [],
                                                                   "--solver-option"))
    spec.validate()
    from flows.solve_flow import run_solve  # Prefect loads only once the input is known good

    summary = run_solve(spec)
    typer.echo(_format_summary(out, summary))
    if summary["failed"]:
        raise typer.Exit(1)


@app.command()
def bench(
    suite: Annotated[str, typer.Option(
        help="quick, full, gpu, sor, l2r, dcdm, contrast, integrity, external, startup, "
             "surrogate or surrogate-variants")] = "quick",
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
    resolution: Annotated[str | None, typer.Option(
        help="the rung of a resolution ladder to learn from, e.g. 64")] = None,
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
    from flows.pipeline import train_flow
    from surrogates.training import check_recipe

    if resolution is not None:
        data = storage.ladder_rung(data, resolution)
    storage.verify_store(data).raise_for_damage()  # missing or damaged: before Prefect starts
    for flag, value in (("--max-minutes", max_minutes), ("--epochs", epochs)):
        if value is not None and not value > 0:
            raise BadInput(f"{flag} must be positive, got {value}")
    recipe = surrogates.merge_recipes(
        surrogates.load_recipe(config) if config else {},
        {"model": model, "epochs": epochs, "max_minutes": max_minutes, "batch_size": batch_size,
         "lr": lr, "loss": loss, "augment": augment, "coarsen": coarsen, "seed": seed},
        {"model_options": _parse_key_values(model_option or [], "--model-option")},
    )
    check_recipe(data, out, recipe)
    with _api():  # the kept (or a running) API: no server start per command
        metrics = train_flow(data, out, {**recipe, "device": device})
    typer.echo(f"trained {metrics['epoch']} epochs ({metrics['stopped']}), best validation "
               f"rel. L2 {metrics['best_val_rel_l2']:.4f} at epoch {metrics['best_epoch']} "
               f"-> {out}")


@app.command("train-dcdm")
def train_dcdm(
    family: Annotated[str, typer.Option(help=f"the family the model serves: {_family_help()}"
                                        )] = "obstacles",
    grid: Annotated[str, typer.Option(help="training grid: 64 or 32x32x32")] = "64",
    out: Annotated[str, typer.Option(help="checkpoint (resumed)")] = "models/dcdm-obstacles64.pt",
    epochs: Annotated[int, typer.Option(help="epochs in all (a resumed run continues)")] = 30,
    max_minutes: Annotated[float | None, typer.Option(help="training time budget")] = None,
    shape: Annotated[str, typer.Option(help="network: linear (NPSDO) or relu (DCDM)")] = "linear",
    channels: Annotated[int, typer.Option()] = 8,
    levels: Annotated[int, typer.Option(help="levels incl. the full one (0: down to 4)")] = 2,
    base: Annotated[str, typer.Option(help="the solve the network corrects: multigrid (the "
                                      "lane W-cycle), spectral (box DST) or none")] = "multigrid",
    grids: Annotated[str | None, typer.Option(help="mixed-resolution training: 32,64,128 "
                                              "(sides) or 16x16x16,32x32x32")] = None,
    matrices: Annotated[int, typer.Option(help="training matrices of the family")] = 4,
    residuals: Annotated[bool, typer.Option(help="add residuals of real CG solves")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    family_option: Annotated[list[str] | None, typer.Option(
        "--family-option", "-o", help="family option key=value (repeatable)")] = None,
) -> None:
    """Train a DCDM network for a family (solvers dcdm and fcg-dcdm); resumes ``--out``."""
    from solvers.dcdm import training_state

    options = {"shape": shape, "channels": channels, "levels": levels, "base": base,
               "matrices": matrices, "residuals": residuals, "seed": seed,
               "grids": _training_grids(grids) if grids else []}
    family_options = _parse_key_values(family_option or [], "--family-option")
    training_state(family, tuple(_grid(grid)), out, family_options, device, **options)
    from flows.dcdm import train_dcdm_flow

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
    import storage
    from flows.pipeline import evaluate_flow
    from surrogates.checkpoint import load_checkpoint
    from surrogates.evaluation import evaluation_positions

    state = load_checkpoint(model)  # no model, another family/inputs/dimension: exit 2 here
    rungs = storage.ladder_rungs(data) if data else None
    for url in rungs.values() if rungs else [data or state["config"]["data"]]:
        evaluation_positions(state, url)
        storage.verify_store(url).raise_for_damage()  # before Prefect
    if rungs:
        from flows.ladder import evaluate_ladder

        for row in evaluate_ladder(model, data, out):
            typer.echo(f"resolution {row['resolution']}: {row['n_test']} samples, relative L2 "
                       f"mean {row['rel_l2_mean']:.4f} worst {row['rel_l2_worst']:.4f} "
                       f"(trained at {'x'.join(map(str, row['trained_grid']))})")
        return
    with _api():
        metrics = evaluate_flow(model, data, out)
    typer.echo(f"{metrics['n_test']} samples ({metrics['scope']}, grid "
               f"{'x'.join(map(str, metrics['grid']))}): relative L2 mean "
               f"{metrics['rel_l2_mean']:.4f} worst {metrics['rel_l2_worst']:.4f} "
               f"(mean-prediction baseline {metrics['baseline_rel_l2_mean']:.4f})")
    for warning in metrics.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {', '.join(map(str, metrics.get('written', [])))}")


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
    from flows.pipeline import DEFAULT_RUN, run_pipeline
    from flows.spec import GenerateSpec

    d = DEFAULT_RUN
    spec = GenerateSpec(family=d["family"], grid=_grid(grid) if grid else d["grid"],
                        n=n or d["n"], seed=d["seed"], solver=solver or d["solver"],
                        tol=d["tol"], family_options=d["family_options"],
                        out=str(Path(out) / "data.zarr")).validate()
    with _api():
        report = run_pipeline(out, spec, {"epochs": epochs or d["epochs"],
                                          "max_minutes": max_minutes or d["max_minutes"]})
    typer.echo(f"report: {report}")


@app.command()
def serve(
    cron: Annotated[str | None, typer.Option(help="schedule, cron syntax")] = "0 2 * * *",
    interval: Annotated[float | None, typer.Option(help="schedule every N s (not cron)")] = None,
    grow: Annotated[int, typer.Option(help="each run adds N samples (0: finish --n)")] = 0,
    train: Annotated[str | None, typer.Option(
        help="model folder: each run then fine-tunes its surrogate on the grown store")] = None,
    family: Annotated[str, typer.Option(help=_family_help())] = "darcy",
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

    from flows.spec import GenerateSpec

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

    from flows.schedule import next_size, scheduled_deployment

    spec.n = next_size(spec, 0)  # a store already larger than --n is served as it stands
    spec.validate()
    serve_deployments(scheduled_deployment(spec, cron=None if interval else cron,
                                           interval=interval, grow=grow, train=train))


def main() -> None:
    """Console entry point: 0 done, 1 a failure, 2 bad usage or input (one line), 130
    interrupted (SIGINT/SIGTERM)."""
    from flows import Interrupted

    configure_prefect()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM: as Ctrl-C, exit 130
    try:
        code = app(standalone_mode=False)  # Typer returns Exit codes here (not raises)
        if code == 130:  # Typer's answer to a KeyboardInterrupt
            print("interrupted", file=sys.stderr)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(130)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except UsageError as exc:
        print(f"error: {_usage_message(exc)}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the CLI's one place that reports errors
        code = 2 if isinstance(exc, _bad_input_types()) else 1
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)


def _usage_message(exc: UsageError) -> str:
    """Click's message on one line, with a "did you mean" for a mistyped flag."""
    if isinstance(exc, NoSuchOption) and exc.ctx is not None:
        from flows import did_you_mean

        flags = [name for param in exc.ctx.command.params for name in param.opts]
        return f"no such option {exc.option_name}{did_you_mean(exc.option_name, flags)}"
    return " ".join(exc.format_message().split())
