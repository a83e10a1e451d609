"""Orderings that put similar systems next to each other (SKR sorting).

``order(features, "greedy")`` is SKR's nearest-neighbour chain; above ``window``
samples it first walks a Hilbert curve through the leading principal coordinates and
runs the greedy chain inside consecutive windows, so 1e5 samples order in seconds.
"""

from __future__ import annotations

import numpy as np

from ._curves import curve_order, hilbert_index, morton_index
from ._greedy import greedy_chain

__all__ = [
    "METHODS",
    "chain_length",
    "curve_order",
    "greedy_chain",
    "hilbert_index",
    "morton_index",
    "order",
]

METHODS = ("greedy", "none", "hilbert", "morton")


def order(features: np.ndarray, method: str = "greedy", window: int = 2000) -> np.ndarray:
    """Permutation of the N rows of ``features`` (N, d) that visits neighbours in turn."""
    n = len(features)
    if n == 0 or method == "none":
        if method not in METHODS:
            raise ValueError(f"order method must be one of {METHODS}, got {method!r}")
        return np.arange(n)
    X = np.asarray(features, dtype=np.float64).reshape(n, -1)
    if method in ("hilbert", "morton"):
        return curve_order(X, method)
    if method != "greedy":
        raise ValueError(f"order method must be one of {METHODS}, got {method!r}")
    if n <= window:
        return greedy_chain(X)
    pre = curve_order(X, "hilbert")
    parts = []
    for lo in range(0, n, window):
        block = pre[lo : lo + window]
        if parts:  # start each window at the row closest to where the last one ended
            start = int(np.argmin(((X[block] - X[parts[-1][-1]]) ** 2).sum(axis=1)))
        else:
            start = 0
        parts.append(block[greedy_chain(X[block], start)])
    return np.concatenate(parts)


def chain_length(features: np.ndarray, perm: np.ndarray) -> float:
    """Sum of Euclidean steps along ``perm``: what the ordering tries to make short."""
    X = np.asarray(features, dtype=np.float64).reshape(len(features), -1)[np.asarray(perm)]
    return float(np.linalg.norm(np.diff(X, axis=0), axis=1).sum())
