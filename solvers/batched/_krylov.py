"""The Krylov lane methods: flexible PCG (SPD), restarted GMRES (indefinite, nonsymmetric)
and the direct solve while the preconditioner is exact, each one step of ``drive``.

Every lane has its own scalars; the driver tests convergence every ``check_every`` steps
(one host sync) and confirms it on the TRUE residual (``Lanes.settle``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._driver import LaneMethod, Monitor, drive
from ._lanes import Lanes
from ._operators import StencilOperator, lane_column, lane_dot, lane_norm

__all__ = ["Direct", "FlexiblePCG", "GMRES", "Preconditioner", "pcg_lanes", "safe_direction"]

# factory(op) -> object with __call__(r) -> M^-1 r and update(lanes) after op.load
Preconditioner = Callable[[StencilOperator], object]


def _apply(op: StencilOperator, v: torch.Tensor) -> torch.Tensor:
    """A v for real or complex v (the operator is real)."""
    if v.is_complex():
        return torch.complex(op(v.real), op(v.imag))
    return op(v)


def _dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-lane <u, v> = sum conj(u) v."""
    return lane_dot(u.conj(), v) if u.is_complex() else lane_dot(u, v)



def safe_direction(op: StencilOperator, q: torch.Tensor, r: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(q, A q, q^T A q); a lane whose q has no positive energy (a zero or NaN network output)
    falls back to the steepest-descent direction r."""
    aq = op(q)
    qaq = lane_dot(q, aq)
    bad = ~(qaq > 0)
    if bool(bad.any()):
        q = torch.where(lane_column(bad, q), r, q)
        aq = op(q)
        qaq = lane_dot(q, aq)
    return q, aq, torch.where(qaq > 0, qaq, torch.ones_like(qaq))


class FlexiblePCG(LaneMethod):
    """Flexible preconditioned CG (Golub & Ye's Polak-Ribiere beta), one lane per system.

    beta = z^T (r - r_old) / z_old^T r_old equals Fletcher-Reeves in exact arithmetic with a
    fixed SPD M, and stays robust to a variable one (a preconditioner in float32, a network).
    alpha = p^T r / p^T A p, the exact line search along p. ``true_residual``: r = b - A x
    every step (for preconditioners whose direction must see the true residual) instead of
    the recursive update; ``fallback``: a lane whose p has no positive energy (a zero or NaN
    network output) takes the steepest-descent direction r.
    """

    def __init__(self, preconditioner: Preconditioner, true_residual: bool = False,
                 fallback: bool = False):
        self.preconditioner = preconditioner
        self.true_residual = true_residual
        self.fallback = fallback

    def start(self, lanes: Lanes) -> None:
        self.M = self.preconditioner(lanes.op)
        self.r = lanes.residual()
        self.p = torch.zeros_like(self.r)
        self.r_old = torch.zeros_like(self.r)
        self.rz = torch.ones(lanes.batch, dtype=self.r.dtype, device=self.r.device)
        self.fresh = torch.ones(lanes.batch, dtype=torch.bool, device=self.r.device)

    def step(self, lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, int]:
        r = self.r
        z = self.M(r)
        rz = lane_dot(r, z)
        beta = (rz - lane_dot(z, self.r_old)) / self.rz
        beta = torch.where(self.fresh | ~active, torch.zeros_like(beta), beta)
        p = z + lane_column(beta, z) * self.p
        if self.fallback:
            p, q, pq = safe_direction(lanes.op, p, r)
        else:
            q = lanes.op(p)
            pq = lane_dot(p, q)
        alpha = torch.where(active, lane_dot(p, r) / pq, torch.zeros_like(pq))
        lanes.x.add_(lane_column(alpha, p) * p)
        self.r = lanes.residual() if self.true_residual else r - lane_column(alpha, q) * q
        self.p, self.r_old, self.rz = p, r, torch.where(rz != 0, rz, torch.ones_like(rz))
        self.fresh = torch.zeros_like(self.fresh)
        return lane_norm(self.r), 1

    def settled(self, lanes: Lanes, refilled: torch.Tensor, lagging: torch.Tensor) -> None:
        if refilled.numel():
            self.M.update(refilled)

    def compact(self, lanes: Lanes, index: torch.Tensor) -> None:
        self.r, self.p, self.r_old, self.rz = (t[index] for t in (self.r, self.p, self.r_old,
                                                                 self.rz))
        self.fresh = self.fresh[index]
        self.M = self.preconditioner(lanes.op)

    def restart(self, lanes: Lanes, restart: torch.Tensor) -> None:
        """Restarted lanes take p = z (beta = 0) from their true residual."""
        self.r[restart] = lanes.residual(restart)
        self.fresh[restart] = True


class Direct(LaneMethod):
    """x = M^-1 b on every lane while M is exact (constant coefficients: one DST pair each).

    Stops (handing the rest to a Krylov method) as soon as M is not exact on the first
    batch or on a refilled lane, or a system misses on the TRUE residual.
    """

    def __init__(self, preconditioner: Preconditioner):
        self.preconditioner = preconditioner

    def start(self, lanes: Lanes) -> None:
        self.M = self.preconditioner(lanes.op)
        self.stopped = not self._exact()

    def _exact(self, lanes: torch.Tensor | slice = slice(None)) -> bool:
        exact = getattr(self.M, "exact", None)
        return exact is not None and bool(exact[lanes].all())

    def step(self, lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, int]:
        lanes.x = self.M(lanes.b)
        return torch.zeros_like(lanes.target), 1  # every lane checked on its true residual

    def settled(self, lanes: Lanes, refilled: torch.Tensor, lagging: torch.Tensor) -> None:
        if refilled.numel():
            self.M.update(refilled)
        self.stopped = bool(lagging.numel()) or not self._exact(refilled)

    def compact(self, lanes: Lanes, index: torch.Tensor) -> None:
        self.M = self.preconditioner(lanes.op)


class GMRES(LaneMethod):
    """Right-preconditioned restarted GMRES(m), lock-step over lanes, per-lane least squares.

    One step is one cycle: it ends when every active lane's residual estimate meets its
    target (tested every ``check_every`` inner steps) or after m steps; the driver then
    checks the true residuals, refills done lanes and the others start a new cycle.
    """

    def __init__(self, preconditioner: Preconditioner, m: int = 30, check_every: int = 1):
        self.preconditioner, self.m, self.check_every = preconditioner, m, check_every

    def start(self, lanes: Lanes) -> None:
        self.M = self.preconditioner(lanes.op)

    def step(self, lanes: Lanes, active: torch.Tensor) -> tuple[torch.Tensor, int]:
        steps = _gmres_cycle(lanes, self.M, self.m, active, self.check_every)
        return lane_norm(lanes.residual()), steps

    def settled(self, lanes: Lanes, refilled: torch.Tensor, lagging: torch.Tensor) -> None:
        if refilled.numel():
            self.M.update(refilled)

    def compact(self, lanes: Lanes, index: torch.Tensor) -> None:
        self.M = self.preconditioner(lanes.op)


def pcg_lanes(lanes: Lanes, preconditioner: Preconditioner, check_every: int = 1,
              monitor: Monitor | None = None, **options) -> None:
    """Flexible PCG on every lane until every chain is done (results in ``lanes``)."""
    drive(lanes, FlexiblePCG(preconditioner, **options), check_every, monitor)


def _gmres_cycle(lanes: Lanes, M, m: int, active: torch.Tensor, check_every: int) -> int:
    """One GMRES(m) cycle on every lane; updates ``lanes.x``; returns the steps taken."""
    op, ndim = lanes.op, lanes.op.ndim
    shape = (-1,) + (1,) * ndim
    r = lanes.residual()
    beta = lane_norm(r)
    safe = torch.where(beta > 0, beta, torch.ones_like(beta))
    probe = M(r[:1])
    dtype = probe.dtype if probe.is_complex() else r.dtype
    V = [(r / safe.reshape(shape)).to(dtype)]
    Z: list[torch.Tensor] = []
    B = lanes.batch
    H = torch.zeros(B, m + 1, m, dtype=dtype, device=r.device)
    cs = torch.zeros(B, m, dtype=dtype, device=r.device)
    sn = torch.zeros(B, m, dtype=dtype, device=r.device)
    g = torch.zeros(B, m + 1, dtype=dtype, device=r.device)
    g[:, 0] = beta.to(dtype)
    steps = 0
    for j in range(m):
        Z.append(M(V[j]))
        w = _apply(op, Z[j])
        for i in range(j + 1):  # modified Gram-Schmidt
            H[:, i, j] = _dot(V[i], w)
            w = w - H[:, i, j].reshape(shape) * V[i]
        h = lane_norm(w)
        H[:, j + 1, j] = h.to(dtype)
        V.append(w / torch.where(h > 0, h, torch.ones_like(h)).reshape(shape))
        for i in range(j):  # earlier rotations on the new column
            a, b = H[:, i, j].clone(), H[:, i + 1, j].clone()
            H[:, i, j] = cs[:, i].conj() * a + sn[:, i].conj() * b
            H[:, i + 1, j] = -sn[:, i] * a + cs[:, i] * b
        a, b = H[:, j, j], H[:, j + 1, j]
        rho = torch.sqrt(a.abs() ** 2 + b.abs() ** 2)
        rho = torch.where(rho > 0, rho, torch.ones_like(rho))
        cs[:, j], sn[:, j] = (a / rho), (b / rho)
        H[:, j, j] = rho.to(dtype)
        H[:, j + 1, j] = 0
        g[:, j + 1] = -sn[:, j] * g[:, j]
        g[:, j] = cs[:, j].conj() * g[:, j]
        steps = j + 1
        if steps % check_every == 0 and bool(((g[:, j + 1].abs() <= lanes.target) | ~active)
                                             .all()):
            break
    R = H[:, :steps, :steps]
    diag = torch.diagonal(R, dim1=1, dim2=2)
    R = R + torch.diag_embed(torch.where(diag == 0, torch.ones_like(diag), torch.zeros_like(diag)))
    y = torch.linalg.solve_triangular(R, g[:, :steps, None], upper=True)[..., 0]
    update = sum(y[:, i].reshape(shape) * Z[i] for i in range(steps))
    update = update.real if update.is_complex() else update
    lanes.x.add_(torch.where(active.reshape(shape), update, torch.zeros_like(update)))
    return steps
