"""SOR-family solvers on lanes with a fixed omega or one chosen per system by a bandit."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdes import LinearSystem, Stencil

from .._base import Solver, SolverError, SolveResult
from ..batched import (
    DIVERGED,
    BatchedSolver,
    LaneMethod,
    Lanes,
    StencilOperator,
    drive,
    lane_norm,
    pcg_lanes,
)
from ._bandits import DEFAULT_ARMS, ChebCB, GPThompson, Pull, TsallisINF, load_bandit
from ._kernels import check_omega, colours, sor_sweep, sor_sweep_csr, ssor_apply

__all__ = ["SOR", "SSORPCG", "SORBandit", "SORBanditContextual", "SORBanditSmooth",
           "SSORPCGBandit", "SSORPCGBanditContextual", "SSORPCGBanditSmooth",
           "dominance_decades", "golden_section", "optimal_omega", "young_omega"]

DOMINANCE_CAP = 12.0  # dominance_decades of a system without reaction (pure diffusion)
RULES = ("optimal", "param")  # omega per system: the instance's optimum, or its params["omega"]
_LIVE: dict[str, Any] = {}  # state file -> the bandit learning from it in this process
_LIVE_LOCK = threading.Lock()


def young_omega(stencil: Stencil) -> float:
    """Young's optimal omega 2 / (1 + sqrt(1 - rho_J^2)) for a constant-coefficient stencil.

    rho_J, the Jacobi spectral radius, is exact from the sine eigenvalues of each axis;
    red-black ordering is consistently ordered, so the formula is the optimum for it.
    """
    if not stencil.is_constant(rtol=1e-12):
        raise SolverError("Young's omega needs constant coefficients (rho_J is known there)")
    grid = stencil.grid
    faces = [float(np.mean(f)) for f in stencil.faces]
    reaction = float(np.mean(stencil.reaction))
    diagonal = reaction + 2 * sum(faces)
    low = reaction + sum(4 * f * math.sin(0.5 * math.pi / (n + 1)) ** 2
                         for f, n in zip(faces, grid, strict=True))
    rho = 1.0 - low / diagonal
    return 2.0 / (1.0 + math.sqrt(max(0.0, 1.0 - rho**2)))


def golden_section(cost: Callable[[float], float], low: float, high: float,
                   width: float = 1e-3) -> float:
    """The minimiser of a unimodal ``cost`` on [low, high] to ``width`` (golden-section);
    the best point evaluated, as an integer cost (sweeps) has plateaus near its minimum."""
    seen: dict[float, float] = {}

    def f(x: float) -> float:
        seen[x] = cost(x)
        return seen[x]

    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    while b - a > width:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return min(seen, key=lambda x: (seen[x], x))


def optimal_omega(system: LinearSystem, tol: float = 1e-8, max_iterations: int = 20000
                  ) -> float:
    """The instance-optimal omega: Young's formula where rho_J is known (constant
    coefficients), else golden-section search on the sweeps SOR takes (about 16 solves)."""
    if system.stencil is not None and system.stencil.is_constant(rtol=1e-12):
        return young_omega(system.stencil)

    def sweeps(omega: float) -> float:
        solver = SOR(tol=tol, max_iterations=max_iterations, device="cpu", batch=1,
                     omega=omega, warm_start=False)
        return solver.solve(system).iterations

    return golden_section(sweeps, 1.0, 1.99)


class _Omegas:
    """The omega of each lane's current system, as a (B,) tensor, kept up to date."""

    def __init__(self, lanes: Lanes, omega_of: dict[int, float]):
        self.lanes, self.omega_of = lanes, omega_of
        self.tensor = torch.tensor([self._lane(j) for j in range(lanes.batch)],
                                   dtype=torch.float64, device=lanes.b.device)

    def _lane(self, lane: int) -> float:
        chain, position = self.lanes.chains[lane], self.lanes.position[lane]
        return self.omega_of[chain[position]] if position < len(chain) else 1.0

    def update(self, lanes: torch.Tensor) -> None:
        for lane in lanes.tolist():
            self.tensor[lane] = self._lane(lane)


