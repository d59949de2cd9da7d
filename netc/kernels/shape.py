"""Kernels of flatten, reshape and concat: element moves, no arithmetic."""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def reshape_fwd(x, y):
    """y = x in y's shape (the same elements in the same order): a flat copy. Also flatten's."""
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        yf[i] = xf[i]


@njit(cache=True, nogil=True)
def reshape_vjp_x(gy, gx):
    gyf, gxf = gy.reshape(-1), gx.reshape(-1)
    for i in range(gyf.size):
        gxf[i] += gyf[i]


@njit(cache=True, nogil=True)
def concat_fwd(x, y, offset):
    """y[:, offset:offset + n, :] = x, with x (outer, n, inner) and y (outer, total, inner)."""
    for o in range(x.shape[0]):
        for k in range(x.shape[1]):
            for i in range(x.shape[2]):
                y[o, offset + k, i] = x[o, k, i]


@njit(cache=True, nogil=True)
def concat_vjp_x(gy, gx, offset):
    for o in range(gx.shape[0]):
        for k in range(gx.shape[1]):
            for i in range(gx.shape[2]):
                gx[o, k, i] += gy[o, offset + k, i]
