"""Sparse systems another tool wrote: MatrixMarket, SciPy .npz, PETSc binary (``solve``).

One system per matrix file, named by the file's stem: ``NAME.mtx`` with ``NAME.rhs.mtx``
or ``NAME.rhs.npy``; ``NAME.npz`` (``scipy.sparse.save_npz``) with ``NAME.rhs.npy``;
``NAME.petsc`` holding a Mat then a Vec (petsc4py binary viewers). Knows only arrays.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._errors import StorageError

__all__ = ["SYSTEM_FORMATS", "ExternalSystem", "read_systems", "systems_digest", "write_system"]

SYSTEM_FORMATS = (".mtx", ".npz", ".petsc")
_RHS = (".rhs.mtx", ".rhs.npy")
_IGNORED = (".petsc.info",)  # the options PETSc's binary viewer writes beside a file


@dataclass(frozen=True)
class ExternalSystem:
    """A @ x = rhs read from files: CSR float64 matrix, float64 right-hand side."""

    name: str
    matrix: sp.csr_matrix
    rhs: np.ndarray


def read_systems(folder: str | Path) -> list[ExternalSystem]:
    """Every system in ``folder``, sorted by name; StorageError (bad input) when the folder
    holds no readable system, a file of unknown format, a matrix without its right-hand
    side, or a matrix whose size does not match its right-hand side."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StorageError(f"--systems {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and not p.name.endswith(_IGNORED))
    rhs_files = [p for p in files if p.name.endswith(_RHS)]
    unknown = [p.name for p in files if p not in rhs_files and p.suffix not in SYSTEM_FORMATS]
    if unknown:
        raise StorageError(f"{folder / unknown[0]}: unknown format (known: "
                           f"{', '.join(SYSTEM_FORMATS)}, right-hand sides {', '.join(_RHS)})")
    systems = [_read(p, folder) for p in files if p not in rhs_files]
    if not systems:
        raise StorageError(f"{folder} holds no readable systems ({', '.join(SYSTEM_FORMATS)})")
    names = {s.name for s in systems}
    orphans = [p.name for p in rhs_files if _stem(p) not in names]
    if orphans:
        raise StorageError(f"{folder / orphans[0]}: a right-hand side without its matrix")
    return systems


def write_system(folder: str | Path, name: str, matrix: sp.spmatrix, rhs: np.ndarray,
                 fmt: str) -> Path:
    """Write one system as another tool would (``fmt`` ".mtx", ".npz" or ".petsc"): the
    inverse of ``read_systems``, for exports and round trips. The matrix file's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    rhs = np.asarray(rhs, dtype=np.float64).reshape(-1)
    path = folder / (name + fmt)
    if fmt == ".mtx":
        scipy.io.mmwrite(path, matrix, precision=17)
        scipy.io.mmwrite(folder / f"{name}.rhs.mtx", rhs[:, None], precision=17)
    elif fmt == ".npz":
        sp.save_npz(path, matrix)
        np.save(folder / f"{name}.rhs.npy", rhs)
    elif fmt == ".petsc":
        _write_petsc(path, matrix, rhs)
    else:
        raise StorageError(f"unknown system format {fmt!r}; known: {', '.join(SYSTEM_FORMATS)}")
    return path


def systems_digest(folder: str | Path) -> str:
    """SHA-256 over the folder's system and right-hand-side files (names and bytes): a
    store made from these files resumes only on the same files."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and not path.name.startswith("."):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _stem(path: Path) -> str:
    for suffix in (*_RHS, *SYSTEM_FORMATS):
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _read(path: Path, folder: Path) -> ExternalSystem:
    name = _stem(path)
    try:
        if path.suffix == ".petsc":
            matrix, rhs = _read_petsc(path)
        else:
            matrix = (scipy.io.mmread(path) if path.suffix == ".mtx" else sp.load_npz(path))
            rhs = _read_rhs(folder, name)
        matrix = sp.csr_matrix(matrix, dtype=np.float64)
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader's failure is the file's fault
        raise StorageError(f"cannot read {path}: {exc}") from None
    rhs = np.asarray(rhs, dtype=np.float64).reshape(-1)
    if matrix.shape[0] != matrix.shape[1]:
        raise StorageError(f"{path}: matrix is {matrix.shape[0]}x{matrix.shape[1]}, not square")
    if matrix.shape[0] != rhs.shape[0]:
        raise StorageError(f"{path}: matrix size {matrix.shape[0]} does not match its "
                           f"right-hand side's {rhs.shape[0]}")
    if not (np.all(np.isfinite(matrix.data)) and np.all(np.isfinite(rhs))):
        raise StorageError(f"{path}: matrix or right-hand side holds NaN or inf")
    return ExternalSystem(name, matrix, rhs)


def _read_rhs(folder: Path, name: str) -> np.ndarray:
    for suffix in _RHS:
        path = folder / (name + suffix)
        if path.is_file():
            if suffix == ".rhs.npy":
                return np.load(path, allow_pickle=False)
            rhs = scipy.io.mmread(path)
            return rhs.toarray() if sp.issparse(rhs) else rhs
    raise StorageError(f"{folder / name}: no right-hand side ({name}.rhs.mtx or {name}.rhs.npy)")


def _petsc():
    import petsc4py

    if "petsc4py.PETSc" not in sys.modules:
        petsc4py.init(["pdeforge"])  # options come from the options database, not argv
    from petsc4py import PETSc

    return PETSc


def _write_petsc(path: Path, matrix: sp.csr_matrix, rhs: np.ndarray) -> None:
    PETSc = _petsc()
    mat = PETSc.Mat().createAIJ(matrix.shape, csr=(matrix.indptr, matrix.indices, matrix.data),
                                comm=PETSc.COMM_SELF)
    vec = PETSc.Vec().createWithArray(rhs.copy(), comm=PETSc.COMM_SELF)
    viewer = PETSc.Viewer().createBinary(str(path), "w", comm=PETSc.COMM_SELF)
    try:
        mat.view(viewer)
        vec.view(viewer)
    finally:
        viewer.destroy()
        mat.destroy()
        vec.destroy()


def _read_petsc(path: Path) -> tuple[sp.csr_matrix, np.ndarray]:
    """A Mat then a Vec, through petsc4py's binary viewer (serial, AIJ)."""
    PETSc = _petsc()
    viewer = PETSc.Viewer().createBinary(str(path), "r", comm=PETSc.COMM_SELF)
    try:
        mat = PETSc.Mat().load(viewer)
        vec = PETSc.Vec().load(viewer)
        indptr, indices, values = mat.getValuesCSR()
        matrix = sp.csr_matrix((values, indices, indptr), shape=mat.getSize())
        return matrix, vec.getArray().copy()
    finally:
        viewer.destroy()
