"""The two public levels a PDE family is written at (see docs/plugins.md).

``StencilFamily``: the family draws its inputs; pdeforge assembles the finite-volume
operator, so the family gets the lane engines, the device path and the spectral
preconditioners. ``SystemFamily``: the family assembles any sparse system itself; the CSR
engines (PETSc, ``skr`` with a reused factor, GCRO-DR, RCG) solve it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from .._errors import PDEError
from .._grid import as_field
from .._stencils import Stencil, diffusion_faces, dirichlet_rhs, stencil_matrix
from .._system import LinearSystem
from ._base import Family, finite_number

__all__ = ["TERMS", "StencilFamily", "SystemFamily"]

TERMS = ("coefficient", "reaction", "forcing", "boundary")


class StencilFamily(Family):
    """-div(a grad u) + c u = f on the unit square/cube with Dirichlet data g.

    Write ``draw(rng, index)`` returning the stored inputs (``field_names`` arrays of the
    grid's shape, ``param_names`` scalars) and, when they are not the terms themselves,
    ``terms(**inputs)`` mapping them to ``coefficient`` a (> 0), ``reaction`` c,
    ``forcing`` f and ``boundary`` (``boundary_field(g)``). pdeforge checks them (shape,
    finite, a > 0; a term given to ``assemble`` but not stored is used, not stored),
    builds the ``Stencil`` (face values: the ``face_mean`` of a), the CSR matrix, the
    batched lanes and the features. Symmetric; definite when c >= 0 (or as the class's
    ``definite`` says).
    """

    field_names: ClassVar[tuple[str, ...]] = ("coefficient", "forcing")
    face_mean: str = "harmonic"
    definite: ClassVar[bool | None] = None

    def terms(self, **inputs: Any) -> dict[str, Any]:
        """The operator's terms from the stored inputs (default: those named as terms)."""
        return {name: value for name, value in inputs.items() if name in TERMS}

    def boundary_field(self, g: Callable[..., np.ndarray]) -> np.ndarray:
        """The ``boundary`` term of Dirichlet data g(x, y[, z]) (vectorised): the sum over
        each node's boundary neighbours of g (weighted mean_h2 / h_d^2), zero inside."""
        return self._grid.mean_h2 * dirichlet_rhs(self._grid, g)

    def _assemble(self, **inputs: Any) -> LinearSystem:
        expected = (*self.field_names, *self.param_names)
        missing = [name for name in expected if name not in inputs]
        unexpected = sorted(set(inputs) - set(expected) - set(TERMS))
        if missing or unexpected:
            what = "; ".join(f"{label} input(s) {', '.join(names)}" for label, names in
                             (("missing", missing), ("unexpected", unexpected)) if names)
            raise PDEError(f"{self.name}.assemble: {what} (expected {', '.join(expected)})")
        fields = {name: as_field(inputs[name], self._grid, name) for name in self.field_names}
        params = {name: finite_number(inputs[name], f"{self.name} input {name!r}")
                  for name in self.param_names}
        extra = {name: value for name, value in inputs.items() if name not in expected}
        return self._stencil_system(self.terms(**fields, **params, **extra), fields, params)

    def _stencil_system(self, terms: dict[str, Any], fields: dict[str, np.ndarray],
                        params: dict[str, float]) -> LinearSystem:
        unknown = sorted(set(terms) - set(TERMS))
        if unknown:
            raise PDEError(f"{self.name}.terms returned {', '.join(unknown)}; terms are "
                           f"{', '.join(TERMS)}")
        a = as_field(terms.get("coefficient", 1.0), self._grid, "coefficient", positive=True)
        reaction = terms.get("reaction", 0.0)
        reaction = (finite_number(reaction, f"{self.name} reaction") if isinstance(reaction, Real)
                    else as_field(reaction, self._grid, "reaction"))
        rhs = as_field(terms.get("forcing", 0.0), self._grid, "forcing")
        if "boundary" in terms:
            rhs = rhs + a * as_field(terms["boundary"], self._grid, "boundary") / self._grid.mean_h2
        stencil = Stencil(diffusion_faces(self._grid, a, self.face_mean), reaction=reaction)
        definite = self.definite if self.definite is not None else bool(np.all(reaction >= 0))
        return LinearSystem(
            matrix=stencil_matrix(stencil), rhs=rhs.ravel(), grid=self.grid, fields=fields,
            params=params, features=self.featurise({**fields, **params}), stencil=stencil,
            definite=definite,
        )


class SystemFamily(Family):
    """Any discretisation: ``assemble(**inputs)`` returns a ``LinearSystem`` whose CSR
    matrix has one row per grid node (``symmetric``/``definite`` as they are).

    Write ``draw(rng, index)`` (the stored inputs, as for ``StencilFamily``) and
    ``assemble``. pdeforge checks every sample (sizes, NaN/Inf), stores the inputs, sorts
    by ``featurise`` and solves with the CSR engines (no lanes: there is no stencil).
    """

    field_names: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def assemble(self, **inputs: Any) -> LinearSystem:
        """The system of explicit inputs: matrix, rhs, and whether it is symmetric/definite."""
