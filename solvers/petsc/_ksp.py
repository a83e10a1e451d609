"""``petsc:<ksp>+<pc>`` solvers configured through PETSc's options database.

Every solver instance owns an options prefix, so ``-ksp_*``/``-pc_*`` options given on the
command line (``--petsc-options``) tune it without code changes, as in the petsc4py demos.
"""

from __future__ import annotations

import itertools
import shlex
import sys
from typing import Any

import numpy as np

from pdes import LinearSystem

from .._base import Solver, SolverError

__all__ = ["PETScSolver", "parse_petsc_options", "petsc", "petsc_matrix"]

_DIRECT = {"lu": "lu", "cholesky": "cholesky"}
# KSPs whose convergence test can watch the true (unpreconditioned) residual with a left PC.
_UNPRECONDITIONED_NORM = {"cg", "cr", "pipecg", "minres", "fcg", "cgne"}
_MAX_REFINEMENTS = 4
_counter = itertools.count()


def petsc():
    """PETSc, imported lazily and initialised without the host program's argv (options come
    from the options database)."""
    import petsc4py

    if "petsc4py.PETSc" not in sys.modules:
        petsc4py.init(["pdeforge"])
    from petsc4py import PETSc

    return PETSc


def petsc_matrix(matrix):
    """A sequential PETSc AIJ matrix (assembled) with the values of a SciPy sparse matrix."""
    PETSc = petsc()
    A = matrix.tocsr()
    mat = PETSc.Mat().createAIJ(size=A.shape, csr=(A.indptr.astype(PETSc.IntType),
                                                    A.indices.astype(PETSc.IntType),
                                                    np.ascontiguousarray(A.data,
                                                                         dtype=np.float64)),
                                comm=PETSc.COMM_SELF)
    mat.assemble()
    return mat


def _type_names(kind) -> set[str]:
    return {v for k, v in vars(kind).items() if not k.startswith("_") and isinstance(v, str)}


def parse_petsc_options(options: str | dict[str, Any] | None) -> dict[str, str]:
    """``"-ksp_gmres_restart 40 -pc_factor_levels 1"`` -> {"ksp_gmres_restart": "40", ...}."""
    if options is None:
        return {}
    if isinstance(options, dict):
        return {str(k).lstrip("-"): "" if v is None else str(v) for k, v in options.items()}
    parsed: dict[str, str] = {}
    key = None
    for token in shlex.split(options):
        if token.startswith("-") and not _is_number(token):
            key = token.lstrip("-")
            parsed[key] = ""
        elif key is None:
            raise SolverError(f"PETSc options must start with a -option name, got {token!r}")
        else:
            parsed[key] = token
            key = None
    return parsed


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


