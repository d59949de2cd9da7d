"""Forward-mode (JVP) kernels of flatten, reshape and concat: the tangents move like the values."""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)


@njit(cache=True, nogil=True)
def reshape_jvp(dx, dy):
    """dy = dx in y's shape: a flat copy. Also flatten's."""
    dxf, dyf = dx.reshape(-1), dy.reshape(-1)
    for i in range(dxf.size):
        dyf[i] = dxf[i]


@njit(cache=True, nogil=True)
def concat_jvp(dx, dy, offset, n):
    """dy[:, offset:offset + n, :] = dx (outer, n, inner), or zeros when dx is None (a zero tangent):
    every input writes its own slice, so dy is written whole."""
    for o in range(dy.shape[0]):
        for k in range(n):
            for i in range(dy.shape[2]):
                if dx is not None:
                    dy[o, offset + k, i] = dx[o, k, i]
                else:
                    dy[o, offset + k, i] = ZERO
