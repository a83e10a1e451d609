"""Space-filling-curve pre-orders that make large sets cheap to sort."""

from __future__ import annotations

import numpy as np

__all__ = ["curve_order", "hilbert_index", "morton_index", "reduce_features"]


def reduce_features(features: np.ndarray, dims: int) -> np.ndarray:
    """First ``dims`` principal coordinates, scaled to [0, 1] per axis."""
    X = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    X = X - X.mean(axis=0)
    if X.shape[1] > dims:
        _, _, vt = np.linalg.svd(X[: min(len(X), 20000)], full_matrices=False)
        X = X @ vt[:dims].T
    lo, span = X.min(axis=0), np.ptp(X, axis=0)
    return (X - lo) / np.where(span > 0, span, 1.0)


def _quantise(unit: np.ndarray, bits: int) -> np.ndarray:
    return np.minimum((unit * (1 << bits)).astype(np.int64), (1 << bits) - 1)


def morton_index(unit: np.ndarray, bits: int = 10) -> np.ndarray:
    """Z-order key of points in [0, 1]^d (bit interleaving)."""
    q = _quantise(unit, bits)
    d = q.shape[1]
    key = np.zeros(len(q), dtype=np.int64)
    for bit in range(bits - 1, -1, -1):
        for axis in range(d):
            key = (key << 1) | ((q[:, axis] >> bit) & 1)
    return key


def hilbert_index(unit: np.ndarray, bits: int = 10) -> np.ndarray:
    """Hilbert key of points in [0, 1]^d (Skilling 2004, vectorised over points)."""
    x = _quantise(unit, bits).T.copy()
    d = x.shape[0]
    m = 1 << (bits - 1)
    q = m
    while q > 1:  # inverse undo
        p = q - 1
        for i in range(d):
            hi = (x[i] & q) != 0
            x[0] = np.where(hi, x[0] ^ p, x[0])
            t = np.where(hi, 0, (x[0] ^ x[i]) & p)
            x[0] ^= t
            x[i] ^= t
        q >>= 1
    for i in range(1, d):  # Gray encode
        x[i] ^= x[i - 1]
    t = np.zeros_like(x[0])
    q = m
    while q > 1:
        t = np.where((x[d - 1] & q) != 0, t ^ (q - 1), t)
        q >>= 1
    x ^= t
    key = np.zeros(x.shape[1], dtype=np.int64)
    for bit in range(bits - 1, -1, -1):
        for i in range(d):
            key = (key << 1) | ((x[i] >> bit) & 1)
    return key


def curve_order(features: np.ndarray, curve: str = "hilbert", dims: int = 4) -> np.ndarray:
    """Stable sort along a Hilbert or Morton curve through the reduced features."""
    unit = reduce_features(features, dims)
    bits = max(2, min(62 // unit.shape[1], 16))
    key = (hilbert_index if curve == "hilbert" else morton_index)(unit, bits)
    return np.argsort(key, kind="stable")
