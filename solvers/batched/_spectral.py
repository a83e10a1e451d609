"""Fast sine-transform solves: exact for constant coefficients, a preconditioner else.

The Dirichlet Laplacian on the grid (nodes at distance h from the wall) is diagonal in the
DST-I basis, so (sum_d f_d L_d + s) u = r costs two transforms. A DST-I of n points is an
FFT of length 2(n+1), awkward for the usual grids (n = 100: 2 x 101, 256: 2 x 257): on the
2-core CPU SciPy's DST-I took 0.87 ms per 100^2 and 11.6 ms per 256^2 transform, a product
with the dense orthonormal sine matrix (one GEMM per axis) 0.16 and 2.1 ms. So the exact
("node") basis is transformed by GEMM up to ``DENSE_MAX`` points per axis, by FFT beyond.
Where M is only a preconditioner (variable coefficients) the cell-centred Laplacian (wall at
h/2, diagonal 3f next to it) serves as well: DST-II of length n, friendly sizes, 4-5x
cheaper than DST-I on the CPU, at 12-13 instead of 10 PCG iterations on darcy 100^2-200^2.
"""

from __future__ import annotations

import math
from functools import lru_cache

import scipy.fft
import torch

from ._operators import StencilOperator

__all__ = ["BASES", "DENSE_MAX", "PRECISIONS", "SpectralPreconditioner", "dst"]

# longest axis transformed by a dense GEMM, per device type (beyond: FFT, O(n log n))
DENSE_MAX = {"cpu": 256, "cuda": 512}
PRECISIONS = ("auto", "float32", "float64")
BASES = ("auto", "node", "cell")


def dst(x: torch.Tensor, ndim: int, kind: int = 1, inverse: bool = False) -> torch.Tensor:
    """Orthonormal DST-I (``kind`` 1, its own inverse) or DST-II (2; ``inverse``: DST-III)
    over the last ``ndim`` axes; real or complex."""
    if x.is_complex():
        return torch.complex(dst(x.real, ndim, kind, inverse), dst(x.imag, ndim, kind, inverse))
    cpu = x.device.type == "cpu"
    dense_max = DENSE_MAX.get(x.device.type, DENSE_MAX["cuda"])
    for axis in range(x.dim() - ndim, x.dim()):
        n = x.shape[axis]
        if cpu and (kind == 2 or n > dense_max):
            transform = scipy.fft.idst if inverse else scipy.fft.dst
            x = torch.from_numpy(transform(x.numpy(), type=kind, norm="ortho", axis=axis))
        elif kind == 2 or n <= dense_max:
            matrix = _sine_matrix(n, kind, x.dtype, x.device)
            x = (x.movedim(axis, -1) @ (matrix.T if inverse else matrix)).movedim(-1, axis)
        else:
            x = _dst_axis(x, axis)
    return x


