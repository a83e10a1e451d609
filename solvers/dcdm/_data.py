"""DCDM training vectors: right-hand sides biased to the low end of each matrix's spectrum.

As in Kaneda et al. (2023), b = sum_i c_i v_i over eigen/Ritz vectors v_i with the low end
weighted up; here c_i = (lambda_i / lambda_top)^-s z_i, z white noise and s ~ U(0,
``MAX_SLOPE``) drawn per vector: from white (s = 0, what a residual looks like late in a
solve) to ~A^-1 z (s = 1, smooth). The paper's fixed 9x weight on the low half trained
networks whose directions stalled after a few steps: the high end, almost absent from the
loss, was lost. Knowing the eigenvalues also gives b^T A^-1 b exactly, which the energy
loss needs. Exact eigenvectors (dense ``eigh``) up to ``DENSE_LIMIT`` unknowns, Ritz vectors
of ``lanczos_steps`` Lanczos steps above. Optionally, residuals of real solves (CG) with
their energies join the set.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import torch

from pdes import LinearSystem

from ..batched import StencilOperator, stack_stencils

__all__ = ["DENSE_LIMIT", "MAX_SLOPE", "TrainingSet", "cg_residuals", "lanczos_ritz",
           "low_modes"]

DENSE_LIMIT = 6000  # coupled unknowns up to which a dense eigensolver is cheap enough
MAX_SLOPE = 1.0


def coupled_nodes(system: LinearSystem) -> np.ndarray:
    """Flat indices of the nodes with any face (a solid cell's identity row is not one)."""
    stencil = system.stencil
    return np.flatnonzero((stencil.diagonal() - stencil.reaction).ravel() > 0)


def low_modes(system: LinearSystem, count: int, lanczos_steps: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` lowest orthonormal eigen (or Ritz) vectors of the coupled block and
    their values: (count, n) float32 on the whole grid (zero on decoupled nodes), (count,)."""
    nodes = coupled_nodes(system)
    block = system.matrix[nodes][:, nodes]
    count = min(count, len(nodes))
    if len(nodes) <= DENSE_LIMIT:
        values, vectors = scipy.linalg.eigh(block.toarray(), subset_by_index=[0, count - 1])
        vectors = vectors.T
    else:
        values, vectors = lanczos_ritz(block, lanczos_steps, rng)
        values, vectors = values[:count], vectors[:count]
    out = np.zeros((len(values), system.size), dtype=np.float32)
    out[:, nodes] = vectors
    return out, values


def lanczos_ritz(matrix: sp.spmatrix, steps: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending) and vectors (rows) of ``steps`` Lanczos steps with full
    reorthogonalisation from a random start."""
    n = matrix.shape[0]
    steps = min(steps, n)
    basis = np.zeros((steps, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    v = rng.standard_normal(n)
    basis[0] = v / np.linalg.norm(v)
    for j in range(steps):
        w = matrix @ basis[j]
        alpha[j] = basis[j] @ w
        w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        if j + 1 == steps:
            break
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-12:
            steps = j + 1
            break
        basis[j + 1] = w / beta[j]
    values, ritz = scipy.linalg.eigh_tridiagonal(alpha[:steps], beta[: steps - 1])
    return values, ritz.T @ basis[:steps]


def cg_residuals(system: LinearSystem, tol: float, every: int) -> tuple[np.ndarray, np.ndarray]:
    """Residuals of a plain CG solve of ``system`` (every ``every``-th iteration while above
    ``tol``): what an iterative solver actually feeds its directions. Unit rows (m, n) float32
    and their energies r^T A^-1 r = r^T (x* - x_k) (m,), x* solved 10^4 times tighter."""
    A, b = system.matrix, system.rhs
    x, r = np.zeros_like(b), b.copy()
    p, rr, keep, stop = r.copy(), r @ r, tol**2 * (b @ b), 1e-8 * tol**2 * (b @ b)
    residuals, iterates = [], []
    for step in range(10 * system.size):
        if step % every == 0 and rr > keep:
            residuals.append(r.copy())
            iterates.append(x.copy())
        if rr <= stop:
            break
        q = A @ p
        alpha = rr / (p @ q)
        x += alpha * p
        r -= alpha * q
        rr, previous = r @ r, rr
        p = r + (rr / previous) * p
    residuals = np.asarray(residuals)
    energies = np.einsum("mn,mn->m", residuals, x - np.asarray(iterates))
    norms = np.einsum("mn,mn->m", residuals, residuals)
    return (residuals / np.sqrt(norms)[:, None]).astype(np.float32), energies / norms


class TrainingSet:
    """M training systems on one device (float32) and how to draw unit right-hand sides.

    ``modes``/``values`` hold each system's lowest vectors and eigenvalues; ``residuals``
    (their system in ``residual_system``, their energies in ``residual_energy``) real-solve
    residuals, drawn for half of a batch when present.
    """

    def __init__(self, systems: list[LinearSystem], modes: list[tuple[np.ndarray, np.ndarray]],
                 residuals: list[tuple[np.ndarray, np.ndarray]], device: torch.device):
        faces, reaction = stack_stencils([s.stencil for s in systems], device, torch.float32)
        self.op = StencilOperator(faces, reaction)
        count = min(len(values) for _, values in modes)
        self.modes = torch.as_tensor(np.stack([v[:count] for v, _ in modes]), device=device)
        self.values = torch.as_tensor(np.stack([w[:count] for _, w in modes]),
                                      dtype=torch.float32, device=device)  # (M, K)
        self.grid = systems[0].grid
        empty = (np.zeros((0, systems[0].size), np.float32), np.zeros(0))
        vectors, energies = zip(*residuals, strict=True) if residuals else ([empty[0]], [empty[1]])
        self.residuals = torch.as_tensor(np.concatenate(vectors), device=device)
        self.residual_energy = torch.as_tensor(np.concatenate(energies), dtype=torch.float32,
                                               device=device)
        self.residual_system = torch.as_tensor(
            np.concatenate([np.full(len(v), j) for j, v in enumerate(vectors)]), device=device)

    @property
    def size(self) -> int:
        return int(self.modes.shape[0])

    def draw(self, count: int, generator: torch.Generator
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(systems (count,), unit right-hand sides b (count, *grid), b^T A^-1 b (count,)),
        from ``generator``."""
        device = self.modes.device
        from_residuals = count // 2 if len(self.residuals) else 0
        lanes = torch.randint(self.size, (count - from_residuals,), generator=generator,
                              device=device)
        slope = MAX_SLOPE * torch.rand(len(lanes), 1, generator=generator, device=device)
        values = self.values[lanes]
        c = torch.randn(values.shape, generator=generator, device=device)
        c = c * (values / values[:, -1:]) ** -slope  # 1 at the top of the kept spectrum
        b = torch.einsum("bkn,bk->bn", self.modes[lanes], c)
        energy = (c * c / values).sum(1)
        norm2 = (c * c).sum(1)
        b, energy = b / norm2.sqrt()[:, None], energy / norm2
        if from_residuals:
            pick = torch.randint(len(self.residuals), (from_residuals,), generator=generator,
                                 device=device)
            lanes = torch.cat([lanes, self.residual_system[pick]])
            b = torch.cat([b, self.residuals[pick]])
            energy = torch.cat([energy, self.residual_energy[pick]])
        return lanes, b.reshape(len(lanes), *self.grid), energy
