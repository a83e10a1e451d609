"""Sampling and assembly on the device: every lane of a batch is the SciPy path's sample."""

import numpy as np
import pytest
import torch

import pdes
import pdes.families._base as family_base
from pdes import SystemBatch, resolve_device
from solvers.batched._operators import StencilOperator

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
INDICES = [5, 0, 3, 40]  # unsorted, index 0 (heat's random start) and a jump (heat's cache)
SEED = 11
CASES = {
    "darcy-random-forcing": ("darcy", {"grid": (10, 9), "forcing": "random"}),
    "darcy-threshold": ("darcy", {"grid": 10, "coefficient": "threshold",
                                  "face_mean": "arithmetic", "forcing": 2.5}),
    "helmholtz": ("helmholtz", {"grid": (9, 11), "forcing": "random"}),
    "poisson-anisotropic": ("poisson", {"grid": (10, 7), "modes": 3}),
    "heat-random-kappa": ("heat", {"grid": 9, "kappa": "random", "trajectory": False}),
    "darcy-3d": ("darcy", {"grid": (6, 5, 4), "forcing": "random"}),
    "poisson-3d": ("poisson", {"grid": (5, 6, 4)}),
    "heat-3d": ("heat", {"grid": (5, 4, 6)}),
    **{name: (name, {"grid": 8}) for name in pdes.FAMILIES},  # defaults; new families too
}


def _close(got, want, rtol=1e-12):
    got = got.cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = np.abs(want).max() if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * (scale or 1.0))


def _assert_lane_is(batch, lane, system):
    grid = system.grid
    for got, want in zip(batch.faces, system.stencil.faces, strict=True):
        _close(got[lane], want)
    _close(batch.reaction[lane], np.broadcast_to(system.stencil.reaction, grid))
    _close(batch.rhs[lane], system.rhs.reshape(grid))
    assert set(batch.fields) == set(system.fields) and set(batch.params) == set(system.params)
    for name, field in system.fields.items():
        _close(batch.fields[name][lane], field)
    for name, value in system.params.items():
        _close(batch.params[name][lane], value)
    _close(batch.features[lane], system.features)
    host = batch.system(lane)
    assert abs(host.matrix - system.matrix).max() <= 1e-12 * abs(system.matrix).max()
    assert (host.index, host.seed) == (system.index, system.seed)
    assert (host.symmetric, host.definite) == (system.symmetric, system.definite)


@pytest.fixture(scope="module", params=DEVICES)
def device(request):
    return request.param


@pytest.mark.parametrize("case", CASES)
def test_every_lane_equals_the_scipy_sample(case, device):
    name, options = CASES[case]
    batch = pdes.get(name, **options).sample_batch(INDICES, SEED, device=device)
    reference = pdes.get(name, **options)  # fresh: heat's trajectory cache starts empty
    assert batch.device.type == device and batch.batch == len(INDICES)
    assert batch.grid == reference.grid and batch.indices.tolist() == INDICES
    for lane, index in enumerate(INDICES):
        _assert_lane_is(batch, lane, reference.sample(index, SEED))


@pytest.mark.parametrize("case", ["helmholtz", "darcy-3d", "poisson-anisotropic", "heat-3d"])
def test_host_fallback_builds_the_same_batch(case, device):
    """The base class's path (host samples stacked) is what any family without a device
    path gets; it must agree with the device path lane by lane."""
    name, options = CASES[case]
    family = pdes.get(name, **options)
    device_path = family.sample_batch(INDICES, SEED, device=device)
    fallback = pdes.Family._sample_batch(family, np.array(INDICES), SEED, torch.device(device))
    for lane, index in enumerate(INDICES):
        _assert_lane_is(device_path, lane, fallback.system(lane))
        assert fallback.system(lane).index == index


@pytest.mark.parametrize("case", ["helmholtz", "poisson-anisotropic"])
def test_cpu_lane_chunks_join_into_the_same_batch(case, monkeypatch):
    """On the CPU a batch is built in cache-sized chunks of lanes, then joined."""
    name, options = CASES[case]
    family = pdes.get(name, **options)
    whole = family.sample_batch(INDICES, SEED)
    monkeypatch.setattr(family_base, "CPU_CHUNK", 2 * np.prod(family.grid))  # 2 lanes a chunk
    chunked = family.sample_batch(INDICES, SEED)
    assert chunked.indices.tolist() == INDICES
    for lane in range(len(INDICES)):
        _assert_lane_is(chunked, lane, whole.system(lane))


@pytest.mark.parametrize("case", ["helmholtz", "poisson-3d", "heat-random-kappa"])
def test_stencil_operator_from_batch_applies_each_lanes_matrix(case, device):
    name, options = CASES[case]
    family = pdes.get(name, **options)
    batch = family.sample_batch(INDICES, SEED, device=device)
    operator = StencilOperator.from_batch(batch)
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(batch.rhs.shape, dtype=torch.float64, generator=generator)
    kept = [f.clone() for f in (*batch.faces, batch.reaction)]
    refill = family.sample_batch([7], SEED, device=device)
    operator.load(torch.tensor([1], device=device), refill.faces, refill.reaction)
    product = operator(u.to(device)).cpu().numpy()
    for lane, index in enumerate([INDICES[0], 7, *INDICES[2:]]):
        want = family.sample(index, SEED).matrix @ u[lane].numpy().ravel()
        _close(product[lane].ravel(), want)
    assert all(torch.equal(a, b) for a, b in zip(kept, (*batch.faces, batch.reaction),
                                                  strict=True))  # the batch is untouched


def test_bad_batch_requests_raise_pdeerror(monkeypatch):
    family = pdes.get("darcy", grid=8)
    for indices, seed in (([], 0), ([1, -1], 0), ([1.5], 0), ([1], -2)):
        with pytest.raises(pdes.PDEError):
            family.sample_batch(indices, seed)
    with pytest.raises(pdes.PDEError, match="unknown device"):
        family.sample_batch([0], 0, device="gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(pdes.PDEError, match="no CUDA GPU"):
        family.sample_batch([0], 0, device="cuda")
    assert resolve_device("auto") == torch.device("cpu")
    bare = family.sample(0, 0)
    bare.stencil = None
    with pytest.raises(pdes.PDEError, match="stencil"):
        SystemBatch.from_systems([bare])
    assert pdes.SystemBatch is SystemBatch
