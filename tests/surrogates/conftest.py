"""Tiny real zarr stores of a synthetic linear operator (solution = low-passed input)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import storage

Maker = Callable[..., str]


def smooth(field: np.ndarray) -> np.ndarray:
    """Keep the lowest Fourier modes: a linear operator an FNO can represent exactly."""
    spectrum = np.fft.rfft2(field)
    kx = np.fft.fftfreq(field.shape[-2])[:, None] * field.shape[-2]
    ky = np.fft.rfftfreq(field.shape[-1])[None, :] * field.shape[-1]
    return np.fft.irfft2(spectrum / (1 + kx**2 + ky**2), s=field.shape[-2:]).astype(np.float32)


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
    ) -> str:
        rng = np.random.default_rng(seed)
        status = np.ones(n, np.uint8) if status is None else np.asarray(status, np.uint8)
        url = str(tmp_path / name)
        ds = storage.create_dataset(
            url, n=n, grid=grid, fields=["coefficient"], params=["scale"], chunk=chunk,
            source_index=np.arange(n), attrs={"family": "synthetic"},
        )
        for start in range(0, n, chunk):
            rows = slice(start, min(start + chunk, n))
            m = rows.stop - start
            field = rng.standard_normal((m, *grid)).astype(np.float32)
            scale = rng.uniform(0.5, 2.0, m)
            solution = scale[:, None, None] * smooth(field)
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
