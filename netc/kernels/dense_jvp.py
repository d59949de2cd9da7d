"""Forward-mode (JVP) kernel of dense: dy = dx W + x dW + db over the last axis (rows as in the
forward). A tangent that is None is zero: Numba compiles one specialisation per pattern of None
arguments and prunes the `is None` branches, so each pattern runs only its own terms."""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)


@njit(cache=True, nogil=True)
def dense_jvp(x, w, dx, dw, db, dy):
    y2 = dy.reshape(-1, w.shape[1])
    x2 = x.reshape(-1, w.shape[0])
    # the first term present is written by BLAS; a second one is added by loops, since BLAS here
    # cannot accumulate and a y-sized scratch would live from forward to VJP in every training step
    if dx is not None:
        np.dot(dx.reshape(-1, w.shape[0]), w, y2)
        if dw is not None:
            for r in range(x2.shape[0]):
                for k in range(x2.shape[1]):
                    a = x2[r, k]
                    for j in range(y2.shape[1]):
                        y2[r, j] += a * dw[k, j]
    elif dw is not None:
        np.dot(x2, dw, y2)
    else:
        for r in range(y2.shape[0]):
            for j in range(y2.shape[1]):
                y2[r, j] = ZERO
    if db is not None:
        for r in range(y2.shape[0]):
            for j in range(y2.shape[1]):
                y2[r, j] += db[j]
