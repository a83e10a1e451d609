"""Every bad input raises PDEError with a one-line message."""

import numpy as np
import pytest

import pdes


def _raises(match, call, *args, **kwargs):
    with pytest.raises(pdes.PDEError, match=match) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value)


def test_unknown_family_lists_known_ones():
    _raises("known: darcy, poisson, helmholtz, heat", pdes.get, "stokes")


@pytest.mark.parametrize("grid", [2, (10, 2), (4,), (3, 3, 3, 3), "big", (4.0, 4), True])
def test_bad_grids(grid):
    _raises("grid", pdes.get, "darcy", grid=grid)


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("darcy", {"colour": 1}, "unknown option.*colour.*known: grid"),
        ("darcy", {"coefficient": "uniform"}, "coefficient must be one of"),
        ("darcy", {"tau": -1.0}, "tau must be a finite number > 0"),
        ("darcy", {"forcing": float("nan")}, "forcing must be a finite number, got nan"),
        ("darcy", {"face_mean": "geometric"}, "face_mean"),
        ("helmholtz", {"k_min": 10.0, "k_max": 5.0}, "k_max must be a finite number >= 10"),
        ("heat", {"dt": 0}, "dt must be a finite number > 0"),
        ("heat", {"kappa": "constant"}, "kappa must be one of"),
        ("heat", {"trajectory": 1}, "trajectory must be one of"),
        ("poisson", {"modes": 0}, "modes must be an int >= 1"),
    ],
)
def test_bad_options(name, options, match):
    _raises(match, pdes.get, name, grid=8, **options)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_bad_coefficients(bad):
    a = np.ones((8, 8))
    a[2, 3] = bad
    for name in ("darcy", "helmholtz"):
        kwargs = {"wavenumber": 5.0} if name == "helmholtz" else {}
        _raises("coefficient", pdes.get(name, grid=8).assemble, coefficient=a, **kwargs)
    scalar_bad = np.nan if bad == np.inf else bad
    _raises("kappa", pdes.get("heat", grid=8).assemble, initial=0.0, kappa=scalar_bad)


def test_bad_assemble_calls():
    darcy = pdes.get("darcy", grid=8)
    _raises("shape", darcy.assemble, coefficient=np.ones((8, 9)))
    _raises("darcy.assemble", darcy.assemble, conductivity=1.0)
    _raises("darcy.assemble", darcy.assemble)
    _raises("wavenumber", pdes.get("helmholtz", grid=8).assemble, coefficient=1.0, wavenumber=-2)
    _raises("index", darcy.sample, -1, 0)
    _raises("seed", darcy.features, 0, 1.5)
