"""GCRO-DR(m, k), Parks, de Sturler, Mackey, Johnson, Maiti (SIAM J. Sci. Comput. 2006)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import torch

from ._precond import MatrixPreconditioner

__all__ = ["gcrodr"]

Operator = Callable[[torch.Tensor], torch.Tensor]


def gcrodr(
    A: Operator,
    b: torch.Tensor,
    x: torch.Tensor,
    M: MatrixPreconditioner,
    U: torch.Tensor | None,
    tol: float,
    max_iterations: int,
    m: int,
    k: int,
) -> tuple[torch.Tensor, int, torch.Tensor | None]:
    """Right-preconditioned GCRO-DR on A x = b; return (x, iterations, recycled U).

    ``U`` (n, k) spans the recycled space of an earlier system in the preconditioned
    variable; C = orth(A M U) is rebuilt for this matrix. Every cycle runs m - k Arnoldi
    steps on (I - C C') A M and refreshes U with the k harmonic Ritz vectors of smallest
    magnitude. Each cycle ends with the TRUE residual b - A x, which decides convergence.
    With k = 0 (or U = None on the first cycle) a cycle is a GMRES(m) cycle.
    """
    nb = float(torch.linalg.norm(b)) or 1.0
    target = tol * nb

    def op(v: torch.Tensor) -> torch.Tensor:
        return A(M.apply(v))

    r = b - A(x)
    C = None
    if U is not None:
        C, U = _adapt(op(U), U)
        if C is not None:
            c = C.T @ r
            x = x + M.apply(U @ c)
            r = b - A(x)
    iterations = 0
    while float(torch.linalg.norm(r)) > target and iterations < max_iterations:
        kk = 0 if C is None else C.shape[1]
        steps = min(m - kk, max_iterations - iterations)
        Uh = None
        if C is not None:
            D = 1.0 / torch.linalg.norm(U, dim=0)
            Uh = U * D
        V, G, g, j = _cycle(op, r, C, None if C is None else D.cpu().numpy(), steps, target)
        iterations += j
        y = np.linalg.lstsq(G[: kk + j + 1, : kk + j], g[: kk + j + 1], rcond=None)[0]
        yt = torch.from_numpy(y).to(b.device)
        dy = V[:, :j] @ yt[kk:]
        if Uh is not None:
            dy = dy + Uh @ yt[:kk]
        x = x + M.apply(dy)
        r = b - A(x)
        if k > 0 and kk + j >= k:
            C, U = _harvest(G[: kk + j + 1, : kk + j], V[:, : j + 1], C, Uh, k) or (C, U)
    return x, iterations, U if k > 0 else None


def _adapt(AU: torch.Tensor, U: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """C = Q and U <- U R^-1 from AU = QR, so that A M U = C with C'C = I."""
    Q, R = torch.linalg.qr(AU)
    dr = torch.abs(torch.diagonal(R))
    if float(dr.min()) <= 1e-12 * float(dr.max()):
        return None, None
    return Q, torch.linalg.solve_triangular(R, U, upper=True, left=False)


def _cycle(
    op: Operator,
    r: torch.Tensor,
    C: torch.Tensor | None,
    D: np.ndarray | None,
    steps: int,
    target: float,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, int]:
    """Arnoldi on (I - CC')op from r with CGS2; G = [[D, B], [0, H]] built with Givens.

    Returns the basis V (n, steps + 1), G and the right-hand side [C'r; |r| e1] (both
    unrotated, host arrays) and the number j of steps taken (early exit when the
    least-squares residual estimate reaches ``target``).

    The basis is stored row-wise (one contiguous row per vector, so the Gram-Schmidt
    products are plain GEMVs) and each step syncs with the host once; the Givens
    rotations act on Python floats. The loop's own cost is ~0.1 ms a step at n = 1e4.
    """
    kk = 0 if C is None else C.shape[1]
    n = r.shape[0]
    Vr = torch.empty((steps + 1, n), dtype=r.dtype, device=r.device)
    G = np.zeros((kk + steps + 1, kk + steps))
    g = np.zeros(kk + steps + 1)
    beta = float(torch.linalg.norm(r))
    torch.div(r, beta, out=Vr[0])
    if C is not None:
        G[np.arange(kk), np.arange(kk)] = D
        g[:kk] = (C.T @ r).cpu().numpy()
    g[kk] = beta
    CT = None if C is None else C.T.contiguous()
    cs: list[float] = []
    sn: list[float] = []
    gk = beta  # rotated right-hand side entry at the current row
    j = 0
    for j in range(1, steps + 1):
        w = op(Vr[j - 1])
        Vj = Vr[:j]
        if CT is not None:
            bc = CT @ w
            w = w - C @ bc
            c2 = CT @ w
            w = w - C @ c2
            bc = bc + c2
        h = Vj @ w
        w = w - h @ Vj
        h2 = Vj @ w
        w = w - h2 @ Vj
        h = h + h2
        hn = torch.linalg.norm(w)
        col = kk + j - 1
        values = torch.cat([h, hn[None]]) if CT is None else torch.cat([bc, h, hn[None]])
        column = values.tolist()
        G[: kk + j + 1, col] = column
        hj = column[-1]
        # rotate the new column of H (rows kk .. kk + j) by the previous rotations
        R = column[kk:]
        for i in range(j - 1):
            a, bb = R[i], R[i + 1]
            R[i], R[i + 1] = cs[i] * a + sn[i] * bb, -sn[i] * a + cs[i] * bb
        a, bb = R[j - 1], R[j]
        rho = float(np.hypot(a, bb))
        c_, s_ = (a / rho, bb / rho) if rho > 0 else (1.0, 0.0)
        cs.append(c_)
        sn.append(s_)
        residual = -s_ * gk
        gk = c_ * gk
        if hj > 0:
            torch.div(w, hj, out=Vr[j])
        else:
            Vr[j].zero_()
        if hj <= 1e-14 * beta or abs(residual) <= target:
            break
        gk = residual
    return Vr.T, G, g, j


def _harvest(
    G: np.ndarray,
    V: torch.Tensor,
    C: torch.Tensor | None,
    Uh: torch.Tensor | None,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """New (C, U) from the k harmonic Ritz vectors of smallest magnitude of this cycle."""
    kk = 0 if C is None else C.shape[1]
    j = G.shape[1] - kk
    What = V if C is None else torch.cat([C, V], 1)
    Vhat = V[:, :j] if Uh is None else torch.cat([Uh, V[:, :j]], 1)
    WV = np.zeros((kk + j + 1, kk + j))
    WV[kk:, kk:] = np.eye(j + 1, j)
    if C is not None:
        WV[:kk, :kk] = (C.T @ Uh).cpu().numpy()
        WV[kk:, :kk] = (V.T @ Uh).cpu().numpy()
    try:
        theta, Z = sla.eig(G.T @ G, G.T @ WV)
    except (np.linalg.LinAlgError, ValueError):
        return None
    finite = np.isfinite(theta)
    order = np.argsort(np.abs(theta[finite]))[:k]
    Zk = Z[:, finite][:, order]
    P = np.concatenate([Zk.real, Zk.imag[:, np.abs(Zk.imag).max(axis=0) > 0]], axis=1)
    P = np.linalg.qr(P)[0][:, :k]
    Q, R = np.linalg.qr(G @ P)
    dr = np.abs(np.diag(R))
    if P.shape[1] < k or dr.min() <= 1e-12 * dr.max():
        return None
    C_new = What @ torch.from_numpy(Q).to(V.device)
    U_new = Vhat @ torch.from_numpy(sla.solve_triangular(R, P.T, trans="T", lower=False).T).to(
        V.device
    )
    return C_new, U_new
