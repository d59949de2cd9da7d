"""Forward-mode (JVP) kernels of the activations: each WRITES the output tangent dy from the input
tangent dx (a zero tangent is written by the op's emitted `fill_value` line, not here).
Elementwise kernels loop over the flat view; softmax, log-softmax and maxout take the same 3-D
views (outer, axis, inner) as their forward kernels.

Constants: np.float32 only for values exact in float32; slope and alpha arrive as arguments in
the network's dtype.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)
ONE = np.float32(1)


@njit(cache=True, nogil=True)
def identity_jvp(dx, dy):
    dxf, dyf = dx.reshape(-1), dy.reshape(-1)
    for i in range(dxf.size):
        dyf[i] = dxf[i]


@njit(cache=True, nogil=True)
def sigmoid_jvp(y, dx, dy):
    yf, dxf, dyf = y.reshape(-1), dx.reshape(-1), dy.reshape(-1)
    for i in range(yf.size):
        dyf[i] = dxf[i] * yf[i] * (ONE - yf[i])


@njit(cache=True, nogil=True)
def tanh_jvp(y, dx, dy):
    yf, dxf, dyf = y.reshape(-1), dx.reshape(-1), dy.reshape(-1)
    for i in range(yf.size):
        dyf[i] = dxf[i] * (ONE - yf[i] * yf[i])


@njit(cache=True, nogil=True)
def relu_jvp(y, dx, dy):
    """Reads y > 0 like the VJP, so both rules agree on which side of the kink x = 0 is."""
    yf, dxf, dyf = y.reshape(-1), dx.reshape(-1), dy.reshape(-1)
    for i in range(yf.size):
        dyf[i] = dxf[i] if yf[i] > ZERO else ZERO


@njit(cache=True, nogil=True)
def leaky_relu_jvp(x, dx, dy, slope):
    xf, dxf, dyf = x.reshape(-1), dx.reshape(-1), dy.reshape(-1)
    for i in range(xf.size):
        dyf[i] = dxf[i] if xf[i] > ZERO else slope * dxf[i]


@njit(cache=True, nogil=True)
def elu_jvp(x, y, dx, dy, alpha):
    xf, yf, dxf, dyf = x.reshape(-1), y.reshape(-1), dx.reshape(-1), dy.reshape(-1)
    for i in range(xf.size):
        # for x <= 0, d/dx alpha*(e^x - 1) = alpha*e^x = y + alpha
        dyf[i] = dxf[i] if xf[i] > ZERO else dxf[i] * (yf[i] + alpha)


# softmax family: y, dx, dy are (outer, n, inner) views; the reduction runs over the middle axis


@njit(cache=True, nogil=True)
def softmax_jvp(y, dx, dy):
    """dy = y * (dx - <dx, y>) along the axis."""
    n = y.shape[1]
    for o in range(y.shape[0]):
        for i in range(y.shape[2]):
            d = ZERO
            for k in range(n):
                d += dx[o, k, i] * y[o, k, i]
            for k in range(n):
                dy[o, k, i] = y[o, k, i] * (dx[o, k, i] - d)


@njit(cache=True, nogil=True)
def log_softmax_jvp(y, dx, dy):
    """dy = dx - <softmax(x), dx> along the axis, with softmax(x) = exp(y)."""
    n = y.shape[1]
    for o in range(y.shape[0]):
        for i in range(y.shape[2]):
            d = ZERO
            for k in range(n):
                d += np.exp(y[o, k, i]) * dx[o, k, i]
            for k in range(n):
                dy[o, k, i] = dx[o, k, i] - d


@njit(cache=True, nogil=True)
def maxout_jvp(dx, arg, dy):
    """dy = dx at the winning piece saved by the forward pass (ties: the first piece, as the VJP)."""
    pieces = dx.shape[1] // dy.shape[1]
    for o in range(dy.shape[0]):
        for g in range(dy.shape[1]):
            for i in range(dy.shape[2]):
                dy[o, g, i] = dx[o, g * pieces + arg[o, g, i], i]
