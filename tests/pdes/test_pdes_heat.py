"""Heat: Crank-Nicolson steps, trajectories that chain, kappa schedule kept positive."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import pdes
from pdes.families.heat import KAPPA_FLOOR, kappa_schedule


def _solve(system):
    return spla.spsolve(system.matrix.tocsc(), system.rhs).reshape(system.grid)


def test_trajectory_chains_solutions():
    family = pdes.get("heat", grid=10, dt=0.01)
    systems = [family.sample(i, 3) for i in range(6)]
    for previous, current in zip(systems, systems[1:], strict=False):
        assert np.allclose(current.fields["initial"], _solve(previous), atol=1e-12)
    fresh = pdes.get("heat", grid=10, dt=0.01).sample(5, 3)
    assert np.array_equal(fresh.fields["initial"], systems[5].fields["initial"])
    assert np.array_equal(fresh.rhs, systems[5].rhs) and fresh.params == systems[5].params


def test_trajectory_is_independent_of_call_order_across_checkpoints():
    family = pdes.get("heat", grid=(6, 7), kappa="random")
    late, early = family.sample(70, 1), family.sample(35, 1)
    assert np.array_equal(
        pdes.get("heat", grid=(6, 7), kappa="random").sample(35, 1).rhs, early.rhs
    )
    assert np.array_equal(family.sample(70, 1).rhs, late.rhs)
    assert not np.array_equal(family.sample(70, 2).rhs, late.rhs)


def test_schedule_stays_positive_and_system_spd():
    assert kappa_schedule(0.0) == KAPPA_FLOOR
    assert kappa_schedule(0.25) == pytest.approx(0.1)
    assert kappa_schedule(0.75) == pytest.approx(10.0)
    family = pdes.get("heat", grid=8, dt=0.25, trajectory=False)
    system = family.sample(3, 0)  # t = 0.75: kappa = 10
    assert system.params == {"kappa": pytest.approx(10.0), "time": 0.75}
    assert np.linalg.eigvalsh(system.matrix.toarray()).min() > 0
    assert np.array_equal(system.features, [system.params["kappa"], 0.75])


def test_random_kappa_mode_and_independent_initial_states():
    family = pdes.get("heat", grid=8, kappa="random", trajectory=False)
    a, b = family.sample(0, 0), family.sample(1, 0)
    assert 0.1 <= a.params["kappa"] <= 2.0 and a.params["kappa"] != b.params["kappa"]
    assert not np.allclose(a.fields["initial"], b.fields["initial"])