class SSORPreconditioner:
    """M_SSOR^-1 per lane (red-black forward + backward sweep), each lane with its omega."""

    def __init__(self, op: StencilOperator, omegas: _Omegas):
        self.op, self.omegas = op, omegas
        self.masks = colours(op.grid, op.device)

    def update(self, lanes: torch.Tensor) -> None:
        self.omegas.update(lanes)

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return ssor_apply(self.op, r, self.omegas.tensor, self.masks)


def dominance_decades(system: LinearSystem) -> float:
    """log10 of the mean diagonal over the mean reaction (the zeroth-order part), capped at
    ``DOMINANCE_CAP``: 0 for a system that is its reaction alone (Jacobi solves it at once),
    growing as diffusion takes over (SOR's best omega moves towards 2). The reaction is the
    stencil's, or A 1 clipped at zero for a bare matrix."""
    if system.stencil is not None:
        diagonal = system.stencil.diagonal()
        reaction = np.broadcast_to(system.stencil.reaction, diagonal.shape)
    else:
        diagonal = system.matrix.diagonal()
        reaction = np.clip(system.matrix @ np.ones(system.size), 0.0, None)
    mean = float(np.mean(diagonal))
    floor = mean * 10.0**-DOMINANCE_CAP
    return float(np.log10(mean / max(float(np.mean(reaction)), floor)))


def _parameter(solver: str, system: LinearSystem, name: str) -> float:
    """The systems' parameter ``name``, the context of a contextual bandit."""
    if name not in system.params:
        raise SolverError(f"{solver}: the systems have no parameter {name!r} "
                          f"(they have {', '.join(system.params) or 'none'})")
    return float(system.params[name])


class _Relaxation(BatchedSolver):
    """Lanes with an omega per system: fixed (``omega``) or from ``_bandit()``.

    ``info["omega"]`` of every result is the omega its system was solved with. With a
    bandit, ``state=PATH`` loads the bandit before the sequence (when the file exists)
    and saves it after, atomically, so a scheduled flow keeps learning across runs.
    """

    method_name = "sor"
    param_names = ("omega",)

    def __init__(self, tol: float = 1e-8, max_iterations: int = 20000, device: str = "auto",
                 batch: int = 0, omega: float | str = 1.5, check_every: int = 0,
                 warm_start: bool = True):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device, batch=batch,
                         preconditioner="none", check_every=check_every,
                         warm_start=warm_start)
        self.omega = omega if omega in RULES else check_omega(omega)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "omega": self.omega}

    def _bandit(self):
        return None

    def solve_samples(self, family, indices, seed):
        """Host sampling (the bandit's context comes from each system's parameters)."""
        return Solver.solve_samples(self, family, indices, seed)

    def _run(self, systems: Sequence[LinearSystem], x0: np.ndarray | None) -> list[SolveResult]:
        bandit = self._bandit()
        omega_of: dict[int, float] = {}
        pulls: dict[int, Pull] = {}

        def on_load(items: list[int]) -> None:
            for item in items:
                if bandit is None:
                    omega_of[item] = self._fixed_omega(systems[item])
                    continue
                pulls[item] = bandit.choose(self._context(systems[item]))
                omega_of[item] = bandit.arms[pulls[item].arm]

        def on_result(item: int, result) -> None:
            if bandit is not None:
                bandit.update(pulls.pop(item), result.iterations)

        self.omega_of_ = omega_of
        if any(s.stencil is None for s in systems):  # arbitrary matrices: lexicographic CSR
            if self.method_name != "sor":
                raise SolverError(f"{self.name} needs systems with a stencil (pdes families)")
            results = []
            for item, system in enumerate(systems):
                on_load([item])
                results.append(self._sor_csr(system, omega_of[item]))
                on_result(item, results[-1])
        else:
            results = self._run_with(systems, x0, on_load=on_load, on_result=on_result)
        for item, result in enumerate(results):
            result.info.update(omega=omega_of[item], method=self.method_name)
        if bandit is not None and self.state:
            bandit.save(self.state)
        return results

    def _fixed_omega(self, system: LinearSystem) -> float:
        if self.omega == "optimal":
            return optimal_omega(system, self.tol, self.max_iterations)
        if self.omega == "param":
            if "omega" not in system.params:
                raise SolverError(f"{self.name} -s omega=param: the systems carry no omega")
            return check_omega(system.params["omega"])
        return self.omega

    def _sor_csr(self, system: LinearSystem, omega: float) -> SolveResult:
        """Lexicographic SOR sweeps on the CSR matrix until the TRUE residual meets tol."""
        u, b = np.zeros(system.size), system.rhs
        target = self.tol * (np.linalg.norm(b) or 1.0)
        sweeps = 0
        while sweeps < self.max_iterations:
            u = sor_sweep_csr(system.matrix, u, b, omega)
            sweeps += 1
            norm = np.linalg.norm(b - system.matrix @ u)
            if norm <= target or not np.isfinite(norm) or norm > DIVERGED * target / self.tol:
                break
        return SolveResult(u, sweeps, system.relative_residual(u), 0.0, False,
                           {"device": "cpu"})

    def _context(self, system: LinearSystem) -> float | None:
        return None

    def _iterate(self, lanes: Lanes, method: str, check: int) -> str:
        if self.method_name == "ssor-pcg":
            pcg_lanes(lanes, lambda op: SSORPreconditioner(op, _Omegas(lanes, self.omega_of_)),
                      check)
        else:
            drive(lanes, RedBlackSOR(_Omegas(lanes, self.omega_of_)))
        return self.method_name


