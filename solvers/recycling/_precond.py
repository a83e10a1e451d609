"""Preconditioners for the recycling solvers and the policy that reuses a factor."""

from __future__ import annotations

import torch

from .._base import SolverError
from .._preconditioners import check_preconditioner
from ._factor import BACKENDS, Factor, same_matrix
from ._torch_sparse import MatrixOperator

__all__ = ["MATRIX_PRECONDITIONERS", "MatrixJacobi", "MatrixPreconditioner",
           "PreconditionerPolicy", "ScaledFactor"]

MATRIX_PRECONDITIONERS = ("none", "jacobi", "factor")  # of solvers.PRECONDITIONERS
PROBE_AFTER = 8  # fresh factorisations after a reuse that lost, before reuse is tried again


def _column(s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return s if v.ndim == 1 else s[:, None]


class MatrixPreconditioner:
    """``apply(v)`` ~ A^-1 v; ``inverse(v)`` = M^-1 v, the matrix whose inverse is applied.

    ``inverse`` is what recycled CG needs to harvest Ritz vectors of the preconditioned
    operator without extra preconditioner solves. The base class is the identity.
    """

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        return v

    def inverse(self, v: torch.Tensor) -> torch.Tensor:
        return v


class MatrixJacobi(MatrixPreconditioner):
    def __init__(self, diagonal: torch.Tensor):
        self.d = diagonal

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        return v / _column(self.d, v)

    def inverse(self, v: torch.Tensor) -> torch.Tensor:
        return v * _column(self.d, v)


class ScaledFactor(MatrixPreconditioner):
    """M = S A_ref S, applied as S^-1 A_ref^-1 S^-1 with S = sqrt(diag A / diag A_ref).

    The diagonal rescaling adapts a neighbour's factor to the local coefficient level
    of the new matrix; on Darcy it halves the PCG iterations of the plain reused factor.
    """

    def __init__(self, factor: Factor, reference: MatrixOperator, scale: torch.Tensor | None):
        self.factor = factor
        self.reference = reference
        self.s = scale

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        if self.s is None:
            return self.factor.solve(v)
        s = _column(self.s, v)
        return self.factor.solve(v / s) / s

    def inverse(self, v: torch.Tensor) -> torch.Tensor:
        if self.s is None:
            return self.reference(v)
        s = _column(self.s, v)
        return s * self.reference(s * v)


class PreconditionerPolicy:
    """Builds the preconditioner of each system of a sequence; reuses factors.

    ``"factor"`` factorises a matrix and reuses that factor for the following ones
    (rescaled, see ``ScaledFactor``). ``window`` (the solvers' ``reuse`` option) says how:

    * ``0`` (default): adaptively, by cost. A factor's cycle costs F (the factorisation)
      plus the solves that used it; it is refactored as soon as the latest solve costs
      more than the cycle's average cost per system so far, the rule that minimises the
      average cost per system when solves grow dearer as the sequence drifts away from
      the factored matrix. With the PETSc backend a refactorisation of a matrix with the
      same pattern is numeric only (about half the cost of the first one);
    * ``1``: no reuse, every system is factorised (fixed operators included);
    * ``w > 1``: as ``0``, and at the latest after ``w`` systems.

    When a factor's first reuse costs more than its factorisation plus its exact solve
    (samples too unlike their sorted neighbours, as convection-diffusion's independent
    media and flow directions at 128^2), the next ``PROBE_AFTER`` systems are factorised
    afresh (numeric-only with PETSc), then reuse is tried again; each reuse that loses
    again doubles that run.

    A bitwise identical matrix (fixed operator) reuses the factor unless ``window == 1``.
    """

    def __init__(self, kind: str, window: int, rescale: bool, backend: str):
        check_preconditioner(kind, MATRIX_PRECONDITIONERS, "recycling solvers")
        if window < 0:
            raise SolverError(f"reuse must be >= 0, got {window}")
        if backend not in BACKENDS:
            raise SolverError(f"factor_backend must be one of {BACKENDS}, got {backend!r}")
        self.kind = kind
        self.window = window
        self.rescale = rescale
        self.backend = backend
        self.factor_: Factor | None = None
        self.reference_: MatrixOperator | None = None
        self.diagonal_: torch.Tensor | None = None
        self.factorizations_ = 0
        self.fresh_left_ = 0  # systems still factorised afresh after a reuse that lost
        self.fresh_run_ = PROBE_AFTER  # the next such run's length (doubles per loss)
        self.iterations_: list[int] = []
        self.seconds_: list[float] = []

    def get(self, op: MatrixOperator, symmetric: bool) -> tuple[MatrixPreconditioner, dict]:
        if self.kind == "none":
            return MatrixPreconditioner(), {"preconditioner": "none"}
        if self.kind == "jacobi":
            return MatrixJacobi(op.diagonal()), {"preconditioner": "jacobi"}
        same = (
            self.reference_ is not None
            and self.window != 1
            and same_matrix(op.matrix, self.reference_.matrix)
        )
        refactor = not same and self._stale(op)
        if refactor:
            if self.factor_ is None or not self.factor_.refactor(op.matrix):
                self.factor_ = Factor(op.matrix, symmetric, self.backend)
            self.reference_ = op
            self.diagonal_ = op.diagonal() if self.rescale else None
            self.factorizations_ += 1
            self.iterations_, self.seconds_ = [], []
        scale = None if (same or refactor or not self.rescale) else self._scale(op)
        info = {
            "preconditioner": "factor",
            "refactored": refactor,
            "same_operator": same,
            "exact": same or refactor,
            "factorizations": self.factorizations_,
            "factor_age": len(self.iterations_),
            "factor_backend": self.factor_.backend,
        }
        return ScaledFactor(self.factor_, self.reference_, scale), info

    def record(self, iterations: int, seconds: float) -> None:
        """Feed the cost of the solve that used the current factor."""
        self.iterations_.append(iterations)
        self.seconds_.append(seconds)

    def _stale(self, op: MatrixOperator) -> bool:
        if self.factor_ is None or self.reference_.shape != op.shape or self.window == 1:
            return True
        uses = len(self.seconds_)
        if self.window and uses >= self.window:
            return True
        if uses == 1 and self.fresh_left_ > 0:
            self.fresh_left_ -= 1
            return True
        if uses < 2:
            return False
        if uses == 2 and self.seconds_[1] > self.factor_.seconds + self.seconds_[0]:
            self.fresh_left_, self.fresh_run_ = self.fresh_run_, 2 * self.fresh_run_
            return True
        average = (self.factor_.seconds + sum(self.seconds_)) / uses
        return self.seconds_[-1] > average

    def _scale(self, op: MatrixOperator) -> torch.Tensor | None:
        ratio = op.diagonal() / self.diagonal_
        if not bool(torch.all(torch.isfinite(ratio) & (ratio > 0))):
            return None
        return torch.sqrt(ratio)
