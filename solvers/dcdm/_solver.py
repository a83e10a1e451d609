"""The registered ``dcdm`` and ``fcg-dcdm`` solvers: a trained network on lanes."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from pdes import LinearSystem

from .._base import Solver, SolverError, SolveResult, solver_device
from .._threads import single_threaded
from ..batched import FlexiblePCG, Lanes, Monitor, default_batch, drive, host_loader, make_chains
from ._checkpoint import check_model, load_model, network_from
from ._iterations import ConjugateDirections
from ._network import DirectionNet, NetworkDirection

__all__ = ["DCDM", "FlexibleDCDM", "solve_on_lanes"]

METHODS = {"dcdm": "dcdm", "fcg-dcdm": "fcg"}


def solve_on_lanes(net: DirectionNet, systems: Sequence[LinearSystem], tol: float, *,
                   method: str = "dcdm", k: int = 2, max_iterations: int = 10000,
                   batch: int = 0, device: torch.device | str = "cpu",
                   monitor: Monitor | None = None) -> list[tuple[np.ndarray, int]]:
    """(x, iterations) of each system, solved B lanes at a time with the network ``net``
    (``monitor(lanes)`` after every step).

    No warm start: a neighbour's solution is nonzero on this system's solid cells, where
    the network's directions are zero, so it could never be corrected there.
    """
    device = torch.device(device)
    grid = systems[0].grid
    lanes_count = batch or default_batch(device, int(np.prod(grid)), len(systems))
    load = host_loader(systems, device)
    lanes = Lanes(make_chains(len(systems), lanes_count), load, tol, False, max_iterations)
    net = net.to(device)
    factory = lambda op: NetworkDirection(net, op)  # noqa: E731 - the factory protocol
    with single_threaded(device):
        iteration = (ConjugateDirections(factory, keep=k) if method == "dcdm" else
                     FlexiblePCG(factory, true_residual=True, fallback=True))
        drive(lanes, iteration, monitor=monitor)
    return [(lanes.results[i].x.numpy().reshape(-1), lanes.results[i].iterations)
            for i in range(len(systems))]


class DCDM(Solver):
    """Deep conjugate directions (Kaneda et al. 2023) with a model from ``pdeforge train-dcdm``.

    ``model``: the checkpoint (required); ``k``: directions kept for A-orthogonalisation;
    ``batch``: lanes at once (0: automatic). The model must come from the systems' family
    and spatial dimension.
    """

    name = "dcdm"

    def __init__(self, tol: float = 1e-8, max_iterations: int = 10000, device: str = "auto",
                 model: str | None = None, k: int = 2, batch: int = 0):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device)
        if model is None:
            raise SolverError(f"{self.name} needs a trained model: -s model=PATH "
                              "(make one with `pdeforge train-dcdm`)")
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise SolverError(f"k must be an int >= 0, got {k!r}")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 0:
            raise SolverError(f"batch must be an int >= 0 (0: automatic), got {batch!r}")
        solver_device(device)
        self.model, self.k, self.batch = str(model), k, batch

    def setup(self) -> DCDM:
        """Load the model (missing or unreadable: bad input) and build its network, once."""
        if not hasattr(self, "state_"):
            self.state_ = load_model(self.model)
            self.net_ = network_from(self.state_, solver_device(self.device))
        return self

    def options(self) -> dict[str, Any]:
        return {**super().options(), "model": self.model, "k": self.k, "batch": self.batch}

    def check_problem(self, family: str, grid: tuple[int, ...]) -> None:
        check_model(self.setup().state_, self.model, family=family, ndim=len(grid))

    def _solve(self, system: LinearSystem, x0: np.ndarray | None) -> tuple[np.ndarray, int, dict]:
        [(x, iterations)], info = self._run([system])
        return x, iterations, info

    def solve_sequence(self, systems: Iterable[LinearSystem]) -> Iterator[SolveResult]:
        """Every system of the sequence in lanes; results in input order, TRUE residuals."""
        systems = list(systems)
        if not systems:
            return
        start = time.perf_counter()
        solved, info = self._run(systems)
        seconds = (time.perf_counter() - start) / len(systems)
        for system, (x, iterations) in zip(systems, solved, strict=True):
            residual = system.relative_residual(x)
            yield SolveResult(x, iterations, residual, seconds,
                              bool(np.isfinite(residual) and residual <= self.tol), dict(info))

    def _run(self, systems: list[LinearSystem]) -> tuple[list[tuple[np.ndarray, int]], dict]:
        check_model(self.setup().state_, self.model, ndim=len(systems[0].grid),
                    fields=set(systems[0].fields))
        device = solver_device(self.device)
        solved = solve_on_lanes(self.net_, systems, self.tol, method=METHODS[self.name],
                                k=self.k, max_iterations=self.max_iterations, batch=self.batch,
                                device=device)
        return solved, {"device": str(device), "model": self.model, "k": self.k}


class FlexibleDCDM(DCDM):
    """The network as the variable preconditioner of flexible CG (Polak-Ribiere beta)."""

    name = "fcg-dcdm"
