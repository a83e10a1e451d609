"""Random inputs: Gaussian random fields (FNO normalisation) and smooth random series."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "chebyshev_basis",
    "chebyshev_series",
    "decaying_coefficients",
    "gaussian_random_field",
    "grf_spectrum",
    "sine_basis",
    "sine_series",
]


def gaussian_random_field(
    shape: tuple[int, ...], rng: np.random.Generator, alpha: float = 2.5, tau: float = 7.0
) -> np.ndarray:
    """Periodic GRF with covariance (-lap + tau^2)^-alpha, normalised as the FNO reference code.

    Eigenvalue scale N * sqrt(2) * tau^(alpha - d/2) * (4 pi^2 |k|^2 + tau^2)^(-alpha/2)
    (N = number of nodes, cancelled by the inverse FFT), mean mode zeroed, real part of the
    inverse FFT of complex normal noise: in 2-D, GRF(2.5, 7) has std ~0.3.
    """
    sqrt_eig = grf_spectrum(shape, alpha, tau)
    noise = rng.standard_normal((2, *shape))
    return np.fft.ifftn(sqrt_eig * (noise[0] + 1j * noise[1])).real


def grf_spectrum(shape: tuple[int, ...], alpha: float, tau: float) -> np.ndarray:
    """The GRF's square-root eigenvalues on the FFT grid (mean mode zeroed): the noise's filter.

    Shared by ``gaussian_random_field`` and the batched device sampler (pdes._batch).
    """
    d = len(shape)
    k = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in shape], indexing="ij", sparse=True)
    k2 = sum(ki**2 for ki in k)
    sqrt_eig = (
        np.prod(shape)
        * np.sqrt(2.0)
        * tau ** (alpha - d / 2)
        * (4 * np.pi**2 * k2 + tau**2) ** (-alpha / 2)
    )
    sqrt_eig.flat[0] = 0.0
    return sqrt_eig


def decaying_coefficients(
    rng: np.random.Generator, modes: int, ndim: int, first: int
) -> np.ndarray:
    """N(0, 1) / max(1, |j|^2) on the multi-indices j in [first, first + modes)^ndim: smooth."""
    j2 = (np.indices((modes,) * ndim) + first) ** 2
    return rng.standard_normal((modes,) * ndim) / np.maximum(1, j2.sum(axis=0))


def sine_series(coefficients: np.ndarray, *coords: np.ndarray) -> np.ndarray:
    """sum_j c_j prod_i sin(pi (j_i + 1) x_i): smooth and zero on the boundary of the cube."""
    return _tensor_series(coefficients, sine_basis, coords)


def chebyshev_series(coefficients: np.ndarray, *coords: np.ndarray) -> np.ndarray:
    """sum_j c_j prod_i T_{j_i}(2 x_i - 1): smooth on the closed cube, boundary included."""
    return _tensor_series(coefficients, chebyshev_basis, coords)


def sine_basis(j: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sin(pi (j + 1) x): the 1-D factor of ``sine_series`` (broadcasts j against x)."""
    return np.sin(np.pi * (j + 1) * x)


def chebyshev_basis(j: np.ndarray, x: np.ndarray) -> np.ndarray:
    """T_j(2 x - 1) on [0, 1]: the 1-D factor of ``chebyshev_series``."""
    return np.cos(j * np.arccos(np.clip(2 * x - 1, -1, 1)))


def _tensor_series(
    coefficients: np.ndarray,
    basis: Callable[[np.ndarray, np.ndarray], np.ndarray],
    coords: tuple[np.ndarray, ...],
) -> np.ndarray:
    letters = "abc"[: coefficients.ndim]
    spec = letters + "," + ",".join(f"{c}..." for c in letters) + "->..."
    factors = []
    for m, x in zip(coefficients.shape, coords, strict=True):
        j = np.arange(m).reshape((m,) + (1,) * np.ndim(x))
        factors.append(basis(j, np.asarray(x, dtype=np.float64)))
    return np.einsum(spec, coefficients, *factors)
