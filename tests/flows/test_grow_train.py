"""A store grown twice, its surrogate fine-tuned after each growth: the checkpoint carries
on, the earlier test samples stay test samples, and each growth's errors are recorded."""

import dataclasses

import numpy as np
import pytest

import storage
import surrogates
from flows import GenerateSpec, run_generate
from flows.schedule import scheduled_generate
from surrogates.checkpoint import load_checkpoint
from surrogates.errors import SurrogateError

FIT = dict(batch_size=4, fractions=(0.5, 0.25, 0.25), device="cpu", progress=False,
           model_options={"n_modes": 4, "hidden_channels": 4})


def _test_identities(store: str, model) -> set[int]:
    split = load_checkpoint(model)["split"]["test"].numpy()
    return set(storage.open_dataset(store).source_index[:][split].tolist())


def test_a_grown_store_fine_tunes_the_last_checkpoint(prefect_harness, tmp_path):
    out, model = str(tmp_path / "data.zarr"), tmp_path / "model"
    spec = GenerateSpec(family="darcy", grid=[8, 8], n=16, out=out, solver="petsc:lu",
                        chunk=8)
    run_generate(spec, progress=False)
    surrogates.train(out, model, epochs=2, **FIT)
    tested = _test_identities(out, model)

    # the first growth by hand (one more epoch), the second as `serve --grow 8 --train`
    # runs it (as many epochs again as the checkpoint had: 3)
    for step, (n, epochs) in enumerate(((24, 3), (32, 6)), start=1):
        if step == 1:
            run_generate(dataclasses.replace(spec, n=n, extend=True), progress=False)
            surrogates.train(out, model, epochs=1, **FIT)
        else:
            scheduled_generate(spec, grow=8, train=str(model))
        state = load_checkpoint(model)
        assert state["epoch"] == epochs
        growth = state["history"]["growths"][-1]
        assert len(state["history"]["growths"]) == step
        assert (growth["n_before"], growth["n_after"]) == (n - 8, n)
        assert growth["epoch"] == (2, 3)[step - 1]
        assert np.isfinite(growth["test_rel_l2_before"]) and np.isfinite(
            growth["test_rel_l2_after"])
        assert state["config"]["store"]["n"] == n
        now = _test_identities(out, model)
        assert now & set(range(16)) == tested  # the earlier test samples stay test samples
        assert len(state["split"]["train"]) + len(state["split"]["val"]) + len(now) == n

    other = str(tmp_path / "other.zarr")
    run_generate(dataclasses.replace(spec, out=other, seed=5, n=40), progress=False)
    with pytest.raises(SurrogateError, match="train into a new folder"):
        surrogates.train(other, model, epochs=1, **FIT)