class PETScSolver(Solver):
    """A PETSc KSP+PC pair; ``method`` is ``"<ksp>+<pc>"``, ``"<ksp>"``, ``"lu"`` or ``"cholesky"``.

    The reported residual is always the true one: when the KSP stops on a preconditioned
    norm above ``tol``, the solve continues from its iterate with a tightened rtol.
    """

    name = "petsc"

    def __init__(
        self,
        method: str = "gmres+ilu",
        tol: float = 1e-8,
        max_iterations: int = 10000,
        device: str = "cpu",
        petsc_options: str | dict[str, Any] | None = None,
        warm_start: bool = False,
    ):
        super().__init__(tol=tol, max_iterations=max_iterations, device=device)
        self.method = method
        self.petsc_options = petsc_options
        self.warm_start = warm_start

    def setup(self) -> PETScSolver:
        """Check the KSP and PC types against PETSc and build the KSP, once."""
        if not hasattr(self, "ksp_"):
            self.ksp_type_, self.pc_type_ = self._parse_method(self.method)
            self.ksp_ = self._make_ksp()
            self.previous_: np.ndarray | None = None
        return self

    @staticmethod
    def _parse_method(method: str) -> tuple[str, str]:
        PETSc = petsc()
        if method in _DIRECT:
            return "preonly", _DIRECT[method]
        ksp, _, pc = method.partition("+")
        pc = pc or "none"
        if ksp not in _type_names(PETSc.KSP.Type):
            raise SolverError(f"unknown PETSc KSP type {ksp!r} in solver 'petsc:{method}'")
        if pc not in _type_names(PETSc.PC.Type):
            raise SolverError(f"unknown PETSc PC type {pc!r} in solver 'petsc:{method}'")
        return ksp, pc

    def options(self) -> dict[str, Any]:
        return {**super().options(), "method": self.method,
                "petsc_options": parse_petsc_options(self.petsc_options),
                "warm_start": self.warm_start}

    # -- set-up ------------------------------------------------------------------
    def _make_ksp(self):
        PETSc = petsc()
        prefix = f"pdeforge{next(_counter)}_"
        db = PETSc.Options()
        options = parse_petsc_options(self.petsc_options)
        for key, value in options.items():
            db.setValue(prefix + key, value)
        ksp = PETSc.KSP().create(comm=PETSc.COMM_SELF)
        ksp.setOptionsPrefix(prefix)
        ksp.setType(self.ksp_type_)
        ksp.getPC().setType(self.pc_type_)
        if self.pc_type_ in ("lu", "cholesky", "ilu", "icc"):
            direct = self.pc_type_ in ("lu", "cholesky")
            ksp.getPC().setFactorOrdering("nd" if direct else "natural")
        if self.ksp_type_ in _UNPRECONDITIONED_NORM and self.pc_type_ != "none":
            ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setTolerances(rtol=self.tol, atol=0.0, max_it=self.max_iterations)
        ksp.setFromOptions()  # the options database has the last word
        for key in options:
            db.delValue(prefix + key)
        return ksp

    def _begin_sequence(self) -> None:
        self.setup().previous_ = None
        self.ksp_.reset()  # a new sequence may hold systems of another size

    def _initial_guess(self, system: LinearSystem) -> np.ndarray | None:
        return self.previous_ if self.warm_start else None

    def _end_solve(self, system: LinearSystem, result) -> None:
        self.previous_ = result.x

    # -- the solve ---------------------------------------------------------------
    def _solve(self, system: LinearSystem, x0: np.ndarray | None) -> tuple[np.ndarray, int, dict]:
        PETSc = petsc()
        ksp = self.setup().ksp_
        mat = petsc_matrix(system.matrix)
        ksp.setOperators(mat)
        b = PETSc.Vec().createWithArray(np.ascontiguousarray(system.rhs, dtype=np.float64),
                                        comm=PETSc.COMM_SELF)
        x = mat.createVecRight()
        direct = self.ksp_type_ == "preonly"
        if x0 is not None and not direct:
            x.setArray(np.asarray(x0, dtype=np.float64))
            ksp.setInitialGuessNonzero(True)
        else:
            ksp.setInitialGuessNonzero(False)
        rtol = self.tol
        iterations = 0
        reason = 0
        refinements = 0
        while True:
            ksp.setTolerances(rtol=rtol)
            ksp.solve(b, x)
            iterations += ksp.getIterationNumber()
            reason = int(ksp.getConvergedReason())
            true = system.relative_residual(x.getArray())
            if (true <= self.tol or reason < 0 or direct or not np.isfinite(true)
                    or refinements == _MAX_REFINEMENTS):
                break
            refinements += 1
            # stopped on a preconditioned/recursive norm: tighten and continue from x
            rtol = max(rtol * 0.5 * self.tol / true, 1e-15)
            ksp.setInitialGuessNonzero(True)
        info = {"ksp": self.ksp_type_, "pc": self.pc_type_, "converged_reason": reason,
                "refinements": refinements}
        solution = x.getArray().copy()
        mat.destroy()
        b.destroy()
        x.destroy()
        return solution, iterations, info
