"""Kernels of dropout. The mask (0 or 1/(1-rate) per element) is saved for the VJP."""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)
ONE = np.float32(1)


@njit(cache=True, nogil=True)
def dropout_fwd(x, y, mask, training, drop_below, span, scale, seed):
    """Training: draw the mask from Numba's generator seeded with `seed` (one seed per call, so a
    step is reproducible); eval: the identity, with a mask of ones. An element is dropped when an
    integer draw from [0, span) is below `drop_below`: no float64 uniform in float32 code."""
    xf, yf, mf = x.reshape(-1), y.reshape(-1), mask.reshape(-1)
    if training:
        np.random.seed(seed)
        for i in range(xf.size):
            mf[i] = ZERO if np.random.randint(0, span) < drop_below else scale
            yf[i] = xf[i] * mf[i]
    else:
        for i in range(xf.size):
            mf[i] = ONE
            yf[i] = xf[i]


@njit(cache=True, nogil=True)
def dropout_vjp_x(gy, mask, gx):
    gyf, mf, gxf = gy.reshape(-1), mask.reshape(-1), gx.reshape(-1)
    for i in range(gyf.size):
        gxf[i] += gyf[i] * mf[i]
