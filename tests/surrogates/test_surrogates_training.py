"""Training learns, the budget sizes the run, the best checkpoint is kept, resume is exact."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import surrogates
from surrogates.checkpoint import load_checkpoint

SPLIT = (0.7, 0.15, 0.15)


def test_training_learns_and_evaluation_reports(make_store, tiny_fno, tmp_path):
    url = make_store(n=64)
    out = tmp_path / "model"
    metrics = surrogates.train(
        url, out, model_options=tiny_fno, epochs=6, batch_size=4, lr=1e-2, fractions=SPLIT,
        device="cpu", progress=False,
    )
    history = metrics["history"]
    assert metrics["epoch"] == 6 and metrics["stopped"] == "epochs"
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 64
    assert min(metrics["n_val"], metrics["n_test"]) >= 4
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    best = int(np.argmin(history["val_rel_l2"]))
    assert metrics["best_epoch"] == best + 1  # the delivered model is the best on validation
    state = load_checkpoint(out)
    assert state["best"]["val_rel_l2"] == pytest.approx(history["val_rel_l2"][best])

    result = surrogates.evaluate(out, url, tmp_path / "eval", device="cpu")
    assert result["scope"] == "test split of the training store"
    assert result["rel_l2_mean"] < 0.5 * result["baseline_rel_l2_mean"]
    assert result["rel_l2_worst"] >= result["rel_l2_mean"] > 0
    assert len(result["per_sample"]) == result["n_test"] == metrics["n_test"]
    for row in result["per_sample"]:  # max/min only where the field is positive
        assert (row["contrast"] is None or row["contrast"] >= 1) and row["spread"] > 0
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["n_test"] == metrics["n_test"]
    assert set(result["figures"]) == {"samples", "training_curve", "error_vs_contrast"}
    for path in result["figures"].values():
        assert Path(path).read_bytes()[:4] == b"\x89PNG"

    report = surrogates.write_report(
        tmp_path / "eval", result, result["figures"], {"family": "synthetic", "n": 64}
    )
    text = report.read_text()
    assert "| relative L2, mean |" in text and "](samples.png)" in text and "synthetic" in text


def test_budget_sizes_the_run_and_stops_within_it(make_store, tmp_path):
    url = make_store(n=32)
    budget = 0.12  # minutes: many short epochs
    options = dict(model_options={"n_modes": 4, "hidden_channels": 4, "n_layers": 1},
                   batch_size=8, fractions=SPLIT, device="cpu", progress=False, lr=1e-3)
    metrics = surrogates.train(url, tmp_path / "m", max_minutes=budget, **options)
    used = metrics["spent_seconds"] / (60 * budget)
    assert metrics["stopped"] == "budget" and metrics["epoch"] >= 3
    assert 0.8 <= used <= 1.1, used
    lrs = metrics["history"]["lr"]
    assert lrs[-1] < 0.05 * options["lr"]  # the cosine runs on the budget's clock: ends at 0
    again = surrogates.train(url, tmp_path / "m", max_minutes=budget, **options)
    assert (again["epoch"], again["stopped"]) == (metrics["epoch"], "budget")  # spent already


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_resume_continues_where_it_stopped(make_store, tiny_fno, tmp_path, schedule):
    url = make_store(n=32)
    options = dict(model_options=tiny_fno, batch_size=8, schedule=schedule, fractions=SPLIT,
                   device="cpu", progress=False)
    split_run, straight = tmp_path / "split", tmp_path / "straight"
    first = surrogates.train(url, split_run, epochs=2, **options)
    resumed = surrogates.train(url, split_run, epochs=4, lr=123.0, **options)  # saved config wins
    steps_per_epoch = first["step"] // 2
    assert first["epoch"] == 2 and resumed["epoch"] == 4
    assert resumed["step"] == 4 * steps_per_epoch == 2 * first["step"]
    assert len(resumed["history"]["train_loss"]) == 4
    assert max(resumed["history"]["lr"]) <= options.get("lr", 3e-3)
    state = load_checkpoint(split_run)
    assert state["optimizer"]["state"][0]["step"].item() == resumed["step"]
    again = surrogates.train(url, split_run, epochs=4, **options)  # nothing left to do
    assert again["step"] == resumed["step"]
    if schedule == "constant":  # same data order and optimizer state -> the same weights
        surrogates.train(url, straight, epochs=4, **options)
        reference = load_checkpoint(straight)["model"]
        for name, tensor in state["model"].items():
            torch.testing.assert_close(tensor, reference[name], rtol=1e-5, atol=1e-6, msg=name)
        np.testing.assert_allclose(
            resumed["history"]["train_loss"], load_checkpoint(straight)["history"]["train_loss"],
            rtol=1e-5,
        )


def test_an_epoch_cap_with_a_budget_stops_between_epochs_and_a_rerun_resumes(
        make_store, tiny_fno, tmp_path):
    url = make_store(n=16)
    options = dict(model_options=tiny_fno, batch_size=8, fractions=SPLIT, device="cpu",
                   progress=False)
    stopped = surrogates.train(url, tmp_path / "m", epochs=5, max_minutes=1e-6, **options)
    assert (stopped["epoch"], stopped["stopped"]) == (1, "time")
    finished = surrogates.train(url, tmp_path / "m", epochs=3, **options)
    assert (finished["epoch"], finished["stopped"]) == (3, "epochs")


def test_resuming_on_another_store_is_refused(make_store, tiny_fno, tmp_path):
    options = dict(model_options=tiny_fno, epochs=1, batch_size=8, fractions=SPLIT,
                   device="cpu", progress=False)
    surrogates.train(make_store("a.zarr", n=16), tmp_path / "m", **options)
    with pytest.raises(surrogates.SurrogateError, match="another store|made for"):
        surrogates.train(make_store("b.zarr", n=24, seed=1), tmp_path / "m", **options)
    # the same identity with more samples is the store grown: it fine-tunes (test_grow_train)


def test_coarsened_fields_are_every_other_grid_point_with_both_ends():
    from surrogates.augment import coarsened

    x = torch.arange(2 * 3 * 17 * 9, dtype=torch.float32).reshape(2, 3, 17, 9)
    half = coarsened(x)
    assert half.shape == (2, 3, 9, 5)
    assert torch.equal(half[..., -1, -1], x[..., 16, 8]) and torch.equal(half[..., 1, 2],
                                                                          x[..., 2, 4])


def test_mixed_resolution_training_learns_and_bad_shares_are_refused(make_store, tiny_fno,
                                                                     tmp_path):
    url = make_store(n=24)
    options = dict(model_options=tiny_fno, batch_size=4, fractions=(0.75, 0.25, 0.0),
                   device="cpu", progress=False)
    metrics = surrogates.train(url, tmp_path / "m", epochs=6, coarsen=0.5, lr=1e-2, **options)
    assert metrics["config"]["coarsen"] == 0.5
    losses = metrics["history"]["train_loss"]
    assert losses[-1] < 0.7 * losses[0]
    for share in (1.0, -0.1):
        with pytest.raises(surrogates.SurrogateError, match="coarsen"):
            surrogates.train(url, tmp_path / f"bad{share}", epochs=1, coarsen=share, **options)


def test_one_log_line_per_epoch_and_no_carriage_returns_in_a_redirected_log(
        make_store, tiny_fno, tmp_path, capsys):
    url = make_store(n=16)
    metrics = surrogates.train(url, tmp_path / "m", epochs=3, model_options=tiny_fno,
                               batch_size=8, fractions=SPLIT, device="cpu", max_minutes=5)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(lines) == metrics["epoch"] == 3, err
    for key in ("train loss", "val rel L2", "lr", "elapsed", "budget left"):
        assert key in lines[-1], lines[-1]
    assert "\r" not in err  # stderr is no terminal here: no bar redraws in the log


def test_threads_are_probed_once_per_run_and_a_resume_reuses_the_choice(
        make_store, tmp_path, monkeypatch):
    from surrogates import training

    calls = []
    probe = training._probe_step
    monkeypatch.setattr(training, "_probe_step", lambda *a: calls.append(1) or probe(*a))
    url = make_store(n=16)
    options = dict(model_options={"n_modes": 4, "hidden_channels": 4, "n_layers": 1},
                   batch_size=8, fractions=SPLIT, device="cpu", progress=False)
    torch.set_num_threads(2)  # two candidates (1 and 2) to choose from
    try:
        metrics = surrogates.train(url, tmp_path / "m", epochs=11, **options)
        assert metrics["threads"] in (1, 2) and 2 <= len(calls) <= 6  # one probe: 2 x (1 + 2)
        calls.clear()
        again = surrogates.train(url, tmp_path / "m", epochs=12, **options)
    finally:
        torch.set_num_threads(1)
    assert again["threads"] == metrics["threads"] and not calls  # resumed: the saved choice
