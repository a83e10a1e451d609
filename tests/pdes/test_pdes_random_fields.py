"""The GRF scale is pinned (FNO normalisation) and random series behave as documented."""

import numpy as np

import pdes


def test_grf_2d_scale_matches_fno_normalisation():
    fields = [
        pdes.gaussian_random_field((100, 100), np.random.default_rng([0, i]), 2.5, 7.0)
        for i in range(6)
    ]
    assert 0.2 <= np.mean([f.std() for f in fields]) <= 0.4
    contrast = np.mean([np.exp(f.max() - f.min()) for f in fields])
    assert 2.0 <= contrast <= 8.0
    assert all(abs(f.mean()) < 1e-12 for f in fields)  # mean mode zeroed


def test_grf_is_seeded_and_3d_works():
    a = pdes.gaussian_random_field((8, 9, 10), np.random.default_rng([1, 2]))
    b = pdes.gaussian_random_field((8, 9, 10), np.random.default_rng([1, 2]))
    assert a.shape == (8, 9, 10) and np.array_equal(a, b) and a.std() > 0


def test_sine_series_vanishes_on_boundary_and_chebyshev_does_not():
    c = pdes.decaying_coefficients(np.random.default_rng(0), 3, 2, first=1)
    x = np.array([0.0, 1.0, 0.3])
    y = np.array([0.4, 0.7, 1.0])
    assert np.allclose(pdes.sine_series(c, x, y), 0.0)
    assert not np.allclose(pdes.chebyshev_series(c, x, y), 0.0)
    # T_1(2x - 1) along x only: c[1, 0] = 1
    e = np.zeros((2, 2))
    e[1, 0] = 1.0
    assert np.allclose(pdes.chebyshev_series(e, x, y), 2 * x - 1)
