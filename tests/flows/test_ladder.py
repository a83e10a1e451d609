"""Resolution ladders: the same inputs at every rung, second-order agreement along the
ladder, training at one rung and evaluation at all of them."""

import json

import numpy as np
import pytest

import storage
import surrogates
from flows import GenerateSpec
from flows.ladder import evaluate_ladder, run_ladder

GRIDS = [[15, 15], [31, 31], [63, 63]]  # h = 1/16, 1/32, 1/64: coarse nodes are fine nodes


def _by_sample(url: str, name: str) -> np.ndarray:
    """A rung's array ordered by sample identity (each rung sorts its own solve order)."""
    dataset = storage.open_dataset(url)
    values = (dataset.solution if name == "solution" else dataset.inputs[name])[:]
    ordered = np.empty_like(values)
    ordered[dataset.source_index[:]] = values
    return ordered.astype(np.float64)


def _restrict(fine: np.ndarray, coarse_size: int) -> np.ndarray:
    step = (fine.shape[-1] + 1) // (coarse_size + 1)
    return fine[:, step - 1 :: step, step - 1 :: step]


@pytest.fixture(scope="module")
def ladder(prefect_harness, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ladder") / "ladder.zarr")
    spec = GenerateSpec(family="darcy", grid=GRIDS[-1], n=8, out=out, solver="petsc:cg+icc",
                        tol=1e-11, family_options={"alpha": 4.0, "tau": 3.0})
    summaries = run_ladder(spec, GRIDS, progress=False)
    assert [s["done"] for s in summaries] == [8, 8, 8]
    return out


def test_every_rung_sees_the_same_inputs_and_agrees_at_second_order(ladder):
    rungs = storage.ladder_rungs(ladder)
    assert list(rungs) == ["15", "31", "63"]
    coefficient = {k: _by_sample(url, "coefficient") for k, url in rungs.items()}
    for name in ("15", "31"):  # the same field sampled on the coarse nodes
        np.testing.assert_allclose(coefficient[name], _restrict(coefficient["63"], int(name)),
                                   rtol=1e-6)
    u = {k: _by_sample(url, "solution") for k, url in rungs.items()}
    coarse_gap = np.abs(u["15"] - _restrict(u["31"], 15)).max(axis=(1, 2))
    fine_gap = np.abs(u["31"] - _restrict(u["63"], 31)).max(axis=(1, 2))
    order = np.log2(coarse_gap / fine_gap)
    assert np.all((order > 1.8) & (order < 2.3)), order
    with pytest.raises(storage.StorageError, match="resolution ladder"):
        storage.open_dataset(ladder)


def test_a_ladder_trains_at_one_rung_and_is_scored_at_every_rung(ladder, pdeforge, tmp_path):
    info = pdeforge("info", ladder)
    assert info.returncode == 0 and "3 rungs (15, 31, 63)" in info.stdout
    assert info.stdout.count("8 done") == 3
    with pytest.raises(storage.StorageError, match="no resolution '7'"):  # train --resolution 7
        storage.ladder_rung(ladder, "7")

    model = tmp_path / "model"
    surrogates.train(storage.ladder_rung(ladder, "15"), model, epochs=1, batch_size=4,
                     fractions=(0.5, 0.25, 0.25), device="cpu", progress=False,
                     model_options={"n_modes": 4, "hidden_channels": 4})
    rows = evaluate_ladder(str(model), ladder, str(tmp_path / "eval"))
    assert [r["resolution"] for r in rows] == ["15", "31", "63"]
    assert [r["grid"] for r in rows] == GRIDS and all(r["trained_grid"] == [15, 15] for r in rows)
    assert len({r["n_test"] for r in rows}) == 1 and rows[0]["n_test"] >= 1  # same samples
    assert all(np.isfinite(r["rel_l2_mean"]) for r in rows)
    assert json.loads((tmp_path / "eval" / "ladder.json").read_text()) == rows
    held_out = []
    for rung in ("15", "63"):
        metrics = json.loads((tmp_path / "eval" / f"rung-{rung}" / "metrics.json").read_text())
        positions = [s["position"] for s in metrics["per_sample"]]
        source = storage.open_dataset(storage.ladder_rung(ladder, rung)).source_index[:]
        held_out.append(sorted(source[positions]))
    assert held_out[0] == held_out[1]  # the held-out samples are the same at every rung
