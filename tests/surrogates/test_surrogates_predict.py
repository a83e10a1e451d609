"""Surrogate.predict: physical units out, dict/array/batch inputs, 2-D and 3-D models."""

import numpy as np
import pytest
import torch

import surrogates
from storage._torch import ZarrFieldDataset
from surrogates.models import build_model


def test_predict_undoes_normalisation_for_constant_solutions(make_store, tiny_fno, tmp_path):
    url = make_store(n=24, constant=3.5)
    surrogates.train(url, tmp_path / "m", model_options=tiny_fno, epochs=1, batch_size=8,
                     device="cpu", progress=False)
    model = surrogates.load(tmp_path / "m", device="cpu")
    rng = np.random.default_rng(5)
    field = rng.standard_normal((16, 16)).astype(np.float32)
    single = model.predict({"coefficient": field, "scale": 1.3})
    assert single.shape == (16, 16)
    np.testing.assert_allclose(single, 3.5, atol=1e-3)
    batch = model.predict({"coefficient": np.stack([field, 2 * field]), "scale": [1.3, 0.7]})
    assert batch.shape == (2, 16, 16)
    np.testing.assert_allclose(batch, 3.5, atol=1e-3)


def test_predict_forms_agree_and_match_the_store_reader(make_store, tiny_fno, tmp_path):
    url = make_store(n=24)
    surrogates.train(url, tmp_path / "m", model_options=tiny_fno, epochs=1, batch_size=8,
                     device="cpu", progress=False)
    model = surrogates.load(tmp_path / "m", device="cpu")
    assert isinstance(model, surrogates.Surrogate) and model.fields == ["coefficient"]
    item = ZarrFieldDataset(url)[3]
    x = item["x"].numpy()
    from_dict = model.predict({"coefficient": x[0], "scale": float(x[1, 0, 0])})
    np.testing.assert_allclose(from_dict, model.predict(x), rtol=1e-6)
    with torch.no_grad():
        direct = model.model(item["x"][None])[0, 0].numpy()
    np.testing.assert_allclose(from_dict, direct, rtol=1e-6)
    with pytest.raises(ValueError, match="scale"):
        model.predict({"coefficient": x[0]})


def test_fno_builds_in_3d_and_rejects_unknown_names():
    net = build_model("fno", (8, 8, 8), 2, 1, n_modes=4, hidden_channels=4, n_layers=1)
    assert net(torch.zeros(1, 2, 8, 8, 8)).shape == (1, 1, 8, 8, 8)
    with pytest.raises(ValueError, match="fno"):
        build_model("unet9000", (8, 8), 1, 1)
