"""Manufactured solutions: the stencils converge at second order."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import pdes

GRIDS = (15, 31, 63)  # h = 1/16, 1/32, 1/64
PI = np.pi


def _orders(errors):
    errors = np.asarray(errors)
    return np.log2(errors[:-1] / errors[1:])


def _solve(system):
    return spla.spsolve(system.matrix.tocsc(), system.rhs)


def _darcy_error(s, face_mean):
    family = pdes.get("darcy", grid=s, face_mean=face_mean)
    x, y = np.meshgrid(*[np.arange(1, s + 1) / (s + 1)] * 2, indexing="ij")
    a = 1 + 0.5 * np.sin(PI * x) * np.cos(2 * PI * y) + 0.3 * x * y
    a_x = 0.5 * PI * np.cos(PI * x) * np.cos(2 * PI * y) + 0.3 * y
    a_y = -PI * np.sin(PI * x) * np.sin(2 * PI * y) + 0.3 * x
    u = np.sin(PI * x) * np.sin(PI * y)
    u_x = PI * np.cos(PI * x) * np.sin(PI * y)
    u_y = PI * np.sin(PI * x) * np.cos(PI * y)
    f = -(a_x * u_x + a_y * u_y - 2 * PI**2 * a * u)
    system = family.assemble(coefficient=a, forcing=f)
    return np.abs(_solve(system) - u.ravel()).max()


@pytest.mark.parametrize("face_mean", ["harmonic", "arithmetic"])
def test_darcy_variable_coefficient_second_order(face_mean):
    orders = _orders([_darcy_error(s, face_mean) for s in GRIDS])
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def _poisson_error(s):
    family = pdes.get("poisson", grid=s)
    x, y = np.meshgrid(*[np.arange(1, s + 1) / (s + 1)] * 2, indexing="ij")

    def exact(x, y):
        return np.sin(PI * x) * np.sin(2 * PI * y) + np.exp(x + 0.5 * y)

    f = 5 * PI**2 * np.sin(PI * x) * np.sin(2 * PI * y) - 1.25 * np.exp(x + 0.5 * y)
    system = family.assemble(forcing=f, boundary=family.boundary_field(exact))
    return np.abs(_solve(system) - exact(x, y).ravel()).max()


def test_poisson_with_dirichlet_data_second_order():
    orders = _orders([_poisson_error(s) for s in GRIDS])
    assert np.all((orders > 1.8) & (orders < 2.2)), orders
