"""Plugin families through the pipeline: the examples/ package installed (entry point by
name) from generate to evaluate, bad plugins refused. (tests/flows/test_dask.py runs a
general-level family by import path on a LocalCluster.)"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pdes
import storage
from flows.spec import GenerateSpec

HERE = Path(__file__).parent
EXAMPLE = HERE.parents[1] / "examples" / "reaction-plugin"
EXE = Path(sys.executable).with_name("pdeforge")


@pytest.fixture(scope="module")
def plugin_env(cli_env, tmp_path_factory):
    """The example package pip-installed into a temporary target (the shared environment
    stays as it is), found through PYTHONPATH; ``plugin_families`` importable too."""
    root = tmp_path_factory.mktemp("plugin")
    source, target = root / "src", root / "site"
    shutil.copytree(EXAMPLE, source)  # the build leaves its files beside the sources
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=300)
    path = [str(target), str(HERE), cli_env.get("PYTHONPATH", "")]
    return {**cli_env, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def _cli(env, *args):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env)


def test_installed_plugin_runs_generate_info_train_evaluate(plugin_env, tmp_path,
                                                          monkeypatch):
    """The example package by its entry-point name, float64 inputs; a bad plugin run on the
    same store afterwards changes nothing."""
    monkeypatch.syspath_prepend(plugin_env["PYTHONPATH"].split(os.pathsep)[0])
    assert "reaction-diffusion" in pdes.family_help()  # what `generate --help` lists
    data, model = tmp_path / "rd.zarr", tmp_path / "model"
    p = _cli(plugin_env, "generate", "--family", "reaction-diffusion", "--grid", "12", "--n",
             "10", "--seed", "17", "--solver", "skr", "--tol", "1e-9", "-o", "reaction=20",
             "--inputs-dtype", "float64", "--out", data)  # seed 17: 1 val, 1 test sample
    assert p.returncode == 0, p.stderr
    ds = storage.open_dataset(str(data))
    attrs = ds.attrs
    assert attrs["family"] == "reaction-diffusion"
    assert attrs["family_path"] == "pdeforge_reaction:ReactionDiffusion"
    assert attrs["family_version"] == "0.1.0"
    assert attrs["family_options"] == {"alpha": 2.5, "tau": 7.0, "reaction": 20, "modes": 3}
    assert (ds.status[:] == storage.DONE).all() and ds.stats["residual"][:].max() <= 1e-9
    family = pdes.get(attrs["family_path"], grid=12, **attrs["family_options"])
    for position in (0, 9):  # float64 inputs re-assemble the solved systems bit for bit
        sample = family.sample(int(ds.source_index[position]), 17)
        again = family.assemble(**{k: a[position] for k, a in ds.inputs.items()})
        assert np.array_equal(again.rhs, sample.rhs)
        assert abs(again.matrix - sample.matrix).max() == 0
    before = {f: f.read_bytes() for f in data.rglob("*") if f.is_file()}
    p = _cli(plugin_env, "generate", "--family", "plugin_families:NotFinite", "--grid", "12",
             "--n", "10", "--seed", "17", "--out", data)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "NaN" in p.stderr
    assert {f: f.read_bytes() for f in data.rglob("*") if f.is_file()} == before
    info = _cli(plugin_env, "info", data)
    assert info.returncode == 0 and "reaction-diffusion grid 12x12, n=10: 10 done" in info.stdout
    p = _cli(plugin_env, "train", "--data", data, "--out", model, "--epochs", "1",
             "--batch-size", "4", "-m", "n_modes=4", "-m", "hidden_channels=8", "--device", "cpu")
    assert p.returncode == 0, p.stderr
    p = _cli(plugin_env, "evaluate", "--model", model)
    assert p.returncode == 0, p.stderr
    assert json.loads((model / "metrics.json").read_text())["n_test"] == 1


@pytest.mark.parametrize(("family", "match"), [
    ("plugin_families:WrongShape", "shape"),
    ("plugin_families:NotFinite", "NaN"),
    ("plugin_families:NonPositive", "must be > 0"),
    ("plugin_families:SizeMismatch", "rhs has 99 entries, the matrix 100 rows"),
    ("plugin_families:NOT_A_FAMILY", "is not a PDE family"),
    ("plugin_families:Nowhere", "cannot import family"),
    ("no_such_package.families:Darcy", "cannot import family"),
])
def test_bad_plugins_are_refused_before_anything_is_stored(family, match, monkeypatch,
                                                           tmp_path):
    monkeypatch.syspath_prepend(str(HERE))
    spec = GenerateSpec(family=family, grid=[10, 10], n=2, solver="petsc:lu",
                        out=str(tmp_path / "x.zarr"))
    with pytest.raises(pdes.PDEError, match=match) as info:
        spec.validate()
    assert "\n" not in str(info.value) and not (tmp_path / "x.zarr").exists()


def test_a_store_from_before_resolved_options_still_resumes(tmp_path):
    """Stores that recorded options as given ({}) and no family path resume; other options
    are still refused."""
    out = str(tmp_path / "old.zarr")
    storage.create_dataset(out, n=4, grid=(8, 8), fields=("coefficient",), params=(), chunk=2,
                           source_index=np.arange(4),
                           attrs={"family": "darcy", "seed": 0, "family_options": {}})
    spec = GenerateSpec(family="darcy", grid=[8, 8], n=4, solver="petsc:lu", out=out).validate()
    assert spec.family_options == {} and spec.stored() == (4, 2)
    assert spec.identity()["family_path"] == "pdes.families.darcy:Darcy"
    other = GenerateSpec(family="darcy", grid=[8, 8], n=4, solver="petsc:lu", out=out,
                         family_options={"tau": 5.0})
    with pytest.raises(storage.StorageError, match="family_options"):
        other.validate()
