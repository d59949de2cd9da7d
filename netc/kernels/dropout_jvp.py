"""Forward-mode (JVP) kernel of dropout: the tangent through the mask the forward pass saved (in
eval mode the forward saved a mask of ones, so this is the identity)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def dropout_jvp(dx, mask, dy):
    dxf, mf, dyf = dx.reshape(-1), mask.reshape(-1), dy.reshape(-1)
    for i in range(dxf.size):
        dyf[i] = dxf[i] * mf[i]