@lru_cache(maxsize=32)
def _sine_matrix(n: int, kind: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Orthonormal DST matrix, applied as x @ S: kind 1 is symmetric, kind 2's inverse is S^T."""
    j = torch.arange(n, dtype=torch.float64)
    if kind == 1:
        matrix = math.sqrt(2.0 / (n + 1)) * torch.sin(math.pi * torch.outer(j + 1, j + 1) / (n + 1))
    else:  # rows: samples j + 1/2, columns: frequencies k + 1 (the last one weighted 1/sqrt 2)
        matrix = math.sqrt(2.0 / n) * torch.sin(math.pi * torch.outer(j + 0.5, j + 1) / n)
        matrix[:, -1] /= math.sqrt(2.0)
    return matrix.to(dtype=dtype, device=device)


def _dst_axis(x: torch.Tensor, axis: int) -> torch.Tensor:
    """DST-I along one axis as the imaginary part of the rFFT of the odd extension."""
    x = x.movedim(axis, -1)
    n = x.shape[-1]
    zero = x.new_zeros(*x.shape[:-1], 1)
    spectrum = torch.fft.rfft(torch.cat([zero, x, zero, -x.flip(-1)], dim=-1), dim=-1)
    out = spectrum.imag[..., 1 : n + 1] * -math.sqrt(0.5 / (n + 1))
    return out.movedim(-1, axis)


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex64 if dtype == torch.float32 else torch.complex128


def _unit_eigenvalues(n: int, basis: str, device: torch.device) -> torch.Tensor:
    """Eigenvalues of the unit 1-D Dirichlet operator of n points in its DST order.

    ``node``: tridiag(-1, 2, -1), 4 sin^2(pi j / 2(n+1)); ``cell``: the same with 3 at both
    ends (wall at h/2), 4 sin^2(pi j / 2n); j = 1..n.
    """
    j = torch.arange(1, n + 1, dtype=torch.float64, device=device)
    return 4 * torch.sin(0.5 * math.pi * j / (n + (basis == "node"))) ** 2


def _unit_diagonal(n: int, basis: str, device: torch.device) -> torch.Tensor:
    """Diagonal of that unit 1-D operator: 2, and 3 at both ends in the ``cell`` basis."""
    diagonal = torch.full((n,), 2.0, dtype=torch.float64, device=device)
    if basis == "cell":
        diagonal[[0, -1]] = 3.0
    return diagonal


class SpectralPreconditioner:
    """M_j = D_j (sum_d f_jd L_d + s_j (1 + i beta)) D_j per lane, inverted by two DSTs.

    f_jd is lane j's mean face coefficient along axis d, s_j its mean reaction, L_d the unit
    Dirichlet operator along d in the ``node`` (DST-I, the grid's own) or ``cell`` (DST-II)
    basis, and D_j^2 = diag(diffusion part of A_j) / diag(sum_d f_jd L_d) (1 where that is
    not positive, e.g. a decoupled solid cell). ``exact`` (bool per lane): M_j = A_j, i.e.
    constant faces per axis and constant reaction in the node basis (poisson, a heat step
    with one kappa: one application solves the system). ``basis="auto"``: node where every
    lane is exact, else cell; ``precision="auto"``: transforms in float64 where exact, else
    float32 (an approximate M loses nothing to single precision; the GEMMs run 2.5-3x
    faster; the Krylov vectors stay float64). For indefinite lanes (Helmholtz's
    s_j = -k^2 < 0) ``shift`` = beta > 0 gives the complex-shifted Laplacian s_j (1 + i beta):
    M and the Krylov vectors are then complex. Decoupled cells (no diffusion: ``obstacles``'
    solids, identity rows) stay out of the transform: M^-1 takes the residual extended by
    zero there and returns r / diag on them, so the fluid block is preconditioned by the box
    Laplacian restricted to it and no search direction leaks into the solids.
    """

    def __init__(self, op: StencilOperator, shift: float = 0.0, basis: str = "auto",
                 precision: str = "auto"):
        if basis not in BASES or precision not in PRECISIONS:
            raise ValueError(f"basis must be one of {BASES} and precision one of {PRECISIONS}")
        self.op = op
        self.shift = float(shift)
        constant = bool(_constant(op, slice(None)).all()) and not self.complex
        self.basis = basis if basis != "auto" else ("node" if constant else "cell")
        single = precision == "float32" or (precision == "auto" and not constant)
        self.transform_dtype = torch.float32 if single else torch.float64
        self._units = [_unit_eigenvalues(n, self.basis, op.device) for n in op.grid]
        self._diagonals = [_unit_diagonal(n, self.basis, op.device) for n in op.grid]
        self.update()

    @property
    def complex(self) -> bool:
        return self.shift != 0.0

    def update(self, lanes: torch.Tensor | slice = slice(None)) -> None:
        """Recompute the lanes' spectral symbols and scalings (after ``op.load``)."""
        op, ndim = self.op, self.op.ndim
        view = (-1,) + (1,) * ndim
        reaction = op.reaction[lanes]
        s = reaction.flatten(1).mean(1).reshape(view)
        symbol, laplace_diag = s.clone(), torch.zeros_like(s)
        for d, face in enumerate(op.faces):
            f = face[lanes].flatten(1).mean(1).reshape(view)
            shape = [1] * ndim
            shape[d] = -1
            symbol = symbol + f * self._units[d].reshape(shape)
            laplace_diag = laplace_diag + f * self._diagonals[d].reshape(shape)
        exact = _constant(op, lanes) & (self.basis == "node") & (not self.complex)
        ratio = (op.diagonal[lanes] - reaction) / laplace_diag
        coupled = ratio > 0
        scale = torch.where(coupled, ratio, torch.ones_like(ratio)).sqrt()
        if self.complex:
            symbol = symbol + 1j * self.shift * s
        if isinstance(lanes, slice):
            self.inverse_symbol, self.scale, self.exact = 1.0 / symbol, scale, exact
            self.coupled = coupled
        else:
            self.inverse_symbol[lanes] = 1.0 / symbol
            self.scale[lanes] = scale
            self.exact[lanes] = exact
            self.coupled[lanes] = coupled
        self.decoupled = not bool(self.coupled.all())

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        """M^-1 r for every lane (complex128 with a shift, float64 otherwise)."""
        ndim, low, kind = self.op.ndim, self.transform_dtype, 1 if self.basis == "node" else 2
        v = r / self.scale
        if self.decoupled:
            v = torch.where(self.coupled, v, 0)
        v = dst(v.to(_complex(low) if r.is_complex() else low), ndim, kind)
        v = v * self.inverse_symbol.to(_complex(low) if self.complex else low)
        v = dst(v, ndim, kind, inverse=True)
        v = v.to(torch.complex128 if v.is_complex() else torch.float64) / self.scale
        if self.decoupled:
            v = torch.where(self.coupled, v, r / self.op.diagonal)
        return v


def _constant(op: StencilOperator, lanes: torch.Tensor | slice) -> torch.Tensor:
    """Per lane: every face along each axis equal, and the reaction constant."""
    flat = op.reaction[lanes].flatten(1)
    constant = (flat == flat[:, :1]).all(1)
    for face in op.faces:
        flat = face[lanes].flatten(1)
        constant &= (flat == flat[:, :1]).all(1)
    return constant
