"""Family contracts: determinism, cheap features, matrix properties per family."""

import json

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

import pdes

SMALL = {"darcy": 12, "poisson": 12, "helmholtz": 12, "heat": (6, 5), "obstacles": 12}


def _eigenvalues(matrix):
    return scipy.linalg.eigvalsh(matrix.toarray())


def _is_positive_definite(matrix):
    try:
        np.linalg.cholesky(matrix.toarray())
    except np.linalg.LinAlgError:
        return False
    return True


def _is_symmetric(matrix):
    return abs(matrix - matrix.T).max() < 1e-12 * abs(matrix).max()


def _differs(a, b):
    return not (np.array_equal(a.rhs, b.rhs) and np.array_equal(a.matrix.data, b.matrix.data))


@pytest.mark.parametrize("name", pdes.FAMILIES)
def test_sample_is_deterministic_and_features_match(name):
    family = pdes.get(name, grid=SMALL[name])
    a, b = family.sample(3, 7), family.sample(3, 7)
    assert isinstance(a.matrix, sp.csr_matrix) and a.matrix.dtype == np.float64
    assert (a.matrix != b.matrix).nnz == 0 and np.array_equal(a.rhs, b.rhs)
    assert np.array_equal(a.features, b.features)
    assert np.array_equal(family.features(3, 7), a.features)
    assert a.features.ndim == 1 and a.features.size > 0
    assert set(a.fields) == set(family.field_names) and set(a.params) == set(family.param_names)
    assert all(v.shape == family.grid for v in a.fields.values())
    assert (a.index, a.seed) == (3, 7) and a.rhs.shape == (np.prod(family.grid),)
    assert _differs(family.sample(4, 7), a) and _differs(family.sample(3, 8), a)


@pytest.mark.parametrize("name", pdes.FAMILIES)
def test_assemble_from_stored_fields_reproduces_sample(name):
    family = pdes.get(name, grid=SMALL[name])
    system = family.sample(2, 0)
    again = family.assemble(**system.fields, **system.params)
    assert abs(again.matrix - system.matrix).max() == 0
    assert np.array_equal(again.rhs, system.rhs)
    assert np.array_equal(again.features, system.features)
    rebuilt = pdes.get(name, grid=family.grid, **json.loads(json.dumps(family.options())))
    assert np.array_equal(rebuilt.sample(2, 0).rhs, system.rhs)


def test_darcy_matrix_is_spd_and_threshold_medium_has_two_values():
    system = pdes.get("darcy", grid=(12, 10)).sample(0, 0)
    assert _is_symmetric(system.matrix) and system.symmetric and system.definite
    assert _is_positive_definite(system.matrix)
    threshold = pdes.get("darcy", grid=12, coefficient="threshold").sample(0, 0)
    assert set(np.unique(threshold.fields["coefficient"])) <= {3.0, 12.0}


def test_darcy_3d_sample_is_spd():
    system = pdes.get("darcy", grid=(8, 8, 8)).sample(1, 0)
    assert system.matrix.shape == (512, 512) and system.fields["coefficient"].shape == (8, 8, 8)
    assert system.matrix.getnnz(axis=1).max() == 7
    assert _is_symmetric(system.matrix) and _is_positive_definite(system.matrix)


def test_helmholtz_is_symmetric_indefinite():
    family = pdes.get("helmholtz", grid=16)
    system = family.sample(0, 0)
    assert 5 <= system.params["wavenumber"] <= 15
    eigenvalues = _eigenvalues(system.matrix)
    assert _is_symmetric(system.matrix) and system.symmetric and not system.definite
    assert eigenvalues.min() < 0 < eigenvalues.max()
    darcy = pdes.get("darcy", grid=16).assemble(coefficient=system.fields["coefficient"])
    k2 = system.params["wavenumber"] ** 2
    assert abs(darcy.matrix - k2 * sp.identity(256) - system.matrix).max() < 1e-9


def test_poisson_shares_one_matrix_and_random_data_varies():
    family = pdes.get("poisson", grid=12)
    a, b = family.sample(0, 0), family.sample(1, 0)
    assert a.matrix is b.matrix
    assert not np.allclose(a.fields["forcing"], b.fields["forcing"])
    boundary = a.fields["boundary"]
    assert np.abs(boundary[1:-1, 1:-1]).max() == 0 and np.abs(boundary[0]).max() > 0
    assert _is_positive_definite(a.matrix)


def test_random_forcing_becomes_a_field():
    family = pdes.get("darcy", grid=10, forcing="random")
    assert family.field_names == ("coefficient", "forcing")
    system = family.sample(0, 0)
    assert np.array_equal(system.rhs, system.fields["forcing"].ravel())
