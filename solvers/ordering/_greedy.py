"""SKR's greedy nearest-neighbour chain (Wang et al. 2024, Alg. 1)."""

from __future__ import annotations

import numpy as np

__all__ = ["greedy_chain"]


def greedy_chain(features: np.ndarray, start: int = 0) -> np.ndarray:
    """Visit order that always steps to the closest unvisited row (Euclidean).

    O(N^2) time, O(N) memory: one vectorised distance row per step, no N x N matrix.
    """
    X = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    n = len(X)
    perm = np.empty(n, dtype=np.int64)
    if n == 0:
        return perm
    sq = np.einsum("ij,ij->i", X, X)
    visited = np.zeros(n, dtype=bool)
    current = start
    for step in range(n):
        perm[step] = current
        visited[current] = True
        if step == n - 1:
            break
        d = sq - 2.0 * (X @ X[current])  # ||x_j - x_c||^2 minus a constant
        d[visited] = np.inf
        current = int(np.argmin(d))
    return perm
