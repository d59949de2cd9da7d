"""Kernels of the elementwise activations. Arrays are C-contiguous; loops run over the flat view."""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)  # exact in float32, so float64 kernels stay float64 and float32 stay float32


@njit(cache=True, nogil=True)
def relu_fwd(x, y):
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        yf[i] = v if v > ZERO else ZERO


@njit(cache=True, nogil=True)
def relu_vjp_x(y, gy, gx):
    yf, gyf, gxf = y.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    for i in range(yf.size):
        if yf[i] > ZERO:
            gxf[i] += gyf[i]