class RedBlackSOR(LaneMethod):
    """Red-black SOR sweeps, each lane with its own omega; the sweeps carry the residual.

    A lane whose carried residual meets the tolerance is checked on its TRUE residual by
    the driver; refilled or lagging lanes restart from it.
    """

    def __init__(self, omegas: _Omegas):
        self.omegas = omegas

    def start(self, lanes: Lanes) -> None:
        self.masks = colours(lanes.op.grid, lanes.b.device)
        self.r = lanes.residual()

    def step(self, lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, int]:
        lanes.x, self.r = sor_sweep(lanes.op, lanes.x, self.r, self.omegas.tensor, self.masks)
        return lane_norm(self.r), 1

    def settled(self, lanes: Lanes, refilled: torch.Tensor, lagging: torch.Tensor) -> None:
        self.omegas.update(refilled)

    def compact(self, lanes: Lanes, index: torch.Tensor) -> None:
        self.r = self.r[index]
        self.omegas = _Omegas(lanes, self.omegas.omega_of)

    def restart(self, lanes: Lanes, restart: torch.Tensor) -> None:
        self.r[restart] = lanes.residual(restart)


class SOR(_Relaxation):
    """Red-black SOR with a fixed ``omega`` (1: Gauss-Seidel), or a rule per system:
    ``omega="optimal"`` (the instance optimum: Young's formula, else golden-section search)
    or ``omega="param"`` (each system's ``params["omega"]``, e.g. replaying a dataset)."""

    name = "sor"


class SSORPCG(_Relaxation):
    """CG preconditioned by red-black SSOR with a fixed ``omega``."""

    name = "ssor-pcg"
    method_name = "ssor-pcg"


