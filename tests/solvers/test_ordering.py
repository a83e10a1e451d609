"""SKR ordering: permutations, shorter chains than the given order, fast for large N."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import order
from solvers.ordering import chain_length, hilbert_index
from solvers.ordering import order as order_windowed


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(5, 3))
    return centres[rng.integers(0, 5, n)] + 0.1 * rng.standard_normal((n, 3))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 60),
    d=st.integers(1, 5),
    seed=st.integers(0, 1000),
    method=st.sampled_from(["greedy", "none", "hilbert", "morton"]),
)
def test_order_is_a_permutation(n, d, seed, method):
    X = np.random.default_rng(seed).standard_normal((n, d))
    perm = order(X, method)
    assert sorted(perm.tolist()) == list(range(n))


@pytest.mark.parametrize("method", ["greedy", "hilbert"])
def test_chain_shorter_than_identity_on_clusters(method):
    X = _clustered(200)
    perm = order(X, method)
    assert chain_length(X, perm) < 0.5 * chain_length(X, np.arange(len(X)))


def test_greedy_starts_at_sample_zero_and_steps_to_nearest():
    X = np.array([[0.0], [10.0], [1.0], [2.5]])
    assert order(X).tolist() == [0, 2, 3, 1]


def test_windowed_greedy_on_large_sets():
    X = _clustered(5000)
    perm = order_windowed(X, "greedy", window=1000)
    assert sorted(perm.tolist()) == list(range(5000))
    assert chain_length(X, perm) < 0.2 * chain_length(X, np.arange(5000))


def test_hilbert_curve_steps_to_grid_neighbours():
    g = (np.stack(np.meshgrid(np.arange(8), np.arange(8)), -1).reshape(-1, 2) + 0.5) / 8
    key = hilbert_index(g, bits=3)
    assert sorted(key.tolist()) == list(range(64))
    steps = np.abs(np.diff(g[np.argsort(key)] * 8, axis=0)).sum(axis=1)
    assert np.allclose(steps, 1.0)


def test_unknown_method():
    with pytest.raises(ValueError, match="order method"):
        order(np.zeros((3, 2)), "spiral")
