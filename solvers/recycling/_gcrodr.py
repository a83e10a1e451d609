"""GCRO-DR(m, k), Parks, de Sturler, Mackey, Johnson, Maiti (SIAM J. Sci. Comput. 2006)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import torch

from ._precond import Preconditioner

__all__ = ["gcrodr"]

Operator = Callable[[torch.Tensor], torch.Tensor]


def gcrodr(
    A: Operator,
    b: torch.Tensor,
    x: torch.Tensor,
    M: Preconditioner,
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
    """
    kk = 0 if C is None else C.shape[1]
    n = r.shape[0]
    V = torch.empty((n, steps + 1), dtype=r.dtype, device=r.device)
    G = np.zeros((kk + steps + 1, kk + steps))
    g = np.zeros(kk + steps + 1)
    beta = float(torch.linalg.norm(r))
    V[:, 0] = r / beta
    if C is not None:
        G[np.arange(kk), np.arange(kk)] = D
        g[:kk] = (C.T @ r).cpu().numpy()
    g[kk] = beta
    # Givens state on the rotated copy; the first kk columns are already triangular
    R = G.copy()
    gr = g.copy()
    cs, sn = np.zeros(steps), np.zeros(steps)
    j = 0
    for j in range(1, steps + 1):
        w = op(V[:, j - 1])
        h = torch.zeros(j + 1, dtype=r.dtype, device=r.device)
        bc = None
        for _ in range(2):  # CGS2: classical Gram-Schmidt, twice
            if C is not None:
                c = C.T @ w
                w = w - C @ c
                bc = c if bc is None else bc + c
            hv = V[:, :j].T @ w
            w = w - V[:, :j] @ hv
            h[:j] += hv
        h[j] = torch.linalg.norm(w)
        col = kk + j - 1
        hn = h.cpu().numpy()
        if bc is not None:
            G[:kk, col] = bc.cpu().numpy()
        G[kk : kk + j + 1, col] = hn
        R[:, col] = G[:, col]
        for i in range(j - 1):  # previous rotations, acting on rows kk+i, kk+i+1
            a, bb = R[kk + i, col], R[kk + i + 1, col]
            R[kk + i, col], R[kk + i + 1, col] = cs[i] * a + sn[i] * bb, -sn[i] * a + cs[i] * bb
        a, bb = R[col, col], R[col + 1, col]
        rho = np.hypot(a, bb)
        cs[j - 1], sn[j - 1] = (a / rho, bb / rho) if rho > 0 else (1.0, 0.0)
        R[col, col], R[col + 1, col] = rho, 0.0
        gr[col], gr[col + 1] = cs[j - 1] * gr[col], -sn[j - 1] * gr[col]
        V[:, j] = w / h[j] if hn[j] > 0 else 0.0
        if hn[j] <= 1e-14 * beta or abs(gr[col + 1]) <= target:
            break
    return V, G, g, j


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