class _Bandit(_Relaxation):
    def __init__(self, tol: float = 1e-8, max_iterations: int = 20000, device: str = "auto",
                 batch: int = 0, arms: Sequence[float] = DEFAULT_ARMS, seed: int = 0,
                 state: str = "", check_every: int = 0, warm_start: bool = True):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device, batch=batch,
                         check_every=check_every, warm_start=warm_start)
        self.arms = tuple(check_omega(a) for a in arms)
        self.seed = int(seed)
        self.state = str(state)

    def options(self) -> dict[str, Any]:
        options = {**super().options(), "arms": list(self.arms), "seed": self.seed,
                   "state": self.state}
        options.pop("omega")
        return options

    def _bandit(self):
        """The live bandit: one per state file in this process (the flow's blocks share it,
        each makes its own solver), loaded from the file the first time; else our own."""
        if not hasattr(self, "bandit_"):
            if not self.state:
                self.bandit_ = self._new_bandit()
            else:
                key = str(Path(self.state).resolve())
                with _LIVE_LOCK:
                    if key not in _LIVE:
                        _LIVE[key] = (load_bandit(key) if Path(key).is_file()
                                      else self._new_bandit())
                    self.bandit_ = _LIVE[key]
        return self.bandit_

    def _new_bandit(self):
        return TsallisINF(self.arms, self.seed)


class SORBandit(_Bandit):
    """SOR with omega chosen per system by Tsallis-INF over ``arms``."""

    name = "sor-bandit"


class SSORPCGBandit(_Bandit):
    """SSOR-preconditioned CG with omega chosen per system by Tsallis-INF."""

    name = "ssor-pcg-bandit"
    method_name = "ssor-pcg"


class SORBanditContextual(_Bandit):
    """SOR with omega from ChebCB on the scalar parameter ``context`` in [low, high]."""

    name = "sor-bandit-contextual"

    def __init__(self, context: str = "kappa", low: float = 0.0, high: float = 10.0,
                 degree: int = 4, **options):
        super().__init__(**options)
        if not high > low:
            raise SolverError(f"context range needs high > low, got [{low}, {high}]")
        self.context, self.low, self.high, self.degree = str(context), low, high, int(degree)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "context": self.context, "low": self.low,
                "high": self.high, "degree": self.degree}

    def _new_bandit(self):
        return ChebCB(self.arms, self.seed, self.low, self.high, self.degree)

    def _context(self, system: LinearSystem) -> float:
        return _parameter(self.name, system, self.context)


class SORBanditSmooth(_Bandit):
    """SOR with omega from Thompson sampling on a Gaussian process of the iterations
    against omega and a context (``GPThompson``): evidence about one omega informs its
    neighbours, and evidence in one context its neighbouring contexts.

    ``context``: ``"auto"`` (default) the decades by which each system's diagonal exceeds
    its reaction (``dominance_decades``: what decides how far SOR must over-relax, read off
    the system itself); ``"none"`` the context-free model; any other string a parameter of
    the systems (``params[context]``, e.g. ``kappa``). ``context_length`` is the kernel's
    length in the context's units. First pass on the sor-sequence chains (docs/solvers.md):
    0.64x the best fixed omega's iterations with ``auto``, 1.11x / 1.36x with ``none``.
    """

    name = "sor-bandit-smooth"

    def __init__(self, length: float = 0.3, context: str = "auto",
                 context_length: float = 1.0, **options):
        super().__init__(**options)
        if not length > 0 or not context_length > 0:
            raise SolverError(f"kernel lengths must be positive, got {length}, "
                              f"{context_length}")
        self.length, self.context = float(length), str(context)
        self.context_length = float(context_length)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "length": self.length, "context": self.context,
                "context_length": self.context_length}

    def _new_bandit(self):
        return GPThompson(self.arms, self.seed, self.length,
                          context_length=self.context_length)

    def _context(self, system: LinearSystem) -> float | None:
        if self.context == "none":
            return None
        if self.context == "auto":
            return dominance_decades(system)
        return _parameter(self.name, system, self.context)


class SSORPCGBanditSmooth(SORBanditSmooth):
    """SSOR-preconditioned CG with omega from ``GPThompson``."""

    name = "ssor-pcg-bandit-smooth"
    method_name = "ssor-pcg"


class SSORPCGBanditContextual(SORBanditContextual):
    """SSOR-preconditioned CG with omega from ChebCB on the parameter ``context``."""

    name = "ssor-pcg-bandit-contextual"
    method_name = "ssor-pcg"
