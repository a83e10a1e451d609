"""The one lane driver: every lane method gets the same invariant (true-residual settle,
refill along the chain, compaction, restart, divergence guard, hand-over)."""

import numpy as np
import pytest
import torch

import pdes
from solvers.batched import (
    STALLED_MISSES,
    Direct,
    FlexiblePCG,
    LaneMethod,
    Lanes,
    SpectralPreconditioner,
    drive,
    host_loader,
    lane_norm,
    make_chains,
)


def _lanes(systems, batch, tol=1e-8, max_iterations=500):
    chains = make_chains(len(systems), batch)
    return Lanes(chains, host_loader(systems, "cpu"), tol, True, max_iterations)


def _exact(systems, lanes, lane):
    """The exact solution of the system in ``lane``, on the grid."""
    system = systems[lanes.item(lane)]
    return torch.as_tensor(np.linalg.solve(system.matrix.toarray(), system.rhs)
                           .reshape(system.grid))


class Diverging(LaneMethod):
    """x grows by 10x each step on lane 0; the other lanes take exact steps."""

    def __init__(self, systems):
        self.systems, self.steps = systems, 0

    def step(self, lanes, active):
        self.steps += 1
        lanes.x[0] = 10.0 * (lanes.x[0] + 1.0)
        for lane in range(1, lanes.batch):
            lanes.x[lane] = _exact(self.systems, lanes, lane)
        return lane_norm(lanes.b - lanes.op(lanes.x)), 1


def _four_systems_on_two_lanes(method_class):
    """Drive ``method_class`` over 4 small Darcy systems on 2 lanes; every one recorded."""
    systems = [pdes.get("darcy", grid=(6, 6)).sample(i, 0) for i in range(4)]
    lanes = _lanes(systems, batch=2)
    method = method_class(systems)
    drive(lanes, method)
    assert sorted(lanes.results) == [0, 1, 2, 3]
    return lanes, method


def test_a_diverging_lane_stops_failed_and_the_others_go_on():
    lanes, method = _four_systems_on_two_lanes(Diverging)
    failed = [i for i, r in lanes.results.items() if not r.residual <= 1e-8]
    assert failed and method.steps < 100  # guard, not max_iterations (500), ended lane 0
    assert all(lanes.results[i].residual <= 1e-8 for i in (2, 3))  # chain 1 refilled


class AtTheFloor(LaneMethod):
    """Lane 0 sits off its solution by a fixed error and reports a zero estimate (a recursive
    residual that fell below the rounding floor of the true one); other lanes solve exactly."""

    def __init__(self, systems):
        self.systems, self.steps = systems, 0

    def step(self, lanes, active):
        self.steps += 1
        for lane in range(lanes.batch):
            stuck = lanes.item(lane) == 0  # system 0 stays off by a fixed error
            lanes.x[lane] = _exact(self.systems, lanes, lane) + (1e-3 if stuck else 0.0)
        return torch.zeros(lanes.batch, dtype=lanes.b.dtype), 1


def test_a_lane_at_its_rounding_floor_stops_failed_after_stalled_misses():
    lanes, _ = _four_systems_on_two_lanes(AtTheFloor)
    assert lanes.results[0].residual > 1e-8  # recorded as it stands: failed
    assert lanes.results[0].iterations == STALLED_MISSES + 1  # not max_iterations (500)
    assert all(lanes.results[i].residual <= 1e-8 for i in (1, 2, 3))


@pytest.mark.parametrize("check_every", [1, 3])
def test_pcg_on_mixed_lanes_meets_the_true_residual_and_compacts(check_every):
    darcy = pdes.get("darcy", grid=(10, 10), coefficient="threshold", contrast=1e3)
    systems = [darcy.sample(i, 0) for i in range(7)]  # uneven chains: compaction happens
    lanes = _lanes(systems, batch=3)
    drive(lanes, FlexiblePCG(SpectralPreconditioner), check_every)
    for i, system in enumerate(systems):
        x = lanes.results[i].x.numpy().ravel()
        assert system.relative_residual(x) <= 1e-8
        assert lanes.results[i].residual == pytest.approx(system.relative_residual(x), rel=1e-6)


def test_the_direct_solve_hands_over_when_its_preconditioner_is_not_exact():
    poisson = [pdes.get("poisson", grid=(8, 8)).sample(i, 0) for i in range(2)]
    darcy = [pdes.get("darcy", grid=(8, 8)).sample(i, 0) for i in range(2)]
    lanes = _lanes(poisson + darcy, batch=1)  # one chain: exact systems, then variable ones
    method = Direct(SpectralPreconditioner)
    drive(lanes, method)
    assert method.stopped and sorted(lanes.results) == [0, 1]
    drive(lanes, FlexiblePCG(SpectralPreconditioner))
    assert sorted(lanes.results) == [0, 1, 2, 3]
    assert all(r.residual <= 1e-8 for r in lanes.results.values())
