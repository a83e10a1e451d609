"""Tiny real zarr stores of a synthetic linear operator: solution = low-passed smooth input."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import storage

Maker = Callable[..., str]


def smooth(field: np.ndarray) -> np.ndarray:
    """Damp Fourier mode k by 1/(1 + |k|^2), a periodic (1 - Laplacian)^-1: the kind of
    translation-invariant linear operator an FNO represents well."""
    spectrum = np.fft.rfft2(field)
    kx = np.fft.fftfreq(field.shape[-2])[:, None] * field.shape[-2]
    ky = np.fft.rfftfreq(field.shape[-1])[None, :] * field.shape[-1]
    return np.fft.irfft2(spectrum / (1 + kx**2 + ky**2), s=field.shape[-2:]).astype(np.float32)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """The test machine's cores are shared: one thread is ~10x faster than contending."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_store(tmp_path: Path) -> Maker:
    """Write a store of n samples; ``status`` (default all done) and ``constant`` are per test."""

    def make(
        name: str = "data.zarr",
        *,
        n: int = 64,
        grid: tuple[int, int] = (16, 16),
        chunk: int = 8,
        status: np.ndarray | None = None,
        constant: float | None = None,
        seed: int = 0,
        family: str = "synthetic",
    ) -> str:
        rng = np.random.default_rng(seed)
        status = np.ones(n, np.uint8) if status is None else np.asarray(status, np.uint8)
        url = str(tmp_path / name)
        ds = storage.create_dataset(
            url, n=n, grid=grid, fields=["coefficient"], params=["scale"], chunk=chunk,
            source_index=np.arange(n), attrs={"family": family, "seed": seed},
        )
        for start in range(0, n, chunk):
            rows = slice(start, min(start + chunk, n))
            m = rows.stop - start
            field = smooth(smooth(rng.standard_normal((m, *grid))))
            field /= field.std()
            scale = rng.uniform(0.5, 2.0, m)  # an input channel the operator ignores
            solution = smooth(field)
            if constant is not None:
                solution = np.full_like(solution, constant)
            pending = status[rows] != storage.DONE
            solution[pending] = np.nan  # any read of a pending/failed sample would show
            ds.write_block(
                start, inputs={"coefficient": field}, solution=solution, params={"scale": scale},
                iterations=np.zeros(m), residual=np.zeros(m), seconds=np.zeros(m),
                status=status[rows],
            )
        return url

    return make


@pytest.fixture
def tiny_fno() -> dict[str, int]:
    """An FNO small enough that a few epochs on 2 shared cores take seconds."""
    return {"n_modes": 6, "hidden_channels": 8, "n_layers": 2}


@pytest.fixture
def smoother() -> Callable[[np.ndarray], np.ndarray]:
    """The stores' operator, for tests that check equivariance against it."""
    return smooth
