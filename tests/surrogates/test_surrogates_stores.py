"""Other stores: evaluation on unseen seeds and resolutions, dataset cards, PDEBench export,
and the CLI commands around them (bad input exits 2 with one line)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import storage
import surrogates
from storage._torch import split_positions

EXE = Path(sys.executable).with_name("pdeforge")


def _cli(*args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def trained(make_store, tiny_fno, tmp_path):
    url = make_store("train.zarr", n=32)
    surrogates.train(url, tmp_path / "m", model_options=tiny_fno, epochs=2, batch_size=8,
                     fractions=(0.6, 0.2, 0.2), device="cpu", progress=False)
    return url, tmp_path / "m"


def test_evaluate_scores_unseen_seeds_and_other_resolutions(trained, make_store, tmp_path):
    url, model = trained
    unseen = surrogates.evaluate(model, make_store("seed7.zarr", n=8, seed=7), tmp_path / "e7",
                                 figures=False)
    assert unseen["scope"] == "every done sample of another store" and unseen["n_test"] == 8
    assert unseen["rel_l2_mean"] < unseen["baseline_rel_l2_mean"]
    fine = surrogates.evaluate(model, make_store("fine.zarr", n=8, grid=(24, 24), seed=7),
                               tmp_path / "e24")
    assert fine["grid"] == [24, 24] and fine["trained_grid"] == [16, 16]
    assert np.isfinite(fine["rel_l2_mean"]) and (tmp_path / "e24" / "metrics.json").is_file()
    own = surrogates.evaluate(model, url, tmp_path / "own", figures=False)
    test_split = split_positions(url, (0.6, 0.2, 0.2))["test"]
    assert [row["position"] for row in own["per_sample"]] == test_split.tolist()


def test_evaluate_refuses_another_family_or_dimension(trained, make_store, tmp_path):
    _, model = trained
    with pytest.raises(surrogates.SurrogateError, match="family"):
        surrogates.evaluate(model, make_store("other.zarr", n=8, family="poisson"))
    cube = str(tmp_path / "cube.zarr")
    storage.create_dataset(cube, n=2, grid=(4, 4, 4), fields=["coefficient"], params=["scale"],
                           chunk=2, source_index=np.arange(2), attrs={"family": "synthetic"})
    with pytest.raises(surrogates.SurrogateError, match="3-D"):
        surrogates.evaluate(model, cube)


def test_card_goes_beside_the_store_with_training_split_stats(make_store):
    url = make_store(n=40)
    card = surrogates.write_card(url, fractions=(0.5, 0.25, 0.25))
    train = split_positions(url, (0.5, 0.25, 0.25))["train"]
    solution = storage.open_dataset(url).solution[:][train].astype(np.float64)
    stats = card["stats"]["solution"]
    assert stats["mean"] == pytest.approx(solution.mean(), rel=1e-9)
    assert stats["std"] == pytest.approx(solution.std(), rel=1e-6)
    assert stats["rms"] == pytest.approx(np.sqrt(np.mean(solution**2)), rel=1e-9)
    assert storage.open_dataset(url).attrs["training_stats"]["split"]["counts"]["train"] == len(
        train)
    assert not (Path(url) / "README.md").exists()  # nothing but zarr nodes in the store
    readme = Path(surrogates.card_path(url)).read_text()
    assert Path(surrogates.card_path(url)).parent == Path(url).parent
    assert "synthetic" in readme and "| solution |" in readme and "splitmix64" in readme
    assert len(storage.open_dataset(url)) == 40  # a store still: arrays untouched


def test_pdebench_export_reads_back(make_store, tmp_path):
    status = np.ones(24, np.uint8)
    status[[2, 17]] = storage.FAILED
    url = make_store(n=24, status=status)
    out = tmp_path / "darcy.h5"
    assert surrogates.export_pdebench(url, out) == 22
    done = np.flatnonzero(status == storage.DONE)
    ds = storage.open_dataset(url)
    with h5py.File(out) as f:
        assert f["tensor"].shape == (22, 1, 16, 16) and f["nu"].shape == (22, 16, 16)
        np.testing.assert_array_equal(f["tensor"][:, 0], ds.solution[:][done])
        np.testing.assert_array_equal(f["nu"][:], ds.inputs["coefficient"][:][done])
        np.testing.assert_allclose(f["scale"][:], ds.params["scale"][:][done], rtol=1e-6)
        np.testing.assert_allclose(f["x-coordinate"][:], np.arange(1, 17) / 17)
        np.testing.assert_array_equal(f["source_index"][:], done)
        parts = split_positions(url)
        expected = np.zeros(24, np.uint8)
        expected[parts["val"]], expected[parts["test"]] = 1, 2
        np.testing.assert_array_equal(f["split"][:], expected[done])
        assert json.loads(f.attrs["pdeforge"])["family"] == "synthetic"
    with pytest.raises(surrogates.SurrogateError, match="exists"):
        surrogates.export_pdebench(url, out)


def test_cli_train_info_card_export_and_bad_input(make_store, tmp_path, cli_main):
    url = make_store("train.zarr", n=16)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('batch_size = 8\nfractions = [0.5, 0.25, 0.25]\n'
                      '[model_options]\nn_modes = 4\nn_layers = 1\n')
    model = tmp_path / "model"
    p = _cli("train", "--data", url, "--out", model, "--config", recipe, "-m",
             "hidden_channels=4", "--epochs", "1", "--device", "cpu")  # as a user: Prefect
    assert p.returncode == 0, p.stderr
    code, out, _ = cli_main("info", model)
    assert code == 0 and "'n_modes': 4" in out and "'hidden_channels': 4" in out
    assert "'batch_size': 8" in out
    code, _, err = cli_main("info", url, "--card")
    assert code == 0 and Path(surrogates.card_path(url)).is_file(), err
    code, out, err = cli_main("export", url, tmp_path / "out.h5")
    assert code == 0 and "16 samples" in out, err
    bad = {
        "another family": ("evaluate", "--model", model, "--data",
                           make_store("poisson.zarr", n=4, family="poisson")),
        "unknown model option": ("train", "--data", url, "--out", tmp_path / "m2", "-m",
                                 "nosuch=1"),
        "bad recipe": ("train", "--data", url, "--out", tmp_path / "m2", "--config",
                       tmp_path / "missing.toml"),
        "unknown export format": ("export", url, tmp_path / "x.h5", "--format", "netcdf"),
    }
    for what, args in bad.items():
        code, _, err = cli_main(*args)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (what, err)
    assert not (tmp_path / "m2").exists() and not (tmp_path / "x.h5").exists()


def test_evaluating_a_store_made_with_other_family_options_warns(trained, make_store,
                                                                 tmp_path):
    import zarr

    _, model = trained
    other = make_store("lognormal.zarr", n=8, seed=5)
    zarr.open_group(other, mode="r+").attrs["family_options"] = {"coefficient": "lognormal"}
    metrics = surrogates.evaluate(model, other, tmp_path / "eval", figures=False)
    assert len(metrics["warnings"]) == 1 and "'lognormal'" in metrics["warnings"][0]
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["warnings"] == metrics["warnings"]
    same = surrogates.evaluate(model, make_store("seed7.zarr", n=8, seed=7), tmp_path / "e2",
                               figures=False)
    assert same["warnings"] == []  # another seed of the same options: nothing to warn about
