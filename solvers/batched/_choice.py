"""Which lane preconditioner a sequence gets: the spectral (DST) one for smooth
coefficients, geometric multigrid where contrast, jumps or solids make the spectral one's
iterations grow. ``batched`` with ``preconditioner="auto"`` and ``skr`` both ask here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MG_MIN_CONTRAST", "MG_MIN_JUMP", "face_contrast", "lane_preconditioner"]

# docs/multigrid.md: the DST preconditioner's iterations grow with the coefficients' contrast
# and jumps (threshold 1e2: 130 at 64^2, 609 at 256^2), multigrid's do not (13-15). On the
# 2-core CPU multigrid was faster from a face contrast of 10 or a jump of 2 between
# neighbouring faces (threshold media at any contrast), and with decoupled cells (obstacles:
# 77 vs 114 ms at 128^2); the smooth default lognormal medium (contrast 3-4) stays spectral
# (138 vs 190 ms at 256^2).
MG_MIN_CONTRAST = 10.0
MG_MIN_JUMP = 2.0


def face_contrast(faces: Sequence[np.ndarray]) -> tuple[float, float, bool]:
    """(contrast, jump, decoupled) of one system's positive face coefficients (``faces[d]``
    one longer along axis d, as in ``pdes.Stencil``): the largest ratio along one axis, the
    largest ratio of two neighbouring faces, and whether some cells have no face at all."""
    contrast = jump = 1.0
    grid = tuple(f.shape[d] - 1 for d, f in enumerate(faces))
    coupled = np.zeros(grid, dtype=bool)
    for axis, face in enumerate(faces):
        n = face.shape[axis]
        positive = face[face > 0]
        if positive.size:
            contrast = max(contrast, float(positive.max() / positive.min()))
        lo, hi = np.take(face, range(n - 1), axis), np.take(face, range(1, n), axis)
        both = (lo > 0) & (hi > 0)
        if both.any():
            ratio = lo[both] / hi[both]
            jump = max(jump, float(np.max(np.maximum(ratio, 1 / ratio))))
        coupled |= (lo > 0) | (hi > 0)
    return contrast, jump, not bool(coupled.all())


def lane_preconditioner(faces: Sequence[np.ndarray], spd: bool) -> tuple[str, str]:
    """(``"mg"`` or ``"spectral"``, the measured reason) for systems like one with ``faces``."""
    contrast, jump, decoupled = face_contrast(faces)
    rough = contrast >= MG_MIN_CONTRAST or jump >= MG_MIN_JUMP or decoupled
    why = (f"face contrast {contrast:.1e}, jump {jump:.1f}"
           + (", decoupled cells" if decoupled else "") + ("" if spd else ", indefinite"))
    return ("mg" if spd and rough else "spectral"), why
