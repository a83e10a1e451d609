"""Random inputs: Gaussian random fields (FNO normalisation) and smooth random series."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "chebyshev_basis",
    "chebyshev_series",
    "decaying_coefficients",
    "gaussian_random_field",
    "grf_modes",
    "grf_series",
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


def grf_modes(
    rng: np.random.Generator, modes: int, ndim: int, alpha: float = 2.5, tau: float = 7.0
) -> np.ndarray:
    """The GRF's complex Fourier coefficients on wavenumbers [-modes, modes]^ndim, drawn by
    wavenumber shell (max |k_i| = 1, 2, ...), so the draws with a smaller ``modes`` are a
    prefix of those with a larger one: every resolution sees the same low modes.

    Same covariance and scale as ``gaussian_random_field`` (whose FFT noise depends on the
    grid): u(x) = Re sum_k sqrt(2) tau^(alpha - d/2) (4 pi^2 |k|^2 + tau^2)^(-alpha/2) xi_k
    exp(2 pi i k.x), xi_k complex normal, mean mode zero. Evaluate with ``grf_series``.
    """
    k = np.indices((2 * modes + 1,) * ndim).reshape(ndim, -1).T - modes
    shell = np.abs(k).max(axis=1)
    order = np.lexsort((*k.T[::-1], shell))[1:]  # by shell, then lexicographic; k = 0 dropped
    noise = rng.standard_normal((len(order), 2))  # one (re, im) pair per mode, in shell order
    k2 = (k[order] ** 2).sum(axis=1)
    scale = np.sqrt(2.0) * tau ** (alpha - ndim / 2) * (4 * np.pi**2 * k2 + tau**2) ** (-alpha / 2)
    coefficients = np.zeros((2 * modes + 1,) * ndim, dtype=np.complex128)
    coefficients.reshape(-1)[order] = scale * (noise[:, 0] + 1j * noise[:, 1])
    return coefficients


def grf_series(coefficients: np.ndarray, *axes: np.ndarray) -> np.ndarray:
    """Re sum_k c_k exp(2 pi i k.x) on the tensor grid of the 1-D ``axes`` (``grf_modes``'
    field: the same function at any resolution), one table per axis."""
    modes = (coefficients.shape[0] - 1) // 2
    k = np.arange(-modes, modes + 1)
    tables = [np.exp(2j * np.pi * np.outer(k, np.asarray(x, dtype=np.float64))) for x in axes]
    letters, out = "abc"[: coefficients.ndim], "ijk"[: coefficients.ndim]
    spec = letters + "," + ",".join(a + i for a, i in zip(letters, out, strict=True)) + "->" + out
    return np.einsum(spec, coefficients, *tables, optimize=True).real


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
