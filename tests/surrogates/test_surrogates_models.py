"""Models and recipes: options round-trip through the checkpoint, every family trains."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import pdes
import storage
import surrogates
from surrogates.checkpoint import describe_model, load_checkpoint
from surrogates.models import build_model

TINY = {"n_modes": 4, "hidden_channels": 4}
FIT = dict(epochs=1, batch_size=4, fractions=(0.5, 0.25, 0.25), device="cpu", progress=False)


@pytest.mark.parametrize(("model", "options"), [
    ("fno", {**TINY, "n_layers": 1, "padding": 0.25, "non_linearity": "relu",
             "lifting_channel_ratio": 1}),
    ("tfno", {**TINY, "n_layers": 1, "rank": 0.5}),
    ("uno", {**TINY, "channel_mlp_skip": "linear"}),
])
def test_model_options_round_trip_through_the_checkpoint(make_store, tmp_path, model, options):
    url = make_store(n=12)
    surrogates.train(url, tmp_path / model, model=model, model_options=options, **FIT)
    config = load_checkpoint(tmp_path / model)["config"]
    assert config["model"] == model and config["model_options"] == options
    assert str(options) in describe_model(tmp_path / model)
    surrogate = surrogates.load(tmp_path / model, device="cpu")
    assert surrogate.predict(np.zeros((2, 16, 16), np.float32)).shape == (16, 16)
    rebuilt = build_model(model, (16, 16), 2, 1, **options)
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(
        p.numel() for p in surrogate.model.net.parameters())


def test_unknown_models_and_options_are_bad_input():
    with pytest.raises(surrogates.SurrogateError, match="fno"):
        build_model("unet9000", (8, 8), 1, 1)
    with pytest.raises(surrogates.SurrogateError, match="n_mode.*did you mean .n_modes"):
        build_model("fno", (8, 8), 1, 1, n_mode=4)
    with pytest.raises(surrogates.SurrogateError, match="non_linearity"):
        build_model("fno", (8, 8), 1, 1, non_linearity="sine")


def test_recipe_files_merge_under_explicit_options(tmp_path):
    toml = tmp_path / "r.toml"
    toml.write_text('model = "tfno"\nlr = 1e-3\n[model_options]\nn_modes = 8\nrank = 0.2\n')
    yaml = tmp_path / "r.yaml"
    yaml.write_text("lr: 0.002\nmodel_options:\n  hidden_channels: 16\n")
    merged = surrogates.merge_recipes(surrogates.load_recipe(toml), surrogates.load_recipe(yaml),
                                      {"lr": None, "epochs": 3}, {"model_options": {"n_modes": 6}})
    assert merged == {"model": "tfno", "lr": 0.002, "epochs": 3,
                      "model_options": {"n_modes": 6, "rank": 0.2, "hidden_channels": 16}}
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 1\n")
    with pytest.raises(surrogates.SurrogateError, match="learning_rate"):
        surrogates.load_recipe(bad)


@pytest.fixture(scope="module")
def family_stores(tmp_path_factory):
    """Each family's real systems at 10x10, solved directly and stored as generate stores."""
    root, stores = tmp_path_factory.mktemp("families"), {}
    for name in ("darcy", "poisson", "helmholtz", "heat"):
        family = pdes.get(name, grid=(10, 10))
        systems = [family.sample(i, 0) for i in range(8)]
        fields, params = sorted(systems[0].fields), sorted(systems[0].params)
        url = str(root / f"{name}.zarr")
        ds = storage.create_dataset(url, n=8, grid=(10, 10), fields=fields, params=params,
                                    chunk=8, source_index=np.arange(8),
                                    attrs={"family": name, "seed": 0})
        ds.write_block(
            0, inputs={f: np.stack([s.fields[f] for s in systems]) for f in fields},
            solution=np.stack([spla.spsolve(s.matrix.tocsc(), s.rhs).reshape(10, 10)
                               for s in systems]),
            params={p: [s.params[p] for s in systems] for p in params},
            iterations=np.zeros(8), residual=np.zeros(8), seconds=np.zeros(8), status=np.ones(8))
        stores[name] = (url, systems)
    return stores


@pytest.mark.parametrize("name", ["darcy", "poisson", "helmholtz", "heat"])
def test_every_family_trains_and_predicts_the_solution_shape(family_stores, tmp_path, name):
    url, systems = family_stores[name]
    metrics = surrogates.train(url, tmp_path / "m", model_options=TINY, **FIT)
    assert metrics["epoch"] == 1 and np.isfinite(metrics["train_loss"])
    surrogate = surrogates.load(tmp_path / "m", device="cpu")
    assert surrogate.params == sorted(systems[0].params)  # helmholtz k, heat kappa and time
    prediction = surrogate.predict({**systems[0].fields, **systems[0].params})
    assert prediction.shape == (10, 10) and np.isfinite(prediction).all()


def test_every_bench_variant_is_a_recipe_the_cli_accepts(make_store, tmp_path):
    """The variants table of docs/benchmarks.md is reproducible: each row's recipe passes the
    checks `pdeforge train` makes before any work, and builds its model."""
    from benchmarks.surrogate import VARIANTS
    from surrogates.training import check_recipe

    url = make_store(n=8, grid=(32, 32))
    for name, recipe in VARIANTS.items():
        check_recipe(url, tmp_path / name.replace(" ", "_"), recipe)
    with pytest.raises(surrogates.SurrogateError, match="coarsen"):
        check_recipe(url, tmp_path / "bad", {"coarsen": 2.0})
