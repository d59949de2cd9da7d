"""Forward-mode (JVP) kernels of add and mul with broadcasting: the same 4-D views as the forward
kernels (an operand axis of size 1 is broadcast, its index there always 0). A tangent that is None
is zero; Numba compiles one specialisation per pattern of None arguments and prunes the rest."""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _steps(a):
    """Per axis, 1 where `a` has the full size and 0 where it has size 1 (broadcast)."""
    return (int(a.shape[0] != 1), int(a.shape[1] != 1), int(a.shape[2] != 1), int(a.shape[3] != 1))


@njit(cache=True, nogil=True)
def add_jvp(da, db, dy):
    """dy = da + db, each broadcast to y's shape."""
    if da is not None:
        a0, a1, a2, a3 = _steps(da)
    if db is not None:
        b0, b1, b2, b3 = _steps(db)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            for k in range(dy.shape[2]):
                for m in range(dy.shape[3]):
                    s = ZERO
                    if da is not None:
                        s += da[i * a0, j * a1, k * a2, m * a3]
                    if db is not None:
                        s += db[i * b0, j * b1, k * b2, m * b3]
                    dy[i, j, k, m] = s


@njit(cache=True, nogil=True)
def mul_jvp(a, b, da, db, dy):
    """dy = da * b + a * db, each broadcast to y's shape."""
    a0, a1, a2, a3 = _steps(a)
    b0, b1, b2, b3 = _steps(b)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            for k in range(dy.shape[2]):
                for m in range(dy.shape[3]):
                    s = ZERO
                    if da is not None:
                        s += da[i * a0, j * a1, k * a2, m * a3] * b[i * b0, j * b1, k * b2, m * b3]
                    if db is not None:
                        s += a[i * a0, j * a1, k * a2, m * a3] * db[i * b0, j * b1, k * b2, m * b3]
                    dy[i, j, k, m] = s
