"""Batched Krylov methods on lanes: PCG (SPD) and restarted GMRES (indefinite, nonsymmetric).

Every lane has its own scalars; convergence is tested every ``check_every`` iterations (one
host sync) on the recursive residual and confirmed on the TRUE residual by ``Lanes.settle``,
which refills a done lane with the next system of its chain.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._lanes import Lanes
from ._operators import StencilOperator, lane_dot, lane_norm

__all__ = ["Preconditioner", "direct_lanes", "gmres_lanes", "pcg_lanes"]

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


def direct_lanes(lanes: Lanes, preconditioner: Preconditioner) -> bool:
    """x = M^-1 b on every lane while M is exact (constant coefficients: one DST pair each).

    Returns False (nothing solved) unless the preconditioner is exact on the first batch;
    a system it misses on the TRUE residual is left to the caller's Krylov method.
    """
    M = preconditioner(lanes.op)
    if not bool(getattr(M, "exact", torch.zeros(1, dtype=torch.bool)).all()):
        return False
    active = ~lanes.finished()
    while bool(active.any()):
        lanes.x = M(lanes.b)
        lanes.iterations += active.long()
        refilled, lagging = lanes.settle(active)
        if lagging.numel() or (refilled.numel() and not bool(_updated(M, refilled))):
            return True
        active = ~lanes.finished()
        if bool(active.any()) and int(active.sum()) <= lanes.batch // 2:
            (active,) = lanes.compact(active, active)
            M = preconditioner(lanes.op)
    return True


def _updated(M, lanes: torch.Tensor) -> torch.Tensor:
    """Refresh M on refilled lanes; whether it is still exact there."""
    M.update(lanes)
    return M.exact[lanes].all()


def pcg_lanes(lanes: Lanes, preconditioner: Preconditioner, check_every: int = 1) -> None:
    """Flexible preconditioned CG on every lane until every chain is done (results in
    ``lanes``)."""
    M = preconditioner(lanes.op)
    r = lanes.residual()
    z = M(r)
    p = z.clone()
    rz = lane_dot(r, z)
    active = ~lanes.finished()
    step = 0
    while bool(active.any()):
        q = lanes.op(p)
        alpha = torch.where(active, rz / lane_dot(p, q), torch.zeros_like(rz))
        shape = (-1,) + (1,) * lanes.op.ndim
        lanes.x.add_(alpha.reshape(shape) * p)
        r.sub_(alpha.reshape(shape) * q)
        lanes.iterations += active.long()
        step += 1
        if step % check_every == 0 or bool((lanes.iterations >= lanes.max_iterations).any()):
            near = active & ((lane_norm(r) <= lanes.target)
                             | (lanes.iterations >= lanes.max_iterations))
            if bool(near.any()):
                refilled, lagging = lanes.settle(near)
                active = ~lanes.finished()
                if refilled.numel():
                    M.update(refilled)
                restart = torch.cat([refilled, lagging])
                if bool(active.any()) and int(active.sum()) <= lanes.batch // 2:
                    r, z, p, rz, active = lanes.compact(active, r, z, p, rz, active)
                    M = preconditioner(lanes.op)
                    restart = torch.arange(lanes.batch, device=r.device)
                if restart.numel():  # restarted lanes take p = z (beta = 0)
                    r[restart] = lanes.residual(restart)
                    fresh = torch.zeros_like(active)
                    fresh[restart] = True
                    z_old, z = z, M(r)
                    rz_new = lane_dot(r, z)
                    beta = torch.where(fresh | ~active, torch.zeros_like(rz),
                                       (rz_new - lane_dot(r, z_old)) / rz)
                    p = z + beta.reshape(shape) * p
                    rz = rz_new
                    continue
        z_old, z = z, M(r)
        rz_new = lane_dot(r, z)
        # flexible (Polak-Ribiere) beta: equal to Fletcher-Reeves in exact arithmetic, and
        # robust to a preconditioner applied in float32
        beta = torch.where(active, (rz_new - lane_dot(r, z_old)) / rz, torch.zeros_like(rz))
        p = z + beta.reshape(shape) * p
        rz = rz_new


def gmres_lanes(lanes: Lanes, preconditioner: Preconditioner, m: int = 30,
                check_every: int = 1) -> None:
    """Right-preconditioned restarted GMRES(m), lock-step over lanes, per-lane least squares.

    A cycle ends when every active lane's residual estimate meets its target (or after m
    steps); then the true residuals decide, done lanes refill, the others restart.
    """
    M = preconditioner(lanes.op)
    while True:
        active = ~lanes.finished()
        if not bool(active.any()):
            return
        if int(active.sum()) <= lanes.batch // 2:
            (active,) = lanes.compact(active, active)
            M = preconditioner(lanes.op)
        steps = _gmres_cycle(lanes, M, m, active, check_every)
        lanes.iterations += steps * active.long()
        near = active & ((lane_norm(lanes.residual()) <= lanes.target)
                         | (lanes.iterations >= lanes.max_iterations))
        refilled, _ = lanes.settle(near)
        if refilled.numel():
            M.update(refilled)


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
