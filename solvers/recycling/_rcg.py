"""Deflated (recycled) preconditioned CG for SPD systems, Saad-Yeung-Erhel-Guyomarc'h 2000."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import torch

from ._precond import MatrixPreconditioner

__all__ = ["deflated_cg"]

Operator = Callable[[torch.Tensor], torch.Tensor]


def deflated_cg(
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
    """Solve A x = b by PCG kept A-orthogonal to span(U); return (x, iterations, new U).

    The new U holds the k Ritz vectors of M A with the smallest Ritz values, computed
    by Rayleigh-Ritz on [U, first m search directions] (pencil W'AW, W'M^-1 W, all
    products recorded during the iteration, no extra solves), to deflate the next system.
    """
    nb = float(torch.linalg.norm(b)) or 1.0
    target = tol * nb
    r = b - A(x)
    if U is not None:
        AU = A(U)
        E = U.T @ AU
        try:
            L = torch.linalg.cholesky(0.5 * (E + E.T))
        except RuntimeError:
            U = None
    if U is not None:

        def mu(v: torch.Tensor) -> torch.Tensor:
            return torch.cholesky_solve((AU.T @ v)[:, None], L)[:, 0]

        x = x + U @ torch.cholesky_solve((U.T @ r)[:, None], L)[:, 0]
        r = b - A(x)
        BU = M.inverse(U) if k else None
    P: list[torch.Tensor] = []
    AP: list[torch.Tensor] = []
    BP: list[torch.Tensor] = []
    iterations = 0
    storing = k > 0
    while float(torch.linalg.norm(r)) > target and iterations < max_iterations:
        # (re)start: directions from the current (true) residual
        z = M.apply(r)
        rz = float(r @ z)
        p, Bp = z, r
        if U is not None:
            c = mu(z)
            p = z - U @ c
            Bp = r - BU @ c if storing else r
        while iterations < max_iterations:
            q = A(p)
            alpha = rz / float(p @ q)
            x = x + alpha * p
            r_next = r - alpha * q
            iterations += 1
            if storing and len(P) < m:
                P.append(p)
                AP.append(q)
                BP.append(Bp)
            if float(torch.linalg.norm(r_next)) <= target:
                r = b - A(x)  # confirm with the true residual; restart if it lags
                storing = False
                break
            r = r_next
            z = M.apply(r)
            rz_next = float(r @ z)
            beta = rz_next / rz
            rz = rz_next
            p = z + beta * p
            if storing:
                Bp = r + beta * Bp
            if U is not None:
                c = mu(z)
                p = p - U @ c
                if storing:
                    Bp = Bp - BU @ c
    if k == 0 or not P:
        return x, iterations, U
    W, AW, BW = [torch.stack(v, dim=1) for v in (P, AP, BP)]
    if U is not None:
        W, AW, BW = torch.cat([U, W], 1), torch.cat([AU, AW], 1), torch.cat([BU, BW], 1)
    return x, iterations, _ritz(W, AW, BW, k)


def _ritz(W: torch.Tensor, AW: torch.Tensor, BW: torch.Tensor, k: int) -> torch.Tensor | None:
    """k vectors of span(W) with the smallest Ritz values of the pencil (W'AW, W'BW)."""
    G = (W.T @ AW).cpu().numpy()
    F = (W.T @ BW).cpu().numpy()
    d = 1.0 / np.sqrt(np.abs(np.diag(G)))
    G = 0.5 * (G + G.T) * np.outer(d, d)
    F = 0.5 * (F + F.T) * np.outer(d, d)
    try:
        # F y = mu G y with G ~ I (A-conjugate columns): largest mu = smallest Ritz value
        _, Y = sla.eigh(F, G, subset_by_index=[max(len(d) - k, 0), len(d) - 1])
    except (np.linalg.LinAlgError, ValueError):
        return None
    Y = torch.from_numpy(np.ascontiguousarray(Y * d[:, None])).to(W.device)
    return W @ Y
