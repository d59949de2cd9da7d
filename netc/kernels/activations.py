"""Kernels of the activations. Elementwise kernels loop over the flat view (arrays are C-contiguous);
softmax, log-softmax and maxout take 3-D views (outer, axis, inner) made by the emitted line.

Constants: np.float32 only for values exact in float32 (they unify upward in float64 kernels);
any other constant (slope, alpha) arrives as an argument in the network's dtype.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FASTMATH, fexp, fsigmoid, ftanh

# elementwise and softmax kernels: vectorized exp/tanh (fastmath.py); the flags leave NaN and inf
# alone, and error_model="numpy" drops Python's division-by-zero check, which stops vectorization
FAST = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")

ZERO = np.float32(0)  # exact in float32, so float64 kernels stay float64 and float32 stay float32
ONE = np.float32(1)
TWO = np.float32(2)


@njit(cache=True, nogil=True)
def identity_fwd(x, y):
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        yf[i] = xf[i]


@njit(cache=True, nogil=True)
def identity_vjp_x(gy, gx):
    gyf, gxf = gy.reshape(-1), gx.reshape(-1)
    for i in range(gyf.size):
        gxf[i] += gyf[i]


@njit(**FAST)
def sigmoid_fwd(x, y):
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        yf[i] = fsigmoid(xf[i])  # 1 / (1 + exp(-x)): exp(-x) = inf gives 0, no overflow trap


@njit(**FAST)
def sigmoid_vjp_x(y, gy, gx):
    yf, gyf, gxf = y.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    for i in range(yf.size):
        gxf[i] += gyf[i] * yf[i] * (ONE - yf[i])


@njit(**FAST)
def tanh_fwd(x, y):
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        yf[i] = ftanh(xf[i])


@njit(**FAST)
def tanh_vjp_x(y, gy, gx):
    yf, gyf, gxf = y.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    for i in range(yf.size):
        gxf[i] += gyf[i] * (ONE - yf[i] * yf[i])


@njit(cache=True, nogil=True)
def relu_fwd(x, y):
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        yf[i] = v if v > ZERO else ZERO


@njit(cache=True, nogil=True)
def relu_vjp_x(y, gy, gx, accumulate):
    """gx += gy where y > 0; gx = that, 0 elsewhere, when not `accumulate` (netc/plan.py)."""
    yf, gyf, gxf = y.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    if accumulate:
        for i in range(yf.size):
            if yf[i] > ZERO:
                gxf[i] += gyf[i]
    else:
        for i in range(yf.size):
            gxf[i] = gyf[i] if yf[i] > ZERO else ZERO


@njit(cache=True, nogil=True)
def leaky_relu_fwd(x, y, slope):
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        yf[i] = v if v > ZERO else slope * v


@njit(cache=True, nogil=True)
def leaky_relu_vjp_x(x, gy, gx, slope):
    xf, gyf, gxf = x.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    for i in range(xf.size):
        gxf[i] += gyf[i] if xf[i] > ZERO else slope * gyf[i]


@njit(cache=True, nogil=True)
def elu_fwd(x, y, alpha):
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        yf[i] = v if v > ZERO else alpha * np.expm1(v)


@njit(cache=True, nogil=True)
def elu_vjp_x(x, y, gy, gx, alpha):
    xf, yf, gyf, gxf = x.reshape(-1), y.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    for i in range(xf.size):
        # for x <= 0, d/dx alpha*(e^x - 1) = alpha*e^x = y + alpha
        gxf[i] += gyf[i] if xf[i] > ZERO else gyf[i] * (yf[i] + alpha)


@njit(cache=True, nogil=True)
def threshold_fwd(x, y):
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(xf.size):
        yf[i] = ONE if xf[i] >= ZERO else ZERO


# softmax family: x, y are (outer, n, inner) views; the reduction runs over the middle axis


@njit(**FAST)
def softmax_fwd(x, y):
    n = x.shape[1]
    for o in range(x.shape[0]):
        for i in range(x.shape[2]):
            m = x[o, 0, i]
            for k in range(1, n):
                m = max(m, x[o, k, i])
            s = ZERO
            for k in range(n):
                v = fexp(x[o, k, i] - m)  # subtract the max: exp never overflows
                y[o, k, i] = v
                s += v
            inv = ONE / s
            for k in range(n):
                y[o, k, i] *= inv


@njit(**FAST)
def softmax_vjp_x(y, gy, gx):
    """gx += y * (gy - <gy, y>) along the axis."""
    n = y.shape[1]
    for o in range(y.shape[0]):
        for i in range(y.shape[2]):
            d = ZERO
            for k in range(n):
                d += gy[o, k, i] * y[o, k, i]
            for k in range(n):
                gx[o, k, i] += y[o, k, i] * (gy[o, k, i] - d)


@njit(**FAST)
def log_softmax_fwd(x, y):
    n = x.shape[1]
    for o in range(x.shape[0]):
        for i in range(x.shape[2]):
            m = x[o, 0, i]
            for k in range(1, n):
                m = max(m, x[o, k, i])
            s = ZERO
            for k in range(n):
                s += fexp(x[o, k, i] - m)
            ls = np.log(s)
            for k in range(n):
                y[o, k, i] = (x[o, k, i] - m) - ls  # not x - (m + ls): m + ls rounds when m is large


@njit(**FAST)
def log_softmax_vjp_x(y, gy, gx):
    """gx += gy - softmax(x) * sum(gy) along the axis, with softmax(x) = exp(y)."""
    n = y.shape[1]
    for o in range(y.shape[0]):
        for i in range(y.shape[2]):
            s = ZERO
            for k in range(n):
                s += gy[o, k, i]
            for k in range(n):
                gx[o, k, i] += gy[o, k, i] - fexp(y[o, k, i]) * s


# maxout: x is (outer, groups*pieces, inner), y and arg are (outer, groups, inner)


@njit(cache=True, nogil=True)
def maxout_fwd(x, y, arg):
    pieces = x.shape[1] // y.shape[1]
    for o in range(y.shape[0]):
        for g in range(y.shape[1]):
            for i in range(y.shape[2]):
                base = g * pieces
                best = x[o, base, i]
                which = 0
                for k in range(1, pieces):
                    v = x[o, base + k, i]
                    if v > best:  # ties keep the first piece
                        best = v
                        which = k
                y[o, g, i] = best
                arg[o, g, i] = which


@njit(cache=True, nogil=True)
def maxout_vjp_x(gy, arg, gx):
    pieces = gx.shape[1] // gy.shape[1]
    for o in range(gy.shape[0]):
        for g in range(gy.shape[1]):
            for i in range(gy.shape[2]):
                gx[o, g * pieces + arg[o, g, i], i] += gy[o, g, i]
